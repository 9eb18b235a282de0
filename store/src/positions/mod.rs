//! Positions and what arrives with them: the ingest write (positions with their marks, dead
//! letters, agent statuses, in one transaction), each vehicle's latest position, tracks read a
//! page at a time, dead letters, and agent status reports.

mod marks;
mod postgres;
mod sqlite;

pub(crate) use postgres::position_from_row as pg_position_from_row;
pub(crate) use sqlite::position_from_row as sqlite_position_from_row;

use chrono::{DateTime, Utc};
use convoy_core::plausibility::Implausible;
use convoy_core::signing::ChainHash;
use convoy_core::{Position, VehicleId};
use tokio::sync::mpsc;

use crate::signing::{ChainGap, SignedChain};
use crate::{Result, Store, StoreError};

/// A message that could not be accepted, kept for inspection with its raw bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct DeadLetter {
    pub received_at: DateTime<Utc>,
    pub topic: String,
    pub payload: Vec<u8>,
    /// A short label, as in the `reason` label of the rejection counter.
    pub reason: String,
    /// The full error, for a person.
    pub detail: String,
}

/// One vehicle's positions in an ingest write.
#[derive(Clone, Debug, PartialEq)]
pub struct VehiclePositions {
    pub vehicle: VehicleId,
    pub positions: Vec<Position>,
    /// The phone that sent them (`owntracks:NAME`, `traccar:ID`); `None` for the vehicle's agent.
    pub source: Option<String>,
    /// What the batch's signature proved, once ingest verified it; `None`: stored unsigned.
    pub chain: Option<SignedChain>,
}

/// An agent's latest health report, as it published it (a JSON object).
#[derive(Clone, Debug, PartialEq)]
pub struct AgentStatus {
    pub vehicle: VehicleId,
    pub received_at: DateTime<Utc>,
    pub status_json: String,
}

/// Everything one ingest commit writes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IngestWrite {
    /// When the positions were stored; `None` stamps them with the clock at the write.
    pub received_at: Option<DateTime<Utc>>,
    /// Fixes older than this are marked `older_than_retention`.
    pub oldest_kept: Option<DateTime<Utc>>,
    pub positions: Vec<VehiclePositions>,
    pub dead_letters: Vec<DeadLetter>,
    pub statuses: Vec<AgentStatus>,
    /// Seqs found missing from vehicles' chains (kept once per vehicle and first seq).
    pub gaps: Vec<ChainGap>,
}

/// A stored fix with what Convoy recorded about it.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredPosition {
    pub position: Position,
    /// It arrived after a newer fix of its vehicle (a backlog).
    pub late: bool,
    pub implausible: Option<Implausible>,
    pub received_at: DateTime<Utc>,
    /// The phone that sent it; `None` for the vehicle's agent.
    pub source: Option<String>,
    /// The chain hash of the fix before it, as its verified batch proved; `None`: unsigned.
    pub prev_hash: Option<ChainHash>,
}

/// What an ingest write did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WriteOutcome {
    /// Positions stored for the first time.
    pub inserted: u64,
    /// Positions already stored (a redelivery), left as they were.
    pub duplicates: u64,
    /// The positions of the write that were marked neither late nor implausible, in the order
    /// they appear in the write: what live consumers (the alert rules) should look at. A fix
    /// delivered again (after a crash between commit and acknowledgement) is here again if it is
    /// still clean, so a consumer sees each fix at least once.
    pub fresh: Vec<(VehicleId, Position)>,
    /// The time the positions were stamped with (as stored: to the millisecond on SQLite, the
    /// microsecond on PostgreSQL).
    pub received_at: DateTime<Utc>,
}

/// A vehicle's newest position by fix time.
#[derive(Clone, Debug, PartialEq)]
pub struct LatestPosition {
    pub vehicle: VehicleId,
    pub position: Position,
    pub received_at: DateTime<Utc>,
}

forward! {
    /// Writes positions, dead letters and agent statuses (each vehicle's latest, and every one to
    /// the status history) in one transaction.
    pub async fn write_ingest(&self, write: &IngestWrite) -> Result<WriteOutcome>;

    /// Each vehicle's newest position, ordered by vehicle id.
    pub async fn latest_positions(&self) -> Result<Vec<LatestPosition>>;

    /// At most `limit` positions of a track, after the fix `(t, seq)` in `(t, seq)` order.
    async fn track_page(
        &self,
        vehicle: &VehicleId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: Option<(DateTime<Utc>, u64)>,
        limit: u32,
    ) -> Result<Vec<StoredPosition>>;

    /// Each vehicle's latest agent status, ordered by vehicle id.
    pub async fn agent_statuses(&self) -> Result<Vec<AgentStatus>>;

    /// The newest dead letters first.
    pub async fn dead_letters(&self, limit: u32) -> Result<Vec<DeadLetter>>;

    /// How many messages on `topic` received in `[from, to)` were kept as dead letters, by
    /// reason (a vehicle's refused batches, for the report's completeness).
    pub async fn dead_letter_counts(
        &self,
        topic: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(String, u64)>>;

    /// A vehicle's agent status reports received in `[from, to)`, oldest first.
    pub async fn status_history(
        &self,
        vehicle: &VehicleId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<AgentStatus>>;

    /// At most `limit` of a vehicle's agent status reports received in `[from, to)`, the newest
    /// first: what a person reads of an agent's health, bounded whatever the agent sent.
    pub async fn newest_statuses(
        &self,
        vehicle: &VehicleId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<AgentStatus>>;
}

impl Store {
    /// A vehicle's stored positions with fix times in `[from, to)`, in fix-time order.
    pub async fn track(
        &self,
        vehicle: &VehicleId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Position>> {
        let mut stream = self.track_stream(vehicle, from, to);
        let mut track = Vec::new();
        while let Some(stored) = stream.recv().await {
            track.push(stored?.position);
        }
        Ok(track)
    }

    /// Streams a vehicle's stored positions with fix times in `[from, to)`, in fix-time order,
    /// a page at a time, so a long track never sits whole in memory and never holds the
    /// database for long. Dropping the receiver stops the reading.
    pub fn track_stream(
        &self,
        vehicle: &VehicleId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> mpsc::Receiver<Result<StoredPosition>> {
        let (store, vehicle) = (self.clone(), vehicle.clone());
        crate::paging::stream_pages(
            move |after, page| {
                let (store, vehicle) = (store.clone(), vehicle.clone());
                async move { store.track_page(&vehicle, from, to, after, page).await }
            },
            |p| (p.position.t, p.position.seq),
        )
    }
}

fn parse_implausible(text: Option<String>) -> Result<Option<Implausible>> {
    text.map(|r| {
        Implausible::parse(&r).ok_or_else(|| StoreError::Corrupt(format!("implausible reason {r:?}")))
    })
    .transpose()
}

fn parse_fix(text: Option<String>) -> Result<Option<convoy_core::FixMode>> {
    text.map(|f| {
        convoy_core::FixMode::parse(&f).ok_or_else(|| StoreError::Corrupt(format!("fix mode {f:?}")))
    })
    .transpose()
}

fn parse_prev_hash(bytes: Option<&[u8]>) -> Result<Option<ChainHash>> {
    bytes
        .map(|b| {
            ChainHash::from_slice(b).ok_or_else(|| StoreError::Corrupt("a chain hash is 32 bytes".into()))
        })
        .transpose()
}
