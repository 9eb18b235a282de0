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
//! database can rewrite the head too; only a head recorded outside the database (printed by
//! `convoy audit verify`, compared later with `--expect-head`) proves the tail is all there.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, SubsecRound, TimeZone, Utc};
use rusqlite::{params, OptionalExtension, TransactionBehavior};
use sha2::{Digest, Sha256};

use crate::{PgStore, Result, SqliteStore, Store, StoreError};

/// The `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Serialises appends from several processes on PostgreSQL.
const AUDIT_LOCK_KEY: i64 = 0x0061_7564_6974; // "audit"

/// Entries read per round trip when verifying.
const VERIFY_PAGE: u32 = 1000;

/// How far from its place a moved entry is looked for, to tell "reordered" from "changed".
const MOVED_WINDOW: u64 = 2 * VERIFY_PAGE as u64;

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

/// Walks the chain one entry at a time, in seq order, remembering what a later check needs.
struct ChainWalk {
    last: AuditHead,
    entries: u64,
    /// Heads the chain must pass through: the stored head and the auditor's expected one.
    checkpoints: Vec<(AuditHead, &'static str)>,
}

impl ChainWalk {
    fn new(checkpoints: Vec<(AuditHead, &'static str)>) -> Self {
        Self { last: AuditHead::genesis(), entries: 0, checkpoints }
    }

    fn step(&mut self, entry: &AuditEntry) -> std::result::Result<(), AuditProblem> {
        let expected_seq = self.last.seq + 1;
        if entry.seq > expected_seq {
            let missing = if entry.seq == expected_seq + 1 {
                format!("entry {expected_seq} is missing")
            } else {
                format!("entries {expected_seq} to {} are missing", entry.seq - 1)
            };
            return Err(problem(expected_seq, AuditBreak::Removed, missing));
        }
        if entry.seq < expected_seq {
            let detail = format!("seq {} comes after seq {}", entry.seq, self.last.seq);
            return Err(problem(entry.seq, AuditBreak::Reordered, detail));
        }
        let content_ok = entry.computed_hash() == entry.hash;
        let link_ok = entry.prev_hash == self.last.hash;
        if !content_ok {
            if let Some(written_as) = written_seq(entry) {
                let detail = format!("it was written as entry {written_as}");
                return Err(problem(entry.seq, AuditBreak::Reordered, detail));
            }
            let detail = "its fields no longer give its hash".to_string();
            return Err(problem(entry.seq, AuditBreak::Changed, detail));
        }
        if !link_ok {
            // The entry is as it was written, but what came before it is not: the previous
            // entry was changed and given a new hash (or replaced).
            return Err(match entry.seq {
                1 => problem(1, AuditBreak::Changed, "it does not start from the genesis hash".into()),
                seq => problem(
                    seq - 1,
                    AuditBreak::Changed,
                    format!("its hash was rewritten: entry {seq} still links to the original"),
                ),
            });
        }
        for (checkpoint, what) in &self.checkpoints {
            if checkpoint.seq == entry.seq && checkpoint.hash != entry.hash {
                let detail = format!("its hash differs from the {what} ({checkpoint})");
                return Err(problem(entry.seq, AuditBreak::Changed, detail));
            }
        }
        self.last = entry.head();
        self.entries += 1;
        Ok(())
    }

    fn finish(self) -> AuditVerdict {
        let problem = self.checkpoints.iter().find(|(c, _)| c.seq > self.last.seq).map(|(c, what)| {
            let detail = format!("the log ends at entry {} but the {what} is {c}", self.last.seq);
            problem(self.last.seq + 1, AuditBreak::Truncated, detail)
        });
        AuditVerdict { entries: self.entries, head: self.last, problem }
    }

    fn broken(self, problem: AuditProblem) -> AuditVerdict {
        AuditVerdict { entries: self.entries, head: self.last, problem: Some(problem) }
    }
}

fn problem(seq: u64, kind: AuditBreak, detail: String) -> AuditProblem {
    AuditProblem { seq, kind, detail }
}

/// The seq an entry whose hash fails was written with, if it is near and nothing else changed.
fn written_seq(entry: &AuditEntry) -> Option<u64> {
    let low = entry.seq.saturating_sub(MOVED_WINDOW).max(1);
    (low..=entry.seq + MOVED_WINDOW).find(|&seq| seq != entry.seq && entry.hash_with_seq(seq) == entry.hash)
}

/// Reads the whole log in seq order and checks the chain; see [`Store::verify_audit`].
pub(crate) async fn verify(store: &Store, expected: Option<&AuditHead>) -> Result<AuditVerdict> {
    // The stored head is read first: entries appended during the walk are then after it.
    let mut checkpoints = Vec::new();
    if let Some(stored) = store.stored_audit_head().await? {
        checkpoints.push((stored, "head the store recorded"));
    }
    if let Some(expected) = expected {
        checkpoints.push((expected.clone(), "expected head"));
    }
    let mut walk = ChainWalk::new(checkpoints);
    let mut after_seq = 0;
    loop {
        let filter = AuditFilter { after_seq: Some(after_seq), limit: VERIFY_PAGE, ..Default::default() };
        let page = store.audit_entries(&filter).await?;
        for entry in &page {
            if let Err(problem) = walk.step(entry) {
                return Ok(walk.broken(problem));
            }
        }
        match page.last() {
            Some(last) if page.len() == VERIFY_PAGE as usize => after_seq = last.seq,
            _ => return Ok(walk.finish()),
        }
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

fn seq_to_sql(seq: u64) -> Result<i64> {
    i64::try_from(seq).map_err(|_| StoreError::Corrupt(format!("audit seq {seq} out of range")))
}

fn seq_from_sql(seq: i64) -> Result<u64> {
    u64::try_from(seq).map_err(|_| StoreError::Corrupt(format!("audit seq {seq} is negative")))
}

impl SqliteStore {
    pub(crate) async fn append_audit(&self, new: &NewAuditEntry) -> Result<AuditEntry> {
        let new = new.clone();
        self.with(move |conn| {
            // IMMEDIATE takes the write lock at once: another process appending waits here.
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let prev = newest(sqlite_stored_head(&tx)?, sqlite_last_entry(&tx)?);
            let entry = AuditEntry::chained(&prev, Utc::now(), &new);
            tx.execute(
                "INSERT INTO audit_log (seq, at_ms, actor, action, target, from_addr, detail, prev_hash, hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    seq_to_sql(entry.seq)?,
                    entry.at.timestamp_millis(),
                    entry.actor,
                    entry.action,
                    entry.target,
                    entry.from_addr,
                    entry.detail,
                    entry.prev_hash,
                    entry.hash
                ],
            )?;
            tx.execute(
                "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
                params![seq_to_sql(entry.seq)?, entry.hash],
            )?;
            tx.commit()?;
            Ok(entry)
        })
        .await
    }

    pub(crate) async fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let filter = filter.clone();
        self.with(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT seq, at_ms, actor, action, target, from_addr, detail, prev_hash, hash FROM audit_log
                 WHERE seq > ?1 AND (?2 IS NULL OR at_ms >= ?2) AND (?3 IS NULL OR at_ms < ?3)
                   AND (?4 IS NULL OR actor = ?4) AND (?5 IS NULL OR action = ?5)
                 ORDER BY seq LIMIT ?6",
            )?;
            let rows = stmt.query_map(
                params![
                    seq_to_sql(filter.after_seq.unwrap_or(0))?,
                    filter.from.map(|t| t.timestamp_millis()),
                    filter.to.map(|t| t.timestamp_millis()),
                    filter.actor,
                    filter.action,
                    filter.limit
                ],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                        r.get(8)?,
                    ))
                },
            )?;
            let mut entries = Vec::new();
            for row in rows {
                let (seq, at_ms, actor, action, target, from_addr, detail, prev_hash, hash) = row?;
                let at = Utc
                    .timestamp_millis_opt(at_ms)
                    .single()
                    .ok_or_else(|| StoreError::Corrupt(format!("audit time {at_ms} out of range")))?;
                entries.push(AuditEntry {
                    seq: seq_from_sql(seq)?,
                    at,
                    actor,
                    action,
                    target,
                    from_addr,
                    detail,
                    prev_hash,
                    hash,
                });
            }
            Ok(entries)
        })
        .await
    }

    pub(crate) async fn stored_audit_head(&self) -> Result<Option<AuditHead>> {
        self.with(|conn| sqlite_stored_head(conn)).await
    }

    pub(crate) async fn last_audit_entry(&self) -> Result<Option<AuditHead>> {
        self.with(|conn| sqlite_last_entry(conn)).await
    }
}

fn sqlite_stored_head(conn: &rusqlite::Connection) -> Result<Option<AuditHead>> {
    sqlite_head_query(conn, "SELECT seq, hash FROM audit_head WHERE id = 1")
}

fn sqlite_last_entry(conn: &rusqlite::Connection) -> Result<Option<AuditHead>> {
    sqlite_head_query(conn, "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
}

fn sqlite_head_query(conn: &rusqlite::Connection, sql: &str) -> Result<Option<AuditHead>> {
    let row = conn.query_row(sql, [], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))).optional()?;
    row.map(|(seq, hash)| Ok(AuditHead { seq: seq_from_sql(seq)?, hash })).transpose()
}

impl PgStore {
    pub(crate) async fn append_audit(&self, new: &NewAuditEntry) -> Result<AuditEntry> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Held to the commit: one append at a time, whichever process makes it.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&AUDIT_LOCK_KEY]).await?;
        let head = pg_head_query(&tx, "SELECT seq, hash FROM audit_head WHERE id = 1").await?;
        let last = pg_head_query(&tx, "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").await?;
        let entry = AuditEntry::chained(&newest(head, last), Utc::now(), new);
        tx.execute(
            "INSERT INTO audit_log (seq, at, actor, action, target, from_addr, detail, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                &seq_to_sql(entry.seq)?,
                &entry.at,
                &entry.actor,
                &entry.action,
                &entry.target,
                &entry.from_addr,
                &entry.detail,
                &entry.prev_hash,
                &entry.hash,
            ],
        )
        .await?;
        tx.execute(
            "INSERT INTO audit_head (id, seq, hash) VALUES (1, $1, $2)
             ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
            &[&seq_to_sql(entry.seq)?, &entry.hash],
        )
        .await?;
        tx.commit().await?;
        Ok(entry)
    }

    pub(crate) async fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT seq, at, actor, action, target, from_addr, detail, prev_hash, hash FROM audit_log
                 WHERE seq > $1 AND ($2::timestamptz IS NULL OR at >= $2)
                   AND ($3::timestamptz IS NULL OR at < $3)
                   AND ($4::text IS NULL OR actor = $4) AND ($5::text IS NULL OR action = $5)
                 ORDER BY seq LIMIT $6",
                &[
                    &seq_to_sql(filter.after_seq.unwrap_or(0))?,
                    &filter.from,
                    &filter.to,
                    &filter.actor,
                    &filter.action,
                    &i64::from(filter.limit),
                ],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    seq: seq_from_sql(r.get(0))?,
                    at: r.get(1),
                    actor: r.get(2),
                    action: r.get(3),
                    target: r.get(4),
                    from_addr: r.get(5),
                    detail: r.get(6),
                    prev_hash: r.get(7),
                    hash: r.get(8),
                })
            })
            .collect()
    }

    pub(crate) async fn stored_audit_head(&self) -> Result<Option<AuditHead>> {
        let client = self.client().await?;
        pg_head_query(&client, "SELECT seq, hash FROM audit_head WHERE id = 1").await
    }

    pub(crate) async fn last_audit_entry(&self) -> Result<Option<AuditHead>> {
        let client = self.client().await?;
        pg_head_query(&client, "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").await
    }
}

async fn pg_head_query(
    client: &impl deadpool_postgres::GenericClient,
    sql: &str,
) -> Result<Option<AuditHead>> {
    let row = client.query_opt(sql, &[]).await?;
    row.map(|r| Ok(AuditHead { seq: seq_from_sql(r.get(0))?, hash: r.get(1) })).transpose()
}

impl Store {
    /// Appends an entry to the audit log, stamped with the clock, chained to the previous one.
    /// Appends are serialised: concurrent callers get contiguous seqs and one chain.
    pub async fn append_audit(&self, entry: &NewAuditEntry) -> Result<AuditEntry> {
        match self {
            Store::Sqlite(s) => s.append_audit(entry).await,
            Store::Postgres(s) => s.append_audit(entry).await,
        }
    }

    /// The entries matching `filter`, in seq order.
    pub async fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        match self {
            Store::Sqlite(s) => s.audit_entries(filter).await,
            Store::Postgres(s) => s.audit_entries(filter).await,
        }
    }

    /// The chain's newest entry as the store recorded it at the last append (the genesis head
    /// for an empty log).
    pub async fn audit_head(&self) -> Result<AuditHead> {
        let last = match self {
            Store::Sqlite(s) => s.last_audit_entry().await?,
            Store::Postgres(s) => s.last_audit_entry().await?,
        };
        Ok(newest(self.stored_audit_head().await?, last))
    }

    async fn stored_audit_head(&self) -> Result<Option<AuditHead>> {
        match self {
            Store::Sqlite(s) => s.stored_audit_head().await,
            Store::Postgres(s) => s.stored_audit_head().await,
        }
    }

    /// Reads the whole log in seq order, a page at a time, and checks that it starts at 1 with
    /// no gap, that every entry's fields give its hash and that it links to the previous hash,
    /// and that it reaches the head the store recorded and `expected` (a head recorded earlier
    /// outside the database), if given. Reports the first problem found.
    pub async fn verify_audit(&self, expected: Option<&AuditHead>) -> Result<AuditVerdict> {
        verify(self, expected).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(target: &str) -> NewAuditEntry {
        NewAuditEntry {
            actor: Some("ana".into()),
            action: "track.view".into(),
            target: target.into(),
            from_addr: Some("127.0.0.1".into()),
            detail: serde_json::json!({ "from": "2026-11-28T09:00:00Z" }),
        }
    }

    fn chain(n: u64) -> Vec<AuditEntry> {
        let t = Utc.with_ymd_and_hms(2026, 11, 28, 9, 0, 0).unwrap();
        let mut head = AuditHead::genesis();
        (0..n)
            .map(|i| {
                let entry = AuditEntry::chained(
                    &head,
                    t + chrono::Duration::seconds(i as i64),
                    &new(&format!("truck-{i}")),
                );
                head = entry.head();
                entry
            })
            .collect()
    }

    fn walk(entries: &[AuditEntry], checkpoints: Vec<(AuditHead, &'static str)>) -> AuditVerdict {
        let mut walk = ChainWalk::new(checkpoints);
        for entry in entries {
            if let Err(problem) = walk.step(entry) {
                return walk.broken(problem);
            }
        }
        walk.finish()
    }

    #[test]
    fn an_intact_chain_verifies_and_ends_at_its_head() {
        let entries = chain(5);
        let verdict = walk(&entries, vec![]);
        assert!(verdict.intact(), "{verdict:?}");
        assert_eq!((verdict.entries, verdict.head.clone()), (5, entries[4].head()));
        assert_eq!(entries[0].prev_hash, GENESIS_HASH);
    }

    #[test]
    fn fields_that_concatenate_alike_hash_differently() {
        let mut a = new("ab");
        a.actor = Some("x".into());
        let mut b = new("b");
        b.actor = Some("xa".into());
        let t = Utc::now();
        let (a, b) = (
            AuditEntry::chained(&AuditHead::genesis(), t, &a),
            AuditEntry::chained(&AuditHead::genesis(), t, &b),
        );
        assert_ne!(a.hash, b.hash);
    }

    #[test]
    fn a_changed_field_is_found_at_its_entry() {
        let mut entries = chain(5);
        entries[2].target = "truck-99".into();
        let problem = walk(&entries, vec![]).problem.unwrap();
        assert_eq!((problem.seq, problem.kind), (3, AuditBreak::Changed));
    }

    #[test]
    fn a_changed_entry_with_a_recomputed_hash_is_found_by_the_next_link() {
        let mut entries = chain(5);
        entries[2].target = "truck-99".into();
        entries[2].hash = entries[2].computed_hash();
        let problem = walk(&entries, vec![]).problem.unwrap();
        assert_eq!((problem.seq, problem.kind), (3, AuditBreak::Changed));
    }

    #[test]
    fn a_removed_entry_is_a_gap() {
        let mut entries = chain(5);
        entries.remove(1);
        let problem = walk(&entries, vec![]).problem.unwrap();
        assert_eq!((problem.seq, problem.kind), (2, AuditBreak::Removed));
        let problem = walk(&chain(3)[1..], vec![]).problem.unwrap();
        assert_eq!((problem.seq, problem.kind), (1, AuditBreak::Removed));
    }

    #[test]
    fn swapped_seqs_are_found_as_reordered() {
        let mut entries = chain(5);
        entries[2].seq = 4;
        entries[3].seq = 3;
        entries.swap(2, 3);
        let problem = walk(&entries, vec![]).problem.unwrap();
        assert_eq!((problem.seq, problem.kind), (3, AuditBreak::Reordered), "{problem}");
        assert!(problem.detail.contains("written as entry 4"), "{problem}");
    }

    #[test]
    fn a_cut_tail_is_found_against_a_recorded_head() {
        let entries = chain(5);
        let verdict = walk(&entries[..3], vec![(entries[4].head(), "expected head")]);
        let problem = verdict.problem.unwrap();
        assert_eq!((problem.seq, problem.kind), (4, AuditBreak::Truncated));
        let mut other = entries[1].head();
        other.hash = GENESIS_HASH.into();
        let problem = walk(&entries, vec![(other, "expected head")]).problem.unwrap();
        assert_eq!((problem.seq, problem.kind), (2, AuditBreak::Changed));
    }

    #[test]
    fn a_head_reads_back_from_its_text() {
        let head = chain(1)[0].head();
        assert_eq!(head.to_string().parse::<AuditHead>().unwrap(), head);
        assert!("12".parse::<AuditHead>().is_err());
        assert!("x:abc".parse::<AuditHead>().is_err());
        assert!("3:abc".parse::<AuditHead>().is_err());
    }
}
