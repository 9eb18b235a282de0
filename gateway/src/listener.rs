//! The HTTP and HTTPS listeners: one accept loop for both. Each connection is served on its own
//! task (over TLS, handshaken there first: a client that never finishes its handshake holds up
//! nobody), with the client's address as axum's `ConnectInfo`. Plain HTTP speaks HTTP/1.1 (what
//! browsers use without TLS); over TLS the protocol is the one ALPN chose, HTTP/2 or HTTP/1.1.
//! No client can hold a connection for free: 30 s to send a request's headers (over plain HTTP
//! from the moment it connects; over TLS the handshake has 10 s, and a client silent after it
//! is held until the gate needs its place), and between keep-alive requests; two minutes for a
//! whole request to be answered (a body sent too slowly included); pings on idle HTTP/2
//! connections. How many connections are open at once is the server's
//! [`Gate`]'s to say (a cap derived from the open-files limit, at most [`MAX_CONNECTIONS`]):
//! each connection is accepted first and then admitted, so that at the cap a connection that
//! has not sent a request yet, or waits for its next one, is closed to make room, and one with
//! a request under way (its answer sent to the last byte) or a live feed never is (a real
//! request is not kept waiting in the listen backlog behind idle sockets). Shutdown
//! stops accepting and gives open connections a while to finish.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use convoy_limits::{Admitted, Busy, Gate};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use axum::http::StatusCode;
use axum::response::IntoResponse;

use crate::error::ApiError;
use crate::router::router;
use crate::state::AppState;

/// A client must finish its TLS handshake within this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client has to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a request may take from its headers to its response's headers (reading the body
/// included; a streamed download's body is not bounded by this).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// How often an idle HTTP/2 connection is pinged, and how long the answer may take.
const H2_PING_EVERY: Duration = Duration::from_secs(30);
const H2_PING_TIMEOUT: Duration = Duration::from_secs(20);
/// The most HTTP connections open at once, however high the open-files limit (the server derives
/// the actual cap from that limit, see `convoy_limits::budget`).
pub const MAX_CONNECTIONS: usize = 10_000;
/// Near its cap, a connection that has sent no request for this long is closed for a newer one
/// (a browser or client sends its request at once; only an idle socket is silent this long).
pub const SILENT_NEAR_CAP: Duration = Duration::from_secs(3);
/// How long open connections get to finish after shutdown is asked.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves the API over plain HTTP on `listener`, admitting connections through `gate`, until
/// `shutdown` is cancelled.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    gate: Arc<Gate>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let app = router(state.clone());
    with_refused_logins_written(state, shutdown.clone(), accept_loop(listener, app, None, gate, shutdown))
        .await
}

/// Serves only `GET /metrics` over plain HTTP on `listener` (the `metrics_listen` setting: a
/// port for Prometheus alone, off the public one), admitting connections through `gate`, until
/// `shutdown` is cancelled.
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    registry: prometheus::Registry,
    gate: Arc<Gate>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let app = axum::Router::new()
        .route("/metrics", axum::routing::get(move || async move { crate::health::metrics_text(&registry) }))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such path") });
    accept_loop(listener, app, None, gate, shutdown).await
}

/// Serves Traccar Client's reports (the OsmAnd protocol, `phones::osmand`) on `listener`, over
/// TLS when `tls` is given (the API's certificate), admitting connections through `gate`, until
/// `shutdown` is cancelled. No request's path is logged here: it holds the phone's secret.
pub async fn serve_osmand(
    listener: tokio::net::TcpListener,
    state: AppState,
    tls: Option<Arc<rustls::ServerConfig>>,
    gate: Arc<Gate>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let acceptor = tls.map(|tls| {
        let mut tls = (*tls).clone();
        tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        TlsAcceptor::from(Arc::new(tls))
    });
    accept_loop(listener, crate::phones::osmand::router(state), acceptor, gate, shutdown).await
}

/// Serves the API over TLS on `listener`, admitting connections through `gate`, until
/// `shutdown` is cancelled.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    state: AppState,
    tls: Arc<rustls::ServerConfig>,
    gate: Arc<Gate>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let mut tls = (*tls).clone();
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = Some(TlsAcceptor::from(Arc::new(tls)));
    let app =
        router(state.clone()).layer(axum::middleware::map_response(crate::router::strict_transport_security));
    with_refused_logins_written(state, shutdown.clone(), accept_loop(listener, app, acceptor, gate, shutdown))
        .await
}

/// Runs `serving` beside the sweep that writes refused logins' counts, then, once the drain
/// has let the last request finish, writes whatever is still counted (`login_audit`).
async fn with_refused_logins_written(
    state: AppState,
    shutdown: CancellationToken,
    serving: impl std::future::Future<Output = std::io::Result<()>>,
) -> std::io::Result<()> {
    let sweep = tokio::spawn(crate::login_audit::sweep(state.clone(), shutdown));
    let served = serving.await;
    let _ = sweep.await;
    crate::login_audit::flush(&state).await;
    served
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    tls: Option<TlsAcceptor>,
    gate: Arc<Gate>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    // Live feeds are WebSockets, which the drain below does not see once upgraded: they hear
    // of the shutdown through this.
    let shutting_down = ShuttingDown(shutdown.clone());
    let graceful = GracefulShutdown::new();
    loop {
        let (tcp, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) if is_connection_error(&e) => continue,
                // Out of file descriptors and the like: the gate waits (no spinning), warns now
                // and then, and frees a descriptor if a silent connection holds one.
                Err(e) => {
                    gate.accept_failed(&e).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        // Accepted first, admitted after: at the cap a silent connection makes room for this
        // one, or (every place busy with requests) this one is closed here.
        let Some(admitted) = gate.admit() else { continue };
        let admitted = Arc::new(admitted);
        let _ = tcp.set_nodelay(true);
        let tls = tls.clone();
        let app = app.clone();
        let shutting_down = shutting_down.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let connection = serve_accepted(tcp, remote, tls, app, shutting_down, watcher, admitted.clone());
            tokio::select! {
                () = connection => {}
                () = admitted.shed() => tracing::debug!(%remote, "silent HTTP connection closed at the cap"),
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await.is_err() {
        tracing::warn!("HTTP connections still open after {DRAIN_TIMEOUT:?}; no longer waiting for them");
    }
    Ok(())
}

/// One accepted connection: its TLS handshake if any, then its requests.
async fn serve_accepted(
    tcp: tokio::net::TcpStream,
    remote: SocketAddr,
    tls: Option<TlsAcceptor>,
    app: axum::Router,
    shutting_down: ShuttingDown,
    watcher: Watcher,
    admitted: Arc<Admitted>,
) {
    let Some(acceptor) = tls else {
        // hyper's clock for the headers starts once it has read a first byte: a client that
        // sends nothing at all is closed here.
        if tokio::time::timeout(HEADER_TIMEOUT, tcp.peek(&mut [0u8; 1])).await.is_err() {
            return tracing::debug!(%remote, "HTTP client sent nothing");
        }
        return serve_connection(tcp, Protocol::Http1, remote, app, shutting_down, watcher, admitted).await;
    };
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(stream)) => {
            let protocol = match stream.get_ref().1.alpn_protocol() {
                Some(b"h2") => Protocol::Http2,
                _ => Protocol::Http1,
            };
            serve_connection(stream, protocol, remote, app, shutting_down, watcher, admitted).await
        }
        Ok(Err(e)) => tracing::debug!(%remote, error = %e, "TLS handshake failed"),
        Err(_) => tracing::debug!(%remote, "TLS handshake timed out"),
    }
}

/// An error of one connection that came and went before it was accepted: nothing to wait for.
fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionRefused
    )
}

#[derive(Clone, Copy)]
enum Protocol {
    Http1,
    Http2,
}

/// Serves one connection (HTTP/1.1 with WebSocket upgrades, or HTTP/2) until it closes or the
/// server drains. Its first request tells the gate it has spoken.
async fn serve_connection<S>(
    stream: S,
    protocol: Protocol,
    remote: SocketAddr,
    app: axum::Router,
    shutting_down: ShuttingDown,
    watcher: Watcher,
    admitted: Arc<Admitted>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
        // Under way until its answer is sent: the gate leaves the connection alone meanwhile.
        let busy = admitted.busy();
        let admitted = admitted.clone();
        // The peer's address reaches handlers (`ClientAddr`) for the audit log.
        request.extensions_mut().insert(ConnectInfo::<SocketAddr>(remote));
        request.extensions_mut().insert(shutting_down.clone());
        let app = app.clone();
        async move {
            let response = match tokio::time::timeout(REQUEST_TIMEOUT, app.oneshot(request)).await {
                Ok(Ok(response)) => response,
                Ok(Err(never)) => match never {},
                Err(_) => ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "the request took too long to arrive or to answer",
                )
                .into_response(),
            };
            // A live feed's WebSocket is in use for as long as it lives.
            if response.status() == StatusCode::SWITCHING_PROTOCOLS {
                admitted.spoke();
            }
            Ok::<_, std::convert::Infallible>(response.map(|body| Body::new(Answering { body, _busy: busy })))
        }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    match protocol {
        Protocol::Http1 => {
            builder = builder.http1_only();
            // A client gets HEADER_TIMEOUT to send a request's headers, counted from when it
            // connects and between requests (a slow or silent one holds a connection, not the
            // server).
            builder.http1().timer(TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT);
        }
        Protocol::Http2 => {
            builder = builder.http2_only();
            builder
                .http2()
                .timer(TokioTimer::new())
                .keep_alive_interval(Some(H2_PING_EVERY))
                .keep_alive_timeout(H2_PING_TIMEOUT);
        }
    }
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
    if let Err(e) = watcher.watch(connection.into_owned()).await {
        tracing::debug!(%remote, error = %e, "HTTP connection ended with an error");
    }
}

/// An answer's body, holding its request's [`Busy`] until it is sent (or dropped): a streamed
/// export is a request under way to its last byte.
struct Answering {
    body: Body,
    _busy: Busy,
}

impl hyper::body::Body for Answering {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// The server's shutdown, in every request's extensions, for what outlives its request (the
/// live feed's WebSocket).
#[derive(Clone, Debug)]
pub(crate) struct ShuttingDown(pub(crate) CancellationToken);
