//! The HTTP API's router: the routes each feature module exports (each declared once, with its
//! documentation: see `openapi.rs`), merged, and the layers that are not any one feature's.

use axum::extract::DefaultBodyLimit;
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::{Extension, Router};
use utoipa_axum::router::OpenApiRouter;

use crate::error::ApiError;
use crate::state::AppState;

/// The server's router.
pub fn router(state: AppState) -> Router {
    let (router, _) = api().split_for_parts();
    router
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such path") })
        // For the count of the history routes' refusals (`move_span::count_refusal`).
        .layer(Extension(state.metrics.clone()))
        .layer(axum::middleware::map_response(protective_headers))
        // Outermost, so it times the whole answer.
        .layer(axum::middleware::from_fn(crate::request_span::request_span))
        .with_state(state)
}

/// Every route of the router, as (method, path) with the path as axum spells it
/// (`/assets/{*path}`): what the router is built from.
pub fn route_list() -> Vec<(String, String)> {
    let mut routes = Vec::new();
    for (path, item) in api().into_openapi().paths.paths {
        let methods = [
            ("GET", item.get.is_some()),
            ("PUT", item.put.is_some()),
            ("POST", item.post.is_some()),
            ("DELETE", item.delete.is_some()),
            ("PATCH", item.patch.is_some()),
            ("HEAD", item.head.is_some()),
            ("OPTIONS", item.options.is_some()),
            ("TRACE", item.trace.is_some()),
        ];
        routes.extend(
            methods.into_iter().filter(|(_, has)| *has).map(|(method, _)| (method.to_string(), path.clone())),
        );
    }
    routes
}

/// The OpenAPI document of the router.
pub(crate) fn openapi() -> serde_json::Value {
    crate::openapi::finish(api().into_openapi())
}

/// Every feature's routes, with their documentation.
fn api() -> OpenApiRouter<AppState> {
    // A plan's route file may be large; routes/parse reads one twice as large as a plan may hold.
    let plan_bodies = DefaultBodyLimit::max(2 * convoy_core::plan::MAX_PLAN_BYTES);
    let history = OpenApiRouter::new()
        .merge(crate::track::routes())
        .merge(crate::export::routes())
        .merge(crate::replay_api::routes())
        .merge(crate::report::routes())
        .merge(crate::evidence::routes())
        .layer(axum::middleware::map_response(crate::move_span::count_refusal));
    OpenApiRouter::new()
        .merge(crate::health::routes())
        .merge(crate::web::routes())
        .merge(crate::basemap::routes())
        .merge(crate::login::routes())
        .merge(crate::openapi::routes())
        .merge(crate::people::routes())
        .merge(crate::people_admin::routes())
        .merge(crate::login_holds::routes())
        .merge(crate::vehicles::routes())
        .merge(crate::vehicles_admin::routes())
        .merge(crate::vehicle_keys::routes())
        .merge(crate::vehicle_status::routes())
        .merge(crate::moves::routes().layer(plan_bodies))
        .merge(crate::move_edit::routes().layer(plan_bodies))
        .merge(crate::move_end::routes())
        .merge(crate::progress::routes())
        .merge(history)
        .merge(crate::alert_history::routes())
        .merge(crate::daily_report::routes())
        .merge(crate::alert_api::routes())
        .merge(crate::live::routes())
        .merge(crate::live_ticket::routes())
        .merge(crate::audit::routes())
        .merge(crate::phones::owntracks::routes())
        .merge(crate::phones::admin::routes())
        .merge(crate::holds::routes())
        .merge(crate::seals::routes())
        .merge(crate::signed_record::routes())
}

/// Headers every answer carries: a browser must not guess that a JSON body holding someone's
/// text is HTML, and nothing on the way may keep a copy of positions, alerts or the audit log.
async fn protective_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, header::HeaderValue::from_static("nosniff"));
    headers.entry(header::CACHE_CONTROL).or_insert(header::HeaderValue::from_static("no-store"));
    response
}

/// `Strict-Transport-Security` for answers over HTTPS (never over plain HTTP, where browsers
/// ignore it and it would only mislead): a browser that has once reached the server over TLS
/// refuses plain HTTP to it for a year, so a network attacker cannot strip TLS from a later
/// visit. Subdomains are not included: other services under the same name may not speak TLS.
pub(crate) async fn strict_transport_security(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::STRICT_TRANSPORT_SECURITY, header::HeaderValue::from_static("max-age=31536000"));
    response
}
