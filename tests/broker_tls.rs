//! `convoy ingest` and an external broker over TLS (`--broker mqtts://`), with real parts: the
//! `convoy` binary, Mosquitto with a TLS listener that demands client certificates, SQLite, and
//! certificates made here. What a vehicle publishes over TLS is stored; a broker whose
//! certificate chains to another CA is refused, and so is ingest without a client certificate,
//! each saying why in the log. `convoy serve` with that broker stores over TLS too, and its
//! alert publisher connects there the same way.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{SubsecRound as _, Utc};
use convoy_core::{Position, PositionBatch, VehicleId};
use convoy_store::Store;
use convoy_testkit::{CertFiles, Mosquitto, TestCa};
use convoy_tls_client::TlsFiles;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

/// A CA, the broker's certificate, client certificates for ingest and a vehicle, and another CA
/// that signed none of them.
struct Pki {
    dir: tempfile::TempDir,
    ca: TestCa,
    broker: CertFiles,
    ingest: CertFiles,
    vehicle: CertFiles,
    other_ca_file: PathBuf,
}

fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new(dir.path());
    let broker = ca.server("broker");
    let ingest = ca.client("convoy-ingest");
    let vehicle = ca.client("truck-07");
    let other_dir = dir.path().join("other");
    std::fs::create_dir(&other_dir).unwrap();
    let other_ca_file = TestCa::new(&other_dir).ca_file;
    Pki { dir, ca, broker, ingest, vehicle, other_ca_file }
}

/// `convoy ingest --broker mqtts://...` with this CA and maybe a client certificate, logging to
/// `log`.
fn spawn_ingest(database: &str, port: u16, ca_file: &Path, client: Option<&CertFiles>, log: &Path) -> Child {
    let log = std::fs::File::create(log).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_convoy"));
    command
        .args(["ingest", "--database", database, "--broker", &format!("mqtts://127.0.0.1:{port}")])
        .arg("--broker-ca-file")
        .arg(ca_file)
        .args(["--client-id", &format!("convoy-ingest-{}", rand::random::<u32>())]);
    if let Some(client) = client {
        command
            .arg("--broker-client-cert-file")
            .arg(&client.cert_file)
            .arg("--broker-client-key-file")
            .arg(&client.key_file);
    }
    command.env("RUST_LOG", "info").env("NO_COLOR", "1").stdout(Stdio::null()).stderr(log).spawn().unwrap()
}

/// Waits until the log holds `text`, and returns the log.
fn wait_for_log(log: &Path, text: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let written = std::fs::read_to_string(log).unwrap_or_default();
        if written.contains(text) {
            return written;
        }
        assert!(Instant::now() < deadline, "no {text:?} in the log:\n{written}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn stop(mut child: Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

fn fixes(count: u64) -> Vec<Position> {
    let t0 = Utc::now().trunc_subsecs(3) - chrono::Duration::minutes(5);
    (1..=count)
        .map(|seq| Position {
            seq,
            t: t0 + chrono::Duration::seconds(seq as i64),
            lat: 48.137154,
            lon: 11.576124 + seq as f64 * 0.0001,
            alt_m: None,
            speed_mps: Some(10.0),
            course_deg: None,
            fix: None,
            sats: None,
            hdop: None,
            accuracy_m: None,
        })
        .collect()
}

/// Publishes one batch at QoS 1 over TLS with the vehicle's certificate; returns at its PUBACK.
async fn publish_over_tls(pki: &Pki, port: u16, vehicle: &VehicleId, positions: Vec<Position>) {
    let mut options = MqttOptions::new(format!("convoy-agent-{vehicle}"), "127.0.0.1", port);
    let files = TlsFiles {
        ca_file: pki.ca.ca_file.clone(),
        client_cert: Some((pki.vehicle.cert_file.clone(), pki.vehicle.key_file.clone())),
    };
    options.set_transport(convoy_tls_client::mqtt_transport(&files).unwrap());
    let (client, mut eventloop) = AsyncClient::new(options, 10);
    let payload = PositionBatch::new(vehicle.clone(), positions).encode();
    client
        .publish(convoy_core::topics::positions_topic(vehicle), QoS::AtLeastOnce, false, payload)
        .await
        .unwrap();
    loop {
        let event = tokio::time::timeout(Duration::from_secs(30), eventloop.poll()).await.unwrap().unwrap();
        if let Event::Incoming(Packet::PubAck(_)) = event {
            break;
        }
    }
    client.disconnect().await.unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(1), eventloop.poll()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_over_tls_with_a_client_certificate_stores_what_a_vehicle_publishes() {
    let pki = pki();
    let broker = Mosquitto::start_tls(&pki.ca, &pki.broker, &[]);
    let database = format!("sqlite://{}", pki.dir.path().join("convoy.db").display());
    let store = Store::open(&database).await.unwrap();
    let vehicle = VehicleId::new("truck-07").unwrap();
    store.add_vehicle(&vehicle, "no login: published with a certificate").await.unwrap();

    let log = pki.dir.path().join("ingest.log");
    let ingest = spawn_ingest(&database, broker.port, &pki.ca.ca_file, Some(&pki.ingest), &log);
    wait_for_log(&log, "ingest subscribed");
    publish_over_tls(&pki, broker.port, &vehicle, fixes(5)).await;

    let deadline = Instant::now() + Duration::from_secs(30);
    let seqs = loop {
        let track = store.track(&vehicle, Utc::now() - chrono::Duration::hours(1), Utc::now()).await.unwrap();
        let seqs: Vec<u64> = track.iter().map(|p| p.seq).collect();
        if seqs.len() >= 5 || Instant::now() > deadline {
            break seqs;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(seqs, [1, 2, 3, 4, 5], "every fix sent over TLS is stored");
    stop(ingest);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_refuses_a_broker_of_another_ca_and_is_refused_without_a_client_certificate() {
    let pki = pki();
    let broker = Mosquitto::start_tls(&pki.ca, &pki.broker, &[]);
    let database = |name: &str| format!("sqlite://{}", pki.dir.path().join(name).display());

    let wary_log = pki.dir.path().join("wary.log");
    let wary =
        spawn_ingest(&database("wary.db"), broker.port, &pki.other_ca_file, Some(&pki.ingest), &wary_log);
    let anonymous_log = pki.dir.path().join("anonymous.log");
    let anonymous =
        spawn_ingest(&database("anonymous.db"), broker.port, &pki.ca.ca_file, None, &anonymous_log);

    // Ingest goes on trying (the broker may be fixed), saying each time why it cannot connect.
    let written = wait_for_log(&wary_log, "ingest lost the broker");
    let line = written.lines().find(|l| l.contains("ingest lost the broker")).unwrap();
    // Both CAs are called "convoy test CA": the name matches, the signature does not.
    assert!(
        line.contains("invalid peer certificate"),
        "the broker's certificate is not from the pinned CA: {line}"
    );
    let written = wait_for_log(&anonymous_log, "ingest lost the broker");
    let line = written.lines().find(|l| l.contains("ingest lost the broker")).unwrap();
    assert!(line.contains("CertificateRequired"), "the broker wants a client certificate: {line}");
    for (child, log) in [(wary, &wary_log), (anonymous, &anonymous_log)] {
        let written = std::fs::read_to_string(log).unwrap();
        assert!(!written.contains("ingest subscribed"), "{written}");
        stop(child);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_with_a_tls_broker_stores_over_tls_and_its_alert_publisher_connects() {
    let captured = common::Captured::install("convoy_alerts=info");
    let pki = pki();
    let broker = Mosquitto::start_tls(&pki.ca, &pki.broker, &[]);
    let tls = TlsFiles {
        ca_file: pki.ca.ca_file.clone(),
        client_cert: Some((pki.ingest.cert_file.clone(), pki.ingest.key_file.clone())),
    };
    let server = common::TestServer::start_configured(
        common::Backend::Sqlite,
        common::BrokerKind::Embedded,
        |config| {
            config.broker = convoy::config::BrokerChoice::External {
                host: "127.0.0.1".into(),
                port: broker.port,
                username: None,
                password: None,
                tls: Some(tls),
            };
        },
    )
    .await;
    let vehicle = VehicleId::new("truck-07").unwrap();
    server.store.add_vehicle(&vehicle, "no login: published with a certificate").await.unwrap();
    publish_over_tls(&pki, broker.port, &vehicle, fixes(3)).await;

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let track =
            server.store.track(&vehicle, Utc::now() - chrono::Duration::hours(1), Utc::now()).await.unwrap();
        if track.len() == 3 {
            break;
        }
        assert!(Instant::now() < deadline, "{} of 3 fixes stored", track.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    while !captured.lines().iter().any(|line| line.contains("alert publisher connected to the broker")) {
        assert!(Instant::now() < deadline, "the alert publisher did not connect:\n{:#?}", captured.lines());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.stop().await;
}

#[test]
fn a_tls_broker_without_its_ca_stops_the_start_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_convoy"))
        .args(["ingest", "--data-dir"])
        .arg(dir.path())
        .args(["--broker", "mqtts://127.0.0.1:8883"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("needs broker_ca_file"), "{stderr}");
}
