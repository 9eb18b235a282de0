//! `GET /api/v1/reports/daily?day=YYYY-MM-DD[&vehicle=ID][&format=csv]`: what each vehicle did
//! in a day: distance, time moving and stopped, the longest stop, data gaps and coverage, and
//! its alerts by kind (`convoy_history::day_summary` defines each).
//!
//! A day is a calendar day in `time_zone` (an IANA name; UTC by default), from that zone's
//! midnight to the next (`convoy_history::day::Day::span`). Today's span ends now; an auditor's ends
//! `auditor_delay_minutes` ago (`recency.rs`), so the report never shows a place newer than
//! the person may read. Rows: one per vehicle with fixes or alerts in the span, by vehicle id.
//!
//! Cost: one vehicle at a time, its fixes streamed a page at a time through a fold of constant
//! size (never a fleet's day in memory); alerts are counted in the database.
//!
//! Refusals (a 400 or 404 with a reason, counted in
//! `convoy_gateway_daily_reports_refused_total{reason}`) change nothing and are not audited.

mod row;

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use convoy_core::alert::AlertKind;
use convoy_core::position::format_time;
use convoy_core::stop::StopRule;
use convoy_core::time_zone::{self, Tz};
use convoy_core::{Ability, VehicleId};
use convoy_history::day::Day;
use convoy_history::day_summary::DaySummary;
use convoy_history::Span;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::Scope;
use crate::audit;
use crate::error::ApiError;
use crate::extract::{ApiQuery, Authenticated, ClientAddr};
use crate::openapi::{requires, BadRequest, NotFound, ServiceUnavailable};
use crate::reply::Reply;
use crate::schemas;
use crate::state::AppState;
use row::DailyRow;

/// Every reason a refused daily report is counted by.
pub const DAILY_REPORT_REFUSAL_REASONS: [&str; 8] = [
    "bad_query",
    "bad_day",
    "future_day",
    "bad_vehicle",
    "unknown_vehicle",
    "bad_format",
    "refused_value",
    "unknown_time_zone",
];

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(requires(Ability::Report, routes!(daily_report)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct DailyQuery {
    /// The day, `YYYY-MM-DD`, in `time_zone`; not after today.
    #[param(required = true, value_type = String, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", example = "2026-12-01")]
    day: Option<String>,
    /// Only this vehicle (a registered one).
    #[param(value_type = Option<schemas::VehicleId>)]
    vehicle: Option<String>,
    /// `json` (the default) or `csv`: the same rows as a file, `daily-YYYY-MM-DD.csv`.
    #[param(value_type = Option<String>, pattern = "^(json|csv)$")]
    format: Option<String>,
    /// The IANA time zone whose calendar day `day` is (UTC by default).
    #[param(value_type = Option<String>, example = "Asia/Shanghai")]
    time_zone: Option<String>,
}

/// The daily report.
#[derive(Serialize, ToSchema)]
pub(crate) struct DailyReport {
    /// The day, `YYYY-MM-DD`.
    #[schema(example = "2026-12-01")]
    day: String,
    /// The IANA time zone the day is counted in: the query's `time_zone`, or UTC.
    #[schema(example = "Asia/Shanghai")]
    time_zone: String,
    /// The span reported: the day's midnight to the next, cut at now for today and, for an
    /// auditor, at `auditor_delay_minutes` ago (the span is empty when the whole day is newer).
    #[schema(value_type = schemas::Time)]
    from: String,
    #[schema(value_type = schemas::Time)]
    to: String,
    /// Whether the span ends before the day does.
    partial: bool,
    #[schema(value_type = schemas::Time)]
    generated_at: String,
    /// One row per vehicle with fixes or alerts in the span, by vehicle id.
    vehicles: Vec<DailyRow>,
}

#[derive(Clone, Copy, PartialEq)]
enum Format {
    Json,
    Csv,
}

fn refused(status: StatusCode, message: impl Into<String>, reason: &'static str) -> ApiError {
    ApiError::new(status, message).with_reason(reason)
}

/// What the query asks for, checked.
struct Asked {
    day: Day,
    zone: Tz,
    vehicle: Option<VehicleId>,
    format: Format,
}

fn asked(query: DailyQuery) -> Result<Asked, ApiError> {
    let format = match query.format.as_deref() {
        None | Some("json") => Format::Json,
        Some("csv") => Format::Csv,
        Some(_) => return Err(refused(StatusCode::BAD_REQUEST, "format must be json or csv", "bad_format")),
    };
    let day = query
        .day
        .as_deref()
        .map(Day::parse)
        .ok_or_else(|| refused(StatusCode::BAD_REQUEST, "day is required, as YYYY-MM-DD", "bad_day"))?
        .map_err(|_| {
            refused(StatusCode::BAD_REQUEST, "day must be a date as YYYY-MM-DD, e.g. 2026-12-01", "bad_day")
        })?;
    let vehicle = query
        .vehicle
        .map(|text| {
            VehicleId::new(text).map_err(|e| refused(StatusCode::BAD_REQUEST, e.to_string(), "bad_vehicle"))
        })
        .transpose()?;
    let zone = match query.time_zone.as_deref() {
        None => time_zone::UTC,
        Some(name) => time_zone::parse(name)
            .map_err(|e| refused(StatusCode::BAD_REQUEST, e.to_string(), "unknown_time_zone"))?,
    };
    Ok(Asked { day, zone, vehicle, format })
}

#[utoipa::path(
    get,
    path = "/api/v1/reports/daily",
    tag = "reports",
    operation_id = "dailyReport",
    summary = "What each vehicle did in a day: distance, moving and stopped time, longest stop, gaps, coverage, alerts by kind",
    description = "One row per vehicle with fixes or alerts in the day (a calendar day in `time_zone`, an IANA name, UTC by default: from that zone's midnight to the next, 23 to 25 hours across a change of daylight saving time; every time in the answer stays UTC), by vehicle id, or only `vehicle`'s. Distance sums the lines between consecutive fixes but not a parked receiver's drift inside a stop (a stop: standing two minutes or more, as in the move report); moving time is the time between fixes no more than 30 s apart outside stops; coverage is that covered time (stops included) over the span's length. Fixes marked implausible are counted and otherwise left out. Alerts: those of the vehicle opened in the span, by kind. Today's span ends now; an auditor's ends `auditor_delay_minutes` ago (the span is empty, with no rows, while the whole day is newer). `format=csv` answers the rows as a file, `daily-YYYY-MM-DD.csv`, cells a spreadsheet would run as formulas written behind a `'`. 400 with a reason for a day that is missing or not `YYYY-MM-DD` (`bad_day`), a day after today (`future_day`), a malformed vehicle id (`bad_vehicle`) or format (`bad_format`), a time zone that is not an IANA name (`unknown_time_zone`); 404 `unknown_vehicle` for a vehicle not registered; refusals are counted in `convoy_gateway_daily_reports_refused_total`. Recorded in the audit log (`report.daily`, with the day and vehicle).",
    params(DailyQuery),
    responses(
        (
            status = 200,
            description = "The report (JSON), or the file (`format=csv`, as an attachment).",
            headers(("Content-Disposition" = String, description = "For the CSV: the file's name.")),
            content(
                (DailyReport = "application/json"),
                (String = "text/csv"),
            ),
        ),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn daily_report(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(client): ClientAddr,
    query: Result<ApiQuery<DailyQuery>, ApiError>,
) -> Result<Response, ApiError> {
    user.require(Ability::Report)?;
    let answer = answer(&state, &user, client, query).await;
    if let Err(e) = &answer {
        if matches!(e.status(), StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND) {
            let reason =
                e.reason().filter(|r| DAILY_REPORT_REFUSAL_REASONS.contains(r)).unwrap_or("bad_query");
            state.metrics.daily_reports_refused.with_label_values(&[reason]).inc();
        }
    }
    answer
}

async fn answer(
    state: &AppState,
    user: &Authenticated,
    client: Option<std::net::IpAddr>,
    query: Result<ApiQuery<DailyQuery>, ApiError>,
) -> Result<Response, ApiError> {
    // The report covers the whole fleet: only for those who see all of it (escorts, who see
    // their moves only, may not read reports at all today; this keeps it so if that changes).
    if Scope::of(&state.store, &user.0).await? != Scope::Everything {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "the daily report covers every vehicle"));
    }
    let ApiQuery(query) = query?;
    let asked = asked(query)?;
    let now = Utc::now();
    let span = readable_span(state, user, asked.day, asked.zone, now)?;
    if let Some(vehicle) = &asked.vehicle {
        if !state.store.vehicle_registered(vehicle).await? {
            return Err(refused(StatusCode::NOT_FOUND, "no such vehicle", "unknown_vehicle"));
        }
    }
    let day = asked.day.text();
    let detail = json!({
        "day": day,
        "time_zone": asked.zone.name(),
        "vehicle": asked.vehicle,
        "from": format_time(&span.from),
        "to": format_time(&span.to),
        "format": if asked.format == Format::Csv { "csv" } else { "json" },
    });
    let target = asked.vehicle.as_ref().map_or("*".to_string(), VehicleId::to_string);
    audit::record(state, Some(&user.0.name), client, "report.daily", &target, detail).await?;

    let vehicles = rows(state, span, asked.vehicle.as_ref()).await?;
    let (from, to) = (format_time(&span.from), format_time(&span.to));
    match asked.format {
        Format::Json => Ok(Reply::ok(DailyReport {
            day,
            time_zone: asked.zone.name().to_string(),
            partial: span.to < asked.day.span(asked.zone).to,
            from,
            to,
            generated_at: format_time(&now),
            vehicles,
        })
        .into_response()),
        Format::Csv => {
            let mut out = Vec::new();
            convoy_history::export::csv_row(&mut out, &DailyRow::csv_header());
            for row in &vehicles {
                convoy_history::export::csv_row(&mut out, &row.csv_fields(&day, &from, &to));
            }
            let disposition = format!("attachment; filename=\"daily-{day}.csv\"");
            Ok((
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8; header=present".to_string()),
                    (header::CONTENT_DISPOSITION, disposition),
                ],
                out,
            )
                .into_response())
        }
    }
}

/// The part of `day` the person reads at `now`: up to now, and for an auditor up to their cut.
/// A day after today is refused.
fn readable_span(
    state: &AppState,
    user: &Authenticated,
    day: Day,
    zone: Tz,
    now: DateTime<Utc>,
) -> Result<Span, ApiError> {
    let whole = day.span(zone);
    if whole.from > now {
        let message = format!("{day} has not begun (it is {} now, {})", Day::of(now, zone), zone.name());
        return Err(refused(StatusCode::BAD_REQUEST, message, "future_day"));
    }
    let so_far = Span { from: whole.from, to: whole.to.min(now) };
    Ok(state.access.readable(user.0.role, so_far, now))
}

/// A row per vehicle (of those registered, or only `only`) with fixes or alerts in `span`.
async fn rows(state: &AppState, span: Span, only: Option<&VehicleId>) -> Result<Vec<DailyRow>, ApiError> {
    if span.from >= span.to {
        return Ok(Vec::new());
    }
    let mut alerts: BTreeMap<VehicleId, BTreeMap<AlertKind, u64>> = BTreeMap::new();
    for count in state.store.alert_counts(span.from, span.to, only).await? {
        alerts.entry(count.vehicle).or_default().insert(count.kind, count.count);
    }
    // Registered vehicles, and any vehicle with alerts (so none is left out of the count).
    let mut vehicles: BTreeSet<VehicleId> = match only {
        Some(vehicle) => BTreeSet::from([vehicle.clone()]),
        None => state.store.vehicle_ids().await?.into_iter().collect(),
    };
    vehicles.extend(alerts.keys().cloned());
    // The server's stop thresholds: a day may hold several moves, each with its own overrides.
    let rule = StopRule::from(&state.rules);
    let none = BTreeMap::new();
    let mut rows = Vec::new();
    for vehicle in vehicles {
        let mut summary = DaySummary::new(span, rule);
        let mut fixes = state.store.track_stream(&vehicle, span.from, span.to);
        while let Some(fix) = fixes.recv().await {
            summary.push(&fix?);
        }
        let row = DailyRow::of(&vehicle, summary.finish(), alerts.get(&vehicle).unwrap_or(&none));
        if row.has_anything() {
            rows.push(row);
        }
    }
    Ok(rows)
}
