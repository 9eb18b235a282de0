//! `GET /api/v1/moves/{id}/replay?vehicle&from&to`: what the replay screen plays back: each
//! vehicle's positions in fix-time order, the stops and data gaps on its timeline (see
//! `stops.rs` for what counts as either), and the move's alerts.
//!
//! ```json
//! {"move": "m20261128-…", "from": "…", "to": "…",
//!  "tracks": [{"vehicle": "truck-07", "positions": [<wire position, with its marks>, …]}],
//!  "stops": [{"vehicle", "from", "to", "lat", "lon", "duration_s"}],
//!  "gaps": [{"vehicle", "from", "to", "duration_s"}],
//!  "alerts": [<as GET /api/v1/alerts shows them, oldest first>]}
//! ```
//!
//! Bounded: the span is at most [`MAX_SPAN_DAYS`](crate::move_span::MAX_SPAN_DAYS) days (400
//! otherwise) and holds at most [`MAX_REPLAY_POSITIONS`] positions (413 otherwise: narrow the
//! range, pick a vehicle, or export the track instead). Alerts are those whose incident overlaps
//! the span (opened before its end and not over before its start), of the chosen vehicle if one
//! is chosen. Fixes marked implausible are shown but neither make nor break a stop or a gap.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use convoy_core::position::format_time;
use convoy_core::{Ability, VehicleId};
use convoy_store::{AlertFilter, AlertRecord, Store};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::access::visible_move;
use crate::alert_api::alert_json;
use crate::audit::{self, ClientAddr};
use crate::http::{ApiError, AppState, Authenticated};
use crate::move_span::{self, count_refusal, MoveHistory, Span};
use crate::stops::{StopThresholds, StopsAndGaps};
use crate::track::TrackFix;

/// The most positions one replay returns (all vehicles together).
pub(crate) const MAX_REPLAY_POSITIONS: usize = 500_000;
/// The most alerts of a move that a replay or report reads.
pub(crate) const MAX_MOVE_ALERTS: u32 = 10_000;

#[derive(Deserialize)]
pub(crate) struct ReplayQuery {
    vehicle: Option<String>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
}

pub(crate) async fn move_replay(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(client): ClientAddr,
    Path(id): Path<String>,
    query: Result<Query<ReplayQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    replay_move(&state, user, client, id, query).await.inspect_err(|e| count_refusal(&state, e))
}

async fn replay_move(
    state: &AppState,
    user: Authenticated,
    client: Option<std::net::IpAddr>,
    id: String,
    query: Result<Query<ReplayQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    user.require(Ability::Replay)?;
    let Query(query) =
        query.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()).with_reason("bad_query"))?;
    let history = MoveHistory::of(state, visible_move(state, &user.0, &id).await?)?;
    let vehicles = history.vehicles(query.vehicle.as_deref())?;
    let span = history.span(query.from, query.to, Utc::now())?;
    move_span::check_length(span)?;
    let detail =
        json!({ "vehicle": query.vehicle, "from": format_time(&span.from), "to": format_time(&span.to) });
    audit::record(state, Some(&user.0.name), client, "move.replay", &id, detail).await?;

    let mut body = serde_json::to_vec(&json!({
        "move": history.record.id,
        "from": format_time(&span.from),
        "to": format_time(&span.to),
    }))
    .unwrap_or_default();
    // Reopen the object for the tracks, written as they are read.
    body.pop();
    body.extend_from_slice(b",\"tracks\":[");
    let thresholds = StopThresholds::from(&history.rules);
    let (mut stops, mut gaps) = (Vec::new(), Vec::new());
    let mut budget = PositionBudget::new(MAX_REPLAY_POSITIONS);
    for (n, vehicle) in vehicles.iter().enumerate() {
        if n > 0 {
            body.push(b',');
        }
        let (vehicle_stops, vehicle_gaps) =
            write_track(&state.store, vehicle, span, thresholds, &mut budget, &mut body).await?;
        stops.extend(vehicle_stops.iter().map(|s| s.to_json(vehicle)));
        gaps.extend(vehicle_gaps.iter().map(|g| g.to_json(vehicle)));
    }
    body.extend_from_slice(b"],\"stops\":");
    write_value(&mut body, &Value::Array(stops));
    body.extend_from_slice(b",\"gaps\":");
    write_value(&mut body, &Value::Array(gaps));
    body.extend_from_slice(b",\"alerts\":");
    let only = query.vehicle.as_ref().map(|_| &vehicles[0]);
    let alerts: Vec<Value> = alerts_in(&state.store, &id, only, span).await?.iter().map(alert_json).collect();
    write_value(&mut body, &Value::Array(alerts));
    body.push(b'}');
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// Appends `{"vehicle":…,"positions":[…]}` for one vehicle and returns its stops and gaps.
async fn write_track(
    store: &Store,
    vehicle: &VehicleId,
    span: Span,
    thresholds: StopThresholds,
    budget: &mut PositionBudget,
    body: &mut Vec<u8>,
) -> Result<(Vec<crate::stops::Stop>, Vec<crate::stops::Gap>), ApiError> {
    // A vehicle id is [A-Za-z0-9._-]: nothing to escape.
    body.extend_from_slice(format!("{{\"vehicle\":\"{vehicle}\",\"positions\":[").as_bytes());
    let mut detector = StopsAndGaps::new(thresholds);
    let mut fixes = store.track_stream(vehicle, span.from, span.to);
    let mut first = true;
    while let Some(fix) = fixes.recv().await {
        let fix = fix?;
        budget.take()?;
        if !first {
            body.push(b',');
        }
        first = false;
        write_value(body, &TrackFix::of(&fix));
        if fix.implausible.is_none() {
            detector.push(&fix.position);
        }
    }
    body.extend_from_slice(b"]}");
    Ok(detector.finish())
}

fn write_value(body: &mut Vec<u8>, value: &impl serde::Serialize) {
    // Positions, alerts and plain JSON values of finite numbers always serialise.
    let _ = serde_json::to_writer(body, value);
}

/// Counts positions against a limit; past it, the request is refused with a 413 that says how
/// to ask for less.
pub(crate) struct PositionBudget {
    left: usize,
    limit: usize,
}

impl PositionBudget {
    pub(crate) fn new(limit: usize) -> Self {
        PositionBudget { left: limit, limit }
    }

    pub(crate) fn take(&mut self) -> Result<(), ApiError> {
        match self.left.checked_sub(1) {
            Some(left) => {
                self.left = left;
                Ok(())
            }
            None => Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "more than {} positions in this range: narrow it with from and to, pick one \
                     vehicle, or download the track as a file (export)",
                    self.limit
                ),
            )
            .with_reason("too_many_positions")),
        }
    }
}

/// The move's alerts (of one vehicle, if given) whose incidents overlap `span`, oldest first.
pub(crate) async fn alerts_in(
    store: &Store,
    move_id: &str,
    vehicle: Option<&VehicleId>,
    span: Span,
) -> Result<Vec<AlertRecord>, ApiError> {
    let filter = AlertFilter {
        move_id: Some(move_id.to_string()),
        vehicle: vehicle.cloned(),
        limit: MAX_MOVE_ALERTS,
        ..Default::default()
    };
    let mut alerts: Vec<AlertRecord> =
        store.alerts(&filter).await?.into_iter().filter(|a| overlaps(a, span)).collect();
    alerts.sort_by(|a, b| a.opened_t.cmp(&b.opened_t).then_with(|| a.id.cmp(&b.id)));
    Ok(alerts)
}

/// Whether an alert's incident (from its opening to when its condition ended or it was
/// resolved, whichever came first) overlaps `span`.
fn overlaps(alert: &AlertRecord, span: Span) -> bool {
    let ended = match (alert.cleared_t, alert.resolved_t) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    alert.opened_t < span.to && ended.is_none_or(|end| end >= span.from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use convoy_core::alert::{AlertKind, AlertState};

    fn at(minute: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, 9, 0, 0).unwrap() + Duration::minutes(minute)
    }

    fn alert(opened: i64, cleared: Option<i64>) -> AlertRecord {
        AlertRecord {
            id: "a1".into(),
            move_id: "m1".into(),
            vehicle: VehicleId::new("truck-07").unwrap(),
            kind: AlertKind::OffRoute,
            zone: None,
            state: AlertState::Open,
            opened_t: at(opened),
            lat: None,
            lon: None,
            detail: json!({}),
            late: false,
            acknowledged_t: None,
            acknowledged_by: None,
            note: None,
            resolved_t: cleared.map(at),
            resolved_by: None,
            cleared_t: cleared.map(at),
            cleared_detail: None,
        }
    }

    #[test]
    fn an_alert_belongs_to_a_span_its_incident_overlaps() {
        let span = Span { from: at(10), to: at(20) };
        assert!(overlaps(&alert(12, Some(13)), span), "inside");
        assert!(overlaps(&alert(5, Some(11)), span), "over at the start");
        assert!(overlaps(&alert(5, None), span), "still open");
        assert!(overlaps(&alert(19, Some(30)), span), "opened before the end");
        assert!(!overlaps(&alert(5, Some(9)), span), "over before");
        assert!(!overlaps(&alert(20, None), span), "opened at the end (exclusive)");
    }

    #[test]
    fn the_budget_refuses_the_position_past_its_limit() {
        let mut budget = PositionBudget::new(2);
        assert!(budget.take().is_ok());
        assert!(budget.take().is_ok());
        let refused = budget.take().unwrap_err().into_response();
        assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
}
