//! Vehicles, phones, people and their tokens.

use super::*;

pub(super) async fn a_vehicle_is_registered_once(f: Fixture) {
    let id = vehicle("truck-07");
    assert!(!f.store.vehicle_registered(&id).await.unwrap());
    f.store.add_vehicle(&id, "hash-1").await.unwrap();
    assert!(matches!(f.store.add_vehicle(&id, "hash-2").await, Err(StoreError::AlreadyExists(_))));
    assert_eq!(f.store.vehicle_password_hash(&id).await.unwrap().as_deref(), Some("hash-1"));
    assert!(f.store.vehicle_registered(&id).await.unwrap());
    f.store.add_vehicle(&vehicle("escort-1"), "hash-3").await.unwrap();
    assert_eq!(f.store.vehicle_ids().await.unwrap(), vec![vehicle("escort-1"), id]);
}

pub(super) async fn a_disabled_vehicle_keeps_its_password_and_positions_until_enabled(f: Fixture) {
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

pub(super) async fn a_vehicles_password_hash_is_replaced_only_if_it_is_registered(f: Fixture) {
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

pub(super) async fn a_phone_is_registered_once_per_kind_and_name(f: Fixture) {
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

pub(super) async fn a_token_logs_its_user_in_until_it_expires(f: Fixture) {
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

pub(super) fn person(name: &str, role: Role) -> User {
    User { name: name.into(), role, password_hash: format!("hash-of-{name}"), disabled: false }
}

pub(super) async fn a_disabled_persons_tokens_end_and_no_token_of_theirs_is_valid(f: Fixture) {
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

pub(super) async fn the_last_enabled_admin_cannot_be_disabled_or_demoted(f: Fixture) {
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

pub(super) async fn a_new_password_ends_every_token_but_the_one_kept(f: Fixture) {
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

pub(super) async fn people_are_listed_with_their_state_and_last_login(f: Fixture) {
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

pub(super) async fn a_persons_language_is_kept_until_changed(f: Fixture) {
    f.store.add_user(&person("ana", Role::Admin)).await.unwrap();
    f.store.add_user(&person("bob", Role::Escort)).await.unwrap();
    assert_eq!(f.store.person_language("ana").await.unwrap(), None, "never chosen");
    assert!(f.store.set_person_language("ana", Language::SimplifiedChinese).await.unwrap());
    assert_eq!(f.store.person_language("ana").await.unwrap(), Some(Language::SimplifiedChinese));
    assert_eq!(f.store.person_language("bob").await.unwrap(), None, "only hers");
    assert!(f.store.set_person_language("ana", Language::English).await.unwrap());
    assert_eq!(f.store.person_language("ana").await.unwrap(), Some(Language::English), "the newest choice");
    assert!(
        !f.store.set_person_language("nobody", Language::SimplifiedChinese).await.unwrap(),
        "no such person"
    );
    assert_eq!(f.store.person_language("nobody").await.unwrap(), None);
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
