//! The JSON plan document of `POST /api/v1/moves`:
//!
//! ```json
//! {"name": "Office move", "vehicles": ["truck-07", "escort-1"], "escorts": {"truck-07": "escort-1"},
//!  "route": {"type": "LineString", "coordinates": [[11.57, 48.13], [11.58, 48.14]]},
//!  "corridor_m": 150, "zones": {"type": "FeatureCollection", "features": []},
//!  "window": {"from": "2026-11-28T08:00:00Z", "to": "2026-11-28T18:00:00Z"},
//!  "rules": {"stop_after_s": 120}, "coordinates": "wgs84", "time_zone": "Europe/Berlin",
//!  "language": "zh-CN"}
//! ```
//!
//! `time_zone` is an IANA name (`crate::time_zone`): the zone the move's times are shown in.
//! Absent, the move takes the server's default; the window is still written in UTC.
//! `language` (`en`, `zh-CN`) is the language the move's alerts are sent in; absent, the
//! server's default.
//!
//! `coordinates` is `wgs84` (the default) or `gcj02`, for a plan drawn on a Chinese map: its
//! route and zones are converted to WGS-84 as they are read (`coordinates.rs`), and the document
//! written back is WGS-84. Only `name`, `vehicles` and `route` are required; `null` counts as absent for the others;
//! unknown fields are ignored.

use chrono::SecondsFormat;
use serde_json::{json, Map, Value};

use super::coordinates::CoordinateSystem;
use super::error::PlanError;
use super::geojson::{self, json_type};
use super::validate::{self, PlanInput};
use super::{MovePlan, TimeWindow};

/// Strips a UTF-8 byte order mark.
pub(super) fn strip_bom(body: &[u8]) -> &[u8] {
    body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body)
}

/// Parses JSON text, as the whole body or one query parameter.
pub(super) fn parse_json(body: &[u8], what: &str) -> Result<Value, PlanError> {
    serde_json::from_slice(strip_bom(body))
        .map_err(|e| PlanError::malformed(format!("{what} is not valid JSON: {e}")))
}

fn present<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    object.get(key).filter(|value| !value.is_null())
}

fn wrong_type(field: &str, expected: &str, value: &Value) -> PlanError {
    PlanError::malformed(format!("\"{field}\" must be {expected}, not {}", json_type(value)))
}

fn string(value: &Value, field: &str) -> Result<String, PlanError> {
    value.as_str().map(str::to_string).ok_or_else(|| wrong_type(field, "a string", value))
}

pub(super) fn from_json(body: &[u8]) -> Result<MovePlan, PlanError> {
    let value = parse_json(body, "the plan")?;
    let Value::Object(object) = &value else {
        return Err(PlanError::malformed(format!(
            "the plan must be a JSON object, not {}",
            json_type(&value)
        )));
    };
    let required = |key: &str| {
        present(object, key)
            .ok_or_else(|| PlanError::malformed(format!("the plan has no \"{key}\"; it is required")))
    };
    let name = string(required("name")?, "name")?;
    let vehicles = match required("vehicles")? {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(index, item)| string(item, &format!("vehicles[{index}]")))
            .collect::<Result<Vec<_>, _>>()?,
        other => return Err(wrong_type("vehicles", "an array of vehicle ids", other)),
    };
    let escorts = match present(object, "escorts") {
        None => Vec::new(),
        Some(Value::Object(pairs)) => pairs
            .iter()
            .map(|(cargo, escort)| Ok((cargo.clone(), string(escort, &format!("escorts.{cargo}"))?)))
            .collect::<Result<Vec<_>, PlanError>>()?,
        Some(other) => {
            return Err(wrong_type("escorts", "an object of cargo vehicle to escort vehicle", other))
        }
    };
    let (route, _) = geojson::route(required("route")?, "route", false)?;
    let corridor_m = match present(object, "corridor_m") {
        None => None,
        Some(Value::Number(n)) => n.as_f64(),
        Some(other) => return Err(wrong_type("corridor_m", "a number of metres", other)),
    };
    let zones = match object.get("zones") {
        None => Vec::new(),
        Some(zones) => geojson::zones(zones)?,
    };
    let window = match present(object, "window") {
        None => None,
        Some(Value::Object(window)) => {
            let time = |key: &str| match present(window, key) {
                None => Err(PlanError::InvalidWindow(format!("\"{key}\" is missing"))),
                Some(value) => string(value, &format!("window.{key}")),
            };
            Some((time("from")?, time("to")?))
        }
        Some(other) => return Err(wrong_type("window", "an object with \"from\" and \"to\"", other)),
    };
    let rules = present(object, "rules").cloned();
    let coordinates = match present(object, "coordinates") {
        None => CoordinateSystem::Wgs84,
        Some(Value::String(name)) => CoordinateSystem::parse(name)?,
        Some(other) => return Err(wrong_type("coordinates", "\"wgs84\" or \"gcj02\"", other)),
    };
    let time_zone = match present(object, "time_zone") {
        None => None,
        Some(value) => Some(string(value, "time_zone")?),
    };
    let language = match present(object, "language") {
        None => None,
        Some(value) => Some(string(value, "language")?),
    };
    let plan = validate::build(PlanInput {
        name,
        vehicles,
        escorts,
        route,
        corridor_m,
        zones,
        window,
        rules,
        time_zone,
        language,
    })?;
    Ok(coordinates.to_wgs84(plan))
}

fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(super) fn to_json(plan: &MovePlan) -> Value {
    let escorts: Map<String, Value> = plan
        .escorts
        .iter()
        .map(|(cargo, escort)| (cargo.to_string(), Value::String(escort.to_string())))
        .collect();
    let mut document = json!({
        "name": plan.name,
        "vehicles": plan.vehicles.iter().map(|v| v.as_str()).collect::<Vec<_>>(),
        "escorts": escorts,
        "route": geojson::line_string_json(&plan.route),
        "corridor_m": plan.corridor_m,
        "zones": geojson::zones_json(&plan.zones),
        "rules": plan.rules,
    });
    if let (Some(TimeWindow { from, to }), Value::Object(document)) = (plan.window, &mut document) {
        document.insert("window".into(), json!({"from": time(from), "to": time(to)}));
    }
    if let (Some(zone), Value::Object(document)) = (plan.time_zone, &mut document) {
        document.insert("time_zone".into(), Value::String(zone.name().to_string()));
    }
    if let (Some(language), Value::Object(document)) = (plan.language, &mut document) {
        document.insert("language".into(), Value::String(language.tag().to_string()));
    }
    document
}
