//! `GET /api/v1/vehicles` (each vehicle's latest position and current move, as the person may
//! see them) and `POST /api/v1/vehicles` (register one; its password is shown once).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use convoy_core::{Ability, Position, Role, VehicleId};
use convoy_store::StoreError;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit;
use crate::error::ApiError;
use crate::extract::ClientAddr;
use crate::extract::{ApiJson, Authenticated};
use crate::state::AppState;

#[derive(Serialize)]
struct VehicleView {
    id: VehicleId,
    /// The newest position by fix time, as on the wire; absent before the first one.
    position: Option<Position>,
    /// When the server received that position.
    received_at: Option<DateTime<Utc>>,
    /// The move the vehicle is on: the newest that names it and has not ended (for an escort,
    /// among the moves they are assigned to).
    #[serde(rename = "move")]
    move_id: Option<String>,
}

pub(crate) async fn list_vehicles(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
) -> Result<Response, ApiError> {
    let scope = crate::access::Scope::of(&state.store, &user.0).await?;
    // The latest positions of every vehicle the person sees: a look at live positions.
    audit::record(&state, Some(&user.0.name), from, "vehicles.view", "vehicles", json!({})).await?;
    // An escort is told only of moves they are assigned to: another team's move may share a
    // vehicle, and its id is not theirs to see.
    let crews =
        state.store.move_crews().await?.into_iter().filter(|crew| scope.sees_move(&crew.id)).collect();
    let current_moves = current_moves(crews, Utc::now());
    let mut latest = state.store.latest_positions().await?.into_iter().peekable();
    let mut vehicles = Vec::new();
    for id in state.store.vehicle_ids().await? {
        let position = latest.next_if(|l| l.vehicle == id);
        if !scope.sees_vehicle(&id) {
            continue;
        }
        // Auditors work from the record, not live: they get the list without positions.
        let position = position.filter(|_| user.0.role != Role::Auditor);
        vehicles.push(VehicleView {
            move_id: current_moves.get(&id).cloned(),
            id,
            received_at: position.as_ref().map(|l| l.received_at),
            position: position.map(|l| l.position),
        });
    }
    Ok(Json(json!({ "vehicles": vehicles })).into_response())
}

/// Each vehicle's current move: the newest created that names it and whose window (if it has
/// one) has not ended by `now`.
fn current_moves(
    mut crews: Vec<convoy_store::MoveCrew>,
    now: DateTime<Utc>,
) -> std::collections::HashMap<VehicleId, String> {
    let mut by_vehicle = std::collections::HashMap::new();
    crews.sort_by_key(|crew| std::cmp::Reverse(crew.created_at));
    for crew in crews.into_iter().filter(|crew| !crew.has_ended(now)) {
        for vehicle in crew.vehicles {
            by_vehicle.entry(vehicle).or_insert_with(|| crew.id.clone());
        }
    }
    by_vehicle
}

#[derive(Deserialize)]
pub(crate) struct AddVehicleRequest {
    id: String,
}

pub(crate) async fn add_vehicle(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    ApiJson(request): ApiJson<AddVehicleRequest>,
) -> Result<Response, ApiError> {
    user.require(Ability::Vehicles)?;
    let id = VehicleId::new(request.id).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    match convoy_registry::register_vehicle(&state.store, &id).await {
        Ok(password) => {
            tracing::info!(vehicle = %id, by = %user.0.name, "vehicle registered");
            audit::record(&state, Some(&user.0.name), from, "vehicle.add", id.as_str(), json!({})).await?;
            Ok((StatusCode::CREATED, Json(json!({ "id": id, "password": password }))).into_response())
        }
        Err(StoreError::AlreadyExists(what)) => {
            Err(ApiError::new(StatusCode::CONFLICT, format!("{what} already exists")))
        }
        Err(e) => Err(e.into()),
    }
}
