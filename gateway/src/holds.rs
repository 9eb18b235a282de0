//! Legal holds (the web page's Holds view, `convoy hold`): `POST /api/v1/holds` places one on a
//! move (its vehicles, over its window unless a range is given), on a vehicle or on every vehicle
//! over a time range, with a reason and a reference; `GET /api/v1/holds` lists them, in force and
//! released; `POST /api/v1/holds/{id}/release` releases one with a reason. Admins place and
//! release; auditors may look. The store keeps held positions past retention
//! (`convoy_store::LegalHold`), and each purge records which holds kept how many.
//!
//! A request is judged whole before anything is stored, so a refused one changes nothing; each
//! refusal with a reason is counted in `convoy_gateway_holds_rejected_total`. Placing and
//! releasing are recorded in the audit log.

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use chrono::{DateTime, Utc};
use convoy_core::{Ability, VehicleId};
use convoy_registry::holds::{self, HoldError, HoldRequest, HoldScope, HOLD_REFUSAL_REASONS};
use convoy_store::HoldRecord;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit;
use crate::error::{ApiError, RefusalReason};
use crate::extract::{ApiJson, Authenticated, ClientAddr};
use crate::metrics::GatewayMetrics;
use crate::openapi::{
    requires, BadRequest, Conflict, NotFound, PayloadTooLarge, ServiceUnavailable, UnprocessableEntity,
    UnsupportedMediaType,
};
use crate::reply::Reply;
use crate::schemas;
use crate::state::AppState;

/// The largest body the hold routes read: a few names, two times and two sentences.
const MAX_BODY_BYTES: usize = 16 * 1024;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(requires(Ability::ViewHolds, routes!(list_holds)))
        .routes(requires(Ability::Holds, routes!(place_hold)))
        .routes(requires(Ability::Holds, routes!(release_hold)))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::map_response(count_refusal))
}

/// Counts a refusal that has a reason (bad input or a conflict; not a 403 or a 404).
async fn count_refusal(metrics: Option<Extension<GatewayMetrics>>, response: Response) -> Response {
    if let (Some(Extension(metrics)), Some(RefusalReason(reason))) =
        (metrics, response.extensions().get::<RefusalReason>())
    {
        metrics.holds_rejected.with_label_values(&[reason]).inc();
    }
    response
}

/// A hold, in force or released.
#[derive(Serialize, ToSchema)]
#[schema(as = Hold)]
pub(crate) struct HoldView {
    id: i64,
    /// The move it was placed on; null for a hold on a vehicle or on every vehicle.
    #[serde(rename = "move")]
    #[schema(required = true)]
    move_id: Option<String>,
    /// The vehicles whose positions it keeps; null: every vehicle's.
    #[schema(value_type = Option<Vec<schemas::VehicleId>>, required = true)]
    vehicles: Option<Vec<VehicleId>>,
    /// Positions with fix times from here...
    #[schema(value_type = schemas::Time)]
    from: DateTime<Utc>,
    /// ...to here (not included).
    #[schema(value_type = schemas::Time)]
    to: DateTime<Utc>,
    reason: String,
    /// A case or claim number; may be empty.
    reference: String,
    #[schema(value_type = schemas::UserName)]
    placed_by: String,
    #[schema(value_type = schemas::Time)]
    placed_at: DateTime<Utc>,
    /// Whether it is in force (not released).
    active: bool,
    #[schema(value_type = Option<schemas::Time>, required = true)]
    released_at: Option<DateTime<Utc>>,
    /// Empty for a hold released before who and why were kept.
    #[schema(value_type = Option<schemas::UserName>, required = true)]
    released_by: Option<String>,
    #[schema(required = true)]
    release_reason: Option<String>,
}

impl From<HoldRecord> for HoldView {
    fn from(record: HoldRecord) -> Self {
        let HoldRecord { id, hold, created_at, release } = record;
        HoldView {
            id,
            move_id: hold.move_id,
            vehicles: hold.vehicles,
            from: hold.from,
            to: hold.to,
            reason: hold.reason,
            reference: hold.reference,
            placed_by: hold.created_by,
            placed_at: created_at,
            active: release.is_none(),
            released_at: release.as_ref().map(|r| r.at),
            released_by: release.as_ref().map(|r| r.by.clone()),
            release_reason: release.map(|r| r.reason),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct HoldList {
    /// The most recently placed first.
    holds: Vec<HoldView>,
}

#[utoipa::path(
    get,
    path = "/api/v1/holds",
    tag = "holds",
    operation_id = "listHolds",
    summary = "Every legal hold, in force and released, with who placed and released it, when and why",
    description = "Recorded in the audit log.",
    responses(
        (status = 200, description = "The holds.", body = HoldList),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn list_holds(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
) -> Result<Reply<HoldList>, ApiError> {
    user.require(Ability::ViewHolds)?;
    audit::record(&state, Some(&user.0.name), from, "holds.view", "holds", json!({})).await?;
    let holds = state.store.legal_holds().await?.into_iter().map(HoldView::from).collect();
    Ok(Reply::ok(HoldList { holds }))
}

/// What a hold is placed on: exactly one of `move`, `vehicle` and `all_vehicles`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewHold)]
pub(crate) struct NewHoldRequest {
    /// A move: its vehicles, over its window unless `from` and `to` are given.
    #[serde(rename = "move", default)]
    move_id: Option<String>,
    /// One registered vehicle (with `from` and `to`).
    #[serde(default)]
    #[schema(value_type = Option<schemas::VehicleId>)]
    vehicle: Option<String>,
    /// Every vehicle, registered now or later (with `from` and `to`).
    #[serde(default)]
    all_vehicles: bool,
    /// Positions with fix times from here (both or neither of `from` and `to`).
    #[serde(default)]
    #[schema(value_type = Option<schemas::Time>)]
    from: Option<DateTime<Utc>>,
    /// ...to here, not included; after `from`.
    #[serde(default)]
    #[schema(value_type = Option<schemas::Time>)]
    to: Option<DateTime<Utc>>,
    /// Why the data is kept.
    #[schema(min_length = 1, max_length = 500)]
    reason: String,
    /// A case or claim number.
    #[serde(default)]
    #[schema(max_length = 100)]
    reference: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/holds",
    tag = "holds",
    operation_id = "placeHold",
    summary = "Place a legal hold: the positions it covers survive retention until it is released",
    description = "On a move (its vehicles, over its window unless `from` and `to` are given), on one vehicle or on every vehicle over `from` to `to`. A reason is required (at most 500 characters); a reference at most 100. A reversed range or an unclear scope is refused with 400, a move or vehicle that does not exist with 422; nothing is stored then. Recorded in the audit log.",
    request_body = NewHoldRequest,
    responses(
        (status = 201, description = "The hold is in force.", body = HoldView),
        (status = 400, response = BadRequest),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn place_hold(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    ApiJson(request): ApiJson<NewHoldRequest>,
) -> Result<Reply<HoldView>, ApiError> {
    user.require(Ability::Holds)?;
    let scope = match (request.move_id, request.vehicle, request.all_vehicles) {
        (Some(id), None, false) => HoldScope::Move(id),
        (None, Some(name), false) => HoldScope::Vehicle(name),
        (None, None, true) => HoldScope::AllVehicles,
        _ => return Err(refused_with("give exactly one of move, vehicle and all_vehicles", "bad_scope")),
    };
    let range = match (request.from, request.to) {
        (Some(from), Some(to)) => Some((from, to)),
        (None, None) => None,
        _ => return Err(refused_with("give both from and to, or neither (for a move)", "bad_range")),
    };
    let hold_request = HoldRequest { scope, range, reason: request.reason, reference: request.reference };
    let (id, hold) =
        holds::place_hold(&state.store, hold_request, &user.0.name, Utc::now()).await.map_err(refused)?;
    let detail = json!({
        "move": hold.move_id,
        "vehicles": hold.vehicles.as_ref().map(|v| v.iter().map(VehicleId::as_str).collect::<Vec<_>>()),
        "from": hold.from,
        "to": hold.to,
        "reason": hold.reason,
        "reference": hold.reference,
    });
    audit::record(&state, Some(&user.0.name), from, "hold.place", &format!("hold:{id}"), detail).await?;
    tracing::info!(hold = id, by = %user.0.name, "legal hold placed");
    let record = state.store.legal_hold(id).await?.ok_or_else(|| {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "the hold was placed but cannot be read back")
    })?;
    Ok(Reply::created(record.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = HoldRelease)]
pub(crate) struct ReleaseRequest {
    /// Why the data need no longer be kept.
    #[schema(min_length = 1, max_length = 500)]
    reason: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/holds/{id}/release",
    tag = "holds",
    operation_id = "releaseHold",
    summary = "Release a legal hold: its positions are subject to retention again",
    description = "A reason is required (at most 500 characters). A hold released already gets 409 and keeps who released it first. Recorded in the audit log.",
    params(("id" = i64, Path, description = "The hold's id.")),
    request_body = ReleaseRequest,
    responses(
        (status = 200, description = "The hold, released.", body = HoldView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn release_hold(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<ReleaseRequest>,
) -> Result<Reply<HoldView>, ApiError> {
    user.require(Ability::Holds)?;
    // Not a number: no hold has that id.
    let id: i64 = id.parse().map_err(|_| refused(HoldError::NoSuchHold(0)))?;
    let record = holds::release_hold(&state.store, id, &request.reason, &user.0.name, Utc::now())
        .await
        .map_err(refused)?;
    let detail = json!({ "reason": record.release.as_ref().map(|r| r.reason.as_str()) });
    audit::record(&state, Some(&user.0.name), from, "hold.release", &format!("hold:{id}"), detail).await?;
    tracing::info!(hold = id, by = %user.0.name, "legal hold released");
    Ok(Reply::ok(record.into()))
}

/// A request refused before the registry saw it.
fn refused_with(message: &str, reason: &'static str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message).with_reason(reason)
}

/// A hold the registry refused, answered as the API answers each kind: bad input 400, a move or
/// vehicle that does not exist (or a move without a window) 422, an unknown hold 404 (not
/// counted: it is not bad input), a released one 409.
fn refused(e: HoldError) -> ApiError {
    let status = match &e {
        HoldError::Store(_) | HoldError::NoSuchHold(_) => None,
        HoldError::UnknownMove(_) | HoldError::UnknownVehicle(_) | HoldError::NoWindow(_) => {
            Some(StatusCode::UNPROCESSABLE_ENTITY)
        }
        HoldError::AlreadyReleased { .. } => Some(StatusCode::CONFLICT),
        _ => Some(StatusCode::BAD_REQUEST),
    };
    match (e, status) {
        (HoldError::Store(e), _) => e.into(),
        (e, Some(status)) => ApiError::new(status, e.to_string()).with_reason(e.reason()),
        (_, None) => ApiError::new(StatusCode::NOT_FOUND, "no such hold"),
    }
}

/// Every reason a hold request is refused with and counted: the registry's, and a scope that
/// names not exactly one thing (which only the API's body can).
pub(crate) fn refusal_reasons() -> impl Iterator<Item = &'static str> {
    HOLD_REFUSAL_REASONS.iter().copied().chain(["bad_scope"])
}
