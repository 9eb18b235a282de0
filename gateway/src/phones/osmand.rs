//! Traccar Client's reports (the OsmAnd protocol, <https://www.traccar.org/osmand/>) on their
//! own listener (`[phones] osmand_listen`, served by `listener::serve_osmand`).
//!
//! The app sends no password: the phone's secret is the last segment of the server URL it is
//! given (`convoy phone add-traccar ID --server-url URL` prints `URL/SECRET`). It reports as
//! - `GET` or `POST /{secret}?id=...&lat=...&lon=...&timestamp=...` (the query string),
//! - `POST /{secret}` with an `application/x-www-form-urlencoded` body (read after the query,
//!   so a parameter given in both is a repeated one), or
//! - `POST /{secret}` with `Content-Type: application/json` (Traccar Client 9 and later).
//!
//! The device id is `id`, `deviceid` or, in JSON, `device_id`; the phone registered under it
//! must have that secret (401 otherwise, as for no secret or an unknown id, and the same work
//! is spent on an unknown id as on a wrong secret). The fixes then pass the privacy rule and are
//! committed before the answer, `200` with an empty body. The app keeps every report not
//! answered 200 and sends it again later, so a failing store is answered 503 at once.
//!
//! A secret in a URL is weaker than one in a header: a proxy in front of Convoy, or its access
//! log, keeps URLs, and so may anything that logs the app's requests. Serve this listener over
//! TLS (`osmand_tls`), keep its path out of any access log (this listener logs no path, and no
//! request at all but at debug level, without its path), and rotate a secret by removing the
//! phone and adding it again (`convoy phone remove traccar ID`, `convoy phone add-traccar`).

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use convoy_core::phone::{osmand, MAX_PHONE_PAYLOAD_BYTES};
use convoy_store::DeviceKind;

use super::{keep, patiently, Refused, Source};
use crate::state::AppState;

const SOURCE: Source = Source::OsmAnd;

/// The app resends what was not answered 200: a failing store is not waited for.
const STORE_PATIENCE: std::time::Duration = std::time::Duration::ZERO;

/// The listener's whole application: every path is `/{secret}`.
pub(crate) fn router(state: AppState) -> axum::Router {
    axum::Router::new().fallback(report).with_state(state)
}

async fn report(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match handle(&state, &method, &uri, &headers, body).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(refused) => {
            tracing::debug!(status = refused.status().as_u16(), "OsmAnd report refused");
            refused.into_response()
        }
    }
}

async fn handle(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
) -> Result<(), Refused> {
    if method != Method::GET && method != Method::POST {
        let message = "only GET and POST are answered here";
        return Err(Refused::new(
            state,
            SOURCE,
            StatusCode::METHOD_NOT_ALLOWED,
            "unsupported_method",
            message,
        ));
    }
    let secret = uri
        .path()
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Refused::unauthorized(state, SOURCE, "no_credentials"))?;
    if headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
        .is_some_and(|length| length > MAX_PHONE_PAYLOAD_BYTES)
    {
        return Err(too_large(state));
    }
    let body = axum::body::to_bytes(body, MAX_PHONE_PAYLOAD_BYTES).await.map_err(|_| too_large(state))?;
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    let now = Utc::now();
    let decoded = match media.as_deref() {
        Some("application/json") => osmand::decode_json(&body, now),
        Some("application/x-www-form-urlencoded") if !body.is_empty() => {
            let form = std::str::from_utf8(&body).map_err(|_| {
                let message = "the form body is not UTF-8";
                Refused::new(state, SOURCE, StatusCode::BAD_REQUEST, "malformed", message)
            })?;
            match uri.query().filter(|q| !q.is_empty()) {
                Some(query) => osmand::decode_params(&format!("{query}&{form}"), now),
                None => osmand::decode_params(form, now),
            }
        }
        _ if !body.is_empty() => {
            let message = "the body must be application/x-www-form-urlencoded or application/json";
            return Err(Refused::new(
                state,
                SOURCE,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                message,
            ));
        }
        _ => osmand::decode_params(uri.query().unwrap_or_default(), now),
    };
    let report = decoded.map_err(|e| Refused::bad_report(state, SOURCE, &e))?;
    let device = patiently(state, SOURCE, STORE_PATIENCE, || {
        state.store.device(DeviceKind::Traccar, &report.device_id)
    })
    .await?;
    // An unknown id costs the same check as a wrong secret, and gets the same answer. A secret
    // is letters and digits (as the app sends them, unescaped), compared as it arrives.
    let device = match device {
        Some(device) if convoy_registry::verify_phone_secret(Some(&device), secret) => device,
        device => {
            if device.is_none() {
                let _ = convoy_registry::verify_phone_secret(None, secret);
            }
            return Err(Refused::unauthorized(state, SOURCE, "wrong_credentials"));
        }
    };
    keep(state, SOURCE, &device, report.fixes, STORE_PATIENCE).await?;
    Ok(())
}

fn too_large(state: &AppState) -> Refused {
    let message = format!("the report is larger than {MAX_PHONE_PAYLOAD_BYTES} bytes");
    Refused::new(state, SOURCE, StatusCode::PAYLOAD_TOO_LARGE, "too_large", message)
}
