//! Retention and legal holds.

use super::*;

/// Fixes on three days, 40, 20 and 0 days before t0; retention of 30 days at t0.
pub(super) async fn write_three_days(store: &Store, id: &str) {
    let fixes = [-40, -20, 0]
        .iter()
        .enumerate()
        .map(|(i, days)| Position { t: t0() + Duration::days(*days), ..position(i as u64, 0) })
        .collect();
    store.write_ingest(&write_of(id, fixes)).await.unwrap();
}

pub(super) async fn retention_deletes_old_positions_and_records_the_purge(f: Fixture) {
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

pub(super) async fn a_legal_hold_keeps_its_positions_until_released(f: Fixture) {
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

pub(super) async fn holds_are_listed_with_who_placed_and_released_them(f: Fixture) {
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
pub(super) async fn a_purge_records_which_hold_kept_what(f: Fixture) {
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
