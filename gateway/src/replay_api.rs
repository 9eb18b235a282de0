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

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use convoy_core::position::format_time;
use convoy_core::stop::StopRule;
use convoy_core::Ability;
use convoy_history::replay::{alerts_in, write_track, write_value, PositionBudget, MAX_REPLAY_POSITIONS};
use convoy_history::MoveHistory;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::visible_move;
use crate::alert_api::AlertView;
use crate::audit;
use crate::error::ApiError;
use crate::extract::ClientAddr;
use crate::extract::{ApiQuery, Authenticated};
use crate::openapi::{requires, BadRequest, NotFound, PayloadTooLarge, ServiceUnavailable};
use crate::schemas;
use crate::state::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(requires(Ability::Replay, routes!(move_replay)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ReplayQuery {
    /// Only this vehicle of the move (it must be one of the move's vehicles).
    #[param(value_type = Option<schemas::VehicleId>)]
    vehicle: Option<String>,
    /// Fixes at or after this fix time.
    #[param(value_type = Option<schemas::Time>)]
    from: Option<DateTime<Utc>>,
    /// Fixes before this fix time; after `from`.
    #[param(value_type = Option<schemas::Time>)]
    to: Option<DateTime<Utc>>,
}

/// The replay, as [`move_replay`] writes it piece by piece (the schema only).
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // a schema only
pub(crate) struct Replay {
    /// The move's id.
    #[serde(rename = "move")]
    move_id: String,
    #[schema(value_type = schemas::Time)]
    from: String,
    #[schema(value_type = schemas::Time)]
    to: String,
    tracks: Vec<ReplayTrack>,
    #[schema(value_type = Vec<schemas::Stop>)]
    stops: Vec<Value>,
    #[schema(value_type = Vec<schemas::Gap>)]
    gaps: Vec<Value>,
    /// Oldest first.
    alerts: Vec<AlertView>,
}

/// One vehicle's positions in a replay.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // a schema only
pub(crate) struct ReplayTrack {
    #[schema(value_type = schemas::VehicleId)]
    vehicle: String,
    /// In fix-time order.
    #[schema(value_type = Vec<schemas::StoredFix>)]
    positions: Vec<Value>,
}

#[utoipa::path(
    get,
    path = "/api/v1/moves/{id}/replay",
    tag = "moves",
    operation_id = "replayMove",
    summary = "What happened on a move: tracks, stops, data gaps and alerts",
    description = "Covers the move's planned window (or its creation until now), narrowed by `from` and `to` (a range outside the move is 400); at most 7 days and 500,000 positions at once (more positions: 413; narrow the range, pick a vehicle, or export instead). An auditor reads fixes and alerts at least `auditor_delay_minutes` old (the server's `[access]` setting, 60 by default): the span ends there. Recorded in the audit log.",
    params(("id" = String, Path, description = "The move's id, e.g. `m20261128-3f9a1c0b7e21`."), ReplayQuery),
    responses(
        (status = 200, description = "The replay.", body = Replay),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn move_replay(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(client): ClientAddr,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ReplayQuery>,
) -> Result<Response, ApiError> {
    user.require(Ability::Replay)?;
    let state = &state;
    let history = MoveHistory::of(visible_move(state, &user.0, &id).await?, &state.rules)?;
    let vehicles = history.vehicles(query.vehicle.as_deref())?;
    let now = Utc::now();
    // An auditor reads behind the road: the span ends at the newest fix they may read.
    let span = state.access.readable(user.0.role, history.span(query.from, query.to, now)?, now);
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
    let alerts: Vec<AlertView> =
        alerts_in(&state.store, &id, only, span).await?.iter().map(AlertView::of).collect();
    write_value(&mut body, &serde_json::to_value(alerts).unwrap_or_default());
    body.push(b'}');
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}
