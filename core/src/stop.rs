//! What a stop is: one definition for the `unplanned_stop` rule and for the stops that a
//! replay and a move report show, so the record shows the stop an alert was raised for.
//!
//! - A vehicle is **stopped** from a fix on while each later fix is within `stop_radius_m` of
//!   it (a parked receiver's drift wanders metres and may report speeds of a few m/s), or is
//!   slower than `stop_speed_mps` and was reached from the previous fix no faster than that
//!   (after a gap in the data the vehicle may be kilometres on, slowing for a light: that is
//!   not the old stop). The first fix that is neither ends the stop and is where the next
//!   candidate begins: a moving vehicle's candidate stops last a second or two.
//! - A fix's speed is the one its receiver reported or, when it reported none, the one implied
//!   by the previous fix.
//! - How long a vehicle has been stopped counts from the fix the stop began at: the last one
//!   that moved it on. That is what `unplanned_stop` waits `stop_after_s` for.
//! - Where and when it was seen **standing** is its first to its last slow fix (where there is
//!   none, the whole stop): what a replay and a report show.
//!
//! Callers leave out fixes marked implausible: they are known to be wrong.

use chrono::{DateTime, Utc};
use geo::Point;

use crate::geometry::short_distance_m;
use crate::rules::RuleSettings;

/// The thresholds of [the definition](self).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StopRule {
    /// Slower than this is stopped, in m/s.
    pub speed_mps: f64,
    /// Staying within this many metres of where a stop began keeps it going.
    pub radius_m: f64,
}

impl From<&RuleSettings> for StopRule {
    fn from(rules: &RuleSettings) -> Self {
        StopRule { speed_mps: rules.stop_speed_mps, radius_m: rules.stop_radius_m }
    }
}

impl StopRule {
    /// Whether a vehicle stopped at `stop_at` is still stopped at `fix`: the definition.
    pub fn keeps(&self, stop_at: Point, fix: &StopFix) -> bool {
        let slow = fix.speed_mps < self.speed_mps;
        short_distance_m(stop_at, fix.at) <= self.radius_m || (slow && fix.implied_mps < self.speed_mps)
    }
}

/// A fix as the definition sees it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StopFix {
    pub t: DateTime<Utc>,
    pub at: Point,
    /// As the receiver reported it, else as implied by the previous fix.
    pub speed_mps: f64,
    /// The average speed from the previous fix to this one (0 for the first).
    pub implied_mps: f64,
}

impl StopFix {
    /// A fix at `at` and `t`, with the receiver's speed if it reported one, after `previous`.
    pub fn new(
        t: DateTime<Utc>,
        at: Point,
        reported_mps: Option<f64>,
        previous: Option<(Point, DateTime<Utc>)>,
    ) -> Self {
        let implied_mps = previous.map_or(0.0, |(before, then)| implied_speed_mps(before, then, at, t));
        StopFix { t, at, speed_mps: reported_mps.unwrap_or(implied_mps), implied_mps }
    }
}

/// The average speed from `before` at `then` to `here` at `now`; 0 when no time passed.
pub fn implied_speed_mps(before: Point, then: DateTime<Utc>, here: Point, now: DateTime<Utc>) -> f64 {
    let seconds = (now - then).num_milliseconds() as f64 / 1000.0;
    if seconds > 0.0 {
        short_distance_m(before, here) / seconds
    } else {
        0.0
    }
}

/// A stop (or a candidate one) as far as it has been seen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stop {
    /// The fix it began at: the last one that moved the vehicle on.
    pub from: DateTime<Utc>,
    pub at: Point,
    /// Its latest fix.
    pub last: DateTime<Utc>,
    /// Its first slow fix and where that was, and its latest slow fix.
    slow: Option<(DateTime<Utc>, Point, DateTime<Utc>)>,
}

impl Stop {
    /// When and where the vehicle was seen standing: from its first to its latest slow fix,
    /// placed at the first; the whole stop if no fix was slow.
    pub fn standing(&self) -> (DateTime<Utc>, DateTime<Utc>, Point) {
        match self.slow {
            Some((first, at, last)) => (first, last, at),
            None => (self.from, self.last, self.at),
        }
    }
}

/// Follows one vehicle's fixes, in fix-time order, through its stops.
#[derive(Clone, Debug, Default)]
pub struct StopDetector {
    current: Option<Stop>,
}

impl StopDetector {
    /// The next fix, judged by `rule`. Returns the stop it ended, if it ended one (it begins
    /// the next candidate).
    pub fn push(&mut self, rule: &StopRule, fix: &StopFix) -> Option<Stop> {
        let slow = fix.speed_mps < rule.speed_mps;
        if let Some(stop) = &mut self.current {
            if rule.keeps(stop.at, fix) {
                stop.last = fix.t;
                if slow {
                    let first = stop.slow.map_or((fix.t, fix.at), |(t, at, _)| (t, at));
                    stop.slow = Some((first.0, first.1, fix.t));
                }
                return None;
            }
        }
        let next =
            Stop { from: fix.t, at: fix.at, last: fix.t, slow: slow.then_some((fix.t, fix.at, fix.t)) };
        self.current.replace(next)
    }

    /// The stop going on (a candidate of no length while the vehicle moves).
    pub fn current(&self) -> Option<&Stop> {
        self.current.as_ref()
    }

    /// The stop still going on at the end of the track, if any.
    pub fn finish(self) -> Option<Stop> {
        self.current
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    const RULE: StopRule = StopRule { speed_mps: 1.5, radius_m: 25.0 };

    fn t(second: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, 9, 0, 0).unwrap() + Duration::seconds(second)
    }

    /// `east_m` metres east of 11°E on 48°N.
    fn fix(second: i64, east_m: f64, speed_mps: f64, implied_mps: f64) -> StopFix {
        StopFix { t: t(second), at: Point::new(11.0 + east_m / 74_600.0, 48.0), speed_mps, implied_mps }
    }

    #[test]
    fn a_stop_counts_from_the_last_fix_that_moved_the_vehicle_on() {
        let mut detector = StopDetector::default();
        assert_eq!(detector.push(&RULE, &fix(0, 0.0, 10.0, 10.0)), None);
        detector.push(&RULE, &fix(1, 10.0, 0.5, 10.0));
        detector.push(&RULE, &fix(2, 10.0, 0.0, 0.0));
        let stop = detector.current().unwrap();
        assert_eq!((stop.from, stop.last), (t(0), t(2)));
        assert_eq!(stop.standing().0, t(1), "seen standing from its first slow fix");
        assert_eq!(stop.standing().2, Point::new(11.0 + 10.0 / 74_600.0, 48.0));
    }

    #[test]
    fn drift_within_the_radius_keeps_the_stop_though_it_reports_speed() {
        let mut detector = StopDetector::default();
        detector.push(&RULE, &fix(0, 0.0, 0.0, 0.0));
        assert_eq!(detector.push(&RULE, &fix(1, 20.0, 8.0, 20.0)), None, "near: still stopped");
        let stop = detector.current().unwrap();
        assert_eq!((stop.last, stop.standing().1), (t(1), t(0)), "not slow: not seen standing");
    }

    #[test]
    fn far_and_reached_fast_ends_the_stop_and_begins_the_next() {
        let mut detector = StopDetector::default();
        detector.push(&RULE, &fix(0, 0.0, 0.0, 0.0));
        detector.push(&RULE, &fix(200, 0.0, 0.0, 0.0));
        // After a silence, slow again 3 km on: it drove there, so the old stop is over.
        let ended = detector.push(&RULE, &fix(500, 3000.0, 0.0, 10.0)).expect("the stop ended");
        assert_eq!((ended.from, ended.last), (t(0), t(200)));
        assert_eq!(detector.current().map(|s| s.from), Some(t(500)));
    }

    #[test]
    fn slow_and_reached_slowly_keeps_the_stop_beyond_the_radius() {
        let mut detector = StopDetector::default();
        detector.push(&RULE, &fix(0, 0.0, 0.0, 0.0));
        assert_eq!(detector.push(&RULE, &fix(40, 40.0, 1.0, 1.0)), None, "crawling in a jam");
        assert_eq!(detector.finish().map(|s| s.standing().1), Some(t(40)));
    }

    #[test]
    fn the_implied_speed_is_distance_over_time_and_zero_without_time() {
        let (a, b) = (Point::new(11.0, 48.0), Point::new(11.0 + 100.0 / 74_600.0, 48.0));
        assert!((implied_speed_mps(a, t(0), b, t(10)) - 10.0).abs() < 0.05);
        assert_eq!(implied_speed_mps(a, t(0), b, t(0)), 0.0);
    }
}
