//! Route files: GPX, KML and GeoJSON, and the fields beside them.

use super::*;

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
    let gpx = include_str!("../../../../data/drives/gpxpy/around-visnjan-with-car.gpx");
    let plan = MovePlan::from_route_file(gpx.as_bytes(), RouteFormat::Gpx, &fields()).unwrap();
    assert_eq!(plan.route.0.len(), gpx.matches("<trkpt ").count());
    assert_eq!(plan.route.0.len(), 104);
    assert_eq!(plan.route.0.first(), Some(&coord(13.7142099626, 45.2735188510)));
    assert_eq!(plan.route.0.last(), Some(&coord(13.7139970623, 45.2733349521)));
}

#[test]
fn the_barefoot_drive_as_gpx_reads_every_track_point() {
    let gpx = include_str!("../../../../data/drives/barefoot/x0001-001.derived.gpx");
    let plan = MovePlan::from_route_file(gpx.as_bytes(), RouteFormat::Gpx, &fields()).unwrap();
    assert_eq!(plan.route.0.len(), gpx.matches("<trkpt ").count());
    assert_eq!(plan.route.0.len(), 1194);
    assert_eq!(plan.route.0.first(), Some(&coord(11.564388, 48.163507)));
    assert_eq!(plan.route.0.last(), Some(&coord(11.433009, 48.128829)));
}

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
        language: Some("zh-CN".into()),
        coordinates: None,
    };
    let plan = MovePlan::from_route_file(KML.as_bytes(), RouteFormat::Kml, &f).unwrap();
    assert_eq!(plan.language, Some(crate::language::Language::SimplifiedChinese));
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
