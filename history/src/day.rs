//! A calendar day as the daily report reads it: `YYYY-MM-DD`, and the span of fix times it
//! covers.
//!
//! A day is a calendar day in a time zone (UTC unless the report names one): one [`Span`] from
//! that zone's midnight to the next, 23 to 25 hours across a change of daylight saving time.
//! [`Day::span`] is the one place that turns a day into fix times; nothing downstream knows
//! the zone. (Positions are partitioned by UTC day; a zone's day simply reads two partitions.)

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use convoy_core::time_zone::Tz;

use crate::Span;

/// A calendar day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Day(NaiveDate);

/// Why a text is not a day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadDay;

impl Day {
    /// `YYYY-MM-DD` exactly (four-digit year, two-digit month and day), a date that exists.
    pub fn parse(text: &str) -> Result<Day, BadDay> {
        let shaped = text.len() == 10
            && text
                .bytes()
                .enumerate()
                .all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
        if !shaped {
            return Err(BadDay);
        }
        NaiveDate::parse_from_str(text, "%Y-%m-%d").map(Day).map_err(|_| BadDay)
    }

    /// The day `t` falls on in `zone`.
    pub fn of(t: DateTime<Utc>, zone: Tz) -> Day {
        Day(t.with_timezone(&zone).date_naive())
    }

    /// The day before.
    pub fn previous(self) -> Day {
        Day(self.0 - Duration::days(1))
    }

    /// The fix times of the day in `zone`: from its first instant (midnight, or where a zone
    /// skips midnight for daylight saving time, the end of that gap) to the next day's.
    pub fn span(self, zone: Tz) -> Span {
        Span { from: start(self.0, zone), to: start(self.0 + Duration::days(1), zone) }
    }

    /// The day as `YYYY-MM-DD`.
    pub fn text(self) -> String {
        self.0.format("%Y-%m-%d").to_string()
    }
}

/// The first instant of `date` in `zone`. Midnight, the earlier one if clocks turned back over
/// it; if clocks jumped over midnight, the first local quarter hour that exists (every zone's
/// gaps start and end on one).
fn start(date: NaiveDate, zone: Tz) -> DateTime<Utc> {
    (0..24 * 4)
        .map(|quarter| date.and_time(NaiveTime::MIN) + Duration::minutes(15 * quarter))
        .find_map(|local| zone.from_local_datetime(&local).earliest())
        .map_or_else(|| date.and_time(NaiveTime::MIN).and_utc(), |t| t.with_timezone(&Utc))
}

impl std::fmt::Display for Day {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_day_is_yyyy_mm_dd_and_a_date_that_exists() {
        assert_eq!(Day::parse("2026-12-01").unwrap().text(), "2026-12-01");
        assert_eq!(Day::parse("2024-02-29").unwrap().text(), "2024-02-29", "a leap day");
        for bad in [
            "",
            "2026-12-1",
            "2026-2-01",
            "26-12-01",
            "2026/12/01",
            "2026-13-01",
            "2023-02-29",
            "+2026-12-0",
            "2026-12-01T00:00:00Z",
            " 2026-12-01",
            "２０２６-12-01",
        ] {
            assert_eq!(Day::parse(bad), Err(BadDay), "{bad:?}");
        }
    }

    fn zone(name: &str) -> Tz {
        convoy_core::time_zone::parse(name).unwrap()
    }

    #[test]
    fn a_utc_day_runs_from_midnight_to_midnight() {
        let span = Day::parse("2026-12-01").unwrap().span(convoy_core::time_zone::UTC);
        assert_eq!(span.from, Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap());
        assert_eq!(span.to, Utc.with_ymd_and_hms(2026, 12, 2, 0, 0, 0).unwrap());
    }

    #[test]
    fn a_day_in_shanghai_starts_at_16_00_utc_the_day_before() {
        let span = Day::parse("2026-12-01").unwrap().span(zone("Asia/Shanghai"));
        assert_eq!(span.from, Utc.with_ymd_and_hms(2026, 11, 30, 16, 0, 0).unwrap());
        assert_eq!(span.to, Utc.with_ymd_and_hms(2026, 12, 1, 16, 0, 0).unwrap());
    }

    #[test]
    fn a_day_across_a_change_of_daylight_saving_time_is_23_or_25_hours() {
        let berlin = zone("Europe/Berlin");
        let spring = Day::parse("2026-03-29").unwrap().span(berlin);
        assert_eq!(spring.from, Utc.with_ymd_and_hms(2026, 3, 28, 23, 0, 0).unwrap());
        assert_eq!(spring.to - spring.from, Duration::hours(23));
        let autumn = Day::parse("2026-10-25").unwrap().span(berlin);
        assert_eq!(autumn.to - autumn.from, Duration::hours(25));
        // Santiago's clocks jump from 00:00 to 01:00 in September: that day starts at 01:00.
        let santiago = Day::parse("2026-09-06").unwrap().span(zone("America/Santiago"));
        assert_eq!(santiago.from, Utc.with_ymd_and_hms(2026, 9, 6, 4, 0, 0).unwrap());
    }

    #[test]
    fn a_time_falls_on_its_day_in_the_zone() {
        let utc = convoy_core::time_zone::UTC;
        let late = Utc.with_ymd_and_hms(2026, 12, 1, 23, 59, 59).unwrap();
        assert_eq!(Day::of(late, utc).text(), "2026-12-01");
        assert_eq!(Day::of(late + Duration::seconds(1), utc).text(), "2026-12-02");
        assert_eq!(Day::of(late, utc).previous().text(), "2026-11-30");
        assert_eq!(Day::of(late, zone("Asia/Shanghai")).text(), "2026-12-02");
    }
}
