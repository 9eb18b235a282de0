//! Who may connect: vehicles with their password hashes, people with their roles, and people's
//! login tokens.

mod postgres;
mod sqlite;

use chrono::{DateTime, Utc};
use convoy_core::{Role, VehicleId};

use crate::{Result, Store, StoreError};

#[derive(Clone, Debug, PartialEq)]
pub struct User {
    pub name: String,
    pub role: Role,
    pub password_hash: String,
}

forward! {
    pub async fn add_vehicle(&self, id: &VehicleId, password_hash: &str) -> Result<()>;

    /// Replaces a vehicle's stored password hash with `new` if it is still `old` (a hash of
    /// the same password in another form); whether it was replaced.
    pub async fn replace_vehicle_password_hash(&self, id: &VehicleId, old: &str, new: &str) -> Result<bool>;

    pub async fn vehicle_password_hash(&self, id: &VehicleId) -> Result<Option<String>>;

    /// Every registered vehicle, ordered by id.
    pub async fn vehicle_ids(&self) -> Result<Vec<VehicleId>>;

    /// Those of `ids` that are registered, in one round trip.
    pub async fn registered_among(&self, ids: &[VehicleId]) -> Result<Vec<VehicleId>>;

    pub async fn add_user(&self, user: &User) -> Result<()>;

    pub async fn user(&self, name: &str) -> Result<Option<User>>;

    /// Every person who may log in, by name.
    pub async fn users(&self) -> Result<Vec<User>>;

    pub async fn add_token(&self, token_hash: &str, username: &str, expires_at: DateTime<Utc>) -> Result<()>;

    /// The user a token belongs to, if the token exists and has not expired at `now`.
    pub async fn token_user(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<User>>;

    /// Ends a login token before it expires (logout); whether it existed.
    pub async fn revoke_token(&self, token_hash: &str) -> Result<bool>;

    /// Ends every login token of a person; how many there were.
    pub async fn revoke_tokens_of(&self, username: &str) -> Result<u64>;
}

impl Store {
    pub async fn vehicle_registered(&self, id: &VehicleId) -> Result<bool> {
        Ok(self.vehicle_password_hash(id).await?.is_some())
    }
}

fn parse_role(text: &str) -> Result<Role> {
    text.parse().map_err(StoreError::Corrupt)
}
