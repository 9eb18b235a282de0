//! `PUT /api/v1/moves/{id}/plan` and `GET /api/v1/moves/{id}/versions`: editing a move's plan,
//! each edit kept as a new version with who, when and what it changed.
//!
//! Until its window starts a move's whole plan may change; once it runs only its team and its
//! end time (the vehicles are on the road along the corridor their people were given). An edit
//! names the version it replaces, so of two people editing one version the second is told,
//! never overwritten. The server hands the new plan to the alert rules, which judge the fixes
//! after it by the new plan and re-judge nothing before it; the vehicles' move windows and the
//! phones' tracking follow the move's new window and team. Each refusal is counted by reason
//! (`convoy_gateway_move_edits_refused_total`) and changes nothing.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{SubsecRound, Utc};
use convoy_core::plan::{changed_fields, refused_once_started, MovePlan, PLAN_REJECTION_REASONS};
use convoy_core::Ability;
use convoy_store::{MoveState, PlanEdit, PlanEdited};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::visible_move;
use crate::audit;
use crate::error::ApiError;
use crate::extract::{ApiJson, Authenticated, ClientAddr};
use crate::moves::{view, MoveView};
use crate::openapi::{
    requires, signed_in, BadRequest, Conflict, NotFound, PayloadTooLarge, ServiceUnavailable,
    UnprocessableEntity, UnsupportedMediaType,
};
use crate::reply::Reply;
use crate::schemas;
use crate::state::{AppState, MoveChange};

/// The most people on a team (as `PUT /api/v1/moves/{id}/team`).
const MAX_TEAM: usize = 100;

/// Every reason an edit is refused for, beside the plan's own checks' (`PLAN_REJECTION_REASONS`).
pub const MOVE_EDIT_REFUSAL_REASONS: [&str; 9] = [
    "unknown_move",
    "already_over",
    "stale_version",
    "started",
    "end_in_past",
    "no_change",
    "team_too_large",
    "unknown_person",
    "unknown_vehicle",
];

/// Every reason `convoy_gateway_move_edits_refused_total` counts by.
pub fn refusal_reasons() -> impl Iterator<Item = &'static str> {
    MOVE_EDIT_REFUSAL_REASONS
        .into_iter()
        .chain(PLAN_REJECTION_REASONS)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
}

/// The edit routes; the router gives them the plans' body limit.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(requires(Ability::Plan, routes!(edit_plan)))
        .routes(signed_in(routes!(plan_versions)))
}

/// A new plan for a move, whole, and the version it replaces.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PlanEditRequest {
    /// The version this edit was made from (the move's `version` when it was read).
    #[schema(minimum = 1, example = 1)]
    replaces: u32,
    /// The whole plan, as at creation.
    #[schema(value_type = schemas::MovePlan)]
    plan: Value,
    /// The people escorting the move, replacing its team; absent leaves the team as it is.
    #[schema(value_type = Option<Vec<schemas::UserName>>, max_items = 100)]
    #[serde(default)]
    team: Option<Vec<String>>,
}

#[utoipa::path(
    put,
    path = "/api/v1/moves/{id}/plan",
    tag = "moves",
    operation_id = "editMovePlan",
    summary = "Edit a move's plan (a new version)",
    description = "The whole new plan (the creation's schema), the version it replaces and optionally the team. Before the window starts anything may change; once the move runs only its team and its end time (`window.to`). The change is kept as the move's next version with who, when and which fields changed; the alert rules judge the fixes after it by the new plan. Refusals change nothing and are counted by reason (`convoy_gateway_move_edits_refused_total`): the plan's own checks as at creation (400, 413); `no_change`, `end_in_past` (an end time before now), `team_too_large` (400); `unknown_vehicle`, `unknown_person` (422); `stale_version` (another edit came first: reload), `started` (a change other than team and end time once the window started; the message names the fields), `already_over` (ended or cancelled) (409); `unknown_move` (404). Recorded in the audit log (`move.edit`) with the version and the fields changed.",
    params(("id" = String, Path, description = "The move's id.")),
    request_body = PlanEditRequest,
    responses(
        (status = 200, description = "The move with its new plan and version.", body = MoveView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn edit_plan(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    Path(id): Path<String>,
    body: Result<ApiJson<PlanEditRequest>, ApiError>,
) -> Result<Reply<MoveView>, ApiError> {
    // The role first: someone who may not plan learns nothing from the body's checks.
    user.require(Ability::Plan)?;
    let refuse = |error: ApiError, reason: &'static str| {
        state.metrics.move_edits_refused.with_label_values(&[reason]).inc();
        error.with_reason(reason)
    };
    let ApiJson(request) = body.map_err(|e| {
        let reason = if e.status() == StatusCode::PAYLOAD_TOO_LARGE { "too_large" } else { "malformed" };
        refuse(e, reason)
    })?;
    let record = visible_move(&state, &user.0, &id).await.map_err(|e| match e.status() {
        StatusCode::NOT_FOUND => refuse(e, "unknown_move"),
        _ => e,
    })?;
    let now = Utc::now().trunc_subsecs(3);
    let move_state = record.state_at(now);
    if matches!(move_state, MoveState::Ended | MoveState::Cancelled) {
        let message =
            format!("the move is {}: its plan no longer changes; nothing changed", move_state.as_str());
        return Err(refuse(ApiError::new(StatusCode::CONFLICT, message), "already_over"));
    }
    if request.replaces != record.version {
        return Err(refuse(stale(request.replaces, record.version), "stale_version"));
    }
    let plan = MovePlan::from_json(request.plan.to_string().as_bytes()).map_err(|e| {
        let status =
            if e.reason() == "too_large" { StatusCode::PAYLOAD_TOO_LARGE } else { StatusCode::BAD_REQUEST };
        refuse(ApiError::new(status, format!("plan refused: {e}")), e.reason())
    })?;
    let stored = MovePlan::from_json(record.plan.to_string().as_bytes()).map_err(|e| {
        tracing::error!(move_id = %id, error = %e, "a stored plan does not read back");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "the move's stored plan cannot be read")
    })?;

    let mut changes: Vec<String> = changed_fields(&stored, &plan).into_iter().map(str::to_string).collect();
    let team = match request.team {
        Some(team) => {
            let team = checked_team(&state, team).await?.map_err(|(e, why)| refuse(e, why))?;
            (team != state.store.move_team(&id).await?).then_some(team)
        }
        None => None,
    };
    if team.is_some() {
        changes.push("team".into());
    }
    if changes.is_empty() {
        let error =
            ApiError::new(StatusCode::BAD_REQUEST, "the plan is the same as the move's; nothing changed");
        return Err(refuse(error, "no_change"));
    }
    if move_state == MoveState::Running {
        let plan_changes: Vec<&str> = changes.iter().map(String::as_str).filter(|c| *c != "team").collect();
        let refused = refused_once_started(&plan_changes);
        if !refused.is_empty() {
            let message = format!(
                "the move has started: only its team and its end time (window.to) may change, not {}; nothing changed",
                refused.join(", ")
            );
            return Err(refuse(ApiError::new(StatusCode::CONFLICT, message), "started"));
        }
    }
    if let Some(window) = plan.window.filter(|_| changes.iter().any(|c| c == "window.to")) {
        if window.to < now {
            let message = "the new end time is in the past; nothing changed";
            return Err(refuse(ApiError::new(StatusCode::BAD_REQUEST, message), "end_in_past"));
        }
    }
    let registered = state.store.registered_among(&plan.vehicles).await?;
    let unknown: Vec<String> =
        plan.vehicles.iter().filter(|v| !registered.contains(v)).map(|v| v.to_string()).collect();
    if !unknown.is_empty() {
        let message = format!("vehicles not registered: {}", unknown.join(", "));
        return Err(refuse(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message), "unknown_vehicle"));
    }

    let edit = PlanEdit {
        replaces: record.version,
        name: plan.name.clone(),
        plan: plan.to_json(),
        at: now,
        by: user.0.name.clone(),
        changes: changes.clone(),
        team,
    };
    let version = match state.store.edit_move_plan(&id, &edit).await? {
        PlanEdited::Stored(version) => version,
        PlanEdited::Stale { current } => {
            return Err(refuse(stale(request.replaces, current), "stale_version"))
        }
        PlanEdited::Over => {
            let message = "the move was ended or cancelled just now; nothing changed";
            return Err(refuse(ApiError::new(StatusCode::CONFLICT, message), "already_over"));
        }
        PlanEdited::UnknownMove => {
            return Err(refuse(ApiError::new(StatusCode::NOT_FOUND, "no such move"), "unknown_move"))
        }
    };
    tracing::info!(move_id = %id, version, changes = ?changes, by = %edit.by, "move plan edited");
    let detail = json!({ "version": version, "changes": changes });
    audit::record(&state, Some(&edit.by), from, "move.edit", &id, detail).await?;
    let _ = state.events.move_changes.send(MoveChange::Edited(id.clone()));
    let record = state
        .store
        .move_record(&id)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no such move"))?;
    Ok(Reply::ok(view(&state, &record).await?))
}

fn stale(replaces: u32, current: u32) -> ApiError {
    let message = format!(
        "the plan was changed since version {replaces}: it is at version {current} now; reload it and edit again; nothing changed"
    );
    ApiError::new(StatusCode::CONFLICT, message)
}

/// The team sorted and without repeats if every one of them exists, else the refusal and its
/// reason (the outer error: the store failed).
async fn checked_team(
    state: &AppState,
    mut team: Vec<String>,
) -> Result<Result<Vec<String>, (ApiError, &'static str)>, ApiError> {
    if team.len() > MAX_TEAM {
        let message = format!("a team has at most {MAX_TEAM} people");
        return Ok(Err((ApiError::new(StatusCode::BAD_REQUEST, message), "team_too_large")));
    }
    team.sort();
    team.dedup();
    let mut unknown = Vec::new();
    for name in &team {
        if state.store.user(name).await?.is_none() {
            unknown.push(name.clone());
        }
    }
    if !unknown.is_empty() {
        // Names are echoed as JSON strings only, never as markup.
        let message = format!("no such users: {}", unknown.join(", "));
        return Ok(Err((ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message), "unknown_person")));
    }
    Ok(Ok(team))
}

/// One version of a move's plan.
#[derive(Serialize, ToSchema)]
pub(crate) struct PlanVersionView {
    version: u32,
    /// When it was made (the move's creation for version 1).
    #[schema(value_type = schemas::Time)]
    at: String,
    /// Who made it.
    by: String,
    /// The fields it changed (`name`, `vehicles`, `escorts`, `route`, `corridor_m`, `zones`,
    /// `window.from`, `window.to`, `rules`, `team`); empty for version 1, the plan as created.
    changes: Vec<String>,
    /// The team it set; null if it left the team as it was.
    #[schema(value_type = Option<Vec<schemas::UserName>>, required = true)]
    team: Option<Vec<String>>,
    #[schema(value_type = schemas::MovePlan)]
    plan: Value,
}

/// A move's plan versions, newest first.
#[derive(Serialize, ToSchema)]
pub(crate) struct PlanVersions {
    #[serde(rename = "move")]
    move_id: String,
    versions: Vec<PlanVersionView>,
}

#[utoipa::path(
    get,
    path = "/api/v1/moves/{id}/versions",
    tag = "moves",
    operation_id = "movePlanVersions",
    summary = "A move's plan versions, newest first",
    description = "Each with who made it, when, which fields it changed, the team it set and its plan. Escorts: assigned moves only (another move is 404, as one that does not exist). Recorded in the audit log (`move.versions`).",
    params(("id" = String, Path, description = "The move's id.")),
    responses(
        (status = 200, description = "The versions.", body = PlanVersions),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn plan_versions(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    Path(id): Path<String>,
) -> Result<Reply<PlanVersions>, ApiError> {
    visible_move(&state, &user.0, &id).await?;
    let versions = state.store.plan_versions(&id).await?;
    audit::record(&state, Some(&user.0.name), from, "move.versions", &id, json!({})).await?;
    let versions = versions
        .into_iter()
        .map(|v| PlanVersionView {
            version: v.version,
            at: convoy_core::position::format_time(&v.at),
            by: v.by,
            changes: v.changes,
            team: v.team,
            plan: v.plan,
        })
        .collect();
    Ok(Reply::ok(PlanVersions { move_id: id, versions }))
}
