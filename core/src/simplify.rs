//! Track simplification for display: Douglas-Peucker with a tolerance in metres.
//!
//! geo's Douglas-Peucker works in the units of its coordinates, so the track is first projected
//! to local metres (equirectangular about the track's mean latitude). Over the extent of one
//! track the projection's scale error stays well under the tolerances used for display; the
//! kept fixes are the original ones, untouched.

use geo::{Coord, LineString, SimplifyIdx};

use crate::Position;

/// Metres per degree of latitude (mean Earth radius 6,371,008.8 m).
const METRES_PER_DEGREE: f64 = 6_371_008.8 * std::f64::consts::PI / 180.0;

/// The indices of the fixes to keep so that no dropped fix is farther than `tolerance_m` from
/// the simplified line. The first and last fix are always kept. A tolerance that is not a
/// positive number keeps every fix.
pub fn simplify_indices(track: &[Position], tolerance_m: f64) -> Vec<usize> {
    if track.len() < 3 || !(tolerance_m > 0.0 && tolerance_m.is_finite()) {
        return (0..track.len()).collect();
    }
    let mean_lat = track.iter().map(|p| p.lat).sum::<f64>() / track.len() as f64;
    let x_scale = METRES_PER_DEGREE * mean_lat.to_radians().cos();
    let origin_lon = track[0].lon;
    let line: LineString<f64> = track
        .iter()
        .map(|p| Coord { x: unwrap_lon(p.lon - origin_lon) * x_scale, y: p.lat * METRES_PER_DEGREE })
        .collect();
    line.simplify_idx(tolerance_m)
}

/// A longitude difference folded into [-180, 180), so a track across the antimeridian stays
/// continuous.
fn unwrap_lon(delta: f64) -> f64 {
    (delta + 180.0).rem_euclid(360.0) - 180.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn at(seq: u64, lat: f64, lon: f64) -> Position {
        let t = Utc.with_ymd_and_hms(2026, 11, 28, 9, 0, 0).unwrap() + chrono::Duration::seconds(seq as i64);
        Position::bare(seq, t, lat, lon)
    }

    #[test]
    fn a_straight_line_keeps_its_ends() {
        let track: Vec<_> = (0..100).map(|i| at(i, 48.0 + i as f64 * 1e-4, 11.0)).collect();
        assert_eq!(simplify_indices(&track, 1.0), vec![0, 99]);
    }

    #[test]
    fn a_corner_bigger_than_the_tolerance_is_kept() {
        // East 1 km, then north 1 km: the corner is ~700 m off the end-to-end line.
        let mut track: Vec<_> = (0..=10).map(|i| at(i, 48.0, 11.0 + i as f64 * 0.00134)).collect();
        track.extend((1..=10).map(|i| at(10 + i, 48.0 + i as f64 * 0.0009, 11.0134)));
        assert_eq!(simplify_indices(&track, 5.0), vec![0, 10, 20]);
    }

    #[test]
    fn a_wiggle_smaller_than_the_tolerance_goes_and_a_bigger_one_stays() {
        // A 3 m sideways wiggle (about 0.000027 degrees of latitude) in an eastward line.
        let track: Vec<_> = (0..=20)
            .map(|i| at(i, 48.0 + if i == 10 { 0.000027 } else { 0.0 }, 11.0 + i as f64 * 0.0001))
            .collect();
        assert_eq!(simplify_indices(&track, 5.0), vec![0, 20]);
        assert!(simplify_indices(&track, 2.0).contains(&10));
    }

    #[test]
    fn across_the_antimeridian_the_line_stays_straight() {
        let track: Vec<_> = (0..=10)
            .map(|i| {
                let lon = 179.995 + i as f64 * 0.001;
                at(i, -17.0, if lon >= 180.0 { lon - 360.0 } else { lon })
            })
            .collect();
        assert_eq!(simplify_indices(&track, 1.0), vec![0, 10]);
    }

    #[test]
    fn no_tolerance_keeps_everything() {
        let track: Vec<_> = (0..5).map(|i| at(i, 48.0, 11.0)).collect();
        for tolerance in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert_eq!(simplify_indices(&track, tolerance), vec![0, 1, 2, 3, 4]);
        }
    }
}
