//! Vehicles: registering one gives it a random MQTT password, shown once; rotating gives it a
//! new one, and the old one stops working at once.

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

/// Gives a registered vehicle a new random MQTT password, storing only its hash, and returns it
/// (shown once); `None` if there is no such vehicle. The old password stops working at the
/// door's next check of it: its next login. A connection already open stays open.
pub async fn rotate_vehicle_password(store: &Store, id: &VehicleId) -> Result<Option<String>, StoreError> {
    let password = random_password();
    let changed = store.set_vehicle_password_hash(id, &hash_vehicle_password(&password)).await?;
    Ok(changed.then_some(password))
}
