//! `GET /api/v1/moves/{id}/progress`: how far each vehicle of a running move is along its
//! route, how far it has left, and an estimated arrival.
//!
//! The alert engine works the figures out as it matches each fix to the route (the gateway
//! never imports it): it leaves them on the [`ProgressBoard`](convoy_core::progress::ProgressBoard)
//! the server hands both, one entry per (running move, vehicle). This reads that board.
//! Live watchers only (an auditor works from the record), and an escort their own moves.

use axum::extract::{Path, State};
use convoy_core::Ability;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::visible_move;
use crate::audit;
use crate::error::ApiError;
use crate::extract::{Authenticated, ClientAddr};
use crate::openapi::{requires, NotFound, ServiceUnavailable};
use crate::reply::Reply;
use crate::schemas;
use crate::state::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(requires(Ability::Live, routes!(move_progress)))
}

/// The move's vehicles' progress along its route.
#[derive(Serialize, ToSchema)]
pub(crate) struct MoveProgress {
    #[serde(rename = "move")]
    #[schema(rename = "move")]
    move_id: String,
    /// One entry per vehicle with a fix evaluated while the move runs, by vehicle id; empty
    /// before the first such fix and once the move is no longer running.
    #[schema(value_type = Vec<schemas::VehicleProgress>)]
    vehicles: Vec<convoy_core::progress::VehicleProgress>,
}

#[utoipa::path(
    get,
    path = "/api/v1/moves/{id}/progress",
    tag = "moves",
    operation_id = "moveProgress",
    summary = "Each vehicle's progress along the move's route, distance left and estimated arrival",
    description = "For each vehicle of a running move, as of its last fix: metres along the route (`progress_m`, matched to the pass of the route the vehicle is on), the route's length, metres left, the pace (progress along the route per second over the last five minutes of fixes, halts and traffic included) and an estimated arrival (`eta`, with `estimate: true`) at that pace. `eta` is null unless `state` is `on_route`: `off_route` (outside the corridor), `stopped` (under 10 m of progress in the last minute), `measuring` (under 30 s of fixes yet) or `arrived` (within 50 m of the route's end). Vehicles without a fix evaluated in the move yet are not listed; a move not running lists none. Escorts: assigned moves only (another move is 404, as one that does not exist). Recorded in the audit log (`move.progress`).",
    params(("id" = String, Path, description = "The move's id.")),
    responses(
        (status = 200, description = "The move's vehicles' progress.", body = MoveProgress),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn move_progress(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    Path(id): Path<String>,
) -> Result<Reply<MoveProgress>, ApiError> {
    user.require(Ability::Live)?;
    let record = visible_move(&state, &user.0, &id).await?;
    let vehicles = state.progress.of_move(&record.id);
    audit::record(&state, Some(&user.0.name), from, "move.progress", &record.id, json!({})).await?;
    Ok(Reply::ok(MoveProgress { move_id: record.id, vehicles }))
}
