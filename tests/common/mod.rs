//! What the end-to-end tests share: a server on real services, an agent on a real
//! pseudo-terminal, an HTTP client, and gpsd's decoded output as the oracle.

#![allow(dead_code)] // each test binary uses its own part of this module

pub mod basemap;
pub mod contract;
pub mod qr;
pub mod served;

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use convoy::config::{BrokerChoice, ServerConfig};
use convoy::pty::PtyPair;
use convoy::server::RunningServer;
use convoy_agent::config::BrokerAddress;
use convoy_agent::rollover::TimeReference;
use convoy_agent::AgentConfig;
use convoy_core::{Role, VehicleId};
use convoy_testkit::Mosquitto;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

pub const ESCORT_USER: &str = "escort-ana";
pub const ESCORT_PASSWORD: &str = "a long enough escort password";
pub const ADMIN_USER: &str = "admin-bo";
pub const ADMIN_PASSWORD: &str = "a long enough admin password";

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone, Copy, Debug)]
pub enum BrokerKind {
    Embedded,
    Mosquitto,
}

/// A running server with everything it stands on; dropping it stops the server and the
/// external broker.
pub struct TestServer {
    pub server: Option<RunningServer>,
    pub http: SocketAddr,
    pub mqtt: SocketAddr,
    pub shutdown: CancellationToken,
    pub store: convoy_store::Store,
    pub config: ServerConfig,
    /// Cancels `shutdown` when the server is dropped without `stop`.
    _stop_on_drop: tokio_util::sync::DropGuard,
    _mosquitto: Option<Mosquitto>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start(backend: Backend, broker: BrokerKind) -> TestServer {
        Self::start_configured(backend, broker, |_| {}).await
    }

    /// Starts a server whose configuration `configure` may change first (rules, notifiers).
    pub async fn start_configured(
        backend: Backend,
        broker: BrokerKind,
        configure: impl FnOnce(&mut ServerConfig),
    ) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let database = match backend {
            Backend::Sqlite => format!("sqlite://{}", dir.path().join("convoy.db").display()),
            Backend::Postgres => convoy_testkit::fresh_postgres_database().await,
        };
        Self::start_in(dir, database, broker, configure).await
    }

    /// Starts a server on an empty database of the test's own (e.g. on a `PgCluster` the test
    /// stops and starts).
    pub async fn start_on_database(
        database: String,
        broker: BrokerKind,
        configure: impl FnOnce(&mut ServerConfig),
    ) -> TestServer {
        Self::start_in(tempfile::tempdir().unwrap(), database, broker, configure).await
    }

    async fn start_in(
        dir: tempfile::TempDir,
        database: String,
        broker: BrokerKind,
        configure: impl FnOnce(&mut ServerConfig),
    ) -> TestServer {
        let (broker_choice, mosquitto, mqtt) = match broker {
            BrokerKind::Embedded => {
                let listen: SocketAddr =
                    format!("127.0.0.1:{}", convoy_testkit::free_port()).parse().unwrap();
                (BrokerChoice::Embedded { listen }, None, listen)
            }
            BrokerKind::Mosquitto => {
                let mosquitto = Mosquitto::start();
                let addr: SocketAddr = format!("127.0.0.1:{}", mosquitto.port).parse().unwrap();
                let choice = BrokerChoice::External {
                    host: "127.0.0.1".into(),
                    port: mosquitto.port,
                    username: None,
                    password: None,
                    tls: None,
                };
                (choice, Some(mosquitto), addr)
            }
        };
        let mut config = ServerConfig::new(
            dir.path().to_path_buf(),
            database,
            broker_choice,
            "127.0.0.1:0".parse().unwrap(),
        );
        configure(&mut config);
        let shutdown = CancellationToken::new();
        let server = convoy::server::start(&config, shutdown.clone()).await.unwrap();
        let store = server.store.clone();
        convoy_registry::add_user(&store, ESCORT_USER, Role::Escort, ESCORT_PASSWORD).await.unwrap();
        convoy_registry::add_user(&store, ADMIN_USER, Role::Admin, ADMIN_PASSWORD).await.unwrap();
        TestServer {
            http: server.http_addr,
            server: Some(server),
            mqtt,
            _stop_on_drop: shutdown.clone().drop_guard(),
            shutdown,
            store,
            config,
            _mosquitto: mosquitto,
            _dir: dir,
        }
    }

    /// Stops the server and starts it again on the same database and broker (an external
    /// broker: the embedded one lives as long as the process). Everything held in memory is
    /// gone, as after a crash; the HTTP port changes.
    pub async fn restart(&mut self) {
        assert!(self._mosquitto.is_some(), "restart needs an external broker");
        self.shutdown.cancel();
        if let Some(server) = self.server.take() {
            tokio::time::timeout(Duration::from_secs(60), server.wait())
                .await
                .expect("the server stops within a minute")
                .unwrap();
        }
        let shutdown = CancellationToken::new();
        let server = convoy::server::start(&self.config, shutdown.clone()).await.unwrap();
        self.http = server.http_addr;
        self.store = server.store.clone();
        self.server = Some(server);
        self._stop_on_drop = shutdown.clone().drop_guard();
        self.shutdown = shutdown;
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.http, path)
    }

    /// Runs `convoy COMMAND ARGS` on this server's database as Unix user `ops` (so it is audited
    /// as `cli:ops`): its stdout, or its stderr if it failed.
    pub fn cli(&self, command: &str, args: &[&str]) -> Result<String, String> {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_convoy"))
            .arg(command)
            .args(args)
            .args(["--database", &self.config.database])
            .env("USER", "ops")
            .output()
            .unwrap();
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).into_owned())
        }
    }

    /// Logs in over HTTP and returns the bearer token.
    pub async fn login(&self, user: &str, password: &str) -> String {
        let response = reqwest::Client::new()
            .post(self.url("/api/v1/login"))
            .json(&serde_json::json!({ "username": user, "password": password }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "login of {user}");
        response.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string()
    }

    pub async fn get_json(&self, path: &str, token: &str) -> (u16, Value) {
        let response = reqwest::Client::new().get(self.url(path)).bearer_auth(token).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn metrics(&self) -> String {
        reqwest::get(self.url("/metrics")).await.unwrap().text().await.unwrap()
    }

    /// Stops the server and waits for it. The bound only catches a hang: the HTTP drain alone may
    /// take its 10 s (`DRAIN_TIMEOUT`) when a request is still under way, and a bound equal to it
    /// failed a stop on a busy CI machine.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(server) = self.server.take() {
            tokio::time::timeout(Duration::from_secs(60), server.wait())
                .await
                .expect("the server stops within a minute")
                .unwrap();
        }
    }
}

/// An HTTPS client that trusts only the test CA `ca` (not the system's roots).
pub fn trusting_client(ca: &convoy_testkit::TestCa) -> reqwest::Client {
    let pem = std::fs::read(&ca.ca_file).unwrap();
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .build()
        .unwrap()
}

/// The process's log, captured in memory as an operator reads it (one line per event, no
/// colours): for what only the log shows. One per test binary, as it is the global subscriber.
#[derive(Clone, Default)]
pub struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Captured {
    /// Makes a capture the process's subscriber, with this `RUST_LOG`-style filter.
    pub fn install(filter: &str) -> Captured {
        let captured = Captured::default();
        let writer = captured.clone();
        tracing::subscriber::set_global_default(
            tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                .with_ansi(false)
                .with_writer(move || writer.clone())
                .finish(),
        )
        .expect("one capture per test binary");
        captured
    }

    pub fn lines(&self) -> Vec<String> {
        String::from_utf8_lossy(&self.0.lock().unwrap()).lines().map(str::to_string).collect()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The value of one sample in Prometheus text, e.g. `convoy_ingest_rejected_total{reason="malformed"}`.
pub fn metric(text: &str, sample: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(sample)?.strip_prefix(' ')?.trim().parse().ok())
}

/// Polls `check` every 100 ms until it returns Some, or panics after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A real agent reading a pseudo-terminal, as it reads a serial port.
pub struct TestAgent {
    pub pty: PtyPair,
    pub shutdown: CancellationToken,
    pub task: tokio::task::JoinHandle<anyhow::Result<()>>,
    _state: tempfile::TempDir,
}

impl TestAgent {
    pub fn start(vehicle: &VehicleId, password: &str, mqtt: SocketAddr) -> TestAgent {
        Self::start_with_broker(vehicle, password, BrokerAddress::plain(mqtt.ip().to_string(), mqtt.port()))
    }

    /// An agent for a broker given in full (e.g. `mqtts://` with its CA and client certificate).
    pub fn start_with_broker(vehicle: &VehicleId, password: &str, broker: BrokerAddress) -> TestAgent {
        Self::start_configured(vehicle, password, broker, |_| {})
    }

    /// An agent whose configuration `configure` may change first (its privacy, state directory).
    pub fn start_configured(
        vehicle: &VehicleId,
        password: &str,
        broker: BrokerAddress,
        configure: impl FnOnce(&mut AgentConfig),
    ) -> TestAgent {
        let pty = PtyPair::open().unwrap();
        let state = tempfile::tempdir().unwrap();
        let mut config = AgentConfig {
            serial: pty.slave_path.clone(),
            baud: 9600,
            vehicle: vehicle.clone(),
            broker,
            username: Some(vehicle.to_string()),
            password: Some(password.to_string()),
            state_dir: state.path().to_path_buf(),
            max_batch_fixes: 200,
            spool: Default::default(),
            heartbeat: None,
            metrics_file: None,
            privacy: convoy_agent::privacy::Privacy::Always,
            signing_key: None,
            // The tests replay receiver captures of past years (gpsd's 2007 haicom-305N.log)
            // as they were recorded; the week rollover check is the agent's own tests' matter.
            time_reference: TimeReference::Off,
        };
        configure(&mut config);
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(convoy_agent::run(config, shutdown.clone()));
        TestAgent { pty, shutdown, task, _state: state }
    }

    /// Writes receiver bytes into the terminal from a thread (a full terminal blocks the writer).
    pub fn feed(&self, bytes: Vec<u8>) -> std::thread::JoinHandle<()> {
        let mut master = self.pty.master.try_clone().unwrap();
        std::thread::spawn(move || {
            for chunk in bytes.chunks(512) {
                master.write_all(chunk).unwrap();
            }
        })
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(10), self.task).await.unwrap().unwrap().unwrap();
    }
}

/// `count` receiver epochs a second apart from `start`, moving north from Munich at 11 m/s,
/// each with a fix: what a TestAgent is fed.
pub fn receiver_epochs(start: DateTime<Utc>, count: usize) -> Vec<convoy_agent::nmea_writer::SimFix> {
    (0..count)
        .map(|i| convoy_agent::nmea_writer::SimFix {
            t: start + chrono::Duration::seconds(i as i64),
            lat: 48.137 + i as f64 * 1e-4,
            lon: 11.575,
            alt_m: 520.0,
            speed_mps: 11.0,
            course_deg: 0.0,
            sats: 9,
            hdop: 0.9,
        })
        .collect()
}

/// The receiver's bytes for `fixes`, NMEA sentences epoch after epoch.
pub fn nmea(fixes: &[convoy_agent::nmea_writer::SimFix]) -> Vec<u8> {
    fixes.iter().map(convoy_agent::nmea_writer::epoch_sentences).collect::<String>().into_bytes()
}

/// The project's copy of the real data.
pub fn data_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data").join(relative)
}

/// One epoch as gpsd decoded it.
#[derive(Clone, Debug, PartialEq)]
pub struct OracleFix {
    /// gpsd leaves the time out of some reports (e.g. the first fix after a no-fix spell).
    pub t: Option<DateTime<Utc>>,
    pub lat: f64,
    pub lon: f64,
}

/// The epochs with a 2D or 3D fix in gpsd's decoded output (`.chk`), in order, once each
/// (gpsd repeats a report as more sentences of the same epoch arrive).
pub fn gpsd_fixes(chk: &Path) -> Vec<OracleFix> {
    let text = std::fs::read_to_string(chk).unwrap();
    let mut fixes: Vec<OracleFix> = Vec::new();
    for line in text.lines().filter(|l| l.starts_with('{')) {
        let v: Value = serde_json::from_str(line).unwrap();
        if v["class"] != "TPV" || v["mode"].as_u64().unwrap_or(0) < 2 {
            continue;
        }
        let (Some(lat), Some(lon)) = (v["lat"].as_f64(), v["lon"].as_f64()) else {
            continue;
        };
        let t = v["time"].as_str().map(|t| DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc));
        let same_epoch = fixes.last().is_some_and(|last| match (last.t, t) {
            (Some(a), Some(b)) => a == b,
            _ => last.lat == lat && last.lon == lon,
        });
        if !same_epoch {
            fixes.push(OracleFix { t, lat, lon });
        }
    }
    fixes
}

/// Registers a vehicle straight in the store and returns its MQTT password.
pub async fn register_vehicle(server: &TestServer, name: &str) -> (VehicleId, String) {
    let vehicle = VehicleId::new(name).unwrap();
    let password = convoy_registry::register_vehicle(&server.store, &vehicle).await.unwrap();
    (vehicle, password)
}

/// Registers an OwnTracks phone (user `user`, device `device`) for `vehicle`, registering the
/// vehicle too; returns its secret.
pub async fn register_phone(
    server: &TestServer,
    user: &str,
    device: &str,
    vehicle: &str,
    person: Option<&str>,
) -> String {
    add_phone(server, convoy_store::DeviceKind::OwnTracks, user, Some(device), vehicle, person).await
}

/// Registers Traccar Client's device `id` for `vehicle`, registering the vehicle too; returns its
/// secret (the last segment of the URL the app is given).
pub async fn register_traccar(server: &TestServer, id: &str, vehicle: &str) -> String {
    add_phone(server, convoy_store::DeviceKind::Traccar, id, None, vehicle, None).await
}

async fn add_phone(
    server: &TestServer,
    kind: convoy_store::DeviceKind,
    name: &str,
    owntracks_device: Option<&str>,
    vehicle: &str,
    person: Option<&str>,
) -> String {
    let vehicle = VehicleId::new(vehicle).unwrap();
    if server.store.vehicle_password_hash(&vehicle).await.unwrap().is_none() {
        convoy_registry::register_vehicle(&server.store, &vehicle).await.unwrap();
    }
    let phone = convoy_registry::NewPhone {
        kind,
        name: name.to_string(),
        owntracks_device: owntracks_device.map(str::to_string),
        vehicle,
        person: person.map(str::to_string),
    };
    convoy_registry::register_phone(&server.store, phone).await.unwrap().1
}

/// Publishes fixes as the vehicle's agent would, `per_message` to a batch, QoS 1, through the
/// server's broker; returns when every batch is acknowledged.
pub async fn publish_fixes(
    server: &TestServer,
    vehicle: &VehicleId,
    password: &str,
    fixes: &[convoy_core::Position],
    per_message: usize,
) {
    use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
    let mut options =
        MqttOptions::new(format!("convoy-agent-{vehicle}"), server.mqtt.ip().to_string(), server.mqtt.port());
    options.set_credentials(vehicle.to_string(), password);
    let (client, mut eventloop) = AsyncClient::new(options, 1000);
    let messages: Vec<Vec<u8>> = fixes
        .chunks(per_message)
        .map(|chunk| convoy_core::PositionBatch::new(vehicle.clone(), chunk.to_vec()).encode())
        .collect();
    let count = messages.len();
    let topic = convoy_core::topics::positions_topic(vehicle);
    let sender = tokio::spawn(async move {
        for payload in messages {
            client.publish(topic.clone(), QoS::AtLeastOnce, false, payload).await.unwrap();
        }
        client
    });
    let mut acked = 0;
    while acked < count {
        if let Event::Incoming(Packet::PubAck(_)) =
            tokio::time::timeout(Duration::from_secs(30), eventloop.poll()).await.unwrap().unwrap()
        {
            acked += 1;
        }
    }
    let client = sender.await.unwrap();
    client.disconnect().await.unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(1), eventloop.poll()).await;
}

/// Publishes whole batches (signed ones, say) as the vehicle's agent would, QoS 1, one at a
/// time, each waiting for its PUBACK.
pub async fn publish_batches(
    server: &TestServer,
    vehicle: &VehicleId,
    password: &str,
    batches: &[convoy_core::PositionBatch],
) {
    use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
    let mut options =
        MqttOptions::new(format!("convoy-agent-{vehicle}"), server.mqtt.ip().to_string(), server.mqtt.port());
    options.set_credentials(vehicle.to_string(), password);
    let (client, mut eventloop) = AsyncClient::new(options, 100);
    let topic = convoy_core::topics::positions_topic(vehicle);
    for batch in batches {
        client.publish(topic.clone(), QoS::AtLeastOnce, false, batch.encode()).await.unwrap();
        loop {
            let event =
                tokio::time::timeout(Duration::from_secs(30), eventloop.poll()).await.unwrap().unwrap();
            if let Event::Incoming(Packet::PubAck(_)) = event {
                break;
            }
        }
    }
    client.disconnect().await.unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(1), eventloop.poll()).await;
}

/// An open `off_route` alert as the rules record one, at `opened_t` (to the millisecond, as
/// stored), 420 m off at 48.165 N 11.59 E; a test changes what it needs with `..`.
pub fn opened_alert(
    id: &str,
    move_id: &str,
    vehicle: &str,
    opened_t: DateTime<Utc>,
) -> convoy_store::AlertRecord {
    use chrono::SubsecRound;
    use convoy_core::alert::{AlertKind, AlertState};
    convoy_store::AlertRecord {
        id: id.to_string(),
        move_id: move_id.to_string(),
        vehicle: VehicleId::new(vehicle).unwrap(),
        kind: AlertKind::OffRoute,
        zone: None,
        state: AlertState::Open,
        opened_t: opened_t.trunc_subsecs(3),
        lat: Some(48.165),
        lon: Some(11.59),
        detail: serde_json::json!({ "distance_m": 420.0 }),
        late: false,
        acknowledged_t: None,
        acknowledged_by: None,
        note: None,
        resolved_t: None,
        resolved_by: None,
        cleared_t: None,
        cleared_detail: None,
    }
}
