//! The embedded MQTT broker (rumqttd), so a small site needs nothing else installed.
//!
//! Every client logs in: a vehicle as its id with the password `convoy vehicle add` printed,
//! and with the client id `convoy-agent-{id}` so that no vehicle can take over another's
//! session; the server's own ingest with a random password made at start-up.
//!
//! rumqttd has no topic access control: a vehicle with valid credentials could publish on
//! another vehicle's topic. Ingest refuses a payload whose vehicle differs from its topic's.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use convoy_core::VehicleId;
use convoy_store::Store;
use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, ServerSettings};

use crate::auth::verify_password;
use crate::metrics::GatewayMetrics;

/// The credentials of a server-internal client (ingest).
#[derive(Clone, Debug)]
pub struct InternalClient {
    pub username: String,
    pub password: String,
}

impl InternalClient {
    pub fn random(username: &str) -> Self {
        Self { username: username.to_string(), password: crate::auth::random_password() }
    }
}

/// Starts the broker on `listen` on a thread of its own and waits until it accepts connections.
/// rumqttd cannot be stopped; it ends with the process.
pub fn start(
    listen: SocketAddr,
    store: Store,
    internal: InternalClient,
    metrics: GatewayMetrics,
    runtime: tokio::runtime::Handle,
) -> anyhow::Result<()> {
    let mut connections = ConnectionSettings {
        connection_timeout_ms: 10_000,
        max_payload_size: convoy_core::wire::MAX_PAYLOAD_BYTES + 1024,
        max_inflight_count: 1000,
        auth: None,
        external_auth: None,
        dynamic_filters: true,
    };
    connections.set_auth_handler(move |client_id: String, user: String, password: String| {
        let (store, internal, metrics) = (store.clone(), internal.clone(), metrics.clone());
        // Verify on the server's runtime: argon2 is slow on purpose and must not stall the
        // broker's own threads.
        let verdict = runtime.spawn(async move {
            let ok = authorise(&store, &internal, &client_id, &user, &password).await;
            if !ok {
                metrics.mqtt_auth_failures.inc();
                tracing::warn!(%client_id, %user, "MQTT login refused");
            }
            ok
        });
        async move { verdict.await.unwrap_or(false) }
    });
    let server = ServerSettings {
        name: "convoy-v4".into(),
        listen,
        tls: None,
        next_connection_delay_ms: 1,
        connections,
    };
    let config = Config {
        id: 0,
        router: RouterConfig {
            max_connections: 20_000,
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
        .with_context(|| format!("embedded broker on {listen}"))
}

async fn authorise(
    store: &Store,
    internal: &InternalClient,
    client_id: &str,
    user: &str,
    password: &str,
) -> bool {
    if user == internal.username {
        return password == internal.password;
    }
    let Ok(vehicle) = VehicleId::new(user) else {
        return false;
    };
    if client_id != format!("convoy-agent-{vehicle}") {
        return false;
    }
    let Ok(Some(hash)) = store.vehicle_password_hash(&vehicle).await else {
        return false;
    };
    let password = password.to_string();
    tokio::task::spawn_blocking(move || verify_password(&password, &hash)).await.unwrap_or(false)
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
