//! `GET /api/v1/moves/{id}/report?from&to`: the printable account of a move: the plan, what
//! each vehicle drove (first and last fix, number of fixes, distance, the driven line, stops,
//! data gaps, its off-route alerts), and every alert with its whole history (who acknowledged
//! and resolved it, when, with which note).
//!
//! ```json
//! {"move": {<summary as GET /api/v1/moves lists it>, "plan": {…}}, "generated_at": "…",
//!  "from": "…", "to": "…",
//!  "vehicles": [{"vehicle", "first_fix": "<time>"|null, "last_fix": "<time>"|null, "fixes",
//!                "distance_km", "driven": <GeoJSON LineString>|null, "stops": […], "gaps": […],
//!                "off_route": [<alerts of kind off_route>]}],
//!  "alerts": [<alert as GET /api/v1/alerts shows it> + "transitions": [{"state", "at", "by", "note"}]]}
//! ```
//!
//! The span is the move's (as for the replay, at most 7 days). Each vehicle's fixes are read
//! once, as a stream: counts, distance, stops and gaps are kept as they pass, and the driven
//! line is simplified in pieces of [`DRIVEN_CHUNK`] fixes, so memory does not grow with the
//! track. `fixes` counts every stored fix; the distance (between consecutive fixes, across gaps
//! too), the line, the stops and the gaps leave out fixes marked implausible.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use convoy_core::alert::AlertKind;
use convoy_core::geometry::short_distance_m;
use convoy_core::position::format_time;
use convoy_core::simplify::simplify_indices;
use convoy_core::{Ability, Position, VehicleId};
use convoy_store::StoredPosition;
use geo::Point;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::access::visible_move;
use crate::alert_api::alert_json;
use crate::audit::{self, ClientAddr};
use crate::http::{ApiError, AppState, Authenticated};
use crate::move_span::{self, count_refusal, MoveHistory};
use crate::replay_api::alerts_in;
use crate::stops::{StopThresholds, StopsAndGaps};

/// The driven line is simplified to this tolerance, in metres.
pub(crate) const DRIVEN_TOLERANCE_M: f64 = 5.0;
/// The driven line is simplified this many fixes at a time.
pub(crate) const DRIVEN_CHUNK: usize = 10_000;

#[derive(Deserialize)]
pub(crate) struct ReportQuery {
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
}

pub(crate) async fn move_report(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(client): ClientAddr,
    Path(id): Path<String>,
    query: Result<Query<ReportQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    report_move(&state, user, client, id, query).await.inspect_err(|e| count_refusal(&state, e))
}

async fn report_move(
    state: &AppState,
    user: Authenticated,
    client: Option<std::net::IpAddr>,
    id: String,
    query: Result<Query<ReportQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    user.require(Ability::Report)?;
    let Query(query) =
        query.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()).with_reason("bad_query"))?;
    let history = MoveHistory::of(state, visible_move(state, &user.0, &id).await?)?;
    let span = history.span(query.from, query.to, Utc::now())?;
    move_span::check_length(span)?;
    let detail = json!({ "from": format_time(&span.from), "to": format_time(&span.to) });
    audit::record(state, Some(&user.0.name), client, "move.report", &id, detail).await?;

    let alerts = alerts_in(&state.store, &id, None, span).await?;
    let thresholds = StopThresholds::from(&history.rules);
    let mut vehicles = Vec::new();
    for vehicle in &history.plan.vehicles {
        let mut summary = VehicleSummary::new(thresholds);
        let mut fixes = state.store.track_stream(vehicle, span.from, span.to);
        while let Some(fix) = fixes.recv().await {
            summary.push(&fix?);
        }
        let mut view = summary.finish(vehicle);
        view["off_route"] = alerts
            .iter()
            .filter(|a| a.kind == AlertKind::OffRoute && &a.vehicle == vehicle)
            .map(alert_json)
            .collect::<Vec<_>>()
            .into();
        vehicles.push(view);
    }
    let mut alert_log = Vec::with_capacity(alerts.len());
    for alert in &alerts {
        let transitions: Vec<Value> = state
            .store
            .alert_transitions(&alert.id)
            .await?
            .iter()
            .map(|t| json!({ "state": t.state, "at": format_time(&t.at), "by": t.by, "note": t.note }))
            .collect();
        let mut view = alert_json(alert);
        view["transitions"] = transitions.into();
        alert_log.push(view);
    }
    let mut summary = crate::moves::summary(&history.record);
    summary["plan"] = history.record.plan.clone();
    Ok(Json(json!({
        "move": summary,
        "generated_at": format_time(&Utc::now()),
        "from": format_time(&span.from),
        "to": format_time(&span.to),
        "vehicles": vehicles,
        "alerts": alert_log,
    }))
    .into_response())
}

/// What the report says of one vehicle, gathered as its fixes pass.
pub(crate) struct VehicleSummary {
    first: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
    fixes: u64,
    distance_m: f64,
    previous: Option<Point>,
    stops: StopsAndGaps,
    driven: DrivenLine,
}

impl VehicleSummary {
    pub(crate) fn new(thresholds: StopThresholds) -> Self {
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
    pub(crate) fn push(&mut self, fix: &StoredPosition) {
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

    pub(crate) fn finish(self, vehicle: &VehicleId) -> Value {
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
pub(crate) struct DrivenLine {
    chunk: Vec<Position>,
    /// `[lon, lat]` kept so far.
    kept: Vec<[f64; 2]>,
}

impl DrivenLine {
    pub(crate) fn push(&mut self, position: Position) {
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
    pub(crate) fn finish(mut self) -> Vec<[f64; 2]> {
        self.simplify_chunk();
        self.kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use convoy_core::plausibility::Implausible;

    const THRESHOLDS: StopThresholds = StopThresholds { stop_speed_mps: 1.5, stop_radius_m: 25.0 };

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
            },
            late: false,
            implausible: None,
            received_at: t0(),
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
