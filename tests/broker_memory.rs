//! One vehicle's credentials cannot grow the server's memory without bound through the
//! embedded broker. Real parts: `convoy serve` as a child process (its resident memory read
//! from /proc, as an operator's monitoring would), a vehicle registered with
//! `convoy vehicle add --json`, raw MQTT over a socket.
//!
//! The probe that once took the server from 20 MB to 860 MB: 500 KB retained messages on ever
//! new topics under the vehicle's own tree, each kept by rumqttd for good. Now each is refused
//! at the door, counted, and its connection closed; the probe reconnects and goes on.
//! And a flood of valid maximum-size position batches, which rumqttd keeps in its log for
//! ingest's subscription: the log is bounded, so memory stays bounded too; and what that bound
//! costs, a message dropped before ingest read it, is sent again, not lost.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::metric;
use common::served::{add_vehicle, Served};
use convoy_broker::door::packet::{ClientPacket, Connect};
use convoy_core::wire::{MAX_BATCH_POSITIONS, MAX_PAYLOAD_BYTES};
use convoy_core::{FixMode, Position, PositionBatch, VehicleId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const MB: u64 = 1024 * 1024;

/// `convoy serve` as a child process on SQLite, killed when dropped.
struct Server {
    served: Served,
    mqtt: SocketAddr,
    database: String,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let served = Served::spawn(dir.path(), &dir.path().join("server.log"), &[]);
        served.wait_for_log("MQTT door open").await;
        let database = format!("sqlite://{}", dir.path().join("convoy.db").display());
        Server { mqtt: served.mqtt(), served, database, _dir: dir }
    }

    /// Registers a vehicle as an operator does; returns its MQTT password.
    fn add_vehicle(&self, id: &str) -> String {
        add_vehicle(&self.served.data_dir, id)
    }

    /// The server's resident memory now and at its peak (VmRSS, VmHWM), in bytes.
    fn memory(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.served.pid())).unwrap();
        let field = |name: &str| {
            let line = status.lines().find(|l| l.starts_with(name)).unwrap();
            let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
            kb * 1024
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    async fn metrics(&self) -> String {
        reqwest::get(self.served.url("/metrics")).await.unwrap().text().await.unwrap()
    }
}

/// A vehicle's connection through the door, as raw MQTT 3.1.1.
struct Vehicle {
    socket: TcpStream,
}

impl Vehicle {
    async fn connect(mqtt: SocketAddr, id: &str, password: &str) -> Vehicle {
        let mut socket = TcpStream::connect(mqtt).await.unwrap();
        let connect = Connect {
            clean_session: true,
            keep_alive: 60,
            client_id: format!("convoy-agent-{id}"),
            will: None,
            username: Some(id.to_string()),
            password: Some(password.as_bytes().to_vec().into()),
        };
        socket.write_all(&ClientPacket::Connect(connect).encode()).await.unwrap();
        let mut connack = [0u8; 4];
        tokio::time::timeout(Duration::from_secs(10), socket.read_exact(&mut connack))
            .await
            .expect("a CONNACK within 10 s")
            .unwrap();
        assert_eq!(connack, [0x20, 2, 0, 0], "logged in");
        Vehicle { socket }
    }

    /// Sends `packet`, then a PINGREQ: true if the connection is still open after it (the
    /// PINGRESP came), false if the door closed it.
    async fn send_and_ping(&mut self, packet: &[u8]) -> bool {
        if self.socket.write_all(packet).await.is_err() {
            return false;
        }
        if self.socket.write_all(&ClientPacket::PingReq.encode()).await.is_err() {
            return false;
        }
        let mut answer = [0u8; 2];
        loop {
            match tokio::time::timeout(Duration::from_secs(30), self.socket.read_exact(&mut answer)).await {
                Ok(Ok(_)) if answer == [0xd0, 0] => return true,
                // Anything else the broker answers (a PUBACK, a SUBACK) is short: skip its body.
                Ok(Ok(_)) if answer[1] < 0x80 => {
                    let mut body = vec![0u8; usize::from(answer[1])];
                    if self.socket.read_exact(&mut body).await.is_err() {
                        return false;
                    }
                }
                Ok(Ok(_)) => panic!("unexpected answer {answer:?}"),
                Ok(Err(_)) => return false,
                Err(_) => panic!("neither a PINGRESP nor a close within 30 s"),
            }
        }
    }
}

fn publish(topic: &str, qos: u8, retain: bool, packet_id: u16, payload: Vec<u8>) -> Vec<u8> {
    ClientPacket::Publish {
        dup: false,
        qos,
        retain,
        topic: topic.to_string(),
        packet_id: (qos > 0).then_some(packet_id),
        payload: payload.into(),
    }
    .encode()
}

/// Sends `packets` in turn, reconnecting whenever the door closes the connection; returns how
/// many connections the door closed.
async fn send_all(
    server: &Server,
    id: &str,
    password: &str,
    packets: impl Iterator<Item = Vec<u8>>,
) -> usize {
    let mut closed = 0;
    let mut vehicle = Vehicle::connect(server.mqtt, id, password).await;
    for packet in packets {
        if !vehicle.send_and_ping(&packet).await {
            closed += 1;
            vehicle = Vehicle::connect(server.mqtt, id, password).await;
        }
    }
    closed
}

fn refused(metrics: &str, reason: &str) -> f64 {
    metric(metrics, &format!("convoy_gateway_mqtt_refused_total{{reason=\"{reason}\"}}")).unwrap_or(0.0)
}

/// A valid position batch of `vehicle` of the largest size the wire format takes: the most
/// positions a batch may carry, padded with JSON whitespace to `MAX_PAYLOAD_BYTES`.
fn largest_batch(vehicle: &str) -> Vec<u8> {
    let start = chrono::Utc::now() - chrono::Duration::minutes(40);
    let positions = (0..MAX_BATCH_POSITIONS as u64)
        .map(|seq| Position {
            seq: seq + 1,
            t: start + chrono::Duration::seconds(seq as i64),
            lat: 48.137154 + seq as f64 * 1e-5,
            lon: 11.576124,
            alt_m: Some(519.0),
            speed_mps: Some(12.4),
            course_deg: Some(87.5),
            fix: Some(FixMode::ThreeD),
            sats: Some(9),
            hdop: Some(0.9),
            accuracy_m: None,
        })
        .collect();
    let mut payload = PositionBatch::new(VehicleId::new(vehicle).unwrap(), positions).encode();
    assert!(payload.len() <= MAX_PAYLOAD_BYTES);
    payload.resize(MAX_PAYLOAD_BYTES, b' ');
    PositionBatch::decode(&payload, chrono::Utc::now()).expect("the padded batch is valid");
    payload
}

/// The probe: 1,200 retained 500 KB messages at QoS 0, each on a new topic under the vehicle's
/// own tree (the bug kept every one: +840 MB). Each is refused and counted, the connection
/// closed; the server's memory stays within 100 MB of where it started.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn retained_junk_under_its_own_tree_does_not_grow_the_servers_memory() {
    let server = Server::start().await;
    let password = server.add_vehicle("x1");
    drop(Vehicle::connect(server.mqtt, "x1", &password).await);
    let (before, _) = server.memory();

    const PROBES: usize = 1_200;
    let junk = vec![b'j'; 500 * 1024];
    let packets =
        (0..PROBES).map(|n| publish(&format!("convoy/v1/vehicles/x1/junk/{n}"), 0, true, 0, junk.clone()));
    let closed = send_all(&server, "x1", &password, packets).await;

    let (after, peak) = server.memory();
    eprintln!(
        "probe: RSS {} MB before, {} MB after, peak {} MB; {closed} connections closed",
        before / MB,
        after / MB,
        peak / MB
    );
    assert!(after < before + 100 * MB, "the server grew from {} MB to {} MB", before / MB, after / MB);
    assert_eq!(closed, PROBES, "each junk message closed its connection");
    assert_eq!(refused(&server.metrics().await, "unknown_topic"), PROBES as f64);
}

/// The other ways a vehicle could make rumqttd keep what it sends: retained positions, an
/// oversized status, a subscription of its own. Each is refused and counted by its reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn retained_positions_oversized_status_and_subscriptions_are_refused_and_counted() {
    let server = Server::start().await;
    let password = server.add_vehicle("x1");
    let big = vec![b'{'; 400 * 1024];
    let packets = [
        publish("convoy/v1/vehicles/x1/positions", 0, true, 0, largest_batch("x1")),
        publish("convoy/v1/vehicles/x1/status", 1, true, 1, big.clone()),
        publish("convoy/v1/vehicles/x1/positions", 1, false, 2, vec![b' '; MAX_PAYLOAD_BYTES + 1]),
        ClientPacket::Subscribe { packet_id: 3, filters: vec![("convoy/v1/vehicles/x1/#".into(), 1)] }
            .encode(),
    ];
    let closed = send_all(&server, "x1", &password, packets.into_iter()).await;
    assert_eq!(closed, 4, "each closed its connection");
    let metrics = server.metrics().await;
    for reason in
        ["retain_not_allowed", "status_too_large", "positions_too_large", "subscription_not_allowed"]
    {
        assert_eq!(refused(&metrics, reason), 1.0, "{reason}");
    }
}

/// A flood of valid, maximum-size position batches (512 KiB each) from one vehicle, at QoS 0
/// (never held by the door) and QoS 1 (its PUBACKs held until stored): rumqttd's log for
/// ingest's subscription keeps only its bound, so the server's memory stays bounded; the
/// connection stays open throughout (these are allowed messages).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_of_largest_position_batches_keeps_the_servers_memory_bounded() {
    let server = Server::start().await;
    let password = server.add_vehicle("x1");
    drop(Vehicle::connect(server.mqtt, "x1", &password).await);
    let (before, _) = server.memory();

    let batch = largest_batch("x1");
    let topic = "convoy/v1/vehicles/x1/positions";
    let mut vehicle = Vehicle::connect(server.mqtt, "x1", &password).await;
    // QoS 0: nothing slows the vehicle down but the socket.
    const AT_QOS_0: usize = 1_500;
    let mut flood = Vec::with_capacity(50 * (batch.len() + 64));
    for n in 0..AT_QOS_0 {
        flood.extend_from_slice(&publish(topic, 0, false, 0, batch.clone()));
        if n % 50 == 49 {
            assert!(vehicle.send_and_ping(&flood).await, "allowed messages keep the connection open");
            flood.clear();
        }
    }
    // QoS 1: a window of 16 in flight, as the agent keeps, each PUBACK once stored (or the
    // connection closed when the log's bound dropped one before ingest read it: the vehicle
    // then sends again, here as a new connection).
    const AT_QOS_1: u16 = 64;
    let mut sent_qos_1 = 0;
    for id in 1..=AT_QOS_1 {
        let packet = publish(topic, 1, false, id, batch.clone());
        if vehicle.socket.write_all(&packet).await.is_err() {
            vehicle = Vehicle::connect(server.mqtt, "x1", &password).await;
        }
        sent_qos_1 += 1;
    }
    let (after, peak) = server.memory();
    eprintln!(
        "flood: {AT_QOS_0} at QoS 0, {sent_qos_1} at QoS 1: RSS {} MB before, {} MB after, peak {} MB",
        before / MB,
        after / MB,
        peak / MB
    );
    // What remains is bounded: rumqttd's log for ingest's positions (32 MiB, and the read
    // buffers its messages share), what is in flight to ingest (100 messages in rumqttd's
    // write buffer, in ingest's client, and decoded), the door's buffers: about 160 MB
    // measured; 300 MB leaves room for the allocator. With rumqttd's log at 10 x 100 MiB the
    // flood kept 1.36 GB.
    assert!(
        peak < before + 300 * MB,
        "the server grew from {} MB to a peak of {} MB",
        before / MB,
        peak / MB
    );
    drop(vehicle);
}

/// Largest batches with a small status after each, at QoS 0. rumqttd keeps each status in the
/// log of ingest's status subscription as a slice of the buffer it read it into: read from the
/// vehicle's connection, each kept its batch's 512 KiB buffer alive (1.35 GB); the door's
/// status lane gives statuses buffers of their own.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn largest_batches_each_followed_by_a_status_keep_the_servers_memory_bounded() {
    let server = Server::start().await;
    let password = server.add_vehicle("x1");
    drop(Vehicle::connect(server.mqtt, "x1", &password).await);
    let (before, _) = server.memory();

    let batch = largest_batch("x1");
    let mut vehicle = Vehicle::connect(server.mqtt, "x1", &password).await;
    const PAIRS: usize = 1_500;
    let mut flood = Vec::new();
    for n in 0..PAIRS {
        flood.extend_from_slice(&publish("convoy/v1/vehicles/x1/positions", 0, false, 0, batch.clone()));
        let status = format!(r#"{{"v":1,"state":"online","n":{n}}}"#);
        flood.extend_from_slice(&publish("convoy/v1/vehicles/x1/status", 0, false, 0, status.into_bytes()));
        if n % 50 == 49 {
            assert!(vehicle.send_and_ping(&flood).await, "allowed messages keep the connection open");
            flood.clear();
        }
    }
    let (after, peak) = server.memory();
    eprintln!(
        "batches and statuses: {PAIRS} pairs: RSS {} MB before, {} MB after, peak {} MB",
        before / MB,
        after / MB,
        peak / MB
    );
    // As the flood of batches alone (the statuses add little).
    assert!(
        peak < before + 300 * MB,
        "the server grew from {} MB to a peak of {} MB",
        before / MB,
        peak / MB
    );
}

/// One fix of `vehicle` as a small wire batch.
fn small_batch(vehicle: &str, seq: u64) -> Vec<u8> {
    let position = Position {
        seq,
        t: chrono::Utc::now() - chrono::Duration::minutes(1),
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

/// The cost of a bounded log: a message it dropped before ingest read it. The vehicle's QoS 1
/// message is not lost: its PUBACK never comes, the door closes the connection once a later
/// message of the vehicle is stored, and the message sent again is stored.
///
/// Ingest is stalled by a write lock on the database; 100 small messages fill its window of
/// unacknowledged ones, so the next (M1) waits unread in the log; 100 batches of 500 KB then
/// push it out of the 32 MiB log; M2 comes last. The lock released, ingest stores M2 but never
/// sees M1.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_message_the_log_dropped_before_ingest_read_it_is_sent_again() {
    let server = Server::start().await;
    let password = server.add_vehicle("x1");
    let path = server.database.strip_prefix("sqlite://").unwrap().to_string();
    let lock = rusqlite::Connection::open(&path).unwrap();
    lock.execute_batch("BEGIN IMMEDIATE").unwrap();

    let topic = "convoy/v1/vehicles/x1/positions";
    let mut vehicle = Vehicle::connect(server.mqtt, "x1", &password).await;
    let mut packets = Vec::new();
    for _ in 0..100 {
        packets.extend_from_slice(&publish(topic, 0, false, 0, b"window".to_vec()));
    }
    // rumqttd hands ingest these 100 (at ingest's QoS 1) and no more until it acknowledges:
    // M1, after them in the log, stays unread however fast ingest is.
    assert!(vehicle.send_and_ping(&packets).await);
    let m1 = publish(topic, 1, false, 1, small_batch("x1", 1));
    assert!(vehicle.send_and_ping(&m1).await);
    let junk = vec![b'j'; 500 * 1024];
    for _ in 0..10 {
        let ten: Vec<u8> = (0..10).flat_map(|_| publish(topic, 0, false, 0, junk.clone())).collect();
        assert!(vehicle.send_and_ping(&ten).await);
    }
    let m2 = publish(topic, 1, false, 2, small_batch("x1", 2));
    vehicle.socket.write_all(&m2).await.unwrap();
    lock.execute_batch("ROLLBACK").unwrap();

    // M2 is stored, M1 never: the door closes the connection, with no PUBACK for either (M2's
    // waits behind M1's).
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), vehicle.socket.read_to_end(&mut rest))
        .await
        .expect("the door closes the connection")
        .unwrap_or_default();
    assert!(!rest.windows(4).any(|w| w == [0x40, 2, 0, 1]), "no PUBACK for the dropped message");
    let metrics = server.metrics().await;
    assert_eq!(metric(&metrics, "convoy_gateway_mqtt_unconfirmed_closed_total"), Some(1.0));

    // The vehicle sends again what was not acknowledged (an agent does so from its spool).
    let mut vehicle = Vehicle::connect(server.mqtt, "x1", &password).await;
    vehicle.socket.write_all(&m1).await.unwrap();
    vehicle.socket.write_all(&m2).await.unwrap();
    let mut pubacks = [0u8; 8];
    tokio::time::timeout(Duration::from_secs(30), vehicle.socket.read_exact(&mut pubacks))
        .await
        .expect("both acknowledged")
        .unwrap();
    assert_eq!(pubacks, [0x40, 2, 0, 1, 0x40, 2, 0, 2]);
    let store = convoy_store::Store::open(&server.database).await.unwrap();
    let now = chrono::Utc::now();
    let track =
        store.track(&VehicleId::new("x1").unwrap(), now - chrono::Duration::hours(1), now).await.unwrap();
    assert_eq!(track.iter().map(|p| p.seq).collect::<Vec<_>>(), [1, 2], "both stored, once");
}
