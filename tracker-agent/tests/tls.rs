//! TLS to the broker: the agent reaches a Mosquitto TLS listener that demands a client
//! certificate, checking the broker's certificate against its pinned CA; with another CA it
//! refuses the broker and delivers nothing.

mod support;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use convoy_agent::nmea_writer::{epoch_sentences, SimFix};
use convoy_testkit::Mosquitto;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

struct Authority {
    cert: rcgen::Certificate,
    key: KeyPair,
}

fn authority(name: &str) -> Authority {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    Authority { cert: params.self_signed(&key).unwrap(), key }
}

/// Writes `NAME.pem` and `NAME.key` signed by `ca`, readable by the broker's own user.
fn issue(dir: &Path, ca: &Authority, name: &str, subject_alt_names: &[&str]) {
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(subject_alt_names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    let cert = params.signed_by(&key, &ca.cert, &ca.key).unwrap();
    write_public(&dir.join(format!("{name}.pem")), &cert.pem());
    write_public(&dir.join(format!("{name}.key")), &key.serialize_pem());
}

fn write_public(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
}

fn start_agent(dir: &Path, vehicle: &str, ca: &str, serial: &Path, port: u16) -> Child {
    let config = dir.join(format!("{vehicle}.toml"));
    let state = dir.join(format!("{vehicle}-state"));
    std::fs::write(
        &config,
        format!(
            "serial = {serial:?}\nvehicle = {vehicle:?}\nbroker = \"mqtts://127.0.0.1:{port}\"\nspool = {state:?}\n\
             ca_file = {ca:?}\nclient_cert_file = {cert:?}\nclient_key_file = {key:?}\n",
            ca = dir.join(ca),
            cert = dir.join("truck-07.pem"),
            key = dir.join("truck-07.key"),
        ),
    )
    .unwrap();
    Command::new(env!("CARGO_BIN_EXE_convoy-agent"))
        .arg("--config")
        .arg(&config)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn feed(pty: &support::Pty, epochs: u64) {
    let mut master = pty.master.try_clone().unwrap();
    for i in 0..epochs {
        let fix = SimFix {
            t: Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap() + chrono::Duration::seconds(i as i64),
            lat: 48.1,
            lon: 11.5 + i as f64 * 1e-4,
            alt_m: 520.0,
            speed_mps: 8.0,
            course_deg: 90.0,
            sats: 10,
            hdop: 0.8,
        };
        master.write_all(epoch_sentences(&fix).as_bytes()).unwrap();
        std::thread::sleep(Duration::from_millis(30));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_publishes_over_tls_with_a_client_certificate_and_refuses_an_unknown_broker() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let ca = authority("Convoy test CA");
    write_public(&dir.path().join("ca.pem"), &ca.cert.pem());
    issue(dir.path(), &ca, "broker", &["127.0.0.1", "localhost"]);
    issue(dir.path(), &ca, "truck-07", &[]);
    let other_ca = authority("Somebody else's CA");
    write_public(&dir.path().join("other-ca.pem"), &other_ca.cert.pem());

    // The first listener speaks TLS and demands a client certificate; a second, plain one on
    // loopback is for the test's collector.
    let plain_port = convoy_testkit::free_port();
    let tls = [
        format!("cafile {}", dir.path().join("ca.pem").display()),
        format!("certfile {}", dir.path().join("broker.pem").display()),
        format!("keyfile {}", dir.path().join("broker.key").display()),
        "require_certificate true".to_string(),
        format!("listener {plain_port} 127.0.0.1"),
    ];
    let broker = Mosquitto::start_with(&tls.iter().map(String::as_str).collect::<Vec<_>>());
    let collected = support::collect(plain_port).await;

    let trusting = support::pty();
    let mut agent = start_agent(dir.path(), "truck-07", "ca.pem", &trusting.path, broker.port);
    let wary = support::pty();
    let mut stranger = start_agent(dir.path(), "truck-08", "other-ca.pem", &wary.path, broker.port);
    std::thread::scope(|s| {
        s.spawn(|| feed(&trusting, 10));
        s.spawn(|| feed(&wary, 10));
    });

    let deadline = Instant::now() + Duration::from_secs(20);
    while collected.len() < 10 {
        assert!(Instant::now() < deadline, "{} of 10 fixes arrived over TLS", collected.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(collected.vehicles(), vec!["truck-07"], "the agent with the wrong CA delivered nothing");
    assert_eq!(collected.seqs(), (1..=10).collect::<Vec<_>>(), "all of truck-07's fixes");
    assert_eq!(collected.conflicts(), 0);
    assert!(stranger.try_wait().unwrap().is_none(), "the agent that does not trust the broker goes on");
    for child in [&mut agent, &mut stranger] {
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
