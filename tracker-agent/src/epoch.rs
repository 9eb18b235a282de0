//! Turns a receiver's sentences into one fix per epoch.
//!
//! A receiver reports each epoch (one UTC time of fix) in several sentences: position and
//! quality in GGA, date, speed and course in RMC, the fix dimension in GSA. They are merged by
//! their UTC time; when a sentence with a new time arrives, the previous epoch is complete.
//! An epoch without a valid fix is reported as such, never as a position.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use convoy_core::FixMode;

use crate::nav::{self, Nav};

/// One epoch's merged fix.
#[derive(Clone, Debug, PartialEq)]
pub struct Fix {
    pub t: DateTime<Utc>,
    pub lat: f64,
    pub lon: f64,
    pub alt_m: Option<f64>,
    pub speed_mps: Option<f64>,
    pub course_deg: Option<f64>,
    pub fix: FixMode,
    pub sats: Option<u32>,
    pub hdop: Option<f64>,
    /// The receiver sent no date for this epoch: it was taken from the host clock.
    pub date_from_host_clock: bool,
    /// The receiver's date was 1024 weeks (or twice that) in the past and was corrected
    /// ([`crate::rollover`]); `t` is the corrected time.
    pub week_rollover_corrected: bool,
}

/// What one completed epoch was.
#[derive(Clone, Debug, PartialEq)]
pub enum Epoch {
    Fix(Fix),
    /// The receiver reported this epoch without a fix (RMC `V`, GGA quality 0, GNS mode `N`).
    NoFix,
}

/// Why a checksummed sentence was not used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    /// A navigation sentence with nothing readable in it.
    Unparsable,
    /// Not navigation data (satellites in view, AIS, depth, proprietary...).
    Ignored,
}

/// What the sentences of the epoch in progress said so far. Where several sentences give the
/// same value, the last one wins, as in gpsd.
#[derive(Debug, Default)]
struct Partial {
    time: Option<NaiveTime>,
    date: Option<NaiveDate>,
    /// The last valid position reported.
    lat_lon: Option<(f64, f64)>,
    alt_m: Option<f64>,
    speed_mps: Option<f64>,
    course_deg: Option<f64>,
    sats: Option<u32>,
    hdop: Option<f64>,
    mode: Option<FixMode>,
    /// A sentence said there is no fix.
    invalid_seen: bool,
}

/// Merges sentences into epochs. Feed it sentences in arrival order.
#[derive(Debug, Default)]
pub struct EpochAssembler {
    current: Partial,
    /// The last date and time of fix, to carry a date across sentences that have none and
    /// across UTC midnight.
    last: Option<NaiveDateTime>,
    /// Whether the date of `last` came from the host clock rather than the receiver.
    last_date_from_host: bool,
    /// The time of the epoch completed last: late sentences of it (after a quiet flush) are
    /// dropped rather than made into a second fix of the same epoch.
    last_emitted: Option<NaiveTime>,
}

impl EpochAssembler {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one checksummed sentence. Returns the previous epoch if this sentence starts a new
    /// one. `host_now` is only used when the receiver has never sent a date.
    pub fn push(&mut self, sentence: &str, host_now: DateTime<Utc>) -> Result<Option<Epoch>, Skip> {
        let nav = match nav::read(sentence) {
            Ok(Some(nav)) => nav,
            Ok(None) => return Err(Skip::Ignored),
            Err(nav::Unreadable) => return Err(Skip::Unparsable),
        };
        if nav.time.is_some() && nav.time == self.last_emitted && self.current.time.is_none() {
            return Ok(None);
        }
        let mut finished = None;
        if let Some(time) = nav.time {
            if self.current.time.is_some_and(|t| t != time) {
                finished = self.finish(host_now);
            }
            self.current.time = Some(time);
        }
        self.current.apply(nav);
        Ok(finished)
    }

    /// Completes the epoch in progress, e.g. when the receiver has gone quiet.
    pub fn flush(&mut self, host_now: DateTime<Utc>) -> Option<Epoch> {
        self.finish(host_now)
    }

    fn finish(&mut self, host_now: DateTime<Utc>) -> Option<Epoch> {
        let p = std::mem::take(&mut self.current);
        let time = p.time?;
        self.last_emitted = Some(time);
        let (date, date_from_host_clock) = match p.date {
            Some(date) => (date, false),
            None => match self.last {
                Some(last) => (roll_date(last, time), self.last_date_from_host),
                None => (nearest_date(host_now, time), true),
            },
        };
        let when = date.and_time(time);
        self.last = Some(when);
        self.last_date_from_host = date_from_host_clock;
        // A receiver that gives a valid position in one sentence and says "no fix" in another
        // of the same epoch is taken at its valid position, as gpsd does.
        let Some((lat, lon)) = p.lat_lon else {
            return p.invalid_seen.then_some(Epoch::NoFix);
        };
        let fix = p.mode.unwrap_or(if p.alt_m.is_some() { FixMode::ThreeD } else { FixMode::TwoD });
        Some(Epoch::Fix(Fix {
            t: when.and_utc(),
            lat,
            lon,
            alt_m: p.alt_m,
            speed_mps: p.speed_mps,
            course_deg: p.course_deg,
            fix,
            sats: p.sats,
            hdop: p.hdop,
            date_from_host_clock,
            week_rollover_corrected: false,
        }))
    }
}

impl Partial {
    fn apply(&mut self, nav: Nav) {
        self.date = nav.date.or(self.date);
        match nav.valid {
            Some(false) => self.invalid_seen = true,
            Some(true) => {
                if let Some(position) = nav.lat_lon {
                    self.lat_lon = Some(position);
                }
                self.speed_mps = nav.speed_mps.or(self.speed_mps);
                self.course_deg = nav.course_deg.or(self.course_deg);
                self.alt_m = nav.alt_m.or(self.alt_m);
            }
            // VTG and GSA carry no validity of their own.
            None => {
                self.speed_mps = nav.speed_mps.or(self.speed_mps);
                self.course_deg = nav.course_deg.or(self.course_deg);
            }
        }
        self.sats = nav.sats.or(self.sats);
        self.hdop = nav.hdop.or(self.hdop);
        self.mode = nav.mode.or(self.mode);
    }
}

/// The date of a time of day that follows `last`: the same day, or the next after midnight.
fn roll_date(last: NaiveDateTime, time: NaiveTime) -> NaiveDate {
    if time < last.time() && last.time() - time > Duration::hours(12) {
        last.date() + Duration::days(1)
    } else {
        last.date()
    }
}

/// The date that puts `time` nearest to the host clock (yesterday, today or tomorrow in UTC).
fn nearest_date(host_now: DateTime<Utc>, time: NaiveTime) -> NaiveDate {
    let today = host_now.date_naive();
    [today - Duration::days(1), today, today + Duration::days(1)]
        .into_iter()
        .min_by_key(|d| (d.and_time(time).and_utc() - host_now).num_milliseconds().abs())
        .unwrap_or(today)
}

#[cfg(test)]
mod tests;
