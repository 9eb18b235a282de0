use super::*;
use chrono::{FixedOffset, TimeZone};
use geo::Coord;
use proptest::prelude::*;
use serde_json::{json, Value};

/// A valid plan document with every field.
fn full_document() -> Value {
    json!({
        "name": "Data centre move",
        "vehicles": ["truck-07", "escort-1", "truck-08"],
        "escorts": {"truck-07": "escort-1"},
        "route": {"type": "LineString", "coordinates": [[11.5761, 48.1371], [11.58, 48.14], [11.5895, 48.138, 519.0]]},
        "corridor_m": 200,
        "zones": {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [11.5761, 48.1371]},
             "properties": {"kind": "origin", "name": "old office", "radius_m": 80}},
            {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[
                [11.58, 48.13], [11.59, 48.13], [11.59, 48.135], [11.585, 48.132], [11.58, 48.135], [11.58, 48.13]
            ]]}, "properties": {"kind": "forbidden", "name": "depot", "note": "ignored"}}
        ]},
        "window": {"from": "2026-11-28T09:00:00+01:00", "to": "2026-11-28T18:00:00.123456Z"},
        "rules": {"stop_after_s": 120, "speed_limit_mps": 25},
        "comment": "unknown fields are ignored"
    })
}

fn minimal_document() -> Value {
    json!({
        "name": "move",
        "vehicles": ["truck-07"],
        "route": {"type": "LineString", "coordinates": [[11.0, 48.0], [11.1, 48.1]]}
    })
}

fn parse(document: &Value) -> Result<MovePlan, PlanError> {
    MovePlan::from_json(document.to_string().as_bytes())
}

/// `minimal_document` with `change` applied.
fn parse_changed(change: impl FnOnce(&mut Value)) -> Result<MovePlan, PlanError> {
    let mut document = minimal_document();
    change(&mut document);
    parse(&document)
}

/// Asserts a refusal with `reason`, whose message contains every one of `words`.
#[track_caller]
fn assert_refused(result: Result<MovePlan, PlanError>, reason: &str, words: &[&str]) -> PlanError {
    let error = match result {
        Ok(plan) => panic!("expected a refusal ({reason}), got a plan: {plan:?}"),
        Err(error) => error,
    };
    let message = error.to_string();
    assert_eq!(error.reason(), reason, "wrong reason for: {message}");
    assert!(PLAN_REJECTION_REASONS.contains(&error.reason()));
    for word in words {
        assert!(message.contains(word), "{message:?} does not mention {word:?}");
    }
    error
}

fn zone_document(zone: Value) -> Value {
    let mut document = minimal_document();
    document["zones"] = json!({"type": "FeatureCollection", "features": [zone]});
    document
}

fn polygon_zone(name: &str, ring: Value) -> Value {
    json!({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
           "properties": {"kind": "forbidden", "name": name}})
}

fn fields() -> PlanFields {
    PlanFields { name: "file move".into(), vehicles: vec!["truck-07".into()], ..PlanFields::default() }
}

fn coord(x: f64, y: f64) -> Coord {
    Coord { x, y }
}

// ---- the JSON document ----

#[test]
fn a_full_document_is_read() {
    let plan = parse(&full_document()).unwrap();
    assert_eq!(plan.name, "Data centre move");
    let ids: Vec<&str> = plan.vehicles.iter().map(|v| v.as_str()).collect();
    assert_eq!(ids, ["truck-07", "escort-1", "truck-08"]);
    assert_eq!(plan.escorts.len(), 1);
    assert_eq!(plan.escorts[&VehicleId::new("truck-07").unwrap()].as_str(), "escort-1");
    assert_eq!(plan.route.0, vec![coord(11.5761, 48.1371), coord(11.58, 48.14), coord(11.5895, 48.138)]);
    assert_eq!(plan.corridor_m, 200.0);
    assert_eq!(plan.zones.len(), 2);
    assert_eq!(plan.zones[0].name, "old office");
    assert_eq!(plan.zones[0].kind, ZoneKind::Origin);
    assert_eq!(
        plan.zones[0].shape,
        ZoneShape::Circle { center: Point::new(11.5761, 48.1371), radius_m: 80.0 }
    );
    assert_eq!(plan.zones[1].kind, ZoneKind::Forbidden);
    let ZoneShape::Polygon(polygon) = &plan.zones[1].shape else { panic!("not a polygon") };
    assert_eq!(polygon.exterior().0.len(), 6);
    // The concave corner is outside, the rest inside.
    assert!(plan.zones[1].contains(Point::new(11.582, 48.131)));
    assert!(!plan.zones[1].contains(Point::new(11.585, 48.134)));
    let window = plan.window.unwrap();
    assert_eq!(window.from, Utc.with_ymd_and_hms(2026, 11, 28, 8, 0, 0).unwrap());
    // Kept to the millisecond.
    assert_eq!(window.to.timestamp_subsec_nanos(), 123_000_000);
    assert_eq!(plan.rules["stop_after_s"], json!(120));
    assert_eq!(plan.rules.len(), 2);
}

#[test]
fn only_name_vehicles_and_route_are_required() {
    let plan = parse(&minimal_document()).unwrap();
    assert_eq!(plan.corridor_m, DEFAULT_CORRIDOR_M);
    assert!(plan.zones.is_empty() && plan.escorts.is_empty() && plan.rules.is_empty());
    assert_eq!(plan.window, None);
    // null counts as absent.
    let plan = parse_changed(|d| {
        for key in ["escorts", "corridor_m", "zones", "window", "rules"] {
            d[key] = Value::Null;
        }
    })
    .unwrap();
    assert_eq!(plan.corridor_m, DEFAULT_CORRIDOR_M);
    for key in ["name", "vehicles", "route"] {
        assert_refused(
            parse_changed(|d| _ = d.as_object_mut().unwrap().remove(key)),
            "malformed",
            &[key, "required"],
        );
    }
}

#[test]
fn the_route_may_be_a_feature_or_a_collection_with_one_line() {
    let line = json!({"type": "LineString", "coordinates": [[11.0, 48.0], [11.1, 48.1]]});
    let feature = json!({"type": "Feature", "geometry": line, "properties": {"name": "via A9"}});
    let expected = parse(&minimal_document()).unwrap();
    let plan = parse_changed(|d| d["route"] = feature.clone()).unwrap();
    assert_eq!(plan, expected);
    let plan =
        parse_changed(|d| d["route"] = json!({"type": "FeatureCollection", "features": [feature.clone()]}))
            .unwrap();
    assert_eq!(plan, expected);
    assert_refused(
        parse_changed(|d| {
            d["route"] = json!({"type": "FeatureCollection", "features": [feature.clone(), feature.clone()]})
        }),
        "malformed",
        &["2 LineString features", "exactly one"],
    );
    assert_refused(
        parse_changed(|d| d["route"] = json!({"type": "FeatureCollection", "features": []})),
        "malformed",
        &["0 LineString features"],
    );
    let point = json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [11.0, 48.0]}, "properties": {}});
    assert_refused(
        parse_changed(|d| {
            d["route"] = json!({"type": "FeatureCollection", "features": [feature.clone(), point.clone()]})
        }),
        "malformed",
        &["feature 2", "Point", "zones"],
    );
    assert_refused(parse_changed(|d| d["route"] = point.clone()), "malformed", &["Point", "LineString"]);
    assert_refused(
        parse_changed(|d| d["route"] = json!({"type": "MultiLineString", "coordinates": []})),
        "malformed",
        &["MultiLineString"],
    );
}

#[test]
fn escorts_are_read_and_checked() {
    let plan = parse_changed(|d| {
        d["vehicles"] = json!(["a", "b", "c"]);
        d["escorts"] = json!({"a": "b", "c": "b"});
    })
    .unwrap();
    assert_eq!(plan.escorts.len(), 2);
    let with = |escorts: Value| {
        parse_changed(|d| {
            d["vehicles"] = json!(["a", "b"]);
            d["escorts"] = escorts;
        })
    };
    assert_refused(with(json!({"a": "x"})), "invalid_vehicles", &["\"x\"", "not among the plan's vehicles"]);
    assert_refused(with(json!({"z": "a"})), "invalid_vehicles", &["cargo vehicle \"z\""]);
    assert_refused(with(json!({"a": "a"})), "invalid_vehicles", &["\"a\" cannot escort itself"]);
    assert_refused(with(json!({"a b": "a"})), "invalid_vehicles", &["\"a b\"", "not a valid vehicle id"]);
    assert_refused(with(json!({"a": 7})), "malformed", &["escorts.a", "a string"]);
    assert_refused(with(json!(["a", "b"])), "malformed", &["escorts", "an object"]);
    // From the fields of a route file, a cargo vehicle with two escorts is refused too.
    let mut f = fields();
    f.vehicles = vec!["a".into(), "b".into(), "c".into()];
    f.escorts = vec![("a".into(), "b".into()), ("a".into(), "c".into())];
    assert_refused(
        MovePlan::from_route_file(GPX_RTE.as_bytes(), RouteFormat::Gpx, &f),
        "invalid_vehicles",
        &["two escorts"],
    );
}

#[test]
fn rule_overrides_are_checked_against_the_rule_settings() {
    let plan = parse_changed(|d| d["rules"] = json!({"off_route_after_s": 45.5})).unwrap();
    assert_eq!(plan.rules["off_route_after_s"], json!(45.5));
    let merged = crate::rules::RuleSettings::default().with_overrides(&plan.rules).unwrap();
    assert_eq!(merged.off_route_after_s, 45.5);
    assert_refused(
        parse_changed(|d| d["rules"] = json!({"stop_after": 1})),
        "invalid_rules",
        &["rules", "stop_after"],
    );
    assert_refused(
        parse_changed(|d| d["rules"] = json!({"stop_after_s": -1})),
        "invalid_rules",
        &["stop_after_s"],
    );
    assert_refused(
        parse_changed(|d| d["rules"] = json!({"stop_after_s": 1, "speed_limit_mps": "fast"})),
        "invalid_rules",
        &["rules: speed_limit_mps: ", "invalid type"],
    );
    assert_refused(
        parse_changed(|d| d["rules"] = json!([1])),
        "invalid_rules",
        &["must be an object", "an array"],
    );
    assert_refused(parse_changed(|d| d["rules"] = json!("fast")), "invalid_rules", &["a string"]);
    let mut f = fields();
    f.rules = Some("{\"stop_after_s\": 90}".into());
    let plan = MovePlan::from_route_file(GPX_RTE.as_bytes(), RouteFormat::Gpx, &f).unwrap();
    assert_eq!(plan.rules["stop_after_s"], json!(90));
    f.rules = Some("stop_after_s=90".into());
    assert_refused(
        MovePlan::from_route_file(GPX_RTE.as_bytes(), RouteFormat::Gpx, &f),
        "invalid_rules",
        &["not valid JSON"],
    );
}

#[test]
fn windows_are_read_in_utc_and_must_end_after_they_start() {
    let with = |window: Value| parse_changed(|d| d["window"] = window);
    let plan = with(json!({"from": "2026-11-28T08:00:00Z", "to": "2026-11-28T09:00:00.5Z"})).unwrap();
    assert_eq!(
        plan.window.unwrap().to,
        Utc.with_ymd_and_hms(2026, 11, 28, 9, 0, 0).unwrap() + chrono::Duration::milliseconds(500)
    );
    assert_refused(
        with(json!({"from": "tomorrow", "to": "2026-11-28T09:00:00Z"})),
        "invalid_window",
        &["window", "from", "\"tomorrow\"", "RFC 3339"],
    );
    assert_refused(
        with(json!({"from": "2026-11-28T09:00:00Z", "to": "2026-11-28T09:00:00Z"})),
        "invalid_window",
        &["must be before"],
    );
    assert_refused(
        with(json!({"from": "2026-11-28T10:00:00+01:00", "to": "2026-11-28T08:30:00Z"})),
        "invalid_window",
        &["must be before"],
    );
    assert_refused(with(json!({"from": "2026-11-28T09:00:00Z"})), "invalid_window", &["\"to\" is missing"]);
    assert_refused(with(json!({"from": 1, "to": 2})), "malformed", &["window.from"]);
    assert_refused(with(json!("all day")), "malformed", &["window"]);
    let mut f = fields();
    f.window = Some(("2026-11-28T08:00:00Z".into(), "2026-11-28T07:00:00Z".into()));
    assert_refused(
        MovePlan::from_route_file(GPX_RTE.as_bytes(), RouteFormat::Gpx, &f),
        "invalid_window",
        &["before"],
    );
}

// ---- each rejection reason ----

#[test]
fn too_large_bodies_are_refused_before_parsing() {
    let body = vec![b' '; MAX_PLAN_BYTES + 1];
    let error = assert_refused(MovePlan::from_json(&body), "too_large", &["4194305 bytes", "4194304"]);
    assert_eq!(error, PlanError::BodyTooLarge { bytes: MAX_PLAN_BYTES + 1 });
    for format in [RouteFormat::Gpx, RouteFormat::Kml, RouteFormat::GeoJson] {
        assert_refused(MovePlan::from_route_file(&body, format, &fields()), "too_large", &["bytes"]);
    }
}

#[test]
fn routes_over_the_point_limit_are_too_large() {
    let coordinates: Vec<Value> =
        (0..=MAX_ROUTE_POINTS).map(|i| json!([(i % 100) as f64 * 0.001, 48.0])).collect();
    assert_refused(
        parse_changed(|d| d["route"]["coordinates"] = Value::Array(coordinates)),
        "too_large",
        &["more than 100000 points"],
    );
    let mut gpx = String::from("<gpx><trk><trkseg>");
    for i in 0..=MAX_ROUTE_POINTS {
        gpx.push_str(&format!("<trkpt lat=\"48\" lon=\"{}\"/>", i % 10));
    }
    gpx.push_str("</trkseg></trk></gpx>");
    assert_refused(
        MovePlan::from_route_file(gpx.as_bytes(), RouteFormat::Gpx, &fields()),
        "too_large",
        &["route"],
    );
}

#[test]
fn too_many_zones_or_zone_points_are_too_large() {
    let circle = json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [11.0, 48.0]},
                        "properties": {"kind": "allowed_stop", "name": "bay", "radius_m": 50}});
    let mut document = minimal_document();
    document["zones"] = json!({"type": "FeatureCollection", "features": vec![circle; MAX_ZONES + 1]});
    assert_refused(parse(&document), "too_large", &["1001 zones", "1000"]);
    let mut ring: Vec<Value> = (0..=MAX_ZONE_POINTS)
        .map(|i| json!([11.0 + i as f64 * 1e-6, 48.0 + (i % 2) as f64 * 1e-6]))
        .collect();
    ring.push(ring[0].clone());
    assert_refused(
        parse(&zone_document(polygon_zone("long", Value::Array(ring)))),
        "too_large",
        &["zone 1 \"long\"", "10002 points"],
    );
}

#[test]
fn malformed_documents_are_refused_with_what_is_wrong() {
    assert_refused(MovePlan::from_json(b"name=move"), "malformed", &["not valid JSON", "line 1"]);
    assert_refused(MovePlan::from_json(b""), "malformed", &["not valid JSON"]);
    assert_refused(MovePlan::from_json(b"[1, 2]"), "malformed", &["JSON object", "an array"]);
    assert_refused(
        parse_changed(|d| d["name"] = json!(5)),
        "malformed",
        &["\"name\" must be a string", "a number"],
    );
    assert_refused(parse_changed(|d| d["name"] = json!("  ")), "malformed", &["name is empty"]);
    assert_refused(
        parse_changed(|d| d["name"] = json!("n".repeat(201))),
        "malformed",
        &["201 characters", "200"],
    );
    assert!(parse_changed(|d| d["name"] = json!("é".repeat(200))).is_ok());
    assert_refused(
        parse_changed(|d| d["vehicles"] = json!("truck-07")),
        "malformed",
        &["vehicles", "an array"],
    );
    assert_refused(parse_changed(|d| d["vehicles"] = json!(["a", 7])), "malformed", &["vehicles[1]"]);
    assert_refused(
        parse_changed(|d| d["corridor_m"] = json!("wide")),
        "malformed",
        &["corridor_m", "a number"],
    );
    assert_refused(
        parse_changed(|d| d["route"] = json!([[1, 2], [3, 4]])),
        "malformed",
        &["route", "LineString"],
    );
    assert_refused(
        parse_changed(|d| d["route"]["coordinates"][1] = json!(["11.1", "48.1"])),
        "malformed",
        &["route: position 2", "[longitude, latitude]"],
    );
    assert_refused(
        parse_changed(|d| d["route"]["coordinates"][0] = json!([11.0])),
        "malformed",
        &["route: position 1"],
    );
    assert_refused(parse_changed(|d| d["zones"] = json!([])), "malformed", &["zones", "FeatureCollection"]);
    assert_refused(
        parse_changed(|d| {
            d["zones"] = json!({"type": "FeatureCollection", "features": [{"type": "Polygon"}]})
        }),
        "malformed",
        &["zone 1 is not a GeoJSON Feature"],
    );
    // A BOM is tolerated.
    let mut body = b"\xEF\xBB\xBF".to_vec();
    body.extend_from_slice(minimal_document().to_string().as_bytes());
    assert!(MovePlan::from_json(&body).is_ok());
}

#[test]
fn short_routes_are_refused() {
    assert_refused(
        parse_changed(|d| d["route"]["coordinates"] = json!([[11.0, 48.0]])),
        "route_too_short",
        &["only 1 point", "at least 2"],
    );
    assert_refused(
        parse_changed(|d| d["route"]["coordinates"] = json!([])),
        "route_too_short",
        &["no points"],
    );
    assert_refused(
        parse_changed(|d| {
            d["route"]["coordinates"] = json!([[11.0, 48.0], [11.0, 48.0, 500.0], [11.0, 48.0]])
        }),
        "route_too_short",
        &["all 3 points", "same place"],
    );
    assert_refused(
        MovePlan::from_route_file(b"<gpx><wpt lat=\"1\" lon=\"2\"/></gpx>", RouteFormat::Gpx, &fields()),
        "route_too_short",
        &["no points"],
    );
}

#[test]
fn coordinates_out_of_range_are_refused_with_their_place() {
    assert_refused(
        parse_changed(|d| d["route"]["coordinates"][1] = json!([11.0, 91.0])),
        "coordinate_out_of_range",
        &["route point 2", "latitude 91", "-90 and 90"],
    );
    assert_refused(
        parse_changed(|d| d["route"]["coordinates"][0] = json!([-180.5, 48.0])),
        "coordinate_out_of_range",
        &["route point 1", "longitude -180.5"],
    );
    assert_refused(
        parse(&zone_document(polygon_zone("far", json!([[0, 0], [200, 0], [1, 1], [0, 0]])))),
        "coordinate_out_of_range",
        &["zone 1 \"far\"", "outer ring, point 2", "longitude 200"],
    );
    assert_refused(
        parse(&zone_document(
            json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [0, -95]},
                                    "properties": {"kind": "origin", "name": "pit", "radius_m": 10}}),
        )),
        "coordinate_out_of_range",
        &["zone 1 \"pit\"", "centre"],
    );
    let gpx = b"<gpx><rte><rtept lat=\"NaN\" lon=\"1\"/><rtept lat=\"1\" lon=\"1\"/></rte></gpx>";
    assert_refused(
        MovePlan::from_route_file(gpx, RouteFormat::Gpx, &fields()),
        "coordinate_out_of_range",
        &["route point 1", "not a finite number"],
    );
    // The edges of the ranges are in range.
    assert!(parse_changed(|d| d["route"]["coordinates"] = json!([[-180, -90], [180, 90]])).is_ok());
}

#[test]
fn a_bow_tie_zone_is_self_intersecting_and_a_concave_one_is_not() {
    let bow_tie = json!([[11.0, 48.0], [11.01, 48.01], [11.01, 48.0], [11.0, 48.01], [11.0, 48.0]]);
    let error = assert_refused(
        parse(&zone_document(polygon_zone("depot", bow_tie))),
        "self_intersecting_zone",
        &["zone 1 \"depot\": polygon ring intersects itself"],
    );
    assert_eq!(
        error.to_string(),
        "zone 1 \"depot\": polygon ring intersects itself (edges 1 and 3 cross or touch)"
    );
    let concave =
        json!([[11.0, 48.0], [11.04, 48.0], [11.04, 48.04], [11.02, 48.01], [11.0, 48.04], [11.0, 48.0]]);
    let plan = parse(&zone_document(polygon_zone("yard", concave))).unwrap();
    assert!(plan.zones[0].contains(Point::new(11.01, 48.005)));
    assert!(!plan.zones[0].contains(Point::new(11.02, 48.03)));
    // A ring that runs back along itself (a spike) and one that touches itself at a corner.
    let spike =
        json!([[11.0, 48.0], [11.02, 48.0], [11.03, 48.0], [11.01, 48.0], [11.01, 48.02], [11.0, 48.0]]);
    assert_refused(parse(&zone_document(polygon_zone("spike", spike))), "self_intersecting_zone", &["spike"]);
    let eight = json!([[0, 0], [1, 1], [2, 0], [2, 2], [1, 1], [0, 2], [0, 0]]);
    assert_refused(parse(&zone_document(polygon_zone("eight", eight))), "self_intersecting_zone", &["eight"]);
}

#[test]
fn polygon_holes_must_be_simple_and_inside() {
    let outer = json!([[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]);
    let hole = json!([[2, 2], [4, 2], [4, 4], [2, 4], [2, 2]]);
    let zone = |rings: Value| {
        zone_document(json!({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": rings},
                             "properties": {"kind": "allowed_stop", "name": "ring road"}}))
    };
    let plan = parse(&zone(json!([outer, hole]))).unwrap();
    assert!(!plan.zones[0].contains(Point::new(3.0, 3.0)));
    assert!(plan.zones[0].contains(Point::new(6.0, 6.0)));
    let crossing = json!([[8, 8], [12, 8], [12, 9], [8, 9], [8, 8]]);
    assert_refused(
        parse(&zone(json!([outer, crossing]))),
        "self_intersecting_zone",
        &["the outer ring and hole 1"],
    );
    let outside = json!([[20, 20], [21, 20], [21, 21], [20, 20]]);
    assert_refused(
        parse(&zone(json!([outer, outside]))),
        "invalid_zone",
        &["hole 1 lies outside the outer ring"],
    );
    let inner = json!([[2.5, 2.5], [3, 2.5], [3, 3], [2.5, 2.5]]);
    assert_refused(parse(&zone(json!([outer, hole, inner]))), "invalid_zone", &["hole 2 lies inside hole 1"]);
    assert_refused(parse(&zone(json!([]))), "invalid_zone", &["no rings"]);
}

#[test]
fn invalid_zones_are_refused_with_their_number_and_name() {
    let square = json!([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]);
    let feature = |geometry: Value, properties: Value| json!({"type": "Feature", "geometry": geometry, "properties": properties});
    let polygon = json!({"type": "Polygon", "coordinates": [square]});
    let point = json!({"type": "Point", "coordinates": [1, 1]});
    let cases = [
        (feature(polygon.clone(), json!({"name": "a"})), vec!["zone 1 \"a\"", "no kind"]),
        (feature(polygon.clone(), json!({"kind": "forbidden"})), vec!["zone 1", "no name"]),
        (feature(polygon.clone(), json!(null)), vec!["zone 1", "no name"]),
        (feature(polygon.clone(), json!({"kind": "forbidden", "name": ""})), vec!["name is empty"]),
        (
            feature(polygon.clone(), json!({"kind": "forbidden", "name": "x".repeat(201)})),
            vec!["201 characters"],
        ),
        (
            feature(polygon.clone(), json!({"kind": "parking", "name": "p"})),
            vec!["kind \"parking\" is unknown"],
        ),
        (
            feature(
                json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}),
                json!({"kind": "origin", "name": "o"}),
            ),
            vec!["the outer ring has 3 points", "at least 4"],
        ),
        (
            feature(
                json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}),
                json!({"kind": "origin", "name": "o"}),
            ),
            vec!["not closed"],
        ),
        (
            feature(
                json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 0], [0, 0]]]}),
                json!({"kind": "origin", "name": "o"}),
            ),
            vec!["fewer than 3 different corners"],
        ),
        (
            feature(point.clone(), json!({"kind": "destination", "name": "d"})),
            vec!["needs properties.radius_m"],
        ),
        (
            feature(point.clone(), json!({"kind": "destination", "name": "d", "radius_m": 0})),
            vec!["radius_m is 0"],
        ),
        (
            feature(point.clone(), json!({"kind": "destination", "name": "d", "radius_m": -5})),
            vec!["radius_m is -5"],
        ),
        (
            feature(point.clone(), json!({"kind": "destination", "name": "d", "radius_m": 100001})),
            vec!["100000"],
        ),
        (
            feature(
                json!({"type": "LineString", "coordinates": [[0, 0], [1, 1]]}),
                json!({"kind": "forbidden", "name": "l"}),
            ),
            vec!["a LineString", "Polygon, or a Point"],
        ),
        (feature(json!(null), json!({"kind": "forbidden", "name": "n"})), vec!["no geometry"]),
    ];
    for (zone, words) in cases {
        assert_refused(parse(&zone_document(zone)), "invalid_zone", &words);
    }
    // The largest radius is allowed; zones are numbered from 1 in the plan's order.
    assert!(parse(&zone_document(feature(
        point.clone(),
        json!({"kind": "origin", "name": "o", "radius_m": 100000})
    )))
    .is_ok());
    let mut document = minimal_document();
    document["zones"] = json!({"type": "FeatureCollection", "features": [
        feature(point.clone(), json!({"kind": "origin", "name": "o", "radius_m": 10})),
        feature(point.clone(), json!({"kind": "origin", "name": "bad", "radius_m": 0})),
    ]});
    assert_refused(parse(&document), "invalid_zone", &["zone 2 \"bad\": radius_m is 0"]);
    assert_refused(
        parse(&zone_document(feature(point.clone(), json!({"kind": 3, "name": "k"})))),
        "malformed",
        &["zone 1 \"k\"", "properties.kind must be a string"],
    );
}

#[test]
fn corridors_out_of_range_are_refused() {
    for bad in [9.99, 0.0, -150.0, 10_000.5] {
        assert_refused(
            parse_changed(|d| d["corridor_m"] = json!(bad)),
            "corridor_out_of_range",
            &["corridor_m", "10 and 10000"],
        );
    }
    for good in [10.0, 10_000.0] {
        assert_eq!(parse_changed(|d| d["corridor_m"] = json!(good)).unwrap().corridor_m, good);
    }
    let mut f = fields();
    f.corridor_m = Some(f64::NAN);
    assert_refused(
        MovePlan::from_route_file(GPX_RTE.as_bytes(), RouteFormat::Gpx, &f),
        "corridor_out_of_range",
        &["NaN"],
    );
}

#[test]
fn invalid_vehicle_lists_are_refused() {
    let with = |vehicles: Value| parse_changed(|d| d["vehicles"] = vehicles);
    assert_refused(with(json!([])), "invalid_vehicles", &["no vehicles"]);
    assert_refused(with(json!(["truck 7"])), "invalid_vehicles", &["vehicle 1", "\"truck 7\"", "' '"]);
    assert_refused(with(json!(["a", "b", "a"])), "invalid_vehicles", &["\"a\" is listed twice"]);
    let many: Vec<String> = (0..=MAX_VEHICLES).map(|i| format!("v{i}")).collect();
    assert_refused(with(json!(many)), "invalid_vehicles", &["1001 vehicles", "1000"]);
    let mut f = fields();
    f.vehicles.clear();
    assert_refused(
        MovePlan::from_route_file(GPX_RTE.as_bytes(), RouteFormat::Gpx, &f),
        "invalid_vehicles",
        &["no vehicles"],
    );
}

#[test]
fn every_reason_is_listed_and_unknown_vehicle_is_the_servers() {
    let error = PlanError::UnknownVehicle { vehicle: "truck-09".into() };
    assert_eq!(error.reason(), "unknown_vehicle");
    assert!(error.to_string().contains("\"truck-09\" is not registered"));
    let mut reasons = PLAN_REJECTION_REASONS.to_vec();
    reasons.sort();
    reasons.dedup();
    assert_eq!(reasons.len(), PLAN_REJECTION_REASONS.len());
}

// ---- route files ----

const GPX_RTE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">
  <wpt lat="1.0" lon="1.0"><name>not part of the route</name></wpt>
  <rte><name>Depot &amp; back</name>
    <rtept lat="48.1371" lon="11.5761"><name>start</name></rtept>
    <rtept lat="48.14" lon="11.58"/>
    <rtept lon="11.5895" lat="48.138"></rtept>
  </rte>
  <rte><rtept lat="0" lon="0"/><rtept lat="0" lon="1"/></rte>
  <trk><trkseg><trkpt lat="10" lon="10"/><trkpt lat="11" lon="11"/></trkseg></trk>
</gpx>"#;

#[test]
fn gpx_routes_come_from_the_first_rte_before_tracks() {
    let plan = MovePlan::from_route_file(GPX_RTE.as_bytes(), RouteFormat::Gpx, &fields()).unwrap();
    assert_eq!(plan.route.0, vec![coord(11.5761, 48.1371), coord(11.58, 48.14), coord(11.5895, 48.138)]);
    assert_eq!(plan.name, "file move");
    assert_eq!(plan.corridor_m, DEFAULT_CORRIDOR_M);
    assert!(plan.zones.is_empty());
}

#[test]
fn gpx_track_segments_are_joined_in_order_whatever_the_prefix() {
    let gpx = r#"<?xml version="1.0"?>
<!DOCTYPE gpx>
<g:gpx xmlns:g="http://www.topografix.com/GPX/1/0" version="1.0">
  <g:trk><g:name>two segments</g:name>
    <g:trkseg><g:trkpt lat="1" lon="2"><g:ele>5</g:ele></g:trkpt><g:trkpt lat="3" lon="4"/></g:trkseg>
    <g:trkseg><!-- a gap --><g:trkpt lat="5.5" lon="-6.25"/></g:trkseg>
  </g:trk>
  <g:trk><g:trkseg><g:trkpt lat="7" lon="8"/></g:trkseg></g:trk>
  <g:rte></g:rte>
</g:gpx>"#;
    let plan = MovePlan::from_route_file(gpx.as_bytes(), RouteFormat::Gpx, &fields()).unwrap();
    assert_eq!(plan.route.0, vec![coord(2.0, 1.0), coord(4.0, 3.0), coord(-6.25, 5.5), coord(8.0, 7.0)]);
}

#[test]
fn gpx_that_is_not_gpx_is_malformed() {
    let refused = |body: &str, words: &[&str]| {
        assert_refused(
            MovePlan::from_route_file(body.as_bytes(), RouteFormat::Gpx, &fields()),
            "malformed",
            words,
        );
    };
    refused(&minimal_document().to_string(), &["not a GPX file", "outside the XML root"]);
    refused("<html><body/></html>", &["not a GPX file", "<html>"]);
    refused("", &["not a GPX file", "no XML element"]);
    refused("<gpx><rte><rtept lat=\"1\" lon=\"2\"></rte></gpx>", &["not well-formed XML"]);
    refused("<gpx><rte><rtept lat=\"1\" lon=\"2\"/>", &["cut short"]);
    refused("<gpx><rte><rtept lon=\"2\"/></rte></gpx>", &["GPX <rtept> 1 has no lat attribute"]);
    refused("<gpx><rte><rtept lat=\"north\" lon=\"2\"/></rte></gpx>", &["lat=\"north\" is not a number"]);
    refused("<gpx></gpx><gpx></gpx>", &["second root element"]);
    refused(
        "<!DOCTYPE gpx [<!ENTITY lat \"48\">]><gpx><rte><name>&lat;</name></rte></gpx>",
        &["&lat;", "not one of XML's predefined entities"],
    );
    assert_refused(
        MovePlan::from_route_file(b"<gpx>\xff</gpx>", RouteFormat::Gpx, &fields()),
        "malformed",
        &["not UTF-8"],
    );
}

#[test]
fn a_real_gpx_recording_reads_every_track_point() {
    let gpx = include_str!("../../../data/drives/gpxpy/around-visnjan-with-car.gpx");
    let plan = MovePlan::from_route_file(gpx.as_bytes(), RouteFormat::Gpx, &fields()).unwrap();
    assert_eq!(plan.route.0.len(), gpx.matches("<trkpt ").count());
    assert_eq!(plan.route.0.len(), 104);
    assert_eq!(plan.route.0.first(), Some(&coord(13.7142099626, 45.2735188510)));
    assert_eq!(plan.route.0.last(), Some(&coord(13.7139970623, 45.2733349521)));
}

#[test]
fn the_barefoot_drive_as_gpx_reads_every_track_point() {
    let gpx = include_str!("../../../data/drives/barefoot/x0001-001.derived.gpx");
    let plan = MovePlan::from_route_file(gpx.as_bytes(), RouteFormat::Gpx, &fields()).unwrap();
    assert_eq!(plan.route.0.len(), gpx.matches("<trkpt ").count());
    assert_eq!(plan.route.0.len(), 1194);
    assert_eq!(plan.route.0.first(), Some(&coord(11.564388, 48.163507)));
    assert_eq!(plan.route.0.last(), Some(&coord(11.433009, 48.128829)));
}

const KML: &str = r##"<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2" xmlns:gx="http://www.google.com/kml/ext/2.2">
<Document><name>Move</name>
  <Placemark><name>Route</name>
    <LineString><altitudeMode>clampToGround</altitudeMode>
      <coordinates>
        11.5761,48.1371,519.5 11.58,48.14,520
        11.5895,48.138,521.25
      </coordinates>
    </LineString>
  </Placemark>
  <Placemark><name>Second line, ignored</name>
    <LineString><coordinates>0,0 1,1</coordinates></LineString>
  </Placemark>
  <Folder>
    <Placemark><name>Depot &amp; yard</name>
      <ExtendedData><Data name="kind"><value>forbidden</value></Data></ExtendedData>
      <Polygon><outerBoundaryIs><LinearRing><coordinates>
        11.58,48.13,0 11.59,48.13,0 11.59,48.135,0 11.58,48.135,0 11.58,48.13,0
      </coordinates></LinearRing></outerBoundaryIs></Polygon>
    </Placemark>
    <Placemark><name>Rest area</name>
      <ExtendedData><SchemaData schemaUrl="#zone"><SimpleData name="kind">allowed_stop</SimpleData>
        <SimpleData name="radius_m">75.5</SimpleData></SchemaData></ExtendedData>
      <Point><coordinates>11.585, 48.139</coordinates></Point>
    </Placemark>
    <Placemark><name>Just a drawing</name>
      <Polygon><outerBoundaryIs><LinearRing><coordinates>0,0 1,0 1,1 0,0</coordinates></LinearRing></outerBoundaryIs></Polygon>
    </Placemark>
  </Folder>
</Document>
</kml>"##;

#[test]
fn kml_routes_drop_altitude_and_placemarks_with_a_kind_are_zones() {
    let plan = MovePlan::from_route_file(KML.as_bytes(), RouteFormat::Kml, &fields()).unwrap();
    assert_eq!(plan.route.0, vec![coord(11.5761, 48.1371), coord(11.58, 48.14), coord(11.5895, 48.138)]);
    assert_eq!(plan.zones.len(), 2);
    assert_eq!(plan.zones[0].name, "Depot & yard");
    assert_eq!(plan.zones[0].kind, ZoneKind::Forbidden);
    assert!(plan.zones[0].contains(Point::new(11.585, 48.132)));
    assert_eq!(plan.zones[1].name, "Rest area");
    assert_eq!(plan.zones[1].kind, ZoneKind::AllowedStop);
    assert_eq!(plan.zones[1].shape, ZoneShape::Circle { center: Point::new(11.585, 48.139), radius_m: 75.5 });
}

#[test]
fn kml_with_prefixes_and_bad_zones() {
    let prefixed = r#"<k:kml xmlns:k="http://www.opengis.net/kml/2.2"><k:Placemark>
        <k:LineString><k:coordinates>1,2 3,4</k:coordinates></k:LineString></k:Placemark></k:kml>"#;
    let plan = MovePlan::from_route_file(prefixed.as_bytes(), RouteFormat::Kml, &fields()).unwrap();
    assert_eq!(plan.route.0, vec![coord(1.0, 2.0), coord(3.0, 4.0)]);
    let with_zone = |placemark: &str| {
        format!("<kml><Placemark><LineString><coordinates>1,2 3,4</coordinates></LineString></Placemark>{placemark}</kml>")
    };
    let bow_tie = with_zone(
        r#"<Placemark><name>depot</name><ExtendedData><Data name="kind"><value>forbidden</value></Data></ExtendedData>
           <Polygon><outerBoundaryIs><LinearRing><coordinates>0,0 2,2 2,0 0,2 0,0</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>"#,
    );
    assert_refused(
        MovePlan::from_route_file(bow_tie.as_bytes(), RouteFormat::Kml, &fields()),
        "self_intersecting_zone",
        &["zone 1 \"depot\": polygon ring intersects itself"],
    );
    let unknown = with_zone(
        r#"<Placemark><name>x</name><ExtendedData><Data name="kind"><value>danger</value></Data></ExtendedData>
           <Point><coordinates>1,1</coordinates></Point></Placemark>"#,
    );
    assert_refused(
        MovePlan::from_route_file(unknown.as_bytes(), RouteFormat::Kml, &fields()),
        "invalid_zone",
        &["zone 1 \"x\"", "\"danger\""],
    );
    let nameless = with_zone(
        r#"<Placemark><ExtendedData><Data name="kind"><value>forbidden</value></Data></ExtendedData>
           <Polygon><outerBoundaryIs><LinearRing><coordinates>0,0 1,0 1,1 0,0</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>"#,
    );
    assert_refused(
        MovePlan::from_route_file(nameless.as_bytes(), RouteFormat::Kml, &fields()),
        "invalid_zone",
        &["no name"],
    );
    let bad_tuple =
        "<kml><Placemark><LineString><coordinates>1;2 3,4</coordinates></LineString></Placemark></kml>";
    assert_refused(
        MovePlan::from_route_file(bad_tuple.as_bytes(), RouteFormat::Kml, &fields()),
        "malformed",
        &["coordinate 1", "\"1;2\"", "longitude,latitude"],
    );
    assert_refused(
        MovePlan::from_route_file(GPX_RTE.as_bytes(), RouteFormat::Kml, &fields()),
        "malformed",
        &["not a KML file", "<gpx>"],
    );
    assert_refused(
        MovePlan::from_route_file(b"<kml><Document></Document></kml>", RouteFormat::Kml, &fields()),
        "route_too_short",
        &["no points"],
    );
}

#[test]
fn geojson_route_files_take_their_zones_from_the_collection() {
    let body = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [11.0, 48.0]},
         "properties": {"kind": "origin", "name": "start", "radius_m": 100}},
        {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[11.0, 48.0], [11.1, 48.1]]}, "properties": null}
    ]});
    let plan =
        MovePlan::from_route_file(body.to_string().as_bytes(), RouteFormat::GeoJson, &fields()).unwrap();
    assert_eq!(plan.route.0, vec![coord(11.0, 48.0), coord(11.1, 48.1)]);
    assert_eq!(plan.zones.len(), 1);
    assert_eq!(plan.zones[0].name, "start");
    let line = json!({"type": "LineString", "coordinates": [[11.0, 48.0], [11.1, 48.1]]});
    let plan =
        MovePlan::from_route_file(line.to_string().as_bytes(), RouteFormat::GeoJson, &fields()).unwrap();
    assert!(plan.zones.is_empty());
    assert_refused(
        MovePlan::from_route_file(b"<gpx/>", RouteFormat::GeoJson, &fields()),
        "malformed",
        &["GeoJSON route is not valid JSON"],
    );
    // A plan document is not a GeoJSON route.
    assert_refused(
        MovePlan::from_route_file(minimal_document().to_string().as_bytes(), RouteFormat::GeoJson, &fields()),
        "malformed",
        &["no \"type\""],
    );
}

#[test]
fn route_file_fields_are_judged_like_the_document() {
    let mut f = fields();
    f.name = String::new();
    assert_refused(
        MovePlan::from_route_file(GPX_RTE.as_bytes(), RouteFormat::Gpx, &f),
        "malformed",
        &["name is empty"],
    );
    let f = PlanFields {
        name: "full".into(),
        vehicles: vec!["truck-07".into(), "escort-1".into()],
        escorts: vec![("truck-07".into(), "escort-1".into())],
        corridor_m: Some(300.0),
        window: Some(("2026-11-28T08:00:00Z".into(), "2026-11-28T18:00:00Z".into())),
        rules: Some("{\"speed_limit_mps\": 22.2}".into()),
        time_zone: Some("Asia/Shanghai".into()),
    };
    let plan = MovePlan::from_route_file(KML.as_bytes(), RouteFormat::Kml, &f).unwrap();
    assert_eq!(plan.escorts.len(), 1);
    assert_eq!(plan.corridor_m, 300.0);
    assert!(plan.window.is_some());
    assert_eq!(plan.rules["speed_limit_mps"], json!(22.2));
    // A route file read once gives the same plan through its JSON document.
    assert_eq!(MovePlan::from_json(plan.to_json().to_string().as_bytes()).unwrap(), plan);
}

#[test]
fn content_types_name_route_formats() {
    let cases = [
        ("application/json", Some(RouteFormat::GeoJson)),
        ("application/geo+json", Some(RouteFormat::GeoJson)),
        ("Application/GEO+JSON; charset=UTF-8", Some(RouteFormat::GeoJson)),
        ("application/gpx+xml", Some(RouteFormat::Gpx)),
        (" application/gpx+xml ;charset=utf-8", Some(RouteFormat::Gpx)),
        ("application/vnd.google-earth.kml+xml", Some(RouteFormat::Kml)),
        ("application/vnd.google-earth.kmz", None),
        ("text/xml", None),
        ("", None),
    ];
    for (content_type, expected) in cases {
        assert_eq!(RouteFormat::from_content_type(content_type), expected, "{content_type:?}");
    }
}

// ---- the normalized document ----

#[test]
fn to_json_writes_the_normalized_document() {
    let plan = parse(&full_document()).unwrap();
    let document = plan.to_json();
    assert_eq!(
        document["window"],
        json!({"from": "2026-11-28T08:00:00.000Z", "to": "2026-11-28T18:00:00.123Z"})
    );
    assert_eq!(document["route"]["type"], "LineString");
    assert_eq!(document["route"]["coordinates"][2], json!([11.5895, 48.138]));
    assert_eq!(document["zones"]["type"], "FeatureCollection");
    assert_eq!(
        document["zones"]["features"][0]["properties"],
        json!({"kind": "origin", "name": "old office", "radius_m": 80.0})
    );
    assert_eq!(document["zones"]["features"][1]["properties"], json!({"kind": "forbidden", "name": "depot"}));
    assert_eq!(document["escorts"], json!({"truck-07": "escort-1"}));
    assert_eq!(document["corridor_m"], json!(200.0));
    assert!(document.get("comment").is_none());
    assert_eq!(MovePlan::from_json(document.to_string().as_bytes()).unwrap(), plan);
    let minimal = parse(&minimal_document()).unwrap().to_json();
    assert!(minimal.get("window").is_none());
    assert_eq!(minimal["rules"], json!({}));
}

// ---- properties ----

fn valid_bodies() -> Vec<(Vec<u8>, Option<RouteFormat>)> {
    vec![
        (full_document().to_string().into_bytes(), None),
        (GPX_RTE.as_bytes().to_vec(), Some(RouteFormat::Gpx)),
        (KML.as_bytes().to_vec(), Some(RouteFormat::Kml)),
        (full_document()["zones"].to_string().into_bytes(), Some(RouteFormat::GeoJson)),
        (full_document()["route"].to_string().into_bytes(), Some(RouteFormat::GeoJson)),
    ]
}

fn read(body: &[u8], format: Option<RouteFormat>) -> Result<MovePlan, PlanError> {
    match format {
        None => MovePlan::from_json(body),
        Some(format) => MovePlan::from_route_file(body, format, &fields()),
    }
}

/// One edit of a body: at a place, replace, delete, insert (a byte with meaning in JSON or
/// XML, or any byte), or cut the rest.
fn mutation() -> impl Strategy<Value = (prop::sample::Index, u8, u8)> {
    let interesting = prop::sample::select(b"<>/&;\"'=[]{},:-.0123456789eE \n#xX!?abz\xff\xc3".to_vec());
    (any::<prop::sample::Index>(), 0u8..5, prop_oneof![interesting, any::<u8>()])
}

fn mutate(mut body: Vec<u8>, mutations: &[(prop::sample::Index, u8, u8)]) -> Vec<u8> {
    for (place, op, byte) in mutations {
        let at = place.index(body.len() + 1);
        match op {
            0 if at < body.len() => body[at] = *byte,
            1 if at < body.len() => _ = body.remove(at),
            2 => body.insert(at, *byte),
            3 => body.truncate(at),
            _ => {
                // Duplicate a slice: repeats elements, brackets and numbers.
                let end = (at + usize::from(*byte) % 40).min(body.len());
                let copy = body[at.min(end)..end].to_vec();
                body.splice(at..at, copy);
            }
        }
    }
    body
}

/// A star-shaped ring around `center` with increasing angles: simple, and closed.
fn star_ring(center: (f64, f64), corners: Vec<(f64, f64)>) -> Value {
    let n = corners.len() as f64;
    let mut ring: Vec<Value> = corners
        .iter()
        .enumerate()
        .map(|(i, (jitter, radius))| {
            let angle = (i as f64 + jitter) * std::f64::consts::TAU / n;
            json!([center.0 + radius * angle.cos(), center.1 + radius * angle.sin()])
        })
        .collect();
    ring.push(ring[0].clone());
    Value::Array(ring)
}

fn valid_zone() -> impl Strategy<Value = Value> {
    let kind = prop::sample::select(vec!["origin", "destination", "allowed_stop", "forbidden"]);
    let name = "[A-Za-zäöüß][A-Za-z0-9 äöüß.&\"'-]{0,30}";
    let center = (-170.0f64..170.0, -80.0f64..80.0);
    let circle =
        (kind.clone(), name, center.clone(), 1e-3f64..=100_000.0).prop_map(|(kind, name, (x, y), radius)| {
            json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [x, y]},
               "properties": {"kind": kind, "name": name, "radius_m": radius}})
        });
    let corners = prop::collection::vec((0.05f64..0.95, 1e-4f64..1.0), 3..12);
    let polygon = (kind, name, center, corners).prop_map(|(kind, name, center, corners)| {
        json!({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [star_ring(center, corners)]},
               "properties": {"kind": kind, "name": name}})
    });
    prop_oneof![circle, polygon]
}

fn valid_document() -> impl Strategy<Value = Value> {
    let vehicles = prop::collection::btree_set("[a-z]{1,8}-[0-9]{1,3}", 1..6);
    let route = prop::collection::vec((-180.0f64..=180.0, -90.0f64..=90.0), 2..30)
        .prop_filter("two different points", |points| points.iter().any(|p| *p != points[0]));
    let window = prop::option::of((0i64..4_000_000_000_000, 1i64..10_000_000_000, -12i32..=14));
    let rules = prop::option::of((0.0f64..1e6, prop::option::of(0.01f64..1000.0)));
    (
        "[A-Za-z0-9][A-Za-z0-9 äöüé_.:/-]{0,60}",
        vehicles,
        any::<bool>(),
        route,
        prop::option::of(10.0f64..=10_000.0),
        prop::collection::vec(valid_zone(), 0..5),
        window,
        rules,
    )
        .prop_map(|(name, vehicles, escorted, route, corridor, zones, window, rules)| {
            let vehicles: Vec<String> = vehicles.into_iter().collect();
            let mut document = json!({
                "name": name,
                "vehicles": vehicles,
                "route": {"type": "LineString", "coordinates": route.iter().map(|(x, y)| json!([x, y])).collect::<Vec<_>>()},
                "zones": {"type": "FeatureCollection", "features": zones},
            });
            if escorted && vehicles.len() >= 2 {
                let mut escorts = serde_json::Map::new();
                escorts.insert(vehicles[0].clone(), Value::String(vehicles[1].clone()));
                document["escorts"] = Value::Object(escorts);
            }
            if let Some(corridor) = corridor {
                document["corridor_m"] = json!(corridor);
            }
            if let Some((from_ms, length_ms, offset_h)) = window {
                let offset = FixedOffset::east_opt(offset_h * 3600).unwrap();
                let from = offset.timestamp_millis_opt(from_ms).unwrap();
                let to = from + chrono::Duration::milliseconds(length_ms);
                document["window"] = json!({"from": from.to_rfc3339(), "to": to.to_rfc3339()});
            }
            if let Some((stop_after_s, speed_limit)) = rules {
                document["rules"] = json!({"stop_after_s": stop_after_s});
                if let Some(limit) = speed_limit {
                    document["rules"]["speed_limit_mps"] = json!(limit);
                }
            }
            document
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..600)) {
        _ = MovePlan::from_json(&body);
        for format in [RouteFormat::GeoJson, RouteFormat::Gpx, RouteFormat::Kml] {
            _ = MovePlan::from_route_file(&body, format, &fields());
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in "(<[a-zA-Z:]{0,6}( [a-z]{1,3}=\"[^\"]{0,6}\")?/?>|</[a-z]{0,5}>|&[a-z#0-9]{0,4};|[0-9.,\\- ]{0,10}|[\\[\\]{}\":,])*") {
        _ = MovePlan::from_json(text.as_bytes());
        for format in [RouteFormat::GeoJson, RouteFormat::Gpx, RouteFormat::Kml] {
            _ = MovePlan::from_route_file(text.as_bytes(), format, &fields());
        }
    }

    #[test]
    fn mutated_valid_bodies_never_panic(
        which in 0usize..5,
        mutations in prop::collection::vec(mutation(), 1..8),
    ) {
        let (body, format) = valid_bodies().swap_remove(which);
        let body = mutate(body, &mutations);
        match read(&body, format) {
            Ok(plan) => {
                // Whatever is accepted is a plan that survives its own document.
                prop_assert_eq!(MovePlan::from_json(plan.to_json().to_string().as_bytes()), Ok(plan));
            }
            Err(error) => {
                prop_assert!(PLAN_REJECTION_REASONS.contains(&error.reason()));
                prop_assert!(!error.to_string().is_empty());
            }
        }
        // The same edits, read as every other format.
        _ = MovePlan::from_json(&body);
        for format in [RouteFormat::GeoJson, RouteFormat::Gpx, RouteFormat::Kml] {
            _ = MovePlan::from_route_file(&body, format, &fields());
        }
    }

    #[test]
    fn valid_plans_survive_their_normalized_document(document in valid_document()) {
        let plan = match parse(&document) {
            Ok(plan) => plan,
            Err(error) => return Err(TestCaseError::fail(format!("{error} in {document}"))),
        };
        let normalized = plan.to_json();
        let again = MovePlan::from_json(normalized.to_string().as_bytes()).unwrap();
        prop_assert_eq!(&again, &plan);
        prop_assert_eq!(again.to_json(), normalized);
        // Coordinates are exact.
        let route: Vec<f64> = document["route"]["coordinates"].as_array().unwrap().iter()
            .flat_map(|p| [p[0].as_f64().unwrap(), p[1].as_f64().unwrap()]).collect();
        let kept: Vec<f64> = again.route.0.iter().flat_map(|c| [c.x, c.y]).collect();
        prop_assert_eq!(route, kept);
    }
}
