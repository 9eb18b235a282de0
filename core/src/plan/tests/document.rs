//! The JSON plan document: what is read, and the normalized document written back.

use super::*;

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
