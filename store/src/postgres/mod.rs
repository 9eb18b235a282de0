//! The PostgreSQL connection pool every feature's PostgreSQL code runs on (deadpool; the schema
//! is TimescaleDB-compatible).

mod connect;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::config::SslMode;
use tokio_postgres::NoTls;

use crate::{migrations, Result, StoreError};
use connect::{tls_trusting, ConnectOptions};

#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    /// UTC days (days since 1970) known to have a partition; a miss asks the database.
    /// Filled by ingest writes, forgotten when a partition may have gone (a purge, a failed write).
    pub(crate) days_ready: Arc<Mutex<HashSet<i64>>>,
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
        migrations::apply_postgres(&mut store.client().await?).await?;
        Ok(store)
    }

    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Object> {
        self.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(e) => StoreError::Postgres(e),
            other => StoreError::Pool(other.to_string()),
        })
    }

    /// The most connections the pool opens.
    pub fn pool_max_size(&self) -> usize {
        self.pool.status().max_size
    }

    pub async fn ping(&self) -> Result<()> {
        self.client().await?.execute("SELECT 1", &[]).await?;
        Ok(())
    }
}
