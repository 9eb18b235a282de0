//! Why the door closes a connection (or refuses a filter): the reasons of
//! `convoy_gateway_mqtt_refused_total{reason}`, each registered at start so a dashboard sees
//! every one from zero.

use convoy_core::topics::VehicleTopic;

#[cfg(doc)]
use super::DISABLED_CHECK_INTERVAL;

/// Why the door closed a connection; the label of `convoy_gateway_mqtt_refused_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A PUBLISH outside the vehicle's own topics (posing as another vehicle, or on the
    /// server's).
    ForeignTopic,
    /// A PUBLISH in the vehicle's own tree on a topic Convoy does not read (only positions and
    /// status are allowed: [`VehicleTopic`]).
    UnknownTopic,
    /// A retained PUBLISH on a topic that may not be retained (all but status).
    RetainNotAllowed,
    /// A PUBLISH larger than its kind allows (`positions_too_large`, `status_too_large`).
    PayloadTooLarge(VehicleTopic),
    /// A SUBSCRIBE reaching outside the vehicle's own topics.
    ForeignSubscription,
    /// A SUBSCRIBE or UNSUBSCRIBE in the vehicle's own tree: vehicles read nothing from the
    /// broker, and each filter would be a log rumqttd keeps.
    SubscriptionNotAllowed,
    /// A CONNECT whose last will would publish outside the vehicle's own topics.
    ForeignWill,
    /// A CONNECT whose last will is on another of its own topics than its status.
    WillNotAllowed,
    /// Bytes that are not MQTT 3.1.1 a client may send.
    MalformedPacket,
    /// A packet larger than the broker takes.
    PacketTooLarge,
    /// Unknown vehicle or phone, wrong password or secret, or a vehicle's client id not
    /// `convoy-agent-{id}`.
    BadCredentials,
    /// The TLS client certificate names another vehicle or phone than the user name.
    ClientCertMismatch,
    /// MQTT 3.1 or 5 (only 3.1.1 is spoken).
    ProtocolVersion,
    /// No CONNECT (or no TLS handshake) within the time allowed.
    ConnectTimeout,
    /// The TLS handshake failed (no or an untrusted client certificate, not TLS at all).
    TlsHandshake,
    /// The door's gate is full of logged-in vehicles: the new connection is closed.
    TooManyConnections,
    /// QoS 2 on positions or status (stored only at QoS 1, acknowledged once committed).
    UnsupportedQos,
    /// A phone's location larger than `MAX_PHONE_PAYLOAD_BYTES`.
    LocationTooLarge,
    /// A phone's subscription filter other than its own command topic, or an observer's other
    /// than the alerts': answered 0x80 in the SUBACK, the connection stays open (counted per
    /// filter).
    SubscriptionRefused,
    /// A disabled vehicle with its right password (answered "not authorised"), or a vehicle
    /// connected when it was disabled (closed within [`DISABLED_CHECK_INTERVAL`] twice over).
    VehicleDisabled,
    /// A PUBLISH from an alert observer, who may publish nothing.
    ObserverPublish,
}

impl Refusal {
    pub const ALL: [Refusal; 22] = [
        Refusal::ForeignTopic,
        Refusal::UnknownTopic,
        Refusal::RetainNotAllowed,
        Refusal::PayloadTooLarge(VehicleTopic::Positions),
        Refusal::PayloadTooLarge(VehicleTopic::Status),
        Refusal::ForeignSubscription,
        Refusal::SubscriptionNotAllowed,
        Refusal::ForeignWill,
        Refusal::WillNotAllowed,
        Refusal::MalformedPacket,
        Refusal::PacketTooLarge,
        Refusal::BadCredentials,
        Refusal::ClientCertMismatch,
        Refusal::ProtocolVersion,
        Refusal::ConnectTimeout,
        Refusal::TlsHandshake,
        Refusal::TooManyConnections,
        Refusal::UnsupportedQos,
        Refusal::LocationTooLarge,
        Refusal::SubscriptionRefused,
        Refusal::VehicleDisabled,
        Refusal::ObserverPublish,
    ];

    pub fn reason(self) -> &'static str {
        match self {
            Refusal::ForeignTopic => "foreign_topic",
            Refusal::UnknownTopic => "unknown_topic",
            Refusal::RetainNotAllowed => "retain_not_allowed",
            Refusal::PayloadTooLarge(VehicleTopic::Positions) => "positions_too_large",
            Refusal::PayloadTooLarge(VehicleTopic::Status) => "status_too_large",
            Refusal::ForeignSubscription => "foreign_subscription",
            Refusal::SubscriptionNotAllowed => "subscription_not_allowed",
            Refusal::ForeignWill => "foreign_will",
            Refusal::WillNotAllowed => "will_not_allowed",
            Refusal::MalformedPacket => "malformed_packet",
            Refusal::PacketTooLarge => "packet_too_large",
            Refusal::BadCredentials => "bad_credentials",
            Refusal::ClientCertMismatch => "client_cert_mismatch",
            Refusal::ProtocolVersion => "protocol_version",
            Refusal::ConnectTimeout => "connect_timeout",
            Refusal::TlsHandshake => "tls_handshake",
            Refusal::TooManyConnections => "too_many_connections",
            Refusal::UnsupportedQos => "unsupported_qos",
            Refusal::LocationTooLarge => "location_too_large",
            Refusal::SubscriptionRefused => "subscription_refused",
            Refusal::VehicleDisabled => "vehicle_disabled",
            Refusal::ObserverPublish => "observer_publish",
        }
    }
}
