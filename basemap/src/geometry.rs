//! The plane geometry of tiles: Web Mercator, clipping lines and rings to a tile (with a
//! buffer, so strokes cross tile edges without a seam), and Douglas-Peucker simplification.

use std::f64::consts::PI;

/// A point in the plane (Web Mercator units, or tile pixels).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

/// Longitude and latitude in Web Mercator, 0..1 across the world, y growing southwards.
pub fn mercator(lon: f64, lat: f64) -> Point {
    let sin = lat.to_radians().sin();
    Point { x: (lon + 180.0) / 360.0, y: 0.5 - ((1.0 + sin) / (1.0 - sin)).ln() / (4.0 * PI) }
}

/// The inverse of [`mercator`]: (longitude, latitude).
pub fn lon_lat(p: Point) -> (f64, f64) {
    let lat = (PI * (1.0 - 2.0 * p.y)).sinh().atan().to_degrees();
    (p.x * 360.0 - 180.0, lat)
}

/// An axis-aligned rectangle: (min x, min y, max x, max y).
#[derive(Clone, Copy, Debug)]
pub struct Rect {
    pub min: Point,
    pub max: Point,
}

/// The parts of a line inside `rect` (Liang-Barsky per segment, joined where they touch).
pub fn clip_line(points: &[Point], rect: Rect) -> Vec<Vec<Point>> {
    let mut parts: Vec<Vec<Point>> = Vec::new();
    let mut current: Vec<Point> = Vec::new();
    for pair in points.windows(2) {
        match clip_segment(pair[0], pair[1], rect) {
            Some((a, b)) => {
                if current.last() != Some(&a) {
                    if current.len() >= 2 {
                        parts.push(std::mem::take(&mut current));
                    }
                    current.clear();
                    current.push(a);
                }
                current.push(b);
                // The segment left the rectangle: the part ends here.
                if b != pair[1] {
                    parts.push(std::mem::take(&mut current));
                }
            }
            None => {
                if current.len() >= 2 {
                    parts.push(std::mem::take(&mut current));
                }
                current.clear();
            }
        }
    }
    if current.len() >= 2 {
        parts.push(current);
    }
    parts.retain(|p| p.len() >= 2);
    parts
}

fn clip_segment(a: Point, b: Point, rect: Rect) -> Option<(Point, Point)> {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (p, q) in
        [(-dx, a.x - rect.min.x), (dx, rect.max.x - a.x), (-dy, a.y - rect.min.y), (dy, rect.max.y - a.y)]
    {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let t = q / p;
            if p < 0.0 {
                t0 = t0.max(t);
            } else {
                t1 = t1.min(t);
            }
        }
    }
    if t0 > t1 {
        return None;
    }
    let at = |t: f64| {
        if t == 0.0 {
            a
        } else if t == 1.0 {
            b
        } else {
            Point { x: a.x + t * dx, y: a.y + t * dy }
        }
    };
    Some((at(t0), at(t1)))
}

/// One edge of the rectangle: which side is inside, and where a segment crosses it.
type ClipEdge = (fn(Point, Rect) -> bool, fn(Point, Point, Rect) -> Point);

/// A ring clipped to `rect` (Sutherland-Hodgman); empty when nothing of it is inside.
pub fn clip_ring(ring: &[Point], rect: Rect) -> Vec<Point> {
    let mut out = ring.to_vec();
    let edges: [ClipEdge; 4] = [
        (|p, r| p.x >= r.min.x, |a, b, r| cross_x(a, b, r.min.x)),
        (|p, r| p.x <= r.max.x, |a, b, r| cross_x(a, b, r.max.x)),
        (|p, r| p.y >= r.min.y, |a, b, r| cross_y(a, b, r.min.y)),
        (|p, r| p.y <= r.max.y, |a, b, r| cross_y(a, b, r.max.y)),
    ];
    for (inside, cross) in edges {
        let input = std::mem::take(&mut out);
        let Some(&last) = input.last() else { break };
        let mut prev = last;
        for &p in &input {
            match (inside(p, rect), inside(prev, rect)) {
                (true, true) => out.push(p),
                (true, false) => {
                    out.push(cross(prev, p, rect));
                    out.push(p);
                }
                (false, true) => out.push(cross(prev, p, rect)),
                (false, false) => {}
            }
            prev = p;
        }
    }
    if out.len() < 3 {
        out.clear();
    }
    out
}

fn cross_x(a: Point, b: Point, x: f64) -> Point {
    let t = (x - a.x) / (b.x - a.x);
    Point { x, y: a.y + t * (b.y - a.y) }
}

fn cross_y(a: Point, b: Point, y: f64) -> Point {
    let t = (y - a.y) / (b.y - a.y);
    Point { x: a.x + t * (b.x - a.x), y }
}

/// Douglas-Peucker: the points whose removal would move the line more than `tolerance`; the
/// first and the last are always kept.
pub fn simplify(points: &[Point], tolerance: f64) -> Vec<Point> {
    if points.len() <= 2 {
        return points.to_vec();
    }
    let mut keep = vec![false; points.len()];
    keep[0] = true;
    keep[points.len() - 1] = true;
    let mut stack = vec![(0, points.len() - 1)];
    while let Some((first, last)) = stack.pop() {
        let (mut farthest, mut distance) = (first, 0.0);
        for i in first + 1..last {
            let d = segment_distance(points[i], points[first], points[last]);
            if d > distance {
                (farthest, distance) = (i, d);
            }
        }
        if distance > tolerance {
            keep[farthest] = true;
            stack.push((first, farthest));
            stack.push((farthest, last));
        }
    }
    points.iter().zip(keep).filter(|(_, k)| *k).map(|(p, _)| *p).collect()
}

fn segment_distance(p: Point, a: Point, b: Point) -> f64 {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let length2 = dx * dx + dy * dy;
    let t =
        if length2 == 0.0 { 0.0 } else { (((p.x - a.x) * dx + (p.y - a.y) * dy) / length2).clamp(0.0, 1.0) };
    ((p.x - a.x - t * dx).powi(2) + (p.y - a.y - t * dy).powi(2)).sqrt()
}

/// Points rounded to whole pixels, without repeats: `[x0, y0, x1, y1, …]`.
pub fn to_pixels(points: &[Point]) -> Vec<i32> {
    let mut out: Vec<i32> = Vec::with_capacity(points.len() * 2);
    for p in points {
        let (x, y) = (p.x.round() as i32, p.y.round() as i32);
        if out.len() >= 2 && out[out.len() - 2] == x && out[out.len() - 1] == y {
            continue;
        }
        out.extend([x, y]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Rect {
        fn contains(&self, p: Point) -> bool {
            p.x >= self.min.x && p.x <= self.max.x && p.y >= self.min.y && p.y <= self.max.y
        }
    }

    fn p(x: f64, y: f64) -> Point {
        Point { x, y }
    }

    const SQUARE: Rect = Rect { min: Point { x: 0.0, y: 0.0 }, max: Point { x: 10.0, y: 10.0 } };

    #[test]
    fn a_line_crossing_the_tile_is_cut_at_its_edges() {
        let parts = clip_line(&[p(-5.0, 5.0), p(5.0, 5.0), p(15.0, 5.0)], SQUARE);
        assert_eq!(parts, vec![vec![p(0.0, 5.0), p(5.0, 5.0), p(10.0, 5.0)]]);
    }

    #[test]
    fn a_line_leaving_and_coming_back_gives_two_parts() {
        let line = [p(2.0, 2.0), p(2.0, 20.0), p(8.0, 20.0), p(8.0, 2.0)];
        let parts = clip_line(&line, SQUARE);
        assert_eq!(parts, vec![vec![p(2.0, 2.0), p(2.0, 10.0)], vec![p(8.0, 10.0), p(8.0, 2.0)]]);
        assert!(clip_line(&[p(20.0, 20.0), p(30.0, 30.0)], SQUARE).is_empty());
    }

    #[test]
    fn a_ring_is_cut_to_the_tile() {
        let ring = [p(5.0, 5.0), p(15.0, 5.0), p(15.0, 15.0), p(5.0, 15.0)];
        let clipped = clip_ring(&ring, SQUARE);
        assert!(clipped.iter().all(|q| SQUARE.contains(*q)), "{clipped:?}");
        assert_eq!(clipped.len(), 4);
        assert!(clip_ring(&[p(20.0, 20.0), p(30.0, 20.0), p(30.0, 30.0)], SQUARE).is_empty());
    }

    #[test]
    fn simplification_keeps_the_endpoints_and_the_corners() {
        let line = [p(0.0, 0.0), p(1.0, 0.1), p(2.0, -0.1), p(3.0, 0.0), p(3.0, 5.0)];
        assert_eq!(simplify(&line, 0.5), vec![p(0.0, 0.0), p(3.0, 0.0), p(3.0, 5.0)]);
        let nearly_straight = [p(0.0, 0.0), p(1.0, 0.01), p(9.0, 0.0)];
        assert_eq!(simplify(&nearly_straight, 0.5), vec![p(0.0, 0.0), p(9.0, 0.0)]);
    }

    #[test]
    fn mercator_goes_both_ways() {
        let (lon, lat) = lon_lat(mercator(1.5218, 42.5063));
        assert!((lon - 1.5218).abs() < 1e-9 && (lat - 42.5063).abs() < 1e-9);
        assert_eq!(mercator(0.0, 0.0), p(0.5, 0.5));
        assert_eq!(to_pixels(&[p(0.4, 0.6), p(0.2, 1.4), p(3.0, 3.0)]), vec![0, 1, 3, 3]);
    }
}
