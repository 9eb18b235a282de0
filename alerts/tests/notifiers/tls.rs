//! The MQTT and e-mail notifiers over TLS, against Mosquitto with a TLS listener that demands
//! client certificates and aiosmtpd requiring STARTTLS, each trusting only a CA made here.

use convoy_testkit::{CertFiles, Mosquitto, TestCa};

use super::mqtt::subscriber;
use super::*;

/// A CA with a server certificate for 127.0.0.1 and a client certificate for the notifier, and
/// another CA's file.
struct Pki {
    _dir: tempfile::TempDir,
    ca: TestCa,
    server: CertFiles,
    client: CertFiles,
    other_ca_file: PathBuf,
}

fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new(dir.path());
    let server = ca.server("server");
    let client = ca.client("convoy-notifier");
    let other_dir = dir.path().join("other");
    std::fs::create_dir(&other_dir).unwrap();
    let other_ca_file = TestCa::new(&other_dir).ca_file;
    Pki { _dir: dir, ca, server, client, other_ca_file }
}

fn mqtt_over_tls(name: &str, port: u16, ca_file: &Path, client: &CertFiles) -> NotifierConfig {
    NotifierConfig::Mqtt {
        name: name.to_string(),
        host: "127.0.0.1".to_string(),
        port,
        topic_prefix: "external/convoy/alerts".to_string(),
        client_id: format!("convoy-{name}-{}", std::process::id()),
        username: None,
        password: None,
        ca_file: Some(ca_file.to_path_buf()),
        client_cert_file: Some(client.cert_file.clone()),
        client_key_file: Some(client.key_file.clone()),
        timeout_ms: 1_000,
        max_attempts: 2,
        first_backoff_ms: 100,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_publishes_over_tls_with_a_client_certificate_and_refuses_a_broker_of_another_ca() {
    let pki = pki();
    let plain_port = convoy_testkit::free_port();
    let broker = Mosquitto::start_tls(&pki.ca, &pki.server, &[&format!("listener {plain_port} 127.0.0.1")]);
    let mut publishes = subscriber(plain_port).await;

    let (tx, mut log) = Log::new();
    let trusting = mqtt_over_tls("trusting", broker.port, &pki.ca.ca_file, &pki.client);
    let wary = mqtt_over_tls("wary", broker.port, &pki.other_ca_file, &pki.client);
    let notifiers = Notifiers::start(vec![trusting, wary], tx, never_shut_down()).unwrap();
    let alert = message("t1", AlertState::Open);
    notifiers.notify(&alert);

    let publish = tokio::time::timeout(Duration::from_secs(10), publishes.recv())
        .await
        .expect("nothing arrived")
        .unwrap();
    assert_eq!(publish.topic, "external/convoy/alerts/truck-07");
    assert_eq!(publish.payload.as_ref(), serde_json::to_vec(&alert).unwrap().as_slice());
    let delivered = log.from("trusting", Duration::from_secs(5)).await;
    assert!(delivered.ok && delivered.detail.contains("PUBACK"), "{delivered:?}");

    // The other CA did not sign the broker's certificate: every attempt fails, saying so, and
    // the message is counted as failed after the last one.
    let failed = log.from("wary", Duration::from_secs(10)).await;
    assert!(!failed.ok);
    assert!(failed.detail.contains("invalid peer certificate"), "{}", failed.detail);
    let last = log.wait_for(Duration::from_secs(10), |d| d.notifier == "wary" && d.attempt == 2).await;
    assert!(!last.ok, "{last:?}");
    assert!(
        tokio::time::timeout(Duration::from_millis(500), publishes.recv()).await.is_err(),
        "only the trusting notifier published"
    );
    let counts = counts_of(&notifiers, "wary");
    assert_eq!((counts.sent, counts.failed, counts.attempts), (0, 1, 2));
    assert_eq!(counts_of(&notifiers, "trusting").sent, 1);
    notifiers.stop().await;
}

fn email_over_starttls(name: &str, port: u16, ca_file: &Path) -> NotifierConfig {
    let mut config = email(name, port);
    if let NotifierConfig::Email { starttls, ca_file: pinned, max_attempts, .. } = &mut config {
        *starttls = true;
        *pinned = Some(ca_file.to_path_buf());
        *max_attempts = 2;
    }
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_goes_over_starttls_to_a_relay_of_the_pinned_ca_and_not_to_another() {
    let pki = pki();
    let smtp = Smtp::start_with_starttls(&pki.server);
    let (tx, mut log) = Log::new();
    let notifiers = Notifiers::start(
        vec![
            email_over_starttls("trusting", smtp.port, &pki.ca.ca_file),
            email_over_starttls("wary", smtp.port, &pki.other_ca_file),
        ],
        tx,
        never_shut_down(),
    )
    .unwrap();
    notifiers.notify(&message("t2", AlertState::Open));

    let delivered = log.from("trusting", Duration::from_secs(10)).await;
    assert!(delivered.ok, "{delivered:?}");
    assert!(delivered.detail.starts_with("SMTP 250"), "{}", delivered.detail);
    let mail = smtp.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(mail[0].0["tls"], true, "the message went after STARTTLS");
    assert_eq!(mail_header(&mail[0].1, "Subject").unwrap(), "[Convoy] off_route open: truck-07 (move m1)");

    // The relay's certificate does not chain to the other CA: a TLS error, retried, then
    // counted as failed; nothing more arrives.
    let failed = log.from("wary", Duration::from_secs(10)).await;
    assert!(!failed.ok);
    assert!(failed.detail.contains("invalid peer certificate"), "{}", failed.detail);
    let last = log.wait_for(Duration::from_secs(10), |d| d.notifier == "wary" && d.attempt == 2).await;
    assert!(!last.ok, "{last:?}");
    let counts = counts_of(&notifiers, "wary");
    assert_eq!((counts.sent, counts.failed, counts.attempts), (0, 1, 2));
    assert_eq!(smtp.received().len(), 1, "only the trusting notifier's message arrived");
    notifiers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_that_requires_starttls_refuses_plain_mail() {
    let pki = pki();
    let smtp = Smtp::start_with_starttls(&pki.server);
    let (tx, mut log) = Log::new();
    let notifiers = Notifiers::start(vec![email("plain", smtp.port)], tx, never_shut_down()).unwrap();
    notifiers.notify(&message("t3", AlertState::Open));
    let refused = log.from("plain", Duration::from_secs(10)).await;
    assert!(!refused.ok, "{refused:?}");
    assert!(refused.detail.contains("STARTTLS"), "{}", refused.detail);
    assert!(smtp.received().is_empty());
    notifiers.stop().await;
}
