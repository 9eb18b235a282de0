//! The HTTP API's routes (DESIGN.md's contract and what the web page needs), in one place:
//! each names its handler in the module of its feature.

use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use crate::error::ApiError;
use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(crate::health::healthz))
        .route("/metrics", get(crate::health::metrics))
        // The web page: static, embedded, no login needed to fetch it.
        .route("/", get(crate::web::index))
        .route("/assets/{*path}", get(crate::web::asset))
        .route("/api/v1/login", post(crate::login::login))
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
        .route("/api/v1/vehicles", get(crate::vehicles::list_vehicles).post(crate::vehicles::add_vehicle))
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
        // Outermost, so it times the whole answer.
        .layer(axum::middleware::from_fn(crate::request_span::request_span))
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
