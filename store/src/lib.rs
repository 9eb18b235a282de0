//! Convoy's storage: positions, the latest position of each vehicle, dead letters, vehicles,
//! users and login tokens, behind one interface with two backends.
//!
//! - SQLite (embedded default): one file, no server, for `convoy demo` and small sites.
//! - PostgreSQL (production), TimescaleDB-compatible schema.
//!
//! Both keep the same meaning: a position is keyed by (vehicle, seq, t), so a redelivered or
//! replayed message is stored once; the latest position of a vehicle only moves forward in fix
//! time; an ingest write is one transaction, so a crash leaves all of it or none.

mod postgres;
mod sqlite;

use chrono::{DateTime, Utc};
use convoy_core::{Position, Role, VehicleId};

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

/// Everything one ingest commit writes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IngestWrite {
    pub received_at: Option<DateTime<Utc>>,
    pub positions: Vec<VehiclePositions>,
    pub dead_letters: Vec<DeadLetter>,
}

/// What an ingest write did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteOutcome {
    /// Positions stored for the first time.
    pub inserted: u64,
    /// Positions already stored (a redelivery), left as they were.
    pub duplicates: u64,
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

    /// Writes positions and dead letters in one transaction.
    pub async fn write_ingest(&self, write: &IngestWrite) -> Result<WriteOutcome> {
        dispatch!(self, s => s.write_ingest(write))
    }

    pub async fn add_vehicle(&self, id: &VehicleId, password_hash: &str) -> Result<()> {
        dispatch!(self, s => s.add_vehicle(id, password_hash))
    }

    pub async fn vehicle_password_hash(&self, id: &VehicleId) -> Result<Option<String>> {
        dispatch!(self, s => s.vehicle_password_hash(id))
    }

    /// Every registered vehicle, ordered by id.
    pub async fn vehicle_ids(&self) -> Result<Vec<VehicleId>> {
        dispatch!(self, s => s.vehicle_ids())
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
        dispatch!(self, s => s.track(vehicle, from, to))
    }

    /// The newest dead letters first.
    pub async fn dead_letters(&self, limit: u32) -> Result<Vec<DeadLetter>> {
        dispatch!(self, s => s.dead_letters(limit))
    }

    /// A cheap round trip, for health checks.
    pub async fn ping(&self) -> Result<()> {
        dispatch!(self, s => s.ping())
    }
}

/// For each vehicle in a write, the position with the newest fix time: what the latest table
/// should move to (if it is newer than what it holds).
fn newest_per_vehicle(write: &IngestWrite) -> Vec<(&VehicleId, &Position)> {
    let mut newest: Vec<(&VehicleId, &Position)> = Vec::new();
    for batch in &write.positions {
        for p in &batch.positions {
            match newest.iter_mut().find(|(v, _)| *v == &batch.vehicle) {
                Some(entry) if p.t > entry.1.t => entry.1 = p,
                Some(_) => {}
                None => newest.push((&batch.vehicle, p)),
            }
        }
    }
    newest
}

fn parse_role(text: &str) -> Result<Role> {
    text.parse().map_err(StoreError::Corrupt)
}

fn parse_vehicle(text: String) -> Result<VehicleId> {
    VehicleId::new(text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn parse_fix(text: Option<String>) -> Result<Option<convoy_core::FixMode>> {
    text.map(|f| {
        convoy_core::FixMode::parse(&f).ok_or_else(|| StoreError::Corrupt(format!("fix mode {f:?}")))
    })
    .transpose()
}
