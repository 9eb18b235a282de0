//! The GPS week rollover: a receiver whose firmware counts the GPS week in 10 bits reports,
//! once the week number wraps (1999-08-22, 2019-04-07, ...), dates exactly 1024 weeks (7168
//! days) in the past: a truck's position of today dated 2007. gpsd's log `april6_2019.log` (a
//! Telit HE910 just after the 2019 rollover, dated 1999-08-22) is one.
//!
//! **What the date is checked against** (an [`Anchor`], chosen by [`TimeReference::anchor`]):
//! - The host clock, when the kernel says it is synchronised (`adjtimex` reports neither
//!   `TIME_ERROR` nor `STA_UNSYNC`: NTP, chrony or PTP disciplines it) and it reads no earlier
//!   than [`BUILD_FLOOR`]. A clock nobody synchronised may be a dead RTC's 1970 or the 2020 of
//!   an image's build: it is not trusted to tell 7168 days apart.
//! - Otherwise the build floor, [`BUILD_FLOOR`]: no clock running this code can honestly be
//!   earlier than the day the code was written, so a receiver date before it is wrong, and it
//!   is the only date `n * 1024` weeks later that is not before the floor (unambiguous for the
//!   19.6 years after the floor; gpsd uses the same rule with its build date).
//! - `time_reference = "2019-04-07T00:00:00Z"` in the configuration: a fixed trusted time,
//!   for replaying a capture made then (no floor applies); `"off"` takes dates as the receiver
//!   gives them (replaying old captures verbatim, as gpsd's regression output has them).
//!
//! **When a date is rolled over, and the correction:** against a trusted time `r`, a fix time
//! `t` is rolled over by `n` (1 or 2) when `|r - (t + n * 1024 weeks)| <= 3 days`; against
//! the floor, when `t` is before the floor, with the smallest `n` that puts it at or after the
//! floor. The correction adds `n * 1024` weeks: the time of day is the receiver's, unchanged.
//! A date within 3 days of a trusted time is never changed.
//!
//! **A date earlier than the floor that no rollover explains** (a receiver's garbage, or a
//! 1980 cold start three rollovers back) is never published as today's: the fix is withheld
//! and counted (`convoy_agent_implausible_date_total`), as the host clock cannot date it
//! either.
//!
//! A corrected fix is marked ([`crate::epoch::Fix::week_rollover_corrected`]), counted
//! (`convoy_agent_week_rollover_corrected_total`, `week_rollover_corrected` in the status)
//! and logged. The wire carries the corrected time `t`, which is also what the signed hash
//! chain covers: the canonical bytes of a fix are unchanged and hold no mark.
//! Fixes dated from the host clock (the receiver sent no date) are not checked.

use chrono::{DateTime, Duration, Utc};

/// The period of the GPS week counter of a 10-bit receiver.
pub const ROLLOVER: Duration = Duration::weeks(1024);
/// How far a corrected date may be from a trusted time: a fix is dated seconds from the host
/// clock, a replay's reference is given to the day.
pub const TOLERANCE: Duration = Duration::days(3);
/// No clock running this agent can read earlier: 2026-01-01T00:00:00Z, the start of the year
/// this rule was written. Raise it now and then (it decides for the 19.6 years after it); not
/// stamped by a build script, so builds stay reproducible.
pub const BUILD_FLOOR: DateTime<Utc> = match DateTime::from_timestamp(1_767_225_600, 0) {
    Some(t) => t,
    None => panic!("the build floor is a valid time"),
};

/// Where the agent takes a trustworthy time from (`time_reference` in the configuration).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TimeReference {
    /// The host clock when synchronised, else the build floor.
    #[default]
    Host,
    /// A fixed trusted time, for replaying a capture made then.
    Fixed(DateTime<Utc>),
    /// No check: the receiver's dates as they come.
    Off,
}

impl TimeReference {
    /// `"host"`, `"off"` or an RFC 3339 time.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "host" => Some(Self::Host),
            "off" => Some(Self::Off),
            _ => DateTime::parse_from_rfc3339(text).ok().map(|t| Self::Fixed(t.to_utc())),
        }
    }

    /// What a fix is checked against now; `host_synced` is whether the kernel says the host
    /// clock is synchronised ([`host_clock_synced`]).
    pub fn anchor(self, host_now: DateTime<Utc>, host_synced: bool) -> Anchor {
        match self {
            Self::Off => Anchor::Unchecked,
            Self::Fixed(t) => Anchor::Trusted { now: t, floor: None },
            Self::Host if host_synced && host_now >= BUILD_FLOOR => {
                Anchor::Trusted { now: host_now, floor: Some(BUILD_FLOOR) }
            }
            Self::Host => Anchor::Floor(BUILD_FLOOR),
        }
    }
}

/// What a fix's date is checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anchor {
    /// A time known to be right; dates before `floor` that it does not explain are implausible.
    Trusted {
        now: DateTime<Utc>,
        floor: Option<DateTime<Utc>>,
    },
    /// Only that the true time is not before this.
    Floor(DateTime<Utc>),
    Unchecked,
}

/// What the check made of a fix's date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Kept,
    /// The date was `rollovers * 1024` weeks in the past; this many periods were added.
    Corrected {
        rollovers: i32,
    },
    /// Before the floor, and no rollover explains it: not to be published.
    Implausible,
}

/// Checks a receiver's fix time; returns the verdict and the time to use.
pub fn check(t: DateTime<Utc>, anchor: Anchor) -> (Verdict, DateTime<Utc>) {
    let shifted = |n: i32| t + ROLLOVER * n;
    match anchor {
        Anchor::Unchecked => (Verdict::Kept, t),
        Anchor::Trusted { now, floor } => {
            if let Some(n) = (1..=2).find(|&n| (now - shifted(n)).abs() <= TOLERANCE) {
                (Verdict::Corrected { rollovers: n }, shifted(n))
            } else if floor.is_some_and(|floor| t < floor) {
                (Verdict::Implausible, t)
            } else {
                (Verdict::Kept, t)
            }
        }
        Anchor::Floor(floor) if t >= floor => (Verdict::Kept, t),
        Anchor::Floor(floor) => match (1..=2).find(|&n| shifted(n) >= floor) {
            Some(n) => (Verdict::Corrected { rollovers: n }, shifted(n)),
            None => (Verdict::Implausible, t),
        },
    }
}

/// Whether the kernel says the host clock is synchronised (read-only `adjtimex`, which needs
/// no privilege).
#[allow(unsafe_code)] // no safe wrapper of adjtimex exists in nix or rustix
pub fn host_clock_synced() -> bool {
    use nix::libc;
    // SAFETY: `timex` is plain data, zeroed is a valid value; modes = 0 only reads.
    let mut timex: libc::timex = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a timex the call may write.
    let state = unsafe { libc::adjtimex(&mut timex) };
    state >= 0 && state != libc::TIME_ERROR && timex.status & libc::STA_UNSYNC == 0
}

#[cfg(test)]
mod tests;
