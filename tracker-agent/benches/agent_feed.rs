//! CPU time and peak memory of the real `convoy-agent` binary fed 10 Hz NMEA through a
//! pseudo-terminal, publishing to Mosquitto, side by side with gpsd decoding the same feed.
//!
//!     cargo bench -p convoy-agent --bench agent_feed -- [--seconds N] [--fast]
//!
//! `--seconds N`: receiver time fed, at 10 epochs a second (default 3600: an hour).
//! `--fast`: feed as fast as the agent reads, instead of at the receiver's real rate.
//! `--fsync always|interval|never`: the spool's sync policy (default always; interval = 1 s).
//! `--key`: sign every batch (a key made with `convoy-agent keygen`), to compare with unsigned.
//! gpsd (Debian's package, if installed) reads the same bytes from a terminal of its own.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use convoy_agent::nmea_writer::{epoch_sentences, SimFix};

#[path = "../tests/support/mod.rs"]
mod support;

use support::pty;

const HZ: u64 = 10;

fn epoch(i: u64) -> SimFix {
    SimFix {
        t: Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap()
            + chrono::Duration::milliseconds((i * 1000 / HZ) as i64),
        lat: 48.1 + (i as f64 * 1e-6).sin() * 0.01,
        lon: 11.5 + (i as f64 * 1e-6).cos() * 0.01,
        alt_m: 520.0,
        speed_mps: 13.9,
        course_deg: (i % 360) as f64,
        sats: 12,
        hdop: 0.7,
    }
}

/// CPU seconds (user + system) and peak resident memory (MiB) of a running process.
fn usage(pid: u32) -> (f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).unwrap().unwrap_or(100) as f64;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let hwm_kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    (ticks / hz, hwm_kib / 1024.0)
}

fn start_agent(serial: &Path, port: u16, state: &Path, fsync: &str, signed: bool) -> Child {
    let config = state.join("agent.toml");
    let mut text = format!(
        "serial = {serial:?}\nvehicle = \"bench-1\"\nbroker = \"mqtt://127.0.0.1:{port}\"\nspool = {:?}\nfsync = {fsync:?}\nfsync_interval_ms = 1000\n",
        state.join("state")
    );
    if signed {
        let key_file = state.join("vehicle.key");
        let made = Command::new(env!("CARGO_BIN_EXE_convoy-agent"))
            .arg("keygen")
            .arg("--key-file")
            .arg(&key_file)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(made.success(), "keygen failed");
        text.push_str(&format!("signing_key_file = {key_file:?}\n"));
    }
    std::fs::write(&config, text).unwrap();
    Command::new(env!("CARGO_BIN_EXE_convoy-agent"))
        .arg("--config")
        .arg(&config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

fn start_gpsd(serial: &Path) -> Option<Child> {
    let gpsd = ["/usr/sbin/gpsd", "/usr/bin/gpsd"].into_iter().find(|p| Path::new(p).exists())?;
    let port = convoy_testkit::free_port();
    Command::new(gpsd)
        .args(["-N", "-n", "-b", "-S", &port.to_string()])
        .arg(serial)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let fast = args.iter().any(|a| a == "--fast");
    let seconds: u64 = args
        .iter()
        .position(|a| a == "--seconds")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(3600);
    let epochs = seconds * HZ;

    let broker = convoy_testkit::Mosquitto::start();
    let state = tempfile::tempdir().unwrap();
    let agent_pty = pty();
    let gpsd_pty = pty();
    let fsync = args
        .iter()
        .position(|a| a == "--fsync")
        .and_then(|i| args.get(i + 1))
        .map_or("always", String::as_str);
    let signed = args.iter().any(|a| a == "--key");
    let mut agent = start_agent(&agent_pty.path, broker.port, state.path(), fsync, signed);
    let mut gpsd = start_gpsd(&gpsd_pty.path);
    std::thread::sleep(Duration::from_millis(500));
    let (agent_cpu_before, _) = usage(agent.id());
    let gpsd_cpu_before = gpsd.as_ref().map(|g| usage(g.id()).0);

    println!(
        "feeding {epochs} epochs ({seconds} s of receiver time at {HZ} Hz) {}",
        if fast { "as fast as possible" } else { "at the real rate" }
    );
    let started = Instant::now();
    let feed = |mut out: std::fs::File| {
        move || {
            for i in 0..epochs {
                out.write_all(epoch_sentences(&epoch(i)).as_bytes()).unwrap();
                if !fast {
                    let due = started + Duration::from_millis((i + 1) * 1000 / HZ);
                    std::thread::sleep(due.saturating_duration_since(Instant::now()));
                }
            }
            started.elapsed()
        }
    };
    let agent_feed = std::thread::spawn(feed(agent_pty.master.try_clone().unwrap()));
    let gpsd_feed = gpsd.is_some().then(|| std::thread::spawn(feed(gpsd_pty.master.try_clone().unwrap())));
    let agent_fed = agent_feed.join().unwrap();
    let gpsd_fed = gpsd_feed.map(|f| f.join().unwrap());
    println!(
        "fed in {:.1} s to the agent ({:.0} epochs/s){}",
        agent_fed.as_secs_f64(),
        epochs as f64 / agent_fed.as_secs_f64(),
        gpsd_fed.map_or(String::new(), |g| format!(
            ", {:.1} s to gpsd ({:.0} epochs/s)",
            g.as_secs_f64(),
            epochs as f64 / g.as_secs_f64()
        ))
    );
    // Let both finish what is buffered, then read their totals.
    std::thread::sleep(Duration::from_secs(2));
    let wall = started.elapsed().as_secs_f64();
    let (agent_cpu, agent_peak) = usage(agent.id());
    let agent_cpu = agent_cpu - agent_cpu_before;
    println!("| program | receiver time | wall time | CPU time | CPU of one core | peak resident |");
    println!("|---|---:|---:|---:|---:|---:|");
    println!(
        "| convoy-agent (decode, spool with fsync = {fsync}, publish{}) | {seconds} s | {wall:.1} s | {agent_cpu:.2} s | {:.2} % | {agent_peak:.1} MiB |",
        if signed { ", sign" } else { "" },
        100.0 * agent_cpu / wall
    );
    if let (Some(g), Some(before)) = (&gpsd, gpsd_cpu_before) {
        let (cpu, peak) = usage(g.id());
        let cpu = cpu - before;
        println!("| gpsd 3.22 (decode only, no client) | {seconds} s | {wall:.1} s | {cpu:.2} s | {:.2} % | {peak:.1} MiB |", 100.0 * cpu / wall);
    } else {
        println!("(gpsd is not installed: apt-get install gpsd to compare)");
    }
    agent.kill().unwrap();
    agent.wait().unwrap();
    if let Some(g) = &mut gpsd {
        g.kill().unwrap();
        g.wait().unwrap();
    }
}
