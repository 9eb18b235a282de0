//! The demo's route on Andorra's real roads: `data/drives/andorra/demo-route.json`, derived by
//! `scripts/demo-route/make_route.py` from the OpenStreetMap extract of Andorra (ODbL 1.0,
//! © OpenStreetMap contributors; see that folder's SOURCE.txt). It holds the route's points from
//! the depot in Santa Coloma to the data centre in Encamp with each segment's speed, the way
//! back (one-way streets driven their way: the other carriageway, the roundabouts' other side),
//! the detour
//! (a real side street off it and back), the forbidden zone on the detour, the rest area (a real
//! car park beside the road) and where the halting truck stops (a real roadside).

use anyhow::{ensure, Context};
use geo::Point;
use serde::Deserialize;

const ANDORRA_ROUTE: &str = include_str!("../../data/drives/andorra/demo-route.json");
/// No road in the extract is faster than 90 km/h; a file that says more is wrong.
const FASTEST_ROAD_KMH: f64 = 130.0;

/// The route file, read and checked.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteFile {
    pub source: String,
    route: Line,
    back: Line,
    detour: DetourLine,
    pub origin: Place,
    pub destination: Place,
    pub rest_area: Place,
    pub forbidden: Place,
    /// The index of the route's point where `truck-02` halts.
    halt_at: usize,
}

/// A line along roads: `speeds_kmh[k]` and `roads[k]` are those of the segment from point `k`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    points: Vec<[f64; 2]>,
    speeds_kmh: Vec<f64>,
    roads: Vec<String>,
}

/// The detour's line, from the route's point `leaves_at` to its point `rejoins_at`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DetourLine {
    leaves_at: usize,
    rejoins_at: usize,
    points: Vec<[f64; 2]>,
    speeds_kmh: Vec<f64>,
    roads: Vec<String>,
}

/// A named place; `radius_m` only for the forbidden zone (the script sizes it to clear the corridor).
#[derive(Clone, Debug, Deserialize)]
pub struct Place {
    pub name: String,
    pub lon: f64,
    pub lat: f64,
    #[serde(default)]
    pub radius_m: Option<f64>,
    #[serde(default)]
    pub osm_way: Option<u64>,
}

impl Place {
    pub fn point(&self) -> Point {
        Point::new(self.lon, self.lat)
    }
}

impl RouteFile {
    /// The demo's route (built in: the file is part of the binary).
    pub fn andorra() -> anyhow::Result<Self> {
        Self::parse(ANDORRA_ROUTE).context("the demo's route (data/drives/andorra/demo-route.json)")
    }

    /// Reads and checks a route file: a line of at least two points, one speed and one road
    /// name per segment, speeds above 0 and plausible, positions on Earth, a detour that leaves
    /// and rejoins the route where it says, a halt on the route, a forbidden zone with a radius.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let file: RouteFile = serde_json::from_str(text).context("parsing the route file")?;
        file.route.check("the route")?;
        file.back.check("the way back")?;
        let (out, back) = (&file.route.points, &file.back.points);
        ensure!(
            back[0] == out[out.len() - 1] && back[back.len() - 1] == out[0],
            "the way back must go from the route's end to its start"
        );
        let detour = Line {
            points: file.detour.points.clone(),
            speeds_kmh: file.detour.speeds_kmh.clone(),
            roads: file.detour.roads.clone(),
        };
        detour.check("the detour")?;
        let (leaves, rejoins, n) = (file.detour.leaves_at, file.detour.rejoins_at, file.route.points.len());
        ensure!(
            leaves < rejoins && rejoins < n,
            "the detour leaves at point {leaves} and rejoins at {rejoins} of {n}"
        );
        ensure!(
            detour.points[0] == file.route.points[leaves]
                && detour.points[detour.points.len() - 1] == file.route.points[rejoins],
            "the detour must start and end on the route's points {leaves} and {rejoins}"
        );
        ensure!(file.halt_at > 0 && file.halt_at < n - 1, "the halt at point {} of {n}", file.halt_at);
        for place in [&file.origin, &file.destination, &file.rest_area, &file.forbidden] {
            ensure!(on_earth([place.lon, place.lat]), "{}: not a position", place.name);
        }
        ensure!(
            file.forbidden.radius_m.is_some_and(|r| r.is_finite() && r > 0.0),
            "the forbidden zone needs a radius"
        );
        Ok(file)
    }

    /// The route's points, from the depot to the data centre.
    pub fn points(&self) -> Vec<Point> {
        self.route.points.iter().map(|&[lon, lat]| Point::new(lon, lat)).collect()
    }

    /// Each segment's speed, in metres per second.
    pub fn speeds_mps(&self) -> Vec<f64> {
        self.route.speeds_kmh.iter().map(|kmh| kmh / 3.6).collect()
    }

    /// The way back's points, from the data centre to the depot.
    pub fn back_points(&self) -> Vec<Point> {
        self.back.points.iter().map(|&[lon, lat]| Point::new(lon, lat)).collect()
    }

    /// Each segment's speed on the way back, in metres per second.
    pub fn back_speeds_mps(&self) -> Vec<f64> {
        self.back.speeds_kmh.iter().map(|kmh| kmh / 3.6).collect()
    }

    /// The planned route: the way out, then the way back.
    pub fn out_and_back(&self) -> Vec<Point> {
        self.points().into_iter().chain(self.back_points().into_iter().skip(1)).collect()
    }

    /// The way out taking the detour: the route to where the detour leaves it, the detour, the
    /// route on from where it rejoins; and each segment's speed in metres per second.
    pub fn detour_way(&self) -> (Vec<Point>, Vec<f64>) {
        let (leaves, rejoins) = (self.detour.leaves_at, self.detour.rejoins_at);
        let route = self.points();
        let detour: Vec<Point> = self.detour.points.iter().map(|&[lon, lat]| Point::new(lon, lat)).collect();
        let points = route[..leaves].iter().chain(&detour).chain(&route[rejoins + 1..]).copied().collect();
        let speeds = self.route.speeds_kmh[..leaves]
            .iter()
            .chain(&self.detour.speeds_kmh)
            .chain(&self.route.speeds_kmh[rejoins..])
            .map(|kmh| kmh / 3.6)
            .collect();
        (points, speeds)
    }

    /// The detour's own points (from where it leaves the route to where it rejoins it).
    pub fn detour_points(&self) -> Vec<Point> {
        self.detour.points.iter().map(|&[lon, lat]| Point::new(lon, lat)).collect()
    }

    /// Where `truck-02` halts: a roadside on the route.
    pub fn halt(&self) -> Point {
        let [lon, lat] = self.route.points[self.halt_at];
        Point::new(lon, lat)
    }

    /// The name of the road at the halt.
    pub fn halt_road(&self) -> &str {
        &self.route.roads[self.halt_at]
    }
}

impl Line {
    fn check(&self, what: &str) -> anyhow::Result<()> {
        let n = self.points.len();
        ensure!(n >= 2, "{what} needs at least two points");
        ensure!(
            self.speeds_kmh.len() == n - 1 && self.roads.len() == n - 1,
            "{what}: one speed and one road per segment ({} points, {} speeds, {} roads)",
            n,
            self.speeds_kmh.len(),
            self.roads.len()
        );
        ensure!(
            self.speeds_kmh.iter().all(|v| v.is_finite() && *v > 0.0 && *v <= FASTEST_ROAD_KMH),
            "{what}: a speed out of (0, {FASTEST_ROAD_KMH}] km/h"
        );
        ensure!(self.points.iter().all(|&p| on_earth(p)), "{what}: a point is not a position");
        Ok(())
    }
}

fn on_earth([lon, lat]: [f64; 2]) -> bool {
    lon.is_finite() && lat.is_finite() && (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_route_reads_from_santa_coloma_to_encamp() {
        let file = RouteFile::andorra().unwrap();
        assert!(file.source.contains("OpenStreetMap contributors") && file.source.contains("ODbL"));
        assert!(file.points().len() > 100);
        assert_eq!(file.speeds_mps().len(), file.points().len() - 1);
        let (way, speeds) = file.detour_way();
        assert_eq!(speeds.len(), way.len() - 1);
        assert!(file.forbidden.radius_m.unwrap() > 50.0);
    }

    fn edited(edit: impl FnOnce(&mut serde_json::Value)) -> anyhow::Result<RouteFile> {
        let mut value: serde_json::Value = serde_json::from_str(ANDORRA_ROUTE).unwrap();
        edit(&mut value);
        RouteFile::parse(&value.to_string())
    }

    #[test]
    fn a_bad_route_file_is_refused_with_its_reason() {
        let error = |edit: fn(&mut serde_json::Value)| format!("{:#}", edited(edit).unwrap_err());
        assert!(RouteFile::parse("not json").is_err());
        assert!(error(|v| v["route"]["points"] = serde_json::json!([[1.5, 42.5]])).contains("two points"));
        assert!(error(|v| v["route"]["speeds_kmh"][0] = serde_json::json!(0)).contains("speed out of"));
        assert!(error(|v| v["route"]["speeds_kmh"][3] = serde_json::json!(300)).contains("speed out of"));
        assert!(error(|v| v["route"]["roads"] = serde_json::json!([])).contains("one speed and one road"));
        assert!(
            error(|v| v["route"]["points"][2] = serde_json::json!([1.5, 95.0])).contains("not a position")
        );
        assert!(
            error(|v| v["back"]["points"][0] = serde_json::json!([1.5, 42.5])).contains("the way back must")
        );
        assert!(error(|v| v["back"]["speeds_kmh"] = serde_json::json!([50])).contains("the way back"));
        assert!(error(|v| v["detour"]["rejoins_at"] = serde_json::json!(100_000)).contains("rejoins"));
        assert!(
            error(|v| v["detour"]["leaves_at"] = serde_json::json!(0)).contains("start and end on the route")
        );
        assert!(error(|v| v["halt_at"] = serde_json::json!(0)).contains("halt"));
        assert!(error(|v| v["forbidden"]["radius_m"] = serde_json::Value::Null).contains("radius"));
        assert!(error(|v| v["extra"] = serde_json::json!(1)).contains("unknown field"));
    }
}
