//! Tracks signed on the truck, with real parts: the real `convoy-agent` binary makes its key
//! (`keygen`), reads a receiver through a pseudo-terminal and publishes to Mosquitto, where a
//! subscriber takes every batch. Each batch must carry a signature that verifies with the public
//! key keygen printed, and link to the fixes before it, across a SIGKILL and a restart.

mod support;

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use convoy_agent::nmea_writer::{epoch_sentences, SimFix};
use convoy_core::signing::{link, ChainHash, PublicKey, GENESIS};
use convoy_core::{PositionBatch, VehicleId};
use convoy_testkit::Mosquitto;

fn keygen(key_file: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_convoy-agent"))
        .arg("keygen")
        .arg("--key-file")
        .arg(key_file)
        .args(extra)
        .output()
        .unwrap()
}

/// The public key keygen printed.
fn printed_public_key(output: &Output) -> PublicKey {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line =
        stdout.lines().find_map(|l| l.strip_prefix("public key: ")).unwrap_or_else(|| panic!("{stdout}"));
    PublicKey::parse(line).unwrap()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn keygen_writes_the_key_for_its_owner_only_and_never_replaces_one_unasked() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("vehicle.key");
    let made = keygen(&key_file, &[]);
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let public = printed_public_key(&made);
    assert_eq!(mode(&key_file), 0o600);
    let stdout = String::from_utf8_lossy(&made.stdout);
    assert!(stdout.contains(&format!("key id: {}", public.id())), "{stdout}");
    let secret = std::fs::read_to_string(&key_file).unwrap();
    let secret_part = secret.trim().rsplit(':').next().unwrap();
    let everything_printed = format!("{stdout}{}", String::from_utf8_lossy(&made.stderr));
    assert!(!everything_printed.contains(secret_part), "the secret key is never printed");

    let again = keygen(&key_file, &[]);
    assert!(!again.status.success());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("exists already") && stderr.contains("vehicle.key"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), secret, "the old key is kept");

    let forced = keygen(&key_file, &["--force"]);
    assert!(forced.status.success());
    assert_ne!(printed_public_key(&forced), public);
    assert_eq!(mode(&key_file), 0o600);
}

#[test]
fn the_agent_refuses_to_start_with_a_key_file_others_can_read() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("vehicle.key");
    assert!(keygen(&key_file, &[]).status.success());
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_convoy-agent"))
        .args(["--serial", "/dev/null", "--vehicle", "truck-07", "--broker", "mqtt://127.0.0.1:1"])
        .arg("--spool")
        .arg(dir.path().join("state"))
        .arg("--signing-key-file")
        .arg(&key_file)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("signing_key_file") && stderr.contains("vehicle.key") && stderr.contains("644"),
        "{stderr}"
    );
    assert!(!dir.path().join("state").exists(), "nothing was started");
}

/// The receiver's epoch `i`: 10 Hz, driving north-east.
fn epoch(i: u64) -> SimFix {
    SimFix {
        t: Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap()
            + chrono::Duration::milliseconds(100 * i as i64),
        lat: 48.1 + i as f64 * 1e-5,
        lon: 11.5 + i as f64 * 1e-5,
        alt_m: 520.0,
        speed_mps: 12.0,
        course_deg: 45.0,
        sats: 10,
        hdop: 0.8,
    }
}

/// Waits until `collected` stops growing for two seconds.
async fn until_quiet(collected: &support::Collected) {
    let mut last = usize::MAX;
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let count = collected.batches.lock().unwrap().len();
        if count == last {
            return;
        }
        last = count;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_batches_verify_and_the_chain_goes_on_across_a_kill_9() {
    let mosquitto = Mosquitto::start();
    let collected = support::collect(mosquitto.port).await;
    let pty = support::pty();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let key_file = dir.path().join("vehicle.key");
    let public = printed_public_key(&keygen(&key_file, &[]));
    let flags = ["--signing-key-file".as_ref(), key_file.as_os_str()];

    const EPOCHS: u64 = 400;
    let mut master = pty.master.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        for i in 0..EPOCHS {
            master.write_all(epoch_sentences(&epoch(i)).as_bytes()).unwrap();
            std::thread::sleep(Duration::from_millis(15));
        }
    });
    let mut agent = support::start_agent(&pty.path, mosquitto.port, &state, &flags);
    // Mid-stream: once some batches are through, SIGKILL, and start again at once.
    let deadline = Instant::now() + Duration::from_secs(30);
    while collected.len() < 60 {
        assert!(Instant::now() < deadline, "the agent published {} fixes", collected.len());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    agent.kill().unwrap();
    agent.wait().unwrap();
    let before_kill = collected.batches.lock().unwrap().len();
    agent = support::start_agent(&pty.path, mosquitto.port, &state, &flags);
    writer.join().unwrap();
    until_quiet(&collected).await;
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(agent.id() as i32), nix::sys::signal::Signal::SIGINT)
        .unwrap();
    agent.wait().unwrap();

    let batches: Vec<PositionBatch> = collected.batches.lock().unwrap().clone();
    let truck = VehicleId::new("truck-07").unwrap();
    assert!(batches.len() > before_kill, "batches came after the restart");
    // Every batch is signed, and its signature verifies with the key keygen printed.
    let mut hash_of: BTreeMap<u64, ChainHash> = BTreeMap::new();
    for batch in &batches {
        let signed = batch.signed.unwrap_or_else(|| panic!("an unsigned batch: {batch:?}"));
        let head = signed.head(&truck, &batch.positions).unwrap();
        assert_eq!(head.verify(&public), Ok(()), "batch ending at seq {}", head.seq);
        let mut prev = signed.prev;
        for p in &batch.positions {
            prev = link(&prev, &truck, p);
            let known = *hash_of.entry(p.seq).or_insert(prev);
            assert_eq!(known, prev, "seq {} came again with another chain hash", p.seq);
        }
    }
    // No gap: every seq from 1, and each batch's prev is the chain hash of the fix before its
    // first (the head of the batch before, or of the fixes sent before the kill).
    let seqs: Vec<u64> = hash_of.keys().copied().collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "every seq arrived, no gap");
    for (i, batch) in batches.iter().enumerate() {
        let first = batch.positions[0].seq;
        let expected = if first == 1 { GENESIS } else { hash_of[&(first - 1)] };
        assert_eq!(
            batch.signed.unwrap().prev,
            expected,
            "batch {i} (first seq {first}) links to the fix before"
        );
    }
    // The first batch after the restart links to what the killed agent had sent.
    let resumed = &batches[before_kill];
    let sent_before: BTreeMap<u64, ChainHash> = {
        let mut map = BTreeMap::new();
        for batch in &batches[..before_kill] {
            let mut prev = batch.signed.unwrap().prev;
            for p in &batch.positions {
                prev = link(&prev, &truck, p);
                map.insert(p.seq, prev);
            }
        }
        map
    };
    let first = resumed.positions[0].seq;
    assert!(first > 1, "the restarted agent resumed the chain, it did not start one again");
    assert_eq!(resumed.signed.unwrap().prev, sent_before[&(first - 1)], "the chain goes on across the kill");
    assert!(seqs.len() as u64 > EPOCHS / 2, "{} of {EPOCHS} epochs arrived", seqs.len());
}
