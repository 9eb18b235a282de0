//! A move's seals and checkpoints on the page (issue 15, custody).

use crate::*;

/// The smallest touch target allowed, in CSS px.
const TOUCH_PX: f64 = 44.0;

/// An admin lists two sealed items on the page; the move's escort, on a phone (360x740, touch),
/// opens Seals from the live map, records loading with both seals intact and unloading with one
/// broken; the checkpoints are listed with the vehicle's position, and the seal alert appears in
/// the live map's alert panel. On SQLite.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_admin_lists_seals_and_an_escort_on_a_phone_records_checkpoints_and_sees_the_seal_alert_in_chromium(
) {
    let shots = screenshots_dir("seals");
    let work = tempfile::tempdir().unwrap();
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let token = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let (truck, password) = register_vehicle(&server, "truck-01").await;
    register_vehicle(&server, "escort-1").await;
    let plan = json!({
        "name": "Sealed move",
        "vehicles": ["truck-01", "escort-1"],
        "route": { "type": "LineString", "coordinates": [[11.56, 48.16], [11.57, 48.17]] },
        "corridor_m": 200,
        "rules": { "signal_lost_after_s": 100_000 },
    });
    let move_id = create_move(&server, &token, &plan).await;
    server.store.set_move_team(&move_id, &[ESCORT_USER.to_string()]).await.unwrap();
    let fix = Position {
        seq: 1,
        t: Utc::now().trunc_subsecs(0) - TimeSpan::seconds(5),
        lat: 48.165,
        lon: 11.565,
        alt_m: None,
        speed_mps: Some(0.0),
        course_deg: None,
        fix: Some(FixMode::ThreeD),
        sats: Some(9),
        hdop: Some(0.9),
        accuracy_m: None,
    };
    publish_fixes(&server, &truck, &password, &[fix], 1).await;
    let seals = json!([
        { "label": "Rack 3 crate", "number": "SL-1001", "contents": "payroll disks", "sensitivity": "secret", "vehicle": "truck-01" },
        { "label": "Archive box <b>7</b>", "number": "SL-1002", "contents": "paper files", "sensitivity": "confidential", "vehicle": "" },
    ]);
    let base = json!({
        "base": server.url("/"),
        "admin": { "user": ADMIN_USER, "password": ADMIN_PASSWORD },
        "escort": { "user": ESCORT_USER, "password": ESCORT_PASSWORD },
        "move_id": move_id,
        "seals": seals,
    });
    let run = |config: Value, part: &'static str| {
        let (work, shots) = (work.path().join(part), shots.join(part));
        async move {
            std::fs::create_dir_all(&work).unwrap();
            std::fs::create_dir_all(&shots).unwrap();
            let mut browser = BrowserScript::start("seals.mjs", config, &work, &shots);
            tokio::time::timeout(Duration::from_secs(300), async {
                if let Some(what) = browser.next_need().await {
                    panic!("seals.mjs needs something unknown: {what}");
                }
                browser.report().await
            })
            .await
            .expect("the browser session finishes within 5 minutes")
        }
    };

    let mut admin = base.clone();
    admin["part"] = json!("admin");
    let admin_report = run(admin, "admin").await;
    let listed = &admin_report["steps"]["list_two_seals"];
    assert_eq!(listed["hash"], format!("#/seals/{move_id}"), "{admin_report}");
    assert_eq!(listed["status"], 200, "{listed}");
    assert_eq!(listed["numbers"], json!(["SL-1001", "SL-1002"]));
    assert_eq!(listed["labels"], json!(["Rack 3 crate", "Archive box <b>7</b>"]), "text shown as text");
    let stored = server.store.move_seals(&move_id).await.unwrap();
    let summary: Vec<_> = stored
        .iter()
        .map(|s| (s.number.as_str(), s.sensitivity.as_str(), s.vehicle.as_ref().map(|v| v.to_string())))
        .collect();
    assert_eq!(
        summary,
        [("SL-1001", "secret", Some("truck-01".to_string())), ("SL-1002", "confidential", None)]
    );

    let mut escort = base.clone();
    escort["part"] = json!("escort");
    escort["viewport"] = json!({ "width": 360, "height": 740 });
    escort["touch"] = json!(true);
    let report = run(escort, "escort").await;
    let steps = &report["steps"];
    let opened = &steps["open_from_the_live_map"];
    assert_eq!(opened["hash"], format!("#/seals/{move_id}"), "{report}");
    assert_eq!(opened["seals"], json!(["SL-1001", "SL-1002"]));
    assert_eq!(opened["list_forms"], 0, "an escort does not edit the list");
    let px = |v: &Value, name: &str| v[name].as_f64().unwrap_or_else(|| panic!("{name} in {v}"));
    assert!(px(opened, "scroll_width") <= px(opened, "inner_width"), "no sideways scroll: {opened}");
    let smallest = &opened["targets"][0];
    assert!(
        px(smallest, "width") >= TOUCH_PX && px(smallest, "height") >= TOUCH_PX,
        "every target at least 44x44: {smallest}"
    );

    let loading = &steps["loading_all_intact"];
    assert_eq!(loading["status"], 201, "{loading}");
    assert_eq!(loading["message"], "Checkpoint recorded.");
    assert_eq!(loading["body"]["fix"]["seq"], 1, "the truck's latest fix: {loading}");
    let unloading = &steps["unloading_one_broken"];
    assert_eq!(unloading["status"], 201, "{unloading}");
    assert_eq!(unloading["message"], "Checkpoint recorded: a seal alert was raised.");
    assert_eq!(
        unloading["checkpoints"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["stage"].clone(), c["alarming"].clone(), c["states"].clone()))
            .collect::<Vec<_>>(),
        [
            (json!("unloading"), json!(true), json!(["broken", "intact"])),
            (json!("loading"), json!(false), json!(["intact", "intact"])),
        ],
        "newest first"
    );
    assert!(px(unloading, "scroll_width") <= px(unloading, "inner_width"), "{unloading}");
    let alert = &steps["the_alert_is_in_the_panel"];
    assert_eq!(alert["count"], 1, "{alert}");
    assert!(alert["text"].as_str().unwrap().contains("SL-1001"), "{alert}");

    let checkpoints = server.store.checkpoints(&move_id).await.unwrap();
    assert_eq!(checkpoints.len(), 2);
    assert!(checkpoints.iter().all(|c| c.by == ESCORT_USER));
    for report in [&admin_report, &report] {
        assert_eq!(report["page_errors"], json!([]), "no script error on the page: {report}");
    }
    server.stop().await;
}
