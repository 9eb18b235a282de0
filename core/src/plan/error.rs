//! Why a plan is refused: a sentence for the person who sent it, and a short reason for the
//! counters.

use super::{MAX_PLAN_BYTES, MAX_ROUTE_POINTS};

/// Every value [`PlanError::reason`] can return, for counting rejected plans by reason.
///
/// `unknown_vehicle` is not produced here: the core does not know which vehicles are
/// registered; the server decides it (with [`PlanError::UnknownVehicle`]).
pub const PLAN_REJECTION_REASONS: [&str; 14] = [
    "too_large",
    "malformed",
    "route_too_short",
    "coordinate_out_of_range",
    "self_intersecting_zone",
    "invalid_zone",
    "corridor_out_of_range",
    "invalid_window",
    "invalid_rules",
    "invalid_vehicles",
    "unknown_vehicle",
    "unknown_coordinates",
    "unknown_time_zone",
    "unknown_language",
];

/// A plan that cannot be accepted. The message names what is wrong and where ("zone 3
/// \"depot\": polygon ring intersects itself ..."); [`PlanError::reason`] classifies it.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum PlanError {
    /// The body is larger than [`MAX_PLAN_BYTES`]; it was not parsed.
    #[error("the plan is {bytes} bytes long; at most {MAX_PLAN_BYTES} bytes are accepted")]
    BodyTooLarge { bytes: usize },
    /// The route has more than [`MAX_ROUTE_POINTS`] points.
    #[error("the route has more than {MAX_ROUTE_POINTS} points; simplify it or split the move")]
    TooManyRoutePoints,
    /// Too many zones, or too many points in the zones (`what` says which).
    #[error("{what}")]
    TooManyZonePoints { what: String },
    /// Not what it claims to be: not JSON, GPX or KML, a field of the wrong JSON type, a missing
    /// or overlong name.
    #[error("{0}")]
    Malformed(String),
    /// Fewer than 2 points, or all points at one place.
    #[error("{}", route_too_short_message(*.points))]
    RouteTooShort {
        /// How many points the route has (0 or 1, or more if they are all the same).
        points: usize,
    },
    /// A latitude beyond ±90°, a longitude beyond ±180°, or a coordinate that is not a number.
    #[error("{place}: {problem}")]
    CoordinateOutOfRange { place: String, problem: String },
    /// A polygon ring crosses or touches itself, or two rings of a polygon cross.
    #[error("{zone}: {problem}")]
    SelfIntersectingZone { zone: String, problem: String },
    /// A zone without kind or name, with an unknown kind, a ring that is not a closed ring, a
    /// radius out of range, or a geometry that cannot be a zone.
    #[error("{zone}: {problem}")]
    InvalidZone { zone: String, problem: String },
    /// `corridor_m` is not in 10..=10000.
    #[error(
        "corridor_m is {corridor_m}; the corridor (how far from the route a vehicle may be) must be \
         between 10 and 10000 metres"
    )]
    CorridorOutOfRange { corridor_m: f64 },
    /// The time window cannot be read, or does not end after it starts.
    #[error("window: {0}")]
    InvalidWindow(String),
    /// The rule overrides are not an object, or do not apply.
    #[error("{0}")]
    InvalidRules(String),
    /// The vehicle list or the escort pairs are wrong.
    #[error("{0}")]
    InvalidVehicles(String),
    /// A vehicle of the plan is not registered (decided by the server, not here).
    #[error("vehicle \"{vehicle}\" is not registered; register it before planning a move with it")]
    UnknownVehicle { vehicle: String },
    /// `coordinates` names a system Convoy does not know.
    #[error("coordinates is \"{0}\"; a plan's coordinates are \"wgs84\" (the default) or \"gcj02\" (Chinese maps)")]
    UnknownCoordinates(String),
    /// `time_zone` is not an IANA time zone name the bundled tz database knows.
    #[error("{0}")]
    UnknownTimeZone(#[from] crate::time_zone::UnknownTimeZone),
    /// `language` is not one Convoy speaks (`en`, `zh-CN`).
    #[error("{0}")]
    UnknownLanguage(#[from] crate::language::UnknownLanguage),
}

fn route_too_short_message(points: usize) -> String {
    match points {
        0 => "the route has no points; it needs at least 2 different points".to_string(),
        1 => "the route has only 1 point; it needs at least 2 different points".to_string(),
        n => {
            format!("all {n} points of the route are at the same place; it needs at least 2 different points")
        }
    }
}

impl PlanError {
    /// The short reason, one of [`PLAN_REJECTION_REASONS`].
    pub fn reason(&self) -> &'static str {
        match self {
            PlanError::BodyTooLarge { .. }
            | PlanError::TooManyRoutePoints
            | PlanError::TooManyZonePoints { .. } => "too_large",
            PlanError::Malformed(_) => "malformed",
            PlanError::RouteTooShort { .. } => "route_too_short",
            PlanError::CoordinateOutOfRange { .. } => "coordinate_out_of_range",
            PlanError::SelfIntersectingZone { .. } => "self_intersecting_zone",
            PlanError::InvalidZone { .. } => "invalid_zone",
            PlanError::CorridorOutOfRange { .. } => "corridor_out_of_range",
            PlanError::InvalidWindow(_) => "invalid_window",
            PlanError::InvalidRules(_) => "invalid_rules",
            PlanError::InvalidVehicles(_) => "invalid_vehicles",
            PlanError::UnknownVehicle { .. } => "unknown_vehicle",
            PlanError::UnknownCoordinates(_) => "unknown_coordinates",
            PlanError::UnknownTimeZone(_) => "unknown_time_zone",
            PlanError::UnknownLanguage(_) => "unknown_language",
        }
    }

    pub(super) fn malformed(message: impl Into<String>) -> Self {
        PlanError::Malformed(message.into())
    }
}

/// How a zone is named in messages: `zone 3 "depot"` (1-based, in the order of the plan), or
/// `zone 3` when it has no usable name.
pub(super) fn zone_label(number: usize, name: Option<&str>) -> String {
    match name {
        Some(name) if !name.trim().is_empty() => format!("zone {number} {:?}", shorten(name, 60)),
        _ => format!("zone {number}"),
    }
}

/// `text`, cut to `max` characters with an ellipsis, for quoting user input in messages.
pub(super) fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(max).collect();
        cut.push('…');
        cut
    }
}
