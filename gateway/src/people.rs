//! People: who is logged in (`/me`), logout, the list of people, adding one, and who escorts
//! which move (`PUT /api/v1/moves/{id}/team`). Changing a person (role, disabling, passwords)
//! is [`crate::people_admin`]'s, which also counts the refusals of the admins' routes here.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use convoy_core::{Ability, Language, Role};
use convoy_store::Person;
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
    requires, signed_in, BadRequest, Conflict, NotFound, PayloadTooLarge, ServiceUnavailable,
    UnprocessableEntity, UnsupportedMediaType,
};
use crate::reply::Reply;
use crate::schemas;
use crate::state::AppState;
use crate::web::PageWeb;
use convoy_registry::{credentials, AddUserError};

/// The most people one move's team may have.
const MAX_TEAM: usize = 100;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(signed_in(routes!(logout)))
        .routes(signed_in(routes!(me)))
        .routes(requires(Ability::Plan, routes!(set_team)))
        .merge(
            OpenApiRouter::new()
                .routes(requires(Ability::Users, routes!(list_users, add_user)))
                .routes(requires(Ability::Users, routes!(revoke_tokens)))
                .layer(axum::middleware::map_response(crate::people_admin::count_refusal)),
        )
}

/// Who is logged in, what they may do, and the site's settings for the page.
#[derive(Serialize, ToSchema)]
pub(crate) struct Me {
    name: String,
    #[schema(value_type = schemas::Role)]
    role: Role,
    /// What the person's role may do (the page shows what they may use).
    #[schema(value_type = Vec<schemas::Ability>)]
    abilities: Vec<Ability>,
    /// The language the person chose for the page (`PUT /api/v1/me/language`); null if they
    /// never chose one (the page follows the browser's).
    #[schema(value_type = Option<schemas::Language>, required = true)]
    language: Option<Language>,
    web: PageWeb,
}

#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "people",
    operation_id = "me",
    summary = "Who is logged in, what they may do, and what the web page needs to know about the site",
    responses(
        (status = 200, description = "The user, their abilities, their language and the site's web settings.", body = Me),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn me(State(state): State<AppState>, user: Authenticated) -> Result<Reply<Me>, ApiError> {
    let abilities = user.0.role.abilities();
    let language = state.store.person_language(&user.0.name).await?;
    let web = PageWeb::of(&state.web, state.base_map.as_deref());
    Ok(Reply::ok(Me { name: user.0.name, role: user.0.role, abilities, language, web }))
}

/// Ends the token the request came with: it stops working at once, not when it expires.
#[utoipa::path(
    post,
    path = "/api/v1/logout",
    tag = "people",
    operation_id = "logout",
    summary = "Log out: the token of this request stops working at once",
    responses(
        (status = 204, description = "The token is revoked."),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn logout(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let token = crate::extract::bearer_token(&headers).unwrap_or_default();
    state.store.revoke_token(&credentials::token_hash(token)).await?;
    audit::record(&state, Some(&user.0.name), from, "logout", &user.0.name, json!({})).await?;
    tracing::info!(user = %user.0.name, "logged out");
    Ok(StatusCode::NO_CONTENT)
}

/// A person: their role, whether disabled, when added and when last logged in. Never a
/// password or its hash.
#[derive(Serialize, ToSchema)]
#[schema(as = User)]
pub(crate) struct UserView {
    #[schema(value_type = schemas::UserName)]
    name: String,
    #[schema(value_type = schemas::Role)]
    role: Role,
    /// A disabled person cannot log in and has no valid token.
    disabled: bool,
    #[schema(value_type = schemas::Time)]
    created_at: DateTime<Utc>,
    /// Their last successful login; null if none is recorded.
    #[schema(value_type = Option<schemas::Time>, required = true)]
    last_login_at: Option<DateTime<Utc>>,
}

impl From<Person> for UserView {
    fn from(p: Person) -> Self {
        UserView {
            name: p.name,
            role: p.role,
            disabled: p.disabled,
            created_at: p.created_at,
            last_login_at: p.last_login_at,
        }
    }
}

/// The person named `name` as the list shows them, if there is one.
pub(crate) async fn person_view(state: &AppState, name: &str) -> Result<Option<UserView>, ApiError> {
    let people = state.store.people().await?;
    Ok(people.into_iter().find(|p| p.name == name).map(UserView::from))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct UserList {
    users: Vec<UserView>,
}

#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "people",
    operation_id = "listUsers",
    summary = "Every user: their role, whether disabled, when added and last logged in",
    responses(
        (status = 200, description = "The users.", body = UserList),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn list_users(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
) -> Result<Reply<UserList>, ApiError> {
    user.require(Ability::Users)?;
    audit::record(&state, Some(&user.0.name), from, "users.view", "users", json!({})).await?;
    let users = state.store.people().await?.into_iter().map(UserView::from).collect();
    Ok(Reply::ok(UserList { users }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewUser {
    #[schema(value_type = schemas::UserName)]
    name: String,
    #[schema(value_type = schemas::Role)]
    role: Role,
    #[schema(format = Password, min_length = 12)]
    password: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/users",
    tag = "people",
    operation_id = "addUser",
    summary = "Add a user",
    description = "The password is stored only as an argon2id hash.",
    request_body = NewUser,
    responses(
        (status = 201, description = "The user was added.", body = UserView),
        (status = 400, response = BadRequest),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn add_user(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    ApiJson(new): ApiJson<NewUser>,
) -> Result<Reply<UserView>, ApiError> {
    user.require(Ability::Users)?;
    match convoy_registry::add_user(&state.store, &new.name, new.role, &new.password).await {
        Ok(()) => {
            let detail = json!({ "role": new.role });
            audit::record(&state, Some(&user.0.name), from, "user.add", &new.name, detail).await?;
            tracing::info!(user = %new.name, role = %new.role, by = %user.0.name, "user added");
            let added = person_view(&state, &new.name).await?;
            let added = added.ok_or_else(|| {
                ApiError::from(convoy_store::StoreError::Corrupt("a user just added is not listed".into()))
            })?;
            Ok(Reply::created(added))
        }
        Err(AddUserError::Store(convoy_store::StoreError::AlreadyExists(what))) => {
            Err(ApiError::new(StatusCode::CONFLICT, format!("{what} already exists"))
                .with_reason("already_exists"))
        }
        Err(AddUserError::Store(e)) => Err(e.into()),
        Err(e) => Err(ApiError::new(StatusCode::BAD_REQUEST, e.to_string()).with_reason(e.reason())),
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct RevokedTokens {
    /// How many tokens were ended.
    revoked: u64,
}

/// Ends every token of a person (a lost laptop, someone leaving): they must log in again.
#[utoipa::path(
    delete,
    path = "/api/v1/users/{name}/tokens",
    tag = "people",
    operation_id = "revokeUserTokens",
    summary = "End every token of a user (a lost laptop, someone leaving)",
    description = "The user must log in again.",
    params(("name" = schemas::UserName, Path, description = "The user's name.")),
    responses(
        (status = 200, description = "The tokens are revoked.", body = RevokedTokens),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn revoke_tokens(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    Path(name): Path<String>,
) -> Result<Reply<RevokedTokens>, ApiError> {
    user.require(Ability::Users)?;
    if state.store.user(&name).await?.is_none() {
        return Err(crate::people_admin::no_such_person());
    }
    let revoked = state.store.revoke_tokens_of(&name).await?;
    audit::record(
        &state,
        Some(&user.0.name),
        from,
        "user.revoke_tokens",
        &name,
        json!({ "revoked": revoked }),
    )
    .await?;
    tracing::info!(user = %name, revoked, by = %user.0.name, "tokens revoked");
    Ok(Reply::ok(RevokedTokens { revoked }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Team {
    #[schema(value_type = Vec<schemas::UserName>, max_items = 100)]
    users: Vec<String>,
}

/// A move's team as stored (sorted, without repeats).
#[derive(Serialize, ToSchema)]
pub(crate) struct TeamResult {
    #[serde(rename = "move")]
    move_id: String,
    /// The users escorting the move.
    team: Vec<String>,
}

#[utoipa::path(
    put,
    path = "/api/v1/moves/{id}/team",
    tag = "moves",
    operation_id = "setMoveTeam",
    summary = "Set who escorts a move (replaces the team)",
    description = "At most 100 people; every one must exist (else 422, naming them).",
    params(("id" = String, Path, description = "The move's id, e.g. `m20261128-3f9a1c0b7e21`.")),
    request_body = Team,
    responses(
        (status = 200, description = "The team as stored (sorted, without repeats).", body = TeamResult),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn set_team(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    Path(id): Path<String>,
    ApiJson(mut team): ApiJson<Team>,
) -> Result<Reply<TeamResult>, ApiError> {
    user.require(Ability::Plan)?;
    if team.users.len() > MAX_TEAM {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, format!("a team has at most {MAX_TEAM} people")));
    }
    if state.store.move_record(&id).await?.is_none() {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "no such move"));
    }
    team.users.sort();
    team.users.dedup();
    let mut unknown = Vec::new();
    for name in &team.users {
        if state.store.user(name).await?.is_none() {
            unknown.push(name.clone());
        }
    }
    if !unknown.is_empty() {
        // Names are echoed as JSON strings only, never as markup.
        let message = format!("no such users: {}", unknown.join(", "));
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message));
    }
    state.store.set_move_team(&id, &team.users).await?;
    audit::record(&state, Some(&user.0.name), from, "move.team", &id, json!({ "team": team.users })).await?;
    tracing::info!(move_id = %id, team = ?team.users, by = %user.0.name, "move team set");
    Ok(Reply::ok(TeamResult { move_id: id, team: team.users }))
}
