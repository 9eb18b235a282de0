use super::*;
use geo::{line_string, polygon};
use proptest::prelude::*;

/// Reference distances from a point to a geodesic segment, computed once with geographiclib
/// 2.x (Python) by a different method: dense sampling of the geodesic line from A to B,
/// refined by golden-section search (the script is in docs/geometry-reference.md).
/// Columns: name, P (lat, lon), A (lat, lon), B (lat, lon), distance in metres.
type LatLon = (f64, f64);

#[rustfmt::skip]
const SEGMENT_REFERENCES: &[(&str, LatLon, LatLon, LatLon, f64)] = &[
    ("equator, 100 km segment, 1 km off the middle", (0.009, 0.45), (0.0, 0.0), (0.0, 0.898315), 995.1685),
    ("Munich, 1 km segment, a point beside it", (48.1375, 11.582), (48.1371, 11.5761), (48.138, 11.5895), 0.3911),
    ("Svalbard 78N, 102 km east-west, the geodesic bulges north", (78.0, 15.0), (78.0, 12.8), (78.0, 17.2), 959.1864),
    ("70N, 100 km north-south, 2 km east", (70.45, 25.055), (70.0, 25.0), (70.898, 25.0), 2054.9090),
    ("60N, 120 km diagonal, 55 km off", (60.6, 10.0), (60.0, 10.0), (60.6, 11.8), 54981.9844),
    ("beyond the end of the segment: distance to the end", (48.2, 11.7), (48.1, 11.5), (48.15, 11.6), 9285.6317),
    ("across the antimeridian at 60S", (-60.01, 179.99), (-60.0, 179.5), (-60.0, -179.5), 1008.7385),
    ("89N near the pole, 58 km", (89.2, 60.0), (89.0, 0.0), (89.0, 30.0), 56329.9379),
    ("southern hemisphere 35S, 76 km, 2.7 km off", (-34.9, 138.6), (-34.8, 138.5), (-35.4, 138.9), 2711.1973),
];

fn pt((lat, lon): LatLon) -> Point {
    Point::new(lon, lat)
}

#[test]
fn segment_distance_matches_geodesic_references_to_half_a_metre() {
    for &(name, p, a, b, expected) in SEGMENT_REFERENCES {
        let d = distance_to_segment_m(pt(p), pt(a), pt(b));
        assert!((d - expected).abs() < 0.5, "{name}: got {d:.4} m, expected {expected:.4} m");
        // Direction does not matter.
        let reverse = distance_to_segment_m(pt(p), pt(b), pt(a));
        assert!((reverse - expected).abs() < 0.5, "{name} reversed: got {reverse:.4} m");
    }
}

#[test]
fn segment_distance_is_in_fact_within_a_centimetre() {
    // The promise is 0.5 m; the method does far better, and a regression would show here first.
    for &(name, p, a, b, expected) in SEGMENT_REFERENCES {
        let d = distance_to_segment_m(pt(p), pt(a), pt(b));
        assert!((d - expected).abs() < 0.01, "{name}: got {d:.4} m, expected {expected:.4} m");
    }
}

#[test]
fn route_distance_is_the_nearest_segment() {
    // An L-shaped route in Munich: the point is near the second leg only.
    let route = line_string![
        (x: 11.5761, y: 48.1371),
        (x: 11.5895, y: 48.1380),
        (x: 11.5900, y: 48.1500),
    ];
    let p = Point::new(11.5905, 48.1450);
    let expected = distance_to_segment_m(p, Point::new(11.5895, 48.1380), Point::new(11.5900, 48.1500));
    assert_eq!(distance_to_route_m(p, &route), Some(expected));
    assert!(expected > 20.0 && expected < 60.0, "{expected}");
}

#[test]
fn empty_route_has_no_distance_and_a_single_point_route_is_a_point() {
    assert_eq!(distance_to_route_m(Point::new(0.0, 0.0), &LineString::new(vec![])), None);
    let single = line_string![(x: 0.0, y: 0.0)];
    let d = distance_to_route_m(Point::new(0.0, 0.01), &single).unwrap();
    assert!((d - 1105.7428).abs() < 1e-3, "{d}");
}

#[test]
fn circle_contains_its_inside_and_boundary_only() {
    let center = Point::new(11.5761, 48.1371);
    let east_100m = point_along(center, Point::new(11.6, 48.1371), 100.0);
    assert!(in_circle(east_100m, center, 100.001));
    assert!(!in_circle(east_100m, center, 99.999));
    assert!(in_circle(center, center, 0.0));
}

#[test]
fn polygon_contains_inside_and_boundary_not_outside() {
    let depot = polygon![
        (x: 11.0, y: 48.0),
        (x: 11.01, y: 48.0),
        (x: 11.01, y: 48.01),
        (x: 11.0, y: 48.01),
    ];
    assert!(in_polygon(Point::new(11.005, 48.005), &depot));
    assert!(in_polygon(Point::new(11.0, 48.005), &depot), "a point on an edge is inside");
    assert!(in_polygon(Point::new(11.0, 48.0), &depot), "a vertex is inside");
    assert!(!in_polygon(Point::new(11.02, 48.005), &depot));
    // A polygon with a hole: the hole is outside.
    let ring = geo::Polygon::new(
        depot.exterior().clone(),
        vec![
            line_string![(x: 11.004, y: 48.004), (x: 11.006, y: 48.004), (x: 11.006, y: 48.006), (x: 11.004, y: 48.006), (x: 11.004, y: 48.004)],
        ],
    );
    assert!(!in_polygon(Point::new(11.005, 48.005), &ring));
    assert!(in_polygon(Point::new(11.002, 48.002), &ring));
}

fn coordinate() -> impl Strategy<Value = Point> {
    (-179.9f64..179.9, -85.0f64..85.0).prop_map(|(lon, lat)| Point::new(lon, lat))
}

/// A route of 2 to 6 vertices, each step 10 m to 100 km from the last.
fn route() -> impl Strategy<Value = LineString> {
    (coordinate(), proptest::collection::vec((0.0f64..360.0, 10.0f64..100_000.0), 1..6)).prop_map(
        |(start, steps)| {
            let mut points = vec![start];
            for (azimuth, length) in steps {
                let last = *points.last().unwrap();
                let (lat, lon): (f64, f64) = wgs84().direct(last.y(), last.x(), azimuth, length);
                points.push(Point::new(lon, lat));
            }
            LineString::from(points)
        },
    )
}

proptest! {
    #[test]
    fn distance_is_never_negative(p in coordinate(), r in route()) {
        let d = distance_to_route_m(p, &r).unwrap();
        prop_assert!(d >= 0.0 && d.is_finite(), "{}", d);
    }

    #[test]
    fn a_point_on_the_route_is_at_distance_zero(r in route(), segment in 0usize..6, fraction in 0.0f64..=1.0) {
        let segments: Vec<_> = r.lines().collect();
        let line = segments[segment % segments.len()];
        let (a, b) = (Point::from(line.start), Point::from(line.end));
        let on_route = point_along(a, b, fraction * distance_m(a, b));
        let d = distance_to_route_m(on_route, &r).unwrap();
        prop_assert!(d < 1e-3, "a point on the route is {} m from it", d);
    }

    #[test]
    fn route_distance_is_never_more_than_to_any_vertex(p in coordinate(), r in route()) {
        let d = distance_to_route_m(p, &r).unwrap();
        for c in r.coords() {
            prop_assert!(d <= distance_m(p, Point::from(*c)) + 1e-6);
        }
    }
}
