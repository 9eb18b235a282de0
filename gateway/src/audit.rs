//! The audit trail of the API: [`record`] for handlers (every access leaves a trace, or the
//! request fails), [`ClientAddr`] for where a request came from, and `GET /api/v1/audit`.

use std::net::IpAddr;

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use convoy_core::Ability;
use convoy_store::{AuditEntry, AuditFilter, NewAuditEntry};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::extract::ClientAddr;
use crate::extract::{ApiQuery, Authenticated};
use crate::openapi::{requires, BadRequest, ServiceUnavailable};
use crate::reply::Reply;
use crate::schemas;
use crate::state::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(requires(Ability::Audit, routes!(list_audit)))
}

/// Entries returned when the request gives no limit.
const DEFAULT_LIMIT: u32 = 1000;
/// The most entries one request may ask for.
const MAX_LIMIT: u32 = 10_000;

/// Records an access in the audit log. A failed write fails the request: an access that
/// cannot be recorded must not happen.
pub(crate) async fn record(
    state: &AppState,
    actor: Option<&str>,
    from: Option<IpAddr>,
    action: &str,
    target: &str,
    detail: Value,
) -> Result<(), ApiError> {
    let entry = NewAuditEntry {
        actor: actor.map(str::to_string),
        action: action.to_string(),
        target: target.to_string(),
        from_addr: from.map(|ip| ip.to_string()),
        detail,
    };
    match state.store.append_audit(&entry).await {
        Ok(_) => Ok(()),
        Err(e) => {
            tracing::error!(error = %e, action, target, "cannot write the audit log; refusing the request");
            Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "the audit log is unavailable; try again"))
        }
    }
}

/// (Numbers and times come as text, judged by `filter_of`, so a bad one is refused with a
/// sentence that names its bounds.)
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditQuery {
    /// Entries at or after this time.
    #[param(value_type = Option<schemas::Time>)]
    from: Option<String>,
    /// Entries before this time (after `from`).
    #[param(value_type = Option<schemas::Time>)]
    to: Option<String>,
    /// Only this user's entries.
    actor: Option<String>,
    /// Only this action (`login.ok`, `login.failed`, `track.view`, `export.download`, `alert.ack`, ...).
    action: Option<String>,
    /// Entries after this sequence number (to page on).
    #[param(value_type = Option<u64>, minimum = 0, maximum = 9223372036854775807i64)]
    after_seq: Option<String>,
    /// At most this many entries.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 10000, default = 1000)]
    limit: Option<String>,
}

/// An entry of the audit log.
#[derive(Serialize, ToSchema)]
#[schema(as = AuditEntry)]
pub(crate) struct AuditEntryView {
    #[schema(minimum = 1)]
    seq: u64,
    #[schema(value_type = schemas::Time)]
    at: String,
    /// Who; null for a refused login with an unknown user name.
    #[schema(required = true)]
    actor: Option<String>,
    #[schema(examples("login.ok", "track.view", "export.download", "alert.ack"))]
    action: String,
    target: String,
    /// The client's address (the TCP peer's, never a forwarded header).
    #[schema(required = true)]
    from: Option<String>,
    /// What exactly (range, format, note, ...).
    detail: Value,
    prev_hash: String,
    /// SHA-256 over this entry and `prev_hash`.
    hash: String,
}

/// The newest entry of the whole chain.
#[derive(Serialize, ToSchema)]
#[schema(as = AuditHead)]
pub(crate) struct AuditHeadView {
    seq: u64,
    hash: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct AuditLog {
    #[schema(max_items = 10000)]
    entries: Vec<AuditEntryView>,
    head: AuditHeadView,
}

/// `GET /api/v1/audit` (admin, auditor): entries in seq order with the chain's head. The view
/// is itself recorded, before the entries are read, so it appears in a later read.
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "audit",
    operation_id = "auditLog",
    summary = "Audit log entries in sequence order, with the chain's head",
    description = "Each entry's hash covers the previous entry's hash (`convoy audit verify` checks the chain). The read itself is recorded before the entries are read.",
    params(AuditQuery),
    responses(
        (status = 200, description = "The entries.", body = AuditLog),
        (status = 400, response = BadRequest),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn list_audit(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from_addr): ClientAddr,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Reply<AuditLog>, ApiError> {
    user.require(Ability::Audit)?;
    let filter = filter_of(&query)?;
    let detail = json!({
        "from": filter.from, "to": filter.to, "actor": filter.actor, "action": filter.action,
        "after_seq": filter.after_seq, "limit": filter.limit,
    });
    record(&state, Some(&user.0.name), from_addr, "audit.view", "audit_log", detail).await?;
    let entries = state.store.audit_entries(&filter).await?;
    let head = state.store.audit_head().await?;
    Ok(Reply::ok(AuditLog {
        entries: entries.iter().map(entry_view).collect(),
        head: AuditHeadView { seq: head.seq, hash: head.hash },
    }))
}

fn filter_of(query: &AuditQuery) -> Result<AuditFilter, ApiError> {
    let from = query.from.as_deref().map(|t| parse_time("from", t)).transpose()?;
    let to = query.to.as_deref().map(|t| parse_time("to", t)).transpose()?;
    if let (Some(from), Some(to)) = (from, to) {
        if from > to {
            return Err(bad_request("from is after to"));
        }
    }
    let after_seq = match query.after_seq.as_deref() {
        None => None,
        Some(text) => Some(
            text.parse::<u64>()
                .ok()
                .filter(|&seq| seq <= i64::MAX as u64)
                .ok_or_else(|| bad_request("after_seq must be a whole number of at least 0"))?,
        ),
    };
    let limit = match query.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|limit| (1..=MAX_LIMIT).contains(limit))
            .ok_or_else(|| bad_request(format!("limit must be between 1 and {MAX_LIMIT}")))?,
    };
    Ok(AuditFilter { from, to, actor: query.actor.clone(), action: query.action.clone(), after_seq, limit })
}

fn parse_time(name: &str, text: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| bad_request(format!("{name} must be an RFC 3339 time, e.g. 2026-11-28T09:00:00Z")))
}

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message).with_reason("bad_query")
}

fn entry_view(entry: &AuditEntry) -> AuditEntryView {
    AuditEntryView {
        seq: entry.seq,
        at: entry.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        actor: entry.actor.clone(),
        action: entry.action.clone(),
        target: entry.target.clone(),
        from: entry.from_addr.clone(),
        detail: entry.detail_json(),
        prev_hash: entry.prev_hash.clone(),
        hash: entry.hash.clone(),
    }
}
