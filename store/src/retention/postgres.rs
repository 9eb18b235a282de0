//! Legal holds, purges and partitions made ahead on PostgreSQL. Positions are kept by UTC day
//! (native partitions, or TimescaleDB chunks), so a purge drops whole days that no hold touches
//! and deletes row by row only what is left.

use chrono::{DateTime, Duration, Utc};

use super::{LegalHold, PurgeReport};
use crate::{PgStore, Result};

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

    pub async fn add_legal_hold(&self, hold: &LegalHold) -> Result<i64> {
        let row = self
            .client()
            .await?
            .query_one(
                "INSERT INTO legal_holds (vehicle, move_id, from_t, to_t, reason, created_by)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                &[
                    &hold.vehicle.as_ref().map(|v| v.as_str()),
                    &hold.move_id,
                    &hold.from,
                    &hold.to,
                    &hold.reason,
                    &hold.created_by,
                ],
            )
            .await?;
        Ok(row.get(0))
    }

    pub async fn release_legal_hold(&self, id: i64, now: DateTime<Utc>) -> Result<bool> {
        let changed = self
            .client()
            .await?
            .execute(
                "UPDATE legal_holds SET released_at = $2 WHERE id = $1 AND released_at IS NULL",
                &[&id, &now],
            )
            .await?;
        Ok(changed == 1)
    }

    pub async fn purge(&self, cutoff: DateTime<Utc>, now: DateTime<Utc>) -> Result<PurgeReport> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&PURGE_LOCK_KEY]).await?;
        let mut report = PurgeReport {
            ran_at: now,
            cutoff,
            positions_deleted: 0,
            partitions_dropped: 0,
            positions_held: 0,
            dead_letters_deleted: 0,
        };
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
            let rows: i64 = tx
                .query_one(
                    "SELECT count(*) FROM positions WHERE t >= $1 AND t < $2",
                    &[&slice.start, &slice.end],
                )
                .await?
                .get(0);
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
        let not_held = "NOT EXISTS (SELECT 1 FROM legal_holds h WHERE h.released_at IS NULL
                          AND (h.vehicle IS NULL OR h.vehicle = p.vehicle) AND p.t >= h.from_t AND p.t < h.to_t)";
        report.positions_deleted +=
            tx.execute(&format!("DELETE FROM positions p WHERE t < $1 AND {not_held}"), &[&cutoff]).await?;
        tx.execute(&format!("DELETE FROM vehicle_latest p WHERE t < $1 AND {not_held}"), &[&cutoff]).await?;
        let held: i64 = tx.query_one("SELECT count(*) FROM positions WHERE t < $1", &[&cutoff]).await?.get(0);
        report.positions_held = held as u64;
        report.dead_letters_deleted =
            tx.execute("DELETE FROM dead_letters WHERE received_at < $1", &[&cutoff]).await?;
        // Moves, alerts, their transitions and deliveries are kept: they are the record.
        tx.execute("DELETE FROM agent_status_log WHERE received_at < $1", &[&cutoff]).await?;
        tx.execute(
            "INSERT INTO purges (ran_at, cutoff, positions_deleted, partitions_dropped, positions_held,
                                 dead_letters_deleted)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &report.ran_at,
                &report.cutoff,
                &(report.positions_deleted as i64),
                &(report.partitions_dropped as i64),
                &(report.positions_held as i64),
                &(report.dead_letters_deleted as i64),
            ],
        )
        .await?;
        tx.commit().await?;
        self.days_ready.lock().expect("days cache").clear();
        Ok(report)
    }

    pub async fn purges(&self, limit: u32) -> Result<Vec<PurgeReport>> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT ran_at, cutoff, positions_deleted, partitions_dropped, positions_held, dead_letters_deleted
                 FROM purges ORDER BY id DESC LIMIT $1",
                &[&i64::from(limit)],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| PurgeReport {
                ran_at: r.get(0),
                cutoff: r.get(1),
                positions_deleted: r.get::<_, i64>(2) as u64,
                partitions_dropped: r.get::<_, i64>(3) as u64,
                positions_held: r.get::<_, i64>(4) as u64,
                dead_letters_deleted: r.get::<_, i64>(5) as u64,
            })
            .collect())
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
