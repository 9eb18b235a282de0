//! Fast planar distances near a point, for the per-position hot path.
//!
//! Around a latitude the ellipsoid is, to first order, a plane with `M` metres per radian of
//! latitude (meridional radius of curvature) and `N cos φ` metres per radian of longitude. For
//! the distances the rules care about (a corridor of metres to kilometres) this agrees with the
//! geodesic distance of [`crate::geometry`] to about 0.05 % (tested against it), without its
//! iterations (the cost of each is measured by `cargo bench -p convoy-alerts --bench geofence`);
//! the geodesic functions stay the reference.

const WGS84_A: f64 = 6_378_137.0;
/// First eccentricity squared of WGS 84.
const WGS84_E2: f64 = 6.694_379_990_141_317e-3;

/// Metres per degree of latitude and of longitude around one latitude.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct LocalScale {
    pub m_per_deg_lat: f64,
    pub m_per_deg_lon: f64,
}

impl LocalScale {
    pub fn at(lat_deg: f64) -> Self {
        let (sin, cos) = lat_deg.to_radians().sin_cos();
        let w2 = 1.0 - WGS84_E2 * sin * sin;
        let w = w2.sqrt();
        let prime_vertical = WGS84_A / w;
        let meridional = WGS84_A * (1.0 - WGS84_E2) / (w2 * w);
        LocalScale {
            m_per_deg_lat: meridional.to_radians(),
            m_per_deg_lon: (prime_vertical * cos).to_radians(),
        }
    }

    /// `(east, north)` metres of `(lon, lat)` from `(lon0, lat0)`.
    #[inline]
    pub fn offset(&self, lon0: f64, lat0: f64, lon: f64, lat: f64) -> (f64, f64) {
        (wrap_lon(lon - lon0) * self.m_per_deg_lon, (lat - lat0) * self.m_per_deg_lat)
    }
}

/// A longitude difference brought into [-180, 180), so the antimeridian is no edge.
#[inline]
pub(crate) fn wrap_lon(delta: f64) -> f64 {
    if (-180.0..180.0).contains(&delta) {
        delta
    } else {
        (delta + 180.0).rem_euclid(360.0) - 180.0
    }
}

/// Distance from the origin to the segment `a`-`b` (planar metres), and where along the segment
/// (0 at `a`, 1 at `b`) the nearest point is.
#[inline]
pub(crate) fn origin_to_segment(a: (f64, f64), b: (f64, f64)) -> (f64, f64) {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let length2 = dx * dx + dy * dy;
    let fraction = if length2 > 0.0 { (-(a.0 * dx + a.1 * dy) / length2).clamp(0.0, 1.0) } else { 0.0 };
    let (x, y) = (a.0 + fraction * dx, a.1 + fraction * dy);
    ((x * x + y * y).sqrt(), fraction)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::{distance_m, distance_to_segment_m};
    use geo::Point;
    use proptest::prelude::*;

    fn local_segment_distance(p: Point, a: Point, b: Point) -> f64 {
        let scale = LocalScale::at(p.y());
        origin_to_segment(scale.offset(p.x(), p.y(), a.x(), a.y()), scale.offset(p.x(), p.y(), b.x(), b.y()))
            .0
    }

    proptest! {
        /// Against the geodesic reference: a point up to ~5 km from a segment of up to ~2 km,
        /// anywhere between 70° S and 70° N, including across the antimeridian.
        #[test]
        fn agrees_with_the_geodesic_distance(
            lat in -70.0f64..70.0, lon in -180.0f64..180.0,
            dx in -0.02f64..0.02, dy in -0.015f64..0.015,
            px in -0.05f64..0.05, py in -0.04f64..0.04,
        ) {
            let a = Point::new(lon, lat);
            let b = Point::new(lon + dx, lat + dy);
            let p = Point::new(lon + px, lat + py);
            let reference = distance_to_segment_m(p, a, b);
            let fast = local_segment_distance(p, a, b);
            // The segment is straight in the plane; the geodesic one bulges poleward by about
            // L² tan φ / 8R (15 cm for 2.2 km at 58°).
            let length = distance_m(a, b);
            let bulge = length * length * lat.to_radians().tan().abs() / (8.0 * 6_371_000.0);
            prop_assert!((fast - reference).abs() <= reference * 1e-3 + bulge + 0.05,
                "fast {fast} vs geodesic {reference}");
        }
    }

    proptest! {
        #[test]
        fn short_distances_agree_with_the_geodesic(
            lat in -75.0f64..75.0, lon in -180.0f64..180.0, dx in -0.2f64..0.2, dy in -0.2f64..0.2,
        ) {
            let (a, b) = (Point::new(lon, lat), Point::new(lon + dx, lat + dy));
            let reference = distance_m(a, b);
            let fast = crate::geometry::short_distance_m(a, b);
            prop_assert!((fast - reference).abs() <= reference * 5e-4 + 0.01, "{fast} vs {reference}");
        }
    }

    #[test]
    fn point_distances_match_the_geodesic_near_the_equator_and_the_poles() {
        for lat in [0.0, 45.0, 60.0, -75.0] {
            let p = Point::new(179.999, lat);
            let q = Point::new(-179.998, lat + 0.004);
            let scale = LocalScale::at(lat);
            let (x, y) = scale.offset(p.x(), p.y(), q.x(), q.y());
            let reference = distance_m(p, q);
            assert!(((x * x + y * y).sqrt() - reference).abs() < reference * 1e-3, "lat {lat}");
        }
    }
}
