//! `GET /api/v1/live`: the WebSocket live feed. On connect, the current state (each vehicle's
//! latest position and agent status, each running move's vehicles' progress, every alert not
//! yet resolved); then positions, progress, alerts and agent status as they happen, and a ping
//! every 15 s.
//!
//! Admins and dispatchers see everything, escorts their assigned moves' vehicles and alerts;
//! auditors work from the record, not the live feed.
//!
//! Browsers cannot set headers on a WebSocket: the page opens it with a one-use ticket
//! (`?ticket=`, from `POST /api/v1/live/ticket`) that stands for its token, so the token is
//! never in a URL. Other clients send the bearer header (or, as before, `?token=`).
//! Memory stays bounded whatever a client does: every client reads the same broadcast buffers.
//! Alerts have a buffer of their own and go first: a client too slow for the stream of
//! positions skips positions (and is told how many, `{"type":"lagged","missed":N}`), then gets
//! each vehicle's latest position (the skipped ones coalesced), never skips an alert. One that
//! stops answering pings is closed. At shutdown every feed is closed with "going away".

use std::time::Duration;

use axum::extract::ws::{close_code, CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use convoy_core::alert::AlertState;
use convoy_core::live::LiveEvent;
use convoy_core::progress::ProgressBoard;
use convoy_core::Ability;
use convoy_store::{AlertFilter, Store, User};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::Scope;
use crate::audit;
use crate::error::ApiError;
use crate::extract::bearer_token;
use crate::extract::ClientAddr;
use crate::extract::{ApiQuery, Authenticated};
use crate::listener::ShuttingDown;
use crate::openapi::{requires, BadRequest, ServiceUnavailable};
use crate::state::AppState;
use convoy_registry::credentials;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(requires(Ability::Live, routes!(live_feed)))
}

const PING_EVERY: Duration = Duration::from_secs(15);
/// A client that has answered nothing (not even a pong) for this long is gone.
const SILENCE_LIMIT: Duration = Duration::from_secs(3 * 15 + 5);
/// After skipping positions, a client is sent every vehicle's latest at most this often.
const CATCH_UP_EVERY: Duration = Duration::from_secs(5);
/// How often the token and an escort's assigned moves are read again (a logout, a revocation
/// or a team change reaches an open feed).
const RESCOPE_EVERY: Duration = Duration::from_secs(10);
/// The largest message a client may send (it has nothing to say but pongs and close).
pub(crate) const MAX_INCOMING_BYTES: usize = 4096;
/// A send that takes longer than this closes the connection.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct LiveQuery {
    /// The bearer token itself. Prefer the header or a ticket: URLs end up in proxies' logs.
    token: Option<String>,
    /// A one-use ticket from `POST /api/v1/live/ticket` (what the web page uses: browsers cannot
    /// set headers on a WebSocket, and a ticket keeps the token out of the URL).
    ticket: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/live",
    tag = "live",
    operation_id = "liveFeed",
    summary = "The live feed (WebSocket)",
    description = "Escorts see their assigned moves' vehicles and alerts only; auditors get 403: they work from the record.\n\nA WebSocket upgrade (`Connection: Upgrade`, `Upgrade: websocket`). The caller is known by a one-use `?ticket=` (browsers cannot set headers on a WebSocket; the web page uses tickets), a bearer header, or the token as `?token=`. On connect the current state arrives first, as the same messages: each vehicle's latest position, its agent's status, each running move's vehicles' progress along the route, then every alert not yet resolved. Then positions, progress (at most one message per vehicle and move per fix; `progress_ended` once a move stops running), alerts and agent status as they happen, and a ping every 15 s. Server-to-client text messages are JSON, tagged by `type` (schema `LiveMessage`). A client too slow for the stream of positions skips some (positions, progress, status) and is told how many (`lagged`), then gets each vehicle's latest position and progress. Alerts are never skipped; a client that stops answering is closed. Opening the feed is recorded in the audit log.",
    params(LiveQuery),
    security(("liveTicket" = []), ("bearer" = []), ("liveToken" = [])),
    extensions(("x-websocket-messages" = json!({ "$ref": "#/components/schemas/LiveMessage" }))),
    responses(
        (status = 101, description = "Switching protocols: the WebSocket is open. Messages: `LiveMessage` (`#/components/schemas/LiveMessage`)."),
        (status = 400, response = BadRequest),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn live_feed(
    State(state): State<AppState>,
    ClientAddr(from): ClientAddr,
    ApiQuery(query): ApiQuery<LiveQuery>,
    headers: HeaderMap,
    shutting_down: Option<Extension<ShuttingDown>>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    // The token's hash: checked again while the feed is open (logout, revocation and expiry
    // close it).
    let token_hash = match credential(&query, &headers)? {
        Credential::Ticket(ticket) => state
            .live_tickets
            .redeem(ticket)
            .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "invalid, used or expired ticket"))?,
        Credential::Token(token) => credentials::token_hash(token),
    };
    let user = state
        .store
        .token_user(&token_hash, chrono::Utc::now())
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "invalid or expired token"))?;
    Authenticated(user.clone()).require(Ability::Live)?;
    tracing::info!(user = %user.name, "live feed opened");
    audit::record(&state, Some(&user.name), from, "live.open", "live", json!({})).await?;
    let events = state.events.live.subscribe();
    let alerts = state.events.live_alerts.subscribe();
    let sources = Sources { store: state.store.clone(), progress: state.progress.clone() };
    // Served without the listener (a router in a test), nothing shuts the feed down.
    let shutdown = shutting_down.map_or_else(CancellationToken::new, |Extension(ShuttingDown(token))| token);
    Ok(upgrade.max_message_size(MAX_INCOMING_BYTES).on_upgrade(move |socket| async move {
        if let Err(e) = serve_client(socket, sources, user, token_hash, alerts, events, shutdown).await {
            tracing::debug!(error = %e, "live feed closed");
        }
    }))
}

/// How the caller of the feed says who they are.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Credential<'a> {
    /// A one-use ticket (`?ticket=`), trimmed.
    Ticket(&'a str),
    /// The bearer token, from `?token=` (trimmed) or the `Authorization` header.
    Token(&'a str),
}

/// The caller's credential from the query and headers: a ticket first, then a token in the
/// query, then the bearer header; 401 when there is none.
pub(crate) fn credential<'a>(
    query: &'a LiveQuery,
    headers: &'a HeaderMap,
) -> Result<Credential<'a>, ApiError> {
    match (&query.ticket, &query.token) {
        (Some(ticket), _) => Ok(Credential::Ticket(ticket.trim())),
        (None, Some(token)) => Ok(Credential::Token(token.trim())),
        (None, None) => bearer_token(headers)
            .map(Credential::Token)
            .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "missing bearer token")),
    }
}

/// What a client's message means to the feed: it has nothing to say but pongs and close, so
/// a close ends the feed and anything else only shows the client is still there.
pub(crate) fn closes(message: &Message) -> bool {
    matches!(message, Message::Close(_))
}

/// Where a feed reads what it sends on connect and after skipping: the store, and the progress
/// board the alert service writes.
struct Sources {
    store: Store,
    progress: std::sync::Arc<ProgressBoard>,
}

async fn serve_client(
    mut socket: WebSocket,
    sources: Sources,
    user: User,
    token_hash: String,
    mut alerts: broadcast::Receiver<LiveEvent>,
    mut events: broadcast::Receiver<LiveEvent>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let Sources { store, progress } = sources;
    let progress = &*progress;
    let mut scope = Scope::of(&store, &user).await?;
    send_latest_positions(&mut socket, &store, &scope).await?;
    // Each agent's latest health report, so the page need not wait for the next one.
    for report in store.agent_statuses().await? {
        let Ok(status) = serde_json::from_str(&report.status_json) else { continue };
        if scope.sees_vehicle(&report.vehicle) {
            send(&mut socket, &LiveEvent::Status { vehicle: report.vehicle, status }).await?;
        }
    }
    send_progress(&mut socket, progress, &scope).await?;
    // Every alert still to be dealt with, however many newer ones were resolved since.
    let mut unresolved = Vec::new();
    for state in [AlertState::Open, AlertState::Acknowledged] {
        unresolved.extend(store.alerts(&AlertFilter { state: Some(state), ..Default::default() }).await?);
    }
    for record in unresolved.into_iter().filter(|r| scope.sees_move(&r.move_id)) {
        let alert = record.message(
            record.acknowledged_t.unwrap_or(record.opened_t),
            record.detail.clone(),
            record.late,
        );
        send(&mut socket, &LiveEvent::Alert { alert }).await?;
    }
    let mut ping = tokio::time::interval(PING_EVERY);
    let mut rescope = tokio::time::interval(RESCOPE_EVERY);
    rescope.reset();
    let mut last_heard = Instant::now();
    let mut last_catch_up: Option<Instant> = None;
    loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => {
                let going_away = CloseFrame { code: close_code::AWAY, reason: "server stopping".into() };
                let close = socket.send(Message::Close(Some(going_away)));
                let _ = tokio::time::timeout(SEND_TIMEOUT, close).await;
                return Ok(());
            }
            alert = alerts.recv() => match alert {
                Ok(alert) if scope.sees(&alert) => send(&mut socket, &alert).await?,
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    // Only a client stuck for thousands of alerts gets here.
                    tracing::warn!(missed, "live client too slow even for alerts; closing it");
                    return Ok(());
                }
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            },
            event = events.recv() => match event {
                Ok(event) if scope.sees(&event) => send(&mut socket, &event).await?,
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    send_text(&mut socket, json!({ "type": "lagged", "missed": missed }).to_string()).await?;
                    // Coalesce what was skipped: each vehicle's latest position from the store
                    // (at most every few seconds, so a client always behind costs little).
                    if last_catch_up.is_none_or(|at| at.elapsed() >= CATCH_UP_EVERY) {
                        send_latest_positions(&mut socket, &store, &scope).await?;
                        send_progress(&mut socket, progress, &scope).await?;
                        last_catch_up = Some(Instant::now());
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            },
            _ = rescope.tick() => {
                // The person as they are now: a token ended (logout, revoked, disabled, a new
                // password) closes the feed; a new role is the scope from here on.
                let Some(now) = store.token_user(&token_hash, chrono::Utc::now()).await? else {
                    tracing::info!(user = %user.name, "live feed closed: its token ended");
                    return Ok(());
                };
                if !now.role.may(Ability::Live) {
                    tracing::info!(user = %user.name, role = %now.role, "live feed closed: the role has no live feed");
                    return Ok(());
                }
                scope = Scope::of(&store, &now).await?;
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > SILENCE_LIMIT {
                    tracing::info!(user = %user.name, "live client silent (no pong); closing it");
                    return Ok(());
                }
                tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Ping(Vec::new().into()))).await??;
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(message)) if closes(&message) => return Ok(()),
                None => return Ok(()),
                Some(Ok(_)) => last_heard = Instant::now(),
                Some(Err(e)) => return Err(e.into()),
            },
        }
    }
}

/// Each vehicle's latest stored position, of the vehicles `scope` sees.
async fn send_latest_positions(socket: &mut WebSocket, store: &Store, scope: &Scope) -> anyhow::Result<()> {
    for latest in store.latest_positions().await? {
        if scope.sees_vehicle(&latest.vehicle) {
            send(socket, &LiveEvent::Position { vehicle: latest.vehicle, position: latest.position }).await?;
        }
    }
    Ok(())
}

/// Each running move's vehicles' latest progress, of the moves and vehicles `scope` sees.
async fn send_progress(socket: &mut WebSocket, board: &ProgressBoard, scope: &Scope) -> anyhow::Result<()> {
    for progress in board.all() {
        let event = LiveEvent::Progress { progress };
        if scope.sees(&event) {
            send(socket, &event).await?;
        }
    }
    Ok(())
}

async fn send(socket: &mut WebSocket, event: &LiveEvent) -> anyhow::Result<()> {
    send_text(socket, serde_json::to_string(event)?).await
}

async fn send_text(socket: &mut WebSocket, text: String) -> anyhow::Result<()> {
    tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Text(text.into()))).await??;
    Ok(())
}
