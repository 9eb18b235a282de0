//! GCJ-02, the coordinate system China requires of its maps (AMap/Gaode, Tencent): WGS-84 with
//! an obfuscating shift of 100-700 m. Convoy keeps, judges and exports WGS-84 only; GCJ-02 is
//! for drawing on such tiles (the page shifts what it draws, `gateway/web/js/gcj02.js`, the
//! same arithmetic) and for reading a plan drawn on them (converted to WGS-84 on input).
//!
//! The transform is the one every public implementation uses (Krasovsky 1940's ellipsoid and the
//! published polynomial-and-sine series); outside the rectangle it defines for China it is the
//! identity. The inverse has no closed form: it is found by fixed-point iteration, to well under
//! a millimetre.

use std::f64::consts::PI;

/// Krasovsky 1940: semi-major axis and first eccentricity squared, as the transform defines them.
const A: f64 = 6_378_245.0;
const EE: f64 = 0.006_693_421_622_965_943;

/// Whether the transform leaves a point alone: outside the rectangle the algorithm defines for
/// China (it shifts Mongolia's south and Korea's west too, as every map in GCJ-02 does).
pub fn out_of_china(lat: f64, lon: f64) -> bool {
    !(72.004..=137.8347).contains(&lon) || !(0.8293..=55.8271).contains(&lat)
}

/// The GCJ-02 coordinates of a WGS-84 point, `(lat, lon)` in degrees.
pub fn wgs84_to_gcj02(lat: f64, lon: f64) -> (f64, f64) {
    if out_of_china(lat, lon) || !lat.is_finite() || !lon.is_finite() {
        return (lat, lon);
    }
    let (dlat, dlon) = shift(lat, lon);
    (lat + dlat, lon + dlon)
}

/// The WGS-84 point whose GCJ-02 coordinates are `(lat, lon)`, in degrees.
pub fn gcj02_to_wgs84(lat: f64, lon: f64) -> (f64, f64) {
    if out_of_china(lat, lon) || !lat.is_finite() || !lon.is_finite() {
        return (lat, lon);
    }
    // The shift changes slowly with position: start from the shift at the GCJ-02 point and
    // correct by what the forward transform misses; each step gains about three digits.
    let (mut wlat, mut wlon) = {
        let (dlat, dlon) = shift(lat, lon);
        (lat - dlat, lon - dlon)
    };
    for _ in 0..10 {
        let (glat, glon) = wgs84_to_gcj02(wlat, wlon);
        let (elat, elon) = (glat - lat, glon - lon);
        wlat -= elat;
        wlon -= elon;
        if elat.abs() < 1e-10 && elon.abs() < 1e-10 {
            break;
        }
    }
    (wlat, wlon)
}

/// The shift GCJ-02 adds at a WGS-84 point, in degrees of latitude and longitude.
fn shift(lat: f64, lon: f64) -> (f64, f64) {
    let (x, y) = (lon - 105.0, lat - 35.0);
    let rad_lat = lat / 180.0 * PI;
    let magic = 1.0 - EE * rad_lat.sin().powi(2);
    let sqrt_magic = magic.sqrt();
    let dlat = lat_series(x, y) * 180.0 / ((A * (1.0 - EE)) / (magic * sqrt_magic) * PI);
    let dlon = lon_series(x, y) * 180.0 / (A / sqrt_magic * rad_lat.cos() * PI);
    (dlat, dlon)
}

fn lat_series(x: f64, y: f64) -> f64 {
    -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * x.abs().sqrt()
        + (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0
        + (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0
        + (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0
}

fn lon_series(x: f64, y: f64) -> f64 {
    300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * x.abs().sqrt()
        + (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0
        + (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0
        + (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::distance_m;
    use geo::Point;
    use proptest::prelude::*;

    /// WGS-84 → GCJ-02 pairs published with eviltransform (googollee/eviltransform's tests:
    /// Shanghai, Shenzhen, Beijing) and gcoord (hujiulong/gcoord: GCJ-02 (45, 123)).
    const PUBLISHED: [((f64, f64), (f64, f64)); 4] = [
        ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),
        ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),
        ((39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),
        ((44.99804071, 122.99395597), (45.0, 123.0)),
    ];

    fn metres(a: (f64, f64), b: (f64, f64)) -> f64 {
        distance_m(Point::new(a.1, a.0), Point::new(b.1, b.0))
    }

    #[test]
    fn the_published_pairs_are_matched_both_ways() {
        for (wgs, gcj) in PUBLISHED {
            let forward = wgs84_to_gcj02(wgs.0, wgs.1);
            assert!(metres(forward, gcj) < 0.05, "{wgs:?} → {forward:?}, published {gcj:?}");
            let back = gcj02_to_wgs84(gcj.0, gcj.1);
            assert!(metres(back, wgs) < 0.05, "{gcj:?} → {back:?}, published {wgs:?}");
            // The shift is what makes WGS-84 look wrong on these maps: hundreds of metres.
            assert!((100.0..800.0).contains(&metres(wgs, gcj)), "{wgs:?}: {} m", metres(wgs, gcj));
        }
    }

    #[test]
    fn outside_china_nothing_moves() {
        for (lat, lon) in
            [(48.137, 11.575), (42.5063, 1.5218), (43.7384, 7.4246), (-33.86, 151.2), (1.29, 103.85 - 40.0)]
        {
            assert_eq!(wgs84_to_gcj02(lat, lon), (lat, lon));
            assert_eq!(gcj02_to_wgs84(lat, lon), (lat, lon));
        }
        assert!(out_of_china(56.0, 120.0) && out_of_china(30.0, 71.0) && !out_of_china(30.0, 110.0));
    }

    proptest! {
        /// Anywhere in the rectangle, there and back is the same place to under a metre (to
        /// about a millimetre in fact).
        #[test]
        fn the_round_trip_is_under_a_metre(lat in 0.83f64..55.82, lon in 72.01f64..137.83) {
            let gcj = wgs84_to_gcj02(lat, lon);
            let back = gcj02_to_wgs84(gcj.0, gcj.1);
            prop_assert!(metres(back, (lat, lon)) < 0.01, "{:?} → {:?} → {:?}", (lat, lon), gcj, back);
        }

        #[test]
        fn any_number_is_taken_without_a_panic(lat in proptest::num::f64::ANY, lon in proptest::num::f64::ANY) {
            let _ = wgs84_to_gcj02(lat, lon);
            let _ = gcj02_to_wgs84(lat, lon);
        }
    }
}
