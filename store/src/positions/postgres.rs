//! Positions on PostgreSQL. An ingest write is one transaction: positions go in with one binary
//! `COPY` (or, after a redelivery, one `INSERT … SELECT FROM UNNEST`) per write, so a batch
//! costs one round trip however many positions it holds. Positions are partitioned by UTC day
//! (or are a TimescaleDB hypertable); a day's partition is made before its first fix is written.

use std::collections::HashMap;

use chrono::{DateTime, SubsecRound, Utc};
use convoy_core::{Position, VehicleId};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::marks::{mark_write, vehicles_of, MarkedWrite};
use super::{
    parse_fix, parse_implausible, parse_prev_hash, AgentStatus, DeadLetter, IngestWrite, LatestPosition,
    StoredPosition, WriteOutcome,
};
use crate::rows::parse_vehicle;
use crate::{PgStore, Result, StoreError};

impl PgStore {
    pub async fn write_ingest(&self, write: &IngestWrite) -> Result<WriteOutcome> {
        let result = self.write_ingest_once(write).await;
        if result.is_err() {
            // A partition may have been dropped behind the cache's back (by a purge elsewhere).
            self.days_ready.lock().expect("days cache").clear();
        }
        result
    }

    async fn write_ingest_once(&self, write: &IngestWrite) -> Result<WriteOutcome> {
        self.ensure_partitions(write).await?;
        let mut client = self.client().await?;
        let mut tx = client.transaction().await?;
        let vehicles: Vec<&str> = vehicles_of(write).into_iter().map(|v| v.as_str()).collect();
        // Locking the latest rows orders concurrent writers of one vehicle (several ingest
        // processes sharing a subscription), so their marks stay consistent.
        let rows = tx
            .query(
                "SELECT seq, t, lat, lon, alt_m, speed_mps, course_deg, fix, sats, hdop, accuracy_m, vehicle
                 FROM vehicle_latest WHERE vehicle = ANY($1) FOR UPDATE",
                &[&vehicles],
            )
            .await?;
        let mut stored_latest = HashMap::new();
        for row in &rows {
            stored_latest.insert(parse_vehicle(row.get(11))?, position_from_row(row)?);
        }
        let marked = mark_write(write, stored_latest);
        // PostgreSQL keeps microseconds: the stamp as it is stored.
        let received_at = write.received_at.unwrap_or_else(Utc::now).trunc_subsecs(6);

        let total = marked.positions.len() as u64;
        // Duplicates are rare (a redelivery after a crash or an outage), and a binary COPY costs
        // PostgreSQL far less than an INSERT with ON CONFLICT (docs/BENCHMARKS.md). So COPY is
        // tried first, in a savepoint; only if the key refuses a row is the batch inserted again
        // skipping what is already there. The key guarantees exactly once either way.
        let attempt = tx.savepoint("positions").await?;
        let inserted = match copy_positions(&attempt, &marked, received_at).await {
            Ok(inserted) => {
                attempt.commit().await?;
                inserted
            }
            Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                attempt.rollback().await?;
                insert_positions_skipping_duplicates(&tx, &marked, received_at).await?
            }
            Err(e) => return Err(e.into()),
        };
        // One statement for every vehicle's latest position; ties in fix time go to the higher seq.
        let mut latest = PositionColumns::default();
        for (vehicle, p) in &marked.new_latest {
            latest.push(vehicle.as_str(), p);
        }
        tx.execute(
            "INSERT INTO vehicle_latest
               (vehicle, seq, t, lat, lon, alt_m, speed_mps, course_deg, fix, sats, hdop, accuracy_m, received_at)
             SELECT *, $13::timestamptz FROM UNNEST(
               $1::text[], $2::int8[], $3::timestamptz[], $4::float8[], $5::float8[], $6::float8[],
               $7::float8[], $8::float8[], $9::text[], $10::int4[], $11::float8[], $12::float8[])
             ON CONFLICT (vehicle) DO UPDATE SET
               seq = excluded.seq, t = excluded.t, lat = excluded.lat, lon = excluded.lon,
               alt_m = excluded.alt_m, speed_mps = excluded.speed_mps, course_deg = excluded.course_deg,
               fix = excluded.fix, sats = excluded.sats, hdop = excluded.hdop,
               accuracy_m = excluded.accuracy_m, received_at = excluded.received_at
             WHERE (excluded.t, excluded.seq) > (vehicle_latest.t, vehicle_latest.seq)",
            &[
                &latest.vehicle,
                &latest.seq,
                &latest.t,
                &latest.lat,
                &latest.lon,
                &latest.alt_m,
                &latest.speed_mps,
                &latest.course_deg,
                &latest.fix,
                &latest.sats,
                &latest.hdop,
                &latest.accuracy_m,
                &received_at,
            ],
        )
        .await?;
        write_chains(&tx, write, received_at).await?;
        if !write.dead_letters.is_empty() {
            let insert_dead = tx
                .prepare_cached(
                    "INSERT INTO dead_letters (received_at, topic, payload, reason, detail) VALUES ($1, $2, $3, $4, $5)",
                )
                .await?;
            for d in &write.dead_letters {
                tx.execute(&insert_dead, &[&d.received_at, &d.topic, &d.payload, &d.reason, &d.detail])
                    .await?;
            }
        }
        if !write.statuses.is_empty() {
            let latest_status = tx
                .prepare_cached(
                    "INSERT INTO agent_status (vehicle, received_at, status_json) VALUES ($1, $2, $3)
                     ON CONFLICT (vehicle) DO UPDATE SET
                       received_at = excluded.received_at, status_json = excluded.status_json",
                )
                .await?;
            let status_log = tx
                .prepare_cached(
                    "INSERT INTO agent_status_log (vehicle, received_at, status_json) VALUES ($1, $2, $3)",
                )
                .await?;
            for st in &write.statuses {
                let row: [&(dyn ToSql + Sync); 3] = [&st.vehicle.as_str(), &st.received_at, &st.status_json];
                tx.execute(&latest_status, &row).await?;
                tx.execute(&status_log, &row).await?;
            }
        }
        tx.commit().await?;
        Ok(WriteOutcome { inserted, duplicates: total - inserted, fresh: marked.fresh(), received_at })
    }

    /// Makes sure every UTC day of the write's fixes has its partition, asking the database
    /// only for days this process has not seen yet (outside the write's transaction, so a
    /// failed write does not undo them).
    async fn ensure_partitions(&self, write: &IngestWrite) -> Result<()> {
        let missing: Vec<i64> = {
            let ready = self.days_ready.lock().expect("days cache");
            let mut days: Vec<i64> = write
                .positions
                .iter()
                .flat_map(|b| b.positions.iter().map(|p| p.t.timestamp().div_euclid(86_400)))
                .filter(|day| !ready.contains(day))
                .collect();
            days.sort_unstable();
            days.dedup();
            days
        };
        if missing.is_empty() {
            return Ok(());
        }
        let client = self.client().await?;
        for &day in &missing {
            let start = DateTime::<Utc>::from_timestamp(day * 86_400, 0)
                .ok_or_else(|| StoreError::Corrupt(format!("day {day}")))?;
            client.execute("SELECT convoy_ensure_partitions($1, $1)", &[&start]).await?;
        }
        self.days_ready.lock().expect("days cache").extend(missing);
        Ok(())
    }

    pub async fn latest_positions(&self) -> Result<Vec<LatestPosition>> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT seq, t, lat, lon, alt_m, speed_mps, course_deg, fix, sats, hdop, accuracy_m, vehicle,
                        received_at
                 FROM vehicle_latest ORDER BY vehicle",
                &[],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(LatestPosition {
                    position: position_from_row(r)?,
                    vehicle: parse_vehicle(r.get(11))?,
                    received_at: r.get(12),
                })
            })
            .collect()
    }

    pub async fn track_page(
        &self,
        vehicle: &VehicleId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: Option<(DateTime<Utc>, u64)>,
        limit: u32,
    ) -> Result<Vec<StoredPosition>> {
        // Before every fix of the range when there is no previous page.
        let (after_t, after_seq) = after.map_or((from, -1), |(t, seq)| (t, seq as i64));
        let rows = self
            .client()
            .await?
            .query(
                "SELECT seq, t, lat, lon, alt_m, speed_mps, course_deg, fix, sats, hdop, accuracy_m, late,
                        implausible, received_at, source, prev_hash
                 FROM positions
                 WHERE vehicle = $1 AND t >= $2 AND t < $3 AND (t, seq) > ($4, $5)
                 ORDER BY t, seq LIMIT $6",
                &[&vehicle.as_str(), &from, &to, &after_t, &after_seq, &i64::from(limit)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(StoredPosition {
                    position: position_from_row(r)?,
                    late: r.get(11),
                    implausible: parse_implausible(r.get(12))?,
                    received_at: r.get(13),
                    source: r.get(14),
                    prev_hash: parse_prev_hash(r.get(15))?,
                })
            })
            .collect()
    }

    pub async fn agent_statuses(&self) -> Result<Vec<AgentStatus>> {
        let rows = self
            .client()
            .await?
            .query("SELECT vehicle, received_at, status_json FROM agent_status ORDER BY vehicle", &[])
            .await?;
        rows.iter().map(status_of).collect()
    }

    pub async fn dead_letters(&self, limit: u32) -> Result<Vec<DeadLetter>> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT received_at, topic, payload, reason, detail FROM dead_letters ORDER BY id DESC LIMIT $1",
                &[&i64::from(limit)],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| DeadLetter {
                received_at: r.get(0),
                topic: r.get(1),
                payload: r.get(2),
                reason: r.get(3),
                detail: r.get(4),
            })
            .collect())
    }

    pub async fn dead_letter_counts(
        &self,
        topic: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(String, u64)>> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT reason, COUNT(*) FROM dead_letters WHERE topic = $1 AND received_at >= $2 AND received_at < $3
                 GROUP BY reason ORDER BY reason",
                &[&topic, &from, &to],
            )
            .await?;
        Ok(rows.iter().map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1).max(0) as u64)).collect())
    }

    pub async fn status_history(
        &self,
        vehicle: &VehicleId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<AgentStatus>> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT vehicle, received_at, status_json FROM agent_status_log
                 WHERE vehicle = $1 AND received_at >= $2 AND received_at < $3 ORDER BY received_at, id",
                &[&vehicle.as_str(), &from, &to],
            )
            .await?;
        rows.iter().map(status_of).collect()
    }

    pub async fn newest_statuses(
        &self,
        vehicle: &VehicleId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<AgentStatus>> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT vehicle, received_at, status_json FROM agent_status_log
                 WHERE vehicle = $1 AND received_at >= $2 AND received_at < $3
                 ORDER BY received_at DESC, id DESC LIMIT $4",
                &[&vehicle.as_str(), &from, &to, &i64::from(limit)],
            )
            .await?;
        rows.iter().map(status_of).collect()
    }
}

/// An agent status of a `vehicle, received_at, status_json` row.
fn status_of(row: &tokio_postgres::Row) -> Result<AgentStatus> {
    Ok(AgentStatus { vehicle: parse_vehicle(row.get(0))?, received_at: row.get(1), status_json: row.get(2) })
}

/// Satellite counts are validated on the wire (at most 255), so they always fit.
fn sats_to_sql(sats: u32) -> i32 {
    i32::try_from(sats).unwrap_or(i32::MAX)
}

/// Positions as columns, for one `UNNEST` insert.
#[derive(Default)]
struct PositionColumns<'a> {
    vehicle: Vec<&'a str>,
    seq: Vec<i64>,
    t: Vec<DateTime<Utc>>,
    lat: Vec<f64>,
    lon: Vec<f64>,
    alt_m: Vec<Option<f64>>,
    speed_mps: Vec<Option<f64>>,
    course_deg: Vec<Option<f64>>,
    fix: Vec<Option<&'static str>>,
    sats: Vec<Option<i32>>,
    hdop: Vec<Option<f64>>,
    accuracy_m: Vec<Option<f64>>,
    late: Vec<bool>,
    implausible: Vec<Option<&'static str>>,
    source: Vec<Option<&'a str>>,
    prev_hash: Vec<Option<&'a [u8]>>,
}

impl<'a> PositionColumns<'a> {
    fn push(&mut self, vehicle: &'a str, p: &Position) {
        self.vehicle.push(vehicle);
        self.seq.push(p.seq as i64);
        self.t.push(p.t);
        self.lat.push(p.lat);
        self.lon.push(p.lon);
        self.alt_m.push(p.alt_m);
        self.speed_mps.push(p.speed_mps);
        self.course_deg.push(p.course_deg);
        self.fix.push(p.fix.map(|f| f.as_str()));
        self.sats.push(p.sats.map(sats_to_sql));
        self.hdop.push(p.hdop);
        self.accuracy_m.push(p.accuracy_m);
    }
}

/// Copies a write's positions into the table in PostgreSQL's binary format; fails on the first
/// position already stored.
async fn copy_positions(
    tx: &tokio_postgres::Transaction<'_>,
    marked: &MarkedWrite<'_>,
    received_at: DateTime<Utc>,
) -> Result<u64, tokio_postgres::Error> {
    use tokio_postgres::types::Type;
    let sink = tx
        .copy_in(
            "COPY positions (vehicle, seq, t, lat, lon, alt_m, speed_mps, course_deg, fix, sats, hdop, late,
                             implausible, received_at, accuracy_m, source, prev_hash) FROM STDIN (FORMAT binary)",
        )
        .await?;
    let types = [
        Type::TEXT,
        Type::INT8,
        Type::TIMESTAMPTZ,
        Type::FLOAT8,
        Type::FLOAT8,
        Type::FLOAT8,
        Type::FLOAT8,
        Type::FLOAT8,
        Type::TEXT,
        Type::INT4,
        Type::FLOAT8,
        Type::BOOL,
        Type::TEXT,
        Type::TIMESTAMPTZ,
        Type::FLOAT8,
        Type::TEXT,
        Type::BYTEA,
    ];
    let writer = BinaryCopyInWriter::new(sink, &types);
    let mut writer = std::pin::pin!(writer);
    for (vehicle, p, marks, source, prev) in &marked.positions {
        let prev: Option<&[u8]> = prev.map(|h| h.0.as_slice());
        writer
            .as_mut()
            .write(&[
                &vehicle.as_str(),
                &(p.seq as i64),
                &p.t,
                &p.lat,
                &p.lon,
                &p.alt_m,
                &p.speed_mps,
                &p.course_deg,
                &p.fix.map(|f| f.as_str()),
                &p.sats.map(sats_to_sql),
                &p.hdop,
                &marks.late,
                &marks.implausible.map(|r| r.as_str()),
                &received_at,
                &p.accuracy_m,
                source,
                &prev,
            ])
            .await?;
    }
    writer.finish().await
}

/// Inserts a write's positions, leaving those already stored as they are; returns how many were
/// new.
async fn insert_positions_skipping_duplicates(
    tx: &tokio_postgres::Transaction<'_>,
    marked: &MarkedWrite<'_>,
    received_at: DateTime<Utc>,
) -> Result<u64, tokio_postgres::Error> {
    let mut columns = PositionColumns::default();
    for (vehicle, p, marks, source, prev) in &marked.positions {
        columns.push(vehicle.as_str(), p);
        columns.late.push(marks.late);
        columns.implausible.push(marks.implausible.map(|r| r.as_str()));
        columns.source.push(*source);
        columns.prev_hash.push(prev.map(|h| h.0.as_slice()));
    }
    tx.execute(
        "INSERT INTO positions
           (vehicle, seq, t, lat, lon, alt_m, speed_mps, course_deg, fix, sats, hdop, late, implausible,
            accuracy_m, source, prev_hash, received_at)
         SELECT *, $16::timestamptz FROM UNNEST(
           $1::text[], $2::int8[], $3::timestamptz[], $4::float8[], $5::float8[], $6::float8[],
           $7::float8[], $8::float8[], $9::text[], $10::int4[], $11::float8[], $12::bool[], $13::text[],
           $14::float8[], $15::text[], $17::bytea[])
         ON CONFLICT DO NOTHING",
        &[
            &columns.vehicle,
            &columns.seq,
            &columns.t,
            &columns.lat,
            &columns.lon,
            &columns.alt_m,
            &columns.speed_mps,
            &columns.course_deg,
            &columns.fix,
            &columns.sats,
            &columns.hdop,
            &columns.late,
            &columns.implausible,
            &columns.accuracy_m,
            &columns.source,
            &received_at,
            &columns.prev_hash,
        ],
    )
    .await
}

/// Reads seq, t, lat, lon, alt_m, speed_mps, course_deg, fix, sats, hdop, accuracy_m (columns 0
/// to 10).
pub(crate) fn position_from_row(r: &Row) -> Result<Position> {
    let seq: i64 = r.get(0);
    let sats: Option<i32> = r.get(8);
    Ok(Position {
        seq: u64::try_from(seq).map_err(|_| StoreError::Corrupt(format!("seq {seq}")))?,
        t: r.get(1),
        lat: r.get(2),
        lon: r.get(3),
        alt_m: r.get(4),
        speed_mps: r.get(5),
        course_deg: r.get(6),
        fix: parse_fix(r.get(7))?,
        sats: sats.map(|s| s.max(0) as u32),
        hdop: r.get(9),
        accuracy_m: r.get(10),
    })
}

/// The write's verified chain heads and the gaps it found, each kept once (a redelivery
/// writes nothing new); one statement each, and none when there are none.
async fn write_chains(
    tx: &tokio_postgres::Transaction<'_>,
    write: &IngestWrite,
    received_at: DateTime<Utc>,
) -> Result<()> {
    let heads: Vec<_> = write.positions.iter().filter_map(|b| b.chain.as_ref()?.head.as_ref()).collect();
    if !heads.is_empty() {
        let vehicle: Vec<&str> = heads.iter().map(|h| h.vehicle.as_str()).collect();
        let seq: Vec<i64> = heads.iter().map(|h| i64::try_from(h.seq).unwrap_or(i64::MAX)).collect();
        let head: Vec<&[u8]> = heads.iter().map(|h| h.head.0.as_slice()).collect();
        let key: Vec<String> = heads.iter().map(|h| h.key.to_string()).collect();
        let sig: Vec<Vec<u8>> = heads.iter().map(|h| h.sig.to_bytes().to_vec()).collect();
        tx.execute(
            "INSERT INTO signed_heads (vehicle, seq, head, key_id, sig, received_at)
             SELECT *, $6::timestamptz FROM UNNEST($1::text[], $2::int8[], $3::bytea[], $4::text[], $5::bytea[])
             ON CONFLICT DO NOTHING",
            &[&vehicle, &seq, &head, &key, &sig, &received_at],
        )
        .await?;
    }
    if !write.gaps.is_empty() {
        let vehicle: Vec<&str> = write.gaps.iter().map(|g| g.vehicle.as_str()).collect();
        let from: Vec<i64> =
            write.gaps.iter().map(|g| i64::try_from(g.from_seq).unwrap_or(i64::MAX)).collect();
        let to: Vec<i64> = write.gaps.iter().map(|g| i64::try_from(g.to_seq).unwrap_or(i64::MAX)).collect();
        let detected: Vec<DateTime<Utc>> = write.gaps.iter().map(|g| g.detected_at).collect();
        tx.execute(
            "INSERT INTO chain_gaps (vehicle, from_seq, to_seq, detected_at)
             SELECT * FROM UNNEST($1::text[], $2::int8[], $3::int8[], $4::timestamptz[])
             ON CONFLICT DO NOTHING",
            &[&vehicle, &from, &to, &detected],
        )
        .await?;
    }
    Ok(())
}
