//! The headers and listeners that protect the API and the page, on a real server: HSTS on
//! every HTTPS answer and never on plain HTTP, a page policy that lets it connect to its own
//! origin only, the banner naming the scheme really served, and `/metrics` moved off the public
//! listener when `metrics_listen` is set.

mod common;

use common::served::Served;
use common::{Backend, BrokerKind, TestServer};
use convoy_gateway::tls::TlsFiles;
use convoy_testkit::{CertFiles, TestCa};

fn trusting_client(ca: &TestCa) -> reqwest::Client {
    let pem = std::fs::read(&ca.ca_file).unwrap();
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .build()
        .unwrap()
}

fn tls_files(cert: &CertFiles) -> TlsFiles {
    TlsFiles { cert_file: cert.cert_file.clone(), key_file: cert.key_file.clone(), client_ca_file: None }
}

/// The header `name` of the answer to GET `url`.
async fn header(client: &reqwest::Client, url: &str, name: &str) -> Option<String> {
    let response = client.get(url).send().await.unwrap();
    response.headers().get(name).map(|v| v.to_str().unwrap().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_answers_carry_strict_transport_security_and_plain_http_answers_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new(dir.path());
    let cert = ca.server("convoy-server");
    let https = TestServer::start_configured(Backend::Sqlite, BrokerKind::Embedded, |config| {
        config.http_tls = Some(tls_files(&cert));
    })
    .await;
    let client = trusting_client(&ca);
    let base = format!("https://127.0.0.1:{}", https.http.port());
    for path in ["/", "/healthz", "/api/v1/me", "/no/such/path"] {
        assert_eq!(
            header(&client, &format!("{base}{path}"), "strict-transport-security").await.as_deref(),
            Some("max-age=31536000"),
            "{path}"
        );
    }
    https.stop().await;

    let plain = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    for path in ["/", "/healthz", "/api/v1/me"] {
        let hsts = header(&reqwest::Client::new(), &plain.url(path), "strict-transport-security").await;
        assert_eq!(hsts, None, "{path} over plain HTTP");
    }
    plain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_may_connect_to_its_own_origin_only() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let policy = header(&reqwest::Client::new(), &server.url("/"), "content-security-policy").await.unwrap();
    let connect = policy.split(';').map(str::trim).find(|d| d.starts_with("connect-src")).unwrap();
    assert_eq!(connect, "connect-src 'self'", "{policy}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_banner_names_the_scheme_served() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new(dir.path());
    let cert = ca.server("convoy-server");
    let config = dir.path().join("convoy.toml");
    let toml = format!(
        "[http_tls]\ncert_file = {:?}\nkey_file = {:?}\n",
        cert.cert_file.display().to_string(),
        cert.key_file.display().to_string()
    );
    std::fs::write(&config, toml).unwrap();
    let https = Served::spawn(
        &dir.path().join("tls"),
        &dir.path().join("tls.log"),
        &["--config", config.to_str().unwrap()],
    );
    https.wait_for_log("Convoy is serving on").await;
    let banner = format!("Convoy is serving on https://127.0.0.1:{}", https.http_port);
    assert!(https.log_text().contains(&banner), "{}", https.log_text());
    assert!(https.stop().success());

    let plain = Served::spawn(&dir.path().join("plain"), &dir.path().join("plain.log"), &[]);
    plain.wait_for_log("Convoy is serving on").await;
    let banner = format!("Convoy is serving on http://127.0.0.1:{}", plain.http_port);
    assert!(plain.log_text().contains(&banner), "{}", plain.log_text());
    assert!(plain.stop().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_on_the_api_listener_by_default_and_only_on_their_own_when_configured() {
    let default = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let response = reqwest::get(default.url("/metrics")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("convoy_ingest_"), "Prometheus text");
    assert_eq!(default.server.as_ref().unwrap().metrics_addr, None);
    default.stop().await;

    let listen = format!("127.0.0.1:{}", convoy_testkit::free_port()).parse().unwrap();
    let separate = TestServer::start_configured(Backend::Sqlite, BrokerKind::Embedded, |config| {
        config.metrics_listen = Some(listen);
    })
    .await;
    assert_eq!(separate.server.as_ref().unwrap().metrics_addr, Some(listen));
    let public = reqwest::get(separate.url("/metrics")).await.unwrap();
    assert_eq!(public.status(), 404, "no longer on the public listener");
    assert_eq!(reqwest::get(separate.url("/healthz")).await.unwrap().status(), 200, "the rest is");
    let own = reqwest::get(format!("http://{listen}/metrics")).await.unwrap();
    assert_eq!(own.status(), 200);
    assert!(own.text().await.unwrap().contains("convoy_ingest_"), "Prometheus text");
    let other = reqwest::get(format!("http://{listen}/api/v1/me")).await.unwrap();
    assert_eq!(other.status(), 404, "the metrics listener serves nothing else");
    separate.stop().await;
}
