//! Vehicles: registering one gives it a random MQTT password, shown once.

use convoy_core::VehicleId;
use convoy_store::{Store, StoreError};

use crate::credentials::random_password;
use crate::vehicle_key::hash_vehicle_password;

/// Registers a vehicle with a new random MQTT password, stores only its hash, and returns the
/// password: it is shown once and cannot be recovered.
/// (A salted HMAC, not argon2: see [`crate::vehicle_key`].)
pub async fn register_vehicle(store: &Store, id: &VehicleId) -> Result<String, StoreError> {
    let password = random_password();
    store.add_vehicle(id, &hash_vehicle_password(&password)).await?;
    Ok(password)
}
