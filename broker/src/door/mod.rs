//! The embedded broker's front door: every vehicle connection goes through it, so that a
//! vehicle can publish only as itself.
//!
//! rumqttd has no topic access control. The door listens where vehicles connect (plain, and
//! TLS when configured), reads the CONNECT, checks the vehicle's password against the
//! store (a salted HMAC: `convoy_registry::vehicle_key`) and, over TLS with client certificates, that the certificate names the same vehicle.
//! It then connects to rumqttd on an internal loopback port, replacing the vehicle's password
//! with one derived from a per-process secret ([`UpstreamSecret`]), and copies the connection
//! both ways. Every packet from the vehicle is framed and checked before it is forwarded
//! ([`acl`]: only its own positions and status, each within its size, the retain flag only on
//! status, no subscription): anything else closes the connection without forwarding it, and is
//! counted by reason in `convoy_gateway_mqtt_refused_total` and logged once. What the
//! broker sends back is copied unchanged, but for the PUBACKs of positions and status: with a
//! [`CommitLedger`], those wait until ingest has committed the message ([`held_acks`]).

mod acl;
pub mod held_acks;
mod identity;
pub mod packet;
mod status_lane;
mod upstream;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use convoy_core::topics::VehicleTopic;
use convoy_core::VehicleId;
use convoy_limits::{Admitted, Gate};
use convoy_store::Store;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

pub use acl::VehicleTree;
pub use held_acks::CommitLedger;
pub use identity::certificate_names;
pub use status_lane::StatusLane;
pub use upstream::UpstreamSecret;

use crate::metrics::BrokerMetrics;
use convoy_registry::credentials::verify_password;
use convoy_registry::vehicle_key::{StoredVehicleHash, DUMMY_VEHICLE_HASH};
use held_acks::{broker_packet, AckEvent, Held, HeldAcks};
use packet::{ClientPacket, Connect, ConnectRefusal, Frame, Framer, PacketError};

/// The largest CONNECT accepted before login (MQTT allows 256 MiB; an agent's holds its ids,
/// password and a small status will).
const MAX_CONNECT_BYTES: usize = 16 * 1024;

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
    /// Unknown vehicle, wrong password, or a client id not `convoy-agent-{id}`.
    BadCredentials,
    /// The TLS client certificate names another vehicle than the user name.
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
}

impl Refusal {
    pub const ALL: [Refusal; 18] = [
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
        }
    }
}

/// The door's limits.
#[derive(Clone, Debug)]
pub struct DoorSettings {
    /// Where rumqttd listens (loopback).
    pub upstream: SocketAddr,
    /// The largest remaining length of a packet (rumqttd's `max_payload_size`).
    pub max_packet_bytes: usize,
    /// How long a client has for its TLS handshake and its CONNECT.
    pub connect_timeout: Duration,
    /// Admits each accepted connection: at most its cap open at once, the silent ones (no
    /// CONNECT yet) closed first when it is full; a logged-in vehicle is never closed by it.
    pub gate: Arc<Gate>,
}

/// The door: shared by its listeners and their connections.
pub struct Door {
    settings: DoorSettings,
    store: Store,
    metrics: BrokerMetrics,
    secret: UpstreamSecret,
    /// Ingest's commits, when ingest runs in this process: PUBACKs of stored topics wait for them.
    ledger: Option<Arc<CommitLedger>>,
    /// Where statuses go to rumqttd, with a ledger (their PUBACKs are then the door's own).
    status_lane: Option<StatusLane>,
}

/// How a connection ended, when it did not end normally.
#[derive(Debug)]
enum Ended {
    Refused(Refusal, String),
    /// The store or the internal broker failed: the client is not at fault.
    Unavailable(String),
    Io(std::io::Error),
    /// Refused at login, counted and answered with a CONNACK already: counted before the
    /// answer, so whoever sees the refusal also sees it in the metrics.
    Answered,
}

impl From<std::io::Error> for Ended {
    fn from(e: std::io::Error) -> Self {
        Ended::Io(e)
    }
}

impl From<PacketError> for Ended {
    fn from(e: PacketError) -> Self {
        let refusal = match e {
            PacketError::TooLarge(_) => Refusal::PacketTooLarge,
            PacketError::ProtocolVersion { .. } => Refusal::ProtocolVersion,
            PacketError::Malformed(_) => Refusal::MalformedPacket,
        };
        Ended::Refused(refusal, e.to_string())
    }
}

fn refused(refusal: Refusal, detail: impl Into<String>) -> Ended {
    Ended::Refused(refusal, detail.into())
}

impl Door {
    pub fn new(settings: DoorSettings, store: Store, metrics: BrokerMetrics, secret: UpstreamSecret) -> Self {
        Self { settings, store, metrics, secret, ledger: None, status_lane: None }
    }

    /// Holds the PUBACKs of positions and status until `ledger` reports them committed.
    pub fn with_commit_ledger(mut self, ledger: Arc<CommitLedger>) -> Self {
        self.ledger = Some(ledger);
        self
    }

    /// Sends vehicles' statuses to rumqttd over `lane` instead of their own connections
    /// ([`status_lane`] says why). Only with a commit ledger: the door then answers their
    /// PUBACKs itself.
    pub fn with_status_lane(mut self, lane: StatusLane) -> Self {
        self.status_lane = Some(lane);
        self
    }

    /// Accepts plain MQTT connections until `shutdown` is cancelled, which closes the open ones.
    pub async fn serve_plain(self: Arc<Self>, listener: TcpListener, shutdown: CancellationToken) {
        self.accept_loop(listener, None, shutdown).await
    }

    /// Accepts MQTT over TLS until `shutdown` is cancelled. When the configuration asks for client
    /// certificates (`require_identity`), the certificate must name the MQTT user.
    pub async fn serve_tls(
        self: Arc<Self>,
        listener: TcpListener,
        tls: Arc<rustls::ServerConfig>,
        require_identity: bool,
        shutdown: CancellationToken,
    ) {
        let acceptor = tokio_rustls::TlsAcceptor::from(tls);
        self.accept_loop(listener, Some((acceptor, require_identity)), shutdown).await
    }

    async fn accept_loop(
        self: Arc<Self>,
        listener: TcpListener,
        tls: Option<(tokio_rustls::TlsAcceptor, bool)>,
        shutdown: CancellationToken,
    ) {
        if let Some(ledger) = &self.ledger {
            // What a vehicle publishes before ingest subscribes, rumqttd would give nobody: the
            // listener is bound, and connections wait in its backlog until then.
            let mut waiting = tokio::time::interval(Duration::from_secs(30));
            waiting.tick().await;
            loop {
                tokio::select! {
                    () = ledger.until_ingest_subscribed() => break,
                    _ = waiting.tick() => {
                        tracing::warn!("MQTT door still closed: ingest has not subscribed to the internal broker");
                    }
                    () = shutdown.cancelled() => return,
                }
            }
            tracing::info!("MQTT door open: ingest is subscribed");
        }
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = shutdown.cancelled() => return,
            };
            let (socket, peer) = match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors, most likely: the gate waits (no spinning), warns now
                // and then, and frees a descriptor if a silent connection holds one.
                Err(e) => {
                    self.settings.gate.accept_failed(&e).await;
                    continue;
                }
            };
            // Accepted first, admitted after: at the cap a connection that has sent no CONNECT
            // makes room for this one; when every place holds a vehicle, this one is closed
            // (counted, and warned of by the gate at most every 10 s: no line per connection).
            let Some(admitted) = self.settings.gate.admit() else {
                self.metrics.refused.with_label_values(&[Refusal::TooManyConnections.reason()]).inc();
                continue;
            };
            let _ = socket.set_nodelay(true);
            let door = self.clone();
            let tls = tls.clone();
            let shutdown = shutdown.clone();
            // At debug level, everything about one connection carries its peer and, once it
            // has logged in, its vehicle; off, the span is never built.
            let span = tracing::debug_span!("mqtt_connection", %peer, vehicle = tracing::field::Empty);
            tokio::spawn(
                async move {
                    tokio::select! {
                        () = door.handle(socket, peer, tls, &admitted) => {}
                        () = admitted.shed() => tracing::debug!("closed before its CONNECT: the door is at its cap"),
                        () = shutdown.cancelled() => tracing::debug!("closed at shutdown"),
                    }
                }
                .instrument(span),
            );
        }
    }

    async fn handle(
        &self,
        socket: TcpStream,
        peer: SocketAddr,
        tls: Option<(tokio_rustls::TlsAcceptor, bool)>,
        admitted: &Admitted,
    ) {
        let Some((acceptor, require_identity)) = tls else {
            return self.finish(self.serve(socket, None, peer, admitted).await, peer);
        };
        let handshake = tokio::time::timeout(self.settings.connect_timeout, acceptor.accept(socket)).await;
        let stream = match handshake {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => return self.count(Refusal::TlsHandshake, None, peer, &e.to_string()),
            Err(_) => return self.count(Refusal::ConnectTimeout, None, peer, "TLS handshake"),
        };
        let names = require_identity.then(|| {
            stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .map(|leaf| certificate_names(leaf))
                .unwrap_or_default()
        });
        self.finish(self.serve(stream, names, peer, admitted).await, peer)
    }

    fn finish(&self, ended: Result<Option<VehicleId>, (Option<VehicleId>, Ended)>, peer: SocketAddr) {
        match ended {
            Ok(_) => {}
            Err((vehicle, Ended::Refused(refusal, detail))) => {
                self.count(refusal, vehicle.as_ref(), peer, &detail)
            }
            Err((vehicle, Ended::Unavailable(detail))) => {
                let vehicle = vehicle.as_ref().map(VehicleId::as_str);
                tracing::error!(vehicle, %peer, %detail, "MQTT door cannot serve a vehicle");
            }
            Err((_, Ended::Answered)) => {}
            Err((vehicle, Ended::Io(e))) => {
                let vehicle = vehicle.as_ref().map(VehicleId::as_str);
                tracing::debug!(vehicle, %peer, error = %e, "MQTT connection ended");
            }
        }
    }

    fn count(&self, refusal: Refusal, vehicle: Option<&VehicleId>, peer: SocketAddr, detail: &str) {
        self.metrics.refused.with_label_values(&[refusal.reason()]).inc();
        if refusal == Refusal::BadCredentials {
            self.metrics.auth_failures.inc();
        }
        // The detail may be a topic the client chose: bounded, and escaped by `?`.
        let detail: String = detail.chars().take(200).collect();
        tracing::warn!(
            reason = refusal.reason(),
            vehicle = vehicle.map(VehicleId::as_str),
            %peer,
            detail = ?detail,
            "MQTT connection refused"
        );
    }

    /// Serves one client: the CONNECT, then both directions until either side closes.
    /// Returns the vehicle it served, or how it ended with the vehicle if known.
    async fn serve<S>(
        &self,
        client: S,
        cert_names: Option<Vec<String>>,
        peer: SocketAddr,
        admitted: &Admitted,
    ) -> Result<Option<VehicleId>, (Option<VehicleId>, Ended)>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let mut client = client;
        // Before login a client gets little room: a CONNECT (ids, credentials, a small will)
        // fits in a few hundred bytes, and thousands of half-sent CONNECTs must not fill memory.
        let mut framer = Framer::new(MAX_CONNECT_BYTES);
        let first = tokio::time::timeout(self.settings.connect_timeout, read_frame(&mut client, &mut framer))
            .await
            .map_err(|_| (None, refused(Refusal::ConnectTimeout, "no CONNECT")))?;
        let frame = match first {
            Ok(Some(frame)) => frame,
            Ok(None) => return Ok(None),
            Err(e) => return Err((None, e)),
        };
        // A whole first packet: from now on the gate leaves this connection alone (a bad
        // CONNECT is refused below, a good one is a vehicle logging in).
        admitted.spoke();
        let connect = match parse_connect(&frame) {
            Ok(connect) => connect,
            Err(Ended::Refused(Refusal::ProtocolVersion, detail)) => {
                self.count(Refusal::ProtocolVersion, None, peer, &detail);
                let _ = client.write_all(&packet::connack_refusal(ConnectRefusal::ProtocolVersion)).await;
                let _ = client.flush().await;
                return Err((None, Ended::Answered));
            }
            Err(e) => return Err((None, e)),
        };
        let vehicle = match self.admit(&connect, cert_names.as_deref()).await {
            Ok(vehicle) => vehicle,
            Err((vehicle, ended)) => {
                let code = match &ended {
                    Ended::Refused(Refusal::BadCredentials, _) => Some(ConnectRefusal::BadUsernameOrPassword),
                    Ended::Refused(..) => Some(ConnectRefusal::NotAuthorised),
                    Ended::Unavailable(_) => Some(ConnectRefusal::ServerUnavailable),
                    Ended::Io(_) | Ended::Answered => None,
                };
                let Some(code) = code else { return Err((vehicle, ended)) };
                match &ended {
                    Ended::Refused(refusal, detail) => self.count(*refusal, vehicle.as_ref(), peer, detail),
                    _ => self.finish(Err((vehicle.clone(), ended)), peer),
                }
                let _ = client.write_all(&packet::connack_refusal(code)).await;
                let _ = client.flush().await;
                return Err((vehicle, Ended::Answered));
            }
        };
        tracing::Span::current().record("vehicle", tracing::field::display(&vehicle));
        tracing::debug!(client_id = %connect.client_id, "vehicle logged in");
        framer.set_max_remaining(self.settings.max_packet_bytes);
        let tree = VehicleTree::new(&vehicle);
        let with_vehicle = |e: Ended| (Some(vehicle.clone()), e);

        let mut upstream = TcpStream::connect(self.settings.upstream)
            .await
            .map_err(|e| with_vehicle(Ended::Unavailable(format!("internal broker: {e}"))))?;
        let _ = upstream.set_nodelay(true);
        let mut forwarded = connect;
        forwarded.password = Some(self.secret.password_for(vehicle.as_str()).into_bytes().into());
        upstream
            .write_all(&ClientPacket::Connect(forwarded).encode())
            .await
            .map_err(|e| with_vehicle(e.into()))?;

        let (mut client_read, mut client_write) = tokio::io::split(client);
        let (mut upstream_read, mut upstream_write) = upstream.into_split();
        let client_ended = {
            let (held_tx, held_rx) = mpsc::unbounded_channel();
            let holding = self.ledger.as_ref().map(|ledger| Holding {
                ledger: ledger.clone(),
                events: held_tx,
                limit: HeldAcks::limit(),
                status_lane: self.status_lane.clone(),
            });
            let inbound =
                forward_checked(&mut client_read, &mut upstream_write, &mut framer, &tree, holding.as_ref());
            let outbound = async {
                match &self.ledger {
                    Some(_) => {
                        self.forward_holding(&mut upstream_read, &mut client_write, held_rx, &vehicle).await
                    }
                    None => tokio::io::copy(&mut upstream_read, &mut client_write).await.map(|_| ()),
                }
            };
            tokio::select! {
                ended = inbound => Some(ended),
                _ = outbound => None,
            }
        };
        match client_ended {
            // The broker closed (keep-alive, a session taken over): close the client too.
            None => {
                let _ = client_write.shutdown().await;
                Ok(Some(vehicle))
            }
            Some(Ok(())) => {
                let _ = upstream_write.shutdown().await;
                Ok(Some(vehicle))
            }
            Some(Err(e)) => Err(with_vehicle(e)),
        }
    }

    /// Copies what rumqttd sends to the vehicle, but for the PUBACKs of held messages: those
    /// are dropped, and the door's own PUBACK goes out once the message is committed. Returns
    /// when rumqttd closes, or when a held message looks lost (the vehicle then reconnects and
    /// sends it again from its spool).
    async fn forward_holding<R, W>(
        &self,
        upstream: &mut R,
        client: &mut W,
        mut events: mpsc::UnboundedReceiver<AckEvent>,
        vehicle: &VehicleId,
    ) -> std::io::Result<()>
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        let mut acks = HeldAcks::default();
        let mut from_broker = BytesMut::with_capacity(16 * 1024);
        let mut out = Vec::new();
        let mut check_lost = tokio::time::interval(Duration::from_secs(5));
        loop {
            tokio::select! {
                read = upstream.read_buf(&mut from_broker) => {
                    if read? == 0 {
                        return Ok(());
                    }
                    // A held message is announced before it is forwarded, so before its PUBACK.
                    while let Ok(event) = events.try_recv() {
                        acks.apply(event);
                    }
                    while let Some((len, puback)) = broker_packet(&from_broker)
                        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?
                    {
                        let packet = from_broker.split_to(len);
                        if !puback.is_some_and(|id| acks.broker_acked(id)) {
                            out.extend_from_slice(&packet);
                        }
                    }
                }
                Some(event) = events.recv() => {
                    acks.apply(event);
                    while let Ok(event) = events.try_recv() {
                        acks.apply(event);
                    }
                }
                _ = check_lost.tick() => {
                    if acks.one_looks_lost() {
                        self.metrics.unconfirmed.inc();
                        tracing::warn!(
                            vehicle = vehicle.as_str(),
                            held = acks.len(),
                            "a vehicle's message was not stored while others were: closing the \
                             connection so the vehicle sends it again"
                        );
                        return Ok(());
                    }
                }
            }
            acks.release_into(&mut out);
            if !out.is_empty() {
                client.write_all(&out).await?;
                out.clear();
            }
        }
    }

    /// Decides whether the CONNECT may go to the broker, and as which vehicle.
    async fn admit(
        &self,
        connect: &Connect,
        cert_names: Option<&[String]>,
    ) -> Result<VehicleId, (Option<VehicleId>, Ended)> {
        let bad = |why: &str| (None, refused(Refusal::BadCredentials, why));
        let username = connect.username.as_deref().ok_or_else(|| bad("no user name"))?;
        let vehicle = VehicleId::new(username).map_err(|_| bad("user name is not a vehicle id"))?;
        let bad = |why: &str| (Some(vehicle.clone()), refused(Refusal::BadCredentials, why));
        if connect.client_id != format!("convoy-agent-{vehicle}") {
            return Err(bad("client id is not convoy-agent-{vehicle}"));
        }
        let password = connect
            .password
            .as_ref()
            .and_then(|p| std::str::from_utf8(p).ok())
            .ok_or_else(|| bad("no password"))?
            .to_string();
        if let Some(names) = cert_names {
            if !names.iter().any(|name| name == vehicle.as_str()) {
                return Err((
                    Some(vehicle.clone()),
                    refused(Refusal::ClientCertMismatch, format!("certificate names {names:?}")),
                ));
            }
        }
        let tree = VehicleTree::new(&vehicle);
        if let Some(will) = &connect.will {
            if let Err(refusal) = tree.check_will(&will.topic, will.retain, will.message.len()) {
                let detail = format!("will on {}, {} bytes", will.topic, will.message.len());
                return Err((Some(vehicle.clone()), refused(refusal, detail)));
            }
        }
        let stored = match self.store.vehicle_password_hash(&vehicle).await {
            Ok(stored) => stored,
            Err(e) => return Err((Some(vehicle.clone()), Ended::Unavailable(format!("store: {e}")))),
        };
        // An unknown vehicle is checked against a hash nobody's password matches, so the time
        // a refusal takes does not tell which vehicle ids exist.
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| DUMMY_VEHICLE_HASH.to_string());
        let verified = match StoredVehicleHash::parse(&stored) {
            fast @ StoredVehicleHash::Fast { .. } => fast.verify_fast(&password),
            StoredVehicleHash::Argon2(_) => {
                // A vehicle registered by an earlier version: argon2, one check per core; once
                // it has logged in, its hash becomes the fast kind (argon2 vehicles die out).
                let verified = {
                    let _turn = convoy_registry::credentials::password_check_turn().await;
                    let (password, stored) = (password.clone(), stored.clone());
                    tokio::task::spawn_blocking(move || verify_password(&password, &stored))
                        .await
                        .unwrap_or(false)
                };
                if verified && known {
                    let fast = convoy_registry::vehicle_key::hash_vehicle_password(&password);
                    if let Err(e) = self.store.replace_vehicle_password_hash(&vehicle, &stored, &fast).await {
                        tracing::warn!(vehicle = vehicle.as_str(), error = %e, "cannot store the vehicle's new password hash");
                    }
                }
                verified
            }
        };
        if !known {
            return Err(bad("unknown vehicle"));
        }
        if !verified {
            return Err(bad("wrong password"));
        }
        Ok(vehicle)
    }
}

/// Reads until one whole packet has arrived; `None` if the client closed first.
async fn read_frame<S: AsyncRead + Unpin>(
    client: &mut S,
    framer: &mut Framer,
) -> Result<Option<Frame>, Ended> {
    loop {
        if let Some(frame) = framer.next_frame()? {
            return Ok(Some(frame));
        }
        if client.read_buf(framer.read_buffer()).await? == 0 {
            return Ok(None);
        }
    }
}

fn parse_connect(frame: &Frame) -> Result<Connect, Ended> {
    match ClientPacket::parse(frame)? {
        ClientPacket::Connect(connect) => Ok(connect),
        _ => Err(refused(Refusal::MalformedPacket, "the first packet is not a CONNECT")),
    }
}

/// What the inbound side needs to hold PUBACKs: the ledger, the connection's event channel and
/// its limit of held messages.
struct Holding {
    ledger: Arc<CommitLedger>,
    events: mpsc::UnboundedSender<AckEvent>,
    limit: Arc<Semaphore>,
    status_lane: Option<StatusLane>,
}

/// Copies the client's packets to the broker, each checked first; returns at the client's end
/// of stream, or with the refusal at the first packet the vehicle may not send. That packet and
/// anything after it are not forwarded; the packets before it were allowed and are. With
/// `holding`, each QoS 1 PUBLISH of positions or status is registered as held before it goes on.
async fn forward_checked<R, W>(
    client: &mut R,
    upstream: &mut W,
    framer: &mut Framer,
    tree: &VehicleTree,
    holding: Option<&Holding>,
) -> Result<(), Ended>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut out = BytesMut::new();
    loop {
        let verdict = loop {
            let frame = match framer.next_frame() {
                Ok(Some(frame)) => frame,
                Ok(None) => break Ok(()),
                Err(e) => break Err(Ended::from(e)),
            };
            let packet = match check(&frame, tree) {
                Ok(packet) => packet,
                Err(refusal) => break Err(refusal),
            };
            // Per packet: skipped at once below debug (a disabled event still costs, see the engine).
            let debug = tracing::level_enabled!(tracing::Level::DEBUG);
            if let (true, ClientPacket::Publish { qos, topic, packet_id, payload, .. }) = (debug, &packet) {
                // The seqs are read from the payload only when this line is written.
                tracing::debug!(
                    %topic,
                    qos,
                    pkid = packet_id,
                    seqs = ?convoy_core::wire::PayloadSeqs(payload),
                    "publish forwarded"
                );
            }
            if let Some(holding) = holding {
                if let Err(refusal) = hold(&packet, holding, upstream, &mut out).await {
                    break Err(refusal);
                }
                if let (Some(lane), ClientPacket::Publish { topic, retain, payload, .. }) =
                    (&holding.status_lane, &packet)
                {
                    if CommitLedger::stored_topic(topic) == Some(VehicleTopic::Status) {
                        if let Err(e) = lane.publish(topic, *retain, payload).await {
                            break Err(Ended::Unavailable(e.to_string()));
                        }
                        continue;
                    }
                }
            }
            out.extend_from_slice(&frame.bytes);
        };
        if !out.is_empty() {
            upstream.write_all(&out).await?;
            out.clear();
        }
        verdict?;
        if client.read_buf(framer.read_buffer()).await? == 0 {
            return Ok(());
        }
    }
}

/// Registers the PUBACK of a QoS 1 PUBLISH as held, to be sent once ingest has committed the
/// message and in the order the PUBLISHes came. [`check`] lets through only the topics ingest
/// stores, at QoS 0 or 1.
async fn hold<W: AsyncWrite + Unpin>(
    packet: &ClientPacket,
    holding: &Holding,
    upstream: &mut W,
    out: &mut BytesMut,
) -> Result<(), Ended> {
    let ClientPacket::Publish { qos: 1, topic, packet_id: Some(id), payload, .. } = packet else {
        return Ok(());
    };
    let Some(kind) = CommitLedger::stored_topic(topic) else {
        return Ok(());
    };
    let permit = match holding.limit.clone().try_acquire_owned() {
        Ok(permit) => permit,
        Err(_) => {
            // Too many held: send what is ready (its PUBACKs may free some), then wait,
            // reading nothing more from the vehicle meanwhile.
            upstream.write_all(out).await?;
            out.clear();
            holding
                .limit
                .clone()
                .acquire_owned()
                .await
                .map_err(|_| Ended::Unavailable("the held PUBACKs' limit is closed".into()))?
        }
    };
    // Held before expected: a commit reported for this content is then always behind it.
    let key = holding.ledger.key(topic, payload);
    let mut held = Held::stored(*id, kind, key, permit);
    if kind == VehicleTopic::Status && holding.status_lane.is_some() {
        // rumqttd never sees this packet id on the vehicle's connection: no PUBACK of its to wait for.
        held = held.without_broker_ack();
    }
    let _ = holding.events.send(AckEvent::Held(held));
    holding.ledger.expect(key, &holding.events);
    Ok(())
}

/// The packet, if a vehicle may send it after its CONNECT ([`VehicleTree`] has the rules).
/// A refusal's detail holds the topic or filter the client chose: [`Door::count`] escapes it.
fn check(frame: &Frame, tree: &VehicleTree) -> Result<ClientPacket, Ended> {
    let packet = ClientPacket::parse(frame)?;
    match &packet {
        ClientPacket::Connect(_) => Err(refused(Refusal::MalformedPacket, "a second CONNECT")),
        ClientPacket::Publish { qos, retain, topic, payload, .. } => {
            if let Err(refusal) = tree.check_publish(topic, *retain, payload.len()) {
                let detail = format!("{topic}, {} bytes, retain {retain}", payload.len());
                return Err(refused(refusal, detail));
            }
            // QoS 2 would be acknowledged by rumqttd alone, before ingest stored anything.
            if *qos == 2 {
                return Err(refused(Refusal::UnsupportedQos, topic.clone()));
            }
            Ok(packet)
        }
        ClientPacket::Subscribe { filters, .. } => {
            // One filter reaching beyond the vehicle's tree names the whole packet.
            let refusal = filters
                .iter()
                .map(|(filter, _)| tree.check_subscribe(filter))
                .find(|refusal| *refusal == Refusal::ForeignSubscription)
                .unwrap_or(Refusal::SubscriptionNotAllowed);
            let filters: Vec<&str> = filters.iter().map(|(filter, _)| filter.as_str()).collect();
            Err(refused(refusal, filters.join(" ")))
        }
        ClientPacket::Unsubscribe { filters, .. } => {
            Err(refused(Refusal::SubscriptionNotAllowed, format!("unsubscribe {}", filters.join(" "))))
        }
        _ => Ok(packet),
    }
}
