//! Moves and their teams on PostgreSQL. A plan is stored as `jsonb`, sent and read as text.

use tokio_postgres::Row;

use super::{MoveCrew, MoveEnd, MoveRecord};
use crate::rows::{json_text, parse_json};
use crate::{PgStore, Result, StoreError};

impl PgStore {
    pub async fn add_move(&self, record: &MoveRecord) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let plan = json_text(&record.plan);
        let changed = tx
            .execute(
                "INSERT INTO moves (id, name, plan, created_at, created_by)
                 VALUES ($1, $2, $3::text::jsonb, $4, $5) ON CONFLICT DO NOTHING",
                &[&record.id, &record.name, &plan, &record.created_at, &record.created_by],
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::AlreadyExists(format!("move {}", record.id)));
        }
        tx.execute(
            "INSERT INTO plan_versions (move_id, version, plan, changed_at, changed_by, changes)
             VALUES ($1, 1, $2::text::jsonb, $3, $4, '[]'::jsonb)",
            &[&record.id, &plan, &record.created_at, &record.created_by],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn move_record(&self, id: &str) -> Result<Option<MoveRecord>> {
        let row = self
            .client()
            .await?
            .query_opt("SELECT id, name, plan::text, created_at, created_by, ended_at, ended_by, end_reason, cancelled, plan_version
                 FROM moves WHERE id = $1", &[&id])
            .await?;
        row.map(|r| move_from_row(&r)).transpose()
    }

    pub async fn move_ids(&self) -> Result<Vec<String>> {
        let rows = self.client().await?.query("SELECT id FROM moves ORDER BY created_at, id", &[]).await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    pub async fn move_crews(&self) -> Result<Vec<MoveCrew>> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT id, created_at, (plan->'vehicles')::text, plan->'window'->>'from', plan->'window'->>'to',
                        ended_at, cancelled, plan_version
                 FROM moves ORDER BY created_at, id",
                &[],
            )
            .await?;
        rows.iter()
            .map(|r| {
                MoveCrew::from_parts(
                    r.get(0),
                    r.get(1),
                    r.get::<_, Option<&str>>(2),
                    (r.get::<_, Option<&str>>(3), r.get::<_, Option<&str>>(4)),
                    (r.get(5), r.get(6)),
                    r.get::<_, i32>(7) as u32,
                )
            })
            .collect()
    }

    pub async fn moves(&self) -> Result<Vec<MoveRecord>> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT id, name, plan::text, created_at, created_by, ended_at, ended_by, end_reason, cancelled, plan_version
                 FROM moves ORDER BY created_at, id",
                &[],
            )
            .await?;
        rows.iter().map(move_from_row).collect()
    }

    pub async fn end_move(&self, id: &str, end: &MoveEnd) -> Result<bool> {
        let changed = self
            .client()
            .await?
            .execute(
                "UPDATE moves SET ended_at = $2, ended_by = $3, end_reason = $4, cancelled = $5
                 WHERE id = $1 AND ended_at IS NULL",
                &[&id, &end.at, &end.by, &end.reason, &end.cancelled],
            )
            .await?;
        Ok(changed == 1)
    }

    pub async fn set_move_team(&self, move_id: &str, usernames: &[String]) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute("DELETE FROM move_team WHERE move_id = $1", &[&move_id]).await?;
        for name in usernames {
            tx.execute(
                "INSERT INTO move_team (move_id, username) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&move_id, name],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn move_team(&self, move_id: &str) -> Result<Vec<String>> {
        let rows = self
            .client()
            .await?
            .query("SELECT username FROM move_team WHERE move_id = $1 ORDER BY username", &[&move_id])
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    pub async fn moves_of_user(&self, username: &str) -> Result<Vec<String>> {
        let rows = self
            .client()
            .await?
            .query("SELECT move_id FROM move_team WHERE username = $1 ORDER BY move_id", &[&username])
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}

fn move_from_row(r: &Row) -> Result<MoveRecord> {
    Ok(MoveRecord {
        id: r.get(0),
        name: r.get(1),
        plan: parse_json(r.get(2))?,
        created_at: r.get(3),
        created_by: r.get(4),
        version: r.get::<_, i32>(9) as u32,
        end: r.get::<_, Option<chrono::DateTime<chrono::Utc>>>(5).map(|at| MoveEnd {
            at,
            by: r.get::<_, Option<String>>(6).unwrap_or_default(),
            reason: r.get::<_, Option<String>>(7).unwrap_or_default(),
            cancelled: r.get(8),
        }),
    })
}
