//! Vehicles, people and login tokens on PostgreSQL.

use chrono::{DateTime, Utc};
use convoy_core::{Language, VehicleId};
use tokio_postgres::Row;

use super::{parse_language, parse_role, Person, PersonChange, PersonChanged, User, VehicleLogin};
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

    pub async fn set_vehicle_password_hash(&self, id: &VehicleId, hash: &str) -> Result<bool> {
        let changed = self
            .client()
            .await?
            .execute("UPDATE vehicles SET password_hash = $2 WHERE id = $1", &[&id.as_str(), &hash])
            .await?;
        Ok(changed == 1)
    }

    pub async fn vehicle_login(&self, id: &VehicleId) -> Result<Option<VehicleLogin>> {
        let row = self
            .client()
            .await?
            .query_opt("SELECT password_hash, disabled FROM vehicles WHERE id = $1", &[&id.as_str()])
            .await?;
        Ok(row.map(|r| VehicleLogin { password_hash: r.get(0), disabled: r.get(1) }))
    }

    pub async fn set_vehicle_disabled(&self, id: &VehicleId, disabled: bool) -> Result<Option<bool>> {
        // The row is locked by the subquery's FOR UPDATE, so the state before is the one replaced.
        let row = self
            .client()
            .await?
            .query_opt(
                "WITH before AS (SELECT id, disabled FROM vehicles WHERE id = $1 FOR UPDATE)
                 UPDATE vehicles v SET disabled = $2 FROM before WHERE v.id = before.id
                 RETURNING before.disabled",
                &[&id.as_str(), &disabled],
            )
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    pub async fn disabled_vehicles(&self) -> Result<Vec<VehicleId>> {
        let rows =
            self.client().await?.query("SELECT id FROM vehicles WHERE disabled ORDER BY id", &[]).await?;
        rows.into_iter().map(|r| parse_vehicle(r.get(0))).collect()
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
            .query_opt("SELECT name, role, password_hash, disabled FROM users WHERE name = $1", &[&name])
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
                "SELECT u.name, u.role, u.password_hash, u.disabled FROM tokens t JOIN users u ON u.name = t.username
                 WHERE t.token_hash = $1 AND t.expires_at > $2 AND NOT u.disabled",
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

    pub async fn people(&self) -> Result<Vec<Person>> {
        let rows = self
            .client()
            .await?
            .query("SELECT name, role, disabled, created_at, last_login_at FROM users ORDER BY name", &[])
            .await?;
        rows.iter().map(person_from_row).collect()
    }

    pub async fn change_person(&self, name: &str, change: &PersonChange) -> Result<PersonChanged> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // The enabled admins are locked first (always in name order, so two changes wait rather
        // than deadlock), then the person: of two changes that would each leave one admin, the
        // second sees the first's result.
        let admins = tx
            .query(
                "SELECT name FROM users WHERE role = 'admin' AND NOT disabled ORDER BY name FOR UPDATE",
                &[],
            )
            .await?
            .len();
        let row = tx
            .query_opt(
                "SELECT name, role, password_hash, disabled FROM users WHERE name = $1 FOR UPDATE",
                &[&name],
            )
            .await?;
        let Some(before) = row.map(|r| user_from_row(&r)).transpose()? else {
            return Ok(PersonChanged::NoSuchPerson);
        };
        if change.removes_admin(&before) && admins <= 1 {
            return Ok(PersonChanged::LastAdmin);
        }
        let revoked = match change {
            PersonChange::Role(role) => {
                tx.execute("UPDATE users SET role = $2 WHERE name = $1", &[&name, &role.as_str()]).await?;
                0
            }
            PersonChange::Disabled(disabled) => {
                tx.execute("UPDATE users SET disabled = $2 WHERE name = $1", &[&name, disabled]).await?;
                if *disabled {
                    tx.execute("DELETE FROM tokens WHERE username = $1", &[&name]).await?
                } else {
                    0
                }
            }
            PersonChange::Password { hash, keep_token } => {
                tx.execute("UPDATE users SET password_hash = $2 WHERE name = $1", &[&name, hash]).await?;
                tx.execute(
                    "DELETE FROM tokens WHERE username = $1 AND token_hash IS DISTINCT FROM $2",
                    &[&name, keep_token],
                )
                .await?
            }
        };
        tx.commit().await?;
        Ok(PersonChanged::Changed { before, revoked })
    }

    pub async fn person_language(&self, name: &str) -> Result<Option<Language>> {
        let client = self.client().await?;
        let row = client.query_opt("SELECT language FROM users WHERE name = $1", &[&name]).await?;
        parse_language(row.and_then(|r| r.get(0)))
    }

    pub async fn set_person_language(&self, name: &str, language: Language) -> Result<bool> {
        let client = self.client().await?;
        let changed = client
            .execute("UPDATE users SET language = $2 WHERE name = $1", &[&name, &language.tag()])
            .await?;
        Ok(changed == 1)
    }

    pub async fn record_login(&self, name: &str, at: DateTime<Utc>) -> Result<()> {
        let client = self.client().await?;
        client.execute("UPDATE users SET last_login_at = $2 WHERE name = $1", &[&name, &at]).await?;
        Ok(())
    }

    pub async fn users(&self) -> Result<Vec<User>> {
        let rows = self
            .client()
            .await?
            .query("SELECT name, role, password_hash, disabled FROM users ORDER BY name", &[])
            .await?;
        rows.iter().map(user_from_row).collect()
    }
}

fn user_from_row(r: &Row) -> Result<User> {
    Ok(User { name: r.get(0), role: parse_role(r.get(1))?, password_hash: r.get(2), disabled: r.get(3) })
}

fn person_from_row(r: &Row) -> Result<Person> {
    Ok(Person {
        name: r.get(0),
        role: parse_role(r.get(1))?,
        disabled: r.get(2),
        created_at: r.get(3),
        last_login_at: r.get(4),
    })
}
