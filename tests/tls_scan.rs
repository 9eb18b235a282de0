//! A scan of the server's TLS listeners (HTTPS, and the embedded broker's MQTT over TLS) with
//! Debian's `openssl s_client`: TLS 1.2 and 1.3 are accepted with AEAD suites only; TLS 1.0 and
//! 1.1 are refused (the server's alert), and so is every weak TLS 1.2 suite the local OpenSSL can still offer (NULL,
//! anonymous, MD5, CBC with SHA-1 or SHA-2, static RSA). RC4, 3DES and EXPORT suites are not in
//! OpenSSL 3's default build, so the client cannot offer them: the last test checks the server's
//! own list of suites instead. Each probe asserts the handshake's outcome, never a time.

mod common;

use std::net::SocketAddr;
use std::process::{Command, Stdio};

use common::{Backend, BrokerKind, TestServer};
use convoy::config::MqttTls;
use convoy_gateway::tls::TlsFiles;
use convoy_testkit::TestCa;

/// What `openssl s_client` reported, and whether the handshake was completed.
struct Probe {
    connected: bool,
    output: String,
}

/// One handshake with `openssl s_client` and these options; stdin is empty, so a client that
/// connected says goodbye at once.
fn s_client(addr: SocketAddr, options: &[&str]) -> Probe {
    let output = Command::new("openssl")
        .args(["s_client", "-connect", &addr.to_string(), "-servername", "localhost"])
        .args(options)
        .stdin(Stdio::null())
        .output()
        .expect("openssl is not installed (Debian: apt-get install openssl)");
    let text =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    // s_client exits 0 after a handshake; "Cipher is (NONE)" would mean none was agreed.
    let connected = output.status.success() && !text.contains("Cipher is (NONE)");
    Probe { connected, output: text }
}

/// The client sent its hello and the server answered with a TLS alert (OpenSSL prints its
/// number): the refusal is the server's, not a client that would not even try.
fn server_alerted(probe: &Probe) -> bool {
    !probe.connected && probe.output.contains("SSL alert number")
}

/// The cipher suites `openssl` can offer for a TLS 1.2 cipher string (at security level 0, so
/// old ones are not filtered out by the client itself); empty if it has none of them.
fn offerable(cipher_string: &str) -> Vec<String> {
    let output = Command::new("openssl")
        .args(["ciphers", "-tls1_2", &format!("{cipher_string}:@SECLEVEL=0")])
        .output()
        .unwrap();
    if !output.status.success() {
        return Vec::new();
    }
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .split(':')
        .filter(|suite| !suite.starts_with("TLS_")) // TLS 1.3's, listed whatever the string
        .map(str::to_string)
        .collect()
}

/// A server with HTTPS and MQTT over TLS, both with a certificate from a fresh CA; returns the
/// two TLS addresses.
async fn tls_server(dir: &std::path::Path) -> (TestServer, [(&'static str, SocketAddr); 2]) {
    let ca = TestCa::new(dir);
    let certificate = ca.server("convoy-server");
    let server = TestServer::start_configured(Backend::Sqlite, BrokerKind::Embedded, |config| {
        config.http_tls = Some(TlsFiles {
            cert_file: certificate.cert_file.clone(),
            key_file: certificate.key_file.clone(),
            client_ca_file: None,
        });
        config.mqtt_tls = Some(MqttTls {
            listen: "127.0.0.1:0".parse().unwrap(),
            cert_file: certificate.cert_file.clone(),
            key_file: certificate.key_file.clone(),
            client_ca_file: None,
        });
    })
    .await;
    let mqtts = server.server.as_ref().unwrap().mqtts_addr.expect("the MQTT over TLS listener");
    let listeners = [("HTTPS", server.http), ("MQTT over TLS", mqtts)];
    (server, listeners)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_1_2_and_1_3_are_accepted_with_aead_suites_and_tls_1_0_and_1_1_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (server, listeners) = tls_server(dir.path()).await;
    for (name, addr) in listeners {
        for (version, protocol) in [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")] {
            let probe = s_client(addr, &[version]);
            assert!(probe.connected, "{name} refused {version}:\n{}", probe.output);
            // "New, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384": the version and suite agreed.
            let agreed = format!("New, {protocol}, Cipher is ");
            let cipher = probe.output.lines().find_map(|l| l.strip_prefix(agreed.as_str()));
            let cipher =
                cipher.unwrap_or_else(|| panic!("{name} {version}: no {agreed:?}\n{}", probe.output));
            assert!(cipher.contains("GCM") || cipher.contains("CHACHA20"), "{name} {version}: {cipher}");
        }
        for version in ["-tls1", "-tls1_1"] {
            // Security level 0, or the client would not even offer the old version.
            let probe = s_client(addr, &[version, "-cipher", "DEFAULT:@SECLEVEL=0"]);
            assert!(!probe.connected, "{name} accepted {version}:\n{}", probe.output);
            assert!(
                server_alerted(&probe),
                "{name} {version}: the server's refusal, not the client's:\n{}",
                probe.output
            );
        }
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_weak_tls_1_2_suite_the_client_can_offer_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (server, listeners) = tls_server(dir.path()).await;
    let weak = [
        ("NULL encryption", "eNULL"),
        ("anonymous", "aNULL"),
        ("MD5", "MD5"),
        ("CBC with SHA-1", "SHA1"),
        ("CBC with SHA-2", "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA384:AES128-SHA256:AES256-SHA256"),
        ("static RSA key exchange", "kRSA"),
        ("RC4", "RC4"),
        ("3DES", "3DES"),
        ("EXPORT", "EXPORT"),
        ("everything but AEAD", "ALL:COMPLEMENTOFALL:!AESGCM:!AESCCM:!CHACHA20:!ARIAGCM"),
    ];
    let mut probed = Vec::new();
    for (what, cipher_string) in weak {
        let suites = offerable(cipher_string);
        if suites.is_empty() {
            continue; // not in this OpenSSL (RC4, 3DES, EXPORT in OpenSSL 3): see the last test
        }
        probed.push(what);
        for (name, addr) in listeners {
            let cipher = format!("{}:@SECLEVEL=0", suites.join(":"));
            let probe = s_client(addr, &["-tls1_2", "-cipher", &cipher]);
            assert!(!probe.connected, "{name} accepted a {what} suite:\n{}", probe.output);
            assert!(
                server_alerted(&probe),
                "{name} {what}: the server's refusal, not the client's:\n{}",
                probe.output
            );
        }
    }
    for expected in ["NULL encryption", "CBC with SHA-1", "CBC with SHA-2", "everything but AEAD"] {
        assert!(probed.contains(&expected), "the local OpenSSL could not offer {expected}: {probed:?}");
    }
    server.stop().await;
}

/// What no client here can offer: the suites the server is built with (rustls's ring provider,
/// as `convoy_gateway::tls::server_config` uses it) are all AEAD, so RC4, 3DES, EXPORT and every
/// CBC suite are absent whatever a client asks.
#[test]
fn the_servers_suites_are_all_aead() {
    let provider = rustls::crypto::ring::default_provider();
    assert!(!provider.cipher_suites.is_empty());
    for suite in &provider.cipher_suites {
        let name = format!("{:?}", suite.suite());
        assert!(name.contains("_GCM_") || name.contains("CHACHA20_POLY1305"), "{name}");
    }
}
