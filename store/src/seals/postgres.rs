//! Seals and checkpoints on PostgreSQL.

use std::collections::HashMap;

use super::{Checkpoint, CheckpointFix, Seal, SealSeen, SealsReplaced};
use crate::rows::parse_vehicle;
use crate::{PgStore, Result};

impl PgStore {
    pub async fn move_seals(&self, move_id: &str) -> Result<Vec<Seal>> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT id, label, number, contents, sensitivity, vehicle FROM move_seals
                 WHERE move_id = $1 ORDER BY place",
                &[&move_id],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Seal {
                    id: r.get(0),
                    label: r.get(1),
                    number: r.get(2),
                    contents: r.get(3),
                    sensitivity: r.get(4),
                    vehicle: r.get::<_, Option<String>>(5).map(parse_vehicle).transpose()?,
                })
            })
            .collect()
    }

    pub async fn replace_move_seals(&self, move_id: &str, seals: &[Seal]) -> Result<SealsReplaced> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Two lists replaced at once for one move: the second waits for the first.
        tx.execute("SELECT 1 FROM moves WHERE id = $1 FOR UPDATE", &[&move_id]).await?;
        let existing = tx
            .query(
                "SELECT s.id, EXISTS (SELECT 1 FROM seal_checkpoint_states c WHERE c.seal_id = s.id)
                 FROM move_seals s WHERE s.move_id = $1 ORDER BY s.place",
                &[&move_id],
            )
            .await?;
        let removed: Vec<(String, bool)> = existing
            .iter()
            .map(|r| (r.get::<_, String>(0), r.get::<_, bool>(1)))
            .filter(|(id, _)| !seals.iter().any(|s| &s.id == id))
            .collect();
        if let Some((id, _)) = removed.iter().find(|(_, checked)| *checked) {
            return Ok(SealsReplaced::HasCheckpoints(id.clone()));
        }
        for (id, _) in &removed {
            tx.execute("DELETE FROM move_seals WHERE id = $1", &[id]).await?;
        }
        for (place, seal) in seals.iter().enumerate() {
            tx.execute(
                "INSERT INTO move_seals (id, move_id, place, label, number, contents, sensitivity, vehicle)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (id) DO UPDATE SET place = excluded.place, label = excluded.label,
                   number = excluded.number, contents = excluded.contents,
                   sensitivity = excluded.sensitivity, vehicle = excluded.vehicle
                 WHERE move_seals.move_id = excluded.move_id",
                &[
                    &seal.id,
                    &move_id,
                    &(place as i32),
                    &seal.label,
                    &seal.number,
                    &seal.contents,
                    &seal.sensitivity,
                    &seal.vehicle.as_ref().map(|v| v.as_str()),
                ],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(SealsReplaced::Stored)
    }

    pub async fn add_checkpoint(&self, checkpoint: &Checkpoint) -> Result<i64> {
        let c = checkpoint;
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let id: i64 = tx
            .query_one(
                "INSERT INTO seal_checkpoints
                   (move_id, stage, vehicle, at, recorded_by, note, fix_t, fix_seq, lat, lon)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                &[
                    &c.move_id,
                    &c.stage,
                    &c.vehicle.as_ref().map(|v| v.as_str()),
                    &c.at,
                    &c.by,
                    &c.note,
                    &c.fix.map(|f| f.t),
                    &c.fix.map(|f| f.seq as i64),
                    &c.fix.map(|f| f.lat),
                    &c.fix.map(|f| f.lon),
                ],
            )
            .await?
            .get(0);
        for (place, seal) in c.seals.iter().enumerate() {
            tx.execute(
                "INSERT INTO seal_checkpoint_states
                   (checkpoint_id, place, seal_id, seal_number, seal_label, state, note)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[&id, &(place as i32), &seal.seal_id, &seal.number, &seal.label, &seal.state, &seal.note],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    pub async fn checkpoints(&self, move_id: &str) -> Result<Vec<Checkpoint>> {
        let client = self.client().await?;
        let states = client
            .query(
                "SELECT s.checkpoint_id, s.seal_id, s.seal_number, s.seal_label, s.state, s.note
                 FROM seal_checkpoint_states s JOIN seal_checkpoints c ON c.id = s.checkpoint_id
                 WHERE c.move_id = $1 ORDER BY s.checkpoint_id, s.place",
                &[&move_id],
            )
            .await?;
        let mut seen: HashMap<i64, Vec<SealSeen>> = HashMap::new();
        for r in &states {
            seen.entry(r.get(0)).or_default().push(SealSeen {
                seal_id: r.get(1),
                number: r.get(2),
                label: r.get(3),
                state: r.get(4),
                note: r.get(5),
            });
        }
        let rows = client
            .query(
                "SELECT id, stage, vehicle, at, recorded_by, note, fix_t, fix_seq, lat, lon
                 FROM seal_checkpoints WHERE move_id = $1 ORDER BY at, id",
                &[&move_id],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let id: i64 = r.get(0);
                let fix = match (r.get(6), r.get::<_, Option<i64>>(7), r.get(8), r.get(9)) {
                    (Some(t), Some(seq), Some(lat), Some(lon)) => {
                        Some(CheckpointFix { t, seq: seq as u64, lat, lon })
                    }
                    _ => None,
                };
                Ok(Checkpoint {
                    id,
                    move_id: move_id.to_string(),
                    stage: r.get(1),
                    vehicle: r.get::<_, Option<String>>(2).map(parse_vehicle).transpose()?,
                    at: r.get(3),
                    by: r.get(4),
                    note: r.get(5),
                    fix,
                    seals: seen.remove(&id).unwrap_or_default(),
                })
            })
            .collect()
    }
}
