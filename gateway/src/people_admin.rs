//! Changing people: an admin changes a person's role, disables and enables them, and resets
//! their password (`/api/v1/users/{name}/...`); anyone changes their own password
//! (`PUT /api/v1/me/password`).
//!
//! - A disabled person cannot log in (refused as a wrong password is), and their tokens end in
//!   the transaction that disables them, so their requests are refused at once and an open live
//!   feed closes at its next check of its token (within 10 s).
//! - A reset gives a random password, in the answer only; every session of the person ends.
//!   Changing one's own password needs the current one (a wrong one counts as a failed login
//!   in the throttle and the audit log) and ends every other session of the person: whoever
//!   changes it is at this page, and a password is changed because another may know it.
//! - No change may leave no enabled admin (409 `last_admin`): the store decides it with the
//!   admins locked ([`convoy_store::Store::change_person`]), so two at once cannot both pass.
//! - Every refusal of these routes (and of the list, adding and ending tokens) is counted by
//!   reason in `convoy_gateway_people_refused_total`; every change is in the audit log, never
//!   with a password.

use std::time::Instant;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use convoy_core::{Ability, Language, Role};
use convoy_registry::{credentials, AddUserError};
use convoy_store::{PersonChange, PersonChanged};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit;
use crate::error::{ApiError, RefusalReason};
use crate::extract::{ApiJson, Authenticated, ClientAddr};
use crate::login_audit::{self, Refusal};
use crate::metrics::GatewayMetrics;
use crate::openapi::{
    requires, signed_in, BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, ServiceUnavailable,
    TooManyRequests, UnsupportedMediaType,
};
use crate::people::{person_view, UserView};
use crate::reply::Reply;
use crate::schemas;
use crate::state::AppState;

/// Every reason a people request is refused with, each counted from the start.
pub(crate) const PEOPLE_REFUSAL_REASONS: &[&str] = &[
    // The body or path as such: not JSON, a missing field, too large, a NUL byte.
    "bad_request",
    "too_large",
    "refused_value",
    // Adding a person.
    "bad_name",
    "already_exists",
    // A new password (adding a person, changing one's own).
    "weak_password",
    "password_too_long",
    // Changing a person.
    "unknown_person",
    "bad_role",
    "last_admin",
    // Changing one's own password.
    "wrong_password",
    "throttled",
    // Choosing one's language: anything but `en` or `zh-CN`.
    "unknown_language",
];

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(requires(Ability::Users, routes!(set_role)))
        .routes(requires(Ability::Users, routes!(disable)))
        .routes(requires(Ability::Users, routes!(enable)))
        .routes(requires(Ability::Users, routes!(reset_password)))
        .routes(signed_in(routes!(change_own_password)))
        .routes(signed_in(routes!(set_own_language)))
        .layer(axum::middleware::map_response(count_refusal))
}

/// Counts a refusal of a people route by its reason; a 400, 413 or 415 without one (the JSON
/// extractor's) as `bad_request`. Not a 401 or 403: those are no one's input about people.
pub(crate) async fn count_refusal(
    metrics: Option<Extension<GatewayMetrics>>,
    response: Response,
) -> Response {
    let Some(Extension(metrics)) = metrics else { return response };
    let reason = RefusalReason::of(&response);
    if let Some(reason) = reason {
        metrics.people_refused.with_label_values(&[reason]).inc();
    }
    response
}

/// The 404 of a person who does not exist.
pub(crate) fn no_such_person() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such user").with_reason("unknown_person")
}

fn last_admin() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "this would leave no enabled admin: make another person admin (or enable one) first",
    )
    .with_reason("last_admin")
}

/// A person after a change, and how many of their tokens it ended.
#[derive(Serialize, ToSchema)]
pub(crate) struct UserChanged {
    user: UserView,
    /// How many of the person's tokens (sessions) ended with the change.
    revoked: u64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RoleRequest {
    /// The new role; another word is refused with 400 `bad_role`.
    #[schema(value_type = schemas::Role)]
    role: String,
}

/// Applies `change` to `name` and answers the person after it, or the refusal.
async fn change(
    state: &AppState,
    name: &str,
    change: &PersonChange,
) -> Result<(UserView, u64, Role), ApiError> {
    match state.store.change_person(name, change).await? {
        PersonChanged::Changed { before, revoked } => {
            let view = person_view(state, name).await?.ok_or_else(no_such_person)?;
            Ok((view, revoked, before.role))
        }
        PersonChanged::NoSuchPerson => Err(no_such_person()),
        PersonChanged::LastAdmin => Err(last_admin()),
    }
}

#[utoipa::path(
    put,
    path = "/api/v1/users/{name}/role",
    tag = "people",
    operation_id = "setUserRole",
    summary = "Change a user's role",
    description = "Takes effect at the person's next request (an open live feed within 10 s); their sessions stay. Demoting the last enabled admin is refused with 409 `last_admin`; an unknown role 400 `bad_role`; an unknown person 404 `unknown_person`. Recorded in the audit log (`user.role`, with the role before and after).",
    params(("name" = schemas::UserName, Path, description = "The user's name.")),
    request_body = RoleRequest,
    responses(
        (status = 200, description = "The user with their new role.", body = UserChanged),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn set_role(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    Path(name): Path<String>,
    ApiJson(request): ApiJson<RoleRequest>,
) -> Result<Reply<UserChanged>, ApiError> {
    user.require(Ability::Users)?;
    let role: Role = request.role.parse().map_err(|_| {
        let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        ApiError::new(StatusCode::BAD_REQUEST, format!("no such role; one of {}", roles.join(", ")))
            .with_reason("bad_role")
    })?;
    let (view, revoked, before) = change(&state, &name, &PersonChange::Role(role)).await?;
    let detail = json!({ "from": before, "to": role });
    audit::record(&state, Some(&user.0.name), from, "user.role", &name, detail).await?;
    tracing::info!(user = %name, from = %before, to = %role, by = %user.0.name, "role changed");
    Ok(Reply::ok(UserChanged { user: view, revoked }))
}

#[utoipa::path(
    post,
    path = "/api/v1/users/{name}/disable",
    tag = "people",
    operation_id = "disableUser",
    summary = "Disable a user: they cannot log in, and every token of theirs ends at once",
    description = "An open live feed of theirs closes within 10 s. The person and their history stay; enabling them lets them log in again with their password. Disabling the last enabled admin is refused with 409 `last_admin`; an unknown person 404 `unknown_person`. Recorded in the audit log (`user.disable`).",
    params(("name" = schemas::UserName, Path, description = "The user's name.")),
    responses(
        (status = 200, description = "The user, disabled, and how many tokens ended.", body = UserChanged),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn disable(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    Path(name): Path<String>,
) -> Result<Reply<UserChanged>, ApiError> {
    user.require(Ability::Users)?;
    let (view, revoked, _) = change(&state, &name, &PersonChange::Disabled(true)).await?;
    audit::record(&state, Some(&user.0.name), from, "user.disable", &name, json!({ "revoked": revoked }))
        .await?;
    tracing::info!(user = %name, revoked, by = %user.0.name, "user disabled");
    Ok(Reply::ok(UserChanged { user: view, revoked }))
}

#[utoipa::path(
    post,
    path = "/api/v1/users/{name}/enable",
    tag = "people",
    operation_id = "enableUser",
    summary = "Enable a disabled user: they may log in again with their password",
    description = "An unknown person 404 `unknown_person`. Recorded in the audit log (`user.enable`).",
    params(("name" = schemas::UserName, Path, description = "The user's name.")),
    responses(
        (status = 200, description = "The user, enabled.", body = UserChanged),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn enable(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    Path(name): Path<String>,
) -> Result<Reply<UserChanged>, ApiError> {
    user.require(Ability::Users)?;
    let (view, revoked, _) = change(&state, &name, &PersonChange::Disabled(false)).await?;
    audit::record(&state, Some(&user.0.name), from, "user.enable", &name, json!({})).await?;
    tracing::info!(user = %name, by = %user.0.name, "user enabled");
    Ok(Reply::ok(UserChanged { user: view, revoked }))
}

/// A new password, shown once.
#[derive(Serialize, ToSchema)]
pub(crate) struct PasswordReset {
    #[schema(value_type = schemas::UserName)]
    name: String,
    /// The new password (24 letters and digits): shown here only, never again.
    #[schema(format = Password)]
    password: String,
    /// How many of the person's tokens (sessions) ended.
    revoked: u64,
}

#[utoipa::path(
    post,
    path = "/api/v1/users/{name}/password",
    tag = "people",
    operation_id = "resetUserPassword",
    summary = "Reset a user's password: a new random one, in this answer only",
    description = "The old password stops working and every session of the person ends. An unknown person 404 `unknown_person`. Recorded in the audit log (`user.reset_password`, without the password).",
    params(("name" = schemas::UserName, Path, description = "The user's name.")),
    responses(
        (status = 200, description = "The new password, shown once.", body = PasswordReset),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn reset_password(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    user.require(Ability::Users)?;
    let reset = {
        let _turn = credentials::password_check_turn().await;
        convoy_registry::reset_password(&state.store, &name).await?
    };
    let Some((password, revoked)) = reset else { return Err(no_such_person()) };
    audit::record(
        &state,
        Some(&user.0.name),
        from,
        "user.reset_password",
        &name,
        json!({ "revoked": revoked }),
    )
    .await?;
    tracing::info!(user = %name, revoked, by = %user.0.name, "password reset");
    Ok(Reply::ok(PasswordReset { name, password, revoked }).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordChange {
    /// The password now.
    #[schema(format = Password)]
    current: String,
    /// The new one: at least 12 characters and at most 1,024 bytes, as when adding a person.
    #[schema(format = Password, min_length = 12)]
    new: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct PasswordChanged {
    /// How many other sessions of the person ended (this one stays).
    revoked: u64,
}

#[utoipa::path(
    put,
    path = "/api/v1/me/password",
    tag = "people",
    operation_id = "changeOwnPassword",
    summary = "Change my own password (the current one required); my other sessions end",
    description = "The token of this request stays valid; every other token of the person ends. A wrong current password is refused with 403 `wrong_password` and counts as a failed login of the name from this address in the login throttle (after 10, 429 `throttled` with `Retry-After`) and the audit log (`login.failed`); a new password under 12 characters 400 `weak_password`, over 1,024 bytes 400 `password_too_long`. Recorded in the audit log (`me.password`, without the passwords).",
    request_body = PasswordChange,
    responses(
        (status = 200, description = "Changed.", body = PasswordChanged),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 429, response = TooManyRequests),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn change_own_password(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    headers: HeaderMap,
    ApiJson(request): ApiJson<PasswordChange>,
) -> Result<Reply<PasswordChanged>, Response> {
    let name = user.0.name.clone();
    // The new password is checked first: a refusal for it tells nothing about the current one.
    if let Err(e) = convoy_registry::people::check_password(&request.new) {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, e.to_string())
            .with_reason(e.reason())
            .into_response());
    }
    let attempt = match state.login_throttle.begin(&name, from, Instant::now()) {
        Ok(attempt) => attempt,
        Err(held) => {
            let wait_s = held.retry_after.as_secs_f64().ceil().max(1.0) as u64;
            let message = format!("too many failed attempts; try again in {wait_s} s");
            let mut response = ApiError::new(StatusCode::TOO_MANY_REQUESTS, message)
                .with_reason("throttled")
                .into_response();
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait_s));
            return Err(response);
        }
    };
    if !attempt.delay.is_zero() {
        tokio::time::sleep(attempt.delay).await;
    }
    let token = crate::extract::bearer_token(&headers).unwrap_or_default().to_string();
    let outcome = {
        let _turn = credentials::password_check_turn().await;
        let right = convoy_registry::password_is_right(&state.store, &name, &request.current)
            .await
            .map_err(|e| ApiError::from(e).into_response())?;
        if right {
            Some(convoy_registry::set_password(&state.store, &name, &request.new, Some(&token)).await)
        } else {
            None
        }
    };
    let revoked = match outcome {
        None => {
            attempt.failed(Instant::now());
            tracing::warn!(user = %name, "own password change refused: wrong current password");
            let detail = json!({ "during": "password_change" });
            login_audit::record(&state, Refusal::Failed, from, &name, detail)
                .await
                .map_err(|e| e.into_response())?;
            let error = ApiError::new(StatusCode::FORBIDDEN, "the current password is wrong");
            return Err(error.with_reason("wrong_password").into_response());
        }
        Some(Ok(PersonChanged::Changed { revoked, .. })) => {
            attempt.succeeded(Instant::now());
            revoked
        }
        // The person was removed under the request: their token is no longer valid either.
        Some(Ok(_)) => {
            return Err(ApiError::new(StatusCode::UNAUTHORIZED, "invalid or expired token").into_response())
        }
        Some(Err(AddUserError::Store(e))) => return Err(ApiError::from(e).into_response()),
        Some(Err(e)) => {
            return Err(ApiError::new(StatusCode::BAD_REQUEST, e.to_string())
                .with_reason(e.reason())
                .into_response())
        }
    };
    audit::record(&state, Some(&name), from, "me.password", &name, json!({ "revoked": revoked }))
        .await
        .map_err(|e| e.into_response())?;
    tracing::info!(user = %name, revoked, "own password changed");
    Ok(Reply::ok(PasswordChanged { revoked }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LanguageChoice {
    /// `en` or `zh-CN`. Read as any JSON value, so that a wrong one (a number, null, `fr`) is
    /// refused by its reason, `unknown_language`, not as a malformed body.
    #[schema(value_type = schemas::Language)]
    language: serde_json::Value,
}

#[utoipa::path(
    put,
    path = "/api/v1/me/language",
    tag = "people",
    operation_id = "setOwnLanguage",
    summary = "Save the language the web page speaks to me (`en` or `zh-CN`)",
    description = "Kept on the person and returned by `GET /api/v1/me` as `language` from then on, at every login. Anything but `en` or `zh-CN` is refused with 400 `unknown_language`. Recorded in the audit log (`person.language`).",
    request_body = LanguageChoice,
    responses(
        (status = 204, description = "Saved."),
        (status = 400, response = BadRequest),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn set_own_language(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    ApiJson(request): ApiJson<LanguageChoice>,
) -> Result<StatusCode, ApiError> {
    let Some(language) = request.language.as_str().and_then(|l| Language::parse(l).ok()) else {
        let error = ApiError::new(StatusCode::BAD_REQUEST, "unknown language; expected \"en\" or \"zh-CN\"");
        return Err(error.with_reason("unknown_language"));
    };
    let name = &user.0.name;
    // The person was removed under the request: their token is no longer valid either.
    if !state.store.set_person_language(name, language).await? {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "invalid or expired token"));
    }
    audit::record(&state, Some(name), from, "person.language", name, json!({ "language": language })).await?;
    tracing::info!(user = %name, %language, "language chosen");
    Ok(StatusCode::NO_CONTENT)
}
