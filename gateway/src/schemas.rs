//! Schemas of what the gateway passes on as other crates define it: positions as on the wire,
//! plans and their GeoJSON, alerts as published, stops and gaps as `convoy_history` writes them,
//! the live feed's messages (`convoy_core::live`), and the names of the role table.
//!
//! The gateway's own bodies derive their schemas (`ToSchema` on the structs it serialises); these
//! types cannot (they live in crates that know nothing of OpenAPI), so each is a name for the
//! derived schemas to refer to, and its schema is written here, next to the others, once.
//! `tests/api_contract.rs` checks the server's real answers and live messages against them.

use convoy_core::alert::{AlertKind as CoreAlertKind, AlertState as CoreAlertState};
use convoy_core::progress::ProgressState as CoreProgressState;
use convoy_core::{Ability as CoreAbility, Language as CoreLanguage, Role as CoreRole};
use serde_json::{json, Value};
use utoipa::openapi::{ObjectBuilder, RefOr, Schema};

macro_rules! wire_schemas {
    ($($(#[$doc:meta])* $name:ident => $schema:tt,)*) => {
        $(
            $(#[$doc])*
            #[allow(dead_code)] // a name the derived schemas refer to
            pub(crate) struct $name;

            impl utoipa::PartialSchema for $name {
                /// A stand-in: [`finish`](crate::openapi::finish) puts the schema below in the
                /// document's components, where every use refers to it.
                fn schema() -> RefOr<Schema> {
                    ObjectBuilder::new().into()
                }
            }

            impl utoipa::ToSchema for $name {}
        )*

        /// Every wire schema, by name.
        pub(crate) fn wire_schemas() -> Vec<(&'static str, Value)> {
            vec![$((stringify!($name), json!($schema)),)*]
        }
    };
}

/// The names serde gives `items` (the wire's names).
fn names<T: serde::Serialize>(items: &[T]) -> Vec<Value> {
    items.iter().map(|item| serde_json::to_value(item).expect("a name serialises")).collect()
}

wire_schemas! {
    /// A role (`convoy_core::Role`).
    Role => { "type": "string", "enum": names(&CoreRole::ALL) },
    /// Something a role may do (`convoy_core::Ability`).
    Ability => { "type": "string", "enum": names(&CoreAbility::ALL) },
    /// A language the web page speaks (`convoy_core::Language`).
    Language => { "type": "string", "enum": names(&CoreLanguage::ALL) },
    UserName => { "type": "string", "pattern": "^[A-Za-z0-9._@-]{1,64}$" },
    VehicleId => { "type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$", "examples": ["truck-07"] },
    Time => { "type": "string", "format": "date-time", "examples": ["2026-11-28T09:15:02.000Z"] },
    AlertKind => { "type": "string", "enum": names(&CoreAlertKind::ALL) },
    AlertState => {
        "type": "string",
        "enum": names(&[CoreAlertState::Open, CoreAlertState::Acknowledged, CoreAlertState::Resolved]),
    },
    Position => {
        "type": "object",
        "description": "A fix as on the wire (`convoy/v1/vehicles/{vehicle}/positions`). Optional fields may be absent.",
        "required": ["seq", "t", "lat", "lon"],
        "properties": {
            "seq": { "type": "integer", "minimum": 0, "description": "Rises by one per fix for the life of the vehicle's agent." },
            "t": { "$ref": "#/components/schemas/Time" },
            "lat": { "type": "number", "minimum": -90, "maximum": 90 },
            "lon": { "type": "number", "minimum": -180, "maximum": 180 },
            "alt_m": { "type": "number" },
            "speed_mps": { "type": "number", "minimum": 0 },
            "course_deg": { "type": "number", "minimum": 0, "maximum": 360 },
            "fix": { "type": "string", "enum": ["2d", "3d"] },
            "sats": { "type": "integer", "minimum": 0 },
            "hdop": { "type": "number", "minimum": 0 },
        },
    },
    StoredFix => {
        "description": "A stored fix: the wire position with the marks ingest gave it, when set.",
        "allOf": [
            { "$ref": "#/components/schemas/Position" },
            {
                "type": "object",
                "properties": {
                    "late": { "type": "boolean", "description": "Arrived long after it was taken (a backlog)." },
                    "implausible": { "type": "string", "description": "Why the fix is known to be wrong (e.g. `too_fast`)." },
                    "signed": { "type": "boolean", "description": "Its batch's signature and chain were verified at ingest (the vehicle has a key); absent: unsigned." },
                },
            },
        ],
    },
    LineString => {
        "type": "object",
        "description": "A GeoJSON LineString, `[lon, lat]` pairs (an altitude may follow).",
        "required": ["type", "coordinates"],
        "properties": {
            "type": { "const": "LineString" },
            "coordinates": {
                "type": "array",
                "minItems": 2,
                "maxItems": 100000,
                "items": { "type": "array", "minItems": 2, "maxItems": 3, "items": { "type": "number" } },
            },
        },
    },
    Zone => {
        "type": "object",
        "description": "A GeoJSON Feature: a Polygon, or a Point with `properties.radius_m` (a circle).",
        "required": ["type", "geometry", "properties"],
        "properties": {
            "type": { "const": "Feature" },
            "geometry": {
                "type": "object",
                "required": ["type", "coordinates"],
                "properties": {
                    "type": { "type": "string", "enum": ["Polygon", "Point"] },
                    "coordinates": { "type": "array" },
                },
            },
            "properties": {
                "type": "object",
                "required": ["name", "kind"],
                "properties": {
                    "name": { "type": "string", "minLength": 1, "maxLength": 200 },
                    "kind": { "type": "string", "enum": ["origin", "destination", "allowed_stop", "forbidden"] },
                    "radius_m": { "type": "number", "exclusiveMinimum": 0, "maximum": 100000 },
                },
            },
        },
    },
    ZoneCollection => {
        "type": "object",
        "description": "A GeoJSON FeatureCollection of zones.",
        "required": ["type", "features"],
        "properties": {
            "type": { "const": "FeatureCollection" },
            "features": { "type": "array", "maxItems": 1000, "items": { "$ref": "#/components/schemas/Zone" } },
        },
    },
    TimeWindow => {
        "type": "object",
        "required": ["from", "to"],
        "properties": {
            "from": { "$ref": "#/components/schemas/Time" },
            "to": { "$ref": "#/components/schemas/Time" },
        },
    },
    RuleOverrides => {
        "type": "object",
        "description": "Overrides of the server's rule settings for this move; every value a finite number of at least 0.",
        "additionalProperties": false,
        "properties": {
            "off_route_after_s": { "type": "number", "minimum": 0 },
            "off_route_min_fixes": { "type": "integer", "minimum": 0 },
            "off_route_resolve_after_s": { "type": "number", "minimum": 0 },
            "stop_speed_mps": { "type": "number", "minimum": 0 },
            "stop_radius_m": { "type": "number", "minimum": 0 },
            "stop_after_s": { "type": "number", "minimum": 0 },
            "signal_lost_after_s": { "type": "number", "minimum": 0 },
            "gnss_lost_after_s": { "type": "number", "minimum": 0 },
            "speed_limit_mps": { "type": ["number", "null"], "minimum": 0 },
            "overspeed_after_s": { "type": "number", "minimum": 0 },
            "overspeed_resolve_after_s": { "type": "number", "minimum": 0 },
            "overspeed_resolve_margin_mps": { "type": "number", "minimum": 0 },
            "zone_edge_margin_m": { "type": "number", "minimum": 0 },
            "escort_max_distance_m": { "type": "number", "minimum": 0 },
            "convoy_broken_after_s": { "type": "number", "minimum": 0 },
            "late_after_s": { "type": "number", "minimum": 0 },
        },
    },
    MovePlan => {
        "type": "object",
        "description": "A move plan. Only `name`, `vehicles` and `route` are required; null counts as absent; unknown fields are ignored. Every vehicle must be registered (else 422).",
        "required": ["name", "vehicles", "route"],
        "properties": {
            "name": { "type": "string", "minLength": 1, "maxLength": 200 },
            "vehicles": { "type": "array", "minItems": 1, "maxItems": 1000, "items": { "$ref": "#/components/schemas/VehicleId" } },
            "escorts": {
                "type": "object",
                "description": "Cargo vehicle -> the vehicle escorting it; both among `vehicles`.",
                "additionalProperties": { "$ref": "#/components/schemas/VehicleId" },
            },
            "route": { "$ref": "#/components/schemas/LineString" },
            "corridor_m": { "type": "number", "minimum": 10, "maximum": 10000, "default": 150 },
            "zones": { "$ref": "#/components/schemas/ZoneCollection" },
            "window": { "$ref": "#/components/schemas/TimeWindow" },
            "rules": { "$ref": "#/components/schemas/RuleOverrides" },
            "time_zone": {
                "type": "string",
                "description": "The IANA time zone the move's times are shown in (e.g. `Asia/Shanghai`); absent: the server's `[moves] default_time_zone`. An unknown name is refused (400, `unknown_time_zone`). Times stay UTC.",
                "examples": ["Asia/Shanghai"],
            },
        },
    },
    AlertMessage => {
        "type": "object",
        "description": "An alert as published on MQTT (`convoy/v1/alerts/{vehicle}`) and the live feed, at one change of state.",
        "required": ["v", "id", "kind", "state", "vehicle", "move", "t", "detail"],
        "properties": {
            "v": { "const": convoy_core::alert::AlertMessage::VERSION },
            "id": { "type": "string" },
            "kind": { "$ref": "#/components/schemas/AlertKind" },
            "state": { "$ref": "#/components/schemas/AlertState" },
            "vehicle": { "$ref": "#/components/schemas/VehicleId" },
            "move": { "type": "string" },
            "t": { "$ref": "#/components/schemas/Time" },
            "lat": { "type": "number" },
            "lon": { "type": "number" },
            "detail": { "description": "Rule-specific facts: when the condition began, distances, the zone, who acted and why." },
            "late": { "type": "boolean" },
        },
    },
    Stop => {
        "type": "object",
        "description": "A vehicle standing at least two minutes, placed where it began.",
        "required": ["vehicle", "from", "to", "lat", "lon", "duration_s"],
        "properties": {
            "vehicle": { "$ref": "#/components/schemas/VehicleId" },
            "from": { "$ref": "#/components/schemas/Time" },
            "to": { "$ref": "#/components/schemas/Time" },
            "lat": { "type": "number" },
            "lon": { "type": "number" },
            "duration_s": { "type": "number", "minimum": 0 },
        },
    },
    Gap => {
        "type": "object",
        "description": "More than 30 s without a fix: from the last fix before the silence to the first after it.",
        "required": ["vehicle", "from", "to", "duration_s"],
        "properties": {
            "vehicle": { "$ref": "#/components/schemas/VehicleId" },
            "from": { "$ref": "#/components/schemas/Time" },
            "to": { "$ref": "#/components/schemas/Time" },
            "duration_s": { "type": "number", "minimum": 0 },
        },
    },
    /// One message of the live feed (`convoy_core::live::LiveEvent`, and `lagged`).
    LiveMessage => {
        "description": "One message of the live feed, tagged by `type`.",
        "oneOf": [
            { "$ref": "#/components/schemas/LivePosition" },
            { "$ref": "#/components/schemas/LiveAlert" },
            { "$ref": "#/components/schemas/LiveStatus" },
            { "$ref": "#/components/schemas/LiveProgress" },
            { "$ref": "#/components/schemas/LiveProgressEnded" },
            { "$ref": "#/components/schemas/LiveLagged" },
        ],
        "discriminator": {
            "propertyName": "type",
            "mapping": {
                "position": "#/components/schemas/LivePosition",
                "alert": "#/components/schemas/LiveAlert",
                "status": "#/components/schemas/LiveStatus",
                "progress": "#/components/schemas/LiveProgress",
                "progress_ended": "#/components/schemas/LiveProgressEnded",
                "lagged": "#/components/schemas/LiveLagged",
            },
        },
    },
    LivePosition => {
        "type": "object",
        "description": "A vehicle's new fix (or, on connect, its latest one).",
        "required": ["type", "vehicle", "position"],
        "properties": {
            "type": { "const": "position" },
            "vehicle": { "$ref": "#/components/schemas/VehicleId" },
            "position": { "$ref": "#/components/schemas/Position" },
        },
    },
    LiveAlert => {
        "type": "object",
        "description": "An alert opened or changed state (or, on connect, one not yet resolved).",
        "required": ["type", "alert"],
        "properties": {
            "type": { "const": "alert" },
            "alert": { "$ref": "#/components/schemas/AlertMessage" },
        },
    },
    LiveStatus => {
        "type": "object",
        "description": "An agent's health report, as it published it (online/offline, spool depth, GNSS state, version).",
        "required": ["type", "vehicle", "status"],
        "properties": {
            "type": { "const": "status" },
            "vehicle": { "$ref": "#/components/schemas/VehicleId" },
            "status": { "type": "object" },
        },
    },
    ProgressState => { "type": "string", "enum": names(&CoreProgressState::ALL) },
    VehicleProgress => {
        "type": "object",
        "description": "A vehicle's progress along its move's route as of its last fix (`convoy_core::progress::VehicleProgress`). `eta` is set only when `state` is `on_route`; it is an estimate from the recent pace.",
        "required": ["move", "vehicle", "state", "progress_m", "route_length_m", "remaining_m", "speed_mps", "eta", "as_of", "estimate"],
        "properties": {
            "move": { "type": "string" },
            "vehicle": { "$ref": "#/components/schemas/VehicleId" },
            "state": { "$ref": "#/components/schemas/ProgressState" },
            "progress_m": { "type": "number", "minimum": 0, "description": "Metres along the route from its start." },
            "route_length_m": { "type": "number", "minimum": 0 },
            "remaining_m": { "type": "number", "minimum": 0, "description": "Metres along the route still to go." },
            "speed_mps": { "type": ["number", "null"], "minimum": 0, "description": "Progress along the route per second over the last five minutes of fixes (null under 30 s of fixes)." },
            "eta": { "oneOf": [{ "$ref": "#/components/schemas/Time" }, { "type": "null" }], "description": "The estimated arrival at the route's end." },
            "as_of": { "$ref": "#/components/schemas/Time" },
            "estimate": { "const": true },
        },
    },
    LiveProgress => {
        "type": "object",
        "description": "A vehicle's progress along its move's route changed (at most once per fix; on connect, each running move's vehicles' latest).",
        "required": ["type", "progress"],
        "properties": {
            "type": { "const": "progress" },
            "progress": { "$ref": "#/components/schemas/VehicleProgress" },
        },
    },
    LiveProgressEnded => {
        "type": "object",
        "description": "The move stopped running (ended, cancelled, past its window): its vehicles' progress is over.",
        "required": ["type", "move"],
        "properties": {
            "type": { "const": "progress_ended" },
            "move": { "type": "string" },
        },
    },
    LiveLagged => {
        "type": "object",
        "description": "The client was too slow: this many position messages were skipped.",
        "required": ["type", "missed"],
        "properties": {
            "type": { "const": "lagged" },
            "missed": { "type": "integer", "minimum": 1 },
        },
    },
}
