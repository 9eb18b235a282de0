//! Vehicles, people and login tokens on PostgreSQL.

use chrono::{DateTime, Utc};
use convoy_core::VehicleId;
use tokio_postgres::Row;

use super::{parse_role, User};
use crate::rows::parse_vehicle;
use crate::{PgStore, Result, StoreError};

impl PgStore {
    pub async fn replace_vehicle_password_hash(&self, id: &VehicleId, old: &str, new: &str) -> Result<bool> {
        let changed = self
            .client()
            .await?
            .execute(
                "UPDATE vehicles SET password_hash = $3 WHERE id = $1 AND password_hash = $2",
                &[&id.as_str(), &old, &new],
            )
            .await?;
        Ok(changed == 1)
    }

    pub async fn add_vehicle(&self, id: &VehicleId, password_hash: &str) -> Result<()> {
        let changed = self
            .client()
            .await?
            .execute(
                "INSERT INTO vehicles (id, password_hash) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&id.as_str(), &password_hash],
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::AlreadyExists(format!("vehicle {id}")));
        }
        Ok(())
    }

    pub async fn vehicle_password_hash(&self, id: &VehicleId) -> Result<Option<String>> {
        let row = self
            .client()
            .await?
            .query_opt("SELECT password_hash FROM vehicles WHERE id = $1", &[&id.as_str()])
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    pub async fn registered_among(&self, ids: &[VehicleId]) -> Result<Vec<VehicleId>> {
        let ids: Vec<&str> = ids.iter().map(VehicleId::as_str).collect();
        let rows = self.client().await?.query("SELECT id FROM vehicles WHERE id = ANY($1)", &[&ids]).await?;
        rows.into_iter().map(|r| parse_vehicle(r.get(0))).collect()
    }

    pub async fn vehicle_ids(&self) -> Result<Vec<VehicleId>> {
        let rows = self.client().await?.query("SELECT id FROM vehicles ORDER BY id", &[]).await?;
        rows.into_iter().map(|r| parse_vehicle(r.get(0))).collect()
    }

    pub async fn add_user(&self, user: &User) -> Result<()> {
        let changed = self
            .client()
            .await?
            .execute(
                "INSERT INTO users (name, role, password_hash) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                &[&user.name, &user.role.as_str(), &user.password_hash],
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::AlreadyExists(format!("user {}", user.name)));
        }
        Ok(())
    }

    pub async fn user(&self, name: &str) -> Result<Option<User>> {
        let row = self
            .client()
            .await?
            .query_opt("SELECT name, role, password_hash FROM users WHERE name = $1", &[&name])
            .await?;
        row.map(|r| user_from_row(&r)).transpose()
    }

    pub async fn add_token(&self, token_hash: &str, username: &str, expires_at: DateTime<Utc>) -> Result<()> {
        self.client()
            .await?
            .execute(
                "INSERT INTO tokens (token_hash, username, expires_at) VALUES ($1, $2, $3)",
                &[&token_hash, &username, &expires_at],
            )
            .await?;
        Ok(())
    }

    pub async fn token_user(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<User>> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT u.name, u.role, u.password_hash FROM tokens t JOIN users u ON u.name = t.username
                 WHERE t.token_hash = $1 AND t.expires_at > $2",
                &[&token_hash, &now],
            )
            .await?;
        row.map(|r| user_from_row(&r)).transpose()
    }

    pub async fn revoke_token(&self, token_hash: &str) -> Result<bool> {
        let client = self.client().await?;
        Ok(client.execute("DELETE FROM tokens WHERE token_hash = $1", &[&token_hash]).await? > 0)
    }

    pub async fn revoke_tokens_of(&self, username: &str) -> Result<u64> {
        let client = self.client().await?;
        Ok(client.execute("DELETE FROM tokens WHERE username = $1", &[&username]).await?)
    }

    pub async fn users(&self) -> Result<Vec<User>> {
        let rows = self
            .client()
            .await?
            .query("SELECT name, role, password_hash FROM users ORDER BY name", &[])
            .await?;
        rows.iter().map(user_from_row).collect()
    }
}

fn user_from_row(r: &Row) -> Result<User> {
    Ok(User { name: r.get(0), role: parse_role(r.get(1))?, password_hash: r.get(2) })
}
