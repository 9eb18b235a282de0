//! The registered phones, for admins (the web page's Phones view): `GET /api/v1/phones` lists
//! them (never a secret nor its hash), `POST /api/v1/phones` registers one as `convoy phone
//! add-owntracks` and `add-traccar` do (the same checks, through
//! `convoy_registry::register_phone`) and hands out its setup: the secret, shown this once, and
//! for OwnTracks the configuration (`.otrc`) and its import link, for Traccar Client the server
//! URL, each with a QR code; `DELETE /api/v1/phones/{kind}/{name}` removes one (its logins stop
//! working at once; its stored fixes stay). Each is recorded in the audit log.
//!
//! The endpoint a phone is given is checked before anything is registered: a refused request
//! changes nothing.

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use convoy_core::{Ability, VehicleId};
use convoy_registry::phones::{owntracks_configuration, OsmAndBase, OwnTracksEndpoint};
use convoy_registry::{register_phone, AddPhoneError, NewPhone};
use convoy_store::{Device, DeviceKind};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::setup::{owntracks_import_link, qr_svg};
use crate::audit;
use crate::error::ApiError;
use crate::extract::{ApiJson, Authenticated, ClientAddr};
use crate::openapi::{
    requires, BadRequest, Conflict, NotFound, PayloadTooLarge, ServiceUnavailable, UnprocessableEntity,
    UnsupportedMediaType,
};
use crate::reply::Reply;
use crate::schemas;
use crate::state::AppState;

/// The largest body `POST /api/v1/phones` reads: a few names and a URL.
pub(crate) const MAX_BODY_BYTES: usize = 16 * 1024;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(requires(Ability::Phones, routes!(list_phones, add_phone)))
        .routes(requires(Ability::Phones, routes!(remove_phone)))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// The app a phone reports through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum PhoneKind {
    /// OwnTracks, over MQTT or HTTP.
    Owntracks,
    /// Traccar Client (the OsmAnd protocol).
    Traccar,
}

impl From<DeviceKind> for PhoneKind {
    fn from(kind: DeviceKind) -> Self {
        match kind {
            DeviceKind::OwnTracks => PhoneKind::Owntracks,
            DeviceKind::Traccar => PhoneKind::Traccar,
        }
    }
}

impl From<PhoneKind> for DeviceKind {
    fn from(kind: PhoneKind) -> Self {
        match kind {
            PhoneKind::Owntracks => DeviceKind::OwnTracks,
            PhoneKind::Traccar => DeviceKind::Traccar,
        }
    }
}

/// A registered phone: never its secret, nor the secret's hash.
#[derive(Serialize, ToSchema)]
#[schema(as = Phone)]
pub(crate) struct PhoneView {
    kind: PhoneKind,
    /// The OwnTracks user name (the phone's login) or the Traccar device id.
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    name: String,
    /// OwnTracks only: the app's device id, the last level of its topic.
    #[schema(required = true)]
    device: Option<String>,
    /// The vehicle whose positions it reports.
    #[schema(value_type = schemas::VehicleId)]
    vehicle: VehicleId,
    /// The person whose phone it is (tracked only while a move they escort runs); null for a
    /// vehicle's own phone.
    #[schema(value_type = Option<schemas::UserName>, required = true)]
    person: Option<String>,
    #[schema(value_type = schemas::Time)]
    created_at: DateTime<Utc>,
}

impl From<Device> for PhoneView {
    fn from(device: Device) -> Self {
        PhoneView {
            kind: device.kind.into(),
            name: device.name,
            device: device.owntracks_device,
            vehicle: device.vehicle,
            person: device.person,
            created_at: device.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct PhoneList {
    /// By kind and name.
    phones: Vec<PhoneView>,
    /// Traccar Client's listener on this server (`[phones] osmand_listen`); null when it is off.
    #[schema(required = true)]
    traccar_listener: Option<super::TraccarListener>,
}

#[utoipa::path(
    get,
    path = "/api/v1/phones",
    tag = "phones",
    operation_id = "listPhones",
    summary = "Every registered phone, with the vehicle it reports for and whose it is",
    description = "No secret and no hash of one is ever shown. Recorded in the audit log.",
    responses(
        (status = 200, description = "The phones.", body = PhoneList),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn list_phones(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
) -> Result<Reply<PhoneList>, ApiError> {
    user.require(Ability::Phones)?;
    audit::record(&state, Some(&user.0.name), from, "phones.view", "phones", json!({})).await?;
    let phones = state.store.devices().await?.into_iter().map(PhoneView::from).collect();
    Ok(Reply::ok(PhoneList { phones, traccar_listener: state.traccar_listener }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewPhone)]
pub(crate) struct NewPhoneRequest {
    kind: PhoneKind,
    /// The OwnTracks user name (its login, one per phone; not a vehicle's id) or the device
    /// identifier Traccar Client shows.
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    name: String,
    /// OwnTracks: the app's device id, the last level of its topic (required). Traccar Client:
    /// none.
    #[serde(default)]
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    device: Option<String>,
    /// The registered vehicle whose positions it reports.
    #[schema(value_type = schemas::VehicleId)]
    vehicle: String,
    /// The person whose phone it is: then tracked only while a move they escort runs.
    #[serde(default)]
    #[schema(value_type = Option<schemas::UserName>)]
    person: Option<String>,
    /// Where the app reports. OwnTracks: `mqtt://HOST:PORT`, `mqtts://HOST:PORT`, or the
    /// `https://` (or `http://`) URL of `POST /api/v1/phones/owntracks`. Traccar Client: the
    /// base URL of its listener (`[phones] osmand_listen` as phones reach it), to which the
    /// secret is added as the last path segment.
    #[schema(max_length = 512, examples("https://convoy.example.com/api/v1/phones/owntracks"))]
    endpoint: String,
}

/// A phone just registered, and everything its owner needs to set the app up. It holds the
/// secret: hand it to the phone's owner only.
#[derive(Serialize, ToSchema)]
pub(crate) struct PhoneSetup {
    phone: PhoneView,
    /// The phone's secret, shown this once (only a hash of it is kept): OwnTracks' password, or
    /// the last segment of Traccar Client's server URL.
    secret: String,
    /// OwnTracks only: the app's configuration (an `.otrc` file's content) with the endpoint,
    /// login, secret, device and topic filled in.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>, nullable = false)]
    configuration: Option<serde_json::Value>,
    /// OwnTracks only: the configuration as a link the app opens
    /// (`owntracks:///config?inline=BASE64`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, pattern = "^owntracks:///config\\?inline=")]
    import_link: Option<String>,
    /// Traccar Client only: the server URL to enter in the app; it holds the secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    server_url: Option<String>,
    /// A QR code of the import link (OwnTracks) or of the server URL (Traccar Client), as an SVG
    /// image, for the phone's camera.
    qr_svg: String,
}

/// Where the app is told to report, checked before the phone is registered.
enum Endpoint {
    OwnTracks(OwnTracksEndpoint),
    Traccar(OsmAndBase),
}

#[utoipa::path(
    post,
    path = "/api/v1/phones",
    tag = "phones",
    operation_id = "addPhone",
    summary = "Register a phone to a vehicle; its secret and the app's setup are shown once",
    description = "The same checks as `convoy phone add-owntracks` and `add-traccar`: a name of 1 to 64 letters, digits, `.`, `_` or `-` (an OwnTracks user name may not be a vehicle's id), a registered vehicle, an existing person. Only a hash of the secret is kept. Recorded in the audit log.",
    request_body = NewPhoneRequest,
    responses(
        (status = 201, description = "The phone is registered; its setup, secret included, is shown this once.", body = PhoneSetup),
        (status = 400, response = BadRequest),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn add_phone(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    ApiJson(request): ApiJson<NewPhoneRequest>,
) -> Result<Reply<PhoneSetup>, ApiError> {
    user.require(Ability::Phones)?;
    let endpoint = match request.kind {
        PhoneKind::Owntracks => OwnTracksEndpoint::parse(&request.endpoint).map(Endpoint::OwnTracks),
        PhoneKind::Traccar => OsmAndBase::parse(&request.endpoint).map(Endpoint::Traccar),
    }
    .map_err(|e| bad_request(e.to_string(), "bad_endpoint"))?;
    if request.kind == PhoneKind::Traccar && request.device.is_some() {
        return Err(bad_request("a Traccar Client phone has no device id: leave it out".into(), "bad_name"));
    }
    let vehicle = VehicleId::new(request.vehicle).map_err(|e| bad_request(e.to_string(), "bad_name"))?;
    let phone = NewPhone {
        kind: request.kind.into(),
        name: request.name,
        owntracks_device: request.device,
        vehicle,
        person: request.person,
    };
    let (device, secret) = register_phone(&state.store, phone).await.map_err(refused)?;
    let detail = json!({ "kind": device.kind.as_str(), "vehicle": device.vehicle.as_str() });
    audit::record(&state, Some(&user.0.name), from, "phone.add", &device.source(), detail).await?;
    tracing::info!(phone = %device.source(), vehicle = %device.vehicle, by = %user.0.name, "phone registered");
    let (configuration, import_link, server_url, qr_text) = match endpoint {
        Endpoint::OwnTracks(endpoint) => {
            let configuration = owntracks_configuration(&device, &secret, &endpoint);
            let link = owntracks_import_link(&configuration);
            (Some(configuration), Some(link.clone()), None, link)
        }
        Endpoint::Traccar(base) => {
            let url = base.server_url(&secret);
            (None, None, Some(url.clone()), url)
        }
    };
    // Names and endpoints are bounded so that every setup fits a QR code (tested below).
    let qr_svg = qr_svg(&qr_text).ok_or_else(|| {
        tracing::error!(phone = %device.source(), "a phone's setup does not fit a QR code");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "the phone's setup does not fit a QR code")
    })?;
    Ok(Reply::created(PhoneSetup {
        phone: device.into(),
        secret,
        configuration,
        import_link,
        server_url,
        qr_svg,
    }))
}

#[utoipa::path(
    delete,
    path = "/api/v1/phones/{kind}/{name}",
    tag = "phones",
    operation_id = "removePhone",
    summary = "Remove a phone: its logins stop working at once; its stored fixes stay",
    description = "Recorded in the audit log.",
    params(
        ("kind" = PhoneKind, Path, description = "`owntracks` or `traccar`."),
        ("name" = String, Path, description = "The phone's name (OwnTracks user name or Traccar device id)."),
    ),
    responses(
        (status = 204, description = "The phone is removed."),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn remove_phone(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    Path((kind, name)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    user.require(Ability::Phones)?;
    let no_such_phone = || ApiError::new(StatusCode::NOT_FOUND, "no such phone");
    let kind = DeviceKind::parse(&kind).ok_or_else(no_such_phone)?;
    if !state.store.remove_device(kind, &name).await? {
        return Err(no_such_phone());
    }
    let target = format!("{}:{name}", kind.as_str());
    audit::record(&state, Some(&user.0.name), from, "phone.remove", &target, json!({})).await?;
    tracing::info!(phone = %target, by = %user.0.name, "phone removed");
    Ok(StatusCode::NO_CONTENT)
}

fn bad_request(message: String, reason: &'static str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message).with_reason(reason)
}

/// A registration the registry refused, answered as the API answers each kind of refusal: a
/// bad name 400, a vehicle or person that does not exist 422 (as for a move's), a name taken
/// 409.
fn refused(e: AddPhoneError) -> ApiError {
    let message = e.to_string();
    match e {
        AddPhoneError::BadName(_) => bad_request(message, "bad_name"),
        AddPhoneError::UnknownVehicle(_) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message).with_reason("unknown_vehicle")
        }
        AddPhoneError::UnknownPerson(_) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message).with_reason("unknown_person")
        }
        AddPhoneError::AlreadyExists { .. } => {
            ApiError::new(StatusCode::CONFLICT, message).with_reason("already_exists")
        }
        AddPhoneError::Store(e) => e.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use convoy_registry::phones::{MAX_ENDPOINT_BYTES, MAX_PHONE_NAME};

    /// The longest names and endpoints a request may give still make a setup that fits a QR
    /// code, so a phone is never registered without one.
    #[test]
    fn the_longest_setup_fits_a_qr_code() {
        let longest = |c: &str| c.repeat(MAX_PHONE_NAME);
        let device = Device {
            kind: DeviceKind::OwnTracks,
            name: longest("n"),
            owntracks_device: Some(longest("d")),
            vehicle: VehicleId::new(longest("v")).unwrap(),
            person: Some(longest("p")),
            secret_hash: String::new(),
            created_at: Utc::now(),
        };
        let secret = convoy_registry::credentials::random_password();
        let url = format!("https://convoy.example.com/{}", "u".repeat(MAX_ENDPOINT_BYTES - 27));
        // The longest DNS name.
        let host = "h".repeat(253);
        let endpoints =
            [&url, &format!("mqtts://{host}:65535")].map(|e| OwnTracksEndpoint::parse(e).unwrap());
        for endpoint in endpoints {
            let configuration = owntracks_configuration(&device, &secret, &endpoint);
            assert!(qr_svg(&owntracks_import_link(&configuration)).is_some(), "{endpoint:?}");
        }
        assert!(qr_svg(&OsmAndBase::parse(&url).unwrap().server_url(&secret)).is_some());
    }
}
