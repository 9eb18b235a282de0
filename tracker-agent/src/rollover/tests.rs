use super::*;
use chrono::TimeZone;
use proptest::prelude::*;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

/// Times from the build floor to 15 years after it, to the millisecond.
fn after_the_floor() -> impl Strategy<Value = DateTime<Utc>> {
    (0i64..15 * 365 * 86_400_000).prop_map(|ms| BUILD_FLOOR + Duration::milliseconds(ms))
}

fn trusted(now: DateTime<Utc>) -> Anchor {
    TimeReference::Host.anchor(now, true)
}

#[test]
fn the_rollover_period_is_7168_days() {
    assert_eq!(ROLLOVER, Duration::days(7168));
    // The two rollovers so far: week 0 of each 10-bit era.
    assert_eq!(at("1980-01-06T00:00:00Z") + ROLLOVER, at("1999-08-22T00:00:00Z"));
    assert_eq!(at("1999-08-22T00:00:00Z") + ROLLOVER, at("2019-04-07T00:00:00Z"));
    assert_eq!(BUILD_FLOOR, Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap());
}

#[test]
fn which_anchor_each_reference_gives() {
    let now = at("2027-03-01T10:00:00Z");
    assert_eq!(TimeReference::Host.anchor(now, true), Anchor::Trusted { now, floor: Some(BUILD_FLOOR) });
    assert_eq!(TimeReference::Host.anchor(now, false), Anchor::Floor(BUILD_FLOOR), "not synchronised");
    let early = at("2020-01-01T00:00:00Z");
    assert_eq!(TimeReference::Host.anchor(early, true), Anchor::Floor(BUILD_FLOOR), "synchronised to a past");
    let replay = at("2019-04-07T00:00:00Z");
    assert_eq!(TimeReference::Fixed(replay).anchor(now, false), Anchor::Trusted { now: replay, floor: None });
    assert_eq!(TimeReference::Off.anchor(now, true), Anchor::Unchecked);
}

#[test]
fn references_parse() {
    assert_eq!(TimeReference::parse("host"), Some(TimeReference::Host));
    assert_eq!(TimeReference::parse("off"), Some(TimeReference::Off));
    assert_eq!(
        TimeReference::parse("2019-04-07T02:00:00+02:00"),
        Some(TimeReference::Fixed(at("2019-04-07T00:00:00Z")))
    );
    assert_eq!(TimeReference::parse("2019-04-07"), None);
    assert_eq!(TimeReference::parse("yesterday"), None);
}

#[test]
fn a_date_before_the_floor_that_no_rollover_explains_is_implausible() {
    let now = at("2027-03-01T10:00:00Z");
    // A 1980 cold start: three rollovers back, more than 1 or 2 can explain.
    let cold_start = at("1980-01-06T00:00:05Z");
    assert_eq!(check(cold_start, trusted(now)).0, Verdict::Implausible);
    assert_eq!(check(cold_start, Anchor::Floor(BUILD_FLOOR)).0, Verdict::Implausible);
    // A date a month off: no rollover, and before the floor.
    assert_eq!(
        check(at("2025-12-01T00:00:00Z"), trusted(at("2026-01-02T00:00:00Z"))).0,
        Verdict::Implausible
    );
    // With a replay's reference there is no floor: a date it does not explain is kept.
    let replay = TimeReference::Fixed(at("2019-04-07T00:00:00Z")).anchor(now, false);
    assert_eq!(check(at("2007-04-08T12:00:00Z"), replay), (Verdict::Kept, at("2007-04-08T12:00:00Z")));
    assert_eq!(check(cold_start, Anchor::Unchecked), (Verdict::Kept, cold_start));
}

#[test]
fn the_host_clock_state_can_be_read() {
    // Either answer is right; reading it must work without privileges and never panic.
    let _ = host_clock_synced();
}

proptest! {
    #[test]
    fn a_date_shifted_back_by_one_or_two_rollovers_is_recovered_exactly(
        truth in after_the_floor(),
        n in 1i32..=2,
        host_offset_s in -2i64 * 86_400..=2 * 86_400,
    ) {
        let reported = truth - ROLLOVER * n;
        // Against a trusted host clock within two days of the truth.
        let host = truth + Duration::seconds(host_offset_s);
        prop_assert_eq!(check(reported, trusted(host)), (Verdict::Corrected { rollovers: n }, truth));
        // Against the build floor alone (the host clock is not synchronised).
        prop_assert_eq!(check(reported, Anchor::Floor(BUILD_FLOOR)), (Verdict::Corrected { rollovers: n }, truth));
    }

    #[test]
    fn a_date_within_tolerance_of_a_trusted_host_is_never_changed(
        host in after_the_floor(),
        offset_ms in -TOLERANCE.num_milliseconds()..=TOLERANCE.num_milliseconds(),
    ) {
        let reported = host + Duration::milliseconds(offset_ms);
        prop_assert_eq!(check(reported, trusted(host)), (Verdict::Kept, reported));
        if reported >= BUILD_FLOOR {
            prop_assert_eq!(check(reported, Anchor::Floor(BUILD_FLOOR)), (Verdict::Kept, reported));
        }
    }

    #[test]
    fn a_replayed_capture_is_recovered_against_its_reference(
        truth_s in 0i64..40 * 365 * 86_400,
        n in 1i32..=2,
    ) {
        // Any capture since 1999, replayed with the time it was made as the reference.
        let truth = at("1999-08-22T00:00:00Z") + Duration::seconds(truth_s);
        let replay = TimeReference::Fixed(truth).anchor(Utc::now(), true);
        prop_assert_eq!(check(truth - ROLLOVER * n, replay), (Verdict::Corrected { rollovers: n }, truth));
        prop_assert_eq!(check(truth, replay), (Verdict::Kept, truth));
    }
}
