//! How long positions are kept: legal holds that keep some past retention, the purge and its
//! record, and the background housekeeping that runs the purge and makes partitions ahead.

mod housekeeping;
mod postgres;
mod sqlite;

use chrono::{DateTime, Utc};
use convoy_core::VehicleId;

use crate::{Result, Store};

pub use housekeeping::{run_housekeeping, Retention};

/// A legal hold: positions of `vehicle` (of every vehicle if `None`) with fix times in
/// `[from, to)` survive retention until the hold is released.
#[derive(Clone, Debug, PartialEq)]
pub struct LegalHold {
    pub vehicle: Option<VehicleId>,
    /// The move the hold is for, if it is for one.
    pub move_id: Option<String>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub reason: String,
    pub created_by: String,
}

/// What one retention purge did; every purge is recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct PurgeReport {
    pub ran_at: DateTime<Utc>,
    /// Positions with fix times before this were due.
    pub cutoff: DateTime<Utc>,
    /// Positions deleted, in dropped partitions or chunks and row by row.
    pub positions_deleted: u64,
    /// Whole partitions or chunks dropped (their rows are counted above).
    pub partitions_dropped: u64,
    /// Positions older than the cutoff kept because a legal hold covers them.
    pub positions_held: u64,
    pub dead_letters_deleted: u64,
}

forward! {
    /// Places a legal hold; returns its id.
    pub async fn add_legal_hold(&self, hold: &LegalHold) -> Result<i64>;

    /// Releases a hold: its positions become subject to retention again. False if no hold
    /// with that id is in force.
    pub async fn release_legal_hold(&self, id: i64, now: DateTime<Utc>) -> Result<bool>;

    /// Deletes positions, dead letters and agent status reports from before `cutoff`, except
    /// positions under a legal hold, and records the purge. Moves, alerts, their transitions and
    /// deliveries are kept: they are the record of what happened.
    pub async fn purge(&self, cutoff: DateTime<Utc>, now: DateTime<Utc>) -> Result<PurgeReport>;

    /// The most recent purges first.
    pub async fn purges(&self, limit: u32) -> Result<Vec<PurgeReport>>;
}

impl Store {
    /// Creates what the store needs ahead of time (PostgreSQL: the coming days' partitions).
    pub async fn prepare_ahead(&self, now: DateTime<Utc>) -> Result<()> {
        match self {
            Store::Sqlite(_) => Ok(()),
            Store::Postgres(s) => s.prepare_ahead(now).await,
        }
    }
}
