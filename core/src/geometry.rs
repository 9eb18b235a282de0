//! Geometry on the WGS84 ellipsoid: how far a position is from the planned route, and whether
//! it is inside a zone.
//!
//! # Units
//! Coordinates are degrees (`x` = longitude, `y` = latitude, as in `geo`); distances are metres.
//!
//! # Accuracy
//! Distances are geodesic (Karney's algorithms through `geographiclib-rs`), so they hold to
//! millimetres on segments of any length and at any latitude, where a spherical formula is off
//! by up to 0.5 % (500 m on a 100 km segment). The route is taken as a chain of geodesics
//! between its vertices.
//!
//! # References
//! - C. F. F. Karney, *Algorithms for geodesics*, J. Geodesy 87 (2013).
//! - S. Baselga, J. C. Martínez-Llario, *Intersection and point-to-line solutions for geodesics
//!   on the ellipsoid*, Stud. Geophys. Geod. 62 (2018): the iteration of [`distance_to_segment_m`].

use geo::{Contains, Coord, Intersects, LineString, Point, Polygon};
use geographiclib_rs::{DirectGeodesic, Geodesic, InverseGeodesic};

/// Mean Earth radius in metres, used only to turn arc lengths into along-track steps.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

fn wgs84() -> &'static Geodesic {
    static WGS84: std::sync::OnceLock<Geodesic> = std::sync::OnceLock::new();
    WGS84.get_or_init(Geodesic::wgs84)
}

/// Geodesic distance between two points, in metres.
pub fn distance_m(a: Point, b: Point) -> f64 {
    InverseGeodesic::<f64>::inverse(wgs84(), a.y(), a.x(), b.y(), b.x())
}

/// Distance in metres between two nearby points, on the local plane at their mid-latitude (see
/// `local_frame.rs`): within 0.05 % of [`distance_m`] up to tens of kilometres, without its
/// iterations (both are timed by `cargo bench -p convoy-alerts --bench geofence`). For the
/// per-position hot path (speeds between consecutive fixes, a stop's radius); [`distance_m`]
/// stays the reference.
pub fn short_distance_m(a: Point, b: Point) -> f64 {
    let scale = crate::local_frame::LocalScale::at((a.y() + b.y()) / 2.0);
    let (east, north) = scale.offset(a.x(), a.y(), b.x(), b.y());
    (east * east + north * north).sqrt()
}

/// Shortest geodesic distance in metres from `p` to the geodesic segment from `a` to `b`.
///
/// Walks along the segment to the foot of the perpendicular: at the current foot `x`, the
/// direction to `p` makes an angle `α` with the segment, and the spherical along-track step
/// `atan(cos α · tan(d / R)) · R` moves `x` towards the true foot; a few steps reach it to
/// well under a millimetre. The foot is kept within the segment, so beyond its ends the
/// distance is to the nearer end.
///
/// # Examples
/// ```
/// use convoy_core::geometry::distance_to_segment_m;
/// use geo::Point;
/// // A point on the equator, 0.01° north of a segment along it: 1105.743 m on WGS84.
/// let d = distance_to_segment_m(Point::new(0.5, 0.01), Point::new(0.0, 0.0), Point::new(1.0, 0.0));
/// assert!((d - 1105.743).abs() < 0.001);
/// ```
pub fn distance_to_segment_m(p: Point, a: Point, b: Point) -> f64 {
    let g = wgs84();
    let (length, azi_a, _, _): (f64, f64, f64, f64) = g.inverse(a.y(), a.x(), b.y(), b.x());
    let (d_ap, azi_ap, _, _): (f64, f64, f64, f64) = g.inverse(a.y(), a.x(), p.y(), p.x());
    if length < 1e-3 || d_ap == 0.0 {
        return d_ap;
    }
    let mut s = along_track_step(d_ap, azi_ap - azi_a).clamp(0.0, length);
    let mut distance = d_ap;
    for _ in 0..50 {
        let (lat_x, lon_x, azi_x): (f64, f64, f64) = g.direct(a.y(), a.x(), azi_a, s);
        let (d_xp, azi_xp, _, _): (f64, f64, f64, f64) = g.inverse(lat_x, lon_x, p.y(), p.x());
        distance = d_xp;
        if d_xp < 1e-9 {
            break;
        }
        let next = (s + along_track_step(d_xp, azi_xp - azi_x)).clamp(0.0, length);
        if (next - s).abs() < 1e-5 {
            break;
        }
        s = next;
    }
    distance.min(d_ap)
}

/// The along-track distance of a point `d` metres away at angle `angle_deg` from the track.
fn along_track_step(d: f64, angle_deg: f64) -> f64 {
    let arc = d / EARTH_RADIUS_M;
    if arc >= std::f64::consts::FRAC_PI_2 {
        // Farther than a quarter of the globe: step to the nearer end and let the clamp decide.
        return d * angle_deg.to_radians().cos();
    }
    (angle_deg.to_radians().cos() * arc.tan()).atan() * EARTH_RADIUS_M
}

/// Shortest distance in metres from `p` to a route polyline; `None` for an empty route.
///
/// Segments that cannot be nearer than the best so far are skipped with a cheap bound: by the
/// triangle inequality a segment of length `l` with ends `d_a` and `d_b` away is at least
/// `(d_a + d_b - l) / 2` away.
pub fn distance_to_route_m(p: Point, route: &LineString) -> Option<f64> {
    let mut coords = route.coords();
    let first = Point::from(*coords.next()?);
    let mut best = distance_m(p, first);
    let mut prev = first;
    let mut d_prev = best;
    for c in coords {
        let next = Point::from(*c);
        let d_next = distance_m(p, next);
        let length = distance_m(prev, next);
        let lower_bound = (d_prev + d_next - length) / 2.0;
        if lower_bound < best {
            best = best.min(distance_to_segment_m(p, prev, next));
        }
        // A segment is never farther than its ends (where the iteration is ill-conditioned,
        // near-antipodal, its ends still bound it).
        best = best.min(d_next);
        prev = next;
        d_prev = d_next;
    }
    Some(best)
}

/// The point `distance` metres along the geodesic from `a` towards `b` (beyond `b` if longer).
pub fn point_along(a: Point, b: Point, distance: f64) -> Point {
    let g = wgs84();
    let (azi, _, _): (f64, f64, f64) = g.inverse(a.y(), a.x(), b.y(), b.x());
    let (lat, lon): (f64, f64) = g.direct(a.y(), a.x(), azi, distance);
    Point::new(lon, lat)
}

/// Whether `p` is within `radius_m` metres of `center` (boundary included).
pub fn in_circle(p: Point, center: Point, radius_m: f64) -> bool {
    distance_m(p, center) <= radius_m
}

/// Whether `p` is inside `polygon` or on its boundary. Zones are small (a depot, a district),
/// so their edges are taken as straight in longitude and latitude.
pub fn in_polygon(p: Point, polygon: &Polygon) -> bool {
    polygon.contains(&p) || polygon.exterior().intersects(&Coord::from(p))
}

#[cfg(test)]
mod tests;
