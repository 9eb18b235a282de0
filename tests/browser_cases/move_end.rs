//! Ending and cancelling a move on the page.

use crate::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dispatcher_ends_a_running_move_on_the_page_after_a_confirmation_in_chromium() {
    let shots = screenshots_dir("moves");
    let work = tempfile::tempdir().unwrap();
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    for (user, role, password) in [
        (DISPATCHER_USER, Role::Dispatcher, DISPATCHER_PASSWORD),
        (AUDITOR_USER, Role::Auditor, AUDITOR_PASSWORD),
    ] {
        convoy_registry::add_user(&server.store, user, role, password).await.unwrap();
    }
    let token = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    register_vehicle(&server, "truck-07").await;
    let route = json!({ "type": "LineString", "coordinates": [[11.56, 48.16], [11.60, 48.16]] });
    let running = create_move(
        &server,
        &token,
        &json!({ "name": "office move", "vehicles": ["truck-07"], "route": route }),
    )
    .await;
    let from = Utc::now() + TimeSpan::days(1);
    let window = json!({ "from": from, "to": from + TimeSpan::hours(8) });
    let planned_plan =
        json!({ "name": "showroom move", "vehicles": ["truck-07"], "route": route, "window": window });
    let planned = create_move(&server, &token, &planned_plan).await;
    let reason = "delivered early; the crew went home";
    let config = json!({
        "base": server.url("/"),
        "dispatcher": { "user": DISPATCHER_USER, "password": DISPATCHER_PASSWORD },
        "auditor": { "user": AUDITOR_USER, "password": AUDITOR_PASSWORD },
        "running": { "id": running, "name": "office move" },
        "planned": { "id": planned, "name": "showroom move" },
        "reason": reason,
    });
    let mut browser = BrowserScript::start("moves.mjs", config, work.path(), &shots);
    let report = tokio::time::timeout(Duration::from_secs(300), async {
        if let Some(what) = browser.next_need().await {
            panic!("moves.mjs needs something unknown: {what}");
        }
        browser.report().await
    })
    .await
    .expect("the browser session finishes within 5 minutes");
    let steps = &report["steps"];

    // Each move's state; the running one offers an end, the planned one a cancellation.
    let offered = |state: &str, end: u64, cancel: u64| json!({ "state": state, "end": null, "end_buttons": end, "cancel_buttons": cancel });
    assert_eq!(steps["open"]["running"], offered("running", 1, 0), "{}", steps["open"]);
    assert_eq!(steps["open"]["planned"], offered("planned", 0, 1), "{}", steps["open"]);

    // Dismissing the confirmation changes nothing.
    let dismissed = &steps["dismissed"];
    assert!(
        dismissed["question"].as_str().unwrap().starts_with("End the move office move now?"),
        "{dismissed}"
    );
    assert_eq!(dismissed["running"], offered("running", 1, 0));

    // Accepted: ended by the dispatcher with the reason typed, shown in the row, nothing left
    // to end; the planned move is untouched.
    let ended = &steps["end"];
    assert_eq!(ended["message"], "Move office move ended.", "{ended}");
    assert_eq!(
        (ended["running"]["state"].as_str(), ended["running"]["end_buttons"].as_u64()),
        (Some("ended"), Some(0))
    );
    let shown_end = ended["running"]["end"].as_str().unwrap();
    assert!(
        shown_end.starts_with("ended ") && shown_end.ends_with(&format!("by {DISPATCHER_USER}: {reason}")),
        "{shown_end}"
    );
    assert_eq!(ended["planned"], offered("planned", 0, 1));
    let end = server.store.move_record(&running).await.unwrap().unwrap().end.expect("ended in the store");
    assert_eq!((end.by.as_str(), end.reason.as_str(), end.cancelled), (DISPATCHER_USER, reason, false));
    let (_, audit) = server.get_json("/api/v1/audit?action=move.end", &token).await;
    let entries = audit["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "one end, not the dismissed one: {audit}");
    assert_eq!(
        (entries[0]["actor"].as_str(), entries[0]["detail"]["reason"].as_str()),
        (Some(DISPATCHER_USER), Some(reason))
    );

    // An auditor sees the states, and nothing to end or cancel.
    let auditor = &steps["auditor"];
    assert_eq!(
        (auditor["running"]["state"].as_str(), auditor["planned"]["state"].as_str()),
        (Some("ended"), Some("planned"))
    );
    assert_eq!(auditor["forms"], 0, "{auditor}");
    server.stop().await;
}
