//! Seals and checkpoints on SQLite; times in milliseconds.

use std::collections::HashMap;

use rusqlite::{params, TransactionBehavior};

use super::{Checkpoint, CheckpointFix, Seal, SealSeen, SealsReplaced};
use crate::rows::parse_vehicle;
use crate::sqlite::from_millis;
use crate::{Result, SqliteStore};

impl SqliteStore {
    pub async fn move_seals(&self, move_id: &str) -> Result<Vec<Seal>> {
        let move_id = move_id.to_string();
        self.with(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, label, number, contents, sensitivity, vehicle FROM move_seals
                 WHERE move_id = ?1 ORDER BY place",
            )?;
            let rows = stmt.query_map([move_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get::<_, Option<String>>(5)?))
            })?;
            rows.map(|row| {
                let (id, label, number, contents, sensitivity, vehicle) = row?;
                Ok(Seal {
                    id,
                    label,
                    number,
                    contents,
                    sensitivity,
                    vehicle: vehicle.map(parse_vehicle).transpose()?,
                })
            })
            .collect()
        })
        .await
    }

    pub async fn replace_move_seals(&self, move_id: &str, seals: &[Seal]) -> Result<SealsReplaced> {
        let (move_id, seals) = (move_id.to_string(), seals.to_vec());
        self.with(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let kept: Vec<&str> = seals.iter().map(|s| s.id.as_str()).collect();
            let existing: Vec<(String, bool)> = {
                let mut stmt = tx.prepare_cached(
                    "SELECT s.id, EXISTS (SELECT 1 FROM seal_checkpoint_states c WHERE c.seal_id = s.id)
                     FROM move_seals s WHERE s.move_id = ?1 ORDER BY s.place",
                )?;
                let rows = stmt.query_map([&move_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            let removed = existing.iter().filter(|(id, _)| !kept.contains(&id.as_str()));
            if let Some((id, _)) = removed.clone().find(|(_, checked)| *checked) {
                return Ok(SealsReplaced::HasCheckpoints(id.clone()));
            }
            for (id, _) in removed {
                tx.execute("DELETE FROM move_seals WHERE id = ?1", [id])?;
            }
            for (place, seal) in seals.iter().enumerate() {
                tx.execute(
                    "INSERT INTO move_seals (id, move_id, place, label, number, contents, sensitivity, vehicle)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                     ON CONFLICT (id) DO UPDATE SET place = excluded.place, label = excluded.label,
                       number = excluded.number, contents = excluded.contents,
                       sensitivity = excluded.sensitivity, vehicle = excluded.vehicle
                     WHERE move_seals.move_id = excluded.move_id",
                    params![
                        seal.id,
                        move_id,
                        place as i64,
                        seal.label,
                        seal.number,
                        seal.contents,
                        seal.sensitivity,
                        seal.vehicle.as_ref().map(|v| v.as_str())
                    ],
                )?;
            }
            tx.commit()?;
            Ok(SealsReplaced::Stored)
        })
        .await
    }

    pub async fn add_checkpoint(&self, checkpoint: &Checkpoint) -> Result<i64> {
        let c = checkpoint.clone();
        self.with(move |conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "INSERT INTO seal_checkpoints
                   (move_id, stage, vehicle, at_ms, recorded_by, note, fix_ms, fix_seq, lat, lon)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    c.move_id,
                    c.stage,
                    c.vehicle.as_ref().map(|v| v.as_str()),
                    c.at.timestamp_millis(),
                    c.by,
                    c.note,
                    c.fix.map(|f| f.t.timestamp_millis()),
                    c.fix.map(|f| f.seq as i64),
                    c.fix.map(|f| f.lat),
                    c.fix.map(|f| f.lon)
                ],
            )?;
            let id = tx.last_insert_rowid();
            for (place, seal) in c.seals.iter().enumerate() {
                tx.execute(
                    "INSERT INTO seal_checkpoint_states
                       (checkpoint_id, place, seal_id, seal_number, seal_label, state, note)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![id, place as i64, seal.seal_id, seal.number, seal.label, seal.state, seal.note],
                )?;
            }
            tx.commit()?;
            Ok(id)
        })
        .await
    }

    pub async fn checkpoints(&self, move_id: &str) -> Result<Vec<Checkpoint>> {
        let move_id = move_id.to_string();
        self.with(move |conn| {
            let mut seen: HashMap<i64, Vec<SealSeen>> = HashMap::new();
            let mut stmt = conn.prepare_cached(
                "SELECT s.checkpoint_id, s.seal_id, s.seal_number, s.seal_label, s.state, s.note
                 FROM seal_checkpoint_states s JOIN seal_checkpoints c ON c.id = s.checkpoint_id
                 WHERE c.move_id = ?1 ORDER BY s.checkpoint_id, s.place",
            )?;
            let rows = stmt.query_map([&move_id], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    SealSeen {
                        seal_id: r.get(1)?,
                        number: r.get(2)?,
                        label: r.get(3)?,
                        state: r.get(4)?,
                        note: r.get(5)?,
                    },
                ))
            })?;
            for row in rows {
                let (id, seal) = row?;
                seen.entry(id).or_default().push(seal);
            }
            let mut stmt = conn.prepare_cached(
                "SELECT id, stage, vehicle, at_ms, recorded_by, note, fix_ms, fix_seq, lat, lon
                 FROM seal_checkpoints WHERE move_id = ?1 ORDER BY at_ms, id",
            )?;
            let rows = stmt.query_map([&move_id], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    (
                        r.get::<_, Option<i64>>(6)?,
                        r.get::<_, Option<i64>>(7)?,
                        r.get::<_, Option<f64>>(8)?,
                        r.get::<_, Option<f64>>(9)?,
                    ),
                ))
            })?;
            let mut checkpoints = Vec::new();
            for row in rows {
                let (id, stage, vehicle, at_ms, by, note, fix) = row?;
                let fix = match fix {
                    (Some(ms), Some(seq), Some(lat), Some(lon)) => {
                        Some(CheckpointFix { t: from_millis(ms)?, seq: seq as u64, lat, lon })
                    }
                    _ => None,
                };
                checkpoints.push(Checkpoint {
                    id,
                    move_id: move_id.clone(),
                    stage,
                    vehicle: vehicle.map(parse_vehicle).transpose()?,
                    at: from_millis(at_ms)?,
                    by,
                    note,
                    fix,
                    seals: seen.remove(&id).unwrap_or_default(),
                });
            }
            Ok(checkpoints)
        })
        .await
    }
}
