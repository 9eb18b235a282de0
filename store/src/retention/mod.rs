//! How long positions are kept: legal holds that keep some past retention, the purge and its
//! record, and the background housekeeping that runs the purge and makes partitions ahead.

mod housekeeping;
mod postgres;
mod sqlite;

use chrono::{DateTime, Utc};
use convoy_core::VehicleId;

use crate::signed::{DestructionRecord, DestructionSigner};
use crate::{Result, Store};

pub use housekeeping::{run_housekeeping, run_signed_housekeeping, Housekeeping, Retention};

/// A legal hold: positions of its vehicles with fix times in `[from, to)` survive retention
/// until the hold is released.
#[derive(Clone, Debug, PartialEq)]
pub struct LegalHold {
    /// The vehicles whose positions are kept (a move's: all of them); `None`: every vehicle's.
    pub vehicles: Option<Vec<VehicleId>>,
    /// The move the hold is for, if it is for one.
    pub move_id: Option<String>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Why the data is kept, for whoever later asks.
    pub reason: String,
    /// What outside the system the hold answers to (a case or claim number); may be empty.
    pub reference: String,
    /// Who placed it.
    pub created_by: String,
}

/// A hold as stored: placed when, and released when, by whom and why.
#[derive(Clone, Debug, PartialEq)]
pub struct HoldRecord {
    pub id: i64,
    pub hold: LegalHold,
    pub created_at: DateTime<Utc>,
    /// `None` while the hold is in force.
    pub release: Option<HoldRelease>,
}

/// Who released a hold, when and why (empty for a hold released before these were kept).
#[derive(Clone, Debug, PartialEq)]
pub struct HoldRelease {
    pub at: DateTime<Utc>,
    pub by: String,
    pub reason: String,
}

/// What asking to release a hold did.
#[derive(Clone, Debug, PartialEq)]
pub enum ReleaseOutcome {
    /// Released now.
    Released(HoldRecord),
    /// Already released before: nothing changed.
    AlreadyReleased(HoldRecord),
    NoSuchHold,
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
    /// Which holds kept them, by hold id (ascending): a position two holds cover counts under
    /// both, so these may add up to more than `positions_held`.
    pub held_by: Vec<HeldPositions>,
    pub dead_letters_deleted: u64,
}

/// How many due positions one hold kept in a purge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeldPositions {
    pub hold: i64,
    pub positions: u64,
}

impl PurgeReport {
    /// `held_by` as the purges table and the audit log keep it: `[{"hold": 3, "positions": 12}]`.
    pub fn held_by_json(&self) -> serde_json::Value {
        self.held_by.iter().map(|h| serde_json::json!({ "hold": h.hold, "positions": h.positions })).collect()
    }
}

/// Reads `held_by` back from the purges table.
pub(crate) fn held_by_from_json(text: &str) -> Result<Vec<HeldPositions>> {
    let corrupt = || crate::StoreError::Corrupt(format!("a purge's held_by {text:?}"));
    let value: serde_json::Value = serde_json::from_str(text).map_err(|_| corrupt())?;
    value
        .as_array()
        .ok_or_else(corrupt)?
        .iter()
        .map(|h| {
            Ok(HeldPositions {
                hold: h["hold"].as_i64().ok_or_else(corrupt)?,
                positions: h["positions"].as_u64().ok_or_else(corrupt)?,
            })
        })
        .collect()
}

/// The outcome of a release from whether the update changed the hold and the hold as it now is.
fn release_outcome(changed: bool, record: Option<HoldRecord>) -> ReleaseOutcome {
    match (changed, record) {
        (_, None) => ReleaseOutcome::NoSuchHold,
        (true, Some(record)) => ReleaseOutcome::Released(record),
        (false, Some(record)) => ReleaseOutcome::AlreadyReleased(record),
    }
}

forward! {
    /// Places a legal hold at `now`; returns its id.
    pub async fn add_legal_hold(&self, hold: &LegalHold, now: DateTime<Utc>) -> Result<i64>;

    /// Every hold, in force or released, the most recently placed first.
    pub async fn legal_holds(&self) -> Result<Vec<HoldRecord>>;

    /// Releases a hold in force: its positions become subject to retention again. A released
    /// or unknown hold changes nothing.
    pub async fn release_legal_hold(
        &self,
        id: i64,
        by: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<ReleaseOutcome>;

    /// Deletes positions, dead letters and agent status reports from before `cutoff`, except
    /// positions under a legal hold, and records the purge; with a `signer`, also its signed
    /// destruction record (what was deleted per vehicle, the retention in force, what holds
    /// kept), in the same transaction. Moves, alerts, their transitions and deliveries are kept:
    /// they are the record of what happened.
    pub async fn purge_with(
        &self,
        cutoff: DateTime<Utc>,
        now: DateTime<Utc>,
        signer: Option<DestructionSigner>,
    ) -> Result<(PurgeReport, Option<DestructionRecord>)>;

    /// The most recent purges first.
    pub async fn purges(&self, limit: u32) -> Result<Vec<PurgeReport>>;
}

impl Store {
    /// [`Store::purge_with`] without a destruction record.
    pub async fn purge(&self, cutoff: DateTime<Utc>, now: DateTime<Utc>) -> Result<PurgeReport> {
        Ok(self.purge_with(cutoff, now, None).await?.0)
    }

    /// One hold, in force or released.
    pub async fn legal_hold(&self, id: i64) -> Result<Option<HoldRecord>> {
        Ok(self.legal_holds().await?.into_iter().find(|h| h.id == id))
    }
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
