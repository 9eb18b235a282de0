//! A move plan: the vehicles of a move, their planned route, the corridor around it and the
//! zones along it. Validation and evaluation of plans grow here with the alerting work.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use geo::{LineString, Point, Polygon};
use serde::{Deserialize, Serialize};

use crate::vehicle::VehicleId;

/// The corridor width when a plan gives none, in metres.
pub const DEFAULT_CORRIDOR_M: f64 = 150.0;

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
}

impl MovePlan {
    /// Distance in metres from a point to the planned route.
    pub fn distance_to_route_m(&self, p: Point) -> Option<f64> {
        crate::geometry::distance_to_route_m(p, &self.route)
    }

    /// Whether a point is inside the corridor (on its edge counts as inside).
    pub fn in_corridor(&self, p: Point) -> bool {
        self.distance_to_route_m(p).is_some_and(|d| d <= self.corridor_m)
    }

    /// The zones a point is in.
    pub fn zones_at(&self, p: Point) -> impl Iterator<Item = &Zone> {
        self.zones.iter().filter(move |z| z.contains(p))
    }
}
