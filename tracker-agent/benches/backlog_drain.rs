//! Draining a 24-hour backlog (86,400 fixes) when the broker comes back: the real
//! `convoy-agent` binary starts with a full spool and publishes it to Mosquitto, side by side
//! with the raw publish rate of a plain rumqttc loop and of `mosquitto_pub`. Every rate is
//! counted where it matters: fixes arriving at a subscriber.
//!
//!     cargo bench -p convoy-agent --bench backlog_drain -- [--fixes N]

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use convoy_agent::spool::{FsyncPolicy, Spool, SpoolConfig};
use convoy_core::{FixMode, Position, PositionBatch, VehicleId};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

fn position(seq: u64) -> Position {
    Position {
        seq,
        t: Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap() + chrono::Duration::seconds(seq as i64),
        lat: 48.1 + seq as f64 * 1e-6,
        lon: 11.5,
        alt_m: Some(520.0),
        speed_mps: Some(13.9),
        course_deg: Some(87.5),
        fix: Some(FixMode::ThreeD),
        sats: Some(12),
        hdop: Some(0.7),
        accuracy_m: None,
    }
}

/// Counts the fixes arriving on `convoy/v1/vehicles/+/positions`.
async fn counter(port: u16) -> Arc<AtomicU64> {
    let count = Arc::new(AtomicU64::new(0));
    let mut options = MqttOptions::new(format!("bench-counter-{}", rand::random::<u32>()), "127.0.0.1", port);
    options.set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut eventloop) = AsyncClient::new(options, 100);
    client.subscribe("convoy/v1/vehicles/+/positions", QoS::AtLeastOnce).await.unwrap();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let mut ready_tx = Some(ready_tx);
    let sink = count.clone();
    tokio::spawn(async move {
        let _client = client;
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    if let Some(tx) = ready_tx.take() {
                        let _ = tx.send(());
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    // Count fixes by their seq fields: cheaper than decoding, exact for our JSON.
                    let fixes = p.payload.windows(6).filter(|w| w == b"\"seq\":").count();
                    sink.fetch_add(fixes as u64, Ordering::Relaxed);
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    });
    ready_rx.await.unwrap();
    count
}

async fn wait_for(count: &AtomicU64, target: u64, started: Instant) -> f64 {
    while count.load(Ordering::Relaxed) < target {
        assert!(started.elapsed() < Duration::from_secs(120), "stalled at {}", count.load(Ordering::Relaxed));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    started.elapsed().as_secs_f64()
}

/// The agent: a spool holding the backlog, then the binary started against the broker.
async fn agent_drain(port: u16, fixes: u64) -> f64 {
    let state = tempfile::tempdir().unwrap();
    let config = SpoolConfig { fsync: FsyncPolicy::Never, ..SpoolConfig::default() };
    let (mut spool, _) =
        Spool::open(&state.path().join("spool"), &convoy_core::VehicleId::new("bench-1").unwrap(), config)
            .unwrap();
    for seq in 1..=fixes {
        spool.append(&position(seq)).unwrap();
    }
    spool.sync().unwrap();
    drop(spool);
    let count = counter(port).await;
    let started = Instant::now();
    let mut agent = Command::new(env!("CARGO_BIN_EXE_convoy-agent"))
        .args(["--serial", "/dev/null/no-receiver", "--vehicle", "bench-1"])
        .args(["--broker", &format!("mqtt://127.0.0.1:{port}")])
        .arg("--spool")
        .arg(state.path())
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let seconds = wait_for(&count, fixes, started).await;
    agent.kill().unwrap();
    agent.wait().unwrap();
    seconds
}

/// A plain rumqttc loop publishing the same fixes, `per_message` to a message, QoS 1, as fast
/// as the client takes them.
async fn rumqttc_loop(port: u16, fixes: u64, per_message: u64) -> f64 {
    let count = counter(port).await;
    let mut options = MqttOptions::new(format!("bench-raw-{}", rand::random::<u32>()), "127.0.0.1", port);
    options.set_max_packet_size(1 << 20, 1 << 20);
    options.set_inflight(100);
    let (client, mut eventloop) = AsyncClient::new(options, 1000);
    tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
    let vehicle = VehicleId::new("bench-raw").unwrap();
    let payloads: Vec<Vec<u8>> = (0..fixes.div_ceil(per_message))
        .map(|b| {
            let seqs = (b * per_message + 1)..=((b + 1) * per_message).min(fixes);
            PositionBatch::new(vehicle.clone(), seqs.map(position).collect()).encode()
        })
        .collect();
    let started = Instant::now();
    for payload in payloads {
        client
            .publish("convoy/v1/vehicles/bench-raw/positions", QoS::AtLeastOnce, false, payload)
            .await
            .unwrap();
    }
    wait_for(&count, fixes, started).await
}

/// `mosquitto_pub -l`: one message a line from standard input, QoS 1.
async fn mosquitto_pub(port: u16, fixes: u64) -> Option<(u64, f64)> {
    let count = counter(port).await;
    let vehicle = VehicleId::new("bench-pub").unwrap();
    let mut lines = Vec::new();
    for seq in 1..=fixes {
        lines.extend_from_slice(&PositionBatch::new(vehicle.clone(), vec![position(seq)]).encode());
        lines.push(b'\n');
    }
    let started = Instant::now();
    let mut child = Command::new("mosquitto_pub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-q",
            "1",
            "-t",
            "convoy/v1/vehicles/bench-pub/positions",
            "-l",
        ])
        .stdin(Stdio::piped())
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take()?;
    std::thread::spawn(move || stdin.write_all(&lines));
    // mosquitto_pub may end before every message is out: report what arrived, and when the
    // last of it did.
    let (mut arrived, mut last_arrival, mut last_change) = (0, 0.0, Instant::now());
    while started.elapsed() < Duration::from_secs(120) {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let now = count.load(Ordering::Relaxed);
        if now != arrived {
            (arrived, last_arrival, last_change) = (now, started.elapsed().as_secs_f64(), Instant::now());
        }
        let publisher_done = child.try_wait().ok()?.is_some();
        if now >= fixes || (publisher_done && last_change.elapsed() > Duration::from_secs(3)) {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    Some((arrived, last_arrival))
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let fixes: u64 = args
        .iter()
        .position(|a| a == "--fixes")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(86_400);
    let broker = convoy_testkit::Mosquitto::start();
    println!("| publisher | fixes | per message | seconds | fixes/s |");
    println!("|---|---:|---:|---:|---:|");
    let row = |name: &str, per: &str, seconds: f64| {
        println!("| {name} | {fixes} | {per} | {seconds:.2} | {:.0} |", fixes as f64 / seconds);
    };
    row("convoy-agent draining its spool", "up to 200", agent_drain(broker.port, fixes).await);
    row("plain rumqttc loop", "200", rumqttc_loop(broker.port, fixes, 200).await);
    row("plain rumqttc loop", "1", rumqttc_loop(broker.port, fixes, 1).await);
    match mosquitto_pub(broker.port, fixes).await {
        Some((arrived, seconds)) => println!(
            "| mosquitto_pub -l | {arrived} of {fixes} arrived | 1 | {seconds:.2} | {:.0} |",
            arrived as f64 / seconds
        ),
        None => println!("(mosquitto_pub is not installed)"),
    }
}
