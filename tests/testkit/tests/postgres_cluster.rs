//! PgCluster, a PostgreSQL server of a test's own: stopped and started again it keeps its data
//! and its port, killed it recovers what was committed, and with TLS on a client that trusts
//! only its CA gets an encrypted connection while a client trusting another CA is refused.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use convoy_testkit::PgCluster;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use tokio_postgres::{Client, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

async fn connect(url: &str) -> Client {
    let (client, connection) =
        tokio_postgres::connect(url, NoTls).await.unwrap_or_else(|e| panic!("connecting to {url}: {e}"));
    tokio::spawn(connection);
    client
}

/// A rustls client configuration trusting exactly the CA in `ca_file` (ring provider).
fn trusting(ca_file: &Path) -> MakeRustlsConnect {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca_file).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    assert_eq!(roots.len(), 1, "{} holds one CA", ca_file.display());
    let config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    MakeRustlsConnect::new(config)
}

fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let value = f();
    eprintln!("{what}: {:?}", started.elapsed());
    value
}

#[tokio::test]
async fn a_stopped_cluster_refuses_connections_and_keeps_its_data_and_port_when_started_again() {
    let pg = timed("start", PgCluster::start);
    let url = pg.url();
    assert_eq!(url, format!("postgres://postgres@127.0.0.1:{}/postgres", pg.port));
    assert!(pg.ca_file().is_none());
    let client = connect(&url).await;
    client
        .batch_execute(
            "CREATE TABLE kept (id int PRIMARY KEY, note text); INSERT INTO kept VALUES (1, 'still here')",
        )
        .await
        .unwrap();
    drop(client);

    timed("stop", || pg.stop());
    let refused = tokio_postgres::connect(&url, NoTls).await;
    assert!(refused.is_err(), "a stopped cluster accepted a connection");

    timed("start_again", || pg.start_again());
    let client = connect(&url).await;
    let note: String = client.query_one("SELECT note FROM kept WHERE id = 1", &[]).await.unwrap().get(0);
    assert_eq!(note, "still here");
}

#[tokio::test]
async fn a_killed_cluster_recovers_what_was_committed() {
    let pg = PgCluster::start();
    let client = connect(&pg.url()).await;
    client
        .batch_execute(
            "CREATE TABLE kept (id int PRIMARY KEY); INSERT INTO kept SELECT generate_series(1, 1000)",
        )
        .await
        .unwrap();

    timed("kill", || pg.kill());
    assert!(client.query_one("SELECT 1", &[]).await.is_err(), "a killed server still answered");
    drop(client);
    assert!(
        tokio_postgres::connect(&pg.url(), NoTls).await.is_err(),
        "a killed cluster accepted a connection"
    );

    timed("start_again after kill", || pg.start_again());
    let client = connect(&pg.url()).await;
    let count: i64 = client.query_one("SELECT count(*) FROM kept", &[]).await.unwrap().get(0);
    assert_eq!(count, 1000);
    let log = std::fs::read_to_string(pg.log_file()).unwrap();
    assert!(log.contains("database system was interrupted"), "no crash recovery in the log:\n{log}");
}

#[tokio::test]
async fn tls_to_the_cluster_trusts_its_ca_and_refuses_another() {
    let pg = timed("start_with_tls", PgCluster::start_with_tls);
    let ca_file = pg.ca_file().expect("a TLS cluster has a CA file");
    const SSL: &str = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";

    // By IP address (the certificate's 127.0.0.1) and by name (its "localhost").
    for url in [
        format!("{}?sslmode=require", pg.url()),
        format!("postgres://postgres@localhost:{}/postgres?sslmode=require&hostaddr=127.0.0.1", pg.port),
    ] {
        let (client, connection) = tokio_postgres::connect(&url, trusting(ca_file))
            .await
            .unwrap_or_else(|e| panic!("TLS connection to {url}: {e:?}"));
        tokio::spawn(connection);
        let ssl: bool = client.query_one(SSL, &[]).await.unwrap().get(0);
        assert!(ssl, "{url}: the connection is not encrypted");
    }

    // Without TLS the same server says so, which is what makes the check above mean something.
    let plain = connect(&pg.url()).await;
    let ssl: bool = plain.query_one(SSL, &[]).await.unwrap().get(0);
    assert!(!ssl);

    let other_dir = tempfile::tempdir().unwrap();
    let other_ca = other_dir.path().join("other-ca.pem");
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.distinguished_name.push(rcgen::DnType::CommonName, "another CA");
    std::fs::write(&other_ca, params.self_signed(&key).unwrap().pem()).unwrap();
    let refused =
        tokio_postgres::connect(&format!("{}?sslmode=require", pg.url()), trusting(&other_ca)).await;
    let error = match refused {
        Ok(_) => panic!("a client trusting another CA connected"),
        Err(e) => format!("{e:?}"),
    };
    assert!(error.contains("UnknownIssuer"), "refused for another reason: {error}");
}

#[test]
fn start_again_says_so_when_the_port_was_taken_meanwhile() {
    let pg = PgCluster::start();
    pg.stop();
    let _squatter = std::net::TcpListener::bind(("127.0.0.1", pg.port)).unwrap();
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| pg.start_again())).unwrap_err();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains(&format!("port {} was taken meanwhile", pg.port)), "{message}");
}
