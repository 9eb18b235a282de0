//! A span per HTTP request, at debug level: its method and path, and once it is answered its
//! status and latency; a line at the answer shows them. The query string is never logged (a
//! live feed's ticket or token may travel there), nor any header or body.
//!
//! With debug off the span is never built and the request goes straight on: nothing is
//! formatted or timed.
//!
//! Added to the router as `.layer(axum::middleware::from_fn(crate::request_span::request_span))`,
//! outermost, so the latency is the whole answer's.

use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;

/// The middleware (see the module's documentation).
pub async fn request_span(request: Request, next: Next) -> Response {
    let span = tracing::debug_span!(
        "http_request",
        method = %request.method(),
        path = %request.uri().path(),
        status = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    );
    if span.is_disabled() {
        return next.run(request).await;
    }
    let started = Instant::now();
    async move {
        let response = next.run(request).await;
        let span = tracing::Span::current();
        span.record("status", response.status().as_u16());
        span.record("latency_ms", started.elapsed().as_secs_f64() * 1000.0);
        tracing::debug!("answered");
        response
    }
    .instrument(span)
    .await
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    /// What the subscriber writes, kept for the test to read.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn app() -> axum::Router {
        axum::Router::new()
            .route("/api/v1/live", get(|| async { "fine" }))
            .route("/teapot", get(|| async { axum::http::StatusCode::IM_A_TEAPOT }))
            .layer(axum::middleware::from_fn(request_span))
    }

    async fn call(app: axum::Router, uri: &str) -> u16 {
        let request = Request::builder().uri(uri).body(Body::empty()).unwrap();
        app.oneshot(request).await.unwrap().status().as_u16()
    }

    fn log_at(level: tracing::Level, run: impl std::future::Future<Output = ()>) -> String {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(level)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        tracing::subscriber::with_default(subscriber, || runtime.block_on(run));
        let bytes = captured.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn each_request_is_logged_with_method_path_status_and_latency_but_never_its_query() {
        let log = log_at(tracing::Level::DEBUG, async {
            assert_eq!(call(app(), "/api/v1/live?ticket=secret-ticket&token=secret-token").await, 200);
            assert_eq!(call(app(), "/teapot").await, 418);
        });
        let lines: Vec<&str> = log.lines().filter(|l| l.contains("answered")).collect();
        assert_eq!(lines.len(), 2, "{log}");
        assert!(
            lines[0].contains("http_request{method=GET path=/api/v1/live status=200 latency_ms="),
            "{log}"
        );
        assert!(lines[1].contains("path=/teapot status=418"), "{log}");
        assert!(!log.contains("secret") && !log.contains("ticket="), "the query stays out: {log}");
    }

    #[test]
    fn with_debug_off_nothing_is_logged() {
        let log = log_at(tracing::Level::INFO, async {
            assert_eq!(call(app(), "/teapot").await, 418);
        });
        assert_eq!(log, "");
    }
}
