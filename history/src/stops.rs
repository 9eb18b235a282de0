//! Stops and data gaps in a recorded track, for the replay timeline and the move report.
//!
//! Pure: fixes go in one at a time, in fix-time order (a long track never needs to be held),
//! and the stops and gaps come out at the end.
//!
//! # Definitions
//! - **Gap**: two consecutive fixes more than [`GAP_AFTER_S`] seconds apart. The receiver
//!   gives a fix a second (or faster), so half a minute without one is missing data (a tunnel,
//!   a dead receiver, a lost spool), not jitter; exports split their track segments at the same
//!   place. A gap runs from the last fix before the silence to the first one after it.
//! - **Stop**: what `convoy_core::stop` defines (the `unplanned_stop` rule's definition too),
//!   shown from when to when and where the vehicle was seen standing in it, if that lasted at
//!   least [`MIN_STOP_S`] seconds (two minutes: longer than a red light, short enough to show
//!   every delivery halt).
//!
//! Callers leave out fixes marked implausible: they are known to be wrong.

use chrono::{DateTime, Duration, Utc};
use convoy_core::position::format_time;
use convoy_core::stop::{StopDetector, StopFix, StopRule};
use convoy_core::{Position, VehicleId};
use geo::Point;
use serde_json::json;

/// Consecutive fixes further apart than this, in seconds, are a data gap.
pub const GAP_AFTER_S: i64 = 30;
/// The shortest halt reported as a stop, in seconds.
pub const MIN_STOP_S: i64 = 120;

#[derive(Clone, Debug, PartialEq)]
pub struct Stop {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Where the stop began.
    pub lat: f64,
    pub lon: f64,
}

impl Stop {
    pub fn duration(&self) -> Duration {
        self.to - self.from
    }

    /// The stop as the API shows it.
    pub fn to_json(&self, vehicle: &VehicleId) -> serde_json::Value {
        json!({
            "vehicle": vehicle,
            "from": format_time(&self.from),
            "to": format_time(&self.to),
            "lat": self.lat,
            "lon": self.lon,
            "duration_s": seconds(self.duration()),
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Gap {
    /// The last fix before the silence.
    pub from: DateTime<Utc>,
    /// The first fix after it.
    pub to: DateTime<Utc>,
}

impl Gap {
    pub fn duration(&self) -> Duration {
        self.to - self.from
    }

    /// The gap as the API shows it.
    pub fn to_json(&self, vehicle: &VehicleId) -> serde_json::Value {
        json!({
            "vehicle": vehicle,
            "from": format_time(&self.from),
            "to": format_time(&self.to),
            "duration_s": seconds(self.duration()),
        })
    }
}

fn seconds(duration: Duration) -> f64 {
    duration.num_milliseconds() as f64 / 1000.0
}

/// The stop `core::stop` saw, as shown: where and when the vehicle was seen standing, if that
/// lasted at least [`MIN_STOP_S`] seconds; `None` for a shorter halt.
pub fn shown(stop: &convoy_core::stop::Stop) -> Option<Stop> {
    let (from, to, at) = stop.standing();
    (to - from >= Duration::seconds(MIN_STOP_S)).then(|| Stop { from, to, lat: at.y(), lon: at.x() })
}

/// Whether the silence between fixes at `then` and `now` is a data gap.
pub fn is_gap(then: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now - then > Duration::seconds(GAP_AFTER_S)
}

/// A stop being followed.
pub struct StopsAndGaps {
    rule: StopRule,
    previous: Option<(Point, DateTime<Utc>)>,
    detector: StopDetector,
    stops: Vec<Stop>,
    gaps: Vec<Gap>,
}

impl StopsAndGaps {
    pub fn new(rule: StopRule) -> Self {
        StopsAndGaps {
            rule,
            previous: None,
            detector: StopDetector::default(),
            stops: Vec::new(),
            gaps: Vec::new(),
        }
    }

    /// The next fix in fix-time order.
    pub fn push(&mut self, fix: &Position) {
        let here = Point::new(fix.lon, fix.lat);
        if let Some((_, at)) = self.previous {
            if is_gap(at, fix.t) {
                self.gaps.push(Gap { from: at, to: fix.t });
            }
        }
        let seen = StopFix::new(fix.t, here, fix.speed_mps, self.previous);
        if let Some(ended) = self.detector.push(&self.rule, &seen) {
            self.keep(ended);
        }
        self.previous = Some((here, fix.t));
    }

    /// Keeps a stop that lasted long enough to show.
    fn keep(&mut self, stop: convoy_core::stop::Stop) {
        self.stops.extend(shown(&stop));
    }

    pub fn finish(mut self) -> (Vec<Stop>, Vec<Gap>) {
        if let Some(stop) = std::mem::take(&mut self.detector).finish() {
            self.keep(stop);
        }
        (self.stops, self.gaps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const THRESHOLDS: StopRule = StopRule { speed_mps: 1.5, radius_m: 25.0 };

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, 9, 0, 0).unwrap()
    }

    fn fix(second: i64, east_m: f64, speed_mps: Option<f64>) -> Position {
        Position {
            seq: second as u64,
            t: t0() + Duration::seconds(second),
            lat: 48.0,
            lon: 11.0 + east_m / 74_600.0,
            alt_m: None,
            speed_mps,
            course_deg: None,
            fix: None,
            sats: None,
            hdop: None,
            accuracy_m: None,
        }
    }

    fn detect(track: &[Position]) -> (Vec<Stop>, Vec<Gap>) {
        let mut detector = StopsAndGaps::new(THRESHOLDS);
        for fix in track {
            detector.push(fix);
        }
        detector.finish()
    }

    /// Drives east at 10 m/s for `seconds`, from `start` s at `east_m`.
    fn drive(start: i64, seconds: i64, east_m: f64) -> Vec<Position> {
        (0..seconds).map(|s| fix(start + s, east_m + 10.0 * s as f64, Some(10.0))).collect()
    }

    #[test]
    fn a_steady_drive_has_no_stops_and_no_gaps() {
        assert_eq!(detect(&drive(0, 600, 0.0)), (vec![], vec![]));
    }

    #[test]
    fn a_six_minute_halt_is_one_stop_where_it_began() {
        let mut track = drive(0, 100, 0.0);
        track.extend((100..460).map(|s| fix(s, 1000.0, Some(0.0))));
        track.extend(drive(460, 100, 1000.0));
        let (stops, gaps) = detect(&track);
        assert_eq!(gaps, vec![]);
        assert_eq!(stops.len(), 1, "{stops:?}");
        assert_eq!(stops[0].from, t0() + Duration::seconds(100));
        assert_eq!(stops[0].duration(), Duration::seconds(359), "first to last stopped fix");
        assert!((stops[0].lon - (11.0 + 1000.0 / 74_600.0)).abs() < 1e-12);
    }

    #[test]
    fn a_halt_shorter_than_two_minutes_is_no_stop() {
        let mut track = drive(0, 100, 0.0);
        track.extend((100..219).map(|s| fix(s, 1000.0, Some(0.0))));
        track.extend(drive(219, 100, 1000.0));
        assert_eq!(detect(&track).0, vec![]);
    }

    #[test]
    fn a_parked_receivers_drift_stays_one_stop_though_it_reports_speed() {
        let mut track = drive(0, 100, 0.0);
        // Wanders up to 8 m back and forth, reporting up to 8 m/s now and then.
        track.extend((100..400).map(|s| {
            let wobble = ((s * 7919) % 11) as f64 - 5.0;
            fix(s, 1000.0 + wobble * 1.6, Some(if s % 11 == 0 { 8.0 } else { 0.3 }))
        }));
        track.extend(drive(400, 100, 1010.0));
        let stops = detect(&track).0;
        assert_eq!(stops.len(), 1, "{stops:?}");
        assert!(stops[0].duration() >= Duration::seconds(290));
    }

    #[test]
    fn without_reported_speeds_the_speed_comes_from_the_fixes() {
        let mut track: Vec<Position> = (0..100).map(|s| fix(s, 10.0 * s as f64, None)).collect();
        track.extend((100..300).map(|s| fix(s, 1000.0, None)));
        track.extend((300..400).map(|s| fix(s, 1000.0 + 10.0 * (s - 300) as f64, None)));
        let stops = detect(&track).0;
        assert_eq!(stops.len(), 1, "{stops:?}");
        // A fix's speed is that of the second before it: the fix at 100 s arrives (10 m from
        // the one before), the one at 300 s has not moved yet.
        assert_eq!(stops[0].from, t0() + Duration::seconds(101));
        assert_eq!(stops[0].to, t0() + Duration::seconds(300));
    }

    #[test]
    fn a_silence_longer_than_thirty_seconds_is_one_gap() {
        let mut track = drive(0, 100, 0.0);
        track.extend(drive(280, 100, 2800.0));
        let (stops, gaps) = detect(&track);
        assert_eq!(stops, vec![]);
        assert_eq!(gaps, vec![Gap { from: t0() + Duration::seconds(99), to: t0() + Duration::seconds(280) }]);
        assert_eq!(gaps[0].duration(), Duration::seconds(181));
    }

    #[test]
    fn thirty_seconds_exactly_is_no_gap() {
        let mut track = drive(0, 10, 0.0);
        track.extend(drive(39, 10, 390.0));
        assert_eq!(detect(&track).1, vec![]);
        let mut track = drive(0, 10, 0.0);
        track.extend(drive(40, 10, 400.0));
        assert_eq!(detect(&track).1.len(), 1);
    }

    #[test]
    fn a_stop_goes_on_through_a_silence_only_if_the_vehicle_stood_still() {
        // Stopped, silent for 5 minutes, still there afterwards: one stop over the silence.
        let mut track: Vec<Position> = (0..60).map(|s| fix(s, 0.0, Some(0.0))).collect();
        track.extend((360..420).map(|s| fix(s, 2.0, Some(0.0))));
        let (stops, gaps) = detect(&track);
        assert_eq!(gaps.len(), 1);
        assert_eq!(stops.len(), 1);
        assert_eq!(stops[0].duration(), Duration::seconds(419));
        // Stopped, silent, and slow again 3 km away: two halts, each too short to be a stop.
        let mut track: Vec<Position> = (0..60).map(|s| fix(s, 0.0, Some(0.0))).collect();
        track.extend((360..420).map(|s| fix(s, 3000.0, Some(0.0))));
        assert_eq!(detect(&track).0, vec![]);
    }

    #[test]
    fn a_stop_still_going_at_the_end_counts() {
        let mut track = drive(0, 10, 0.0);
        track.extend((10..200).map(|s| fix(s, 100.0, Some(0.0))));
        let stops = detect(&track).0;
        assert_eq!(stops.len(), 1);
        assert_eq!(stops[0].to, t0() + Duration::seconds(199));
    }

    #[test]
    fn an_empty_track_has_nothing() {
        assert_eq!(detect(&[]), (vec![], vec![]));
    }
}
