//! `POST /api/v1/moves`, `GET /api/v1/moves`, `GET /api/v1/moves/{id}`: move plans.
//!
//! A plan comes as the JSON document of DESIGN.md, or as a GPX or KML route file with the other
//! fields in query parameters. Nothing is stored from a refused plan; each refusal is counted
//! by reason (`convoy_gateway_plans_rejected_total`).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use convoy_core::plan::{MovePlan, PlanError, PlanFields, PlanFieldsText, RouteFormat};
use convoy_core::Ability;
use convoy_registry::{store_new_move, NewMoveError};
use convoy_store::MoveRecord;
use serde_json::json;

use crate::access::{visible_move, Scope};
use crate::audit;
use crate::error::ApiError;
use crate::extract::Authenticated;
use crate::extract::ClientAddr;
use crate::state::AppState;

pub(crate) async fn create_move(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
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
    let _ = state.events.moves_added.send(record.id.clone());
    Ok((StatusCode::CREATED, Json(json!({ "id": record.id }))).into_response())
}

pub(crate) async fn list_moves(
    State(state): State<AppState>,
    user: Authenticated,
) -> Result<Response, ApiError> {
    let scope = Scope::of(&state.store, &user.0).await?;
    let moves: Vec<_> =
        state.store.moves().await?.iter().filter(|m| scope.sees_move(&m.id)).map(summary).collect();
    Ok(Json(json!({ "moves": moves })).into_response())
}

pub(crate) async fn get_move(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let record = visible_move(&state, &user.0, &id).await?;
    audit::record(&state, Some(&user.0.name), from, "move.view", &id, json!({})).await?;
    let mut body = summary(&record);
    body["plan"] = record.plan.clone();
    body["team"] = json!(state.store.move_team(&id).await?);
    Ok(Json(body).into_response())
}

pub(crate) fn summary(record: &MoveRecord) -> serde_json::Value {
    json!({
        "id": record.id,
        "name": record.name,
        "created_at": convoy_core::position::format_time(&record.created_at),
        "created_by": record.created_by,
        "vehicles": record.plan.get("vehicles"),
        "window": record.plan.get("window"),
    })
}

/// The plan fields a GPX or KML upload carries in its query: `name`, `vehicles=a,b`,
/// `escorts=cargo:escort,...`, `corridor_m`, `from`, `to`, `rules` (JSON text).
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
    })
}

fn plan_error(error: &PlanError) -> ApiError {
    let status =
        if error.reason() == "too_large" { StatusCode::PAYLOAD_TOO_LARGE } else { StatusCode::BAD_REQUEST };
    ApiError::new(status, format!("plan refused: {error}"))
}

/// `POST /api/v1/routes/parse`: a route file (GPX, KML or GeoJSON, by `Content-Type`) read and
/// judged as a plan would read it, returned as GeoJSON for the page to preview before the move
/// is created. Nothing is stored.
pub(crate) async fn parse_route(
    State(state): State<AppState>,
    user: Authenticated,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    user.require(Ability::Plan)?;
    let (body, format, _) = route_body(&state, &headers, body, "")?;
    // The plan's other fields do not matter here; a placeholder vehicle lets the route and
    // zones be judged exactly as a real plan's are.
    let fields =
        PlanFields { name: "route preview".into(), vehicles: vec!["preview".into()], ..Default::default() };
    let plan = MovePlan::from_route_file(&body, format, &fields)
        .map_err(|e| refuse(&state, plan_error(&e), e.reason()))?;
    let document = plan.to_json();
    Ok(Json(json!({ "route": document["route"], "zones": document["zones"] })).into_response())
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
