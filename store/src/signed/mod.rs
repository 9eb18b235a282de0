//! The server's signed record: the public keys it has signed with (`server_keys`), its
//! signatures of the audit log's head (`audit_signatures`), and the signed record of what each
//! retention purge destroyed (`destruction_records`). All three are append-only.
//!
//! What the signatures prove: the database's owner can rebuild the hash chain from any entry
//! on, but cannot sign the new heads without the server's secret key, which lives in a file
//! outside the database (`[audit] signing_key_file`). `convoy audit verify --server-key` checks
//! them against keys obtained separately, so a key added to `server_keys` by that owner counts
//! for nothing.
//!
//! The signed bytes:
//! - an audit head, for `Purpose::AuditHead`: `seq` as u64 big-endian, then the 32 bytes of the
//!   entry's hash ([`audit_head_message`]);
//! - a destruction record, for `Purpose::Destruction`: the UTF-8 bytes of the record's JSON text
//!   as stored, which is `serde_json::to_string` of a [`Destruction`] (its fields in declaration
//!   order, no white space). A verifier checks those bytes as they are: it never re-encodes.

pub(crate) mod postgres;
pub(crate) mod sqlite;
mod verify;

use chrono::{DateTime, Utc};
use convoy_core::signing::{PublicKey, Purpose, SecretKey};
use serde::{Deserialize, Serialize};

use crate::{AuditHead, HeldPositions, PurgeReport, Result, Store, StoreError};

pub use verify::{SignedRecordVerdict, TrustedKeys};

/// A public key the server has signed with, from when. Read back as stored (text), so that
/// verification can name a row that does not read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerKeyRecord {
    pub key_id: String,
    pub public_key: String,
    pub valid_from: DateTime<Utc>,
}

/// The server's signature of the audit log's head at `seq`, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditSignature {
    pub seq: u64,
    pub hash: String,
    pub key_id: String,
    pub signature: String,
    pub signed_at: DateTime<Utc>,
}

impl AuditSignature {
    /// Signs `head` with `key` at `at`.
    pub fn sign(key: &SecretKey, head: &AuditHead, at: DateTime<Utc>) -> Result<AuditSignature> {
        let message = audit_head_message(head.seq, &head.hash)
            .ok_or_else(|| StoreError::Corrupt(format!("audit head {head} has no SHA-256 hash")))?;
        Ok(AuditSignature {
            seq: head.seq,
            hash: head.hash.clone(),
            key_id: key.public().id().to_string(),
            signature: key.sign(Purpose::AuditHead, &message).to_string(),
            signed_at: at,
        })
    }

    /// `KEYID:SIGNATURE`, as the audit head file's third field.
    pub fn file_field(&self) -> String {
        format!("{}:{}", self.key_id, self.signature)
    }
}

/// The bytes an audit head's signature is over: `seq` (u64 big-endian) then the hash's 32
/// bytes; `None` if `hash` is not 64 hex digits.
pub fn audit_head_message(seq: u64, hash: &str) -> Option<Vec<u8>> {
    let mut bytes = [0u8; 32];
    if hash.len() != 64 {
        return None;
    }
    hex::decode_to_slice(hash, &mut bytes).ok()?;
    let mut out = Vec::with_capacity(40);
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&bytes);
    Some(out)
}

/// What one retention purge destroyed, as signed. Field order is the signed encoding's: add
/// fields only at the end.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destruction {
    /// When the purge ran.
    pub at: DateTime<Utc>,
    /// The retention setting in force: positions older than this many days were due.
    pub retention_days: u32,
    /// Positions with fix times before this were due.
    pub cutoff: DateTime<Utc>,
    /// The fix times of the oldest and newest position deleted (none deleted: both null).
    pub deleted_from: Option<DateTime<Utc>>,
    pub deleted_to: Option<DateTime<Utc>>,
    pub positions_deleted: u64,
    /// Whole partitions or chunks dropped (their positions are counted above).
    pub partitions_dropped: u64,
    /// Positions deleted per vehicle, by vehicle id.
    pub vehicles: Vec<VehicleDestroyed>,
    /// Due positions kept because a legal hold covers them.
    pub positions_held: u64,
    /// Which holds kept them (a position two holds cover counts under both).
    pub held_by: Vec<HeldBy>,
    pub dead_letters_deleted: u64,
}

/// One vehicle's positions deleted by a purge, and their fix times' span.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VehicleDestroyed {
    pub vehicle: String,
    pub positions: u64,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// How many due positions one hold kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldBy {
    pub hold: i64,
    pub positions: u64,
}

impl Destruction {
    /// The record of `report`, whose deleted positions per vehicle are `vehicles`.
    pub fn of(report: &PurgeReport, retention_days: u32, mut vehicles: Vec<VehicleDestroyed>) -> Self {
        vehicles.sort_by(|a, b| a.vehicle.cmp(&b.vehicle));
        Destruction {
            at: report.ran_at,
            retention_days,
            cutoff: report.cutoff,
            deleted_from: vehicles.iter().map(|v| v.from).min(),
            deleted_to: vehicles.iter().map(|v| v.to).max(),
            positions_deleted: report.positions_deleted,
            partitions_dropped: report.partitions_dropped,
            vehicles,
            positions_held: report.positions_held,
            held_by: report
                .held_by
                .iter()
                .map(|&HeldPositions { hold, positions }| HeldBy { hold, positions })
                .collect(),
            dead_letters_deleted: report.dead_letters_deleted,
        }
    }
}

/// What signs a purge's destruction record: the server's key and the retention in force.
#[derive(Clone, Debug)]
pub struct DestructionSigner {
    pub key: SecretKey,
    pub retention_days: u32,
}

/// A destruction record, as stored: `record` is the JSON text exactly as signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DestructionRecord {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub record: String,
    pub key_id: String,
    pub signature: String,
}

/// A destruction record to store (its id is the store's).
pub(crate) struct NewDestruction {
    pub(crate) at: DateTime<Utc>,
    pub(crate) record: String,
    pub(crate) key_id: String,
    pub(crate) signature: String,
}

impl DestructionSigner {
    /// Signs the record of `report`.
    pub(crate) fn sign(&self, report: &PurgeReport, vehicles: Vec<VehicleDestroyed>) -> NewDestruction {
        let body = Destruction::of(report, self.retention_days, vehicles);
        // A struct of plain fields always serialises.
        let record = serde_json::to_string(&body).expect("a destruction record serialises");
        NewDestruction {
            at: report.ran_at,
            key_id: self.key.public().id().to_string(),
            signature: self.key.sign(Purpose::Destruction, record.as_bytes()).to_string(),
            record,
        }
    }
}

impl NewDestruction {
    pub(crate) fn stored(self, id: i64) -> DestructionRecord {
        DestructionRecord {
            id,
            at: self.at,
            record: self.record,
            key_id: self.key_id,
            signature: self.signature,
        }
    }
}

/// Accumulates deleted positions per vehicle (rows of vehicle, count, first and last fix time).
#[derive(Default)]
pub(crate) struct DestroyedTally(std::collections::BTreeMap<String, VehicleDestroyed>);

impl DestroyedTally {
    pub(crate) fn add(&mut self, vehicle: String, positions: u64, from: DateTime<Utc>, to: DateTime<Utc>) {
        let entry =
            self.0.entry(vehicle.clone()).or_insert(VehicleDestroyed { vehicle, positions: 0, from, to });
        entry.positions += positions;
        entry.from = entry.from.min(from);
        entry.to = entry.to.max(to);
    }

    pub(crate) fn into_vec(self) -> Vec<VehicleDestroyed> {
        self.0.into_values().collect()
    }
}

forward! {
    /// Records `key` as one the server signs with from `valid_from`; a key already recorded
    /// keeps its first time. Returns whether it was new.
    pub async fn add_server_key(&self, key: &PublicKey, valid_from: DateTime<Utc>) -> Result<bool>;

    /// Every key the server has signed with, the oldest first.
    pub async fn server_keys(&self) -> Result<Vec<ServerKeyRecord>>;

    /// Keeps a signature of the audit log's head.
    pub async fn add_audit_signature(&self, signature: &AuditSignature) -> Result<()>;

    /// Every signature of the audit log's head, in the order they were made.
    pub async fn audit_signatures(&self) -> Result<Vec<AuditSignature>>;

    /// The destruction records, the newest first, at most `limit`.
    pub async fn destruction_records(&self, limit: u32) -> Result<Vec<DestructionRecord>>;
}

impl Store {
    /// Signs the audit log's current head with `key`, keeps the signature, and returns it.
    pub async fn sign_audit_head(&self, key: &SecretKey, at: DateTime<Utc>) -> Result<AuditSignature> {
        let signature = AuditSignature::sign(key, &self.audit_head().await?, at)?;
        self.add_audit_signature(&signature).await?;
        Ok(signature)
    }

    /// Checks every audit signature (it signs the hash the entry at its seq has, and verifies
    /// under a key valid then) and every destruction record's signature, against `trusted`.
    pub async fn verify_signed_record(&self, trusted: &TrustedKeys) -> Result<SignedRecordVerdict> {
        verify::verify(self, trusted).await
    }

    /// Checks one signature of the audit head (from the head file's line): `Ok(Err(why))` if
    /// it does not hold.
    pub async fn check_audit_signature(
        &self,
        trusted: &TrustedKeys,
        signature: &AuditSignature,
    ) -> Result<std::result::Result<(), String>> {
        verify::check_one(self, trusted, signature).await
    }
}
