//! rumqttd, started on a private loopback port, with the front door in front of it.
//!
//! rumqttd has no topic access control, so vehicles and phones never reach it directly: they
//! connect to the front door ([`crate::door`]), which checks each one's password and every
//! packet it sends, and forwards to rumqttd on an internal loopback port. rumqttd accepts there
//! only the door's per-process password for a vehicle or a phone (never their own) and the
//! server's internal client (ingest and the alert publisher), with a random password made at
//! start-up.
//!
//! ## What rumqttd holds, and its bounds
//!
//! rumqttd (0.20) keeps messages in memory only, in three places:
//! - **Retained messages**, one per topic, for good (until an empty retained message clears
//!   it). The door lets a vehicle retain only its status (at most `MAX_STATUS_BYTES`), and
//!   clears the retain flag of a phone's locations and will, so this is at most one small
//!   message per vehicle, and the one command the server retains per phone on its
//!   `owntracks/{user}/{device}/cmd`.
//! - **A log per subscribed filter** ([`LogBounds`]): every message matching the filter is
//!   appended; a log is a list of segments, and when the newest segment is full and the list
//!   is at its count, the oldest segment is dropped, *read or not*. The log keeps what was
//!   read too, so it always fills to its bound in time: the bound is memory the broker will
//!   use, not only under attack. Ingest subscribes to `convoy/v1/vehicles/+/positions`,
//!   `.../status` and `owntracks/+/+` (three logs: 32, 16 and 16 MiB); the door lets a vehicle
//!   subscribe only to its own `convoy/v1/vehicles/{id}/windows` (an agent set to
//!   `privacy = "moves_only"` does), one log per such vehicle of [`WINDOWS_LOG`], and a phone
//!   only to its own `owntracks/{user}/{device}/cmd`, one log per registered phone that
//!   subscribed, of [`COMMAND_LOG`]: each a single 64 KiB segment (only the server publishes
//!   there; the retained message a client gets on subscribing is kept apart from the log). An empty log is not free: each segment allocates room for 1,024 entries
//!   up front (232 bytes each in 0.20), so a phone's command log costs about a quarter of
//!   a MiB, for as long as the process runs (rumqttd never drops a filter's log); so does a
//!   moves-only vehicle's windows log. An alert observer may subscribe to `convoy/v1/alerts/+`
//!   only: one log, of [`ALERTS_LOG`], however many observers there are.
//!   A subscription always makes its filter's log (`next_native_offset`), whatever the
//!   configuration: `dynamic_filters` is only about a PUBLISH on a topic no filter matches
//!   (a log per such topic when on; off, and 0.20 never makes one anyway: the message is
//!   routed nowhere, or only kept if retained). A log's bounds are those of the first
//!   `custom_segment` key matching its filter (`owntracks/+/+` matches ingest's filter,
//!   `owntracks/+/+/cmd` a phone's command topic and `convoy/v1/vehicles/+/windows` a
//!   vehicle's windows), else the default (the positions' bounds).
//! - **Per connection**: the packets read but not yet routed (`max_inflight_count` caps one
//!   read's batch, and a read holds what one socket read brought), and those routed to a
//!   subscriber but not acknowledged (at most 100 at QoS 1, rumqttd's fixed window: ingest's).
//!
//! **Why a bounded log loses nothing.** Ingest reads the log in order and acknowledges after
//! its commit. A message can leave the log unread only when ingest has fallen more than the
//! bound behind (the store stalled, or a flood outran it). For a vehicle's QoS 1 message that
//! is no loss: the door holds its PUBACK until ingest reports the commit (door/held_acks.rs),
//! so the agent still has it in its spool; once a later message of that vehicle on the same
//! topic is committed and the dropped one is not, the door closes the connection after
//! `OVERTAKEN_GRACE` (10 s) and the agent sends it again, counted in
//! `convoy_gateway_mqtt_unconfirmed_closed_total` (tests/broker_memory.rs stalls ingest and
//! pushes a message out of the log to see it). A QoS 0 message may be lost, as QoS 0 allows; the agent never
//! sends one. The bound is thus a trade: a larger log rides out a longer ingest stall without
//! agents resending; 32 MiB holds about half a minute of a 1,000-vehicle fleet's live fixes
//! (one fix a second, ~1 KiB a message) and 64 batches of the largest size.
//!
//! **What a logged message really holds.** rumqttd keeps a message as a slice of the buffer it
//! read it into, so a kept message keeps that whole buffer, and the messages around it in it.
//! Within one log that costs a small factor (the messages sharing a buffer leave the log
//! together); across logs it was unbounded: statuses read after position batches kept the
//! batches' buffers in the status log. So statuses reach rumqttd over a connection of their
//! own (`door::StatusLane`). tests/broker_memory.rs measures the server under each flood.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use convoy_core::phone::owntracks;
use convoy_core::topics::{ALERTS_FILTER, STATUS_FILTER};
use convoy_core::VehicleId;
use convoy_limits::Gate;
use convoy_registry::phones::valid_phone_name;
use convoy_store::Store;
use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, SegmentConfig, ServerSettings};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::door::observer_acl::is_observer_upstream;
use crate::door::packet::{ClientPacket, Connect};
use crate::door::{CommitLedger, Door, DoorSettings, ObserverAccounts, StatusLane, UpstreamSecret};
use crate::metrics::BrokerMetrics;

/// The credentials of a server-internal client (ingest, the alert publisher).
#[derive(Clone, Debug)]
pub struct InternalClient {
    pub username: String,
    pub password: String,
}

impl InternalClient {
    pub fn random(username: &str) -> Self {
        Self { username: username.to_string(), password: convoy_registry::credentials::random_password() }
    }
}

/// Where vehicles connect.
#[derive(Clone, Debug)]
pub struct BrokerListeners {
    /// Plain MQTT.
    pub plain: SocketAddr,
    /// MQTT over TLS.
    pub tls: Option<DoorTls>,
}

/// The door's TLS listener. The server builds the rustls configuration from its `[mqtt_tls]`
/// files, so a wrong file is named there, with the HTTPS listener's.
#[derive(Clone, Debug)]
pub struct DoorTls {
    pub listen: SocketAddr,
    pub config: Arc<rustls::ServerConfig>,
    /// Vehicles must present a client certificate that names them (a client CA is configured).
    pub require_identity: bool,
}

/// A started embedded broker.
#[derive(Debug)]
pub struct EmbeddedBroker {
    /// The door's plain listener.
    pub mqtt_addr: SocketAddr,
    /// The door's TLS listener, if configured.
    pub mqtts_addr: Option<SocketAddr>,
    /// rumqttd itself, on loopback: only for the server's internal client.
    pub internal_addr: SocketAddr,
    /// The door's listeners; they stop at shutdown. rumqttd cannot be stopped: it ends with the
    /// process.
    pub door: JoinHandle<anyhow::Result<()>>,
    /// Where ingest reports its commits: the door holds each vehicle's PUBACK for positions and
    /// status until the message is committed, so a crash of the server loses nothing.
    pub ledger: Arc<CommitLedger>,
}

/// The bounds of one of rumqttd's logs (one per subscribed filter): at most `segments`
/// segments of `segment_bytes` (the newest may pass it by one message), the oldest dropped
/// first. See the module docs for why a message dropped before ingest read it is not lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogBounds {
    pub segment_bytes: usize,
    pub segments: usize,
}

/// The log of ingest's positions subscription (and any other filter but status'): 32 MiB,
/// dropped 4 MiB at a time. (It was 10 segments of 100 MiB: a vehicle flooding valid batches
/// made the server keep 1.36 GB.)
pub const POSITIONS_LOG: LogBounds = LogBounds { segment_bytes: 4 * 1024 * 1024, segments: 8 };
/// The log of ingest's status subscription: 16 MiB, about 16,000 of the agent's statuses (one
/// every 30 s a vehicle: 24 s of a 20,000-vehicle fleet's).
pub const STATUS_LOG: LogBounds = LogBounds { segment_bytes: 1024 * 1024, segments: 16 };
/// The log of ingest's OwnTracks subscription (`owntracks/+/+`): 16 MiB, about 50,000 phone
/// locations of ~300 bytes. A location dropped unread is sent again by the app, as its PUBACK
/// was held.
pub const OWNTRACKS_LOG: LogBounds = LogBounds { segment_bytes: 1024 * 1024, segments: 16 };
/// The log of one phone's command subscription (`owntracks/{user}/{device}/cmd`): one segment
/// of 64 KiB (the smallest count; only the server publishes there).
pub const COMMAND_LOG: LogBounds = LogBounds { segment_bytes: 64 * 1024, segments: 1 };
/// The filter [`COMMAND_LOG`] applies to.
pub const COMMAND_FILTER: &str = "owntracks/+/+/cmd";
/// The log of one vehicle's windows subscription (`convoy/v1/vehicles/{id}/windows`): one
/// segment of 64 KiB, as a phone's commands (only the server publishes there, a message of
/// at most 8 KiB when the vehicle's moves change).
pub const WINDOWS_LOG: LogBounds = LogBounds { segment_bytes: 64 * 1024, segments: 1 };
/// The filter [`WINDOWS_LOG`] applies to.
pub const WINDOWS_FILTER: &str = "convoy/v1/vehicles/+/windows";

/// The log of the observers' alerts subscription (`convoy/v1/alerts/+`, the one filter they are
/// granted): 1 MiB, about a thousand alert changes of ~1 KiB, dropped a quarter at a time. An
/// observer reads as they come; one that falls that far behind misses the oldest, as a webhook
/// given up on would (the alert history in the API has them all).
pub const ALERTS_LOG: LogBounds = LogBounds { segment_bytes: 256 * 1024, segments: 4 };

/// The largest packet body rumqttd and the door take: a full position batch and its topic.
pub const MAX_PACKET_BYTES: usize = convoy_core::wire::MAX_PAYLOAD_BYTES + 1024;
/// How long a client has for its TLS handshake and CONNECT.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The most vehicle connections at once, however high the open-files limit (the server derives
/// the actual cap from that limit, see `convoy_limits::budget`).
pub const MAX_CONNECTIONS: usize = 20_000;
/// Near its cap, a connection that has sent no CONNECT for this long is closed for a newer one
/// (an agent sends its CONNECT at once; over TLS the handshake comes first, on a slow link).
pub const SILENT_NEAR_CAP: Duration = Duration::from_secs(5);

/// Whether an event is one of rumqttd's ERRORs about an ordinary disconnect: a client that
/// sent DISCONNECT or whose socket closed (every vehicle going away, the server's start-up
/// probe, the server stopping) makes rumqttd 0.20 log "no-connection id N is already gone",
/// "router-drop", "disconnected" or "connection-stop" at ERROR. They would be the first and last
/// lines a newcomer reads, and an operator would learn to ignore ERRORs. Matched by their call
/// sites (rumqttd is pinned in Cargo.lock; tests/demo.rs fails on any ERROR line, so a new
/// rumqttd whose lines moved is noticed). `src/main.rs` leaves them out unless `RUST_LOG` is set.
pub fn is_rumqttd_disconnect_noise(meta: &tracing::Metadata<'_>) -> bool {
    if *meta.level() != tracing::Level::ERROR || !meta.target().starts_with("rumqttd") {
        return false;
    }
    let (Some(file), Some(line)) = (meta.file(), meta.line()) else { return false };
    (file.ends_with("router/routing.rs") && [416, 436, 539, 1006].contains(&line))
        || (file.ends_with("server/broker.rs") && [577, 581, 592].contains(&line))
}

/// Starts rumqttd on an internal loopback port (on a thread of its own) and the front door on
/// `listeners`, admitting vehicles through `gate` (rumqttd takes as many, and the server's own
/// clients), and the alert `observers`; the door stops accepting, and closes its connections,
/// when `shutdown` is cancelled.
pub async fn start(
    listeners: BrokerListeners,
    store: Store,
    internal: InternalClient,
    observers: ObserverAccounts,
    metrics: BrokerMetrics,
    gate: Arc<Gate>,
    shutdown: CancellationToken,
) -> anyhow::Result<EmbeddedBroker> {
    // Everything that can be wrong in the configuration fails before rumqttd starts.
    let tls = match &listeners.tls {
        Some(DoorTls { listen, config, require_identity }) => {
            let listener = TcpListener::bind(listen)
                .await
                .with_context(|| format!("binding MQTT over TLS to {listen}"))?;
            Some((listener, config.clone(), *require_identity))
        }
        None => None,
    };
    let plain = TcpListener::bind(listeners.plain)
        .await
        .with_context(|| format!("binding MQTT to {}", listeners.plain))?;
    let mqtt_addr = plain.local_addr()?;
    let mqtts_addr = tls.as_ref().map(|(listener, _, _)| listener.local_addr()).transpose()?;

    let secret = UpstreamSecret::random();
    let internal_addr = tokio::task::spawn_blocking({
        let (internal, secret, metrics, vehicles) =
            (internal.clone(), secret.clone(), metrics.clone(), gate.cap());
        move || start_rumqttd(internal, secret, metrics, vehicles)
    })
    .await??;
    let status_lane =
        StatusLane::start(internal_addr, &internal.username, &internal.password, shutdown.clone());

    let settings = DoorSettings {
        upstream: internal_addr,
        max_packet_bytes: MAX_PACKET_BYTES,
        connect_timeout: CONNECT_TIMEOUT,
        gate,
    };
    let ledger = Arc::new(CommitLedger::default());
    let door = Arc::new(
        Door::new(settings, store, metrics, secret)
            .with_commit_ledger(ledger.clone())
            .with_status_lane(status_lane)
            .with_observers(observers),
    );
    tokio::spawn(door.clone().watch_disabled(crate::door::DISABLED_CHECK_INTERVAL, shutdown.clone()));
    let door = tokio::spawn(async move {
        let plain = door.clone().serve_plain(plain, shutdown.clone());
        match tls {
            Some((listener, config, require_identity)) => {
                tokio::join!(plain, door.serve_tls(listener, config, require_identity, shutdown));
            }
            None => plain.await,
        }
        Ok(())
    });
    Ok(EmbeddedBroker { mqtt_addr, mqtts_addr, internal_addr, door, ledger })
}

/// The logs whose bounds are not the positions' (see the module docs); no two keys match one
/// filter (rumqttd would take either).
fn custom_logs() -> HashMap<String, SegmentConfig> {
    let segment = |bounds: LogBounds| SegmentConfig {
        max_segment_size: bounds.segment_bytes,
        max_segment_count: bounds.segments,
    };
    HashMap::from([
        (STATUS_FILTER.to_string(), segment(STATUS_LOG)),
        (owntracks::FILTER.to_string(), segment(OWNTRACKS_LOG)),
        (COMMAND_FILTER.to_string(), segment(COMMAND_LOG)),
        (WINDOWS_FILTER.to_string(), segment(WINDOWS_LOG)),
        (ALERTS_FILTER.to_string(), segment(ALERTS_LOG)),
    ])
}

/// Starts rumqttd on a free loopback port and waits until it accepts connections.
fn start_rumqttd(
    internal: InternalClient,
    secret: UpstreamSecret,
    metrics: BrokerMetrics,
    vehicles: usize,
) -> anyhow::Result<SocketAddr> {
    // rumqttd cannot bind port 0 and report the port: take a free one.
    let listen = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?;
    let mut connections = ConnectionSettings {
        connection_timeout_ms: CONNECT_TIMEOUT.as_millis() as u16,
        max_payload_size: MAX_PACKET_BYTES,
        // The most packets one read hands the router at once (what a read holds is what the
        // socket had: at most a packet plus a read's worth).
        max_inflight_count: 1000,
        auth: None,
        external_auth: None,
        // No log for a topic nobody subscribed to (rumqttd 0.20 never makes one anyway).
        dynamic_filters: false,
    };
    let probe = internal.clone();
    connections.set_auth_handler(move |client_id: String, user: String, password: String| {
        let ok = authorise(&internal, &secret, &client_id, &user, &password);
        if !ok {
            metrics.auth_failures.inc();
            tracing::warn!(%client_id, %user, "MQTT login refused on the internal port: vehicles connect through the door");
        }
        async move { ok }
    });
    let server = ServerSettings {
        name: "convoy-internal".into(),
        listen,
        tls: None,
        next_connection_delay_ms: 1,
        connections,
    };
    let config = Config {
        id: 0,
        router: RouterConfig {
            // The vehicles the door admits, the server's own clients (ingest, the alert
            // service, the door's status lane), and some room for a vehicle's old session still
            // closing as it reconnects.
            max_connections: vehicles + vehicles / 8 + 16,
            // What one read of a log takes for a QoS 0 subscriber (ingest subscribes at QoS 1:
            // its reads are capped by rumqttd's window of 100 unacknowledged).
            max_outgoing_packet_count: 1000,
            max_segment_size: POSITIONS_LOG.segment_bytes,
            max_segment_count: POSITIONS_LOG.segments,
            custom_segment: Some(custom_logs()),
            initialized_filters: None,
            shared_subscriptions_strategy: Default::default(),
        },
        v4: Some(HashMap::from([("1".to_string(), server)])),
        ..Default::default()
    };
    std::thread::Builder::new().name("embedded-broker".into()).spawn(move || {
        if let Err(e) = Broker::new(config).start() {
            tracing::error!(error = %e, "embedded broker stopped");
        }
    })?;
    // rumqttd only logs a failed bind: know it is up by connecting.
    wait_until_listening(listen, &probe, Duration::from_secs(10))
        .with_context(|| format!("embedded broker on {listen}"))?;
    Ok(listen)
}

/// Who may log in to rumqttd: the server's internal client, or a vehicle, phone or observer the
/// door let in (its client id, and the door's password for it; a phone's client id and user
/// name are both `owntracks:USER`, see `door::phone_acl::PhoneTree::upstream_id`; an
/// observer's are `observer:NAME` and `observer:NAME:{its client id}`).
fn authorise(
    internal: &InternalClient,
    secret: &UpstreamSecret,
    client_id: &str,
    user: &str,
    password: &str,
) -> bool {
    if user == internal.username {
        return constant_time_eq(password.as_bytes(), internal.password.as_bytes());
    }
    if user.starts_with(crate::door::observer_acl::OBSERVER_PREFIX) {
        return is_observer_upstream(user, client_id) && secret.verify(user, password);
    }
    if let Some(phone) = user.strip_prefix("owntracks:") {
        return valid_phone_name(phone) && client_id == user && secret.verify(user, password);
    }
    let Ok(vehicle) = VehicleId::new(user) else {
        return false;
    };
    client_id == format!("convoy-agent-{vehicle}") && secret.verify(user, password)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Waits until rumqttd takes a whole MQTT session from the server's own client: CONNECT,
/// CONNACK, DISCONNECT. A bare TCP connection closed at once would do to know it listens, but
/// rumqttd logs that as an ERROR ("Error while handling MQTT connect packet"), the first line
/// a newcomer would read.
fn wait_until_listening(
    addr: SocketAddr,
    internal: &InternalClient,
    timeout: Duration,
) -> anyhow::Result<()> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Ok(stream) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            return probe_session(stream, internal)
                .context("rumqttd accepts connections but no MQTT session");
        }
        if std::time::Instant::now() > deadline {
            anyhow::bail!("not accepting connections after {timeout:?} (is the port in use?)");
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// One MQTT session, logged in as the server's internal client, ended with a DISCONNECT.
fn probe_session(mut stream: std::net::TcpStream, internal: &InternalClient) -> anyhow::Result<()> {
    use std::io::{Read, Write};
    let connect = ClientPacket::Connect(Connect {
        clean_session: true,
        keep_alive: 10,
        client_id: format!("{}-probe", internal.username),
        will: None,
        username: Some(internal.username.clone()),
        password: Some(internal.password.clone().into_bytes().into()),
    });
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(&connect.encode())?;
    let mut connack = [0u8; 4];
    stream.read_exact(&mut connack)?;
    // CONNACK, remaining length 2, no session, return code 0 (accepted).
    anyhow::ensure!(connack == [0x20, 2, 0, 0], "the probe's CONNACK was {connack:?}");
    stream.write_all(&ClientPacket::Disconnect.encode())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_internal_port_takes_the_server_and_door_passwords_only() {
        let internal = InternalClient::random("convoy-server");
        let secret = UpstreamSecret::random();
        let door_password = secret.password_for("truck-a");
        assert!(authorise(&internal, &secret, "convoy-ingest", "convoy-server", &internal.password));
        assert!(!authorise(&internal, &secret, "convoy-ingest", "convoy-server", "guess"));
        assert!(authorise(&internal, &secret, "convoy-agent-truck-a", "truck-a", &door_password));
        assert!(!authorise(&internal, &secret, "convoy-agent-truck-b", "truck-a", &door_password));
        assert!(!authorise(&internal, &secret, "convoy-agent-truck-b", "truck-b", &door_password));
        assert!(!authorise(&internal, &secret, "convoy-agent-truck-a", "truck-a", "the vehicle's own"));
        let phone_password = secret.password_for("owntracks:ana");
        assert!(authorise(&internal, &secret, "owntracks:ana", "owntracks:ana", &phone_password));
        assert!(!authorise(&internal, &secret, "ana pixel", "owntracks:ana", &phone_password));
        assert!(!authorise(&internal, &secret, "owntracks:bo", "owntracks:bo", &phone_password));
        assert!(!authorise(&internal, &secret, "owntracks:ana", "owntracks:ana", "the phone's own secret"));
        let observer_password = secret.password_for("observer:ops");
        assert!(authorise(&internal, &secret, "observer:ops:mosq-1", "observer:ops", &observer_password));
        assert!(!authorise(&internal, &secret, "convoy-ingest", "observer:ops", &observer_password));
        assert!(!authorise(&internal, &secret, "observer:ops:1", "observer:ops", "the observer's own"));
        assert!(!authorise(&internal, &secret, "observer:bo:1", "observer:bo", &observer_password));
    }

    #[test]
    fn each_custom_log_matches_only_its_own_filters() {
        let logs = custom_logs();
        // As rumqttd picks a log's bounds: the subscribed filter read as a topic, against each key.
        let matching =
            |filter: &str| logs.keys().filter(|key| rumqttd::protocol::matches(filter, key)).count();
        for filter in [
            STATUS_FILTER,
            owntracks::FILTER,
            "owntracks/ana/pixel/cmd",
            "convoy/v1/vehicles/truck-a/windows",
            ALERTS_FILTER,
        ] {
            assert_eq!(matching(filter), 1, "{filter}");
        }
        assert_eq!(matching(convoy_core::topics::POSITIONS_FILTER), 0);
    }
}
