//! Alerts, transitions and deliveries on PostgreSQL. JSON is stored as `jsonb`, sent and read
//! as text.

use chrono::{DateTime, Utc};
use convoy_core::alert::AlertState;
use convoy_core::VehicleId;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::{
    parse_kind, parse_state, AlertChange, AlertCount, AlertFilter, AlertHistoryQuery, AlertRecord,
    AlertTransition, Delivery, PersonAction, BY_RULE,
};
use crate::rows::{json_text, parse_json, parse_vehicle};
use crate::{PgStore, Result, StoreError};

impl PgStore {
    pub async fn open_alert(&self, alert: &AlertRecord) -> Result<bool> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let changed = tx
            .execute(
                "INSERT INTO alerts (id, move_id, vehicle, kind, zone, state, opened_t, lat, lon, detail, late)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::text::jsonb, $11)
                 ON CONFLICT DO NOTHING",
                &[
                    &alert.id,
                    &alert.move_id,
                    &alert.vehicle.as_str(),
                    &alert.kind.as_str(),
                    &alert.zone,
                    &AlertState::Open.as_str(),
                    &alert.opened_t,
                    &alert.lat,
                    &alert.lon,
                    &json_text(&alert.detail),
                    &alert.late,
                ],
            )
            .await?;
        if changed == 0 {
            return Ok(false);
        }
        add_transition(&tx, &alert.id, AlertState::Open, alert.opened_t, BY_RULE, None).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn clear_alert(
        &self,
        id: &str,
        t: DateTime<Utc>,
        detail: &serde_json::Value,
    ) -> Result<Option<AlertRecord>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "UPDATE alerts SET cleared_t = $2, cleared_detail = $3::text::jsonb WHERE id = $1 AND cleared_t IS NULL",
            &[&id, &t, &json_text(detail)],
        )
        .await?;
        // Checked and changed in one statement: of this and a person resolving at the same
        // moment, one resolves and the other finds the alert resolved.
        let resolved = tx
            .execute(
                "UPDATE alerts SET state = $2, resolved_t = $3, resolved_by = $4 WHERE id = $1 AND state <> $2",
                &[&id, &AlertState::Resolved.as_str(), &t, &BY_RULE],
            )
            .await?;
        if resolved == 1 {
            add_transition(&tx, id, AlertState::Resolved, t, BY_RULE, None).await?;
        }
        let alert = alert_by_id(&tx, id).await?;
        tx.commit().await?;
        Ok(alert)
    }

    pub async fn acknowledge_alert(
        &self,
        id: &str,
        user: &str,
        note: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<AlertChange> {
        self.person_changes_alert(PersonAction::Acknowledge, id, user, note, at).await
    }

    pub async fn resolve_alert(
        &self,
        id: &str,
        user: &str,
        note: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<AlertChange> {
        self.person_changes_alert(PersonAction::Resolve, id, user, note, at).await
    }

    async fn person_changes_alert(
        &self,
        action: PersonAction,
        id: &str,
        user: &str,
        note: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<AlertChange> {
        // One UPDATE both checks the state and changes it: of two concurrent ones, the second
        // waits for the first's row lock, then re-checks its WHERE against the committed row and
        // changes nothing.
        let sql = match action {
            PersonAction::Acknowledge => {
                "UPDATE alerts SET state = 'acknowledged', acknowledged_t = $2, acknowledged_by = $3,
                   note = coalesce($4, note)
                 WHERE id = $1 AND state = 'open'"
            }
            PersonAction::Resolve => {
                "UPDATE alerts SET state = 'resolved', resolved_t = $2, resolved_by = $3,
                   note = coalesce($4, note)
                 WHERE id = $1 AND state <> 'resolved'"
            }
        };
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let changed = tx.execute(sql, &[&id, &at, &user, &note]).await?;
        if changed == 1 {
            add_transition(&tx, id, action.to(), at, user, note).await?;
        }
        let alert = alert_by_id(&tx, id).await?;
        tx.commit().await?;
        Ok(match alert {
            None => AlertChange::NotFound,
            Some(alert) if changed == 1 => AlertChange::Changed(alert),
            Some(alert) => AlertChange::AlreadyInState(alert),
        })
    }

    pub async fn alert(&self, id: &str) -> Result<Option<AlertRecord>> {
        alert_by_id(&self.client().await?, id).await
    }

    pub async fn alerts(&self, filter: &AlertFilter) -> Result<Vec<AlertRecord>> {
        let state = filter.state.map(AlertState::as_str);
        let move_id = filter.move_id.as_deref();
        let vehicle = filter.vehicle.as_ref().map(VehicleId::as_str);
        let limit = i64::from(filter.limit);
        let mut conditions = Vec::new();
        let mut values: Vec<&(dyn ToSql + Sync)> = Vec::new();
        for (column, value) in [("state", &state), ("move_id", &move_id), ("vehicle", &vehicle)] {
            if value.is_some() {
                values.push(value);
                conditions.push(format!("{column} = ${}", values.len()));
            }
        }
        let filter_sql =
            if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
        values.push(&limit);
        let rows = self
            .client()
            .await?
            .query(
                &format!(
                    "SELECT {ALERT_COLUMNS} FROM alerts {filter_sql} ORDER BY opened_t DESC, id LIMIT ${}",
                    values.len()
                ),
                &values,
            )
            .await?;
        rows.iter().map(alert_from_row).collect()
    }

    pub async fn alert_history(&self, query: &AlertHistoryQuery) -> Result<Vec<AlertRecord>> {
        if query.moves.as_ref().is_some_and(Vec::is_empty) {
            return Ok(Vec::new());
        }
        let vehicle = query.vehicle.as_ref().map(VehicleId::as_str);
        let kind = query.kind.map(|k| k.as_str());
        let state = query.state.map(AlertState::as_str);
        let after_t = query.after.as_ref().map(|a| a.opened_t);
        let after_id = query.after.as_ref().map(|a| a.id.as_str());
        let limit = i64::from(query.limit.max(1));
        let mut conditions: Vec<String> = Vec::new();
        let mut values: Vec<&(dyn ToSql + Sync)> = Vec::new();
        macro_rules! push {
            ($value:expr) => {{
                values.push($value);
                format!("${}", values.len())
            }};
        }
        if let Some(from) = &query.from {
            conditions.push(format!("opened_t >= {}", push!(from)));
        }
        if let Some(to) = &query.to {
            conditions.push(format!("opened_t < {}", push!(to)));
        }
        if let Some(moves) = &query.moves {
            conditions.push(format!("move_id = ANY({})", push!(moves)));
        }
        if let Some(vehicle) = &vehicle {
            conditions.push(format!("vehicle = {}", push!(vehicle)));
        }
        if let Some(kind) = &kind {
            conditions.push(format!("kind = {}", push!(kind)));
        }
        if let Some(state) = &state {
            conditions.push(format!("state = {}", push!(state)));
        }
        if let Some(text) = &query.note_contains {
            // strpos, not LIKE: the text is matched as it is, wildcards and all.
            conditions.push(format!("strpos(lower(note), lower({})) > 0", push!(text)));
        }
        if let (Some(t), Some(id)) = (&after_t, &after_id) {
            let (t, id) = (push!(t), push!(id));
            conditions.push(format!("(opened_t < {t} OR (opened_t = {t} AND id > {id}))"));
        }
        let filter_sql =
            if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
        let limit = push!(&limit);
        let rows = self
            .client()
            .await?
            .query(
                &format!("SELECT {ALERT_COLUMNS} FROM alerts {filter_sql} ORDER BY opened_t DESC, id LIMIT {limit}"),
                &values,
            )
            .await?;
        rows.iter().map(alert_from_row).collect()
    }

    pub async fn alert_counts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        vehicle: Option<&VehicleId>,
    ) -> Result<Vec<AlertCount>> {
        let vehicle = vehicle.map(VehicleId::as_str);
        let rows = self
            .client()
            .await?
            .query(
                "SELECT vehicle, kind, count(*) FROM alerts
                 WHERE opened_t >= $1 AND opened_t < $2 AND ($3::text IS NULL OR vehicle = $3)
                 GROUP BY vehicle, kind ORDER BY vehicle, kind",
                &[&from, &to, &vehicle],
            )
            .await?;
        rows.iter()
            .map(|row| {
                Ok(AlertCount {
                    vehicle: parse_vehicle(row.get(0))?,
                    kind: parse_kind(row.get(1))?,
                    count: row.get::<_, i64>(2) as u64,
                })
            })
            .collect()
    }

    pub async fn alert_transitions(&self, id: &str) -> Result<Vec<AlertTransition>> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT alert_id, state, changed_at, actor, note FROM alert_transitions
                 WHERE alert_id = $1 ORDER BY id",
                &[&id],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(AlertTransition {
                    alert_id: r.get(0),
                    state: parse_state(r.get(1))?,
                    at: r.get(2),
                    by: r.get(3),
                    note: r.get(4),
                })
            })
            .collect()
    }

    pub async fn record_delivery(&self, delivery: &Delivery) -> Result<()> {
        let d = delivery;
        self.client()
            .await?
            .execute(
                "INSERT INTO alert_deliveries (alert_id, state, notifier, attempt, attempted_at, ok, detail)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &d.alert_id,
                    &d.state.as_str(),
                    &d.notifier,
                    &i64::from(d.attempt),
                    &d.at,
                    &d.ok,
                    &d.detail,
                ],
            )
            .await?;
        Ok(())
    }

    pub async fn deliveries(&self, alert_id: &str) -> Result<Vec<Delivery>> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT alert_id, state, notifier, attempt, attempted_at, ok, detail FROM alert_deliveries
                 WHERE alert_id = $1 ORDER BY id",
                &[&alert_id],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let attempt: i64 = r.get(3);
                Ok(Delivery {
                    alert_id: r.get(0),
                    state: parse_state(r.get(1))?,
                    notifier: r.get(2),
                    attempt: u32::try_from(attempt)
                        .map_err(|_| StoreError::Corrupt(format!("delivery attempt {attempt}")))?,
                    at: r.get(4),
                    ok: r.get(5),
                    detail: r.get(6),
                })
            })
            .collect()
    }
}

/// The columns [`alert_from_row`] reads, in its order.
const ALERT_COLUMNS: &str = "id, move_id, vehicle, kind, zone, state, opened_t, lat, lon, detail::text, late,
     acknowledged_t, acknowledged_by, note, resolved_t, resolved_by, cleared_t, cleared_detail::text";

async fn alert_by_id(
    client: &impl deadpool_postgres::GenericClient,
    id: &str,
) -> Result<Option<AlertRecord>> {
    let row = client.query_opt(&format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1"), &[&id]).await?;
    row.map(|r| alert_from_row(&r)).transpose()
}

fn alert_from_row(r: &Row) -> Result<AlertRecord> {
    Ok(AlertRecord {
        id: r.get(0),
        move_id: r.get(1),
        vehicle: parse_vehicle(r.get(2))?,
        kind: parse_kind(r.get(3))?,
        zone: r.get(4),
        state: parse_state(r.get(5))?,
        opened_t: r.get(6),
        lat: r.get(7),
        lon: r.get(8),
        detail: parse_json(r.get(9))?,
        late: r.get(10),
        acknowledged_t: r.get(11),
        acknowledged_by: r.get(12),
        note: r.get(13),
        resolved_t: r.get(14),
        resolved_by: r.get(15),
        cleared_t: r.get(16),
        cleared_detail: r.get::<_, Option<&str>>(17).map(parse_json).transpose()?,
    })
}

async fn add_transition(
    tx: &tokio_postgres::Transaction<'_>,
    alert_id: &str,
    state: AlertState,
    at: DateTime<Utc>,
    by: &str,
    note: Option<&str>,
) -> Result<()> {
    tx.execute(
        "INSERT INTO alert_transitions (alert_id, state, changed_at, actor, note) VALUES ($1, $2, $3, $4, $5)",
        &[&alert_id, &state.as_str(), &at, &by, &note],
    )
    .await?;
    Ok(())
}
