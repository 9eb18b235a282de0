//! A vehicle can publish only as itself on the embedded broker, and only what Convoy reads: its
//! front door refuses, closes and counts a publish or will outside the vehicle's positions and
//! status, any subscription but its own move windows, lets the vehicle in again with its own, and keeps the internal
//! broker closed to vehicles' passwords. The same over MQTT over TLS, where the client
//! certificate must name the vehicle.

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::*;
use convoy::config::MqttTls;
use convoy_broker::door::packet::{ClientPacket, Connect, Will};
use convoy_core::wire::PositionBatch;
use convoy_core::{Position, VehicleId};
use rumqttc::{AsyncClient, ConnectReturnCode, Event, MqttOptions, Packet};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Registers a vehicle through the API, as an admin would; returns its MQTT password.
async fn register(server: &TestServer, admin: &str, id: &str) -> String {
    let response = reqwest::Client::new()
        .post(server.url("/api/v1/vehicles"))
        .bearer_auth(admin)
        .json(&json!({ "id": id }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "registering {id}");
    response.json::<Value>().await.unwrap()["password"].as_str().unwrap().to_string()
}

fn refused(metrics: &str, reason: &str) -> f64 {
    metric(metrics, &format!("convoy_gateway_mqtt_refused_total{{reason=\"{reason}\"}}")).unwrap()
}

/// One fix of `vehicle`, a minute old, as a wire batch.
fn batch(vehicle: &str, seq: u64, t: DateTime<Utc>) -> Vec<u8> {
    let position = Position {
        seq,
        t,
        lat: 48.137,
        lon: 11.575,
        alt_m: None,
        speed_mps: Some(3.0),
        course_deg: None,
        fix: None,
        sats: None,
        hdop: None,
        accuracy_m: None,
    };
    PositionBatch::new(VehicleId::new(vehicle).unwrap(), vec![position]).encode()
}

/// A bare MQTT 3.1.1 client on a socket, to see exactly what the broker answers.
struct RawClient {
    socket: TcpStream,
}

impl RawClient {
    /// Sends a CONNECT; returns the client and the CONNACK's return code (`None` if the
    /// connection closed without one).
    async fn connect(
        addr: SocketAddr,
        user: &str,
        password: &str,
        will: Option<Will>,
    ) -> (RawClient, Option<u8>) {
        let connect = Connect {
            clean_session: true,
            keep_alive: 60,
            client_id: format!("convoy-agent-{user}"),
            will,
            username: Some(user.to_string()),
            password: Some(password.as_bytes().to_vec().into()),
        };
        Self::connect_with(addr, &ClientPacket::Connect(connect).encode()).await
    }

    async fn connect_with(addr: SocketAddr, first_bytes: &[u8]) -> (RawClient, Option<u8>) {
        let mut client = RawClient { socket: TcpStream::connect(addr).await.unwrap() };
        client.socket.write_all(first_bytes).await.unwrap();
        let mut connack = [0u8; 4];
        let code = match tokio::time::timeout(Duration::from_secs(10), client.socket.read_exact(&mut connack))
            .await
        {
            Ok(Ok(_)) => {
                assert_eq!(&connack[..3], &[0x20, 2, 0], "a CONNACK");
                Some(connack[3])
            }
            Ok(Err(_)) => None,
            Err(_) => panic!("no CONNACK and no close within 10 s"),
        };
        (client, code)
    }

    async fn send(&mut self, packet: ClientPacket) {
        self.socket.write_all(&packet.encode()).await.unwrap();
    }

    /// Reads `n` bytes of answer.
    async fn read(&mut self, n: usize) -> Vec<u8> {
        let mut answer = vec![0u8; n];
        tokio::time::timeout(Duration::from_secs(10), self.socket.read_exact(&mut answer))
            .await
            .expect("an answer within 10 s")
            .expect("the connection stays open");
        answer
    }

    /// Reads one PUBLISH (panics on another packet); returns its topic and payload.
    async fn read_publish(&mut self) -> (String, Vec<u8>) {
        let header = tokio::time::timeout(Duration::from_secs(30), self.socket.read_u8())
            .await
            .expect("a PUBLISH within 30 s")
            .expect("the connection stays open");
        assert_eq!(header >> 4, 3, "a PUBLISH, not {header:#x}");
        let (mut length, mut shift) = (0usize, 0);
        loop {
            let byte = self.socket.read_u8().await.unwrap();
            length |= usize::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                break;
            }
        }
        let body = self.read(length).await;
        let topic_len = usize::from(u16::from_be_bytes([body[0], body[1]]));
        let topic = String::from_utf8(body[2..2 + topic_len].to_vec()).unwrap();
        let qos = (header >> 1) & 3;
        let mut rest = 2 + topic_len;
        if qos > 0 {
            let packet_id = [body[rest], body[rest + 1]];
            rest += 2;
            // Acknowledge it, as a client must.
            self.socket.write_all(&[0x40, 2, packet_id[0], packet_id[1]]).await.unwrap();
        }
        (topic, body[rest..].to_vec())
    }

    /// Everything the broker sends until it closes the connection (panics if it does not
    /// within 10 s).
    async fn read_until_closed(mut self) -> Vec<u8> {
        let mut rest = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), self.socket.read_to_end(&mut rest))
            .await
            .expect("the connection is closed within 10 s")
            .unwrap_or_default();
        rest
    }
}

fn publish(topic: &str, packet_id: u16, payload: Vec<u8>) -> ClientPacket {
    ClientPacket::Publish {
        dup: false,
        qos: 1,
        retain: false,
        topic: topic.to_string(),
        packet_id: Some(packet_id),
        payload: payload.into(),
    }
}

fn subscribe(filter: &str) -> ClientPacket {
    ClientPacket::Subscribe { packet_id: 1, filters: vec![(filter.to_string(), 1)] }
}

async fn track(server: &TestServer, token: &str, vehicle: &str, around: DateTime<Utc>) -> Vec<u64> {
    let range = format!(
        "from={}&to={}",
        (around - chrono::Duration::hours(1)).to_rfc3339().replace('+', "%2B"),
        (around + chrono::Duration::hours(1)).to_rfc3339().replace('+', "%2B")
    );
    let (status, body) = server.get_json(&format!("/api/v1/vehicles/{vehicle}/track?{range}"), token).await;
    assert_eq!(status, 200, "{body}");
    body["positions"].as_array().unwrap().iter().map(|p| p["seq"].as_u64().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_vehicle_publishing_on_another_vehicles_topic_is_cut_off_and_nothing_is_stored() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let admin = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let password_a = register(&server, &admin, "truck-a").await;
    register(&server, &admin, "truck-b").await;
    let t = Utc::now() - chrono::Duration::minutes(1);

    // Truck A, logged in with its own valid credentials, puts a well-formed position of B on
    // B's topic: the door closes the connection and the broker never acknowledges it.
    let (mut a, code) = RawClient::connect(server.mqtt, "truck-a", &password_a, None).await;
    assert_eq!(code, Some(0), "truck A's own credentials are accepted");
    a.send(publish("convoy/v1/vehicles/truck-b/positions", 7, batch("truck-b", 1, t))).await;
    assert_eq!(a.read_until_closed().await, Vec::<u8>::new(), "closed without a PUBACK");
    assert_eq!(refused(&server.metrics().await, "foreign_topic"), 1.0);

    // A new connection of A on its own topic still works, and is stored.
    let (mut a, code) = RawClient::connect(server.mqtt, "truck-a", &password_a, None).await;
    assert_eq!(code, Some(0));
    a.send(publish("convoy/v1/vehicles/truck-a/positions", 8, batch("truck-a", 2, t))).await;
    assert_eq!(a.read(4).await, vec![0x40, 2, 0, 8], "PUBACK of its own position");
    let stored = eventually(Duration::from_secs(10), "truck A's own position", || async {
        let seqs = track(&server, &admin, "truck-a", t).await;
        (!seqs.is_empty()).then_some(seqs)
    })
    .await;

    // Ingest has stored what A sent afterwards; of the refused message nothing is stored,
    // neither as B nor as A (it was never forwarded, so it cannot arrive later either).
    assert_eq!(stored, vec![2], "only A's own position");
    assert!(track(&server, &admin, "truck-b", t).await.is_empty(), "nothing stored for truck B");
    let metrics = server.metrics().await;
    assert_eq!(refused(&metrics, "foreign_topic"), 1.0);
    assert_eq!(metric(&metrics, "convoy_gateway_mqtt_auth_failures_total"), Some(0.0), "not a login failure");
    assert_eq!(metric(&metrics, "convoy_ingest_rejected_total{reason=\"vehicle_mismatch\"}"), Some(0.0));
    server.stop().await;
}

/// PUBACKs come in the order of the PUBLISHes, once they are stored (the status too, which
/// reaches rumqttd over the door's status lane); QoS 2 on positions is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pubacks_come_in_order_once_stored_and_qos_2_positions_are_refused() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let admin = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let password = register(&server, &admin, "truck-a").await;
    let t = Utc::now() - chrono::Duration::minutes(1);

    let (mut a, code) = RawClient::connect(server.mqtt, "truck-a", &password, None).await;
    assert_eq!(code, Some(0));
    a.send(publish("convoy/v1/vehicles/truck-a/positions", 1, batch("truck-a", 1, t))).await;
    a.send(publish("convoy/v1/vehicles/truck-a/status", 2, br#"{"v":1,"state":"online"}"#.to_vec())).await;
    a.send(publish("convoy/v1/vehicles/truck-a/positions", 3, batch("truck-a", 2, t))).await;
    assert_eq!(a.read(12).await, [0x40, 2, 0, 1, 0x40, 2, 0, 2, 0x40, 2, 0, 3], "in order");
    // A PUBACK of positions means they are stored, and of a status that it is.
    assert_eq!(track(&server, &admin, "truck-a", t).await, [1, 2]);
    let statuses = server.store.agent_statuses().await.unwrap();
    assert_eq!(statuses.len(), 1, "the status is stored");
    assert!(statuses[0].status_json.contains("online"), "{:?}", statuses[0].status_json);

    let ClientPacket::Publish { dup, retain, topic, packet_id, payload, .. } =
        publish("convoy/v1/vehicles/truck-a/positions", 4, batch("truck-a", 3, t))
    else {
        unreachable!()
    };
    a.send(ClientPacket::Publish { dup, qos: 2, retain, topic, packet_id, payload }).await;
    assert_eq!(a.read_until_closed().await, Vec::<u8>::new(), "closed without a PUBREC");
    assert_eq!(refused(&server.metrics().await, "unsupported_qos"), 1.0);
    assert_eq!(track(&server, &admin, "truck-a", t).await, [1, 2], "the QoS 2 message is not stored");
    server.stop().await;
}

/// New vehicles' passwords are kept as a salted HMAC (fast to check); a vehicle registered with
/// an argon2 hash by an earlier version still logs in (and is moved to the fast kind), and a
/// wrong password is refused for both.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn vehicles_log_in_with_fast_hashes_and_with_argon2_hashes_of_earlier_versions() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let admin = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let fresh = register(&server, &admin, "truck-new").await;
    let stored = server.store.vehicle_password_hash(&VehicleId::new("truck-new").unwrap()).await.unwrap();
    assert!(stored.unwrap().starts_with("hmac-sha256$"), "not argon2");
    let older = VehicleId::new("truck-old").unwrap();
    let older_password = convoy_registry::credentials::random_password();
    server
        .store
        .add_vehicle(&older, &convoy_registry::credentials::hash_password(&older_password))
        .await
        .unwrap();

    for (user, password) in [("truck-new", fresh.as_str()), ("truck-old", older_password.as_str())] {
        let (_, code) = RawClient::connect(server.mqtt, user, password, None).await;
        assert_eq!(code, Some(0), "{user} logs in");
        let (_, code) = RawClient::connect(server.mqtt, user, "not its password", None).await;
        assert_eq!(code, Some(4), "{user} with a wrong password");
    }
    let (_, code) = RawClient::connect(server.mqtt, "truck-unknown", &fresh, None).await;
    assert_eq!(code, Some(4), "an unknown vehicle");
    assert_eq!(refused(&server.metrics().await, "bad_credentials"), 3.0);
    // Its first login turned the older vehicle's hash into the fast kind; it still logs in.
    let stored = server.store.vehicle_password_hash(&older).await.unwrap().unwrap();
    assert!(stored.starts_with("hmac-sha256$"), "{stored}");
    let (_, code) = RawClient::connect(server.mqtt, "truck-old", &older_password, None).await;
    assert_eq!(code, Some(0));
    server.stop().await;
}

/// Vehicles read one thing from the broker, their own move windows (for `privacy =
/// "moves_only"`), retained by the server: a subscription beyond its own topics is counted as
/// foreign, another one in its own tree (or its windows at QoS 2) as not allowed (rumqttd would
/// keep a log per filter).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn only_its_own_move_windows_may_be_subscribed_to() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let admin = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let password_a = register(&server, &admin, "truck-a").await;
    register(&server, &admin, "truck-b").await;

    let windows = "convoy/v1/vehicles/truck-a/windows";
    let (mut a, code) = RawClient::connect(server.mqtt, "truck-a", &password_a, None).await;
    assert_eq!(code, Some(0));
    a.send(subscribe(windows)).await;
    assert_eq!(a.read(5).await, [0x90, 3, 0, 1, 1], "a SUBACK granting QoS 1");
    // The server's next check publishes truck-a's windows (none: no move), retained.
    let (topic, payload) = a.read_publish().await;
    assert_eq!(topic, windows);
    let decoded =
        convoy_core::move_windows::MoveWindows::decode(&payload, &VehicleId::new("truck-a").unwrap())
            .expect("the server's windows decode");
    assert!(decoded.windows.is_empty(), "{decoded:?}");
    a.send(ClientPacket::Unsubscribe { packet_id: 2, filters: vec![windows.to_string()] }).await;
    assert_eq!(a.read(4).await, [0xb0, 2, 0, 2], "an UNSUBACK");
    // Still connected, and still publishing as itself.
    a.send(publish("convoy/v1/vehicles/truck-a/positions", 3, batch("truck-a", 1, Utc::now()))).await;
    assert_eq!(a.read(4).await, [0x40, 2, 0, 3], "a PUBACK");

    let foreign = [
        "convoy/v1/vehicles/+/positions",
        "convoy/v1/vehicles/truck-b/positions",
        "convoy/v1/vehicles/truck-b/windows",
        "convoy/v1/vehicles/+/windows",
        "#",
    ];
    for (n, filter) in foreign.into_iter().enumerate() {
        let (mut a, code) = RawClient::connect(server.mqtt, "truck-a", &password_a, None).await;
        assert_eq!(code, Some(0));
        a.send(subscribe(filter)).await;
        assert_eq!(a.read_until_closed().await, Vec::<u8>::new(), "{filter}: closed without a SUBACK");
        assert_eq!(refused(&server.metrics().await, "foreign_subscription"), (n + 1) as f64, "{filter}");
    }
    let not_allowed = [
        subscribe("convoy/v1/vehicles/truck-a/#"),
        subscribe("convoy/v1/vehicles/truck-a/status"),
        ClientPacket::Subscribe { packet_id: 1, filters: vec![(windows.to_string(), 2)] },
    ];
    for (n, packet) in not_allowed.into_iter().enumerate() {
        let (mut a, _) = RawClient::connect(server.mqtt, "truck-a", &password_a, None).await;
        a.send(packet).await;
        assert_eq!(a.read_until_closed().await, Vec::<u8>::new(), "{n}: closed without a SUBACK");
        assert_eq!(refused(&server.metrics().await, "subscription_not_allowed"), (n + 1) as f64, "{n}");
    }
    assert_eq!(refused(&server.metrics().await, "foreign_subscription"), foreign.len() as f64);
    server.stop().await;
}

/// Inside its own tree a vehicle publishes only its positions and status: another topic, a
/// retained position, a payload over its kind's size each close the connection, nothing is
/// stored, and a new connection with its own positions works.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn only_positions_and_status_within_their_sizes_and_a_retained_status_are_let_through() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let admin = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let password = register(&server, &admin, "truck-a").await;
    let t = Utc::now() - chrono::Duration::minutes(1);
    let retained = |packet: ClientPacket| match packet {
        ClientPacket::Publish { dup, qos, topic, packet_id, payload, .. } => {
            ClientPacket::Publish { dup, qos, retain: true, topic, packet_id, payload }
        }
        other => other,
    };
    let status_limit = convoy_core::topics::MAX_STATUS_BYTES;
    for (packet, reason) in [
        (publish("convoy/v1/vehicles/truck-a/notes", 1, b"not read".to_vec()), "unknown_topic"),
        (publish("convoy/v1/vehicles/truck-a/junk/1", 2, b"junk".to_vec()), "unknown_topic"),
        (
            retained(publish("convoy/v1/vehicles/truck-a/positions", 3, batch("truck-a", 1, t))),
            "retain_not_allowed",
        ),
        (publish("convoy/v1/vehicles/truck-a/status", 4, vec![b' '; status_limit + 1]), "status_too_large"),
    ] {
        let (mut a, code) = RawClient::connect(server.mqtt, "truck-a", &password, None).await;
        assert_eq!(code, Some(0));
        a.send(packet).await;
        assert_eq!(a.read_until_closed().await, Vec::<u8>::new(), "{reason}: closed without a PUBACK");
    }
    let metrics = server.metrics().await;
    assert_eq!(refused(&metrics, "unknown_topic"), 2.0);
    assert_eq!(refused(&metrics, "retain_not_allowed"), 1.0);
    assert_eq!(refused(&metrics, "status_too_large"), 1.0);

    // Its status retained, as the agent sends it, and its positions go through.
    let (mut a, _) = RawClient::connect(server.mqtt, "truck-a", &password, None).await;
    a.send(retained(publish(
        "convoy/v1/vehicles/truck-a/status",
        5,
        br#"{"v":1,"state":"online"}"#.to_vec(),
    )))
    .await;
    a.send(publish("convoy/v1/vehicles/truck-a/positions", 6, batch("truck-a", 2, t))).await;
    assert_eq!(a.read(8).await, [0x40, 2, 0, 5, 0x40, 2, 0, 6]);
    assert_eq!(track(&server, &admin, "truck-a", t).await, [2], "only the allowed position is stored");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_last_will_only_on_its_own_status() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let admin = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let password_a = register(&server, &admin, "truck-a").await;
    register(&server, &admin, "truck-b").await;

    let will = |topic: &str| Will {
        topic: topic.to_string(),
        message: br#"{"state":"offline"}"#.to_vec().into(),
        qos: 1,
        retain: true,
    };
    let (a, code) = RawClient::connect(
        server.mqtt,
        "truck-a",
        &password_a,
        Some(will("convoy/v1/vehicles/truck-b/status")),
    )
    .await;
    assert_eq!(code, Some(5), "CONNACK: not authorised");
    assert_eq!(a.read_until_closed().await, Vec::<u8>::new());
    assert_eq!(refused(&server.metrics().await, "foreign_will"), 1.0);

    // Inside its own tree, a will only on its status.
    let (a, code) = RawClient::connect(
        server.mqtt,
        "truck-a",
        &password_a,
        Some(will("convoy/v1/vehicles/truck-a/positions")),
    )
    .await;
    assert_eq!(code, Some(5), "CONNACK: not authorised");
    assert_eq!(a.read_until_closed().await, Vec::<u8>::new());
    assert_eq!(refused(&server.metrics().await, "will_not_allowed"), 1.0);

    let (_a, code) = RawClient::connect(
        server.mqtt,
        "truck-a",
        &password_a,
        Some(will("convoy/v1/vehicles/truck-a/status")),
    )
    .await;
    assert_eq!(code, Some(0), "a will on its own status topic is fine");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_internal_broker_refuses_a_vehicles_real_password() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let admin = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let password_a = register(&server, &admin, "truck-a").await;
    let (internal, _) = server.server.as_ref().unwrap().internal_mqtt.clone().unwrap();
    assert_ne!(internal, server.mqtt);
    assert!(internal.ip().is_loopback());

    // Straight to rumqttd with A's real password and client id: refused (rumqttd closes
    // without a CONNACK), and counted as a failed login.
    let (_, code) = RawClient::connect(internal, "truck-a", &password_a, None).await;
    assert_eq!(code, None, "rumqttd refused the login");
    assert_eq!(metric(&server.metrics().await, "convoy_gateway_mqtt_auth_failures_total"), Some(1.0));
    // Through the door the same credentials work.
    let (_, code) = RawClient::connect(server.mqtt, "truck-a", &password_a, None).await;
    assert_eq!(code, Some(0));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_bytes_and_other_protocols_are_refused_and_counted() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let admin = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let password_a = register(&server, &admin, "truck-a").await;

    let (probe, code) = RawClient::connect_with(server.mqtt, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(code, None);
    assert_eq!(probe.read_until_closed().await, Vec::<u8>::new());
    // An MQTT 5 CONNECT gets "unacceptable protocol version".
    let mqtt5 = [0x10, 10, 0, 4, b'M', b'Q', b'T', b'T', 5, 0x02, 0, 60];
    let (_, code) = RawClient::connect_with(server.mqtt, &mqtt5).await;
    assert_eq!(code, Some(1));
    // A PUBLISH announcing 200 MB is refused from its header.
    let (mut a, _) = RawClient::connect(server.mqtt, "truck-a", &password_a, None).await;
    a.socket.write_all(&[0x32, 0x80, 0x80, 0x80, 0x60]).await.unwrap();
    assert_eq!(a.read_until_closed().await, Vec::<u8>::new());
    // A wrong password and a client id not its own are bad credentials.
    let (_, code) = RawClient::connect(server.mqtt, "truck-a", "not the password", None).await;
    assert_eq!(code, Some(4), "CONNACK: bad user name or password");

    let metrics = server.metrics().await;
    assert_eq!(refused(&metrics, "malformed_packet"), 1.0);
    assert_eq!(refused(&metrics, "protocol_version"), 1.0);
    assert_eq!(refused(&metrics, "packet_too_large"), 1.0);
    assert_eq!(refused(&metrics, "bad_credentials"), 1.0);
    assert_eq!(metric(&metrics, "convoy_gateway_mqtt_auth_failures_total"), Some(1.0));
    server.stop().await;
}

/// A private CA and the certificates it signs, written as PEM files.
struct Pki {
    dir: tempfile::TempDir,
    ca: rcgen::Certificate,
    ca_key: rcgen::KeyPair,
}

impl Pki {
    fn new() -> Pki {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.distinguished_name.push(rcgen::DnType::CommonName, "Convoy test CA");
        let ca = params.self_signed(&ca_key).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
        Pki { dir, ca, ca_key }
    }

    /// Writes NAME.pem and NAME.key: CN=NAME, with these subject alternative names.
    fn issue(&self, name: &str, alt_names: &[&str]) -> (PathBuf, PathBuf) {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params =
            rcgen::CertificateParams::new(alt_names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name.push(rcgen::DnType::CommonName, name);
        let cert = params.signed_by(&key, &self.ca, &self.ca_key).unwrap();
        let (cert_file, key_file) = (self.path(&format!("{name}.pem")), self.path(&format!("{name}.key")));
        std::fs::write(&cert_file, cert.pem()).unwrap();
        std::fs::write(&key_file, key.serialize_pem()).unwrap();
        (cert_file, key_file)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// A server whose embedded broker also speaks MQTT over TLS and requires client certificates
/// from this CA; returns it with its TLS address.
async fn server_with_tls(pki: &Pki) -> (TestServer, SocketAddr) {
    let (cert_file, key_file) = pki.issue("broker", &["127.0.0.1", "localhost"]);
    let tls = MqttTls {
        listen: "127.0.0.1:0".parse().unwrap(),
        cert_file,
        key_file,
        client_ca_file: Some(pki.path("ca.pem")),
    };
    let server =
        TestServer::start_configured(Backend::Sqlite, BrokerKind::Embedded, |c| c.mqtt_tls = Some(tls)).await;
    let mqtts = server.server.as_ref().unwrap().mqtts_addr.expect("the TLS listener");
    (server, mqtts)
}

fn tls_files(pki: &Pki, client: Option<(PathBuf, PathBuf)>) -> convoy_agent::tls::TlsFiles {
    convoy_agent::tls::TlsFiles { ca_file: pki.path("ca.pem"), client_cert: client }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_agent_with_its_certificate_delivers_a_receiver_log_over_tls() {
    let pki = Pki::new();
    let (server, mqtts) = server_with_tls(&pki).await;
    let admin = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let password = register(&server, &admin, "truck-a").await;
    let client_cert = pki.issue("truck-a", &[]);
    let expected = gpsd_fixes(&data_path("nmea/gpsd/haicom-305N.log.chk"));

    let vehicle = VehicleId::new("truck-a").unwrap();
    let broker = convoy_agent::config::BrokerAddress::parse(
        &format!("mqtts://127.0.0.1:{}", mqtts.port()),
        Some(tls_files(&pki, Some(client_cert))),
    )
    .unwrap();
    let agent = TestAgent::start_with_broker(&vehicle, &password, broker);
    agent.feed(std::fs::read(data_path("nmea/gpsd/haicom-305N.log")).unwrap());

    let last_t = expected.last().unwrap().t.expect("gpsd gives the last fix a time");
    let from = last_t - chrono::Duration::days(1);
    let track = eventually(Duration::from_secs(30), "every fix over TLS", || async {
        let track = server.store.track(&vehicle, from, last_t + chrono::Duration::hours(1)).await.unwrap();
        (track.len() == expected.len()).then_some(track)
    })
    .await;
    assert_eq!(
        track.iter().map(|p| p.seq).collect::<Vec<_>>(),
        (1..=expected.len() as u64).collect::<Vec<_>>()
    );
    let metrics = server.metrics().await;
    for reason in ["client_cert_mismatch", "tls_handshake", "bad_credentials"] {
        assert_eq!(refused(&metrics, reason), 0.0, "{reason}");
    }
    agent.stop().await;
    server.stop().await;
}

/// Connects over TLS as `user`, presenting `client`'s certificate; returns the CONNACK's
/// refusal, or `Ok` once accepted.
async fn connect_tls(
    mqtts: SocketAddr,
    tls: convoy_agent::tls::TlsFiles,
    user: &str,
    password: &str,
) -> Result<(), String> {
    let mut options = MqttOptions::new(format!("convoy-agent-{user}"), "127.0.0.1", mqtts.port());
    options.set_credentials(user, password);
    let config = convoy_agent::tls::client_config(&tls).unwrap();
    options.set_transport(rumqttc::Transport::tls_with_config(rumqttc::TlsConfiguration::Rustls(Arc::new(
        config,
    ))));
    let (_client, mut eventloop) = AsyncClient::new(options, 10);
    let outcome = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(ack))) if ack.code == ConnectReturnCode::Success => {
                    return Ok(())
                }
                Ok(Event::Incoming(Packet::ConnAck(ack))) => return Err(format!("{:?}", ack.code)),
                Ok(_) => continue,
                Err(e) => return Err(e.to_string()),
            }
        }
    })
    .await;
    outcome.unwrap_or_else(|_| Err("no answer within 10 s".into()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_client_certificate_naming_another_vehicle_is_refused() {
    let pki = Pki::new();
    let (server, mqtts) = server_with_tls(&pki).await;
    let admin = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let password_a = register(&server, &admin, "truck-a").await;
    register(&server, &admin, "truck-b").await;
    let cert_a = pki.issue("truck-a", &[]);
    let cert_b = pki.issue("truck-b", &[]);

    // A's password with B's certificate.
    let refusal = connect_tls(mqtts, tls_files(&pki, Some(cert_b)), "truck-a", &password_a).await;
    assert!(refusal.as_ref().is_err_and(|e| e.contains("NotAuthorized")), "{refusal:?}");
    assert_eq!(refused(&server.metrics().await, "client_cert_mismatch"), 1.0);
    // No certificate at all: the TLS handshake fails.
    let refusal = connect_tls(mqtts, tls_files(&pki, None), "truck-a", &password_a).await;
    assert!(refusal.is_err(), "no client certificate");
    eventually(Duration::from_secs(10), "the failed handshake counted", || async {
        (refused(&server.metrics().await, "tls_handshake") == 1.0).then_some(())
    })
    .await;
    // A's own certificate with A's password is let in.
    assert_eq!(connect_tls(mqtts, tls_files(&pki, Some(cert_a)), "truck-a", &password_a).await, Ok(()));
    assert_eq!(refused(&server.metrics().await, "client_cert_mismatch"), 1.0);
    server.stop().await;
}
