//! Counting refused requests for stored history (exports, replays, reports, tracks) by reason.
//!
//! A layer on those routes ([`count_refusal`]) reads the reason every [`ApiError`] with one
//! leaves in its answer's extensions ([`RefusalReason`]): a handler's refusals and an
//! extractor's (a query that does not parse) are counted alike, in one place.
//!
//! [`ApiError`]: crate::error::ApiError

use axum::response::Response;
use axum::Extension;

use crate::error::RefusalReason;
use crate::metrics::GatewayMetrics;

/// Counts a refusal that has a reason (bad input; not a 403 or a 404) in
/// `convoy_gateway_history_requests_rejected_total`. The metrics come as a request extension,
/// which the router adds for every route.
pub(crate) async fn count_refusal(
    metrics: Option<Extension<GatewayMetrics>>,
    response: Response,
) -> Response {
    if let (Some(Extension(metrics)), Some(RefusalReason(reason))) =
        (metrics, response.extensions().get::<RefusalReason>())
    {
        metrics.history_rejected.with_label_values(&[reason]).inc();
    }
    response
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};

    use super::*;
    use crate::extract::ApiQuery;

    #[derive(serde::Deserialize)]
    struct Query {
        #[allow(dead_code)]
        n: u32,
    }

    async fn handler(ApiQuery(_): ApiQuery<Query>) -> &'static str {
        "ok"
    }

    #[tokio::test]
    async fn an_extractors_refusal_is_counted_with_its_reason() {
        let metrics = GatewayMetrics::new(&prometheus::Registry::new()).unwrap();
        let mut app = axum::Router::new()
            .route("/history", axum::routing::get(handler))
            .layer(axum::middleware::map_response(count_refusal))
            .layer(Extension(metrics.clone()));
        for query in ["n=many", "n=7", "n=-1"] {
            let request = Request::get(format!("/history?{query}")).body(Body::empty()).unwrap();
            let response = tower::Service::call(&mut app, request).await.unwrap();
            let expected = if query == "n=7" { StatusCode::OK } else { StatusCode::BAD_REQUEST };
            assert_eq!(response.status(), expected, "{query}");
        }
        assert_eq!(metrics.history_rejected.with_label_values(&["bad_query"]).get(), 2);
    }
}
