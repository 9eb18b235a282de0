//! Vehicles, people and login tokens on SQLite. Times are milliseconds since 1970.

use chrono::{DateTime, Utc};
use convoy_core::VehicleId;
use rusqlite::{params, OptionalExtension};

use super::{parse_role, User};
use crate::rows::parse_vehicle;
use crate::{Result, SqliteStore, StoreError};

impl SqliteStore {
    pub async fn add_vehicle(&self, id: &VehicleId, password_hash: &str) -> Result<()> {
        let (id, hash) = (id.to_string(), password_hash.to_string());
        self.with(move |conn| {
            let changed = conn.execute(
                "INSERT OR IGNORE INTO vehicles (id, password_hash, created_ms) VALUES (?1, ?2, ?3)",
                params![id, hash, Utc::now().timestamp_millis()],
            )?;
            if changed == 0 {
                return Err(StoreError::AlreadyExists(format!("vehicle {id}")));
            }
            Ok(())
        })
        .await
    }

    pub async fn replace_vehicle_password_hash(&self, id: &VehicleId, old: &str, new: &str) -> Result<bool> {
        let (id, old, new) = (id.to_string(), old.to_string(), new.to_string());
        self.with(move |conn| {
            Ok(conn.execute(
                "UPDATE vehicles SET password_hash = ?3 WHERE id = ?1 AND password_hash = ?2",
                params![id, old, new],
            )? == 1)
        })
        .await
    }

    pub async fn vehicle_password_hash(&self, id: &VehicleId) -> Result<Option<String>> {
        let id = id.to_string();
        self.with(move |conn| {
            Ok(conn
                .query_row("SELECT password_hash FROM vehicles WHERE id = ?1", [id], |r| r.get(0))
                .optional()?)
        })
        .await
    }

    pub async fn registered_among(&self, ids: &[VehicleId]) -> Result<Vec<VehicleId>> {
        let ids = ids.to_vec();
        self.with(move |conn| {
            let mut stmt = conn.prepare_cached("SELECT 1 FROM vehicles WHERE id = ?1")?;
            let mut found = Vec::new();
            for id in ids {
                if stmt.exists([id.as_str()])? {
                    found.push(id);
                }
            }
            Ok(found)
        })
        .await
    }

    pub async fn vehicle_ids(&self) -> Result<Vec<VehicleId>> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached("SELECT id FROM vehicles ORDER BY id")?;
            let ids = stmt.query_map([], |r| r.get::<_, String>(0))?;
            ids.map(|id| parse_vehicle(id?)).collect()
        })
        .await
    }

    pub async fn add_user(&self, user: &User) -> Result<()> {
        let user = user.clone();
        self.with(move |conn| {
            let changed = conn.execute(
                "INSERT OR IGNORE INTO users (name, role, password_hash, created_ms) VALUES (?1, ?2, ?3, ?4)",
                params![user.name, user.role.as_str(), user.password_hash, Utc::now().timestamp_millis()],
            )?;
            if changed == 0 {
                return Err(StoreError::AlreadyExists(format!("user {}", user.name)));
            }
            Ok(())
        })
        .await
    }

    pub async fn user(&self, name: &str) -> Result<Option<User>> {
        let name = name.to_string();
        self.with(move |conn| {
            conn.query_row(
                "SELECT name, role, password_hash FROM users WHERE name = ?1",
                [name],
                user_from_row,
            )
            .optional()?
            .transpose()
        })
        .await
    }

    pub async fn add_token(&self, token_hash: &str, username: &str, expires_at: DateTime<Utc>) -> Result<()> {
        let (token_hash, username) = (token_hash.to_string(), username.to_string());
        self.with(move |conn| {
            conn.execute(
                "INSERT INTO tokens (token_hash, username, expires_ms) VALUES (?1, ?2, ?3)",
                params![token_hash, username, expires_at.timestamp_millis()],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn token_user(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<User>> {
        let token_hash = token_hash.to_string();
        self.with(move |conn| {
            conn.query_row(
                "SELECT u.name, u.role, u.password_hash FROM tokens t JOIN users u ON u.name = t.username
                 WHERE t.token_hash = ?1 AND t.expires_ms > ?2",
                params![token_hash, now.timestamp_millis()],
                user_from_row,
            )
            .optional()?
            .transpose()
        })
        .await
    }

    pub async fn revoke_token(&self, token_hash: &str) -> Result<bool> {
        let token_hash = token_hash.to_string();
        self.with(move |conn| Ok(conn.execute("DELETE FROM tokens WHERE token_hash = ?1", [token_hash])? > 0))
            .await
    }

    pub async fn revoke_tokens_of(&self, username: &str) -> Result<u64> {
        let username = username.to_string();
        self.with(move |conn| Ok(conn.execute("DELETE FROM tokens WHERE username = ?1", [username])? as u64))
            .await
    }

    pub async fn users(&self) -> Result<Vec<User>> {
        self.with(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT name, role, password_hash FROM users ORDER BY name")?;
            let users = stmt.query_map([], user_from_row)?;
            users.map(|user| user?).collect()
        })
        .await
    }
}

fn user_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<User>> {
    let (name, role, password_hash): (String, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
    Ok(parse_role(&role).map(|role| User { name, role, password_hash }))
}
