//! Where a move is in its life at a given time: planned, running, ended or cancelled. Computed
//! from its window and a person's end when asked, never stored: a window's start and end pass
//! without anyone writing anything.

use chrono::{DateTime, Utc};

use super::MoveRecord;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MoveState {
    /// Its window has not started.
    Planned,
    /// Inside its window (a move without one runs from its creation).
    Running,
    /// Its window closed, or a person ended it early.
    Ended,
    /// A person called it off before it started.
    Cancelled,
}

impl MoveState {
    /// The state at `now` of a move that runs from `starts_at` until `ends_at` (`None`: no
    /// end), with a person's end `(when, cancelled)` if there is one. A person's end stands
    /// from its time on; it is never in the future, as it is recorded when made.
    pub fn at(
        now: DateTime<Utc>,
        starts_at: DateTime<Utc>,
        ends_at: Option<DateTime<Utc>>,
        end: Option<(DateTime<Utc>, bool)>,
    ) -> MoveState {
        match end {
            Some((at, true)) if at <= now => MoveState::Cancelled,
            Some((at, false)) if at <= now => MoveState::Ended,
            _ if ends_at.is_some_and(|end| end < now) => MoveState::Ended,
            _ if now < starts_at => MoveState::Planned,
            _ => MoveState::Running,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MoveState::Planned => "planned",
            MoveState::Running => "running",
            MoveState::Ended => "ended",
            MoveState::Cancelled => "cancelled",
        }
    }
}

impl MoveRecord {
    /// The state at `now`, from the plan's window (`window.from`, `window.to`) and a person's
    /// end. Stored plans were judged on the way in; a window that does not read is taken as
    /// none.
    pub fn state_at(&self, now: DateTime<Utc>) -> MoveState {
        let time = |key: &str| {
            self.plan
                .get("window")
                .and_then(|w| w.get(key))
                .and_then(|t| t.as_str())
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc))
        };
        let end = self.end.as_ref().map(|end| (end.at, end.cancelled));
        MoveState::at(now, time("from").unwrap_or(self.created_at), time("to"), end)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    fn t(minutes: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, 9, 0, 0).unwrap() + Duration::minutes(minutes)
    }

    #[test]
    fn a_window_alone_says_planned_then_running_then_ended() {
        let state = |now| MoveState::at(t(now), t(0), Some(t(60)), None);
        assert_eq!(
            [state(-1), state(0), state(60), state(61)],
            [MoveState::Planned, MoveState::Running, MoveState::Running, MoveState::Ended]
        );
        assert_eq!(MoveState::at(t(10_000), t(0), None, None), MoveState::Running, "no end: runs on");
    }

    #[test]
    fn a_persons_end_stands_from_its_time_on() {
        assert_eq!(MoveState::at(t(30), t(0), Some(t(60)), Some((t(20), false))), MoveState::Ended);
        assert_eq!(MoveState::at(t(-5), t(0), Some(t(60)), Some((t(-10), true))), MoveState::Cancelled);
        assert_eq!(MoveState::at(t(90), t(0), Some(t(60)), Some((t(-10), true))), MoveState::Cancelled);
        assert_eq!(
            MoveState::at(t(10), t(0), None, Some((t(20), false))),
            MoveState::Running,
            "asked before it"
        );
    }
}
