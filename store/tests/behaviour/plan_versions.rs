//! Plan versions: version 1 as created, each edit the next, never a lost update.

use chrono::Duration;
use convoy_core::Role;
use convoy_store::{MoveEnd, MoveRecord, PlanEdit, PlanEdited, PlanVersion};
use serde_json::json;

use super::{a_move, person, t0, Fixture};

fn edit(replaces: u32, by: &str, minutes: i64, corridor_m: f64, changes: &[&str]) -> PlanEdit {
    PlanEdit {
        replaces,
        name: format!("Move edited by {by}"),
        plan: json!({"vehicles": ["truck-07"], "corridor_m": corridor_m}),
        at: t0() + Duration::minutes(minutes),
        by: by.into(),
        changes: changes.iter().map(|c| c.to_string()).collect(),
        team: None,
    }
}

pub(super) async fn each_plan_edit_is_a_new_version_and_the_newest_is_the_moves_plan(f: Fixture) {
    for name in ["ana", "eve"] {
        f.store.add_user(&person(name, Role::Escort)).await.unwrap();
    }
    let created = a_move("m-1", 0);
    f.store.add_move(&created).await.unwrap();
    assert_eq!(f.store.move_record("m-1").await.unwrap().unwrap().version, 1);
    let first = PlanVersion {
        version: 1,
        plan: created.plan.clone(),
        at: created.created_at,
        by: "ana".into(),
        changes: vec![],
        team: None,
    };
    assert_eq!(f.store.plan_versions("m-1").await.unwrap(), vec![first.clone()], "as created");

    let wider = edit(1, "bob", 5, 300.0, &["corridor_m", "name"]);
    assert_eq!(f.store.edit_move_plan("m-1", &wider).await.unwrap(), PlanEdited::Stored(2));
    let with_team =
        PlanEdit { team: Some(vec!["ana".into(), "eve".into()]), ..edit(2, "cy", 9, 400.0, &["team"]) };
    assert_eq!(f.store.edit_move_plan("m-1", &with_team).await.unwrap(), PlanEdited::Stored(3));

    let record = f.store.move_record("m-1").await.unwrap().unwrap();
    assert_eq!(
        record,
        MoveRecord { name: with_team.name.clone(), plan: with_team.plan.clone(), version: 3, ..created }
    );
    assert_eq!(f.store.move_team("m-1").await.unwrap(), ["ana", "eve"], "the edit's team is the move's");
    let versions = f.store.plan_versions("m-1").await.unwrap();
    let summary: Vec<_> = versions
        .iter()
        .map(|v| (v.version, v.by.as_str(), v.at, v.changes.clone(), v.team.clone()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                3,
                "cy",
                t0() + Duration::minutes(9),
                vec!["team".to_string()],
                Some(vec!["ana".into(), "eve".into()])
            ),
            (2, "bob", t0() + Duration::minutes(5), vec!["corridor_m".into(), "name".into()], None),
            (1, "ana", created_at(), vec![], None),
        ],
        "newest first, with who, when and what changed"
    );
    assert_eq!(versions[1].plan, wider.plan);
    assert_eq!(versions[2], first);
    assert_eq!(f.store.plan_versions("m-none").await.unwrap(), vec![]);
    f.store.add_move(&a_move("m-2", 1)).await.unwrap();
    let crews = f.store.move_crews().await.unwrap();
    let versions: Vec<(String, u32)> = crews.into_iter().map(|c| (c.id, c.plan_version)).collect();
    assert_eq!(versions, [("m-1".to_string(), 3), ("m-2".to_string(), 1)]);
}

fn created_at() -> chrono::DateTime<chrono::Utc> {
    a_move("m-1", 0).created_at
}

pub(super) async fn a_stale_edit_or_one_of_an_ended_move_changes_nothing(f: Fixture) {
    f.store.add_move(&a_move("m-1", 0)).await.unwrap();
    // Two people edit version 1: the first is kept, the second is told it is stale.
    assert_eq!(
        f.store.edit_move_plan("m-1", &edit(1, "ana", 1, 200.0, &["corridor_m"])).await.unwrap(),
        PlanEdited::Stored(2)
    );
    let late = edit(1, "bob", 2, 900.0, &["corridor_m"]);
    assert_eq!(f.store.edit_move_plan("m-1", &late).await.unwrap(), PlanEdited::Stale { current: 2 });
    let ahead = edit(7, "bob", 2, 900.0, &["corridor_m"]);
    assert_eq!(f.store.edit_move_plan("m-1", &ahead).await.unwrap(), PlanEdited::Stale { current: 2 });
    assert_eq!(f.store.move_record("m-1").await.unwrap().unwrap().plan["corridor_m"], json!(200.0));
    assert_eq!(f.store.plan_versions("m-1").await.unwrap().len(), 2);

    let end = MoveEnd { at: t0(), by: "ana".into(), reason: "called off".into(), cancelled: true };
    assert!(f.store.end_move("m-1", &end).await.unwrap());
    assert_eq!(
        f.store.edit_move_plan("m-1", &edit(2, "bob", 3, 500.0, &["corridor_m"])).await.unwrap(),
        PlanEdited::Over
    );
    assert_eq!(
        f.store.edit_move_plan("m-2", &edit(1, "bob", 3, 500.0, &["corridor_m"])).await.unwrap(),
        PlanEdited::UnknownMove
    );
    let record = f.store.move_record("m-1").await.unwrap().unwrap();
    assert_eq!((record.version, record.plan["corridor_m"].clone()), (2, json!(200.0)));
    assert_eq!(f.store.plan_versions("m-1").await.unwrap().len(), 2);
}

/// Many people editing the same version at once: exactly one is stored, every other is stale.
pub(super) async fn concurrent_edits_of_one_version_store_exactly_one(f: Fixture) {
    f.store.add_move(&a_move("m-1", 0)).await.unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = f.store.clone();
            tokio::spawn(async move {
                store
                    .edit_move_plan("m-1", &edit(1, &format!("p{i}"), 1, 100.0 + i as f64, &["corridor_m"]))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    let stored = outcomes.iter().filter(|o| **o == PlanEdited::Stored(2)).count();
    let stale = outcomes.iter().filter(|o| **o == PlanEdited::Stale { current: 2 }).count();
    assert_eq!((stored, stale), (1, 7), "{outcomes:?}");
    let versions = f.store.plan_versions("m-1").await.unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(
        f.store.move_record("m-1").await.unwrap().unwrap().plan,
        versions[0].plan,
        "the winner's plan"
    );
}
