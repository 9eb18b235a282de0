//! The signed record on SQLite. Times are milliseconds since 1970.

use chrono::{DateTime, Utc};
use convoy_core::signing::PublicKey;
use rusqlite::params;

use super::{AuditSignature, DestructionRecord, NewDestruction, ServerKeyRecord};
use crate::audit::{seq_from_sql, seq_to_sql};
use crate::sqlite::from_millis;
use crate::{Result, SqliteStore};

impl SqliteStore {
    pub(crate) async fn add_server_key(&self, key: &PublicKey, valid_from: DateTime<Utc>) -> Result<bool> {
        let (id, text) = (key.id().to_string(), key.to_string());
        self.with(move |conn| {
            let added = conn.execute(
                "INSERT INTO server_keys (key_id, public_key, valid_from_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT (key_id) DO NOTHING",
                params![id, text, valid_from.timestamp_millis()],
            )?;
            Ok(added == 1)
        })
        .await
    }

    pub(crate) async fn server_keys(&self) -> Result<Vec<ServerKeyRecord>> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT key_id, public_key, valid_from_ms FROM server_keys ORDER BY valid_from_ms, key_id",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)?)))?;
            let mut out = Vec::new();
            for row in rows {
                let (key_id, public_key, from) = row?;
                out.push(ServerKeyRecord { key_id, public_key, valid_from: from_millis(from)? });
            }
            Ok(out)
        })
        .await
    }

    pub(crate) async fn add_audit_signature(&self, signature: &AuditSignature) -> Result<()> {
        let s = signature.clone();
        self.with(move |conn| {
            conn.execute(
                "INSERT INTO audit_signatures (seq, hash, key_id, signature, signed_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![seq_to_sql(s.seq)?, s.hash, s.key_id, s.signature, s.signed_at.timestamp_millis()],
            )?;
            Ok(())
        })
        .await
    }

    pub(crate) async fn audit_signatures(&self) -> Result<Vec<AuditSignature>> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT seq, hash, key_id, signature, signed_at_ms FROM audit_signatures ORDER BY id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((r.get::<_, i64>(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get::<_, i64>(4)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (seq, hash, key_id, signature, at) = row?;
                out.push(AuditSignature {
                    seq: seq_from_sql(seq)?,
                    hash,
                    key_id,
                    signature,
                    signed_at: from_millis(at)?,
                });
            }
            Ok(out)
        })
        .await
    }

    pub(crate) async fn destruction_records(&self, limit: u32) -> Result<Vec<DestructionRecord>> {
        self.with(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, at_ms, record, key_id, signature FROM destruction_records ORDER BY id DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit], |r| {
                Ok((r.get(0)?, r.get::<_, i64>(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (id, at, record, key_id, signature) = row?;
                out.push(DestructionRecord { id, at: from_millis(at)?, record, key_id, signature });
            }
            Ok(out)
        })
        .await
    }
}

/// Stores a purge's destruction record in the purge's transaction.
pub(crate) fn insert_destruction(
    tx: &rusqlite::Transaction<'_>,
    new: NewDestruction,
) -> Result<DestructionRecord> {
    tx.execute(
        "INSERT INTO destruction_records (at_ms, record, key_id, signature) VALUES (?1, ?2, ?3, ?4)",
        params![new.at.timestamp_millis(), new.record, new.key_id, new.signature],
    )?;
    Ok(new.stored(tx.last_insert_rowid()))
}
