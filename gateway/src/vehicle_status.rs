//! `GET /api/v1/vehicles/{id}/status`: a vehicle's agent health over time, from the status
//! reports ingest already keeps (`agent_status_log`), so an admin or dispatcher can tell when
//! an agent was last heard, whether its receiver had a fix, how deep its spool grew while the
//! network was away, and which version it ran.
//!
//! A report holds no position (the agent's status is health only), so there is no recency cut;
//! it is still the vehicles' people only (`Ability::Vehicles`). The answer is bounded: the
//! newest [`MAX_REPORTS`] reports of a span of at most [`MAX_SPAN_DAYS`] days, with
//! `truncated` when there were more. Refusals are counted with the other vehicle routes' in
//! `convoy_gateway_vehicles_refused_total{reason}`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Duration, SubsecRound, Utc};
use convoy_core::{Ability, VehicleId};
use convoy_store::AgentStatus;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit;
use crate::error::ApiError;
use crate::extract::{query_time, ApiQuery, Authenticated, ClientAddr};
use crate::openapi::{requires, BadRequest, NotFound, ServiceUnavailable};
use crate::reply::Reply;
use crate::schemas;
use crate::state::AppState;
use crate::vehicles_admin::{count_refusal, no_such_vehicle};

/// The most reports one answer holds: at the agent's one report per 30 s, about eight hours.
pub(crate) const MAX_REPORTS: u32 = 1000;
/// The longest span one request may read.
pub(crate) const MAX_SPAN_DAYS: i64 = 7;
/// The span read when the request names none: the last day.
const DEFAULT_SPAN_HOURS: i64 = 24;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(requires(Ability::Vehicles, routes!(status_history)))
        .layer(axum::middleware::map_response(count_refusal))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusQuery {
    /// Reports received at or after this time (RFC 3339); by default a day before `to`.
    #[param(value_type = Option<schemas::Time>)]
    from: Option<String>,
    /// Reports received before this time (RFC 3339); by default now. At most 7 days after `from`.
    #[param(value_type = Option<schemas::Time>)]
    to: Option<String>,
}

/// A vehicle's agent status reports in a span, the newest first.
#[derive(Serialize, ToSchema)]
pub(crate) struct StatusHistory {
    #[schema(value_type = schemas::VehicleId)]
    vehicle: VehicleId,
    /// The span read: reports received in `[from, to)`.
    #[schema(value_type = schemas::Time)]
    from: DateTime<Utc>,
    #[schema(value_type = schemas::Time)]
    to: DateTime<Utc>,
    /// When the newest report of the span was received; none without a report.
    #[schema(value_type = Option<schemas::Time>)]
    last_seen: Option<DateTime<Utc>>,
    /// The newest reports first, at most 1,000.
    reports: Vec<StatusReport>,
    /// True when the span holds more reports than these (narrow it to see the older ones).
    truncated: bool,
}

/// One report, as received, with the fields a person reads most taken out of it. A field the
/// agent did not send (an older agent, or a phone) is absent.
#[derive(Serialize, ToSchema)]
pub(crate) struct StatusReport {
    /// When the server received it.
    #[schema(value_type = schemas::Time)]
    received_at: DateTime<Utc>,
    /// `online`, or `offline` (the agent stopping, or its last will when its connection was lost).
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<String>,
    /// The agent's version.
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    /// The receiver: `fix`, `no_fix` or `no_data`.
    #[serde(skip_serializing_if = "Option::is_none")]
    gnss: Option<String>,
    /// Fixes waiting in the agent's spool, not yet acknowledged by the broker.
    #[serde(skip_serializing_if = "Option::is_none")]
    spool_depth: Option<u64>,
    /// How old the oldest of them is, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    spool_oldest_age_s: Option<u64>,
    /// Fixes the spool's bound dropped since the agent started.
    #[serde(skip_serializing_if = "Option::is_none")]
    spool_dropped: Option<u64>,
    /// Seconds since the agent started.
    #[serde(skip_serializing_if = "Option::is_none")]
    uptime_s: Option<u64>,
    /// The whole report as the agent sent it (a JSON object of at most 4 KiB).
    #[schema(value_type = Object)]
    report: Map<String, Value>,
}

impl StatusReport {
    /// The report of a stored status; `None` for one that is not a JSON object (ingest keeps
    /// only objects, so only a row written otherwise).
    fn of(status: AgentStatus) -> Option<StatusReport> {
        let Ok(Value::Object(report)) = serde_json::from_str(&status.status_json) else { return None };
        let text = |key: &str| report.get(key).and_then(Value::as_str).map(str::to_string);
        let count = |key: &str| report.get(key).and_then(Value::as_u64);
        Some(StatusReport {
            received_at: status.received_at,
            state: text("state"),
            version: text("version"),
            gnss: text("gnss"),
            spool_depth: count("spool_depth"),
            spool_oldest_age_s: count("spool_oldest_age_s"),
            spool_dropped: count("spool_dropped"),
            uptime_s: count("uptime_s"),
            report,
        })
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/vehicles/{id}/status",
    tag = "vehicles",
    operation_id = "vehicleStatusHistory",
    summary = "A vehicle's agent status reports over time, the newest first",
    description = "From the status reports the agent sends every 30 s and when it stops (or its last will): when it was heard, the receiver's state, its spool, its version. The span is `[from, to)`, by default the last 24 hours, at most 7 days; at most the newest 1,000 reports, with `truncated` when there were more. 400 `bad_time` for a time that is not RFC 3339, `bad_range` for `from` not before `to` or a span over 7 days; 404 `unknown_vehicle`. Refusals are counted in `convoy_gateway_vehicles_refused_total`. Recorded in the audit log (`vehicle.status_view`).",
    params(("id" = schemas::VehicleId, Path, description = "The vehicle's id."), StatusQuery),
    responses(
        (status = 200, description = "The reports.", body = StatusHistory),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn status_history(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from_addr): ClientAddr,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<StatusQuery>,
) -> Result<Reply<StatusHistory>, ApiError> {
    user.require(Ability::Vehicles)?;
    let (from, to) = span(query, Utc::now().trunc_subsecs(3))?;
    // An id that cannot be a vehicle's names no vehicle.
    let id = VehicleId::new(id).map_err(|_| no_such_vehicle())?;
    if !state.store.vehicle_registered(&id).await? {
        return Err(no_such_vehicle());
    }
    // One more than shown tells whether the span holds more.
    let mut statuses = state.store.newest_statuses(&id, from, to, MAX_REPORTS + 1).await?;
    let truncated = statuses.len() > MAX_REPORTS as usize;
    statuses.truncate(MAX_REPORTS as usize);
    let reports: Vec<StatusReport> = statuses.into_iter().filter_map(StatusReport::of).collect();
    let detail = json!({ "from": from, "to": to, "reports": reports.len() });
    audit::record(&state, Some(&user.0.name), from_addr, "vehicle.status_view", id.as_str(), detail).await?;
    let last_seen = reports.first().map(|r| r.received_at);
    Ok(Reply::ok(StatusHistory { vehicle: id, from, to, last_seen, reports, truncated }))
}

/// The span a query reads, or the 400 that says what is wrong with it.
fn span(query: StatusQuery, now: DateTime<Utc>) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
    let to = query_time(query.to, "to")?.unwrap_or(now);
    let from = query_time(query.from, "from")?.unwrap_or(to - Duration::hours(DEFAULT_SPAN_HOURS));
    if from >= to {
        return Err(refused("from must be before to".into(), "bad_range"));
    }
    if to - from > Duration::days(MAX_SPAN_DAYS) {
        return Err(refused(format!("at most {MAX_SPAN_DAYS} days at once"), "bad_range"));
    }
    Ok((from, to))
}

fn refused(message: String, reason: &'static str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message).with_reason(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(from: Option<&str>, to: Option<&str>) -> StatusQuery {
        StatusQuery { from: from.map(str::to_string), to: to.map(str::to_string) }
    }

    #[test]
    fn the_span_defaults_to_the_last_day_and_is_at_most_a_week() {
        let now = DateTime::parse_from_rfc3339("2026-12-07T12:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(span(query(None, None), now).unwrap(), (now - Duration::hours(24), now));
        let to = "2026-12-01T00:00:00Z";
        let (from, until) = span(query(None, Some(to)), now).unwrap();
        assert_eq!(
            (until - from, until.to_rfc3339()),
            (Duration::hours(24), "2026-12-01T00:00:00+00:00".into())
        );
        assert!(span(query(Some("2026-11-24T00:00:00Z"), Some(to)), now).is_ok(), "exactly 7 days");
        for (from, to, reason) in [
            (Some("2026-11-23T23:59:59Z"), Some(to), "bad_range"),
            (Some(to), Some(to), "bad_range"),
            (Some("2026-12-02T00:00:00Z"), Some(to), "bad_range"),
            (Some("yesterday"), None, "bad_time"),
            (None, Some("2026-12-01"), "bad_time"),
        ] {
            let refusal = span(query(from, to), now).unwrap_err();
            assert_eq!(refusal.reason(), Some(reason), "{from:?} {to:?}");
        }
    }

    #[test]
    fn a_report_keeps_what_the_agent_sent_and_reads_what_it_knows() {
        let status = |json: &str| AgentStatus {
            vehicle: VehicleId::new("truck-01").unwrap(),
            received_at: Utc::now(),
            status_json: json.into(),
        };
        let report = StatusReport::of(status(
            r#"{"state":"online","version":"0.1.0","gnss":"fix","spool_depth":12,"spool_oldest_age_s":40,"extra":[1]}"#,
        ))
        .unwrap();
        assert_eq!((report.state.as_deref(), report.gnss.as_deref()), (Some("online"), Some("fix")));
        assert_eq!(
            (report.spool_depth, report.spool_oldest_age_s, report.uptime_s),
            (Some(12), Some(40), None)
        );
        assert_eq!(report.report["extra"], json!([1]));
        // A field of another type is absent, not an error.
        let odd = StatusReport::of(status(r#"{"state":7,"spool_depth":-1}"#)).unwrap();
        assert_eq!((odd.state, odd.spool_depth), (None, None));
        assert!(StatusReport::of(status("[1,2]")).is_none());
        assert!(StatusReport::of(status("not json")).is_none());
    }
}
