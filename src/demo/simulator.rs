//! A simulated GNSS receiver: drives a real recorded route and writes its NMEA, once per
//! second at the current time, into a pseudo-terminal.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::{DurationRound, Utc};
use geo::{Bearing, Distance, Geodesic, Point};

use convoy_agent::nmea_writer::{epoch_sentences, SimFix};

/// The demo's road: a real 20-minute drive through Munich at 1 Hz (BMW Car IT's barefoot test
/// data, Apache-2.0; see data/drives/barefoot).
const MUNICH_DRIVE: &str = include_str!("../../data/drives/barefoot/x0001-001.json");

/// A route as one point per second of driving.
#[derive(Clone, Debug)]
pub struct Route {
    points: Vec<Point>,
}

impl Route {
    pub fn munich() -> anyhow::Result<Self> {
        Self::from_barefoot_json(MUNICH_DRIVE)
    }

    /// The route's points, one a second of driving.
    pub fn points(&self) -> &[Point] {
        &self.points
    }

    /// Reads barefoot's `[{"point":"POINT(lon lat)", ...}]`.
    pub fn from_barefoot_json(text: &str) -> anyhow::Result<Self> {
        #[derive(serde::Deserialize)]
        struct Sample {
            point: String,
        }
        let samples: Vec<Sample> = serde_json::from_str(text).context("parsing the drive")?;
        let points = samples
            .iter()
            .map(|s| {
                let inner = s.point.strip_prefix("POINT(").and_then(|p| p.strip_suffix(')'));
                let mut numbers = inner.into_iter().flat_map(|p| p.split(' ')).map(str::parse::<f64>);
                match (numbers.next(), numbers.next()) {
                    (Some(Ok(lon)), Some(Ok(lat))) => Ok(Point::new(lon, lat)),
                    _ => anyhow::bail!("bad point {:?}", s.point),
                }
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        anyhow::ensure!(points.len() >= 2, "a route needs at least two points");
        Ok(Self { points: without_jumps(points) })
    }

    /// Where the vehicle is `seconds` into the drive, between the recorded points (so fixes
    /// faster than one a second move smoothly).
    pub(crate) fn at_time(&self, seconds: f64) -> Point {
        let whole = seconds.max(0.0).floor();
        let fraction = seconds.max(0.0) - whole;
        let (here, _) = self.at(whole as u64);
        let (next, _) = self.at(whole as u64 + 1);
        Point::new(here.x() + (next.x() - here.x()) * fraction, here.y() + (next.y() - here.y()) * fraction)
    }

    /// Where the vehicle is `second` seconds into an endless back-and-forth drive, and the
    /// point it comes from.
    pub(crate) fn at(&self, second: u64) -> (Point, Point) {
        let n = self.points.len() as u64;
        let period = 2 * (n - 1);
        let index = |s: u64| {
            let phase = s % period;
            (if phase < n { phase } else { period - phase }) as usize
        };
        let previous = index(second.wrapping_add(period - 1));
        (self.points[index(second)], self.points[previous])
    }
}

/// The fastest the simulated vehicles drive, in metres per second (108 km/h).
const MAX_STEP_M: f64 = 30.0;

/// The points with steps longer than [`MAX_STEP_M`] filled in, so a gap in the recording (the
/// Munich drive has one of 468 m between two seconds) is driven through, not jumped.
fn without_jumps(points: Vec<Point>) -> Vec<Point> {
    let mut out = vec![points[0]];
    for pair in points.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let steps = (Geodesic.distance(a, b) / MAX_STEP_M).ceil().max(1.0) as usize;
        for step in 1..=steps {
            let f = step as f64 / steps as f64;
            out.push(Point::new(a.x() + (b.x() - a.x()) * f, a.y() + (b.y() - a.y()) * f));
        }
    }
    out
}

/// Writes one epoch per second into `out` until `stop` is set. `offset_s` places this vehicle
/// further along the route than the others.
pub fn drive(route: Route, offset_s: u64, mut out: impl Write, stop: Arc<AtomicBool>) {
    let mut second = offset_s;
    while !stop.load(Ordering::Relaxed) {
        let now = Utc::now();
        let t = now.duration_trunc(chrono::Duration::seconds(1)).unwrap_or(now);
        let (here, previous) = route.at(second);
        let speed_mps = Geodesic.distance(previous, here);
        let course = if speed_mps > 0.1 { Geodesic.bearing(previous, here).rem_euclid(360.0) } else { 0.0 };
        let fix = SimFix {
            t,
            lat: here.y(),
            lon: here.x(),
            alt_m: 519.0,
            speed_mps,
            course_deg: course,
            sats: 9,
            hdop: 0.9,
        };
        if let Err(e) = out.write_all(epoch_sentences(&fix).as_bytes()) {
            tracing::warn!(error = %e, "simulated receiver cannot write");
        }
        second += 1;
        // Sleep to the next whole second, as a receiver's epochs are.
        let into_second = Utc::now() - t;
        let wait = chrono::Duration::seconds(1) - into_second;
        std::thread::sleep(wait.to_std().unwrap_or(Duration::from_millis(1000)).min(Duration::from_secs(1)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_munich_drive_loads_and_goes_back_and_forth() {
        let route = Route::munich().unwrap();
        // 1,194 recorded points, and those filled into steps over 30 m (the 468 m gap, a few more).
        assert_eq!(route.points.len(), 1228);
        let n = route.points.len() as u64;
        assert_eq!(route.at(0).0, route.points[0]);
        assert_eq!(route.at(n - 1).0, route.points[n as usize - 1]);
        assert_eq!(route.at(n).0, route.points[n as usize - 2], "turns back at the end");
        assert_eq!(route.at(2 * (n - 1)).0, route.points[0], "and starts over");
        assert_eq!(route.at(5).1, route.points[4], "the previous point is a second earlier");
    }

    #[test]
    fn no_step_of_the_route_is_longer_than_a_vehicle_drives_in_a_second() {
        let route = Route::munich().unwrap();
        let longest = route.points.windows(2).map(|w| Geodesic.distance(w[0], w[1])).fold(0.0, f64::max);
        assert!(longest <= MAX_STEP_M + 1e-6, "{longest} m");
    }

    #[test]
    fn between_seconds_the_vehicle_is_between_the_points() {
        let route = Route::munich().unwrap();
        let (a, b) = (route.at(10).0, route.at(11).0);
        let half = route.at_time(10.5);
        assert!(
            (half.x() - (a.x() + b.x()) / 2.0).abs() < 1e-12
                && (half.y() - (a.y() + b.y()) / 2.0).abs() < 1e-12
        );
        assert_eq!(route.at_time(10.0), a);
    }
}
