//! Legal holds placed and released on the page.

use crate::*;

/// An admin places a legal hold on a move from the page (#/holds) and releases it: a reversed
/// range is refused and shown, the hold placed covers the move's vehicles over its window, the
/// release says by whom and why, and both are in the audit log. An auditor sees the list with no
/// form to place or release. On PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_admin_places_and_releases_a_legal_hold_on_the_page_and_an_auditor_only_reads_in_chromium() {
    let shots = screenshots_dir("holds");
    let work = tempfile::tempdir().unwrap();
    let server = TestServer::start(Backend::Postgres, BrokerKind::Embedded).await;
    convoy_registry::add_user(&server.store, AUDITOR_USER, Role::Auditor, AUDITOR_PASSWORD).await.unwrap();
    let token = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    for vehicle in ["truck-07", "escort-1"] {
        register_vehicle(&server, vehicle).await;
    }
    let window =
        (Utc::now().trunc_subsecs(0) - TimeSpan::days(3), Utc::now().trunc_subsecs(0) - TimeSpan::days(2));
    let plan = json!({
        "name": "held move",
        "vehicles": ["truck-07", "escort-1"],
        "route": { "type": "LineString", "coordinates": [[11.56, 48.16], [11.57, 48.17]] },
        "corridor_m": 200,
        "window": { "from": window.0, "to": window.1 },
    });
    let move_id = create_move(&server, &token, &plan).await;
    let config = json!({
        "base": server.url("/"),
        "admin": { "user": ADMIN_USER, "password": ADMIN_PASSWORD },
        "auditor": { "user": AUDITOR_USER, "password": AUDITOR_PASSWORD },
        "move_id": move_id,
        "vehicle": "truck-07",
    });
    let mut browser = BrowserScript::start("holds.mjs", config, work.path(), &shots);
    let report = tokio::time::timeout(Duration::from_secs(300), async {
        if let Some(what) = browser.next_need().await {
            panic!("holds.mjs needs something unknown: {what}");
        }
        browser.report().await
    })
    .await
    .expect("the browser session finishes within 5 minutes");
    let steps = &report["steps"];

    assert!(steps["open"]["nav"].as_array().unwrap().iter().any(|item| item == "Holds"), "{}", steps["open"]);
    assert_eq!((steps["open"]["hash"].as_str(), steps["open"]["rows"].as_u64()), (Some("#/holds"), Some(0)));
    let refused = &steps["reversed_range_refused"];
    assert_eq!(
        (refused["status"].as_u64(), refused["reason"].as_str()),
        (Some(400), Some("bad_range")),
        "{refused}"
    );
    assert!(refused["message"].as_str().unwrap().contains("before its end"), "{refused}");
    assert_eq!(refused["rows"], 0);

    let placed = &steps["place_on_move"];
    let answer = &placed["answer"];
    assert_eq!(placed["status"], 201, "{answer}");
    assert_eq!(answer["vehicles"], json!(["escort-1", "truck-07"]));
    assert_eq!((time(&answer["from"]), time(&answer["to"])), window, "over the move's window");
    assert_eq!(
        (answer["reason"].as_str(), answer["reference"].as_str()),
        (Some("accident inquiry"), Some("INQ-7"))
    );
    assert_eq!(placed["covers"], format!("move {move_id} (escort-1, truck-07)"));
    assert_eq!(placed["state"], "In force");

    let released = &steps["release"];
    let state = released["state"].as_str().unwrap();
    assert!(
        state.starts_with("Released") && state.ends_with(&format!("by {ADMIN_USER}: inquiry closed")),
        "{state}"
    );
    assert_eq!(released["release_forms"], 0);
    let holds = server.store.legal_holds().await.unwrap();
    assert_eq!(holds.len(), 1);
    let release = holds[0].release.as_ref().unwrap();
    assert_eq!((release.by.as_str(), release.reason.as_str()), (ADMIN_USER, "inquiry closed"));

    let auditor = &steps["auditor"];
    assert_eq!(
        (auditor["rows"].as_u64(), auditor["place_forms"].as_u64(), auditor["release_forms"].as_u64()),
        (Some(1), Some(0), Some(0)),
        "{auditor}"
    );
    assert!(auditor["state"].as_str().unwrap().starts_with("Released"), "{auditor}");

    let (_, audit) = server.get_json(&format!("/api/v1/audit?actor={ADMIN_USER}"), &token).await;
    let actions: Vec<&str> =
        audit["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for action in ["holds.view", "hold.place", "hold.release"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    server.stop().await;
}
