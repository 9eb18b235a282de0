//! Legal holds and purges on SQLite: the positions table is one table, so a purge deletes row
//! by row. Times are milliseconds since 1970.

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::{LegalHold, PurgeReport};
use crate::sqlite::from_millis;
use crate::{Result, SqliteStore};

impl SqliteStore {
    pub async fn add_legal_hold(&self, hold: &LegalHold) -> Result<i64> {
        let hold = hold.clone();
        self.with(move |conn| {
            conn.execute(
                "INSERT INTO legal_holds (vehicle, move_id, from_ms, to_ms, reason, created_by, created_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    hold.vehicle.as_ref().map(|v| v.as_str()),
                    hold.move_id,
                    hold.from.timestamp_millis(),
                    hold.to.timestamp_millis(),
                    hold.reason,
                    hold.created_by,
                    Utc::now().timestamp_millis()
                ],
            )?;
            Ok(conn.last_insert_rowid())
        })
        .await
    }

    pub async fn release_legal_hold(&self, id: i64, now: DateTime<Utc>) -> Result<bool> {
        self.with(move |conn| {
            let changed = conn.execute(
                "UPDATE legal_holds SET released_ms = ?2 WHERE id = ?1 AND released_ms IS NULL",
                params![id, now.timestamp_millis()],
            )?;
            Ok(changed == 1)
        })
        .await
    }

    pub async fn purge(&self, cutoff: DateTime<Utc>, now: DateTime<Utc>) -> Result<PurgeReport> {
        self.with(move |conn| {
            let cutoff_ms = cutoff.timestamp_millis();
            let tx = conn.transaction()?;
            let not_held = "NOT EXISTS (SELECT 1 FROM legal_holds h WHERE h.released_ms IS NULL
                              AND (h.vehicle IS NULL OR h.vehicle = p.vehicle)
                              AND p.t_ms >= h.from_ms AND p.t_ms < h.to_ms)";
            let positions_deleted =
                tx.execute(&format!("DELETE FROM positions AS p WHERE t_ms < ?1 AND {not_held}"), [cutoff_ms])?;
            tx.execute(&format!("DELETE FROM vehicle_latest AS p WHERE t_ms < ?1 AND {not_held}"), [cutoff_ms])?;
            let positions_held: i64 =
                tx.query_row("SELECT count(*) FROM positions WHERE t_ms < ?1", [cutoff_ms], |r| r.get(0))?;
            let dead_letters_deleted = tx.execute("DELETE FROM dead_letters WHERE received_ms < ?1", [cutoff_ms])?;
            // Moves, alerts, their transitions and deliveries are kept: they are the record.
            tx.execute("DELETE FROM agent_status_log WHERE received_ms < ?1", [cutoff_ms])?;
            let report = PurgeReport {
                ran_at: now,
                cutoff,
                positions_deleted: positions_deleted as u64,
                partitions_dropped: 0,
                positions_held: positions_held as u64,
                dead_letters_deleted: dead_letters_deleted as u64,
            };
            tx.execute(
                "INSERT INTO purges (ran_ms, cutoff_ms, positions_deleted, partitions_dropped, positions_held,
                                     dead_letters_deleted)
                 VALUES (?1, ?2, ?3, 0, ?4, ?5)",
                params![now.timestamp_millis(), cutoff_ms, positions_deleted as i64, positions_held, dead_letters_deleted as i64],
            )?;
            tx.commit()?;
            Ok(report)
        })
        .await
    }

    pub async fn purges(&self, limit: u32) -> Result<Vec<PurgeReport>> {
        self.with(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT ran_ms, cutoff_ms, positions_deleted, partitions_dropped, positions_held, dead_letters_deleted
                 FROM purges ORDER BY id DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?, r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?, r.get::<_, i64>(5)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (ran, cutoff, deleted, dropped, held, dead) = row?;
                out.push(PurgeReport {
                    ran_at: from_millis(ran)?,
                    cutoff: from_millis(cutoff)?,
                    positions_deleted: deleted as u64,
                    partitions_dropped: dropped as u64,
                    positions_held: held as u64,
                    dead_letters_deleted: dead as u64,
                });
            }
            Ok(out)
        })
        .await
    }
}
