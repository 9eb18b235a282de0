//! The plan's tests.

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

// The tests, a file per part; the documents and helpers they share are here.
mod document;
mod language;
mod properties;
mod rejections;
mod route_files;
