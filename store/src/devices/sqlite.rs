//! Registered phones on SQLite.

use convoy_core::VehicleId;
use rusqlite::{params, OptionalExtension};

use super::{parse_kind, Device, DeviceKind};
use crate::rows::parse_vehicle;
use crate::sqlite::{from_millis, SqliteStore};
use crate::{Result, StoreError};

const COLUMNS: &str = "kind, name, owntracks_device, vehicle, person, secret_hash, created_ms";

impl SqliteStore {
    pub async fn add_device(&self, device: &Device) -> Result<()> {
        let device = device.clone();
        self.with(move |conn| {
            let changed = conn.execute(
                &format!("INSERT OR IGNORE INTO devices ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
                params![
                    device.kind.as_str(),
                    device.name,
                    device.owntracks_device,
                    device.vehicle.as_str(),
                    device.person,
                    device.secret_hash,
                    device.created_at.timestamp_millis(),
                ],
            )?;
            if changed == 0 {
                return Err(StoreError::AlreadyExists(format!(
                    "{} device {}",
                    device.kind.as_str(),
                    device.name
                )));
            }
            Ok(())
        })
        .await
    }

    pub async fn device(&self, kind: DeviceKind, name: &str) -> Result<Option<Device>> {
        let name = name.to_string();
        self.with(move |conn| {
            let row = conn
                .query_row(
                    &format!("SELECT {COLUMNS} FROM devices WHERE kind = ?1 AND name = ?2"),
                    params![kind.as_str(), name],
                    read_row,
                )
                .optional()?;
            row.map(device_from_row).transpose()
        })
        .await
    }

    pub async fn devices(&self) -> Result<Vec<Device>> {
        self.with(|conn| {
            let mut stmt =
                conn.prepare_cached(&format!("SELECT {COLUMNS} FROM devices ORDER BY kind, name"))?;
            let rows = stmt.query_map([], read_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter().map(device_from_row).collect()
        })
        .await
    }

    pub async fn remove_device(&self, kind: DeviceKind, name: &str) -> Result<bool> {
        let name = name.to_string();
        self.with(move |conn| {
            Ok(conn
                .execute("DELETE FROM devices WHERE kind = ?1 AND name = ?2", params![kind.as_str(), name])?
                == 1)
        })
        .await
    }
}

type DeviceRow = (String, String, Option<String>, String, Option<String>, String, i64);

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeviceRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
}

fn device_from_row(
    (kind, name, owntracks_device, vehicle, person, secret_hash, created_ms): DeviceRow,
) -> Result<Device> {
    let vehicle: VehicleId = parse_vehicle(vehicle)?;
    Ok(Device {
        kind: parse_kind(&kind)?,
        name,
        owntracks_device,
        vehicle,
        person,
        secret_hash,
        created_at: from_millis(created_ms)?,
    })
}
