//! The rules one by one, on a straight east-west route with fixes at 1 Hz.

use super::*;
use chrono::Duration;
use convoy_core::plan::{Zone, ZoneKind, ZoneShape};
use convoy_core::FixMode;
use geo::{LineString, Point};
use serde_json::json;

const LAT: f64 = 48.0;
/// Metres per degree of longitude and latitude at 48°, near enough for placing test fixes.
const M_PER_DEG_LON: f64 = 74_625.0;
const M_PER_DEG_LAT: f64 = 111_190.0;

fn t0() -> DateTime<Utc> {
    "2026-11-28T09:00:00Z".parse().unwrap()
}

fn vid(name: &str) -> VehicleId {
    VehicleId::new(name).unwrap()
}

fn plan(zones: Vec<Zone>, rules: serde_json::Value) -> MovePlan {
    MovePlan {
        name: "test".into(),
        vehicles: vec![vid("truck"), vid("escort")],
        escorts: [(vid("truck"), vid("escort"))].into(),
        route: LineString::from(vec![(11.0, LAT), (11.2, LAT)]),
        corridor_m: 150.0,
        zones,
        window: None,
        rules: rules.as_object().cloned().unwrap_or_default(),
        time_zone: None,
        language: None,
    }
}

fn engine_with(zones: Vec<Zone>, rules: serde_json::Value) -> Engine {
    let mut engine = Engine::new(RuleSettings::default());
    let spec = MoveSpec { id: "m1".into(), plan: plan(zones, rules), created_at: t0(), ended_at: None };
    engine.add_move(&spec).unwrap();
    engine
}

/// A fix `east_m` along the route and `north_m` off it, at `t0 + s` seconds.
fn fix(seq: u64, s: i64, east_m: f64, north_m: f64, speed_mps: f64) -> Position {
    Position {
        seq,
        t: t0() + Duration::seconds(s),
        lat: LAT + north_m / M_PER_DEG_LAT,
        lon: 11.0 + east_m / M_PER_DEG_LON,
        alt_m: None,
        speed_mps: Some(speed_mps),
        course_deg: None,
        fix: Some(FixMode::ThreeD),
        sats: None,
        hdop: None,
        accuracy_m: None,
    }
}

/// Feeds fixes received as they are taken (1 s later) and returns the events.
fn run(engine: &mut Engine, vehicle: &str, fixes: &[Position]) -> Vec<RuleEvent> {
    let mut out = Vec::new();
    for f in fixes {
        engine.on_position(&vid(vehicle), f, f.t + Duration::seconds(1), &mut out);
    }
    out
}

/// A drive east at 10 m/s for `seconds`, with `north(s)` metres off the route at second `s`.
fn drive(seconds: i64, north: impl Fn(i64) -> f64) -> Vec<Position> {
    (0..seconds).map(|s| fix(s as u64 + 1, s, 100.0 + 10.0 * s as f64, north(s), 10.0)).collect()
}

fn kinds(events: &[RuleEvent]) -> Vec<(AlertKind, Change, i64)> {
    events.iter().map(|e| (e.kind, e.change, (e.t - t0()).num_seconds())).collect()
}

#[test]
fn off_route_opens_after_30_s_and_3_fixes_outside_and_clears_after_15_s_back() {
    let mut engine = engine_with(vec![], json!({}));
    // Out of the corridor (400 m north) from second 100 to 199.
    let fixes = drive(400, |s| if (100..200).contains(&s) { 400.0 } else { 0.0 });
    let events = run(&mut engine, "truck", &fixes);
    assert_eq!(
        kinds(&events),
        vec![(AlertKind::OffRoute, Change::Opened, 130), (AlertKind::OffRoute, Change::Cleared, 215)]
    );
    assert_eq!(events[0].detail["since"], "2026-11-28T09:01:40.000Z");
    assert_eq!(events[0].alert_id, events[1].alert_id);
}

#[test]
fn off_route_needs_three_fixes_and_ignores_a_short_excursion() {
    let mut engine = engine_with(vec![], json!({}));
    let short = drive(300, |s| if (100..125).contains(&s) { 400.0 } else { 0.0 });
    assert!(run(&mut engine, "truck", &short).is_empty());
    // Two fixes 40 s apart, both outside: long enough, but not three fixes.
    let mut engine = engine_with(vec![], json!({}));
    let sparse =
        vec![fix(1, 0, 100.0, 0.0, 10.0), fix(2, 40, 500.0, 400.0, 10.0), fix(3, 80, 900.0, 400.0, 10.0)];
    assert!(run(&mut engine, "truck", &sparse).is_empty());
}

#[test]
fn a_fix_whose_accuracy_circle_reaches_the_corridor_is_not_off_route() {
    // 400 m off a 150 m corridor: off route with a receiver's fixes or a phone's of ±100 m.
    let with_accuracy = |accuracy_m: f64| {
        drive(400, |s| if (100..200).contains(&s) { 400.0 } else { 0.0 })
            .into_iter()
            .map(|p| Position { accuracy_m: Some(accuracy_m), ..p })
            .collect::<Vec<_>>()
    };
    for accuracy_m in [0.0, 100.0, 240.0] {
        let mut engine = engine_with(vec![], json!({}));
        let events = run(&mut engine, "truck", &with_accuracy(accuracy_m));
        let expected =
            vec![(AlertKind::OffRoute, Change::Opened, 130), (AlertKind::OffRoute, Change::Cleared, 215)];
        assert_eq!(kinds(&events), expected, "accuracy {accuracy_m} m");
    }
    // A phone saying ±300 m (or ±500 m) there may be on the road: nothing opens.
    for accuracy_m in [260.0, 300.0, 500.0] {
        let mut engine = engine_with(vec![], json!({}));
        assert!(run(&mut engine, "truck", &with_accuracy(accuracy_m)).is_empty(), "accuracy {accuracy_m} m");
    }
}

#[test]
fn uncertain_fixes_neither_clear_nor_break_an_excursion() {
    // Outside from 100 s; at 140-159 s the phone's accuracy is poor (circle reaching the
    // corridor), then it is sure again until 200 s: one incident, cleared 15 s after 200.
    let fixes: Vec<Position> = drive(400, |s| if (100..200).contains(&s) { 400.0 } else { 0.0 })
        .into_iter()
        .enumerate()
        .map(|(s, p)| Position { accuracy_m: Some(if (140..160).contains(&s) { 600.0 } else { 10.0 }), ..p })
        .collect();
    let mut engine = engine_with(vec![], json!({}));
    let events = run(&mut engine, "truck", &fixes);
    assert_eq!(
        kinds(&events),
        vec![(AlertKind::OffRoute, Change::Opened, 130), (AlertKind::OffRoute, Change::Cleared, 215)]
    );
    // Poor accuracy throughout an excursion after it opened keeps it open rather than clearing.
    let fixes: Vec<Position> = drive(400, |s| if (100..400).contains(&s) { 400.0 } else { 0.0 })
        .into_iter()
        .enumerate()
        .map(|(s, p)| Position { accuracy_m: Some(if s >= 150 { 900.0 } else { 10.0 }), ..p })
        .collect();
    let mut engine = engine_with(vec![], json!({}));
    assert_eq!(kinds(&run(&mut engine, "truck", &fixes)), vec![(AlertKind::OffRoute, Change::Opened, 130)]);
}

fn circle(name: &str, kind: ZoneKind, east_m: f64, north_m: f64, radius_m: f64) -> Zone {
    Zone {
        name: name.into(),
        kind,
        shape: ZoneShape::Circle {
            center: Point::new(11.0 + east_m / M_PER_DEG_LON, LAT + north_m / M_PER_DEG_LAT),
            radius_m,
        },
    }
}

/// Drives 100 s, halts for `halt_s` at 1,100 m (drifting a few metres), drives on.
fn drive_with_halt(halt_s: i64) -> Vec<Position> {
    let mut fixes = Vec::new();
    let mut seq = 0;
    let mut push = |s: i64, east: f64, north: f64, speed: f64| {
        seq += 1;
        fixes.push(fix(seq, s, east, north, speed));
    };
    for s in 0..100 {
        push(s, 100.0 + 10.0 * s as f64, 0.0, 10.0);
    }
    for s in 100..100 + halt_s {
        // GPS drift of a parked receiver: metres, and a speed that flickers above the threshold.
        let wobble = ((s * 7919) % 13) as f64 - 6.0;
        push(s, 1100.0 + wobble, wobble / 2.0, if s % 17 == 0 { 2.0 } else { 0.2 });
    }
    for s in 100 + halt_s..200 + halt_s {
        push(s, 1100.0 + 10.0 * (s - 100 - halt_s) as f64, 0.0, 10.0);
    }
    fixes
}

#[test]
fn unplanned_stop_opens_after_5_minutes_outside_every_allowed_place_and_clears_on_leaving() {
    let mut engine = engine_with(vec![], json!({}));
    let events = run(&mut engine, "truck", &drive_with_halt(360));
    // The stop began as the truck rolled in (second 99 or 100, where it last moved more than
    // 25 m), and ended as it left (second 460 on, after more than 25 m).
    let summary = kinds(&events);
    assert_eq!(summary.len(), 2, "{summary:?}");
    assert_eq!((summary[0].0, summary[0].1), (AlertKind::UnplannedStop, Change::Opened));
    assert!((399..=400).contains(&summary[0].2), "{summary:?}");
    assert_eq!((summary[1].0, summary[1].1), (AlertKind::UnplannedStop, Change::Cleared));
    assert!((461..=463).contains(&summary[1].2), "{summary:?}");
    let since: DateTime<Utc> = events[0].detail["since"].as_str().unwrap().parse().unwrap();
    assert_eq!(since + Duration::seconds(300), events[0].t);
}

#[test]
fn a_halt_inside_an_allowed_stop_zone_raises_nothing() {
    let zones = vec![circle("rest area", ZoneKind::AllowedStop, 1100.0, 0.0, 60.0)];
    let mut engine = engine_with(zones, json!({}));
    assert!(run(&mut engine, "truck", &drive_with_halt(600)).is_empty());
}

#[test]
fn a_short_halt_raises_nothing() {
    let mut engine = engine_with(vec![], json!({}));
    assert!(run(&mut engine, "truck", &drive_with_halt(240)).is_empty());
}

#[test]
fn signal_lost_opens_at_last_heard_plus_threshold_on_a_tick_and_clears_when_data_returns() {
    let mut engine = engine_with(vec![], json!({}));
    let fixes = drive(10, |_| 0.0);
    let mut out = run(&mut engine, "escort", &fixes);
    out.extend(run(&mut engine, "truck", &fixes));
    let last_heard = fixes.last().unwrap().t + Duration::seconds(1);
    engine.tick(last_heard + Duration::seconds(119), &mut out);
    assert!(out.is_empty());
    engine.tick(last_heard + Duration::seconds(150), &mut out);
    // Both vehicles are silent; each gets its own alert, opened at last heard + 120 s.
    assert_eq!(out.len(), 2);
    assert!(out
        .iter()
        .all(|e| e.kind == AlertKind::SignalLost && e.t == last_heard + Duration::seconds(120)));
    out.clear();
    engine.tick(last_heard + Duration::seconds(200), &mut out);
    assert!(out.is_empty(), "opened twice: {out:?}");
    let back = fix(11, 300, 300.0, 0.0, 10.0);
    engine.on_position(&vid("truck"), &back, back.t + Duration::seconds(1), &mut out);
    assert_eq!(kinds(&out), vec![(AlertKind::SignalLost, Change::Cleared, 301)]);
}

#[test]
fn a_gap_is_caught_by_the_next_message_even_without_a_tick() {
    let mut engine = engine_with(vec![], json!({}));
    let fixes = vec![fix(1, 0, 100.0, 0.0, 10.0), fix(2, 200, 2100.0, 0.0, 10.0)];
    let events = run(&mut engine, "truck", &fixes);
    assert_eq!(
        kinds(&events),
        vec![(AlertKind::SignalLost, Change::Opened, 121), (AlertKind::SignalLost, Change::Cleared, 201)]
    );
}

#[test]
fn gnss_lost_opens_after_60_s_of_no_fix_reports_while_online() {
    let mut engine = engine_with(vec![], json!({}));
    let mut out = run(&mut engine, "truck", &drive(5, |_| 0.0));
    let no_fix = AgentHealth { online: true, has_fix: false };
    for s in [10, 40] {
        engine.on_status(&vid("truck"), no_fix, t0() + Duration::seconds(s), &mut out);
    }
    assert!(out.is_empty());
    engine.tick(t0() + Duration::seconds(75), &mut out);
    assert_eq!(kinds(&out), vec![(AlertKind::GnssLost, Change::Opened, 70)]);
    out.clear();
    engine.on_status(
        &vid("truck"),
        AgentHealth { online: true, has_fix: true },
        t0() + Duration::seconds(100),
        &mut out,
    );
    assert_eq!(kinds(&out), vec![(AlertKind::GnssLost, Change::Cleared, 100)]);
    // Offline is not a lost receiver.
    out.clear();
    engine.on_status(
        &vid("truck"),
        AgentHealth { online: false, has_fix: false },
        t0() + Duration::seconds(110),
        &mut out,
    );
    engine.tick(t0() + Duration::seconds(200), &mut out);
    assert!(out.iter().all(|e| e.kind != AlertKind::GnssLost));
}

#[test]
fn zones_forbidden_entry_departure_and_arrival() {
    let zones = vec![
        circle("depot", ZoneKind::Origin, 100.0, 0.0, 45.0),
        circle("bridge", ZoneKind::Forbidden, 1000.0, 0.0, 25.0),
        circle("data centre", ZoneKind::Destination, 2000.0, 0.0, 45.0),
    ];
    let mut engine = engine_with(zones, json!({}));
    let events = run(&mut engine, "truck", &drive(200, |_| 0.0));
    let summary: Vec<_> = events
        .iter()
        .map(|e| (e.kind, e.change, e.zone.clone().unwrap(), (e.t - t0()).num_seconds()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (AlertKind::ZoneExit, Change::Opened, "depot".into(), 6),
            (AlertKind::ZoneExit, Change::Cleared, "depot".into(), 6),
            (AlertKind::ZoneEnter, Change::Opened, "bridge".into(), 89),
            (AlertKind::ZoneEnter, Change::Cleared, "bridge".into(), 94),
            (AlertKind::ZoneEnter, Change::Opened, "data centre".into(), 187),
            (AlertKind::ZoneEnter, Change::Cleared, "data centre".into(), 187),
        ]
    );
}

/// A forbidden square whose south edge is the route (north 0), from 0 to 4 km east, 1 km deep.
fn yard_on_the_route() -> Zone {
    let corner = |east_m: f64, north_m: f64| (11.0 + east_m / M_PER_DEG_LON, LAT + north_m / M_PER_DEG_LAT);
    let ring = LineString::from(vec![
        corner(0.0, 0.0),
        corner(4000.0, 0.0),
        corner(4000.0, 1000.0),
        corner(0.0, 1000.0),
        corner(0.0, 0.0),
    ]);
    Zone {
        name: "yard".into(),
        kind: ZoneKind::Forbidden,
        shape: ZoneShape::Polygon(geo::Polygon::new(ring, vec![])),
    }
}

/// Drives east along the yard's edge with 6 m of GNSS noise, alternating sides each second:
/// 30 s on the edge, 30 s 8 m inside it, 30 s on it again, then 25 m outside.
fn along_the_edge() -> Vec<Position> {
    let base = |s: i64| match s {
        0..10 => -30.0,
        10..40 | 70..100 => 0.0,
        40..70 => 8.0,
        _ => -25.0,
    };
    drive(130, |s| base(s) + if s % 2 == 0 { 6.0 } else { -6.0 })
}

fn zone_changes(events: &[RuleEvent]) -> Vec<(Change, i64)> {
    events
        .iter()
        .filter(|e| e.kind == AlertKind::ZoneEnter)
        .map(|e| (e.change, (e.t - t0()).num_seconds()))
        .collect()
}

#[test]
fn gnss_noise_across_a_zone_edge_opens_once_and_clears_once_outside_by_the_margin() {
    let mut engine = engine_with(vec![yard_on_the_route()], json!({}));
    let events = run(&mut engine, "truck", &along_the_edge());
    // On the edge (6 m either side) nothing; in at the first fix 10 m inside (14 m, second
    // 40); held through the fixes 2 m inside and back on the edge; out at the first fix 10 m
    // outside (19 m, second 100).
    assert_eq!(zone_changes(&events), vec![(Change::Opened, 40), (Change::Cleared, 100)]);
}

#[test]
fn without_an_edge_margin_the_same_noise_flaps() {
    let mut engine = engine_with(vec![yard_on_the_route()], json!({ "zone_edge_margin_m": 0 }));
    let events = run(&mut engine, "truck", &along_the_edge());
    let opened = zone_changes(&events).iter().filter(|(c, _)| *c == Change::Opened).count();
    // Every other second on the edge: 15 times over the first 30 s, once going in, 14 times
    // over the second 30 s (it is inside at its first second already).
    assert_eq!(opened, 30, "{:?}", zone_changes(&events));
}

#[test]
fn a_zone_smaller_than_the_margin_allows_is_still_entered() {
    // A 12 m circle: the margin shrinks to 6 m, so a fix at its centre is inside by enough.
    let zones = vec![circle("gate", ZoneKind::Forbidden, 1000.0, 0.0, 12.0)];
    let mut engine = engine_with(zones, json!({}));
    let events = run(&mut engine, "truck", &drive(200, |_| 0.0));
    // 10 m/s from 100 m: at 990 m (second 89) 2 m in, at 1000 m (second 90) 12 m in; out once
    // 6 m outside, at 1020 m (second 92).
    assert_eq!(zone_changes(&events), vec![(Change::Opened, 90), (Change::Cleared, 92)]);
}

/// A drive east at 25 m/s (whatever the speed says) with speed `speed(s)` at second `s`, for
/// the overspeed rule with a limit of 20 m/s (cleared at or under 18 m/s for 30 s).
fn overspeed_run(
    seconds: i64,
    rules: serde_json::Value,
    speed: impl Fn(i64) -> f64,
) -> Vec<(AlertKind, Change, i64)> {
    let mut rules = rules;
    rules["speed_limit_mps"] = json!(20);
    let mut engine = engine_with(vec![], rules);
    let fixes: Vec<_> =
        (0..seconds).map(|s| fix(s as u64 + 1, s, 100.0 + 25.0 * s as f64, 0.0, speed(s))).collect();
    kinds(&run(&mut engine, "truck", &fixes))
}

#[test]
fn overspeed_opens_after_10_s_above_the_limit_and_clears_after_30_s_clearly_under_it() {
    let events = overspeed_run(150, json!({}), |s| if (10..70).contains(&s) { 25.0 } else { 15.0 });
    assert_eq!(
        events,
        vec![(AlertKind::Overspeed, Change::Opened, 20), (AlertKind::Overspeed, Change::Cleared, 100)]
    );
    // Eight seconds above opens nothing.
    assert_eq!(overspeed_run(60, json!({}), |s| if (10..18).contains(&s) { 25.0 } else { 15.0 }), vec![]);
}

#[test]
fn a_2_second_dip_under_the_limit_does_not_clear_overspeed() {
    // Fails with the rule as it was (cleared at the first fix at or under the limit): cleared at
    // 50, opened again at 62.
    let speed = |s: i64| match s {
        10..50 | 52..100 => 25.0,
        _ => 15.0,
    };
    assert_eq!(
        overspeed_run(160, json!({}), speed),
        vec![(AlertKind::Overspeed, Change::Opened, 20), (AlertKind::Overspeed, Change::Cleared, 130)]
    );
    // The rule as it was is these settings at 0.
    let old = json!({ "overspeed_resolve_after_s": 0, "overspeed_resolve_margin_mps": 0 });
    assert_eq!(
        overspeed_run(160, old, speed),
        vec![
            (AlertKind::Overspeed, Change::Opened, 20),
            (AlertKind::Overspeed, Change::Cleared, 50),
            (AlertKind::Overspeed, Change::Opened, 62),
            (AlertKind::Overspeed, Change::Cleared, 100),
        ]
    );
}

#[test]
fn driving_just_under_the_limit_but_not_under_the_margin_does_not_clear_overspeed() {
    // At 19 m/s (between 18 and the 20 m/s limit) for a minute: still about the limit.
    let speed = |s: i64| match s {
        10..40 => 25.0,
        40..100 => 19.0,
        _ => 17.0,
    };
    assert_eq!(
        overspeed_run(160, json!({}), speed),
        vec![(AlertKind::Overspeed, Change::Opened, 20), (AlertKind::Overspeed, Change::Cleared, 130)]
    );
    // One fix at 19 m/s in a slower run starts the clearing over.
    let speed = |s: i64| match s {
        10..40 => 25.0,
        60 => 19.0,
        _ => 15.0,
    };
    assert_eq!(
        overspeed_run(160, json!({}), speed),
        vec![(AlertKind::Overspeed, Change::Opened, 20), (AlertKind::Overspeed, Change::Cleared, 91)]
    );
}

#[test]
fn a_fix_above_the_limit_while_clearing_starts_the_clearing_over() {
    let speed = |s: i64| match s {
        10..40 | 60 => 25.0,
        _ => 15.0,
    };
    // Not cleared at 70 (30 s after slowing at 40), nor opened again by the one fix above.
    assert_eq!(
        overspeed_run(160, json!({}), speed),
        vec![(AlertKind::Overspeed, Change::Opened, 20), (AlertKind::Overspeed, Change::Cleared, 91)]
    );
}

#[test]
fn convoy_broken_when_the_cargo_vehicle_drives_away_from_its_escort() {
    let mut engine = engine_with(vec![], json!({}));
    let mut out = Vec::new();
    // The escort waits at the start; the truck drives off.
    let escort = fix(1, 0, 95.0, 0.0, 0.0);
    engine.on_position(&vid("escort"), &escort, escort.t, &mut out);
    out.extend(run(&mut engine, "truck", &drive(200, |_| 0.0)));
    // More than 1 km apart from second 100 (1,005 m); open 60 s later.
    assert_eq!(kinds(&out), vec![(AlertKind::ConvoyBroken, Change::Opened, 160)]);
    let rejoin = fix(2, 201, 2000.0, 0.0, 10.0);
    engine.on_position(&vid("escort"), &rejoin, rejoin.t, &mut out);
    let next = fix(300, 202, 2100.0, 0.0, 10.0);
    engine.on_position(&vid("truck"), &next, next.t, &mut out);
    assert_eq!(out.last().map(|e| (e.kind, e.change)), Some((AlertKind::ConvoyBroken, Change::Cleared)));
}

#[test]
fn a_backlog_is_evaluated_but_its_changes_are_marked_late() {
    let mut engine = engine_with(vec![], json!({}));
    let fixes = drive(400, |s| if (100..200).contains(&s) { 400.0 } else { 0.0 });
    let mut out = Vec::new();
    // All of it arrives ten minutes after the last fix was taken.
    let arrival = fixes.last().unwrap().t + Duration::minutes(10);
    for f in &fixes {
        engine.on_position(&vid("truck"), f, arrival, &mut out);
    }
    let off_route: Vec<_> = out.iter().filter(|e| e.kind == AlertKind::OffRoute).collect();
    assert_eq!(off_route.len(), 2);
    assert!(off_route.iter().all(|e| e.late));
}

#[test]
fn a_fix_not_newer_than_the_last_is_skipped() {
    let mut engine = engine_with(vec![], json!({}));
    let fixes = drive(100, |s| if s >= 20 { 400.0 } else { 0.0 });
    let mut out = run(&mut engine, "truck", &fixes);
    assert_eq!(out.len(), 1);
    // Replaying the same fixes (a redelivery) or an older one changes nothing.
    out.clear();
    out.extend(run(&mut engine, "truck", &fixes));
    assert!(out.is_empty());
}

#[test]
fn the_same_input_gives_the_same_events() {
    let input = drive_with_halt(400);
    let first = run(&mut engine_with(vec![], json!({})), "truck", &input);
    let second = run(&mut engine_with(vec![], json!({})), "truck", &input);
    assert!(!first.is_empty());
    assert_eq!(first, second);
}

#[test]
fn a_move_outside_its_window_is_quiet() {
    let mut engine = Engine::new(RuleSettings::default());
    let mut p = plan(vec![], json!({}));
    p.window = Some(TimeWindow { from: t0() + Duration::hours(1), to: t0() + Duration::hours(2) });
    engine.add_move(&MoveSpec { id: "later".into(), plan: p, created_at: t0(), ended_at: None }).unwrap();
    let mut out = run(&mut engine, "truck", &drive(400, |_| 400.0));
    engine.tick(t0() + Duration::minutes(30), &mut out);
    assert!(out.is_empty());
}

#[test]
fn a_move_ended_by_a_person_is_quiet_from_its_end_on() {
    // Out of the corridor from second 100 on, for good.
    let fixes = drive(400, |s| if s >= 100 { 400.0 } else { 0.0 });
    let mut running = engine_with(vec![], json!({}));
    assert_eq!(kinds(&run(&mut running, "truck", &fixes)), vec![(AlertKind::OffRoute, Change::Opened, 130)]);

    let mut ended = engine_with(vec![], json!({}));
    assert!(ended.end_move("m1", t0() + Duration::seconds(90)));
    assert!(!ended.end_move("m1", t0() + Duration::seconds(300)));
    let mut out = run(&mut ended, "truck", &fixes);
    ended.tick(t0() + Duration::hours(1), &mut out);
    assert_eq!(kinds(&out), vec![], "the first end stands; nothing after it is evaluated");
}

#[test]
fn progress_follows_the_matched_fixes_once_per_vehicle_and_stops_with_the_move() {
    let mut engine = engine_with(vec![], json!({}));
    let length_m = RouteIndex::new(&plan(vec![], json!({})).route).unwrap().length_m();
    // Ten minutes east at 10 m/s from 100 m along, 20 m beside the road.
    run(&mut engine, "truck", &drive(600, |_| 20.0));
    let mut progress = Vec::new();
    engine.take_progress(&mut progress);
    assert_eq!(progress.len(), 1, "one entry for the vehicle, not one per fix");
    let p = &progress[0];
    assert_eq!((p.move_id.as_str(), p.vehicle.as_str()), ("m1", "truck"));
    assert_eq!(p.state, convoy_core::progress::ProgressState::OnRoute);
    // The last fix is 100 + 5,990 m along (the test's metres per degree are near enough).
    assert!((p.progress_m - 6_090.0).abs() < 10.0, "{}", p.progress_m);
    assert!((p.route_length_m - length_m).abs() < 0.1);
    assert!((p.remaining_m + p.progress_m - p.route_length_m).abs() < 0.2);
    assert!(p.speed_mps.is_some_and(|pace| (pace - 10.0).abs() < 0.1), "{:?}", p.speed_mps);
    let eta_s = (p.eta.unwrap() - p.as_of).num_seconds() as f64;
    assert!((eta_s - p.remaining_m / 10.0).abs() < 10.0, "{eta_s}");
    assert_eq!(p.as_of, t0() + Duration::seconds(599));
    engine.take_progress(&mut progress);
    assert_eq!(progress.len(), 1, "nothing new without a new fix");

    // A fix already evaluated (a redelivery) changes nothing.
    run(&mut engine, "truck", &drive(600, |_| 20.0)[599..]);
    engine.take_progress(&mut progress);
    assert_eq!(progress.len(), 1);

    assert!(engine.runs_at("m1", t0() + Duration::seconds(600)));
    engine.end_move("m1", t0() + Duration::seconds(700));
    assert!(!engine.runs_at("m1", t0() + Duration::seconds(700)));
    assert!(!engine.runs_at("no-such-move", t0()));
    run(&mut engine, "truck", &[fix(1_000, 800, 8_000.0, 0.0, 10.0)]);
    engine.take_progress(&mut progress);
    assert_eq!(progress.len(), 1, "an ended move's fixes move no progress");
}

fn spec_of(plan: MovePlan) -> MoveSpec {
    MoveSpec { id: "m1".into(), plan, created_at: t0(), ended_at: None }
}

#[test]
fn after_an_edit_the_fixes_are_judged_by_the_new_corridor_and_none_before_again() {
    let mut engine = engine_with(vec![], json!({}));
    // 400 m off the route from the start, for good: off a 150 m corridor, inside a 1 km one.
    let fixes = drive(300, |_| 400.0);
    let before = run(&mut engine, "truck", &fixes[..100]);
    assert_eq!(kinds(&before), vec![(AlertKind::OffRoute, Change::Opened, 30)]);

    engine.replace_plan(&spec_of(MovePlan { corridor_m: 1_000.0, ..plan(vec![], json!({})) })).unwrap();
    let after = run(&mut engine, "truck", &fixes[100..]);
    // Back inside from second 100 by the new corridor: the open alert clears 15 s later, as any
    // return would; what was judged before the edit is not judged again (nothing reopens).
    assert_eq!(kinds(&after), vec![(AlertKind::OffRoute, Change::Cleared, 115)]);
    assert_eq!(after[0].alert_id, before[0].alert_id);
}

#[test]
fn a_later_end_keeps_the_move_judged_past_its_old_end() {
    let windowed = |to_s: i64| MovePlan {
        window: Some(TimeWindow { from: t0(), to: t0() + Duration::seconds(to_s) }),
        ..plan(vec![], json!({}))
    };
    // Off the corridor from second 200 on.
    let fixes = drive(400, |s| if s >= 200 { 400.0 } else { 0.0 });
    let mut kept = Engine::new(RuleSettings::default());
    kept.add_move(&spec_of(windowed(180))).unwrap();
    assert_eq!(kinds(&run(&mut kept, "truck", &fixes)), vec![], "over at 180 s");

    let mut extended = Engine::new(RuleSettings::default());
    extended.add_move(&spec_of(windowed(180))).unwrap();
    let before = run(&mut extended, "truck", &fixes[..100]);
    extended.replace_plan(&spec_of(windowed(3_600))).unwrap();
    let after = run(&mut extended, "truck", &fixes[100..]);
    assert_eq!(kinds(&before), vec![]);
    assert_eq!(kinds(&after), vec![(AlertKind::OffRoute, Change::Opened, 230)]);
}

#[test]
fn an_edit_before_the_start_may_change_the_vehicles() {
    let mut engine = engine_with(vec![], json!({}));
    let other =
        MovePlan { vehicles: vec![vid("truck-2")], escorts: Default::default(), ..plan(vec![], json!({})) };
    engine.replace_plan(&spec_of(other)).unwrap();
    let fixes = drive(100, |_| 400.0);
    assert_eq!(kinds(&run(&mut engine, "truck", &fixes)), vec![], "no longer on the move");
    assert_eq!(kinds(&run(&mut engine, "truck-2", &fixes)), vec![(AlertKind::OffRoute, Change::Opened, 30)]);
}

#[test]
fn an_edit_leaves_a_persons_end_standing() {
    let mut engine = engine_with(vec![], json!({}));
    assert!(engine.end_move("m1", t0()));
    engine.replace_plan(&spec_of(plan(vec![], json!({})))).unwrap();
    assert_eq!(kinds(&run(&mut engine, "truck", &drive(100, |_| 400.0))), vec![]);
}

#[test]
fn progress_waiting_to_be_taken_follows_its_vehicle_through_an_edit() {
    let two = MovePlan { vehicles: vec![vid("truck"), vid("truck-2")], ..plan(vec![], json!({})) };
    let mut engine = Engine::new(RuleSettings::default());
    engine.add_move(&spec_of(two.clone())).unwrap();
    run(&mut engine, "truck-2", &drive(60, |_| 20.0));
    // truck-2 moves to the first slot, truck leaves: its queued progress must not be lost,
    // nor read from a slot that is no longer there.
    engine.replace_plan(&spec_of(MovePlan { vehicles: vec![vid("truck-2")], ..two })).unwrap();
    let mut progress = Vec::new();
    engine.take_progress(&mut progress);
    assert_eq!(progress.len(), 1);
    assert_eq!(progress[0].vehicle.as_str(), "truck-2");
    assert!(progress[0].progress_m > 100.0, "{:?}", progress[0]);
}
