//! `POST /api/v1/phones/owntracks`: OwnTracks in HTTP mode
//! (<https://owntracks.org/booklet/tech/http/>), on the API's listener, HTTP or HTTPS alike.
//!
//! The app POSTs each message it would publish over MQTT, the same JSON, with HTTP Basic
//! authentication: the phone's OwnTracks user name and its secret (`convoy phone
//! add-owntracks`). It may name itself again in `X-Limit-U`/`X-Limit-D` or `?u=&d=` (what the
//! OwnTracks Recorder reads) and in the location's `topic`; whatever it names must be the
//! registered user name and device.
//!
//! The app takes ANY answer, a 5xx included, as "delivered", and sends the next message; only an
//! unreachable server makes it queue and resend. So the location is committed before anything
//! is answered, and a failing store is retried inside the request (with backoff, for
//! [`AppState::phone_store_patience`](crate::AppState::phone_store_patience), by default
//! [`STORE_PATIENCE`](super::STORE_PATIENCE), 60 s) before the answer is 503: past that the fix
//! is lost (the app does not send it again), and the refusal is counted (`store_unavailable`).
//!
//! A location is answered `200` with a JSON array: `[]`, or for a person's phone a
//! `setConfiguration` command putting the app in move mode (`monitoring: 2`) while the fix
//! falls within one of that person's moves, and in significant-changes mode (`1`) otherwise.
//! Never quiet mode (`-1`): over HTTP the server speaks only when the app sends something, and
//! an app in quiet mode sends nothing, so it could never be woken for the person's next move.

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use chrono::Utc;
use convoy_core::phone::owntracks::{self, Message};
use convoy_core::phone::MAX_PHONE_PAYLOAD_BYTES;
use convoy_store::{Device, DeviceKind};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{keep, patiently, Refused, Source};
use crate::openapi::{for_phones, BadRequest, PayloadTooLarge, ServiceUnavailable, Unauthorized};
use crate::state::AppState;

const SOURCE: Source = Source::OwnTracksHttp;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(for_phones(routes!(owntracks_report)))
}

/// A command to the app (`_type: cmd`).
#[derive(Serialize, ToSchema)]
pub(crate) struct PhoneCommand {
    /// Always `cmd`.
    #[serde(rename = "_type")]
    #[schema(rename = "_type", pattern = "^cmd$")]
    kind: &'static str,
    /// Always `setConfiguration`.
    #[schema(pattern = "^setConfiguration$")]
    action: &'static str,
    configuration: MonitoringConfiguration,
}

/// The part of the app's configuration Convoy sets.
#[derive(Serialize, ToSchema)]
pub(crate) struct MonitoringConfiguration {
    /// Always `configuration`.
    #[serde(rename = "_type")]
    #[schema(rename = "_type", pattern = "^configuration$")]
    kind: &'static str,
    /// 2: move mode (a fix every few seconds while moving); 1: significant changes only.
    #[schema(minimum = 1, maximum = 2)]
    monitoring: i32,
}

impl PhoneCommand {
    fn monitoring(mode: i32) -> Self {
        PhoneCommand {
            kind: "cmd",
            action: "setConfiguration",
            configuration: MonitoringConfiguration { kind: "configuration", monitoring: mode },
        }
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/phones/owntracks",
    tag = "phones",
    operation_id = "owntracksReport",
    summary = "A message of an OwnTracks app in HTTP mode",
    description = "The JSON the app would publish over MQTT (at most 64 KiB). A `location` is stored as the fix of the phone's vehicle before the answer (a failing store is retried for 60 s, then 503); other messages are accepted and not kept. A person's phone is tracked only within that person's running moves: a fix outside them is accepted, not stored, and counted. Refusals are counted in `convoy_gateway_phone_refused_total{source=\"owntracks_http\",reason}`.",
    params(
        ("u" = Option<String>, Query, description = "The OwnTracks user name, as the Recorder reads it; if given, the credentials' user."),
        ("d" = Option<String>, Query, description = "The app's device id; if given, the registered one."),
        ("X-Limit-U" = Option<String>, Header, description = "As `u`."),
        ("X-Limit-D" = Option<String>, Header, description = "As `d`."),
    ),
    request_body(content = Object, content_type = "application/json", description = "An OwnTracks message (`_type`: `location`, `transition`, `lwt`...)."),
    responses(
        (
            status = 200,
            description = "Stored (or not kept: another message, or a person's phone outside their moves). For a person's phone, a command setting the app's monitoring mode.",
            body = Vec<PhoneCommand>,
        ),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 413, response = PayloadTooLarge),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn owntracks_report(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match report(&state, query.as_deref(), &headers, body).await {
        Ok(commands) => Json(commands).into_response(),
        Err(refused) => {
            tracing::debug!(status = refused.status().as_u16(), "OwnTracks report refused");
            refused.into_response()
        }
    }
}

async fn report(
    state: &AppState,
    query: Option<&str>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Vec<PhoneCommand>, Refused> {
    let (user, secret) =
        basic_credentials(headers).ok_or_else(|| Refused::unauthorized(state, SOURCE, "no_credentials"))?;
    let device = authenticate(state, &user, &secret).await?;
    let named = Named::of(query, headers);
    if !named.matches(&device) {
        return Err(mismatch(state));
    }
    if headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
        .is_some_and(|length| length > MAX_PHONE_PAYLOAD_BYTES)
    {
        return Err(too_large(state));
    }
    let body = axum::body::to_bytes(body, MAX_PHONE_PAYLOAD_BYTES).await.map_err(|_| too_large(state))?;
    let location = match owntracks::decode(&body, Utc::now()) {
        Ok(Message::Location(location)) => location,
        // A transition, its last will, a card, a waypoint: accepted, nothing kept.
        Ok(Message::Other { .. }) => return Ok(Vec::new()),
        Err(e) => return Err(Refused::bad_report(state, SOURCE, &e)),
    };
    if let Some(topic) = &location.topic {
        let ours = owntracks::parse_topic(topic)
            .is_some_and(|(u, d)| u == device.name && Some(d) == device.owntracks_device.as_deref());
        if !ours {
            return Err(mismatch(state));
        }
    }
    let kept = keep(state, SOURCE, &device, vec![location.fix], state.phone_store_patience).await?;
    if device.person.is_none() {
        return Ok(Vec::new());
    }
    // Move mode while the person is on a move; significant changes otherwise, so the app keeps
    // reporting now and then and hears of the next move (never quiet mode: see the module's
    // documentation).
    Ok(vec![PhoneCommand::monitoring(if kept.stored > 0 { 2 } else { 1 })])
}

/// The phone registered under `user` whose secret is `secret`. An unknown user costs the same
/// check as a wrong secret, and gets the same answer.
async fn authenticate(state: &AppState, user: &str, secret: &str) -> Result<Device, Refused> {
    let device = if convoy_registry::phones::valid_phone_name(user) {
        patiently(state, SOURCE, state.phone_store_patience, || {
            state.store.device(DeviceKind::OwnTracks, user)
        })
        .await?
    } else {
        None
    };
    if convoy_registry::verify_phone_secret(device.as_ref(), secret) {
        if let Some(device) = device {
            return Ok(device);
        }
    }
    Err(Refused::unauthorized(state, SOURCE, "wrong_credentials"))
}

fn mismatch(state: &AppState) -> Refused {
    let message = "the request names another OwnTracks user or device than the phone's registration";
    Refused::new(state, SOURCE, StatusCode::BAD_REQUEST, "device_mismatch", message)
}

fn too_large(state: &AppState) -> Refused {
    let message = format!("the body is larger than {MAX_PHONE_PAYLOAD_BYTES} bytes");
    Refused::new(state, SOURCE, StatusCode::PAYLOAD_TOO_LARGE, "too_large", message)
}

/// The user name and password of an `Authorization: Basic` header.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let (user, password) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// The user and device a request names besides its credentials, each at most once.
#[derive(Debug, Default, PartialEq)]
struct Named {
    users: Vec<String>,
    devices: Vec<String>,
}

impl Named {
    fn of(query: Option<&str>, headers: &HeaderMap) -> Self {
        let mut named = Named::default();
        for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            match key.as_ref() {
                "u" => named.users.push(value.into_owned()),
                "d" => named.devices.push(value.into_owned()),
                _ => {}
            }
        }
        // A header that is not text names something that cannot match.
        let text = |v: &axum::http::HeaderValue| {
            v.to_str().map(str::to_string).unwrap_or_else(|_| "\u{fffd}".into())
        };
        named.users.extend(headers.get_all("x-limit-u").iter().map(text));
        named.devices.extend(headers.get_all("x-limit-d").iter().map(text));
        named
    }

    fn matches(&self, device: &Device) -> bool {
        self.users.iter().all(|u| *u == device.name)
            && self.devices.iter().all(|d| Some(d.as_str()) == device.owntracks_device.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn basic_credentials_are_read_from_the_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(basic_credentials(&headers), None);
        // "anna:s3cr:et" (a colon in the password stays in it).
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic YW5uYTpzM2NyOmV0"));
        assert_eq!(basic_credentials(&headers), Some(("anna".into(), "s3cr:et".into())));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer YW5uYTpzM2NyOmV0"));
        assert_eq!(basic_credentials(&headers), None);
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic not base64!"));
        assert_eq!(basic_credentials(&headers), None);
    }

    #[test]
    fn the_user_and_device_may_be_named_in_the_query_or_headers() {
        let device = Device {
            kind: DeviceKind::OwnTracks,
            name: "anna".into(),
            owntracks_device: Some("pixel".into()),
            vehicle: convoy_core::VehicleId::new("escort-1").unwrap(),
            person: None,
            secret_hash: String::new(),
            created_at: Utc::now(),
        };
        let none = HeaderMap::new();
        assert!(Named::of(None, &none).matches(&device));
        assert!(Named::of(Some("u=anna&d=pixel"), &none).matches(&device));
        assert!(!Named::of(Some("u=anna&d=other"), &none).matches(&device));
        assert!(!Named::of(Some("u=anna&u=bob"), &none).matches(&device));
        let mut headers = HeaderMap::new();
        headers.insert("x-limit-u", HeaderValue::from_static("anna"));
        headers.insert("x-limit-d", HeaderValue::from_static("pixel"));
        assert!(Named::of(None, &headers).matches(&device));
        headers.insert("x-limit-d", HeaderValue::from_static("iphone"));
        assert!(!Named::of(None, &headers).matches(&device));
    }
}
