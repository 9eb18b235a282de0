//! A vehicle's public keys, which ingest verifies its signed tracks with (issue 15):
//! `GET /api/v1/vehicles/{id}/keys` and `POST /api/v1/vehicles/{id}/keys`.
//!
//! A key is the text `convoy-agent keygen` prints (`ed25519:` and 32 bytes in base64). It signs
//! the fixes timed from its `valid_from` (default: now) to the next key's: a rotation is a new
//! key with a later `valid_from`, and the old one stays, to verify the past. A key is never
//! removed (an evidence record), and a key id names one truck's key: registering it for
//! another vehicle is refused. Refusals are counted in `convoy_gateway_vehicles_refused_total`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use convoy_core::signing::PublicKey;
use convoy_core::{Ability, VehicleId};
use convoy_store::{KeyAdded, VehicleKey};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit;
use crate::error::ApiError;
use crate::extract::{ApiJson, Authenticated, ClientAddr};
use crate::openapi::{
    requires, BadRequest, Conflict, NotFound, PayloadTooLarge, ServiceUnavailable, UnsupportedMediaType,
};
use crate::reply::Reply;
use crate::schemas;
use crate::state::AppState;
use crate::vehicles_admin::no_such_vehicle;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(requires(Ability::Vehicles, routes!(list_keys, add_key)))
        .layer(axum::middleware::map_response(crate::vehicles_admin::count_refusal))
}

/// A vehicle's registered public key.
#[derive(Serialize, ToSchema)]
pub(crate) struct KeyView {
    /// The key's id: 16 hex digits, as the vehicle's signed batches name it.
    key_id: String,
    /// `ed25519:` and 32 bytes in base64.
    public_key: String,
    /// It signs the fixes timed from here to the next key's `valid_from`.
    #[schema(value_type = schemas::Time)]
    valid_from: DateTime<Utc>,
    #[schema(value_type = schemas::Time)]
    registered_at: DateTime<Utc>,
    registered_by: String,
}

impl From<VehicleKey> for KeyView {
    fn from(key: VehicleKey) -> Self {
        KeyView {
            key_id: key.key_id().to_string(),
            public_key: key.key.to_string(),
            valid_from: key.valid_from,
            registered_at: key.registered_at,
            registered_by: key.registered_by,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct KeyList {
    #[schema(value_type = schemas::VehicleId)]
    id: VehicleId,
    /// Oldest `valid_from` first; empty: the vehicle's tracks are unsigned.
    keys: Vec<KeyView>,
}

#[derive(Deserialize, ToSchema)]
#[schema(as = NewVehicleKey)]
pub(crate) struct AddKeyRequest {
    /// The text `convoy-agent keygen` printed: `ed25519:` and 32 bytes in base64.
    public_key: String,
    /// RFC 3339; default: now. After the vehicle's newest key's.
    #[schema(value_type = Option<schemas::Time>)]
    valid_from: Option<String>,
}

/// A registered vehicle's id, or the 404 of an unknown one.
async fn known_vehicle(state: &AppState, id: String) -> Result<VehicleId, ApiError> {
    let id = VehicleId::new(id).map_err(|_| no_such_vehicle())?;
    if !state.store.vehicle_registered(&id).await? {
        return Err(no_such_vehicle());
    }
    Ok(id)
}

#[utoipa::path(
    get,
    path = "/api/v1/vehicles/{id}/keys",
    tag = "vehicles",
    operation_id = "listVehicleKeys",
    summary = "A vehicle's public keys, which its signed tracks are verified with",
    description = "Oldest first; none: the vehicle's tracks are stored unsigned. An unknown vehicle 404 `unknown_vehicle`. Recorded in the audit log (`vehicle.keys_view`).",
    params(("id" = schemas::VehicleId, Path, description = "The vehicle's id.")),
    responses(
        (status = 200, description = "The keys.", body = KeyList),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn list_keys(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    Path(id): Path<String>,
) -> Result<Reply<KeyList>, ApiError> {
    user.require(Ability::Vehicles)?;
    let id = known_vehicle(&state, id).await?;
    let keys = state.store.vehicle_keys(&id).await?.into_iter().map(KeyView::from).collect();
    audit::record(&state, Some(&user.0.name), from, "vehicle.keys_view", id.as_str(), json!({})).await?;
    Ok(Reply::ok(KeyList { id, keys }))
}

#[utoipa::path(
    post,
    path = "/api/v1/vehicles/{id}/keys",
    tag = "vehicles",
    operation_id = "addVehicleKey",
    summary = "Register a vehicle's public key, valid from a time (a rotation keeps the old key for the past)",
    description = "Refused: a key that is not `ed25519:` and 32 bytes in base64 400 `bad_public_key`, a `valid_from` that is not RFC 3339 400 `bad_time`, a key already registered (for any vehicle) 409 `key_exists`, a `valid_from` not after the vehicle's newest key's 409 `valid_from_not_after_current`, an unknown vehicle 404 `unknown_vehicle`. Recorded in the audit log (`vehicle.key_add`).",
    params(("id" = schemas::VehicleId, Path, description = "The vehicle's id.")),
    request_body = AddKeyRequest,
    responses(
        (status = 201, description = "The key is registered.", body = KeyView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn add_key(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<AddKeyRequest>,
) -> Result<Reply<KeyView>, ApiError> {
    user.require(Ability::Vehicles)?;
    let id = VehicleId::new(id).map_err(|_| no_such_vehicle())?;
    let key = PublicKey::parse(request.public_key.trim())
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.to_string()).with_reason("bad_public_key"))?;
    let valid_from = match request.valid_from.as_deref() {
        None => Utc::now(),
        Some(text) => DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).map_err(|e| {
            ApiError::new(StatusCode::BAD_REQUEST, format!("valid_from is not an RFC 3339 time: {e}"))
                .with_reason("bad_time")
        })?,
    };
    let key = VehicleKey {
        vehicle: id.clone(),
        key,
        valid_from,
        registered_at: Utc::now(),
        registered_by: user.0.name.clone(),
    };
    match state.store.add_vehicle_key(&key).await? {
        KeyAdded::Added => {}
        KeyAdded::UnknownVehicle => return Err(no_such_vehicle()),
        KeyAdded::KeyExists => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!("key {} is already registered", key.key_id()),
            )
            .with_reason("key_exists"))
        }
        KeyAdded::NotAfterCurrent { current } => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!("valid_from must be after the newest key's, {}", current.to_rfc3339()),
            )
            .with_reason("valid_from_not_after_current"))
        }
    }
    let detail = json!({ "key_id": key.key_id().to_string(), "valid_from": key.valid_from });
    audit::record(&state, Some(&user.0.name), from, "vehicle.key_add", id.as_str(), detail).await?;
    tracing::info!(vehicle = %id, key = %key.key_id(), by = %user.0.name, "vehicle key registered");
    Ok(Reply::created(KeyView::from(key)))
}
