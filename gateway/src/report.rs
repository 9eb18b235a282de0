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
use convoy_core::position::format_time;
use convoy_core::stop::StopRule;
use convoy_core::Ability;
use convoy_history::replay::alerts_in;
use convoy_history::summary::VehicleSummary;
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
    let history = MoveHistory::of(visible_move(state, &user.0, &id).await?, &state.rules)?;
    let span = history.span(query.from, query.to, Utc::now())?;
    convoy_history::span::check_length(span)?;
    let detail = json!({ "from": format_time(&span.from), "to": format_time(&span.to) });
    audit::record(state, Some(&user.0.name), client, "move.report", &id, detail).await?;

    let alerts = alerts_in(&state.store, &id, None, span).await?;
    let thresholds = StopRule::from(&history.rules);
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
