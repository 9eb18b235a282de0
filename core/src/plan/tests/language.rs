//! A plan's language (the one its alerts are sent in) and a route file declared in GCJ-02.

use super::*;
use crate::gcj02::gcj02_to_wgs84;
use crate::language::Language;

#[test]
fn a_document_names_its_language_and_writes_it_back() {
    let plan = parse_changed(|d| d["language"] = json!("zh-CN")).unwrap();
    assert_eq!(plan.language, Some(Language::SimplifiedChinese));
    assert_eq!(plan.to_json()["language"], json!("zh-CN"));
    assert_eq!(parse(&plan.to_json()).unwrap(), plan);
    // Absent (or null): the server's default, and nothing written back.
    let plan = parse(&minimal_document()).unwrap();
    assert_eq!(plan.language, None);
    assert!(plan.to_json().get("language").is_none());
    assert_eq!(parse_changed(|d| d["language"] = Value::Null).unwrap().language, None);
}

#[test]
fn an_unknown_language_is_refused_with_its_reason() {
    assert_refused(parse_changed(|d| d["language"] = json!("fr")), "unknown_language", &["\"fr\"", "zh-CN"]);
    assert_refused(parse_changed(|d| d["language"] = json!(7)), "malformed", &["language"]);
    let mut f = fields();
    f.language = Some("klingon".into());
    assert_refused(
        MovePlan::from_route_file(GPX_RTE.as_bytes(), RouteFormat::Gpx, &f),
        "unknown_language",
        &["klingon"],
    );
}

#[test]
fn a_started_move_may_change_its_language() {
    let old = parse(&minimal_document()).unwrap();
    let new = parse_changed(|d| d["language"] = json!("zh-CN")).unwrap();
    let changes = changed_fields(&old, &new);
    assert_eq!(changes, vec!["language"]);
    assert!(refused_once_started(&changes).is_empty());
}

#[test]
fn a_route_file_declared_gcj02_is_read_into_wgs84() {
    let wgs84 = MovePlan::from_route_file(GPX_RTE.as_bytes(), RouteFormat::Gpx, &fields()).unwrap();
    let mut f = fields();
    f.coordinates = Some("GCJ02".into());
    let converted = MovePlan::from_route_file(GPX_RTE.as_bytes(), RouteFormat::Gpx, &f).unwrap();
    // The test route is in Munich, outside China, where the transform is the identity.
    assert_eq!(converted.route, wgs84.route);

    const SHANGHAI_GPX: &str = r#"<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1"><rte>
        <rtept lat="31.2304" lon="121.4737"/><rtept lat="31.2400" lon="121.4900"/></rte></gpx>"#;
    let converted = MovePlan::from_route_file(SHANGHAI_GPX.as_bytes(), RouteFormat::Gpx, &f).unwrap();
    let (lat, lon) = gcj02_to_wgs84(31.2304, 121.4737);
    let first = converted.route.0[0];
    assert_eq!((first.y, first.x), (lat, lon));
    // Some hundreds of metres from where the file put it, as GCJ-02 is in Shanghai.
    assert!((first.x - 121.4737).abs() > 0.003, "{first:?}");
    // Written back as WGS-84, with no declaration.
    assert!(converted.to_json().get("coordinates").is_none());
}

#[test]
fn a_route_file_in_an_unknown_system_is_refused() {
    let mut f = fields();
    f.coordinates = Some("bd09".into());
    assert_refused(
        MovePlan::from_route_file(GPX_RTE.as_bytes(), RouteFormat::Gpx, &f),
        "unknown_coordinates",
        &["bd09"],
    );
}
