//! Ingest under faults, with real parts: `convoy ingest` as its own process, Mosquitto, and
//! PostgreSQL or SQLite, fed by the load generator (real v1 batches, one fix per message, as
//! live traffic). Whatever happens, every fix sent must be stored exactly once; signed tracks
//! also keep every fix signed, with no refusal and no false gap in their chains.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::Utc;
use convoy::loadgen::{LoadgenConfig, LoadgenReport};
use convoy_store::Store;
use convoy_testkit::{Mosquitto, PgCluster};

/// `convoy ingest` as a child process, so it can be killed like a real one.
struct IngestProcess {
    child: Child,
    database: String,
    broker_port: u16,
    log: PathBuf,
    extra: Vec<String>,
}

impl IngestProcess {
    fn start(database: &str, broker_port: u16, log: &Path) -> Self {
        Self::start_with(database, broker_port, log, &[])
    }

    /// With extra `convoy ingest` flags (kept for restarts).
    fn start_with(database: &str, broker_port: u16, log: &Path, extra: &[&str]) -> Self {
        let extra: Vec<String> = extra.iter().map(|a| a.to_string()).collect();
        let child = spawn_ingest(database, broker_port, log, &extra);
        let ingest =
            Self { child, database: database.to_string(), broker_port, log: log.to_path_buf(), extra };
        // Until ingest's first subscription the broker has no session to keep messages for:
        // what is published before is nobody's (in production the session outlives restarts).
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        // "ingest subscribed" is logged once every filter's SUBACK is in.
        while !ingest.log_text().contains("ingest subscribed") {
            assert!(std::time::Instant::now() < deadline, "ingest did not subscribe:\n{}", ingest.log_text());
            std::thread::sleep(Duration::from_millis(50));
        }
        ingest
    }

    /// SIGKILL: no shutdown, no last commit, no goodbye to the broker.
    fn kill_9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    fn restart(&mut self) {
        self.child = spawn_ingest(&self.database, self.broker_port, &self.log, &self.extra);
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for IngestProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_ingest(database: &str, broker_port: u16, log: &Path, extra: &[String]) -> Child {
    let log = File::options().create(true).append(true).open(log).unwrap();
    Command::new(env!("CARGO_BIN_EXE_convoy"))
        .args(["ingest", "--database", database, "--broker", &format!("mqtt://127.0.0.1:{broker_port}")])
        .args(extra)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// `vehicles` vehicles sending `fixes` fixes each at `rate_hz`, one fix per message.
fn load(broker_port: u16, database: &str, vehicles: usize, fixes: u64, rate_hz: f64) -> LoadgenConfig {
    LoadgenConfig {
        broker_host: "127.0.0.1".into(),
        broker_port,
        username: None,
        password: None,
        database: Some(database.to_string()),
        vehicles,
        rate_hz,
        batch: 1,
        fixes_per_vehicle: fixes,
        connections: 4,
        settle_timeout: Duration::from_secs(180),
        signed: false,
    }
}

/// Every vehicle's stored track is exactly seqs 1..=fixes: nothing lost, nothing doubled.
async fn assert_exactly_once(database: &str, report: &LoadgenReport, fixes: u64) {
    assert_eq!(report.sent, report.vehicles.len() as u64 * fixes);
    assert_eq!(report.acknowledged, report.sent, "the broker took every fix");
    let store = Store::open(database).await.unwrap();
    for vehicle in &report.vehicles {
        let track = store.track(vehicle, Utc::now() - chrono::Duration::hours(1), Utc::now()).await.unwrap();
        let seqs: Vec<u64> = track.iter().map(|p| p.seq).collect();
        assert_eq!(seqs, (1..=fixes).collect::<Vec<_>>(), "{vehicle}: every fix once, in order");
    }
    assert_eq!(report.stored, report.sent);
}

/// Every stored fix is signed (linked in its verified chain), no batch was refused and no
/// chain has a gap: redeliveries after a crash link like the first delivery.
async fn assert_all_signed(database: &str, report: &LoadgenReport) {
    let store = Store::open(database).await.unwrap();
    let from = Utc::now() - chrono::Duration::hours(1);
    for vehicle in &report.vehicles {
        let mut track = store.track_stream(vehicle, from, Utc::now());
        while let Some(stored) = track.recv().await {
            let stored = stored.unwrap();
            assert!(stored.prev_hash.is_some(), "{vehicle} seq {} stored unsigned", stored.position.seq);
        }
        assert_eq!(store.chain_gaps(vehicle, 0, u64::MAX).await.unwrap(), [], "{vehicle}: no gap");
    }
    let dead: Vec<_> = store.dead_letters(10).await.unwrap().into_iter().map(|d| d.reason).collect();
    assert!(dead.is_empty(), "refused: {dead:?}");
}

/// 100 vehicles x 1,000 fixes at 100 Hz each (10,000 messages/s for 10 s); the ingest process
/// is killed with SIGKILL three times while they stream in and started again each time.
async fn killing_ingest_loses_and_doubles_nothing(database: String, signed: bool) {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let mut ingest = IngestProcess::start(&database, broker.port, &dir.path().join("ingest.log"));
    let load = LoadgenConfig { signed, ..load(broker.port, &database, 100, 1000, 100.0) };
    let generator = tokio::spawn(convoy::loadgen::run(load));
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(2500)).await;
        ingest.kill_9();
        tokio::time::sleep(Duration::from_millis(300)).await;
        ingest.restart();
    }
    let report = generator.await.unwrap().unwrap();
    assert_exactly_once(&database, &report, 1000).await;
    if signed {
        assert_all_signed(&database, &report).await;
    }
    assert!(
        ingest.log_text().matches("ingest connected to the broker").count() >= 4,
        "{}",
        ingest.log_text()
    );
}

/// Signed: every batch verified, and the chain held across the crashes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_of_ingest_on_postgres_stores_every_signed_position_exactly_once_and_linked() {
    killing_ingest_loses_and_doubles_nothing(convoy_testkit::fresh_postgres_database().await, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_of_ingest_on_sqlite_stores_every_position_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("convoy.db").display());
    killing_ingest_loses_and_doubles_nothing(database, false).await;
}

/// PostgreSQL stops for 30 s in the middle of a 40-second stream: ingest holds what it has
/// unacknowledged, retries, and catches up once the database is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_stopped_for_30_s_mid_stream_loses_and_doubles_nothing() {
    let postgres = tokio::task::spawn_blocking(PgCluster::start).await.unwrap();
    let database = postgres.url();
    Store::open(&database).await.unwrap();
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let ingest = IngestProcess::start(&database, broker.port, &dir.path().join("ingest.log"));
    let generator = tokio::spawn(convoy::loadgen::run(load(broker.port, &database, 50, 800, 20.0)));

    tokio::time::sleep(Duration::from_secs(4)).await;
    postgres.stop();
    tokio::time::sleep(Duration::from_secs(30)).await;
    postgres.start_again();

    let report = generator.await.unwrap().unwrap();
    assert_exactly_once(&database, &report, 800).await;
    assert!(
        ingest.log_text().contains("holding it unacknowledged"),
        "ingest noticed the outage and held the batch:\n{}",
        ingest.log_text()
    );
}

/// Mosquitto is restarted (with its persistence, as deployed) in the middle of the stream:
/// the publishers resend what it had not acknowledged, it keeps ingest's session and queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_broker_restart_mid_stream_loses_and_doubles_nothing() {
    let database = convoy_testkit::fresh_postgres_database().await;
    Store::open(&database).await.unwrap();
    let mut broker = Mosquitto::start_persistent();
    let dir = tempfile::tempdir().unwrap();
    let ingest = IngestProcess::start(&database, broker.port, &dir.path().join("ingest.log"));
    let generator = tokio::spawn(convoy::loadgen::run(load(broker.port, &database, 50, 500, 50.0)));

    tokio::time::sleep(Duration::from_secs(4)).await;
    broker.restart();

    let report = generator.await.unwrap().unwrap();
    assert_exactly_once(&database, &report, 500).await;
    let log = ingest.log_text();
    assert!(log.contains("ingest lost the broker") && log.matches("ingest connected").count() >= 2, "{log}");
}

/// Two ingest processes share one subscription (`$share/convoy/...`), each with its own
/// session: together they store every fix once, and each took part.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_ingest_processes_sharing_a_subscription_store_every_position_once() {
    let database = convoy_testkit::fresh_postgres_database().await;
    Store::open(&database).await.unwrap();
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let shared = |id: &'static str| ["--share-group", "convoy", "--client-id", id];
    let first =
        IngestProcess::start_with(&database, broker.port, &dir.path().join("1.log"), &shared("ingest-1"));
    let second =
        IngestProcess::start_with(&database, broker.port, &dir.path().join("2.log"), &shared("ingest-2"));
    tokio::time::sleep(Duration::from_secs(1)).await;
    // 12 s of traffic: each process logs what it stored after 10 s.
    let report = convoy::loadgen::run(load(broker.port, &database, 50, 600, 50.0)).await.unwrap();
    assert_exactly_once(&database, &report, 600).await;
    for ingest in [&first, &second] {
        let log = ingest.log_text();
        let stored = log
            .lines()
            .find(|l| l.contains("positions stored"))
            .and_then(|l| l.split("positions=").nth(1)?.split_whitespace().next()?.parse::<u64>().ok());
        assert!(stored.is_some_and(|n| n > 0), "each process stored a share:\n{log}");
    }
}
