//! Optional thinning of a stationary vehicle's fixes to a heartbeat.
//!
//! Off by default: every fix is published. When a heartbeat is configured, a vehicle that is
//! not moving publishes one fix per heartbeat; the first fix after starting, every fix while
//! moving, and the first fix after stopping are always kept, so the record shows when and where
//! each stop began and ended.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::epoch::Fix;

/// Below this speed a vehicle counts as stationary (GPS drift of a parked truck is slower).
const STATIONARY_SPEED_MPS: f64 = 0.5;

#[derive(Debug)]
pub struct Sampler {
    heartbeat: Option<Duration>,
    last_kept: Option<DateTime<Utc>>,
    was_moving: Option<bool>,
}

impl Sampler {
    pub fn new(heartbeat: Option<Duration>) -> Self {
        Self { heartbeat, last_kept: None, was_moving: None }
    }

    /// Whether this fix is published.
    pub fn keep(&mut self, fix: &Fix) -> bool {
        let Some(heartbeat) = self.heartbeat else { return true };
        let moving = fix.speed_mps.is_none_or(|s| s >= STATIONARY_SPEED_MPS);
        let changed = self.was_moving != Some(moving);
        self.was_moving = Some(moving);
        let due = self.last_kept.is_none_or(|last| {
            (fix.t - last).to_std().is_ok_and(|since| since >= heartbeat) || fix.t < last
            // clock went back
        });
        let keep = moving || changed || due;
        if keep {
            self.last_kept = Some(fix.t);
        }
        keep
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use convoy_core::FixMode;

    fn fix(second: i64, speed: f64) -> Fix {
        Fix {
            t: DateTime::from_timestamp(1_764_000_000 + second, 0).unwrap(),
            lat: 48.0,
            lon: 11.0,
            alt_m: None,
            speed_mps: Some(speed),
            course_deg: None,
            fix: FixMode::ThreeD,
            sats: None,
            hdop: None,
            date_from_host_clock: false,
            week_rollover_corrected: false,
        }
    }

    #[test]
    fn without_a_heartbeat_every_fix_is_kept() {
        let mut sampler = Sampler::new(None);
        assert!((0..100).all(|s| sampler.keep(&fix(s, 0.0))));
    }

    #[test]
    fn a_stationary_vehicle_keeps_one_fix_per_heartbeat_and_every_change() {
        let mut sampler = Sampler::new(Some(Duration::from_secs(30)));
        // Driving 0..10 s, parked 10..100 s, driving again from 100 s.
        let kept: Vec<i64> = (0..110)
            .filter(|&s| sampler.keep(&fix(s, if (10..100).contains(&s) { 0.1 } else { 12.0 })))
            .collect();
        let expected: Vec<i64> = (0..=10).chain([40, 70]).chain(100..110).collect();
        assert_eq!(
            kept, expected,
            "moving fixes, the first stopped one (10), heartbeats, the first moving again (100)"
        );
    }
}
