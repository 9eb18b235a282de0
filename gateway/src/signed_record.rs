//! The server's signed record, for admins and auditors: `GET /api/v1/server/keys`, the public
//! keys the server has signed with and from when (to check its signatures with, or compare with
//! the key obtained separately), and `GET /api/v1/retention/purges`, the signed destruction
//! record of each retention purge. Both read `Ability::Audit` (the record is the audit log's)
//! and are recorded in the audit log. A destruction record names vehicles and fix times, never
//! a place, so it needs no auditor delay.

use axum::extract::State;
use chrono::{DateTime, Utc};
use convoy_core::Ability;
use convoy_store::{DestructionRecord, ServerKeyRecord};
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit;
use crate::error::ApiError;
use crate::extract::{Authenticated, ClientAddr};
use crate::openapi::{requires, ServiceUnavailable};
use crate::reply::Reply;
use crate::schemas;
use crate::state::AppState;

/// The most destruction records one answer lists (the newest).
const PURGES_LISTED: u32 = 500;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(requires(Ability::Audit, routes!(server_keys)))
        .routes(requires(Ability::Audit, routes!(purges)))
}

/// A public key the server has signed with.
#[derive(Serialize, ToSchema)]
#[schema(as = ServerKey)]
pub(crate) struct ServerKeyView {
    /// 16 hex digits: the first 8 bytes of SHA-256 over the public key's bytes.
    key_id: String,
    /// `ed25519:` then the 32 bytes in base64.
    public_key: String,
    /// Signatures made from this time on may be by it.
    #[schema(value_type = schemas::Time)]
    valid_from: DateTime<Utc>,
}

impl From<ServerKeyRecord> for ServerKeyView {
    fn from(r: ServerKeyRecord) -> Self {
        ServerKeyView { key_id: r.key_id, public_key: r.public_key, valid_from: r.valid_from }
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ServerKeyList {
    /// The oldest first; the last is the one in use.
    keys: Vec<ServerKeyView>,
}

#[utoipa::path(
    get,
    path = "/api/v1/server/keys",
    tag = "audit",
    operation_id = "listServerKeys",
    summary = "The public keys the server signs its audit log heads and destruction records with, and from when",
    description = "Compare the last with the key published out of band (`convoy key show`). Recorded in the audit log (`server_keys.view`).",
    responses(
        (status = 200, description = "The keys.", body = ServerKeyList),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn server_keys(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
) -> Result<Reply<ServerKeyList>, ApiError> {
    user.require(Ability::Audit)?;
    audit::record(&state, Some(&user.0.name), from, "server_keys.view", "server_keys", json!({})).await?;
    let keys = state.store.server_keys().await?.into_iter().map(ServerKeyView::from).collect();
    Ok(Reply::ok(ServerKeyList { keys }))
}

/// A purge's signed destruction record.
#[derive(Serialize, ToSchema)]
#[schema(as = DestructionRecord)]
pub(crate) struct DestructionView {
    id: i64,
    /// When the purge ran.
    #[schema(value_type = schemas::Time)]
    at: DateTime<Utc>,
    /// The record's JSON text exactly as signed: the signature is over its UTF-8 bytes, for
    /// the purpose `convoy/destruction/v1`.
    signed_text: String,
    /// The same record, read: `retention_days`, `cutoff`, `deleted_from`, `deleted_to`,
    /// `positions_deleted`, `partitions_dropped`, `vehicles` (per vehicle: `positions`, `from`,
    /// `to`), `positions_held`, `held_by` (per hold: `positions`), `dead_letters_deleted`.
    #[schema(value_type = Object)]
    record: Value,
    /// The key that signed it (see `GET /api/v1/server/keys`).
    key_id: String,
    /// Ed25519, 64 bytes in base64.
    signature: String,
}

impl From<DestructionRecord> for DestructionView {
    fn from(r: DestructionRecord) -> Self {
        let record = serde_json::from_str(&r.record).unwrap_or(Value::Null);
        DestructionView {
            id: r.id,
            at: r.at,
            signed_text: r.record,
            record,
            key_id: r.key_id,
            signature: r.signature,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct PurgeList {
    /// The newest first, at most 500.
    purges: Vec<DestructionView>,
}

#[utoipa::path(
    get,
    path = "/api/v1/retention/purges",
    tag = "audit",
    operation_id = "listPurges",
    summary = "The signed destruction record of each retention purge: what was deleted, per vehicle, under which retention, what legal holds kept",
    description = "Recorded in the audit log (`purges.view`). `convoy audit verify` checks every signature.",
    responses(
        (status = 200, description = "The destruction records.", body = PurgeList),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn purges(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from): ClientAddr,
) -> Result<Reply<PurgeList>, ApiError> {
    user.require(Ability::Audit)?;
    audit::record(&state, Some(&user.0.name), from, "purges.view", "destruction_records", json!({})).await?;
    let purges = state
        .store
        .destruction_records(PURGES_LISTED)
        .await?
        .into_iter()
        .map(DestructionView::from)
        .collect();
    Ok(Reply::ok(PurgeList { purges }))
}
