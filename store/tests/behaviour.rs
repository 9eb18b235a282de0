//! One behaviour suite, run against both backends: the embedded SQLite file, a real
//! PostgreSQL server (a fresh database per test), and TimescaleDB (a server per test, see
//! tests/timescale).

use chrono::{DateTime, Duration, TimeZone, Utc};
use convoy_core::alert::{AlertKind, AlertState};
use convoy_core::plausibility::Implausible;
use convoy_core::{FixMode, Position, Role, VehicleId};
use convoy_store::{
    AgentStatus, AlertChange, AlertFilter, AlertHistoryQuery, AlertKey, AlertRecord, AlertTransition,
    AuditBreak, AuditFilter, AuditHead, DeadLetter, Delivery, Device, DeviceKind, HeldPositions, HoldRecord,
    HoldRelease, IngestWrite, LegalHold, MoveEnd, MoveRecord, MoveState, NewAuditEntry, Person, PersonChange,
    PersonChanged, ReleaseOutcome, Store, StoreError, StoredPosition, User, VehicleLogin, VehiclePositions,
    GENESIS_HASH,
};
use serde_json::json;

#[path = "behaviour/plan_versions.rs"]
mod plan_versions;
use plan_versions::{
    a_stale_edit_or_one_of_an_ended_move_changes_nothing, concurrent_edits_of_one_version_store_exactly_one,
    each_plan_edit_is_a_new_version_and_the_newest_is_the_moves_plan,
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
        accuracy_m: None,
    }
}

fn write_of(id: &str, positions: Vec<Position>) -> IngestWrite {
    IngestWrite {
        received_at: Some(t0() + Duration::minutes(1)),
        positions: vec![VehiclePositions { vehicle: vehicle(id), positions, source: None }],
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
    let outcome = f.store.write_ingest(&write).await.unwrap();
    assert_eq!((outcome.inserted, outcome.duplicates), (2, 0));
    let again = write_of("truck-07", vec![position(2, 1), position(3, 2), position(3, 2)]);
    let outcome = f.store.write_ingest(&again).await.unwrap();
    assert_eq!((outcome.inserted, outcome.duplicates), (1, 2));
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
        accuracy_m: None,
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

async fn a_disabled_vehicle_keeps_its_password_and_positions_until_enabled(f: Fixture) {
    let id = vehicle("truck-07");
    assert_eq!(f.store.set_vehicle_disabled(&id, true).await.unwrap(), None, "no such vehicle");
    f.store.add_vehicle(&id, "hash-1").await.unwrap();
    f.store.add_vehicle(&vehicle("escort-1"), "hash-2").await.unwrap();
    f.store.write_ingest(&write_of("truck-07", vec![position(1, 0)])).await.unwrap();
    let login = |disabled| Some(VehicleLogin { password_hash: "hash-1".into(), disabled });
    assert_eq!(f.store.vehicle_login(&id).await.unwrap(), login(false), "enabled when registered");
    assert!(f.store.disabled_vehicles().await.unwrap().is_empty());
    assert_eq!(f.store.set_vehicle_disabled(&id, true).await.unwrap(), Some(false), "was enabled");
    assert_eq!(f.store.vehicle_login(&id).await.unwrap(), login(true));
    assert_eq!(f.store.disabled_vehicles().await.unwrap(), vec![id.clone()], "only that one");
    assert_eq!(f.store.set_vehicle_disabled(&id, true).await.unwrap(), Some(true), "again: no change");
    assert_eq!(whole_track(&f.store, "truck-07").await.len(), 1, "its positions stay");
    assert_eq!(f.store.vehicle_ids().await.unwrap().len(), 2, "still registered");
    assert_eq!(f.store.set_vehicle_disabled(&id, false).await.unwrap(), Some(true), "was disabled");
    assert_eq!(f.store.vehicle_login(&id).await.unwrap(), login(false));
    assert!(f.store.disabled_vehicles().await.unwrap().is_empty());
    assert_eq!(f.store.vehicle_login(&vehicle("nothing-1")).await.unwrap(), None);
}

async fn a_vehicles_password_hash_is_replaced_only_if_it_is_registered(f: Fixture) {
    let id = vehicle("truck-07");
    assert!(!f.store.set_vehicle_password_hash(&id, "hash-2").await.unwrap(), "no such vehicle");
    assert!(f.store.vehicle_password_hash(&id).await.unwrap().is_none(), "and none is made");
    f.store.add_vehicle(&id, "hash-1").await.unwrap();
    f.store.add_vehicle(&vehicle("escort-1"), "hash-3").await.unwrap();
    assert!(f.store.set_vehicle_password_hash(&id, "hash-2").await.unwrap());
    assert_eq!(f.store.vehicle_password_hash(&id).await.unwrap().as_deref(), Some("hash-2"));
    assert_eq!(
        f.store.vehicle_password_hash(&vehicle("escort-1")).await.unwrap().as_deref(),
        Some("hash-3"),
        "another vehicle's stays"
    );
}

async fn a_phones_fixes_keep_their_accuracy_and_source(f: Fixture) {
    let from_phone = Position { accuracy_m: Some(35.5), fix: None, sats: None, hdop: None, ..position(1, 0) };
    let write = IngestWrite {
        positions: vec![VehiclePositions {
            vehicle: vehicle("escort-1"),
            positions: vec![from_phone.clone()],
            source: Some("owntracks:anna-phone".into()),
        }],
        ..IngestWrite::default()
    };
    f.store.write_ingest(&write).await.unwrap();
    f.store.write_ingest(&write_of("escort-1", vec![position(2, 1)])).await.unwrap();
    let stored = stored_track(&f.store, "escort-1").await;
    assert_eq!(stored[0].position, from_phone);
    assert_eq!(stored[0].source.as_deref(), Some("owntracks:anna-phone"));
    assert_eq!(stored[1].source, None, "the agent's fixes have no source");
    let latest = f.store.latest_positions().await.unwrap();
    assert_eq!(latest[0].position, position(2, 1));
    // A phone's fix as the latest keeps its accuracy there too.
    let newer = Position { seq: 9, accuracy_m: Some(12.0), ..position(9, 5) };
    let write = IngestWrite {
        positions: vec![VehiclePositions {
            vehicle: vehicle("escort-1"),
            positions: vec![newer.clone()],
            source: Some("traccar:48241179".into()),
        }],
        ..IngestWrite::default()
    };
    f.store.write_ingest(&write).await.unwrap();
    assert_eq!(f.store.latest_positions().await.unwrap()[0].position, newer);
}

async fn a_phone_is_registered_once_per_kind_and_name(f: Fixture) {
    f.store.add_vehicle(&vehicle("escort-1"), "hash").await.unwrap();
    let phone = Device {
        kind: DeviceKind::OwnTracks,
        name: "anna-phone".into(),
        owntracks_device: Some("pixel".into()),
        vehicle: vehicle("escort-1"),
        person: None,
        secret_hash: "hmac-sha256$00$11".into(),
        created_at: t0(),
    };
    f.store.add_device(&phone).await.unwrap();
    assert!(matches!(f.store.add_device(&phone).await, Err(StoreError::AlreadyExists(_))));
    let traccar = Device {
        kind: DeviceKind::Traccar,
        name: "anna-phone".into(),
        owntracks_device: None,
        ..phone.clone()
    };
    f.store.add_device(&traccar).await.unwrap();
    assert_eq!(f.store.device(DeviceKind::OwnTracks, "anna-phone").await.unwrap(), Some(phone.clone()));
    assert_eq!(f.store.device(DeviceKind::OwnTracks, "nobody").await.unwrap(), None);
    assert_eq!(f.store.devices().await.unwrap(), vec![phone.clone(), traccar.clone()]);
    assert_eq!(phone.source(), "owntracks:anna-phone");
    assert!(f.store.remove_device(DeviceKind::Traccar, "anna-phone").await.unwrap());
    assert!(!f.store.remove_device(DeviceKind::Traccar, "anna-phone").await.unwrap());
    assert_eq!(f.store.devices().await.unwrap(), vec![phone]);
}

async fn a_token_logs_its_user_in_until_it_expires(f: Fixture) {
    let user =
        User { name: "ana".into(), role: Role::Dispatcher, password_hash: "argon".into(), disabled: false };
    f.store.add_user(&user).await.unwrap();
    assert!(matches!(f.store.add_user(&user).await, Err(StoreError::AlreadyExists(_))));
    assert_eq!(f.store.user("ana").await.unwrap(), Some(user.clone()));
    assert_eq!(f.store.user("bob").await.unwrap(), None);
    f.store.add_token("tokenhash", "ana", t0() + Duration::hours(1)).await.unwrap();
    assert_eq!(f.store.token_user("tokenhash", t0()).await.unwrap(), Some(user));
    assert_eq!(f.store.token_user("tokenhash", t0() + Duration::hours(2)).await.unwrap(), None);
    assert_eq!(f.store.token_user("other", t0()).await.unwrap(), None);
}

fn person(name: &str, role: Role) -> User {
    User { name: name.into(), role, password_hash: format!("hash-of-{name}"), disabled: false }
}

async fn a_disabled_persons_tokens_end_and_no_token_of_theirs_is_valid(f: Fixture) {
    for (name, role) in [("ana", Role::Admin), ("bob", Role::Admin), ("eve", Role::Escort)] {
        f.store.add_user(&person(name, role)).await.unwrap();
    }
    let later = t0() + Duration::hours(1);
    f.store.add_token("eve-1", "eve", later).await.unwrap();
    f.store.add_token("eve-2", "eve", later).await.unwrap();
    let outcome = f.store.change_person("eve", &PersonChange::Disabled(true)).await.unwrap();
    assert_eq!(outcome, PersonChanged::Changed { before: person("eve", Role::Escort), revoked: 2 });
    assert_eq!(f.store.token_user("eve-1", t0()).await.unwrap(), None);
    assert!(f.store.user("eve").await.unwrap().unwrap().disabled, "kept, disabled");
    // A token added anyway (a login racing the disabling) is not valid while disabled.
    f.store.add_token("eve-3", "eve", later).await.unwrap();
    assert_eq!(f.store.token_user("eve-3", t0()).await.unwrap(), None);
    let outcome = f.store.change_person("eve", &PersonChange::Disabled(false)).await.unwrap();
    assert!(matches!(outcome, PersonChanged::Changed { revoked: 0, .. }), "{outcome:?}");
    assert_eq!(f.store.token_user("eve-3", t0()).await.unwrap().map(|u| u.name), Some("eve".into()));
    assert_eq!(
        f.store.change_person("nobody", &PersonChange::Disabled(true)).await.unwrap(),
        PersonChanged::NoSuchPerson
    );
}

async fn the_last_enabled_admin_cannot_be_disabled_or_demoted(f: Fixture) {
    f.store.add_user(&person("ana", Role::Admin)).await.unwrap();
    f.store.add_user(&person("bob", Role::Admin)).await.unwrap();
    let demote = PersonChange::Role(Role::Auditor);
    assert!(matches!(f.store.change_person("bob", &demote).await.unwrap(), PersonChanged::Changed { .. }));
    assert_eq!(f.store.user("bob").await.unwrap().unwrap().role, Role::Auditor);
    assert_eq!(f.store.change_person("ana", &demote).await.unwrap(), PersonChanged::LastAdmin);
    assert_eq!(
        f.store.change_person("ana", &PersonChange::Disabled(true)).await.unwrap(),
        PersonChanged::LastAdmin
    );
    assert_eq!(f.store.user("ana").await.unwrap(), Some(person("ana", Role::Admin)), "nothing changed");
    // A disabled admin is no admin to count: bob made admin again but disabled leaves ana last.
    f.store.change_person("bob", &PersonChange::Role(Role::Admin)).await.unwrap();
    f.store.change_person("bob", &PersonChange::Disabled(true)).await.unwrap();
    assert_eq!(f.store.change_person("ana", &demote).await.unwrap(), PersonChanged::LastAdmin);
    // Changing the last admin's password, or keeping them admin, is no removal.
    let same = PersonChange::Role(Role::Admin);
    assert!(matches!(f.store.change_person("ana", &same).await.unwrap(), PersonChanged::Changed { .. }));
    let password = PersonChange::Password { hash: "new".into(), keep_token: None };
    assert!(matches!(f.store.change_person("ana", &password).await.unwrap(), PersonChanged::Changed { .. }));
}

async fn a_new_password_ends_every_token_but_the_one_kept(f: Fixture) {
    f.store.add_user(&person("ana", Role::Dispatcher)).await.unwrap();
    let later = t0() + Duration::hours(1);
    for token in ["laptop", "phone", "tablet"] {
        f.store.add_token(token, "ana", later).await.unwrap();
    }
    let change = PersonChange::Password { hash: "new-hash".into(), keep_token: Some("laptop".into()) };
    let outcome = f.store.change_person("ana", &change).await.unwrap();
    assert_eq!(outcome, PersonChanged::Changed { before: person("ana", Role::Dispatcher), revoked: 2 });
    assert_eq!(f.store.user("ana").await.unwrap().unwrap().password_hash, "new-hash");
    assert!(f.store.token_user("laptop", t0()).await.unwrap().is_some());
    assert_eq!(f.store.token_user("phone", t0()).await.unwrap(), None);
    let reset = PersonChange::Password { hash: "reset-hash".into(), keep_token: None };
    assert!(matches!(
        f.store.change_person("ana", &reset).await.unwrap(),
        PersonChanged::Changed { revoked: 1, .. }
    ));
    assert_eq!(f.store.token_user("laptop", t0()).await.unwrap(), None);
}

async fn people_are_listed_with_their_state_and_last_login(f: Fixture) {
    let before = Utc::now() - Duration::seconds(5);
    f.store.add_user(&person("bob", Role::Escort)).await.unwrap();
    f.store.add_user(&person("ana", Role::Admin)).await.unwrap();
    f.store.change_person("bob", &PersonChange::Disabled(true)).await.unwrap();
    f.store.record_login("ana", t0()).await.unwrap();
    let people = f.store.people().await.unwrap();
    let names: Vec<_> =
        people.iter().map(|p| (p.name.as_str(), p.role, p.disabled, p.last_login_at)).collect();
    assert_eq!(names, [("ana", Role::Admin, false, Some(t0())), ("bob", Role::Escort, true, None)]);
    assert!(people.iter().all(|p: &Person| p.created_at >= before && p.created_at <= Utc::now()));
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
        vehicles: Some(vec![vehicle("truck-07")]),
        move_id: Some("move-1".into()),
        from: t0() - Duration::days(41),
        to: t0() - Duration::days(39),
        reason: "insurance claim".into(),
        reference: "CLAIM-42".into(),
        created_by: "ana".into(),
    };
    let id = f.store.add_legal_hold(&hold, t0()).await.unwrap();
    let cutoff = t0() - Duration::days(30);
    let report = f.store.purge(cutoff, t0()).await.unwrap();
    assert_eq!((report.positions_deleted, report.positions_held), (1, 1), "{report:?}");
    assert_eq!(report.held_by, vec![HeldPositions { hold: id, positions: 1 }]);
    assert_eq!(stored_track(&f.store, "truck-07").await.len(), 3);
    assert_eq!(stored_track(&f.store, "escort-1").await.len(), 2);

    let ReleaseOutcome::Released(released) =
        f.store.release_legal_hold(id, "bob", "claim settled", t0()).await.unwrap()
    else {
        panic!("not released");
    };
    assert_eq!(
        released.release,
        Some(HoldRelease { at: t0(), by: "bob".into(), reason: "claim settled".into() })
    );
    let again = f.store.release_legal_hold(id, "carl", "again", t0() + Duration::hours(1)).await.unwrap();
    assert_eq!(again, ReleaseOutcome::AlreadyReleased(released), "released once, by the first");
    assert_eq!(
        f.store.release_legal_hold(id + 100, "bob", "x", t0()).await.unwrap(),
        ReleaseOutcome::NoSuchHold
    );
    let report = f.store.purge(cutoff, t0()).await.unwrap();
    assert_eq!((report.positions_deleted, report.positions_held), (1, 0));
    assert!(report.held_by.is_empty());
    assert_eq!(stored_track(&f.store, "truck-07").await.len(), 2);
    let purges = f.store.purges(10).await.unwrap();
    assert_eq!(purges.len(), 2);
    assert_eq!(purges[1].held_by, vec![HeldPositions { hold: id, positions: 1 }], "the record keeps it");
}

async fn holds_are_listed_with_who_placed_and_released_them(f: Fixture) {
    let on_move = LegalHold {
        vehicles: Some(vec![vehicle("truck-07"), vehicle("escort-1")]),
        move_id: Some("move-1".into()),
        from: t0() - Duration::days(2),
        to: t0(),
        reason: "accident inquiry".into(),
        reference: String::new(),
        created_by: "ana".into(),
    };
    let everyone = LegalHold { vehicles: None, move_id: None, reference: "CASE-7".into(), ..on_move.clone() };
    let first = f.store.add_legal_hold(&on_move, t0()).await.unwrap();
    let second = f.store.add_legal_hold(&everyone, t0() + Duration::minutes(1)).await.unwrap();
    f.store.release_legal_hold(first, "bob", "inquiry closed", t0() + Duration::hours(1)).await.unwrap();
    let holds = f.store.legal_holds().await.unwrap();
    let expected_first = HoldRecord {
        id: first,
        hold: LegalHold { vehicles: Some(vec![vehicle("escort-1"), vehicle("truck-07")]), ..on_move },
        created_at: t0(),
        release: Some(HoldRelease {
            at: t0() + Duration::hours(1),
            by: "bob".into(),
            reason: "inquiry closed".into(),
        }),
    };
    let expected_second =
        HoldRecord { id: second, hold: everyone, created_at: t0() + Duration::minutes(1), release: None };
    assert_eq!(holds, vec![expected_second.clone(), expected_first], "newest first");
    assert_eq!(f.store.legal_hold(second).await.unwrap(), Some(expected_second));
}

/// A hold on every vehicle keeps every vehicle's positions; a hold on a move's vehicles keeps
/// only theirs, and each hold's share is in the purge's record.
async fn a_purge_records_which_hold_kept_what(f: Fixture) {
    for id in ["truck-07", "escort-1", "other-9"] {
        write_three_days(&f.store, id).await;
    }
    let range = (t0() - Duration::days(41), t0() - Duration::days(39));
    let on_move = LegalHold {
        vehicles: Some(vec![vehicle("truck-07"), vehicle("escort-1")]),
        move_id: Some("move-1".into()),
        from: range.0,
        to: range.1,
        reason: "accident inquiry".into(),
        reference: "INQ-1".into(),
        created_by: "ana".into(),
    };
    let move_hold = f.store.add_legal_hold(&on_move, t0()).await.unwrap();
    let cutoff = t0() - Duration::days(30);
    let report = f.store.purge(cutoff, t0()).await.unwrap();
    assert_eq!((report.positions_deleted, report.positions_held), (1, 2), "{report:?}");
    assert_eq!(report.held_by, vec![HeldPositions { hold: move_hold, positions: 2 }]);
    assert_eq!(stored_track(&f.store, "other-9").await.len(), 2);

    write_three_days(&f.store, "late-3").await;
    let all = LegalHold { vehicles: None, move_id: None, ..on_move };
    let all_hold = f.store.add_legal_hold(&all, t0()).await.unwrap();
    let report = f.store.purge(cutoff, t0()).await.unwrap();
    assert_eq!((report.positions_deleted, report.positions_held), (0, 3), "{report:?}");
    assert_eq!(
        report.held_by,
        vec![HeldPositions { hold: move_hold, positions: 2 }, HeldPositions { hold: all_hold, positions: 3 }]
    );
    assert_eq!(stored_track(&f.store, "late-3").await.len(), 3);
}

async fn fresh_positions_are_the_clean_fixes_of_a_write_in_its_order(f: Fixture) {
    f.store.write_ingest(&write_of("truck-07", vec![position(10, 10)])).await.unwrap();
    // 0.05 degrees of latitude (about 5.5 km) in one second.
    let wild = Position { lat: position(12, 12).lat + 0.05, ..position(12, 12) };
    let batch = |id: &str, positions: Vec<Position>| VehiclePositions {
        vehicle: vehicle(id),
        positions,
        source: None,
    };
    let write = IngestWrite {
        received_at: Some(t0() + Duration::minutes(2)),
        oldest_kept: Some(t0() - Duration::seconds(50)),
        positions: vec![
            batch("truck-07", vec![position(5, 5), position(11, 11)]),
            batch("escort-1", vec![position(0, -100), position(1, 3)]),
            batch("truck-07", vec![wild, position(13, 13)]),
        ],
        ..Default::default()
    };
    let outcome = f.store.write_ingest(&write).await.unwrap();
    assert_eq!(outcome.inserted, 6);
    let fresh: Vec<_> = outcome.fresh.iter().map(|(v, p)| (v.as_str(), p.seq)).collect();
    // Not seq 5 (late), escort's seq 0 (older than the retention) nor seq 12 (too fast).
    assert_eq!(fresh, vec![("truck-07", 11), ("escort-1", 1), ("truck-07", 13)]);
    assert_eq!(outcome.fresh[0].1, position(11, 11), "the whole fix");
    assert_eq!(outcome.received_at, t0() + Duration::minutes(2));

    // Without a stamp in the write, the outcome tells the one the store used, as stored.
    let unstamped = IngestWrite { received_at: None, ..write_of("bus-3", vec![position(1, 0)]) };
    let outcome = f.store.write_ingest(&unstamped).await.unwrap();
    assert_eq!(stored_track(&f.store, "bus-3").await[0].received_at, outcome.received_at);
    assert_eq!(outcome.fresh, vec![(vehicle("bus-3"), position(1, 0))]);
}

async fn the_status_history_keeps_every_report_until_retention(f: Fixture) {
    let status = |id: &str, minutes: i64, json: &str| AgentStatus {
        vehicle: vehicle(id),
        received_at: t0() + Duration::minutes(minutes),
        status_json: json.into(),
    };
    let old = status("truck-07", -40 * 24 * 60, r#"{"state":"online","spool":0}"#);
    f.store.write_ingest(&IngestWrite { statuses: vec![old.clone()], ..Default::default() }).await.unwrap();
    let (online, offline) =
        (status("truck-07", 0, r#"{"state":"online"}"#), status("truck-07", 1, r#"{"state":"offline"}"#));
    let other = status("escort-1", 0, r#"{"state":"online"}"#);
    // A status beside positions, in the same write.
    let write = IngestWrite {
        statuses: vec![offline.clone(), other.clone(), online.clone()],
        ..write_of("truck-07", vec![position(1, 0)])
    };
    f.store.write_ingest(&write).await.unwrap();

    let truck = vehicle("truck-07");
    let history = |from: i64, to: i64| {
        f.store.status_history(&truck, t0() + Duration::days(from), t0() + Duration::days(to))
    };
    assert_eq!(history(-50, 1).await.unwrap(), vec![old.clone(), online.clone(), offline.clone()]);
    assert_eq!(history(-1, 1).await.unwrap(), vec![online.clone(), offline.clone()]);
    assert_eq!(
        f.store.status_history(&vehicle("truck-07"), t0(), t0() + Duration::minutes(1)).await.unwrap(),
        vec![online.clone()],
        "[from, to)"
    );
    assert_eq!(
        f.store.status_history(&vehicle("escort-1"), t0(), t0() + Duration::days(1)).await.unwrap(),
        vec![other.clone()]
    );
    // The latest table still holds one status per vehicle.
    assert_eq!(f.store.agent_statuses().await.unwrap().len(), 2);

    f.store.purge(t0() - Duration::days(30), t0()).await.unwrap();
    assert_eq!(history(-50, 1).await.unwrap(), vec![online, offline]);
}

async fn the_newest_statuses_come_newest_first_up_to_a_limit(f: Fixture) {
    let status = |id: &str, minutes: i64| AgentStatus {
        vehicle: vehicle(id),
        received_at: t0() + Duration::minutes(minutes),
        status_json: format!(r#"{{"state":"online","uptime_s":{minutes}}}"#),
    };
    let truck: Vec<AgentStatus> = (0..5).map(|m| status("truck-07", m)).collect();
    let write =
        IngestWrite { statuses: [truck.clone(), vec![status("escort-1", 2)]].concat(), ..Default::default() };
    f.store.write_ingest(&write).await.unwrap();

    let truck_07 = vehicle("truck-07");
    let newest = |from: i64, to: i64, limit: u32| {
        f.store.newest_statuses(
            &truck_07,
            t0() + Duration::minutes(from),
            t0() + Duration::minutes(to),
            limit,
        )
    };
    let reversed: Vec<AgentStatus> = truck.iter().rev().cloned().collect();
    assert_eq!(newest(0, 60, 100).await.unwrap(), reversed);
    assert_eq!(newest(0, 60, 2).await.unwrap(), reversed[..2].to_vec(), "the newest two");
    assert_eq!(newest(1, 3, 100).await.unwrap(), vec![truck[2].clone(), truck[1].clone()], "[from, to)");
    assert!(newest(10, 60, 100).await.unwrap().is_empty());
    assert!(f
        .store
        .newest_statuses(&vehicle("bus-9"), t0(), t0() + Duration::hours(1), 100)
        .await
        .unwrap()
        .is_empty());
}

fn a_move(id: &str, minutes: i64) -> MoveRecord {
    MoveRecord {
        id: id.into(),
        name: format!("Move {id}"),
        plan: json!({"vehicles": ["truck-07", "escort-1"], "corridor_m": 150.5, "zones": [{"name": "depot"}]}),
        created_at: t0() + Duration::minutes(minutes),
        created_by: "ana".into(),
        version: 1,
        end: None,
    }
}

async fn moves_are_kept_by_id_and_listed_by_creation(f: Fixture) {
    assert_eq!(f.store.moves().await.unwrap(), vec![]);
    let (later, earlier) = (a_move("m-1", 10), a_move("m-2", 5));
    f.store.add_move(&later).await.unwrap();
    f.store.add_move(&earlier).await.unwrap();
    let taken = MoveRecord { name: "another".into(), ..a_move("m-1", 20) };
    assert!(matches!(f.store.add_move(&taken).await, Err(StoreError::AlreadyExists(_))));
    assert_eq!(f.store.move_record("m-1").await.unwrap(), Some(later.clone()), "every field as added");
    assert_eq!(f.store.move_record("m-3").await.unwrap(), None);
    assert_eq!(f.store.move_ids().await.unwrap(), vec!["m-2".to_string(), "m-1".to_string()]);
    assert_eq!(f.store.moves().await.unwrap(), vec![earlier, later]);

    // Their crews and ends, read without the plans.
    let windowed = MoveRecord {
        plan: json!({"vehicles": ["truck-09"], "window": {"from": "2026-11-28T08:00:00.000Z", "to": "2026-11-28T18:30:00.000Z"}}),
        ..a_move("m-3", 30)
    };
    f.store.add_move(&windowed).await.unwrap();
    let crews = f.store.move_crews().await.unwrap();
    let summary: Vec<_> =
        crews.iter().map(|c| (c.id.as_str(), c.created_at, c.vehicles.clone(), c.ends_at)).collect();
    let end = "2026-11-28T18:30:00Z".parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    assert_eq!(
        summary,
        vec![
            ("m-2", t0() + Duration::minutes(5), vec![vehicle("truck-07"), vehicle("escort-1")], None),
            ("m-1", t0() + Duration::minutes(10), vec![vehicle("truck-07"), vehicle("escort-1")], None),
            ("m-3", t0() + Duration::minutes(30), vec![vehicle("truck-09")], Some(end)),
        ]
    );
    assert!(crews[2].has_ended(end + Duration::milliseconds(1)) && !crews[2].has_ended(end));
    assert!(!crews[0].has_ended(end + Duration::days(1000)), "no window: never ends");
}

async fn a_move_is_ended_or_cancelled_once_and_keeps_who_and_why(f: Fixture) {
    let windowed = |id: &str| MoveRecord {
        plan: json!({"vehicles": ["truck-07"], "window": {"from": "2026-11-28T10:00:00.000Z", "to": "2026-11-28T18:00:00.000Z"}}),
        ..a_move(id, 0)
    };
    let (running, planned) = (windowed("m-run"), windowed("m-plan"));
    f.store.add_move(&running).await.unwrap();
    f.store.add_move(&planned).await.unwrap();
    let at = |hour: u32| Utc.with_ymd_and_hms(2026, 11, 28, hour, 0, 0).unwrap();
    assert_eq!(running.state_at(at(9)), MoveState::Planned);
    assert_eq!(running.state_at(at(11)), MoveState::Running);

    let ended = MoveEnd { at: at(12), by: "ana".into(), reason: "delivered early".into(), cancelled: false };
    assert!(f.store.end_move("m-run", &ended).await.unwrap());
    let again = MoveEnd { at: at(13), by: "bob".into(), reason: "again".into(), cancelled: true };
    assert!(!f.store.end_move("m-run", &again).await.unwrap(), "the first end stands");
    assert!(!f.store.end_move("m-none", &ended).await.unwrap(), "unknown move");
    let cancelled =
        MoveEnd { at: at(9), by: "bob".into(), reason: "client postponed".into(), cancelled: true };
    assert!(f.store.end_move("m-plan", &cancelled).await.unwrap());

    let record = f.store.move_record("m-run").await.unwrap().unwrap();
    assert_eq!(record, MoveRecord { end: Some(ended.clone()), ..running });
    assert_eq!(record.state_at(at(12)), MoveState::Ended);
    assert_eq!(record.state_at(at(11)), MoveState::Running, "asked before the end");
    // Both were created at once: listed by id.
    let listed = f.store.moves().await.unwrap();
    assert_eq!(listed.iter().map(|m| m.end.clone()).collect::<Vec<_>>(), vec![Some(cancelled), Some(ended)]);
    assert_eq!(listed[0].state_at(at(11)), MoveState::Cancelled);

    // Crews (what phones' tracking and agents' windows follow) stop at a person's end.
    let crews = f.store.move_crews().await.unwrap();
    let (plan, run) = (&crews[0], &crews[1]);
    assert_eq!((run.ended_at, run.cancelled, run.end()), (Some(at(12)), false, Some(at(12))));
    assert!(run.is_running_at(at(12) - Duration::seconds(1)) && !run.is_running_at(at(12)));
    assert!(run.has_ended(at(12)) && !run.has_ended(at(11)));
    assert_eq!((plan.cancelled, plan.state_at(at(11))), (true, MoveState::Cancelled));
    assert!(!plan.is_running_at(at(11)), "a cancelled move never runs");
}

fn an_alert(id: &str, move_id: &str, vehicle_id: &str, seconds: i64) -> AlertRecord {
    AlertRecord {
        id: id.into(),
        move_id: move_id.into(),
        vehicle: vehicle(vehicle_id),
        kind: AlertKind::ZoneEnter,
        zone: Some("school".into()),
        state: AlertState::Open,
        opened_t: t0() + Duration::seconds(seconds),
        lat: Some(48.137154),
        lon: Some(11.576124),
        detail: json!({"since": "2026-11-28T09:14:32.000Z", "distance_m": 12.25}),
        late: false,
        acknowledged_t: None,
        acknowledged_by: None,
        note: None,
        resolved_t: None,
        resolved_by: None,
        cleared_t: None,
        cleared_detail: None,
    }
}

fn transition(id: &str, state: AlertState, seconds: i64, by: &str, note: Option<&str>) -> AlertTransition {
    AlertTransition {
        alert_id: id.into(),
        state,
        at: t0() + Duration::seconds(seconds),
        by: by.into(),
        note: note.map(str::to_string),
    }
}

async fn an_alert_is_opened_once(f: Fixture) {
    let alert = AlertRecord {
        kind: AlertKind::OffRoute,
        zone: None,
        lat: None,
        lon: None,
        late: true,
        ..an_alert("a-1", "m-1", "truck-07", 0)
    };
    assert!(f.store.open_alert(&alert).await.unwrap());
    assert_eq!(f.store.alert("a-1").await.unwrap(), Some(alert.clone()), "every field as opened");
    let again = AlertRecord { detail: json!({"other": true}), ..an_alert("a-1", "m-2", "escort-1", 30) };
    assert!(!f.store.open_alert(&again).await.unwrap());
    assert_eq!(f.store.alert("a-1").await.unwrap(), Some(alert));
    assert_eq!(
        f.store.alert_transitions("a-1").await.unwrap(),
        vec![transition("a-1", AlertState::Open, 0, "rule", None)]
    );
    assert_eq!(f.store.alert("a-2").await.unwrap(), None);
    assert_eq!(f.store.alert_transitions("a-2").await.unwrap(), vec![]);
}

async fn the_rule_clearing_an_alert_resolves_it(f: Fixture) {
    f.store.open_alert(&an_alert("a-1", "m-1", "truck-07", 0)).await.unwrap();
    let cleared =
        f.store.clear_alert("a-1", t0() + Duration::seconds(90), &json!({"inside_s": 90})).await.unwrap();
    let expected = AlertRecord {
        state: AlertState::Resolved,
        resolved_t: Some(t0() + Duration::seconds(90)),
        resolved_by: Some("rule".into()),
        cleared_t: Some(t0() + Duration::seconds(90)),
        cleared_detail: Some(json!({"inside_s": 90})),
        ..an_alert("a-1", "m-1", "truck-07", 0)
    };
    assert_eq!(cleared, Some(expected.clone()));
    // Clearing again changes nothing.
    let again =
        f.store.clear_alert("a-1", t0() + Duration::seconds(120), &json!({"inside_s": 120})).await.unwrap();
    assert_eq!(again, Some(expected.clone()));
    assert_eq!(f.store.alert("a-1").await.unwrap(), Some(expected));
    assert_eq!(
        f.store.alert_transitions("a-1").await.unwrap(),
        vec![
            transition("a-1", AlertState::Open, 0, "rule", None),
            transition("a-1", AlertState::Resolved, 90, "rule", None)
        ]
    );
    assert_eq!(f.store.clear_alert("a-2", t0(), &json!({})).await.unwrap(), None);
}

async fn a_clearing_after_a_person_resolved_keeps_who_resolved(f: Fixture) {
    f.store.open_alert(&an_alert("a-1", "m-1", "truck-07", 0)).await.unwrap();
    let resolved = f
        .store
        .resolve_alert("a-1", "ana", Some("driver called in"), t0() + Duration::seconds(30))
        .await
        .unwrap();
    let by_ana = AlertRecord {
        state: AlertState::Resolved,
        resolved_t: Some(t0() + Duration::seconds(30)),
        resolved_by: Some("ana".into()),
        note: Some("driver called in".into()),
        ..an_alert("a-1", "m-1", "truck-07", 0)
    };
    assert_eq!(resolved, AlertChange::Changed(by_ana.clone()));
    let cleared =
        f.store.clear_alert("a-1", t0() + Duration::seconds(90), &json!({"inside_s": 90})).await.unwrap();
    let expected = AlertRecord {
        cleared_t: Some(t0() + Duration::seconds(90)),
        cleared_detail: Some(json!({"inside_s": 90})),
        ..by_ana
    };
    assert_eq!(cleared, Some(expected.clone()));
    assert_eq!(f.store.alert("a-1").await.unwrap(), Some(expected));
    assert_eq!(
        f.store.alert_transitions("a-1").await.unwrap(),
        vec![
            transition("a-1", AlertState::Open, 0, "rule", None),
            transition("a-1", AlertState::Resolved, 30, "ana", Some("driver called in")),
        ],
        "the clearing is no change of state"
    );
}

async fn an_alert_is_acknowledged_then_resolved_with_each_transition(f: Fixture) {
    f.store.open_alert(&an_alert("a-1", "m-1", "truck-07", 0)).await.unwrap();
    let acknowledged = f
        .store
        .acknowledge_alert("a-1", "ana", Some("calling the driver"), t0() + Duration::seconds(20))
        .await
        .unwrap();
    let expected = AlertRecord {
        state: AlertState::Acknowledged,
        acknowledged_t: Some(t0() + Duration::seconds(20)),
        acknowledged_by: Some("ana".into()),
        note: Some("calling the driver".into()),
        ..an_alert("a-1", "m-1", "truck-07", 0)
    };
    assert_eq!(acknowledged, AlertChange::Changed(expected.clone()));
    let resolved = f.store.resolve_alert("a-1", "bob", None, t0() + Duration::seconds(50)).await.unwrap();
    let expected = AlertRecord {
        state: AlertState::Resolved,
        resolved_t: Some(t0() + Duration::seconds(50)),
        resolved_by: Some("bob".into()),
        ..expected
    };
    assert_eq!(
        resolved,
        AlertChange::Changed(expected.clone()),
        "a resolution without a note keeps the note"
    );
    assert_eq!(f.store.alert("a-1").await.unwrap(), Some(expected));
    assert_eq!(
        f.store.alert_transitions("a-1").await.unwrap(),
        vec![
            transition("a-1", AlertState::Open, 0, "rule", None),
            transition("a-1", AlertState::Acknowledged, 20, "ana", Some("calling the driver")),
            transition("a-1", AlertState::Resolved, 50, "bob", None),
        ]
    );
    assert_eq!(f.store.acknowledge_alert("a-2", "ana", None, t0()).await.unwrap(), AlertChange::NotFound);
    assert_eq!(f.store.resolve_alert("a-2", "ana", None, t0()).await.unwrap(), AlertChange::NotFound);
}

async fn a_change_to_the_state_an_alert_is_past_changes_nothing(f: Fixture) {
    f.store.open_alert(&an_alert("a-1", "m-1", "truck-07", 0)).await.unwrap();
    f.store.acknowledge_alert("a-1", "ana", None, t0() + Duration::seconds(10)).await.unwrap();
    let acknowledged = f.store.alert("a-1").await.unwrap().unwrap();
    let twice =
        f.store.acknowledge_alert("a-1", "bob", Some("me too"), t0() + Duration::seconds(11)).await.unwrap();
    assert_eq!(twice, AlertChange::AlreadyInState(acknowledged));

    f.store.open_alert(&an_alert("a-2", "m-1", "truck-07", 0)).await.unwrap();
    f.store.clear_alert("a-2", t0() + Duration::seconds(5), &json!({})).await.unwrap();
    let resolved = f.store.alert("a-2").await.unwrap().unwrap();
    let late_ack =
        f.store.acknowledge_alert("a-2", "ana", Some("on it"), t0() + Duration::seconds(10)).await.unwrap();
    assert_eq!(late_ack, AlertChange::AlreadyInState(resolved.clone()));
    let late_resolve =
        f.store.resolve_alert("a-2", "ana", Some("done"), t0() + Duration::seconds(10)).await.unwrap();
    assert_eq!(late_resolve, AlertChange::AlreadyInState(resolved.clone()));
    assert_eq!(f.store.alert("a-2").await.unwrap(), Some(resolved));
    assert_eq!(f.store.alert_transitions("a-1").await.unwrap().len(), 2);
    assert_eq!(f.store.alert_transitions("a-2").await.unwrap().len(), 2);
}

async fn alerts_are_listed_newest_first_and_filtered(f: Fixture) {
    // (id, move, vehicle, opened at seconds); a-3 and a-2 open at the same time.
    let alerts = [
        ("a-1", "m-1", "truck-07", 0),
        ("a-3", "m-1", "escort-1", 20),
        ("a-2", "m-1", "truck-07", 20),
        ("a-4", "m-2", "truck-07", 30),
        ("a-5", "m-2", "bus-3", 10),
    ];
    for (id, move_id, vehicle_id, seconds) in alerts {
        f.store.open_alert(&an_alert(id, move_id, vehicle_id, seconds)).await.unwrap();
    }
    f.store.acknowledge_alert("a-2", "ana", None, t0() + Duration::seconds(40)).await.unwrap();
    f.store.clear_alert("a-5", t0() + Duration::seconds(40), &json!({})).await.unwrap();

    let ids = |filter: AlertFilter| {
        let store = f.store.clone();
        async move { store.alerts(&filter).await.unwrap().into_iter().map(|a| a.id).collect::<Vec<_>>() }
    };
    assert_eq!(AlertFilter::default().limit, 1000);
    assert_eq!(ids(AlertFilter::default()).await, ["a-4", "a-2", "a-3", "a-5", "a-1"]);
    let state = |state| AlertFilter { state: Some(state), ..Default::default() };
    assert_eq!(ids(state(AlertState::Open)).await, ["a-4", "a-3", "a-1"]);
    assert_eq!(ids(state(AlertState::Acknowledged)).await, ["a-2"]);
    assert_eq!(ids(state(AlertState::Resolved)).await, ["a-5"]);
    let of_move = |id: &str| AlertFilter { move_id: Some(id.into()), ..Default::default() };
    assert_eq!(ids(of_move("m-2")).await, ["a-4", "a-5"]);
    assert!(ids(of_move("m-9")).await.is_empty());
    let of_vehicle = AlertFilter { vehicle: Some(vehicle("truck-07")), ..Default::default() };
    assert_eq!(ids(of_vehicle.clone()).await, ["a-4", "a-2", "a-1"]);
    let all_three = AlertFilter {
        state: Some(AlertState::Open),
        move_id: Some("m-1".into()),
        vehicle: Some(vehicle("truck-07")),
        limit: 10,
    };
    assert_eq!(ids(all_three).await, ["a-1"]);
    assert_eq!(ids(AlertFilter { limit: 2, ..Default::default() }).await, ["a-4", "a-2"]);
    assert_eq!(ids(AlertFilter { limit: 2, ..of_vehicle }).await, ["a-4", "a-2"]);
    // Whole records come back.
    let listed = f.store.alerts(&of_move("m-1")).await.unwrap();
    assert_eq!(listed.last(), Some(&an_alert("a-1", "m-1", "truck-07", 0)));
}

async fn deliveries_are_kept_in_order(f: Fixture) {
    f.store.open_alert(&an_alert("a-1", "m-1", "truck-07", 0)).await.unwrap();
    let delivery = |alert_id: &str, notifier: &str, attempt: u32, ok: bool, detail: &str| Delivery {
        alert_id: alert_id.into(),
        state: AlertState::Open,
        notifier: notifier.into(),
        attempt,
        at: t0() + Duration::seconds(i64::from(attempt) * 10),
        ok,
        detail: detail.into(),
    };
    let recorded = [
        delivery("a-1", "webhook", 1, false, "HTTP 503"),
        delivery("a-1", "email", 1, true, "250 OK"),
        delivery("a-2", "webhook", 1, true, "HTTP 200"),
        delivery("a-1", "webhook", 2, true, "HTTP 200"),
        Delivery { state: AlertState::Resolved, ..delivery("a-1", "email", 1, true, "250 OK") },
    ];
    for d in &recorded {
        f.store.record_delivery(d).await.unwrap();
    }
    let of_a1: Vec<_> = recorded.iter().filter(|d| d.alert_id == "a-1").cloned().collect();
    assert_eq!(f.store.deliveries("a-1").await.unwrap(), of_a1);
    assert_eq!(f.store.deliveries("a-2").await.unwrap(), vec![recorded[2].clone()]);
    assert_eq!(f.store.deliveries("a-3").await.unwrap(), vec![]);
}

/// Rewrites a stored alert's kind behind the store's back.
async fn corrupt_alert_kind(f: &Fixture, id: &str, kind: &str) {
    if let Some(path) = f.url.strip_prefix("sqlite://") {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.execute("UPDATE alerts SET kind = ?2 WHERE id = ?1", [id, kind]).unwrap();
    } else {
        let (client, connection) = tokio_postgres::connect(&f.url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        client.execute("UPDATE alerts SET kind = $2 WHERE id = $1", &[&id, &kind]).await.unwrap();
    }
}

async fn an_unknown_alert_kind_reads_back_as_corrupt(f: Fixture) {
    f.store.open_alert(&an_alert("a-1", "m-1", "truck-07", 0)).await.unwrap();
    corrupt_alert_kind(&f, "a-1", "teleported").await;
    assert!(matches!(f.store.alert("a-1").await, Err(StoreError::Corrupt(_))));
    assert!(matches!(f.store.alerts(&AlertFilter::default()).await, Err(StoreError::Corrupt(_))));
}

fn audit_entry(actor: Option<&str>, action: &str, target: &str) -> NewAuditEntry {
    NewAuditEntry {
        actor: actor.map(str::to_string),
        action: action.to_string(),
        target: target.to_string(),
        from_addr: Some("127.0.0.1".to_string()),
        detail: json!({ "why": "test", "n": 1 }),
    }
}

async fn audit_entries_chain_in_order_from_genesis(f: Fixture) {
    let before = Utc::now() - Duration::seconds(1);
    assert_eq!(f.store.audit_head().await.unwrap(), AuditHead::genesis());
    let first = f.store.append_audit(&audit_entry(Some("ana"), "login.ok", "ana")).await.unwrap();
    f.store.append_audit(&audit_entry(None, "login.failed", "nobody")).await.unwrap();
    let third = f.store.append_audit(&audit_entry(Some("ana"), "track.view", "truck-07")).await.unwrap();

    let all = f.store.audit_entries(&AuditFilter { limit: 100, ..Default::default() }).await.unwrap();
    assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(all[0], first);
    assert_eq!(all[2], third);
    assert_eq!(all[0].prev_hash, GENESIS_HASH);
    assert_eq!(all[1].prev_hash, all[0].hash);
    assert_eq!(all[2].prev_hash, all[1].hash);
    assert!(all.iter().all(|e| e.computed_hash() == e.hash));
    assert!(all[0].at >= before && all[0].at <= Utc::now());
    assert_eq!(all[1].actor, None);
    assert_eq!(all[1].detail_json(), json!({ "why": "test", "n": 1 }));
    assert_eq!(all[1].from_addr.as_deref(), Some("127.0.0.1"));
    assert_eq!(f.store.audit_head().await.unwrap(), AuditHead { seq: 3, hash: third.hash.clone() });

    let filtered = |filter: AuditFilter| {
        let store = f.store.clone();
        async move { store.audit_entries(&filter).await.unwrap().iter().map(|e| e.seq).collect::<Vec<_>>() }
    };
    assert_eq!(
        filtered(AuditFilter { actor: Some("ana".into()), limit: 100, ..Default::default() }).await,
        [1, 3]
    );
    assert_eq!(
        filtered(AuditFilter { action: Some("login.failed".into()), limit: 100, ..Default::default() }).await,
        [2]
    );
    assert_eq!(filtered(AuditFilter { after_seq: Some(1), limit: 1, ..Default::default() }).await, [2]);
    assert_eq!(
        filtered(AuditFilter { to: Some(before), limit: 100, ..Default::default() }).await,
        Vec::<u64>::new()
    );
    assert_eq!(
        filtered(AuditFilter { from: Some(before), limit: 100, ..Default::default() }).await,
        [1, 2, 3]
    );

    let verdict = f.store.verify_audit(None).await.unwrap();
    assert!(verdict.intact(), "{verdict:?}");
    assert_eq!((verdict.entries, verdict.head.seq), (3, 3));
    let expected = AuditHead { seq: 2, hash: all[1].hash.clone() };
    assert!(f.store.verify_audit(Some(&expected)).await.unwrap().intact());
    let ahead = AuditHead { seq: 4, hash: all[1].hash.clone() };
    let problem = f.store.verify_audit(Some(&ahead)).await.unwrap().problem.unwrap();
    assert_eq!((problem.seq, problem.kind), (4, AuditBreak::Truncated));
}

async fn concurrent_audit_appends_make_one_contiguous_chain(f: Fixture) {
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let store = f.store.clone();
            tokio::spawn(async move {
                store
                    .append_audit(&audit_entry(Some("ana"), "track.view", &format!("truck-{i}")))
                    .await
                    .unwrap()
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let all = f.store.audit_entries(&AuditFilter { limit: 100, ..Default::default() }).await.unwrap();
    assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), (1..=40).collect::<Vec<_>>());
    let verdict = f.store.verify_audit(None).await.unwrap();
    assert!(verdict.intact(), "{verdict:?}");
    assert_eq!(verdict.entries, 40);
}

/// Runs SQL on the audit log as its owner would, behind the store's back; `Err` if refused.
async fn audit_sql(f: &Fixture, sql: &str) -> Result<(), String> {
    if let Some(path) = f.url.strip_prefix("sqlite://") {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.execute_batch(sql).map_err(|e| e.to_string())
    } else {
        let (client, connection) = tokio_postgres::connect(&f.url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        client
            .batch_execute(sql)
            .await
            .map_err(|e| e.as_db_error().map_or(e.to_string(), |d| d.message().into()))
    }
}

/// What an attacker with the database owner's rights does first.
async fn drop_append_only_guards(f: &Fixture) {
    let sql = if f.url.starts_with("sqlite://") {
        "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;"
    } else {
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only;"
    };
    audit_sql(f, sql).await.unwrap();
}

async fn the_audit_log_refuses_changes_and_finds_them_when_forced(f: Fixture) {
    for i in 0..5 {
        f.store.append_audit(&audit_entry(Some("ana"), "track.view", &format!("truck-{i}"))).await.unwrap();
    }
    let refused = audit_sql(&f, "UPDATE audit_log SET target = 'truck-99' WHERE seq = 3").await.unwrap_err();
    assert!(refused.contains("append-only"), "{refused}");
    let refused = audit_sql(&f, "DELETE FROM audit_log WHERE seq = 5").await.unwrap_err();
    assert!(refused.contains("append-only"), "{refused}");
    assert!(f.store.verify_audit(None).await.unwrap().intact());

    drop_append_only_guards(&f).await;
    audit_sql(&f, "UPDATE audit_log SET target = 'truck-99' WHERE seq = 3").await.unwrap();
    let verdict = f.store.verify_audit(None).await.unwrap();
    let problem = verdict.problem.unwrap();
    assert_eq!((problem.seq, problem.kind), (3, AuditBreak::Changed), "{problem}");
    assert_eq!(verdict.entries, 2);

    // Appends go on after a tampering; the break stays where it was.
    f.store.append_audit(&audit_entry(Some("ana"), "login.ok", "ana")).await.unwrap();
    assert_eq!(f.store.verify_audit(None).await.unwrap().problem.unwrap().seq, 3);
}

async fn a_cut_tail_of_the_audit_log_is_found(f: Fixture) {
    for i in 0..5 {
        f.store.append_audit(&audit_entry(Some("ana"), "track.view", &format!("truck-{i}"))).await.unwrap();
    }
    let recorded = f.store.verify_audit(None).await.unwrap().head;
    drop_append_only_guards(&f).await;
    audit_sql(&f, "DELETE FROM audit_log WHERE seq >= 4").await.unwrap();
    // The head the store keeps shows it ...
    let problem = f.store.verify_audit(None).await.unwrap().problem.unwrap();
    assert_eq!((problem.seq, problem.kind), (4, AuditBreak::Truncated), "{problem}");
    // ... unless it is rewritten too; then only a head kept elsewhere does.
    let all = f.store.audit_entries(&AuditFilter { limit: 10, ..Default::default() }).await.unwrap();
    audit_sql(&f, &format!("UPDATE audit_head SET seq = 3, hash = '{}'", all[2].hash)).await.unwrap();
    assert!(f.store.verify_audit(None).await.unwrap().intact());
    let problem = f.store.verify_audit(Some(&recorded)).await.unwrap().problem.unwrap();
    assert_eq!((problem.seq, problem.kind), (4, AuditBreak::Truncated), "{problem}");
}

/// Two server processes appending at once (two pools on one database) still make one chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn audit_appends_from_two_processes_on_postgres_make_one_chain() {
    let f = postgres().await;
    let other = Store::open(&f.url).await.unwrap();
    let tasks: Vec<_> = (0..60)
        .map(|i| {
            let store = if i % 2 == 0 { f.store.clone() } else { other.clone() };
            tokio::spawn(async move {
                store
                    .append_audit(&audit_entry(Some("ana"), "track.view", &format!("truck-{i}")))
                    .await
                    .unwrap()
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let verdict = f.store.verify_audit(None).await.unwrap();
    assert!(verdict.intact(), "{verdict:?}");
    assert_eq!(verdict.entries, 60);
}

/// Every page of `query`, followed to the end `page` alerts at a time.
async fn whole_history(store: &Store, query: &AlertHistoryQuery, page: u32) -> Vec<String> {
    let mut ids = Vec::new();
    let mut after = None;
    for _ in 0..1000 {
        let alerts = store
            .alert_history(&AlertHistoryQuery { after: after.clone(), limit: page, ..query.clone() })
            .await
            .unwrap();
        assert!(alerts.len() <= page as usize);
        ids.extend(alerts.iter().map(|a| a.id.clone()));
        match alerts.last() {
            Some(last) if alerts.len() == page as usize => after = Some(AlertKey::of(last)),
            _ => return ids,
        }
    }
    panic!("the history never ended");
}

async fn the_alert_history_pages_to_the_end_without_gaps_or_repeats(f: Fixture) {
    // 23 alerts, several opened at the same instant: keyset paging must still visit each once.
    let mut expected = Vec::new();
    for n in 0..23 {
        let id = format!("a-{n:02}");
        f.store.open_alert(&an_alert(&id, "m-1", "truck-07", i64::from(n / 4))).await.unwrap();
        expected.push((n / 4, id));
    }
    // Newest opening first, then by id.
    expected.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let expected: Vec<String> = expected.into_iter().map(|(_, id)| id).collect();
    for page in [1, 3, 4, 5, 23, 100] {
        let ids = whole_history(&f.store, &AlertHistoryQuery::default(), page).await;
        assert_eq!(ids, expected, "pages of {page}");
    }
    let after_last = AlertKey { opened_t: t0() - Duration::seconds(1), id: String::new() };
    let query = AlertHistoryQuery { after: Some(after_last), limit: 10, ..Default::default() };
    assert_eq!(f.store.alert_history(&query).await.unwrap(), vec![], "nothing after the oldest");
}

async fn the_alert_history_is_filtered_by_time_move_vehicle_kind_state_and_note(f: Fixture) {
    let alerts = [
        AlertRecord { kind: AlertKind::OffRoute, ..an_alert("a-1", "m-1", "truck-07", 0) },
        an_alert("a-2", "m-1", "escort-1", 60),
        an_alert("a-3", "m-2", "truck-07", 120),
        AlertRecord { kind: AlertKind::Overspeed, ..an_alert("a-4", "m-3", "truck-09", 180) },
    ];
    for alert in &alerts {
        f.store.open_alert(alert).await.unwrap();
    }
    let at = |s: i64| t0() + Duration::seconds(s);
    f.store.acknowledge_alert("a-2", "ana", Some("Driver CALLED in: 100% fine"), at(70)).await.unwrap();
    f.store.resolve_alert("a-3", "bob", Some("=cmd|' /C calc'!A0"), at(130)).await.unwrap();
    let ids = |query: AlertHistoryQuery| {
        let store = f.store.clone();
        async move {
            let page = store.alert_history(&AlertHistoryQuery { limit: 100, ..query }).await.unwrap();
            page.into_iter().map(|a| a.id).collect::<Vec<_>>()
        }
    };
    let q = AlertHistoryQuery::default;
    assert_eq!(ids(q()).await, ["a-4", "a-3", "a-2", "a-1"]);
    assert_eq!(ids(AlertHistoryQuery { from: Some(at(60)), to: Some(at(180)), ..q() }).await, ["a-3", "a-2"]);
    assert_eq!(ids(AlertHistoryQuery { from: Some(at(61)), ..q() }).await, ["a-4", "a-3"]);
    assert_eq!(ids(AlertHistoryQuery { to: Some(at(60)), ..q() }).await, ["a-1"], "`to` is exclusive");
    let moves = |m: &[&str]| Some(m.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    assert_eq!(ids(AlertHistoryQuery { moves: moves(&["m-1"]), ..q() }).await, ["a-2", "a-1"]);
    assert_eq!(ids(AlertHistoryQuery { moves: moves(&["m-1", "m-3"]), ..q() }).await, ["a-4", "a-2", "a-1"]);
    assert_eq!(ids(AlertHistoryQuery { moves: moves(&[]), ..q() }).await, Vec::<String>::new(), "no moves");
    assert_eq!(ids(AlertHistoryQuery { vehicle: Some(vehicle("truck-07")), ..q() }).await, ["a-3", "a-1"]);
    assert_eq!(ids(AlertHistoryQuery { kind: Some(AlertKind::OffRoute), ..q() }).await, ["a-1"]);
    assert_eq!(ids(AlertHistoryQuery { kind: Some(AlertKind::ZoneEnter), ..q() }).await, ["a-3", "a-2"]);
    assert_eq!(ids(AlertHistoryQuery { state: Some(AlertState::Acknowledged), ..q() }).await, ["a-2"]);
    assert_eq!(ids(AlertHistoryQuery { state: Some(AlertState::Open), ..q() }).await, ["a-4", "a-1"]);
    let note = |text: &str| AlertHistoryQuery { note_contains: Some(text.into()), ..q() };
    assert_eq!(ids(note("called")).await, ["a-2"], "case-insensitive");
    assert_eq!(ids(note("DRIVER called IN")).await, ["a-2"]);
    assert_eq!(ids(note("100%")).await, ["a-2"], "a percent sign is text");
    assert_eq!(ids(note("100_")).await, Vec::<String>::new(), "an underscore is no wildcard");
    assert_eq!(ids(note("%")).await, ["a-2"]);
    assert_eq!(ids(note("' /c")).await, ["a-3"]);
    assert_eq!(ids(note("nobody wrote this")).await, Vec::<String>::new());
    let combined = AlertHistoryQuery {
        from: Some(at(0)),
        moves: moves(&["m-1", "m-2"]),
        vehicle: Some(vehicle("escort-1")),
        kind: Some(AlertKind::ZoneEnter),
        state: Some(AlertState::Acknowledged),
        note_contains: Some("fine".into()),
        ..q()
    };
    assert_eq!(ids(combined).await, ["a-2"]);
    // Filters hold across pages too.
    let paged =
        whole_history(&f.store, &AlertHistoryQuery { vehicle: Some(vehicle("truck-07")), ..q() }, 1).await;
    assert_eq!(paged, ["a-3", "a-1"]);
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
suite_on!(on_sqlite_reopened, sqlite: reopening_keeps_the_data_and_the_schema, an_unknown_alert_kind_reads_back_as_corrupt);
suite_on!(on_postgres_reopened, postgres: reopening_keeps_the_data_and_the_schema, an_unknown_alert_kind_reads_back_as_corrupt);
// Tampering needs a second connection beside the store's.
suite_on!(on_sqlite_tampered, sqlite: the_audit_log_refuses_changes_and_finds_them_when_forced, a_cut_tail_of_the_audit_log_is_found);
suite_on!(on_postgres_tampered, postgres: the_audit_log_refuses_changes_and_finds_them_when_forced, a_cut_tail_of_the_audit_log_is_found);

every_backend!(
    a_redelivered_position_is_stored_once,
    the_latest_position_never_moves_back_in_fix_time,
    a_track_is_bounded_by_its_time_range,
    optional_fields_stay_absent,
    dead_letters_keep_their_raw_bytes,
    a_vehicle_is_registered_once,
    a_vehicles_password_hash_is_replaced_only_if_it_is_registered,
    a_disabled_vehicle_keeps_its_password_and_positions_until_enabled,
    a_phones_fixes_keep_their_accuracy_and_source,
    a_phone_is_registered_once_per_kind_and_name,
    a_token_logs_its_user_in_until_it_expires,
    a_disabled_persons_tokens_end_and_no_token_of_theirs_is_valid,
    the_last_enabled_admin_cannot_be_disabled_or_demoted,
    a_new_password_ends_every_token_but_the_one_kept,
    people_are_listed_with_their_state_and_last_login,
    a_backlog_is_stored_marked_late,
    an_implausible_fix_is_kept_raw_and_marked_but_never_becomes_the_live_position,
    a_fix_older_than_the_retention_is_marked,
    a_long_track_streams_whole_and_in_order,
    the_latest_agent_status_is_kept,
    retention_deletes_old_positions_and_records_the_purge,
    a_legal_hold_keeps_its_positions_until_released,
    holds_are_listed_with_who_placed_and_released_them,
    a_purge_records_which_hold_kept_what,
    fresh_positions_are_the_clean_fixes_of_a_write_in_its_order,
    the_status_history_keeps_every_report_until_retention,
    the_newest_statuses_come_newest_first_up_to_a_limit,
    moves_are_kept_by_id_and_listed_by_creation,
    a_move_is_ended_or_cancelled_once_and_keeps_who_and_why,
    each_plan_edit_is_a_new_version_and_the_newest_is_the_moves_plan,
    a_stale_edit_or_one_of_an_ended_move_changes_nothing,
    concurrent_edits_of_one_version_store_exactly_one,
    an_alert_is_opened_once,
    the_rule_clearing_an_alert_resolves_it,
    a_clearing_after_a_person_resolved_keeps_who_resolved,
    an_alert_is_acknowledged_then_resolved_with_each_transition,
    a_change_to_the_state_an_alert_is_past_changes_nothing,
    alerts_are_listed_newest_first_and_filtered,
    the_alert_history_pages_to_the_end_without_gaps_or_repeats,
    the_alert_history_is_filtered_by_time_move_vehicle_kind_state_and_note,
    deliveries_are_kept_in_order,
    audit_entries_chain_in_order_from_genesis,
    concurrent_audit_appends_make_one_contiguous_chain,
);

// The daily report's queries, in a file of their own (this one is long enough).
#[path = "behaviour/daily_report.rs"]
mod daily_report;

/// Two people acknowledging one alert at the same moment: one changes it, the other finds it
/// acknowledged. Likewise a person resolving while the rule clears: one resolution.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_changes_to_an_alert_on_postgres_make_one_transition() {
    let f = postgres().await;
    for round in 0..20 {
        let id = format!("a-{round}");
        f.store.open_alert(&an_alert(&id, "m-1", "truck-07", 0)).await.unwrap();
        let ack = |user: &'static str| {
            let (store, id) = (f.store.clone(), id.clone());
            tokio::spawn(async move { store.acknowledge_alert(&id, user, None, t0()).await.unwrap() })
        };
        let (first, second) = tokio::join!(ack("ana"), ack("bob"));
        let outcomes = [first.unwrap(), second.unwrap()];
        let changed = outcomes.iter().filter(|o| matches!(o, AlertChange::Changed(_))).count();
        let already = outcomes.iter().filter(|o| matches!(o, AlertChange::AlreadyInState(_))).count();
        assert_eq!((changed, already), (1, 1), "{outcomes:?}");
        let states: Vec<_> = f.store.alert_transitions(&id).await.unwrap().iter().map(|t| t.state).collect();
        assert_eq!(states, [AlertState::Open, AlertState::Acknowledged]);

        let (store, person_id) = (f.store.clone(), id.clone());
        let person =
            tokio::spawn(async move { store.resolve_alert(&person_id, "ana", None, t0()).await.unwrap() });
        let (store, rule_id) = (f.store.clone(), id.clone());
        let rule = tokio::spawn(async move { store.clear_alert(&rule_id, t0(), &json!({})).await.unwrap() });
        let (person, rule) = tokio::join!(person, rule);
        let (person, rule) = (person.unwrap(), rule.unwrap().unwrap());
        let expected_by = if matches!(person, AlertChange::Changed(_)) { "ana" } else { "rule" };
        assert_eq!(rule.resolved_by.as_deref(), Some(expected_by));
        assert!(rule.cleared_t.is_some());
        let states: Vec<_> = f.store.alert_transitions(&id).await.unwrap().iter().map(|t| t.state).collect();
        assert_eq!(states, [AlertState::Open, AlertState::Acknowledged, AlertState::Resolved]);
    }
}

/// Two admins, each disabling the other at the same moment: one wins, the other is refused as
/// the last admin, so one enabled admin is always left.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_admins_disabling_each_other_on_postgres_leave_one_enabled() {
    let f = postgres().await;
    f.store.add_user(&person("first", Role::Admin)).await.unwrap();
    // Each round: the admin left by the last round and a new one, disabled at once.
    let mut left = "first".to_string();
    for round in 0..10 {
        let new = format!("admin-{round}");
        f.store.add_user(&person(&new, Role::Admin)).await.unwrap();
        let disable = |name: String| {
            let store = f.store.clone();
            tokio::spawn(
                async move { store.change_person(&name, &PersonChange::Disabled(true)).await.unwrap() },
            )
        };
        let (first, second) = tokio::join!(disable(left.clone()), disable(new.clone()));
        let outcomes = [first.unwrap(), second.unwrap()];
        let refused = outcomes.iter().filter(|o| **o == PersonChanged::LastAdmin).count();
        assert_eq!(refused, 1, "round {round}: {outcomes:?}");
        let enabled: Vec<_> = f
            .store
            .people()
            .await
            .unwrap()
            .into_iter()
            .filter(|p| p.role == Role::Admin && !p.disabled)
            .map(|p| p.name)
            .collect();
        assert_eq!(enabled.len(), 1, "round {round}: {enabled:?}");
        left = enabled[0].clone();
    }
}

#[tokio::test]
async fn an_unknown_database_url_is_refused() {
    assert!(matches!(Store::open("mysql://x").await, Err(StoreError::BadUrl(_))));
}
