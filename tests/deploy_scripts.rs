//! The deploy/ files for a Mosquitto site, used as an operator would: certificates from
//! deploy/make-certs.sh, the password file from deploy/mosquitto-passwd.sh (vehicles registered
//! with `convoy vehicle add --json`), the shipped deploy/mosquitto.acl and the packet bound of
//! deploy/mosquitto.conf, and a real Mosquitto with a TLS listener. A vehicle's positions and
//! status reach the server's account; a publish on another vehicle's topic, or on another topic
//! of its own, does not; a packet larger than a full position batch closes its connection; a
//! vehicle reads its own move windows and no other's.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use convoy_agent::tls::TlsFiles;
use convoy_testkit::Mosquitto;
use rumqttc::{AsyncClient, ConnectReturnCode, Event, MqttOptions, Packet, QoS};
use tokio::sync::mpsc;

fn deploy(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy").join(file)
}

/// Runs a deploy script; returns its standard output, panicking with its error output if it fails.
fn run(script: &str, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> String {
    let mut child = Command::new(deploy(script))
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{script} {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

fn mode(path: &Path) -> u32 {
    std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(path).unwrap().permissions()) & 0o777
}

/// Started as root, Mosquitto drops to its own account, which must read its key and password
/// file, as on a real host (`chown mosquitto:` there too).
fn give_to_mosquitto(paths: &[&Path]) {
    let running_as_root = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(paths[0]).unwrap()) == 0;
    if running_as_root {
        for path in paths {
            let status = Command::new("chown").arg("mosquitto:").arg(path).status().unwrap();
            assert!(status.success(), "chown mosquitto: {}", path.display());
        }
    }
}

/// A client over TLS; its incoming events arrive on the receiver.
async fn connect(
    port: u16,
    tls: &TlsFiles,
    client_id: &str,
    credentials: Option<(&str, &str)>,
) -> (AsyncClient, mpsc::UnboundedReceiver<Packet>) {
    let mut options = MqttOptions::new(client_id, "localhost", port);
    // Room for packets past Mosquitto's bound: the broker, not the client, must refuse them.
    options.set_max_packet_size(2 * 1024 * 1024, 2 * 1024 * 1024);
    if let Some((user, password)) = credentials {
        options.set_credentials(user, password);
    }
    let config = convoy_agent::tls::client_config(tls).unwrap();
    options.set_transport(rumqttc::Transport::tls_with_config(rumqttc::TlsConfiguration::Rustls(Arc::new(
        config,
    ))));
    let (client, mut eventloop) = AsyncClient::new(options, 100);
    let (tx, mut rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(event) = eventloop.poll().await {
            if let Event::Incoming(packet) = event {
                if tx.send(packet).is_err() {
                    return;
                }
            }
        }
    });
    match next(&mut rx).await {
        Packet::ConnAck(ack) => assert_eq!(ack.code, ConnectReturnCode::Success, "{client_id} logged in"),
        other => panic!("{client_id}: expected CONNACK, got {other:?}"),
    }
    (client, rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Packet>) -> Packet {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("a packet within 10 s")
        .expect("the connection is up")
}

/// Publishes at QoS 1 and waits for the broker's PUBACK (Mosquitto acknowledges a publish its
/// ACL denies too, and drops it: MQTT 3.1.1 has no way to say no).
async fn publish(client: &AsyncClient, rx: &mut mpsc::UnboundedReceiver<Packet>, topic: &str, payload: &str) {
    client.publish(topic, QoS::AtLeastOnce, false, payload.as_bytes().to_vec()).await.unwrap();
    loop {
        if let Packet::PubAck(_) = next(rx).await {
            return;
        }
    }
}

/// Waits until the broker has closed the connection (the client's event loop ends).
async fn closed(rx: &mut mpsc::UnboundedReceiver<Packet>) {
    tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(packet) = rx.recv().await {
            assert!(!matches!(packet, Packet::PubAck(_)), "the broker took a packet past its bound");
        }
    })
    .await
    .expect("the connection is closed within 10 s");
}

/// One setting line of the shipped deploy/mosquitto.conf.
fn shipped_setting(name: &str) -> String {
    let conf = std::fs::read_to_string(deploy("mosquitto.conf")).unwrap();
    conf.lines().find(|line| line.starts_with(&format!("{name} "))).unwrap().to_string()
}

/// The next message the subscriber receives: (topic, payload).
async fn received(rx: &mut mpsc::UnboundedReceiver<Packet>) -> (String, String) {
    loop {
        if let Packet::Publish(p) = next(rx).await {
            return (p.topic, String::from_utf8(p.payload.to_vec()).unwrap());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_mosquitto_site_from_the_deploy_files_lets_a_vehicle_publish_only_as_itself() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let pki = dir.path().join("tls");
    let pki_arg = pki.to_str().unwrap();

    // Certificates, as the operator makes them.
    run("make-certs.sh", &["ca", pki_arg], "", &[]);
    run("make-certs.sh", &["server", pki_arg, "broker", "localhost", "127.0.0.1"], "", &[]);
    run("make-certs.sh", &["vehicle", pki_arg, "truck-a"], "", &[]);
    assert_eq!(mode(&pki.join("ca.key")), 0o600);
    assert_eq!(mode(&pki.join("truck-a.key")), 0o600);
    let again = Command::new(deploy("make-certs.sh")).args(["vehicle", pki_arg, "truck-a"]).output().unwrap();
    assert!(!again.status.success(), "an existing certificate is not overwritten");
    assert!(String::from_utf8_lossy(&again.stderr).contains("not overwriting"));

    // Accounts: two vehicles registered in Convoy's database, one given as a pair, and the
    // server's account.
    let passwd = dir.path().join("passwd");
    let passwd_arg = passwd.to_str().unwrap();
    let database = format!("--database sqlite://{}", dir.path().join("convoy.db").display());
    let registered = run(
        "mosquitto-passwd.sh",
        &["register", passwd_arg, "truck-a", "truck-b"],
        "",
        &[("CONVOY", env!("CARGO_BIN_EXE_convoy")), ("CONVOY_ARGS", &database)],
    );
    let passwords: Vec<(String, String)> = registered
        .lines()
        .map(|line| {
            let (id, password) = line.split_once(' ').unwrap();
            (id.to_string(), password.to_string())
        })
        .collect();
    assert_eq!(passwords.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(), ["truck-a", "truck-b"]);
    assert_eq!(passwords[0].1.len(), 24, "the password convoy printed");
    run("mosquitto-passwd.sh", &["vehicles", passwd_arg], "truck-c a-password-for-c\n", &[]);
    let server_password = dir.path().join("server-password");
    std::fs::write(&server_password, "the server's broker password\n").unwrap();
    run(
        "mosquitto-passwd.sh",
        &["server", passwd_arg, "convoy-ingest", server_password.to_str().unwrap()],
        "",
        &[],
    );
    assert_eq!(mode(&passwd), 0o600);
    let users: Vec<String> = std::fs::read_to_string(&passwd)
        .unwrap()
        .lines()
        .map(|l| l.split(':').next().unwrap().to_string())
        .collect();
    assert_eq!(users, ["truck-a", "truck-b", "truck-c", "convoy-ingest"]);
    give_to_mosquitto(&[&pki.join("broker.key"), &passwd]);

    // Mosquitto with the shipped ACL, the password file and a TLS listener with those
    // certificates (the settings deploy/mosquitto.conf shows in its comments).
    // A second listener takes the vehicle's certificate as its login instead of a password
    // (require_certificate, use_identity_as_username: the option the comments describe).
    let (port, cert_port) = (convoy_testkit::free_port(), convoy_testkit::free_port());
    let tls = format!(
        "cafile {pki}/ca.pem\ncertfile {pki}/broker.pem\nkeyfile {pki}/broker.key\n",
        pki = pki.display()
    );
    let config = format!(
        "per_listener_settings false\nallow_anonymous false\npassword_file {passwd}\nacl_file {acl}\n\
         {packet_bound}\npersistence false\nlistener {port} 127.0.0.1\n{tls}listener {cert_port} 127.0.0.1\n{tls}\
         require_certificate true\nuse_identity_as_username true\n",
        passwd = passwd.display(),
        acl = deploy("mosquitto.acl").display(),
        packet_bound = shipped_setting("max_packet_size"),
    );
    let _broker = Mosquitto::start_with_config(&config, port);
    assert!(convoy_testkit::wait_for_port(
        format!("127.0.0.1:{cert_port}").parse().unwrap(),
        Duration::from_secs(10)
    ));

    let ca_only = TlsFiles { ca_file: pki.join("ca.pem"), client_cert: None };
    let (server, mut server_rx) =
        connect(port, &ca_only, "convoy-ingest", Some(("convoy-ingest", "the server's broker password")))
            .await;
    server.subscribe("convoy/v1/vehicles/#", QoS::AtLeastOnce).await.unwrap();
    assert!(matches!(next(&mut server_rx).await, Packet::SubAck(_)));

    let with_cert = TlsFiles {
        ca_file: pki.join("ca.pem"),
        client_cert: Some((pki.join("truck-a.pem"), pki.join("truck-a.key"))),
    };
    let (a, mut a_rx) =
        connect(port, &with_cert, "convoy-agent-truck-a", Some(("truck-a", &passwords[0].1))).await;
    publish(&a, &mut a_rx, "convoy/v1/vehicles/truck-a/positions", "a-1").await;
    assert_eq!(received(&mut server_rx).await, ("convoy/v1/vehicles/truck-a/positions".into(), "a-1".into()));

    // On truck B's topic: acknowledged by Mosquitto but not delivered. A's next message on its
    // own topic arrives right after A's first: nothing came between them.
    publish(&a, &mut a_rx, "convoy/v1/vehicles/truck-b/positions", "posing as b").await;
    publish(&a, &mut a_rx, "convoy/v1/alerts/truck-b", "a fake alert").await;
    // Nor on a topic of its own that Convoy does not read (a broker keeps a retained message per
    // topic: a vehicle free to invent topics could fill its memory).
    publish(&a, &mut a_rx, "convoy/v1/vehicles/truck-a/junk/1", "junk").await;
    publish(&a, &mut a_rx, "convoy/v1/vehicles/truck-a/status", "a-2").await;
    assert_eq!(received(&mut server_rx).await, ("convoy/v1/vehicles/truck-a/status".into(), "a-2".into()));

    // A full position batch passes; a packet past it closes the vehicle's connection.
    let full_batch = " ".repeat(convoy_core::wire::MAX_PAYLOAD_BYTES);
    publish(&a, &mut a_rx, "convoy/v1/vehicles/truck-a/positions", &full_batch).await;
    assert_eq!(received(&mut server_rx).await.1.len(), convoy_core::wire::MAX_PAYLOAD_BYTES);
    let too_large = " ".repeat(convoy_core::wire::MAX_PAYLOAD_BYTES + 2048);
    a.publish("convoy/v1/vehicles/truck-a/positions", QoS::AtLeastOnce, false, too_large).await.unwrap();
    closed(&mut a_rx).await;

    // With its certificate as its login, the vehicle is its certificate's CN: the same rule.
    let (a_cert, mut a_cert_rx) = connect(cert_port, &with_cert, "convoy-agent-truck-a-2", None).await;
    publish(&a_cert, &mut a_cert_rx, "convoy/v1/vehicles/truck-b/positions", "posing as b").await;
    publish(&a_cert, &mut a_cert_rx, "convoy/v1/vehicles/truck-a/positions", "a-3").await;
    assert_eq!(received(&mut server_rx).await, ("convoy/v1/vehicles/truck-a/positions".into(), "a-3".into()));

    // The vehicle given as a pair logs in too.
    let (c, mut c_rx) =
        connect(port, &ca_only, "convoy-agent-truck-c", Some(("truck-c", "a-password-for-c"))).await;
    publish(&c, &mut c_rx, "convoy/v1/vehicles/truck-c/positions", "c-1").await;
    assert_eq!(received(&mut server_rx).await, ("convoy/v1/vehicles/truck-c/positions".into(), "c-1".into()));

    // The server keeps each vehicle's move windows retained (for `privacy = "moves_only"`); a
    // vehicle reads its own and no other's, even through a wildcard Mosquitto grants: the ACL
    // is checked as each message is delivered.
    for vehicle in ["truck-a", "truck-c"] {
        let topic = format!("convoy/v1/vehicles/{vehicle}/windows");
        server.publish(topic, QoS::AtLeastOnce, true, format!("windows of {vehicle}")).await.unwrap();
        while !matches!(next(&mut server_rx).await, Packet::PubAck(_)) {}
    }
    c.subscribe("convoy/v1/vehicles/+/windows", QoS::AtLeastOnce).await.unwrap();
    // Retained messages come right after the SUBACK, before the answer to a later publish.
    c.publish("convoy/v1/vehicles/truck-c/positions", QoS::AtLeastOnce, false, "c-2").await.unwrap();
    let mut delivered = Vec::new();
    loop {
        match next(&mut c_rx).await {
            Packet::Publish(p) => delivered.push((p.topic, String::from_utf8(p.payload.to_vec()).unwrap())),
            Packet::PubAck(_) => break,
            _ => {}
        }
    }
    assert_eq!(
        delivered,
        [("convoy/v1/vehicles/truck-c/windows".to_string(), "windows of truck-c".to_string())]
    );
}
