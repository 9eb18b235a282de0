//! Signed tracks on SQLite. Times are milliseconds since 1970.

use convoy_core::signing::{link, ChainHash, SignedHead};
use convoy_core::VehicleId;
use rusqlite::{params, OptionalExtension};

use super::{
    chain_hash_of, key_id_of, public_key_of, seq_of, seq_to_sql, signature_of, ChainGap, ChainPoint,
    KeyAdded, StoredHead, VehicleKey,
};
use crate::positions::sqlite_position_from_row;
use crate::rows::parse_vehicle;
use crate::sqlite::{from_millis, SqliteStore};
use crate::Result;

impl SqliteStore {
    pub async fn add_vehicle_key(&self, key: &VehicleKey) -> Result<KeyAdded> {
        let key = key.clone();
        self.with(move |conn| {
            let tx = conn.transaction()?;
            let known = tx
                .query_row("SELECT 1 FROM vehicles WHERE id = ?1", [key.vehicle.as_str()], |_| Ok(()))
                .optional()?;
            if known.is_none() {
                return Ok(KeyAdded::UnknownVehicle);
            }
            let key_id = key.key_id().to_string();
            let exists =
                tx.query_row("SELECT 1 FROM vehicle_keys WHERE key_id = ?1", [&key_id], |_| Ok(())).optional()?;
            if exists.is_some() {
                return Ok(KeyAdded::KeyExists);
            }
            let newest: Option<i64> = tx.query_row(
                "SELECT max(valid_from_ms) FROM vehicle_keys WHERE vehicle = ?1",
                [key.vehicle.as_str()],
                |r| r.get(0),
            )?;
            if let Some(current) = newest.filter(|&ms| ms >= key.valid_from.timestamp_millis()) {
                return Ok(KeyAdded::NotAfterCurrent { current: from_millis(current)? });
            }
            tx.execute(
                "INSERT INTO vehicle_keys (vehicle, key_id, public_key, valid_from_ms, registered_ms, registered_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    key.vehicle.as_str(),
                    key_id,
                    key.key.to_string(),
                    key.valid_from.timestamp_millis(),
                    key.registered_at.timestamp_millis(),
                    key.registered_by,
                ],
            )?;
            tx.commit()?;
            Ok(KeyAdded::Added)
        })
        .await
    }

    pub async fn vehicle_keys(&self, vehicle: &VehicleId) -> Result<Vec<VehicleKey>> {
        self.vehicle_keys_among(std::slice::from_ref(vehicle)).await
    }

    pub async fn vehicle_keys_among(&self, vehicles: &[VehicleId]) -> Result<Vec<VehicleKey>> {
        let vehicles = vehicles.to_vec();
        self.with(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT vehicle, public_key, valid_from_ms, registered_ms, registered_by
                 FROM vehicle_keys WHERE vehicle = ?1 ORDER BY valid_from_ms",
            )?;
            let mut keys = Vec::new();
            let mut vehicles = vehicles;
            vehicles.sort();
            vehicles.dedup();
            for vehicle in vehicles {
                let rows = stmt.query_map([vehicle.as_str()], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, String>(4)?,
                    ))
                })?;
                for row in rows {
                    let (vehicle, key, valid_from, registered, registered_by) = row?;
                    keys.push(VehicleKey {
                        vehicle: parse_vehicle(vehicle)?,
                        key: public_key_of(&key)?,
                        valid_from: from_millis(valid_from)?,
                        registered_at: from_millis(registered)?,
                        registered_by,
                    });
                }
            }
            Ok(keys)
        })
        .await
    }

    pub async fn signed_heads_page(
        &self,
        vehicle: &VehicleId,
        from_seq: u64,
        to_seq: u64,
        after: Option<(u64, ChainHash)>,
        limit: u32,
    ) -> Result<Vec<StoredHead>> {
        let vehicle = vehicle.clone();
        let (after_seq, after_head) =
            after.map_or((-1, Vec::new()), |(seq, head)| (seq_to_sql(seq), head.0.to_vec()));
        self.with(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT seq, head, key_id, sig, received_ms FROM signed_heads
                 WHERE vehicle = ?1 AND seq >= ?2 AND seq <= ?3 AND (seq, head) > (?4, ?5)
                 ORDER BY seq, head LIMIT ?6",
            )?;
            let params = params![
                vehicle.as_str(),
                seq_to_sql(from_seq),
                seq_to_sql(to_seq),
                after_seq,
                after_head,
                limit
            ];
            let rows = stmt.query_map(params, |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Vec<u8>>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })?;
            let mut page = Vec::new();
            for row in rows {
                let (seq, head, key, sig, received) = row?;
                page.push(StoredHead {
                    head: SignedHead {
                        vehicle: vehicle.clone(),
                        seq: seq_of(seq)?,
                        head: chain_hash_of(&head)?,
                        key: key_id_of(&key)?,
                        sig: signature_of(&sig)?,
                    },
                    received_at: from_millis(received)?,
                });
            }
            Ok(page)
        })
        .await
    }

    pub async fn chain_gaps(&self, vehicle: &VehicleId, from_seq: u64, to_seq: u64) -> Result<Vec<ChainGap>> {
        let vehicle = vehicle.clone();
        self.with(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT from_seq, to_seq, detected_ms FROM chain_gaps
                 WHERE vehicle = ?1 AND to_seq >= ?2 AND from_seq <= ?3 ORDER BY from_seq",
            )?;
            let rows = stmt
                .query_map(params![vehicle.as_str(), seq_to_sql(from_seq), seq_to_sql(to_seq)], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
                })?;
            let mut gaps = Vec::new();
            for row in rows {
                let (from, to, detected) = row?;
                gaps.push(ChainGap {
                    vehicle: vehicle.clone(),
                    from_seq: seq_of(from)?,
                    to_seq: seq_of(to)?,
                    detected_at: from_millis(detected)?,
                });
            }
            Ok(gaps)
        })
        .await
    }

    pub async fn chain_head_at(&self, vehicle: &VehicleId, seq: u64) -> Result<ChainPoint> {
        let vehicle = vehicle.clone();
        self.with(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT seq, t_ms, lat, lon, alt_m, speed_mps, course_deg, fix, sats, hdop, accuracy_m, prev_hash
                 FROM positions WHERE vehicle = ?1 AND seq = ?2 ORDER BY t_ms LIMIT 1",
            )?;
            let row = stmt
                .query_row(params![vehicle.as_str(), seq_to_sql(seq)], |r| {
                    Ok((sqlite_position_from_row(r, 0)?, r.get::<_, Option<Vec<u8>>>(11)?))
                })
                .optional()?;
            Ok(match row {
                None => ChainPoint::NotStored,
                Some((_, None)) => ChainPoint::Unsigned,
                Some((position, Some(prev))) => ChainPoint::Head(link(&chain_hash_of(&prev)?, &vehicle, &position?)),
            })
        })
        .await
    }

    pub async fn last_stored_seq(&self, vehicle: &VehicleId, below: u64) -> Result<Option<u64>> {
        let vehicle = vehicle.clone();
        self.with(move |conn| {
            let seq: Option<i64> = conn.query_row(
                "SELECT max(seq) FROM positions WHERE vehicle = ?1 AND seq < ?2",
                params![vehicle.as_str(), seq_to_sql(below)],
                |r| r.get(0),
            )?;
            seq.map(seq_of).transpose()
        })
        .await
    }

    pub async fn agent_seq_range(
        &self,
        vehicle: &VehicleId,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<(u64, u64)>> {
        let (vehicle, from, to) = (vehicle.clone(), from.timestamp_millis(), to.timestamp_millis());
        self.with(move |conn| {
            let (low, high): (Option<i64>, Option<i64>) = conn.query_row(
                "SELECT min(seq), max(seq) FROM positions
                 WHERE vehicle = ?1 AND t_ms >= ?2 AND t_ms < ?3 AND source IS NULL",
                params![vehicle.as_str(), from, to],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            match (low, high) {
                (Some(low), Some(high)) => Ok(Some((seq_of(low)?, seq_of(high)?))),
                _ => Ok(None),
            }
        })
        .await
    }
}
