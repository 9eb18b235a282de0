//! The embedded broker's front door: every vehicle and phone connection goes through it, so
//! that each can publish only as itself.
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
//!
//! OwnTracks phones come in through the same door ([`login`] tells them apart by client id):
//! they publish their locations, subscribe to their own command topic and nothing else, and the
//! door answers what Convoy does not read ([`phone_acl`]).
//!
//! Alert observers (`[[mqtt_observers]]`: `mosquitto_sub`, a dashboard) come in through it too,
//! as `observer:NAME`: they may subscribe to the alerts and nothing else, and publish nothing
//! ([`observer_acl`]).

mod acl;
mod disabled;
#[doc(hidden)]
pub mod fuzzing;
pub mod held_acks;
mod identity;
mod login;
pub mod observer_acl;
pub mod packet;
pub mod phone_acl;
mod refusal;
mod rules;
mod status_lane;
mod upstream;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use convoy_core::topics::VehicleTopic;
use convoy_limits::{Admitted, Gate, WarnLimit};
use convoy_store::Store;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

pub use acl::VehicleTree;
pub use disabled::DISABLED_CHECK_INTERVAL;
pub use held_acks::{CommitLedger, HeldKind};
pub use identity::certificate_names;
pub use observer_acl::{ObserverAccount, ObserverAccounts};
pub use refusal::Refusal;
pub use status_lane::StatusLane;
pub use upstream::UpstreamSecret;

use crate::metrics::BrokerMetrics;
use disabled::DisabledVehicles;
use held_acks::{broker_packet, AckEvent, Held, HeldAcks};
use login::{Client, Refused};
use packet::{ClientPacket, Connect, ConnectRefusal, Frame, Framer, PacketError};
use rules::{Pass, Rules};

/// The largest CONNECT accepted before login (MQTT allows 256 MiB; an agent's holds its ids,
/// password and a small status will).
const MAX_CONNECT_BYTES: usize = 16 * 1024;

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
    /// The disabled vehicles, as last read ([`Door::watch_disabled`]): a connected one is closed.
    disabled: DisabledVehicles,
    /// The alert observers who may log in.
    observers: ObserverAccounts,
    /// Observers' refused filters leave the connection open: warned of at most every 10 s.
    observer_filter_warnings: Arc<WarnLimit>,
}

/// How a connection ended, when it did not end normally.
#[derive(Debug)]
enum Ended {
    Refused(Refusal, String),
    /// The store or the internal broker failed: the client is not at fault.
    Unavailable(String),
    /// The server is stopping: a part the connection needs (the status lane) has stopped
    /// before the door closed the connection. Not a failure: the agent sends again what it
    /// did not see acknowledged.
    Stopping,
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
        let disabled = DisabledVehicles::new();
        Self {
            settings,
            store,
            metrics,
            secret,
            ledger: None,
            status_lane: None,
            disabled,
            observers: ObserverAccounts::default(),
            observer_filter_warnings: Arc::new(WarnLimit::new(Duration::from_secs(10))),
        }
    }

    /// Lets these alert observers in ([`observer_acl`]).
    pub fn with_observers(mut self, observers: ObserverAccounts) -> Self {
        self.observers = observers;
        self
    }

    /// Reads the disabled vehicles every `every` until `shutdown`; a connected vehicle that is
    /// among them is closed (`vehicle_disabled`).
    pub async fn watch_disabled(self: Arc<Self>, every: Duration, shutdown: CancellationToken) {
        self.disabled.watch(&self.store, every, shutdown).await;
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

    fn finish(&self, ended: Result<Option<String>, Refused>, peer: SocketAddr) {
        match ended {
            Ok(_) => {}
            Err((vehicle, Ended::Refused(refusal, detail))) => {
                self.count(refusal, vehicle.as_deref(), peer, &detail)
            }
            Err((vehicle, Ended::Unavailable(detail))) => {
                let vehicle = vehicle.as_deref();
                tracing::error!(vehicle, %peer, %detail, "MQTT door cannot serve a vehicle");
            }
            Err((_, Ended::Answered)) => {}
            Err((vehicle, Ended::Stopping)) => {
                tracing::debug!(vehicle = vehicle.as_deref(), %peer, "MQTT connection closed: the server is stopping");
            }
            Err((vehicle, Ended::Io(e))) => {
                let vehicle = vehicle.as_deref();
                tracing::debug!(vehicle, %peer, error = %e, "MQTT connection ended");
            }
        }
    }

    /// Counts and logs a refusal; `vehicle` is the vehicle id or `owntracks:USER`.
    fn count(&self, refusal: Refusal, vehicle: Option<&str>, peer: SocketAddr, detail: &str) {
        self.metrics.refused.with_label_values(&[refusal.reason()]).inc();
        if refusal == Refusal::BadCredentials {
            self.metrics.auth_failures.inc();
        }
        // The detail may be a topic the client chose: bounded, and escaped by `?`.
        let detail: String = detail.chars().take(200).collect();
        tracing::warn!(
            reason = refusal.reason(),
            vehicle,
            %peer,
            detail = ?detail,
            "MQTT connection refused"
        );
    }

    /// Serves one client: the CONNECT, then both directions until either side closes.
    /// Returns whom it served, or how it ended with whom if known.
    async fn serve<S>(
        &self,
        client: S,
        cert_names: Option<Vec<String>>,
        peer: SocketAddr,
        admitted: &Admitted,
    ) -> Result<Option<String>, Refused>
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
        let client_kind = match self.admit(&connect, cert_names.as_deref()).await {
            Ok(client_kind) => client_kind,
            Err((vehicle, ended)) => {
                let code = match &ended {
                    Ended::Refused(Refusal::BadCredentials, _) => Some(ConnectRefusal::BadUsernameOrPassword),
                    Ended::Refused(..) => Some(ConnectRefusal::NotAuthorised),
                    Ended::Unavailable(_) => Some(ConnectRefusal::ServerUnavailable),
                    Ended::Io(_) | Ended::Answered | Ended::Stopping => None,
                };
                let Some(code) = code else { return Err((vehicle, ended)) };
                match &ended {
                    Ended::Refused(refusal, detail) => self.count(*refusal, vehicle.as_deref(), peer, detail),
                    _ => self.finish(Err((vehicle.clone(), ended)), peer),
                }
                let _ = client.write_all(&packet::connack_refusal(code)).await;
                let _ = client.flush().await;
                return Err((vehicle, Ended::Answered));
            }
        };
        let vehicle = client_kind.label();
        tracing::Span::current().record("vehicle", tracing::field::display(&vehicle));
        tracing::debug!(client_id = %connect.client_id, "logged in");
        framer.set_max_remaining(self.settings.max_packet_bytes);
        let rules = match &client_kind {
            Client::Vehicle(vehicle) => Rules::Vehicle(VehicleTree::new(vehicle)),
            Client::Phone(tree) => Rules::Phone(tree.clone()),
            Client::Observer(tree) => Rules::Observer(tree.clone()),
        };
        let with_vehicle = |e: Ended| (Some(vehicle.clone()), e);

        let mut upstream = TcpStream::connect(self.settings.upstream)
            .await
            .map_err(|e| with_vehicle(Ended::Unavailable(format!("internal broker: {e}"))))?;
        let _ = upstream.set_nodelay(true);
        let mut forwarded = connect;
        match &client_kind {
            Client::Vehicle(vehicle) => {
                forwarded.password = Some(self.secret.password_for(vehicle.as_str()).into_bytes().into());
            }
            Client::Phone(tree) => {
                // rumqttd knows the phone by the door's name for it, never by the client id
                // the app chose (which could be a server client's, or another phone's).
                let upstream_id = tree.upstream_id();
                forwarded.password = Some(self.secret.password_for(&upstream_id).into_bytes().into());
                forwarded.username = Some(upstream_id.clone());
                forwarded.client_id = upstream_id;
                if let Some(will) = &mut forwarded.will {
                    will.retain = false;
                }
            }
            Client::Observer(tree) => {
                // In the observer's own space of client ids, and a clean session: rumqttd keeps
                // nothing for an observer once it is gone.
                forwarded.client_id = tree.upstream_id(&forwarded.client_id);
                forwarded.username = Some(tree.user_name());
                forwarded.password = Some(self.secret.password_for(&tree.user_name()).into_bytes().into());
                forwarded.clean_session = true;
            }
        }
        upstream
            .write_all(&ClientPacket::Connect(forwarded).encode())
            .await
            .map_err(|e| with_vehicle(e.into()))?;

        let (mut client_read, mut client_write) = tokio::io::split(client);
        let (mut upstream_read, mut upstream_write) = upstream.into_split();
        let client_ended = {
            let (held_tx, held_rx) = mpsc::unbounded_channel();
            let holding = Holding {
                ledger: self.ledger.clone(),
                events: held_tx,
                limit: HeldAcks::limit(),
                status_lane: self.status_lane.clone(),
                filter_warnings: matches!(rules, Rules::Observer(_))
                    .then(|| (self.observer_filter_warnings.clone(), vehicle.clone())),
            };
            let inbound = forward_checked(
                &mut client_read,
                &mut upstream_write,
                &mut framer,
                &rules,
                &holding,
                &self.metrics,
            );
            let answers_itself = matches!(rules, Rules::Phone(_) | Rules::Observer(_));
            let outbound = async {
                // A phone's or an observer's connection always goes through the PUBACK queue:
                // the door answers some of its packets itself.
                if self.ledger.is_some() || answers_itself {
                    self.forward_holding(
                        &mut upstream_read,
                        &mut client_write,
                        held_rx,
                        &vehicle,
                        answers_itself,
                    )
                    .await
                } else {
                    tokio::io::copy(&mut upstream_read, &mut client_write).await.map(|_| ())
                }
            };
            tokio::select! {
                ended = inbound => Some(ended),
                _ = outbound => None,
                () = self.disabled.until_disabled(&self.store, &client_kind) => {
                    Some(Err(refused(Refusal::VehicleDisabled, "disabled while connected")))
                }
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
        vehicle: &str,
        answers_subscriptions: bool,
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
                        let answered_by_door = answers_subscriptions && !phone_acl::from_broker(packet[0]);
                        if !answered_by_door && !puback.is_some_and(|id| acks.broker_acked(id)) {
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
                            vehicle,
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

/// What the inbound side needs to hold PUBACKs (with a ledger) and to answer a phone: the
/// ledger, the connection's event channel and its limit of held messages.
struct Holding {
    ledger: Option<Arc<CommitLedger>>,
    events: mpsc::UnboundedSender<AckEvent>,
    limit: Arc<Semaphore>,
    status_lane: Option<StatusLane>,
    /// An observer's refused filters are warned of (at most every 10 s); a phone's only at
    /// debug level (the apps ask for their friends' topics by default). With the observer's
    /// `observer:NAME`.
    filter_warnings: Option<(Arc<WarnLimit>, String)>,
}

/// Copies the client's packets to the broker, each checked first ([`Rules`]); returns at the
/// client's end of stream, or with the refusal at the first packet the client may not send.
/// That packet and anything after it are not forwarded; the packets before it were allowed and
/// are. With a ledger, each QoS 1 PUBLISH of a stored topic is registered as held before it
/// goes on.
async fn forward_checked<R, W>(
    client: &mut R,
    upstream: &mut W,
    framer: &mut Framer,
    rules: &Rules,
    holding: &Holding,
    metrics: &BrokerMetrics,
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
            let (packet, pass) = match rules.check(&frame) {
                Ok(checked) => checked,
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
            if let Err(refusal) = hold(&packet, &pass, holding, upstream, &mut out).await {
                break Err(refusal);
            }
            if let (Some(lane), ClientPacket::Publish { topic, retain, payload, .. }) =
                (&holding.status_lane, &packet)
            {
                let status = Some(HeldKind::Vehicle(VehicleTopic::Status));
                if holding.ledger.is_some() && CommitLedger::stored_topic(topic) == status {
                    // The lane closes only when the server stops.
                    if lane.publish(topic, *retain, payload).await.is_err() {
                        break Err(Ended::Stopping);
                    }
                    continue;
                }
            }
            match pass {
                Pass::AsIs => out.extend_from_slice(&frame.bytes),
                Pass::ClearRetain => {
                    let at = out.len();
                    out.extend_from_slice(&frame.bytes);
                    out[at] &= !0b0001;
                }
                Pass::Replace { reply, forward, refused } => {
                    if refused > 0 {
                        let filters = match &packet {
                            ClientPacket::Subscribe { filters, .. } => filters.len(),
                            _ => 0,
                        };
                        metrics
                            .refused
                            .with_label_values(&[Refusal::SubscriptionRefused.reason()])
                            .inc_by(refused as u64);
                        tracing::debug!(refused, filters, "subscription filters answered 0x80");
                        let warning = holding
                            .filter_warnings
                            .as_ref()
                            .and_then(|(limit, user)| limit.ready().map(|skipped| (skipped, user)));
                        if let (Some((skipped, user)), ClientPacket::Subscribe { filters, .. }) =
                            (warning, &packet)
                        {
                            // The filters are the client's choice: bounded, and escaped by `?`.
                            let asked: String = filters
                                .iter()
                                .map(|(filter, _)| filter.as_str())
                                .collect::<Vec<_>>()
                                .join(" ")
                                .chars()
                                .take(200)
                                .collect();
                            tracing::warn!(
                                reason = Refusal::SubscriptionRefused.reason(),
                                observer = user.as_str(),
                                refused,
                                filters = ?asked,
                                unwritten_since_last = skipped,
                                "an alert observer's subscription refused: only convoy/v1/alerts/+ is granted"
                            );
                        }
                    }
                    let _ = holding.events.send(AckEvent::Reply(reply));
                    if let Some(forward) = forward {
                        out.extend_from_slice(&forward);
                    }
                }
                Pass::Answer => {}
            }
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
/// message (with a ledger), or at once (one the door answers), in the order the PUBLISHes came.
/// [`Rules`] lets through only the topics ingest stores, at QoS 0 or 1, and those it answers.
async fn hold<W: AsyncWrite + Unpin>(
    packet: &ClientPacket,
    pass: &Pass,
    holding: &Holding,
    upstream: &mut W,
    out: &mut BytesMut,
) -> Result<(), Ended> {
    let ClientPacket::Publish { qos: 1, topic, packet_id: Some(id), payload, .. } = packet else {
        return Ok(());
    };
    let stored = match (pass, &holding.ledger) {
        (Pass::Answer, _) => None,
        (_, Some(ledger)) => match CommitLedger::stored_topic(topic) {
            Some(kind) => Some((ledger, kind)),
            None => return Ok(()),
        },
        (_, None) => return Ok(()),
    };
    let permit = match holding.limit.clone().try_acquire_owned() {
        Ok(permit) => permit,
        Err(_) => {
            // Too many held: send what is ready (its PUBACKs may free some), then wait,
            // reading nothing more from the client meanwhile.
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
    let Some((ledger, kind)) = stored else {
        let _ = holding.events.send(AckEvent::Held(Held::answered(*id, permit)));
        return Ok(());
    };
    // Held before expected: a commit reported for this content is then always behind it.
    let key = ledger.key(topic, payload);
    let mut held = Held::stored(*id, kind, key, permit);
    if kind == HeldKind::Vehicle(VehicleTopic::Status) && holding.status_lane.is_some() {
        // rumqttd never sees this packet id on the vehicle's connection: no PUBACK of its to wait for.
        held = held.without_broker_ack();
    }
    let _ = holding.events.send(AckEvent::Held(held));
    ledger.expect(key, &holding.events);
    Ok(())
}
