//! Turns a receiver's sentences into one fix per epoch.
//!
//! A receiver reports each epoch (one UTC time of fix) in several sentences: position and
//! quality in GGA, date, speed and course in RMC, the fix dimension in GSA. They are merged by
//! their UTC time; when a sentence with a new time arrives, the previous epoch is complete.
//! An epoch without a valid fix is reported as such, never as a position.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use convoy_core::FixMode;
use nmea::sentences::gsa::GsaMode2;
use nmea::sentences::rmc::RmcStatusOfFix;
use nmea::sentences::FixType;
use nmea::ParseResult;

/// Knots to metres per second.
const KNOT_MPS: f64 = 1852.0 / 3600.0;

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
}

/// What one completed epoch was.
#[derive(Clone, Debug, PartialEq)]
pub enum Epoch {
    Fix(Fix),
    /// The receiver reported this epoch without a fix (RMC `V`, GGA quality 0, GSA mode 1).
    NoFix,
}

/// Why a checksummed sentence was not used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    /// A navigation sentence the decoder could not read.
    Unparsable,
    /// Not navigation data for us (satellites in view, AIS, depth, proprietary...).
    Ignored,
}

#[derive(Debug, Default)]
struct Partial {
    time: Option<NaiveTime>,
    date: Option<NaiveDate>,
    lat_lon: Option<(f64, f64)>,
    alt_m: Option<f64>,
    speed_mps: Option<f64>,
    course_deg: Option<f64>,
    sats: Option<u32>,
    hdop: Option<f64>,
    gsa_mode: Option<FixMode>,
    /// Some(true) when a sentence said the fix is valid, Some(false) when one said it is not.
    valid: Option<bool>,
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
        let parsed = match nmea::parse_str(sentence) {
            Ok(parsed) => parsed,
            Err(nmea::Error::Unsupported(_) | nmea::Error::UnknownGnssType(_) | nmea::Error::Unknown(_)) => {
                return Err(Skip::Ignored)
            }
            Err(_) if !is_navigation(sentence) => return Err(Skip::Ignored),
            Err(_) => return Err(Skip::Unparsable),
        };
        let time = match &parsed {
            ParseResult::GGA(gga) => gga.fix_time,
            ParseResult::RMC(rmc) => rmc.fix_time,
            // GSA carries no time: it belongs to the epoch in progress.
            ParseResult::GSA(_) => None,
            _ => return Err(Skip::Ignored),
        };
        let mut finished = None;
        if time.is_some() && time == self.last_emitted && self.current.time.is_none() {
            return Ok(None);
        }
        if let Some(time) = time {
            if self.current.time.is_some_and(|t| t != time) {
                finished = self.finish(host_now);
            }
            self.current.time = Some(time);
        }
        self.current.apply(parsed);
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
        if p.invalid_seen || p.valid != Some(true) {
            return Some(Epoch::NoFix);
        }
        let Some((lat, lon)) = p.lat_lon else {
            return Some(Epoch::NoFix);
        };
        let fix = p.gsa_mode.unwrap_or(if p.alt_m.is_some() { FixMode::ThreeD } else { FixMode::TwoD });
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
        }))
    }
}

impl Partial {
    /// Merges one GGA, RMC or GSA into the epoch.
    fn apply(&mut self, parsed: ParseResult) {
        match parsed {
            ParseResult::GGA(gga) => {
                let valid = gga.fix_type.is_some_and(is_valid_fix_type);
                self.note_validity(valid);
                if valid {
                    if let (Some(lat), Some(lon)) = (gga.latitude, gga.longitude) {
                        self.lat_lon = Some((lat, lon));
                    }
                    self.alt_m = gga.altitude.map(widen).or(self.alt_m);
                }
                self.sats = gga.fix_satellites.or(self.sats);
                self.hdop = gga.hdop.map(widen).or(self.hdop);
            }
            ParseResult::RMC(rmc) => {
                let valid = rmc.status_of_fix != RmcStatusOfFix::Invalid;
                self.note_validity(valid);
                self.date = rmc.fix_date.or(self.date);
                if valid {
                    if self.lat_lon.is_none() {
                        if let (Some(lat), Some(lon)) = (rmc.lat, rmc.lon) {
                            self.lat_lon = Some((lat, lon));
                        }
                    }
                    self.speed_mps = rmc.speed_over_ground.map(|k| widen(k) * KNOT_MPS).or(self.speed_mps);
                    self.course_deg = rmc.true_course.map(widen).or(self.course_deg);
                }
            }
            ParseResult::GSA(gsa) => {
                // Receivers send one GSA per constellation: any 2D or 3D one sets the mode.
                match gsa.mode2 {
                    GsaMode2::Fix2D => self.gsa_mode = Some(FixMode::TwoD),
                    GsaMode2::Fix3D => self.gsa_mode = Some(FixMode::ThreeD),
                    GsaMode2::NoFix => {}
                }
                if let Some(hdop) = gsa.hdop {
                    self.hdop = self.hdop.or(Some(widen(hdop)));
                }
            }
            _ => {}
        }
    }

    fn note_validity(&mut self, valid: bool) {
        if valid {
            self.valid = Some(true);
        } else {
            self.invalid_seen = true;
        }
    }
}

/// The decoder gives some fields as `f32`; widen them by their decimal text, so `0.9` stays
/// `0.9` and does not become `0.8999999761581421`.
fn widen(value: f32) -> f64 {
    value.to_string().parse().unwrap_or(f64::from(value))
}

fn is_valid_fix_type(t: FixType) -> bool {
    !matches!(t, FixType::Invalid)
}

/// Sentence types that carry navigation data: failing to read one is an error worth counting.
fn is_navigation(sentence: &str) -> bool {
    sentence
        .get(3..6)
        .is_some_and(|kind| matches!(kind, "GGA" | "RMC" | "GSA" | "GLL" | "GNS" | "VTG" | "ZDA"))
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
