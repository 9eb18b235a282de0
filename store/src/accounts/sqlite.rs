//! Vehicles, people and login tokens on SQLite. Times are milliseconds since 1970.

use chrono::{DateTime, Utc};
use convoy_core::{Language, VehicleId};
use rusqlite::{params, OptionalExtension};

use super::{parse_language, parse_role, Person, PersonChange, PersonChanged, User, VehicleLogin};
use crate::rows::parse_vehicle;
use crate::sqlite::from_millis;
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

    pub async fn set_vehicle_password_hash(&self, id: &VehicleId, hash: &str) -> Result<bool> {
        let (id, hash) = (id.to_string(), hash.to_string());
        self.with(move |conn| {
            Ok(conn.execute("UPDATE vehicles SET password_hash = ?2 WHERE id = ?1", params![id, hash])? == 1)
        })
        .await
    }

    pub async fn vehicle_login(&self, id: &VehicleId) -> Result<Option<VehicleLogin>> {
        let id = id.to_string();
        self.with(move |conn| {
            Ok(conn
                .query_row("SELECT password_hash, disabled FROM vehicles WHERE id = ?1", [id], |r| {
                    Ok(VehicleLogin { password_hash: r.get(0)?, disabled: r.get::<_, i64>(1)? != 0 })
                })
                .optional()?)
        })
        .await
    }

    pub async fn set_vehicle_disabled(&self, id: &VehicleId, disabled: bool) -> Result<Option<bool>> {
        let id = id.to_string();
        self.with(move |conn| {
            let tx = conn.transaction()?;
            let before: Option<i64> = tx
                .query_row("SELECT disabled FROM vehicles WHERE id = ?1", [&id], |r| r.get(0))
                .optional()?;
            if before.is_some() {
                tx.execute("UPDATE vehicles SET disabled = ?2 WHERE id = ?1", params![id, disabled as i64])?;
            }
            tx.commit()?;
            Ok(before.map(|b| b != 0))
        })
        .await
    }

    pub async fn disabled_vehicles(&self) -> Result<Vec<VehicleId>> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached("SELECT id FROM vehicles WHERE disabled <> 0 ORDER BY id")?;
            let ids = stmt.query_map([], |r| r.get::<_, String>(0))?;
            ids.map(|id| parse_vehicle(id?)).collect()
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
                "SELECT name, role, password_hash, disabled FROM users WHERE name = ?1",
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
                "SELECT u.name, u.role, u.password_hash, u.disabled FROM tokens t JOIN users u ON u.name = t.username
                 WHERE t.token_hash = ?1 AND t.expires_ms > ?2 AND u.disabled = 0",
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

    pub async fn people(&self) -> Result<Vec<Person>> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT name, role, disabled, created_ms, last_login_ms FROM users ORDER BY name",
            )?;
            let people = stmt.query_map([], person_from_row)?;
            people.map(|person| person?).collect()
        })
        .await
    }

    pub async fn change_person(&self, name: &str, change: &PersonChange) -> Result<PersonChanged> {
        let (name, change) = (name.to_string(), change.clone());
        self.with(move |conn| {
            // IMMEDIATE: the write lock first, so another process's change cannot slip between
            // counting the admins and changing this one.
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let before = tx
                .query_row(
                    "SELECT name, role, password_hash, disabled FROM users WHERE name = ?1",
                    [&name],
                    user_from_row,
                )
                .optional()?
                .transpose()?;
            let Some(before) = before else { return Ok(PersonChanged::NoSuchPerson) };
            if change.removes_admin(&before) {
                let admins: i64 = tx.query_row(
                    "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0",
                    [],
                    |r| r.get(0),
                )?;
                if admins <= 1 {
                    return Ok(PersonChanged::LastAdmin);
                }
            }
            let revoked = match &change {
                PersonChange::Role(role) => {
                    tx.execute("UPDATE users SET role = ?2 WHERE name = ?1", params![name, role.as_str()])?;
                    0
                }
                PersonChange::Disabled(disabled) => {
                    tx.execute("UPDATE users SET disabled = ?2 WHERE name = ?1", params![name, disabled])?;
                    if *disabled {
                        tx.execute("DELETE FROM tokens WHERE username = ?1", [&name])?
                    } else {
                        0
                    }
                }
                PersonChange::Password { hash, keep_token } => {
                    tx.execute("UPDATE users SET password_hash = ?2 WHERE name = ?1", params![name, hash])?;
                    tx.execute(
                        "DELETE FROM tokens WHERE username = ?1 AND token_hash IS NOT ?2",
                        params![name, keep_token],
                    )?
                }
            };
            tx.commit()?;
            Ok(PersonChanged::Changed { before, revoked: revoked as u64 })
        })
        .await
    }

    pub async fn person_language(&self, name: &str) -> Result<Option<Language>> {
        let name = name.to_string();
        let saved: Option<Option<String>> = self
            .with(move |conn| {
                Ok(conn
                    .query_row("SELECT language FROM users WHERE name = ?1", params![name], |r| r.get(0))
                    .optional()?)
            })
            .await?;
        parse_language(saved.flatten())
    }

    pub async fn set_person_language(&self, name: &str, language: Language) -> Result<bool> {
        let name = name.to_string();
        self.with(move |conn| {
            let changed = conn
                .execute("UPDATE users SET language = ?2 WHERE name = ?1", params![name, language.tag()])?;
            Ok(changed == 1)
        })
        .await
    }

    pub async fn record_login(&self, name: &str, at: DateTime<Utc>) -> Result<()> {
        let name = name.to_string();
        self.with(move |conn| {
            conn.execute(
                "UPDATE users SET last_login_ms = ?2 WHERE name = ?1",
                params![name, at.timestamp_millis()],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn users(&self) -> Result<Vec<User>> {
        self.with(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT name, role, password_hash, disabled FROM users ORDER BY name")?;
            let users = stmt.query_map([], user_from_row)?;
            users.map(|user| user?).collect()
        })
        .await
    }
}

fn user_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<User>> {
    let (name, role, password_hash): (String, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
    let disabled: bool = r.get(3)?;
    Ok(parse_role(&role).map(|role| User { name, role, password_hash, disabled }))
}

fn person_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Person>> {
    let (name, role, disabled): (String, String, bool) = (r.get(0)?, r.get(1)?, r.get(2)?);
    let (created_ms, last_login_ms): (i64, Option<i64>) = (r.get(3)?, r.get(4)?);
    let person = || -> Result<Person> {
        Ok(Person {
            role: parse_role(&role)?,
            disabled,
            created_at: from_millis(created_ms)?,
            last_login_at: last_login_ms.map(from_millis).transpose()?,
            name,
        })
    };
    Ok(person())
}
