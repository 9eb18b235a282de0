//! gpsd as the oracle: what gpsd decoded from a receiver log (its `.chk` output), and how the
//! agent's fixes compare with it.

#![allow(dead_code)] // shared by the oracle test and the table example

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveTime, Timelike, Utc};
use convoy_agent::decoder::Decoder;
use convoy_agent::epoch::{Epoch, Fix};

/// Logs whose differences from gpsd we keep on purpose: (log, missing, extra, different, why).
#[rustfmt::skip]
pub const KEPT_DIFFERENCES: &[(&str, usize, usize, usize, &str)] = &[
    ("gpsd/GPSmap-76S.log", 1, 0, 0, "receiver in simulator mode (GGA quality 8): not a real position"),
    ("gpsd/ait250.log", 0, 1, 0, "last epoch of the log: gpsd reports an epoch when the next one starts"),
    ("gpsd/bundg_zeus_9.log", 0, 1, 38, "marine multiplexer: GLL repeats the previous GGA with the next second's time"),
    ("gpsd/ch-4701.log", 0, 1, 0, "last epoch of the log"),
    ("gpsd/ericsson-gru04-02-70sec.log", 0, 0, 2, "gpsd takes a proprietary averaged position ($PERC,GPavp)"),
    ("gpsd/foretrex-201.log", 0, 1, 0, "last epoch of the log"),
    ("gpsd/garmin48.log", 0, 6, 0, "GLL on odd seconds, GGA/RMC on even ones: gpsd reports only at its cycle end"),
    ("gpsd/gp-320fw-2019-03-28.log", 0, 1, 0, "last epoch of the log"),
    ("gpsd/gp-320fw-2019-04-06-overflow.log", 0, 1, 0, "last epoch of the log"),
    ("gpsd/gps-360.log", 0, 1, 0, "last epoch of the log"),
    ("gpsd/mixed-binary/ac12_binary.log", 0, 1, 0, "last epoch of the log"),
    ("gpsd/mixed-binary/ublox8-uniqid-monhw.log", 2, 0, 0, "the log copy ends before the last two epochs in gpsd's output"),
    ("gpsd/myguide-3100.log", 2, 0, 0, "GGA with empty quality, then RMC V and GSA 1: the receiver says no fix"),
    ("gpsd/pharos-360.log", 0, 1, 0, "last epoch of the log"),
    ("gpsd/tcp-torture.log", 0, 0, 1, "gpsd moves a 2007 date 1024 weeks ahead (GPS week rollover guess); compared with time_reference off, the agent keeps the receiver's date (week_rollover.rs: against its build floor it makes gpsd's correction)"),
    ("gpsd/tn204.log", 0, 1, 0, "last epoch of the log"),
    ("gpsd/tr737A+.log", 1, 0, 0, "GGA quality 0 and RMC V: gpsd carries the previous fix forward"),
    ("gpsd/ublox-lea-4s.log", 0, 1, 0, "last epoch of the log"),
    ("gpsd/ublox-lea-5h.log", 0, 1, 0, "last epoch of the log"),
    ("gpsd/venus634lp.log", 0, 1, 0, "last epoch of the log"),
];

/// One epoch gpsd reported with a 2D or 3D fix.
#[derive(Clone, Debug)]
pub struct OracleEpoch {
    /// UTC time of day of the fix, from gpsd's time or, when gpsd gives none (it has no date
    /// yet), from the sentence that made gpsd report.
    pub time_of_day: NaiveTime,
    /// gpsd's full time, when it gave one.
    pub t: Option<DateTime<Utc>>,
    /// gpsd's last position for the epoch.
    pub lat: f64,
    pub lon: f64,
}

/// The test data folder of the project.
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/nmea")
}

/// Every gpsd log with its `.chk`, sorted by name.
pub fn gpsd_logs() -> Vec<PathBuf> {
    let mut logs = Vec::new();
    for dir in [data_dir().join("gpsd"), data_dir().join("gpsd/mixed-binary")] {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "log") && chk_of(&path).exists() {
                logs.push(path);
            }
        }
    }
    logs.sort();
    logs
}

pub fn chk_of(log: &Path) -> PathBuf {
    let mut chk = log.as_os_str().to_owned();
    chk.push(".chk");
    PathBuf::from(chk)
}

/// The time-of-day field of a sentence, if its type has one.
fn sentence_time(sentence: &str) -> Option<NaiveTime> {
    let fields: Vec<&str> = sentence.split(['*']).next()?.split(',').collect();
    let kind = fields.first()?.get(3..)?;
    let field = match kind {
        "GGA" | "RMC" | "GNS" | "ZDA" | "GBS" | "GST" => fields.get(1)?,
        "GLL" => fields.get(5)?,
        _ => return None,
    };
    NaiveTime::parse_from_str(field, "%H%M%S%.f").ok()
}

/// The epochs with a fix that gpsd reported, in order, once each.
pub fn gpsd_epochs(chk: &Path) -> Vec<OracleEpoch> {
    let text = std::fs::read(chk).unwrap();
    let text = String::from_utf8_lossy(&text);
    let mut epochs: Vec<OracleEpoch> = Vec::new();
    let mut last_sentence_time = None;
    for line in text.lines() {
        if line.starts_with('$') || line.starts_with('!') {
            if let Some(t) = sentence_time(line) {
                last_sentence_time = Some(t);
            }
            continue;
        }
        if !line.starts_with("{\"class\":\"TPV\"") {
            continue;
        }
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        if v["mode"].as_u64().unwrap_or(0) < 2 {
            continue;
        }
        let (Some(lat), Some(lon)) = (v["lat"].as_f64(), v["lon"].as_f64()) else { continue };
        let t = v["time"]
            .as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc));
        let Some(time_of_day) = t.map(|t| t.time()).or(last_sentence_time) else { continue };
        match epochs.last_mut() {
            Some(last) if last.time_of_day == time_of_day => {
                last.lat = lat;
                last.lon = lon;
                last.t = t.or(last.t);
            }
            _ => epochs.push(OracleEpoch { time_of_day, t, lat, lon }),
        }
    }
    epochs
}

/// Runs a log's bytes through the agent's decoder, as if they came from the serial port, with
/// the host clock at `now` (for receivers that send no date).
pub fn agent_fixes(bytes: &[u8], now: DateTime<Utc>) -> Vec<Fix> {
    let mut decoder = Decoder::new();
    let mut fixes = Vec::new();
    let mut collect = |epoch| {
        if let Epoch::Fix(fix) = epoch {
            fixes.push(fix);
        }
    };
    decoder.push(bytes, now, &mut collect);
    if let Some(epoch) = decoder.flush(now) {
        collect(epoch);
    }
    fixes
}

/// How the agent's fixes compare with gpsd's epochs.
#[derive(Debug, Default)]
pub struct Comparison {
    pub epochs: usize,
    pub matched: usize,
    /// gpsd epochs the agent gave no fix for.
    pub missing: Vec<String>,
    /// Agent fixes at a time gpsd reported no fix for.
    pub extra: Vec<String>,
    /// Same epoch, another time or position.
    pub different: Vec<String>,
}

fn same_time_of_day(a: NaiveTime, b: NaiveTime) -> bool {
    a.num_seconds_from_midnight() == b.num_seconds_from_midnight()
        && a.nanosecond() / 1_000_000 == b.nanosecond() / 1_000_000
}

pub fn compare(oracle: &[OracleEpoch], fixes: &[Fix]) -> Comparison {
    let mut c = Comparison { epochs: oracle.len(), ..Default::default() };
    let mut used = vec![false; fixes.len()];
    for epoch in oracle {
        let found = fixes
            .iter()
            .enumerate()
            .find(|(i, f)| !used[*i] && same_time_of_day(f.t.time(), epoch.time_of_day));
        match found {
            None => c.missing.push(format!("{}", epoch.time_of_day)),
            Some((i, fix)) => {
                used[i] = true;
                let position_ok = (fix.lat - epoch.lat).abs() <= 1e-6 && (fix.lon - epoch.lon).abs() <= 1e-6;
                let time_ok = epoch.t.is_none_or(|t| t == fix.t);
                if position_ok && time_ok {
                    c.matched += 1;
                } else {
                    c.different.push(format!(
                        "{}: agent {} {:.9},{:.9} gpsd {:?} {:.9},{:.9}",
                        epoch.time_of_day, fix.t, fix.lat, fix.lon, epoch.t, epoch.lat, epoch.lon
                    ));
                }
            }
        }
    }
    for (fix, used) in fixes.iter().zip(used) {
        if !used {
            c.extra.push(format!("{} {:.7},{:.7}", fix.t, fix.lat, fix.lon));
        }
    }
    c
}
