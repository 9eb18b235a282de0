//! The `signed` field of a v1 position batch, and the signed chain head it proves.
//!
//! ```json
//! {"v":1,"vehicle":"truck-07","positions":[...],
//!  "signed":{"key":"3f9a0c2e5b7d1846","prev":"<64 hex>","sig":"<base64 of 64 bytes>"}}
//! ```
//!
//! `prev` is the chain hash of the fix before the batch's first ([`GENESIS`] for a vehicle's
//! first fix); linking each position to the one before it ([`link`]) gives the batch's head,
//! the chain hash of its last fix. `sig` is the vehicle's key's signature, for
//! [`Purpose::BatchHead`], over the [`SignedHead`] message:
//!
//! ```text
//! vehicle    u8 length, then the id's UTF-8 bytes
//! seq        u64 big-endian: the last fix's
//! head       32 bytes: the last fix's chain hash
//! ```
//!
//! Each batch is signed (not every N fixes): every batch can then be verified whole when it
//! arrives, so nothing is ever stored waiting for a signature still to come, and a batch
//! costs the agent one signature (its cost, and the agent's share of CPU at 10 Hz, are measured
//! by `cargo bench -p convoy-agent --bench signing_cost` and `--bench agent_feed -- --key`:
//! docs/BENCHMARKS.md). The field is optional: a server that does not know it ignores it (unknown fields
//! are), and a batch without it is stored as unsigned.

use serde::{Deserialize, Serialize};

use super::chain::{link_in, ChainHash, GENESIS, MAX_FIX_BYTES};
use super::keys::{KeyError, KeyId, PublicKey, Purpose, SecretKey, Signature};
use crate::position::Position;
use crate::vehicle::VehicleId;

/// The `signed` field of a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchSignature {
    pub key: KeyId,
    pub prev: ChainHash,
    pub sig: Signature,
}

/// A chain head signed by a vehicle's key: what a batch proves, kept with the track and put in
/// evidence bundles, where it is checked without the batch it came in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedHead {
    pub vehicle: VehicleId,
    pub seq: u64,
    pub head: ChainHash,
    pub key: KeyId,
    pub sig: Signature,
}

/// Why a signed batch does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the batch's positions are not in rising seq order")]
    OutOfOrder,
    #[error("the batch is signed by key {0}, which does not match the key given to verify it")]
    WrongKey(KeyId),
    #[error("{0}")]
    Key(#[from] KeyError),
}

impl SignatureError {
    pub fn reason(&self) -> &'static str {
        match self {
            SignatureError::OutOfOrder => "chain_out_of_order",
            SignatureError::WrongKey(_) => "wrong_key",
            SignatureError::Key(e) => e.reason(),
        }
    }
}

impl SignedHead {
    /// The bytes the signature is over (see the module's docs).
    pub fn message(vehicle: &VehicleId, seq: u64, head: &ChainHash) -> Vec<u8> {
        let id = vehicle.as_str().as_bytes();
        let mut out = Vec::with_capacity(1 + id.len() + 8 + 32);
        out.push(id.len() as u8);
        out.extend_from_slice(id);
        out.extend_from_slice(&seq.to_be_bytes());
        out.extend_from_slice(&head.0);
        out
    }

    pub fn verify(&self, key: &PublicKey) -> Result<(), SignatureError> {
        if key.id() != self.key {
            return Err(SignatureError::WrongKey(self.key));
        }
        key.verify(Purpose::BatchHead, &Self::message(&self.vehicle, self.seq, &self.head), &self.sig)?;
        Ok(())
    }

    /// Verifies many heads at once (Ed25519 batch verification, cheaper per signature than one by
    /// one). On failure, says nothing of which failed: verify them one by one to find it.
    pub fn verify_all(heads: &[(&SignedHead, &PublicKey)]) -> Result<(), SignatureError> {
        let mut messages = Vec::with_capacity(heads.len());
        for (head, key) in heads {
            if key.id() != head.key {
                return Err(SignatureError::WrongKey(head.key));
            }
            messages.push(Purpose::BatchHead.message(&Self::message(&head.vehicle, head.seq, &head.head)));
        }
        let messages: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
        let signatures: Vec<_> = heads.iter().map(|(head, _)| *head.sig.dalek()).collect();
        let keys: Vec<_> = heads.iter().map(|(_, key)| *key.dalek()).collect();
        ed25519_dalek::verify_batch(&messages, &signatures, &keys)
            .map_err(|_| SignatureError::Key(KeyError::SignatureMismatch))
    }
}

/// Each of `positions`' prev (the chain hash of the fix before it) and the chain hash of the
/// last (the head), linked from `prev`; `None` for no positions, or positions not in rising seq
/// order. The one walk of a batch's chain, for signing, verifying and storing alike.
pub fn chain_links(
    prev: &ChainHash,
    vehicle: &VehicleId,
    positions: &[Position],
) -> Option<(Vec<ChainHash>, ChainHash)> {
    let mut prevs = Vec::with_capacity(positions.len());
    let mut head = *prev;
    let mut last_seq = None;
    let mut buffer = Vec::with_capacity(MAX_FIX_BYTES);
    for p in positions {
        if last_seq.is_some_and(|last| p.seq <= last) {
            return None;
        }
        last_seq = Some(p.seq);
        prevs.push(head);
        head = link_in(&mut buffer, &head, vehicle, p);
    }
    last_seq.map(|_| (prevs, head))
}

fn chain_head(prev: &ChainHash, vehicle: &VehicleId, positions: &[Position]) -> Option<ChainHash> {
    chain_links(prev, vehicle, positions).map(|(_, head)| head)
}

impl BatchSignature {
    /// Signs `positions` (rising seqs, at least one) linked from `prev` with `key`. Returns the
    /// field and the batch's head (the `prev` of the next batch).
    pub fn sign(
        key: &SecretKey,
        vehicle: &VehicleId,
        prev: &ChainHash,
        positions: &[Position],
    ) -> Result<(BatchSignature, ChainHash), SignatureError> {
        let head = chain_head(prev, vehicle, positions).ok_or(SignatureError::OutOfOrder)?;
        let last = positions.last().map_or(0, |p| p.seq);
        let sig = key.sign(Purpose::BatchHead, &SignedHead::message(vehicle, last, &head));
        Ok((BatchSignature { key: key.public().id(), prev: *prev, sig }, head))
    }

    /// The head this field claims for `positions`, to verify (with [`SignedHead::verify`] or,
    /// for many, [`SignedHead::verify_all`]).
    pub fn head(&self, vehicle: &VehicleId, positions: &[Position]) -> Result<SignedHead, SignatureError> {
        let head = chain_head(&self.prev, vehicle, positions).ok_or(SignatureError::OutOfOrder)?;
        let seq = positions.last().map_or(0, |p| p.seq);
        Ok(SignedHead { vehicle: vehicle.clone(), seq, head, key: self.key, sig: self.sig })
    }

    /// Whether this batch starts a vehicle's chain.
    pub fn starts_chain(&self) -> bool {
        self.prev == GENESIS
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn fixes(seqs: std::ops::RangeInclusive<u64>) -> Vec<Position> {
        let t0 = Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap();
        seqs.map(|s| Position::bare(s, t0 + chrono::Duration::seconds(s as i64), 42.5 + s as f64 * 1e-4, 1.5))
            .collect()
    }

    fn truck() -> VehicleId {
        VehicleId::new("truck-07").unwrap()
    }

    #[test]
    fn a_signed_batch_verifies_and_its_head_starts_the_next() {
        let key = SecretKey::generate();
        let (first, head) = BatchSignature::sign(&key, &truck(), &GENESIS, &fixes(1..=5)).unwrap();
        let (second, _) = BatchSignature::sign(&key, &truck(), &head, &fixes(6..=9)).unwrap();
        assert!(first.starts_chain() && !second.starts_chain());
        assert_eq!(second.prev, head);
        let heads =
            [first.head(&truck(), &fixes(1..=5)).unwrap(), second.head(&truck(), &fixes(6..=9)).unwrap()];
        for h in &heads {
            assert_eq!(h.verify(&key.public()), Ok(()));
        }
        let public = key.public();
        assert_eq!(SignedHead::verify_all(&[(&heads[0], &public), (&heads[1], &public)]), Ok(()));
    }

    #[test]
    fn a_changed_fix_another_key_or_another_vehicle_fails() {
        let key = SecretKey::generate();
        let (signed, _) = BatchSignature::sign(&key, &truck(), &GENESIS, &fixes(1..=5)).unwrap();
        let mut changed = fixes(1..=5);
        changed[2].lon += 1e-7;
        let claim = signed.head(&truck(), &changed).unwrap();
        assert_eq!(claim.verify(&key.public()).unwrap_err().reason(), "bad_signature");
        let other = SecretKey::generate().public();
        let claim = signed.head(&truck(), &fixes(1..=5)).unwrap();
        assert_eq!(claim.verify(&other).unwrap_err().reason(), "wrong_key");
        let elsewhere = signed.head(&VehicleId::new("truck-08").unwrap(), &fixes(1..=5)).unwrap();
        assert_eq!(elsewhere.verify(&key.public()).unwrap_err().reason(), "bad_signature");
        let mut swapped = fixes(1..=5);
        swapped.swap(1, 2);
        assert_eq!(signed.head(&truck(), &swapped).unwrap_err().reason(), "chain_out_of_order");
        let bad = SignedHead { seq: 6, ..signed.head(&truck(), &fixes(1..=5)).unwrap() };
        let public = key.public();
        assert!(SignedHead::verify_all(&[(&claim, &public), (&bad, &public)]).is_err());
    }

    #[test]
    fn the_field_reads_back_and_refuses_what_is_not_it() {
        let key = SecretKey::generate();
        let (signed, _) = BatchSignature::sign(&key, &truck(), &GENESIS, &fixes(1..=2)).unwrap();
        let text = serde_json::to_string(&signed).unwrap();
        assert_eq!(serde_json::from_str::<BatchSignature>(&text).unwrap(), signed);
        for bad in [
            r#"{"key":"00","prev":"00","sig":"AA=="}"#,
            r#"{"key":"0011223344556677","prev":"zz","sig":"AA=="}"#,
            r#"{"key":"0011223344556677"}"#,
        ] {
            assert!(serde_json::from_str::<BatchSignature>(bad).is_err(), "{bad}");
        }
    }
}
