//! `GET /healthz` and `GET /metrics`: for load balancers and Prometheus, no login.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use prometheus::{Encoder, TextEncoder};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::openapi::{public, NotFound};
use crate::reply::Reply;
use crate::state::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(public(routes!(healthz))).routes(public(routes!(metrics)))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct Health {
    status: HealthStatus,
    /// The storage backend.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = StoreBackend, nullable = false)]
    store: Option<&'static str>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum HealthStatus {
    Ok,
    Unavailable,
}

/// What `convoy_store::Store::backend` names.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // a schema only
enum StoreBackend {
    Sqlite,
    Postgres,
}

#[utoipa::path(
    get,
    path = "/healthz",
    tag = "system",
    operation_id = "healthz",
    summary = "Whether the server and its store answer",
    responses(
        (status = 200, description = "The server is up and its store answers.", body = Health),
        (status = 503, description = "The store does not answer.", body = Health),
    ),
)]
pub(crate) async fn healthz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => {
            Reply::ok(Health { status: HealthStatus::Ok, store: Some(state.store.backend()) }).into_response()
        }
        Err(e) => {
            tracing::warn!(error = %e, "health check: store unavailable");
            let body = Reply::ok(Health { status: HealthStatus::Unavailable, store: None });
            (StatusCode::SERVICE_UNAVAILABLE, body).into_response()
        }
    }
}

#[utoipa::path(
    get,
    path = "/metrics",
    tag = "system",
    operation_id = "metrics",
    summary = "Prometheus metrics",
    description = "Bind the HTTP listener to a trusted network, or set `metrics_listen` to serve metrics on a listener of their own (then this answers 404). Counters of refused input are labelled by reason.",
    responses(
        (status = 200, description = "The Prometheus text exposition format.", content_type = "text/plain; version=0.0.4", body = String),
        (status = 404, response = NotFound),
    ),
)]
pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    if !state.metrics_on_api_listener {
        // Served on `metrics_listen` instead: not here, as if it did not exist.
        return ApiError::new(StatusCode::NOT_FOUND, "no such path").into_response();
    }
    metrics_text(&state.registry)
}

/// The registry's metrics in Prometheus's text format.
pub(crate) fn metrics_text(registry: &prometheus::Registry) -> Response {
    let mut text = Vec::new();
    let encoder = TextEncoder::new();
    if let Err(e) = encoder.encode(&registry.gather(), &mut text) {
        return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("metrics: {e}")).into_response();
    }
    ([(header::CONTENT_TYPE, encoder.format_type().to_string())], text).into_response()
}
