//! The audit log on PostgreSQL: an append holds an advisory lock to its commit, so appends from
//! several processes queue and never fork the chain.

use chrono::Utc;

use super::{newest, seq_from_sql, seq_to_sql, AuditEntry, AuditFilter, AuditHead, NewAuditEntry};
use crate::{PgStore, Result};

/// Serialises appends from several processes on PostgreSQL.
const AUDIT_LOCK_KEY: i64 = 0x0061_7564_6974; // "audit"

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
