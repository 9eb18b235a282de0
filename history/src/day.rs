//! A calendar day as the daily report reads it: `YYYY-MM-DD`, and the span of fix times it
//! covers.
//!
//! Days are UTC days today: `[00:00, 24:00)` UTC, which is also how positions are partitioned.
//! Moves have no time zone yet; when they get one, a day in a zone is still one [`Span`] (from
//! that zone's midnight to the next, 23 to 25 hours across a change of daylight saving time):
//! [`Day::span`] is the one place that turns a day into fix times, so a time zone is a
//! parameter added here and nothing downstream changes.

use chrono::{DateTime, Duration, NaiveDate, Utc};

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

    /// The UTC day `t` falls on.
    pub fn of(t: DateTime<Utc>) -> Day {
        Day(t.date_naive())
    }

    /// The day before.
    pub fn previous(self) -> Day {
        Day(self.0 - Duration::days(1))
    }

    /// The fix times of the day: from its midnight (UTC) to the next.
    pub fn span(self) -> Span {
        let from = self.0.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc();
        Span { from, to: from + Duration::days(1) }
    }

    /// The day as `YYYY-MM-DD`.
    pub fn text(self) -> String {
        self.0.format("%Y-%m-%d").to_string()
    }
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

    #[test]
    fn a_utc_day_runs_from_midnight_to_midnight() {
        let span = Day::parse("2026-12-01").unwrap().span();
        assert_eq!(span.from, Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap());
        assert_eq!(span.to, Utc.with_ymd_and_hms(2026, 12, 2, 0, 0, 0).unwrap());
    }

    #[test]
    fn a_time_falls_on_its_utc_day() {
        let late = Utc.with_ymd_and_hms(2026, 12, 1, 23, 59, 59).unwrap();
        assert_eq!(Day::of(late).text(), "2026-12-01");
        assert_eq!(Day::of(late + Duration::seconds(1)).text(), "2026-12-02");
        assert_eq!(Day::of(late).previous().text(), "2026-11-30");
    }
}
