//! One behaviour suite, run against both backends: the embedded SQLite file, a real
//! PostgreSQL server (a fresh database per test), and TimescaleDB (a server per test, see
//! tests/timescale).

use chrono::{DateTime, Duration, TimeZone, Utc};
use convoy_core::plausibility::Implausible;
use convoy_core::{FixMode, Position, Role, VehicleId};
use convoy_store::{
    AgentStatus, DeadLetter, IngestWrite, LegalHold, Store, StoreError, StoredPosition, User,
    VehiclePositions, WriteOutcome,
};

/// A store of the given backend, kept alive with whatever it needs (the SQLite directory).
struct Fixture {
    store: Store,
    url: String,
    _dir: Option<tempfile::TempDir>,
    _timescale: Option<convoy_testkit::Timescale>,
}

async fn sqlite() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("convoy.db").display());
    Fixture { store: Store::open(&url).await.unwrap(), url, _dir: Some(dir), _timescale: None }
}

async fn postgres() -> Fixture {
    let url = convoy_testkit::fresh_postgres_database().await;
    Fixture { store: Store::open(&url).await.unwrap(), url, _dir: None, _timescale: None }
}

async fn timescale() -> Fixture {
    let server = tokio::task::spawn_blocking(convoy_testkit::Timescale::start).await.unwrap();
    // The test server serves one session at a time.
    let url = format!("{}?pool_max_size=1", server.url());
    Fixture { store: Store::open(&url).await.unwrap(), url, _dir: None, _timescale: Some(server) }
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 9, 15, 0).unwrap()
}

fn vehicle(id: &str) -> VehicleId {
    VehicleId::new(id).unwrap()
}

fn position(seq: u64, seconds: i64) -> Position {
    Position {
        seq,
        t: t0() + Duration::seconds(seconds),
        lat: 48.137154 + seq as f64 * 1e-5,
        lon: 11.576124,
        alt_m: Some(519.0),
        speed_mps: Some(12.4),
        course_deg: Some(87.5),
        fix: Some(FixMode::ThreeD),
        sats: Some(9),
        hdop: Some(0.9),
    }
}

fn write_of(id: &str, positions: Vec<Position>) -> IngestWrite {
    IngestWrite {
        received_at: Some(t0() + Duration::minutes(1)),
        positions: vec![VehiclePositions { vehicle: vehicle(id), positions }],
        ..Default::default()
    }
}

async fn stored_track(store: &Store, id: &str) -> Vec<StoredPosition> {
    let mut stream = store.track_stream(&vehicle(id), t0() - Duration::days(400), t0() + Duration::days(1));
    let mut track = Vec::new();
    while let Some(p) = stream.recv().await {
        track.push(p.unwrap());
    }
    track
}

async fn whole_track(store: &Store, id: &str) -> Vec<Position> {
    store.track(&vehicle(id), t0() - Duration::days(1), t0() + Duration::days(1)).await.unwrap()
}

async fn a_redelivered_position_is_stored_once(f: Fixture) {
    let write = write_of("truck-07", vec![position(1, 0), position(2, 1)]);
    assert_eq!(f.store.write_ingest(&write).await.unwrap(), WriteOutcome { inserted: 2, duplicates: 0 });
    let again = write_of("truck-07", vec![position(2, 1), position(3, 2), position(3, 2)]);
    assert_eq!(f.store.write_ingest(&again).await.unwrap(), WriteOutcome { inserted: 1, duplicates: 2 });
    let track = whole_track(&f.store, "truck-07").await;
    assert_eq!(track.iter().map(|p| p.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(track[0], position(1, 0), "every field comes back as written");
}

async fn the_latest_position_never_moves_back_in_fix_time(f: Fixture) {
    f.store.write_ingest(&write_of("truck-07", vec![position(10, 10), position(9, 9)])).await.unwrap();
    // A backlog from an outage arrives after the live fix.
    f.store.write_ingest(&write_of("truck-07", vec![position(5, 5), position(6, 6)])).await.unwrap();
    f.store.write_ingest(&write_of("escort-1", vec![position(1, 3)])).await.unwrap();
    let latest = f.store.latest_positions().await.unwrap();
    let summary: Vec<_> = latest.iter().map(|l| (l.vehicle.as_str(), l.position.seq)).collect();
    assert_eq!(summary, vec![("escort-1", 1), ("truck-07", 10)]);
    assert_eq!(latest[1].position, position(10, 10));
    assert_eq!(latest[1].received_at, t0() + Duration::minutes(1));
    // The late fixes are still in the track, in fix-time order.
    let seqs: Vec<_> = whole_track(&f.store, "truck-07").await.iter().map(|p| p.seq).collect();
    assert_eq!(seqs, vec![5, 6, 9, 10]);
}

async fn a_track_is_bounded_by_its_time_range(f: Fixture) {
    let positions = (0..10).map(|i| position(i, i as i64)).collect();
    f.store.write_ingest(&write_of("truck-07", positions)).await.unwrap();
    let from = t0() + Duration::seconds(3);
    let to = t0() + Duration::seconds(6);
    let part = f.store.track(&vehicle("truck-07"), from, to).await.unwrap();
    assert_eq!(part.iter().map(|p| p.seq).collect::<Vec<_>>(), vec![3, 4, 5]);
    assert!(whole_track(&f.store, "other").await.is_empty());
}

async fn optional_fields_stay_absent(f: Fixture) {
    let bare = Position {
        alt_m: None,
        speed_mps: None,
        course_deg: None,
        fix: None,
        sats: None,
        hdop: None,
        ..position(1, 0)
    };
    f.store.write_ingest(&write_of("truck-07", vec![bare.clone()])).await.unwrap();
    assert_eq!(whole_track(&f.store, "truck-07").await, vec![bare]);
}

async fn dead_letters_keep_their_raw_bytes(f: Fixture) {
    let dead = DeadLetter {
        received_at: t0(),
        topic: "convoy/v1/vehicles/truck-07/positions".into(),
        payload: vec![0, 159, 146, 150, b'{'],
        reason: "malformed".into(),
        detail: "payload is not a v1 position batch".into(),
    };
    let write =
        IngestWrite { dead_letters: vec![dead.clone()], ..write_of("truck-07", vec![position(1, 0)]) };
    f.store.write_ingest(&write).await.unwrap();
    assert_eq!(f.store.dead_letters(10).await.unwrap(), vec![dead]);
    assert_eq!(whole_track(&f.store, "truck-07").await.len(), 1);
}

async fn a_vehicle_is_registered_once(f: Fixture) {
    let id = vehicle("truck-07");
    assert!(!f.store.vehicle_registered(&id).await.unwrap());
    f.store.add_vehicle(&id, "hash-1").await.unwrap();
    assert!(matches!(f.store.add_vehicle(&id, "hash-2").await, Err(StoreError::AlreadyExists(_))));
    assert_eq!(f.store.vehicle_password_hash(&id).await.unwrap().as_deref(), Some("hash-1"));
    assert!(f.store.vehicle_registered(&id).await.unwrap());
    f.store.add_vehicle(&vehicle("escort-1"), "hash-3").await.unwrap();
    assert_eq!(f.store.vehicle_ids().await.unwrap(), vec![vehicle("escort-1"), id]);
}

async fn a_token_logs_its_user_in_until_it_expires(f: Fixture) {
    let user = User { name: "ana".into(), role: Role::Dispatcher, password_hash: "argon".into() };
    f.store.add_user(&user).await.unwrap();
    assert!(matches!(f.store.add_user(&user).await, Err(StoreError::AlreadyExists(_))));
    assert_eq!(f.store.user("ana").await.unwrap(), Some(user.clone()));
    assert_eq!(f.store.user("bob").await.unwrap(), None);
    f.store.add_token("tokenhash", "ana", t0() + Duration::hours(1)).await.unwrap();
    assert_eq!(f.store.token_user("tokenhash", t0()).await.unwrap(), Some(user));
    assert_eq!(f.store.token_user("tokenhash", t0() + Duration::hours(2)).await.unwrap(), None);
    assert_eq!(f.store.token_user("other", t0()).await.unwrap(), None);
}

async fn reopening_keeps_the_data_and_the_schema(f: Fixture) {
    f.store.write_ingest(&write_of("truck-07", vec![position(1, 0)])).await.unwrap();
    let reopened = Store::open(&f.url).await.unwrap();
    assert_eq!(whole_track(&reopened, "truck-07").await.len(), 1);
    reopened.ping().await.unwrap();
}

async fn a_backlog_is_stored_marked_late(f: Fixture) {
    f.store.write_ingest(&write_of("truck-07", vec![position(10, 10)])).await.unwrap();
    f.store.write_ingest(&write_of("truck-07", vec![position(5, 5), position(6, 6)])).await.unwrap();
    f.store.write_ingest(&write_of("truck-07", vec![position(11, 11)])).await.unwrap();
    let marks: Vec<_> =
        stored_track(&f.store, "truck-07").await.iter().map(|p| (p.position.seq, p.late)).collect();
    assert_eq!(marks, vec![(5, true), (6, true), (10, false), (11, false)]);
}

async fn an_implausible_fix_is_kept_raw_and_marked_but_never_becomes_the_live_position(f: Fixture) {
    // 0.05 degrees of latitude (about 5.5 km) in one second.
    let wild = Position { lat: position(2, 1).lat + 0.05, ..position(2, 1) };
    let write = write_of("truck-07", vec![position(1, 0), wild.clone(), position(3, 2)]);
    assert_eq!(f.store.write_ingest(&write).await.unwrap().inserted, 3);
    let track = stored_track(&f.store, "truck-07").await;
    assert_eq!(track[1].position, wild, "the raw values are kept");
    let marks: Vec<_> = track.iter().map(|p| p.implausible).collect();
    assert_eq!(marks, vec![None, Some(Implausible::TooFast), None]);
    // A wild fix as the newest one of a write does not become the live position either.
    let wild_last = Position { lat: position(4, 3).lat - 0.05, ..position(4, 3) };
    f.store.write_ingest(&write_of("truck-07", vec![wild_last])).await.unwrap();
    let latest = f.store.latest_positions().await.unwrap();
    assert_eq!(latest[0].position.seq, 3);
}

async fn a_fix_older_than_the_retention_is_marked(f: Fixture) {
    let write = IngestWrite {
        oldest_kept: Some(t0() + Duration::seconds(5)),
        ..write_of("truck-07", vec![position(1, 0), position(9, 9)])
    };
    f.store.write_ingest(&write).await.unwrap();
    let marks: Vec<_> = stored_track(&f.store, "truck-07").await.iter().map(|p| p.implausible).collect();
    assert_eq!(marks, vec![Some(Implausible::OlderThanRetention), None]);
}

async fn a_long_track_streams_whole_and_in_order(f: Fixture) {
    // More than two pages, written in reverse so the order comes from the query.
    let mut positions: Vec<_> = (0..4500).map(|i| position(i, i as i64)).collect();
    positions.reverse();
    for chunk in positions.chunks(1000) {
        f.store.write_ingest(&write_of("truck-07", chunk.to_vec())).await.unwrap();
    }
    let seqs: Vec<_> = stored_track(&f.store, "truck-07").await.iter().map(|p| p.position.seq).collect();
    assert_eq!(seqs, (0..4500).collect::<Vec<_>>());
    // Stopping early is fine: the reader goes away.
    let mut stream = f.store.track_stream(&vehicle("truck-07"), t0(), t0() + Duration::days(1));
    assert_eq!(stream.recv().await.unwrap().unwrap().position.seq, 0);
    drop(stream);
}

async fn the_latest_agent_status_is_kept(f: Fixture) {
    let status = |minute: i64, json: &str| AgentStatus {
        vehicle: vehicle("truck-07"),
        received_at: t0() + Duration::minutes(minute),
        status_json: json.into(),
    };
    let first = IngestWrite { statuses: vec![status(0, r#"{"state":"online"}"#)], ..Default::default() };
    f.store.write_ingest(&first).await.unwrap();
    let second = IngestWrite { statuses: vec![status(1, r#"{"state":"offline"}"#)], ..Default::default() };
    f.store.write_ingest(&second).await.unwrap();
    assert_eq!(f.store.agent_statuses().await.unwrap(), vec![status(1, r#"{"state":"offline"}"#)]);
}

/// Fixes on three days, 40, 20 and 0 days before t0; retention of 30 days at t0.
async fn write_three_days(store: &Store, id: &str) {
    let fixes = [-40, -20, 0]
        .iter()
        .enumerate()
        .map(|(i, days)| Position { t: t0() + Duration::days(*days), ..position(i as u64, 0) })
        .collect();
    store.write_ingest(&write_of(id, fixes)).await.unwrap();
}

async fn retention_deletes_old_positions_and_records_the_purge(f: Fixture) {
    write_three_days(&f.store, "truck-07").await;
    let dead = DeadLetter {
        received_at: t0() - Duration::days(31),
        topic: "t".into(),
        payload: vec![],
        reason: "malformed".into(),
        detail: String::new(),
    };
    f.store.write_ingest(&IngestWrite { dead_letters: vec![dead], ..Default::default() }).await.unwrap();
    let cutoff = t0() - Duration::days(30);
    let report = f.store.purge(cutoff, t0()).await.unwrap();
    assert_eq!((report.positions_deleted, report.positions_held, report.dead_letters_deleted), (1, 0, 1));
    let days: Vec<_> = stored_track(&f.store, "truck-07").await.iter().map(|p| p.position.seq).collect();
    assert_eq!(days, vec![1, 2]);
    assert_eq!(f.store.purges(10).await.unwrap(), vec![report]);
}

async fn a_legal_hold_keeps_its_positions_until_released(f: Fixture) {
    write_three_days(&f.store, "truck-07").await;
    write_three_days(&f.store, "escort-1").await;
    let hold = LegalHold {
        vehicle: Some(vehicle("truck-07")),
        move_id: Some("move-1".into()),
        from: t0() - Duration::days(41),
        to: t0() - Duration::days(39),
        reason: "insurance claim".into(),
        created_by: "ana".into(),
    };
    let id = f.store.add_legal_hold(&hold).await.unwrap();
    let cutoff = t0() - Duration::days(30);
    let report = f.store.purge(cutoff, t0()).await.unwrap();
    assert_eq!((report.positions_deleted, report.positions_held), (1, 1), "{report:?}");
    assert_eq!(stored_track(&f.store, "truck-07").await.len(), 3);
    assert_eq!(stored_track(&f.store, "escort-1").await.len(), 2);

    assert!(f.store.release_legal_hold(id, t0()).await.unwrap());
    assert!(!f.store.release_legal_hold(id, t0()).await.unwrap(), "released once");
    let report = f.store.purge(cutoff, t0()).await.unwrap();
    assert_eq!((report.positions_deleted, report.positions_held), (1, 0));
    assert_eq!(stored_track(&f.store, "truck-07").await.len(), 2);
    assert_eq!(f.store.purges(10).await.unwrap().len(), 2);
}

macro_rules! suite_on {
    ($backend:ident, $fixture:ident: $($name:ident),* $(,)?) => {
        mod $backend {
            $(#[tokio::test] async fn $name() { super::$name(super::$fixture().await).await })*
        }
    };
}

macro_rules! every_backend {
    ($($name:ident),* $(,)?) => {
        suite_on!(on_sqlite, sqlite: $($name),*);
        suite_on!(on_postgres, postgres: $($name),*);
        suite_on!(on_timescale, timescale: $($name),*);
    };
}

// Opening a second store while the first holds its connection needs more than the one
// session the TimescaleDB test server serves.
suite_on!(on_sqlite_reopened, sqlite: reopening_keeps_the_data_and_the_schema);
suite_on!(on_postgres_reopened, postgres: reopening_keeps_the_data_and_the_schema);

every_backend!(
    a_redelivered_position_is_stored_once,
    the_latest_position_never_moves_back_in_fix_time,
    a_track_is_bounded_by_its_time_range,
    optional_fields_stay_absent,
    dead_letters_keep_their_raw_bytes,
    a_vehicle_is_registered_once,
    a_token_logs_its_user_in_until_it_expires,
    a_backlog_is_stored_marked_late,
    an_implausible_fix_is_kept_raw_and_marked_but_never_becomes_the_live_position,
    a_fix_older_than_the_retention_is_marked,
    a_long_track_streams_whole_and_in_order,
    the_latest_agent_status_is_kept,
    retention_deletes_old_positions_and_records_the_purge,
    a_legal_hold_keeps_its_positions_until_released,
);

#[tokio::test]
async fn an_unknown_database_url_is_refused() {
    assert!(matches!(Store::open("mysql://x").await, Err(StoreError::BadUrl(_))));
}
