//! `GET /api/v1/alerts`, `GET /api/v1/alerts/{id}`, `POST /api/v1/alerts/{id}/ack`,
//! `POST /api/v1/alerts/{id}/resolve`.
//!
//! People acknowledge and resolve; the change is recorded (race-safe: of two people at once,
//! one wins and the other is told it is done already) and handed to the server, which
//! publishes it like the rules' own changes.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{SubsecRound, Utc};
use convoy_core::alert::{AlertMessage, AlertState};
use convoy_core::position::format_time;
use convoy_core::{Ability, Role, VehicleId};
use convoy_store::{AlertChange, AlertFilter, AlertRecord, User};
use serde::Deserialize;
use serde_json::json;

use crate::access::Scope;
use crate::audit;
use crate::error::ApiError;
use crate::extract::Authenticated;
use crate::extract::ClientAddr;
use crate::state::AppState;

/// The most alerts one listing returns.
const MAX_LIMIT: u32 = 1000;
/// The longest note a person may give, in characters.
const MAX_NOTE_CHARS: usize = 2000;

#[derive(Deserialize)]
pub(crate) struct AlertQuery {
    state: Option<String>,
    #[serde(rename = "move")]
    move_id: Option<String>,
    vehicle: Option<String>,
    limit: Option<u32>,
}

pub(crate) async fn list_alerts(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    query: Result<Query<AlertQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    let alert_state = match query.state.as_deref() {
        None => None,
        Some(text) => Some(AlertState::parse(text).ok_or_else(|| {
            ApiError::new(StatusCode::BAD_REQUEST, "state must be open, acknowledged or resolved")
        })?),
    };
    let vehicle = match query.vehicle {
        None => None,
        Some(text) => {
            Some(VehicleId::new(text).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.to_string()))?)
        }
    };
    let limit = query.limit.unwrap_or(MAX_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, format!("limit must be 1 to {MAX_LIMIT}")));
    }
    let filter = AlertFilter { state: alert_state, move_id: query.move_id, vehicle, limit };
    let detail =
        json!({ "state": filter.state, "move": filter.move_id, "vehicle": filter.vehicle, "limit": limit });
    let alerts: Vec<_> = visible_alerts(&state, &user.0, filter).await?.iter().map(alert_json).collect();
    audit::record(&state, Some(&user.0.name), from, "alert.view", "alerts", detail).await?;
    Ok(Json(json!({ "alerts": alerts })).into_response())
}

pub(crate) async fn get_alert(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let record = visible_alert(&state, &user.0, &id).await?;
    audit::record(&state, Some(&user.0.name), from, "alert.view", &id, json!({})).await?;
    let transitions: Vec<_> = state
        .store
        .alert_transitions(&id)
        .await?
        .iter()
        .map(|t| json!({ "state": t.state, "at": format_time(&t.at), "by": t.by, "note": t.note }))
        .collect();
    let deliveries: Vec<_> = state
        .store
        .deliveries(&id)
        .await?
        .iter()
        .map(|d| {
            json!({ "state": d.state, "notifier": d.notifier, "attempt": d.attempt, "at": format_time(&d.at), "ok": d.ok, "detail": d.detail })
        })
        .collect();
    let mut body = alert_json(&record);
    body["transitions"] = transitions.into();
    body["deliveries"] = deliveries.into();
    Ok(Json(body).into_response())
}

#[derive(Deserialize, Default)]
pub(crate) struct NoteRequest {
    note: Option<String>,
}

pub(crate) async fn acknowledge(
    state: State<AppState>,
    user: Authenticated,
    from: ClientAddr,
    id: Path<String>,
    body: Result<Json<NoteRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    act(state, user, from, id, body, AlertState::Acknowledged).await
}

pub(crate) async fn resolve(
    state: State<AppState>,
    user: Authenticated,
    from: ClientAddr,
    id: Path<String>,
    body: Result<Json<NoteRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    act(state, user, from, id, body, AlertState::Resolved).await
}

async fn act(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    Path(id): Path<String>,
    body: Result<Json<NoteRequest>, axum::extract::rejection::JsonRejection>,
    to: AlertState,
) -> Result<Response, ApiError> {
    user.require(Ability::Acknowledge)?;
    let note = match body {
        Ok(Json(request)) => request.note,
        // No body at all is a change without a note.
        Err(axum::extract::rejection::JsonRejection::MissingJsonContentType(_)) => None,
        Err(e) => return Err(ApiError::new(StatusCode::BAD_REQUEST, e.body_text())),
    };
    let note = note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    if note.as_ref().is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("a note is at most {MAX_NOTE_CHARS} characters"),
        ));
    }
    visible_alert(&state, &user.0, &id).await?;
    let now = Utc::now().trunc_subsecs(3);
    let by = user.0.name.as_str();
    let change = match to {
        AlertState::Acknowledged => state.store.acknowledge_alert(&id, by, note.as_deref(), now).await?,
        _ => state.store.resolve_alert(&id, by, note.as_deref(), now).await?,
    };
    match change {
        AlertChange::Changed(record) => {
            tracing::info!(alert = %id, state = to.as_str(), by, "alert changed by a person");
            let action = if to == AlertState::Acknowledged { "alert.ack" } else { "alert.resolve" };
            audit::record(&state, Some(by), from, action, &id, json!({ "note": note })).await?;
            let message = record.message(now, json!({ "by": by, "note": note }), false);
            let _ = state.events.alert_changes.send(message);
            Ok(Json(alert_json(&record)).into_response())
        }
        AlertChange::AlreadyInState(record) => Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("the alert is {} already; nothing changed", record.state.as_str()),
        )),
        AlertChange::NotFound => Err(ApiError::new(StatusCode::NOT_FOUND, "no such alert")),
    }
}

/// The alert `id` if `user` may see it. An alert of a move an escort is not assigned to is
/// answered exactly as one that does not exist (404).
async fn visible_alert(state: &AppState, user: &User, id: &str) -> Result<AlertRecord, ApiError> {
    let no_such_alert = || ApiError::new(StatusCode::NOT_FOUND, "no such alert");
    // An escort's assignments first, then the alert: the same reads whether it exists or not.
    let assigned = match user.role {
        Role::Escort => Some(state.store.moves_of_user(&user.name).await?),
        _ => None,
    };
    let record = state.store.alert(id).await?.ok_or_else(no_such_alert)?;
    if assigned.is_some_and(|moves| !moves.contains(&record.move_id)) {
        return Err(no_such_alert());
    }
    Ok(record)
}

/// The alerts `filter` selects among those `user` may see, newest first.
async fn visible_alerts(
    state: &AppState,
    user: &User,
    filter: AlertFilter,
) -> Result<Vec<AlertRecord>, ApiError> {
    let Scope::Assigned { moves, .. } = Scope::of(&state.store, user).await? else {
        return Ok(state.store.alerts(&filter).await?);
    };
    if let Some(move_id) = &filter.move_id {
        if !moves.contains(move_id) {
            // As for a move that does not exist: nothing.
            return Ok(Vec::new());
        }
        return Ok(state.store.alerts(&filter).await?);
    }
    // An escort's alerts: each assigned move's, merged.
    let mut records = Vec::new();
    for move_id in moves {
        records.extend(state.store.alerts(&AlertFilter { move_id: Some(move_id), ..filter.clone() }).await?);
    }
    records.sort_by(|a, b| b.opened_t.cmp(&a.opened_t).then_with(|| a.id.cmp(&b.id)));
    records.truncate(filter.limit as usize);
    Ok(records)
}

/// An alert as the API shows it: as on MQTT, plus its lifecycle.
pub(crate) fn alert_json(record: &AlertRecord) -> serde_json::Value {
    let time = |t: &Option<chrono::DateTime<Utc>>| t.as_ref().map(format_time);
    json!({
        "v": AlertMessage::VERSION,
        "id": record.id,
        "kind": record.kind,
        "state": record.state,
        "vehicle": record.vehicle,
        "move": record.move_id,
        "zone": record.zone,
        "t": format_time(&record.opened_t),
        "lat": record.lat,
        "lon": record.lon,
        "detail": record.detail,
        "late": record.late,
        "opened_t": format_time(&record.opened_t),
        "acknowledged_t": time(&record.acknowledged_t),
        "acknowledged_by": record.acknowledged_by,
        "note": record.note,
        "resolved_t": time(&record.resolved_t),
        "resolved_by": record.resolved_by,
        "cleared_t": time(&record.cleared_t),
        "cleared_detail": record.cleared_detail,
    })
}
