//! The audit log: who did what, when and from where, append-only and hash-chained.
//!
//! Every entry carries the SHA-256 of a canonical encoding of its own fields and of the previous
//! entry's hash, so changing, removing or reordering an entry breaks the chain where it happened,
//! and [`Store::verify_audit`] finds the first place. Entries get contiguous sequence numbers
//! from 1; appends are serialised (a write transaction on SQLite, an advisory lock on
//! PostgreSQL) so concurrent requests never fork the chain.
//!
//! The store also keeps the chain's head (last seq and hash, updated with every append): a
//! deletion of the newest entries that forgets the head is found. Someone who can write the
//! database can rewrite the head too; only a head recorded outside the database proves the tail
//! is all there: the server appends it to the head file (`head_file`) at start, hourly and at
//! stop, for `convoy audit verify --head-file`; `convoy audit verify` prints it too, for
//! `--expect-head`.

//!
//! The entry types and the chain's hashing are here, the walk that verifies the chain in
//! `chain`, and each backend's serialised append and reads in `sqlite` and `postgres`.

mod chain;
mod head_file;
mod postgres;
mod sqlite;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use sha2::{Digest, Sha256};

use crate::{Result, Store, StoreError};

pub use head_file::{append_audit_head, last_audit_head, last_audit_head_line};

/// The `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What a caller asks to record; the store adds the seq, the time and the chain.
#[derive(Clone, Debug, PartialEq)]
pub struct NewAuditEntry {
    /// The user name; `None` when nobody is known (a failed login with an unknown name: the
    /// name tried goes in `detail`).
    pub actor: Option<String>,
    /// A dot name, e.g. `login.ok`, `track.view`.
    pub action: String,
    /// What was acted on, e.g. a vehicle or move id.
    pub target: String,
    /// The client's address, where there is one.
    pub from_addr: Option<String>,
    pub detail: serde_json::Value,
}

/// A recorded entry, as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditEntry {
    pub seq: u64,
    /// Stored to the millisecond (what the hash covers).
    pub at: DateTime<Utc>,
    pub actor: Option<String>,
    pub action: String,
    pub target: String,
    pub from_addr: Option<String>,
    /// The detail as JSON text, exactly as hashed.
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEntry {
    /// The entry that follows `prev` (the head: seq 0 and [`GENESIS_HASH`] for the first).
    pub(crate) fn chained(prev: &AuditHead, at: DateTime<Utc>, new: &NewAuditEntry) -> AuditEntry {
        let mut entry = AuditEntry {
            seq: prev.seq + 1,
            at: at.trunc_subsecs(3),
            actor: new.actor.clone(),
            action: new.action.clone(),
            target: new.target.clone(),
            from_addr: new.from_addr.clone(),
            detail: new.detail.to_string(),
            prev_hash: prev.hash.clone(),
            hash: String::new(),
        };
        entry.hash = entry.computed_hash();
        entry
    }

    /// The detail as JSON (`null` if the stored text is not JSON: verification says so).
    pub fn detail_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.detail).unwrap_or(serde_json::Value::Null)
    }

    /// The hash the entry's fields give, as stored now.
    pub fn computed_hash(&self) -> String {
        self.hash_with_seq(self.seq)
    }

    /// SHA-256 (hex) of a JSON array of every field but the hash: strings are quoted and
    /// escaped, so no two different entries encode the same way (unlike plain concatenation).
    fn hash_with_seq(&self, seq: u64) -> String {
        let canonical = serde_json::json!([
            seq,
            self.at.to_rfc3339_opts(SecondsFormat::Millis, true),
            self.actor,
            self.action,
            self.target,
            self.from_addr,
            self.detail,
            self.prev_hash,
        ]);
        hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
    }

    fn head(&self) -> AuditHead {
        AuditHead { seq: self.seq, hash: self.hash.clone() }
    }
}

/// The chain's newest entry: what an auditor records to check later that nothing was cut off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditHead {
    pub seq: u64,
    pub hash: String,
}

impl AuditHead {
    /// The head of an empty log.
    pub fn genesis() -> Self {
        Self { seq: 0, hash: GENESIS_HASH.to_string() }
    }
}

/// `SEQ:HASH`, as `convoy audit verify` prints it and `--expect-head` takes it.
impl fmt::Display for AuditHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.seq, self.hash)
    }
}

impl FromStr for AuditHead {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let (seq, hash) = s.split_once(':').ok_or_else(|| format!("{s:?} is not SEQ:HASH"))?;
        let seq = seq.trim().parse().map_err(|_| format!("{seq:?} is not a sequence number"))?;
        let hash = hash.trim().to_ascii_lowercase();
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("{hash:?} is not a SHA-256 in hex (64 digits)"));
        }
        Ok(Self { seq, hash })
    }
}

/// Which entries to read; all bounds optional. Entries come in seq order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuditFilter {
    /// `at >= from`.
    pub from: Option<DateTime<Utc>>,
    /// `at < to`.
    pub to: Option<DateTime<Utc>>,
    pub actor: Option<String>,
    pub action: Option<String>,
    /// Only entries with a greater seq (for paging).
    pub after_seq: Option<u64>,
    /// At most this many; 0 means none.
    pub limit: u32,
}

/// How the chain is broken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditBreak {
    /// An entry's fields no longer give its hash, or its hash was recomputed after a change.
    Changed,
    /// Entries are missing: a gap in the seqs, or the log does not start at 1.
    Removed,
    /// An entry sits at another seq than it was written with.
    Reordered,
    /// The newest entries are gone: the log ends before the recorded or expected head.
    Truncated,
}

impl AuditBreak {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditBreak::Changed => "changed",
            AuditBreak::Removed => "removed",
            AuditBreak::Reordered => "reordered",
            AuditBreak::Truncated => "truncated",
        }
    }
}

/// The first place the chain is broken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditProblem {
    /// The first entry found bad (for a gap or a truncation: the first one missing).
    pub seq: u64,
    pub kind: AuditBreak,
    /// For a person: what was found.
    pub detail: String,
}

impl fmt::Display for AuditProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "entry {} {}: {}", self.seq, self.kind.as_str(), self.detail)
    }
}

/// What verifying the whole log found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditVerdict {
    /// Entries read.
    pub entries: u64,
    /// The last entry read (the genesis head for an empty log).
    pub head: AuditHead,
    /// `None` if the chain is intact (and reaches the expected head, if one was given).
    pub problem: Option<AuditProblem>,
}

impl AuditVerdict {
    pub fn intact(&self) -> bool {
        self.problem.is_none()
    }
}

/// The link a new entry follows: the stored head, or the last entry if the log is ahead of it
/// (a head row rewound or removed must not make two entries with one seq).
fn newest(head: Option<AuditHead>, last: Option<AuditHead>) -> AuditHead {
    match (head, last) {
        (Some(h), Some(l)) => {
            if l.seq > h.seq {
                l
            } else {
                h
            }
        }
        (Some(h), None) => h,
        (None, Some(l)) => l,
        (None, None) => AuditHead::genesis(),
    }
}

pub(crate) fn seq_to_sql(seq: u64) -> Result<i64> {
    i64::try_from(seq).map_err(|_| StoreError::Corrupt(format!("audit seq {seq} out of range")))
}

pub(crate) fn seq_from_sql(seq: i64) -> Result<u64> {
    u64::try_from(seq).map_err(|_| StoreError::Corrupt(format!("audit seq {seq} is negative")))
}

forward! {
    /// Appends an entry to the audit log, stamped with the clock, chained to the previous one.
    /// Appends are serialised: concurrent callers get contiguous seqs and one chain.
    pub async fn append_audit(&self, entry: &NewAuditEntry) -> Result<AuditEntry>;

    /// The entries matching `filter`, in seq order.
    pub async fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>>;

    /// The head row as the store recorded it at the last append, if there is one.
    async fn stored_audit_head(&self) -> Result<Option<AuditHead>>;

    /// The entry with the highest seq, whatever the head row says.
    async fn last_audit_entry(&self) -> Result<Option<AuditHead>>;
}

impl Store {
    /// The chain's newest entry as the store recorded it at the last append (the genesis head
    /// for an empty log).
    pub async fn audit_head(&self) -> Result<AuditHead> {
        let last = self.last_audit_entry().await?;
        Ok(newest(self.stored_audit_head().await?, last))
    }

    /// Reads the whole log in seq order, a page at a time, and checks that it starts at 1 with
    /// no gap, that every entry's fields give its hash and that it links to the previous hash,
    /// and that it reaches the head the store recorded and `expected` (a head recorded earlier
    /// outside the database), if given. Reports the first problem found.
    pub async fn verify_audit(&self, expected: Option<&AuditHead>) -> Result<AuditVerdict> {
        chain::verify(self, expected).await
    }
}
