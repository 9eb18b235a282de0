//! PostgreSQL without TimescaleDB: positions are partitioned by UTC day, partitions are made
//! ahead and on demand, retention drops whole partitions, and a database made by the first
//! schema version is converted with its rows.

use chrono::{DateTime, Duration, TimeZone, Utc};
use convoy_core::{Position, VehicleId};
use convoy_store::{IngestWrite, Store, VehiclePositions};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 9, 15, 0).unwrap()
}

fn position(seq: u64, t: DateTime<Utc>) -> Position {
    Position {
        seq,
        t,
        lat: 48.1,
        lon: 11.5,
        alt_m: None,
        speed_mps: None,
        course_deg: None,
        fix: None,
        sats: None,
        hdop: None,
        accuracy_m: None,
    }
}

fn write(positions: Vec<Position>) -> IngestWrite {
    IngestWrite {
        positions: vec![VehiclePositions {
            vehicle: VehicleId::new("truck-07").unwrap(),
            positions,
            source: None,
            chain: None,
        }],
        ..Default::default()
    }
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

async fn partitions(client: &tokio_postgres::Client) -> Vec<String> {
    client
        .query(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = 'positions'::regclass ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn partitions_are_made_ahead_and_on_demand_and_dropped_whole() {
    let url = convoy_testkit::fresh_postgres_database().await;
    let store = Store::open(&url).await.unwrap();
    let client = connect(&url).await;
    assert!(partitions(&client).await.is_empty());

    store.prepare_ahead(t0()).await.unwrap();
    let ahead = partitions(&client).await;
    assert_eq!(ahead.first().map(String::as_str), Some("positions_p20261127"));
    assert_eq!(ahead.last().map(String::as_str), Some("positions_p20261205"));
    assert_eq!(ahead.len(), 9);

    // A backlog from long ago gets its day's partition when it arrives.
    let old = t0() - Duration::days(40);
    store.write_ingest(&write(vec![position(1, old), position(2, t0())])).await.unwrap();
    assert!(partitions(&client).await.contains(&"positions_p20261019".to_string()));

    let report = store.purge(t0() - Duration::days(30), t0()).await.unwrap();
    assert_eq!((report.partitions_dropped, report.positions_deleted), (1, 1));
    assert!(!partitions(&client).await.contains(&"positions_p20261019".to_string()));

    // A fix for a dropped day makes the partition again rather than failing forever.
    store.write_ingest(&write(vec![position(3, old)])).await.unwrap();
    assert!(partitions(&client).await.contains(&"positions_p20261019".to_string()));
}

#[tokio::test]
async fn a_first_version_database_is_converted_with_its_rows() {
    let url = convoy_testkit::fresh_postgres_database().await;
    let client = connect(&url).await;
    // The database as version 1 of the schema left it, with a stored position.
    client.batch_execute(include_str!("../migrations/postgres/0001_initial.sql")).await.unwrap();
    client
        .batch_execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now());
             INSERT INTO schema_migrations (version) VALUES (1);
             INSERT INTO positions (vehicle, seq, t, lat, lon, received_at)
             VALUES ('truck-07', 7, '2026-11-28T09:15:00Z', 48.1, 11.5, '2026-11-28T09:15:01Z');",
        )
        .await
        .unwrap();

    let store = Store::open(&url).await.unwrap();
    let vehicle = VehicleId::new("truck-07").unwrap();
    let track = store.track(&vehicle, t0() - Duration::days(1), t0() + Duration::days(1)).await.unwrap();
    assert_eq!(track, vec![position(7, t0())]);
    assert_eq!(partitions(&client).await, vec!["positions_p20261128".to_string()]);
    let versions: i32 =
        client.query_one("SELECT max(version) FROM schema_migrations", &[]).await.unwrap().get(0);
    // Every migration since the first was applied.
    let migrations =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres")).unwrap().count();
    assert_eq!(versions as usize, migrations);
}

/// On TimescaleDB, positions become a hypertable with compression; retention drops whole chunks,
/// and a late backlog still goes into a day whose chunk is already compressed.
#[tokio::test]
async fn on_timescaledb_positions_are_a_compressed_hypertable_and_purged_by_chunk() {
    let server = tokio::task::spawn_blocking(convoy_testkit::Timescale::start).await.unwrap();
    let url = format!("{}?pool_max_size=1", server.url());
    let store = Store::open(&url).await.unwrap();
    let old = t0() - Duration::days(40);
    let fixes = (0..10).map(|i| position(i, old + Duration::seconds(i as i64))).collect();
    store.write_ingest(&write(fixes)).await.unwrap();
    store.write_ingest(&write(vec![position(100, t0())])).await.unwrap();
    // The store's one connection is the server's one session: let it go before asking.
    drop(store);

    let client = server.client().await;
    let row = client
        .query_one(
            "SELECT compression_enabled FROM timescaledb_information.hypertables WHERE hypertable_name = 'positions'",
            &[],
        )
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0), "positions is a hypertable with compression enabled");
    let compressed = client
        .query(
            "SELECT compress_chunk(c) FROM show_chunks('positions', older_than => $1::timestamptz) c",
            &[&(t0() - Duration::days(7))],
        )
        .await
        .unwrap();
    assert_eq!(compressed.len(), 1, "the old day's chunk is compressed");
    drop(client);

    let store = Store::open(&url).await.unwrap();
    // A late fix for the compressed day, and a redelivery of one already there.
    let late = vec![position(10, old + Duration::seconds(10)), position(3, old + Duration::seconds(3))];
    let outcome = store.write_ingest(&write(late)).await.unwrap();
    assert_eq!((outcome.inserted, outcome.duplicates), (1, 1));

    let report = store.purge(t0() - Duration::days(30), t0()).await.unwrap();
    assert_eq!((report.partitions_dropped, report.positions_deleted), (1, 11), "{report:?}");
    let vehicle = VehicleId::new("truck-07").unwrap();
    let left = store.track(&vehicle, old - Duration::days(1), t0() + Duration::days(1)).await.unwrap();
    assert_eq!(left.iter().map(|p| p.seq).collect::<Vec<_>>(), vec![100]);
}

/// TLS to the database, trusting exactly the CA given in the URL.
#[tokio::test]
async fn the_database_connection_can_require_tls_with_a_pinned_ca() {
    let server = tokio::task::spawn_blocking(convoy_testkit::PgCluster::start_with_tls).await.unwrap();
    let ca = server.ca_file().unwrap().display().to_string();
    let url = format!("{}?sslmode=require&sslrootcert={ca}", server.url());
    let store = Store::open(&url).await.unwrap();
    store.write_ingest(&write(vec![position(1, t0())])).await.unwrap();

    let client = connect(&server.url()).await;
    let encrypted: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
             WHERE s.ssl AND a.pid <> pg_backend_pid() AND a.backend_type = 'client backend'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(encrypted >= 1, "the store's connection is encrypted");

    // Without the CA, require is refused up front; with another CA, the server is not trusted.
    let without_ca = format!("{}?sslmode=require", server.url());
    assert!(matches!(Store::open(&without_ca).await, Err(convoy_store::StoreError::BadUrl(_))));
    let other = tokio::task::spawn_blocking(convoy_testkit::PgCluster::start_with_tls).await.unwrap();
    let other_ca = other.ca_file().unwrap().display().to_string();
    let wrong = format!("{}?sslmode=require&sslrootcert={other_ca}", server.url());
    let error = Store::open(&wrong).await.err().expect("a server signed by another CA is refused");
    assert!(error.to_string().contains("TLS"), "{error}");
}
