//! What verifying signed tracks costs ingest (issue 15): every fix linked into its chain
//! (SHA-256 over its canonical bytes) and one Ed25519 head per batch checked in a commit's
//! batch verification, as `ingest/src/verify/` does, per fix at 1 and 10 fixes a batch, on one
//! core. `cargo bench --bench signed_verify`; figures in docs/BENCHMARKS.md.
use std::time::Instant;

use chrono::{TimeZone, Utc};
use convoy_core::signing::{chain_links, BatchSignature, SecretKey, SignedHead, GENESIS};
use convoy_core::{FixMode, Position, VehicleId};

fn main() {
    let key = SecretKey::generate();
    let public = key.public();
    let vehicle = VehicleId::new("truck-07").unwrap();
    let t0 = Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap();
    for per_batch in [1usize, 10] {
        let batches = 4000;
        let mut prev = GENESIS;
        let mut signed = Vec::new();
        for b in 0..batches {
            let fixes: Vec<Position> = (0..per_batch)
                .map(|i| {
                    let seq = (b * per_batch + i + 1) as u64;
                    let mut p = Position::bare(
                        seq,
                        t0 + chrono::Duration::milliseconds(seq as i64 * 100),
                        48.1 + seq as f64 * 1e-6,
                        11.5,
                    );
                    p.speed_mps = Some(12.0);
                    p.fix = Some(FixMode::ThreeD);
                    p.sats = Some(9);
                    p.hdop = Some(0.9);
                    p
                })
                .collect();
            let (sig, head) = BatchSignature::sign(&key, &vehicle, &prev, &fixes).unwrap();
            prev = head;
            signed.push((sig, fixes));
        }
        for round in 0..3 {
            // The chain alone: every fix linked (what is left per fix once one signature
            // vouches for many batches).
            let started = Instant::now();
            for (sig, fixes) in &signed {
                std::hint::black_box(chain_links(&sig.prev, &vehicle, fixes));
            }
            let chain = started.elapsed();
            let fixes = batches * per_batch;
            println!(
                "{per_batch} fix(es) a batch, round {round}: the chain alone {:.3} us a fix",
                chain.as_secs_f64() * 1e6 / fixes as f64
            );
            let started = Instant::now();
            let heads: Vec<SignedHead> = signed.iter().map(|(s, f)| s.head(&vehicle, f).unwrap()).collect();
            let pairs: Vec<_> = heads.iter().map(|h| (h, &public)).collect();
            SignedHead::verify_all(&pairs).unwrap();
            let took = started.elapsed();
            println!(
                "{per_batch} fix(es) a batch, round {round}: {fixes} fixes in {:.1} ms: {:.2} us a fix, {:.0} fixes/s of one core",
                took.as_secs_f64() * 1e3,
                took.as_secs_f64() * 1e6 / fixes as f64,
                fixes as f64 / took.as_secs_f64()
            );
        }
    }
}
