//! The coordinate system a plan document declares (`"coordinates"`): WGS-84, the default and
//! what Convoy keeps, or GCJ-02, the one Chinese maps (AMap/Gaode, Tencent) are drawn in, so a
//! route traced on such a map lines up with the roads the trucks will drive. A GCJ-02 plan is
//! converted to WGS-84 as it is read ([`crate::gcj02`]); nothing after that knows it was.

use geo::{Coord, LineString, Point, Polygon};

use super::error::PlanError;
use super::{MovePlan, ZoneShape};
use crate::gcj02::gcj02_to_wgs84;

/// What a plan's coordinates are in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoordinateSystem {
    Wgs84,
    Gcj02,
}

impl CoordinateSystem {
    /// `wgs84` or `gcj02` (any case); anything else is refused with the names that are known.
    pub fn parse(name: &str) -> Result<CoordinateSystem, PlanError> {
        match name.to_ascii_lowercase().as_str() {
            "wgs84" => Ok(CoordinateSystem::Wgs84),
            "gcj02" => Ok(CoordinateSystem::Gcj02),
            _ => Err(PlanError::UnknownCoordinates(name.chars().take(40).collect())),
        }
    }

    /// `plan`, whose coordinates are in this system, in WGS-84.
    pub fn to_wgs84(self, plan: MovePlan) -> MovePlan {
        match self {
            CoordinateSystem::Wgs84 => plan,
            CoordinateSystem::Gcj02 => map_coordinates(plan, |c| {
                let (lat, lon) = gcj02_to_wgs84(c.y, c.x);
                Coord { x: lon, y: lat }
            }),
        }
    }
}

fn map_coordinates(mut plan: MovePlan, f: impl Fn(Coord) -> Coord + Copy) -> MovePlan {
    let line = |line: &LineString| line.coords().map(|c| f(*c)).collect::<LineString>();
    plan.route = line(&plan.route);
    for zone in &mut plan.zones {
        zone.shape = match &zone.shape {
            ZoneShape::Polygon(polygon) => ZoneShape::Polygon(Polygon::new(
                line(polygon.exterior()),
                polygon.interiors().iter().map(line).collect(),
            )),
            ZoneShape::Circle { center, radius_m } => {
                ZoneShape::Circle { center: Point::from(f(center.0)), radius_m: *radius_m }
            }
        };
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::distance_m;
    use crate::plan::MovePlan;
    use serde_json::json;

    /// eviltransform's published Shanghai and Beijing pairs, as (WGS-84, GCJ-02) `[lon, lat]`.
    const SHANGHAI: ([f64; 2], [f64; 2]) = ([121.5272106, 31.1774276], [121.531541859215, 31.17530398364597]);
    const BEIJING: ([f64; 2], [f64; 2]) = ([116.377817, 39.911954], [116.38404722455657, 39.91334545536069]);

    fn plan(coordinates: serde_json::Value) -> Result<MovePlan, PlanError> {
        let zone_at = BEIJING.1;
        let body = json!({
            "name": "北京 to 上海", "vehicles": ["truck-01"], "coordinates": coordinates,
            "route": { "type": "LineString", "coordinates": [BEIJING.1, SHANGHAI.1] },
            "zones": { "type": "FeatureCollection", "features": [
                { "type": "Feature", "properties": { "name": "depot", "kind": "origin", "radius_m": 200 },
                  "geometry": { "type": "Point", "coordinates": zone_at } },
                { "type": "Feature", "properties": { "name": "yard", "kind": "destination" },
                  "geometry": { "type": "Polygon", "coordinates": [[
                      [121.53, 31.17], [121.54, 31.17], [121.54, 31.18], [121.53, 31.17]]] } }
            ]},
        });
        MovePlan::from_json(body.to_string().as_bytes())
    }

    fn metres(a: Coord, b: [f64; 2]) -> f64 {
        distance_m(Point::from(a), Point::new(b[0], b[1]))
    }

    #[test]
    fn a_gcj02_plan_is_kept_in_wgs84() {
        let plan = plan(json!("gcj02")).unwrap();
        let route: Vec<Coord> = plan.route.coords().copied().collect();
        assert!(metres(route[0], BEIJING.0) < 0.05 && metres(route[1], SHANGHAI.0) < 0.05, "{route:?}");
        match &plan.zones[0].shape {
            ZoneShape::Circle { center, radius_m } => {
                assert!(metres(center.0, BEIJING.0) < 0.05 && *radius_m == 200.0, "{center:?}")
            }
            other => panic!("{other:?}"),
        }
        match &plan.zones[1].shape {
            ZoneShape::Polygon(polygon) => {
                let first = polygon.exterior().0[0];
                let (lat, lon) = gcj02_to_wgs84(31.17, 121.53);
                assert!(metres(first, [lon, lat]) < 0.01, "{first:?}");
                assert!(polygon.exterior().is_closed());
            }
            other => panic!("{other:?}"),
        }
        // The document written back is WGS-84 and says nothing of GCJ-02: read again, the same.
        let again = MovePlan::from_json(plan.to_json().to_string().as_bytes()).unwrap();
        assert_eq!(again, plan);
    }

    #[test]
    fn wgs84_and_no_declaration_are_the_same_and_unchanged() {
        let declared = plan(json!("WGS84")).unwrap();
        assert_eq!(declared, plan(serde_json::Value::Null).unwrap());
        assert_eq!(declared.route.0[0], Coord { x: BEIJING.1[0], y: BEIJING.1[1] });
    }

    #[test]
    fn an_unknown_system_is_refused_with_the_known_ones() {
        let error = plan(json!("bd09")).unwrap_err();
        assert_eq!(error.reason(), "unknown_coordinates");
        assert!(error.to_string().contains("\"bd09\"") && error.to_string().contains("gcj02"), "{error}");
        assert_eq!(plan(json!(2)).unwrap_err().reason(), "malformed");
    }
}
