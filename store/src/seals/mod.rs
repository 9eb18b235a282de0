//! Seal checkpoints (custody): a move's sealed items (box or container, seal number, what it
//! holds, sensitivity, the vehicle carrying it) and the checkpoints where people saw them
//! intact, broken or missing, with who, when and the vehicle's latest stored fix then.
//!
//! The list of seals is replaced whole, in one transaction; a seal that a checkpoint names is
//! never removed ([`SealsReplaced::HasCheckpoints`]). Checkpoints are evidence: added, never
//! changed or removed (the tables' triggers refuse it), and each keeps the seal's number and
//! label as they were when it was recorded.

mod postgres;
mod sqlite;

use chrono::{DateTime, Utc};
use convoy_core::VehicleId;

use crate::Result;

/// One sealed item of a move. The text fields are stored as given (the gateway checks them).
#[derive(Clone, Debug, PartialEq)]
pub struct Seal {
    pub id: String,
    /// The box or container, e.g. "Rack 3 crate".
    pub label: String,
    /// The seal's number, unique within the move.
    pub number: String,
    /// What it holds.
    pub contents: String,
    /// `normal`, `confidential` or `secret`.
    pub sensitivity: String,
    /// The vehicle that carries it, if known.
    pub vehicle: Option<VehicleId>,
}

/// What became of a new list of seals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SealsReplaced {
    Stored,
    /// The list leaves out this seal, which a checkpoint names. Nothing changed.
    HasCheckpoints(String),
}

/// The fix a checkpoint was recorded at: the vehicle's latest stored one then.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CheckpointFix {
    pub t: DateTime<Utc>,
    pub seq: u64,
    pub lat: f64,
    pub lon: f64,
}

/// One seal as seen at a checkpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct SealSeen {
    pub seal_id: String,
    /// The seal's number and label when the checkpoint was recorded.
    pub number: String,
    pub label: String,
    /// `intact`, `broken` or `missing`.
    pub state: String,
    pub note: Option<String>,
}

/// A checkpoint: at loading, a handover or unloading, which seals were seen in which state.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    /// Given by the store ([`Store::add_checkpoint`] ignores it).
    ///
    /// [`Store::add_checkpoint`]: crate::Store::add_checkpoint
    pub id: i64,
    pub move_id: String,
    /// `loading`, `handover` or `unloading`.
    pub stage: String,
    pub vehicle: Option<VehicleId>,
    /// When it was recorded, by the server's clock.
    pub at: DateTime<Utc>,
    pub by: String,
    pub note: Option<String>,
    pub fix: Option<CheckpointFix>,
    /// The seals seen, in the order given.
    pub seals: Vec<SealSeen>,
}

forward! {
    /// A move's seals, in their list's order (empty for an unknown move).
    pub async fn move_seals(&self, move_id: &str) -> Result<Vec<Seal>>;

    /// Replaces a move's seals with `seals` (in that order) in one transaction: those whose id
    /// is kept are changed in place, the others added, and those left out removed, unless a
    /// checkpoint names one (then nothing changes). The move must exist (a foreign key).
    pub async fn replace_move_seals(&self, move_id: &str, seals: &[Seal]) -> Result<SealsReplaced>;

    /// Records a checkpoint (its seals must be the move's) and returns its id.
    pub async fn add_checkpoint(&self, checkpoint: &Checkpoint) -> Result<i64>;

    /// A move's checkpoints, oldest first.
    pub async fn checkpoints(&self, move_id: &str) -> Result<Vec<Checkpoint>>;
}
