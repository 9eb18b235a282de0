//! Marks on arriving fixes: late (older than the vehicle's newest fix when it arrived) and
//! implausible (with a reason). Marks never drop a fix: the store keeps the raw values and the
//! mark beside them, so an auditor sees what the receiver said and what Convoy thought of it.

use chrono::{DateTime, Utc};

use crate::geometry::distance_m;
use crate::Position;

/// The fastest a road vehicle is believed to move: 300 km/h.
pub const MAX_PLAUSIBLE_SPEED_MPS: f64 = 300.0 / 3.6;

/// Why a fix is not believed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Implausible {
    /// Reaching it from the previous fix implies more than [`MAX_PLAUSIBLE_SPEED_MPS`].
    TooFast,
    /// Its fix time is older than the retention: it would be deleted at the next purge.
    OlderThanRetention,
}

impl Implausible {
    pub fn as_str(self) -> &'static str {
        match self {
            Implausible::TooFast => "too_fast",
            Implausible::OlderThanRetention => "older_than_retention",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "too_fast" => Some(Implausible::TooFast),
            "older_than_retention" => Some(Implausible::OlderThanRetention),
            _ => None,
        }
    }
}

/// What Convoy thought of one fix when it arrived.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Marks {
    /// Older than the vehicle's newest plausible fix at arrival (a backlog after an outage); of
    /// two fixes with the same time, the lower seq is the older.
    pub late: bool,
    pub implausible: Option<Implausible>,
}

/// Follows one vehicle's fixes as they arrive and marks each.
///
/// The reference for the speed check is the newest fix that was not too fast: a single wild fix is marked,
/// and the good fix after it is not marked for jumping back. A late fix is compared with the
/// fix that arrived just before it when that one is earlier in time (a backlog arrives in
/// sequence order), and with nothing otherwise: its true predecessor may not be known.
#[derive(Clone, Debug)]
pub struct ArrivalMarker {
    /// The vehicle's newest plausible fix so far.
    newest: Option<Position>,
    /// The fix that arrived last, if it was plausible.
    previous_arrival: Option<Position>,
    /// Fixes older than this are outside the retention.
    oldest_kept: Option<DateTime<Utc>>,
}

impl ArrivalMarker {
    /// `newest` is the vehicle's newest plausible fix already stored.
    pub fn new(newest: Option<Position>, oldest_kept: Option<DateTime<Utc>>) -> Self {
        Self { newest, previous_arrival: None, oldest_kept }
    }

    /// Marks the next arriving fix.
    pub fn mark(&mut self, fix: &Position) -> Marks {
        let late = self.newest.as_ref().is_some_and(|newest| (fix.t, fix.seq) < (newest.t, newest.seq));
        let reference = if late {
            self.previous_arrival.as_ref().filter(|previous| previous.t < fix.t)
        } else {
            self.newest.as_ref()
        };
        let fast = reference.is_some_and(|reference| too_fast(reference, fix));
        let implausible = if self.oldest_kept.is_some_and(|oldest| fix.t < oldest) {
            Some(Implausible::OlderThanRetention)
        } else if fast {
            Some(Implausible::TooFast)
        } else {
            None
        };
        // A fix from a receiver with a wrong date (an old GPS week, say) is still where the
        // vehicle is; only a fix the vehicle cannot have reached is kept out of the reference.
        if fast {
            self.previous_arrival = None;
        } else {
            if !late {
                self.newest = Some(fix.clone());
            }
            self.previous_arrival = Some(fix.clone());
        }
        Marks { late, implausible }
    }

    /// The vehicle's newest plausible fix, after everything marked so far.
    pub fn newest(&self) -> Option<&Position> {
        self.newest.as_ref()
    }
}

/// Whether going from `from` to `to` needs more than the plausible speed. Two fixes at the same
/// time count as too fast only if they are more than a metre apart (a repeated fix is not).
fn too_fast(from: &Position, to: &Position) -> bool {
    let metres = distance_m(geo::Point::new(from.lon, from.lat), geo::Point::new(to.lon, to.lat));
    let seconds = (to.t - from.t).num_milliseconds() as f64 / 1000.0;
    if seconds <= 0.0 {
        return metres > 1.0;
    }
    metres / seconds > MAX_PLAUSIBLE_SPEED_MPS
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn fix(seq: u64, second: i64, lat: f64, lon: f64) -> Position {
        let t = Utc.with_ymd_and_hms(2026, 11, 28, 9, 0, 0).unwrap() + Duration::seconds(second);
        Position::bare(seq, t, lat, lon)
    }

    /// About 111 m per 0.001 degree of latitude.
    fn north(seq: u64, second: i64, thousandths: f64) -> Position {
        fix(seq, second, 48.0 + thousandths / 1000.0, 11.0)
    }

    fn marks(marker: &mut ArrivalMarker, fixes: &[Position]) -> Vec<Marks> {
        fixes.iter().map(|f| marker.mark(f)).collect()
    }

    const OK: Marks = Marks { late: false, implausible: None };

    #[test]
    fn a_steady_drive_is_unmarked() {
        let mut marker = ArrivalMarker::new(None, None);
        let drive: Vec<_> = (0..10).map(|i| north(i, i as i64, i as f64 * 0.2)).collect();
        assert_eq!(marks(&mut marker, &drive), vec![OK; 10]);
        assert_eq!(marker.newest().unwrap().seq, 9);
    }

    #[test]
    fn a_single_wild_fix_is_marked_and_the_next_good_one_is_not() {
        let mut marker = ArrivalMarker::new(Some(north(1, 0, 0.0)), None);
        let got = marks(&mut marker, &[north(2, 1, 0.2), north(3, 2, 50.0), north(4, 3, 0.6)]);
        let wild = Marks { late: false, implausible: Some(Implausible::TooFast) };
        assert_eq!(got, vec![OK, wild, OK]);
        assert_eq!(marker.newest().unwrap().seq, 4);
    }

    #[test]
    fn just_under_300_kmh_passes_and_just_over_is_marked() {
        // 0.75 thousandths of a degree of latitude is about 83.4 m.
        let mut marker = ArrivalMarker::new(Some(north(1, 0, 0.0)), None);
        assert_eq!(marker.mark(&north(2, 1, 0.74)).implausible, None);
        let mut marker = ArrivalMarker::new(Some(north(1, 0, 0.0)), None);
        assert_eq!(marker.mark(&north(2, 1, 0.76)).implausible, Some(Implausible::TooFast));
    }

    #[test]
    fn a_backlog_after_live_fixes_is_late_and_checked_against_itself() {
        let live = north(100, 100, 20.0);
        let mut marker = ArrivalMarker::new(Some(live), None);
        let backlog: Vec<_> = (0..5).map(|i| north(10 + i, 10 + i as i64, i as f64 * 0.2)).collect();
        let got = marks(&mut marker, &backlog);
        assert!(got.iter().all(|m| m.late && m.implausible.is_none()), "{got:?}");
        // The live position does not move back.
        assert_eq!(marker.newest().unwrap().seq, 100);
        // A wild fix inside the backlog is still caught.
        let wild = marker.mark(&north(15, 15, 80.0));
        assert_eq!(wild, Marks { late: true, implausible: Some(Implausible::TooFast) });
    }

    #[test]
    fn a_fix_older_than_the_retention_is_marked() {
        let oldest = north(0, 50, 0.0).t;
        let mut marker = ArrivalMarker::new(None, Some(oldest));
        assert_eq!(marker.mark(&north(1, 10, 0.0)).implausible, Some(Implausible::OlderThanRetention));
        assert_eq!(marker.mark(&north(2, 60, 0.0)), OK);
    }

    #[test]
    fn a_repeated_fix_is_not_too_fast_but_a_split_one_is() {
        let mut marker = ArrivalMarker::new(Some(north(1, 0, 0.0)), None);
        assert_eq!(marker.mark(&north(1, 0, 0.0)), OK);
        assert_eq!(marker.mark(&north(2, 0, 1.0)).implausible, Some(Implausible::TooFast));
    }

    #[test]
    fn reasons_round_trip() {
        for reason in [Implausible::TooFast, Implausible::OlderThanRetention] {
            assert_eq!(Implausible::parse(reason.as_str()), Some(reason));
        }
        assert_eq!(Implausible::parse("other"), None);
    }
}
