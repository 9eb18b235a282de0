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
use crate::local_frame::LocalScale;
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
