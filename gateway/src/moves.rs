//! `POST /api/v1/moves`, `GET /api/v1/moves`, `GET /api/v1/moves/{id}`: move plans.
//!
//! A plan comes as the JSON plan document (README, "API"), or as a GPX or KML route file with the other
//! fields in query parameters. Nothing is stored from a refused plan; each refusal is counted
//! by reason (`convoy_gateway_plans_rejected_total`).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use chrono::Utc;
use convoy_core::language::Language;
use convoy_core::plan::{MovePlan, PlanError, PlanFields, PlanFieldsText, RouteFormat};
use convoy_core::Ability;
use convoy_registry::{store_new_move, NewMoveError};
use convoy_store::{MoveRecord, MoveState};
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::{visible_move, Scope};
use crate::audit;
use crate::error::ApiError;
use crate::extract::ClientAddr;
use crate::extract::{ApiQuery, Authenticated};
use crate::openapi::{
    requires, signed_in, BadRequest, NotFound, PayloadTooLarge, ServiceUnavailable, UnprocessableEntity,
    UnsupportedMediaType,
};
use crate::reply::Reply;
use crate::schemas;
use crate::state::{AppState, MoveChange};

/// The plans' routes. The router gives them a body limit of their own (a plan's route file may
/// be large).
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(signed_in(routes!(list_moves)))
        .routes(requires(Ability::Plan, routes!(create_move)))
        .routes(signed_in(routes!(get_move)))
        .routes(requires(Ability::Plan, routes!(parse_route)))
}

/// The plan fields a GeoJSON, GPX or KML upload carries in its query (the JSON plan document
/// carries them itself).
/// (The handler reads them as text, `plan_fields`, and judges them as a plan's fields are.)
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // a description only
pub(crate) struct PlanQuery {
    /// With a route file: the move's name.
    #[param(min_length = 1, max_length = 200)]
    name: Option<String>,
    /// With a route file: the vehicles, comma-separated.
    #[param(example = "truck-07,escort-1")]
    vehicles: Option<String>,
    /// With a route file: `cargo:escort` pairs, comma-separated.
    #[param(example = "truck-07:escort-1")]
    escorts: Option<String>,
    /// With a route file: the corridor's half-width in metres (150 by default).
    #[param(value_type = Option<f64>, minimum = 10, maximum = 10000)]
    corridor_m: Option<String>,
    /// With a route file: the start of the planned window.
    #[param(value_type = Option<schemas::Time>)]
    from: Option<String>,
    /// With a route file: the end of the planned window.
    #[param(value_type = Option<schemas::Time>)]
    to: Option<String>,
    /// With a route file: rule overrides as JSON text.
    rules: Option<String>,
    /// With a route file: the IANA time zone the move's times are shown in (the server's
    /// `[moves] default_time_zone` when absent).
    #[param(example = "Asia/Shanghai")]
    time_zone: Option<String>,
    /// With a route file: the language the move's alerts are sent in, `en` or `zh-CN` (the
    /// server's `[moves] default_language` when absent).
    #[param(example = "zh-CN")]
    language: Option<String>,
    /// With a route file: what its coordinates are in, `wgs84` (the default) or `gcj02` (drawn
    /// on a Chinese map: converted to WGS-84 as it is read).
    #[param(example = "gcj02")]
    coordinates: Option<String>,
}

/// The id of a new move.
#[derive(Serialize, ToSchema)]
pub(crate) struct Created {
    id: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/moves",
    tag = "moves",
    operation_id = "createMove",
    summary = "Plan a move",
    description = "The body is the JSON plan document (`application/json`), or a route file (GPX, KML or GeoJSON by Content-Type) with the plan's other fields as query parameters. A plan is judged whole; nothing is stored from a refused one, and each refusal is counted by reason (`convoy_gateway_plans_rejected_total`): `too_large`, `malformed`, `route_too_short`, `coordinate_out_of_range`, `self_intersecting_zone`, `invalid_zone`, `corridor_out_of_range`, `invalid_window`, `invalid_rules`, `invalid_vehicles`, `unknown_vehicle`, `unknown_coordinates`, `unknown_time_zone` (not an IANA time zone name), `unknown_language` (not `en` or `zh-CN`). Limits: body 4 MiB, route 100,000 points, 1,000 zones (10,000 points each, 100,000 together), 1,000 vehicles, names 1 to 200 characters, corridor 10 to 10,000 m, circle zones up to 100,000 m. Recorded in the audit log.",
    params(PlanQuery),
    request_body(content(
        (schemas::MovePlan = "application/json"),
        (String = "application/gpx+xml"),
        (String = "application/vnd.google-earth.kml+xml"),
        (String = "application/geo+json"),
    )),
    responses(
        (status = 201, description = "The move is planned.", body = Created),
        (status = 400, response = BadRequest),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn create_move(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<HashMap<String, String>>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Reply<Created>, ApiError> {
    user.require(Ability::Plan)?;
    let (body, format, content_type) = route_body(&state, &headers, body, "application/json")?;
    // `application/json` is the plan document; a GeoJSON, GPX or KML file is a route with the
    // other fields in the query.
    let is_plan_document =
        format == RouteFormat::GeoJson && !content_type.to_ascii_lowercase().contains("geo+json");
    let plan = if is_plan_document {
        MovePlan::from_json(&body)
    } else {
        MovePlan::from_route_file(&body, format, &plan_fields(&query))
    }
    .map_err(|e| refuse(&state, plan_error(&e), e.reason()))?;

    let record = match store_new_move(&state.store, &plan, &user.0.name).await {
        Ok(record) => record,
        Err(NewMoveError::UnknownVehicles(unknown)) => {
            let message = format!("vehicles not registered: {}", unknown.join(", "));
            let error = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message);
            return Err(refuse(&state, error, "unknown_vehicle"));
        }
        Err(NewMoveError::Store(e)) => return Err(e.into()),
    };
    let detail = json!({ "name": record.name, "vehicles": record.plan.get("vehicles") });
    audit::record(&state, Some(&user.0.name), from, "move.create", &record.id, detail).await?;
    let _ = state.events.move_changes.send(MoveChange::Added(record.id.clone()));
    Ok(Reply::created(Created { id: record.id }))
}

/// A move as listed.
#[derive(Serialize, ToSchema)]
pub(crate) struct MoveSummary {
    id: String,
    name: String,
    #[schema(value_type = schemas::Time)]
    created_at: String,
    created_by: String,
    /// The plan's version (1 as created; each edit adds one): what an edit names as the one it
    /// replaces.
    version: u32,
    /// As the plan names them.
    #[schema(value_type = Vec<schemas::VehicleId>)]
    vehicles: Option<Value>,
    /// The planned window, if the plan has one.
    #[schema(value_type = Option<schemas::TimeWindow>, required = true)]
    window: Option<Value>,
    /// Where the move is now: from its window, and a person's end if there is one.
    state: StateView,
    /// Who ended or cancelled the move, when and why; null if nobody did.
    #[schema(required = true)]
    end: Option<EndView>,
    /// The IANA time zone the move's times are shown in: its plan's `time_zone`, or the
    /// server's `[moves] default_time_zone`. The times themselves are UTC.
    #[schema(example = "Asia/Shanghai")]
    time_zone: String,
    /// The language the move's alerts are sent in: its plan's `language`, or the server's
    /// `[moves] default_language`.
    #[schema(example = "zh-CN")]
    language: String,
}

/// Planned (its window has not started), running, ended (its window closed, or a person ended
/// it early) or cancelled (a person called it off before it started).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = MoveState)]
pub(crate) enum StateView {
    Planned,
    Running,
    Ended,
    Cancelled,
}

impl From<MoveState> for StateView {
    fn from(state: MoveState) -> Self {
        match state {
            MoveState::Planned => StateView::Planned,
            MoveState::Running => StateView::Running,
            MoveState::Ended => StateView::Ended,
            MoveState::Cancelled => StateView::Cancelled,
        }
    }
}

/// A person's end of a move: ended early or cancelled.
#[derive(Serialize, ToSchema)]
#[schema(as = MoveEnd)]
pub(crate) struct EndView {
    #[schema(value_type = schemas::Time)]
    at: String,
    by: String,
    reason: String,
    cancelled: bool,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct MoveList {
    moves: Vec<MoveSummary>,
}

/// A move's summary with its plan (a report's `move`).
#[derive(Serialize, ToSchema)]
pub(crate) struct MoveWithPlan {
    #[serde(flatten)]
    pub(crate) summary: MoveSummary,
    #[schema(value_type = schemas::MovePlan)]
    pub(crate) plan: Value,
}

/// A move with its plan and team.
#[derive(Serialize, ToSchema)]
#[schema(as = Move)]
pub(crate) struct MoveView {
    #[serde(flatten)]
    with_plan: MoveWithPlan,
    /// The users escorting the move.
    team: Vec<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/moves",
    tag = "moves",
    operation_id = "listMoves",
    summary = "The moves",
    description = "An escort sees only the moves assigned to them. Each with its `state` now (planned, running, ended, cancelled) and a person's `end`, if any.",
    responses(
        (status = 200, description = "The moves.", body = MoveList),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn list_moves(
    State(state): State<AppState>,
    user: Authenticated,
) -> Result<Reply<MoveList>, ApiError> {
    let scope = Scope::of(&state.store, &user.0).await?;
    let moves = state
        .store
        .moves()
        .await?
        .iter()
        .filter(|m| scope.sees_move(&m.id))
        .map(|record| summary(&state, record))
        .collect();
    Ok(Reply::ok(MoveList { moves }))
}

#[utoipa::path(
    get,
    path = "/api/v1/moves/{id}",
    tag = "moves",
    operation_id = "getMove",
    summary = "A move with its plan and team",
    description = "Escorts: assigned moves only (another move is 404, as one that does not exist). Recorded in the audit log.",
    params(("id" = String, Path, description = "The move's id, e.g. `m20261128-3f9a1c0b7e21`.")),
    responses(
        (status = 200, description = "The move.", body = MoveView),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn get_move(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    Path(id): Path<String>,
) -> Result<Reply<MoveView>, ApiError> {
    let record = visible_move(&state, &user.0, &id).await?;
    audit::record(&state, Some(&user.0.name), from, "move.view", &id, json!({})).await?;
    Ok(Reply::ok(view(&state, &record).await?))
}

/// A move with its plan and team, as `GET /api/v1/moves/{id}` answers it.
pub(crate) async fn view(state: &AppState, record: &MoveRecord) -> Result<MoveView, ApiError> {
    let team = state.store.move_team(&record.id).await?;
    Ok(MoveView { with_plan: with_plan(state, record), team })
}

pub(crate) fn summary(state: &AppState, record: &MoveRecord) -> MoveSummary {
    summary_in(&state.moves, record)
}

/// A move's summary, its zone and language defaulting to `moves`'.
pub(crate) fn summary_in(moves: &crate::MoveSettings, record: &MoveRecord) -> MoveSummary {
    let end = record.end.as_ref().map(|end| EndView {
        at: convoy_core::position::format_time(&end.at),
        by: end.by.clone(),
        reason: end.reason.clone(),
        cancelled: end.cancelled,
    });
    MoveSummary {
        id: record.id.clone(),
        name: record.name.clone(),
        created_at: convoy_core::position::format_time(&record.created_at),
        created_by: record.created_by.clone(),
        version: record.version,
        vehicles: record.plan.get("vehicles").cloned(),
        window: record.plan.get("window").cloned(),
        state: record.state_at(Utc::now()).into(),
        end,
        time_zone: crate::time_zone::of_plan(&record.plan, moves.default_time_zone).name().to_string(),
        language: record
            .plan
            .get("language")
            .and_then(Value::as_str)
            .and_then(|tag| Language::parse(tag).ok())
            .unwrap_or(moves.default_language)
            .tag()
            .to_string(),
    }
}

pub(crate) fn with_plan(state: &AppState, record: &MoveRecord) -> MoveWithPlan {
    with_plan_in(&state.moves, record)
}

pub(crate) fn with_plan_in(moves: &crate::MoveSettings, record: &MoveRecord) -> MoveWithPlan {
    MoveWithPlan { summary: summary_in(moves, record), plan: record.plan.clone() }
}

/// The plan fields a GPX or KML upload carries in its query: `name`, `vehicles=a,b`,
/// `escorts=cargo:escort,...`, `corridor_m`, `from`, `to`, `rules` (JSON text), `time_zone`,
/// `language`, `coordinates`.
fn plan_fields(query: &HashMap<String, String>) -> PlanFields {
    let field = |key: &str| query.get(key).map(String::as_str);
    PlanFields::from_text(PlanFieldsText {
        name: field("name"),
        vehicles: field("vehicles"),
        escorts: field("escorts"),
        corridor_m: field("corridor_m"),
        from: field("from"),
        to: field("to"),
        rules: field("rules"),
        time_zone: field("time_zone"),
        language: field("language"),
        coordinates: field("coordinates"),
    })
}

fn plan_error(error: &PlanError) -> ApiError {
    let status =
        if error.reason() == "too_large" { StatusCode::PAYLOAD_TOO_LARGE } else { StatusCode::BAD_REQUEST };
    ApiError::new(status, format!("plan refused: {error}"))
}

/// The route and zones of a route file, as GeoJSON.
#[derive(Serialize, ToSchema)]
pub(crate) struct ParsedRoute {
    #[schema(value_type = schemas::LineString)]
    route: Value,
    #[schema(value_type = schemas::ZoneCollection)]
    zones: Value,
}

/// `POST /api/v1/routes/parse`: a route file (GPX, KML or GeoJSON, by `Content-Type`) read and
/// judged as a plan would read it, returned as GeoJSON for the page to preview before the move
/// is created. Nothing is stored.
#[utoipa::path(
    post,
    path = "/api/v1/routes/parse",
    tag = "moves",
    operation_id = "parseRoute",
    summary = "Read a route file as a plan would, to preview it; nothing is stored",
    description = "The body is at most 8 MiB (a plan's route file, at most 4 MiB, is judged as a plan is). Refusals are counted by reason (`convoy_gateway_plans_rejected_total`).",
    request_body(content(
        (String = "application/gpx+xml"),
        (String = "application/vnd.google-earth.kml+xml"),
        (String = "application/geo+json"),
    )),
    responses(
        (status = 200, description = "The route and zones the file holds, as GeoJSON.", body = ParsedRoute),
        (status = 400, response = BadRequest),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
    ),
)]
pub(crate) async fn parse_route(
    State(state): State<AppState>,
    user: Authenticated,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Reply<ParsedRoute>, ApiError> {
    user.require(Ability::Plan)?;
    let (body, format, _) = route_body(&state, &headers, body, "")?;
    // The plan's other fields do not matter here; a placeholder vehicle lets the route and
    // zones be judged exactly as a real plan's are.
    let fields =
        PlanFields { name: "route preview".into(), vehicles: vec!["preview".into()], ..Default::default() };
    let plan = MovePlan::from_route_file(&body, format, &fields)
        .map_err(|e| refuse(&state, plan_error(&e), e.reason()))?;
    let mut document = plan.to_json();
    Ok(Reply::ok(ParsedRoute { route: document["route"].take(), zones: document["zones"].take() }))
}

/// Counts a refused plan or route file by reason, and labels the error with the reason.
fn refuse(state: &AppState, error: ApiError, reason: &'static str) -> ApiError {
    state.metrics.plans_rejected.with_label_values(&[reason]).inc();
    error.with_reason(reason)
}

/// A plan's or route file's body and its format, by `Content-Type` (`default_type` when the
/// request has none), with the content type itself.
fn route_body(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
    default_type: &str,
) -> Result<(Bytes, RouteFormat, String), ApiError> {
    let body = body.map_err(|e| {
        let message = format!("plan or route: {}", e.body_text());
        refuse(state, ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, message), "too_large")
    })?;
    let content_type =
        headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or(default_type).to_string();
    let format = RouteFormat::from_content_type(&content_type).ok_or_else(|| {
        let message = format!(
            "expected application/json (a plan), or a route as application/geo+json, application/gpx+xml or application/vnd.google-earth.kml+xml, not {content_type:?}"
        );
        refuse(state, ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, message), "malformed")
    })?;
    Ok((body, format, content_type))
}
