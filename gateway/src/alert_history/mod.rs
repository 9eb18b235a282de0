//! `GET /api/v1/alerts/history`: every alert ever opened, filtered and paged to the end, as JSON
//! pages or one CSV file.
//!
//! A route of its own rather than more parameters on `GET /api/v1/alerts`: that list answers
//! `{"alerts"}` capped by `limit` (1,000 by default) and its callers (the page's alert panel,
//! scripts) read it as "the alerts now"; the history answers pages with a `next` cursor, which
//! would change what an unchanged call to the list means. Both apply the same roles (every
//! signed-in person), the same scope (an escort sees their moves' alerts only; another move is
//! answered as one that does not exist: nothing) and the same recency (an auditor gets an alert
//! opened less than `auditor_delay_minutes` ago without its place).
//!
//! Paging is keyset paging in the store on (`opened_t` descending, id ascending), so a page
//! deep in the history costs what the first does and alerts opened at the same instant are
//! neither skipped nor repeated. Bad input is a 400 with a reason, counted in
//! `convoy_gateway_alert_queries_rejected_total{reason}`, and changes nothing.

mod cursor;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use convoy_core::alert::{AlertKind, AlertState};
use convoy_core::position::format_time;
use convoy_core::{Role, VehicleId};
use convoy_store::{AlertHistoryQuery, AlertKey, AlertRecord, Store};
use futures_util::stream;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::mpsc;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::Scope;
use crate::alert_api::AlertView;
use crate::audit;
use crate::error::ApiError;
use crate::extract::{query_time, ApiQuery, Authenticated, ClientAddr};
use crate::openapi::{signed_in, BadRequest, ServiceUnavailable};
use crate::recency;
use crate::reply::Reply;
use crate::schemas;
use crate::state::AppState;
use cursor::{CursorError, Fingerprint};

/// A page holds this many alerts unless `limit` says otherwise.
const DEFAULT_LIMIT: u32 = 100;
/// The most alerts one page holds.
const MAX_LIMIT: u32 = 1000;
/// The longest note text searched for, in characters.
pub const MAX_TEXT_CHARS: usize = 200;
/// The CSV is read from the store this many alerts at a time.
const CSV_PAGE: u32 = 1000;

/// Every reason a refused history query is counted by.
pub const ALERT_QUERY_REJECTION_REASONS: [&str; 14] = [
    "bad_query",
    "bad_time",
    "bad_range",
    "unknown_kind",
    "unknown_state",
    "bad_vehicle",
    "bad_move",
    "text_too_long",
    "bad_text",
    "bad_limit",
    "bad_format",
    "bad_cursor",
    "stale_cursor",
    "refused_value",
];

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(signed_in(routes!(alert_history)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct HistoryQuery {
    /// Opened at or after this time (RFC 3339).
    #[param(value_type = Option<schemas::Time>)]
    from: Option<String>,
    /// Opened before this time (RFC 3339); after `from`.
    #[param(value_type = Option<schemas::Time>)]
    to: Option<String>,
    /// Only this move's alerts.
    #[serde(rename = "move")]
    #[param(max_length = 200)]
    move_id: Option<String>,
    /// Only this vehicle's alerts.
    #[param(value_type = Option<schemas::VehicleId>)]
    vehicle: Option<String>,
    /// Only alerts of this kind.
    #[param(value_type = Option<schemas::AlertKind>)]
    kind: Option<String>,
    /// Only alerts in this state now.
    #[param(value_type = Option<schemas::AlertState>)]
    state: Option<String>,
    /// Only alerts whose latest note contains this text, ignoring case (at least of ASCII
    /// letters); matched literally.
    #[param(min_length = 1, max_length = 200)]
    text: Option<String>,
    /// The `next` of the previous page, to continue the same query (the same filters, the same
    /// person).
    #[param(max_length = 600)]
    cursor: Option<String>,
    /// At most this many alerts in the page (JSON only).
    #[param(minimum = 1, maximum = 1000, default = 100)]
    limit: Option<u32>,
    /// `json` (pages, the default) or `csv` (every alert the filters select, from the cursor if
    /// one is given, as one file).
    #[param(value_type = Option<String>, pattern = "^(json|csv)$")]
    format: Option<String>,
}

/// A page of the alert history.
#[derive(Serialize, ToSchema)]
pub(crate) struct AlertHistoryPage {
    /// Newest opening first, then by id.
    #[schema(max_items = 1000)]
    alerts: Vec<AlertView>,
    /// The cursor of the next page while more alerts remain; null at the end.
    #[schema(required = true)]
    next: Option<String>,
}

/// The filters of a history query, checked.
struct Filters {
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    move_id: Option<String>,
    vehicle: Option<VehicleId>,
    kind: Option<AlertKind>,
    state: Option<AlertState>,
    text: Option<String>,
}

impl Filters {
    /// The filters as the audit log and the cursor's fingerprint see them.
    fn detail(&self) -> serde_json::Value {
        json!({
            "from": self.from.as_ref().map(format_time),
            "to": self.to.as_ref().map(format_time),
            "move": self.move_id,
            "vehicle": self.vehicle,
            "kind": self.kind,
            "state": self.state,
            "text": self.text,
        })
    }

    fn fingerprint(&self, user: &str) -> Fingerprint {
        Fingerprint::of(&json!([user, self.detail()]).to_string())
    }
}

fn refused(message: impl Into<String>, reason: &'static str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message).with_reason(reason)
}

/// The query's filters, or the 400 that says what is wrong.
fn filters(query: &mut HistoryQuery) -> Result<Filters, ApiError> {
    let from = query_time(query.from.take(), "from")?;
    let to = query_time(query.to.take(), "to")?;
    if let (Some(from), Some(to)) = (from, to) {
        if from >= to {
            return Err(refused("from must be before to", "bad_range"));
        }
    }
    let kind = query
        .kind
        .take()
        .map(|text| {
            AlertKind::parse(&text).ok_or_else(|| {
                let names: Vec<&str> = AlertKind::ALL.iter().map(|k| k.as_str()).collect();
                refused(format!("kind must be one of {}", names.join(", ")), "unknown_kind")
            })
        })
        .transpose()?;
    let state = query
        .state
        .take()
        .map(|text| {
            AlertState::parse(&text)
                .ok_or_else(|| refused("state must be open, acknowledged or resolved", "unknown_state"))
        })
        .transpose()?;
    let vehicle = query
        .vehicle
        .take()
        .map(|text| VehicleId::new(text).map_err(|e| refused(e.to_string(), "bad_vehicle")))
        .transpose()?;
    let move_id = query.move_id.take();
    if move_id.as_ref().is_some_and(|m| m.is_empty() || m.chars().count() > 200 || m.contains('\0')) {
        return Err(refused("move must be a move's id (1 to 200 characters)", "bad_move"));
    }
    let text = query.text.take().filter(|t| !t.is_empty());
    if let Some(text) = &text {
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(refused(format!("text is at most {MAX_TEXT_CHARS} characters"), "text_too_long"));
        }
        if text.chars().any(char::is_control) {
            return Err(refused("text may not hold control characters", "bad_text"));
        }
    }
    Ok(Filters { from, to, move_id, vehicle, kind, state, text })
}

#[derive(Clone, Copy, PartialEq)]
enum Format {
    Json,
    Csv,
}

#[utoipa::path(
    get,
    path = "/api/v1/alerts/history",
    tag = "alerts",
    operation_id = "alertHistory",
    summary = "Every alert, filtered, in pages to the end or as a CSV file",
    description = "Newest opening first, then by id; pages of `limit` (100 by default) with a `next` cursor while more remain: pass it back as `cursor` with the same filters. Filters: the opening time (`from` inclusive, `to` exclusive), move, vehicle, kind, state now, and text in the latest note. `format=csv` answers every alert the filters select as one streamed file (`alerts.csv`), notes a spreadsheet would run as formulas written behind a `'`. Escorts: assigned moves only (another move gives nothing, as one that does not exist). An auditor gets an alert opened less than `auditor_delay_minutes` ago without its place (`lat`, `lon` and `zone` null, or empty in the CSV). Bad input (a time that is not RFC 3339, `from` not before `to`, an unknown kind or state, a text over 200 characters, a damaged cursor or one of another query) is a 400 with a reason, counted in `convoy_gateway_alert_queries_rejected_total`. Recorded in the audit log (`alert.view`, or `alert.export` for the file).",
    params(HistoryQuery),
    responses(
        (
            status = 200,
            description = "A page (JSON), or the file (`format=csv`, as an attachment).",
            headers(("Content-Disposition" = String, description = "For the CSV: the file's name.")),
            content(
                (AlertHistoryPage = "application/json"),
                (String = "text/csv"),
            ),
        ),
        (status = 400, response = BadRequest),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn alert_history(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    query: Result<ApiQuery<HistoryQuery>, ApiError>,
) -> Result<Response, ApiError> {
    let answer = answer(&state, &user, from, query).await;
    if let Err(e) = &answer {
        if e.status() == StatusCode::BAD_REQUEST {
            let reason =
                e.reason().filter(|r| ALERT_QUERY_REJECTION_REASONS.contains(r)).unwrap_or("bad_query");
            state.metrics.alert_queries_rejected.with_label_values(&[reason]).inc();
        }
    }
    answer
}

async fn answer(
    state: &AppState,
    user: &Authenticated,
    client: Option<std::net::IpAddr>,
    query: Result<ApiQuery<HistoryQuery>, ApiError>,
) -> Result<Response, ApiError> {
    let ApiQuery(mut query) = query?;
    let format = match query.format.as_deref() {
        None | Some("json") => Format::Json,
        Some("csv") => Format::Csv,
        Some(_) => return Err(refused("format must be json or csv", "bad_format")),
    };
    let filters = filters(&mut query)?;
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(refused(format!("limit must be 1 to {MAX_LIMIT}"), "bad_limit"));
    }
    let fingerprint = filters.fingerprint(&user.0.name);
    let after = query
        .cursor
        .as_deref()
        .map(|text| {
            cursor::decode(text, fingerprint).map_err(|e| match e {
                CursorError::Bad => refused("cursor is not one this server gave", "bad_cursor"),
                CursorError::Stale => refused(
                    "cursor belongs to another query: repeat the first page's filters, or start again without it",
                    "stale_cursor",
                ),
            })
        })
        .transpose()?;

    // The moves the person may see, narrowed to the one asked for.
    let moves = match Scope::of(&state.store, &user.0).await? {
        Scope::Everything => filters.move_id.clone().map(|m| vec![m]),
        Scope::Assigned { moves, .. } => Some(match &filters.move_id {
            Some(m) => moves.into_iter().filter(|assigned| assigned == m).collect(),
            None => {
                let mut moves: Vec<String> = moves.into_iter().collect();
                moves.sort();
                moves
            }
        }),
    };
    let store_query = AlertHistoryQuery {
        from: filters.from,
        to: filters.to,
        moves,
        vehicle: filters.vehicle.clone(),
        kind: filters.kind,
        state: filters.state,
        note_contains: filters.text.clone(),
        after,
        limit,
    };
    let newest = state.access.newest_for(user.0.role, Utc::now());
    let mut detail = filters.detail();
    detail["cursor"] = json!(query.cursor.is_some());
    match format {
        Format::Json => {
            // One more than the page, to know whether another page follows.
            let mut alerts =
                state.store.alert_history(&AlertHistoryQuery { limit: limit + 1, ..store_query }).await?;
            let next = if alerts.len() > limit as usize {
                alerts.truncate(limit as usize);
                alerts.last().map(|last| cursor::encode(fingerprint, &AlertKey::of(last)))
            } else {
                None
            };
            detail["limit"] = json!(limit);
            audit::record(state, Some(&user.0.name), client, "alert.view", "alerts", detail).await?;
            let alerts =
                alerts.into_iter().map(|a| AlertView::of(&recency::placeless_if_recent(a, newest))).collect();
            Ok(Reply::ok(AlertHistoryPage { alerts, next }).into_response())
        }
        Format::Csv => {
            detail["format"] = json!("csv");
            audit::record(state, Some(&user.0.name), client, "alert.export", "alerts", detail).await?;
            let body = stream_csv(state.store.clone(), store_query, newest, user.0.role);
            Ok((
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8; header=present"),
                    (header::CONTENT_DISPOSITION, "attachment; filename=\"alerts.csv\""),
                ],
                body,
            )
                .into_response())
        }
    }
}

/// The CSV's columns, in order.
pub(crate) const CSV_HEADER: [&str; 17] = [
    "id",
    "kind",
    "state",
    "move",
    "vehicle",
    "zone",
    "opened_t",
    "lat",
    "lon",
    "late",
    "acknowledged_t",
    "acknowledged_by",
    "resolved_t",
    "resolved_by",
    "cleared_t",
    "note",
    "detail",
];

fn csv_fields(alert: &AlertRecord) -> Vec<String> {
    let time = |t: &Option<DateTime<Utc>>| t.as_ref().map(format_time).unwrap_or_default();
    let text = |t: &Option<String>| t.clone().unwrap_or_default();
    let number = |n: Option<f64>| n.map(|n| n.to_string()).unwrap_or_default();
    vec![
        alert.id.clone(),
        alert.kind.as_str().to_string(),
        alert.state.as_str().to_string(),
        alert.move_id.clone(),
        alert.vehicle.to_string(),
        text(&alert.zone),
        format_time(&alert.opened_t),
        number(alert.lat),
        number(alert.lon),
        alert.late.to_string(),
        time(&alert.acknowledged_t),
        text(&alert.acknowledged_by),
        time(&alert.resolved_t),
        text(&alert.resolved_by),
        time(&alert.cleared_t),
        text(&alert.note),
        alert.detail.to_string(),
    ]
}

/// Every alert of `query` as CSV, read from the store a page at a time and written as it
/// comes: memory holds one page, however long the history. A store error midway ends the body
/// early (the client sees a cut download) and is logged.
fn stream_csv(store: Store, mut query: AlertHistoryQuery, newest: Option<DateTime<Utc>>, role: Role) -> Body {
    let (tx, mut rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::spawn(async move {
        let mut out = Vec::new();
        convoy_history::export::csv_row(&mut out, &CSV_HEADER.map(str::to_string));
        query.limit = CSV_PAGE;
        loop {
            let page = match store.alert_history(&query).await {
                Ok(page) => page,
                Err(e) => {
                    tracing::error!(error = %e, role = role.as_str(), "alert CSV cut short by a store error");
                    let _ = tx.send(Err(std::io::Error::other("storage failed during the download"))).await;
                    return;
                }
            };
            let full = page.len() == CSV_PAGE as usize;
            query.after = page.last().map(AlertKey::of);
            for alert in page {
                convoy_history::export::csv_row(
                    &mut out,
                    &csv_fields(&recency::placeless_if_recent(alert, newest)),
                );
            }
            if tx.send(Ok(Bytes::from(std::mem::take(&mut out)))).await.is_err() {
                // The client went away.
                return;
            }
            if !full {
                return;
            }
        }
    });
    Body::from_stream(stream::poll_fn(move |cx| rx.poll_recv(cx)))
}
