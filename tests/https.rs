//! HTTPS on the API and the live feed: the server's certificate from PEM files, a client that
//! trusts the private CA gets through, one that does not (or speaks plain HTTP) does not.

mod common;

use std::sync::Arc;

use common::{trusting_client, Backend, BrokerKind, TestServer, ADMIN_PASSWORD, ADMIN_USER};
use convoy_gateway::tls::TlsFiles;
use convoy_testkit::TestCa;
use futures_util::StreamExt;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{json, Value};

async fn https_server(dir: &std::path::Path) -> (TestServer, TestCa) {
    let ca = TestCa::new(dir);
    let server_cert = ca.server("convoy-server");
    let server = TestServer::start_configured(Backend::Sqlite, BrokerKind::Embedded, |config| {
        config.http_tls = Some(TlsFiles {
            cert_file: server_cert.cert_file.clone(),
            key_file: server_cert.key_file.clone(),
            client_ca_file: None,
        });
    })
    .await;
    (server, ca)
}

#[tokio::test]
async fn the_api_answers_over_https_to_a_client_that_trusts_the_ca() {
    let dir = tempfile::tempdir().unwrap();
    let (server, ca) = https_server(dir.path()).await;
    let base = format!("https://127.0.0.1:{}", server.http.port());
    let client = trusting_client(&ca);

    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let login = client
        .post(format!("{base}/api/v1/login"))
        .json(&json!({ "username": ADMIN_USER, "password": ADMIN_PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let token = login.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string();
    let me: Value = client
        .get(format!("{base}/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["name"], ADMIN_USER);
    assert_eq!(me["role"], "admin");
    server.stop().await;
}

#[tokio::test]
async fn plain_http_and_untrusting_clients_get_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _ca) = https_server(dir.path()).await;
    let port = server.http.port();

    let plain = reqwest::Client::new().get(format!("http://127.0.0.1:{port}/healthz")).send().await;
    assert!(plain.is_err() || plain.unwrap().status() != 200, "plain HTTP must not be served");

    // Trusts a different CA: the handshake fails, nothing is answered.
    let other_dir = tempfile::tempdir().unwrap();
    let other = trusting_client(&TestCa::new(other_dir.path()));
    let error = other.get(format!("https://127.0.0.1:{port}/healthz")).send().await.unwrap_err();
    assert!(error.is_connect() || error.is_request(), "{error:?}");
    server.stop().await;
}

#[tokio::test]
async fn the_live_feed_works_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let (server, ca) = https_server(dir.path()).await;
    let port = server.http.port();
    let client = trusting_client(&ca);
    let token = client
        .post(format!("https://127.0.0.1:{port}/api/v1/login"))
        .json(&json!({ "username": ADMIN_USER, "password": ADMIN_PASSWORD }))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();

    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(&ca.ca_file).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(server.http).await.unwrap();
    let stream = tokio_rustls::TlsConnector::from(Arc::new(tls))
        .connect(ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()), tcp)
        .await
        .unwrap();
    let url = format!("wss://127.0.0.1:{port}/api/v1/live?token={token}");
    let (mut socket, response) = tokio_tungstenite::client_async(url, stream).await.unwrap();
    assert_eq!(response.status(), 101);
    // The feed is open: the server's first ping or a message arrives, not a close.
    let first = tokio::time::timeout(std::time::Duration::from_secs(20), socket.next()).await.unwrap();
    assert!(matches!(first, Some(Ok(ref m)) if !m.is_close()), "{first:?}");
    server.stop().await;
}
