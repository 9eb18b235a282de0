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
