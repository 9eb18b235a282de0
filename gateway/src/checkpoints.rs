//! Seal checkpoints: `POST /api/v1/moves/{id}/checkpoints` records which of a move's seals were
//! seen intact, broken or missing at loading, a handover or unloading, by whom (the person),
//! when (the server's clock), at which vehicle position (its latest stored fix then, with its
//! fix time and seq; none if unknown), with a note; `GET /api/v1/moves/{id}/checkpoints` lists
//! them. Escorts record on their own moves (`access::Scope`), dispatchers and admins on any
//! (`Ability::Checkpoints`); everyone who sees the move reads them, an auditor without the
//! places newer than the auditor delay (`recency.rs`).
//!
//! A checkpoint is recorded before anything else: then each seal seen broken or missing is told
//! to the server ([`SealIncident`] on `GatewayEvents::seal_incidents`), which opens a `seal`
//! alert on the move at once. Refusals are counted with the seal routes' (`seals.rs`).

use std::collections::HashSet;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, SubsecRound, Utc};
use convoy_core::custody::{SealIncident, SealState, Stage};
use convoy_core::position::format_time;
use convoy_core::{Ability, VehicleId};
use convoy_store::{Checkpoint, CheckpointFix, MoveRecord, Seal, SealSeen};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::visible_move;
use crate::audit;
use crate::error::ApiError;
use crate::extract::{ApiJson, Authenticated, ClientAddr};
use crate::openapi::{
    requires, signed_in, BadRequest, Conflict, NotFound, PayloadTooLarge, ServiceUnavailable,
    UnsupportedMediaType,
};
use crate::reply::Reply;
use crate::schemas;
use crate::seals::{plan_vehicles, still_open, MAX_TEXT_CHARS};
use crate::state::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(requires(Ability::Checkpoints, routes!(record_checkpoint)))
        .routes(signed_in(routes!(list_checkpoints)))
}

/// One seal as seen at a checkpoint.
#[derive(Serialize, ToSchema)]
#[schema(as = SealSeen)]
pub(crate) struct SealSeenView {
    seal_id: String,
    /// The seal's number and label when the checkpoint was recorded.
    number: String,
    label: String,
    #[schema(value_type = SealStateName)]
    state: String,
    #[schema(required = true)]
    note: Option<String>,
}

/// `intact`, `broken` or `missing`.
#[derive(ToSchema)]
#[schema(as = SealState)]
#[allow(dead_code)] // a schema only
pub(crate) enum SealStateName {
    #[schema(rename = "intact")]
    Intact,
    #[schema(rename = "broken")]
    Broken,
    #[schema(rename = "missing")]
    Missing,
}

/// `loading`, `handover` or `unloading`.
#[derive(ToSchema)]
#[schema(as = CheckpointStage)]
#[allow(dead_code)] // a schema only
pub(crate) enum StageName {
    #[schema(rename = "loading")]
    Loading,
    #[schema(rename = "handover")]
    Handover,
    #[schema(rename = "unloading")]
    Unloading,
}

/// The vehicle's latest stored fix when the checkpoint was recorded.
#[derive(Serialize, ToSchema)]
#[schema(as = CheckpointFix)]
pub(crate) struct FixView {
    #[schema(value_type = schemas::Time)]
    t: String,
    #[schema(minimum = 0)]
    seq: u64,
    lat: f64,
    lon: f64,
}

/// A checkpoint as recorded.
#[derive(Serialize, ToSchema)]
#[schema(as = Checkpoint)]
pub(crate) struct CheckpointView {
    id: i64,
    #[schema(value_type = StageName)]
    stage: String,
    #[schema(value_type = Option<schemas::VehicleId>, required = true)]
    vehicle: Option<String>,
    /// When it was recorded (the server's clock).
    #[schema(value_type = schemas::Time)]
    at: String,
    /// Who recorded it.
    #[schema(value_type = schemas::UserName)]
    by: String,
    #[schema(required = true)]
    note: Option<String>,
    /// Null when the vehicle had no stored fix, no vehicle was named, or (for an auditor) the
    /// fix is newer than the auditor delay.
    #[schema(required = true)]
    fix: Option<FixView>,
    seals: Vec<SealSeenView>,
}

impl CheckpointView {
    /// `checkpoint` as read by someone who reads fixes up to `newest` (`None`: up to now).
    pub(crate) fn of(checkpoint: &Checkpoint, newest: Option<DateTime<Utc>>) -> Self {
        let fix = checkpoint.fix.filter(|fix| newest.is_none_or(|newest| fix.t <= newest));
        CheckpointView {
            id: checkpoint.id,
            stage: checkpoint.stage.clone(),
            vehicle: checkpoint.vehicle.as_ref().map(|v| v.to_string()),
            at: format_time(&checkpoint.at),
            by: checkpoint.by.clone(),
            note: checkpoint.note.clone(),
            fix: fix.map(|f| FixView { t: format_time(&f.t), seq: f.seq, lat: f.lat, lon: f.lon }),
            seals: checkpoint
                .seals
                .iter()
                .map(|s| SealSeenView {
                    seal_id: s.seal_id.clone(),
                    number: s.number.clone(),
                    label: s.label.clone(),
                    state: s.state.clone(),
                    note: s.note.clone(),
                })
                .collect(),
        }
    }
}

/// A move's checkpoints.
#[derive(Serialize, ToSchema)]
pub(crate) struct CheckpointList {
    /// Oldest first.
    checkpoints: Vec<CheckpointView>,
}

/// A move's checkpoints as `state`'s person of `role` reads them.
/// A move's checkpoints, each position shown only if it is not newer than `newest` (an
/// auditor's cut; `None`: every one).
pub(crate) async fn checkpoint_views(
    store: &convoy_store::Store,
    newest: Option<chrono::DateTime<Utc>>,
    move_id: &str,
) -> Result<Vec<CheckpointView>, convoy_store::StoreError> {
    Ok(store.checkpoints(move_id).await?.iter().map(|c| CheckpointView::of(c, newest)).collect())
}

#[utoipa::path(
    get,
    path = "/api/v1/moves/{id}/checkpoints",
    tag = "seals",
    operation_id = "listCheckpoints",
    summary = "A move's seal checkpoints, oldest first",
    description = "An escort reads only their moves' (another move answers 404); an auditor reads a checkpoint's vehicle position only once it is at least `auditor_delay_minutes` old. Recorded in the audit log (`checkpoints.view`).",
    params(("id" = String, Path, description = "The move's id.")),
    responses(
        (status = 200, description = "The checkpoints.", body = CheckpointList),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn list_checkpoints(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    Path(id): Path<String>,
) -> Result<Reply<CheckpointList>, ApiError> {
    visible_move(&state, &user.0, &id).await?;
    audit::record(&state, Some(&user.0.name), from, "checkpoints.view", &id, json!({})).await?;
    Ok(Reply::ok(CheckpointList {
        checkpoints: checkpoint_views(&state.store, state.access.newest_for(user.0.role, Utc::now()), &id)
            .await?,
    }))
}

/// One seal as seen, in a new checkpoint.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewSealSeen)]
pub(crate) struct SealSeenInput {
    /// One of the move's seals (`GET /api/v1/moves/{id}/seals`).
    seal_id: String,
    #[schema(value_type = SealStateName)]
    state: String,
    #[serde(default)]
    #[schema(max_length = 1000)]
    note: Option<String>,
}

/// A new checkpoint.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewCheckpoint)]
pub(crate) struct CheckpointInput {
    #[schema(value_type = StageName)]
    stage: String,
    /// One of the move's vehicles: its latest stored fix is recorded with the checkpoint.
    #[serde(default)]
    #[schema(value_type = Option<schemas::VehicleId>)]
    vehicle: Option<String>,
    /// At least one; each seal once.
    seals: Vec<SealSeenInput>,
    #[serde(default)]
    #[schema(max_length = 1000)]
    note: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/moves/{id}/checkpoints",
    tag = "seals",
    operation_id = "recordCheckpoint",
    summary = "Record a seal checkpoint: which seals were seen intact, broken or missing",
    description = "Recorded with who, when (the server's clock) and the vehicle's latest stored fix (its time and seq; null if unknown or no vehicle is named). Names at least one of the move's seals (`no_seals`), each once (`duplicate_seal`); an id not on the move's list is `unknown_seal`; `stage` is `loading`, `handover` or `unloading` (`bad_stage`), each `state` `intact`, `broken` or `missing` (`bad_state`); a vehicle not the move's is `unknown_vehicle`; a note over 1,000 characters `note_too_long`; all 400. 409 `move_ended` for a move that has ended or was cancelled. An escort records only on their moves (another answers 404). Each seal seen broken or missing opens a `seal` alert on the move at once, after the checkpoint is recorded. Refusals change nothing and are counted by reason (`convoy_gateway_seals_refused_total`). Recorded in the audit log (`checkpoint.record`).",
    params(("id" = String, Path, description = "The move's id.")),
    request_body = CheckpointInput,
    responses(
        (status = 201, description = "The checkpoint, recorded.", body = CheckpointView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn record_checkpoint(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    Path(id): Path<String>,
    body: Result<ApiJson<CheckpointInput>, ApiError>,
) -> Result<Reply<CheckpointView>, ApiError> {
    user.require(Ability::Checkpoints)?;
    let ApiJson(request) = body?;
    let record = visible_move(&state, &user.0, &id).await?;
    still_open(&record)?;
    let seals = state.store.move_seals(&id).await?;
    let at = Utc::now().trunc_subsecs(3);
    let mut checkpoint = judge(request, &record, &seals, &user.0.name, at)?;
    if let Some(vehicle) = &checkpoint.vehicle {
        checkpoint.fix = latest_fix(&state, vehicle).await?;
    }
    checkpoint.id = state.store.add_checkpoint(&checkpoint).await?;
    let states: Vec<_> = checkpoint.seals.iter().map(|s| json!([s.number, s.state])).collect();
    let detail = json!({ "checkpoint": checkpoint.id, "stage": checkpoint.stage, "vehicle": checkpoint.vehicle, "seals": states });
    audit::record(&state, Some(&user.0.name), from, "checkpoint.record", &id, detail).await?;
    for incident in incidents(&checkpoint, &record, &seals) {
        tracing::info!(move_id = %id, seal = %incident.seal_number, "seal seen broken or missing");
        let _ = state.events.seal_incidents.send(incident);
    }
    Ok(Reply::created(CheckpointView::of(&checkpoint, None)))
}

/// The vehicle's latest stored fix, if any.
async fn latest_fix(state: &AppState, vehicle: &VehicleId) -> Result<Option<CheckpointFix>, ApiError> {
    Ok(state.store.latest_positions().await?.into_iter().find(|l| &l.vehicle == vehicle).map(|l| {
        CheckpointFix { t: l.position.t, seq: l.position.seq, lat: l.position.lat, lon: l.position.lon }
    }))
}

fn bad(reason: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message).with_reason(reason)
}

/// A note trimmed (empty is none), at most [`MAX_TEXT_CHARS`] characters.
fn note(text: Option<String>) -> Result<Option<String>, ApiError> {
    let Some(text) = text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()) else { return Ok(None) };
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(bad("note_too_long", format!("a note is at most {MAX_TEXT_CHARS} characters")));
    }
    Ok(Some(text))
}

/// A new checkpoint judged whole against the move and its seals (without its fix, read after).
pub(crate) fn judge(
    request: CheckpointInput,
    record: &MoveRecord,
    seals: &[Seal],
    by: &str,
    at: DateTime<Utc>,
) -> Result<Checkpoint, ApiError> {
    let stage = Stage::parse(request.stage.trim())
        .ok_or_else(|| bad("bad_stage", "the stage is one of loading, handover, unloading"))?;
    let vehicle = match request.vehicle.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => None,
        Some(name) => Some(
            plan_vehicles(record)
                .iter()
                .find(|v| *v == name)
                .and_then(|v| VehicleId::new(v.as_str()).ok())
                .ok_or_else(|| bad("unknown_vehicle", format!("{name} is not one of the move's vehicles")))?,
        ),
    };
    if request.seals.is_empty() {
        return Err(bad("no_seals", "a checkpoint names at least one seal"));
    }
    let mut named = HashSet::new();
    let mut seen = Vec::with_capacity(request.seals.len());
    for item in request.seals {
        let seal = seals
            .iter()
            .find(|s| s.id == item.seal_id)
            .ok_or_else(|| bad("unknown_seal", "a seal id that is not on the move's list"))?;
        if !named.insert(seal.id.clone()) {
            return Err(bad("duplicate_seal", format!("seal {} is named twice", seal.number)));
        }
        let state = SealState::parse(item.state.trim())
            .ok_or_else(|| bad("bad_state", "a seal's state is one of intact, broken, missing"))?;
        seen.push(SealSeen {
            seal_id: seal.id.clone(),
            number: seal.number.clone(),
            label: seal.label.clone(),
            state: state.as_str().into(),
            note: note(item.note)?,
        });
    }
    Ok(Checkpoint {
        id: 0,
        move_id: record.id.clone(),
        stage: stage.as_str().into(),
        vehicle,
        at,
        by: by.into(),
        note: note(request.note)?,
        fix: None,
        seals: seen,
    })
}

/// The `seal` alerts a recorded checkpoint asks for: one per seal seen broken or missing, on
/// the checkpoint's vehicle, else the seal's, else the move's first.
pub(crate) fn incidents(checkpoint: &Checkpoint, record: &MoveRecord, seals: &[Seal]) -> Vec<SealIncident> {
    let first = plan_vehicles(record).into_iter().find_map(|v| VehicleId::new(v).ok());
    checkpoint
        .seals
        .iter()
        .filter(|s| SealState::parse(&s.state).is_some_and(SealState::is_alarming))
        .filter_map(|seen| {
            let carrier = seals.iter().find(|s| s.id == seen.seal_id).and_then(|s| s.vehicle.clone());
            let vehicle = checkpoint.vehicle.clone().or(carrier).or_else(|| first.clone())?;
            // The place recorded is the checkpoint's vehicle's: only with that vehicle.
            let fix = checkpoint.fix.filter(|_| checkpoint.vehicle.as_ref() == Some(&vehicle));
            Some(SealIncident {
                move_id: checkpoint.move_id.clone(),
                vehicle,
                t: checkpoint.at,
                lat: fix.map(|f| f.lat),
                lon: fix.map(|f| f.lon),
                seal_number: seen.number.clone(),
                detail: json!({
                    "stage": checkpoint.stage,
                    "state": seen.state,
                    "seal": seen.number,
                    "label": seen.label,
                    "by": checkpoint.by,
                    "note": seen.note.clone().or_else(|| checkpoint.note.clone()),
                }),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> MoveRecord {
        MoveRecord {
            id: "m1".into(),
            name: "move".into(),
            plan: json!({"vehicles": ["truck-01", "escort-1"]}),
            created_at: Utc::now(),
            created_by: "ana".into(),
            version: 1,
            end: None,
        }
    }

    fn seal(id: &str, number: &str, vehicle: Option<&str>) -> Seal {
        Seal {
            id: id.into(),
            label: format!("crate {id}"),
            number: number.into(),
            contents: String::new(),
            sensitivity: "normal".into(),
            vehicle: vehicle.map(|v| VehicleId::new(v).unwrap()),
        }
    }

    fn input(
        stage: &str,
        vehicle: Option<&str>,
        seals: &[(&str, &str)],
        note: Option<String>,
    ) -> CheckpointInput {
        CheckpointInput {
            stage: stage.into(),
            vehicle: vehicle.map(str::to_string),
            seals: seals
                .iter()
                .map(|(id, state)| SealSeenInput {
                    seal_id: id.to_string(),
                    state: state.to_string(),
                    note: None,
                })
                .collect(),
            note,
        }
    }

    fn reason(result: Result<Checkpoint, ApiError>) -> Option<&'static str> {
        result.err().and_then(|e| e.reason())
    }

    #[test]
    fn each_bad_checkpoint_is_refused_with_its_reason() {
        let seals = [seal("s1", "A-1", None), seal("s2", "A-2", Some("escort-1"))];
        let judge = |i| reason(judge(i, &record(), &seals, "eve", Utc::now()));
        assert_eq!(judge(input("loading", None, &[("s1", "intact")], None)), None);
        assert_eq!(judge(input("lunch", None, &[("s1", "intact")], None)), Some("bad_stage"));
        assert_eq!(judge(input("loading", None, &[("s1", "fine")], None)), Some("bad_state"));
        assert_eq!(judge(input("loading", None, &[], None)), Some("no_seals"));
        assert_eq!(judge(input("loading", None, &[("s9", "intact")], None)), Some("unknown_seal"));
        assert_eq!(
            judge(input("loading", None, &[("s1", "intact"), ("s1", "broken")], None)),
            Some("duplicate_seal")
        );
        assert_eq!(
            judge(input("loading", Some("truck-99"), &[("s1", "intact")], None)),
            Some("unknown_vehicle")
        );
        assert_eq!(
            judge(input("loading", None, &[("s1", "intact")], Some("x".repeat(1001)))),
            Some("note_too_long")
        );
        assert_eq!(judge(input("loading", None, &[("s1", "intact")], Some("é".repeat(1000)))), None);
    }

    #[test]
    fn only_broken_or_missing_seals_ask_for_an_alert_on_the_right_vehicle() {
        let seals = [seal("s1", "A-1", None), seal("s2", "A-2", Some("escort-1")), seal("s3", "A-3", None)];
        let request =
            input("unloading", None, &[("s1", "intact"), ("s2", "broken"), ("s3", "missing")], None);
        let checkpoint = judge(request, &record(), &seals, "eve", Utc::now()).unwrap();
        let found: Vec<(String, String, String)> = incidents(&checkpoint, &record(), &seals)
            .into_iter()
            .map(|i| (i.seal_number, i.vehicle.to_string(), i.detail["state"].as_str().unwrap().to_string()))
            .collect();
        assert_eq!(
            found,
            [
                ("A-2".to_string(), "escort-1".to_string(), "broken".to_string()),
                ("A-3".to_string(), "truck-01".to_string(), "missing".to_string())
            ],
            "the seal's carrier, else the move's first vehicle"
        );
    }
}
