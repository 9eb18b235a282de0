//! Alerts: their lifecycle, lists, history and deliveries.

use super::*;

pub(super) fn an_alert(id: &str, move_id: &str, vehicle_id: &str, seconds: i64) -> AlertRecord {
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

pub(super) fn transition(
    id: &str,
    state: AlertState,
    seconds: i64,
    by: &str,
    note: Option<&str>,
) -> AlertTransition {
    AlertTransition {
        alert_id: id.into(),
        state,
        at: t0() + Duration::seconds(seconds),
        by: by.into(),
        note: note.map(str::to_string),
    }
}

pub(super) async fn an_alert_is_opened_once(f: Fixture) {
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

pub(super) async fn the_rule_clearing_an_alert_resolves_it(f: Fixture) {
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

pub(super) async fn a_clearing_after_a_person_resolved_keeps_who_resolved(f: Fixture) {
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

pub(super) async fn an_alert_is_acknowledged_then_resolved_with_each_transition(f: Fixture) {
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

pub(super) async fn a_change_to_the_state_an_alert_is_past_changes_nothing(f: Fixture) {
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

pub(super) async fn alerts_are_listed_newest_first_and_filtered(f: Fixture) {
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

pub(super) async fn deliveries_are_kept_in_order(f: Fixture) {
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
pub(super) async fn corrupt_alert_kind(f: &Fixture, id: &str, kind: &str) {
    if let Some(path) = f.url.strip_prefix("sqlite://") {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.execute("UPDATE alerts SET kind = ?2 WHERE id = ?1", [id, kind]).unwrap();
    } else {
        let (client, connection) = tokio_postgres::connect(&f.url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        client.execute("UPDATE alerts SET kind = $2 WHERE id = $1", &[&id, &kind]).await.unwrap();
    }
}

pub(super) async fn an_unknown_alert_kind_reads_back_as_corrupt(f: Fixture) {
    f.store.open_alert(&an_alert("a-1", "m-1", "truck-07", 0)).await.unwrap();
    corrupt_alert_kind(&f, "a-1", "teleported").await;
    assert!(matches!(f.store.alert("a-1").await, Err(StoreError::Corrupt(_))));
    assert!(matches!(f.store.alerts(&AlertFilter::default()).await, Err(StoreError::Corrupt(_))));
}

/// Every page of `query`, followed to the end `page` alerts at a time.
pub(super) async fn whole_history(store: &Store, query: &AlertHistoryQuery, page: u32) -> Vec<String> {
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

pub(super) async fn the_alert_history_pages_to_the_end_without_gaps_or_repeats(f: Fixture) {
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

pub(super) async fn the_alert_history_is_filtered_by_time_move_vehicle_kind_state_and_note(f: Fixture) {
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
