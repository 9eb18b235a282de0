//! A person's whole session on the page, from login to logout, and an escort's smaller view.

use crate::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_person_logs_in_watches_acknowledges_replays_exports_and_logs_out_in_chromium() {
    let shots = screenshots_dir("session");
    let work = tempfile::tempdir().unwrap();

    // A base map that cannot be reached (nothing listens there): the map must do without it.
    let tiles = format!("http://127.0.0.1:{}/{{z}}/{{x}}/{{y}}.png", convoy_testkit::free_port());
    let server = TestServer::start_configured(Backend::Sqlite, BrokerKind::Embedded, |config| {
        config.web = WebSettings {
            tile_url: Some(tiles),
            tile_attribution: Some(ATTRIBUTION.into()),
            ..Default::default()
        };
    })
    .await;
    let token = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let route = Route::munich().unwrap().points().to_vec();
    let (live, live_password) = register_vehicle(&server, "truck-live").await;
    let (past, past_password) = register_vehicle(&server, "truck-past").await;
    let (detour, detour_password) = register_vehicle(&server, "truck-detour").await;

    // A drive recorded earlier, with a minute of missing data and a halt of 150 s.
    let past_points = with_halt(&route, HALT_AT, HALT_S);
    let t0 = Utc::now().trunc_subsecs(0) - TimeSpan::seconds(past_points.len() as i64 + 120);
    let mut past_fixes = fixes(&past_points, t0, 1);
    past_fixes.drain(GAP_AT..GAP_AT + GAP_FIXES);
    // A minute into the halt (its first point is reached driving, then it stands).
    let halt_middle = t0 + TimeSpan::seconds(HALT_AT as i64 + 60);

    let plan = json!({
        "name": MOVE_NAME,
        "vehicles": ["truck-live", "truck-past", "truck-detour"],
        "route": { "type": "LineString", "coordinates": route.iter().map(|p| [p.x(), p.y()]).collect::<Vec<_>>() },
        "corridor_m": 150,
        "zones": { "type": "FeatureCollection", "features": [{
            "type": "Feature",
            "geometry": { "type": "Point", "coordinates": [route[HALT_AT].x(), route[HALT_AT].y()] },
            "properties": { "name": ZONE_NAME, "kind": "allowed_stop", "radius_m": 80 },
        }]},
        "window": { "from": t0 - TimeSpan::seconds(5), "to": Utc::now() + TimeSpan::hours(1) },
        // Fixes taken up to half an hour ago are news here, and nobody is silent for long.
        "rules": { "late_after_s": 100_000, "signal_lost_after_s": 100_000 },
    });
    let move_id = create_move(&server, &token, &plan).await;
    // The alert service learns of the move before the vehicles drive.
    tokio::time::sleep(Duration::from_millis(500)).await;
    publish_fixes(&server, &past, &past_password, &past_fixes, 5).await;

    // A vehicle driving now, a fix a second, for as long as the browser watches.
    let driving = Arc::new(AtomicBool::new(true));
    let live_fixes =
        tokio::spawn(drive_live(server.mqtt, live.clone(), live_password, route.clone(), driving.clone()));

    // The route of a move planned on the page, uploaded as a GPX file.
    let new_route: Vec<Point> = route.iter().step_by(50).copied().collect();
    let config = json!({
        "base": server.url("/"),
        "admin": { "user": ADMIN_USER, "password": ADMIN_PASSWORD },
        "escort": { "user": ESCORT_USER, "password": ESCORT_PASSWORD },
        "move_id": move_id,
        "move_name": MOVE_NAME,
        "live_vehicle": live.to_string(),
        "past_vehicle": past.to_string(),
        "detour_vehicle": detour.to_string(),
        "past_start": past_fixes[0].t,
        "halt_middle": halt_middle,
        "note": NOTE,
        "resolve_note": RESOLVE_NOTE,
        "new_move": {
            "name": NEW_MOVE,
            "gpx": gpx(&new_route),
            "corridor_m": 200,
            "zone_name": NEW_ZONE,
            "zone_radius_m": 250,
        },
    });
    let mut browser = BrowserScript::start("run.mjs", config, work.path(), &shots);
    // The off-route drive starts when the page is watching: the alert must appear live.
    let detour_fixes = {
        let points = with_detour(&route, 500, 620, 400.0);
        // Up to the middle of the detour: the alert opens and stays open.
        let t0 = Utc::now().trunc_subsecs(0) - TimeSpan::seconds(600);
        fixes(&points[..570], t0, 1)
    };
    let mut acknowledged_in_api = Value::Null;
    let report = tokio::time::timeout(Duration::from_secs(600), async {
        while let Some(what) = browser.next_need().await {
            if what == "detour" {
                publish_fixes(&server, &detour, &detour_password, &detour_fixes, 5).await;
            } else if let Some(id) = what.strip_prefix("acknowledged ") {
                acknowledged_in_api = server.get_json(&format!("/api/v1/alerts/{id}"), &token).await.1;
            } else {
                panic!("run.mjs needs something unknown: {what}");
            }
            browser.done(&what).await;
        }
        browser.report().await
    })
    .await
    .expect("the browser session finishes within 10 minutes");
    driving.store(false, Ordering::Relaxed);
    let live_fixes = live_fixes.await.unwrap();

    let steps = &report["steps"];

    // Login: a wrong password is refused with a message; the right one opens the live map.
    assert_eq!(steps["login_refused"]["message"], "Wrong user name or password.");
    assert_eq!(steps["login_refused"]["still_on_login"], true);
    assert_eq!(steps["login"]["who"], format!("{ADMIN_USER} (admin)"));
    assert_eq!(
        steps["login"]["nav"],
        json!([
            "Live map",
            "Moves",
            "Plan a move",
            "Replay",
            "Exports",
            "Report",
            "Daily report",
            "Alert history",
            "Audit log",
            "Phones",
            "Holds",
            "Vehicles",
            "People"
        ])
    );
    // The move's name, HTML and all, is shown as text.
    assert_eq!(steps["login"]["move_option"], format!("{MOVE_NAME} ({move_id})"));
    assert_eq!(steps["login"]["move_option_elements"], 0);
    // No base map: the route, its corridor and its zone are drawn all the same.
    assert_eq!(steps["login"]["tiles"], "unreachable");
    assert_eq!(steps["login"]["route_drawn"], true);
    assert_eq!(steps["login"]["corridor_drawn"], 1);
    assert_eq!(steps["login"]["zones_drawn"], 1);
    assert_eq!(steps["login"]["attribution"], ATTRIBUTION);

    // Vehicles move: the live vehicle's marker stood at two of its fixes, in driving order.
    let vehicles_move = &steps["vehicles_move"];
    let index_of = |seen: &Value| {
        let (lat, lon) = (seen["lat"].as_f64().unwrap(), seen["lon"].as_f64().unwrap());
        live_fixes
            .iter()
            .position(|f| f.lat == lat && f.lon == lon)
            .expect("the marker stands at a published fix")
    };
    assert!(index_of(&vehicles_move["second"]) > index_of(&vehicles_move["first"]), "{vehicles_move}");
    assert!(vehicles_move["age"].as_str().unwrap().ends_with(" s ago"), "{vehicles_move}");
    assert!(
        vehicles_move["arrow_transform"].as_str().unwrap().starts_with("rotate("),
        "turned to its heading"
    );
    assert_eq!(vehicles_move["connection"], "● live");
    assert_eq!(vehicles_move["agent"], "agent: online · GNSS fix");
    // Following keeps it in the middle of the map (to the pixel, give or take rounding).
    assert_eq!(vehicles_move["following"]["pressed"], "true");
    assert!(vehicles_move["following"]["off_centre_px"].as_f64().unwrap() < 2.0, "{vehicles_move}");
    // The recorded drive's last fix is minutes old: greyed.
    assert_eq!(vehicles_move["past_marker"]["state"], "stale");
    assert!(vehicles_move["past_row_classes"].as_str().unwrap().contains("stale"));

    // The alert appeared while the page watched: it rang and stands out.
    let appeared = &steps["alert_appears"];
    assert!(appeared["beeps_after"].as_u64() > appeared["beeps_before"].as_u64(), "a beep: {appeared}");
    assert!(appeared["classes"].as_str().unwrap().contains("unacknowledged"), "{appeared}");
    assert!(appeared["classes"].as_str().unwrap().contains("fresh"), "{appeared}");
    assert_eq!(appeared["badge"], "1 open alert");
    assert_eq!(appeared["ack_disabled_without_note"], true, "a note is required");

    // Acknowledged with the note, which the API then showed, and the page shows as text.
    let alert_id = appeared["id"].as_str().unwrap();
    assert_eq!(acknowledged_in_api["id"], alert_id);
    assert_eq!(acknowledged_in_api["state"], "acknowledged");
    assert_eq!(acknowledged_in_api["acknowledged_by"], ADMIN_USER);
    assert_eq!(acknowledged_in_api["note"], NOTE);
    let (status, alert) = server.get_json(&format!("/api/v1/alerts/{alert_id}"), &token).await;
    assert_eq!(status, 200);
    assert_eq!(alert["kind"], "off_route");
    assert_eq!(alert["vehicle"], "truck-detour");
    assert_eq!(alert["acknowledged_by"], ADMIN_USER);
    let transitions: Vec<(&str, &str, &str)> = alert["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["state"].as_str().unwrap(), t["by"].as_str().unwrap(), t["note"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        transitions,
        vec![
            ("open", "rule", ""),
            ("acknowledged", ADMIN_USER, NOTE),
            ("resolved", ADMIN_USER, RESOLVE_NOTE)
        ]
    );
    let acknowledged = &steps["acknowledge"];
    assert_eq!(acknowledged["note_shown"], NOTE);
    assert_eq!(acknowledged["elements_in_note"], 0);
    assert_eq!(acknowledged["images_in_alert_list"], 0);
    assert_eq!(acknowledged["injected_script_ran"], false);
    assert!(acknowledged["acknowledged_line"]
        .as_str()
        .unwrap()
        .starts_with(&format!("Acknowledged by {ADMIN_USER} at ")));

    // Then resolved on the page (it leaves the panel), with a note of its own.
    assert_eq!(alert["state"], "resolved");
    assert_eq!(alert["resolved_by"], ADMIN_USER);
    assert_eq!(steps["resolve"]["alerts_left"], 0);

    // Replay: the gap stays a gap (the marker waits, greyed, at the last fix before it) ...
    let replay = &steps["replay"];
    let gap = &replay["gap"];
    let last_before_gap = &past_fixes[GAP_AT - 1];
    assert_eq!(time(&gap["from"]), last_before_gap.t);
    assert_eq!(time(&gap["to"]), past_fixes[GAP_AT].t);
    for seen in [&gap["in_gap"]["marker"], &gap["later_in_gap"]] {
        assert_eq!(seen["state"], "gap", "{gap}");
        assert_eq!(
            (seen["lat"].as_f64(), seen["lon"].as_f64()),
            (Some(last_before_gap.lat), Some(last_before_gap.lon))
        );
    }
    // ... stops and alerts on the timeline jump there ...
    let at_stop = &replay["at_stop"];
    assert!(time(&at_stop["mark"]) < halt_middle && halt_middle < time(&at_stop["mark_to"]), "{at_stop}");
    assert_eq!(time(&at_stop["t"]), time(&at_stop["mark"]), "the click jumped to the stop's start");
    assert_eq!(time(&replay["at_alert"]["t"]), time(&alert["opened_t"]));
    // ... and at 60x, replay time runs 60 times as fast as the page's clock; slider and marker move.
    let (before, after) = (&replay["before"], &replay["after"]);
    let ratio = (after["ms"].as_f64().unwrap() - before["ms"].as_f64().unwrap())
        / (after["wall"].as_f64().unwrap() - before["wall"].as_f64().unwrap());
    assert!((ratio - 60.0).abs() < 0.01, "replay speed {ratio} for 60x: {replay}");
    assert!(after["slider"].as_f64() > before["slider"].as_f64(), "{replay}");
    assert_ne!(after["marker"], before["marker"], "the marker moved: {replay}");
    assert!(replay["speed_shown"].as_str().unwrap().ends_with("(60x)"));

    // The GPX export: the recorded drive's fixes, all of them, in two segments around the gap.
    let export = &steps["export_gpx"];
    assert_eq!(export["root"], "gpx", "{}", export["error"]);
    assert!(export["file_name"].as_str().unwrap().ends_with(".gpx"), "{export}");
    assert!(std::fs::read_to_string(export["file"].as_str().unwrap()).unwrap().starts_with("<?xml"));
    assert_eq!(export["tracks"], json!(["truck-past"]));
    assert_eq!(export["segments"], 2, "split at the gap");
    let points = export["points"].as_array().unwrap();
    assert_eq!(points.len(), past_fixes.len());
    for (point, fix) in points.iter().zip(&past_fixes) {
        assert_eq!(point["lat"].as_f64(), Some(fix.lat));
        assert_eq!(point["lon"].as_f64(), Some(fix.lon));
        assert_eq!(time(&point["t"]), fix.t);
    }

    // The other formats, each through its own button, for the same vehicle: the same fixes,
    // point by point, with everything each format carries of them.
    let csv = &steps["export_csv"];
    assert!(csv["file_name"].as_str().unwrap().ends_with(".csv"), "{csv}");
    assert_eq!(csv["vehicle"], "truck-past");
    let rows = csv_records(&std::fs::read_to_string(csv["file"].as_str().unwrap()).unwrap());
    assert_eq!(
        rows[0],
        [
            "vehicle",
            "seq",
            "t",
            "lat",
            "lon",
            "speed_mps",
            "course_deg",
            "alt_m",
            "hdop",
            "sats",
            "fix",
            "late",
            "implausible",
            "received_at"
        ]
    );
    assert_eq!(rows.len() - 1, past_fixes.len(), "a row per fix");
    for (row, fix) in rows[1..].iter().zip(&past_fixes) {
        assert_eq!(row[0], "truck-past");
        assert_eq!(&csv_position(row), fix, "{row:?}");
    }

    let geojson = &steps["export_geojson"];
    assert!(geojson["file_name"].as_str().unwrap().ends_with(".geojson"), "{geojson}");
    assert_eq!(geojson["vehicle"], "truck-past");
    let collection: Value =
        serde_json::from_str(&std::fs::read_to_string(geojson["file"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(collection["type"], "FeatureCollection");
    assert_eq!(collection["name"], MOVE_NAME);
    let features = collection["features"].as_array().unwrap();
    assert_eq!(features.len(), past_fixes.len(), "a feature per fix");
    for (feature, fix) in features.iter().zip(&past_fixes) {
        assert_eq!(feature["geometry"], json!({ "type": "Point", "coordinates": [fix.lon, fix.lat] }));
        assert_eq!(feature["properties"]["vehicle"], "truck-past");
        let read: Position = serde_json::from_value(feature["properties"].clone()).unwrap();
        assert_eq!(&read, fix);
    }

    let kml = &steps["export_kml"];
    assert_eq!(kml["root"], "kml", "{}", kml["error"]);
    assert!(kml["file_name"].as_str().unwrap().ends_with(".kml"), "{kml}");
    assert_eq!(kml["folders"], json!(["truck-past"]));
    let placemarks = kml["placemarks"].as_array().unwrap();
    let names: Vec<&str> = placemarks.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["truck-past part 1", "truck-past part 2"], "split at the gap");
    assert_eq!(placemarks[0]["points"].as_array().unwrap().len(), GAP_AT);
    let points: Vec<&Value> = placemarks.iter().flat_map(|p| p["points"].as_array().unwrap()).collect();
    assert_eq!(points.len(), past_fixes.len());
    for (point, fix) in points.into_iter().zip(&past_fixes) {
        assert_eq!(time(&point["t"]), fix.t);
        assert_eq!((point["lat"].as_f64(), point["lon"].as_f64()), (Some(fix.lat), Some(fix.lon)));
        assert_eq!(point["alt"].as_f64(), Some(0.0), "no altitude: on the ground");
        assert_eq!(point["seq"].as_u64(), Some(fix.seq));
        assert_eq!(point["speed_mps"].as_f64(), fix.speed_mps);
        assert_eq!(point["course_deg"].as_f64(), fix.course_deg, "none where it stood: {point}");
    }

    // The report: the name as text, the note in the alert log; printing drops the controls.
    let printed = &steps["move_report"];
    assert_eq!(printed["name_shown"], MOVE_NAME);
    assert_eq!(printed["zones"], json!([ZONE_NAME]));
    assert_eq!(printed["elements_in_zones"], 0);
    assert_eq!(printed["elements_in_name"], 0);
    let notes = printed["notes"].as_array().unwrap();
    assert!(notes.contains(&json!(NOTE)) && notes.contains(&json!(RESOLVE_NOTE)), "{printed}");
    assert_eq!(printed["vehicles"], 3);
    // Each vehicle's completeness, as the API gives it (asked again now: its vehicles still
    // drive, so the page showed no more fixes than there are now).
    let (_, report) = server.get_json(&format!("/api/v1/moves/{move_id}/report"), &token).await;
    let rows = printed["completeness"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{printed}");
    for (row, vehicle) in rows.iter().zip(report["vehicles"].as_array().unwrap()) {
        let c = &vehicle["completeness"];
        assert_eq!(row[0], vehicle["vehicle"], "{row}");
        match (c["fixes"].as_u64(), c["expected_fixes"].as_u64()) {
            (Some(fixes), Some(expected)) => {
                let shown = row[2].as_str().unwrap();
                let counted = shown.split_once('(').and_then(|(_, rest)| rest.strip_suffix(')'));
                let (page_fixes, page_expected) = counted
                    .and_then(|c| c.split_once(" of "))
                    .map(|(f, e)| (f.parse::<u64>().unwrap(), e.parse::<u64>().unwrap()))
                    .unwrap_or_else(|| panic!("{shown}"));
                assert!(
                    page_fixes > 0 && page_fixes <= fixes && page_expected <= expected,
                    "{shown} for {c}"
                );
                let percent = 100.0 * page_fixes as f64 / page_expected as f64;
                assert!(shown.starts_with(&format!("{percent:.1} %")), "{shown}");
            }
            _ => assert_eq!(row[2], "—", "{c}"),
        }
        assert_eq!(row[5], c["spool_drops"].to_string(), "{row}");
    }
    assert_eq!(printed["print"], json!({ "controls_visible": false, "header_visible": false }));

    // A move planned on the page: route file previewed, corridor, a zone clicked on the map,
    // a vehicle and the escort team.
    let planned = &steps["plan_move"];
    let preview = format!("{} route points, 0 zones from route.gpx.", new_route.len());
    assert_eq!(planned["route_preview"], preview.as_str(), "{planned}");
    assert_eq!(planned["corridor_paths"], 1);
    assert_eq!(planned["zone_paths"], 1);
    let new_move = planned["move_id"].as_str().unwrap_or_else(|| panic!("a new move: {planned}"));
    let (status, created) = server.get_json(&format!("/api/v1/moves/{new_move}"), &token).await;
    assert_eq!(status, 200);
    assert_eq!(created["name"], NEW_MOVE);
    assert_eq!(created["plan"]["vehicles"], json!(["truck-past"]));
    assert_eq!(created["plan"]["corridor_m"], 200.0);
    assert_eq!(created["plan"]["route"]["coordinates"].as_array().unwrap().len(), new_route.len());
    let zone = &created["plan"]["zones"]["features"][0];
    assert_eq!(zone["properties"]["name"], NEW_ZONE);
    assert_eq!(zone["properties"]["kind"], "forbidden");
    assert_eq!(zone["properties"]["radius_m"], 250.0);
    assert_eq!(zone["geometry"]["type"], "Point");
    assert_eq!(created["team"], json!([ESCORT_USER]));

    // The audit log shows what this session did: the refused and the accepted login, the
    // acknowledgement, the replay, the export.
    let audit = &steps["audit_log"];
    let actions: Vec<&str> =
        audit["actions"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    for action in ["login.failed", "login.ok", "alert.ack", "alert.resolve", "move.replay", "export.download"]
    {
        assert!(actions.contains(&action), "{action} in the audit log: {actions:?}");
    }
    assert!(audit["head"].as_str().unwrap().starts_with("Chain head: entry "), "{audit}");
    // Each download is there, with its format and vehicle.
    let mut downloads: Vec<(String, String)> = audit["export_details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|detail| {
            let detail: Value = serde_json::from_str(detail.as_str().unwrap()).unwrap();
            (detail["format"].as_str().unwrap().into(), detail["vehicle"].as_str().unwrap_or("").into())
        })
        .collect();
    downloads.sort();
    let expected: Vec<(String, String)> =
        ["csv", "geojson", "gpx", "kml"].iter().map(|f| (f.to_string(), "truck-past".to_string())).collect();
    assert_eq!(downloads, expected);

    // Logout ends the token on the server, not only in the tab.
    let logout = &steps["logout"];
    assert_eq!(logout["token_after"], Value::Null);
    let (status, _) = server.get_json("/api/v1/me", logout["token"].as_str().unwrap()).await;
    assert_eq!(status, 401, "the token is revoked");

    // An escort sees the live map (and the alert history), and of it only the move they escort.
    let escort = &steps["escort_view"];
    assert_eq!(escort["nav"], json!(["Live map", "Alert history"]));
    assert_eq!(escort["vehicles"], json!(["truck-past"]));
    assert_eq!(escort["moves"], json!([format!("{NEW_MOVE} ({new_move})")]));

    assert!(std::fs::read_dir(&shots).unwrap().count() >= 10, "screenshots kept in {}", shots.display());
    server.stop().await;
}
