//! A move plan: the vehicles of a move, their planned route, the corridor around it and the
//! zones along it; how plans are read, judged and written.
//!
//! # Reading a plan
//! - [`MovePlan::from_json`] reads the JSON plan document of `POST /api/v1/moves` (see
//!   `document.rs` for its shape): the route and the zones are GeoJSON.
//! - [`MovePlan::from_route_file`] reads a route from a GPX, KML or GeoJSON file, and the other
//!   fields from [`PlanFields`] (query parameters). A KML file may carry zones too (placemarks
//!   with a `kind` data item), and so may a GeoJSON FeatureCollection (its non-LineString
//!   features).
//! - [`MovePlan::to_json`] writes the normalized plan document; reading it back gives the same
//!   plan.
//!
//! A plan is judged whole before it is accepted: every refusal is a [`PlanError`] whose message
//! says what and where, and whose [`PlanError::reason`] is one of [`PLAN_REJECTION_REASONS`].
//! Nothing here panics on any input; bodies over [`MAX_PLAN_BYTES`] are refused unread.
//!
//! # Limits
//! | what | limit |
//! |---|---|
//! | body | [`MAX_PLAN_BYTES`] |
//! | route points | [`MAX_ROUTE_POINTS`] |
//! | zones | [`MAX_ZONES`] |
//! | points of one zone / of all zones | [`MAX_ZONE_POINTS`] / [`MAX_TOTAL_ZONE_POINTS`] |
//! | vehicles | [`MAX_VEHICLES`] |
//! | plan and zone names | 1 to [`MAX_NAME_CHARS`] characters |
//! | corridor | [`MIN_CORRIDOR_M`] to [`MAX_CORRIDOR_M`] metres |
//! | circle zone radius | above 0, at most [`MAX_ZONE_RADIUS_M`] metres |

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use geo::{LineString, Point, Polygon};
use serde::{Deserialize, Serialize};

use crate::vehicle::VehicleId;

mod changes;
mod coordinates;
mod document;
mod error;
mod geojson;
mod gpx;
mod kml;
mod validate;
mod xml;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod time_zone_tests;

pub use changes::{changed_fields, refused_once_started, EDITABLE_ONCE_STARTED};
pub use coordinates::CoordinateSystem;
pub use error::{PlanError, PLAN_REJECTION_REASONS};

/// The corridor width when a plan gives none, in metres.
pub const DEFAULT_CORRIDOR_M: f64 = 150.0;
/// The narrowest corridor a plan may ask for, in metres.
pub const MIN_CORRIDOR_M: f64 = 10.0;
/// The widest corridor a plan may ask for, in metres.
pub const MAX_CORRIDOR_M: f64 = 10_000.0;
/// The largest plan body accepted (JSON document or route file), in bytes.
pub const MAX_PLAN_BYTES: usize = 4 * 1024 * 1024;
/// The most points a route may have.
pub const MAX_ROUTE_POINTS: usize = 100_000;
/// The most zones a plan may have.
pub const MAX_ZONES: usize = 1_000;
/// The most points one zone may have (all its rings together).
pub const MAX_ZONE_POINTS: usize = 10_000;
/// The most points all the zones of a plan may have together.
pub const MAX_TOTAL_ZONE_POINTS: usize = 100_000;
/// The most vehicles a plan may list.
pub const MAX_VEHICLES: usize = 1_000;
/// The longest plan or zone name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// The largest radius of a circle zone, in metres.
pub const MAX_ZONE_RADIUS_M: f64 = 100_000.0;

/// What a zone means for the rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoneKind {
    Origin,
    Destination,
    AllowedStop,
    Forbidden,
}

/// The shape of a zone.
#[derive(Clone, Debug, PartialEq)]
pub enum ZoneShape {
    Polygon(Polygon),
    Circle { center: Point, radius_m: f64 },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Zone {
    pub name: String,
    pub kind: ZoneKind,
    pub shape: ZoneShape,
}

impl Zone {
    /// Whether a point is inside the zone or on its edge.
    pub fn contains(&self, p: Point) -> bool {
        match &self.shape {
            ZoneShape::Polygon(polygon) => crate::geometry::in_polygon(p, polygon),
            ZoneShape::Circle { center, radius_m } => crate::geometry::in_circle(p, *center, *radius_m),
        }
    }
}

/// When a move is planned to happen; outside it the move's rules are quiet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeWindow {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// A planned move. Coordinates are `x` = longitude, `y` = latitude, in degrees (WGS 84).
#[derive(Clone, Debug, PartialEq)]
pub struct MovePlan {
    pub name: String,
    pub vehicles: Vec<VehicleId>,
    /// Cargo vehicle -> the vehicle escorting it. Both are among `vehicles`.
    pub escorts: BTreeMap<VehicleId, VehicleId>,
    pub route: LineString,
    pub corridor_m: f64,
    pub zones: Vec<Zone>,
    pub window: Option<TimeWindow>,
    /// Overrides of the server's rule settings, by `RuleSettings` field name (already checked).
    pub rules: serde_json::Map<String, serde_json::Value>,
    /// The zone the move's times are shown in and named by; `None`: the server's
    /// `[moves] default_time_zone`. Times themselves are always kept in UTC.
    pub time_zone: Option<crate::time_zone::Tz>,
    /// The language the move's alerts are sent in (e-mail, webhook text, group robots); `None`:
    /// the server's `[moves] default_language`.
    pub language: Option<crate::language::Language>,
}

impl MovePlan {
    /// Reads and judges a JSON plan document (the body of `POST /api/v1/moves`).
    pub fn from_json(body: &[u8]) -> Result<MovePlan, PlanError> {
        check_size(body)?;
        document::from_json(body)
    }

    /// Reads a route file (GPX, KML or GeoJSON) and takes the other fields from `fields`, then
    /// judges the plan as [`MovePlan::from_json`] does. A file drawn on a Chinese map is declared
    /// with `fields.coordinates = "gcj02"` and converted to WGS-84 as it is read.
    ///
    /// - GPX: the points of the first `<rte>`, or when it has none, of every `<trkseg>` of
    ///   every `<trk>` joined in order.
    /// - KML: the first `<LineString>`; placemarks with a `kind` data item are zones.
    /// - GeoJSON: a LineString, a Feature with one, or a FeatureCollection with exactly one
    ///   LineString feature, whose other features are zones.
    pub fn from_route_file(
        body: &[u8],
        format: RouteFormat,
        fields: &PlanFields,
    ) -> Result<MovePlan, PlanError> {
        check_size(body)?;
        let coordinates = match &fields.coordinates {
            None => coordinates::CoordinateSystem::Wgs84,
            Some(name) => coordinates::CoordinateSystem::parse(name)?,
        };
        let (route, zones) = match format {
            RouteFormat::Gpx => (gpx::route(body)?, Vec::new()),
            RouteFormat::Kml => kml::route_and_zones(body)?,
            RouteFormat::GeoJson => {
                let value = document::parse_json(body, "the GeoJSON route")?;
                geojson::route(&value, "the GeoJSON route", true)?
            }
        };
        let rules = match &fields.rules {
            None => None,
            Some(text) => Some(
                serde_json::from_str::<serde_json::Value>(text)
                    .map_err(|e| PlanError::InvalidRules(format!("rules are not valid JSON: {e}")))?,
            ),
        };
        validate::build(validate::PlanInput {
            name: fields.name.clone(),
            vehicles: fields.vehicles.clone(),
            escorts: fields.escorts.clone(),
            route,
            corridor_m: fields.corridor_m,
            zones,
            window: fields.window.clone(),
            rules,
            time_zone: fields.time_zone.clone(),
            language: fields.language.clone(),
        })
        .map(|plan| coordinates.to_wgs84(plan))
    }

    /// The normalized plan document: the route as a GeoJSON LineString, the zones as a
    /// FeatureCollection, the window (if any) in RFC 3339 UTC with milliseconds. Reading it
    /// with [`MovePlan::from_json`] gives this plan back.
    pub fn to_json(&self) -> serde_json::Value {
        document::to_json(self)
    }
}

fn check_size(body: &[u8]) -> Result<(), PlanError> {
    if body.len() > MAX_PLAN_BYTES {
        Err(PlanError::BodyTooLarge { bytes: body.len() })
    } else {
        Ok(())
    }
}

/// The format of a route file, from the request's `Content-Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RouteFormat {
    GeoJson,
    Gpx,
    Kml,
}

impl RouteFormat {
    /// `application/json` and `application/geo+json` are GeoJSON, `application/gpx+xml` GPX,
    /// `application/vnd.google-earth.kml+xml` KML; parameters (`; charset=utf-8`) and case are
    /// ignored. Anything else is `None`.
    ///
    /// (`POST /api/v1/moves` takes an `application/json` body as the whole plan document,
    /// for [`MovePlan::from_json`]; a bare GeoJSON route is `application/geo+json`.)
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        match essence.as_str() {
            "application/json" | "application/geo+json" => Some(RouteFormat::GeoJson),
            "application/gpx+xml" => Some(RouteFormat::Gpx),
            "application/vnd.google-earth.kml+xml" => Some(RouteFormat::Kml),
            _ => None,
        }
    }
}

/// The fields of a plan that come beside a route file (from query parameters).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PlanFields {
    pub name: String,
    pub vehicles: Vec<String>,
    /// `(cargo vehicle, escort vehicle)` pairs.
    pub escorts: Vec<(String, String)>,
    /// `None` gives [`DEFAULT_CORRIDOR_M`].
    pub corridor_m: Option<f64>,
    /// `(from, to)` in RFC 3339.
    pub window: Option<(String, String)>,
    /// Rule overrides as the text of a JSON object.
    pub rules: Option<String>,
    /// An IANA time zone name.
    pub time_zone: Option<String>,
    /// A language tag (`en`, `zh-CN`).
    pub language: Option<String>,
    /// What the route file's coordinates are in (`wgs84`, `gcj02`); `None`: WGS-84.
    pub coordinates: Option<String>,
}

/// The fields beside a route file as text, the way people write them: in a route upload's
/// query (`vehicles=a,b`) or in `convoy move create`'s flags (`--vehicles a,b`). Both front ends
/// read them through [`PlanFields::from_text`], so a list is split one way.
#[derive(Clone, Copy, Debug, Default)]
pub struct PlanFieldsText<'a> {
    pub name: Option<&'a str>,
    /// Vehicle ids, comma-separated.
    pub vehicles: Option<&'a str>,
    /// `cargo:escort` pairs, comma-separated.
    pub escorts: Option<&'a str>,
    pub corridor_m: Option<&'a str>,
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
    /// Rule overrides as the text of a JSON object.
    pub rules: Option<&'a str>,
    /// An IANA time zone name.
    pub time_zone: Option<&'a str>,
    /// A language tag (`en`, `zh-CN`).
    pub language: Option<&'a str>,
    /// `wgs84` or `gcj02`.
    pub coordinates: Option<&'a str>,
}

impl PlanFields {
    /// Reads the fields from text. Nothing is refused here: a value that is wrong (a corridor
    /// that is not a number, an escort pair without a colon) is refused, with its reason, by the
    /// plan's own checks.
    pub fn from_text(text: PlanFieldsText<'_>) -> PlanFields {
        let list = |value: Option<&str>| -> Vec<String> {
            value
                .map(|v| v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect())
                .unwrap_or_default()
        };
        PlanFields {
            name: text.name.unwrap_or_default().to_string(),
            vehicles: list(text.vehicles),
            escorts: list(text.escorts)
                .into_iter()
                .map(|pair| match pair.split_once(':') {
                    Some((cargo, escort)) => (cargo.to_string(), escort.to_string()),
                    None => (pair, String::new()),
                })
                .collect(),
            corridor_m: text.corridor_m.map(|v| v.parse().unwrap_or(f64::NAN)),
            window: match (text.from, text.to) {
                (None, None) => None,
                (from, to) => {
                    Some((from.unwrap_or_default().to_string(), to.unwrap_or_default().to_string()))
                }
            },
            rules: text.rules.map(str::to_string),
            time_zone: text.time_zone.map(str::to_string),
            language: text.language.map(str::to_string),
            coordinates: text.coordinates.map(str::to_string),
        }
    }
}
