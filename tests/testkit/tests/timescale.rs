//! Timescale, the TimescaleDB test server: the extension is created, a table with rows becomes a
//! hypertable with one chunk a day, a batch larger than one TCP read goes in through bind
//! parameters, and the next session sees it all.

use convoy_testkit::Timescale;

#[tokio::test]
async fn timescale_serves_hypertables() {
    let server = Timescale::start();
    assert_eq!(server.url(), format!("postgres://postgres:postgres@127.0.0.1:{}/postgres", server.port));
    let client = server.client().await;
    client.batch_execute("CREATE EXTENSION IF NOT EXISTS timescaledb").await.unwrap();
    let version: String = client
        .query_one("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'", &[])
        .await
        .unwrap()
        .get(0);
    assert!(version.starts_with("2."), "TimescaleDB {version}");
    client
        .batch_execute(
            "CREATE TABLE positions (vehicle TEXT NOT NULL, seq BIGINT NOT NULL, t TIMESTAMPTZ NOT NULL,
                 lat float8 NOT NULL, lon float8 NOT NULL, late BOOLEAN NOT NULL DEFAULT false,
                 PRIMARY KEY (vehicle, seq, t));
             INSERT INTO positions (vehicle, seq, t, lat, lon)
                 VALUES ('v0', 0, TIMESTAMPTZ '2025-01-01 00:00:00+00', 48.0, 2.0);
             SELECT create_hypertable('positions', by_range('t', INTERVAL '1 day'),
                 if_not_exists => TRUE, migrate_data => TRUE);",
        )
        .await
        .unwrap();

    // 20,000 sequence numbers make a Bind message of about 240 kB, read in several pieces: one
    // point every 12 s from 2025-01-01 00:00:12 to 2025-01-03 18:40, so three days, three chunks.
    let seqs: Vec<i64> = (1..=20_000).collect();
    let inserted = client
        .execute(
            "INSERT INTO positions (vehicle, seq, t, lat, lon)
             SELECT 'v1', s, TIMESTAMPTZ '2025-01-01 00:00:00+00' + s * INTERVAL '12 seconds', 48.0, 2.0
             FROM UNNEST($1::int8[]) AS s
             ON CONFLICT DO NOTHING",
            &[&seqs],
        )
        .await
        .unwrap();
    assert_eq!(inserted, 20_000);
    let chunks: i64 =
        client.query_one("SELECT count(*) FROM show_chunks('positions')", &[]).await.unwrap().get(0);
    assert_eq!(chunks, 3);
    drop(client);

    // One session at a time: the next one starts once the first has closed, and sees its work.
    let client = server.client().await;
    let rows: i64 = client.query_one("SELECT count(*) FROM positions", &[]).await.unwrap().get(0);
    assert_eq!(rows, 20_001);
    let ranges: Vec<String> = client
        .query(
            "SELECT to_char(range_start AT TIME ZONE 'UTC', 'YYYY-MM-DD')
             FROM timescaledb_information.chunks WHERE hypertable_name = 'positions' ORDER BY range_start",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(ranges, ["2025-01-01", "2025-01-02", "2025-01-03"]);
}
