//! The demo's script on Andorra's road: how its vehicles drive, where they halt and detour, and
//! which alerts the rule engine raises from their fixes, and when (README's table).

use geo::{Distance, Geodesic, Point};

use super::simulator::tests::{largest_changes, MEASURING_MPS2};
use super::*;

fn road() -> DemoRoad {
    DemoRoad::andorra().unwrap()
}

/// The demo's plan's allowed places (where stopping is planned) with their radii.
fn allowed_places(road: &DemoRoad) -> [(Point, f64); 3] {
    let points = road.file.points();
    [
        (points[0], ORIGIN_RADIUS_M),
        (points[points.len() - 1], DESTINATION_RADIUS_M),
        (road.file.rest_area.point(), REST_AREA_RADIUS_M),
    ]
}

fn all_scripts(road: &DemoRoad) -> Vec<(&'static str, Script)> {
    vehicles(road).into_iter().chain([(PHONE_ESCORT, phone_escort_script(road))]).collect()
}

fn distance_to_route_m(at: Point, road: &DemoRoad) -> f64 {
    let line = geo::LineString::from(road.file.out_and_back());
    convoy_core::geometry::distance_to_route_m(at, &line).unwrap()
}

/// Every vehicle of the script speeds up at most 2.5 m/s² and slows down at most 3.5 m/s²,
/// detouring, halting and turning back at the ends of the road included, over two cycles.
#[test]
fn every_demo_vehicle_drives_as_a_loaded_truck_can() {
    let road = road();
    for (id, script) in all_scripts(&road) {
        let v: Vec<f64> = (1..2 * simulator::CYCLE_S).map(|s| script.speed_mps(&road.route, s)).collect();
        let (up, down) = largest_changes(&v);
        assert!(up <= simulator::ACCELERATION_MPS2 + MEASURING_MPS2, "{id} speeds up {up} m/s²");
        assert!(down <= simulator::DECELERATION_MPS2 + MEASURING_MPS2, "{id} slows down {down} m/s²");
        // Never faster than the road's fastest (80 km/h), nor jumping between fixes.
        assert!(
            v.iter().all(|&s| s <= 80.0 / 3.6 + 0.05),
            "{id}: {:?}",
            v.iter().copied().fold(0.0, f64::max)
        );
        let jumps = (1..2 * simulator::CYCLE_S)
            .map(|s| Geodesic.distance(script.track(&road.route, s - 1), script.track(&road.route, s)))
            .fold(0.0, f64::max);
        assert!(jumps <= 80.0 / 3.6 + 0.05, "{id} moves {jumps} m in a second");
    }
}

/// `truck-02` (and its escort) halt for six minutes where stopping is not planned: more
/// than 100 m outside every allowed place of the demo's plan, at the route file's roadside.
#[test]
fn the_scripted_halt_is_at_the_roadside_outside_every_allowed_place() {
    let road = road();
    let (_, truck_02) = &vehicles(&road)[2];
    let truck_stands = truck_02.track(&road.route, HALT.start_s + 60);
    assert!(
        Geodesic.distance(truck_stands, road.file.halt()) < 15.0,
        "the truck halts at the file's roadside"
    );
    for script in [truck_02.clone(), phone_escort_script(&road)] {
        let at = script.track(&road.route, HALT.start_s + 60);
        assert!(distance_to_route_m(at, &road) < 1.0, "on the road");
        for (place, radius_m) in allowed_places(&road) {
            let d = Geodesic.distance(at, place);
            assert!(d > radius_m + 100.0, "halts {d} m from an allowed place");
        }
        // And it stands there: the receiver's errors are all that moves.
        let later = script.track(&road.route, HALT.start_s + 300);
        assert!(Geodesic.distance(at, later) < 1e-6);
    }
}

/// The rest area is the car park beside the road: its zone holds the car park and the road.
#[test]
fn the_rest_area_zone_holds_its_car_park_and_the_road_beside_it() {
    let road = road();
    let car_park = road.file.rest_area.point();
    assert!(road.file.rest_area.name.contains("car park"), "{}", road.file.rest_area.name);
    assert!(distance_to_route_m(car_park, &road) < REST_AREA_RADIUS_M - 30.0);
}

/// The detour is a real side street off the road and back: its farthest point is well beyond
/// the 150 m corridor (so `off_route` fires), the forbidden zone is on it, and the zone is clear
/// of the road (so no vehicle on the road enters it).
#[test]
fn the_detour_leaves_the_corridor_through_the_forbidden_zone_which_is_clear_of_the_road() {
    let road = road();
    let detour = road.file.detour_points();
    let farthest = detour.iter().map(|&p| distance_to_route_m(p, &road)).fold(0.0, f64::max);
    assert!(farthest > CORRIDOR_M + 100.0, "the detour's farthest point is {farthest} m off");
    let zone = road.file.forbidden.point();
    let radius = road.file.forbidden.radius_m.unwrap();
    assert!(
        detour.iter().any(|&p| Geodesic.distance(p, zone) < radius / 2.0),
        "the detour passes through it"
    );
    assert!(distance_to_route_m(zone, &road) > radius + 100.0, "clear of the road");
    // truck-01 drives it: a minute in, it is beyond the corridor.
    let (_, truck_01) = &vehicles(&road)[0];
    let off = |s| distance_to_route_m(truck_01.track(&road.route, s), &road);
    assert!(off(5) < 1.0 && off(170) < 1.0, "on the road before and after");
    assert!((30..120).any(|s| off(s) > CORRIDOR_M + 50.0));
}

/// The script repeats: every cycle finds each vehicle where the first did (a halt is made up
/// standing at the depot, the detour's time too), so a demo left running shows it all again.
#[test]
fn every_cycle_finds_each_vehicle_where_the_first_did() {
    let road = road();
    for (id, script) in all_scripts(&road) {
        for s in (0..simulator::CYCLE_S).step_by(7) {
            let (first, second) =
                (script.track(&road.route, s), script.track(&road.route, s + simulator::CYCLE_S));
            let third = script.track(&road.route, s + 2 * simulator::CYCLE_S);
            assert!(Geodesic.distance(first, second) < 0.01, "{id} at {s} s: {first:?} then {second:?}");
            assert!(Geodesic.distance(first, third) < 0.01, "{id} at {s} s: {first:?} then {third:?}");
        }
    }
}

#[cfg(test)]
mod script_alerts {
    //! The demo's script through the rule engine, as the server would see it if every fix
    //! arrived at once: which alerts each vehicle raises, and when.

    use super::*;
    use chrono::{DateTime, Duration, Utc};
    use convoy_alerts::{Change, Engine, MoveSpec, RuleEvent};
    use convoy_core::alert::AlertKind;
    use convoy_core::rules::RuleSettings;
    use convoy_core::Position;

    fn t0() -> DateTime<Utc> {
        "2026-12-01T08:00:00Z".parse().unwrap()
    }

    /// Every vehicle's fixes for `seconds` from the start, as their receivers send them (none
    /// while silent or without a fix), fed to an engine in time order; the events.
    fn run_script(seconds: u64) -> Vec<RuleEvent> {
        let road = road();
        let plan =
            convoy_core::plan::MovePlan::from_json(&serde_json::to_vec(&demo_plan(&road)).unwrap()).unwrap();
        let mut engine = Engine::new(RuleSettings::default());
        let spec = MoveSpec { id: "demo".into(), plan, created_at: t0(), ended_at: None };
        engine.add_move(&spec).unwrap();
        let scripts = all_scripts(&road);
        let mut out = Vec::new();
        for second in 1..seconds {
            let t = t0() + Duration::seconds(second as i64);
            for (id, script) in &scripts {
                let phone = *id == PHONE_ESCORT;
                let vehicle = VehicleId::new(*id).unwrap();
                if script.has_no_fix(second) {
                    // Its agent reports the receiver without a fix.
                    let health = convoy_alerts::AgentHealth { online: true, has_fix: false };
                    engine.on_status(&vehicle, health, t + Duration::seconds(1), &mut out);
                    continue;
                }
                if script.is_silent(second) || (phone && second % 5 != 0) {
                    continue;
                }
                let here = script.position(&road.route, second);
                let speed = script.speed_mps(&road.route, second);
                let fix = Position {
                    seq: second,
                    t,
                    lat: here.y(),
                    lon: here.x(),
                    alt_m: None,
                    speed_mps: (!phone).then_some(speed),
                    course_deg: None,
                    fix: None,
                    sats: None,
                    hdop: None,
                    accuracy_m: phone.then_some(12.0),
                };
                engine.on_position(&vehicle, &fix, t + Duration::seconds(1), &mut out);
            }
            engine.tick(t, &mut out);
        }
        out
    }

    fn summary(events: &[RuleEvent]) -> Vec<(String, AlertKind, Change, i64)> {
        events.iter().map(|e| (e.vehicle.to_string(), e.kind, e.change, (e.t - t0()).num_seconds())).collect()
    }

    /// Each vehicle's drive through the CG-2's 80 km/h stretch (above the move's 70 km/h)
    /// opens one `overspeed`, resolved once it slows down, each way: no flapping, though the
    /// road's bends slow it at places.
    #[test]
    fn the_demo_opens_overspeed_once_per_vehicle_and_pass_through_the_fast_stretch() {
        let events = summary(&run_script(simulator::CYCLE_S));
        for vehicle in ["truck-01", "escort-1", "truck-02", "escort-2"] {
            let changes: Vec<(Change, i64)> = events
                .iter()
                .filter(|(v, kind, _, _)| v == vehicle && *kind == AlertKind::Overspeed)
                .map(|(_, _, change, t)| (*change, *t))
                .collect();
            let opened: Vec<i64> =
                changes.iter().filter(|(c, _)| *c == Change::Opened).map(|(_, t)| *t).collect();
            // Out, and back (the way back ends past the cycle for the later ones).
            assert!((1..=2).contains(&opened.len()), "{vehicle}: {changes:?}");
            // Each opened alert stays open for the whole stretch: over a minute from a receiver's
            // speeds. The phone reports no speed: the one its fixes imply, 5 s apart, is under the
            // limit through the bends, so its alert opens later, but it too is cleared only 30 s
            // after the stretch, not at a bend.
            let open_at_least = if vehicle == PHONE_ESCORT { 50 } else { 60 };
            for pair in changes.windows(2) {
                if let [(Change::Opened, from), (Change::Cleared, to)] = pair {
                    assert!(to - from > open_at_least, "{vehicle}: {changes:?}");
                }
            }
            // Apart by more than the fast stretch: a pass out and a pass back.
            assert!(opened.windows(2).all(|w| w[1] - w[0] > 300), "{vehicle}: {changes:?}");
        }
    }

    /// The second cycle rings the script's alerts again, 30 minutes after the first.
    #[test]
    fn the_second_cycle_repeats_the_first() {
        let events = summary(&run_script(2 * simulator::CYCLE_S));
        let cycle = simulator::CYCLE_S as i64;
        for (vehicle, kind) in [
            ("truck-01", AlertKind::OffRoute),
            ("truck-01", AlertKind::ZoneEnter),
            ("truck-02", AlertKind::UnplannedStop),
            ("escort-2", AlertKind::UnplannedStop),
            ("truck-01", AlertKind::GnssLost),
            ("truck-01", AlertKind::ConvoyBroken),
        ] {
            let opened: Vec<i64> = events
                .iter()
                .filter(|(v, k, c, _)| v == vehicle && *k == kind && *c == Change::Opened)
                .map(|e| e.3)
                .collect();
            let first = opened.iter().find(|&&t| t < cycle).copied();
            let again = opened.iter().find(|&&t| t >= cycle).copied();
            match (first, again) {
                (Some(a), Some(b)) => assert!((b - a - cycle).abs() <= 10, "{vehicle} {kind:?}: {opened:?}"),
                _ => panic!("{vehicle} {kind:?} in each cycle: {opened:?}"),
            }
        }
    }

    /// The script's table (README), on time.
    #[test]
    fn the_demo_raises_its_scripted_alerts_on_time() {
        let raised = run_script(simulator::CYCLE_S);
        let events = summary(&raised);
        let first = |vehicle: &str, kind: AlertKind, change: Change| {
            events.iter().find(|(v, k, c, _)| v == vehicle && *k == kind && *c == change).map(|e| e.3)
        };
        let opened = |vehicle, kind| first(vehicle, kind, Change::Opened);
        let table = format!("{events:#?}");
        assert!(opened("truck-01", AlertKind::ZoneExit).is_some_and(|t| t < 30), "{table}");
        assert!(opened("truck-01", AlertKind::ZoneEnter).is_some_and(|t| (20..140).contains(&t)), "{table}");
        assert!(opened("truck-01", AlertKind::OffRoute).is_some_and(|t| (50..90).contains(&t)), "{table}");
        // Resolved 15 s after it is back inside the corridor, about 1:40.
        let resolved = first("truck-01", AlertKind::OffRoute, Change::Cleared);
        assert!(resolved.is_some_and(|t| (90..160).contains(&t)), "{table}");
        assert!(
            opened("truck-02", AlertKind::UnplannedStop).is_some_and(|t| (350..370).contains(&t)),
            "{table}"
        );
        assert!(
            opened("escort-2", AlertKind::UnplannedStop).is_some_and(|t| (350..380).contains(&t)),
            "{table}"
        );
        assert!(
            opened("truck-01", AlertKind::ConvoyBroken).is_some_and(|t| (400..480).contains(&t)),
            "{table}"
        );
        assert!(opened("truck-01", AlertKind::GnssLost).is_some_and(|t| (650..720).contains(&t)), "{table}");
        // Nothing the script does not mean: no vehicle but truck-01 leaves the corridor or
        // enters the forbidden zone (the others enter only the destination, arriving), and
        // only truck-02 and its escort stop unplanned.
        let forbidden = road().file.forbidden.name;
        for (event, (vehicle, kind, change, t)) in raised.iter().zip(&events) {
            let scripted = match kind {
                AlertKind::OffRoute => vehicle == "truck-01",
                AlertKind::ZoneEnter => event.zone.as_ref() != Some(&forbidden) || vehicle == "truck-01",
                AlertKind::UnplannedStop => vehicle == "truck-02" || vehicle == "escort-2",
                AlertKind::ConvoyBroken => vehicle == "truck-01",
                _ => true,
            };
            assert!(scripted, "{vehicle} {kind:?} {change:?} at {t} s\n{table}");
        }
    }
}
