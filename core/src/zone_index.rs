//! Which zones of a move a position is in, without looking at every zone: an R-tree of the
//! zones' bounding boxes (in degrees) narrows the candidates to the few whose box holds the
//! point; only those are tested exactly.
//!
//! Circles use the local planar distance of [`crate::local_frame`] (within 0.05 % of the
//! geodesic distance at zone scales); polygons are taken as straight in longitude and latitude,
//! as in [`crate::geometry::in_polygon`]. A zone across the antimeridian is not supported.

use geo::Point;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};

use crate::geometry::in_polygon;
use crate::local_frame::{origin_to_segment, LocalScale};
use crate::plan::{Zone, ZoneShape};

type ZoneEntry = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// A move's zones, ready for queries.
#[derive(Debug)]
pub struct ZoneIndex {
    zones: Vec<Zone>,
    tree: RTree<ZoneEntry>,
}

impl ZoneIndex {
    pub fn new(zones: &[Zone]) -> Self {
        let entries = zones
            .iter()
            .enumerate()
            .map(|(i, zone)| GeomWithData::new(Rectangle::from_aabb(bounding_box(zone)), i as u32))
            .collect();
        ZoneIndex { zones: zones.to_vec(), tree: RTree::bulk_load(entries) }
    }

    pub fn zones(&self) -> &[Zone] {
        &self.zones
    }

    /// Calls `found` with the index of every zone holding `p` (edge included).
    pub fn for_each_containing(&self, p: Point, mut found: impl FnMut(usize)) {
        for entry in self.tree.locate_all_at_point(&[p.x(), p.y()]) {
            let i = entry.data as usize;
            if contains(&self.zones[i], p) {
                found(i);
            }
        }
    }

    /// Calls `found` with the index of every zone whose bounding box comes within `margin_m`
    /// metres of `p`, and whether the zone holds `p` (edge included, as
    /// [`for_each_containing`](Self::for_each_containing) judges it). How deep inside or how far
    /// outside `p` is costs a pass over the zone's edges, so it is left to
    /// [`depth_m`](Self::depth_m), for the few fixes that need it: those on the other side of
    /// an edge from the vehicle's last known side.
    pub fn for_each_near(&self, p: Point, margin_m: f64, mut found: impl FnMut(usize, bool)) {
        let scale = LocalScale::at(p.y());
        let dlat = margin_m / scale.m_per_deg_lat;
        let dlon = (margin_m / scale.m_per_deg_lon.max(1e-6)).min(360.0);
        let around = AABB::from_corners([p.x() - dlon, p.y() - dlat], [p.x() + dlon, p.y() + dlat]);
        for entry in self.tree.locate_in_envelope_intersecting(&around) {
            let i = entry.data as usize;
            found(i, contains(&self.zones[i], p));
        }
    }

    /// How far inside zone `i` the point is, in metres: the distance to its nearest edge,
    /// negative outside (0 on the edge). Its sign is the containment `for_each_near` reports.
    pub fn depth_m(&self, i: usize, p: Point) -> f64 {
        depth_m(&self.zones[i], p)
    }

    /// A quarter of the zone's smaller width in metres (half a circle's radius): the most an
    /// edge margin can ask of it, so that a small zone can still be entered and left.
    pub fn margin_cap_m(&self, i: usize) -> f64 {
        match &self.zones[i].shape {
            ZoneShape::Circle { radius_m, .. } => radius_m / 2.0,
            ZoneShape::Polygon(_) => {
                let b = bounding_box(&self.zones[i]);
                let (lower, upper) = (b.lower(), b.upper());
                let scale = LocalScale::at((lower[1] + upper[1]) / 2.0);
                let (width, height) = scale.offset(lower[0], lower[1], upper[0], upper[1]);
                width.abs().min(height.abs()) / 4.0
            }
        }
    }
}

/// How far inside `zone` the point is, in metres: the distance to its nearest edge, negative
/// outside (0 on the edge). The sign is [`contains`]'s, so the two never disagree. Distances
/// are on the local plane at the point, which takes a polygon's edges as straight in longitude
/// and latitude as [`in_polygon`] does, and costs what that test costs: a pass over the edges.
fn depth_m(zone: &Zone, p: Point) -> f64 {
    match &zone.shape {
        ZoneShape::Polygon(polygon) => {
            let scale = LocalScale::at(p.y());
            let local = |c: &geo::Coord| scale.offset(p.x(), p.y(), c.x, c.y);
            let edge = std::iter::once(polygon.exterior())
                .chain(polygon.interiors())
                .flat_map(|ring| ring.lines())
                .map(|line| origin_to_segment(local(&line.start), local(&line.end)).0)
                .fold(f64::INFINITY, f64::min);
            if in_polygon(p, polygon) {
                edge
            } else {
                -edge
            }
        }
        ZoneShape::Circle { center, radius_m } => {
            let scale = LocalScale::at(center.y());
            let (x, y) = scale.offset(center.x(), center.y(), p.x(), p.y());
            radius_m - (x * x + y * y).sqrt()
        }
    }
}

fn contains(zone: &Zone, p: Point) -> bool {
    match &zone.shape {
        ZoneShape::Polygon(polygon) => in_polygon(p, polygon),
        ZoneShape::Circle { center, radius_m } => {
            let scale = LocalScale::at(center.y());
            let (x, y) = scale.offset(center.x(), center.y(), p.x(), p.y());
            (x * x + y * y).sqrt() <= *radius_m
        }
    }
}

fn bounding_box(zone: &Zone) -> AABB<[f64; 2]> {
    match &zone.shape {
        ZoneShape::Polygon(polygon) => {
            let mut lower = [f64::INFINITY; 2];
            let mut upper = [f64::NEG_INFINITY; 2];
            for c in polygon.exterior().coords() {
                lower = [lower[0].min(c.x), lower[1].min(c.y)];
                upper = [upper[0].max(c.x), upper[1].max(c.y)];
            }
            AABB::from_corners(lower, upper)
        }
        ZoneShape::Circle { center, radius_m } => {
            // A little wider than the circle, so the planar test decides at the edge.
            let scale = LocalScale::at(center.y());
            let margin = radius_m * 1.01 + 1.0;
            let dlat = margin / scale.m_per_deg_lat;
            let dlon = (margin / scale.m_per_deg_lon.max(1e-6)).min(360.0);
            AABB::from_corners([center.x() - dlon, center.y() - dlat], [center.x() + dlon, center.y() + dlat])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::in_circle;
    use crate::plan::ZoneKind;
    use geo::{LineString, Polygon};
    use proptest::prelude::*;

    fn circle(name: &str, lon: f64, lat: f64, radius_m: f64) -> Zone {
        Zone {
            name: name.into(),
            kind: ZoneKind::AllowedStop,
            shape: ZoneShape::Circle { center: Point::new(lon, lat), radius_m },
        }
    }

    fn square(name: &str, lon: f64, lat: f64, half: f64) -> Zone {
        let ring = LineString::from(vec![
            (lon - half, lat - half),
            (lon + half, lat - half),
            (lon + half, lat + half),
            (lon - half, lat + half),
            (lon - half, lat - half),
        ]);
        Zone {
            name: name.into(),
            kind: ZoneKind::Forbidden,
            shape: ZoneShape::Polygon(Polygon::new(ring, vec![])),
        }
    }

    fn containing(index: &ZoneIndex, p: Point) -> Vec<usize> {
        let mut found = Vec::new();
        index.for_each_containing(p, |i| found.push(i));
        found.sort_unstable();
        found
    }

    #[test]
    fn finds_overlapping_zones_and_nothing_outside() {
        let zones = vec![
            circle("depot", 11.0, 48.0, 200.0),
            square("yard", 11.001, 48.0, 0.002),
            circle("far", 12.0, 49.0, 50.0),
        ];
        let index = ZoneIndex::new(&zones);
        assert_eq!(containing(&index, Point::new(11.0005, 48.0)), vec![0, 1]);
        assert_eq!(containing(&index, Point::new(11.0028, 48.0)), vec![1]);
        assert_eq!(containing(&index, Point::new(11.01, 48.01)), Vec::<usize>::new());
        assert_eq!(containing(&index, Point::new(12.0, 49.0)), vec![2]);
    }

    #[test]
    fn near_zones_come_with_how_deep_inside_or_how_far_outside_the_point_is() {
        let zones = vec![circle("depot", 11.0, 48.0, 200.0), square("yard", 11.01, 48.0, 0.001)];
        let index = ZoneIndex::new(&zones);
        let near = |p: Point, margin: f64| {
            let mut found = Vec::new();
            index.for_each_near(p, margin, |i, holds| {
                let depth = index.depth_m(i, p);
                assert_eq!(holds, depth >= 0.0, "containment and depth agree");
                if depth >= -margin {
                    found.push((i, depth));
                }
            });
            found.sort_by_key(|a| a.0);
            found
        };
        let scale = LocalScale::at(48.0);
        let east = |m: f64| m / scale.m_per_deg_lon;
        // 150 m from the depot's centre: 50 m inside; 210 m: 10 m outside.
        let inside = near(Point::new(11.0 + east(150.0), 48.0), 20.0);
        assert_eq!(inside.len(), 1);
        assert!((inside[0].1 - 50.0).abs() < 0.1, "{inside:?}");
        let outside = near(Point::new(11.0 + east(210.0), 48.0), 20.0);
        assert!((outside[0].1 + 10.0).abs() < 0.1, "{outside:?}");
        assert!(near(Point::new(11.0 + east(210.0), 48.0), 5.0).is_empty());
        // 5 m west of the yard's west edge, and 5 m inside it.
        let edge = 11.009;
        let out = near(Point::new(edge - east(5.0), 48.0), 10.0);
        assert_eq!(out.len(), 1);
        assert!((out[0].1 + 5.0).abs() < 0.1, "{out:?}");
        let inn = near(Point::new(edge + east(5.0), 48.0), 10.0);
        assert!((inn[0].1 - 5.0).abs() < 0.1, "{inn:?}");
        // The yard is 0.002° of longitude wide (149 m): a margin of at most a quarter of that.
        assert!((index.margin_cap_m(1) - 2.0 * 0.001 * scale.m_per_deg_lon / 4.0).abs() < 0.01);
        assert_eq!(index.margin_cap_m(0), 100.0);
    }

    proptest! {
        /// The index finds exactly the zones a plain loop over every zone finds, with circles
        /// judged by the geodesic distance (away from the very edge).
        #[test]
        fn agrees_with_a_loop_over_every_zone(
            circles in prop::collection::vec((-0.05f64..0.05, -0.05f64..0.05, 10.0f64..2000.0), 0..20),
            squares in prop::collection::vec((-0.05f64..0.05, -0.05f64..0.05, 0.0005f64..0.01), 0..20),
            px in -0.06f64..0.06, py in -0.06f64..0.06,
            base_lat in -60.0f64..60.0,
        ) {
            let mut zones = Vec::new();
            for (i, (x, y, r)) in circles.iter().enumerate() {
                zones.push(circle(&format!("c{i}"), 10.0 + x, base_lat + y, *r));
            }
            for (i, (x, y, h)) in squares.iter().enumerate() {
                zones.push(square(&format!("s{i}"), 10.0 + x, base_lat + y, *h));
            }
            let index = ZoneIndex::new(&zones);
            let p = Point::new(10.0 + px, base_lat + py);
            let found = containing(&index, p);
            // The zones near it said to hold it are exactly those holding it, and the depth's
            // sign agrees with each.
            let mut held = Vec::new();
            let mut disagree = Vec::new();
            index.for_each_near(p, 0.0, |i, holds| {
                if holds {
                    held.push(i);
                }
                if holds != (index.depth_m(i, p) >= 0.0) {
                    disagree.push(i);
                }
            });
            prop_assert!(disagree.is_empty(), "containment and depth disagree on {:?}", disagree);
            held.sort_unstable();
            prop_assert_eq!(&held, &found);
            for (i, zone) in zones.iter().enumerate() {
                let expected = match &zone.shape {
                    ZoneShape::Circle { center, radius_m } => {
                        let d = crate::geometry::distance_m(p, *center);
                        if (d - radius_m).abs() < radius_m * 1e-3 + 0.05 { continue; }
                        in_circle(p, *center, *radius_m)
                    }
                    ZoneShape::Polygon(polygon) => in_polygon(p, polygon),
                };
                prop_assert_eq!(found.contains(&i), expected, "zone {}", i);
            }
        }
    }
}
