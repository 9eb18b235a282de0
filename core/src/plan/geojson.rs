//! The GeoJSON parts of a plan (RFC 7946): the route, a LineString (bare, in a Feature, or the one
//! LineString Feature of a FeatureCollection), and the zones, a FeatureCollection of Polygon
//! Features and of Point Features with `properties.radius_m`.
//!
//! Only the structure is read here; ranges, rings and names are judged in `validate`.

use geo::{Coord, LineString};
use serde_json::{json, Map, Value};

use super::error::PlanError;
use super::validate::{LonLat, ZoneGeometry, ZoneInput};
use super::{Zone, ZoneShape};

/// "a string", "an array", ...: the JSON type of a value, for messages.
pub(super) fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn geojson_type<'a>(object: &'a Map<String, Value>, what: &str) -> Result<&'a str, PlanError> {
    match object.get("type") {
        Some(Value::String(kind)) => Ok(kind),
        Some(other) => {
            Err(PlanError::malformed(format!("{what}: \"type\" must be a string, not {}", json_type(other))))
        }
        None => Err(PlanError::malformed(format!("{what}: the GeoJSON object has no \"type\""))),
    }
}

/// A route given as GeoJSON, and (only where `zones_allowed`, i.e. a GeoJSON route file) the
/// zone Features that share its FeatureCollection.
pub(super) fn route(
    value: &Value,
    what: &str,
    zones_allowed: bool,
) -> Result<(Vec<LonLat>, Vec<ZoneInput>), PlanError> {
    let Value::Object(object) = value else {
        return Err(PlanError::malformed(format!(
            "{what} must be a GeoJSON LineString, a Feature with one, or a FeatureCollection, not {}",
            json_type(value)
        )));
    };
    match geojson_type(object, what)? {
        "LineString" => Ok((line_string(object, what)?, Vec::new())),
        "Feature" => Ok((line_string_feature(object, what)?, Vec::new())),
        "FeatureCollection" => {
            let features = features(object, what)?;
            let mut route = None;
            let mut lines = 0;
            let mut zones = Vec::new();
            for (index, feature) in features.iter().enumerate() {
                let feature_what = format!("{what}: feature {}", index + 1);
                let geometry_type = feature_geometry_type(feature, &feature_what)?;
                if geometry_type == Some("LineString") {
                    lines += 1;
                    if route.is_none() {
                        route =
                            Some(line_string_feature(as_feature(feature, &feature_what)?, &feature_what)?);
                    }
                } else if zones_allowed {
                    zones.push(zone(feature, zones.len() + 1)?);
                } else {
                    return Err(PlanError::malformed(format!(
                        "{feature_what} is a {} feature; the route's FeatureCollection may hold only \
                         its LineString (zones go in \"zones\")",
                        geometry_type.unwrap_or("geometry-less")
                    )));
                }
            }
            match (route, lines) {
                (Some(route), 1) => Ok((route, zones)),
                _ => Err(PlanError::malformed(format!(
                    "{what}: the FeatureCollection has {lines} LineString features; exactly one is needed"
                ))),
            }
        }
        other => Err(PlanError::malformed(format!(
            "{what} is a GeoJSON {other:?}; it must be a LineString, a Feature with one, or a \
             FeatureCollection with exactly one LineString feature"
        ))),
    }
}

fn as_feature<'a>(value: &'a Value, what: &str) -> Result<&'a Map<String, Value>, PlanError> {
    match value {
        Value::Object(object) if object.get("type").and_then(Value::as_str) == Some("Feature") => Ok(object),
        _ => Err(PlanError::malformed(format!("{what} is not a GeoJSON Feature"))),
    }
}

/// The geometry type of a Feature (`None` for a Feature without geometry).
fn feature_geometry_type<'a>(value: &'a Value, what: &str) -> Result<Option<&'a str>, PlanError> {
    let feature = as_feature(value, what)?;
    match feature.get("geometry") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(geometry)) => geojson_type(geometry, what).map(Some),
        Some(other) => Err(PlanError::malformed(format!(
            "{what}: \"geometry\" must be an object, not {}",
            json_type(other)
        ))),
    }
}

fn features<'a>(object: &'a Map<String, Value>, what: &str) -> Result<&'a Vec<Value>, PlanError> {
    match object.get("features") {
        Some(Value::Array(features)) => Ok(features),
        Some(other) => Err(PlanError::malformed(format!(
            "{what}: \"features\" must be an array, not {}",
            json_type(other)
        ))),
        None => Err(PlanError::malformed(format!("{what}: the FeatureCollection has no \"features\""))),
    }
}

fn line_string_feature(feature: &Map<String, Value>, what: &str) -> Result<Vec<LonLat>, PlanError> {
    match feature.get("geometry") {
        Some(Value::Object(geometry)) => match geojson_type(geometry, what)? {
            "LineString" => line_string(geometry, what),
            other => Err(PlanError::malformed(format!(
                "{what}: the Feature's geometry is a {other}; the route must be a LineString"
            ))),
        },
        Some(Value::Null) | None => Err(PlanError::malformed(format!(
            "{what}: the Feature has no geometry; the route must be a LineString"
        ))),
        Some(other) => Err(PlanError::malformed(format!(
            "{what}: \"geometry\" must be an object, not {}",
            json_type(other)
        ))),
    }
}

fn coordinates<'a>(geometry: &'a Map<String, Value>, what: &str) -> Result<&'a Value, PlanError> {
    geometry
        .get("coordinates")
        .ok_or_else(|| PlanError::malformed(format!("{what}: the geometry has no \"coordinates\"")))
}

fn line_string(geometry: &Map<String, Value>, what: &str) -> Result<Vec<LonLat>, PlanError> {
    positions(coordinates(geometry, what)?, what)
}

/// An array of positions.
fn positions(value: &Value, what: &str) -> Result<Vec<LonLat>, PlanError> {
    let Value::Array(items) = value else {
        return Err(PlanError::malformed(format!(
            "{what}: \"coordinates\" must be an array of [longitude, latitude] positions, not {}",
            json_type(value)
        )));
    };
    items
        .iter()
        .enumerate()
        .map(|(index, item)| position(item, || format!("{what}: position {}", index + 1)))
        .collect()
}

/// `[longitude, latitude]` or `[longitude, latitude, altitude]` (the altitude is dropped).
fn position(value: &Value, what: impl Fn() -> String) -> Result<LonLat, PlanError> {
    let numbers = match value {
        Value::Array(items) if (2..=3).contains(&items.len()) => {
            items.iter().map(Value::as_f64).collect::<Option<Vec<f64>>>()
        }
        _ => None,
    };
    match numbers.as_deref() {
        Some([lon, lat, ..]) => Ok([*lon, *lat]),
        _ => Err(PlanError::malformed(format!(
            "{} must be [longitude, latitude] or [longitude, latitude, altitude] in numbers, not {}",
            what(),
            super::error::shorten(&value.to_string(), 60)
        ))),
    }
}

/// The zones of a plan: a FeatureCollection (null or absent means none).
pub(super) fn zones(value: &Value) -> Result<Vec<ZoneInput>, PlanError> {
    let what = "zones";
    let object = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Object(object) => object,
        other => {
            return Err(PlanError::malformed(format!(
                "zones must be a GeoJSON FeatureCollection, not {}",
                json_type(other)
            )))
        }
    };
    match geojson_type(object, what)? {
        "FeatureCollection" => {}
        other => {
            return Err(PlanError::malformed(format!(
                "zones is a GeoJSON {other:?}; it must be a FeatureCollection"
            )))
        }
    }
    let features = features(object, what)?;
    if features.len() > super::MAX_ZONES {
        return Err(PlanError::TooManyZonePoints {
            what: format!("the plan has {} zones; at most {} are accepted", features.len(), super::MAX_ZONES),
        });
    }
    features.iter().enumerate().map(|(index, feature)| zone(feature, index + 1)).collect()
}

fn optional_string(
    properties: &Map<String, Value>,
    key: &str,
    what: &str,
) -> Result<Option<String>, PlanError> {
    match properties.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(PlanError::malformed(format!(
            "{what}: properties.{key} must be a string, not {}",
            json_type(other)
        ))),
    }
}

/// One zone Feature; `number` counts zones from 1.
fn zone(value: &Value, number: usize) -> Result<ZoneInput, PlanError> {
    let what = format!("zone {number}");
    let feature = as_feature(value, &what)?;
    let properties = match feature.get("properties") {
        None | Some(Value::Null) => None,
        Some(Value::Object(properties)) => Some(properties),
        Some(other) => {
            return Err(PlanError::malformed(format!(
                "{what}: \"properties\" must be an object, not {}",
                json_type(other)
            )))
        }
    };
    let empty = Map::new();
    let properties = properties.unwrap_or(&empty);
    let name = optional_string(properties, "name", &what)?;
    let what = super::error::zone_label(number, name.as_deref());
    let kind = optional_string(properties, "kind", &what)?;
    let radius_m = match properties.get("radius_m") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => n.as_f64(),
        Some(other) => {
            return Err(PlanError::malformed(format!(
                "{what}: properties.radius_m must be a number of metres, not {}",
                json_type(other)
            )))
        }
    };
    let geometry = match feature.get("geometry") {
        None | Some(Value::Null) => ZoneGeometry::Other("no geometry".to_string()),
        Some(Value::Object(geometry)) => match geojson_type(geometry, &what)? {
            "Polygon" => {
                let rings = match coordinates(geometry, &what)? {
                    Value::Array(rings) => rings,
                    other => {
                        return Err(PlanError::malformed(format!(
                            "{what}: a Polygon's \"coordinates\" must be an array of rings, not {}",
                            json_type(other)
                        )))
                    }
                };
                let rings = rings
                    .iter()
                    .enumerate()
                    .map(|(index, ring)| positions(ring, &format!("{what}: ring {}", index + 1)))
                    .collect::<Result<Vec<_>, _>>()?;
                ZoneGeometry::Polygon(rings)
            }
            "Point" => {
                let center = position(coordinates(geometry, &what)?, || format!("{what}: the Point"))?;
                ZoneGeometry::Circle { center, radius_m }
            }
            other => ZoneGeometry::Other(format!("a {other}")),
        },
        Some(other) => {
            return Err(PlanError::malformed(format!(
                "{what}: \"geometry\" must be an object, not {}",
                json_type(other)
            )))
        }
    };
    Ok(ZoneInput { name, kind, geometry })
}

fn position_json(c: Coord) -> Value {
    json!([c.x, c.y])
}

/// A route as a GeoJSON LineString geometry.
pub(super) fn line_string_json(line: &LineString) -> Value {
    json!({
        "type": "LineString",
        "coordinates": line.0.iter().map(|c| position_json(*c)).collect::<Vec<_>>(),
    })
}

/// Zones as a GeoJSON FeatureCollection.
pub(super) fn zones_json(zones: &[Zone]) -> Value {
    let features: Vec<Value> = zones
        .iter()
        .map(|zone| {
            let mut properties = Map::new();
            properties.insert("kind".into(), json!(zone.kind));
            properties.insert("name".into(), json!(zone.name));
            let geometry = match &zone.shape {
                ZoneShape::Polygon(polygon) => {
                    let rings: Vec<Value> = std::iter::once(polygon.exterior())
                        .chain(polygon.interiors())
                        .map(|ring| Value::Array(ring.0.iter().map(|c| position_json(*c)).collect()))
                        .collect();
                    json!({"type": "Polygon", "coordinates": rings})
                }
                ZoneShape::Circle { center, radius_m } => {
                    properties.insert("radius_m".into(), json!(radius_m));
                    json!({"type": "Point", "coordinates": position_json(center.0)})
                }
            };
            json!({"type": "Feature", "geometry": geometry, "properties": properties})
        })
        .collect();
    json!({"type": "FeatureCollection", "features": features})
}
