//! Both schemas' versions, compiled into the binary, and how each backend applies the ones a
//! database lacks. A version's number is its place in its list (from 1), which is what the
//! database records; so a file is only ever added at the end.

use rusqlite::Connection;

use crate::Result;

/// SQLite's schema versions, applied in order; `PRAGMA user_version` records the last one applied.
pub(crate) const SQLITE: &[&str] = &[
    include_str!("../migrations/sqlite/0001_initial.sql"),
    include_str!("../migrations/sqlite/0002_marks_holds_purges.sql"),
    include_str!("../migrations/sqlite/0003_moves_alerts.sql"),
    include_str!("../migrations/sqlite/0004_audit.sql"),
    include_str!("../migrations/sqlite/0005_teams.sql"),
];

/// PostgreSQL's schema versions, applied in order; `schema_migrations` records the ones applied.
pub(crate) const POSTGRES: &[&str] = &[
    include_str!("../migrations/postgres/0001_initial.sql"),
    include_str!("../migrations/postgres/0002_marks_holds_purges.sql"),
    include_str!("../migrations/postgres/0003_positions_by_time.sql"),
    include_str!("../migrations/postgres/0004_moves_alerts.sql"),
    include_str!("../migrations/postgres/0005_audit.sql"),
    include_str!("../migrations/postgres/0006_teams.sql"),
];

/// Serialises concurrent migrations from several processes.
const MIGRATION_LOCK_KEY: i64 = 0x636f_6e76_6f79; // "convoy"

/// Applies the SQLite versions the database lacks, each in its own transaction.
pub(crate) fn apply_sqlite(conn: &mut Connection) -> Result<()> {
    let applied: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (index, sql) in SQLITE.iter().enumerate().skip(applied.max(0) as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// Applies the PostgreSQL versions the database lacks, all in one transaction.
pub(crate) async fn apply_postgres(client: &mut deadpool_postgres::Object) -> Result<()> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK_KEY]).await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )
    .await?;
    let applied: i32 =
        tx.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[]).await?.get(0);
    for (index, sql) in POSTGRES.iter().enumerate().skip(applied as usize) {
        tx.batch_execute(sql).await?;
        tx.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[&(index as i32 + 1)]).await?;
    }
    tx.commit().await?;
    Ok(())
}
