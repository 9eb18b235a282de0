//! What an OwnTracks phone may do on the broker (issue 17). A phone logs in with its OwnTracks
//! user name and secret ([`super::login`]); its topics are those of the one device registered
//! under that user, `owntracks/{user}/{device}`:
//!
//! - **Publish** its locations on `owntracks/{user}/{device}` (QoS 0 or 1, at most
//!   `MAX_PHONE_PAYLOAD_BYTES`), forwarded to ingest. The apps set the retain flag by default
//!   (`pubRetain`): it is accepted and cleared before forwarding, since rumqttd keeps every
//!   retained message for good and Convoy reads none.
//! - Its other own sub-topics (`/event`, `/info`, `/waypoint`, `/waypoints`, `/status`, `/step`,
//!   `/beacon`, `/dump`) are **answered by the door** (a PUBACK at QoS 1) and go no further:
//!   Convoy reads none of them, and refusing them would make the app resend them forever.
//! - Anything else is `foreign_topic` and closes the connection, as for a vehicle: its own
//!   `/cmd` too (that is where the server speaks).
//! - Its **last will** only on `owntracks/{user}/{device}` (the app's `_type: lwt`), retain
//!   cleared.
//! - **Subscribe** to its own `owntracks/{user}/{device}/cmd` only. The apps also subscribe to
//!   `owntracks/+/+`, `.../event` and `.../info` (to show friends): those filters get return code
//!   0x80 without the connection being closed (closing would make the app reconnect in a loop)
//!   and never reach rumqttd, so a phone sees no one's positions.
//!
//! **How SUBSCRIBE and UNSUBSCRIBE are answered.** The door answers each of them itself (a
//! SUBACK with the requested QoS for the granted filter and 0x80 for the others, an UNSUBACK),
//! and forwards to rumqttd a packet of the same id holding only the granted filter, if any;
//! rumqttd's own SUBACKs and UNSUBACKs on a phone's connection are dropped ([`from_broker`]).
//! rumqttd grants every filter it is given at the QoS asked, so the door's SUBACK says what
//! rumqttd does; and rumqttd sends an UNSUBACK only for a filter that was subscribed, which the
//! door cannot know across sessions: answering itself, the phone always gets its UNSUBACK.

use bytes::BufMut;
use convoy_core::phone::owntracks;
use convoy_core::phone::MAX_PHONE_PAYLOAD_BYTES;

use super::packet::{ClientPacket, SUBACK, UNSUBACK};
use super::Refusal;

/// The sub-topics of `owntracks/{user}/{device}` the apps publish on and Convoy does not read.
pub const ANSWERED_SUBTOPICS: [&str; 8] =
    ["event", "info", "waypoint", "waypoints", "status", "step", "beacon", "dump"];

/// The most filters a phone's (or an observer's) SUBSCRIBE or UNSUBSCRIBE may hold (the apps
/// send four): the door's answer then fits in a packet of one byte of remaining length.
pub const MAX_PHONE_FILTERS: usize = 32;

/// SUBACK's return code for a refused filter (MQTT 3.1.1, section 3.9.3).
pub const SUBSCRIPTION_FAILURE: u8 = 0x80;

/// A phone's own topics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhoneTree {
    user: String,
    /// `owntracks/{user}/{device}`: its locations.
    topic: String,
    /// `owntracks/{user}/{device}/cmd`: what the server tells it.
    command: String,
}

/// What a phone's allowed PUBLISH is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhonePublish {
    /// On its own `owntracks/{user}/{device}`: forwarded to ingest, retain cleared.
    Location,
    /// On one of its [`ANSWERED_SUBTOPICS`]: answered by the door, not forwarded.
    Answered,
}

impl PhoneTree {
    /// The tree of OwnTracks user `user` whose registered device is `device`.
    pub fn new(user: &str, device: &str) -> Self {
        Self {
            user: user.to_string(),
            topic: owntracks::topic(user, device),
            command: owntracks::command_topic(user, device),
        }
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    /// What the door tells rumqttd this phone is: its client id and user name there (a `:` is
    /// in no phone name nor vehicle id, so it is no one else's; the phone's own client id is
    /// not used, so it cannot take over the session of the server's clients).
    pub fn upstream_id(&self) -> String {
        format!("owntracks:{}", self.user)
    }

    /// Whether the phone may publish `payload_len` bytes on `topic`, and what becomes of it.
    pub fn check_publish(&self, topic: &str, payload_len: usize) -> Result<PhonePublish, Refusal> {
        if topic == self.topic {
            if payload_len > MAX_PHONE_PAYLOAD_BYTES {
                return Err(Refusal::LocationTooLarge);
            }
            return Ok(PhonePublish::Location);
        }
        match topic.strip_prefix(self.topic.as_str()).and_then(|rest| rest.strip_prefix('/')) {
            Some(sub) if ANSWERED_SUBTOPICS.contains(&sub) => Ok(PhonePublish::Answered),
            _ => Err(Refusal::ForeignTopic),
        }
    }

    /// Whether the phone may leave this last will: on its own location topic only (the app's
    /// `lwt`), of a location's size. The retain flag is cleared by the door.
    pub fn check_will(&self, topic: &str, message_len: usize) -> Result<(), Refusal> {
        match self.check_publish(topic, message_len) {
            Ok(PhonePublish::Location) => Ok(()),
            Ok(PhonePublish::Answered) => Err(Refusal::WillNotAllowed),
            Err(Refusal::LocationTooLarge) => Err(Refusal::LocationTooLarge),
            Err(_) => Err(Refusal::ForeignWill),
        }
    }

    /// Whether the phone is granted `filter`: only its own command topic, exactly.
    pub fn grants(&self, filter: &str) -> bool {
        filter == self.command
    }
}

/// The door's answer to a phone's SUBSCRIBE, and the SUBSCRIBE to forward to rumqttd (the
/// granted filters only; `None` if none is).
pub fn answer_subscribe(
    tree: &PhoneTree,
    packet_id: u16,
    filters: &[(String, u8)],
) -> (Vec<u8>, Option<Vec<u8>>, usize) {
    answer_subscribe_by(|filter, qos| tree.grants(filter).then_some(qos), packet_id, filters)
}

/// The door's answer to a SUBSCRIBE it answers itself (a phone's or an observer's): `grant`
/// says the QoS a filter is granted at, if it is. Returns the SUBACK, the SUBSCRIBE of the
/// granted filters to forward to rumqttd (`None` if none is) and how many filters were refused.
pub fn answer_subscribe_by(
    grant: impl Fn(&str, u8) -> Option<u8>,
    packet_id: u16,
    filters: &[(String, u8)],
) -> (Vec<u8>, Option<Vec<u8>>, usize) {
    let grants: Vec<Option<u8>> = filters.iter().map(|(filter, qos)| grant(filter, *qos)).collect();
    let codes: Vec<u8> = grants.iter().map(|granted| granted.unwrap_or(SUBSCRIPTION_FAILURE)).collect();
    let refused = grants.iter().filter(|granted| granted.is_none()).count();
    let granted: Vec<(String, u8)> = filters
        .iter()
        .zip(&grants)
        .filter_map(|((filter, _), granted)| granted.map(|qos| (filter.clone(), qos)))
        .collect();
    let forward =
        (!granted.is_empty()).then(|| ClientPacket::Subscribe { packet_id, filters: granted }.encode());
    (ack(SUBACK << 4, packet_id, &codes), forward, refused)
}

/// The door's UNSUBACK for a phone's UNSUBSCRIBE, and the UNSUBSCRIBE to forward to rumqttd
/// (its own command topic only; `None` if it is not among the filters).
pub fn answer_unsubscribe(
    tree: &PhoneTree,
    packet_id: u16,
    filters: &[String],
) -> (Vec<u8>, Option<Vec<u8>>) {
    answer_unsubscribe_by(|filter| tree.grants(filter), packet_id, filters)
}

/// The door's UNSUBACK for an UNSUBSCRIBE it answers itself, and the UNSUBSCRIBE of the
/// filters `may_hold` says the client may have subscribed to, to forward (`None` if none).
pub fn answer_unsubscribe_by(
    may_hold: impl Fn(&str) -> bool,
    packet_id: u16,
    filters: &[String],
) -> (Vec<u8>, Option<Vec<u8>>) {
    let own: Vec<String> = filters.iter().filter(|filter| may_hold(filter)).cloned().collect();
    let forward = (!own.is_empty()).then(|| ClientPacket::Unsubscribe { packet_id, filters: own }.encode());
    (ack(UNSUBACK << 4, packet_id, &[]), forward)
}

/// Whether a packet rumqttd sends on a phone's (or an observer's) connection goes on to the
/// client: not its SUBACKs and UNSUBACKs, which the door has answered itself.
pub fn from_broker(first_byte: u8) -> bool {
    !matches!(first_byte >> 4, SUBACK | UNSUBACK)
}

fn ack(first: u8, packet_id: u16, codes: &[u8]) -> Vec<u8> {
    // At most MAX_PHONE_FILTERS codes: one byte of remaining length.
    let mut packet = Vec::with_capacity(4 + codes.len());
    packet.push(first);
    packet.push((2 + codes.len()) as u8);
    packet.put_u16(packet_id);
    packet.extend_from_slice(codes);
    packet
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> PhoneTree {
        PhoneTree::new("ana", "pixel")
    }

    #[test]
    fn a_phone_publishes_its_locations_and_is_answered_on_its_other_sub_topics() {
        let tree = tree();
        assert_eq!(tree.check_publish("owntracks/ana/pixel", 300), Ok(PhonePublish::Location));
        for sub in ANSWERED_SUBTOPICS {
            assert_eq!(
                tree.check_publish(&format!("owntracks/ana/pixel/{sub}"), 300),
                Ok(PhonePublish::Answered),
                "{sub}"
            );
        }
        for foreign in [
            "owntracks/bo/pixel",
            "owntracks/ana/other",
            "owntracks/ana/pixel/cmd",
            "owntracks/ana/pixel/event/x",
            "owntracks/ana/pixel/",
            "owntracks/ana/pixelx",
            "owntracks/ana/pixel/junk",
            "owntracks/ana",
            "convoy/v1/vehicles/ana/positions",
            "OwnTracks/ana/pixel",
        ] {
            assert_eq!(tree.check_publish(foreign, 10), Err(Refusal::ForeignTopic), "{foreign:?}");
        }
        assert_eq!(
            tree.check_publish("owntracks/ana/pixel", MAX_PHONE_PAYLOAD_BYTES),
            Ok(PhonePublish::Location)
        );
        assert_eq!(
            tree.check_publish("owntracks/ana/pixel", MAX_PHONE_PAYLOAD_BYTES + 1),
            Err(Refusal::LocationTooLarge)
        );
    }

    #[test]
    fn a_will_only_on_its_own_location_topic() {
        let tree = tree();
        assert_eq!(tree.check_will("owntracks/ana/pixel", 60), Ok(()));
        assert_eq!(tree.check_will("owntracks/ana/pixel/event", 60), Err(Refusal::WillNotAllowed));
        assert_eq!(tree.check_will("owntracks/bo/pixel", 60), Err(Refusal::ForeignWill));
        assert_eq!(tree.check_will("owntracks/ana/pixel/cmd", 60), Err(Refusal::ForeignWill));
    }

    #[test]
    fn only_its_own_command_topic_is_granted_and_the_rest_gets_0x80() {
        let tree = tree();
        let filters: Vec<(String, u8)> = [
            ("owntracks/+/+", 1),
            ("owntracks/+/+/event", 1),
            ("owntracks/+/+/info", 1),
            ("owntracks/ana/pixel/cmd", 1),
        ]
        .iter()
        .map(|(f, q)| (f.to_string(), *q))
        .collect();
        let (suback, forward, refused) = answer_subscribe(&tree, 9, &filters);
        assert_eq!(suback, [0x90, 6, 0, 9, 0x80, 0x80, 0x80, 1]);
        assert_eq!(refused, 3);
        let forward = forward.expect("the granted filter goes on");
        assert_eq!(
            forward,
            ClientPacket::Subscribe { packet_id: 9, filters: vec![("owntracks/ana/pixel/cmd".into(), 1)] }
                .encode()
        );
        for other in
            ["#", "owntracks/#", "owntracks/ana/+/cmd", "owntracks/bo/pixel/cmd", "owntracks/ana/pixel"]
        {
            let (suback, forward, refused) = answer_subscribe(&tree, 2, &[(other.to_string(), 0)]);
            assert_eq!(suback, [0x90, 3, 0, 2, 0x80], "{other}");
            assert!(forward.is_none() && refused == 1);
        }
    }

    #[test]
    fn unsubscribe_is_answered_and_only_the_command_topic_forwarded() {
        let tree = tree();
        let (unsuback, forward) = answer_unsubscribe(&tree, 4, &["owntracks/+/+".to_string()]);
        assert_eq!(unsuback, [0xb0, 2, 0, 4]);
        assert!(forward.is_none());
        let (_, forward) = answer_unsubscribe(
            &tree,
            5,
            &["owntracks/+/+".to_string(), "owntracks/ana/pixel/cmd".to_string()],
        );
        assert_eq!(
            forward.unwrap(),
            ClientPacket::Unsubscribe { packet_id: 5, filters: vec!["owntracks/ana/pixel/cmd".into()] }
                .encode()
        );
        assert!(!from_broker(0x90) && !from_broker(0xb0));
        assert!(from_broker(0x30) && from_broker(0x40) && from_broker(0xd0));
    }

    #[test]
    fn the_upstream_id_is_no_vehicle_id() {
        assert_eq!(tree().upstream_id(), "owntracks:ana");
        assert!(convoy_core::VehicleId::new(tree().upstream_id()).is_err());
    }
}
