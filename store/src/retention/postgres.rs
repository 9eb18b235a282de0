//! Legal holds, purges and partitions made ahead on PostgreSQL. Positions are kept by UTC day
//! (native partitions, or TimescaleDB chunks), so a purge drops whole days that no hold touches
//! and deletes row by row only what is left.

use chrono::{DateTime, Duration, Utc};

use super::{
    held_by_from_json, HeldPositions, HoldRecord, HoldRelease, LegalHold, PurgeReport, ReleaseOutcome,
};
use crate::signed::postgres::insert_destruction;
use crate::signed::{DestroyedTally, DestructionRecord, DestructionSigner};
use crate::{PgStore, Result, StoreError};

/// Whether hold `h` (in force) covers position `p`: its time range, and its vehicles (all, or
/// those listed for it).
const HOLDS_P: &str = "h.released_at IS NULL AND p.t >= h.from_t AND p.t < h.to_t
    AND (h.all_vehicles OR EXISTS (SELECT 1 FROM legal_hold_vehicles v WHERE v.hold_id = h.id AND v.vehicle = p.vehicle))";

fn stored_vehicle(name: String) -> Result<convoy_core::VehicleId> {
    convoy_core::VehicleId::new(name.clone())
        .map_err(|_| StoreError::Corrupt(format!("held vehicle {name:?}")))
}

/// Serialises retention purges from several processes.
const PURGE_LOCK_KEY: i64 = 0x0070_7572_6765; // "purge"

/// How far ahead daily partitions are made, so a day's first fix never waits for one.
const PARTITION_DAYS_AHEAD: i64 = 7;

impl PgStore {
    pub async fn prepare_ahead(&self, now: DateTime<Utc>) -> Result<()> {
        self.client()
            .await?
            .execute(
                "SELECT convoy_ensure_partitions($1, $2)",
                &[&(now - Duration::days(1)), &(now + Duration::days(PARTITION_DAYS_AHEAD))],
            )
            .await?;
        Ok(())
    }

    pub async fn add_legal_hold(&self, hold: &LegalHold, now: DateTime<Utc>) -> Result<i64> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let id: i64 = tx
            .query_one(
                "INSERT INTO legal_holds (all_vehicles, move_id, from_t, to_t, reason, reference, created_by, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                &[
                    &hold.vehicles.is_none(),
                    &hold.move_id,
                    &hold.from,
                    &hold.to,
                    &hold.reason,
                    &hold.reference,
                    &hold.created_by,
                    &now,
                ],
            )
            .await?
            .get(0);
        for vehicle in hold.vehicles.iter().flatten() {
            tx.execute(
                "INSERT INTO legal_hold_vehicles (hold_id, vehicle) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&id, &vehicle.as_str()],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    pub async fn legal_holds(&self) -> Result<Vec<HoldRecord>> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT h.id, h.all_vehicles,
                        ARRAY(SELECT v.vehicle FROM legal_hold_vehicles v WHERE v.hold_id = h.id ORDER BY v.vehicle),
                        h.move_id, h.from_t, h.to_t, h.reason, h.reference, h.created_by, h.created_at,
                        h.released_at, COALESCE(h.released_by, ''), COALESCE(h.release_reason, '')
                 FROM legal_holds h ORDER BY h.id DESC",
                &[],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let vehicles = if r.get(1) {
                    None
                } else {
                    let names: Vec<String> = r.get(2);
                    Some(names.into_iter().map(stored_vehicle).collect::<Result<_>>()?)
                };
                Ok(HoldRecord {
                    id: r.get(0),
                    hold: LegalHold {
                        vehicles,
                        move_id: r.get(3),
                        from: r.get(4),
                        to: r.get(5),
                        reason: r.get(6),
                        reference: r.get(7),
                        created_by: r.get(8),
                    },
                    created_at: r.get(9),
                    release: r.get::<_, Option<DateTime<Utc>>>(10).map(|at| HoldRelease {
                        at,
                        by: r.get(11),
                        reason: r.get(12),
                    }),
                })
            })
            .collect()
    }

    pub async fn release_legal_hold(
        &self,
        id: i64,
        by: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<ReleaseOutcome> {
        let changed = self
            .client()
            .await?
            .execute(
                "UPDATE legal_holds SET released_at = $2, released_by = $3, release_reason = $4
                 WHERE id = $1 AND released_at IS NULL",
                &[&id, &now, &by, &reason],
            )
            .await?;
        let record = self.legal_holds().await?.into_iter().find(|h| h.id == id);
        Ok(super::release_outcome(changed == 1, record))
    }

    pub async fn purge_with(
        &self,
        cutoff: DateTime<Utc>,
        now: DateTime<Utc>,
        signer: Option<DestructionSigner>,
    ) -> Result<(PurgeReport, Option<DestructionRecord>)> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&PURGE_LOCK_KEY]).await?;
        let mut report = PurgeReport {
            ran_at: now,
            cutoff,
            positions_deleted: 0,
            partitions_dropped: 0,
            positions_held: 0,
            held_by: Vec::new(),
            dead_letters_deleted: 0,
        };
        let mut destroyed = DestroyedTally::default();
        // Whole days first: a slice wholly before the cutoff that no hold touches goes at once.
        for slice in time_slices(&tx).await? {
            if slice.end > cutoff {
                continue;
            }
            let held: bool = tx
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM legal_holds
                                    WHERE released_at IS NULL AND from_t < $2 AND to_t > $1)",
                    &[&slice.start, &slice.end],
                )
                .await?
                .get(0);
            if held {
                continue;
            }
            let mut rows = 0;
            let per_vehicle = tx
                .query(
                    "SELECT vehicle, count(*), min(t), max(t) FROM positions WHERE t >= $1 AND t < $2
                     GROUP BY vehicle",
                    &[&slice.start, &slice.end],
                )
                .await?;
            for r in &per_vehicle {
                rows += r.get::<_, i64>(1);
                destroyed.add(r.get(0), r.get::<_, i64>(1) as u64, r.get(2), r.get(3));
            }
            match &slice.partition {
                Some(name) => {
                    tx.batch_execute(&format!("DROP TABLE \"{}\"", name.replace('"', "\"\""))).await?
                }
                None => {
                    tx.execute(
                        "SELECT drop_chunks('positions', older_than => $2::timestamptz, newer_than => $1::timestamptz)",
                        &[&slice.start, &slice.end],
                    )
                    .await?;
                }
            }
            report.positions_deleted += rows as u64;
            report.partitions_dropped += 1;
        }
        let not_held = format!("NOT EXISTS (SELECT 1 FROM legal_holds h WHERE {HOLDS_P})");
        // Counted per vehicle from what the statement deleted, not from a count before it.
        let per_vehicle = tx
            .query(
                &format!(
                    "WITH gone AS (DELETE FROM positions p WHERE t < $1 AND {not_held} RETURNING vehicle, t)
                     SELECT vehicle, count(*), min(t), max(t) FROM gone GROUP BY vehicle"
                ),
                &[&cutoff],
            )
            .await?;
        for r in &per_vehicle {
            report.positions_deleted += r.get::<_, i64>(1) as u64;
            destroyed.add(r.get(0), r.get::<_, i64>(1) as u64, r.get(2), r.get(3));
        }
        tx.execute(&format!("DELETE FROM vehicle_latest p WHERE t < $1 AND {not_held}"), &[&cutoff]).await?;
        let held: i64 = tx.query_one("SELECT count(*) FROM positions WHERE t < $1", &[&cutoff]).await?.get(0);
        report.positions_held = held as u64;
        // What is left before the cutoff is what holds kept; each hold's share, for the record.
        let rows = tx
            .query(
                &format!(
                    "SELECT h.id, count(*) FROM legal_holds h JOIN positions p ON p.t < $1 AND {HOLDS_P}
                     GROUP BY h.id ORDER BY h.id"
                ),
                &[&cutoff],
            )
            .await?;
        report.held_by = rows
            .iter()
            .map(|r| HeldPositions { hold: r.get(0), positions: r.get::<_, i64>(1) as u64 })
            .collect();
        report.dead_letters_deleted =
            tx.execute("DELETE FROM dead_letters WHERE received_at < $1", &[&cutoff]).await?;
        // Moves, alerts, their transitions and deliveries are kept: they are the record.
        tx.execute("DELETE FROM agent_status_log WHERE received_at < $1", &[&cutoff]).await?;
        tx.execute(
            "INSERT INTO purges (ran_at, cutoff, positions_deleted, partitions_dropped, positions_held,
                                 dead_letters_deleted, held_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &report.ran_at,
                &report.cutoff,
                &(report.positions_deleted as i64),
                &(report.partitions_dropped as i64),
                &(report.positions_held as i64),
                &(report.dead_letters_deleted as i64),
                &report.held_by_json().to_string(),
            ],
        )
        .await?;
        let record = match signer {
            Some(signer) => Some(insert_destruction(&tx, signer.sign(&report, destroyed.into_vec())).await?),
            None => None,
        };
        tx.commit().await?;
        self.days_ready.lock().expect("days cache").clear();
        Ok((report, record))
    }

    pub async fn purges(&self, limit: u32) -> Result<Vec<PurgeReport>> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT ran_at, cutoff, positions_deleted, partitions_dropped, positions_held, dead_letters_deleted,
                        held_by
                 FROM purges ORDER BY id DESC LIMIT $1",
                &[&i64::from(limit)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(PurgeReport {
                    ran_at: r.get(0),
                    cutoff: r.get(1),
                    positions_deleted: r.get::<_, i64>(2) as u64,
                    partitions_dropped: r.get::<_, i64>(3) as u64,
                    positions_held: r.get::<_, i64>(4) as u64,
                    held_by: held_by_from_json(r.get(6))?,
                    dead_letters_deleted: r.get::<_, i64>(5) as u64,
                })
            })
            .collect()
    }
}

/// A stretch of time the positions table keeps as one unit: a native partition (named) or a
/// TimescaleDB chunk.
struct TimeSlice {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    partition: Option<String>,
}

/// The positions table's partitions or chunks; none for a table that is neither.
async fn time_slices(tx: &tokio_postgres::Transaction<'_>) -> Result<Vec<TimeSlice>> {
    let hypertable: bool = tx
        .query_one("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')", &[])
        .await?
        .get(0);
    if hypertable {
        let rows = tx
            .query(
                "SELECT range_start, range_end FROM timescaledb_information.chunks
                 WHERE hypertable_name = 'positions' ORDER BY range_start",
                &[],
            )
            .await?;
        return Ok(rows
            .iter()
            .map(|r| TimeSlice { start: r.get(0), end: r.get(1), partition: None })
            .collect());
    }
    let rows = tx
        .query(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = 'positions'::regclass",
            &[],
        )
        .await?;
    let mut slices = Vec::new();
    for row in rows {
        let name: String = row.get(0);
        // Named positions_pYYYYMMDD by convoy_ensure_partitions; anything else is left alone.
        let day = name
            .strip_prefix("positions_p")
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y%m%d").ok())
            .and_then(|d| d.and_hms_opt(0, 0, 0));
        if let Some(day) = day {
            let start = day.and_utc();
            slices.push(TimeSlice { start, end: start + Duration::days(1), partition: Some(name) });
        }
    }
    Ok(slices)
}
