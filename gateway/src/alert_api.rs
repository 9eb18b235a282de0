//! `GET /api/v1/alerts`, `GET /api/v1/alerts/{id}`, `POST /api/v1/alerts/{id}/ack`,
//! `POST /api/v1/alerts/{id}/resolve`.
//!
//! People acknowledge and resolve; the change is recorded (race-safe: of two people at once,
//! one wins and the other is told it is done already) and handed to the server, which
//! publishes it like the rules' own changes.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{SubsecRound, Utc};
use convoy_core::alert::{AlertKind, AlertMessage, AlertState};
use convoy_core::position::format_time;
use convoy_core::{Ability, Role, VehicleId};
use convoy_store::{AlertChange, AlertFilter, AlertRecord, AlertTransition, Delivery, User};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::Scope;
use crate::audit;
use crate::error::ApiError;
use crate::extract::ClientAddr;
use crate::extract::{ApiQuery, Authenticated};
use crate::openapi::{requires, signed_in, BadRequest, Conflict, NotFound, ServiceUnavailable};
use crate::recency;
use crate::reply::Reply;
use crate::schemas;
use crate::state::AppState;

/// The most alerts one listing returns.
const MAX_LIMIT: u32 = 1000;
/// The longest note a person may give, in characters.
const MAX_NOTE_CHARS: usize = 2000;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(signed_in(routes!(list_alerts)))
        .routes(signed_in(routes!(get_alert)))
        .routes(requires(Ability::Acknowledge, routes!(acknowledge)))
        .routes(requires(Ability::Acknowledge, routes!(resolve)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AlertQuery {
    /// Only alerts in this state.
    #[param(value_type = Option<schemas::AlertState>)]
    state: Option<String>,
    /// Only this move's alerts.
    #[serde(rename = "move")]
    move_id: Option<String>,
    /// Only this vehicle's alerts.
    #[param(value_type = Option<schemas::VehicleId>)]
    vehicle: Option<String>,
    /// At most this many alerts.
    #[param(minimum = 1, maximum = 1000, default = 1000)]
    limit: Option<u32>,
}

/// An alert as it stands: as on MQTT, plus its lifecycle. Rule decisions carry fix times
/// (`opened_t` is the time of the fix that made the rule fire); people's actions carry the time
/// they acted.
#[derive(Serialize, ToSchema)]
#[schema(as = Alert)]
pub(crate) struct AlertView {
    #[schema(value_type = u32, minimum = 1, maximum = 1)]
    v: u32,
    id: String,
    #[schema(value_type = schemas::AlertKind)]
    kind: AlertKind,
    #[schema(value_type = schemas::AlertState)]
    state: AlertState,
    #[schema(value_type = schemas::VehicleId)]
    vehicle: VehicleId,
    #[serde(rename = "move")]
    move_id: String,
    #[schema(required = true)]
    zone: Option<String>,
    #[schema(value_type = schemas::Time)]
    t: String,
    #[schema(required = true)]
    lat: Option<f64>,
    #[schema(required = true)]
    lon: Option<f64>,
    /// Rule-specific facts.
    detail: Value,
    late: bool,
    #[schema(value_type = schemas::Time)]
    opened_t: String,
    #[schema(value_type = Option<schemas::Time>, required = true)]
    acknowledged_t: Option<String>,
    #[schema(required = true)]
    acknowledged_by: Option<String>,
    /// The latest note a person gave.
    #[schema(required = true)]
    note: Option<String>,
    #[schema(value_type = Option<schemas::Time>, required = true)]
    resolved_t: Option<String>,
    /// `rule` or a user name.
    #[schema(required = true)]
    resolved_by: Option<String>,
    #[schema(value_type = Option<schemas::Time>, required = true)]
    cleared_t: Option<String>,
    /// What the rule saw when the condition ended.
    #[schema(required = true)]
    cleared_detail: Option<Value>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct AlertList {
    #[schema(max_items = 1000)]
    alerts: Vec<AlertView>,
}

/// One change of an alert's state.
#[derive(Serialize, ToSchema)]
#[schema(as = AlertTransition)]
pub(crate) struct TransitionView {
    #[schema(value_type = schemas::AlertState)]
    state: AlertState,
    #[schema(value_type = schemas::Time)]
    at: String,
    /// `rule` or a user name.
    by: String,
    #[schema(required = true)]
    note: Option<String>,
}

impl TransitionView {
    pub(crate) fn of(t: &AlertTransition) -> Self {
        Self { state: t.state, at: format_time(&t.at), by: t.by.clone(), note: t.note.clone() }
    }
}

/// One attempt of a notifier to deliver a state of the alert.
#[derive(Serialize, ToSchema)]
#[schema(as = Delivery)]
pub(crate) struct DeliveryView {
    #[schema(value_type = schemas::AlertState)]
    state: AlertState,
    notifier: String,
    #[schema(minimum = 1)]
    attempt: u32,
    #[schema(value_type = schemas::Time)]
    at: String,
    ok: bool,
    /// What the far end answered, or the error.
    detail: String,
}

impl DeliveryView {
    fn of(d: &Delivery) -> Self {
        Self {
            state: d.state,
            notifier: d.notifier.clone(),
            attempt: d.attempt,
            at: format_time(&d.at),
            ok: d.ok,
            detail: d.detail.clone(),
        }
    }
}

/// An alert with its transitions and its notifiers' deliveries.
#[derive(Serialize, ToSchema)]
pub(crate) struct AlertDetail {
    #[serde(flatten)]
    alert: AlertView,
    transitions: Vec<TransitionView>,
    deliveries: Vec<DeliveryView>,
}

#[utoipa::path(
    get,
    path = "/api/v1/alerts",
    tag = "alerts",
    operation_id = "listAlerts",
    summary = "Alerts, newest first",
    description = "At most `limit` alerts, with no paging: for every alert, a time range, a kind or a note's text, see `GET /api/v1/alerts/history` (`alertHistory`). Escorts: assigned moves only (asking for another move's alerts gives an empty list, as for a move that does not exist). An auditor gets an alert opened less than `auditor_delay_minutes` ago (the server's `[access]` setting, 60 by default) without its place: `lat`, `lon` and `zone` are null. Recorded in the audit log.",
    params(AlertQuery),
    responses(
        (status = 200, description = "The alerts.", body = AlertList),
        (status = 400, response = BadRequest),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn list_alerts(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    ApiQuery(query): ApiQuery<AlertQuery>,
) -> Result<Reply<AlertList>, ApiError> {
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
    let newest = state.access.newest_for(user.0.role, Utc::now());
    let alerts = visible_alerts(&state, &user.0, filter)
        .await?
        .into_iter()
        .map(|alert| AlertView::of(&recency::placeless_if_recent(alert, newest)))
        .collect();
    audit::record(&state, Some(&user.0.name), from, "alert.view", "alerts", detail).await?;
    Ok(Reply::ok(AlertList { alerts }))
}

#[utoipa::path(
    get,
    path = "/api/v1/alerts/{id}",
    tag = "alerts",
    operation_id = "getAlert",
    summary = "An alert with its transitions and notifier deliveries",
    description = "Escorts: assigned moves only. An auditor gets an alert opened less than `auditor_delay_minutes` ago without its place (`lat`, `lon` and `zone` null). Recorded in the audit log.",
    params(("id" = String, Path, description = "The alert's id.")),
    responses(
        (status = 200, description = "The alert.", body = AlertDetail),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn get_alert(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    Path(id): Path<String>,
) -> Result<Reply<AlertDetail>, ApiError> {
    let record = visible_alert(&state, &user.0, &id).await?;
    audit::record(&state, Some(&user.0.name), from, "alert.view", &id, json!({})).await?;
    let transitions = state.store.alert_transitions(&id).await?.iter().map(TransitionView::of).collect();
    let deliveries = state.store.deliveries(&id).await?.iter().map(DeliveryView::of).collect();
    let record = recency::placeless_if_recent(record, state.access.newest_for(user.0.role, Utc::now()));
    Ok(Reply::ok(AlertDetail { alert: AlertView::of(&record), transitions, deliveries }))
}

#[derive(Deserialize, Default, ToSchema)]
pub(crate) struct NoteRequest {
    #[schema(max_length = 2000)]
    note: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/alerts/{id}/ack",
    tag = "alerts",
    operation_id = "acknowledgeAlert",
    summary = "Acknowledge an open alert, with a note",
    description = "Escorts: assigned moves only. Race-safe: of two people at once, one wins and the other gets 409. The change is published like the rules' own and recorded in the audit log. The body may be left out.",
    params(("id" = String, Path, description = "The alert's id.")),
    request_body = Option<NoteRequest>,
    responses(
        (status = 200, description = "The alert, acknowledged.", body = AlertView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn acknowledge(
    state: State<AppState>,
    user: Authenticated,
    from: ClientAddr,
    id: Path<String>,
    body: Result<Json<NoteRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Reply<AlertView>, ApiError> {
    act(state, user, from, id, body, AlertState::Acknowledged).await
}

#[utoipa::path(
    post,
    path = "/api/v1/alerts/{id}/resolve",
    tag = "alerts",
    operation_id = "resolveAlert",
    summary = "Resolve an alert, with an optional note",
    description = "Escorts: assigned moves only. 409 if it is resolved already. The change is published like the rules' own and recorded in the audit log. The body may be left out.",
    params(("id" = String, Path, description = "The alert's id.")),
    request_body = Option<NoteRequest>,
    responses(
        (status = 200, description = "The alert, resolved.", body = AlertView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn resolve(
    state: State<AppState>,
    user: Authenticated,
    from: ClientAddr,
    id: Path<String>,
    body: Result<Json<NoteRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Reply<AlertView>, ApiError> {
    act(state, user, from, id, body, AlertState::Resolved).await
}

async fn act(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    Path(id): Path<String>,
    body: Result<Json<NoteRequest>, axum::extract::rejection::JsonRejection>,
    to: AlertState,
) -> Result<Reply<AlertView>, ApiError> {
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
            Ok(Reply::ok(AlertView::of(&record)))
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

impl AlertView {
    /// An alert as the API shows it: as on MQTT, plus its lifecycle.
    pub(crate) fn of(record: &AlertRecord) -> Self {
        let time = |t: &Option<chrono::DateTime<Utc>>| t.as_ref().map(format_time);
        AlertView {
            v: AlertMessage::VERSION,
            id: record.id.clone(),
            kind: record.kind,
            state: record.state,
            vehicle: record.vehicle.clone(),
            move_id: record.move_id.clone(),
            zone: record.zone.clone(),
            t: format_time(&record.opened_t),
            lat: record.lat,
            lon: record.lon,
            detail: record.detail.clone(),
            late: record.late,
            opened_t: format_time(&record.opened_t),
            acknowledged_t: time(&record.acknowledged_t),
            acknowledged_by: record.acknowledged_by.clone(),
            note: record.note.clone(),
            resolved_t: time(&record.resolved_t),
            resolved_by: record.resolved_by.clone(),
            cleared_t: time(&record.cleared_t),
            cleared_detail: record.cleared_detail.clone(),
        }
    }
}
