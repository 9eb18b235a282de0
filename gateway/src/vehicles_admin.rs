//! Changing vehicles: an admin or dispatcher rotates a vehicle's MQTT password
//! (`POST /api/v1/vehicles/{id}/password`), disables and enables it (`.../disable`, `.../enable`).
//!
//! - A rotation gives a new random password, in the answer only (`Cache-Control: no-store`),
//!   with the agent's configuration for the vehicle ([`AgentSetup`]). Only its hash is stored,
//!   replacing the old one: the embedded broker's door checks the password at every CONNECT,
//!   so the old one is refused (`bad_credentials`) from the vehicle's next connect on. A
//!   connection already open stays open until it ends. With an external broker (Mosquitto),
//!   its password file must be made again (README).
//! - A disabled vehicle cannot log in to the embedded broker (refused after its password is
//!   checked, `vehicle_disabled`), and a connected one is closed within 10 s (the door reads the
//!   disabled vehicles every 5 s: `convoy_broker::door::DISABLED_CHECK_INTERVAL`). Its
//!   positions stay. Disabling a disabled vehicle (or enabling an enabled one) changes nothing
//!   and answers 200 with `changed: false`: a repeated click or retried request is no error.
//! - Every refusal of the vehicle routes that change something (registering too) or read an
//!   agent's status history is counted by reason in `convoy_gateway_vehicles_refused_total`; every change is in the audit log, never
//!   with a password.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use convoy_core::{Ability, VehicleId};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit;
use crate::error::{ApiError, RefusalReason};
use crate::extract::{Authenticated, ClientAddr};
use crate::metrics::GatewayMetrics;
use crate::openapi::{requires, NotFound, ServiceUnavailable};
use crate::reply::Reply;
use crate::schemas;
use crate::state::AppState;
use crate::vehicles::VehicleCredentials;

/// Every reason a vehicle request is refused with, each counted from the start.
pub(crate) const VEHICLE_REFUSAL_REASONS: &[&str] = &[
    // The body or path as such: not JSON, a missing field, too large.
    "bad_request",
    // Registering a vehicle.
    "bad_id",
    "already_exists",
    // Changing a vehicle, or reading its agent's status history.
    "unknown_vehicle",
    // The status history's span (`vehicle_status.rs`); a key's valid_from.
    "bad_time",
    "bad_range",
    // Registering a vehicle's public key (`vehicle_keys.rs`).
    "bad_public_key",
    "key_exists",
    "valid_from_not_after_current",
];

/// Where the agent's password file goes in the configuration Convoy gives out.
pub(crate) const AGENT_PASSWORD_FILE: &str = "/etc/convoy-agent/password";

/// The broker host named in the agent's configuration when the request does not tell one.
pub(crate) const BROKER_HOST_PLACEHOLDER: &str = "BROKER_HOST";

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(requires(Ability::Vehicles, routes!(rotate_password)))
        .routes(requires(Ability::Vehicles, routes!(disable)))
        .routes(requires(Ability::Vehicles, routes!(enable)))
        .layer(axum::middleware::map_response(count_refusal))
}

/// Counts a refusal of a vehicle route by its reason; a 400, 413 or 415 without one (the JSON
/// extractor's) as `bad_request`. Not a 401 or 403: those are no one's input about vehicles.
pub(crate) async fn count_refusal(
    metrics: Option<Extension<GatewayMetrics>>,
    response: Response,
) -> Response {
    let Some(Extension(metrics)) = metrics else { return response };
    let reason = RefusalReason::of(&response);
    if let Some(reason) = reason {
        metrics.vehicles_refused.with_label_values(&[reason]).inc();
    }
    response
}

/// The 404 of a vehicle that is not registered.
pub(crate) fn no_such_vehicle() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such vehicle").with_reason("unknown_vehicle")
}

/// What a vehicle's agent needs, beside its password.
#[derive(Serialize, ToSchema)]
pub(crate) struct AgentSetup {
    /// The agent's configuration file (TOML, `/etc/convoy-agent/agent.toml`): the vehicle id,
    /// the broker, and where the password is read from. The password itself is not in it (the
    /// agent reads it from `password_file`): write it there, alone, readable by the agent only.
    /// The broker's host is the one this request was sent to, or `BROKER_HOST` to fill in.
    agent_config: String,
    /// Where `agent_config` has the agent read its password.
    password_file: String,
}

impl AgentSetup {
    /// The configuration for `vehicle`'s agent, with the broker at `host` (the API's host as the
    /// request named it) and the embedded broker's port, or placeholders.
    pub(crate) fn new(state: &AppState, headers: &HeaderMap, vehicle: &VehicleId) -> AgentSetup {
        let host = request_host(headers).unwrap_or_else(|| BROKER_HOST_PLACEHOLDER.to_string());
        let (broker, ca_file) = match state.agent_broker {
            Some(AgentBroker { port, tls: true }) => {
                (format!("mqtts://{host}:{port}"), "ca_file = \"/etc/convoy-agent/ca.pem\"\n")
            }
            Some(AgentBroker { port, tls: false }) => (format!("mqtt://{host}:{port}"), ""),
            // An external broker: the server does not know where vehicles reach it.
            None => (
                format!("mqtts://{BROKER_HOST_PLACEHOLDER}:8883"),
                "ca_file = \"/etc/convoy-agent/ca.pem\"\n",
            ),
        };
        let agent_config = format!(
            "# convoy-agent configuration for vehicle {vehicle}, from Convoy (every key: deploy/convoy-agent.toml).\n\
             # Write the vehicle's password, alone, in password_file (readable by the agent only).\n\
             serial = \"/dev/ttyACM0\"\n\
             vehicle = \"{vehicle}\"\n\
             broker = \"{broker}\"\n\
             {ca_file}\
             password_file = \"{AGENT_PASSWORD_FILE}\"\n\
             spool = \"/var/lib/convoy-agent\"\n"
        );
        AgentSetup { agent_config, password_file: AGENT_PASSWORD_FILE.to_string() }
    }
}

/// Where vehicles reach the embedded broker: its TLS listener's port if it has one, else its
/// plain one. `None` with an external broker.
#[derive(Clone, Copy, Debug)]
pub struct AgentBroker {
    pub port: u16,
    pub tls: bool,
}

/// The host name of the request's `Host` header, without its port, if it is a plain name or
/// address (nothing that could break out of the TOML string it goes in).
fn request_host(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let name = if host.starts_with('[') { &host[..=host.find(']')?] } else { host.split(':').next()? };
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':');
    (!name.is_empty() && name.len() <= 253 && name.chars().all(plain)).then(|| name.to_string())
}

#[utoipa::path(
    post,
    path = "/api/v1/vehicles/{id}/password",
    tag = "vehicles",
    operation_id = "rotateVehiclePassword",
    summary = "Give a vehicle a new MQTT password, in this answer only, with its agent's configuration",
    description = "The old password stops working at once: the embedded broker refuses the vehicle's next connect with it (`bad_credentials` in `convoy_gateway_mqtt_refused_total`); a connection already open stays open until it ends. With an external broker, its password file must be made again. An unknown vehicle 404 `unknown_vehicle`. Recorded in the audit log (`vehicle.rotate_password`, without the password).",
    params(("id" = schemas::VehicleId, Path, description = "The vehicle's id.")),
    responses(
        (status = 200, description = "The new password and agent configuration, shown once.", body = VehicleCredentials),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn rotate_password(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    user.require(Ability::Vehicles)?;
    // An id that cannot be a vehicle's names no vehicle.
    let id = VehicleId::new(id).map_err(|_| no_such_vehicle())?;
    let password =
        convoy_registry::rotate_vehicle_password(&state.store, &id).await?.ok_or_else(no_such_vehicle)?;
    audit::record(&state, Some(&user.0.name), from, "vehicle.rotate_password", id.as_str(), json!({}))
        .await?;
    tracing::info!(vehicle = %id, by = %user.0.name, "vehicle password rotated");
    let setup = AgentSetup::new(&state, &headers, &id);
    Ok(Reply::ok(VehicleCredentials { id, password, setup }).into_response())
}

/// A vehicle after it was disabled or enabled.
#[derive(Serialize, ToSchema)]
pub(crate) struct VehicleState {
    #[schema(value_type = schemas::VehicleId)]
    id: VehicleId,
    /// Whether the vehicle is disabled now.
    disabled: bool,
    /// False when it already was (nothing changed).
    changed: bool,
}

/// Disables or enables `id` and records it; the answer.
async fn set_disabled(
    state: &AppState,
    user: &Authenticated,
    from: Option<std::net::IpAddr>,
    id: String,
    disabled: bool,
) -> Result<Reply<VehicleState>, ApiError> {
    user.require(Ability::Vehicles)?;
    let id = VehicleId::new(id).map_err(|_| no_such_vehicle())?;
    let before = state.store.set_vehicle_disabled(&id, disabled).await?.ok_or_else(no_such_vehicle)?;
    let changed = before != disabled;
    let action = if disabled { "vehicle.disable" } else { "vehicle.enable" };
    audit::record(state, Some(&user.0.name), from, action, id.as_str(), json!({ "changed": changed }))
        .await?;
    tracing::info!(vehicle = %id, by = %user.0.name, disabled, changed, "vehicle disabled or enabled");
    Ok(Reply::ok(VehicleState { id, disabled, changed }))
}

#[utoipa::path(
    post,
    path = "/api/v1/vehicles/{id}/disable",
    tag = "vehicles",
    operation_id = "disableVehicle",
    summary = "Disable a vehicle: it cannot log in to the broker, and a connected one is closed within 10 s",
    description = "Its positions and registration stay; enabling it lets its agent in again with its password. The embedded broker refuses its logins (`vehicle_disabled` in `convoy_gateway_mqtt_refused_total`, after the password is checked) and closes a connection of it within 10 s (counted the same). With an external broker, remove it from the broker's password file. Disabling a disabled vehicle changes nothing (200, `changed: false`). An unknown vehicle 404 `unknown_vehicle`. Recorded in the audit log (`vehicle.disable`).",
    params(("id" = schemas::VehicleId, Path, description = "The vehicle's id.")),
    responses(
        (status = 200, description = "The vehicle, disabled.", body = VehicleState),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn disable(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    Path(id): Path<String>,
) -> Result<Reply<VehicleState>, ApiError> {
    set_disabled(&state, &user, from, id, true).await
}

#[utoipa::path(
    post,
    path = "/api/v1/vehicles/{id}/enable",
    tag = "vehicles",
    operation_id = "enableVehicle",
    summary = "Enable a disabled vehicle: its agent may log in again with its password",
    description = "Enabling an enabled vehicle changes nothing (200, `changed: false`). An unknown vehicle 404 `unknown_vehicle`. Recorded in the audit log (`vehicle.enable`).",
    params(("id" = schemas::VehicleId, Path, description = "The vehicle's id.")),
    responses(
        (status = 200, description = "The vehicle, enabled.", body = VehicleState),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn enable(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    Path(id): Path<String>,
) -> Result<Reply<VehicleState>, ApiError> {
    set_disabled(&state, &user, from, id, false).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(value: &str) -> Option<String> {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, axum::http::HeaderValue::from_str(value).unwrap());
        request_host(&headers)
    }

    #[test]
    fn the_broker_host_is_the_requests_without_its_port_and_only_a_plain_one() {
        assert_eq!(host("convoy.example.com:8080").as_deref(), Some("convoy.example.com"));
        assert_eq!(host("10.0.0.5").as_deref(), Some("10.0.0.5"));
        assert_eq!(host("[::1]:8080").as_deref(), Some("[::1]"));
        assert_eq!(host("evil\"broker=\"x"), None, "nothing that breaks out of the TOML string");
        assert_eq!(host("a b"), None);
        assert_eq!(host(":8080"), None);
        assert_eq!(request_host(&HeaderMap::new()), None);
    }
}
