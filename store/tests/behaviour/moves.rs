//! Moves: kept, listed, ended and cancelled.

use super::*;

pub(super) fn a_move(id: &str, minutes: i64) -> MoveRecord {
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

pub(super) async fn moves_are_kept_by_id_and_listed_by_creation(f: Fixture) {
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

pub(super) async fn a_move_is_ended_or_cancelled_once_and_keeps_who_and_why(f: Fixture) {
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
