//! Checking the signed record: every audit head signature against the chain and a key valid
//! when it was made, and every destruction record's signature. Every row is checked and each
//! failure named; nothing in a row, however malformed, panics.

use chrono::{DateTime, Utc};
use convoy_core::signing::{PublicKey, Purpose, Signature};

use super::{audit_head_message, AuditSignature, Destruction, DestructionRecord};
use crate::{AuditFilter, Result, Store, GENESIS_HASH};

/// Which keys a signature may be by.
#[derive(Clone, Debug)]
pub enum TrustedKeys {
    /// The keys in the database's `server_keys`, each from its `valid_from`: enough against a
    /// changed row, not against the database's owner, who can add a key of their own.
    Stored,
    /// Only these keys, obtained separately (`convoy audit verify --server-key`).
    Given(Vec<PublicKey>),
}

/// What checking the signed record found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignedRecordVerdict {
    /// Audit head signatures checked, and the highest seq among those that hold.
    pub audit_signatures: u64,
    pub newest_signed_seq: Option<u64>,
    pub destruction_records: u64,
    /// Each failure, naming its row.
    pub problems: Vec<String>,
}

impl SignedRecordVerdict {
    pub fn holds(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The keys a signature may be by, each valid from a time (`None`: whenever).
struct KeyRing {
    keys: Vec<(PublicKey, Option<DateTime<Utc>>)>,
    /// Whether they are the keys given (`--server-key`), not the stored ones.
    given: bool,
}

impl KeyRing {
    async fn load(store: &Store, trusted: &TrustedKeys, problems: &mut Vec<String>) -> Result<KeyRing> {
        if let TrustedKeys::Given(keys) = trusted {
            return Ok(KeyRing { keys: keys.iter().map(|k| (*k, None)).collect(), given: true });
        }
        let mut ring = Vec::new();
        for row in store.server_keys().await? {
            match PublicKey::parse(&row.public_key) {
                Ok(key) if key.id().to_string() == row.key_id => ring.push((key, Some(row.valid_from))),
                Ok(key) => problems.push(format!(
                    "server key {}: its public key's id is {}, not the one recorded",
                    row.key_id,
                    key.id()
                )),
                Err(e) => problems.push(format!("server key {}: {e}", row.key_id)),
            }
        }
        Ok(KeyRing { keys: ring, given: false })
    }

    /// The key `key_id` names, valid at `at`.
    fn key(&self, key_id: &str, at: DateTime<Utc>) -> std::result::Result<&PublicKey, String> {
        let mut named = self.keys.iter().filter(|(k, _)| k.id().to_string() == key_id).peekable();
        if named.peek().is_none() {
            return Err(if self.given {
                format!("it is signed by key {key_id:?}, which is not one of the keys given (--server-key)")
            } else {
                format!("it is signed by key {key_id:?}, which is not a server key")
            });
        }
        named
            .find(|(_, from)| from.is_none_or(|from| from <= at))
            .map(|(k, _)| k)
            .ok_or_else(|| format!("it is signed by key {key_id}, which was not valid yet at {at}"))
    }
}

pub(super) async fn verify(store: &Store, trusted: &TrustedKeys) -> Result<SignedRecordVerdict> {
    let mut verdict = SignedRecordVerdict::default();
    let ring = KeyRing::load(store, trusted, &mut verdict.problems).await?;
    for signature in store.audit_signatures().await? {
        verdict.audit_signatures += 1;
        match check_audit_signature(store, &ring, &signature).await? {
            Ok(()) => verdict.newest_signed_seq = verdict.newest_signed_seq.max(Some(signature.seq)),
            Err(why) => verdict.problems.push(format!(
                "audit signature of entry {} (signed {}): {why}",
                signature.seq, signature.signed_at
            )),
        }
    }
    for record in store.destruction_records(u32::MAX).await? {
        verdict.destruction_records += 1;
        if let Err(why) = check_destruction(&ring, &record) {
            verdict.problems.push(format!("destruction record {} ({}): {why}", record.id, record.at));
        }
    }
    Ok(verdict)
}

pub(super) async fn check_one(
    store: &Store,
    trusted: &TrustedKeys,
    signature: &AuditSignature,
) -> Result<std::result::Result<(), String>> {
    let mut problems = Vec::new();
    let ring = KeyRing::load(store, trusted, &mut problems).await?;
    check_audit_signature(store, &ring, signature).await
}

/// Whether `signature` holds: the entry at its seq has the hash it signs, and it verifies.
async fn check_audit_signature(
    store: &Store,
    ring: &KeyRing,
    signature: &AuditSignature,
) -> Result<std::result::Result<(), String>> {
    let entry_hash = match signature.seq {
        0 => Some(GENESIS_HASH.to_string()),
        seq => {
            let filter = AuditFilter { after_seq: Some(seq - 1), limit: 1, ..Default::default() };
            store.audit_entries(&filter).await?.into_iter().find(|e| e.seq == seq).map(|e| e.hash)
        }
    };
    Ok(check_signed_head(ring, signature, entry_hash))
}

fn check_signed_head(
    ring: &KeyRing,
    signature: &AuditSignature,
    entry_hash: Option<String>,
) -> std::result::Result<(), String> {
    let Some(entry_hash) = entry_hash else {
        return Err("the audit log has no such entry".to_string());
    };
    if entry_hash != signature.hash {
        return Err(format!(
            "it signs hash {} but the entry's hash is {entry_hash} (the chain was rewritten from there on)",
            signature.hash
        ));
    }
    let message = audit_head_message(signature.seq, &signature.hash)
        .ok_or_else(|| format!("its hash {:?} is not 64 hex digits", signature.hash))?;
    check_signature(
        ring,
        &signature.key_id,
        &signature.signature,
        signature.signed_at,
        Purpose::AuditHead,
        &message,
    )
}

fn check_destruction(ring: &KeyRing, record: &DestructionRecord) -> std::result::Result<(), String> {
    check_signature(
        ring,
        &record.key_id,
        &record.signature,
        record.at,
        Purpose::Destruction,
        record.record.as_bytes(),
    )?;
    serde_json::from_str::<Destruction>(&record.record)
        .map(|_| ())
        .map_err(|e| format!("its record is signed but is not a destruction record ({e})"))
}

fn check_signature(
    ring: &KeyRing,
    key_id: &str,
    signature: &str,
    at: DateTime<Utc>,
    purpose: Purpose,
    message: &[u8],
) -> std::result::Result<(), String> {
    let signature = Signature::parse(signature).map_err(|e| format!("its signature does not read: {e}"))?;
    let key = ring.key(key_id, at)?;
    key.verify(purpose, message, &signature)
        .map_err(|_| format!("its signature does not verify under key {key_id}"))
}
