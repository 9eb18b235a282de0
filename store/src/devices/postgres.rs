//! Registered phones on PostgreSQL.

use tokio_postgres::Row;

use super::{parse_kind, Device, DeviceKind};
use crate::postgres::PgStore;
use crate::rows::parse_vehicle;
use crate::{Result, StoreError};

const COLUMNS: &str = "kind, name, owntracks_device, vehicle, person, secret_hash, created_at";

impl PgStore {
    pub async fn add_device(&self, device: &Device) -> Result<()> {
        let changed = self
            .client()
            .await?
            .execute(
                &format!("INSERT INTO devices ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING"),
                &[
                    &device.kind.as_str(),
                    &device.name,
                    &device.owntracks_device,
                    &device.vehicle.as_str(),
                    &device.person,
                    &device.secret_hash,
                    &device.created_at,
                ],
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::AlreadyExists(format!(
                "{} device {}",
                device.kind.as_str(),
                device.name
            )));
        }
        Ok(())
    }

    pub async fn device(&self, kind: DeviceKind, name: &str) -> Result<Option<Device>> {
        let row = self
            .client()
            .await?
            .query_opt(
                &format!("SELECT {COLUMNS} FROM devices WHERE kind = $1 AND name = $2"),
                &[&kind.as_str(), &name],
            )
            .await?;
        row.map(|r| device_from_row(&r)).transpose()
    }

    pub async fn devices(&self) -> Result<Vec<Device>> {
        let rows = self
            .client()
            .await?
            .query(&format!("SELECT {COLUMNS} FROM devices ORDER BY kind, name"), &[])
            .await?;
        rows.iter().map(device_from_row).collect()
    }

    pub async fn remove_device(&self, kind: DeviceKind, name: &str) -> Result<bool> {
        let changed = self
            .client()
            .await?
            .execute("DELETE FROM devices WHERE kind = $1 AND name = $2", &[&kind.as_str(), &name])
            .await?;
        Ok(changed == 1)
    }
}

fn device_from_row(r: &Row) -> Result<Device> {
    Ok(Device {
        kind: parse_kind(r.get(0))?,
        name: r.get(1),
        owntracks_device: r.get(2),
        vehicle: parse_vehicle(r.get(3))?,
        person: r.get(4),
        secret_hash: r.get(5),
        created_at: r.get(6),
    })
}
