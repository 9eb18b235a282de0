//! Positions on SQLite: the ingest write with prepared statements in one transaction, and the
//! reads. Times are milliseconds since 1970.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use convoy_core::{Position, VehicleId};
use rusqlite::{params, OptionalExtension};

use super::marks::{mark_write, vehicles_of};
use super::{
    parse_fix, parse_implausible, parse_prev_hash, AgentStatus, DeadLetter, IngestWrite, LatestPosition,
    StoredPosition, WriteOutcome,
};
use crate::rows::parse_vehicle;
use crate::sqlite::{from_millis, SqliteStore};
use crate::{Result, StoreError};

impl SqliteStore {
    pub async fn write_ingest(&self, write: &IngestWrite) -> Result<WriteOutcome> {
        let write = write.clone();
        self.with(move |conn| {
            let tx = conn.transaction()?;
            let mut stored_latest = HashMap::new();
            {
                let mut latest = tx.prepare_cached(
                    "SELECT seq, t_ms, lat, lon, alt_m, speed_mps, course_deg, fix, sats, hdop, accuracy_m
                     FROM vehicle_latest WHERE vehicle = ?1",
                )?;
                for vehicle in vehicles_of(&write) {
                    if let Some(p) = latest.query_row([vehicle.as_str()], |r| position_from_row(r, 0)).optional()? {
                        stored_latest.insert(vehicle.clone(), p?);
                    }
                }
            }
            let marked = mark_write(&write, stored_latest);
            // Stamped after any wait for the connection: the time the rows were really written.
            let received_ms = write.received_at.unwrap_or_else(Utc::now).timestamp_millis();
            let mut outcome = WriteOutcome {
                fresh: marked.fresh(),
                received_at: from_millis(received_ms)?,
                ..WriteOutcome::default()
            };
            {
                let mut insert = tx.prepare_cached(
                    "INSERT OR IGNORE INTO positions
                     (vehicle, seq, t_ms, lat, lon, alt_m, speed_mps, course_deg, fix, sats, hdop, received_ms,
                      late, implausible, accuracy_m, source, prev_hash)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
                )?;
                for (vehicle, p, marks, source, prev) in &marked.positions {
                    let changed = insert.execute(params![
                        vehicle.as_str(),
                        p.seq as i64,
                        p.t.timestamp_millis(),
                        p.lat,
                        p.lon,
                        p.alt_m,
                        p.speed_mps,
                        p.course_deg,
                        p.fix.map(|f| f.as_str()),
                        p.sats,
                        p.hdop,
                        received_ms,
                        marks.late,
                        marks.implausible.map(|r| r.as_str()),
                        p.accuracy_m,
                        source,
                        prev.map(|h| h.0.as_slice()),
                    ])?;
                    if changed == 1 {
                        outcome.inserted += 1;
                    } else {
                        outcome.duplicates += 1;
                    }
                }
                let mut latest = tx.prepare_cached(
                    "INSERT INTO vehicle_latest
                     (vehicle, seq, t_ms, lat, lon, alt_m, speed_mps, course_deg, fix, sats, hdop, received_ms,
                      accuracy_m)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
                     ON CONFLICT (vehicle) DO UPDATE SET
                       seq = excluded.seq, t_ms = excluded.t_ms, lat = excluded.lat, lon = excluded.lon,
                       alt_m = excluded.alt_m, speed_mps = excluded.speed_mps,
                       course_deg = excluded.course_deg, fix = excluded.fix, sats = excluded.sats,
                       hdop = excluded.hdop, received_ms = excluded.received_ms,
                       accuracy_m = excluded.accuracy_m
                     WHERE (excluded.t_ms, excluded.seq) > (vehicle_latest.t_ms, vehicle_latest.seq)",
                )?;
                for (vehicle, p) in &marked.new_latest {
                    latest.execute(rusqlite::params_from_iter(position_row(vehicle.as_str(), p, received_ms)))?;
                }
                let mut dead = tx.prepare_cached(
                    "INSERT INTO dead_letters (received_ms, topic, payload, reason, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                write_chains(&tx, &write, received_ms)?;
                for d in &write.dead_letters {
                    dead.execute(params![d.received_at.timestamp_millis(), d.topic, d.payload, d.reason, d.detail])?;
                }
                let mut status = tx.prepare_cached(
                    "INSERT INTO agent_status (vehicle, received_ms, status_json) VALUES (?1, ?2, ?3)
                     ON CONFLICT (vehicle) DO UPDATE SET
                       received_ms = excluded.received_ms, status_json = excluded.status_json",
                )?;
                let mut status_log = tx.prepare_cached(
                    "INSERT INTO agent_status_log (vehicle, received_ms, status_json) VALUES (?1, ?2, ?3)",
                )?;
                for st in &write.statuses {
                    let row = params![st.vehicle.as_str(), st.received_at.timestamp_millis(), st.status_json];
                    status.execute(row)?;
                    status_log.execute(row)?;
                }
            }
            tx.commit()?;
            Ok(outcome)
        })
        .await
    }

    pub async fn latest_positions(&self) -> Result<Vec<LatestPosition>> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT vehicle, seq, t_ms, lat, lon, alt_m, speed_mps, course_deg, fix, sats, hdop, accuracy_m,
                        received_ms
                 FROM vehicle_latest ORDER BY vehicle",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((r.get::<_, String>(0)?, position_from_row(r, 1)?, r.get::<_, i64>(12)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (vehicle, position, received_ms) = row?;
                out.push(LatestPosition {
                    vehicle: parse_vehicle(vehicle)?,
                    position: position?,
                    received_at: from_millis(received_ms)?,
                });
            }
            Ok(out)
        })
        .await
    }

    pub async fn track_page(
        &self,
        vehicle: &VehicleId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: Option<(DateTime<Utc>, u64)>,
        limit: u32,
    ) -> Result<Vec<StoredPosition>> {
        let vehicle = vehicle.to_string();
        // Before every fix of the range when there is no previous page.
        let (after_ms, after_seq) =
            after.map_or((i64::MIN, -1), |(t, seq)| (t.timestamp_millis(), seq as i64));
        self.with(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT seq, t_ms, lat, lon, alt_m, speed_mps, course_deg, fix, sats, hdop, accuracy_m,
                        late, implausible, received_ms, source, prev_hash
                 FROM positions
                 WHERE vehicle = ?1 AND t_ms >= ?2 AND t_ms < ?3 AND (t_ms, seq) > (?4, ?5)
                 ORDER BY t_ms, seq LIMIT ?6",
            )?;
            let params =
                params![vehicle, from.timestamp_millis(), to.timestamp_millis(), after_ms, after_seq, limit];
            let rows = stmt.query_map(params, |r| {
                let source: Option<String> = r.get(14)?;
                let prev: Option<Vec<u8>> = r.get(15)?;
                Ok((
                    position_from_row(r, 0)?,
                    r.get::<_, bool>(11)?,
                    r.get(12)?,
                    r.get::<_, i64>(13)?,
                    source,
                    prev,
                ))
            })?;
            let mut page = Vec::new();
            for row in rows {
                let (position, late, implausible, received_ms, source, prev) = row?;
                page.push(StoredPosition {
                    position: position?,
                    late,
                    implausible: parse_implausible(implausible)?,
                    received_at: from_millis(received_ms)?,
                    source,
                    prev_hash: parse_prev_hash(prev.as_deref())?,
                });
            }
            Ok(page)
        })
        .await
    }

    pub async fn agent_statuses(&self) -> Result<Vec<AgentStatus>> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT vehicle, received_ms, status_json FROM agent_status ORDER BY vehicle",
            )?;
            let rows =
                stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get(2)?)))?;
            let mut out = Vec::new();
            for row in rows {
                let (vehicle, ms, status_json) = row?;
                out.push(AgentStatus {
                    vehicle: parse_vehicle(vehicle)?,
                    received_at: from_millis(ms)?,
                    status_json,
                });
            }
            Ok(out)
        })
        .await
    }

    pub async fn dead_letters(&self, limit: u32) -> Result<Vec<DeadLetter>> {
        self.with(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT received_ms, topic, payload, reason, detail FROM dead_letters ORDER BY id DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit], |r| {
                Ok((r.get::<_, i64>(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (ms, topic, payload, reason, detail) = row?;
                out.push(DeadLetter { received_at: from_millis(ms)?, topic, payload, reason, detail });
            }
            Ok(out)
        })
        .await
    }

    pub async fn dead_letter_counts(
        &self,
        topic: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(String, u64)>> {
        let (topic, from, to) = (topic.to_string(), from.timestamp_millis(), to.timestamp_millis());
        self.with(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT reason, COUNT(*) FROM dead_letters WHERE topic = ?1 AND received_ms >= ?2 AND received_ms < ?3
                 GROUP BY reason ORDER BY reason",
            )?;
            let rows = stmt.query_map(rusqlite::params![topic, from, to], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (reason, count) = row?;
                out.push((reason, count.max(0) as u64));
            }
            Ok(out)
        })
        .await
    }

    pub async fn status_history(
        &self,
        vehicle: &VehicleId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<AgentStatus>> {
        self.statuses(
            "SELECT vehicle, received_ms, status_json FROM agent_status_log
             WHERE vehicle = ?1 AND received_ms >= ?2 AND received_ms < ?3 ORDER BY received_ms, id LIMIT ?4",
            vehicle,
            (from, to),
            u32::MAX,
        )
        .await
    }

    pub async fn newest_statuses(
        &self,
        vehicle: &VehicleId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<AgentStatus>> {
        self.statuses(
            "SELECT vehicle, received_ms, status_json FROM agent_status_log
             WHERE vehicle = ?1 AND received_ms >= ?2 AND received_ms < ?3
             ORDER BY received_ms DESC, id DESC LIMIT ?4",
            vehicle,
            (from, to),
            limit,
        )
        .await
    }

    /// The statuses `sql` selects, given the vehicle, the span's ends and a limit.
    async fn statuses(
        &self,
        sql: &'static str,
        vehicle: &VehicleId,
        (from, to): (DateTime<Utc>, DateTime<Utc>),
        limit: u32,
    ) -> Result<Vec<AgentStatus>> {
        let vehicle = vehicle.to_string();
        self.with(move |conn| {
            let mut stmt = conn.prepare_cached(sql)?;
            let rows = stmt
                .query_map(params![vehicle, from.timestamp_millis(), to.timestamp_millis(), limit], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get(2)?))
                })?;
            let mut out = Vec::new();
            for row in rows {
                let (vehicle, ms, status_json) = row?;
                out.push(AgentStatus {
                    vehicle: parse_vehicle(vehicle)?,
                    received_at: from_millis(ms)?,
                    status_json,
                });
            }
            Ok(out)
        })
        .await
    }
}

/// The thirteen values of a latest-position row, in its columns' order.
fn position_row(vehicle: &str, p: &Position, received_ms: i64) -> [rusqlite::types::Value; 13] {
    [
        vehicle.to_string().into(),
        (p.seq as i64).into(),
        p.t.timestamp_millis().into(),
        p.lat.into(),
        p.lon.into(),
        p.alt_m.into(),
        p.speed_mps.into(),
        p.course_deg.into(),
        p.fix.map(|f| f.as_str().to_string()).into(),
        p.sats.map(i64::from).into(),
        p.hdop.into(),
        received_ms.into(),
        p.accuracy_m.into(),
    ]
}

/// Reads the eleven position columns starting at `first`:
/// seq, t_ms, lat, lon, alt_m, speed_mps, course_deg, fix, sats, hdop, accuracy_m.
pub(crate) fn position_from_row(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<Result<Position>> {
    let seq: i64 = r.get(first)?;
    let t_ms: i64 = r.get(first + 1)?;
    let (lat, lon) = (r.get(first + 2)?, r.get(first + 3)?);
    let (alt_m, speed_mps, course_deg) = (r.get(first + 4)?, r.get(first + 5)?, r.get(first + 6)?);
    let fix: Option<String> = r.get(first + 7)?;
    let (sats, hdop, accuracy_m) = (r.get(first + 8)?, r.get(first + 9)?, r.get(first + 10)?);
    Ok((|| {
        Ok(Position {
            seq: u64::try_from(seq).map_err(|_| StoreError::Corrupt(format!("seq {seq}")))?,
            t: from_millis(t_ms)?,
            lat,
            lon,
            alt_m,
            speed_mps,
            course_deg,
            fix: parse_fix(fix)?,
            sats,
            hdop,
            accuracy_m,
        })
    })())
}

/// The write's verified chain heads and the gaps it found, each kept once (a redelivery
/// writes nothing new).
fn write_chains(tx: &rusqlite::Transaction<'_>, write: &IngestWrite, received_ms: i64) -> Result<()> {
    let mut head = tx.prepare_cached(
        "INSERT INTO signed_heads (vehicle, seq, head, key_id, sig, received_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT DO NOTHING",
    )?;
    for h in write.positions.iter().filter_map(|b| b.chain.as_ref()?.head.as_ref()) {
        head.execute(params![
            h.vehicle.as_str(),
            i64::try_from(h.seq).unwrap_or(i64::MAX),
            h.head.0.as_slice(),
            h.key.to_string(),
            h.sig.to_bytes().as_slice(),
            received_ms,
        ])?;
    }
    let mut gap = tx.prepare_cached(
        "INSERT INTO chain_gaps (vehicle, from_seq, to_seq, detected_ms) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT DO NOTHING",
    )?;
    for g in &write.gaps {
        gap.execute(params![
            g.vehicle.as_str(),
            i64::try_from(g.from_seq).unwrap_or(i64::MAX),
            i64::try_from(g.to_seq).unwrap_or(i64::MAX),
            g.detected_at.timestamp_millis(),
        ])?;
    }
    Ok(())
}
