//! Each rejection reason, with what its message says.

use super::*;

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
