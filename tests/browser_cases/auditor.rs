//! An auditor's session: the record and nothing live.

use crate::*;

/// An auditor works from the record: the page offers the moves, their replay, exports and
/// reports, and the audit log, and nothing live (as the API allows them nothing live): no live
/// map, so no live feed and no alert to acknowledge though one is open, and no planning of
/// moves, not even by typing the address. What they open works.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_auditor_replays_exports_and_reads_the_audit_log_with_no_live_controls_in_chromium() {
    let shots = screenshots_dir("auditor");
    let work = tempfile::tempdir().unwrap();
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    convoy_registry::add_user(&server.store, AUDITOR_USER, Role::Auditor, AUDITOR_PASSWORD).await.unwrap();
    let token = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let route = Route::munich().unwrap().points().to_vec();
    let (past, past_password) = register_vehicle(&server, "truck-past").await;
    let (detour, detour_password) = register_vehicle(&server, "truck-detour").await;

    // Driven two hours ago: an auditor reads places an hour old or older (`[access]`).
    let t0 = Utc::now().trunc_subsecs(0) - TimeSpan::hours(2) - TimeSpan::seconds(1200);
    let plan = json!({
        "name": MOVE_NAME,
        "vehicles": ["truck-past", "truck-detour"],
        "route": { "type": "LineString", "coordinates": route.iter().map(|p| [p.x(), p.y()]).collect::<Vec<_>>() },
        "corridor_m": 150,
        "window": { "from": t0 - TimeSpan::seconds(5), "to": Utc::now() + TimeSpan::hours(1) },
        "rules": { "late_after_s": 100_000, "signal_lost_after_s": 100_000 },
    });
    let move_id = create_move(&server, &token, &plan).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    // A drive on the route, and one that leaves it: an alert opens, and nobody deals with it.
    let past_fixes = fixes(&route[..400], t0, 1);
    let detour_fixes = fixes(&with_detour(&route, 500, 620, 400.0)[..570], t0, 1);
    publish_fixes(&server, &past, &past_password, &past_fixes, 5).await;
    publish_fixes(&server, &detour, &detour_password, &detour_fixes, 5).await;
    let open_alerts = format!("/api/v1/alerts?state=open&move={move_id}");
    let alert = eventually(Duration::from_secs(30), "the off-route alert", || async {
        server.get_json(&open_alerts, &token).await.1["alerts"].as_array().and_then(|a| a.first().cloned())
    })
    .await;
    let alert_id = alert["id"].as_str().unwrap();

    let config = json!({
        "base": server.url("/"),
        "auditor": { "user": AUDITOR_USER, "password": AUDITOR_PASSWORD },
        "move_id": move_id,
        "move_name": MOVE_NAME,
        "past_vehicle": past.to_string(),
        "detour_vehicle": detour.to_string(),
        "alert_id": alert_id,
    });
    let mut browser = BrowserScript::start("auditor.mjs", config, work.path(), &shots);
    let report = tokio::time::timeout(Duration::from_secs(300), async {
        if let Some(what) = browser.next_need().await {
            panic!("auditor.mjs needs something unknown: {what}");
        }
        browser.report().await
    })
    .await
    .expect("the browser session finishes within 5 minutes");
    let steps = &report["steps"];

    // Nothing live in any view they saw: no live map, no connection line, no alert panel, no
    // acknowledge or resolve button, no note field, no form to plan a move.
    for (name, step) in steps.as_object().unwrap() {
        for control in [
            "live_maps",
            "connection_lines",
            "alert_panels",
            "ack_buttons",
            "resolve_buttons",
            "note_fields",
            "setup_forms",
        ] {
            assert_eq!(step[control], 0, "{control} in step {name}: {step}");
        }
    }
    // And the page never opened the live feed.
    assert_eq!(report["websockets"], json!([]), "{report:#}");

    // The record, and only the record, is offered: they land on the moves.
    let login = &steps["login"];
    assert_eq!(login["hash"], "#/moves");
    assert_eq!(login["who"], format!("{AUDITOR_USER} (auditor)"));
    assert_eq!(
        login["nav"],
        json!([
            "Moves",
            "Replay",
            "Exports",
            "Report",
            "Daily report",
            "Alert history",
            "Audit log",
            "Holds"
        ])
    );
    assert_eq!(login["move_name"], MOVE_NAME);
    assert_eq!(
        login["move_links"],
        json!(["Replay", "Exports", "Report", "Seals"]),
        "no live link for the move"
    );
    assert_eq!(login["plan_links"], 0);
    assert_eq!(login["badge_visible"], false, "an alert is open, but not theirs to deal with");
    // Typing the address of the live map or of the move planner leads back to the moves.
    assert_eq!(steps["no_live_map"]["landed"], "#/moves");
    assert_eq!(steps["no_move_setup"]["landed"], "#/moves");

    // The replay: both drives, and the alert on the timeline, where a click takes them.
    let replay = &steps["replay"];
    assert_eq!(replay["hash"], format!("#/replay/{move_id}"));
    let positions = past_fixes.len() + detour_fixes.len();
    assert!(
        replay["message"].as_str().unwrap().starts_with(&format!("2 vehicles, {positions} positions, ")),
        "{replay}"
    );
    assert_eq!(replay["alert_marks"], 1);
    assert_eq!(time(&replay["at_alert"]), time(&alert["opened_t"]));
    assert_eq!(replay["markers"], json!(["truck-detour", "truck-past"]));
    assert_eq!(replay["play_enabled"], true);

    // The exports: every format offered; the file of all vehicles holds each one's fixes.
    let exports = &steps["exports"];
    assert_eq!(
        exports["buttons"],
        json!(["Download GPX", "Download GeoJSON", "Download KML", "Download CSV"])
    );
    assert_eq!(exports["enabled"], json!([true, true, true, true]));
    assert_eq!(exports["vehicle"], "", "all vehicles");
    let collection: Value =
        serde_json::from_str(&std::fs::read_to_string(exports["file"].as_str().unwrap()).unwrap()).unwrap();
    let features = collection["features"].as_array().unwrap();
    for (vehicle, stored) in [("truck-past", &past_fixes), ("truck-detour", &detour_fixes)] {
        let read: Vec<Position> = features
            .iter()
            .filter(|f| f["properties"]["vehicle"] == vehicle)
            .map(|f| serde_json::from_value(f["properties"].clone()).unwrap())
            .collect();
        assert!(&read == stored, "{vehicle}'s fixes in the GeoJSON export");
    }
    assert_eq!(features.len(), positions);
    // The evidence bundle, saved from the page, holds when verified by the binary.
    let bundle = exports["evidence_file"].as_str().unwrap();
    assert!(exports["evidence_name"].as_str().unwrap().ends_with(".convoy-evidence.jsonl.gz"));
    let verified = std::process::Command::new(env!("CARGO_BIN_EXE_convoy"))
        .args(["evidence", "verify", bundle])
        .output()
        .unwrap();
    let verdict = String::from_utf8_lossy(&verified.stdout);
    assert!(verified.status.success() && verdict.contains("VERDICT: holds"), "{verdict}");

    // The report: the open alert in its log, a print button.
    let printed = &steps["move_report"];
    assert_eq!(printed["name_shown"], MOVE_NAME);
    assert_eq!(printed["alerts"], json!([alert_id]));
    assert_eq!(printed["print_buttons"], 1);

    // The audit log, filtered to them: what this session did, and no live feed opened.
    let audit = &steps["audit_log"];
    assert!(audit["actors"].as_array().unwrap().iter().all(|a| a == AUDITOR_USER), "{audit}");
    let actions: Vec<&str> =
        audit["actions"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    for action in ["login.ok", "move.replay", "export.download", "move.report"] {
        assert!(actions.contains(&action), "{action} in the audit log: {actions:?}");
    }
    assert!(!actions.contains(&"live.open"), "{actions:?}");
    assert!(audit["head"].as_str().unwrap().starts_with("Chain head: entry "), "{audit}");

    // The alert is as it was: open, nobody acknowledged it.
    let (_, after) = server.get_json(&format!("/api/v1/alerts/{alert_id}"), &token).await;
    assert_eq!((after["state"].as_str(), after["acknowledged_by"].as_str()), (Some("open"), None));
    server.stop().await;
}
