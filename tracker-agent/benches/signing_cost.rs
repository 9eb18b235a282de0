//! What signing costs the agent, piece by piece: chaining a fix as it is spooled (one SHA-256
//! over its canonical bytes), appending it to the spool with and without that, and signing a
//! batch (the chain over its fixes, then one Ed25519 signature).
//!
//!     cargo bench -p convoy-agent --bench signing_cost -- [--fixes N]
//!
//! The agent's CPU with and without a key, fed 10 Hz NMEA, is `agent_feed -- --key`.

use std::hint::black_box;
use std::time::Instant;

use chrono::{DateTime, Utc};
use convoy_agent::spool::{FsyncPolicy, Spool, SpoolConfig};
use convoy_core::signing::{link, BatchSignature, SecretKey, GENESIS};
use convoy_core::{FixMode, Position, VehicleId};

fn position(seq: u64) -> Position {
    Position {
        seq,
        t: DateTime::<Utc>::from_timestamp_millis(1_764_000_000_000 + seq as i64 * 100).unwrap(),
        lat: 48.1 + seq as f64 * 1e-6,
        lon: 11.5 + seq as f64 * 1e-6,
        alt_m: Some(520.0),
        speed_mps: Some(13.9),
        course_deg: Some(45.0),
        fix: Some(FixMode::ThreeD),
        sats: Some(12),
        hdop: Some(0.7),
        accuracy_m: None,
    }
}

/// Microseconds per call of `f`, over `n` calls.
fn per_call(n: u64, mut f: impl FnMut(u64)) -> f64 {
    let started = Instant::now();
    for i in 1..=n {
        f(i);
    }
    started.elapsed().as_secs_f64() * 1e6 / n as f64
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let fixes: u64 = args
        .iter()
        .position(|a| a == "--fixes")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(100_000);
    let vehicle = VehicleId::new("bench-1").unwrap();
    let key = SecretKey::generate();

    let mut prev = GENESIS;
    let link_us = per_call(fixes, |seq| prev = link(black_box(&prev), &vehicle, &position(seq)));
    let positions_us = per_call(fixes, |seq| {
        black_box(position(seq));
    });

    let dir = tempfile::tempdir().unwrap();
    let config = SpoolConfig { fsync: FsyncPolicy::Never, ..SpoolConfig::default() };
    let (mut spool, _) = Spool::open(&dir.path().join("spool"), &vehicle, config).unwrap();
    let append_us = per_call(fixes, |seq| spool.append(&position(seq)).unwrap());
    drop(spool);

    let sign_us = |size: u64| {
        let batch: Vec<Position> = (1..=size).map(position).collect();
        per_call((fixes / 10 / size).max(100), |_| {
            black_box(BatchSignature::sign(&key, &vehicle, &GENESIS, black_box(&batch)).unwrap());
        })
    };
    let (sign_1, sign_3, sign_200) = (sign_us(1), sign_us(3), sign_us(200));

    println!("| step | µs each |");
    println!("|---|---:|");
    println!("| making the test fix (subtracted below) | {positions_us:.3} |");
    println!("| chain one fix (`link`: SHA-256 of its canonical bytes) | {:.3} |", link_us - positions_us);
    println!("| spool append with the chain, fsync never (record v2) | {:.3} |", append_us - positions_us);
    println!("| sign a batch of 1 fix (chain + Ed25519) | {sign_1:.1} |");
    println!("| sign a batch of 3 fixes (chain + Ed25519) | {sign_3:.1} |");
    println!("| sign a batch of 200 fixes (chain + Ed25519) | {sign_200:.1} |");
    // At 10 Hz each fix is chained once when spooled; a signed agent waits up to 300 ms for a
    // batch (about 3 fixes), so it signs about 3.3 batches a second. Without that wait it
    // would sign 10 one-fix batches.
    let chain_us = 10.0 * (link_us - positions_us);
    for (label, per_second) in [
        ("one-fix batches (no wait)", chain_us + 10.0 * sign_1),
        ("3-fix batches (300 ms wait)", chain_us + 10.0 / 3.0 * sign_3),
    ] {
        println!(
            "at 10 Hz, {label}: {per_second:.0} µs of CPU a second = {:.3} % of one core",
            per_second / 1e4
        );
    }
}
