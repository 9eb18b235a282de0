//! Lifting the login throttle's holds on a name ([`crate::throttle`]): an admin for anyone
//! (`DELETE /api/v1/users/{name}/login-holds`), or a person with a session of their own for
//! their name (`DELETE /api/v1/me/login-holds`), e.g. from a phone still logged in while a
//! laptop is held. The holds of addresses stay: they are other people's too.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use convoy_core::Ability;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit;
use crate::error::ApiError;
use crate::extract::{Authenticated, ClientAddr};
use crate::openapi::{requires, signed_in, NotFound, ServiceUnavailable};
use crate::reply::Reply;
use crate::schemas;
use crate::state::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(requires(Ability::Users, routes!(lift_user_holds)))
        .routes(signed_in(routes!(lift_own_holds)))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct LiftedHolds {
    /// How many (name, address) pairs had failed logins counted, now forgotten.
    lifted: u64,
}

/// Lifts the holds on a person's name (their failed logins from every address are forgotten).
#[utoipa::path(
    delete,
    path = "/api/v1/users/{name}/login-holds",
    tag = "people",
    operation_id = "liftLoginHolds",
    summary = "Lift the login holds on a user's name",
    description = "Forgets the failed logins of that name from every address, and the slow-down of a name guessed from many addresses; the holds of addresses that guessed many names stay.",
    params(("name" = schemas::UserName, Path, description = "The user's name.")),
    responses(
        (status = 200, description = "The holds are lifted.", body = LiftedHolds),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn lift_user_holds(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    Path(name): Path<String>,
) -> Result<Reply<LiftedHolds>, ApiError> {
    user.require(Ability::Users)?;
    if state.store.user(&name).await?.is_none() {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "no such user"));
    }
    lift(&state, &user, from, &name).await
}

/// Lifts the holds on the caller's own name.
#[utoipa::path(
    delete,
    path = "/api/v1/me/login-holds",
    tag = "people",
    operation_id = "liftOwnLoginHolds",
    summary = "Lift the login holds on my own name",
    description = "For a person logged in on one device while another is held: forgets the failed logins of their name from every address.",
    responses(
        (status = 200, description = "The holds are lifted.", body = LiftedHolds),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn lift_own_holds(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
) -> Result<Reply<LiftedHolds>, ApiError> {
    let name = user.0.name.clone();
    lift(&state, &user, from, &name).await
}

async fn lift(
    state: &AppState,
    user: &Authenticated,
    from: Option<std::net::IpAddr>,
    name: &str,
) -> Result<Reply<LiftedHolds>, ApiError> {
    // Recorded first: a lift that cannot be recorded does not happen.
    let by = &user.0.name;
    audit::record(state, Some(by), from, "login_holds.lift", name, json!({})).await?;
    let lifted = state.login_throttle.lift(name) as u64;
    tracing::info!(user = %name, lifted, by = %by, "login holds lifted");
    Ok(Reply::ok(LiftedHolds { lifted }))
}
