//! Signed tracks on PostgreSQL (and TimescaleDB: `positions.prev_hash` is a nullable column of
//! the hypertable; the other tables are plain).

use chrono::{DateTime, Utc};
use convoy_core::signing::{link, ChainHash, SignedHead};
use convoy_core::VehicleId;

use super::{
    chain_hash_of, key_id_of, public_key_of, seq_of, seq_to_sql, signature_of, ChainGap, ChainPoint,
    KeyAdded, StoredHead, VehicleKey,
};
use crate::positions::pg_position_from_row;
use crate::rows::parse_vehicle;
use crate::{PgStore, Result};

impl PgStore {
    pub async fn add_vehicle_key(&self, key: &VehicleKey) -> Result<KeyAdded> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Locking the vehicle orders concurrent additions of its keys.
        let known =
            tx.query_opt("SELECT 1 FROM vehicles WHERE id = $1 FOR UPDATE", &[&key.vehicle.as_str()]).await?;
        if known.is_none() {
            return Ok(KeyAdded::UnknownVehicle);
        }
        let key_id = key.key_id().to_string();
        if tx.query_opt("SELECT 1 FROM vehicle_keys WHERE key_id = $1", &[&key_id]).await?.is_some() {
            return Ok(KeyAdded::KeyExists);
        }
        let newest: Option<DateTime<Utc>> = tx
            .query_one(
                "SELECT max(valid_from) FROM vehicle_keys WHERE vehicle = $1",
                &[&key.vehicle.as_str()],
            )
            .await?
            .get(0);
        if let Some(current) = newest.filter(|&current| current >= key.valid_from) {
            return Ok(KeyAdded::NotAfterCurrent { current });
        }
        tx.execute(
            "INSERT INTO vehicle_keys (vehicle, key_id, public_key, valid_from, registered_at, registered_by)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &key.vehicle.as_str(),
                &key_id,
                &key.key.to_string(),
                &key.valid_from,
                &key.registered_at,
                &key.registered_by,
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(KeyAdded::Added)
    }

    pub async fn vehicle_keys(&self, vehicle: &VehicleId) -> Result<Vec<VehicleKey>> {
        self.vehicle_keys_among(std::slice::from_ref(vehicle)).await
    }

    pub async fn vehicle_keys_among(&self, vehicles: &[VehicleId]) -> Result<Vec<VehicleKey>> {
        let ids: Vec<&str> = vehicles.iter().map(|v| v.as_str()).collect();
        let rows = self
            .client()
            .await?
            .query(
                "SELECT vehicle, public_key, valid_from, registered_at, registered_by
                 FROM vehicle_keys WHERE vehicle = ANY($1) ORDER BY vehicle, valid_from",
                &[&ids],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(VehicleKey {
                    vehicle: parse_vehicle(r.get(0))?,
                    key: public_key_of(r.get(1))?,
                    valid_from: r.get(2),
                    registered_at: r.get(3),
                    registered_by: r.get(4),
                })
            })
            .collect()
    }

    pub async fn signed_heads_page(
        &self,
        vehicle: &VehicleId,
        from_seq: u64,
        to_seq: u64,
        after: Option<(u64, ChainHash)>,
        limit: u32,
    ) -> Result<Vec<StoredHead>> {
        let (after_seq, after_head) =
            after.map_or((-1, Vec::new()), |(seq, head)| (seq_to_sql(seq), head.0.to_vec()));
        let rows = self
            .client()
            .await?
            .query(
                "SELECT seq, head, key_id, sig, received_at FROM signed_heads
                 WHERE vehicle = $1 AND seq >= $2 AND seq <= $3 AND (seq, head) > ($4, $5)
                 ORDER BY seq, head LIMIT $6",
                &[
                    &vehicle.as_str(),
                    &seq_to_sql(from_seq),
                    &seq_to_sql(to_seq),
                    &after_seq,
                    &after_head,
                    &i64::from(limit),
                ],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(StoredHead {
                    head: SignedHead {
                        vehicle: vehicle.clone(),
                        seq: seq_of(r.get(0))?,
                        head: chain_hash_of(r.get(1))?,
                        key: key_id_of(r.get(2))?,
                        sig: signature_of(r.get(3))?,
                    },
                    received_at: r.get(4),
                })
            })
            .collect()
    }

    pub async fn chain_gaps(&self, vehicle: &VehicleId, from_seq: u64, to_seq: u64) -> Result<Vec<ChainGap>> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT from_seq, to_seq, detected_at FROM chain_gaps
                 WHERE vehicle = $1 AND to_seq >= $2 AND from_seq <= $3 ORDER BY from_seq",
                &[&vehicle.as_str(), &seq_to_sql(from_seq), &seq_to_sql(to_seq)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(ChainGap {
                    vehicle: vehicle.clone(),
                    from_seq: seq_of(r.get(0))?,
                    to_seq: seq_of(r.get(1))?,
                    detected_at: r.get(2),
                })
            })
            .collect()
    }

    pub async fn chain_head_at(&self, vehicle: &VehicleId, seq: u64) -> Result<ChainPoint> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT seq, t, lat, lon, alt_m, speed_mps, course_deg, fix, sats, hdop, accuracy_m, prev_hash
                 FROM positions WHERE vehicle = $1 AND seq = $2 ORDER BY t LIMIT 1",
                &[&vehicle.as_str(), &seq_to_sql(seq)],
            )
            .await?;
        let Some(row) = row else { return Ok(ChainPoint::NotStored) };
        let prev: Option<&[u8]> = row.get(11);
        Ok(match prev {
            None => ChainPoint::Unsigned,
            Some(prev) => {
                ChainPoint::Head(link(&chain_hash_of(prev)?, vehicle, &pg_position_from_row(&row)?))
            }
        })
    }

    pub async fn last_stored_seq(&self, vehicle: &VehicleId, below: u64) -> Result<Option<u64>> {
        let row = self
            .client()
            .await?
            .query_one(
                "SELECT max(seq) FROM positions WHERE vehicle = $1 AND seq < $2",
                &[&vehicle.as_str(), &seq_to_sql(below)],
            )
            .await?;
        row.get::<_, Option<i64>>(0).map(seq_of).transpose()
    }

    pub async fn agent_seq_range(
        &self,
        vehicle: &VehicleId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Option<(u64, u64)>> {
        let row = self
            .client()
            .await?
            .query_one(
                "SELECT min(seq), max(seq) FROM positions
                 WHERE vehicle = $1 AND t >= $2 AND t < $3 AND source IS NULL",
                &[&vehicle.as_str(), &from, &to],
            )
            .await?;
        match (row.get::<_, Option<i64>>(0), row.get::<_, Option<i64>>(1)) {
            (Some(low), Some(high)) => Ok(Some((seq_of(low)?, seq_of(high)?))),
            _ => Ok(None),
        }
    }
}
