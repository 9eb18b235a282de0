//! Idle connections cannot starve the server of file descriptors: a real `convoy serve` process,
//! started with an open-files limit of 256 it cannot raise, is sent 1,100 silent TCP
//! connections on its MQTT port and 1,100 on its HTTP port, each dialled again whenever the
//! server closes it; it still answers `/healthz`, logs a person in, and lets a vehicle in
//! through the door to publish a position that is stored.

mod common;

use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::eventually;
use common::served::{add_user, add_vehicle, Served};
use nix::sys::resource::{getrlimit, setrlimit, Resource};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The child's open-files limit, soft and hard alike (as root, a lower hard limit is the only
/// way to keep the server from raising its soft one).
const CHILD_OPEN_FILES: u64 = 256;
/// Silent connections per port: more than the child could ever hold.
const IDLE_PER_PORT: usize = 1_100;
const USER: &str = "dispatcher-fd";
const PASSWORD: &str = "a long enough dispatcher password";
const VEHICLE: &str = "truck-fd";

/// `convoy serve` as a child whose open-files limit is [`CHILD_OPEN_FILES`].
fn spawn_server(data_dir: &Path, log: &Path) -> Served {
    Served::spawn_with(data_dir, log, &[], |command| {
        // Between fork and exec only async-signal-safe calls are allowed: setrlimit is one
        // system call, allocating nothing.
        #[allow(unsafe_code)]
        unsafe {
            command.pre_exec(|| {
                setrlimit(Resource::RLIMIT_NOFILE, CHILD_OPEN_FILES, CHILD_OPEN_FILES)
                    .map_err(std::io::Error::from)
            });
        }
    })
}

fn http_client() -> reqwest::Client {
    // Each try is bounded; `eventually` tries again.
    reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap()
}

async fn healthz(server: &Served) -> Option<()> {
    let response = http_client().get(format!("http://{}/healthz", server.http())).send().await.ok()?;
    (response.status() == 200).then_some(())
}

async fn login(server: &Served) -> Option<String> {
    let response = http_client()
        .post(format!("http://{}/api/v1/login", server.http()))
        .json(&json!({ "username": USER, "password": PASSWORD }))
        .send()
        .await
        .ok()?;
    if response.status() != 200 {
        return None;
    }
    Some(response.json::<Value>().await.ok()?["token"].as_str()?.to_string())
}

/// Connections that never send a byte, as an attacker keeps them: each one closed by the server
/// is dialled again after a pause, for as long as the crowd lives. (A connection the server does
/// not accept waits in its listen backlog, or for the kernel to retry the handshake.)
struct SilentCrowd {
    established: Arc<AtomicUsize>,
    dialled: Arc<AtomicUsize>,
    _dialling: tokio::task::JoinSet<()>,
}

/// How long a member of the crowd waits before dialling again: a sustained crowd, not a storm
/// that would take the test's own processor time.
const REDIAL_PAUSE: Duration = Duration::from_millis(500);

impl SilentCrowd {
    /// Dials `per_addr` connections to each of `addrs`; each sends `first_words` (nothing, or
    /// one request) and then nothing more, reading what comes until the server closes it.
    fn dial(addrs: &[SocketAddr], per_addr: usize, first_words: &'static [u8]) -> SilentCrowd {
        let established = Arc::new(AtomicUsize::new(0));
        let dialled = Arc::new(AtomicUsize::new(0));
        let mut dialling = tokio::task::JoinSet::new();
        for &addr in addrs {
            for _ in 0..per_addr {
                let (established, dialled) = (established.clone(), dialled.clone());
                dialling.spawn(async move {
                    loop {
                        if let Ok(mut stream) = TcpStream::connect(addr).await {
                            established.fetch_add(1, Ordering::Relaxed);
                            dialled.fetch_add(1, Ordering::Relaxed);
                            if stream.write_all(first_words).await.is_ok() {
                                // Ends when the server closes the connection.
                                let mut answer = [0u8; 1024];
                                while matches!(stream.read(&mut answer).await, Ok(n) if n > 0) {}
                            }
                            established.fetch_sub(1, Ordering::Relaxed);
                        }
                        tokio::time::sleep(REDIAL_PAUSE).await;
                    }
                });
            }
        }
        SilentCrowd { established, dialled, _dialling: dialling }
    }

    /// Connections of the crowd open now.
    fn established(&self) -> usize {
        self.established.load(Ordering::Relaxed)
    }

    /// Connections of the crowd established so far, closed since or not.
    fn dialled(&self) -> usize {
        self.dialled.load(Ordering::Relaxed)
    }
}

/// Logs the vehicle in through the door, publishes one position at QoS 1 and waits for its
/// PUBACK, which the door sends only once ingest has stored it.
async fn publish_one_position(server: &Served, password: &str) -> Option<()> {
    use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
    let mut options = MqttOptions::new(format!("convoy-agent-{VEHICLE}"), "127.0.0.1", server.mqtt().port());
    options.set_credentials(VEHICLE, password);
    let (client, mut eventloop) = AsyncClient::new(options, 10);
    let payload = json!({
        "v": 1,
        "vehicle": VEHICLE,
        "positions": [{ "seq": 1, "t": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                        "lat": 48.137154, "lon": 11.576124 }],
    });
    client
        .publish(
            format!("convoy/v1/vehicles/{VEHICLE}/positions"),
            QoS::AtLeastOnce,
            false,
            payload.to_string(),
        )
        .await
        .ok()?;
    let acked = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::PubAck(_))) => return Some(()),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    })
    .await
    .ok()
    .flatten();
    let _ = client.disconnect().await;
    let _ = tokio::time::timeout(Duration::from_secs(1), eventloop.poll()).await;
    acked
}

async fn stored_positions(server: &Served, token: &str) -> Option<usize> {
    let response = http_client()
        .get(format!("http://{}/api/v1/vehicles/{VEHICLE}/track", server.http()))
        .bearer_auth(token)
        .send()
        .await
        .ok()?;
    if response.status() != 200 {
        return None;
    }
    Some(response.json::<Value>().await.ok()?["positions"].as_array()?.len())
}

/// A started server with a person and a vehicle registered, and the vehicle's password.
struct Started {
    server: Served,
    log: std::path::PathBuf,
    vehicle_password: String,
    _dir: tempfile::TempDir,
}

async fn start() -> Started {
    // The test holds thousands of sockets of its own.
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard).unwrap();
    let dir = tempfile::tempdir().unwrap();
    add_user(dir.path(), USER, "dispatcher", PASSWORD);
    let vehicle_password = add_vehicle(dir.path(), VEHICLE);
    let log = dir.path().join("server.log");
    let server = spawn_server(dir.path(), &log);
    eventually(Duration::from_secs(30), "the server to answer and its door to open", || async {
        let door_open = std::fs::read_to_string(&log).unwrap_or_default().contains("MQTT door open");
        healthz(&server).await.filter(|()| door_open)
    })
    .await;
    Started { server, log, vehicle_password, _dir: dir }
}

async fn metrics_text(server: &Served) -> Option<String> {
    let response = http_client().get(format!("http://{}/metrics", server.http())).send().await.ok()?;
    if response.status() != 200 {
        return None;
    }
    response.text().await.ok()
}

/// The sum of `convoy_connections_shed_total` of one listener, over its reasons.
fn shed(metrics: &str, listener: &str) -> f64 {
    metrics
        .lines()
        .filter(|line| line.starts_with(&format!("convoy_connections_shed_total{{listener=\"{listener}\"")))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

const OVERALL: Duration = Duration::from_secs(60);

/// Waits until the crowd has established more connections than the server may open files
/// (at once, or one after the other as the server closed them): the claims after it are
/// checked under that load.
async fn until_the_crowd_is_in(crowd: &SilentCrowd) {
    eventually(OVERALL, "more silent connections than the server's open-files limit", || async {
        (crowd.dialled() as u64 > CHILD_OPEN_FILES).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn silent_connections_beyond_the_open_files_limit_leave_health_logins_and_vehicles_working() {
    let started = Instant::now();
    let Started { server, log, vehicle_password, _dir } = start().await;
    let crowd = SilentCrowd::dial(&[server.mqtt(), server.http()], IDLE_PER_PORT, b"");
    until_the_crowd_is_in(&crowd).await;

    eventually(OVERALL, "/healthz to answer 200", || healthz(&server)).await;
    let token = eventually(OVERALL, "a login to succeed", || login(&server)).await;
    eventually(OVERALL, "a vehicle to log in through the door and have a position stored", || {
        publish_one_position(&server, &vehicle_password)
    })
    .await;
    // Every request below may itself be shed while the crowd presses on: each is tried again.
    let stored = eventually(OVERALL, "the track to be read", || stored_positions(&server, &token)).await;
    assert_eq!(stored, 1);

    let metrics = eventually(OVERALL, "/metrics to answer", || metrics_text(&server)).await;
    let (shed_mqtt, shed_http) = (shed(&metrics, "mqtt"), shed(&metrics, "http"));
    assert!(shed_http > 0.0 && shed_mqtt > 0.0);
    assert_eq!(common::metric(&metrics, "convoy_open_files_limit"), Some(CHILD_OPEN_FILES as f64));
    // Thousands of connections shed, a few lines in the log: warnings are written at most every
    // 10 s per listener and kind, not once per connection.
    let log_text = std::fs::read_to_string(&log).unwrap();
    let warnings = log_text.lines().filter(|line| line.contains("WARN")).count();
    assert!(warnings * 10 < (shed_mqtt + shed_http) as usize, "{warnings} warnings:\n{log_text}");
    eprintln!(
        "{warnings} warnings in the log; {} silent connections open at the end; the server shed \
         {shed_mqtt} on MQTT and {shed_http} on HTTP; {:?} in all",
        crowd.established(),
        started.elapsed()
    );
}

/// Keep-alive connections that asked once and now wait, silent, for their next request hold
/// no place a new client needs: with every place so held, a new client is answered, and one of
/// them was closed to make room (connections that have spoken for good are never closed: that
/// client would wait for the keep-alive timeout instead, and no connection would be shed).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keep_alive_connections_waiting_for_a_next_request_make_room_for_a_new_client() {
    let Started { server, _dir, .. } = start().await;
    let metrics = http_client().get(format!("http://{}/metrics", server.http())).send().await.unwrap();
    let cap =
        common::metric(&metrics.text().await.unwrap(), "convoy_connections_max{listener=\"http\"}").unwrap();
    let mut waiting = Vec::new();
    for _ in 0..cap as usize {
        let mut stream = TcpStream::connect(server.http()).await.unwrap();
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: keep-alive\r\n\r\n").await.unwrap();
        let mut answer = Vec::new();
        while !answer.ends_with(b"}") {
            let mut chunk = [0u8; 1024];
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "closed before its answer: {}", String::from_utf8_lossy(&answer));
            answer.extend_from_slice(&chunk[..n]);
        }
        assert!(answer.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer));
        waiting.push(stream);
    }

    eventually(OVERALL, "/healthz to answer 200", || healthz(&server)).await;
    eventually(OVERALL, "a login to succeed", || login(&server)).await;
    let made_room = ["oldest_silent", "silent_near_cap"]
        .map(|reason| format!("convoy_connections_shed_total{{listener=\"http\",reason=\"{reason}\"}}"));
    let metrics = http_client().get(format!("http://{}/metrics", server.http())).send().await.unwrap();
    let metrics = metrics.text().await.unwrap();
    let shed: f64 = made_room.iter().filter_map(|sample| common::metric(&metrics, sample)).sum();
    assert!(shed >= 1.0, "{metrics}");
    drop(waiting);
}
