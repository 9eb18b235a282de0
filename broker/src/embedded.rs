//! rumqttd, started on a private loopback port, with the front door in front of it.
//!
//! rumqttd has no topic access control, so vehicles never reach it directly: they connect to
//! the front door ([`crate::door`]), which checks each vehicle's password and every packet
//! it sends, and forwards to rumqttd on an internal loopback port. rumqttd accepts there only
//! the door's per-process password for a vehicle (never the vehicle's own) and the server's
//! internal client (ingest and the alert publisher), with a random password made at start-up.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use convoy_core::VehicleId;
use convoy_limits::Gate;
use convoy_store::Store;
use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, ServerSettings};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::door::{CommitLedger, Door, DoorSettings, UpstreamSecret};
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

/// Starts rumqttd on an internal loopback port (on a thread of its own) and the front door on
/// `listeners`, admitting vehicles through `gate` (rumqttd takes as many, and the server's own
/// clients); the door stops accepting, and closes its connections, when `shutdown` is
/// cancelled.
pub async fn start(
    listeners: BrokerListeners,
    store: Store,
    internal: InternalClient,
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
        let (secret, metrics, vehicles) = (secret.clone(), metrics.clone(), gate.cap());
        move || start_rumqttd(internal, secret, metrics, vehicles)
    })
    .await??;

    let settings = DoorSettings {
        upstream: internal_addr,
        max_packet_bytes: MAX_PACKET_BYTES,
        connect_timeout: CONNECT_TIMEOUT,
        gate,
    };
    let ledger = Arc::new(CommitLedger::default());
    let door = Arc::new(Door::new(settings, store, metrics, secret).with_commit_ledger(ledger.clone()));
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
        max_inflight_count: 1000,
        auth: None,
        external_auth: None,
        dynamic_filters: true,
    };
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
            // The vehicles the door admits, the server's own clients, and some room for a
            // vehicle's old session still closing as it reconnects.
            max_connections: vehicles + vehicles / 8 + 16,
            max_outgoing_packet_count: 1000,
            max_segment_size: 100 * 1024 * 1024,
            max_segment_count: 10,
            custom_segment: None,
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
    wait_until_listening(listen, Duration::from_secs(10))
        .with_context(|| format!("embedded broker on {listen}"))?;
    Ok(listen)
}

/// Who may log in to rumqttd: the server's internal client, or a vehicle the door let in (its
/// client id, and the door's password for it).
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
    let Ok(vehicle) = VehicleId::new(user) else {
        return false;
    };
    client_id == format!("convoy-agent-{vehicle}") && secret.verify(user, password)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn wait_until_listening(addr: SocketAddr, timeout: Duration) -> anyhow::Result<()> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            anyhow::bail!("not accepting connections after {timeout:?} (is the port in use?)");
        }
        std::thread::sleep(Duration::from_millis(25));
    }
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
    }
}
