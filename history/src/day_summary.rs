//! What one vehicle did in one span (a day of the daily report): distance, time moving and
//! stopped, its longest stop, data gaps and coverage, gathered as its fixes stream past in
//! fix-time order, so memory stays the same however long the track.
//!
//! # Definitions
//! Fixes marked implausible are counted (`fixes`, `implausible_fixes`) and otherwise left out:
//! they are known to be wrong. Of the others:
//! - **Stops** are [`crate::stops`]' (`core::stop`'s definition, shown when the vehicle stood two
//!   minutes or more); `stopped_s` is the sum of their lengths, from the first to the last fix
//!   seen standing (a silence inside a stop, with the vehicle in the same place on both sides,
//!   counts as stopped).
//! - **Distance** is the sum of the straight lines between consecutive fixes (across gaps too,
//!   as the move report counts it), except those inside a stop: a parked receiver's drift is
//!   not driving.
//! - **Covered** time is the sum of the intervals between consecutive fixes no more than
//!   [`GAP_AFTER_S`](crate::stops::GAP_AFTER_S) seconds apart; **coverage** is the covered time
//!   divided by the length of the span (1.0: a fix at least every 30 s from the span's start to
//!   its end; time before the first fix and after the last is not covered).
//! - **Moving** time is the covered time outside stops (a halt shorter than a stop, at a red
//!   light, is part of driving).
//! - A **gap** is two consecutive fixes more than 30 s apart ([`crate::stops`]).

use chrono::{DateTime, Duration, Utc};
use convoy_core::geometry::short_distance_m;
use convoy_core::stop::{StopDetector, StopFix, StopRule};
use convoy_store::StoredPosition;
use geo::Point;

use crate::stops::{is_gap, shown, Stop};
use crate::Span;

/// What a vehicle did in the span.
#[derive(Clone, Debug, PartialEq)]
pub struct VehicleDay {
    /// The first and last stored fix in the span (marked ones too).
    pub first_fix: Option<DateTime<Utc>>,
    pub last_fix: Option<DateTime<Utc>>,
    /// Every stored fix in the span, and how many of them are marked implausible.
    pub fixes: u64,
    pub implausible_fixes: u64,
    pub distance_m: f64,
    pub moving: Duration,
    pub stopped: Duration,
    pub stops: u64,
    pub longest_stop: Option<Stop>,
    pub gaps: u64,
    pub covered: Duration,
    /// `covered` over the span's length, 0 to 1; 0 for an empty span.
    pub coverage: f64,
}

/// Distance and covered time, kept apart until it is known whether a stop holds them.
#[derive(Clone, Copy, Debug, Default)]
struct Travel {
    metres: f64,
    covered: Duration,
}

impl Travel {
    fn add(&mut self, other: Travel) {
        self.metres += other.metres;
        self.covered += other.covered;
    }
}

/// The travel of the stop candidate `core::stop` is following, split around the stretch the
/// vehicle was seen standing (its first to its latest slow fix): only that stretch is left out
/// if the candidate turns out to be a stop.
#[derive(Clone, Copy, Debug, Default)]
struct Candidate {
    /// Up to its first slow fix.
    before: Travel,
    /// From its first to its latest slow fix.
    standing: Travel,
    /// After its latest slow fix.
    after: Travel,
    seen_slow: bool,
}

/// A vehicle's fixes in a span, summed as they pass.
pub struct DaySummary {
    span: Span,
    rule: StopRule,
    first_fix: Option<DateTime<Utc>>,
    last_fix: Option<DateTime<Utc>>,
    fixes: u64,
    implausible_fixes: u64,
    /// The last fix not marked implausible.
    previous: Option<(Point, DateTime<Utc>)>,
    detector: StopDetector,
    candidate: Candidate,
    /// Travel outside stops, settled.
    travelled: Travel,
    stopped: Duration,
    stops: u64,
    longest_stop: Option<Stop>,
    gaps: u64,
    covered: Duration,
}

impl DaySummary {
    /// A summary of the fixes in `span`, stops judged by `rule`.
    pub fn new(span: Span, rule: StopRule) -> Self {
        DaySummary {
            span,
            rule,
            first_fix: None,
            last_fix: None,
            fixes: 0,
            implausible_fixes: 0,
            previous: None,
            detector: StopDetector::default(),
            candidate: Candidate::default(),
            travelled: Travel::default(),
            stopped: Duration::zero(),
            stops: 0,
            longest_stop: None,
            gaps: 0,
            covered: Duration::zero(),
        }
    }

    /// The next fix of the span, in fix-time order.
    pub fn push(&mut self, fix: &StoredPosition) {
        let p = &fix.position;
        self.first_fix.get_or_insert(p.t);
        self.last_fix = Some(p.t);
        self.fixes += 1;
        if fix.implausible.is_some() {
            self.implausible_fixes += 1;
            return;
        }
        let here = Point::new(p.lon, p.lat);
        let leg = self.previous.map_or(Travel::default(), |(before, then)| {
            let covered = if is_gap(then, p.t) {
                self.gaps += 1;
                Duration::zero()
            } else {
                p.t - then
            };
            Travel { metres: short_distance_m(before, here), covered }
        });
        self.covered += leg.covered;

        let seen = StopFix::new(p.t, here, p.speed_mps, self.previous);
        let slow = seen.speed_mps < self.rule.speed_mps;
        let following = self.detector.current().is_some();
        match self.detector.push(&self.rule, &seen) {
            Some(ended) => {
                // The vehicle left the candidate: settle it; the leg that left it was driven.
                self.settle(&ended);
                self.travelled.add(leg);
                self.candidate = Candidate { seen_slow: slow, ..Candidate::default() };
            }
            None if !following => self.candidate = Candidate { seen_slow: slow, ..Candidate::default() },
            None => {
                let c = &mut self.candidate;
                if slow && c.seen_slow {
                    // Seen standing up to here: what came since the last slow fix is standing too.
                    c.standing.add(c.after);
                    c.standing.add(leg);
                    c.after = Travel::default();
                } else if slow {
                    c.before.add(leg);
                    c.seen_slow = true;
                } else if c.seen_slow {
                    c.after.add(leg);
                } else {
                    c.before.add(leg);
                }
            }
        }
        self.previous = Some((here, p.t));
    }

    /// A candidate is over: a stop's standing stretch is stopped time, the rest travel.
    fn settle(&mut self, ended: &convoy_core::stop::Stop) {
        let c = std::mem::take(&mut self.candidate);
        self.travelled.add(c.before);
        self.travelled.add(c.after);
        match shown(ended) {
            Some(stop) => {
                self.stops += 1;
                self.stopped += stop.duration();
                if self.longest_stop.as_ref().is_none_or(|longest| stop.duration() > longest.duration()) {
                    self.longest_stop = Some(stop);
                }
            }
            None => self.travelled.add(c.standing),
        }
    }

    pub fn finish(mut self) -> VehicleDay {
        if let Some(last) = std::mem::take(&mut self.detector).finish() {
            self.settle(&last);
        }
        let length = (self.span.to - self.span.from).num_milliseconds();
        let coverage = if length > 0 { self.covered.num_milliseconds() as f64 / length as f64 } else { 0.0 };
        VehicleDay {
            first_fix: self.first_fix,
            last_fix: self.last_fix,
            fixes: self.fixes,
            implausible_fixes: self.implausible_fixes,
            distance_m: self.travelled.metres,
            moving: self.travelled.covered,
            stopped: self.stopped,
            stops: self.stops,
            longest_stop: self.longest_stop,
            gaps: self.gaps,
            covered: self.covered,
            coverage: coverage.clamp(0.0, 1.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use convoy_core::plausibility::Implausible;
    use convoy_core::Position;

    const RULE: StopRule = StopRule { speed_mps: 1.5, radius_m: 25.0 };

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()
    }

    fn hour() -> Span {
        Span { from: t0(), to: t0() + Duration::hours(1) }
    }

    /// `east_m` metres east of 11°E on 48°N at `second`.
    fn fix(second: i64, east_m: f64, speed_mps: Option<f64>) -> StoredPosition {
        StoredPosition {
            position: Position {
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
            },
            late: false,
            implausible: None,
            received_at: t0(),
            source: None,
            prev_hash: None,
        }
    }

    /// Drives east at 10 m/s for `seconds`, from `start` s at `east_m`.
    fn drive(start: i64, seconds: i64, east_m: f64) -> Vec<StoredPosition> {
        (0..seconds).map(|s| fix(start + s, east_m + 10.0 * s as f64, Some(10.0))).collect()
    }

    /// Parked at `east_m` from `start` for `seconds`, drifting a few metres (up to 8 m) and
    /// reporting a speed of a few m/s now and then, as a parked receiver does.
    fn park(start: i64, seconds: i64, east_m: f64) -> Vec<StoredPosition> {
        (start..start + seconds)
            .map(|s| {
                let wobble = ((s * 7919) % 11) as f64 - 5.0;
                fix(s, east_m + wobble * 1.6, Some(if s % 11 == 0 { 8.0 } else { 0.2 }))
            })
            .collect()
    }

    fn summarize(span: Span, track: &[StoredPosition]) -> VehicleDay {
        let mut summary = DaySummary::new(span, RULE);
        for fix in track {
            summary.push(fix);
        }
        summary.finish()
    }

    fn close(a: f64, b: f64, within: f64) -> bool {
        (a - b).abs() <= within
    }

    #[test]
    fn a_steady_drive_is_all_distance_and_moving_time() {
        let day = summarize(hour(), &drive(0, 601, 0.0));
        assert_eq!(day.fixes, 601);
        assert_eq!(day.first_fix, Some(t0()));
        assert_eq!(day.last_fix, Some(t0() + Duration::seconds(600)));
        assert!(close(day.distance_m, 6000.0, 5.0), "{}", day.distance_m);
        assert_eq!(day.moving, Duration::seconds(600));
        assert_eq!((day.stopped, day.stops, day.longest_stop.clone()), (Duration::zero(), 0, None));
        assert_eq!(day.gaps, 0);
        assert_eq!(day.covered, Duration::seconds(600));
        assert!(close(day.coverage, 600.0 / 3600.0, 1e-9), "{}", day.coverage);
    }

    #[test]
    fn a_parked_receivers_drift_is_a_stop_and_no_distance() {
        // 10 minutes east, 10 minutes parked (drifting), 10 minutes east again.
        let mut track = drive(0, 600, 0.0);
        track.extend(park(600, 600, 6000.0));
        track.extend(drive(1200, 600, 6000.0));
        let day = summarize(hour(), &track);
        assert!(close(day.distance_m, 12_000.0, 40.0), "the drift is not driven: {}", day.distance_m);
        assert_eq!(day.stops, 1);
        let stop = day.longest_stop.clone().unwrap();
        assert!(stop.duration() >= Duration::seconds(590), "{stop:?}");
        assert_eq!(day.stopped, stop.duration());
        assert!(close(stop.lon, 11.0 + 6000.0 / 74_600.0, 10.0 / 74_600.0), "{stop:?}");
        // Covered 1799 s, of which the stop's standing stretch is not moving.
        assert_eq!(day.covered, Duration::seconds(1799));
        assert_eq!(day.moving + day.stopped, day.covered, "{day:?}");
        assert_eq!(day.gaps, 0);
    }

    #[test]
    fn a_halt_under_two_minutes_is_driving_time() {
        let mut track = drive(0, 300, 0.0);
        track.extend((300..390).map(|s| fix(s, 3000.0, Some(0.0))));
        track.extend(drive(390, 300, 3000.0));
        let day = summarize(hour(), &track);
        assert_eq!((day.stops, day.stopped), (0, Duration::zero()));
        assert_eq!(day.moving, Duration::seconds(689));
        assert!(close(day.distance_m, 5990.0, 20.0), "{}", day.distance_m);
    }

    #[test]
    fn the_longest_of_several_stops_is_kept() {
        let mut track = drive(0, 60, 0.0);
        track.extend((60..240).map(|s| fix(s, 600.0, Some(0.0))));
        track.extend(drive(240, 60, 600.0));
        track.extend((300..800).map(|s| fix(s, 1200.0, Some(0.0))));
        track.extend(drive(800, 60, 1200.0));
        let day = summarize(hour(), &track);
        assert_eq!(day.stops, 2);
        let longest = day.longest_stop.unwrap();
        assert_eq!(
            (longest.from, longest.to),
            (t0() + Duration::seconds(300), t0() + Duration::seconds(799))
        );
        assert_eq!(day.stopped, Duration::seconds(179 + 499));
    }

    #[test]
    fn a_gap_is_counted_and_lowers_the_coverage() {
        // 20 minutes of fixes, 10 minutes of silence while driving on, 10 more minutes.
        let mut track = drive(0, 1200, 0.0);
        track.extend(drive(1800, 600, 18_000.0));
        let day = summarize(hour(), &track);
        assert_eq!(day.gaps, 1);
        assert_eq!(day.covered, Duration::seconds(1199 + 599));
        assert!(close(day.coverage, 1798.0 / 3600.0, 1e-9), "{}", day.coverage);
        // The line across the gap is driven (as the move report counts it), not covered time.
        assert!(close(day.distance_m, 23_990.0, 20.0), "{}", day.distance_m);
        assert_eq!(day.moving, day.covered);
    }

    #[test]
    fn thirty_seconds_apart_is_covered_and_thirty_one_is_a_gap() {
        let track = [fix(0, 0.0, Some(10.0)), fix(30, 300.0, Some(10.0)), fix(61, 610.0, Some(10.0))];
        let day = summarize(hour(), &track);
        assert_eq!((day.gaps, day.covered), (1, Duration::seconds(30)));
    }

    #[test]
    fn a_fix_every_second_over_the_whole_span_covers_it() {
        let span = Span { from: t0(), to: t0() + Duration::seconds(600) };
        let mut track = drive(0, 601, 0.0);
        track.pop();
        let day = summarize(span, &track);
        assert!(close(day.coverage, 599.0 / 600.0, 1e-9), "{}", day.coverage);
    }

    #[test]
    fn an_implausible_fix_is_counted_but_neither_driven_nor_covering() {
        let mut track = drive(0, 10, 0.0);
        let mut jump = fix(10, 900_000.0, Some(10.0));
        jump.implausible = Some(Implausible::TooFast);
        track.push(jump);
        track.extend(drive(11, 10, 110.0));
        let day = summarize(hour(), &track);
        assert_eq!((day.fixes, day.implausible_fixes), (21, 1));
        assert!(close(day.distance_m, 200.0, 2.0), "{}", day.distance_m);
        assert_eq!(day.covered, Duration::seconds(20));
    }

    #[test]
    fn a_stop_still_going_at_the_end_of_the_span_counts() {
        let mut track = drive(0, 60, 0.0);
        track.extend((60..400).map(|s| fix(s, 600.0, Some(0.0))));
        let day = summarize(hour(), &track);
        assert_eq!(day.stops, 1);
        assert_eq!(day.stopped, Duration::seconds(339));
        assert_eq!(day.moving, Duration::seconds(60));
    }

    #[test]
    fn no_fixes_is_an_empty_day() {
        let day = summarize(hour(), &[]);
        assert_eq!((day.fixes, day.first_fix, day.gaps, day.stops), (0, None, 0, 0));
        assert_eq!((day.distance_m, day.coverage), (0.0, 0.0));
        let empty = Span { from: t0(), to: t0() };
        assert_eq!(summarize(empty, &drive(0, 5, 0.0)).coverage, 0.0, "an empty span covers nothing");
    }
}
