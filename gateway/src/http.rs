//! The HTTP API (DESIGN.md's contract): health, metrics, login, vehicles.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::time::Instant;

use chrono::{DateTime, Utc};
use convoy_core::alert::AlertMessage;
use convoy_core::live::LiveEvent;
use convoy_core::{Ability, Position, Role, VehicleId};
use convoy_store::{Store, StoreError, User};
use prometheus::{Encoder, Registry, TextEncoder};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::{broadcast, mpsc};

use crate::audit::{self, ClientAddr};
use crate::metrics::GatewayMetrics;
use convoy_registry::credentials;

/// Everything a request handler needs.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub registry: Registry,
    pub metrics: GatewayMetrics,
    pub events: GatewayEvents,
    pub web: crate::WebSettings,
    /// The server's default rule thresholds; a move's plan may override them (replay and the
    /// move report find stops with the move's own).
    pub rules: convoy_core::rules::RuleSettings,
    /// Failed logins by name and address (shared by every request).
    pub login_throttle: std::sync::Arc<crate::throttle::LoginThrottle>,
    /// One-use tickets that open the live feed without a token in its URL.
    pub live_tickets: std::sync::Arc<crate::live_ticket::LiveTickets>,
}

/// The longest password a login may carry (argon2 takes any length; this bounds the work).
const MAX_PASSWORD_BYTES: usize = 1024;

/// What the gateway tells the rest of the server, and the live feed it serves.
#[derive(Clone)]
pub struct GatewayEvents {
    /// The id of each move created.
    pub moves_added: mpsc::UnboundedSender<String>,
    /// Alert changes people made (acknowledged, resolved), already recorded.
    pub alert_changes: mpsc::UnboundedSender<AlertMessage>,
    /// Positions and agent status as they happen (many: a slow client skips some).
    pub live: broadcast::Sender<LiveEvent>,
    /// Alert changes as they happen (few: every client gets every one).
    pub live_alerts: broadcast::Sender<LiveEvent>,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        // The web page: static, embedded, no login needed to fetch it.
        .route("/", get(crate::web::index))
        .route("/assets/{*path}", get(crate::web::asset))
        .route("/api/v1/login", post(login))
        .route("/api/v1/openapi.json", get(crate::openapi::document))
        .route("/api/v1/logout", post(crate::people::logout))
        .route("/api/v1/me", get(crate::people::me))
        .route("/api/v1/users", get(crate::people::list_users).post(crate::people::add_user))
        .route("/api/v1/users/{name}/tokens", axum::routing::delete(crate::people::revoke_tokens))
        .route("/api/v1/moves/{id}/team", axum::routing::put(crate::people::set_team))
        .route(
            "/api/v1/routes/parse",
            post(crate::moves::parse_route)
                .layer(axum::extract::DefaultBodyLimit::max(2 * convoy_core::plan::MAX_PLAN_BYTES)),
        )
        .route("/api/v1/vehicles", get(list_vehicles).post(add_vehicle))
        .route("/api/v1/vehicles/{id}/track", get(crate::track::vehicle_track))
        .route(
            "/api/v1/moves",
            get(crate::moves::list_moves)
                .post(crate::moves::create_move)
                .layer(axum::extract::DefaultBodyLimit::max(2 * convoy_core::plan::MAX_PLAN_BYTES)),
        )
        .route("/api/v1/moves/{id}", get(crate::moves::get_move))
        .route("/api/v1/moves/{id}/export", get(crate::export::move_export))
        .route("/api/v1/moves/{id}/replay", get(crate::replay_api::move_replay))
        .route("/api/v1/moves/{id}/report", get(crate::report::move_report))
        .route("/api/v1/alerts", get(crate::alert_api::list_alerts))
        .route("/api/v1/alerts/{id}", get(crate::alert_api::get_alert))
        .route("/api/v1/alerts/{id}/ack", post(crate::alert_api::acknowledge))
        .route("/api/v1/alerts/{id}/resolve", post(crate::alert_api::resolve))
        .route("/api/v1/live", get(crate::live::live_feed))
        .route("/api/v1/live/ticket", post(crate::live_ticket::issue_ticket))
        .route("/api/v1/audit", get(crate::audit::list_audit))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such path") })
        .layer(axum::middleware::map_response(protective_headers))
        .with_state(state)
}

/// Headers every answer carries: a browser must not guess that a JSON body holding someone's
/// text is HTML, and nothing on the way may keep a copy of positions, alerts or the audit log.
async fn protective_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, header::HeaderValue::from_static("nosniff"));
    headers.entry(header::CACHE_CONTROL).or_insert(header::HeaderValue::from_static("no-store"));
    response
}

/// An error as the API shows it: a status and `{"error": "..."}`. Internal details are logged,
/// not shown.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    /// A short label for programs (as in the rejection counters), where there is one.
    reason: Option<&'static str>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into(), reason: None }
    }

    pub(crate) fn with_reason(mut self, reason: &'static str) -> Self {
        self.reason = Some(reason);
        self
    }

    /// The short label given with [`ApiError::with_reason`], if any.
    pub(crate) fn reason(&self) -> Option<&'static str> {
        self.reason
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        if e.is_refused_value() {
            tracing::warn!(error = %e, "the database refused a value of a request");
            return Self::new(
                StatusCode::BAD_REQUEST,
                "a value of the request cannot be stored or searched for (a NUL byte, or out of range)",
            )
            .with_reason("refused_value");
        }
        tracing::error!(error = %e, "store error while serving a request");
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "storage is unavailable; try again")
    }
}

impl From<convoy_history::HistoryError> for ApiError {
    fn from(e: convoy_history::HistoryError) -> Self {
        use convoy_history::HistoryError;
        match e {
            HistoryError::Refused { message, reason } => {
                let status = if reason == "too_many_positions" {
                    StatusCode::PAYLOAD_TOO_LARGE
                } else {
                    StatusCode::BAD_REQUEST
                };
                Self::new(status, message).with_reason(reason)
            }
            HistoryError::StoredPlan => Self::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
            HistoryError::Store(e) => e.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = match self.reason {
            Some(reason) => json!({ "error": self.message, "reason": reason }),
            None => json!({ "error": self.message }),
        };
        (self.status, Json(body)).into_response()
    }
}

/// A request made with a valid bearer token.
pub struct Authenticated(pub User);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer_token(&parts.headers)
            .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "missing bearer token"))?;
        match convoy_registry::authenticate(&state.store, token).await? {
            Some(user) => Ok(Authenticated(user)),
            None => Err(ApiError::new(StatusCode::UNAUTHORIZED, "invalid or expired token")),
        }
    }
}

/// The token of an `Authorization: Bearer TOKEN` header.
pub(crate) fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    Some(value.strip_prefix("Bearer ")?.trim())
}

impl Authenticated {
    /// Refuses (403) a person whose role may not do `ability` ([`Ability::roles`]).
    pub(crate) fn require(&self, ability: Ability) -> Result<(), ApiError> {
        if self.0.role.may(ability) {
            Ok(())
        } else {
            Err(ApiError::new(StatusCode::FORBIDDEN, format!("role {} may not do this", self.0.role)))
        }
    }
}

async fn healthz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => Json(json!({ "status": "ok", "store": state.store.backend() })).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "health check: store unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "unavailable" }))).into_response()
        }
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    let mut text = Vec::new();
    let encoder = TextEncoder::new();
    if let Err(e) = encoder.encode(&state.registry.gather(), &mut text) {
        return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("metrics: {e}")).into_response();
    }
    ([(header::CONTENT_TYPE, encoder.format_type().to_string())], text).into_response()
}

#[derive(Deserialize)]
struct LoginRequest {
    username: String,
    password: String,
}

#[derive(Serialize)]
struct LoginResponse {
    token: String,
    expires_at: DateTime<Utc>,
}

async fn login(
    State(state): State<AppState>,
    ClientAddr(from): ClientAddr,
    body: Result<Json<LoginRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<LoginResponse>, ApiError> {
    let Json(request) = body.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))?;
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

#[derive(Serialize)]
struct VehicleView {
    id: VehicleId,
    /// The newest position by fix time, as on the wire; absent before the first one.
    position: Option<Position>,
    /// When the server received that position.
    received_at: Option<DateTime<Utc>>,
    /// The move the vehicle is on: the newest that names it and has not ended (for an escort,
    /// among the moves they are assigned to).
    #[serde(rename = "move")]
    move_id: Option<String>,
}

async fn list_vehicles(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
) -> Result<Response, ApiError> {
    let scope = crate::access::Scope::of(&state.store, &user.0).await?;
    // The latest positions of every vehicle the person sees: a look at live positions.
    audit::record(&state, Some(&user.0.name), from, "vehicles.view", "vehicles", json!({})).await?;
    // An escort is told only of moves they are assigned to: another team's move may share a
    // vehicle, and its id is not theirs to see.
    let crews =
        state.store.move_crews().await?.into_iter().filter(|crew| scope.sees_move(&crew.id)).collect();
    let current_moves = current_moves(crews, Utc::now());
    let mut latest = state.store.latest_positions().await?.into_iter().peekable();
    let mut vehicles = Vec::new();
    for id in state.store.vehicle_ids().await? {
        let position = latest.next_if(|l| l.vehicle == id);
        if !scope.sees_vehicle(&id) {
            continue;
        }
        // Auditors work from the record, not live: they get the list without positions.
        let position = position.filter(|_| user.0.role != Role::Auditor);
        vehicles.push(VehicleView {
            move_id: current_moves.get(&id).cloned(),
            id,
            received_at: position.as_ref().map(|l| l.received_at),
            position: position.map(|l| l.position),
        });
    }
    Ok(Json(json!({ "vehicles": vehicles })).into_response())
}

/// Each vehicle's current move: the newest created that names it and whose window (if it has
/// one) has not ended by `now`.
fn current_moves(
    mut crews: Vec<convoy_store::MoveCrew>,
    now: DateTime<Utc>,
) -> std::collections::HashMap<VehicleId, String> {
    let mut by_vehicle = std::collections::HashMap::new();
    crews.sort_by_key(|crew| std::cmp::Reverse(crew.created_at));
    for crew in crews.into_iter().filter(|crew| !crew.has_ended(now)) {
        for vehicle in crew.vehicles {
            by_vehicle.entry(vehicle).or_insert_with(|| crew.id.clone());
        }
    }
    by_vehicle
}

#[derive(Deserialize)]
struct AddVehicleRequest {
    id: String,
}

async fn add_vehicle(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    body: Result<Json<AddVehicleRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    user.require(Ability::Vehicles)?;
    let Json(request) = body.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    let id = VehicleId::new(request.id).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    match convoy_registry::register_vehicle(&state.store, &id).await {
        Ok(password) => {
            tracing::info!(vehicle = %id, by = %user.0.name, "vehicle registered");
            audit::record(&state, Some(&user.0.name), from, "vehicle.add", id.as_str(), json!({})).await?;
            Ok((StatusCode::CREATED, Json(json!({ "id": id, "password": password }))).into_response())
        }
        Err(StoreError::AlreadyExists(what)) => {
            Err(ApiError::new(StatusCode::CONFLICT, format!("{what} already exists")))
        }
        Err(e) => Err(e.into()),
    }
}
