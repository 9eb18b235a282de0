//! The agent's spool holds every position the vehicle drove: the real `convoy-agent`, started
//! under the common umask 022, creates its state and spool directories 0700 and its files
//! (spool segments, the seq floor) 0600. The metrics file stays readable by node_exporter.

mod support;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use convoy_agent::nmea_writer::{epoch_sentences, SimFix};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn the_agent_keeps_its_spool_for_its_user_only() {
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o022));
    let mut pty = support::pty();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let metrics = dir.path().join("agent.prom");
    // No broker listens there: fixes stay in the spool.
    let port = convoy_testkit::free_port();
    let config = dir.path().join("agent.toml");
    std::fs::write(&config, format!("metrics_file = {:?}\n", metrics.display().to_string())).unwrap();
    let mut agent = support::start_agent(&pty.path, port, &state, &["--config".as_ref(), config.as_os_str()]);

    let spool = state.join("spool");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut i = 0;
    let segments = loop {
        let fix = SimFix {
            t: Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap() + chrono::Duration::seconds(i),
            lat: 48.1 + i as f64 * 1e-4,
            lon: 11.5,
            alt_m: 520.0,
            speed_mps: 11.0,
            course_deg: 0.0,
            sats: 10,
            hdop: 0.8,
        };
        pty.master.write_all(epoch_sentences(&fix).as_bytes()).unwrap();
        i += 1;
        std::thread::sleep(Duration::from_millis(100));
        let segments: Vec<_> = std::fs::read_dir(&spool)
            .map(|entries| entries.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        let spooled = segments
            .iter()
            .any(|p| p.extension().is_some_and(|x| x == "seg") && std::fs::metadata(p).unwrap().len() > 0);
        if spooled && state.join("seq").exists() && metrics.exists() {
            break segments;
        }
        assert!(Instant::now() < deadline, "no fix spooled in {}", spool.display());
    };
    agent.kill().unwrap();
    agent.wait().unwrap();

    assert_eq!((mode(&state), mode(&spool)), (0o700, 0o700), "the state and spool directories");
    for path in segments.iter().chain([&state.join("seq")]) {
        assert_eq!(mode(path), 0o600, "{}", path.display());
    }
    assert_eq!(mode(&metrics), 0o644, "counters only, for node_exporter's user");
}
