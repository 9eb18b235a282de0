//! The PostgreSQL backend (TimescaleDB-compatible schema), through a deadpool connection pool.
//! An ingest write is one transaction: positions go in with one `INSERT … SELECT FROM UNNEST`
//! per write, so a batch costs one round trip however many positions it holds.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, SubsecRound, Utc};
use convoy_core::alert::AlertState;
use convoy_core::{Position, VehicleId};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::config::SslMode;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::alerts::{json_text, parse_json, parse_kind, parse_state, PersonAction};
use crate::{
    mark_write, parse_fix, parse_implausible, parse_role, parse_vehicle, vehicles_of, AgentStatus,
    AlertChange, AlertFilter, AlertRecord, AlertTransition, DeadLetter, Delivery, IngestWrite,
    LatestPosition, LegalHold, MarkedWrite, MoveCrew, MoveRecord, PurgeReport, Result, StoreError,
    StoredPosition, User, WriteOutcome, BY_RULE,
};

/// Schema versions, applied in order; `schema_migrations` records the ones applied.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/postgres/0001_initial.sql"),
    include_str!("../migrations/postgres/0002_marks_holds_purges.sql"),
    include_str!("../migrations/postgres/0003_positions_by_time.sql"),
    include_str!("../migrations/postgres/0004_moves_alerts.sql"),
    include_str!("../migrations/postgres/0005_audit.sql"),
    include_str!("../migrations/postgres/0006_teams.sql"),
];

/// Serialises retention purges from several processes.
const PURGE_LOCK_KEY: i64 = 0x0070_7572_6765; // "purge"

/// How far ahead daily partitions are made, so a day's first fix never waits for one.
const PARTITION_DAYS_AHEAD: i64 = 7;

/// Serialises concurrent migrations from several processes.
const MIGRATION_LOCK_KEY: i64 = 0x636f_6e76_6f79; // "convoy"

#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    /// UTC days (days since 1970) known to have a partition; a miss asks the database.
    days_ready: Arc<Mutex<HashSet<i64>>>,
}

impl PgStore {
    /// Opens `postgres://...`. Besides libpq's parameters the URL may carry `sslrootcert=PATH`
    /// (the CA that signed the server's certificate; TLS is then used, and required with
    /// `sslmode=require`) and `pool_max_size=N` (connections; default 8).
    pub async fn open(url: &str) -> Result<Self> {
        let options = ConnectOptions::parse(url)?;
        let recycling = ManagerConfig { recycling_method: RecyclingMethod::Fast };
        let manager = match &options.root_cert {
            Some(path) => Manager::from_config(options.config, tls_trusting(path)?, recycling),
            None if options.config.get_ssl_mode() == SslMode::Require => {
                return Err(StoreError::BadUrl(
                    "sslmode=require needs sslrootcert=PATH, the CA that signed the server's certificate"
                        .into(),
                ))
            }
            None => Manager::from_config(options.config, NoTls, recycling),
        };
        let pool = Pool::builder(manager)
            .max_size(options.pool_max_size)
            .build()
            .map_err(|e| StoreError::Pool(e.to_string()))?;
        let store = Self { pool, days_ready: Arc::default() };
        store.migrate().await?;
        Ok(store)
    }

    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Object> {
        self.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(e) => StoreError::Postgres(e),
            other => StoreError::Pool(other.to_string()),
        })
    }

    async fn migrate(&self) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK_KEY]).await?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
        )
        .await?;
        let applied: i32 =
            tx.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[]).await?.get(0);
        for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
            tx.batch_execute(sql).await?;
            tx.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[&(index as i32 + 1)]).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn write_ingest(&self, write: &IngestWrite) -> Result<WriteOutcome> {
        let result = self.write_ingest_once(write).await;
        if result.is_err() {
            // A partition may have been dropped behind the cache's back (by a purge elsewhere).
            self.days_ready.lock().expect("days cache").clear();
        }
        result
    }

    async fn write_ingest_once(&self, write: &IngestWrite) -> Result<WriteOutcome> {
        self.ensure_partitions(write).await?;
        let mut client = self.client().await?;
        let mut tx = client.transaction().await?;
        let vehicles: Vec<&str> = vehicles_of(write).into_iter().map(|v| v.as_str()).collect();
        // Locking the latest rows orders concurrent writers of one vehicle (several ingest
        // processes sharing a subscription), so their marks stay consistent.
        let rows = tx
            .query(
                "SELECT seq, t, lat, lon, alt_m, speed_mps, course_deg, fix, sats, hdop, vehicle
                 FROM vehicle_latest WHERE vehicle = ANY($1) FOR UPDATE",
                &[&vehicles],
            )
            .await?;
        let mut stored_latest = HashMap::new();
        for row in &rows {
            stored_latest.insert(parse_vehicle(row.get(10))?, position_from_row(row)?);
        }
        let marked = mark_write(write, stored_latest);
        // PostgreSQL keeps microseconds: the stamp as it is stored.
        let received_at = write.received_at.unwrap_or_else(Utc::now).trunc_subsecs(6);

        let total = marked.positions.len() as u64;
        // Duplicates are rare (a redelivery after a crash or an outage), and a binary COPY costs
        // PostgreSQL far less than an INSERT with ON CONFLICT (docs/BENCHMARKS.md). So COPY is
        // tried first, in a savepoint; only if the key refuses a row is the batch inserted again
        // skipping what is already there. The key guarantees exactly once either way.
        let attempt = tx.savepoint("positions").await?;
        let inserted = match copy_positions(&attempt, &marked, received_at).await {
            Ok(inserted) => {
                attempt.commit().await?;
                inserted
            }
            Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                attempt.rollback().await?;
                insert_positions_skipping_duplicates(&tx, &marked, received_at).await?
            }
            Err(e) => return Err(e.into()),
        };
        // One statement for every vehicle's latest position; ties in fix time go to the higher seq.
        let mut latest = PositionColumns::default();
        for (vehicle, p) in &marked.new_latest {
            latest.push(vehicle.as_str(), p);
        }
        tx.execute(
            "INSERT INTO vehicle_latest
               (vehicle, seq, t, lat, lon, alt_m, speed_mps, course_deg, fix, sats, hdop, received_at)
             SELECT *, $12::timestamptz FROM UNNEST(
               $1::text[], $2::int8[], $3::timestamptz[], $4::float8[], $5::float8[], $6::float8[],
               $7::float8[], $8::float8[], $9::text[], $10::int4[], $11::float8[])
             ON CONFLICT (vehicle) DO UPDATE SET
               seq = excluded.seq, t = excluded.t, lat = excluded.lat, lon = excluded.lon,
               alt_m = excluded.alt_m, speed_mps = excluded.speed_mps, course_deg = excluded.course_deg,
               fix = excluded.fix, sats = excluded.sats, hdop = excluded.hdop,
               received_at = excluded.received_at
             WHERE (excluded.t, excluded.seq) > (vehicle_latest.t, vehicle_latest.seq)",
            &[
                &latest.vehicle,
                &latest.seq,
                &latest.t,
                &latest.lat,
                &latest.lon,
                &latest.alt_m,
                &latest.speed_mps,
                &latest.course_deg,
                &latest.fix,
                &latest.sats,
                &latest.hdop,
                &received_at,
            ],
        )
        .await?;
        if !write.dead_letters.is_empty() {
            let insert_dead = tx
                .prepare_cached(
                    "INSERT INTO dead_letters (received_at, topic, payload, reason, detail) VALUES ($1, $2, $3, $4, $5)",
                )
                .await?;
            for d in &write.dead_letters {
                tx.execute(&insert_dead, &[&d.received_at, &d.topic, &d.payload, &d.reason, &d.detail])
                    .await?;
            }
        }
        if !write.statuses.is_empty() {
            let latest_status = tx
                .prepare_cached(
                    "INSERT INTO agent_status (vehicle, received_at, status_json) VALUES ($1, $2, $3)
                     ON CONFLICT (vehicle) DO UPDATE SET
                       received_at = excluded.received_at, status_json = excluded.status_json",
                )
                .await?;
            let status_log = tx
                .prepare_cached(
                    "INSERT INTO agent_status_log (vehicle, received_at, status_json) VALUES ($1, $2, $3)",
                )
                .await?;
            for st in &write.statuses {
                let row: [&(dyn ToSql + Sync); 3] = [&st.vehicle.as_str(), &st.received_at, &st.status_json];
                tx.execute(&latest_status, &row).await?;
                tx.execute(&status_log, &row).await?;
            }
        }
        tx.commit().await?;
        Ok(WriteOutcome { inserted, duplicates: total - inserted, fresh: marked.fresh(), received_at })
    }

    /// Makes sure every UTC day of the write's fixes has its partition, asking the database
    /// only for days this process has not seen yet (outside the write's transaction, so a
    /// failed write does not undo them).
    async fn ensure_partitions(&self, write: &IngestWrite) -> Result<()> {
        let missing: Vec<i64> = {
            let ready = self.days_ready.lock().expect("days cache");
            let mut days: Vec<i64> = write
                .positions
                .iter()
                .flat_map(|b| b.positions.iter().map(|p| p.t.timestamp().div_euclid(86_400)))
                .filter(|day| !ready.contains(day))
                .collect();
            days.sort_unstable();
            days.dedup();
            days
        };
        if missing.is_empty() {
            return Ok(());
        }
        let client = self.client().await?;
        for &day in &missing {
            let start = DateTime::<Utc>::from_timestamp(day * 86_400, 0)
                .ok_or_else(|| StoreError::Corrupt(format!("day {day}")))?;
            client.execute("SELECT convoy_ensure_partitions($1, $1)", &[&start]).await?;
        }
        self.days_ready.lock().expect("days cache").extend(missing);
        Ok(())
    }

    pub async fn prepare_ahead(&self, now: DateTime<Utc>) -> Result<()> {
        self.client()
            .await?
            .execute(
                "SELECT convoy_ensure_partitions($1, $2)",
                &[&(now - Duration::days(1)), &(now + Duration::days(PARTITION_DAYS_AHEAD))],
            )
            .await?;
        Ok(())
    }

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
            .query_opt("SELECT name, role, password_hash FROM users WHERE name = $1", &[&name])
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
                "SELECT u.name, u.role, u.password_hash FROM tokens t JOIN users u ON u.name = t.username
                 WHERE t.token_hash = $1 AND t.expires_at > $2",
                &[&token_hash, &now],
            )
            .await?;
        row.map(|r| user_from_row(&r)).transpose()
    }

    pub async fn latest_positions(&self) -> Result<Vec<LatestPosition>> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT seq, t, lat, lon, alt_m, speed_mps, course_deg, fix, sats, hdop, vehicle, received_at
                 FROM vehicle_latest ORDER BY vehicle",
                &[],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(LatestPosition {
                    position: position_from_row(r)?,
                    vehicle: parse_vehicle(r.get(10))?,
                    received_at: r.get(11),
                })
            })
            .collect()
    }

    pub async fn track_page(
        &self,
        vehicle: &VehicleId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: Option<(DateTime<Utc>, u64)>,
        limit: u32,
    ) -> Result<Vec<StoredPosition>> {
        // Before every fix of the range when there is no previous page.
        let (after_t, after_seq) = after.map_or((from, -1), |(t, seq)| (t, seq as i64));
        let rows = self
            .client()
            .await?
            .query(
                "SELECT seq, t, lat, lon, alt_m, speed_mps, course_deg, fix, sats, hdop, late, implausible,
                        received_at
                 FROM positions
                 WHERE vehicle = $1 AND t >= $2 AND t < $3 AND (t, seq) > ($4, $5)
                 ORDER BY t, seq LIMIT $6",
                &[&vehicle.as_str(), &from, &to, &after_t, &after_seq, &i64::from(limit)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(StoredPosition {
                    position: position_from_row(r)?,
                    late: r.get(10),
                    implausible: parse_implausible(r.get(11))?,
                    received_at: r.get(12),
                })
            })
            .collect()
    }

    pub async fn agent_statuses(&self) -> Result<Vec<AgentStatus>> {
        let rows = self
            .client()
            .await?
            .query("SELECT vehicle, received_at, status_json FROM agent_status ORDER BY vehicle", &[])
            .await?;
        rows.iter()
            .map(|r| {
                Ok(AgentStatus {
                    vehicle: parse_vehicle(r.get(0))?,
                    received_at: r.get(1),
                    status_json: r.get(2),
                })
            })
            .collect()
    }

    pub async fn add_legal_hold(&self, hold: &LegalHold) -> Result<i64> {
        let row = self
            .client()
            .await?
            .query_one(
                "INSERT INTO legal_holds (vehicle, move_id, from_t, to_t, reason, created_by)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                &[
                    &hold.vehicle.as_ref().map(|v| v.as_str()),
                    &hold.move_id,
                    &hold.from,
                    &hold.to,
                    &hold.reason,
                    &hold.created_by,
                ],
            )
            .await?;
        Ok(row.get(0))
    }

    pub async fn release_legal_hold(&self, id: i64, now: DateTime<Utc>) -> Result<bool> {
        let changed = self
            .client()
            .await?
            .execute(
                "UPDATE legal_holds SET released_at = $2 WHERE id = $1 AND released_at IS NULL",
                &[&id, &now],
            )
            .await?;
        Ok(changed == 1)
    }

    pub async fn purge(&self, cutoff: DateTime<Utc>, now: DateTime<Utc>) -> Result<PurgeReport> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&PURGE_LOCK_KEY]).await?;
        let mut report = PurgeReport {
            ran_at: now,
            cutoff,
            positions_deleted: 0,
            partitions_dropped: 0,
            positions_held: 0,
            dead_letters_deleted: 0,
        };
        // Whole days first: a slice wholly before the cutoff that no hold touches goes at once.
        for slice in time_slices(&tx).await? {
            if slice.end > cutoff {
                continue;
            }
            let held: bool = tx
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM legal_holds
                                    WHERE released_at IS NULL AND from_t < $2 AND to_t > $1)",
                    &[&slice.start, &slice.end],
                )
                .await?
                .get(0);
            if held {
                continue;
            }
            let rows: i64 = tx
                .query_one(
                    "SELECT count(*) FROM positions WHERE t >= $1 AND t < $2",
                    &[&slice.start, &slice.end],
                )
                .await?
                .get(0);
            match &slice.partition {
                Some(name) => {
                    tx.batch_execute(&format!("DROP TABLE \"{}\"", name.replace('"', "\"\""))).await?
                }
                None => {
                    tx.execute(
                        "SELECT drop_chunks('positions', older_than => $2::timestamptz, newer_than => $1::timestamptz)",
                        &[&slice.start, &slice.end],
                    )
                    .await?;
                }
            }
            report.positions_deleted += rows as u64;
            report.partitions_dropped += 1;
        }
        let not_held = "NOT EXISTS (SELECT 1 FROM legal_holds h WHERE h.released_at IS NULL
                          AND (h.vehicle IS NULL OR h.vehicle = p.vehicle) AND p.t >= h.from_t AND p.t < h.to_t)";
        report.positions_deleted +=
            tx.execute(&format!("DELETE FROM positions p WHERE t < $1 AND {not_held}"), &[&cutoff]).await?;
        tx.execute(&format!("DELETE FROM vehicle_latest p WHERE t < $1 AND {not_held}"), &[&cutoff]).await?;
        let held: i64 = tx.query_one("SELECT count(*) FROM positions WHERE t < $1", &[&cutoff]).await?.get(0);
        report.positions_held = held as u64;
        report.dead_letters_deleted =
            tx.execute("DELETE FROM dead_letters WHERE received_at < $1", &[&cutoff]).await?;
        // Moves, alerts, their transitions and deliveries are kept: they are the record.
        tx.execute("DELETE FROM agent_status_log WHERE received_at < $1", &[&cutoff]).await?;
        tx.execute(
            "INSERT INTO purges (ran_at, cutoff, positions_deleted, partitions_dropped, positions_held,
                                 dead_letters_deleted)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &report.ran_at,
                &report.cutoff,
                &(report.positions_deleted as i64),
                &(report.partitions_dropped as i64),
                &(report.positions_held as i64),
                &(report.dead_letters_deleted as i64),
            ],
        )
        .await?;
        tx.commit().await?;
        self.days_ready.lock().expect("days cache").clear();
        Ok(report)
    }

    pub async fn purges(&self, limit: u32) -> Result<Vec<PurgeReport>> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT ran_at, cutoff, positions_deleted, partitions_dropped, positions_held, dead_letters_deleted
                 FROM purges ORDER BY id DESC LIMIT $1",
                &[&i64::from(limit)],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| PurgeReport {
                ran_at: r.get(0),
                cutoff: r.get(1),
                positions_deleted: r.get::<_, i64>(2) as u64,
                partitions_dropped: r.get::<_, i64>(3) as u64,
                positions_held: r.get::<_, i64>(4) as u64,
                dead_letters_deleted: r.get::<_, i64>(5) as u64,
            })
            .collect())
    }

    pub async fn dead_letters(&self, limit: u32) -> Result<Vec<DeadLetter>> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT received_at, topic, payload, reason, detail FROM dead_letters ORDER BY id DESC LIMIT $1",
                &[&i64::from(limit)],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| DeadLetter {
                received_at: r.get(0),
                topic: r.get(1),
                payload: r.get(2),
                reason: r.get(3),
                detail: r.get(4),
            })
            .collect())
    }

    pub async fn status_history(
        &self,
        vehicle: &VehicleId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<AgentStatus>> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT vehicle, received_at, status_json FROM agent_status_log
                 WHERE vehicle = $1 AND received_at >= $2 AND received_at < $3 ORDER BY received_at, id",
                &[&vehicle.as_str(), &from, &to],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(AgentStatus {
                    vehicle: parse_vehicle(r.get(0))?,
                    received_at: r.get(1),
                    status_json: r.get(2),
                })
            })
            .collect()
    }

    pub async fn add_move(&self, record: &MoveRecord) -> Result<()> {
        let changed = self
            .client()
            .await?
            .execute(
                "INSERT INTO moves (id, name, plan, created_at, created_by)
                 VALUES ($1, $2, $3::text::jsonb, $4, $5) ON CONFLICT DO NOTHING",
                &[&record.id, &record.name, &json_text(&record.plan), &record.created_at, &record.created_by],
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::AlreadyExists(format!("move {}", record.id)));
        }
        Ok(())
    }

    pub async fn move_record(&self, id: &str) -> Result<Option<MoveRecord>> {
        let row = self
            .client()
            .await?
            .query_opt("SELECT id, name, plan::text, created_at, created_by FROM moves WHERE id = $1", &[&id])
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
                "SELECT id, created_at, (plan->'vehicles')::text, plan->'window'->>'to'
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
                    r.get::<_, Option<&str>>(3),
                )
            })
            .collect()
    }

    pub async fn moves(&self) -> Result<Vec<MoveRecord>> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT id, name, plan::text, created_at, created_by FROM moves ORDER BY created_at, id",
                &[],
            )
            .await?;
        rows.iter().map(move_from_row).collect()
    }

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

    pub async fn ping(&self) -> Result<()> {
        self.client().await?.execute("SELECT 1", &[]).await?;
        Ok(())
    }
}

/// A PostgreSQL URL split into what tokio-postgres understands and Convoy's own parameters.
struct ConnectOptions {
    config: tokio_postgres::Config,
    root_cert: Option<std::path::PathBuf>,
    pool_max_size: usize,
}

impl ConnectOptions {
    fn parse(url: &str) -> Result<Self> {
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut root_cert = None;
        let mut pool_max_size = 8;
        let mut passed_on = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("sslrootcert", path)) => root_cert = Some(path.into()),
                Some(("pool_max_size", n)) => {
                    pool_max_size = n.parse().ok().filter(|&n| n > 0).ok_or_else(|| {
                        StoreError::BadUrl(format!("pool_max_size={n}: a positive number is needed"))
                    })?
                }
                _ => passed_on.push(pair),
            }
        }
        let url =
            if passed_on.is_empty() { base.to_string() } else { format!("{base}?{}", passed_on.join("&")) };
        Ok(Self { config: url.parse()?, root_cert, pool_max_size })
    }
}

/// TLS trusting exactly the CA certificates in `ca_file` (PEM), not the system's.
fn tls_trusting(ca_file: &std::path::Path) -> Result<MakeRustlsConnect> {
    use rustls::pki_types::{pem::PemObject, CertificateDer};
    let bad =
        |e: &dyn std::fmt::Display| StoreError::BadUrl(format!("sslrootcert {}: {e}", ca_file.display()));
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca_file).map_err(|e| bad(&e))? {
        roots.add(cert.map_err(|e| bad(&e))?).map_err(|e| bad(&e))?;
    }
    if roots.is_empty() {
        return Err(bad(&"no certificate in the file"));
    }
    let config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| bad(&e))?
            .with_root_certificates(roots)
            .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// Satellite counts are validated on the wire (at most 255), so they always fit.
fn sats_to_sql(sats: u32) -> i32 {
    i32::try_from(sats).unwrap_or(i32::MAX)
}

/// Positions as columns, for one `UNNEST` insert.
#[derive(Default)]
struct PositionColumns<'a> {
    vehicle: Vec<&'a str>,
    seq: Vec<i64>,
    t: Vec<DateTime<Utc>>,
    lat: Vec<f64>,
    lon: Vec<f64>,
    alt_m: Vec<Option<f64>>,
    speed_mps: Vec<Option<f64>>,
    course_deg: Vec<Option<f64>>,
    fix: Vec<Option<&'static str>>,
    sats: Vec<Option<i32>>,
    hdop: Vec<Option<f64>>,
    late: Vec<bool>,
    implausible: Vec<Option<&'static str>>,
}

impl<'a> PositionColumns<'a> {
    fn push(&mut self, vehicle: &'a str, p: &Position) {
        self.vehicle.push(vehicle);
        self.seq.push(p.seq as i64);
        self.t.push(p.t);
        self.lat.push(p.lat);
        self.lon.push(p.lon);
        self.alt_m.push(p.alt_m);
        self.speed_mps.push(p.speed_mps);
        self.course_deg.push(p.course_deg);
        self.fix.push(p.fix.map(|f| f.as_str()));
        self.sats.push(p.sats.map(sats_to_sql));
        self.hdop.push(p.hdop);
    }
}

/// Copies a write's positions into the table in PostgreSQL's binary format; fails on the first
/// position already stored.
async fn copy_positions(
    tx: &tokio_postgres::Transaction<'_>,
    marked: &MarkedWrite<'_>,
    received_at: DateTime<Utc>,
) -> Result<u64, tokio_postgres::Error> {
    use tokio_postgres::types::Type;
    let sink = tx
        .copy_in(
            "COPY positions (vehicle, seq, t, lat, lon, alt_m, speed_mps, course_deg, fix, sats, hdop, late,
                             implausible, received_at) FROM STDIN (FORMAT binary)",
        )
        .await?;
    let types = [
        Type::TEXT,
        Type::INT8,
        Type::TIMESTAMPTZ,
        Type::FLOAT8,
        Type::FLOAT8,
        Type::FLOAT8,
        Type::FLOAT8,
        Type::FLOAT8,
        Type::TEXT,
        Type::INT4,
        Type::FLOAT8,
        Type::BOOL,
        Type::TEXT,
        Type::TIMESTAMPTZ,
    ];
    let writer = BinaryCopyInWriter::new(sink, &types);
    let mut writer = std::pin::pin!(writer);
    for (vehicle, p, marks) in &marked.positions {
        writer
            .as_mut()
            .write(&[
                &vehicle.as_str(),
                &(p.seq as i64),
                &p.t,
                &p.lat,
                &p.lon,
                &p.alt_m,
                &p.speed_mps,
                &p.course_deg,
                &p.fix.map(|f| f.as_str()),
                &p.sats.map(sats_to_sql),
                &p.hdop,
                &marks.late,
                &marks.implausible.map(|r| r.as_str()),
                &received_at,
            ])
            .await?;
    }
    writer.finish().await
}

/// Inserts a write's positions, leaving those already stored as they are; returns how many were
/// new.
async fn insert_positions_skipping_duplicates(
    tx: &tokio_postgres::Transaction<'_>,
    marked: &MarkedWrite<'_>,
    received_at: DateTime<Utc>,
) -> Result<u64, tokio_postgres::Error> {
    let mut columns = PositionColumns::default();
    for (vehicle, p, marks) in &marked.positions {
        columns.push(vehicle.as_str(), p);
        columns.late.push(marks.late);
        columns.implausible.push(marks.implausible.map(|r| r.as_str()));
    }
    tx.execute(
        "INSERT INTO positions
           (vehicle, seq, t, lat, lon, alt_m, speed_mps, course_deg, fix, sats, hdop, late, implausible, received_at)
         SELECT *, $14::timestamptz FROM UNNEST(
           $1::text[], $2::int8[], $3::timestamptz[], $4::float8[], $5::float8[], $6::float8[],
           $7::float8[], $8::float8[], $9::text[], $10::int4[], $11::float8[], $12::bool[], $13::text[])
         ON CONFLICT DO NOTHING",
        &[
            &columns.vehicle,
            &columns.seq,
            &columns.t,
            &columns.lat,
            &columns.lon,
            &columns.alt_m,
            &columns.speed_mps,
            &columns.course_deg,
            &columns.fix,
            &columns.sats,
            &columns.hdop,
            &columns.late,
            &columns.implausible,
            &received_at,
        ],
    )
    .await
}

/// A stretch of time the positions table keeps as one unit: a native partition (named) or a
/// TimescaleDB chunk.
struct TimeSlice {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    partition: Option<String>,
}

/// The positions table's partitions or chunks; none for a table that is neither.
async fn time_slices(tx: &tokio_postgres::Transaction<'_>) -> Result<Vec<TimeSlice>> {
    let hypertable: bool = tx
        .query_one("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')", &[])
        .await?
        .get(0);
    if hypertable {
        let rows = tx
            .query(
                "SELECT range_start, range_end FROM timescaledb_information.chunks
                 WHERE hypertable_name = 'positions' ORDER BY range_start",
                &[],
            )
            .await?;
        return Ok(rows
            .iter()
            .map(|r| TimeSlice { start: r.get(0), end: r.get(1), partition: None })
            .collect());
    }
    let rows = tx
        .query(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = 'positions'::regclass",
            &[],
        )
        .await?;
    let mut slices = Vec::new();
    for row in rows {
        let name: String = row.get(0);
        // Named positions_pYYYYMMDD by convoy_ensure_partitions; anything else is left alone.
        let day = name
            .strip_prefix("positions_p")
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y%m%d").ok())
            .and_then(|d| d.and_hms_opt(0, 0, 0));
        if let Some(day) = day {
            let start = day.and_utc();
            slices.push(TimeSlice { start, end: start + Duration::days(1), partition: Some(name) });
        }
    }
    Ok(slices)
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

fn move_from_row(r: &Row) -> Result<MoveRecord> {
    Ok(MoveRecord {
        id: r.get(0),
        name: r.get(1),
        plan: parse_json(r.get(2))?,
        created_at: r.get(3),
        created_by: r.get(4),
    })
}

fn user_from_row(r: &Row) -> Result<User> {
    Ok(User { name: r.get(0), role: parse_role(r.get(1))?, password_hash: r.get(2) })
}

/// Reads seq, t, lat, lon, alt_m, speed_mps, course_deg, fix, sats, hdop (columns 0 to 9).
fn position_from_row(r: &Row) -> Result<Position> {
    let seq: i64 = r.get(0);
    let sats: Option<i32> = r.get(8);
    Ok(Position {
        seq: u64::try_from(seq).map_err(|_| StoreError::Corrupt(format!("seq {seq}")))?,
        t: r.get(1),
        lat: r.get(2),
        lon: r.get(3),
        alt_m: r.get(4),
        speed_mps: r.get(5),
        course_deg: r.get(6),
        fix: parse_fix(r.get(7))?,
        sats: sats.map(|s| s.max(0) as u32),
        hdop: r.get(9),
    })
}

/// Login tokens ended early, the people on a move's team, and the list of people.
impl PgStore {
    pub async fn revoke_token(&self, token_hash: &str) -> Result<bool> {
        let client = self.client().await?;
        Ok(client.execute("DELETE FROM tokens WHERE token_hash = $1", &[&token_hash]).await? > 0)
    }

    pub async fn revoke_tokens_of(&self, username: &str) -> Result<u64> {
        let client = self.client().await?;
        Ok(client.execute("DELETE FROM tokens WHERE username = $1", &[&username]).await?)
    }

    pub async fn users(&self) -> Result<Vec<User>> {
        let rows = self
            .client()
            .await?
            .query("SELECT name, role, password_hash FROM users ORDER BY name", &[])
            .await?;
        rows.iter().map(user_from_row).collect()
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
