//! The embedded broker's path survives a crash of the server: a vehicle's PUBACK waits until
//! its message is committed, so the agent keeps every fix in its spool until it is stored, and
//! sends again what a killed server never stored. Real parts: `convoy serve` as a child process
//! killed with SIGKILL, PostgreSQL, the real agent on a pseudo-terminal fed a real NMEA capture.
//!
//! The database is made unable to commit (a lock on the positions table held by the test), so
//! the server holds the fixes in memory only: that is exactly when a PUBACK must not go out.

mod common;

use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use convoy_agent::config::BrokerAddress;
use convoy_core::{Position, VehicleId};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

/// A PostgreSQL session holding `positions` locked: nothing can be written there until it ends.
struct CommitBlocker {
    client: tokio_postgres::Client,
    _connection: tokio::task::JoinHandle<()>,
}

impl CommitBlocker {
    async fn lock(database: &str) -> Self {
        let (client, connection) = tokio_postgres::connect(database, tokio_postgres::NoTls).await.unwrap();
        let connection = tokio::spawn(async move {
            let _ = connection.await;
        });
        client.batch_execute("BEGIN; LOCK TABLE positions IN ACCESS EXCLUSIVE MODE").await.unwrap();
        Self { client, _connection: connection }
    }

    /// Whether another session waits on the lock (ingest trying to commit a batch).
    async fn someone_waits(database: &str) -> bool {
        let (client, connection) = tokio_postgres::connect(database, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        let row = client
            .query_one(
                "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'positions'::regclass",
                &[],
            )
            .await
            .unwrap();
        row.get::<_, i64>(0) > 0
    }

    async fn release(self) {
        self.client.batch_execute("ROLLBACK").await.unwrap();
    }
}

fn fix(seq: u64) -> Position {
    Position {
        seq,
        t: chrono::Utc::now() - chrono::Duration::seconds(60 - seq as i64),
        lat: 48.0,
        lon: 11.0 + seq as f64 * 0.0001,
        alt_m: None,
        speed_mps: Some(8.0),
        course_deg: Some(90.0),
        fix: None,
        sats: None,
        hdop: None,
        accuracy_m: None,
    }
}

/// The door's PUBACK for a vehicle's positions comes only once they are committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_vehicles_puback_waits_until_its_positions_are_committed() {
    let server = TestServer::start(Backend::Postgres, BrokerKind::Embedded).await;
    let (vehicle, password) = register_vehicle(&server, "truck-held").await;
    let blocker = CommitBlocker::lock(&server.config.database).await;

    let mut options =
        MqttOptions::new(format!("convoy-agent-{vehicle}"), server.mqtt.ip().to_string(), server.mqtt.port());
    options.set_credentials(vehicle.to_string(), password);
    let (client, mut eventloop) = AsyncClient::new(options, 10);
    let payload = convoy_core::PositionBatch::new(vehicle.clone(), vec![fix(1), fix(2)]).encode();
    client
        .publish(convoy_core::topics::positions_topic(&vehicle), QoS::AtLeastOnce, false, payload)
        .await
        .unwrap();

    // Connected and published; then nothing may acknowledge it while the commit is blocked.
    let mut published = false;
    let waited_for_commit = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match eventloop.poll().await.unwrap() {
                Event::Outgoing(rumqttc::Outgoing::Publish(_)) => published = true,
                Event::Incoming(Packet::PubAck(_)) => return,
                _ => {}
            }
        }
    })
    .await;
    assert!(published, "the positions were sent");
    assert!(waited_for_commit.is_err(), "a PUBACK came while the positions could not be committed");
    eventually(Duration::from_secs(10), "ingest waiting on the lock", || async {
        CommitBlocker::someone_waits(&server.config.database).await.then_some(())
    })
    .await;

    blocker.release().await;
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if let Event::Incoming(Packet::PubAck(_)) = eventloop.poll().await.unwrap() {
                return;
            }
        }
    })
    .await
    .expect("the PUBACK once the positions are committed");
    let track = server
        .store
        .track(&vehicle, chrono::Utc::now() - chrono::Duration::hours(1), chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(track.iter().map(|p| p.seq).collect::<Vec<_>>(), [1, 2], "stored when acknowledged");
    server.stop().await;
}

/// `convoy serve` as a child process, so it can be killed like a real one.
fn spawn_server(database: &str, data_dir: &Path, mqtt_port: u16, http_port: u16, log: &Path) -> Child {
    let log = File::options().create(true).append(true).open(log).unwrap();
    Command::new(env!("CARGO_BIN_EXE_convoy"))
        .args(["serve", "--database", database, "--data-dir"])
        .arg(data_dir)
        .args(["--mqtt-listen", &format!("127.0.0.1:{mqtt_port}")])
        .args(["--http-listen", &format!("127.0.0.1:{http_port}")])
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

async fn wait_for_log(log: &Path, line: &str, count: usize) {
    eventually(Duration::from_secs(60), line, || async {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        (text.matches(line).count() >= count).then_some(())
    })
    .await;
}

/// The server is killed with SIGKILL while it holds a real agent's fixes in memory (the
/// database cannot commit); started again, it receives them from the agent's spool, and every
/// fix of the capture is stored exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killing_the_server_loses_no_fix_the_agent_sent() {
    let database = convoy_testkit::fresh_postgres_database().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let (mqtt_port, http_port) = (convoy_testkit::free_port(), convoy_testkit::free_port());
    let mut server = spawn_server(&database, dir.path(), mqtt_port, http_port, &log);
    wait_for_log(&log, "ingest subscribed", 1).await;

    let vehicle = VehicleId::new("truck-crash").unwrap();
    let store = convoy_store::Store::open(&database).await.unwrap();
    let password = convoy_registry::register_vehicle(&store, &vehicle).await.unwrap();
    let expected = gpsd_fixes(&data_path("nmea/gpsd/haicom-305N.log.chk"));

    let blocker = CommitBlocker::lock(&database).await;
    let agent =
        TestAgent::start_with_broker(&vehicle, &password, BrokerAddress::plain("127.0.0.1", mqtt_port));
    agent.feed(std::fs::read(data_path("nmea/gpsd/haicom-305N.log")).unwrap()).join().unwrap();
    eventually(Duration::from_secs(30), "ingest holding a batch it cannot commit", || async {
        CommitBlocker::someone_waits(&database).await.then_some(())
    })
    .await;
    // Let the agent send the rest of the capture, then kill the server holding it all.
    tokio::time::sleep(Duration::from_secs(3)).await;
    server.kill().unwrap();
    server.wait().unwrap();
    blocker.release().await;
    assert!(
        store
            .track(&vehicle, chrono::Utc::now() - chrono::Duration::days(3650), chrono::Utc::now())
            .await
            .unwrap()
            .is_empty(),
        "nothing was committed before the kill"
    );

    let mut server = spawn_server(&database, dir.path(), mqtt_port, http_port, &log);
    let last_t = expected.last().unwrap().t.expect("gpsd gives the last fix a time");
    let track = eventually(Duration::from_secs(60), "every fix after the restart", || async {
        let track = store
            .track(&vehicle, last_t - chrono::Duration::days(1), last_t + chrono::Duration::hours(1))
            .await
            .unwrap();
        (track.len() >= expected.len()).then_some(track)
    })
    .await;
    assert_eq!(
        track.iter().map(|p| p.seq).collect::<Vec<_>>(),
        (1..=expected.len() as u64).collect::<Vec<_>>(),
        "every fix of the capture, once, in order"
    );
    agent.stop().await;
    server.kill().unwrap();
    server.wait().unwrap();
}
