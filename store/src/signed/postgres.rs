//! The signed record on PostgreSQL.

use chrono::{DateTime, Utc};
use convoy_core::signing::PublicKey;

use super::{AuditSignature, DestructionRecord, NewDestruction, ServerKeyRecord};
use crate::audit::{seq_from_sql, seq_to_sql};
use crate::{PgStore, Result};

impl PgStore {
    pub(crate) async fn add_server_key(&self, key: &PublicKey, valid_from: DateTime<Utc>) -> Result<bool> {
        let added = self
            .client()
            .await?
            .execute(
                "INSERT INTO server_keys (key_id, public_key, valid_from) VALUES ($1, $2, $3)
                 ON CONFLICT (key_id) DO NOTHING",
                &[&key.id().to_string(), &key.to_string(), &valid_from],
            )
            .await?;
        Ok(added == 1)
    }

    pub(crate) async fn server_keys(&self) -> Result<Vec<ServerKeyRecord>> {
        let rows = self
            .client()
            .await?
            .query("SELECT key_id, public_key, valid_from FROM server_keys ORDER BY valid_from, key_id", &[])
            .await?;
        Ok(rows
            .iter()
            .map(|r| ServerKeyRecord { key_id: r.get(0), public_key: r.get(1), valid_from: r.get(2) })
            .collect())
    }

    pub(crate) async fn add_audit_signature(&self, s: &AuditSignature) -> Result<()> {
        self.client()
            .await?
            .execute(
                "INSERT INTO audit_signatures (seq, hash, key_id, signature, signed_at) VALUES ($1, $2, $3, $4, $5)",
                &[&seq_to_sql(s.seq)?, &s.hash, &s.key_id, &s.signature, &s.signed_at],
            )
            .await?;
        Ok(())
    }

    pub(crate) async fn audit_signatures(&self) -> Result<Vec<AuditSignature>> {
        let rows = self
            .client()
            .await?
            .query("SELECT seq, hash, key_id, signature, signed_at FROM audit_signatures ORDER BY id", &[])
            .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditSignature {
                    seq: seq_from_sql(r.get(0))?,
                    hash: r.get(1),
                    key_id: r.get(2),
                    signature: r.get(3),
                    signed_at: r.get(4),
                })
            })
            .collect()
    }

    pub(crate) async fn destruction_records(&self, limit: u32) -> Result<Vec<DestructionRecord>> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT id, at, record, key_id, signature FROM destruction_records ORDER BY id DESC LIMIT $1",
                &[&i64::from(limit)],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| DestructionRecord {
                id: r.get(0),
                at: r.get(1),
                record: r.get(2),
                key_id: r.get(3),
                signature: r.get(4),
            })
            .collect())
    }
}

/// Stores a purge's destruction record in the purge's transaction.
pub(crate) async fn insert_destruction(
    tx: &tokio_postgres::Transaction<'_>,
    new: NewDestruction,
) -> Result<DestructionRecord> {
    let id: i64 = tx
        .query_one(
            "INSERT INTO destruction_records (at, record, key_id, signature) VALUES ($1, $2, $3, $4) RETURNING id",
            &[&new.at, &new.record, &new.key_id, &new.signature],
        )
        .await?
        .get(0);
    Ok(new.stored(id))
}
