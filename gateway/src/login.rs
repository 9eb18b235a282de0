//! `POST /api/v1/login`: a person's name and password for a bearer token, throttled
//! ([`crate::throttle`]: by name and address, and by address; a name under attack from many
//! addresses is slowed, never refused) and recorded (refusals aggregated:
//! [`crate::login_audit`]).

use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use convoy_registry::{credentials, people};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::extract::ClientAddr;
use crate::login_audit::{self, Refusal};
use crate::openapi::{
    public, BadRequest, PayloadTooLarge, ServiceUnavailable, TooManyRequests, Unauthorized,
    UnsupportedMediaType,
};
use crate::schemas::Time;
use crate::state::AppState;
use crate::throttle::HeldBy;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(public(routes!(login)))
}

/// The longest a login waits for the checks of earlier attempts of its name and address: as
/// long as it would have queued for a password-check turn anyway (the checks run one per core),
/// short of the listener's two-minute request timeout. Thirty seconds was seen too short: fifty
/// right passwords at once on a busy two-core machine got 429s.
const MAX_WAIT_FOR_CHECKS: Duration = Duration::from_secs(100);

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
    description = "Every login is counted (`convoy_gateway_logins_total{outcome}`) and recorded in the audit log (refusals of one name from one address as one entry a minute, with their count). A wrong password and an unknown user get the same answer. After 10 failures of a name from one address, that pair waits a minute, doubling with each further failure (at most 15 minutes; 429 with `Retry-After`); an address with 30 failures in 15 minutes is held likewise; a name failing from many addresses is slowed to one check a second, never refused.",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in.", body = LoginResponse),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 429, response = TooManyRequests),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn login(
    State(state): State<AppState>,
    ClientAddr(from): ClientAddr,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, LoginRefused> {
    // No user name or password is longer (see `convoy_registry::add_user`); a longer one must
    // not reach the throttle's memory, the logs, the audit log or argon2.
    if request.username.chars().count() > people::MAX_NAME_CHARS
        || request.password.len() > people::MAX_PASSWORD_BYTES
    {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "user name or password too long").into());
    }
    // Reserved before the password is checked, so parallel guesses cannot pass the limit; an
    // attempt that would pass it were those being checked all wrong waits for them.
    let waiting_since = Instant::now();
    let attempt = loop {
        let judged = state.login_throttle.judged();
        let mut judged = std::pin::pin!(judged);
        judged.as_mut().enable();
        let held = match state.login_throttle.begin(&request.username, from, Instant::now()) {
            Ok(attempt) => break attempt,
            Err(held) => held,
        };
        if held.by == HeldBy::Checking && waiting_since.elapsed() < MAX_WAIT_FOR_CHECKS {
            let _ = tokio::time::timeout(MAX_WAIT_FOR_CHECKS, judged).await;
            continue;
        }
        {
            state.metrics.logins.with_label_values(&["throttled"]).inc();
            let by = match held.by {
                HeldBy::Pair => "name_and_address",
                HeldBy::Address => "address",
                HeldBy::Checking => "checking",
            };
            let wait_s = held.retry_after.as_secs_f64().ceil() as u64;
            let detail = json!({ "wait_s": wait_s, "held_by": by });
            login_audit::record(&state, Refusal::Throttled, from, &request.username, detail).await?;
            let message = format!("too many failed logins; try again in {}", in_words(wait_s));
            return Err(LoginRefused {
                error: ApiError::new(StatusCode::TOO_MANY_REQUESTS, message),
                retry_after_s: Some(wait_s),
            });
        }
    };
    if !attempt.delay.is_zero() {
        tracing::debug!(user = %request.username, delay_ms = attempt.delay.as_millis() as u64, "login slowed");
        tokio::time::sleep(attempt.delay).await;
    }
    let verdict = {
        let _turn = credentials::password_check_turn().await;
        convoy_registry::login(&state.store, &request.username, &request.password).await?
    };
    match verdict {
        Some((token, expires_at)) => {
            attempt.succeeded(Instant::now());
            state.metrics.logins.with_label_values(&["ok"]).inc();
            audit::record(&state, Some(&request.username), from, "login.ok", &request.username, json!({}))
                .await?;
            Ok(Json(LoginResponse { token, expires_at }))
        }
        None => {
            attempt.failed(Instant::now());
            state.metrics.logins.with_label_values(&["refused"]).inc();
            tracing::warn!(user = %request.username, "login refused");
            login_audit::record(&state, Refusal::Failed, from, &request.username, json!({})).await?;
            Err(ApiError::new(StatusCode::UNAUTHORIZED, "wrong user name or password").into())
        }
    }
}

/// "45 s", "2 min": how long to wait, for a person.
fn in_words(seconds: u64) -> String {
    if seconds < 60 {
        format!("{seconds} s")
    } else {
        format!("{} min", seconds.div_ceil(60))
    }
}

/// A refused login: the API's error, and for a held one how long to wait (`Retry-After`).
pub(crate) struct LoginRefused {
    error: ApiError,
    retry_after_s: Option<u64>,
}

impl From<ApiError> for LoginRefused {
    fn from(error: ApiError) -> Self {
        LoginRefused { error, retry_after_s: None }
    }
}

impl From<convoy_store::StoreError> for LoginRefused {
    fn from(error: convoy_store::StoreError) -> Self {
        ApiError::from(error).into()
    }
}

impl IntoResponse for LoginRefused {
    fn into_response(self) -> Response {
        let mut response = self.error.into_response();
        if let Some(seconds) = self.retry_after_s {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
        }
        response
    }
}
