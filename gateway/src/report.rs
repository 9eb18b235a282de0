//! `GET /api/v1/moves/{id}/report?from&to`: the printable account of a move: the plan, what
//! each vehicle drove (first and last fix, number of fixes, distance, the driven line, stops,
//! data gaps, its off-route alerts), and every alert with its whole history (who acknowledged
//! and resolved it, when, with which note).
//!
//! ```json
//! {"move": {<summary as GET /api/v1/moves lists it>, "plan": {…}}, "generated_at": "…",
//!  "from": "…", "to": "…",
//!  "vehicles": [{"vehicle", "first_fix": "<time>"|null, "last_fix": "<time>"|null, "fixes",
//!                "distance_km", "driven": <GeoJSON LineString>|null, "stops": […], "gaps": […],
//!                "off_route": [<alerts of kind off_route>],
//!                "completeness": {"fix_interval_s", "expected_fixes", "coverage_at_rate",
//!                                 "silence_at_start_s", "silence_at_end_s", "spool_drops", …}}],
//!  "alerts": [<alert as GET /api/v1/alerts shows it> + "transitions": [{"state", "at", "by", "note"}]],
//!  "seals": [<as GET /api/v1/moves/{id}/seals lists them>],
//!  "checkpoints": [<as GET /api/v1/moves/{id}/checkpoints lists them>]}
//! ```
//!
//! The span is the move's (as for the replay, at most 7 days). Each vehicle's fixes are read
//! once, as a stream: counts, distance, stops and gaps are kept as they pass, and the driven
//! line is simplified in pieces of [`DRIVEN_CHUNK`] fixes, so memory does not grow with the
//! track. `fixes` counts every stored fix; the distance (between consecutive fixes, across gaps
//! too), the line, the stops and the gaps leave out fixes marked implausible.

use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use convoy_core::alert::AlertKind;
use convoy_core::position::format_time;
use convoy_core::stop::StopRule;
use convoy_core::Ability;
use convoy_history::completeness::{spool_drops, Completeness};
use convoy_history::replay::alerts_in;
use convoy_history::summary::VehicleSummary;
use convoy_history::{MoveHistory, Span};
use convoy_store::{AgentStatus, Store, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::visible_move;
use crate::alert_api::{AlertView, TransitionView};
use crate::audit;
use crate::checkpoints::{checkpoint_views, CheckpointView};
use crate::error::ApiError;
use crate::extract::ClientAddr;
use crate::extract::{ApiQuery, Authenticated};
use crate::moves::MoveWithPlan;
use crate::openapi::{requires, BadRequest, NotFound, ServiceUnavailable};
use crate::reply::Reply;
use crate::schemas;
use crate::seals::{seal_views, SealView};
use crate::state::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(requires(Ability::Report, routes!(move_report)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ReportQuery {
    /// Fixes at or after this fix time.
    #[param(value_type = Option<schemas::Time>)]
    from: Option<DateTime<Utc>>,
    /// Fixes before this fix time; after `from`.
    #[param(value_type = Option<schemas::Time>)]
    to: Option<DateTime<Utc>>,
}

/// The move report.
#[derive(Serialize, ToSchema)]
pub(crate) struct Report {
    /// The move's summary and plan.
    #[serde(rename = "move")]
    move_view: MoveWithPlan,
    #[schema(value_type = schemas::Time)]
    generated_at: String,
    #[schema(value_type = schemas::Time)]
    from: String,
    #[schema(value_type = schemas::Time)]
    to: String,
    /// What each vehicle drove (as `convoy_history::summary` writes it, with its off-route alerts).
    #[schema(value_type = Vec<ReportVehicle>)]
    vehicles: Vec<Value>,
    /// The alert log: every alert with who acknowledged and resolved it, when and why.
    alerts: Vec<AlertWithTransitions>,
    /// The move's sealed items.
    seals: Vec<SealView>,
    /// Every seal checkpoint of the move (stage, time, who, the vehicle's position, each seal's
    /// state), oldest first; an auditor reads a position only once it is at least
    /// `auditor_delay_minutes` old.
    checkpoints: Vec<CheckpointView>,
}

/// What one vehicle drove (the schema of `VehicleSummary::finish` and its `off_route`).
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // a schema only
pub(crate) struct ReportVehicle {
    #[schema(value_type = schemas::VehicleId)]
    vehicle: String,
    #[schema(value_type = Option<schemas::Time>, required = true)]
    first_fix: Option<String>,
    #[schema(value_type = Option<schemas::Time>, required = true)]
    last_fix: Option<String>,
    #[schema(minimum = 0)]
    fixes: u64,
    #[schema(minimum = 0)]
    distance_km: f64,
    /// The driven route, simplified; null without at least two fixes.
    #[schema(value_type = Option<schemas::LineString>, required = true)]
    driven: Option<Value>,
    #[schema(value_type = Vec<schemas::Stop>)]
    stops: Vec<Value>,
    #[schema(value_type = Vec<schemas::Gap>)]
    gaps: Vec<Value>,
    off_route: Vec<AlertView>,
    completeness: ReportCompleteness,
}

/// The `spool_dropped` counter of an agent's status report.
fn reported_drops(status: &AgentStatus) -> Option<u64> {
    let report: Value = serde_json::from_str(&status.status_json).ok()?;
    report.get("spool_dropped")?.as_u64()
}

/// How complete a vehicle's record is (`convoy_history::completeness` defines each figure).
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // a schema only
pub(crate) struct ReportCompleteness {
    #[schema(value_type = schemas::Time)]
    from: String,
    /// The span's end, or now for a move still running.
    #[schema(value_type = schemas::Time)]
    to: String,
    #[schema(minimum = 0)]
    fixes: u64,
    /// The median time between consecutive fixes: the rate the agent reports at.
    #[schema(minimum = 0)]
    fix_interval_s: Option<f64>,
    #[schema(minimum = 0)]
    expected_fixes: Option<u64>,
    /// Fixes over expected fixes, at most 1.
    #[schema(minimum = 0, maximum = 1)]
    coverage_at_rate: Option<f64>,
    #[schema(minimum = 0)]
    silence_at_start_s: f64,
    #[schema(minimum = 0)]
    silence_at_end_s: f64,
    /// Fixes the agent reported it dropped (its spool full) during the span.
    #[schema(minimum = 0)]
    spool_drops: u64,
    /// Fixes stored without a verified signature (a vehicle without a key, a phone).
    #[schema(minimum = 0)]
    unsigned_fixes: u64,
    /// The vehicle's batches kept as dead letters in the span (a signature that does not hold,
    /// a malformed batch...).
    #[schema(minimum = 0)]
    refused_batches: u64,
    /// Those, by reason.
    #[schema(value_type = std::collections::BTreeMap<String, u64>)]
    refused_by_reason: serde_json::Map<String, Value>,
}

/// An alert with its transitions.
#[derive(Serialize, ToSchema)]
pub(crate) struct AlertWithTransitions {
    #[serde(flatten)]
    alert: AlertView,
    transitions: Vec<TransitionView>,
}

#[utoipa::path(
    get,
    path = "/api/v1/moves/{id}/report",
    tag = "moves",
    operation_id = "moveReport",
    summary = "The move report: planned against driven, stops, gaps, deviations, the alert log, the seals and their checkpoints",
    description = "Covers the move's window narrowed by `from` and `to` (a range outside the move is 400); at most 7 days. An auditor reads fixes and alerts at least `auditor_delay_minutes` old (the server's `[access]` setting, 60 by default): the span ends there. Recorded in the audit log.",
    params(("id" = String, Path, description = "The move's id, e.g. `m20261128-3f9a1c0b7e21`."), ReportQuery),
    responses(
        (status = 200, description = "The report.", body = Report),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn move_report(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(client): ClientAddr,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ReportQuery>,
) -> Result<Reply<Report>, ApiError> {
    user.require(Ability::Report)?;
    let state = &state;
    let history = MoveHistory::of(visible_move(state, &user.0, &id).await?, &state.rules)?;
    let now = Utc::now();
    // An auditor reads behind the road: the span ends at the newest fix they may read.
    let span = state.access.readable(user.0.role, history.span(query.from, query.to, now)?, now);
    convoy_history::span::check_length(span)?;
    let detail = json!({ "from": format_time(&span.from), "to": format_time(&span.to) });
    audit::record(state, Some(&user.0.name), client, "move.report", &id, detail).await?;

    let newest = state.access.newest_for(user.0.role, now);
    Ok(Reply::ok(build(&state.store, &state.moves, &history, span, newest).await?))
}

/// The report of `history` over `span` (already cut for the reader), checkpoint positions up
/// to `newest` (the reader's cut): what the route answers and what an evidence bundle carries.
pub(crate) async fn build(
    store: &Store,
    moves: &crate::MoveSettings,
    history: &MoveHistory,
    span: Span,
    newest: Option<DateTime<Utc>>,
) -> Result<Report, StoreError> {
    let id = &history.record.id;
    let alerts = alerts_in(store, id, None, span).await?;
    let thresholds = StopRule::from(&history.rules);
    let mut vehicles = Vec::new();
    // A move still running is complete up to now, not to its window's end.
    let heard_until = span.to.min(Utc::now());
    for vehicle in &history.plan.vehicles {
        let mut summary = VehicleSummary::new(thresholds);
        let mut completeness = Completeness::new(span.from, heard_until);
        let mut fixes = store.track_stream(vehicle, span.from, span.to);
        while let Some(fix) = fixes.recv().await {
            let fix = fix?;
            completeness.push(fix.position.t, fix.prev_hash.is_some());
            summary.push(&fix);
        }
        let mut view = summary.finish(vehicle);
        let statuses = store.status_history(vehicle, span.from, span.to).await?;
        let topic = convoy_core::topics::positions_topic(vehicle);
        let refused = store.dead_letter_counts(&topic, span.from, span.to).await?;
        view["completeness"] =
            completeness.finish(spool_drops(statuses.iter().filter_map(reported_drops)), &refused);
        let off_route = alerts
            .iter()
            .filter(|a| a.kind == AlertKind::OffRoute && &a.vehicle == vehicle)
            .map(AlertView::of)
            .collect::<Vec<_>>();
        view["off_route"] = serde_json::to_value(off_route).unwrap_or_default();
        vehicles.push(view);
    }
    let mut alert_log = Vec::with_capacity(alerts.len());
    for alert in &alerts {
        let transitions = store.alert_transitions(&alert.id).await?.iter().map(TransitionView::of).collect();
        alert_log.push(AlertWithTransitions { alert: AlertView::of(alert), transitions });
    }
    Ok(Report {
        move_view: crate::moves::with_plan_in(moves, &history.record),
        generated_at: format_time(&Utc::now()),
        from: format_time(&span.from),
        to: format_time(&span.to),
        vehicles,
        alerts: alert_log,
        seals: seal_views(store, id).await?,
        checkpoints: checkpoint_views(store, newest, id).await?,
    })
}

/// The report as JSON, for `convoy evidence export`, which has no request to answer.
pub async fn report_json(
    store: &Store,
    moves: &crate::MoveSettings,
    history: &MoveHistory,
    span: Span,
    newest: Option<DateTime<Utc>>,
) -> Result<Value, StoreError> {
    Ok(serde_json::to_value(build(store, moves, history, span, newest).await?).unwrap_or_default())
}
