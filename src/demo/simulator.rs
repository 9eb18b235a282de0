//! A simulated GNSS receiver: drives a real recorded route and writes its NMEA, once per
//! second at the current time, into a pseudo-terminal.

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use chrono::{DurationRound, Utc};
use geo::{Bearing, Distance, Geodesic, Point};
use tokio_util::sync::CancellationToken;

use convoy_agent::nmea_writer::{epoch_sentences, sentence, SimFix};

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

/// What a simulated vehicle does besides driving, in seconds from the demo's start; the
/// schedule repeats every [`CYCLE_S`] seconds, so a demo left running keeps showing it.
#[derive(Clone, Debug, Default)]
pub struct Script {
    /// How far along the route (in seconds of driving) the vehicle starts.
    pub offset_s: u64,
    /// Leaves the road for a parallel one [`DETOUR_M`] to its left, and comes back.
    pub detour: Option<Span>,
    /// Stands still (the route waits for it).
    pub halt: Option<Span>,
    /// The receiver loses its fix (as under a jammer): epochs without a position.
    pub no_fix: Option<Span>,
    /// The receiver writes nothing (the demo stops the vehicle's agent then, too).
    pub silent: Option<Span>,
}

/// A stretch of the schedule.
#[derive(Clone, Copy, Debug)]
pub struct Span {
    pub start_s: u64,
    pub duration_s: u64,
}

impl Span {
    pub const fn new(start_s: u64, duration_s: u64) -> Self {
        Span { start_s, duration_s }
    }

    pub fn contains(&self, phase: u64) -> bool {
        (self.start_s..self.start_s + self.duration_s).contains(&phase)
    }

    /// Seconds of this span elapsed by `second` since the start, over all cycles.
    fn elapsed_by(&self, second: u64) -> u64 {
        let (cycles, phase) = (second / CYCLE_S, second % CYCLE_S);
        cycles * self.duration_s + phase.saturating_sub(self.start_s).min(self.duration_s)
    }
}

/// The demo's schedule repeats this often.
pub const CYCLE_S: u64 = 1800;
/// How far to the side a detour goes: well outside the 150 m corridor.
pub const DETOUR_M: f64 = 400.0;
/// How long a detour takes to leave the road and to come back.
const DETOUR_RAMP_S: f64 = 25.0;

impl Script {
    /// Where the vehicle is `second` seconds after the start.
    pub fn position(&self, route: &Route, second: u64) -> Point {
        let phase = second % CYCLE_S;
        let (here, _) = route.at(self.along(second));
        if self.halt.is_some_and(|h| h.contains(phase)) {
            // A parked receiver's few metres of drift.
            let wobble = ((second * 7919) % 11) as f64 - 5.0;
            return offset(here, wobble * 0.5, -wobble * 0.3);
        }
        match self.detour.filter(|d| d.contains(phase)) {
            Some(detour) => {
                let into = (phase - detour.start_s) as f64;
                let left = (detour.start_s + detour.duration_s - phase) as f64;
                let ramp = (into / DETOUR_RAMP_S).min(left / DETOUR_RAMP_S).min(1.0);
                // One side for the whole detour, left of the way from where it leaves the road
                // to where it comes back: a side taken from each bend would jump at bends.
                let cycle_start = second - phase;
                let (from, _) = route.at(self.along(cycle_start + detour.start_s));
                let (to, _) = route.at(self.along(cycle_start + detour.start_s + detour.duration_s));
                let bearing = Geodesic.bearing(from, to).to_radians();
                let (east, north) = (-bearing.cos(), bearing.sin());
                offset(here, east * DETOUR_M * ramp, north * DETOUR_M * ramp)
            }
            None => here,
        }
    }

    /// How far along the route (in seconds of driving) the vehicle is `second` seconds after
    /// the start: the route waits while it halts.
    fn along(&self, second: u64) -> u64 {
        self.offset_s + second - self.halt.map_or(0, |h| h.elapsed_by(second))
    }

    pub fn is_silent(&self, second: u64) -> bool {
        self.silent.is_some_and(|s| s.contains(second % CYCLE_S))
    }

    fn has_no_fix(&self, second: u64) -> bool {
        self.no_fix.is_some_and(|s| s.contains(second % CYCLE_S))
    }
}

fn offset(p: Point, east_m: f64, north_m: f64) -> Point {
    Point::new(p.x() + east_m / (111_320.0 * p.y().to_radians().cos()), p.y() + north_m / 111_190.0)
}

/// Writes one epoch per second into `out`, following `script`, until `stop` is cancelled. On a
/// thread of its own (it sleeps).
pub fn drive(route: Route, script: Script, mut out: impl Write, stop: CancellationToken) {
    let mut second = 0;
    let mut previous = script.position(&route, 0);
    while !stop.is_cancelled() {
        let now = Utc::now();
        let t = now.duration_trunc(chrono::Duration::seconds(1)).unwrap_or(now);
        let here = script.position(&route, second);
        let speed_mps = Geodesic.distance(previous, here);
        let course = if speed_mps > 0.1 { Geodesic.bearing(previous, here).rem_euclid(360.0) } else { 0.0 };
        previous = here;
        let sentences = if script.has_no_fix(second) {
            no_fix_sentences(t)
        } else {
            epoch_sentences(&SimFix {
                t,
                lat: here.y(),
                lon: here.x(),
                alt_m: 519.0,
                speed_mps,
                course_deg: course,
                sats: 9,
                hdop: 0.9,
            })
        };
        if !script.is_silent(second) {
            if let Err(e) = out.write_all(sentences.as_bytes()) {
                tracing::warn!(error = %e, "simulated receiver cannot write");
            }
        }
        second += 1;
        // Sleep to the next whole second, as a receiver's epochs are.
        let into_second = Utc::now() - t;
        let wait = chrono::Duration::seconds(1) - into_second;
        std::thread::sleep(wait.to_std().unwrap_or(Duration::from_millis(1000)).min(Duration::from_secs(1)));
    }
}

/// An epoch in which the receiver has no position: GGA quality 0 and RMC status V.
fn no_fix_sentences(t: chrono::DateTime<Utc>) -> String {
    let time = t.format("%H%M%S%.3f");
    let date = t.format("%d%m%y");
    [format!("GPGGA,{time},,,,,0,00,99.9,,M,,M,,"), format!("GPRMC,{time},V,,,,,,,{date},,,N")]
        .iter()
        .map(|body| sentence(body))
        .collect()
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
    fn a_scripted_detour_leaves_the_road_and_comes_back_without_jumps() {
        let route = Route::munich().unwrap();
        let script = Script { detour: Some(Span::new(20, 120)), ..Default::default() };
        let planned = geo::LineString::from(route.points().to_vec());
        let off =
            |s| convoy_core::geometry::distance_to_route_m(script.position(&route, s), &planned).unwrap();
        assert!(off(10) < 1.0);
        assert!(off(80) > 300.0, "{} m", off(80));
        assert!(off(150) < 1.0);
        for s in 0..200 {
            let step = Geodesic.distance(script.position(&route, s), script.position(&route, s + 1));
            assert!(step < 60.0, "second {s}: {step} m");
        }
    }

    #[test]
    fn a_scripted_halt_stands_still_and_then_drives_on_from_there() {
        let route = Route::munich().unwrap();
        let script = Script { halt: Some(Span::new(60, 360)), ..Default::default() };
        let at_halt = script.position(&route, 60);
        assert!(Geodesic.distance(at_halt, script.position(&route, 300)) < 10.0);
        assert!(
            Geodesic.distance(route.at(60).0, script.position(&route, 420)) < 1.0,
            "resumes where it stopped"
        );
        assert!(Geodesic.distance(at_halt, script.position(&route, 480)) > 100.0);
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
