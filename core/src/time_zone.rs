//! Time zones by IANA name ("Asia/Shanghai"), read against the tz database bundled in the binary
//! (`chrono-tz`: data only, no I/O, so every machine agrees on what a name means and when its
//! clocks change, whatever its own `/usr/share/zoneinfo` holds).
//!
//! A move's plan may name one; the server has a default (`[moves] default_time_zone`); the daily
//! report takes one to say which calendar day it counts. Stored and exported times stay UTC: a
//! zone only says how times are shown and where a day begins.

use chrono::{DateTime, Offset, TimeZone, Utc};

pub use chrono_tz::Tz;

/// The zone used where nothing names one.
pub const UTC: Tz = chrono_tz::UTC;

/// A name the tz database does not know.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "time zone \"{0}\" is not a known IANA time zone name; use a name such as \"Europe/Berlin\", \
     \"Asia/Shanghai\" or \"UTC\""
)]
pub struct UnknownTimeZone(pub String);

/// Reads an IANA name exactly as the tz database spells it ("Asia/Shanghai"; links such as
/// "Asia/Chongqing" are accepted too). The name is quoted back cut to 60 characters.
pub fn parse(name: &str) -> Result<Tz, UnknownTimeZone> {
    name.parse::<Tz>().map_err(|_| UnknownTimeZone(name.chars().take(60).collect()))
}

/// The zone's offset from UTC at `at`, as `UTC+08:00`, `UTC-05:00` or `UTC+00:00`.
pub fn offset_label(zone: Tz, at: DateTime<Utc>) -> String {
    let seconds = zone.offset_from_utc_datetime(&at.naive_utc()).fix().local_minus_utc();
    let sign = if seconds < 0 { '-' } else { '+' };
    let minutes = seconds.unsigned_abs() / 60;
    format!("UTC{sign}{:02}:{:02}", minutes / 60, minutes % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_names_are_read_and_unknown_ones_refused_with_the_name() {
        assert_eq!(parse("Asia/Shanghai").unwrap().name(), "Asia/Shanghai");
        assert_eq!(parse("UTC").unwrap(), UTC);
        for bad in ["Mars/Olympus_Mons", "", "asia/shanghai ", "+08:00"] {
            let error = parse(bad).unwrap_err();
            assert!(error.to_string().contains(&format!("\"{bad}\"")), "{error}");
        }
    }

    #[test]
    fn the_offset_label_follows_daylight_saving_time() {
        let winter = "2026-01-15T12:00:00Z".parse().unwrap();
        let summer = "2026-07-15T12:00:00Z".parse().unwrap();
        let berlin = parse("Europe/Berlin").unwrap();
        assert_eq!(offset_label(berlin, winter), "UTC+01:00");
        assert_eq!(offset_label(berlin, summer), "UTC+02:00");
        assert_eq!(offset_label(parse("Asia/Shanghai").unwrap(), summer), "UTC+08:00");
        assert_eq!(offset_label(parse("America/St_Johns").unwrap(), winter), "UTC-03:30");
        assert_eq!(offset_label(UTC, winter), "UTC+00:00");
    }
}
