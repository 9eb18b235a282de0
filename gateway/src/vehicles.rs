//! `GET /api/v1/vehicles` (each vehicle's latest position and current move, as the person may
//! see them) and `POST /api/v1/vehicles` (register one; its password is shown once).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use convoy_core::{Ability, Position, Role, VehicleId};
use convoy_store::StoreError;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit;
use crate::error::ApiError;
use crate::extract::ClientAddr;
use crate::extract::{ApiJson, Authenticated};
use crate::openapi::{
    requires, signed_in, BadRequest, Conflict, PayloadTooLarge, ServiceUnavailable, UnsupportedMediaType,
};
use crate::reply::Reply;
use crate::schemas;
use crate::state::AppState;
use crate::vehicles_admin::AgentSetup;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(signed_in(routes!(list_vehicles))).merge(
        OpenApiRouter::new()
            .routes(requires(Ability::Vehicles, routes!(add_vehicle)))
            .layer(axum::middleware::map_response(crate::vehicles_admin::count_refusal)),
    )
}

#[derive(Serialize, ToSchema)]
#[schema(as = Vehicle)]
pub(crate) struct VehicleView {
    #[schema(value_type = schemas::VehicleId)]
    id: VehicleId,
    /// The newest position by fix time, as on the wire; null before the first one.
    #[schema(value_type = Option<schemas::Position>, required = true)]
    position: Option<Position>,
    /// When the server received that position.
    #[schema(value_type = Option<schemas::Time>, required = true)]
    received_at: Option<DateTime<Utc>>,
    /// The move the vehicle is on: the newest that names it and has not ended (for an escort,
    /// among the moves they are assigned to).
    #[serde(rename = "move")]
    #[schema(required = true)]
    move_id: Option<String>,
    /// A disabled vehicle cannot log in to the broker (`POST /api/v1/vehicles/{id}/disable`).
    disabled: bool,
    /// Whether the vehicle has a public key registered: its tracks are signed and verified at
    /// ingest (`GET /api/v1/vehicles/{id}/keys`); false: stored unsigned.
    signed: bool,
    /// The key valid now (else the first to come); null when unsigned.
    #[schema(required = true)]
    key_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct VehicleList {
    vehicles: Vec<VehicleView>,
}

#[utoipa::path(
    get,
    path = "/api/v1/vehicles",
    tag = "vehicles",
    operation_id = "listVehicles",
    summary = "Every registered vehicle with its latest position",
    description = "An escort sees only the vehicles of the moves assigned to them that have not ended; an auditor gets the list without positions (auditors work from the record, not live). Recorded in the audit log (a look at live positions).",
    responses(
        (status = 200, description = "The vehicles.", body = VehicleList),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn list_vehicles(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
) -> Result<Reply<VehicleList>, ApiError> {
    let scope = crate::access::Scope::of(&state.store, &user.0).await?;
    // The latest positions of every vehicle the person sees: a look at live positions.
    audit::record(&state, Some(&user.0.name), from, "vehicles.view", "vehicles", json!({})).await?;
    // An escort is told only of moves they are assigned to: another team's move may share a
    // vehicle, and its id is not theirs to see.
    let crews =
        state.store.move_crews().await?.into_iter().filter(|crew| scope.sees_move(&crew.id)).collect();
    let current_moves = current_moves(crews, Utc::now());
    let disabled: std::collections::HashSet<VehicleId> =
        state.store.disabled_vehicles().await?.into_iter().collect();
    let mut latest = state.store.latest_positions().await?.into_iter().peekable();
    let ids = state.store.vehicle_ids().await?;
    let keys = current_keys(state.store.vehicle_keys_among(&ids).await?, Utc::now());
    let mut vehicles = Vec::new();
    for id in ids {
        let position = latest.next_if(|l| l.vehicle == id);
        if !scope.sees_vehicle(&id) {
            continue;
        }
        // Auditors work from the record, not live: they get the list without positions.
        let position = position.filter(|_| user.0.role != Role::Auditor);
        vehicles.push(VehicleView {
            move_id: current_moves.get(&id).cloned(),
            disabled: disabled.contains(&id),
            signed: keys.contains_key(&id),
            key_id: keys.get(&id).cloned(),
            id,
            received_at: position.as_ref().map(|l| l.received_at),
            position: position.map(|l| l.position),
        });
    }
    Ok(Reply::ok(VehicleList { vehicles }))
}

/// Each vehicle's key id valid at `now` (keys come oldest `valid_from` first), else its first
/// key still to come.
fn current_keys(
    keys: Vec<convoy_store::VehicleKey>,
    now: DateTime<Utc>,
) -> std::collections::HashMap<VehicleId, String> {
    let mut current = std::collections::HashMap::new();
    for key in keys {
        let id = key.key_id().to_string();
        if key.valid_from <= now || !current.contains_key(&key.vehicle) {
            current.insert(key.vehicle, id);
        }
    }
    current
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

#[derive(Deserialize, ToSchema)]
#[schema(as = NewVehicle)]
pub(crate) struct AddVehicleRequest {
    #[schema(value_type = schemas::VehicleId)]
    id: String,
}

/// A vehicle's MQTT password, shown once, with its agent's configuration: on registering and
/// on a new password.
#[derive(Serialize, ToSchema)]
pub(crate) struct VehicleCredentials {
    #[schema(value_type = schemas::VehicleId)]
    pub(crate) id: VehicleId,
    /// The vehicle's MQTT password (24 letters and digits), shown this once.
    #[schema(format = Password)]
    pub(crate) password: String,
    #[serde(flatten)]
    pub(crate) setup: AgentSetup,
}

#[utoipa::path(
    post,
    path = "/api/v1/vehicles",
    tag = "vehicles",
    operation_id = "addVehicle",
    summary = "Register a vehicle; its MQTT password is shown once",
    description = "Only a hash of the password is stored: it cannot be shown again. The answer also holds the vehicle's agent configuration (`agent_config`, `password_file`) and is kept by no cache. An id that is not a vehicle id is refused with 400 `bad_id`, one already registered 409 `already_exists`. Recorded in the audit log (`vehicle.add`, without the password).",
    request_body = AddVehicleRequest,
    responses(
        (status = 201, description = "The vehicle is registered.", body = VehicleCredentials),
        (status = 400, response = BadRequest),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn add_vehicle(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    headers: HeaderMap,
    ApiJson(request): ApiJson<AddVehicleRequest>,
) -> Result<Response, ApiError> {
    user.require(Ability::Vehicles)?;
    let id = VehicleId::new(request.id)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.to_string()).with_reason("bad_id"))?;
    match convoy_registry::register_vehicle(&state.store, &id).await {
        Ok(password) => {
            tracing::info!(vehicle = %id, by = %user.0.name, "vehicle registered");
            audit::record(&state, Some(&user.0.name), from, "vehicle.add", id.as_str(), json!({})).await?;
            let setup = AgentSetup::new(&state, &headers, &id);
            Ok(Reply::created(VehicleCredentials { id, password, setup }).into_response())
        }
        Err(StoreError::AlreadyExists(what)) => {
            Err(ApiError::new(StatusCode::CONFLICT, format!("{what} already exists"))
                .with_reason("already_exists"))
        }
        Err(e) => Err(e.into()),
    }
}
