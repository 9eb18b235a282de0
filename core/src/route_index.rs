//! Where a vehicle is relative to its planned route: how far from it, and how far along it.
//!
//! Built once per move, queried for every position. The cost of a query does not grow with the
//! number of route vertices:
//! - first, a window of the route around the vehicle's previous match (from just behind it to a
//!   little ahead) is searched; this also makes progress right on routes that overlap
//!   themselves, double back or pass the same road twice, since the matching pass is the one the
//!   vehicle is on;
//! - only when the vehicle is not within the corridor of that window (it left the route, or has
//!   no previous match) is the whole route searched, through an R-tree of its segments.
//!
//! Distances use the local planar approximation of [`crate::local_frame`] (within 0.05 % of
//! the geodesic distance at corridor scales), with each segment straight in that plane: on long
//! segments that differs from the geodesic segment by its bulge, about L² tan φ / 8R (1 m for
//! a 7 km segment at 48°; route files have vertices every few tens of metres). Progress sums
//! geodesic vertex-to-vertex lengths.

use geo::{LineString, Point};
use rstar::primitives::{GeomWithData, Line};
use rstar::RTree;

use crate::geometry::distance_m;
use crate::local_frame::{origin_to_segment, LocalScale};

/// At most this many segments are searched in the window before the R-tree takes over.
const MAX_WINDOW_SEGMENTS: usize = 128;

type SegmentEntry = GeomWithData<Line<[f64; 2]>, u32>;

/// The planned route, ready for queries.
#[derive(Debug)]
pub struct RouteIndex {
    /// `(lon, lat)` of each vertex; consecutive duplicates removed.
    vertices: Vec<(f64, f64)>,
    /// Distance along the route at each vertex, in metres.
    cumulative_m: Vec<f64>,
    /// Segments in a route-wide plane (metres around the first vertex), for candidate search.
    tree: RTree<SegmentEntry>,
    origin: (f64, f64),
    plane_scale: LocalScale,
    /// How much the route-wide plane can shrink a distance anywhere along the route: search
    /// radii in that plane are widened by it, so no true candidate is missed.
    plane_slack: f64,
}

/// A position matched to the route.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RouteMatch {
    /// Metres from the route. Inside the corridor this is the distance to the pass of the route
    /// the vehicle is matched to; outside it, the distance to the nearest point of the route.
    pub distance_m: f64,
    /// Metres along the route from its start; never less than the previous match's.
    pub progress_m: f64,
    /// The matched segment (index of its first vertex).
    pub segment: u32,
}

impl RouteIndex {
    /// Indexes a route. `None` if it has fewer than two distinct vertices.
    pub fn new(route: &LineString) -> Option<Self> {
        let mut vertices: Vec<(f64, f64)> = Vec::with_capacity(route.0.len());
        for c in route.coords() {
            if vertices.last() != Some(&(c.x, c.y)) {
                vertices.push((c.x, c.y));
            }
        }
        if vertices.len() < 2 {
            return None;
        }
        let mut cumulative_m = Vec::with_capacity(vertices.len());
        let mut total = 0.0;
        cumulative_m.push(0.0);
        for pair in vertices.windows(2) {
            total += distance_m(Point::new(pair[0].0, pair[0].1), Point::new(pair[1].0, pair[1].1));
            cumulative_m.push(total);
        }
        let origin = vertices[0];
        let mean_lat = vertices.iter().map(|v| v.1).sum::<f64>() / vertices.len() as f64;
        let plane_scale = LocalScale::at(mean_lat);
        let mut plane_slack: f64 = 1.0;
        for &(_, lat) in &vertices {
            let here = LocalScale::at(lat);
            plane_slack = plane_slack
                .max(here.m_per_deg_lon / plane_scale.m_per_deg_lon)
                .max(plane_scale.m_per_deg_lon / here.m_per_deg_lon.max(1e-9))
                .max(here.m_per_deg_lat / plane_scale.m_per_deg_lat)
                .max(plane_scale.m_per_deg_lat / here.m_per_deg_lat);
        }
        let plane = |v: (f64, f64)| {
            let (x, y) = plane_scale.offset(origin.0, origin.1, v.0, v.1);
            [x, y]
        };
        let segments = vertices
            .windows(2)
            .enumerate()
            .map(|(i, pair)| GeomWithData::new(Line::new(plane(pair[0]), plane(pair[1])), i as u32))
            .collect();
        Some(RouteIndex {
            vertices,
            cumulative_m,
            tree: RTree::bulk_load(segments),
            origin,
            plane_scale,
            plane_slack: plane_slack * 1.01,
        })
    }

    /// Whether two indexes are of the same route (the same vertices, in order).
    pub fn same_route(&self, other: &RouteIndex) -> bool {
        self.vertices == other.vertices
    }

    /// The route's length in metres.
    pub fn length_m(&self) -> f64 {
        *self.cumulative_m.last().unwrap_or(&0.0)
    }

    /// The number of segments.
    pub fn segments(&self) -> usize {
        self.vertices.len() - 1
    }

    /// Matches `p` to the route. `previous` is the vehicle's previous match; `max_advance_m` how
    /// far along the route it can have gone since (speed bound times elapsed time).
    pub fn locate(
        &self,
        p: Point,
        previous: Option<&RouteMatch>,
        corridor_m: f64,
        max_advance_m: f64,
    ) -> RouteMatch {
        let scale = LocalScale::at(p.y());
        if let Some(previous) = previous {
            if let Some(found) = self.locate_in_window(p, scale, previous, corridor_m, max_advance_m) {
                return found;
            }
        }
        self.locate_anywhere(p, scale, previous, corridor_m)
    }

    /// The nearest segment of the window around the previous match, if within the corridor.
    fn locate_in_window(
        &self,
        p: Point,
        scale: LocalScale,
        previous: &RouteMatch,
        corridor_m: f64,
        max_advance_m: f64,
    ) -> Option<RouteMatch> {
        let hint = previous.segment as usize;
        let first = self.segment_near(previous.progress_m - corridor_m, hint);
        let last = self
            .segment_near(previous.progress_m + max_advance_m.max(0.0) + corridor_m, first)
            .min(first + MAX_WINDOW_SEGMENTS);
        // Where the route passes the same place more than once (it doubles back, or a loop comes
        // back over a road), several segments are equally near. Each candidate costs its
        // distance plus a price for the move along the route it implies: a little for moving on,
        // more for moving on farther than the vehicle can have gone, twice the metres for moving
        // back. So the vehicle stays on the pass it is on, and turns onto the return pass once
        // its positions go that way.
        let mut best: Option<(f64, f64, f64, usize)> = None; // (cost, distance, progress, i)
        for i in first..=last {
            let (distance, fraction) = self.segment_distance(i, p, scale);
            if distance > corridor_m {
                continue;
            }
            let progress = self.progress(i, fraction);
            let moved = progress - previous.progress_m;
            let cost = distance
                + if moved >= 0.0 { 0.1 * moved + (moved - max_advance_m).max(0.0) } else { -2.0 * moved };
            if best.is_none_or(|(c, ..)| cost < c) {
                best = Some((cost, distance, progress, i));
            }
        }
        let (_, distance, progress, i) = best?;
        Some(RouteMatch {
            distance_m: distance,
            progress_m: progress.max(previous.progress_m),
            segment: i as u32,
        })
    }

    /// Searches the whole route. Within the corridor: with no previous match, the nearest
    /// point (the earlier pass where passes tie); with one, the pass at or after the previous progress that costs least (distance
    /// plus a little for each metre along the route, so the next pass by this place wins over a
    /// later one unless clearly nearer). If only passes behind the vehicle are near, it is on
    /// the route and its progress holds. Outside the corridor, the nearest point gives the
    /// distance and progress holds.
    fn locate_anywhere(
        &self,
        p: Point,
        scale: LocalScale,
        previous: Option<&RouteMatch>,
        corridor_m: f64,
    ) -> RouteMatch {
        let query = {
            let (x, y) = self.plane_scale.offset(self.origin.0, self.origin.1, p.x(), p.y());
            [x, y]
        };
        let floor = previous.map_or(f64::NEG_INFINITY, |m| m.progress_m - corridor_m);
        let radius = corridor_m * self.plane_slack + 1.0;
        let mut ahead: Option<(f64, f64, f64, usize)> = None; // (cost, distance, progress, i)
        let mut nearest_inside: Option<(f64, f64, usize)> = None;
        for entry in self.tree.locate_within_distance(query, radius * radius) {
            let i = entry.data as usize;
            let (distance, fraction) = self.segment_distance(i, p, scale);
            if distance > corridor_m {
                continue;
            }
            let progress = self.progress(i, fraction);
            if progress >= floor {
                // With no previous match, where passes tie (a road driven out and back) the
                // earlier one wins, by a millimetre a kilometre: a vehicle starts at the start.
                let cost = match previous {
                    Some(m) => distance + 0.1 * (progress - m.progress_m).max(0.0),
                    None => distance + 1e-6 * progress,
                };
                if ahead.is_none_or(|(best, ..)| cost < best) {
                    ahead = Some((cost, distance, progress, i));
                }
            }
            if nearest_inside.is_none_or(|(d, _, _)| distance < d) {
                nearest_inside = Some((distance, fraction, i));
            }
        }
        let floor_progress = previous.map_or(0.0, |m| m.progress_m);
        if let Some((_, distance, progress, i)) = ahead {
            return RouteMatch {
                distance_m: distance,
                progress_m: progress.max(floor_progress),
                segment: i as u32,
            };
        }
        if let Some((distance, _, i)) = nearest_inside {
            // Only passes behind the vehicle are near (a previous match exists, or `ahead`
            // would have taken them): it is on the route, progress holds.
            let progress = previous.map_or(floor_progress, |m| m.progress_m);
            return RouteMatch { distance_m: distance, progress_m: progress, segment: i as u32 };
        }
        let (distance, fraction, i) = self.nearest(p, scale, query);
        RouteMatch {
            distance_m: distance,
            progress_m: previous.map_or_else(|| self.progress(i, fraction), |m| m.progress_m),
            segment: previous.map_or(i as u32, |m| m.segment),
        }
    }

    /// The nearest segment of the whole route: `(distance, fraction, segment)`.
    fn nearest(&self, p: Point, scale: LocalScale, query: [f64; 2]) -> (f64, f64, usize) {
        let mut best = (f64::INFINITY, 0.0, 0);
        let Some(closest) = self.tree.nearest_neighbor(&query) else {
            return best;
        };
        // The plane distorts distances by at most `plane_slack`: every segment that can truly be
        // nearest lies within this radius of the query in the plane.
        let (d0, _) = self.segment_distance(closest.data as usize, p, scale);
        let radius = d0 * self.plane_slack * self.plane_slack + 1.0;
        for entry in self.tree.locate_within_distance(query, radius * radius) {
            let i = entry.data as usize;
            let (distance, fraction) = self.segment_distance(i, p, scale);
            if distance < best.0 {
                best = (distance, fraction, i);
            }
        }
        best
    }

    /// [`Self::segment_at`], walking from a segment near it: the window's ends are a few
    /// segments from the previous match, and a walk touches only memory the window reads
    /// anyway, where a binary search over the route would miss the cache at every step.
    fn segment_near(&self, progress_m: f64, hint: usize) -> usize {
        const MAX_WALK: usize = 32;
        let last = self.segments() - 1;
        let mut i = hint.min(last);
        for _ in 0..MAX_WALK {
            if i > 0 && self.cumulative_m[i] > progress_m {
                i -= 1;
            } else if i < last && self.cumulative_m[i + 1] <= progress_m {
                i += 1;
            } else {
                return i;
            }
        }
        self.segment_at(progress_m)
    }

    /// The segment holding a distance along the route (clamped to the route).
    fn segment_at(&self, progress_m: f64) -> usize {
        let after = self.cumulative_m.partition_point(|&c| c <= progress_m);
        after.saturating_sub(1).min(self.segments() - 1)
    }

    fn progress(&self, segment: usize, fraction: f64) -> f64 {
        let start = self.cumulative_m[segment];
        start + fraction * (self.cumulative_m[segment + 1] - start)
    }

    #[inline]
    fn segment_distance(&self, i: usize, p: Point, scale: LocalScale) -> (f64, f64) {
        let (a, b) = (self.vertices[i], self.vertices[i + 1]);
        origin_to_segment(scale.offset(p.x(), p.y(), a.0, a.1), scale.offset(p.x(), p.y(), b.0, b.1))
    }
}

#[cfg(test)]
mod tests;
