//! Legal holds and purges on SQLite: the positions table is one table, so a purge deletes row
//! by row. Times are milliseconds since 1970.

use chrono::{DateTime, Utc};
use rusqlite::params;

use convoy_core::VehicleId;

use super::{
    held_by_from_json, HeldPositions, HoldRecord, HoldRelease, LegalHold, PurgeReport, ReleaseOutcome,
};
use crate::signed::sqlite::insert_destruction;
use crate::signed::{DestroyedTally, DestructionRecord, DestructionSigner};
use crate::sqlite::from_millis;
use crate::{Result, SqliteStore, StoreError};

/// Whether hold `h` (in force) covers position `p`: its time range, and its vehicles (all, or
/// those listed for it).
const HOLDS_P: &str = "h.released_ms IS NULL AND p.t_ms >= h.from_ms AND p.t_ms < h.to_ms
    AND (h.all_vehicles OR EXISTS (SELECT 1 FROM legal_hold_vehicles v WHERE v.hold_id = h.id AND v.vehicle = p.vehicle))";

impl SqliteStore {
    pub async fn add_legal_hold(&self, hold: &LegalHold, now: DateTime<Utc>) -> Result<i64> {
        let hold = hold.clone();
        self.with(move |conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "INSERT INTO legal_holds (all_vehicles, move_id, from_ms, to_ms, reason, reference, created_by, created_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    hold.vehicles.is_none(),
                    hold.move_id,
                    hold.from.timestamp_millis(),
                    hold.to.timestamp_millis(),
                    hold.reason,
                    hold.reference,
                    hold.created_by,
                    now.timestamp_millis()
                ],
            )?;
            let id = tx.last_insert_rowid();
            for vehicle in hold.vehicles.iter().flatten() {
                tx.execute(
                    "INSERT OR IGNORE INTO legal_hold_vehicles (hold_id, vehicle) VALUES (?1, ?2)",
                    params![id, vehicle.as_str()],
                )?;
            }
            tx.commit()?;
            Ok(id)
        })
        .await
    }

    pub async fn legal_holds(&self) -> Result<Vec<HoldRecord>> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT h.id, h.all_vehicles,
                        (SELECT json_group_array(vehicle) FROM
                           (SELECT v.vehicle FROM legal_hold_vehicles v WHERE v.hold_id = h.id ORDER BY v.vehicle)),
                        h.move_id, h.from_ms, h.to_ms, h.reason, h.reference, h.created_by, h.created_ms,
                        h.released_ms, COALESCE(h.released_by, ''), COALESCE(h.release_reason, '')
                 FROM legal_holds h ORDER BY h.id DESC",
            )?;
            let mut rows = stmt.query([])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                let vehicles = if r.get::<_, bool>(1)? {
                    None
                } else {
                    let names: String = r.get(2)?;
                    let names: Vec<String> = serde_json::from_str(&names)
                        .map_err(|_| StoreError::Corrupt(format!("held vehicles {names:?}")))?;
                    let ids = names.into_iter().map(|n| {
                        VehicleId::new(n.clone()).map_err(|_| StoreError::Corrupt(format!("held vehicle {n:?}")))
                    });
                    Some(ids.collect::<Result<_>>()?)
                };
                let release = match r.get::<_, Option<i64>>(10)? {
                    Some(ms) => Some(HoldRelease { at: from_millis(ms)?, by: r.get(11)?, reason: r.get(12)? }),
                    None => None,
                };
                out.push(HoldRecord {
                    id: r.get(0)?,
                    hold: LegalHold {
                        vehicles,
                        move_id: r.get(3)?,
                        from: from_millis(r.get(4)?)?,
                        to: from_millis(r.get(5)?)?,
                        reason: r.get(6)?,
                        reference: r.get(7)?,
                        created_by: r.get(8)?,
                    },
                    created_at: from_millis(r.get(9)?)?,
                    release,
                });
            }
            Ok(out)
        })
        .await
    }

    pub async fn release_legal_hold(
        &self,
        id: i64,
        by: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<ReleaseOutcome> {
        let (by, reason) = (by.to_string(), reason.to_string());
        let changed = self
            .with(move |conn| {
                let changed = conn.execute(
                    "UPDATE legal_holds SET released_ms = ?2, released_by = ?3, release_reason = ?4
                     WHERE id = ?1 AND released_ms IS NULL",
                    params![id, now.timestamp_millis(), by, reason],
                )?;
                Ok(changed == 1)
            })
            .await?;
        let record = self.legal_holds().await?.into_iter().find(|h| h.id == id);
        Ok(super::release_outcome(changed, record))
    }

    pub async fn purge_with(
        &self,
        cutoff: DateTime<Utc>,
        now: DateTime<Utc>,
        signer: Option<DestructionSigner>,
    ) -> Result<(PurgeReport, Option<DestructionRecord>)> {
        self.with(move |conn| {
            let cutoff_ms = cutoff.timestamp_millis();
            // The write lock from the start: what is counted below is what is then deleted.
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let not_held = format!("NOT EXISTS (SELECT 1 FROM legal_holds h WHERE {HOLDS_P})");
            let mut destroyed = DestroyedTally::default();
            {
                let mut stmt = tx.prepare(&format!(
                    "SELECT vehicle, count(*), min(t_ms), max(t_ms) FROM positions AS p
                     WHERE t_ms < ?1 AND {not_held} GROUP BY vehicle"
                ))?;
                let mut rows = stmt.query([cutoff_ms])?;
                while let Some(r) = rows.next()? {
                    let (from, to) = (from_millis(r.get(2)?)?, from_millis(r.get(3)?)?);
                    destroyed.add(r.get(0)?, r.get::<_, i64>(1)? as u64, from, to);
                }
            }
            let positions_deleted = tx.execute(
                &format!("DELETE FROM positions AS p WHERE t_ms < ?1 AND {not_held}"),
                [cutoff_ms],
            )?;
            tx.execute(
                &format!("DELETE FROM vehicle_latest AS p WHERE t_ms < ?1 AND {not_held}"),
                [cutoff_ms],
            )?;
            let positions_held: i64 =
                tx.query_row("SELECT count(*) FROM positions WHERE t_ms < ?1", [cutoff_ms], |r| r.get(0))?;
            // What is left before the cutoff is what holds kept; each hold's share, for the record.
            let held_by = {
                let mut stmt = tx.prepare(&format!(
                    "SELECT h.id, count(*) FROM legal_holds h JOIN positions p ON p.t_ms < ?1 AND {HOLDS_P}
                     GROUP BY h.id ORDER BY h.id"
                ))?;
                let rows = stmt.query_map([cutoff_ms], |r| {
                    Ok(HeldPositions { hold: r.get(0)?, positions: r.get::<_, i64>(1)? as u64 })
                })?;
                rows.collect::<std::result::Result<Vec<_>, _>>()?
            };
            let dead_letters_deleted =
                tx.execute("DELETE FROM dead_letters WHERE received_ms < ?1", [cutoff_ms])?;
            // Moves, alerts, their transitions and deliveries are kept: they are the record.
            tx.execute("DELETE FROM agent_status_log WHERE received_ms < ?1", [cutoff_ms])?;
            let report = PurgeReport {
                ran_at: now,
                cutoff,
                positions_deleted: positions_deleted as u64,
                partitions_dropped: 0,
                positions_held: positions_held as u64,
                held_by,
                dead_letters_deleted: dead_letters_deleted as u64,
            };
            tx.execute(
                "INSERT INTO purges (ran_ms, cutoff_ms, positions_deleted, partitions_dropped, positions_held,
                                     dead_letters_deleted, held_by)
                 VALUES (?1, ?2, ?3, 0, ?4, ?5, ?6)",
                params![
                    now.timestamp_millis(),
                    cutoff_ms,
                    positions_deleted as i64,
                    positions_held,
                    dead_letters_deleted as i64,
                    report.held_by_json().to_string()
                ],
            )?;
            let record = signer
                .map(|signer| insert_destruction(&tx, signer.sign(&report, destroyed.into_vec())))
                .transpose()?;
            tx.commit()?;
            Ok((report, record))
        })
        .await
    }

    pub async fn purges(&self, limit: u32) -> Result<Vec<PurgeReport>> {
        self.with(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT ran_ms, cutoff_ms, positions_deleted, partitions_dropped, positions_held, dead_letters_deleted,
                        held_by
                 FROM purges ORDER BY id DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?, r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?, r.get::<_, i64>(5)?, r.get::<_, String>(6)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (ran, cutoff, deleted, dropped, held, dead, held_by) = row?;
                out.push(PurgeReport {
                    ran_at: from_millis(ran)?,
                    cutoff: from_millis(cutoff)?,
                    positions_deleted: deleted as u64,
                    partitions_dropped: dropped as u64,
                    positions_held: held as u64,
                    held_by: held_by_from_json(&held_by)?,
                    dead_letters_deleted: dead as u64,
                });
            }
            Ok(out)
        })
        .await
    }
}
