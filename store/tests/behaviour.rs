//! One behaviour suite, run against both backends: the embedded SQLite file and a real
//! PostgreSQL server (a fresh database per test).

use chrono::{DateTime, Duration, TimeZone, Utc};
use convoy_core::{FixMode, Position, Role, VehicleId};
use convoy_store::{DeadLetter, IngestWrite, Store, StoreError, User, VehiclePositions, WriteOutcome};

/// A store of the given backend, kept alive with whatever it needs (the SQLite directory).
struct Fixture {
    store: Store,
    url: String,
    _dir: Option<tempfile::TempDir>,
}

async fn sqlite() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("convoy.db").display());
    Fixture { store: Store::open(&url).await.unwrap(), url, _dir: Some(dir) }
}

async fn postgres() -> Fixture {
    let url = convoy_testkit::fresh_postgres_database().await;
    Fixture { store: Store::open(&url).await.unwrap(), url, _dir: None }
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
        dead_letters: vec![],
    }
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

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[tokio::test] async fn $name() { super::$name(super::sqlite().await).await })*
        }
        mod on_postgres {
            $(#[tokio::test] async fn $name() { super::$name(super::postgres().await).await })*
        }
    };
}

both_backends!(
    a_redelivered_position_is_stored_once,
    the_latest_position_never_moves_back_in_fix_time,
    a_track_is_bounded_by_its_time_range,
    optional_fields_stay_absent,
    dead_letters_keep_their_raw_bytes,
    a_vehicle_is_registered_once,
    a_token_logs_its_user_in_until_it_expires,
    reopening_keeps_the_data_and_the_schema,
);

#[tokio::test]
async fn an_unknown_database_url_is_refused() {
    assert!(matches!(Store::open("mysql://x").await, Err(StoreError::BadUrl(_))));
}
