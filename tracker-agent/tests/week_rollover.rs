//! The GPS week rollover with gpsd's real receiver logs, through a pseudo-terminal into the
//! agent's serial reader, and end to end through the real `convoy-agent` binary and Mosquitto.
//!
//! - `tcp-torture.log` dates its fix 2007-12-23; gpsd's output moves it 1024 weeks ahead, to
//!   2027-08-08, as the agent does against its build floor.
//! - `april6_2019.log`, a Telit HE910 just after the 2019 rollover, reports 1999-08-22 (gpsd's
//!   output keeps it): replayed with the time it was made, it is dated 2019-04-07 again.
//! - The GPS-320FW captures around the 2019 rollover carry right dates: they are not changed.
//!   With their dates set back 1024 weeks (as a receiver past the rollover reports them), they
//!   come out exactly as gpsd decoded the originals.

mod oracle;
mod support;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use convoy_agent::epoch::Fix;
use convoy_agent::rollover::{self, Anchor, TimeReference, Verdict, ROLLOVER};
use convoy_testkit::Mosquitto;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

fn log(name: &str) -> PathBuf {
    oracle::data_dir().join("gpsd").join(name)
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

/// gpsd's times of fix for a log, in order.
fn gpsd_times(log: &Path) -> Vec<DateTime<Utc>> {
    oracle::gpsd_epochs(&oracle::chk_of(log)).iter().filter_map(|e| e.t).collect()
}

fn receiver_dated(fixes: &[Fix]) -> Vec<&Fix> {
    fixes.iter().filter(|f| !f.date_from_host_clock).collect()
}

/// The log as a receiver past the rollover would send it: every RMC and ZDA date 1024 weeks
/// earlier, with the checksum made again. Everything else byte for byte.
fn rolled_back(bytes: &[u8]) -> Vec<u8> {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let (sentence, end) = line.split_at(line.trim_end_matches(['\r', '\n']).len());
        let Some((body, _checksum)) = sentence.strip_prefix('$').and_then(|s| s.split_once('*')) else {
            out.push_str(line);
            continue;
        };
        let mut fields: Vec<String> = body.split(',').map(str::to_string).collect();
        let back = |date: NaiveDate| date - ROLLOVER;
        if body.get(2..5) == Some("RMC") {
            let date = NaiveDate::parse_from_str(&fields[9], "%d%m%y").unwrap();
            fields[9] = back(date).format("%d%m%y").to_string();
        } else if body.get(2..5) == Some("ZDA") {
            let date = NaiveDate::parse_from_str(&fields[2..5].join("-"), "%d-%m-%Y").unwrap();
            let moved = back(date).format("%d,%m,%Y").to_string();
            fields.splice(2..5, moved.split(',').map(str::to_string));
        }
        let body = fields.join(",");
        let checksum = body.bytes().fold(0u8, |a, b| a ^ b);
        out.push_str(&format!("${body}*{checksum:02X}{end}"));
    }
    out.into_bytes()
}

#[test]
fn the_rolled_back_log_differs_from_the_original_only_in_its_dates() {
    let original = std::fs::read(log("gp-320fw-2019-04-06-overflow.log")).unwrap();
    let rolled = String::from_utf8(rolled_back(&original)).unwrap();
    assert!(rolled.contains(",E,000.0,000.0,210899,003.0,E,A*"), "RMC dated 1999-08-21");
    assert!(rolled.contains(",21,08,1999,"), "ZDA dated 1999-08-21");
    assert_eq!(rolled.lines().count(), String::from_utf8(original).unwrap().lines().count());
}

#[test]
fn tcp_torture_is_corrected_against_the_build_floor_as_gpsd_corrects_it() {
    let path = log("tcp-torture.log");
    let gpsd = gpsd_times(&path);
    assert_eq!(gpsd, [at("2027-08-08T19:32:21Z")], "gpsd moved the receiver's 2007-12-23");
    let fixes = oracle::agent_fixes(&std::fs::read(&path).unwrap(), Utc::now());
    let dated = receiver_dated(&fixes);
    assert_eq!(dated.len(), 1);
    assert_eq!(dated[0].t, at("2007-12-23T19:32:21Z"), "the receiver's date, as decoded");
    // The host clock not synchronised: the build floor decides.
    assert_eq!(
        rollover::check(dated[0].t, Anchor::Floor(rollover::BUILD_FLOOR)),
        (Verdict::Corrected { rollovers: 1 }, gpsd[0])
    );
    // A synchronised host clock on that day decides the same.
    let host = TimeReference::Host.anchor(at("2027-08-08T19:32:22Z"), true);
    assert_eq!(rollover::check(dated[0].t, host), (Verdict::Corrected { rollovers: 1 }, gpsd[0]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_torture_through_the_serial_reader_is_marked_and_counted() {
    let path = log("tcp-torture.log");
    let reference = TimeReference::Fixed(at("2027-08-08T00:00:00Z"));
    let (fixes, stats) = support::through_the_serial_reader(std::fs::read(&path).unwrap(), reference).await;
    let c = oracle::compare(&oracle::gpsd_epochs(&oracle::chk_of(&path)), &fixes);
    assert_eq!((c.matched, c.missing.len(), c.extra.len(), c.different.len()), (1, 0, 0, 0), "{c:?}");
    assert!(fixes.iter().all(|f| f.week_rollover_corrected));
    assert_eq!(stats.week_rollover_corrected.load(Ordering::Relaxed), 1);
    assert_eq!(stats.implausible_dates.load(Ordering::Relaxed), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_past_the_2019_rollover_is_dated_2019_again() {
    let path = log("april6_2019.log");
    // gpsd keeps the receiver's 1999-08-22, 1024 weeks before the capture.
    let gpsd = gpsd_times(&path);
    assert_eq!(gpsd, [at("1999-08-22T00:02:31.420Z")]);
    let reference = TimeReference::Fixed(at("2019-04-07T00:00:00Z"));
    let (fixes, stats) = support::through_the_serial_reader(std::fs::read(&path).unwrap(), reference).await;
    let dated = receiver_dated(&fixes);
    assert_eq!(dated.len(), 1, "{fixes:?}");
    assert_eq!(dated[0].t, gpsd[0] + ROLLOVER);
    assert_eq!(dated[0].t, at("2019-04-07T00:02:31.420Z"));
    assert!(dated[0].week_rollover_corrected);
    assert_eq!(stats.week_rollover_corrected.load(Ordering::Relaxed), 1);
    // Replayed today against a synchronised host clock, 1999 is no rollover of today: such
    // a fix is withheld, never published dated 1999.
    let today = TimeReference::Host.anchor(Utc::now(), true);
    assert_eq!(rollover::check(dated[0].t - ROLLOVER, today).0, Verdict::Implausible);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gps320fw_captures_around_the_rollover_keep_their_right_dates() {
    for (name, made) in [
        ("gp-320fw-2019-03-28.log", "2019-03-28T16:45:00Z"),
        ("gp-320fw-2019-04-06-overflow.log", "2019-04-06T23:57:00Z"),
    ] {
        let path = log(name);
        let reference = TimeReference::Fixed(at(made));
        let (fixes, stats) =
            support::through_the_serial_reader(std::fs::read(&path).unwrap(), reference).await;
        let c = oracle::compare(&oracle::gpsd_epochs(&oracle::chk_of(&path)), &fixes);
        // As in the oracle test (KEPT_DIFFERENCES): one epoch gpsd did not report.
        assert_eq!(
            (c.matched, c.missing.len(), c.extra.len(), c.different.len()),
            (20, 0, 1, 0),
            "{name}: {c:?}"
        );
        assert!(fixes.iter().all(|f| !f.week_rollover_corrected), "{name}");
        assert_eq!(stats.week_rollover_corrected.load(Ordering::Relaxed), 0, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overflow_capture_dated_1024_weeks_back_comes_out_as_gpsd_decoded_the_original() {
    let path = log("gp-320fw-2019-04-06-overflow.log");
    let rolled = rolled_back(&std::fs::read(&path).unwrap());
    let reference = TimeReference::Fixed(at("2019-04-06T12:00:00Z"));
    let (fixes, stats) = support::through_the_serial_reader(rolled, reference).await;
    let c = oracle::compare(&oracle::gpsd_epochs(&oracle::chk_of(&path)), &fixes);
    assert_eq!((c.matched, c.missing.len(), c.extra.len(), c.different.len()), (20, 0, 1, 0), "{c:?}");
    // The first epoch (a GLL, no date yet) is dated from the host clock and not checked; every
    // fix with the receiver's date was corrected.
    let dated = receiver_dated(&fixes);
    assert_eq!((fixes.len(), dated.len()), (21, 20));
    assert!(dated.iter().all(|f| f.week_rollover_corrected));
    assert!(fixes.iter().filter(|f| f.date_from_host_clock).all(|f| !f.week_rollover_corrected));
    assert_eq!(stats.week_rollover_corrected.load(Ordering::Relaxed), 20);
}

/// The retained status the agent left on the broker.
async fn retained_status(port: u16) -> serde_json::Value {
    let mut options =
        MqttOptions::new(format!("status-reader-{:08x}", rand::random::<u32>()), "127.0.0.1", port);
    options.set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut eventloop) = AsyncClient::new(options, 10);
    client.subscribe("convoy/v1/vehicles/truck-07/status", QoS::AtLeastOnce).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert!(Instant::now() < deadline, "no retained status");
        match tokio::time::timeout(Duration::from_secs(10), eventloop.poll()).await {
            Ok(Ok(Event::Incoming(Packet::Publish(publish)))) => {
                return serde_json::from_slice(&publish.payload).unwrap();
            }
            Ok(Ok(_)) => {}
            Ok(Err(_)) => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(_) => panic!("no retained status"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_agent_publishes_a_rolled_over_receivers_fixes_with_their_true_dates_signed() {
    let path = log("gp-320fw-2019-04-06-overflow.log");
    let original = std::fs::read(&path).unwrap();
    // The receiver-dated times of the original log, which gpsd's output confirms.
    let expected: Vec<DateTime<Utc>> =
        receiver_dated(&oracle::agent_fixes(&original, Utc::now())).iter().map(|f| f.t).collect();
    assert_eq!(expected.len(), 20);
    assert!(gpsd_times(&path).iter().all(|t| expected.contains(t)));
    let mosquitto = Mosquitto::start();
    let collected = support::collect(mosquitto.port).await;
    let pty = support::pty();
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("vehicle.key");
    let keygen = std::process::Command::new(env!("CARGO_BIN_EXE_convoy-agent"))
        .arg("keygen")
        .arg("--key-file")
        .arg(&key_file)
        .output()
        .unwrap();
    assert!(keygen.status.success());
    let stdout = String::from_utf8_lossy(&keygen.stdout);
    let public = stdout.lines().find_map(|l| l.strip_prefix("public key: ")).unwrap();
    let public = convoy_core::signing::PublicKey::parse(public).unwrap();
    let flags = [
        "--time-reference".as_ref(),
        "2019-04-06T12:00:00Z".as_ref(),
        "--signing-key-file".as_ref(),
        key_file.as_os_str(),
    ];
    let mut agent = support::start_agent(&pty.path, mosquitto.port, &dir.path().join("state"), &flags);
    let mut master = pty.master.try_clone().unwrap();
    let rolled = rolled_back(&original);
    std::thread::spawn(move || std::io::Write::write_all(&mut master, &rolled).unwrap()).join().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while collected.len() < 21 {
        assert!(Instant::now() < deadline, "the agent published {} fixes", collected.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(agent.id() as i32), nix::sys::signal::Signal::SIGINT)
        .unwrap();
    assert!(agent.wait().unwrap().success());

    let published: Vec<DateTime<Utc>> = collected.by_seq.lock().unwrap().values().map(|(p, _)| p.t).collect();
    // The first fix (a GLL before any date) is dated from the host clock; then the receiver's.
    assert_eq!(published.len(), 21);
    assert_eq!(published[1..], expected[..], "the true dates, as in the original log");
    assert_eq!(published[20], at("2019-04-06T23:57:43.020Z"));
    // The signatures cover the corrected times.
    let truck = convoy_core::VehicleId::new("truck-07").unwrap();
    for batch in collected.batches.lock().unwrap().iter() {
        let signed = batch.signed.expect("signed");
        assert_eq!(signed.head(&truck, &batch.positions).unwrap().verify(&public), Ok(()));
    }
    let status = retained_status(mosquitto.port).await;
    assert_eq!(status["state"], "offline", "{status}");
    assert_eq!(status["week_rollover_corrected"], 20, "{status}");
    assert_eq!(status["implausible_dates"], 0, "{status}");
}
