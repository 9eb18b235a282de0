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
//!
//! # Layout
//!
//! The crate is arranged by feature, so that one operation, with its types and both of its
//! backends, is read and changed in one folder:
//!
//! - `positions`: ingest writes, latest positions, tracks, dead letters, agent statuses;
//! - `accounts`: vehicles, people and their login tokens;
//! - `moves`: moves and the people assigned to them (their teams);
//! - `alerts`: alerts, their transitions and notifier deliveries;
//! - `audit`: the hash-chained audit log;
//! - `retention`: legal holds, purges and the background housekeeping;
//! - `signing`: vehicles' public keys, signed chain heads and chain gaps (signed tracks).
//! - `seals`: a move's sealed items and the checkpoints where they were seen.
//! - `signed`: the server's signed record (its keys, audit head signatures, destruction records).
//!
//! Each holds its types and its public [`Store`] methods in `mod.rs`, and its SQL in `sqlite.rs`
//! and `postgres.rs` side by side. What the features share has a small module of its own:
//! `sqlite` (the connection) and `postgres` (the pool, its URL and TLS), `migrations` (both
//! schemas' versions), `rows` (stored text read back into Convoy's types) and `error`.
//!
//! # Why an enum and no backend trait
//!
//! A `Backend` trait would not remove the forwarding layer. Its `async fn`s make it unusable as
//! `dyn Backend` unless every future is boxed, so [`Store`] would still be an enum with a match
//! per call (or a type parameter spread through every crate that holds a store), and the trait
//! would add a fourth copy of every signature to the two implementations and the forwarding.
//! So [`Store`] stays an enum, cheap and explicit, and each feature declares its operations once
//! in a `forward!` block in its `mod.rs`, next to the two implementations; the macro writes the
//! match. Operations that are not a plain hand-over (a track streamed in pages, the audit head,
//! partitions made ahead on PostgreSQL only) are written out as ordinary methods.

/// Writes `impl Store` methods that hand each call to the method of the same name and
/// arguments on whichever backend holds the store. Each operation is declared once, with its
/// documentation, as `pub async fn name(&self, arg: Type, ...) -> Result<T>;`.
macro_rules! forward {
    ($(
        $(#[$attr:meta])*
        $vis:vis async fn $name:ident(&self $(, $arg:ident: $ty:ty)* $(,)?) -> $ret:ty;
    )*) => {
        impl $crate::Store {
            $(
                $(#[$attr])*
                $vis async fn $name(&self $(, $arg: $ty)*) -> $ret {
                    match self {
                        $crate::Store::Sqlite(store) => store.$name($($arg),*).await,
                        $crate::Store::Postgres(store) => store.$name($($arg),*).await,
                    }
                }
            )*
        }
    };
}

mod accounts;
mod alerts;
mod audit;
mod devices;
mod error;
mod migrations;
mod moves;
mod paging;
mod positions;
mod postgres;
mod retention;
mod rows;
mod seals;
mod signed;
mod signing;
mod sqlite;

pub use accounts::{Person, PersonChange, PersonChanged, User, VehicleLogin};
pub use alerts::{
    AlertChange, AlertCount, AlertFilter, AlertHistoryQuery, AlertKey, AlertRecord, AlertTransition,
    Delivery, BY_RULE,
};
pub use audit::{
    append_audit_head, last_audit_head, last_audit_head_line, AuditBreak, AuditEntry, AuditFilter, AuditHead,
    AuditProblem, AuditVerdict, NewAuditEntry, GENESIS_HASH,
};
pub use devices::{Device, DeviceKind};
pub use error::{Result, StoreError};
pub use moves::{MoveCrew, MoveEnd, MoveRecord, MoveState, PlanEdit, PlanEdited, PlanVersion};
pub use positions::{
    AgentStatus, DeadLetter, IngestWrite, LatestPosition, StoredPosition, VehiclePositions, WriteOutcome,
};
pub use retention::{
    run_housekeeping, run_signed_housekeeping, HeldPositions, HoldRecord, HoldRelease, Housekeeping,
    LegalHold, PurgeReport, ReleaseOutcome, Retention,
};

pub use seals::{Checkpoint, CheckpointFix, Seal, SealSeen, SealsReplaced};
pub use signed::{
    audit_head_message, AuditSignature, Destruction, DestructionRecord, DestructionSigner, HeldBy,
    ServerKeyRecord, SignedRecordVerdict, TrustedKeys, VehicleDestroyed,
};
pub use signing::{ChainGap, ChainPoint, KeyAdded, SignedChain, StoredHead, VehicleKey};

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// The store, whichever backend holds it. Cheap to clone.
#[derive(Clone)]
pub enum Store {
    Sqlite(SqliteStore),
    Postgres(PgStore),
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

    /// The most file descriptors the store holds at once, for the server's connection budget:
    /// SQLite's one connection keeps the database, its WAL and its shared memory open (and a
    /// temporary file for a large sort); PostgreSQL's pool a socket per connection.
    pub fn descriptors_at_most(&self) -> usize {
        match self {
            Store::Sqlite(_) => 4,
            Store::Postgres(pg) => pg.pool_max_size(),
        }
    }
}

forward! {
    /// A cheap round trip, for health checks.
    pub async fn ping(&self) -> Result<()>;
}
