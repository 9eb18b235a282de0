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

/// A route as a timetable: where the vehicle is when, driving its points at speeds a loaded
/// truck can reach. The recording's own speed (point to point, a second apart) sets how fast
/// each stretch is driven, with its stops kept as they were recorded; the vehicle speeds up at
/// most [`ACCELERATION_MPS2`] and slows down at most [`DECELERATION_MPS2`], so its speed changes
/// smoothly instead of jumping with the recording's steps.
///
/// The drive goes out and back; each way has its own timetable, so that braking on the way out
/// is not speeding up harder than a truck can on the way back.
#[derive(Clone, Debug)]
pub struct Route {
    out: Timetable,
    back: Timetable,
}

/// One way of a route.
#[derive(Clone, Debug)]
struct Timetable {
    points: Vec<Point>,
    /// When the vehicle reaches each point, in seconds of driving from the first.
    times: Vec<f64>,
    /// Its speed at each point, in metres per second.
    speeds: Vec<f64>,
}

/// How fast a loaded truck speeds up at most, in m/s² (0-100 km/h in about 11 s).
pub const ACCELERATION_MPS2: f64 = 2.5;
/// How hard it brakes at most when it does not have to, in m/s².
pub const DECELERATION_MPS2: f64 = 3.5;
/// A run of at least this many recorded seconds without moving (less than [`STANDING_M`] a
/// second) is a stop, kept as long as it was; shorter ones are the receiver holding its
/// position for a second or two, which the driving speed around them smooths over.
const STOP_MIN_S: usize = 3;
const STANDING_M: f64 = 0.5;

impl Route {
    pub fn munich() -> anyhow::Result<Self> {
        Self::from_barefoot_json(MUNICH_DRIVE)
    }

    /// The route's points: the recording's, with long steps filled in.
    pub fn points(&self) -> &[Point] {
        &self.out.points
    }

    /// How long the drive out and back takes, in seconds.
    pub fn round_trip_s(&self) -> f64 {
        self.out.duration_s() + self.back.duration_s()
    }

    /// Where the vehicle is `seconds` into an endless back-and-forth drive (negative: at the
    /// start).
    pub(crate) fn at_time(&self, seconds: f64) -> Point {
        let phase = seconds.max(0.0) % self.round_trip_s();
        let out = self.out.duration_s();
        if phase <= out {
            self.out.at_time(phase)
        } else {
            self.back.at_time(phase - out)
        }
    }

    /// Reads barefoot's `[{"point":"POINT(lon lat)", ...}]`: one point a second.
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
        let back: Vec<Point> = points.iter().rev().copied().collect();
        Ok(Route { out: Timetable::new(&points), back: Timetable::new(&back) })
    }
}

impl Timetable {
    /// The timetable of a recording of one point a second.
    fn new(recorded: &[Point]) -> Self {
        let steps: Vec<f64> = recorded.windows(2).map(|w| Geodesic.distance(w[0], w[1])).collect();
        // Steps inside a stop: runs of at least STOP_MIN_S standing steps.
        let mut stopped = vec![false; steps.len()];
        let mut i = 0;
        while i < steps.len() {
            let run = steps[i..].iter().take_while(|&&m| m < STANDING_M).count();
            if run >= STOP_MIN_S {
                stopped[i..i + run].iter_mut().for_each(|s| *s = true);
            }
            i += run.max(1);
        }
        // How fast each moving step is driven: the median of the moving steps around it (two
        // either side), which ignores a second the receiver held its position or made up for it.
        let target: Vec<f64> = (0..steps.len())
            .map(|i| {
                if stopped[i] {
                    return 0.0;
                }
                let mut around: Vec<f64> = (i.saturating_sub(2)..(i + 3).min(steps.len()))
                    .filter(|&j| !stopped[j])
                    .map(|j| steps[j])
                    .collect();
                around.sort_by(f64::total_cmp);
                around[around.len() / 2].clamp(STANDING_M, MAX_SPEED_MPS)
            })
            .collect();

        // The points, with steps longer than a second's driving filled in, each piece with its
        // step's speed and whether it is stopped.
        let mut points = vec![recorded[0]];
        let mut pieces: Vec<(f64, f64, bool)> = Vec::new();
        for (k, pair) in recorded.windows(2).enumerate() {
            let (a, b) = (pair[0], pair[1]);
            let n = (steps[k] / MAX_SPEED_MPS).ceil().max(1.0) as usize;
            for step in 1..=n {
                let f = step as f64 / n as f64;
                points.push(Point::new(a.x() + (b.x() - a.x()) * f, a.y() + (b.y() - a.y()) * f));
                pieces.push((steps[k] / n as f64, target[k], stopped[k]));
            }
        }
        // The highest speed at each point: the slower of the pieces it joins, 0 at both ends
        // and beside a stop; then what accelerating from the point before and braking for the
        // point after allow.
        let n = points.len();
        let mut speeds: Vec<f64> = (0..n)
            .map(|j| {
                if j == 0 || j == n - 1 || pieces[j - 1].2 || pieces[j].2 {
                    0.0
                } else {
                    pieces[j - 1].1.min(pieces[j].1)
                }
            })
            .collect();
        for j in 1..n {
            speeds[j] =
                speeds[j].min((speeds[j - 1].powi(2) + 2.0 * ACCELERATION_MPS2 * pieces[j - 1].0).sqrt());
        }
        for j in (0..n - 1).rev() {
            speeds[j] = speeds[j].min((speeds[j + 1].powi(2) + 2.0 * DECELERATION_MPS2 * pieces[j].0).sqrt());
        }
        // Each piece at a constant acceleration from the speed at its start to the one at its
        // end; a stopped piece takes its recorded second.
        let mut times = vec![0.0];
        for j in 0..n - 1 {
            let (length, _, stopped) = pieces[j];
            let (v0, v1) = (speeds[j], speeds[j + 1]);
            let dt = if stopped {
                1.0
            } else if v0 + v1 > 1e-9 {
                2.0 * length / (v0 + v1)
            } else {
                2.0 * (length / ACCELERATION_MPS2).sqrt()
            };
            times.push(times[j] + dt);
        }
        Timetable { points, times, speeds }
    }

    fn duration_s(&self) -> f64 {
        self.times[self.times.len() - 1]
    }

    /// Where the vehicle is `t` seconds after leaving the first point (at most the duration).
    fn at_time(&self, t: f64) -> Point {
        let k = self.times.partition_point(|&x| x <= t).clamp(1, self.points.len() - 1) - 1;
        let (a, b) = (self.points[k], self.points[k + 1]);
        let dt = self.times[k + 1] - self.times[k];
        if dt <= 0.0 {
            return b;
        }
        let tau = (t - self.times[k]).clamp(0.0, dt);
        let (v0, v1) = (self.speeds[k], self.speeds[k + 1]);
        let f = if v0 + v1 > 1e-9 {
            // Constant acceleration over the piece: the distance covered over its length.
            let covered = v0 * tau + 0.5 * (v1 - v0) / dt * tau * tau;
            covered / ((v0 + v1) / 2.0 * dt)
        } else {
            tau / dt
        };
        Point::new(a.x() + (b.x() - a.x()) * f, a.y() + (b.y() - a.y()) * f)
    }
}

/// The fastest the simulated vehicles drive, in metres per second (108 km/h): a recorded step
/// longer than that (the Munich drive has one of 468 m after the receiver froze for 34 s) is
/// driven, not jumped.
const MAX_SPEED_MPS: f64 = 30.0;

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

    /// Seconds of driving a halt in this span has taken away by `second` since the start, over
    /// all cycles. The vehicle brakes over its first [`HALT_BRAKE_S`] seconds and pulls away
    /// over its last [`HALT_PULL_AWAY_S`], so it neither stops nor starts in an instant: the
    /// route's clock slows to a stand and speeds up again, and the halt takes away half of
    /// those seconds less than its length.
    fn halted_by(&self, second: f64) -> f64 {
        let (d, brake, pull) = (self.duration_s as f64, HALT_BRAKE_S, HALT_PULL_AWAY_S);
        let whole = d - (brake + pull) / 2.0;
        let cycles = (second / CYCLE_S as f64).floor();
        let u = (second - cycles * CYCLE_S as f64 - self.start_s as f64).clamp(0.0, d);
        let this_cycle = if u <= brake {
            u * u / (2.0 * brake)
        } else if u <= d - pull {
            u - brake / 2.0
        } else {
            let w = u - (d - pull);
            u - brake / 2.0 - w * w / (2.0 * pull)
        };
        cycles * whole + this_cycle
    }
}

/// The demo's schedule repeats this often.
pub const CYCLE_S: u64 = 1800;
/// How far to the side a detour goes: well outside the 150 m corridor.
pub const DETOUR_M: f64 = 400.0;
/// How long a detour takes to leave the road and to come back: the side step follows a
/// half cosine, at most 16 m/s sideways and 1.3 m/s² (400 m over 40 s).
const DETOUR_RAMP_S: f64 = 40.0;
/// How long a halting vehicle brakes, and pulls away after it (see [`Span::halted_by`]): from
/// and back to the road's speed where the demo's vehicles halt (about 14 m/s, 50 km/h), under
/// 2 m/s² on top of what the road itself asks.
const HALT_BRAKE_S: f64 = 8.0;
const HALT_PULL_AWAY_S: f64 = 10.0;

impl Script {
    /// Where the receiver puts the vehicle `second` seconds after the start.
    pub fn position(&self, route: &Route, second: u64) -> Point {
        let here = self.track(route, second);
        let phase = second % CYCLE_S;
        if self.halt.is_some_and(|h| h.contains(phase) && phase - h.start_s >= HALT_BRAKE_S as u64) {
            // A parked receiver's few metres of drift, once the vehicle stands.
            let wobble = ((second * 7919) % 11) as f64 - 5.0;
            return offset(here, wobble * 0.5, -wobble * 0.3);
        }
        here
    }

    /// Where the vehicle really is `second` seconds after the start (without the receiver's
    /// drift): what its speed and course are measured on, as a receiver's Doppler speed is
    /// not its positions' noise.
    pub fn track(&self, route: &Route, second: u64) -> Point {
        self.track_at(route, second as f64)
    }

    /// The vehicle's speed over the second before `second`, measured along its way (as a
    /// receiver's Doppler speed is, not cutting across bends).
    pub fn speed_mps(&self, route: &Route, second: u64) -> f64 {
        let at = |tenth: u64| self.track_at(route, (second * 10 + tenth) as f64 / 10.0 - 1.0);
        (0..10).map(|k| Geodesic.distance(at(k), at(k + 1))).sum()
    }

    fn track_at(&self, route: &Route, t: f64) -> Point {
        let cycle = CYCLE_S as f64;
        let phase = t.max(0.0) % cycle;
        let here = route.at_time(self.along(t));
        let within = |d: &Span| (d.start_s as f64..(d.start_s + d.duration_s) as f64).contains(&phase);
        match self.detour.filter(within) {
            Some(detour) => {
                let into = phase - detour.start_s as f64;
                let left = (detour.start_s + detour.duration_s) as f64 - phase;
                let ramp = (into / DETOUR_RAMP_S).min(left / DETOUR_RAMP_S).min(1.0);
                let side = (1.0 - (std::f64::consts::PI * ramp).cos()) / 2.0;
                // One side for the whole detour, left of the way from where it leaves the road
                // to where it comes back: a side taken from each bend would jump at bends.
                let cycle_start = t.max(0.0) - phase;
                let from = route.at_time(self.along(cycle_start + detour.start_s as f64));
                let to = route.at_time(self.along(cycle_start + (detour.start_s + detour.duration_s) as f64));
                let bearing = Geodesic.bearing(from, to).to_radians();
                let (east, north) = (-bearing.cos(), bearing.sin());
                offset(here, east * DETOUR_M * side, north * DETOUR_M * side)
            }
            None => here,
        }
    }

    /// How far along the route (in seconds of driving) the vehicle is `second` seconds after
    /// the start: the route waits while it halts.
    fn along(&self, second: f64) -> f64 {
        self.offset_s as f64 + second - self.halt.map_or(0.0, |h| h.halted_by(second))
    }

    pub fn is_silent(&self, second: u64) -> bool {
        self.silent.is_some_and(|s| s.contains(second % CYCLE_S))
    }

    pub fn has_no_fix(&self, second: u64) -> bool {
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
    let mut previous = script.track(&route, 0);
    while !stop.is_cancelled() {
        let now = Utc::now();
        let t = now.duration_trunc(chrono::Duration::seconds(1)).unwrap_or(now);
        let here = script.position(&route, second);
        let track = script.track(&route, second);
        let speed_mps = if second == 0 { 0.0 } else { script.speed_mps(&route, second) };
        let moved = Geodesic.distance(previous, track) > 0.1;
        let course = if moved { Geodesic.bearing(previous, track).rem_euclid(360.0) } else { 0.0 };
        previous = track;
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
pub(crate) mod tests {
    use super::*;

    /// The distance driven in each second from `from` for `seconds`, measured in tenths of a
    /// second along the way: the speeds a receiver would report.
    pub(crate) fn speeds(position: impl Fn(f64) -> Point, from: u64, seconds: u64) -> Vec<f64> {
        (from * 10..(from + seconds) * 10)
            .map(|tenth| {
                Geodesic.distance(position(tenth as f64 / 10.0), position((tenth + 1) as f64 / 10.0))
            })
            .collect::<Vec<_>>()
            .chunks(10)
            .map(|c| c.iter().sum())
            .collect()
    }

    /// What measuring allows over the limits: a tenth of a second's chord across a sharp corner
    /// of the recorded line is a little shorter than the way driven.
    pub(crate) const MEASURING_MPS2: f64 = 0.3;

    /// The largest speed-up and slow-down from one second to the next, in m/s².
    pub(crate) fn largest_changes(speeds: &[f64]) -> (f64, f64) {
        speeds
            .windows(2)
            .fold((0.0, 0.0), |(up, down), w| (f64::max(up, w[1] - w[0]), f64::max(down, w[0] - w[1])))
    }

    #[test]
    fn the_munich_drive_loads_and_goes_out_and_back_in_about_its_recorded_time() {
        let route = Route::munich().unwrap();
        // 1,194 recorded points, and those filled into steps over 30 m (the 468 m gap, a few more).
        assert_eq!(route.points().len(), 1228);
        let (out, trip) = (route.out.duration_s(), route.round_trip_s());
        // Recorded in 1,193 s: its stops are kept, its speeds smoothed, its 468 m jump driven.
        assert!((1193.0..1300.0).contains(&out), "{out} s");
        assert!((out * 2.0 - trip).abs() < 30.0, "{out} s out, {trip} s both ways");
        let last = route.points()[1227];
        assert_eq!(route.at_time(0.0), route.points()[0]);
        assert!(Geodesic.distance(route.at_time(out), last) < 1e-6);
        assert!(Geodesic.distance(route.at_time(out + 1.0), last) < 1.0, "turns back at the end");
        assert!(Geodesic.distance(route.at_time(trip), route.points()[0]) < 1e-6, "and starts over");
    }

    #[test]
    fn no_step_of_the_route_is_longer_than_a_vehicle_drives_in_a_second() {
        let route = Route::munich().unwrap();
        let longest = route.points().windows(2).map(|w| Geodesic.distance(w[0], w[1])).fold(0.0, f64::max);
        assert!(longest <= MAX_SPEED_MPS + 1e-6, "{longest} m");
    }

    /// The recording's own speeds jump: the Munich drive goes from 15 to 29 m/s and back
    /// within a second (steps of just over 30 m, and its 468 m jump after standing 34 s).
    #[test]
    fn driven_out_and_back_the_speed_changes_as_a_loaded_truck_can() {
        let route = Route::munich().unwrap();
        let trip = route.round_trip_s().ceil() as u64;
        let speeds = speeds(|t| route.at_time(t), 0, 2 * trip);
        let (up, down) = largest_changes(&speeds);
        assert!(up <= ACCELERATION_MPS2 + MEASURING_MPS2, "speeds up {up} m/s²");
        assert!(down <= DECELERATION_MPS2 + MEASURING_MPS2, "slows down {down} m/s²");
        let top = speeds.iter().copied().fold(0.0, f64::max);
        assert!((28.0..=MAX_SPEED_MPS + 1e-3).contains(&top), "top speed {top} m/s");
        // Its stops are kept: at lights, it stands.
        assert!(speeds.iter().filter(|&&v| v < 0.1).count() > 200);
    }

    #[test]
    fn a_scripted_detour_leaves_the_road_and_comes_back_smoothly() {
        let route = Route::munich().unwrap();
        let script = Script { detour: Some(Span::new(20, 120)), ..Default::default() };
        let planned = geo::LineString::from(route.points().to_vec());
        let off =
            |s| convoy_core::geometry::distance_to_route_m(script.position(&route, s), &planned).unwrap();
        assert!(off(10) < 1.0);
        assert!(off(80) > 300.0, "{} m", off(80));
        assert!(off(150) < 1.0);
        let (up, down) = largest_changes(&speeds(|t| script.track_at(&route, t), 0, 200));
        assert!(
            up <= ACCELERATION_MPS2 + MEASURING_MPS2 && down <= DECELERATION_MPS2 + MEASURING_MPS2,
            "{up} {down}"
        );
    }

    #[test]
    fn a_scripted_halt_brakes_stands_still_and_pulls_away_from_there() {
        let route = Route::munich().unwrap();
        let script = Script { halt: Some(Span::new(60, 360)), ..Default::default() };
        let standing = script.track(&route, 60 + HALT_BRAKE_S as u64);
        assert!(Geodesic.distance(standing, script.position(&route, 300)) < 10.0);
        assert_eq!(standing, script.track(&route, 420 - HALT_PULL_AWAY_S as u64));
        // Resumes where it stopped: the halt took its length less half its braking and pulling away.
        let resumed = route.at_time(60.0 + (HALT_BRAKE_S + HALT_PULL_AWAY_S) / 2.0);
        assert!(Geodesic.distance(resumed, script.track(&route, 420)) < 1.0);
        assert!(Geodesic.distance(standing, script.position(&route, 480)) > 100.0);
        let (up, down) = largest_changes(&speeds(|t| script.track_at(&route, t), 0, 600));
        assert!(
            up <= ACCELERATION_MPS2 + MEASURING_MPS2 && down <= DECELERATION_MPS2 + MEASURING_MPS2,
            "{up} {down}"
        );
    }

    #[test]
    fn between_seconds_the_vehicle_moves_on_smoothly() {
        let route = Route::munich().unwrap();
        for tenth in 0..20_000 {
            let t = tenth as f64 / 10.0;
            let step = Geodesic.distance(route.at_time(t), route.at_time(t + 0.1));
            assert!(step <= MAX_SPEED_MPS / 10.0 + 1e-3, "{step} m in 0.1 s at {t} s");
        }
    }
}
