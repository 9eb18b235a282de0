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
//! Bounded: the span is at most [`MAX_SPAN_DAYS`](convoy_history::span::MAX_SPAN_DAYS) days (400
//! otherwise) and holds at most [`MAX_REPLAY_POSITIONS`] positions (413 otherwise: narrow the
//! range, pick a vehicle, or export the track instead). Alerts are those whose incident overlaps
//! the span (opened before its end and not over before its start), of the chosen vehicle if one
//! is chosen. Fixes marked implausible are shown but neither make nor break a stop or a gap.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use convoy_core::position::format_time;
use convoy_core::stop::StopRule;
use convoy_core::Ability;
use convoy_history::replay::{alerts_in, write_track, write_value, PositionBudget, MAX_REPLAY_POSITIONS};
use convoy_history::MoveHistory;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::access::visible_move;
use crate::alert_api::alert_json;
use crate::audit;
use crate::error::ApiError;
use crate::extract::Authenticated;
use crate::extract::ClientAddr;
use crate::move_span::count_refusal;
use crate::state::AppState;

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
    let history = MoveHistory::of(visible_move(state, &user.0, &id).await?, &state.rules)?;
    let vehicles = history.vehicles(query.vehicle.as_deref())?;
    let span = history.span(query.from, query.to, Utc::now())?;
    convoy_history::span::check_length(span)?;
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
    let thresholds = StopRule::from(&history.rules);
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
