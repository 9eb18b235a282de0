//! Plan versions on SQLite: the plan, changes and team as JSON text, times in milliseconds.

use rusqlite::{params, OptionalExtension, TransactionBehavior};

use super::versions::{PlanEdit, PlanEdited, PlanVersion};
use crate::rows::{json_text, parse_json};
use crate::sqlite::from_millis;
use crate::{Result, SqliteStore, StoreError};

impl SqliteStore {
    pub async fn edit_move_plan(&self, move_id: &str, edit: &PlanEdit) -> Result<PlanEdited> {
        let (move_id, edit) = (move_id.to_string(), edit.clone());
        self.with(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let next = edit.replaces + 1;
            let changed = tx.execute(
                "UPDATE moves SET plan = ?2, name = ?3, plan_version = ?4
                 WHERE id = ?1 AND plan_version = ?5 AND ended_ms IS NULL",
                params![move_id, json_text(&edit.plan), edit.name, next, edit.replaces],
            )?;
            if changed == 0 {
                let row: Option<(u32, bool)> = tx
                    .query_row(
                        "SELECT plan_version, ended_ms IS NOT NULL FROM moves WHERE id = ?1",
                        [&move_id],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?;
                return Ok(match row {
                    None => PlanEdited::UnknownMove,
                    Some((_, true)) => PlanEdited::Over,
                    Some((current, false)) => PlanEdited::Stale { current },
                });
            }
            let changes = serde_json::Value::from(edit.changes.clone());
            let team = edit.team.as_ref().map(|team| json_text(&serde_json::Value::from(team.clone())));
            tx.execute(
                "INSERT INTO plan_versions (move_id, version, plan, changed_ms, changed_by, changes, team)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    move_id,
                    next,
                    json_text(&edit.plan),
                    edit.at.timestamp_millis(),
                    edit.by,
                    json_text(&changes),
                    team
                ],
            )?;
            if let Some(team) = &edit.team {
                tx.execute("DELETE FROM move_team WHERE move_id = ?1", [&move_id])?;
                for name in team {
                    tx.execute(
                        "INSERT OR IGNORE INTO move_team (move_id, username) VALUES (?1, ?2)",
                        [&move_id, name],
                    )?;
                }
            }
            tx.commit()?;
            Ok(PlanEdited::Stored(next))
        })
        .await
    }

    pub async fn plan_versions(&self, move_id: &str) -> Result<Vec<PlanVersion>> {
        let move_id = move_id.to_string();
        self.with(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT version, plan, changed_ms, changed_by, changes, team FROM plan_versions
                 WHERE move_id = ?1 ORDER BY version DESC",
            )?;
            let rows = stmt.query_map([move_id], |r| {
                let (version, plan, ms, by): (u32, String, i64, String) =
                    (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
                let (changes, team): (String, Option<String>) = (r.get(4)?, r.get(5)?);
                Ok((|| {
                    Ok(PlanVersion {
                        version,
                        plan: parse_json(&plan)?,
                        at: from_millis(ms)?,
                        by,
                        changes: names(&changes)?,
                        team: team.as_deref().map(names).transpose()?,
                    })
                })())
            })?;
            rows.map(|row| row?).collect()
        })
        .await
    }
}

/// A JSON array of names, as stored.
pub(super) fn names(text: &str) -> Result<Vec<String>> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("stored names: {e}")))
}
