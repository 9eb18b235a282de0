//! Real parts for the agent's tests: a pseudo-terminal to be its serial port, and a collector
//! that subscribes to what reaches the broker.

#![allow(dead_code)] // each test binary uses its own part of this module

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use convoy_agent::config::BrokerAddress;
use convoy_agent::AgentConfig;
use convoy_core::{Position, PositionBatch, VehicleId};
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

/// A pseudo-terminal in raw mode: the master to write receiver bytes into, the slave's path for
/// the agent, and the slave held open so the terminal lives between the agent's restarts.
pub struct Pty {
    pub master: std::fs::File,
    pub path: std::path::PathBuf,
    _slave: std::os::fd::OwnedFd,
}

pub fn pty() -> Pty {
    let pty = nix::pty::openpty(None, None).unwrap();
    let mut termios = tcgetattr(&pty.slave).unwrap();
    cfmakeraw(&mut termios);
    tcsetattr(&pty.slave, SetArg::TCSANOW, &termios).unwrap();
    let path = nix::unistd::ttyname(&pty.slave).unwrap();
    Pty { master: std::fs::File::from(pty.master), path, _slave: pty.slave }
}

/// An agent configuration for reading `serial` only: the broker is never reached.
pub fn reader_config(serial: &std::path::Path, state: &std::path::Path) -> AgentConfig {
    AgentConfig {
        serial: serial.to_path_buf(),
        baud: 9600,
        vehicle: VehicleId::new("truck-07").unwrap(),
        broker: BrokerAddress::plain("127.0.0.1", 1),
        username: None,
        password: None,
        state_dir: state.to_path_buf(),
        max_batch_fixes: 100,
        spool: Default::default(),
        heartbeat: None,
        metrics_file: None,
        privacy: convoy_agent::privacy::Privacy::Always,
        signing_key: None,
        time_reference: Default::default(),
    }
}

/// Writes receiver bytes into a pseudo-terminal and collects what the agent's serial reader
/// makes of them, checking dates against `reference`; with the reader's counters.
pub async fn through_the_serial_reader(
    bytes: Vec<u8>,
    reference: convoy_agent::rollover::TimeReference,
) -> (Vec<convoy_agent::epoch::Fix>, Arc<convoy_agent::AgentStats>) {
    use std::io::Write;
    let pty = pty();
    let mut master = pty.master.try_clone().unwrap();
    let state = tempfile::tempdir().unwrap();
    let mut config = reader_config(&pty.path, state.path());
    config.time_reference = reference;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let stop = tokio_util::sync::CancellationToken::new();
    let reader_stop = stop.clone();
    let stats = Arc::new(convoy_agent::AgentStats::default());
    let reader_stats = stats.clone();
    let reader = tokio::spawn(async move {
        convoy_agent::reader::run(&config, tx, &reader_stats, reader_stop).await.unwrap();
    });
    let writer = std::thread::spawn(move || master.write_all(&bytes).map(|()| master));
    let master = tokio::task::spawn_blocking(move || writer.join().unwrap()).await.unwrap().unwrap();
    // The reader completes the last epoch after a quiet spell; wait until nothing more comes.
    let mut fixes = Vec::new();
    while let Ok(Some(p)) = tokio::time::timeout(Duration::from_millis(1000), rx.recv()).await {
        fixes.push(p);
    }
    stop.cancel();
    reader.await.unwrap();
    drop(master);
    while let Ok(p) = rx.try_recv() {
        fixes.push(p);
    }
    (fixes, stats)
}

/// Starts the real `convoy-agent` binary as vehicle truck-07, reading `serial`, with `extra`
/// flags.
pub fn start_agent(
    serial: &std::path::Path,
    port: u16,
    state: &std::path::Path,
    extra: &[&std::ffi::OsStr],
) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_convoy-agent"))
        .arg("--serial")
        .arg(serial)
        .args(["--vehicle", "truck-07", "--broker", &format!("mqtt://127.0.0.1:{port}")])
        .arg("--spool")
        .arg(state)
        .args(extra)
        .env("RUST_LOG", "error")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// Everything published on the positions topics, by seq, with how often each came; which
/// vehicles published; and how often a seq came again with other content (never, we hope).
#[derive(Clone, Default)]
pub struct Collected {
    pub by_seq: Arc<Mutex<BTreeMap<u64, (Position, u32)>>>,
    pub vehicles: Arc<Mutex<std::collections::BTreeSet<String>>>,
    pub conflicts: Arc<Mutex<u32>>,
    /// Every batch, whole (with its `signed` field), in the order they came.
    pub batches: Arc<Mutex<Vec<PositionBatch>>>,
}

impl Collected {
    pub fn vehicles(&self) -> Vec<String> {
        self.vehicles.lock().unwrap().iter().cloned().collect()
    }

    pub fn conflicts(&self) -> u32 {
        *self.conflicts.lock().unwrap()
    }

    pub fn seqs(&self) -> Vec<u64> {
        self.by_seq.lock().unwrap().keys().copied().collect()
    }

    pub fn len(&self) -> usize {
        self.by_seq.lock().unwrap().len()
    }
}

/// Subscribes to `convoy/v1/vehicles/+/positions` on the broker at `port` and collects.
pub async fn collect(port: u16) -> Collected {
    collect_as(port, None).await
}

/// The same, logging in with a user name and password.
pub async fn collect_as(port: u16, credentials: Option<(&str, &str)>) -> Collected {
    let collected = Collected::default();
    let client_id = format!("test-collector-{:08x}", rand::random::<u32>());
    let mut options = MqttOptions::new(client_id, "127.0.0.1", port);
    options.set_max_packet_size(1 << 20, 1 << 20);
    if let Some((user, password)) = credentials {
        options.set_credentials(user, password);
    }
    let (client, mut eventloop) = AsyncClient::new(options, 100);
    client.subscribe("convoy/v1/vehicles/+/positions", QoS::AtLeastOnce).await.unwrap();
    let (subscribed_tx, subscribed_rx) = tokio::sync::oneshot::channel();
    let mut subscribed_tx = Some(subscribed_tx);
    let sink = collected.clone();
    tokio::spawn(async move {
        let _client = client;
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    if let Some(tx) = subscribed_tx.take() {
                        let _ = tx.send(());
                    }
                }
                Ok(Event::Incoming(Packet::Publish(publish))) => {
                    let far_future = chrono::DateTime::from_timestamp(4_000_000_000, 0).unwrap();
                    let batch = PositionBatch::decode(&publish.payload, far_future)
                        .expect("agent publishes valid batches");
                    sink.batches.lock().unwrap().push(batch.clone());
                    sink.vehicles.lock().unwrap().insert(batch.vehicle.to_string());
                    let mut by_seq = sink.by_seq.lock().unwrap();
                    for p in batch.positions {
                        let entry = by_seq.entry(p.seq).or_insert((p.clone(), 0));
                        if entry.0 != p {
                            *sink.conflicts.lock().unwrap() += 1;
                        }
                        entry.1 += 1;
                    }
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(10), subscribed_rx).await.unwrap().unwrap();
    collected
}
