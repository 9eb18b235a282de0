//! Convoy's storage: positions, the latest position of each vehicle, dead letters, vehicles,
//! users and login tokens, behind one interface with two backends.
//!
//! - SQLite (embedded default): one file, no server, for `convoy demo` and small sites.
//! - PostgreSQL (production), TimescaleDB-compatible schema.
//!
//! Both keep the same meaning: a position is keyed by (vehicle, seq, t), so a redelivered or
//! replayed message is stored once; each fix is stored with its marks (late, implausible); the
//! latest position of a vehicle only moves forward in fix time and only to a plausible fix; an
//! ingest write is one transaction, so a crash leaves all of it or none. Retention deletes old
//! positions except those under a legal hold, and records every purge.
//!
//! Besides positions the store keeps moves, alerts with every change of their state, notifier
//! deliveries and every agent status report; see [`AlertRecord`] for the alert lifecycle.

mod alerts;
mod audit;
mod housekeeping;
mod postgres;
mod sqlite;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use convoy_core::plausibility::{ArrivalMarker, Implausible, Marks};
use convoy_core::{Position, Role, VehicleId};
use tokio::sync::mpsc;

pub use alerts::{
    AlertChange, AlertFilter, AlertRecord, AlertTransition, Delivery, MoveCrew, MoveRecord, BY_RULE,
};
pub use audit::{
    AuditBreak, AuditEntry, AuditFilter, AuditHead, AuditProblem, AuditVerdict, NewAuditEntry, GENESIS_HASH,
};
pub use housekeeping::{run_housekeeping, Retention};

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database URL {0:?} is neither sqlite://PATH nor postgres://...")]
    BadUrl(String),
    #[error("{0} already exists")]
    AlreadyExists(String),
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("PostgreSQL pool: {0}")]
    Pool(String),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("storage task failed: {0}")]
    Task(String),
}

impl StoreError {
    /// Whether the database refused a value the caller gave (PostgreSQL's data exceptions,
    /// class 22: a NUL byte in text, a number out of range), not failed: the request was bad,
    /// and asking again will not help.
    pub fn is_refused_value(&self) -> bool {
        match self {
            StoreError::Postgres(e) => e.code().is_some_and(|code| code.code().starts_with("22")),
            _ => false,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

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
}

/// A stored fix with what Convoy recorded about it.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredPosition {
    pub position: Position,
    /// It arrived after a newer fix of its vehicle (a backlog).
    pub late: bool,
    pub implausible: Option<Implausible>,
    pub received_at: DateTime<Utc>,
}

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

#[derive(Clone, Debug, PartialEq)]
pub struct User {
    pub name: String,
    pub role: Role,
    pub password_hash: String,
}

/// The store, whichever backend holds it. Cheap to clone.
#[derive(Clone)]
pub enum Store {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

macro_rules! dispatch {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            Store::Sqlite($store) => $call.await,
            Store::Postgres($store) => $call.await,
        }
    };
}

impl Store {
    /// Opens `sqlite://PATH` or `postgres://...` and brings its schema up to date.
    pub async fn open(url: &str) -> Result<Store> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            Ok(Store::Sqlite(SqliteStore::open(path.as_ref()).await?))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Store::Postgres(PgStore::open(url).await?))
        } else {
            Err(StoreError::BadUrl(url.to_string()))
        }
    }

    /// Which backend this is, for logs.
    pub fn backend(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// Writes positions, dead letters and agent statuses (each vehicle's latest, and every one to
    /// the status history) in one transaction.
    pub async fn write_ingest(&self, write: &IngestWrite) -> Result<WriteOutcome> {
        dispatch!(self, s => s.write_ingest(write))
    }

    pub async fn add_vehicle(&self, id: &VehicleId, password_hash: &str) -> Result<()> {
        dispatch!(self, s => s.add_vehicle(id, password_hash))
    }

    /// Replaces a vehicle's stored password hash with `new` if it is still `old` (a hash of
    /// the same password in another form); whether it was replaced.
    pub async fn replace_vehicle_password_hash(&self, id: &VehicleId, old: &str, new: &str) -> Result<bool> {
        dispatch!(self, s => s.replace_vehicle_password_hash(id, old, new))
    }

    pub async fn vehicle_password_hash(&self, id: &VehicleId) -> Result<Option<String>> {
        dispatch!(self, s => s.vehicle_password_hash(id))
    }

    /// Every registered vehicle, ordered by id.
    pub async fn vehicle_ids(&self) -> Result<Vec<VehicleId>> {
        dispatch!(self, s => s.vehicle_ids())
    }

    /// Those of `ids` that are registered, in one round trip.
    pub async fn registered_among(&self, ids: &[VehicleId]) -> Result<Vec<VehicleId>> {
        dispatch!(self, s => s.registered_among(ids))
    }

    pub async fn vehicle_registered(&self, id: &VehicleId) -> Result<bool> {
        Ok(self.vehicle_password_hash(id).await?.is_some())
    }

    pub async fn add_user(&self, user: &User) -> Result<()> {
        dispatch!(self, s => s.add_user(user))
    }

    pub async fn user(&self, name: &str) -> Result<Option<User>> {
        dispatch!(self, s => s.user(name))
    }

    pub async fn add_token(&self, token_hash: &str, username: &str, expires_at: DateTime<Utc>) -> Result<()> {
        dispatch!(self, s => s.add_token(token_hash, username, expires_at))
    }

    /// The user a token belongs to, if the token exists and has not expired at `now`.
    pub async fn token_user(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<User>> {
        dispatch!(self, s => s.token_user(token_hash, now))
    }

    /// Each vehicle's newest position, ordered by vehicle id.
    pub async fn latest_positions(&self) -> Result<Vec<LatestPosition>> {
        dispatch!(self, s => s.latest_positions())
    }

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
        const PAGE: u32 = 2000;
        let (tx, rx) = mpsc::channel(PAGE as usize);
        let (store, vehicle) = (self.clone(), vehicle.clone());
        tokio::spawn(async move {
            let mut after = None;
            loop {
                let page = match store.track_page(&vehicle, from, to, after, PAGE).await {
                    Ok(page) => page,
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                };
                let last = page.last().map(|p| (p.position.t, p.position.seq));
                let full = page.len() == PAGE as usize;
                for stored in page {
                    if tx.send(Ok(stored)).await.is_err() {
                        return;
                    }
                }
                match last {
                    Some(last) if full => after = Some(last),
                    _ => return,
                }
            }
        });
        rx
    }

    /// At most `limit` positions of a track, after the fix `(t, seq)` in `(t, seq)` order.
    async fn track_page(
        &self,
        vehicle: &VehicleId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: Option<(DateTime<Utc>, u64)>,
        limit: u32,
    ) -> Result<Vec<StoredPosition>> {
        dispatch!(self, s => s.track_page(vehicle, from, to, after, limit))
    }

    /// Each vehicle's latest agent status, ordered by vehicle id.
    pub async fn agent_statuses(&self) -> Result<Vec<AgentStatus>> {
        dispatch!(self, s => s.agent_statuses())
    }

    /// Places a legal hold; returns its id.
    pub async fn add_legal_hold(&self, hold: &LegalHold) -> Result<i64> {
        dispatch!(self, s => s.add_legal_hold(hold))
    }

    /// Releases a hold: its positions become subject to retention again. False if no hold
    /// with that id is in force.
    pub async fn release_legal_hold(&self, id: i64, now: DateTime<Utc>) -> Result<bool> {
        dispatch!(self, s => s.release_legal_hold(id, now))
    }

    /// Creates what the store needs ahead of time (PostgreSQL: the coming days' partitions).
    pub async fn prepare_ahead(&self, now: DateTime<Utc>) -> Result<()> {
        match self {
            Store::Sqlite(_) => Ok(()),
            Store::Postgres(s) => s.prepare_ahead(now).await,
        }
    }

    /// Deletes positions, dead letters and agent status reports from before `cutoff`, except
    /// positions under a legal hold, and records the purge. Moves, alerts, their transitions and
    /// deliveries are kept: they are the record of what happened.
    pub async fn purge(&self, cutoff: DateTime<Utc>, now: DateTime<Utc>) -> Result<PurgeReport> {
        dispatch!(self, s => s.purge(cutoff, now))
    }

    /// The most recent purges first.
    pub async fn purges(&self, limit: u32) -> Result<Vec<PurgeReport>> {
        dispatch!(self, s => s.purges(limit))
    }

    /// The newest dead letters first.
    pub async fn dead_letters(&self, limit: u32) -> Result<Vec<DeadLetter>> {
        dispatch!(self, s => s.dead_letters(limit))
    }

    /// A vehicle's agent status reports received in `[from, to)`, oldest first.
    pub async fn status_history(
        &self,
        vehicle: &VehicleId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<AgentStatus>> {
        dispatch!(self, s => s.status_history(vehicle, from, to))
    }

    /// Adds a move; [`StoreError::AlreadyExists`] if its id is taken.
    pub async fn add_move(&self, record: &MoveRecord) -> Result<()> {
        dispatch!(self, s => s.add_move(record))
    }

    pub async fn move_record(&self, id: &str) -> Result<Option<MoveRecord>> {
        dispatch!(self, s => s.move_record(id))
    }

    /// Every move, oldest first.
    pub async fn moves(&self) -> Result<Vec<MoveRecord>> {
        dispatch!(self, s => s.moves())
    }

    /// Every move's vehicles and end, oldest first, without reading the plans' routes.
    pub async fn move_crews(&self) -> Result<Vec<MoveCrew>> {
        dispatch!(self, s => s.move_crews())
    }

    /// Every move's id, oldest first: what is there, without reading every plan.
    pub async fn move_ids(&self) -> Result<Vec<String>> {
        dispatch!(self, s => s.move_ids())
    }

    /// Stores a new alert, open (its `state` and its acknowledged, resolved and cleared fields are
    /// ignored), with an `open` transition by [`BY_RULE`] at `opened_t`. False, changing nothing,
    /// if an alert with its id exists.
    pub async fn open_alert(&self, alert: &AlertRecord) -> Result<bool> {
        dispatch!(self, s => s.open_alert(alert))
    }

    /// The rule saw the alert's condition end at `t`: records `t` and `detail` as the clearing
    /// (unless cleared before), and resolves the alert by [`BY_RULE`] at `t` unless it is already
    /// resolved (by a person). Idempotent. The alert afterwards; `None` if there is no such alert.
    pub async fn clear_alert(
        &self,
        id: &str,
        t: DateTime<Utc>,
        detail: &serde_json::Value,
    ) -> Result<Option<AlertRecord>> {
        dispatch!(self, s => s.clear_alert(id, t, detail))
    }

    /// A person acknowledges an open alert.
    pub async fn acknowledge_alert(
        &self,
        id: &str,
        user: &str,
        note: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<AlertChange> {
        dispatch!(self, s => s.acknowledge_alert(id, user, note, at))
    }

    /// A person resolves an alert that is open or acknowledged.
    pub async fn resolve_alert(
        &self,
        id: &str,
        user: &str,
        note: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<AlertChange> {
        dispatch!(self, s => s.resolve_alert(id, user, note, at))
    }

    pub async fn alert(&self, id: &str) -> Result<Option<AlertRecord>> {
        dispatch!(self, s => s.alert(id))
    }

    /// The alerts matching `filter`, newest `opened_t` first, then by id.
    pub async fn alerts(&self, filter: &AlertFilter) -> Result<Vec<AlertRecord>> {
        dispatch!(self, s => s.alerts(filter))
    }

    /// Every change of an alert's state, in the order they happened.
    pub async fn alert_transitions(&self, id: &str) -> Result<Vec<AlertTransition>> {
        dispatch!(self, s => s.alert_transitions(id))
    }

    pub async fn record_delivery(&self, delivery: &Delivery) -> Result<()> {
        dispatch!(self, s => s.record_delivery(delivery))
    }

    /// Every delivery attempt recorded for an alert, in the order they were recorded.
    pub async fn deliveries(&self, alert_id: &str) -> Result<Vec<Delivery>> {
        dispatch!(self, s => s.deliveries(alert_id))
    }

    /// A cheap round trip, for health checks.
    pub async fn ping(&self) -> Result<()> {
        dispatch!(self, s => s.ping())
    }

    /// Ends a login token before it expires (logout); whether it existed.
    pub async fn revoke_token(&self, token_hash: &str) -> Result<bool> {
        dispatch!(self, s => s.revoke_token(token_hash))
    }

    /// Ends every login token of a person; how many there were.
    pub async fn revoke_tokens_of(&self, username: &str) -> Result<u64> {
        dispatch!(self, s => s.revoke_tokens_of(username))
    }

    /// Every person who may log in, by name.
    pub async fn users(&self) -> Result<Vec<User>> {
        dispatch!(self, s => s.users())
    }

    /// Replaces the people assigned to a move (escorts see only their moves). Unknown names or
    /// an unknown move are a `Database` error from the foreign keys; check them first.
    pub async fn set_move_team(&self, move_id: &str, usernames: &[String]) -> Result<()> {
        dispatch!(self, s => s.set_move_team(move_id, usernames))
    }

    /// The people assigned to a move, by name.
    pub async fn move_team(&self, move_id: &str) -> Result<Vec<String>> {
        dispatch!(self, s => s.move_team(move_id))
    }

    /// The moves a person is assigned to, by id.
    pub async fn moves_of_user(&self, username: &str) -> Result<Vec<String>> {
        dispatch!(self, s => s.moves_of_user(username))
    }
}

/// The distinct vehicles of a write's positions.
fn vehicles_of(write: &IngestWrite) -> Vec<&VehicleId> {
    let mut vehicles: Vec<&VehicleId> = write.positions.iter().map(|b| &b.vehicle).collect();
    vehicles.sort();
    vehicles.dedup();
    vehicles
}

/// A write's positions with their marks, in arrival order, and each vehicle's newest plausible
/// fix afterwards where it changed: what the latest table moves to.
struct MarkedWrite<'a> {
    positions: Vec<(&'a VehicleId, &'a Position, Marks)>,
    new_latest: Vec<(VehicleId, Position)>,
}

impl MarkedWrite<'_> {
    /// The positions marked neither late nor implausible, in arrival order.
    fn fresh(&self) -> Vec<(VehicleId, Position)> {
        self.positions
            .iter()
            .filter(|(_, _, marks)| !marks.late && marks.implausible.is_none())
            .map(|(vehicle, p, _)| ((*vehicle).clone(), (*p).clone()))
            .collect()
    }
}

/// Marks a write's positions against each vehicle's stored newest plausible fix.
fn mark_write(write: &IngestWrite, mut stored_latest: HashMap<VehicleId, Position>) -> MarkedWrite<'_> {
    let mut markers: HashMap<&VehicleId, ArrivalMarker> = HashMap::new();
    let mut positions = Vec::new();
    for batch in &write.positions {
        let marker = markers
            .entry(&batch.vehicle)
            .or_insert_with(|| ArrivalMarker::new(stored_latest.remove(&batch.vehicle), write.oldest_kept));
        for p in &batch.positions {
            positions.push((&batch.vehicle, p, marker.mark(p)));
        }
    }
    let new_latest = markers
        .into_iter()
        .filter_map(|(vehicle, marker)| marker.newest().map(|p| (vehicle.clone(), p.clone())))
        .collect();
    MarkedWrite { positions, new_latest }
}

fn parse_role(text: &str) -> Result<Role> {
    text.parse().map_err(StoreError::Corrupt)
}

fn parse_vehicle(text: String) -> Result<VehicleId> {
    VehicleId::new(text).map_err(|e| StoreError::Corrupt(e.to_string()))
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
