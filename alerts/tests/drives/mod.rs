//! Real drives for scenario tests of the rule engine: loading recordings from `data/`, and
//! changing them at a known place and time (a detour, a halt, a data cut, GPS jitter).
//!
//! A drive is a list of [`Fix`]es in time order. Speeds come from the recording when it has
//! them (NMEA RMC), else from consecutive points (distance over time to the previous fix).
//! Every manipulation keeps the vehicle plausible: no position jumps, speeds a car can reach.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use convoy_core::geometry::distance_m;
use convoy_core::{FixMode, Position};
use geo::Point;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// One fix of a drive.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fix {
    pub t: DateTime<Utc>,
    pub lat: f64,
    pub lon: f64,
    pub speed_mps: f64,
}

impl Fix {
    pub fn point(&self) -> Point {
        Point::new(self.lon, self.lat)
    }
}

/// A file under the workspace's `data/` folder.
pub fn data_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data").join(relative)
}

fn read(relative: &str) -> String {
    let path = data_path(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Seconds from `a` to `b`.
pub fn seconds(a: DateTime<Utc>, b: DateTime<Utc>) -> f64 {
    (b - a).num_milliseconds() as f64 / 1000.0
}

pub fn secs(s: i64) -> Duration {
    Duration::seconds(s)
}

// ---------------------------------------------------------------------------------------------
// Loading

/// A barefoot track (`data/drives/barefoot/*.json`): a JSON list of
/// `{"point":"POINT(lon lat)","time":"2014-09-10 06:54:07+0200"}`. It has no speeds.
pub fn load_barefoot(relative: &str) -> Vec<Fix> {
    let list: Vec<serde_json::Value> = serde_json::from_str(&read(relative)).unwrap();
    let mut fixes: Vec<Fix> = list
        .iter()
        .map(|item| {
            let point = item["point"].as_str().unwrap();
            let inner = point.strip_prefix("POINT(").and_then(|p| p.strip_suffix(')')).unwrap();
            let (lon, lat) = inner.split_once(' ').unwrap();
            let time = item["time"].as_str().unwrap();
            let t = DateTime::parse_from_str(time, "%Y-%m-%d %H:%M:%S%z").unwrap().with_timezone(&Utc);
            Fix { t, lat: lat.parse().unwrap(), lon: lon.parse().unwrap(), speed_mps: 0.0 }
        })
        .collect();
    in_time_order(&mut fixes);
    speeds_from_points(&mut fixes);
    fixes
}

/// The track points of a GPX file (`<trkpt lat=".." lon=".."> ... <time>..</time>`). GPX has no
/// speeds.
pub fn load_gpx(relative: &str) -> Vec<Fix> {
    let text = read(relative);
    let mut fixes = Vec::new();
    for block in text.split("<trkpt").skip(1) {
        let block = &block[..block.find("</trkpt>").unwrap()];
        let attribute = |name: &str| -> f64 {
            let key = format!(" {name}=\"");
            let start = block.find(&key).unwrap() + key.len();
            block[start..start + block[start..].find('"').unwrap()].parse().unwrap()
        };
        let start = block.find("<time>").unwrap() + "<time>".len();
        let time = &block[start..start + block[start..].find("</time>").unwrap()];
        let t = DateTime::parse_from_rfc3339(time).unwrap().with_timezone(&Utc);
        fixes.push(Fix { t, lat: attribute("lat"), lon: attribute("lon"), speed_mps: 0.0 });
    }
    in_time_order(&mut fixes);
    speeds_from_points(&mut fixes);
    fixes
}

/// The valid (`A`) RMC sentences of an NMEA log with a good checksum: time, date, position and
/// the receiver's speed over ground. Other lines are skipped.
pub fn load_nmea_rmc(relative: &str) -> Vec<Fix> {
    let text = read(relative);
    let mut fixes = Vec::new();
    for line in text.lines() {
        let Some(sentence) = line.trim().strip_prefix('$') else { continue };
        let Some((body, checksum)) = sentence.split_once('*') else { continue };
        let sum = body.bytes().fold(0u8, |acc, b| acc ^ b);
        if u8::from_str_radix(checksum.trim(), 16) != Ok(sum) {
            continue;
        }
        let f: Vec<&str> = body.split(',').collect();
        if f.len() < 10 || !f[0].ends_with("RMC") || f[2] != "A" {
            continue;
        }
        let time = NaiveTime::parse_from_str(f[1], "%H%M%S%.f").unwrap();
        let date = NaiveDate::parse_from_str(f[9], "%d%m%y").unwrap();
        let degrees = |value: &str, whole_digits: usize, hemisphere: &str| {
            let deg: f64 = value[..whole_digits].parse().unwrap();
            let min: f64 = value[whole_digits..].parse().unwrap();
            let sign = if hemisphere == "S" || hemisphere == "W" { -1.0 } else { 1.0 };
            sign * (deg + min / 60.0)
        };
        fixes.push(Fix {
            t: date.and_time(time).and_utc(),
            lat: degrees(f[3], 2, f[4]),
            lon: degrees(f[5], 3, f[6]),
            speed_mps: f[7].parse::<f64>().unwrap() * 1852.0 / 3600.0,
        });
    }
    in_time_order(&mut fixes);
    fixes
}

/// Sorts by time and keeps one fix per time.
fn in_time_order(fixes: &mut Vec<Fix>) {
    fixes.sort_by_key(|f| f.t);
    fixes.dedup_by_key(|f| f.t);
}

/// Sets each fix's speed to the distance from the previous fix over the time between them (the
/// first fix gets the second's).
fn speeds_from_points(fixes: &mut [Fix]) {
    for i in 1..fixes.len() {
        fixes[i].speed_mps = implied_speed_mps(&fixes[i - 1], &fixes[i]);
    }
    if fixes.len() > 1 {
        fixes[0].speed_mps = fixes[1].speed_mps;
    }
}

/// The speed needed to go from `a` to `b` in the time between them, in m/s.
pub fn implied_speed_mps(a: &Fix, b: &Fix) -> f64 {
    let dt = seconds(a.t, b.t);
    if dt > 0.0 {
        distance_m(a.point(), b.point()) / dt
    } else {
        0.0
    }
}

/// The highest speed implied by consecutive fixes, in m/s.
pub fn max_implied_speed_mps(fixes: &[Fix]) -> f64 {
    fixes.windows(2).map(|w| implied_speed_mps(&w[0], &w[1])).fold(0.0, f64::max)
}

/// The longest time the drive stays within `radius_m` of a point it stopped at: for each fix,
/// how long the following fixes stay within `radius_m` of it.
pub fn longest_stay_s(fixes: &[Fix], radius_m: f64) -> f64 {
    let mut longest: f64 = 0.0;
    for (i, start) in fixes.iter().enumerate() {
        let end = fixes[i..]
            .iter()
            .take_while(|f| distance_m(start.point(), f.point()) <= radius_m)
            .last()
            .unwrap_or(start);
        longest = longest.max(seconds(start.t, end.t));
    }
    longest
}

/// The first fix at or after `t`.
pub fn index_at(fixes: &[Fix], t: DateTime<Utc>) -> usize {
    fixes.partition_point(|f| f.t < t)
}

// ---------------------------------------------------------------------------------------------
// Local geometry

/// Metres per degree of latitude and of longitude at a latitude (WGS 84 radii of curvature).
fn metres_per_degree(lat: f64) -> (f64, f64) {
    const A: f64 = 6_378_137.0;
    const E2: f64 = 6.694_379_990_141_317e-3;
    let (sin, cos) = lat.to_radians().sin_cos();
    let w2 = 1.0 - E2 * sin * sin;
    let meridional = A * (1.0 - E2) / (w2 * w2.sqrt());
    let prime_vertical = A / w2.sqrt();
    (meridional.to_radians(), (prime_vertical * cos).to_radians())
}

/// `b` seen from `a`, in metres east and north.
pub fn east_north(a: &Fix, b: &Fix) -> (f64, f64) {
    let (m_lat, m_lon) = metres_per_degree(a.lat);
    ((b.lon - a.lon) * m_lon, (b.lat - a.lat) * m_lat)
}

/// `fix` moved `east_m` and `north_m` metres.
pub fn moved(fix: &Fix, east_m: f64, north_m: f64) -> Fix {
    let (m_lat, m_lon) = metres_per_degree(fix.lat);
    Fix { lat: fix.lat + north_m / m_lat, lon: fix.lon + east_m / m_lon, ..*fix }
}

// ---------------------------------------------------------------------------------------------
// Manipulations

/// Replaces the stretch from `from` to `to` with a detour `side_m` metres to the left of it
/// (right if negative): the vehicle leaves the road over `ramp_s` seconds, drives the stretch's
/// shape shifted sideways (perpendicular to the line from its start to its end), and comes back
/// over `ramp_s` seconds. Times are kept; the speeds of the changed fixes (and of the one after
/// them) become the speeds the new positions imply.
pub fn detour(fixes: &[Fix], from: DateTime<Utc>, to: DateTime<Utc>, side_m: f64, ramp_s: f64) -> Vec<Fix> {
    let a = index_at(fixes, from);
    let b = index_at(fixes, to + secs(1)) - 1;
    assert!(a < b && b < fixes.len(), "the detour needs fixes between {from} and {to}");
    let (east, north) = east_north(&fixes[a], &fixes[b]);
    let length = east.hypot(north);
    let (left_e, left_n) = (-north / length, east / length);
    let (t_a, t_b) = (fixes[a].t, fixes[b].t);
    let mut out = fixes.to_vec();
    for fix in &mut out[a..=b] {
        let weight = (seconds(t_a, fix.t).min(seconds(fix.t, t_b)) / ramp_s).clamp(0.0, 1.0);
        *fix = moved(fix, side_m * weight * left_e, side_m * weight * left_n);
    }
    for i in a..=(b + 1).min(out.len() - 1) {
        out[i].speed_mps = implied_speed_mps(&out[i - 1], &out[i]);
    }
    out
}

/// A normal random number (Box-Muller).
fn gauss(rng: &mut StdRng) -> f64 {
    let u: f64 = rng.gen_range(f64::EPSILON..1.0);
    let v: f64 = rng.gen_range(0.0..1.0);
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// Slowly wandering GPS error, metres east and north per fix: a first-order Gauss-Markov process
/// (correlation time `tau_s`, standard deviation `sigma_m` per axis), as receivers show.
fn wander(times: &[DateTime<Utc>], sigma_m: f64, tau_s: f64, rng: &mut StdRng) -> Vec<(f64, f64)> {
    let mut error = (sigma_m * gauss(rng), sigma_m * gauss(rng));
    let mut previous = times.first().copied();
    times
        .iter()
        .map(|&t| {
            let dt = previous.map_or(0.0, |p| seconds(p, t));
            previous = Some(t);
            let rho = (-dt / tau_s).exp();
            let step = sigma_m * (1.0 - rho * rho).sqrt();
            error = (rho * error.0 + step * gauss(rng), rho * error.1 + step * gauss(rng));
            error
        })
        .collect()
}

/// A halt of `duration` at the first fix at or after `at`: the vehicle stands there, its fixes
/// wandering a few metres (the receiver's drift) with small speeds, at the drive's sampling
/// interval there; the fixes after the halt come `duration` later. Returns the drive and when
/// the halt began and ended.
pub fn insert_halt(
    fixes: &[Fix],
    at: DateTime<Utc>,
    duration: Duration,
    seed: u64,
) -> (Vec<Fix>, DateTime<Utc>, DateTime<Utc>) {
    let i = index_at(fixes, at);
    assert!(i + 1 < fixes.len(), "no fix after {at}");
    let halt = fixes[i];
    let interval = fixes[i + 1].t - halt.t;
    let count = duration.num_milliseconds() / interval.num_milliseconds();
    let times: Vec<_> = (1..=count).map(|k| halt.t + interval * k as i32).collect();
    let mut rng = StdRng::seed_from_u64(seed);
    let drift = wander(&times, 2.5, 60.0, &mut rng);
    let mut out = fixes[..=i].to_vec();
    for (&t, &(east, north)) in times.iter().zip(&drift) {
        let speed_mps = (0.15 * gauss(&mut rng)).abs().min(0.8);
        out.push(Fix { t, speed_mps, ..moved(&halt, east, north) });
    }
    out.extend(fixes[i + 1..].iter().map(|f| Fix { t: f.t + duration, ..*f }));
    (out, halt.t, halt.t + duration)
}

/// The drive without its fixes from `from` for `duration` (the receiver or the link was dead).
pub fn cut(fixes: &[Fix], from: DateTime<Utc>, duration: Duration) -> Vec<Fix> {
    fixes.iter().filter(|f| f.t < from || f.t >= from + duration).copied().collect()
}

/// The drive with GPS error added: a wander of `sigma_m` metres per axis (correlation time
/// 20 s). Speeds are kept: a receiver measures speed from Doppler, not from its positions.
pub fn jitter(fixes: &[Fix], sigma_m: f64, seed: u64) -> Vec<Fix> {
    let mut rng = StdRng::seed_from_u64(seed);
    let times: Vec<_> = fixes.iter().map(|f| f.t).collect();
    let errors = wander(&times, sigma_m, 20.0, &mut rng);
    fixes.iter().zip(errors).map(|(f, (east, north))| moved(f, east, north)).collect()
}

/// The fixes as the agent publishes them: `seq` rising by one from 1, speed included.
pub fn positions(fixes: &[Fix]) -> Vec<Position> {
    fixes
        .iter()
        .enumerate()
        .map(|(i, f)| Position {
            seq: i as u64 + 1,
            t: f.t,
            lat: f.lat,
            lon: f.lon,
            alt_m: None,
            speed_mps: Some(f.speed_mps),
            course_deg: None,
            fix: Some(FixMode::ThreeD),
            sats: None,
            hdop: None,
            accuracy_m: None,
        })
        .collect()
}

/// The same positions without speeds (a receiver that reports none): the engine derives them.
pub fn without_speeds(positions: &[Position]) -> Vec<Position> {
    positions.iter().map(|p| Position { speed_mps: None, ..p.clone() }).collect()
}
