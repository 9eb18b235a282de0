//! `POST /api/v1/login`: a person's name and password for a bearer token, throttled and
//! recorded.

use std::time::Instant;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use convoy_registry::credentials;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::extract::ClientAddr;
use crate::openapi::{
    public, BadRequest, ServiceUnavailable, TooManyRequests, Unauthorized, UnsupportedMediaType,
};
use crate::schemas::Time;
use crate::state::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(public(routes!(login)))
}

/// The longest password a login may carry (argon2 takes any length; this bounds the work).
const MAX_PASSWORD_BYTES: usize = 1024;

#[derive(Deserialize, ToSchema)]
pub(crate) struct LoginRequest {
    username: String,
    #[schema(format = Password)]
    password: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct LoginResponse {
    /// The bearer token.
    token: String,
    #[schema(value_type = Time)]
    expires_at: DateTime<Utc>,
}

#[utoipa::path(
    post,
    path = "/api/v1/login",
    tag = "people",
    operation_id = "login",
    summary = "Log in: a bearer token for a user name and password",
    description = "Every login, accepted or refused, is recorded in the audit log and counted (`convoy_gateway_logins_total{outcome}`). A wrong password and an unknown user get the same answer.",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in.", body = LoginResponse),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 415, response = UnsupportedMediaType),
        (status = 429, response = TooManyRequests),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn login(
    State(state): State<AppState>,
    ClientAddr(from): ClientAddr,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    // No user name is longer (see `convoy_registry::add_user`); a longer one must not reach the throttle's
    // memory, the logs or the audit log.
    if request.username.chars().count() > convoy_registry::people::MAX_NAME_CHARS
        || request.password.len() > MAX_PASSWORD_BYTES
    {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "user name or password too long"));
    }
    // Wait for a password-check turn first, so each guess is judged by the throttle only once
    // the ones before it have been counted.
    let _turn = credentials::password_check_turn().await;
    if let Some(wait) = state.login_throttle.wait(&request.username, from, Instant::now()) {
        state.metrics.logins.with_label_values(&["throttled"]).inc();
        let detail = json!({ "wait_s": wait.as_secs() });
        audit::record(&state, None, from, "login.throttled", &request.username, detail).await?;
        let minutes = wait.as_secs().div_ceil(60);
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!("too many failed logins; try again in {minutes} min"),
        ));
    }
    match convoy_registry::login(&state.store, &request.username, &request.password).await? {
        Some((token, expires_at)) => {
            state.login_throttle.succeeded(&request.username);
            state.metrics.logins.with_label_values(&["ok"]).inc();
            audit::record(&state, Some(&request.username), from, "login.ok", &request.username, json!({}))
                .await?;
            Ok(Json(LoginResponse { token, expires_at }))
        }
        None => {
            state.login_throttle.failed(&request.username, from, Instant::now());
            state.metrics.logins.with_label_values(&["refused"]).inc();
            tracing::warn!(user = %request.username, "login refused");
            audit::record_failed_login(&state, from, &request.username).await?;
            Err(ApiError::new(StatusCode::UNAUTHORIZED, "wrong user name or password"))
        }
    }
}
