//! A move's sealed items (custody): `GET /api/v1/moves/{id}/seals` lists them,
//! `PUT /api/v1/moves/{id}/seals` replaces the list whole (admins and dispatchers, as planning:
//! `Ability::Plan`). Each item has a server-made id that it keeps across lists, a label (the box
//! or container), a seal number unique within the move, what it holds, a sensitivity and
//! optionally the vehicle (one of the move's) that carries it. A seal a checkpoint names is
//! never removed (409 `seal_has_checkpoints`); checkpoints are in `checkpoints.rs`.
//!
//! A list is judged whole before anything is stored; each refusal of these routes and the
//! checkpoints' is counted by reason in `convoy_gateway_seals_refused_total` (one layer, from the
//! answer's reason) and changes nothing.

use std::collections::HashSet;

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use chrono::Utc;
use convoy_core::custody::Sensitivity;
use convoy_core::{Ability, VehicleId};
use convoy_store::{MoveRecord, MoveState, Seal, SealsReplaced};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::visible_move;
use crate::audit;
use crate::error::{ApiError, RefusalReason};
use crate::extract::{ApiJson, Authenticated, ClientAddr};
use crate::metrics::GatewayMetrics;
use crate::openapi::{
    requires, signed_in, BadRequest, Conflict, NotFound, PayloadTooLarge, ServiceUnavailable,
    UnsupportedMediaType,
};
use crate::reply::Reply;
use crate::schemas;
use crate::state::AppState;

/// The most seals a move lists.
pub(crate) const MAX_SEALS: usize = 500;
/// The longest label and seal number, in characters.
pub(crate) const MAX_LABEL_CHARS: usize = 200;
pub(crate) const MAX_NUMBER_CHARS: usize = 100;
/// The longest description of what an item holds, and the longest note, in characters.
pub(crate) const MAX_TEXT_CHARS: usize = 1_000;
/// The largest body the seal and checkpoint routes read.
const MAX_BODY_BYTES: usize = 512 * 1024;

/// Every reason a refusal of the seal and checkpoint routes is counted by.
pub(crate) const SEAL_REFUSAL_REASONS: [&str; 17] = [
    "bad_request",
    "too_large",
    "too_many_seals",
    "empty_label",
    "empty_number",
    "text_too_long",
    "duplicate_seal_number",
    "bad_sensitivity",
    "unknown_vehicle",
    "unknown_seal",
    "duplicate_seal",
    "seal_has_checkpoints",
    "move_ended",
    "bad_stage",
    "bad_state",
    "no_seals",
    "note_too_long",
];

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(signed_in(routes!(list_seals)))
        .routes(requires(Ability::Plan, routes!(replace_seals)))
        .merge(crate::checkpoints::routes())
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::map_response(count_refusal))
}

/// Counts a refusal that has a reason (bad input or a conflict; not a 403 or a 404).
async fn count_refusal(metrics: Option<Extension<GatewayMetrics>>, response: Response) -> Response {
    if let (Some(Extension(metrics)), Some(reason)) = (metrics, RefusalReason::of(&response)) {
        metrics.seals_refused.with_label_values(&[reason]).inc();
    }
    response
}

/// One sealed item of a move.
#[derive(Serialize, ToSchema)]
pub(crate) struct SealView {
    /// Made by the server; kept when the list is replaced.
    id: String,
    /// The box or container, e.g. "Rack 3 crate".
    label: String,
    /// The seal's number, unique within the move.
    number: String,
    /// What it holds.
    contents: String,
    #[schema(value_type = SensitivityName)]
    sensitivity: String,
    /// The vehicle that carries it; null if not said.
    #[schema(value_type = Option<schemas::VehicleId>, required = true)]
    vehicle: Option<String>,
    /// Whether a checkpoint names it (then it cannot be removed).
    checked: bool,
}

/// `normal`, `confidential` or `secret`.
#[derive(ToSchema)]
#[schema(as = Sensitivity)]
#[allow(dead_code)] // a schema only
pub(crate) enum SensitivityName {
    #[schema(rename = "normal")]
    Normal,
    #[schema(rename = "confidential")]
    Confidential,
    #[schema(rename = "secret")]
    Secret,
}

impl SealView {
    fn of(seal: &Seal, checked: &HashSet<String>) -> Self {
        SealView {
            id: seal.id.clone(),
            label: seal.label.clone(),
            number: seal.number.clone(),
            contents: seal.contents.clone(),
            sensitivity: seal.sensitivity.clone(),
            vehicle: seal.vehicle.as_ref().map(|v| v.to_string()),
            checked: checked.contains(&seal.id),
        }
    }
}

/// A move's seals.
#[derive(Serialize, ToSchema)]
pub(crate) struct SealList {
    /// In the list's order.
    seals: Vec<SealView>,
}

/// A move's seals with whether a checkpoint names each.
pub(crate) async fn seal_views(
    store: &convoy_store::Store,
    move_id: &str,
) -> Result<Vec<SealView>, convoy_store::StoreError> {
    let checked: HashSet<String> = store
        .checkpoints(move_id)
        .await?
        .into_iter()
        .flat_map(|c| c.seals.into_iter().map(|s| s.seal_id))
        .collect();
    Ok(store.move_seals(move_id).await?.iter().map(|s| SealView::of(s, &checked)).collect())
}

#[utoipa::path(
    get,
    path = "/api/v1/moves/{id}/seals",
    tag = "seals",
    operation_id = "listSeals",
    summary = "A move's sealed items",
    description = "An escort reads only their moves' (another move answers 404). Recorded in the audit log (`seals.view`).",
    params(("id" = String, Path, description = "The move's id.")),
    responses(
        (status = 200, description = "The seals, in the list's order.", body = SealList),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn list_seals(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    Path(id): Path<String>,
) -> Result<Reply<SealList>, ApiError> {
    visible_move(&state, &user.0, &id).await?;
    audit::record(&state, Some(&user.0.name), from, "seals.view", &id, json!({})).await?;
    Ok(Reply::ok(SealList { seals: seal_views(&state.store, &id).await? }))
}

/// One item of a new list.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewSeal)]
pub(crate) struct SealInput {
    /// An item already on the list keeps its id; a new one has none (the server makes it).
    #[serde(default)]
    id: Option<String>,
    #[schema(min_length = 1, max_length = 200, example = "Rack 3 crate")]
    label: String,
    #[schema(min_length = 1, max_length = 100, example = "SL-004512")]
    number: String,
    #[serde(default)]
    #[schema(max_length = 1000, example = "12 disks of the payroll cluster")]
    contents: String,
    #[schema(value_type = SensitivityName)]
    sensitivity: String,
    /// One of the move's vehicles.
    #[serde(default)]
    #[schema(value_type = Option<schemas::VehicleId>)]
    vehicle: Option<String>,
}

/// A move's new list of seals.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewSealList)]
pub(crate) struct SealListInput {
    seals: Vec<SealInput>,
}

#[utoipa::path(
    put,
    path = "/api/v1/moves/{id}/seals",
    tag = "seals",
    operation_id = "replaceSeals",
    summary = "Replace a move's list of sealed items",
    description = "The whole list: items that carry an id keep it (an id not on the move's list is 400 `unknown_seal`), the others get one. Each needs a label (1 to 200 characters), a seal number (1 to 100, unique within the move: `duplicate_seal_number`), a sensitivity (`normal`, `confidential`, `secret`: `bad_sensitivity`), and may say what it holds (at most 1,000 characters) and which of the move's vehicles carries it (`unknown_vehicle`); at most 500 items. 409 `seal_has_checkpoints` if the list leaves out a seal a checkpoint names, 409 `move_ended` for a move that has ended or was cancelled. Refusals change nothing and are counted by reason (`convoy_gateway_seals_refused_total`). Recorded in the audit log (`seals.edit`).",
    params(("id" = String, Path, description = "The move's id.")),
    request_body = SealListInput,
    responses(
        (status = 200, description = "The move's seals now.", body = SealList),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn replace_seals(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    Path(id): Path<String>,
    body: Result<ApiJson<SealListInput>, ApiError>,
) -> Result<Reply<SealList>, ApiError> {
    // The role first: someone who may not plan learns nothing from the body's checks.
    user.require(Ability::Plan)?;
    let ApiJson(request) = body?;
    let record = visible_move(&state, &user.0, &id).await?;
    still_open(&record)?;
    let current: Vec<String> = state.store.move_seals(&id).await?.into_iter().map(|s| s.id).collect();
    let seals = judge_list(request.seals, &current, &plan_vehicles(&record))?;
    match state.store.replace_move_seals(&id, &seals).await? {
        SealsReplaced::Stored => {}
        SealsReplaced::HasCheckpoints(seal) => {
            let message =
                format!("seal {seal} is named by a checkpoint and cannot be removed; nothing changed");
            return Err(ApiError::new(StatusCode::CONFLICT, message).with_reason("seal_has_checkpoints"));
        }
    }
    let numbers: Vec<&str> = seals.iter().map(|s| s.number.as_str()).collect();
    let detail = json!({ "seals": seals.len(), "numbers": numbers });
    audit::record(&state, Some(&user.0.name), from, "seals.edit", &id, detail).await?;
    Ok(Reply::ok(SealList { seals: seal_views(&state.store, &id).await? }))
}

/// 409 `move_ended` for a move that has ended or was cancelled: its record is closed.
pub(crate) fn still_open(record: &MoveRecord) -> Result<(), ApiError> {
    match record.state_at(Utc::now()) {
        MoveState::Planned | MoveState::Running => Ok(()),
        MoveState::Ended | MoveState::Cancelled => {
            Err(ApiError::new(StatusCode::CONFLICT, "the move has ended or was cancelled; nothing changed")
                .with_reason("move_ended"))
        }
    }
}

/// The plan's vehicles, by name.
pub(crate) fn plan_vehicles(record: &MoveRecord) -> Vec<String> {
    record
        .plan
        .get("vehicles")
        .and_then(|v| v.as_array())
        .map(|list| list.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

fn bad(reason: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message).with_reason(reason)
}

/// A new list judged whole against the move's current seal ids and its vehicles: text trimmed
/// and bounded, numbers unique, ids kept or made. Pure, so the demo's list is judged alike.
pub(crate) fn judge_list(
    items: Vec<impl Into<SealDraft>>,
    current: &[String],
    vehicles: &[String],
) -> Result<Vec<Seal>, ApiError> {
    let items: Vec<SealDraft> = items.into_iter().map(Into::into).collect();
    if items.len() > MAX_SEALS {
        return Err(bad("too_many_seals", format!("a move lists at most {MAX_SEALS} seals")));
    }
    let (mut ids, mut numbers) = (HashSet::new(), HashSet::new());
    let mut seals = Vec::with_capacity(items.len());
    for item in items {
        let label = bounded(&item.label, MAX_LABEL_CHARS, "label")?;
        let number = bounded(&item.number, MAX_NUMBER_CHARS, "seal number")?;
        if label.is_empty() {
            return Err(bad("empty_label", "each seal needs a label (the box or container)"));
        }
        if number.is_empty() {
            return Err(bad("empty_number", "each seal needs its seal number"));
        }
        let contents = bounded(&item.contents, MAX_TEXT_CHARS, "contents")?;
        let sensitivity = Sensitivity::parse(item.sensitivity.trim()).ok_or_else(|| {
            bad("bad_sensitivity", "the sensitivity is one of normal, confidential, secret")
        })?;
        let vehicle = match item.vehicle.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            None => None,
            Some(name) if vehicles.iter().any(|v| v == name) => Some(
                VehicleId::new(name).map_err(|_| bad("unknown_vehicle", "not one of the move's vehicles"))?,
            ),
            Some(name) => {
                return Err(bad("unknown_vehicle", format!("{name} is not one of the move's vehicles")))
            }
        };
        let id = match item.id {
            Some(id) if current.contains(&id) => id,
            Some(_) => return Err(bad("unknown_seal", "a seal id that is not on the move's list")),
            None => new_seal_id(),
        };
        if !ids.insert(id.clone()) {
            return Err(bad("duplicate_seal", "a seal is listed twice"));
        }
        if !numbers.insert(number.clone()) {
            return Err(bad("duplicate_seal_number", format!("seal number {number} is listed twice")));
        }
        seals.push(Seal { id, label, number, contents, sensitivity: sensitivity.as_str().into(), vehicle });
    }
    Ok(seals)
}

/// An item of a list as given, before it is judged.
pub(crate) struct SealDraft {
    pub(crate) id: Option<String>,
    pub(crate) label: String,
    pub(crate) number: String,
    pub(crate) contents: String,
    pub(crate) sensitivity: String,
    pub(crate) vehicle: Option<String>,
}

impl From<SealInput> for SealDraft {
    fn from(i: SealInput) -> Self {
        SealDraft {
            id: i.id,
            label: i.label,
            number: i.number,
            contents: i.contents,
            sensitivity: i.sensitivity,
            vehicle: i.vehicle,
        }
    }
}

/// `text` trimmed, at most `max` characters (400 `text_too_long` naming `what`).
fn bounded(text: &str, max: usize, what: &str) -> Result<String, ApiError> {
    let text = text.trim();
    if text.chars().count() > max {
        return Err(bad("text_too_long", format!("a {what} is at most {max} characters")));
    }
    Ok(text.to_string())
}

fn new_seal_id() -> String {
    let random: u64 = rand::rngs::OsRng.gen::<u64>() & 0xffff_ffff_ffff;
    format!("s{random:012x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(id: Option<&str>, number: &str) -> SealDraft {
        SealDraft {
            id: id.map(str::to_string),
            label: " Rack 3 crate ".into(),
            number: number.into(),
            contents: "disks".into(),
            sensitivity: "secret".into(),
            vehicle: Some("truck-01".into()),
        }
    }

    fn reason(result: Result<Vec<Seal>, ApiError>) -> Option<&'static str> {
        result.err().and_then(|e| e.reason())
    }

    #[test]
    fn a_list_keeps_known_ids_and_makes_new_ones() {
        let current = vec!["s1".to_string()];
        let vehicles = vec!["truck-01".to_string()];
        let seals =
            judge_list(vec![draft(Some("s1"), "A-1"), draft(None, "A-2")], &current, &vehicles).unwrap();
        assert_eq!(seals[0].id, "s1");
        assert!(seals[1].id.starts_with('s') && seals[1].id != "s1");
        assert_eq!(seals[0].label, "Rack 3 crate", "trimmed");
        assert_eq!(seals[1].vehicle.as_ref().map(|v| v.as_str()), Some("truck-01"));
    }

    #[test]
    fn each_bad_list_is_refused_with_its_reason() {
        let current = vec!["s1".to_string()];
        let vehicles = vec!["truck-01".to_string()];
        let judge = |items: Vec<SealDraft>| reason(judge_list(items, &current, &vehicles));
        assert_eq!(judge(vec![draft(None, "A"), draft(None, "A")]), Some("duplicate_seal_number"));
        assert_eq!(judge(vec![draft(Some("s1"), "A"), draft(Some("s1"), "B")]), Some("duplicate_seal"));
        assert_eq!(judge(vec![draft(Some("s9"), "A")]), Some("unknown_seal"));
        assert_eq!(judge(vec![draft(None, " ")]), Some("empty_number"));
        assert_eq!(judge(vec![SealDraft { label: "".into(), ..draft(None, "A") }]), Some("empty_label"));
        assert_eq!(
            judge(vec![SealDraft { sensitivity: "top".into(), ..draft(None, "A") }]),
            Some("bad_sensitivity")
        );
        assert_eq!(
            judge(vec![SealDraft { vehicle: Some("truck-99".into()), ..draft(None, "A") }]),
            Some("unknown_vehicle")
        );
        assert_eq!(
            judge(vec![SealDraft { contents: "x".repeat(1001), ..draft(None, "A") }]),
            Some("text_too_long")
        );
        assert_eq!(judge((0..501).map(|n| draft(None, &n.to_string())).collect()), Some("too_many_seals"));
        assert_eq!(judge(vec![]), None, "an empty list is a list");
    }
}
