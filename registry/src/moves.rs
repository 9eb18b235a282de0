//! Moves: a checked plan stored as a new move, from the CLI or the API alike.

use chrono::{SubsecRound, Utc};
use convoy_core::plan::MovePlan;
use convoy_store::{MoveRecord, Store, StoreError};
use rand::Rng;

/// Why a checked plan could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum NewMoveError {
    #[error("vehicles not registered: {}", .0.join(", "))]
    UnknownVehicles(Vec<String>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Stores a checked plan as a new move, if all its vehicles are registered.
pub async fn store_new_move(
    store: &Store,
    plan: &MovePlan,
    created_by: &str,
) -> Result<MoveRecord, NewMoveError> {
    let registered = store.registered_among(&plan.vehicles).await?;
    let unknown: Vec<String> =
        plan.vehicles.iter().filter(|v| !registered.contains(v)).map(|v| v.to_string()).collect();
    if !unknown.is_empty() {
        return Err(NewMoveError::UnknownVehicles(unknown));
    }
    let record = MoveRecord {
        id: new_move_id(),
        name: plan.name.clone(),
        plan: plan.to_json(),
        created_at: Utc::now().trunc_subsecs(3),
        created_by: created_by.to_string(),
        version: 1,
        end: None,
    };
    store.add_move(&record).await?;
    tracing::info!(move_id = %record.id, name = %record.name, by = created_by, "move created");
    Ok(record)
}

/// A new move id: the day it was made and 48 random bits, e.g. `m20261128-3f9a1c0b7e21`.
fn new_move_id() -> String {
    let random: u64 = rand::rngs::OsRng.gen::<u64>() & 0xffff_ffff_ffff;
    format!("m{}-{random:012x}", Utc::now().format("%Y%m%d"))
}
