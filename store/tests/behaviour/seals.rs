//! Seals and checkpoints: a move's list replaced whole keeping ids and order, checkpoints read
//! back as recorded, a seal a checkpoint names never removed, and checkpoints never changed.

use chrono::Duration;
use convoy_store::{Checkpoint, CheckpointFix, Seal, SealSeen, SealsReplaced};

use super::audit::audit_sql;
use super::{a_move, t0, vehicle, Fixture};

fn seal(id: &str, number: &str, carrier: Option<&str>) -> Seal {
    Seal {
        id: id.into(),
        label: format!("crate {number}"),
        number: number.into(),
        contents: "disks".into(),
        sensitivity: "secret".into(),
        vehicle: carrier.map(vehicle),
    }
}

fn checkpoint(move_id: &str, minutes: i64, seen: &[(&Seal, &str)]) -> Checkpoint {
    Checkpoint {
        id: 0,
        move_id: move_id.into(),
        stage: "loading".into(),
        vehicle: Some(vehicle("truck-07")),
        at: t0() + Duration::minutes(minutes),
        by: "eve".into(),
        note: Some("dock 4".into()),
        fix: Some(CheckpointFix {
            t: t0() + Duration::minutes(minutes) - Duration::seconds(3),
            seq: 42,
            lat: 48.1,
            lon: 11.5,
        }),
        seals: seen
            .iter()
            .map(|(s, state)| SealSeen {
                seal_id: s.id.clone(),
                number: s.number.clone(),
                label: s.label.clone(),
                state: state.to_string(),
                note: None,
            })
            .collect(),
    }
}

pub(super) async fn seals_are_replaced_whole_keeping_ids_and_order(f: Fixture) {
    f.store.add_move(&a_move("m-1", 0)).await.unwrap();
    f.store.add_move(&a_move("m-2", 0)).await.unwrap();
    assert_eq!(f.store.move_seals("m-1").await.unwrap(), vec![]);
    let (a, b) = (seal("s-a", "A-1", Some("truck-07")), seal("s-b", "A-2", None));
    assert_eq!(
        f.store.replace_move_seals("m-1", &[a.clone(), b.clone()]).await.unwrap(),
        SealsReplaced::Stored
    );
    f.store.replace_move_seals("m-2", &[seal("s-c", "A-1", None)]).await.unwrap();
    assert_eq!(f.store.move_seals("m-1").await.unwrap(), vec![a.clone(), b.clone()], "every field as given");

    // Reordered, one changed, one removed, one added.
    let renamed = Seal { label: "crate A-2, blue".into(), sensitivity: "normal".into(), ..b.clone() };
    let added = seal("s-d", "A-3", None);
    f.store.replace_move_seals("m-1", &[added.clone(), renamed.clone()]).await.unwrap();
    assert_eq!(f.store.move_seals("m-1").await.unwrap(), vec![added, renamed]);
    assert_eq!(
        f.store.move_seals("m-2").await.unwrap(),
        vec![seal("s-c", "A-1", None)],
        "another move's untouched"
    );
    f.store.replace_move_seals("m-1", &[]).await.unwrap();
    assert_eq!(f.store.move_seals("m-1").await.unwrap(), vec![]);
}

pub(super) async fn checkpoints_read_back_whole_and_a_seal_they_name_is_never_removed(f: Fixture) {
    f.store.add_move(&a_move("m-1", 0)).await.unwrap();
    f.store.add_move(&a_move("m-2", 0)).await.unwrap();
    let (a, b) = (seal("s-a", "A-1", Some("truck-07")), seal("s-b", "A-2", None));
    f.store.replace_move_seals("m-1", &[a.clone(), b.clone()]).await.unwrap();
    let later = checkpoint("m-1", 30, &[(&b, "broken"), (&a, "intact")]);
    let earlier = Checkpoint {
        stage: "handover".into(),
        vehicle: None,
        note: None,
        fix: None,
        ..checkpoint("m-1", 10, &[(&a, "intact")])
    };
    let later_id = f.store.add_checkpoint(&later).await.unwrap();
    let earlier_id = f.store.add_checkpoint(&earlier).await.unwrap();
    assert_ne!(later_id, earlier_id);
    let read = f.store.checkpoints("m-1").await.unwrap();
    assert_eq!(
        read,
        vec![Checkpoint { id: earlier_id, ..earlier }, Checkpoint { id: later_id, ..later.clone() }],
        "oldest first, every field and each seal in its order"
    );
    assert_eq!(f.store.checkpoints("m-2").await.unwrap(), vec![]);

    // The seal seen keeps its number and label as they were, whatever the list says later.
    let renumbered = Seal { number: "A-2b".into(), ..b.clone() };
    f.store.replace_move_seals("m-1", &[a.clone(), renumbered.clone()]).await.unwrap();
    assert_eq!(f.store.checkpoints("m-1").await.unwrap()[1].seals[0].number, "A-2");
    // A list leaving out a seal a checkpoint names changes nothing.
    let outcome = f.store.replace_move_seals("m-1", std::slice::from_ref(&a)).await.unwrap();
    assert_eq!(outcome, SealsReplaced::HasCheckpoints("s-b".into()));
    assert_eq!(f.store.move_seals("m-1").await.unwrap(), vec![a, renumbered]);
}

pub(super) async fn checkpoints_refuse_changes(f: Fixture) {
    f.store.add_move(&a_move("m-1", 0)).await.unwrap();
    let a = seal("s-a", "A-1", None);
    f.store.replace_move_seals("m-1", std::slice::from_ref(&a)).await.unwrap();
    f.store.add_checkpoint(&checkpoint("m-1", 5, &[(&a, "broken")])).await.unwrap();
    for sql in [
        "UPDATE seal_checkpoints SET recorded_by = 'mallory'",
        "DELETE FROM seal_checkpoints",
        "UPDATE seal_checkpoint_states SET state = 'intact'",
        "DELETE FROM seal_checkpoint_states",
    ] {
        let refused = audit_sql(&f, sql).await.unwrap_err();
        assert!(refused.contains("append-only"), "{sql}: {refused}");
    }
    if !f.url.starts_with("sqlite://") {
        let refused = audit_sql(&f, "TRUNCATE seal_checkpoint_states, seal_checkpoints").await.unwrap_err();
        assert!(refused.contains("append-only"), "{refused}");
    }
    let read = f.store.checkpoints("m-1").await.unwrap();
    assert_eq!((read[0].by.as_str(), read[0].seals[0].state.as_str()), ("eve", "broken"), "as recorded");
}
