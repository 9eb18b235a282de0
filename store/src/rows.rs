//! Stored text read back into Convoy's types, for both backends and every feature: a value the
//! types refuse means the database holds something Convoy never wrote, so it is
//! [`StoreError::Corrupt`], not a panic.

use convoy_core::VehicleId;

use crate::{Result, StoreError};

pub(crate) fn parse_vehicle(text: String) -> Result<VehicleId> {
    VehicleId::new(text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(crate) fn parse_json(text: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("stored JSON: {e}")))
}

pub(crate) fn json_text(value: &serde_json::Value) -> String {
    // A Value always serialises (its map keys are strings).
    value.to_string()
}
