//! The embedded SQLite backend: one file, WAL journal, one connection behind a mutex, every
//! call on tokio's blocking pool so the async runtime never waits on the disk.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use convoy_core::alert::AlertState;
use convoy_core::{Position, VehicleId};
use rusqlite::{params, Connection, OptionalExtension};

use crate::alerts::{json_text, parse_json, parse_kind, parse_state, PersonAction};
use crate::{
    mark_write, parse_fix, parse_implausible, parse_role, parse_vehicle, vehicles_of, AgentStatus,
    AlertChange, AlertFilter, AlertRecord, AlertTransition, DeadLetter, Delivery, IngestWrite,
    LatestPosition, LegalHold, MoveCrew, MoveRecord, PurgeReport, Result, StoreError, StoredPosition, User,
    WriteOutcome, BY_RULE,
};

/// Schema versions, applied in order; `PRAGMA user_version` records the last one applied.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/sqlite/0001_initial.sql"),
    include_str!("../migrations/sqlite/0002_marks_holds_purges.sql"),
    include_str!("../migrations/sqlite/0003_moves_alerts.sql"),
    include_str!("../migrations/sqlite/0004_audit.sql"),
    include_str!("../migrations/sqlite/0005_teams.sql"),
];

#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

impl SqliteStore {
    pub async fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Task(format!("creating {}: {e}", dir.display())))?;
        }
        let path = path.to_owned();
        let conn = tokio::task::spawn_blocking(move || -> Result<Connection> {
            let mut conn = Connection::open(&path)?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            // Ingest acknowledges a message to the broker once its batch is committed, so a
            // commit must survive a power cut too: FULL syncs the WAL at every commit.
            conn.pragma_update(None, "synchronous", "FULL")?;
            conn.pragma_update(None, "foreign_keys", "ON")?;
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            migrate(&mut conn)?;
            Ok(conn)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))??;
        Ok(Self { conn: Arc::new(Mutex::new(conn)) })
    }

    pub(crate) async fn with<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().map_err(|_| StoreError::Task("SQLite connection poisoned".into()))?;
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    pub async fn write_ingest(&self, write: &IngestWrite) -> Result<WriteOutcome> {
        let write = write.clone();
        self.with(move |conn| {
            let tx = conn.transaction()?;
            let mut stored_latest = HashMap::new();
            {
                let mut latest = tx.prepare_cached(
                    "SELECT seq, t_ms, lat, lon, alt_m, speed_mps, course_deg, fix, sats, hdop
                     FROM vehicle_latest WHERE vehicle = ?1",
                )?;
                for vehicle in vehicles_of(&write) {
                    if let Some(p) = latest.query_row([vehicle.as_str()], |r| position_from_row(r, 0)).optional()? {
                        stored_latest.insert(vehicle.clone(), p?);
                    }
                }
            }
            let marked = mark_write(&write, stored_latest);
            // Stamped after any wait for the connection: the time the rows were really written.
            let received_ms = write.received_at.unwrap_or_else(Utc::now).timestamp_millis();
            let mut outcome = WriteOutcome {
                fresh: marked.fresh(),
                received_at: from_millis(received_ms)?,
                ..WriteOutcome::default()
            };
            {
                let mut insert = tx.prepare_cached(
                    "INSERT OR IGNORE INTO positions
                     (vehicle, seq, t_ms, lat, lon, alt_m, speed_mps, course_deg, fix, sats, hdop, received_ms,
                      late, implausible)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                )?;
                for (vehicle, p, marks) in &marked.positions {
                    let changed = insert.execute(params![
                        vehicle.as_str(),
                        p.seq as i64,
                        p.t.timestamp_millis(),
                        p.lat,
                        p.lon,
                        p.alt_m,
                        p.speed_mps,
                        p.course_deg,
                        p.fix.map(|f| f.as_str()),
                        p.sats,
                        p.hdop,
                        received_ms,
                        marks.late,
                        marks.implausible.map(|r| r.as_str()),
                    ])?;
                    if changed == 1 {
                        outcome.inserted += 1;
                    } else {
                        outcome.duplicates += 1;
                    }
                }
                let mut latest = tx.prepare_cached(
                    "INSERT INTO vehicle_latest
                     (vehicle, seq, t_ms, lat, lon, alt_m, speed_mps, course_deg, fix, sats, hdop, received_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                     ON CONFLICT (vehicle) DO UPDATE SET
                       seq = excluded.seq, t_ms = excluded.t_ms, lat = excluded.lat, lon = excluded.lon,
                       alt_m = excluded.alt_m, speed_mps = excluded.speed_mps,
                       course_deg = excluded.course_deg, fix = excluded.fix, sats = excluded.sats,
                       hdop = excluded.hdop, received_ms = excluded.received_ms
                     WHERE (excluded.t_ms, excluded.seq) > (vehicle_latest.t_ms, vehicle_latest.seq)",
                )?;
                for (vehicle, p) in &marked.new_latest {
                    latest.execute(rusqlite::params_from_iter(position_row(vehicle.as_str(), p, received_ms)))?;
                }
                let mut dead = tx.prepare_cached(
                    "INSERT INTO dead_letters (received_ms, topic, payload, reason, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                for d in &write.dead_letters {
                    dead.execute(params![d.received_at.timestamp_millis(), d.topic, d.payload, d.reason, d.detail])?;
                }
                let mut status = tx.prepare_cached(
                    "INSERT INTO agent_status (vehicle, received_ms, status_json) VALUES (?1, ?2, ?3)
                     ON CONFLICT (vehicle) DO UPDATE SET
                       received_ms = excluded.received_ms, status_json = excluded.status_json",
                )?;
                let mut status_log = tx.prepare_cached(
                    "INSERT INTO agent_status_log (vehicle, received_ms, status_json) VALUES (?1, ?2, ?3)",
                )?;
                for st in &write.statuses {
                    let row = params![st.vehicle.as_str(), st.received_at.timestamp_millis(), st.status_json];
                    status.execute(row)?;
                    status_log.execute(row)?;
                }
            }
            tx.commit()?;
            Ok(outcome)
        })
        .await
    }

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

    pub async fn latest_positions(&self) -> Result<Vec<LatestPosition>> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT vehicle, seq, t_ms, lat, lon, alt_m, speed_mps, course_deg, fix, sats, hdop, received_ms
                 FROM vehicle_latest ORDER BY vehicle",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((r.get::<_, String>(0)?, position_from_row(r, 1)?, r.get::<_, i64>(11)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (vehicle, position, received_ms) = row?;
                out.push(LatestPosition {
                    vehicle: parse_vehicle(vehicle)?,
                    position: position?,
                    received_at: from_millis(received_ms)?,
                });
            }
            Ok(out)
        })
        .await
    }

    pub async fn track_page(
        &self,
        vehicle: &VehicleId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: Option<(DateTime<Utc>, u64)>,
        limit: u32,
    ) -> Result<Vec<StoredPosition>> {
        let vehicle = vehicle.to_string();
        // Before every fix of the range when there is no previous page.
        let (after_ms, after_seq) =
            after.map_or((i64::MIN, -1), |(t, seq)| (t.timestamp_millis(), seq as i64));
        self.with(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT seq, t_ms, lat, lon, alt_m, speed_mps, course_deg, fix, sats, hdop,
                        late, implausible, received_ms
                 FROM positions
                 WHERE vehicle = ?1 AND t_ms >= ?2 AND t_ms < ?3 AND (t_ms, seq) > (?4, ?5)
                 ORDER BY t_ms, seq LIMIT ?6",
            )?;
            let params =
                params![vehicle, from.timestamp_millis(), to.timestamp_millis(), after_ms, after_seq, limit];
            let rows = stmt.query_map(params, |r| {
                Ok((position_from_row(r, 0)?, r.get::<_, bool>(10)?, r.get(11)?, r.get::<_, i64>(12)?))
            })?;
            let mut page = Vec::new();
            for row in rows {
                let (position, late, implausible, received_ms) = row?;
                page.push(StoredPosition {
                    position: position?,
                    late,
                    implausible: parse_implausible(implausible)?,
                    received_at: from_millis(received_ms)?,
                });
            }
            Ok(page)
        })
        .await
    }

    pub async fn agent_statuses(&self) -> Result<Vec<AgentStatus>> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT vehicle, received_ms, status_json FROM agent_status ORDER BY vehicle",
            )?;
            let rows =
                stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get(2)?)))?;
            let mut out = Vec::new();
            for row in rows {
                let (vehicle, ms, status_json) = row?;
                out.push(AgentStatus {
                    vehicle: parse_vehicle(vehicle)?,
                    received_at: from_millis(ms)?,
                    status_json,
                });
            }
            Ok(out)
        })
        .await
    }

    pub async fn add_legal_hold(&self, hold: &LegalHold) -> Result<i64> {
        let hold = hold.clone();
        self.with(move |conn| {
            conn.execute(
                "INSERT INTO legal_holds (vehicle, move_id, from_ms, to_ms, reason, created_by, created_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    hold.vehicle.as_ref().map(|v| v.as_str()),
                    hold.move_id,
                    hold.from.timestamp_millis(),
                    hold.to.timestamp_millis(),
                    hold.reason,
                    hold.created_by,
                    Utc::now().timestamp_millis()
                ],
            )?;
            Ok(conn.last_insert_rowid())
        })
        .await
    }

    pub async fn release_legal_hold(&self, id: i64, now: DateTime<Utc>) -> Result<bool> {
        self.with(move |conn| {
            let changed = conn.execute(
                "UPDATE legal_holds SET released_ms = ?2 WHERE id = ?1 AND released_ms IS NULL",
                params![id, now.timestamp_millis()],
            )?;
            Ok(changed == 1)
        })
        .await
    }

    pub async fn purge(&self, cutoff: DateTime<Utc>, now: DateTime<Utc>) -> Result<PurgeReport> {
        self.with(move |conn| {
            let cutoff_ms = cutoff.timestamp_millis();
            let tx = conn.transaction()?;
            let not_held = "NOT EXISTS (SELECT 1 FROM legal_holds h WHERE h.released_ms IS NULL
                              AND (h.vehicle IS NULL OR h.vehicle = p.vehicle)
                              AND p.t_ms >= h.from_ms AND p.t_ms < h.to_ms)";
            let positions_deleted =
                tx.execute(&format!("DELETE FROM positions AS p WHERE t_ms < ?1 AND {not_held}"), [cutoff_ms])?;
            tx.execute(&format!("DELETE FROM vehicle_latest AS p WHERE t_ms < ?1 AND {not_held}"), [cutoff_ms])?;
            let positions_held: i64 =
                tx.query_row("SELECT count(*) FROM positions WHERE t_ms < ?1", [cutoff_ms], |r| r.get(0))?;
            let dead_letters_deleted = tx.execute("DELETE FROM dead_letters WHERE received_ms < ?1", [cutoff_ms])?;
            // Moves, alerts, their transitions and deliveries are kept: they are the record.
            tx.execute("DELETE FROM agent_status_log WHERE received_ms < ?1", [cutoff_ms])?;
            let report = PurgeReport {
                ran_at: now,
                cutoff,
                positions_deleted: positions_deleted as u64,
                partitions_dropped: 0,
                positions_held: positions_held as u64,
                dead_letters_deleted: dead_letters_deleted as u64,
            };
            tx.execute(
                "INSERT INTO purges (ran_ms, cutoff_ms, positions_deleted, partitions_dropped, positions_held,
                                     dead_letters_deleted)
                 VALUES (?1, ?2, ?3, 0, ?4, ?5)",
                params![now.timestamp_millis(), cutoff_ms, positions_deleted as i64, positions_held, dead_letters_deleted as i64],
            )?;
            tx.commit()?;
            Ok(report)
        })
        .await
    }

    pub async fn purges(&self, limit: u32) -> Result<Vec<PurgeReport>> {
        self.with(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT ran_ms, cutoff_ms, positions_deleted, partitions_dropped, positions_held, dead_letters_deleted
                 FROM purges ORDER BY id DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?, r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?, r.get::<_, i64>(5)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (ran, cutoff, deleted, dropped, held, dead) = row?;
                out.push(PurgeReport {
                    ran_at: from_millis(ran)?,
                    cutoff: from_millis(cutoff)?,
                    positions_deleted: deleted as u64,
                    partitions_dropped: dropped as u64,
                    positions_held: held as u64,
                    dead_letters_deleted: dead as u64,
                });
            }
            Ok(out)
        })
        .await
    }

    pub async fn dead_letters(&self, limit: u32) -> Result<Vec<DeadLetter>> {
        self.with(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT received_ms, topic, payload, reason, detail FROM dead_letters ORDER BY id DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit], |r| {
                Ok((r.get::<_, i64>(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (ms, topic, payload, reason, detail) = row?;
                out.push(DeadLetter { received_at: from_millis(ms)?, topic, payload, reason, detail });
            }
            Ok(out)
        })
        .await
    }

    pub async fn status_history(
        &self,
        vehicle: &VehicleId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<AgentStatus>> {
        let vehicle = vehicle.to_string();
        self.with(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT vehicle, received_ms, status_json FROM agent_status_log
                 WHERE vehicle = ?1 AND received_ms >= ?2 AND received_ms < ?3 ORDER BY received_ms, id",
            )?;
            let rows = stmt
                .query_map(params![vehicle, from.timestamp_millis(), to.timestamp_millis()], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get(2)?))
                })?;
            let mut out = Vec::new();
            for row in rows {
                let (vehicle, ms, status_json) = row?;
                out.push(AgentStatus {
                    vehicle: parse_vehicle(vehicle)?,
                    received_at: from_millis(ms)?,
                    status_json,
                });
            }
            Ok(out)
        })
        .await
    }

    pub async fn add_move(&self, record: &MoveRecord) -> Result<()> {
        let record = record.clone();
        self.with(move |conn| {
            let changed = conn.execute(
                "INSERT OR IGNORE INTO moves (id, name, plan, created_ms, created_by) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    record.id,
                    record.name,
                    json_text(&record.plan),
                    record.created_at.timestamp_millis(),
                    record.created_by
                ],
            )?;
            if changed == 0 {
                return Err(StoreError::AlreadyExists(format!("move {}", record.id)));
            }
            Ok(())
        })
        .await
    }

    pub async fn move_record(&self, id: &str) -> Result<Option<MoveRecord>> {
        let id = id.to_string();
        self.with(move |conn| {
            conn.query_row(
                "SELECT id, name, plan, created_ms, created_by FROM moves WHERE id = ?1",
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
                "SELECT id, name, plan, created_ms, created_by FROM moves ORDER BY created_ms, id",
            )?;
            let rows = stmt.query_map([], move_from_row)?;
            rows.map(|row| row?).collect()
        })
        .await
    }

    pub async fn move_crews(&self) -> Result<Vec<MoveCrew>> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, created_ms, json_extract(plan, '$.vehicles'), json_extract(plan, '$.window.to')
                 FROM moves ORDER BY created_ms, id",
            )?;
            let rows = stmt.query_map([], |r| {
                let (id, created_ms): (String, i64) = (r.get(0)?, r.get(1)?);
                let (vehicles, ends_at): (Option<String>, Option<String>) = (r.get(2)?, r.get(3)?);
                Ok(from_millis(created_ms).and_then(|created_at| {
                    MoveCrew::from_parts(id, created_at, vehicles.as_deref(), ends_at.as_deref())
                }))
            })?;
            rows.map(|row| row?).collect()
        })
        .await
    }

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

    pub async fn ping(&self) -> Result<()> {
        self.with(|conn| Ok(conn.query_row("SELECT 1", [], |_| Ok(()))?)).await
    }
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let applied: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied.max(0) as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// The twelve values of a position row, in the column order both position tables share.
fn position_row(vehicle: &str, p: &Position, received_ms: i64) -> [rusqlite::types::Value; 12] {
    [
        vehicle.to_string().into(),
        (p.seq as i64).into(),
        p.t.timestamp_millis().into(),
        p.lat.into(),
        p.lon.into(),
        p.alt_m.into(),
        p.speed_mps.into(),
        p.course_deg.into(),
        p.fix.map(|f| f.as_str().to_string()).into(),
        p.sats.map(i64::from).into(),
        p.hdop.into(),
        received_ms.into(),
    ]
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

fn move_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<MoveRecord>> {
    let (id, name, plan, created_ms, created_by): (String, String, String, i64, String) =
        (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
    Ok((|| {
        Ok(MoveRecord {
            id,
            name,
            plan: parse_json(&plan)?,
            created_at: from_millis(created_ms)?,
            created_by,
        })
    })())
}

fn from_millis(ms: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| StoreError::Corrupt(format!("time {ms} ms")))
}

fn user_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<User>> {
    let (name, role, password_hash): (String, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
    Ok(parse_role(&role).map(|role| User { name, role, password_hash }))
}

/// Reads the ten position columns starting at `first`:
/// seq, t_ms, lat, lon, alt_m, speed_mps, course_deg, fix, sats, hdop.
fn position_from_row(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<Result<Position>> {
    let seq: i64 = r.get(first)?;
    let t_ms: i64 = r.get(first + 1)?;
    let (lat, lon) = (r.get(first + 2)?, r.get(first + 3)?);
    let (alt_m, speed_mps, course_deg) = (r.get(first + 4)?, r.get(first + 5)?, r.get(first + 6)?);
    let fix: Option<String> = r.get(first + 7)?;
    let (sats, hdop) = (r.get(first + 8)?, r.get(first + 9)?);
    Ok((|| {
        Ok(Position {
            seq: u64::try_from(seq).map_err(|_| StoreError::Corrupt(format!("seq {seq}")))?,
            t: from_millis(t_ms)?,
            lat,
            lon,
            alt_m,
            speed_mps,
            course_deg,
            fix: parse_fix(fix)?,
            sats,
            hdop,
        })
    })())
}

/// Login tokens ended early, the people on a move's team, and the list of people.
impl SqliteStore {
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
