//! Moves and their teams on SQLite. A plan is stored as JSON text; times are milliseconds since
//! 1970.

use rusqlite::{params, OptionalExtension};

use super::{MoveCrew, MoveEnd, MoveRecord};
use crate::rows::{json_text, parse_json};
use crate::sqlite::from_millis;
use crate::{Result, SqliteStore, StoreError};

impl SqliteStore {
    pub async fn add_move(&self, record: &MoveRecord) -> Result<()> {
        let record = record.clone();
        self.with(move |conn| {
            let tx = conn.transaction()?;
            let (plan, created_ms) = (json_text(&record.plan), record.created_at.timestamp_millis());
            let changed = tx.execute(
                "INSERT OR IGNORE INTO moves (id, name, plan, created_ms, created_by) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![record.id, record.name, plan, created_ms, record.created_by],
            )?;
            if changed == 0 {
                return Err(StoreError::AlreadyExists(format!("move {}", record.id)));
            }
            tx.execute(
                "INSERT INTO plan_versions (move_id, version, plan, changed_ms, changed_by, changes)
                 VALUES (?1, 1, ?2, ?3, ?4, '[]')",
                params![record.id, plan, created_ms, record.created_by],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    pub async fn move_record(&self, id: &str) -> Result<Option<MoveRecord>> {
        let id = id.to_string();
        self.with(move |conn| {
            conn.query_row(
                "SELECT id, name, plan, created_ms, created_by, ended_ms, ended_by, end_reason, cancelled, plan_version
                 FROM moves WHERE id = ?1",
                [id],
                move_from_row,
            )
            .optional()?
            .transpose()
        })
        .await
    }

    pub async fn move_ids(&self) -> Result<Vec<String>> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached("SELECT id FROM moves ORDER BY created_ms, id")?;
            let rows = stmt.query_map([], |row| row.get(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
        })
        .await
    }

    pub async fn moves(&self) -> Result<Vec<MoveRecord>> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, name, plan, created_ms, created_by, ended_ms, ended_by, end_reason, cancelled, plan_version
                 FROM moves ORDER BY created_ms, id",
            )?;
            let rows = stmt.query_map([], move_from_row)?;
            rows.map(|row| row?).collect()
        })
        .await
    }

    pub async fn move_crews(&self) -> Result<Vec<MoveCrew>> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, created_ms, json_extract(plan, '$.vehicles'), json_extract(plan, '$.window.from'),
                        json_extract(plan, '$.window.to'), ended_ms, cancelled, plan_version
                 FROM moves ORDER BY created_ms, id",
            )?;
            let rows = stmt.query_map([], |r| {
                let (id, created_ms): (String, i64) = (r.get(0)?, r.get(1)?);
                let vehicles: Option<String> = r.get(2)?;
                let (starts_at, ends_at): (Option<String>, Option<String>) = (r.get(3)?, r.get(4)?);
                let (ended_ms, cancelled, plan_version): (Option<i64>, bool, u32) =
                    (r.get(5)?, r.get(6)?, r.get(7)?);
                Ok((|| {
                    let created_at = from_millis(created_ms)?;
                    let ended_at = ended_ms.map(from_millis).transpose()?;
                    let window = (starts_at.as_deref(), ends_at.as_deref());
                    let ended = (ended_at, cancelled);
                    MoveCrew::from_parts(id, created_at, vehicles.as_deref(), window, ended, plan_version)
                })())
            })?;
            rows.map(|row| row?).collect()
        })
        .await
    }

    pub async fn end_move(&self, id: &str, end: &MoveEnd) -> Result<bool> {
        let (id, end) = (id.to_string(), end.clone());
        self.with(move |conn| {
            let changed = conn.execute(
                "UPDATE moves SET ended_ms = ?2, ended_by = ?3, end_reason = ?4, cancelled = ?5
                 WHERE id = ?1 AND ended_ms IS NULL",
                params![id, end.at.timestamp_millis(), end.by, end.reason, end.cancelled],
            )?;
            Ok(changed == 1)
        })
        .await
    }

    pub async fn set_move_team(&self, move_id: &str, usernames: &[String]) -> Result<()> {
        let (move_id, usernames) = (move_id.to_string(), usernames.to_vec());
        self.with(move |conn| {
            let tx = conn.transaction()?;
            tx.execute("DELETE FROM move_team WHERE move_id = ?1", [&move_id])?;
            for name in &usernames {
                tx.execute(
                    "INSERT OR IGNORE INTO move_team (move_id, username) VALUES (?1, ?2)",
                    [&move_id, name],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    pub async fn move_team(&self, move_id: &str) -> Result<Vec<String>> {
        let move_id = move_id.to_string();
        self.with(move |conn| {
            let mut stmt =
                conn.prepare_cached("SELECT username FROM move_team WHERE move_id = ?1 ORDER BY username")?;
            let names = stmt.query_map([move_id], |r| r.get::<_, String>(0))?;
            Ok(names.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    pub async fn moves_of_user(&self, username: &str) -> Result<Vec<String>> {
        let username = username.to_string();
        self.with(move |conn| {
            let mut stmt =
                conn.prepare_cached("SELECT move_id FROM move_team WHERE username = ?1 ORDER BY move_id")?;
            let ids = stmt.query_map([username], |r| r.get::<_, String>(0))?;
            Ok(ids.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }
}

fn move_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<MoveRecord>> {
    let (id, name, plan, created_ms, created_by): (String, String, String, i64, String) =
        (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
    let (ended_ms, ended_by, end_reason, cancelled): (Option<i64>, Option<String>, Option<String>, bool) =
        (r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?);
    let version: u32 = r.get(9)?;
    Ok((|| {
        let end = match ended_ms {
            Some(ms) => Some(MoveEnd {
                at: from_millis(ms)?,
                by: ended_by.unwrap_or_default(),
                reason: end_reason.unwrap_or_default(),
                cancelled,
            }),
            None => None,
        };
        Ok(MoveRecord {
            id,
            name,
            plan: parse_json(&plan)?,
            created_at: from_millis(created_ms)?,
            created_by,
            version,
            end,
        })
    })())
}
