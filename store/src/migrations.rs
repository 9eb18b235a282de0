//! Both schemas' versions, compiled into the binary, and how each backend applies the ones a
//! database lacks. A version's number is its place in its list (from 1), which is what the
//! database records; so a file is only ever added at the end, and the test below fails if a
//! file in `migrations/` is not in its list.

use rusqlite::Connection;

use crate::Result;

/// One schema version: its file's name and its SQL.
pub(crate) struct Migration {
    /// Only the test below reads it, to compare the list with the directory.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) name: &'static str,
    pub(crate) sql: &'static str,
}

/// The migrations of `migrations/$dir`, named by their files, in the order given.
macro_rules! migrations {
    ($dir:literal: $($file:literal),* $(,)?) => {
        &[$(Migration { name: $file, sql: include_str!(concat!("../migrations/", $dir, "/", $file)) }),*]
    };
}

/// SQLite's schema versions, applied in order; `PRAGMA user_version` records the last one applied.
pub(crate) const SQLITE: &[Migration] = migrations!("sqlite":
    "0001_initial.sql",
    "0002_marks_holds_purges.sql",
    "0003_moves_alerts.sql",
    "0004_audit.sql",
    "0005_teams.sql",
    "0006_phones.sql",
    "0007_hold_details.sql",
    "0008_move_ends.sql",
    "0009_people_admin.sql",
    "0010_vehicle_admin.sql",
    "0011_plan_versions.sql",
    "0012_person_language.sql",
    "0013_signed_tracks.sql",
    "0014_seals.sql",
    "0015_signed_record.sql",
);

/// PostgreSQL's schema versions, applied in order; `schema_migrations` records the ones applied.
pub(crate) const POSTGRES: &[Migration] = migrations!("postgres":
    "0001_initial.sql",
    "0002_marks_holds_purges.sql",
    "0003_positions_by_time.sql",
    "0004_moves_alerts.sql",
    "0005_audit.sql",
    "0006_teams.sql",
    "0007_phones.sql",
    "0008_hold_details.sql",
    "0009_move_ends.sql",
    "0010_people_admin.sql",
    "0011_vehicle_admin.sql",
    "0012_plan_versions.sql",
    "0013_person_language.sql",
    "0014_signed_tracks.sql",
    "0015_seals.sql",
    "0016_signed_record.sql",
);

/// Serialises concurrent migrations from several processes.
const MIGRATION_LOCK_KEY: i64 = 0x636f_6e76_6f79; // "convoy"

/// Applies the SQLite versions the database lacks, each in its own transaction. Each one takes
/// the write lock first (IMMEDIATE) and reads the version again under it: two processes opening
/// the same new file at once apply each version once, the second waiting for the first.
pub(crate) fn apply_sqlite(conn: &mut Connection) -> Result<()> {
    let applied: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (index, migration) in SQLITE.iter().enumerate().skip(applied.max(0) as usize) {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let applied: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if applied > index as i64 {
            continue;
        }
        tx.execute_batch(migration.sql)?;
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
    for (index, migration) in POSTGRES.iter().enumerate().skip(applied as usize) {
        tx.batch_execute(migration.sql).await?;
        tx.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[&(index as i32 + 1)]).await?;
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The files in `migrations/$dir`, by name, in the order their names sort.
    fn files_in(dir: &str) -> Vec<String> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(dir);
        let mut names: Vec<String> = std::fs::read_dir(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    fn assert_compiled_in(list: &[Migration], dir: &str) {
        let compiled: Vec<&str> = list.iter().map(|m| m.name).collect();
        assert_eq!(
            compiled,
            files_in(dir),
            "the {dir} migrations compiled in are not the files in migrations/{dir}"
        );
        for (index, name) in compiled.iter().enumerate() {
            // The number the database records is the place in the list: the file must say it.
            assert!(
                name.starts_with(&format!("{:04}_", index + 1)),
                "{dir} migration {name} is number {}",
                index + 1
            );
        }
    }

    /// Two processes (here: two stores, each with its own connection) opening the same new file
    /// at once: both open, each version applied once (the second waits for the first's lock).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_stores_opening_a_new_file_at_once_both_open_and_migrate_it_once() {
        for round in 0..10 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(format!("race-{round}.db"));
            let (a, b) = tokio::join!(
                crate::sqlite::SqliteStore::open(&path),
                crate::sqlite::SqliteStore::open(&path)
            );
            assert!(a.is_ok() && b.is_ok(), "round {round}: {:?} / {:?}", a.err(), b.err());
            let conn = Connection::open(&path).unwrap();
            let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
            assert_eq!(version, SQLITE.len() as i64);
        }
    }

    /// A move made before plan versions gets its plan as version 1 from the migration, and
    /// edits number on from there.
    #[test]
    fn a_move_made_before_plan_versions_gets_version_1() {
        let mut conn = Connection::open_in_memory().unwrap();
        let before = SQLITE.iter().position(|m| m.name == "0011_plan_versions.sql").unwrap();
        for migration in &SQLITE[..before] {
            conn.execute_batch(migration.sql).unwrap();
        }
        conn.pragma_update(None, "user_version", before as i64).unwrap();
        conn.execute(
            "INSERT INTO moves (id, name, plan, created_ms, created_by) VALUES ('m-old', 'old', '{\"corridor_m\":150}', 1000, 'ana')",
            [],
        )
        .unwrap();
        apply_sqlite(&mut conn).unwrap();
        let row: (i64, i64, String, i64, String, String) = conn
            .query_row(
                "SELECT m.plan_version, v.version, v.plan, v.changed_ms, v.changed_by, v.changes
                 FROM moves m JOIN plan_versions v ON v.move_id = m.id WHERE m.id = 'm-old'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
            )
            .unwrap();
        assert_eq!(
            row,
            (1, 1, r#"{"corridor_m":150}"#.to_string(), 1000, "ana".to_string(), "[]".to_string())
        );
    }

    #[test]
    fn the_sqlite_migrations_compiled_in_are_exactly_the_files_in_order() {
        assert_compiled_in(SQLITE, "sqlite");
    }

    #[test]
    fn the_postgres_migrations_compiled_in_are_exactly_the_files_in_order() {
        assert_compiled_in(POSTGRES, "postgres");
    }
}
