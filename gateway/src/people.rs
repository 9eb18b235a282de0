//! People: who is logged in (`/me`), logout, the list of people, adding one, and who escorts
//! which move (`PUT /api/v1/moves/{id}/team`).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use convoy_core::{Ability, Role};
use serde::Deserialize;
use serde_json::json;

use crate::audit;
use crate::error::ApiError;
use crate::extract::ClientAddr;
use crate::extract::{ApiJson, Authenticated};
use crate::state::AppState;
use convoy_registry::{credentials, AddUserError};

/// The most people one move's team may have.
const MAX_TEAM: usize = 100;

pub(crate) async fn me(State(state): State<AppState>, user: Authenticated) -> Json<serde_json::Value> {
    let abilities = user.0.role.abilities();
    Json(json!({ "name": user.0.name, "role": user.0.role, "abilities": abilities, "web": state.web }))
}

/// Ends the token the request came with: it stops working at once, not when it expires.
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

pub(crate) async fn list_users(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
) -> Result<Response, ApiError> {
    user.require(Ability::Users)?;
    audit::record(&state, Some(&user.0.name), from, "users.view", "users", json!({})).await?;
    let users: Vec<_> =
        state.store.users().await?.into_iter().map(|u| json!({ "name": u.name, "role": u.role })).collect();
    Ok(Json(json!({ "users": users })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewUser {
    name: String,
    role: Role,
    password: String,
}

pub(crate) async fn add_user(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    ApiJson(new): ApiJson<NewUser>,
) -> Result<Response, ApiError> {
    user.require(Ability::Users)?;
    match convoy_registry::add_user(&state.store, &new.name, new.role, &new.password).await {
        Ok(()) => {
            let detail = json!({ "role": new.role });
            audit::record(&state, Some(&user.0.name), from, "user.add", &new.name, detail).await?;
            tracing::info!(user = %new.name, role = %new.role, by = %user.0.name, "user added");
            Ok((StatusCode::CREATED, Json(json!({ "name": new.name, "role": new.role }))).into_response())
        }
        Err(AddUserError::Store(convoy_store::StoreError::AlreadyExists(what))) => {
            Err(ApiError::new(StatusCode::CONFLICT, format!("{what} already exists")))
        }
        Err(AddUserError::Store(e)) => Err(e.into()),
        Err(e) => Err(ApiError::new(StatusCode::BAD_REQUEST, e.to_string())),
    }
}

/// Ends every token of a person (a lost laptop, someone leaving): they must log in again.
pub(crate) async fn revoke_tokens(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    user.require(Ability::Users)?;
    if state.store.user(&name).await?.is_none() {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "no such user"));
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
    Ok(Json(json!({ "revoked": revoked })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Team {
    users: Vec<String>,
}

pub(crate) async fn set_team(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
    Path(id): Path<String>,
    ApiJson(mut team): ApiJson<Team>,
) -> Result<Response, ApiError> {
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
    Ok(Json(json!({ "move": id, "team": team.users })).into_response())
}
