//! Editing a move's plan on the page: before its start, then once it runs.

use crate::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dispatcher_edits_a_moves_plan_before_and_after_its_start_in_chromium() {
    let shots = screenshots_dir("move-edit");
    let work = tempfile::tempdir().unwrap();
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    convoy_registry::add_user(&server.store, DISPATCHER_USER, Role::Dispatcher, DISPATCHER_PASSWORD)
        .await
        .unwrap();
    let token = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    register_vehicle(&server, "truck-07").await;
    // Starts in 45 s: time for the page to edit it while planned, then it runs.
    let starts_at = Utc::now().trunc_subsecs(3) + TimeSpan::seconds(45);
    let window = json!({ "from": starts_at, "to": starts_at + TimeSpan::hours(2) });
    let route = json!({ "type": "LineString", "coordinates": [[11.56, 48.16], [11.60, 48.16]] });
    let plan = json!({ "name": "office move", "vehicles": ["truck-07"], "route": route, "window": window });
    let id = create_move(&server, &token, &plan).await;
    // Markup in a name is shown as text.
    let new_name = "office move <b>by the ring road</b>";
    let config = json!({
        "base": server.url("/"),
        "dispatcher": { "user": DISPATCHER_USER, "password": DISPATCHER_PASSWORD },
        "move": { "id": id, "name": "office move" },
        "starts_at_ms": starts_at.timestamp_millis(),
        "new_name": new_name,
        "new_corridor_m": 400,
    });
    let mut browser = BrowserScript::start("move_edit.mjs", config, work.path(), &shots);
    let report = tokio::time::timeout(Duration::from_secs(300), async {
        if let Some(what) = browser.next_need().await {
            panic!("move_edit.mjs needs something unknown: {what}");
        }
        browser.report().await
    })
    .await
    .expect("the browser session finishes within 5 minutes");
    let steps = &report["steps"];

    // Before the start: the whole plan is open, prefilled.
    let open = &steps["open"];
    assert!(open["state"].as_str().unwrap().starts_with("This move has not started"), "{open}");
    assert_eq!(
        open["open_fields"],
        json!([
            "name",
            "vehicles",
            "escorts",
            "corridor_m",
            "from",
            "to",
            "route",
            "zones",
            "rules",
            "time_zone",
            "team"
        ])
    );
    assert_eq!((open["name"].as_str(), open["corridor_m"].as_str()), (Some("office move"), Some("150")));
    assert_eq!(open["versions"], json!([{ "version": 1, "by": ADMIN_USER, "changes": "created" }]));

    // The name and corridor changed: version 2, by the dispatcher.
    let planned = &steps["planned"];
    assert_eq!(planned["message"], "Saved as version 2.", "{planned}");
    assert_eq!(planned["heading"], format!("Edit {new_name}"));
    assert_eq!(
        planned["versions"][0],
        json!({ "version": 2, "by": DISPATCHER_USER, "changes": "changed name, corridor" })
    );

    // After the start, the corridor is refused with the server's reason; nothing changed.
    let forbidden = &steps["forbidden"];
    let refusal = forbidden["message"].as_str().unwrap();
    assert!(
        refusal.starts_with("Not saved: the move has started: only its team and its end time")
            && refusal.contains("not corridor_m"),
        "{refusal}"
    );
    assert_eq!(forbidden["versions"].as_array().map(Vec::len), Some(2));

    // Running: only the end time and the team are open; a later end is version 3.
    let running = &steps["running"];
    assert_eq!(running["open_fields"], json!(["to", "team"]), "{running}");
    assert_eq!(running["message"], "Saved as version 3.");
    assert_eq!(
        running["versions"],
        json!([
            { "version": 3, "by": DISPATCHER_USER, "changes": "changed end time" },
            { "version": 2, "by": DISPATCHER_USER, "changes": "changed name, corridor" },
            { "version": 1, "by": ADMIN_USER, "changes": "created" },
        ])
    );
    let record = server.store.move_record(&id).await.unwrap().unwrap();
    assert_eq!((record.version, record.name.as_str()), (3, new_name));
    assert_eq!(record.plan["corridor_m"].as_f64(), Some(400.0));
    let end: chrono::DateTime<Utc> = record.plan["window"]["to"].as_str().unwrap().parse().unwrap();
    assert!(end > starts_at + TimeSpan::hours(2), "the end moved later: {end}");
    server.stop().await;
}
