//! Alerts, transitions and deliveries on SQLite. Times are milliseconds since 1970; JSON is
//! stored as text.

use chrono::{DateTime, Utc};
use convoy_core::alert::AlertState;
use rusqlite::{params, Connection, OptionalExtension};

use super::{
    parse_kind, parse_state, AlertChange, AlertCount, AlertFilter, AlertHistoryQuery, AlertRecord,
    AlertTransition, Delivery, PersonAction, BY_RULE,
};
use crate::rows::{json_text, parse_json, parse_vehicle};
use crate::sqlite::from_millis;
use crate::{Result, SqliteStore, StoreError};

impl SqliteStore {
    pub async fn open_alert(&self, alert: &AlertRecord) -> Result<bool> {
        let alert = alert.clone();
        self.with(move |conn| {
            let tx = conn.transaction()?;
            let changed = tx.execute(
                "INSERT OR IGNORE INTO alerts (id, move_id, vehicle, kind, zone, state, opened_ms, lat, lon, detail, late)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    alert.id,
                    alert.move_id,
                    alert.vehicle.as_str(),
                    alert.kind.as_str(),
                    alert.zone,
                    AlertState::Open.as_str(),
                    alert.opened_t.timestamp_millis(),
                    alert.lat,
                    alert.lon,
                    json_text(&alert.detail),
                    alert.late,
                ],
            )?;
            if changed == 0 {
                return Ok(false);
            }
            add_transition(&tx, &alert.id, AlertState::Open, alert.opened_t, BY_RULE, None)?;
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    pub async fn clear_alert(
        &self,
        id: &str,
        t: DateTime<Utc>,
        detail: &serde_json::Value,
    ) -> Result<Option<AlertRecord>> {
        let (id, detail) = (id.to_string(), json_text(detail));
        self.with(move |conn| {
            let tx = conn.transaction()?;
            let t_ms = t.timestamp_millis();
            tx.execute(
                "UPDATE alerts SET cleared_ms = ?2, cleared_detail = ?3 WHERE id = ?1 AND cleared_ms IS NULL",
                params![id, t_ms, detail],
            )?;
            let resolved = tx.execute(
                "UPDATE alerts SET state = ?2, resolved_ms = ?3, resolved_by = ?4 WHERE id = ?1 AND state <> ?2",
                params![id, AlertState::Resolved.as_str(), t_ms, BY_RULE],
            )?;
            if resolved == 1 {
                add_transition(&tx, &id, AlertState::Resolved, t, BY_RULE, None)?;
            }
            let alert = alert_by_id(&tx, &id)?;
            tx.commit()?;
            Ok(alert)
        })
        .await
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
        let (id, user, note) = (id.to_string(), user.to_string(), note.map(str::to_string));
        self.with(move |conn| {
            let tx = conn.transaction()?;
            // One statement decides, so the check and the change cannot be split by another writer.
            let sql = match action {
                PersonAction::Acknowledge => {
                    "UPDATE alerts SET state = 'acknowledged', acknowledged_ms = ?2, acknowledged_by = ?3,
                       note = coalesce(?4, note)
                     WHERE id = ?1 AND state = 'open'"
                }
                PersonAction::Resolve => {
                    "UPDATE alerts SET state = 'resolved', resolved_ms = ?2, resolved_by = ?3,
                       note = coalesce(?4, note)
                     WHERE id = ?1 AND state <> 'resolved'"
                }
            };
            let changed = tx.execute(sql, params![id, at.timestamp_millis(), user, note])?;
            if changed == 1 {
                add_transition(&tx, &id, action.to(), at, &user, note.as_deref())?;
            }
            let alert = alert_by_id(&tx, &id)?;
            tx.commit()?;
            Ok(match alert {
                None => AlertChange::NotFound,
                Some(alert) if changed == 1 => AlertChange::Changed(alert),
                Some(alert) => AlertChange::AlreadyInState(alert),
            })
        })
        .await
    }

    pub async fn alert(&self, id: &str) -> Result<Option<AlertRecord>> {
        let id = id.to_string();
        self.with(move |conn| alert_by_id(conn, &id)).await
    }

    pub async fn alerts(&self, filter: &AlertFilter) -> Result<Vec<AlertRecord>> {
        let filter = filter.clone();
        self.with(move |conn| {
            let mut conditions = Vec::new();
            let mut values: Vec<rusqlite::types::Value> = Vec::new();
            let mut condition = |sql: &str, value: String| {
                values.push(value.into());
                conditions.push(format!("{sql} = ?{}", values.len()));
            };
            if let Some(state) = filter.state {
                condition("state", state.as_str().to_string());
            }
            if let Some(move_id) = filter.move_id {
                condition("move_id", move_id);
            }
            if let Some(vehicle) = filter.vehicle {
                condition("vehicle", vehicle.to_string());
            }
            let filter_sql = if conditions.is_empty() {
                String::new()
            } else {
                format!("WHERE {}", conditions.join(" AND "))
            };
            values.push(i64::from(filter.limit).into());
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {ALERT_COLUMNS} FROM alerts {filter_sql} ORDER BY opened_ms DESC, id LIMIT ?{}",
                values.len()
            ))?;
            let rows = stmt.query_map(rusqlite::params_from_iter(values), alert_from_row)?;
            rows.map(|row| row?).collect()
        })
        .await
    }

    pub async fn alert_history(&self, query: &AlertHistoryQuery) -> Result<Vec<AlertRecord>> {
        let query = query.clone();
        self.with(move |conn| {
            use rusqlite::types::Value;
            let mut conditions: Vec<String> = Vec::new();
            let mut values: Vec<Value> = Vec::new();
            let mut bind = |value: Value| {
                values.push(value);
                format!("?{}", values.len())
            };
            if let Some(from) = query.from {
                conditions.push(format!("opened_ms >= {}", bind(from.timestamp_millis().into())));
            }
            if let Some(to) = query.to {
                conditions.push(format!("opened_ms < {}", bind(to.timestamp_millis().into())));
            }
            if let Some(moves) = query.moves {
                if moves.is_empty() {
                    return Ok(Vec::new());
                }
                let list: Vec<String> = moves.into_iter().map(|m| bind(m.into())).collect();
                conditions.push(format!("move_id IN ({})", list.join(", ")));
            }
            if let Some(vehicle) = query.vehicle {
                conditions.push(format!("vehicle = {}", bind(vehicle.to_string().into())));
            }
            if let Some(kind) = query.kind {
                conditions.push(format!("kind = {}", bind(kind.as_str().to_string().into())));
            }
            if let Some(state) = query.state {
                conditions.push(format!("state = {}", bind(state.as_str().to_string().into())));
            }
            if let Some(text) = query.note_contains {
                // instr, not LIKE: the text is matched as it is, wildcards and all.
                conditions.push(format!("instr(lower(note), lower({})) > 0", bind(text.into())));
            }
            if let Some(after) = query.after {
                let (t, id) = (bind(after.opened_t.timestamp_millis().into()), bind(after.id.into()));
                conditions.push(format!("(opened_ms < {t} OR (opened_ms = {t} AND id > {id}))"));
            }
            let filter_sql = if conditions.is_empty() {
                String::new()
            } else {
                format!("WHERE {}", conditions.join(" AND "))
            };
            let limit = bind(i64::from(query.limit.max(1)).into());
            let mut stmt = conn.prepare(&format!(
                "SELECT {ALERT_COLUMNS} FROM alerts {filter_sql} ORDER BY opened_ms DESC, id LIMIT {limit}"
            ))?;
            let rows = stmt.query_map(rusqlite::params_from_iter(values), alert_from_row)?;
            rows.map(|row| row?).collect()
        })
        .await
    }

    pub async fn alert_counts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        vehicle: Option<&convoy_core::VehicleId>,
    ) -> Result<Vec<AlertCount>> {
        let vehicle = vehicle.map(|v| v.to_string());
        self.with(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT vehicle, kind, count(*) FROM alerts
                 WHERE opened_ms >= ?1 AND opened_ms < ?2 AND (?3 IS NULL OR vehicle = ?3)
                 GROUP BY vehicle, kind ORDER BY vehicle, kind",
            )?;
            let rows = stmt
                .query_map(params![from.timestamp_millis(), to.timestamp_millis(), vehicle], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get::<_, i64>(2)?))
                })?;
            rows.map(|row| {
                let (vehicle, kind, count) = row?;
                Ok(AlertCount {
                    vehicle: parse_vehicle(vehicle)?,
                    kind: parse_kind(&kind)?,
                    count: count as u64,
                })
            })
            .collect()
        })
        .await
    }

    pub async fn alert_transitions(&self, id: &str) -> Result<Vec<AlertTransition>> {
        let id = id.to_string();
        self.with(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT alert_id, state, changed_ms, actor, note FROM alert_transitions
                 WHERE alert_id = ?1 ORDER BY id",
            )?;
            let rows = stmt.query_map([id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get(3)?,
                    r.get(4)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (alert_id, state, ms, by, note) = row?;
                out.push(AlertTransition {
                    alert_id,
                    state: parse_state(&state)?,
                    at: from_millis(ms)?,
                    by,
                    note,
                });
            }
            Ok(out)
        })
        .await
    }

    pub async fn record_delivery(&self, delivery: &Delivery) -> Result<()> {
        let d = delivery.clone();
        self.with(move |conn| {
            conn.execute(
                "INSERT INTO alert_deliveries (alert_id, state, notifier, attempt, attempted_ms, ok, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    d.alert_id,
                    d.state.as_str(),
                    d.notifier,
                    d.attempt,
                    d.at.timestamp_millis(),
                    d.ok,
                    d.detail
                ],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn deliveries(&self, alert_id: &str) -> Result<Vec<Delivery>> {
        let alert_id = alert_id.to_string();
        self.with(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT alert_id, state, notifier, attempt, attempted_ms, ok, detail FROM alert_deliveries
                 WHERE alert_id = ?1 ORDER BY id",
            )?;
            let rows = stmt.query_map([alert_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, bool>(5)?,
                    r.get::<_, String>(6)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (alert_id, state, notifier, attempt, ms, ok, detail) = row?;
                out.push(Delivery {
                    alert_id,
                    state: parse_state(&state)?,
                    notifier,
                    attempt: u32::try_from(attempt)
                        .map_err(|_| StoreError::Corrupt(format!("delivery attempt {attempt}")))?,
                    at: from_millis(ms)?,
                    ok,
                    detail,
                });
            }
            Ok(out)
        })
        .await
    }
}

/// The columns [`alert_from_row`] reads, in its order.
const ALERT_COLUMNS: &str = "id, move_id, vehicle, kind, zone, state, opened_ms, lat, lon, detail, late,
     acknowledged_ms, acknowledged_by, note, resolved_ms, resolved_by, cleared_ms, cleared_detail";

fn alert_by_id(conn: &Connection, id: &str) -> Result<Option<AlertRecord>> {
    conn.prepare_cached(&format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = ?1"))?
        .query_row([id], alert_from_row)
        .optional()?
        .transpose()
}

fn alert_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<AlertRecord>> {
    let (id, move_id, vehicle, kind, zone): (String, String, String, String, Option<String>) =
        (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
    let (state, opened_ms, lat, lon, detail, late): (String, i64, Option<f64>, Option<f64>, String, bool) =
        (r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?, r.get(9)?, r.get(10)?);
    let (acknowledged_ms, acknowledged_by, note): (Option<i64>, Option<String>, Option<String>) =
        (r.get(11)?, r.get(12)?, r.get(13)?);
    let (resolved_ms, resolved_by, cleared_ms, cleared_detail): (
        Option<i64>,
        Option<String>,
        Option<i64>,
        Option<String>,
    ) = (r.get(14)?, r.get(15)?, r.get(16)?, r.get(17)?);
    let optional_time = |ms: Option<i64>| ms.map(from_millis).transpose();
    Ok((|| {
        Ok(AlertRecord {
            id,
            move_id,
            vehicle: parse_vehicle(vehicle)?,
            kind: parse_kind(&kind)?,
            zone,
            state: parse_state(&state)?,
            opened_t: from_millis(opened_ms)?,
            lat,
            lon,
            detail: parse_json(&detail)?,
            late,
            acknowledged_t: optional_time(acknowledged_ms)?,
            acknowledged_by,
            note,
            resolved_t: optional_time(resolved_ms)?,
            resolved_by,
            cleared_t: optional_time(cleared_ms)?,
            cleared_detail: cleared_detail.as_deref().map(parse_json).transpose()?,
        })
    })())
}

fn add_transition(
    conn: &Connection,
    alert_id: &str,
    state: AlertState,
    at: DateTime<Utc>,
    by: &str,
    note: Option<&str>,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO alert_transitions (alert_id, state, changed_ms, actor, note) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![alert_id, state.as_str(), at.timestamp_millis(), by, note])?;
    Ok(())
}
