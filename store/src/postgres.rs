//! The PostgreSQL backend (TimescaleDB-compatible schema), through a deadpool connection pool.
//! An ingest write is one transaction: positions go in with one `INSERT … SELECT FROM UNNEST`
//! per write, so a batch costs one round trip however many positions it holds.

use chrono::{DateTime, Utc};
use convoy_core::{Position, VehicleId};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::{NoTls, Row};

use crate::{
    newest_per_vehicle, parse_fix, parse_role, parse_vehicle, DeadLetter, IngestWrite, LatestPosition,
    Result, StoreError, User, WriteOutcome,
};

/// Schema versions, applied in order; `schema_migrations` records the ones applied.
const MIGRATIONS: &[&str] = &[include_str!("../migrations/postgres/0001_initial.sql")];

/// Serialises concurrent migrations from several processes.
const MIGRATION_LOCK_KEY: i64 = 0x636f_6e76_6f79; // "convoy"

#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
}

impl PgStore {
    pub async fn open(url: &str) -> Result<Self> {
        let config: tokio_postgres::Config = url.parse()?;
        let manager =
            Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager).max_size(8).build().map_err(|e| StoreError::Pool(e.to_string()))?;
        let store = Self { pool };
        store.migrate().await?;
        Ok(store)
    }

    async fn client(&self) -> Result<deadpool_postgres::Object> {
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
        let received_at = write.received_at.unwrap_or_else(Utc::now);
        let mut columns = PositionColumns::default();
        for batch in &write.positions {
            for p in &batch.positions {
                columns.push(batch.vehicle.as_str(), p);
            }
        }
        let total = columns.vehicle.len() as u64;

        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let inserted = tx
            .execute(
                "INSERT INTO positions
                   (vehicle, seq, t, lat, lon, alt_m, speed_mps, course_deg, fix, sats, hdop, received_at)
                 SELECT *, $12::timestamptz FROM UNNEST(
                   $1::text[], $2::int8[], $3::timestamptz[], $4::float8[], $5::float8[], $6::float8[],
                   $7::float8[], $8::float8[], $9::text[], $10::int4[], $11::float8[])
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
                    &received_at,
                ],
            )
            .await?;
        let upsert_latest = tx
            .prepare_cached(
                "INSERT INTO vehicle_latest
                   (vehicle, seq, t, lat, lon, alt_m, speed_mps, course_deg, fix, sats, hdop, received_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                 ON CONFLICT (vehicle) DO UPDATE SET
                   seq = excluded.seq, t = excluded.t, lat = excluded.lat, lon = excluded.lon,
                   alt_m = excluded.alt_m, speed_mps = excluded.speed_mps, course_deg = excluded.course_deg,
                   fix = excluded.fix, sats = excluded.sats, hdop = excluded.hdop,
                   received_at = excluded.received_at
                 WHERE excluded.t > vehicle_latest.t",
            )
            .await?;
        for (vehicle, p) in newest_per_vehicle(write) {
            tx.execute(
                &upsert_latest,
                &[
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
                    &received_at,
                ],
            )
            .await?;
        }
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
        tx.commit().await?;
        Ok(WriteOutcome { inserted, duplicates: total - inserted })
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

    pub async fn track(
        &self,
        vehicle: &VehicleId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Position>> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT seq, t, lat, lon, alt_m, speed_mps, course_deg, fix, sats, hdop FROM positions
                 WHERE vehicle = $1 AND t >= $2 AND t < $3 ORDER BY t, seq",
                &[&vehicle.as_str(), &from, &to],
            )
            .await?;
        rows.iter().map(position_from_row).collect()
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

    pub async fn ping(&self) -> Result<()> {
        self.client().await?.execute("SELECT 1", &[]).await?;
        Ok(())
    }
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
