//! `GET /healthz` and `GET /metrics`: for load balancers and Prometheus, no login.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use prometheus::{Encoder, TextEncoder};
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;

pub(crate) async fn healthz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => Json(json!({ "status": "ok", "store": state.store.backend() })).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "health check: store unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "unavailable" }))).into_response()
        }
    }
}

pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    let mut text = Vec::new();
    let encoder = TextEncoder::new();
    if let Err(e) = encoder.encode(&state.registry.gather(), &mut text) {
        return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("metrics: {e}")).into_response();
    }
    ([(header::CONTENT_TYPE, encoder.format_type().to_string())], text).into_response()
}
