//! Signed tracks: vehicles' public keys, the signed chain heads ingest verified, and the gaps
//! found in a vehicle's chain. The fixes' own links (`positions.prev_hash`) and the heads are
//! written by the ingest write (`positions`), in the same transaction as the fixes they prove.
//!
//! A fix's own chain hash is not stored: it is computed when asked ([`Store::chain_head_at`])
//! by linking the stored fix over its stored `prev_hash` (`convoy_core::signing::link`). The
//! prev of the next seq would need that fix to exist; computing needs only the fix itself, and
//! what is recomputed from stored fields is exactly what an outside verifier recomputes.

mod postgres;
mod sqlite;

use chrono::{DateTime, Utc};
use convoy_core::signing::{ChainHash, KeyId, PublicKey, SignedHead};
use convoy_core::VehicleId;
use tokio::sync::mpsc;

use crate::{Result, Store, StoreError};

/// What a batch proved about its fixes: each fix's prev and the signed head after the last.
#[derive(Clone, Debug, PartialEq)]
pub struct SignedChain {
    /// One per position of the batch, in its order: the chain hash of the fix before it.
    pub prevs: Vec<ChainHash>,
    /// The batch's signed head, stored with its signature; `None` when ingest did not check
    /// this batch's own signature because a later batch of the same commit, linked to it,
    /// vouches for its fixes (`ingest/src/verify/`).
    pub head: Option<SignedHead>,
}

/// A vehicle's registered public key.
#[derive(Clone, Debug, PartialEq)]
pub struct VehicleKey {
    pub vehicle: VehicleId,
    pub key: PublicKey,
    /// It signs fixes timed from here to the next key's `valid_from`.
    pub valid_from: DateTime<Utc>,
    pub registered_at: DateTime<Utc>,
    /// Who registered it (a person's name, or `cli`).
    pub registered_by: String,
}

impl VehicleKey {
    pub fn key_id(&self) -> KeyId {
        self.key.id()
    }
}

/// What adding a key did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyAdded {
    Added,
    /// The key is already registered (for this vehicle or another).
    KeyExists,
    /// Its `valid_from` is not after the vehicle's newest key's.
    NotAfterCurrent {
        current: DateTime<Utc>,
    },
    UnknownVehicle,
}

/// Seqs missing from a vehicle's chain.
#[derive(Clone, Debug, PartialEq)]
pub struct ChainGap {
    pub vehicle: VehicleId,
    pub from_seq: u64,
    pub to_seq: u64,
    pub detected_at: DateTime<Utc>,
}

/// A verified batch's signed head, as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredHead {
    pub head: SignedHead,
    pub received_at: DateTime<Utc>,
}

/// What the store holds of a vehicle's fix by its seq, for linking a batch to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainPoint {
    NotStored,
    /// Stored without a chain (before the vehicle had a key).
    Unsigned,
    /// Stored signed: its own chain hash.
    Head(ChainHash),
}

forward! {
    /// Registers a vehicle's public key, in one transaction with the checks of [`KeyAdded`].
    pub async fn add_vehicle_key(&self, key: &VehicleKey) -> Result<KeyAdded>;

    /// A vehicle's keys, oldest `valid_from` first.
    pub async fn vehicle_keys(&self, vehicle: &VehicleId) -> Result<Vec<VehicleKey>>;

    /// The keys of any of `vehicles`, by vehicle then `valid_from`, in one round trip.
    pub async fn vehicle_keys_among(&self, vehicles: &[VehicleId]) -> Result<Vec<VehicleKey>>;

    /// At most `limit` signed heads of a vehicle with seqs in `[from_seq, to_seq]`, after
    /// `(seq, head)`, in that order.
    async fn signed_heads_page(
        &self,
        vehicle: &VehicleId,
        from_seq: u64,
        to_seq: u64,
        after: Option<(u64, ChainHash)>,
        limit: u32,
    ) -> Result<Vec<StoredHead>>;

    /// The gaps of a vehicle's chain that overlap seqs `[from_seq, to_seq]`, by `from_seq`.
    pub async fn chain_gaps(&self, vehicle: &VehicleId, from_seq: u64, to_seq: u64) -> Result<Vec<ChainGap>>;

    /// The chain hash of a vehicle's stored fix `seq`, computed from the stored fix and its
    /// `prev_hash` (see the module's docs).
    pub async fn chain_head_at(&self, vehicle: &VehicleId, seq: u64) -> Result<ChainPoint>;

    /// The highest seq stored for a vehicle below `below` (`u64::MAX`: the highest of all).
    pub async fn last_stored_seq(&self, vehicle: &VehicleId, below: u64) -> Result<Option<u64>>;

    /// The lowest and highest seq of a vehicle's agent fixes (not its phones') with fix times
    /// in `[from, to)`, counted in the database: the seqs an evidence bundle's signed heads
    /// must cover.
    pub async fn agent_seq_range(
        &self,
        vehicle: &VehicleId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Option<(u64, u64)>>;
}

impl Store {
    /// Streams a vehicle's signed heads with seqs in `[from_seq, to_seq]` in seq order, a page
    /// at a time (a day at 10 Hz is tens of thousands of batches). Dropping the receiver stops
    /// the reading.
    pub fn signed_heads(
        &self,
        vehicle: &VehicleId,
        from_seq: u64,
        to_seq: u64,
    ) -> mpsc::Receiver<Result<StoredHead>> {
        let (store, vehicle) = (self.clone(), vehicle.clone());
        crate::paging::stream_pages(
            move |after, page| {
                let (store, vehicle) = (store.clone(), vehicle.clone());
                async move { store.signed_heads_page(&vehicle, from_seq, to_seq, after, page).await }
            },
            |h| (h.head.seq, h.head.head),
        )
    }
}

/// Seqs are at most 2^63 - 1 on the wire, so they fit the databases' signed integers.
fn seq_to_sql(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

fn seq_of(value: i64) -> Result<u64> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("seq {value}")))
}

fn chain_hash_of(bytes: &[u8]) -> Result<ChainHash> {
    ChainHash::from_slice(bytes).ok_or_else(|| StoreError::Corrupt("a chain hash is 32 bytes".into()))
}

fn public_key_of(text: &str) -> Result<PublicKey> {
    PublicKey::parse(text).map_err(|e| StoreError::Corrupt(format!("public key: {e}")))
}

fn key_id_of(text: &str) -> Result<KeyId> {
    KeyId::parse(text).map_err(|e| StoreError::Corrupt(format!("key id: {e}")))
}

fn signature_of(bytes: &[u8]) -> Result<convoy_core::signing::Signature> {
    let bytes: &[u8; 64] =
        bytes.try_into().map_err(|_| StoreError::Corrupt("a signature is 64 bytes".into()))?;
    Ok(convoy_core::signing::Signature::from_bytes(bytes))
}
