//! Each vehicle's progress along its move's route, how far it has left, and an estimated
//! arrival: worked out here because this is where each fix is matched to the route.
//!
//! Like the rules, it runs on fix time only (never a clock): the same fixes give the same
//! figures live and in a replay. The pace behind the estimate is the progress made along the
//! route over the last [`PACE_WINDOW_S`] of fixes, not the receiver's speed: a truck doing
//! 80 km/h between traffic lights, halts and a queue at a junction arrives later than its
//! speedometer says, and the recent progress rate has those in it. It also counts only the
//! distance that brings it nearer the end (a detour's metres are not progress).

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use convoy_core::progress::{ProgressState, VehicleProgress};
use convoy_core::VehicleId;

use super::seconds;

/// The pace is the progress made over this much of the latest fixes' time.
const PACE_WINDOW_S: f64 = 300.0;
/// Too short a stretch for a pace worth an estimate: the state is `measuring` until then.
const MIN_PACE_SPAN_S: f64 = 30.0;
/// Fixes kept for the pace are at least this far apart, so a vehicle reporting at 10 Hz costs
/// what one at 1 Hz does: at most about 62 samples per vehicle.
const SAMPLE_EVERY_S: f64 = 5.0;
/// A vehicle that made less than `STOPPED_UNDER_M` of progress over the last `STOPPED_WITHIN_S`
/// is stopped: it has no estimate until it moves on. Shorter than the pace's window, so a halt
/// shows within a minute, not after the five-minute pace has run down.
const STOPPED_WITHIN_S: f64 = 60.0;
const STOPPED_UNDER_M: f64 = 10.0;
/// A pace under this (36 m an hour... a crawl of 0.1 m/s) is no pace to estimate from.
const MIN_PACE_MPS: f64 = 0.1;
/// This close to the route's end (along it), the vehicle has arrived: a truck parks at the
/// dock, a few tens of metres before or beside the route's last point.
pub(super) const ARRIVED_WITHIN_M: f64 = 50.0;

#[derive(Clone, Copy, Debug, PartialEq)]
struct Sample {
    t: DateTime<Utc>,
    progress_m: f64,
}

/// What one vehicle's recent fixes say of its progress along one move's route.
#[derive(Debug, Default)]
pub(super) struct ProgressTracker {
    /// Thinned fixes, oldest first: the oldest is the newest one at or before the pace window's
    /// start as of the newest sample, so the pace spans the whole window (up to 5 s more) once
    /// there is that much.
    samples: VecDeque<Sample>,
    /// When the newest sample was taken (the back of `samples`, kept here to skip the heap).
    newest_sample: Option<DateTime<Utc>>,
    last: Option<Sample>,
    /// Whether the last fix was inside the corridor (or at an origin, destination or allowed
    /// stop, as the rules count it).
    inside_corridor: bool,
}

impl ProgressTracker {
    /// Takes a fix matched `progress_m` along the route at `t` (newer than the last one).
    pub fn record(&mut self, t: DateTime<Utc>, progress_m: f64, inside_corridor: bool) {
        let sample = Sample { t, progress_m };
        // Most fixes only move `last`: a sample is kept every 5 s and the window pruned then,
        // so the samples' heap memory is touched at one fix in five at 1 Hz, not at each (the
        // engine runs a million fixes a second; a cache miss per fix cost it a tenth).
        if self.newest_sample.is_none_or(|newest| seconds(newest, t) >= SAMPLE_EVERY_S) {
            self.samples.push_back(sample);
            self.newest_sample = Some(t);
            while self.samples.len() >= 2 && seconds(self.samples[1].t, t) >= PACE_WINDOW_S {
                self.samples.pop_front();
            }
        }
        self.last = Some(sample);
        self.inside_corridor = inside_corridor;
    }

    /// The figures as of the last fix; `None` before the first.
    pub fn figures(
        &self,
        move_id: &str,
        vehicle: &VehicleId,
        route_length_m: f64,
    ) -> Option<VehicleProgress> {
        let last = self.last?;
        let remaining_m = (route_length_m - last.progress_m).max(0.0);
        let pace_mps = self.pace_mps(last);
        let state = if remaining_m <= ARRIVED_WITHIN_M {
            ProgressState::Arrived
        } else if !self.inside_corridor {
            ProgressState::OffRoute
        } else if self.stopped(last) || pace_mps.is_some_and(|pace| pace < MIN_PACE_MPS) {
            ProgressState::Stopped
        } else if pace_mps.is_none() {
            ProgressState::Measuring
        } else {
            ProgressState::OnRoute
        };
        let eta = match (state, pace_mps) {
            (ProgressState::OnRoute, Some(pace)) => {
                Some(last.t + chrono::Duration::seconds((remaining_m / pace).round() as i64))
            }
            _ => None,
        };
        Some(VehicleProgress {
            move_id: move_id.to_string(),
            vehicle: vehicle.clone(),
            state,
            progress_m: tenth(last.progress_m),
            route_length_m: tenth(route_length_m),
            remaining_m: tenth(remaining_m),
            speed_mps: pace_mps.map(|pace| (pace * 100.0).round() / 100.0),
            eta,
            as_of: last.t,
            estimate: true,
        })
    }

    /// Progress per second from the oldest kept fix to the last, if they span enough time.
    fn pace_mps(&self, last: Sample) -> Option<f64> {
        let oldest = self.samples.front()?;
        let span_s = seconds(oldest.t, last.t);
        (span_s >= MIN_PACE_SPAN_S).then(|| (last.progress_m - oldest.progress_m).max(0.0) / span_s)
    }

    /// Whether the last minute of fixes made next to no progress (false with less than a
    /// minute of them: the pace decides then).
    fn stopped(&self, last: Sample) -> bool {
        self.samples
            .iter()
            .rev()
            .find(|s| seconds(s.t, last.t) >= STOPPED_WITHIN_S)
            .is_some_and(|before| last.progress_m - before.progress_m < STOPPED_UNDER_M)
    }
}

fn tenth(metres: f64) -> f64 {
    (metres * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    const LENGTH_M: f64 = 10_000.0;

    fn t(s: i64) -> DateTime<Utc> {
        "2026-12-07T15:00:00Z".parse::<DateTime<Utc>>().unwrap() + chrono::Duration::seconds(s)
    }

    fn figures(tracker: &ProgressTracker) -> VehicleProgress {
        tracker.figures("m1", &VehicleId::new("truck").unwrap(), LENGTH_M).unwrap()
    }

    /// Fixes at 1 Hz from second `from` to `to` (excluded), `progress(s)` metres along.
    fn drive(tracker: &mut ProgressTracker, from: i64, to: i64, progress: impl Fn(i64) -> f64) {
        for s in from..to {
            tracker.record(t(s), progress(s), true);
        }
    }

    #[test]
    fn nothing_before_the_first_fix_and_measuring_before_half_a_minute() {
        let mut tracker = ProgressTracker::default();
        assert!(tracker.figures("m1", &VehicleId::new("truck").unwrap(), LENGTH_M).is_none());
        drive(&mut tracker, 0, 20, |s| 10.0 * s as f64);
        let p = figures(&tracker);
        assert_eq!((p.state, p.eta, p.speed_mps), (ProgressState::Measuring, None, None));
        assert_eq!((p.progress_m, p.remaining_m, p.route_length_m), (190.0, 9_810.0, LENGTH_M));
        assert_eq!(p.as_of, t(19));
        assert!(p.estimate);
    }

    #[test]
    fn at_a_steady_pace_the_arrival_is_the_remaining_distance_at_that_pace() {
        let mut tracker = ProgressTracker::default();
        drive(&mut tracker, 0, 400, |s| 10.0 * s as f64);
        let p = figures(&tracker);
        assert_eq!(p.state, ProgressState::OnRoute);
        assert_eq!(p.speed_mps, Some(10.0));
        assert_eq!(p.progress_m, 3_990.0);
        assert_eq!(p.remaining_m, 6_010.0);
        // 6,010 m at 10 m/s: 601 s after the last fix.
        assert_eq!(p.eta, Some(t(399 + 601)));
    }

    #[test]
    fn the_pace_is_the_last_five_minutes_progress_halts_included() {
        let mut tracker = ProgressTracker::default();
        // 10 m/s for 10 minutes, then 2 minutes standing, then 3 minutes at 10 m/s again: the
        // last five minutes made 1,800 m, so 6 m/s, though the receiver says 10.
        drive(&mut tracker, 0, 600, |s| 10.0 * s as f64);
        drive(&mut tracker, 600, 720, |_| 6_000.0);
        drive(&mut tracker, 720, 901, |s| 6_000.0 + 10.0 * (s - 720) as f64);
        let p = figures(&tracker);
        assert_eq!(p.state, ProgressState::OnRoute);
        let pace = p.speed_mps.unwrap();
        assert_eq!(pace, 6.0, "1,800 m from second 600 to second 900");
        // 2,200 m left at 6 m/s: 367 s after the last fix.
        assert_eq!((p.remaining_m, p.eta), (2_200.0, Some(t(900 + 367))));
    }

    #[test]
    fn a_halt_has_no_arrival_and_moving_on_brings_it_back() {
        let mut tracker = ProgressTracker::default();
        drive(&mut tracker, 0, 300, |s| 10.0 * s as f64);
        assert_eq!(figures(&tracker).state, ProgressState::OnRoute);
        // Standing from second 300 on: within a minute it is stopped, without an arrival.
        drive(&mut tracker, 300, 330, |_| 2_990.0);
        assert_eq!(figures(&tracker).state, ProgressState::OnRoute, "30 s still holds 10 m of the minute");
        drive(&mut tracker, 330, 600, |_| 2_990.0);
        let halted = figures(&tracker);
        assert_eq!((halted.state, halted.eta), (ProgressState::Stopped, None));
        assert_eq!(halted.remaining_m, 7_010.0);
        // Driving on: stopped until the last minute holds 10 m of progress, then an arrival.
        drive(&mut tracker, 600, 601, |_| 2_995.0);
        assert_eq!(figures(&tracker).state, ProgressState::Stopped);
        drive(&mut tracker, 601, 660, |s| 2_990.0 + 10.0 * (s - 600) as f64);
        let moving = figures(&tracker);
        assert_eq!(moving.state, ProgressState::OnRoute);
        assert!(moving.eta.is_some_and(|eta| eta > t(659)));
    }

    #[test]
    fn off_the_corridor_there_is_no_arrival() {
        let mut tracker = ProgressTracker::default();
        drive(&mut tracker, 0, 120, |s| 10.0 * s as f64);
        tracker.record(t(120), 1_200.0, false);
        let p = figures(&tracker);
        assert_eq!((p.state, p.eta), (ProgressState::OffRoute, None));
        assert!(p.speed_mps.is_some(), "the pace is still told");
        tracker.record(t(121), 1_210.0, true);
        assert_eq!(figures(&tracker).state, ProgressState::OnRoute);
    }

    #[test]
    fn near_the_end_it_has_arrived_and_never_has_less_than_nothing_left() {
        let mut tracker = ProgressTracker::default();
        drive(&mut tracker, 0, 100, |s| 9_000.0 + 9.6 * s as f64);
        let p = figures(&tracker);
        assert_eq!((p.state, p.eta), (ProgressState::Arrived, None));
        assert!(p.remaining_m <= ARRIVED_WITHIN_M);
        tracker.record(t(100), 10_000.0, false);
        let p = figures(&tracker);
        assert_eq!((p.state, p.remaining_m), (ProgressState::Arrived, 0.0), "arrived, even beside the dock");
    }

    #[test]
    fn memory_stays_bounded_at_a_high_fix_rate() {
        let mut tracker = ProgressTracker::default();
        for tenth_s in 0..36_000i64 {
            let at = t(0) + chrono::Duration::milliseconds(tenth_s * 100);
            tracker.record(at, tenth_s as f64, true);
        }
        assert!(
            tracker.samples.len() <= (PACE_WINDOW_S / SAMPLE_EVERY_S) as usize + 2,
            "{}",
            tracker.samples.len()
        );
        assert_eq!(figures(&tracker).speed_mps, Some(10.0));
    }
}
