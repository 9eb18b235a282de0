//! Plan versions on PostgreSQL: the plan, changes and team as `jsonb`, sent and read as text.

use super::versions::{PlanEdit, PlanEdited, PlanVersion};
use super::versions_sqlite::names;
use crate::rows::{json_text, parse_json};
use crate::{PgStore, Result};

impl PgStore {
    pub async fn edit_move_plan(&self, move_id: &str, edit: &PlanEdit) -> Result<PlanEdited> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let (replaces, next) = (edit.replaces as i32, edit.replaces as i32 + 1);
        let changed = tx
            .execute(
                "UPDATE moves SET plan = $2::text::jsonb, name = $3, plan_version = $4
                 WHERE id = $1 AND plan_version = $5 AND ended_at IS NULL",
                &[&move_id, &json_text(&edit.plan), &edit.name, &next, &replaces],
            )
            .await?;
        if changed == 0 {
            let row = tx
                .query_opt("SELECT plan_version, ended_at IS NOT NULL FROM moves WHERE id = $1", &[&move_id])
                .await?;
            return Ok(match row {
                None => PlanEdited::UnknownMove,
                Some(r) if r.get::<_, bool>(1) => PlanEdited::Over,
                Some(r) => PlanEdited::Stale { current: r.get::<_, i32>(0) as u32 },
            });
        }
        let changes = json_text(&serde_json::Value::from(edit.changes.clone()));
        let team = edit.team.as_ref().map(|team| json_text(&serde_json::Value::from(team.clone())));
        tx.execute(
            "INSERT INTO plan_versions (move_id, version, plan, changed_at, changed_by, changes, team)
             VALUES ($1, $2, $3::text::jsonb, $4, $5, $6::text::jsonb, $7::text::jsonb)",
            &[&move_id, &next, &json_text(&edit.plan), &edit.at, &edit.by, &changes, &team],
        )
        .await?;
        if let Some(team) = &edit.team {
            tx.execute("DELETE FROM move_team WHERE move_id = $1", &[&move_id]).await?;
            for name in team {
                tx.execute(
                    "INSERT INTO move_team (move_id, username) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    &[&move_id, name],
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(PlanEdited::Stored(next as u32))
    }

    pub async fn plan_versions(&self, move_id: &str) -> Result<Vec<PlanVersion>> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT version, plan::text, changed_at, changed_by, changes::text, team::text
                 FROM plan_versions WHERE move_id = $1 ORDER BY version DESC",
                &[&move_id],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(PlanVersion {
                    version: r.get::<_, i32>(0) as u32,
                    plan: parse_json(r.get(1))?,
                    at: r.get(2),
                    by: r.get(3),
                    changes: names(r.get(4))?,
                    team: r.get::<_, Option<&str>>(5).map(names).transpose()?,
                })
            })
            .collect()
    }
}
