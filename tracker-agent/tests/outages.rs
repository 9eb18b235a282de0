//! The agent goes on through what a truck meets: a receiver unplugged and plugged back, a
//! broker that refuses its password, a broker that is down. Real parts: socat's
//! pseudo-terminals, the agent binary, Mosquitto.

mod support;

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use convoy_agent::epoch::Fix;
use convoy_agent::nmea_writer::{epoch_sentences, SimFix};
use convoy_agent::AgentStats;
use convoy_testkit::Mosquitto;

fn epoch(i: u64) -> SimFix {
    SimFix {
        t: Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap() + chrono::Duration::seconds(i as i64),
        lat: 48.1 + i as f64 * 1e-4,
        lon: 11.5,
        alt_m: 520.0,
        speed_mps: 11.0,
        course_deg: 0.0,
        sats: 10,
        hdop: 0.8,
    }
}

/// A socat pair of pseudo-terminals behind two links: `gps` for the agent, `feed` for the test.
/// Killing socat removes both, as unplugging a USB receiver removes its device.
fn plug_in(dir: &Path) -> Child {
    let child = Command::new("socat")
        .arg(format!("pty,raw,echo=0,link={}", dir.join("gps").display()))
        .arg(format!("pty,raw,echo=0,link={}", dir.join("feed").display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("socat is not installed: run the tests with scripts/test.sh");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !(dir.join("gps").exists() && dir.join("feed").exists()) {
        assert!(Instant::now() < deadline, "socat made no terminals");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

fn feed(dir: &Path, epochs: std::ops::Range<u64>) {
    let mut terminal = std::fs::OpenOptions::new().write(true).open(dir.join("feed")).unwrap();
    for i in epochs {
        terminal.write_all(epoch_sentences(&epoch(i)).as_bytes()).unwrap();
        std::thread::sleep(Duration::from_millis(30));
    }
}

async fn next_fixes(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Fix>, n: usize) -> Vec<Fix> {
    let mut fixes = Vec::new();
    while fixes.len() < n {
        match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
            Ok(Some(fix)) => fixes.push(fix),
            _ => panic!("got {} of {n} fixes", fixes.len()),
        }
    }
    fixes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unplugged_receiver_is_read_again_when_it_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut socat = plug_in(dir.path());
    let state = tempfile::tempdir().unwrap();
    let config = support::reader_config(&dir.path().join("gps"), state.path());
    let stats = Arc::new(AgentStats::default());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let stop = tokio_util::sync::CancellationToken::new();
    let reader_stop = stop.clone();
    let reader_stats = stats.clone();
    let reader =
        tokio::spawn(async move { convoy_agent::reader::run(&config, tx, &reader_stats, reader_stop).await });

    tokio::time::sleep(Duration::from_millis(300)).await;
    let path = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || feed(&path, 0..5)).await.unwrap();
    let before = next_fixes(&mut rx, 5).await;

    // Unplugged: the device disappears for two seconds.
    socat.kill().unwrap();
    socat.wait().unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let errors_while_away = stats.serial_errors.load(std::sync::atomic::Ordering::Relaxed);
    assert!(errors_while_away >= 2, "the loss and the failed reopenings are counted: {errors_while_away}");
    assert!(!reader.is_finished(), "the reader keeps trying");

    let mut socat = plug_in(dir.path());
    tokio::time::sleep(Duration::from_secs(6)).await; // the longest reopen backoff is 5 s
    let path = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || feed(&path, 5..10)).await.unwrap();
    let after = next_fixes(&mut rx, 5).await;

    let times: Vec<_> = before.iter().chain(&after).map(|f| f.t).collect();
    assert_eq!(times, (0..10).map(|i| epoch(i).t).collect::<Vec<_>>());
    stop.cancel();
    reader.await.unwrap().unwrap();
    socat.kill().unwrap();
    socat.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_password_and_a_broker_outage_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let passwords =
        Mosquitto::password_file(dir.path(), &[("truck-07", "right"), ("collector", "collector")]);
    let strict = ["allow_anonymous false".to_string(), format!("password_file {}", passwords.display())];
    let strict: Vec<&str> = strict.iter().map(String::as_str).collect();
    let broker = Mosquitto::start_with(&strict);
    let port = broker.port;
    let collected = support::collect_as(port, Some(("collector", "collector"))).await;

    let wrong = dir.path().join("wrong-password");
    std::fs::write(&wrong, "wrong\n").unwrap();
    let pty = support::pty();
    let state = tempfile::tempdir().unwrap();
    let mut agent =
        support::start_agent(&pty.path, port, state.path(), &["--password-file".as_ref(), wrong.as_os_str()]);
    let mut master = pty.master.try_clone().unwrap();
    tokio::task::spawn_blocking(move || {
        for i in 0..20 {
            master.write_all(epoch_sentences(&epoch(i)).as_bytes()).unwrap();
            std::thread::sleep(Duration::from_millis(50));
        }
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(collected.len(), 0, "the broker refused the agent");
    assert!(agent.try_wait().unwrap().is_none(), "the agent goes on after a refused password");

    // The broker goes away and comes back on the same port, still refusing the agent until
    // its password file is changed: the collector is listening before the agent can publish.
    broker.stop();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let back = Mosquitto::start_on(port, &strict);
    let collected = support::collect_as(port, Some(("collector", "collector"))).await;
    Mosquitto::password_file(dir.path(), &[("truck-07", "wrong"), ("collector", "collector")]);
    back.reload();
    let deadline = Instant::now() + Duration::from_secs(40);
    while collected.len() < 20 {
        assert!(
            Instant::now() < deadline,
            "only {} of 20 fixes arrived after the broker came back",
            collected.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(collected.seqs(), (1..=20).collect::<Vec<_>>(), "the backlog, oldest first, whole");
    assert_eq!(collected.conflicts(), 0, "no seq came twice with other content");
    agent.kill().unwrap();
    agent.wait().unwrap();
}
