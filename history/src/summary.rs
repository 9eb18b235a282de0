//! What a move's report says of one vehicle: first and last fix, number of fixes, distance,
//! the driven line, stops and gaps, gathered as its fixes stream past, so memory does not grow
//! with the track. `fixes` counts every stored fix; the distance (between consecutive fixes,
//! across gaps too), the line, the stops and the gaps leave out fixes marked implausible.

use chrono::{DateTime, Utc};
use convoy_core::geometry::short_distance_m;
use convoy_core::position::format_time;
use convoy_core::simplify::simplify_indices;
use convoy_core::{Position, VehicleId};
use convoy_store::StoredPosition;
use geo::Point;
use serde_json::{json, Value};

use convoy_core::stop::StopRule;

use crate::stops::StopsAndGaps;

/// The driven line is simplified to this tolerance, in metres.
pub const DRIVEN_TOLERANCE_M: f64 = 5.0;
/// The driven line is simplified this many fixes at a time.
pub const DRIVEN_CHUNK: usize = 10_000;

/// What the report says of one vehicle, gathered as its fixes pass.
pub struct VehicleSummary {
    first: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
    fixes: u64,
    distance_m: f64,
    previous: Option<Point>,
    stops: StopsAndGaps,
    driven: DrivenLine,
}

impl VehicleSummary {
    pub fn new(thresholds: StopRule) -> Self {
        VehicleSummary {
            first: None,
            last: None,
            fixes: 0,
            distance_m: 0.0,
            previous: None,
            stops: StopsAndGaps::new(thresholds),
            driven: DrivenLine::default(),
        }
    }

    /// The next fix in fix-time order.
    pub fn push(&mut self, fix: &StoredPosition) {
        let p = &fix.position;
        self.first.get_or_insert(p.t);
        self.last = Some(p.t);
        self.fixes += 1;
        if fix.implausible.is_some() {
            return;
        }
        let here = Point::new(p.lon, p.lat);
        if let Some(before) = self.previous {
            self.distance_m += short_distance_m(before, here);
        }
        self.previous = Some(here);
        self.stops.push(p);
        self.driven.push(p.clone());
    }

    pub fn finish(self, vehicle: &VehicleId) -> Value {
        let (stops, gaps) = self.stops.finish();
        let line = self.driven.finish();
        let driven = (line.len() >= 2).then(|| json!({ "type": "LineString", "coordinates": line }));
        json!({
            "vehicle": vehicle,
            "first_fix": self.first.as_ref().map(format_time),
            "last_fix": self.last.as_ref().map(format_time),
            "fixes": self.fixes,
            // To the metre.
            "distance_km": (self.distance_m).round() / 1000.0,
            "driven": driven,
            "stops": stops.iter().map(|s| s.to_json(vehicle)).collect::<Vec<_>>(),
            "gaps": gaps.iter().map(|g| g.to_json(vehicle)).collect::<Vec<_>>(),
        })
    }
}

/// The driven line, simplified to [`DRIVEN_TOLERANCE_M`] a chunk of [`DRIVEN_CHUNK`] fixes at a
/// time. Each chunk begins with the last fix of the one before and keeps both its ends, so no
/// left-out fix is farther than the tolerance from the line, as with one simplification of the
/// whole track (which might keep a few fixes fewer).
#[derive(Default)]
pub struct DrivenLine {
    chunk: Vec<Position>,
    /// `[lon, lat]` kept so far.
    kept: Vec<[f64; 2]>,
}

impl DrivenLine {
    pub fn push(&mut self, position: Position) {
        self.chunk.push(position);
        if self.chunk.len() >= DRIVEN_CHUNK {
            self.simplify_chunk();
        }
    }

    fn simplify_chunk(&mut self) {
        // A chunk after the first begins with a fix already kept.
        let carried = usize::from(!self.kept.is_empty());
        if self.chunk.len() <= carried {
            return;
        }
        for index in simplify_indices(&self.chunk, DRIVEN_TOLERANCE_M) {
            if index >= carried {
                self.kept.push([self.chunk[index].lon, self.chunk[index].lat]);
            }
        }
        let last = self.chunk.pop();
        self.chunk.clear();
        self.chunk.extend(last);
    }

    /// The kept `[lon, lat]`, in order.
    pub fn finish(mut self) -> Vec<[f64; 2]> {
        self.simplify_chunk();
        self.kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use convoy_core::plausibility::Implausible;

    const THRESHOLDS: StopRule = StopRule { speed_mps: 1.5, radius_m: 25.0 };

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, 9, 0, 0).unwrap()
    }

    /// East along 48°N, 10 m a second (0.000134° of longitude is 10.0 m there).
    fn fix(second: i64, lon_step: f64) -> StoredPosition {
        StoredPosition {
            position: Position {
                seq: second as u64,
                t: t0() + Duration::seconds(second),
                lat: 48.0,
                lon: 11.0 + lon_step,
                alt_m: None,
                speed_mps: Some(10.0),
                course_deg: None,
                fix: None,
                sats: None,
                hdop: None,
                accuracy_m: None,
            },
            late: false,
            implausible: None,
            received_at: t0(),
            source: None,
            prev_hash: None,
        }
    }

    #[test]
    fn a_straight_drive_is_summed_and_simplified_to_its_ends() {
        let mut summary = VehicleSummary::new(THRESHOLDS);
        for s in 0..=1000 {
            summary.push(&fix(s, s as f64 * 0.000134));
        }
        let view = summary.finish(&VehicleId::new("truck-07").unwrap());
        assert_eq!(view["fixes"], 1001);
        assert_eq!(view["first_fix"], "2026-11-28T09:00:00.000Z");
        assert_eq!(view["last_fix"], "2026-11-28T09:16:40.000Z");
        let km = view["distance_km"].as_f64().unwrap();
        assert!((km - 10.0).abs() < 0.01, "{km}");
        assert_eq!(view["driven"]["coordinates"], json!([[11.0, 48.0], [11.134, 48.0]]));
        assert_eq!(view["stops"], json!([]));
        assert_eq!(view["gaps"], json!([]));
    }

    #[test]
    fn an_implausible_fix_is_counted_but_not_driven() {
        let mut summary = VehicleSummary::new(THRESHOLDS);
        summary.push(&fix(0, 0.0));
        let mut jump = fix(1, 1.0);
        jump.implausible = Some(Implausible::TooFast);
        summary.push(&jump);
        summary.push(&fix(2, 0.000268));
        let view = summary.finish(&VehicleId::new("v").unwrap());
        assert_eq!(view["fixes"], 3);
        assert!(view["distance_km"].as_f64().unwrap() < 0.03);
    }

    #[test]
    fn no_fixes_is_an_empty_summary() {
        let view = VehicleSummary::new(THRESHOLDS).finish(&VehicleId::new("v").unwrap());
        assert_eq!(view["fixes"], 0);
        assert_eq!(view["first_fix"], Value::Null);
        assert_eq!(view["driven"], Value::Null);
    }

    #[test]
    fn a_line_longer_than_a_chunk_keeps_its_corners_once_each() {
        // East for 15,000 s, then north for 15,000 s: three chunks, one corner.
        let mut line = DrivenLine::default();
        for s in 0..15_000 {
            line.push(fix(s, s as f64 * 0.000134).position);
        }
        for s in 1..=15_000 {
            let mut p = fix(15_000 + s, 15_000.0 * 0.000134).position;
            p.lat += s as f64 * 0.00009;
            line.push(p);
        }
        let kept = line.finish();
        // The ends, the corner (a 10 m jog: two fixes) and the ends of the chunks, each once.
        assert_eq!(kept.first(), Some(&[11.0, 48.0]));
        assert_eq!(kept.last(), Some(&[11.0 + 15_000.0 * 0.000134, 48.0 + 15_000.0 * 0.00009]));
        assert!(kept.contains(&[11.0 + 14_999.0 * 0.000134, 48.0]), "the corner");
        assert_eq!(kept.len(), 7, "{kept:?}");
        let mut deduplicated = kept.clone();
        deduplicated.dedup();
        assert_eq!(deduplicated, kept, "no point twice in a row");
    }
}
