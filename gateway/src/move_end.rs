//! `POST /api/v1/moves/{id}/end` and `POST /api/v1/moves/{id}/cancel`: a person stopping a move
//! before its window closes, with a reason.
//!
//! Ending is for a move that is running (it happened, and is over early); cancelling is for a
//! move that has not started (it never happens). So each has one meaning in the record: a
//! running move is ended, not cancelled, and a planned one is cancelled, not ended. Either
//! happens once; the first end stands. From the end on, the alert rules stop evaluating the
//! move (its open alerts stay for people to resolve, as when a window closes), a person's phone
//! is no longer tracked for it, and its vehicles' agents get their windows without it. Each
//! refusal is counted by reason (`convoy_gateway_move_ends_refused_total`) and changes nothing.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{SubsecRound, Utc};
use convoy_core::Ability;
use convoy_store::{MoveEnd, MoveState};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::visible_move;
use crate::audit;
use crate::error::ApiError;
use crate::extract::{ApiJson, Authenticated, ClientAddr};
use crate::moves::{view, MoveView};
use crate::openapi::{requires, BadRequest, Conflict, NotFound, ServiceUnavailable, UnsupportedMediaType};
use crate::reply::Reply;
use crate::state::{AppState, MoveChange};

/// The longest reason, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// Every reason a refusal is counted by.
pub const MOVE_END_REFUSAL_REASONS: [&str; 7] = [
    "malformed",
    "empty_reason",
    "reason_too_long",
    "unknown_move",
    "not_started",
    "running",
    "already_over",
];

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(requires(Ability::Plan, routes!(end_move)))
        .routes(requires(Ability::Plan, routes!(cancel_move)))
}

/// Why the move is stopped.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EndRequest {
    #[schema(min_length = 1, max_length = 500, example = "delivered; the convoy turned back")]
    reason: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/moves/{id}/end",
    tag = "moves",
    operation_id = "endMove",
    summary = "End a running move now, with a reason",
    description = "For a move inside its window (one without a window runs from its creation). From now on the alert rules stop evaluating it (its open alerts stay for people to resolve), a person's phone is no longer tracked for it, and its vehicles' agents get their windows without it. 409 for a move that has not started (cancel it), or that is over already (ended or cancelled); 400 for an empty reason or one over 500 characters. Refusals change nothing and are counted by reason (`convoy_gateway_move_ends_refused_total`). Recorded in the audit log with the reason.",
    params(("id" = String, Path, description = "The move's id.")),
    request_body = EndRequest,
    responses(
        (status = 200, description = "The move, ended.", body = MoveView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn end_move(
    state: State<AppState>,
    user: Authenticated,
    from: ClientAddr,
    id: Path<String>,
    body: Result<ApiJson<EndRequest>, ApiError>,
) -> Result<Reply<MoveView>, ApiError> {
    stop(state, user, from, id, body, Stop::End).await
}

#[utoipa::path(
    post,
    path = "/api/v1/moves/{id}/cancel",
    tag = "moves",
    operation_id = "cancelMove",
    summary = "Cancel a move that has not started, with a reason",
    description = "For a move whose window has not started: it will not run, and no rule, phone or agent follows it. 409 for a move that is running (end it instead) or over already (ended or cancelled); 400 for an empty reason or one over 500 characters. Refusals change nothing and are counted by reason (`convoy_gateway_move_ends_refused_total`). Recorded in the audit log with the reason.",
    params(("id" = String, Path, description = "The move's id.")),
    request_body = EndRequest,
    responses(
        (status = 200, description = "The move, cancelled.", body = MoveView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn cancel_move(
    state: State<AppState>,
    user: Authenticated,
    from: ClientAddr,
    id: Path<String>,
    body: Result<ApiJson<EndRequest>, ApiError>,
) -> Result<Reply<MoveView>, ApiError> {
    stop(state, user, from, id, body, Stop::Cancel).await
}

#[derive(Clone, Copy, PartialEq)]
enum Stop {
    End,
    Cancel,
}

async fn stop(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    Path(id): Path<String>,
    body: Result<ApiJson<EndRequest>, ApiError>,
    stop: Stop,
) -> Result<Reply<MoveView>, ApiError> {
    // The role first: someone who may not plan learns nothing from the body's checks.
    user.require(Ability::Plan)?;
    let count = |reason: &'static str| state.metrics.move_ends_refused.with_label_values(&[reason]).inc();
    let refuse = |error: ApiError, reason: &'static str| {
        count(reason);
        error.with_reason(reason)
    };
    // A body that is not JSON, lacks the reason or is too large keeps its own answer (400, 415,
    // 413); it is counted as malformed.
    let ApiJson(request) = body.inspect_err(|_| count("malformed"))?;
    let reason = reason(&request.reason).map_err(|(e, why)| refuse(e, why))?;
    let record = visible_move(&state, &user.0, &id).await.map_err(|e| match e.status() {
        StatusCode::NOT_FOUND => refuse(e, "unknown_move"),
        _ => e,
    })?;

    let now = Utc::now().trunc_subsecs(3);
    allowed(stop, record.state_at(now)).map_err(|(e, why)| refuse(e, why))?;
    let end = MoveEnd { at: now, by: user.0.name.clone(), reason, cancelled: stop == Stop::Cancel };
    if !state.store.end_move(&id, &end).await? {
        // Someone else ended or cancelled it since it was read: theirs stands.
        let error =
            ApiError::new(StatusCode::CONFLICT, "the move was ended or cancelled just now; nothing changed");
        return Err(refuse(error, "already_over"));
    }
    let action = if stop == Stop::End { "move.end" } else { "move.cancel" };
    tracing::info!(move_id = %id, action, by = %end.by, "move stopped by a person");
    audit::record(&state, Some(&end.by), from, action, &id, json!({ "reason": end.reason })).await?;
    let _ = state.events.move_changes.send(MoveChange::Ended(id.clone()));
    let record = state
        .store
        .move_record(&id)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no such move"))?;
    Ok(Reply::ok(view(&state, &record).await?))
}

/// The reason, trimmed: at least one character, at most [`MAX_REASON_CHARS`].
fn reason(text: &str) -> Result<String, (ApiError, &'static str)> {
    let text = text.trim();
    if text.is_empty() {
        return Err((ApiError::new(StatusCode::BAD_REQUEST, "a reason is required"), "empty_reason"));
    }
    if text.chars().count() > MAX_REASON_CHARS {
        let message = format!("a reason is at most {MAX_REASON_CHARS} characters");
        return Err((ApiError::new(StatusCode::BAD_REQUEST, message), "reason_too_long"));
    }
    Ok(text.to_string())
}

/// Whether `stop` applies to a move in `state`: ending a running one, cancelling a planned one.
fn allowed(stop: Stop, state: MoveState) -> Result<(), (ApiError, &'static str)> {
    let conflict = |message: &str, why| Err((ApiError::new(StatusCode::CONFLICT, message), why));
    match (stop, state) {
        (Stop::End, MoveState::Running) | (Stop::Cancel, MoveState::Planned) => Ok(()),
        (Stop::End, MoveState::Planned) => {
            conflict("the move has not started: cancel it instead; nothing changed", "not_started")
        }
        (Stop::Cancel, MoveState::Running) => {
            conflict("the move is running: end it instead; nothing changed", "running")
        }
        (_, MoveState::Ended) => conflict("the move has ended already; nothing changed", "already_over"),
        (_, MoveState::Cancelled) => conflict("the move was cancelled; nothing changed", "already_over"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_is_trimmed_and_bounded() {
        assert_eq!(reason("  delivered early \n").unwrap(), "delivered early");
        assert_eq!(reason(" \t ").unwrap_err().1, "empty_reason");
        assert_eq!(reason(&"é".repeat(MAX_REASON_CHARS)).unwrap().chars().count(), MAX_REASON_CHARS);
        assert_eq!(reason(&"é".repeat(MAX_REASON_CHARS + 1)).unwrap_err().1, "reason_too_long");
    }

    #[test]
    fn a_running_move_is_ended_and_a_planned_one_cancelled_never_the_other_way() {
        let why = |stop, state| allowed(stop, state).err().map(|(_, why)| why);
        assert_eq!(why(Stop::End, MoveState::Running), None);
        assert_eq!(why(Stop::Cancel, MoveState::Planned), None);
        assert_eq!(why(Stop::End, MoveState::Planned), Some("not_started"));
        assert_eq!(why(Stop::Cancel, MoveState::Running), Some("running"));
        for stop in [Stop::End, Stop::Cancel] {
            assert_eq!(why(stop, MoveState::Ended), Some("already_over"));
            assert_eq!(why(stop, MoveState::Cancelled), Some("already_over"));
        }
    }
}
