//! A plan's `time_zone`: read as an IANA name, written back, refused when unknown, and an edit
//! of it named as a change a started move may not take.

use serde_json::{json, Value};

use super::*;

fn document(time_zone: Value) -> Value {
    json!({
        "name": "Pudong",
        "vehicles": ["truck-07"],
        "route": {"type": "LineString", "coordinates": [[121.40, 31.20], [121.50, 31.23]]},
        "time_zone": time_zone,
    })
}

fn read(document: &Value) -> Result<MovePlan, PlanError> {
    MovePlan::from_json(document.to_string().as_bytes())
}

#[test]
fn a_named_zone_is_kept_and_written_back() {
    let plan = read(&document(json!("Asia/Shanghai"))).unwrap();
    assert_eq!(plan.time_zone.map(|zone| zone.name()), Some("Asia/Shanghai"));
    let written = plan.to_json();
    assert_eq!(written["time_zone"], "Asia/Shanghai");
    assert_eq!(read(&written).unwrap(), plan, "the document reads back as the same plan");
}

#[test]
fn no_zone_or_null_is_none_and_writes_nothing() {
    for absent in [document(Value::Null), {
        let mut d = document(Value::Null);
        d.as_object_mut().unwrap().remove("time_zone");
        d
    }] {
        let plan = read(&absent).unwrap();
        assert_eq!(plan.time_zone, None);
        assert!(plan.to_json().get("time_zone").is_none());
    }
}

#[test]
fn an_unknown_name_is_refused_as_unknown_time_zone_naming_it() {
    for name in ["Mars/Olympus_Mons", "CST8", "UTC+08:00", "", "asia/shanghai"] {
        let error = read(&document(json!(name))).unwrap_err();
        assert_eq!(error.reason(), "unknown_time_zone", "{name}: {error}");
        assert!(error.to_string().contains(&format!("\"{name}\"")), "{error}");
        assert!(PLAN_REJECTION_REASONS.contains(&error.reason()));
    }
    // A long name is quoted back cut.
    let error = read(&document(json!("x".repeat(5000)))).unwrap_err();
    assert!(error.to_string().len() < 300, "{error}");
}

#[test]
fn a_zone_that_is_not_a_string_is_malformed() {
    let error = read(&document(json!(8))).unwrap_err();
    assert_eq!(error.reason(), "malformed");
    assert!(error.to_string().contains("\"time_zone\" must be a string"), "{error}");
}

#[test]
fn a_route_files_fields_carry_the_zone() {
    let gpx = r#"<gpx version="1.1"><rte><rtept lat="31.20" lon="121.40"/><rtept lat="31.23" lon="121.50"/></rte></gpx>"#;
    let text = PlanFieldsText {
        name: Some("file move"),
        vehicles: Some("truck-07"),
        time_zone: Some("Europe/Berlin"),
        ..Default::default()
    };
    let plan =
        MovePlan::from_route_file(gpx.as_bytes(), RouteFormat::Gpx, &PlanFields::from_text(text)).unwrap();
    assert_eq!(plan.time_zone.map(|zone| zone.name()), Some("Europe/Berlin"));
    let fields = PlanFields { time_zone: Some("Nowhere".into()), ..PlanFields::from_text(text) };
    let error = MovePlan::from_route_file(gpx.as_bytes(), RouteFormat::Gpx, &fields).unwrap_err();
    assert_eq!(error.reason(), "unknown_time_zone");
}

#[test]
fn changing_the_zone_is_a_change_a_started_move_may_not_take() {
    let utc = read(&document(Value::Null)).unwrap();
    let shanghai = read(&document(json!("Asia/Shanghai"))).unwrap();
    let changes = changed_fields(&utc, &shanghai);
    assert_eq!(changes, ["time_zone"]);
    assert_eq!(refused_once_started(&changes), ["time_zone"]);
    assert!(changed_fields(&shanghai, &shanghai.clone()).is_empty());
}
