//! Losing nothing: the real `convoy-agent` binary is killed with SIGKILL again and again while
//! a receiver feeds it through a pseudo-terminal and Mosquitto carries what it publishes. Every
//! fix the agent numbered must reach the broker, none twice under two numbers.

mod support;

use std::io::Write;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use convoy_agent::nmea_writer::{epoch_sentences, SimFix};
use convoy_testkit::Mosquitto;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_numbered_fix_reaches_the_broker_through_repeated_kill_9() {
    let mosquitto = Mosquitto::start();
    let collected = support::collect(mosquitto.port).await;
    let pty = support::pty();
    let state = tempfile::tempdir().unwrap();

    const EPOCHS: u64 = 800;
    let mut master = pty.master.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        for i in 0..EPOCHS {
            master.write_all(epoch_sentences(&epoch(i)).as_bytes()).unwrap();
            std::thread::sleep(Duration::from_millis(15));
        }
    });

    let mut kills = 0;
    let mut agent = support::start_agent(&pty.path, mosquitto.port, state.path(), &[]);
    while !writer.is_finished() {
        let alive_ms = 200 + rand::random::<u64>() % 900;
        tokio::time::sleep(Duration::from_millis(alive_ms)).await;
        agent.kill().unwrap(); // SIGKILL
        agent.wait().unwrap();
        kills += 1;
        agent = support::start_agent(&pty.path, mosquitto.port, state.path(), &[]);
    }
    writer.join().unwrap();

    // Let the last life publish everything, then stop it.
    let mut last_count = 0;
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let count = collected.len();
        if count == last_count {
            break;
        }
        last_count = count;
    }
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(agent.id() as i32), nix::sys::signal::Signal::SIGINT)
        .unwrap();
    agent.wait().unwrap();

    let seqs = collected.seqs();
    let received = seqs.len() as u64;
    assert!(kills >= 5, "the agent was killed {kills} times");
    assert_eq!(seqs, (1..=received).collect::<Vec<_>>(), "every numbered fix arrived, with no gap");
    assert_eq!(collected.conflicts(), 0, "no seq came twice with other content");
    // Each fix is one of the receiver's epochs, and no epoch came under two numbers.
    let by_seq = collected.by_seq.lock().unwrap();
    let mut times: Vec<DateTime<Utc>> = by_seq.values().map(|(p, _)| p.t).collect();
    for (p, _) in by_seq.values() {
        let i = ((p.t - epoch(0).t).num_milliseconds() / 100) as u64;
        let expected = epoch(i);
        assert!((p.lat - expected.lat).abs() < 1e-6 && (p.lon - expected.lon).abs() < 1e-6, "{p:?}");
    }
    times.dedup();
    assert_eq!(times.len() as u64, received, "no epoch was numbered twice");
    // A kill loses at most what the agent held in memory: the epoch being assembled and the
    // fix on its way to the spool.
    let lost = EPOCHS - received;
    assert!(lost <= 3 * kills, "{lost} of {EPOCHS} epochs lost over {kills} kills");
    eprintln!("{kills} kills, {received} of {EPOCHS} epochs delivered, {lost} lost in the killed processes");
}
