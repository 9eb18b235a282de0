//! A simulated GNSS receiver: drives a real route (Andorra's roads, or Munich's recording) and
//! writes its NMEA, once per second at the current time, into a pseudo-terminal, with a real
//! receiver's slowly wandering errors (`receiver_noise.rs`).

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use chrono::{DurationRound, Utc};
use geo::{Bearing, Distance, Geodesic, Point};
use tokio_util::sync::CancellationToken;

use convoy_agent::nmea_writer::{epoch_sentences, sentence, SimFix};

use super::andorra::RouteFile;
use super::receiver_noise::ReceiverNoise;
use super::timetable::Timetable;
pub use super::timetable::{ACCELERATION_MPS2, DECELERATION_MPS2};

/// Munich's road: a real 20-minute drive through Munich at 1 Hz (BMW Car IT's barefoot test
/// data, Apache-2.0; see data/drives/barefoot). The demo drives Andorra's now; the load
/// generator, the benchmarks and tests still drive this one.
const MUNICH_DRIVE: &str = include_str!("../../data/drives/barefoot/x0001-001.json");

/// A route as a timetable: where the vehicle is when, driving out and back endlessly at speeds
/// a loaded truck can reach (see [`Timetable`]). Each way has its own timetable, so that braking
/// on the way out is not speeding up harder than a truck can on the way back.
///
/// Munich's recording is driven out and back without a pause. Andorra's roads are driven so
/// that a round trip takes exactly [`CYCLE_S`], the trucks standing at each end (loading at the
/// depot, unloading at the data centre) for what the drive leaves: every cycle of the demo's
/// script then finds each vehicle at the same place, and `truck-01`'s detour down its real side
/// street happens every cycle.
#[derive(Clone, Debug)]
pub struct Route {
    out: Timetable,
    back: Timetable,
    /// The way out down the detour, for a script that takes it (Andorra's route has one).
    detour_out: Option<Timetable>,
    /// How long the vehicle stands at the far end before driving back, in seconds.
    far_end_s: f64,
    /// How long an endless drive takes to come round (its way out, the far end, its way back
    /// and the standing at the start), in seconds, when it is fixed: [`CYCLE_S`] for Andorra.
    period_s: Option<f64>,
    /// The height the receiver reports, in metres: the valley's (the NMEA needs one).
    altitude_m: f64,
}

impl Route {
    pub fn munich() -> anyhow::Result<Self> {
        Self::from_barefoot_json(MUNICH_DRIVE)
    }

    /// The demo's route on Andorra's roads, out and back once per [`CYCLE_S`]: the trucks stand
    /// at the far end for [`FAR_END_S`], at the depot for the rest of the cycle (long enough for
    /// a halting vehicle to make up its halt there: see [`Script::along`]).
    pub fn andorra(file: &RouteFile) -> anyhow::Result<Self> {
        let (points, speeds) = (file.points(), file.speeds_mps());
        let (back_points, back_speeds) = (file.back_points(), file.back_speeds_mps());
        let (detour_points, detour_speeds) = file.detour_way();
        let out = Timetable::on_roads(&points, &speeds);
        let back = Timetable::on_roads(&back_points, &back_speeds);
        let detour_out = Timetable::on_roads(&detour_points, &detour_speeds);
        let driving = detour_out.duration_s().max(out.duration_s()) + back.duration_s();
        let spare = CYCLE_S as f64 - driving;
        anyhow::ensure!(
            spare > FAR_END_S + 60.0,
            "the round trip takes {driving:.0} s: too long for a {CYCLE_S} s cycle"
        );
        Ok(Route {
            out,
            back,
            detour_out: Some(detour_out),
            far_end_s: FAR_END_S,
            period_s: Some(CYCLE_S as f64),
            // Santa Coloma lies at about 970 m, Encamp at about 1,260 m.
            altitude_m: 1100.0,
        })
    }

    /// The route's points: the recording's, with long steps filled in; or the road's line, in
    /// pieces of a few metres.
    pub fn points(&self) -> &[Point] {
        &self.out.points
    }

    /// How long the drive out and back takes, in seconds, without standing at the ends.
    pub fn round_trip_s(&self) -> f64 {
        self.out.duration_s() + self.back.duration_s()
    }

    /// How long the drive out takes, in seconds.
    pub fn out_s(&self) -> f64 {
        self.out.duration_s()
    }

    /// When the vehicle driving out (without a detour) is nearest `place`, in seconds.
    pub fn time_out_nearest(&self, place: Point) -> f64 {
        self.out.time_nearest(place)
    }

    /// Where the vehicle is `seconds` into an endless back-and-forth drive (negative: at the
    /// start).
    pub(crate) fn at_time(&self, seconds: f64) -> Point {
        self.at_time_via(seconds, false)
    }

    /// Where the vehicle is `seconds` into the endless drive, taking the detour on each way out
    /// if `detour` and the route has one.
    pub(crate) fn at_time_via(&self, seconds: f64, detour: bool) -> Point {
        let out = match (&self.detour_out, detour) {
            (Some(detoured), true) => detoured,
            _ => &self.out,
        };
        let period = self.period_s.unwrap_or_else(|| out.duration_s() + self.back.duration_s());
        let mut phase = seconds.max(0.0) % period;
        if phase <= out.duration_s() {
            return out.at_time(phase);
        }
        phase -= out.duration_s();
        if phase <= self.far_end_s {
            return out.at_time(out.duration_s());
        }
        phase -= self.far_end_s;
        self.back.at_time(phase.min(self.back.duration_s()))
    }

    /// When a vehicle driving out and back without a detour arrives at the start again, in
    /// seconds into the period, and how long it stands there until the period ends: for a route
    /// with a fixed period only.
    fn standing_at_start(&self) -> Option<(f64, f64)> {
        let period = self.period_s?;
        let arrives = self.out.duration_s() + self.far_end_s + self.back.duration_s();
        Some((arrives, period - arrives))
    }

    /// Whether a script's detour is a real way of this route (else it is a side step).
    fn has_detour_way(&self) -> bool {
        self.detour_out.is_some()
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
        Ok(Route {
            out: Timetable::recorded(&points),
            back: Timetable::recorded(&back),
            detour_out: None,
            far_end_s: 0.0,
            period_s: None,
            altitude_m: 519.0,
        })
    }
}

/// What a simulated vehicle does besides driving, in seconds from the demo's start; the
/// schedule repeats every [`CYCLE_S`] seconds, so a demo left running keeps showing it.
#[derive(Clone, Debug, Default)]
pub struct Script {
    /// How far along the route (in seconds of driving) the vehicle starts; negative, how long
    /// it waits at the start first.
    pub offset_s: i64,
    /// Leaves the road and comes back: on a route with a detour way (Andorra's), down that real
    /// side street on each way out (the span is not used: the road decides when); on one
    /// without (Munich's), for a parallel one [`DETOUR_M`] to its left during the span.
    pub detour: Option<Span>,
    /// Stands still (the route waits for it).
    pub halt: Option<Span>,
    /// The receiver loses its fix (as under a jammer): epochs without a position.
    pub no_fix: Option<Span>,
    /// The receiver writes nothing (the demo stops the vehicle's agent then, too).
    pub silent: Option<Span>,
    /// The receiver's errors; none, it reports where the vehicle is to the millimetre.
    pub noise: Option<ReceiverNoise>,
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

    /// Seconds of driving each halt in this span takes away: its length less half its braking
    /// and pulling away.
    fn lost_s(&self) -> f64 {
        self.duration_s as f64 - (HALT_BRAKE_S + HALT_PULL_AWAY_S) / 2.0
    }

    /// Seconds of driving a halt in this span has taken away by `second` since the start, over
    /// all cycles. The vehicle brakes over its first [`HALT_BRAKE_S`] seconds and pulls away
    /// over its last [`HALT_PULL_AWAY_S`], so it neither stops nor starts in an instant: the
    /// route's clock slows to a stand and speeds up again, and the halt takes away half of
    /// those seconds less than its length.
    fn halted_by(&self, second: f64) -> f64 {
        let (d, brake, pull) = (self.duration_s as f64, HALT_BRAKE_S, HALT_PULL_AWAY_S);
        let whole = self.lost_s();
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
/// How long the trucks stand at the far end of Andorra's route (unloading) before driving back.
const FAR_END_S: f64 = 120.0;
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
        match self.noise {
            Some(noise) => {
                let (east, north) = noise.error_m(second);
                offset(here, east, north)
            }
            None => here,
        }
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
        if self.detour.is_some() && route.has_detour_way() {
            return route.at_time_via(self.along(route, t), true);
        }
        let here = route.at_time(self.along(route, t));
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
                let from = route.at_time(self.along(route, cycle_start + detour.start_s as f64));
                let to = route
                    .at_time(self.along(route, cycle_start + (detour.start_s + detour.duration_s) as f64));
                let bearing = Geodesic.bearing(from, to).to_radians();
                let (east, north) = (-bearing.cos(), bearing.sin());
                offset(here, east * DETOUR_M * side, north * DETOUR_M * side)
            }
            None => here,
        }
    }

    /// How far along the route (in seconds of driving) the vehicle is `second` seconds after
    /// the start: the route waits while it halts. On a route with a fixed period (Andorra's),
    /// the vehicle makes each halt up by standing that much less at the start of the route the
    /// next time it is there, so that every cycle finds it where the first did (and halting
    /// where the first halted); its clock skips ahead while it stands, which nothing sees.
    fn along(&self, route: &Route, second: f64) -> f64 {
        let driven = self.offset_s as f64 + second;
        let Some(halt) = self.halt else { return driven };
        let along = driven - halt.halted_by(second);
        let Some((arrives, standing)) = route.standing_at_start() else { return along };
        let (lost, period) = (halt.lost_s(), CYCLE_S as f64);
        if standing <= lost {
            return along;
        }
        // Each halt that has ended is made up at the first arrival at the start after it.
        let mut made_up = 0.0;
        let halts_ended = (second / period).floor() as i64
            + i64::from(second.rem_euclid(period) >= (halt.start_s + halt.duration_s) as f64);
        for k in 0..halts_ended {
            let ended = k as f64 * period + (halt.start_s + halt.duration_s) as f64;
            let there = self.offset_s as f64 + ended - halt.halted_by(ended) + made_up;
            let arrival = arrives + ((there - arrives) / period).ceil() * period;
            if along + made_up < arrival {
                break;
            }
            made_up += lost;
        }
        along + made_up
    }

    pub fn is_silent(&self, second: u64) -> bool {
        self.silent.is_some_and(|s| s.contains(second % CYCLE_S))
    }

    pub fn has_no_fix(&self, second: u64) -> bool {
        self.no_fix.is_some_and(|s| s.contains(second % CYCLE_S))
    }
}

/// The offset (see [`Script::offset_s`]) that makes a vehicle halting in `halt` stand at the
/// route's point `seconds_along` seconds of driving out: it brakes for [`HALT_BRAKE_S`], which
/// takes it half as far as driving on would.
pub fn offset_to_halt_at(seconds_along: f64, halt: Span) -> i64 {
    (seconds_along - halt.start_s as f64 - HALT_BRAKE_S / 2.0).round() as i64
}

fn offset(p: Point, east_m: f64, north_m: f64) -> Point {
    Point::new(p.x() + east_m / (111_320.0 * p.y().to_radians().cos()), p.y() + north_m / 111_190.0)
}

/// Writes one epoch per second into `out`, following `script`, until `stop` is cancelled. On a
/// thread of its own (it sleeps).
pub fn drive(route: Route, script: Script, mut out: impl Write, stop: CancellationToken) {
    let mut second = 0;
    while !stop.is_cancelled() {
        let now = Utc::now();
        let t = now.duration_trunc(chrono::Duration::seconds(1)).unwrap_or(now);
        let sentences = match epoch(&route, &script, second, t) {
            Some(fix) => epoch_sentences(&fix),
            None => no_fix_sentences(t),
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

/// What the receiver reports `second` seconds after the start, at time `t`; `None` while it
/// has no fix. The position carries the receiver's error; the speed and course are measured on
/// the vehicle's true way (a receiver's Doppler speed is not its positions' noise), the
/// satellites and HDOP are the error's.
pub(crate) fn epoch(route: &Route, script: &Script, second: u64, t: chrono::DateTime<Utc>) -> Option<SimFix> {
    if script.has_no_fix(second) {
        return None;
    }
    let here = script.position(route, second);
    let track = script.track(route, second);
    let previous = script.track(route, second.saturating_sub(1));
    let speed_mps = if second == 0 { 0.0 } else { script.speed_mps(route, second) };
    let moved = Geodesic.distance(previous, track) > 0.1;
    let course_deg = if moved { Geodesic.bearing(previous, track).rem_euclid(360.0) } else { 0.0 };
    Some(SimFix {
        t,
        lat: here.y(),
        lon: here.x(),
        alt_m: route.altitude_m,
        speed_mps,
        course_deg,
        sats: script.noise.map_or(9, |n| n.satellites(second).into()),
        hdop: script.noise.map_or(0.9, |n| n.hdop(second)),
    })
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
    use super::super::receiver_noise;
    use super::super::timetable::MAX_SPEED_MPS;
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

    /// Andorra's route is driven at its roads' speeds (a point where two segments meet, at the
    /// faster one's at most), never above them, and no faster than a loaded truck's 80 km/h;
    /// out on the way out's roads, back on the way back's.
    #[test]
    fn andorra_is_driven_never_faster_than_its_roads_allow() {
        let file = RouteFile::andorra().unwrap();
        let route = Route::andorra(&file).unwrap();
        let ways = [
            (&route.out, file.points(), file.speeds_mps(), false),
            (&route.back, file.back_points(), file.back_speeds_mps(), true),
        ];
        for (timetable, line, limits, reversed) in ways {
            let planned: Vec<geo::LineString> =
                line.windows(2).map(|w| geo::LineString::from(vec![w[0], w[1]])).collect();
            assert!(limits.iter().all(|&v| v <= 80.0 / 3.6 + 1e-9));
            for (&p, &v) in timetable.points.iter().zip(&timetable.speeds) {
                let road = planned
                    .iter()
                    .zip(&limits)
                    // Those within 0.5 m (a cheap look at the segment's box first: about 10 m around).
                    .filter(|(segment, _)| {
                        let [a, b] = [segment.0[0], segment.0[1]];
                        let near =
                            |x: f64, lo: f64, hi: f64| x >= lo.min(hi) - 1e-4 && x <= lo.max(hi) + 1e-4;
                        near(p.x(), a.x, b.x) && near(p.y(), a.y, b.y)
                    })
                    .filter(|(segment, _)| {
                        convoy_core::geometry::distance_to_route_m(p, segment).unwrap() < 0.5
                    })
                    .map(|(_, &limit)| limit)
                    .fold(0.0, f64::max);
                assert!(road > 0.0, "a point off the road: {p:?} (back: {reversed})");
                assert!(v <= road + 1e-9, "{v} m/s where the road allows {road} (back: {reversed})");
            }
        }
        // It does drive them: the CG-2's 80 km/h stretch at 80 km/h.
        assert!(route.out.speeds.iter().any(|&v| v > 80.0 / 3.6 - 0.01));
        // Out, the far end, back and the depot: one round trip per cycle of the script.
        assert!(route.round_trip_s() < CYCLE_S as f64 - 120.0, "{} s", route.round_trip_s());
        let start = route.points()[0];
        assert!(Geodesic.distance(route.at_time(CYCLE_S as f64 - 1.0), start) < 1e-6, "stands at the depot");
        assert_eq!(route.at_time(CYCLE_S as f64 + 100.0), route.at_time(100.0));
    }

    /// The detour's way out leaves the route, and rejoins it, without a jump, at the road's
    /// speeds and a loaded truck's acceleration.
    #[test]
    fn andorras_detour_is_driven_as_smoothly_as_the_road() {
        let file = RouteFile::andorra().unwrap();
        let route = Route::andorra(&file).unwrap();
        let v = speeds(|t| route.at_time_via(t, true), 0, CYCLE_S);
        let (up, down) = largest_changes(&v);
        assert!(up <= ACCELERATION_MPS2 + MEASURING_MPS2 && down <= DECELERATION_MPS2 + MEASURING_MPS2);
        assert!(v.iter().all(|&s| s <= 80.0 / 3.6 + 0.05));
        // The detour costs time, which the standing at the depot gives back.
        let detoured = route.detour_out.as_ref().unwrap().duration_s();
        assert!(detoured > route.out_s(), "{detoured} s against {} s", route.out_s());
        assert_eq!(route.at_time_via(CYCLE_S as f64 + 60.0, true), route.at_time_via(60.0, true));
    }

    /// A noisy receiver's epoch: its position a few metres off the road, wandering slowly; its
    /// speed and course the vehicle's; its satellites and HDOP its noise's.
    #[test]
    fn a_noisy_receivers_epochs_match_its_vehicle_and_its_errors() {
        let file = RouteFile::andorra().unwrap();
        let route = Route::andorra(&file).unwrap();
        let noise = ReceiverNoise::new(9);
        let script = Script { offset_s: 300, noise: Some(noise), ..Default::default() };
        let t = Utc::now();
        let mut previous: Option<Point> = None;
        for second in 1..600 {
            let fix = epoch(&route, &script, second, t).unwrap();
            let reported = Point::new(fix.lon, fix.lat);
            let truth = script.track(&route, second);
            assert!(Geodesic.distance(reported, truth) < 5.0 * 2.0f64.sqrt() * receiver_noise::SIGMA_M);
            assert_eq!(fix.speed_mps, script.speed_mps(&route, second));
            assert_eq!((fix.sats, fix.hdop), (noise.satellites(second).into(), noise.hdop(second)));
            if fix.speed_mps > 5.0 {
                let way = Geodesic.bearing(script.track(&route, second - 1), truth).rem_euclid(360.0);
                assert!((fix.course_deg - way).abs() < 1e-6, "course {} along {way}", fix.course_deg);
            }
            // The error moves the fix by a few decimetres a second on top of the driving (at
            // most 2 m here), not by metres.
            if let Some(before) = previous {
                let moved = Geodesic.distance(before, reported);
                assert!((moved - fix.speed_mps).abs() < 2.0, "{moved} m at {} m/s", fix.speed_mps);
            }
            previous = Some(reported);
        }
        let without = Script { offset_s: 300, no_fix: Some(Span::new(10, 5)), ..Default::default() };
        assert!(epoch(&route, &without, 12, t).is_none());
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
