use super::*;
use crate::geometry::{distance_to_route_m, point_along};
use proptest::prelude::*;

fn route(points: &[(f64, f64)]) -> LineString {
    LineString::from(points.to_vec())
}

/// Drives along `path` in steps of `step_m`, matching each point with the previous match.
fn drive(index: &RouteIndex, path: &[(f64, f64)], step_m: f64, corridor_m: f64) -> Vec<RouteMatch> {
    let mut matches: Vec<RouteMatch> = Vec::new();
    for pair in path.windows(2) {
        let (a, b) = (Point::new(pair[0].0, pair[0].1), Point::new(pair[1].0, pair[1].1));
        let length = distance_m(a, b);
        let mut s = 0.0;
        while s < length {
            let p = point_along(a, b, s);
            let m = index.locate(p, matches.last(), corridor_m, 2.0 * step_m);
            matches.push(m);
            s += step_m;
        }
    }
    matches
}

#[test]
fn distance_and_progress_on_a_straight_route_match_the_geodesic() {
    let line = route(&[(11.0, 48.0), (11.1, 48.0)]);
    let index = RouteIndex::new(&line).unwrap();
    let a = Point::new(11.0, 48.0);
    // 300 m north of the point 2 km along.
    let along = point_along(a, Point::new(11.1, 48.0), 2000.0);
    let p = Point::new(along.x(), along.y() + 300.0 / 111_200.0);
    let m = index.locate(p, None, 150.0, 0.0);
    let reference = distance_to_route_m(p, &line).unwrap();
    // The 7.4 km segment's geodesic bulges about 1 m north of the straight one.
    assert!((m.distance_m - reference).abs() < 1.5, "{} vs {reference}", m.distance_m);
    assert!((m.progress_m - 2000.0).abs() < 3.0, "progress {}", m.progress_m);
    assert!((index.length_m() - distance_m(a, Point::new(11.1, 48.0))).abs() < 1e-6);
}

#[test]
fn progress_is_monotone_and_right_on_a_route_that_doubles_back() {
    // Out along a road and back the same way: both passes are at the same place.
    let out = [(11.0, 48.0), (11.01, 48.0), (11.02, 48.0)];
    let there_and_back = [out[0], out[1], out[2], out[1], out[0]];
    let index = RouteIndex::new(&route(&there_and_back)).unwrap();
    let matches = drive(&index, &there_and_back, 10.0, 50.0);
    for pair in matches.windows(2) {
        assert!(pair[1].progress_m >= pair[0].progress_m, "progress went back: {pair:?}");
        assert!(pair[1].progress_m - pair[0].progress_m < 30.0, "progress jumped: {pair:?}");
    }
    let last = matches.last().unwrap();
    assert!((last.progress_m - index.length_m()).abs() < 15.0, "{} of {}", last.progress_m, index.length_m());
    assert!(matches.iter().all(|m| m.distance_m < 0.5));
}

#[test]
fn progress_follows_the_pass_the_vehicle_is_on_where_the_route_crosses_itself() {
    // A loop that comes back over its start road: east, north, west, south, then east again
    // over the first leg.
    let path = [(11.0, 48.0), (11.02, 48.0), (11.02, 48.01), (11.01, 48.01), (11.01, 47.99), (11.03, 47.99)];
    let index = RouteIndex::new(&route(&path)).unwrap();
    let matches = drive(&index, &path, 10.0, 50.0);
    let lengths: Vec<f64> =
        path.windows(2).map(|p| distance_m(Point::new(p[0].0, p[0].1), Point::new(p[1].0, p[1].1))).collect();
    let expected_total: f64 = lengths.iter().sum();
    for pair in matches.windows(2) {
        assert!(pair[1].progress_m >= pair[0].progress_m);
        assert!(pair[1].progress_m - pair[0].progress_m < 30.0, "jumped to another pass: {pair:?}");
    }
    assert!((matches.last().unwrap().progress_m - expected_total).abs() < 15.0);
}

#[test]
fn a_vehicle_off_the_route_keeps_its_progress_and_gets_the_true_distance() {
    let line = route(&[(11.0, 48.0), (11.05, 48.0), (11.1, 48.0)]);
    let index = RouteIndex::new(&line).unwrap();
    let on = index.locate(Point::new(11.03, 48.0), None, 150.0, 0.0);
    let off_point = Point::new(11.035, 48.005); // about 556 m north
    let off = index.locate(off_point, Some(&on), 150.0, 100.0);
    assert_eq!(off.progress_m, on.progress_m);
    assert!((off.distance_m - distance_to_route_m(off_point, &line).unwrap()).abs() < 0.5);
}

#[test]
fn with_no_previous_match_a_point_on_a_finely_drawn_road_matches_where_it_is() {
    // A road drawn every 10 m: the match is the nearest point, not the first segment within
    // the corridor.
    let points: Vec<(f64, f64)> = (0..200).map(|i| (11.0 + i as f64 * 10.0 / 74_625.0, 48.0)).collect();
    let line = route(&points);
    let index = RouteIndex::new(&line).unwrap();
    let at_1000_m = Point::new(11.0 + 1000.0 / 74_625.0, 48.0 + 5.0 / 111_190.0);
    let m = index.locate(at_1000_m, None, 150.0, 0.0);
    assert!((m.distance_m - 5.0).abs() < 0.1, "{m:?}");
    assert!((m.progress_m - 1000.0).abs() < 1.0, "{m:?}");
}

#[test]
fn a_route_without_two_distinct_points_is_refused() {
    assert!(RouteIndex::new(&route(&[(11.0, 48.0)])).is_none());
    assert!(RouteIndex::new(&route(&[(11.0, 48.0), (11.0, 48.0)])).is_none());
}

proptest! {
    /// With no previous match, inside-or-outside and (outside) the distance agree with the
    /// brute-force geodesic distance over every segment.
    #[test]
    fn agrees_with_the_brute_force_geodesic_distance(
        steps in prop::collection::vec((-0.004f64..0.004, -0.003f64..0.003), 2..60),
        start_lon in -179.9f64..179.9, start_lat in -60.0f64..60.0,
        px in -0.05f64..0.05, py in -0.04f64..0.04,
        corridor in 10.0f64..2000.0,
    ) {
        let mut points = vec![(start_lon, start_lat)];
        for (dx, dy) in steps {
            let (x, y) = *points.last().unwrap();
            points.push((x + dx, y + dy));
        }
        let line = route(&points);
        prop_assume!(RouteIndex::new(&line).is_some());
        let index = RouteIndex::new(&line).unwrap();
        let p = Point::new(start_lon + px, start_lat + py);
        let reference = distance_to_route_m(p, &line).unwrap();
        let m = index.locate(p, None, corridor, 0.0);
        let tolerance = reference * 1e-3 + 0.05;
        if (reference - corridor).abs() > tolerance {
            prop_assert_eq!(m.distance_m <= corridor, reference <= corridor, "fast {} geodesic {}", m.distance_m, reference);
        }
        // Inside the corridor as outside it: the distance to the nearest point, or (where the
        // route passes by more than once) to an earlier pass at most a millimetre per
        // kilometre of route farther.
        let tie_allowance = 1e-6 * index.length_m();
        prop_assert!(
            m.distance_m >= reference - tolerance && m.distance_m <= reference + tie_allowance + tolerance,
            "fast {} geodesic {}", m.distance_m, reference
        );
    }
}
