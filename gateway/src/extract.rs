//! What handlers take from a request besides the state: who is asking ([`Authenticated`]), from
//! which address ([`ClientAddr`]), and a JSON body whose rejection is already the API's error
//! ([`ApiJson`]), and a query whose rejection is too ([`ApiQuery`]).

use std::net::{IpAddr, SocketAddr};

use axum::extract::rejection::JsonRejection;
use axum::extract::Query;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::Json;
use convoy_core::Ability;
use convoy_store::User;

use crate::error::ApiError;
use crate::state::AppState;

/// A request made with a valid bearer token.
pub struct Authenticated(pub User);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer_token(&parts.headers)
            .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "missing bearer token"))?;
        match convoy_registry::authenticate(&state.store, token).await? {
            Some(user) => Ok(Authenticated(user)),
            None => Err(ApiError::new(StatusCode::UNAUTHORIZED, "invalid or expired token")),
        }
    }
}

/// The token of an `Authorization: Bearer TOKEN` header.
pub(crate) fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    Some(value.strip_prefix("Bearer ")?.trim())
}

impl Authenticated {
    /// Refuses (403) a person whose role may not do `ability` ([`Ability::roles`]).
    pub(crate) fn require(&self, ability: Ability) -> Result<(), ApiError> {
        if self.0.role.may(ability) {
            Ok(())
        } else {
            Err(ApiError::new(StatusCode::FORBIDDEN, format!("role {} may not do this", self.0.role)))
        }
    }
}

/// The address of the client that made the request: the TCP peer's, or, when the peer is one of
/// `[http] trusted_proxies`, the client its `X-Forwarded-For` names ([`crate::forwarded`]);
/// never a header from anyone else, who could write anything. `None` where the server was not
/// started with connection info (a router called directly, as in unit tests).
pub(crate) struct ClientAddr(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() else {
            return Ok(ClientAddr(None));
        };
        let proxies = &state.http.trusted_proxies;
        if proxies.is_empty() && peer.ip().is_loopback() && parts.headers.contains_key("x-forwarded-for") {
            warn_of_an_untrusted_local_proxy();
        }
        Ok(ClientAddr(Some(proxies.client_address(peer.ip(), &parts.headers))))
    }
}

/// A proxy on this host whose forwarded addresses are ignored makes every client look like
/// 127.0.0.1: said once, since it is the configuration's doing, not a request's.
fn warn_of_an_untrusted_local_proxy() {
    static WARNED: std::sync::Once = std::sync::Once::new();
    WARNED.call_once(|| {
        tracing::warn!(
            "requests from 127.0.0.1 carry X-Forwarded-For, but [http] trusted_proxies is empty: every \
             client of that proxy shares one address in the audit log and the login throttle"
        )
    });
}

/// A JSON body: malformed JSON or a missing field is a 400 that says what is wrong, a body
/// over the route's limit a 413 and a content type other than JSON a 415, before the handler
/// runs.
pub(crate) struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            // A body over the route's limit (`DefaultBodyLimit`) was not read: 413, as such.
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, e.body_text()).with_reason("too_large"))
            }
            // Not said to be JSON: 415, as every route reading JSON documents (a 400 would tell
            // the caller to fix a body that may be right).
            Err(e) if e.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                Err(ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, e.body_text()))
            }
            Err(e) => Err(ApiError::new(StatusCode::BAD_REQUEST, e.body_text())),
        }
    }
}

/// A query string: one that does not parse (a time that is not RFC 3339, a number that is not
/// one) is a 400 with the reason `bad_query`, before the handler runs.
pub(crate) struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        api_query(&parts.uri).map(ApiQuery)
    }
}

/// The query string of `uri` as [`ApiQuery`] reads it (also what the fuzz target `live_client`
/// runs).
pub(crate) fn api_query<T: serde::de::DeserializeOwned>(uri: &axum::http::Uri) -> Result<T, ApiError> {
    match Query::<T>::try_from_uri(uri) {
        Ok(Query(value)) => Ok(value),
        Err(e) => Err(ApiError::new(StatusCode::BAD_REQUEST, e.body_text()).with_reason("bad_query")),
    }
}

/// An optional RFC 3339 time from a query parameter named `name`: 400 `bad_time` with an
/// example when it is given and is not one.
pub(crate) fn query_time(
    text: Option<String>,
    name: &str,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, ApiError> {
    text.map(|text| {
        chrono::DateTime::parse_from_rfc3339(&text).map(|t| t.with_timezone(&chrono::Utc)).map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("{name} must be an RFC 3339 time, e.g. 2026-12-07T09:00:00Z"),
            )
            .with_reason("bad_time")
        })
    })
    .transpose()
}
