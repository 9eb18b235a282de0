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

use crate::audit;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::extract::ClientAddr;
use crate::state::AppState;

/// The longest password a login may carry (argon2 takes any length; this bounds the work).
const MAX_PASSWORD_BYTES: usize = 1024;

#[derive(Deserialize)]
pub(crate) struct LoginRequest {
    username: String,
    password: String,
}

#[derive(Serialize)]
pub(crate) struct LoginResponse {
    token: String,
    expires_at: DateTime<Utc>,
}

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
