//! Judging a plan once its parts are read, whatever format they came in: names, vehicles and
//! escorts, coordinate ranges, the route's length, zone rings and radii, the corridor, the time
//! window and the rule overrides.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, SubsecRound, Utc};
use geo::kernels::RobustKernel;
use geo::{Coord, Kernel, LineString, Orientation, Point, Polygon};
use serde_json::Value;

use super::error::{shorten, zone_label, PlanError};
use super::{
    MovePlan, TimeWindow, Zone, ZoneKind, ZoneShape, DEFAULT_CORRIDOR_M, MAX_CORRIDOR_M, MAX_NAME_CHARS,
    MAX_ROUTE_POINTS, MAX_TOTAL_ZONE_POINTS, MAX_VEHICLES, MAX_ZONES, MAX_ZONE_POINTS, MAX_ZONE_RADIUS_M,
    MIN_CORRIDOR_M,
};
use crate::rules::RuleSettings;
use crate::vehicle::VehicleId;

/// `[longitude, latitude]` in degrees, as read.
pub(super) type LonLat = [f64; 2];

/// A plan as read from its document or route file, before judging.
#[derive(Debug, Default)]
pub(super) struct PlanInput {
    pub name: String,
    pub vehicles: Vec<String>,
    pub escorts: Vec<(String, String)>,
    pub route: Vec<LonLat>,
    pub corridor_m: Option<f64>,
    pub zones: Vec<ZoneInput>,
    pub window: Option<(String, String)>,
    pub rules: Option<Value>,
    /// An IANA time zone name.
    pub time_zone: Option<String>,
    /// A language tag (`en`, `zh-CN`).
    pub language: Option<String>,
}

/// A zone as read: name and kind may be missing, the geometry may be of the wrong type.
#[derive(Debug)]
pub(super) struct ZoneInput {
    pub name: Option<String>,
    pub kind: Option<String>,
    pub geometry: ZoneGeometry,
}

#[derive(Debug)]
pub(super) enum ZoneGeometry {
    /// Rings: the outer one first, then the holes.
    Polygon(Vec<Vec<LonLat>>),
    Circle {
        center: LonLat,
        radius_m: Option<f64>,
    },
    /// Anything else, described for the message ("a LineString", "no geometry").
    Other(String),
}

/// Judges the parts and builds the plan.
pub(super) fn build(input: PlanInput) -> Result<MovePlan, PlanError> {
    let name = plan_name(&input.name)?;
    let vehicles = vehicles(&input.vehicles)?;
    let escorts = escorts(&input.escorts, &vehicles)?;
    let route = route(&input.route)?;
    let corridor_m = corridor(input.corridor_m)?;
    let zones = zones(input.zones)?;
    let window = match &input.window {
        Some((from, to)) => Some(window(from, to)?),
        None => None,
    };
    let rules = match input.rules {
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(value) => rules(value)?,
    };
    let time_zone = input.time_zone.as_deref().map(crate::time_zone::parse).transpose()?;
    let language = input.language.as_deref().map(crate::language::Language::parse).transpose()?;
    Ok(MovePlan { name, vehicles, escorts, route, corridor_m, zones, window, rules, time_zone, language })
}

/// Why a name is not acceptable, if it is not.
fn name_problem(name: &str) -> Option<String> {
    if name.trim().is_empty() {
        Some("is empty".to_string())
    } else {
        let chars = name.chars().count();
        (chars > MAX_NAME_CHARS)
            .then(|| format!("is {chars} characters long; at most {MAX_NAME_CHARS} are allowed"))
    }
}

fn plan_name(name: &str) -> Result<String, PlanError> {
    match name_problem(name) {
        Some(problem) => Err(PlanError::malformed(format!("the plan's name {problem}"))),
        None => Ok(name.to_string()),
    }
}

fn vehicle_id(id: &str, what: impl Fn() -> String) -> Result<VehicleId, PlanError> {
    VehicleId::new(id).map_err(|e| {
        PlanError::InvalidVehicles(format!("{} {:?} is not a valid vehicle id: {e}", what(), shorten(id, 70)))
    })
}

fn vehicles(ids: &[String]) -> Result<Vec<VehicleId>, PlanError> {
    if ids.is_empty() {
        return Err(PlanError::InvalidVehicles("the plan has no vehicles; list at least one".into()));
    }
    if ids.len() > MAX_VEHICLES {
        return Err(PlanError::InvalidVehicles(format!(
            "the plan lists {} vehicles; at most {MAX_VEHICLES} are allowed",
            ids.len()
        )));
    }
    let mut seen = BTreeSet::new();
    let mut vehicles = Vec::with_capacity(ids.len());
    for (index, id) in ids.iter().enumerate() {
        let vehicle = vehicle_id(id, || format!("vehicle {}", index + 1))?;
        if !seen.insert(vehicle.clone()) {
            return Err(PlanError::InvalidVehicles(format!("vehicle \"{vehicle}\" is listed twice")));
        }
        vehicles.push(vehicle);
    }
    Ok(vehicles)
}

fn escorts(
    pairs: &[(String, String)],
    vehicles: &[VehicleId],
) -> Result<BTreeMap<VehicleId, VehicleId>, PlanError> {
    let mut escorts = BTreeMap::new();
    for (cargo, escort) in pairs {
        let cargo = vehicle_id(cargo, || "escorts: the cargo vehicle".to_string())?;
        let escort = vehicle_id(escort, || format!("escorts: the escort of \"{cargo}\""))?;
        for (role, vehicle) in [("cargo vehicle", &cargo), ("escort vehicle", &escort)] {
            if !vehicles.contains(vehicle) {
                return Err(PlanError::InvalidVehicles(format!(
                    "escorts: the {role} \"{vehicle}\" is not among the plan's vehicles"
                )));
            }
        }
        if cargo == escort {
            return Err(PlanError::InvalidVehicles(format!(
                "escorts: vehicle \"{cargo}\" cannot escort itself"
            )));
        }
        if let Some(first) = escorts.insert(cargo.clone(), escort.clone()) {
            if first != escort {
                return Err(PlanError::InvalidVehicles(format!(
                    "escorts: vehicle \"{cargo}\" is given two escorts, \"{first}\" and \"{escort}\""
                )));
            }
        }
    }
    Ok(escorts)
}

/// Why a coordinate is out of range, if it is.
fn coordinate_problem([lon, lat]: LonLat) -> Option<String> {
    if !lon.is_finite() || !lat.is_finite() {
        Some(format!("the coordinate (longitude {lon}, latitude {lat}) is not a finite number"))
    } else if !(-90.0..=90.0).contains(&lat) {
        Some(format!("latitude {lat} is out of range; latitudes are between -90 and 90 degrees"))
    } else if !(-180.0..=180.0).contains(&lon) {
        Some(format!("longitude {lon} is out of range; longitudes are between -180 and 180 degrees"))
    } else {
        None
    }
}

fn check_coordinate(point: LonLat, place: impl Fn() -> String) -> Result<Coord, PlanError> {
    match coordinate_problem(point) {
        Some(problem) => Err(PlanError::CoordinateOutOfRange { place: place(), problem }),
        None => Ok(Coord { x: point[0], y: point[1] }),
    }
}

fn route(points: &[LonLat]) -> Result<LineString, PlanError> {
    if points.len() > MAX_ROUTE_POINTS {
        return Err(PlanError::TooManyRoutePoints);
    }
    let coords = points
        .iter()
        .enumerate()
        .map(|(index, point)| check_coordinate(*point, || format!("route point {}", index + 1)))
        .collect::<Result<Vec<_>, _>>()?;
    match coords.first() {
        Some(first) if coords.len() >= 2 && coords.iter().any(|c| c != first) => Ok(LineString::new(coords)),
        _ => Err(PlanError::RouteTooShort { points: coords.len() }),
    }
}

fn corridor(corridor_m: Option<f64>) -> Result<f64, PlanError> {
    let corridor_m = corridor_m.unwrap_or(DEFAULT_CORRIDOR_M);
    if (MIN_CORRIDOR_M..=MAX_CORRIDOR_M).contains(&corridor_m) {
        Ok(corridor_m)
    } else {
        Err(PlanError::CorridorOutOfRange { corridor_m })
    }
}

fn parse_time(text: &str, which: &str) -> Result<DateTime<Utc>, PlanError> {
    DateTime::parse_from_rfc3339(text.trim()).map(|t| t.with_timezone(&Utc).trunc_subsecs(3)).map_err(|e| {
        PlanError::InvalidWindow(format!(
            "{which} {:?} is not an RFC 3339 time such as 2026-11-28T09:00:00Z ({e})",
            shorten(text, 60)
        ))
    })
}

/// The time window; times are kept to the millisecond (as [`MovePlan::to_json`] writes them).
fn window(from: &str, to: &str) -> Result<TimeWindow, PlanError> {
    let from_t = parse_time(from, "from")?;
    let to_t = parse_time(to, "to")?;
    if from_t >= to_t {
        return Err(PlanError::InvalidWindow(format!(
            "from ({}) must be before to ({})",
            shorten(from, 60),
            shorten(to, 60)
        )));
    }
    Ok(TimeWindow { from: from_t, to: to_t })
}

fn rules(value: Value) -> Result<serde_json::Map<String, Value>, PlanError> {
    let Value::Object(overrides) = value else {
        return Err(PlanError::InvalidRules(format!(
            "rules must be an object of rule settings, not {}",
            super::geojson::json_type(&value)
        )));
    };
    let defaults = RuleSettings::default();
    // One by one first, so that a message that does not name its setting can be given its name.
    for (key, value) in &overrides {
        let single = serde_json::Map::from_iter([(key.clone(), value.clone())]);
        if let Err(e) = defaults.with_overrides(&single) {
            let message = e.to_string();
            let detail = message.strip_prefix("rules: ").unwrap_or(&message);
            return Err(PlanError::InvalidRules(if detail.contains(key.as_str()) {
                format!("rules: {detail}")
            } else {
                format!("rules: {}: {detail}", shorten(key, 60))
            }));
        }
    }
    defaults.with_overrides(&overrides).map_err(|e| PlanError::InvalidRules(e.to_string()))?;
    Ok(overrides)
}

fn zone_kind(kind: &str) -> Option<ZoneKind> {
    match kind {
        "origin" => Some(ZoneKind::Origin),
        "destination" => Some(ZoneKind::Destination),
        "allowed_stop" => Some(ZoneKind::AllowedStop),
        "forbidden" => Some(ZoneKind::Forbidden),
        _ => None,
    }
}

fn zones(inputs: Vec<ZoneInput>) -> Result<Vec<Zone>, PlanError> {
    if inputs.len() > MAX_ZONES {
        return Err(PlanError::TooManyZonePoints {
            what: format!("the plan has {} zones; at most {MAX_ZONES} are accepted", inputs.len()),
        });
    }
    let total: usize = inputs
        .iter()
        .map(|zone| match &zone.geometry {
            ZoneGeometry::Polygon(rings) => rings.iter().map(Vec::len).sum(),
            _ => 1,
        })
        .sum();
    if total > MAX_TOTAL_ZONE_POINTS {
        return Err(PlanError::TooManyZonePoints {
            what: format!(
                "the zones have {total} points together; at most {MAX_TOTAL_ZONE_POINTS} are accepted"
            ),
        });
    }
    inputs.into_iter().enumerate().map(|(index, zone)| self::zone(zone, index + 1)).collect()
}

fn zone(input: ZoneInput, number: usize) -> Result<Zone, PlanError> {
    let label = zone_label(number, input.name.as_deref());
    let invalid = |problem: String| PlanError::InvalidZone { zone: label.clone(), problem };
    let name = match &input.name {
        None => return Err(invalid("it has no name; set properties.name".into())),
        Some(name) => match name_problem(name) {
            Some(problem) => return Err(invalid(format!("its name {problem}"))),
            None => name.clone(),
        },
    };
    let kind = match input.kind.as_deref() {
        None => {
            return Err(invalid(
                "it has no kind; set properties.kind to origin, destination, allowed_stop or forbidden"
                    .into(),
            ))
        }
        Some(kind) => zone_kind(kind).ok_or_else(|| {
            invalid(format!(
                "kind {:?} is unknown; it must be origin, destination, allowed_stop or forbidden",
                shorten(kind, 40)
            ))
        })?,
    };
    let shape = match input.geometry {
        ZoneGeometry::Polygon(rings) => ZoneShape::Polygon(polygon(&rings, &label)?),
        ZoneGeometry::Circle { center, radius_m } => {
            let center = check_coordinate(center, || format!("{label}: the centre"))?;
            let radius_m = match radius_m {
                None => {
                    return Err(invalid(
                        "a Point zone needs properties.radius_m, its radius in metres".into(),
                    ))
                }
                Some(r) if r > 0.0 && r <= MAX_ZONE_RADIUS_M => r,
                Some(r) => {
                    return Err(invalid(format!(
                        "radius_m is {r}; it must be above 0 and at most {MAX_ZONE_RADIUS_M} metres"
                    )))
                }
            };
            ZoneShape::Circle { center: Point(center), radius_m }
        }
        ZoneGeometry::Other(what) => {
            return Err(invalid(format!(
                "its geometry is {what}; a zone is a Polygon, or a Point with properties.radius_m"
            )))
        }
    };
    Ok(Zone { name, kind, shape })
}

fn ring_name(index: usize) -> String {
    if index == 0 {
        "the outer ring".to_string()
    } else {
        format!("hole {index}")
    }
}

/// Checks the rings of a polygon zone (closed, at least 3 corners, in range, simple, holes inside
/// the outer ring and apart from each other) and builds it with the coordinates as given.
fn polygon(rings: &[Vec<LonLat>], label: &str) -> Result<Polygon, PlanError> {
    let invalid = |problem: String| PlanError::InvalidZone { zone: label.to_string(), problem };
    if rings.is_empty() {
        return Err(invalid("the Polygon has no rings".into()));
    }
    let points: usize = rings.iter().map(Vec::len).sum();
    if points > MAX_ZONE_POINTS {
        return Err(PlanError::TooManyZonePoints {
            what: format!("{label} has {points} points; at most {MAX_ZONE_POINTS} are accepted in one zone"),
        });
    }
    let mut checked: Vec<Vec<Coord>> = Vec::with_capacity(rings.len());
    for (index, ring) in rings.iter().enumerate() {
        let role = ring_name(index);
        let coords = ring
            .iter()
            .enumerate()
            .map(|(i, p)| check_coordinate(*p, || format!("{label}: {role}, point {}", i + 1)))
            .collect::<Result<Vec<_>, _>>()?;
        if coords.len() < 4 {
            return Err(invalid(format!(
                "{role} has {} points; a ring needs at least 4, the last repeating the first",
                coords.len()
            )));
        }
        if coords.first() != coords.last() {
            return Err(invalid(format!("{role} is not closed: its last point must repeat its first")));
        }
        checked.push(coords);
    }
    let simple: Vec<Vec<Coord>> = checked
        .iter()
        .map(|ring| {
            let mut ring = ring.clone();
            ring.dedup();
            ring
        })
        .collect();
    for (index, ring) in simple.iter().enumerate() {
        if ring.len() < 4 {
            return Err(invalid(format!("{} has fewer than 3 different corners", ring_name(index))));
        }
    }
    if let Some(crossing) = find_crossing(&simple) {
        let problem = match crossing {
            Crossing::Itself { ring: 0, a, b } => {
                format!("polygon ring intersects itself (edges {} and {} cross or touch)", a + 1, b + 1)
            }
            Crossing::Itself { ring, a, b } => format!(
                "hole {ring} of the polygon intersects itself (edges {} and {} cross or touch)",
                a + 1,
                b + 1
            ),
            Crossing::Rings(a, b) => {
                format!("{} and {} of the polygon cross or touch", ring_name(a), ring_name(b))
            }
        };
        return Err(PlanError::SelfIntersectingZone { zone: label.to_string(), problem });
    }
    // No ring touches another, so one corner of a hole tells on which side of another ring it is.
    for (index, hole) in simple.iter().enumerate().skip(1) {
        if !inside_ring(hole[0], &simple[0]) {
            return Err(invalid(format!("hole {index} lies outside the outer ring")));
        }
        for (other_index, other) in simple.iter().enumerate().skip(1) {
            if other_index != index && inside_ring(hole[0], other) {
                return Err(invalid(format!("hole {index} lies inside hole {other_index}")));
            }
        }
    }
    let mut rings = checked.into_iter().map(LineString::new);
    let exterior = rings.next().unwrap_or_else(|| LineString::new(Vec::new()));
    Ok(Polygon::new(exterior, rings.collect()))
}

/// Even-odd test of a point against a closed ring (the point is known not to be on it).
fn inside_ring(p: Coord, ring: &[Coord]) -> bool {
    let mut inside = false;
    for edge in ring.windows(2) {
        let (a, b) = (edge[0], edge[1]);
        if (a.y > p.y) != (b.y > p.y) {
            let x = a.x + (p.y - a.y) / (b.y - a.y) * (b.x - a.x);
            if p.x < x {
                inside = !inside;
            }
        }
    }
    inside
}

#[derive(Debug, PartialEq)]
enum Crossing {
    /// Two edges of one ring (0 is the outer ring) meet where they should not.
    Itself { ring: usize, a: usize, b: usize },
    /// Two rings meet.
    Rings(usize, usize),
}

fn orient(p: Coord, q: Coord, r: Coord) -> Orientation {
    <RobustKernel as Kernel<f64>>::orient2d(p, q, r)
}

/// Whether `p`, collinear with segment `a`-`b`, lies within its bounding box.
fn on_segment(a: Coord, b: Coord, p: Coord) -> bool {
    p.x >= a.x.min(b.x) && p.x <= a.x.max(b.x) && p.y >= a.y.min(b.y) && p.y <= a.y.max(b.y)
}

/// Whether two closed segments share any point (exact orientation tests).
fn segments_meet(a: Coord, b: Coord, c: Coord, d: Coord) -> bool {
    let (o1, o2, o3, o4) = (orient(a, b, c), orient(a, b, d), orient(c, d, a), orient(c, d, b));
    if o1 != o2 && o3 != o4 {
        return true;
    }
    (o1 == Orientation::Collinear && on_segment(a, b, c))
        || (o2 == Orientation::Collinear && on_segment(a, b, d))
        || (o3 == Orientation::Collinear && on_segment(c, d, a))
        || (o4 == Orientation::Collinear && on_segment(c, d, b))
}

struct Edge {
    ring: usize,
    index: usize,
    a: Coord,
    b: Coord,
    min_x: f64,
    max_x: f64,
    min_y: f64,
    max_y: f64,
}

/// The first place where the rings (closed, without repeated consecutive points, each with at
/// least 3 edges) meet themselves or each other: non-adjacent edges of a ring that share a point,
/// adjacent edges that fold back over each other, or edges of two rings that share a point.
fn find_crossing(rings: &[Vec<Coord>]) -> Option<Crossing> {
    // Adjacent edges share their corner; they must not run back along each other (a spike).
    for (r, ring) in rings.iter().enumerate() {
        let edges = ring.len() - 1;
        for i in 0..edges {
            let (a, b, c) = (ring[i], ring[i + 1], ring[(i + 2) % edges]);
            let back = (a.x - b.x) * (c.x - b.x) + (a.y - b.y) * (c.y - b.y);
            if orient(a, b, c) == Orientation::Collinear && back > 0.0 {
                return Some(Crossing::Itself { ring: r, a: i, b: (i + 1) % edges });
            }
        }
    }
    let mut edges: Vec<Edge> = rings
        .iter()
        .enumerate()
        .flat_map(|(ring, coords)| {
            coords.windows(2).enumerate().map(move |(index, w)| Edge {
                ring,
                index,
                a: w[0],
                b: w[1],
                min_x: w[0].x.min(w[1].x),
                max_x: w[0].x.max(w[1].x),
                min_y: w[0].y.min(w[1].y),
                max_y: w[0].y.max(w[1].y),
            })
        })
        .collect();
    edges.sort_by(|p, q| p.min_x.total_cmp(&q.min_x));
    let ring_edges: Vec<usize> = rings.iter().map(|ring| ring.len() - 1).collect();
    let adjacent = |p: &Edge, q: &Edge| {
        let n = ring_edges[p.ring];
        p.ring == q.ring && (p.index.abs_diff(q.index) == 1 || p.index.abs_diff(q.index) == n - 1)
    };
    // Sweep along x: only edges whose x ranges overlap are compared.
    let mut active: Vec<usize> = Vec::new();
    for (i, edge) in edges.iter().enumerate() {
        active.retain(|&j| edges[j].max_x >= edge.min_x);
        for &j in &active {
            let other = &edges[j];
            if other.max_y < edge.min_y || other.min_y > edge.max_y || adjacent(edge, other) {
                continue;
            }
            if segments_meet(edge.a, edge.b, other.a, other.b) {
                return Some(if edge.ring == other.ring {
                    Crossing::Itself {
                        ring: edge.ring,
                        a: edge.index.min(other.index),
                        b: edge.index.max(other.index),
                    }
                } else {
                    Crossing::Rings(edge.ring.min(other.ring), edge.ring.max(other.ring))
                });
            }
        }
        active.push(i);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(points: &[(f64, f64)]) -> Vec<Coord> {
        points.iter().map(|&(x, y)| Coord { x, y }).collect()
    }

    #[test]
    fn segments_meet_covers_crossing_touching_collinear_and_apart() {
        let c = |x: f64, y: f64| Coord { x, y };
        assert!(segments_meet(c(0., 0.), c(2., 2.), c(0., 2.), c(2., 0.)));
        assert!(segments_meet(c(0., 0.), c(2., 0.), c(1., 0.), c(1., 5.)));
        assert!(segments_meet(c(0., 0.), c(2., 0.), c(1., 0.), c(3., 0.)));
        assert!(segments_meet(c(0., 0.), c(2., 0.), c(2., 0.), c(3., 1.)));
        assert!(!segments_meet(c(0., 0.), c(2., 0.), c(3., 0.), c(4., 0.)));
        assert!(!segments_meet(c(0., 0.), c(2., 0.), c(0., 1.), c(2., 1.)));
        assert!(!segments_meet(c(0., 0.), c(2., 0.), c(1., 1.), c(1., 3.)));
    }

    #[test]
    fn bow_tie_spike_and_figure_eight_are_found_concave_is_not() {
        let bow_tie = ring(&[(0., 0.), (2., 2.), (2., 0.), (0., 2.), (0., 0.)]);
        assert_eq!(find_crossing(&[bow_tie]), Some(Crossing::Itself { ring: 0, a: 0, b: 2 }));
        let spike = ring(&[(0., 0.), (2., 0.), (3., 0.), (1., 0.), (1., 2.), (0., 0.)]);
        assert!(find_crossing(&[spike]).is_some());
        let figure_eight = ring(&[(0., 0.), (1., 1.), (2., 0.), (2., 2.), (1., 1.), (0., 2.), (0., 0.)]);
        assert!(find_crossing(&[figure_eight]).is_some());
        let concave = ring(&[(0., 0.), (4., 0.), (4., 4.), (2., 1.), (0., 4.), (0., 0.)]);
        assert_eq!(find_crossing(&[concave]), None);
        let triangle = ring(&[(0., 0.), (1., 0.), (0., 1.), (0., 0.)]);
        assert_eq!(find_crossing(&[triangle]), None);
    }

    #[test]
    fn rings_that_meet_are_found() {
        let outer = ring(&[(0., 0.), (10., 0.), (10., 10.), (0., 10.), (0., 0.)]);
        let hole = ring(&[(2., 2.), (4., 2.), (4., 4.), (2., 4.), (2., 2.)]);
        assert_eq!(find_crossing(&[outer.clone(), hole.clone()]), None);
        let crossing_hole = ring(&[(8., 8.), (12., 8.), (12., 9.), (8., 9.), (8., 8.)]);
        assert_eq!(find_crossing(&[outer, hole, crossing_hole]), Some(Crossing::Rings(0, 2)));
    }
}
