//! The audit log on SQLite: an append takes the write lock at once (`BEGIN IMMEDIATE`), so
//! appends from several processes queue and never fork the chain. Times are milliseconds since
//! 1970.

use chrono::{TimeZone, Utc};
use rusqlite::{params, OptionalExtension, TransactionBehavior};

use super::{newest, seq_from_sql, seq_to_sql, AuditEntry, AuditFilter, AuditHead, NewAuditEntry};
use crate::{Result, SqliteStore, StoreError};

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
