//! gpsd is the oracle: every receiver log of gpsd's regression suite goes byte for byte through
//! a pseudo-terminal into the agent's serial reader, and the fixes that come out are compared
//! with what gpsd decoded from the same log. A log matches exactly unless it is listed in
//! `oracle::KEPT_DIFFERENCES` with the reason (docs/NMEA-ORACLE.md has the table).

mod oracle;
mod support;

use std::sync::Arc;

use convoy_agent::epoch::Fix;
use convoy_agent::rollover::TimeReference;

/// Writes a log into a pseudo-terminal and collects what the agent's serial reader makes of it:
/// dates as the receiver gives them (gpsd's output is compared; the week rollover check has its
/// own test, week_rollover.rs).
async fn through_the_serial_reader(bytes: Vec<u8>) -> Vec<Fix> {
    support::through_the_serial_reader(bytes, TimeReference::Off).await.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_gpsd_log_decodes_as_gpsd_decodes_it_through_a_serial_port() {
    let logs = oracle::gpsd_logs();
    assert!(logs.len() >= 80, "found only {} logs", logs.len());
    let mut runs = tokio::task::JoinSet::new();
    let limit = Arc::new(tokio::sync::Semaphore::new(8));
    for log in logs {
        let limit = limit.clone();
        runs.spawn(async move {
            let _slot = limit.acquire().await.unwrap();
            let fixes = through_the_serial_reader(std::fs::read(&log).unwrap()).await;
            (log, fixes)
        });
    }
    let mut failures = Vec::new();
    let (mut epochs, mut matched) = (0, 0);
    while let Some(run) = runs.join_next().await {
        let (log, fixes) = run.unwrap();
        let name = log.strip_prefix(oracle::data_dir()).unwrap().display().to_string();
        let c = oracle::compare(&oracle::gpsd_epochs(&oracle::chk_of(&log)), &fixes);
        epochs += c.epochs;
        matched += c.matched;
        let kept =
            oracle::KEPT_DIFFERENCES.iter().find(|k| k.0 == name).map_or((0, 0, 0), |k| (k.1, k.2, k.3));
        let got = (c.missing.len(), c.extra.len(), c.different.len());
        if got != kept {
            failures.push(format!(
                "{name}: (missing, extra, different) = {got:?}, expected {kept:?}\n  missing {:?}\n  extra {:?}\n  different {:?}",
                c.missing, c.extra, c.different
            ));
        }
    }
    assert!(failures.is_empty(), "{} logs differ from gpsd:\n{}", failures.len(), failures.join("\n"));
    assert!(matched * 100 >= epochs * 97, "matched {matched} of {epochs} epochs");
}

/// Three hours of a real car drive (Garmin, 2 s epochs near Reno and Lake Tahoe): it crosses
/// UTC midnight and has a 21-minute gap where the logger was restarted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_hour_drive_across_midnight_and_a_logger_restart_comes_out_whole() {
    let path = oracle::data_dir().join("dotmorten-nmeaparser/NmeaSampleData.txt");
    let bytes = std::fs::read(&path).unwrap();
    // The receiver's own count: one RMC with status A per epoch.
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let rmc: Vec<&str> =
        text.lines().filter(|l| l.starts_with("$GPRMC,") && l.split(',').nth(2) == Some("A")).collect();
    assert_eq!(rmc.len(), 4469);

    let fixes = through_the_serial_reader(bytes).await;
    assert_eq!(fixes.len(), rmc.len(), "one fix per epoch");
    assert!(fixes.iter().all(|f| !f.date_from_host_clock), "every date is the receiver's");
    let at = |text: &str| chrono::DateTime::parse_from_rfc3339(text).unwrap().to_utc();
    assert_eq!(fixes[0].t, at("2005-09-25T23:52:34Z"));
    assert!((fixes[0].lat - (39.0 + 25.9702 / 60.0)).abs() < 1e-9);
    assert!((fixes[0].lon + (119.0 + 45.9354 / 60.0)).abs() < 1e-9);
    assert_eq!(fixes.last().unwrap().t, at("2005-09-26T02:56:32Z"));
    assert!(fixes.windows(2).all(|w| w[0].t < w[1].t), "fix times only rise, across midnight too");
    // Each fix has its RMC's time and date, the midnight crossing and the gaps included.
    for (fix, rmc) in fixes.iter().zip(&rmc) {
        let fields: Vec<&str> = rmc.split(',').collect();
        assert_eq!(
            fix.t.format("%H%M%S %d%m%y").to_string(),
            format!("{} {}", fields[1], fields[9]),
            "{rmc}"
        );
    }
    let restart = fixes
        .windows(2)
        .find(|w| w[0].t == at("2005-09-26T01:27:40Z"))
        .expect("the last fix before the restart");
    assert_eq!(restart[1].t, at("2005-09-26T01:48:30Z"), "the logger restart is a gap, not a jump in dates");
}
