//! The web page in a real browser: Debian's headless Chromium driven by playwright-core
//! (scripts in tests/browser/) against a real server (embedded broker, SQLite) with vehicles
//! publishing over MQTT.
//!
//! One session walks what a person does: a refused then accepted login, vehicles moving on the
//! live map, an off-route alert that rings and is acknowledged with a note (which the API then
//! shows), a replay at 60x with its gap, stop and alert marks, the exports in every format
//! (GPX, CSV, KML, GeoJSON) downloaded through the page's buttons and read back point by point,
//! the printable report, logout, and an escort's smaller view. HTML in a move name, a zone name
//! and a note is shown as text.
//!
//! An auditor's session: the record (moves, replay, exports, report, audit log) and nothing
//! live. A live map whose feed is cut: it says so, retries with backoff, and catches up. An
//! admin setting a phone up on the Phones view, and the phone reporting with what it was given.
//!
//! Screenshots of every step are kept in target/browser-screenshots/, a folder per test.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Duration as TimeSpan, SubsecRound, Utc};
use common::*;
use convoy::demo::simulator::Route;
use convoy_core::geometry::distance_m;
use convoy_core::{FixMode, Position, PositionBatch, Role, VehicleId};
use convoy_gateway::WebSettings;
use geo::Point;
use rumqttc::{AsyncClient, MqttOptions, QoS};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, ChildStdin, ChildStdout};
use tokio::sync::watch;

const MOVE_NAME: &str = "Move <b>bold</b> & <img src=x onerror=\"window.__convoy_xss=true\">";
const ZONE_NAME: &str = "Depot <script>window.__convoy_xss=true</script>";
const ATTRIBUTION: &str = "© <b>Tiles</b> & contributors";
const NEW_MOVE: &str = "Phase 2 <i>archive</i>";
const NEW_ZONE: &str = "Bridge <u>closed</u>";
const RESOLVE_NOTE: &str = "Back on the route <br> after the bridge";
const NOTE: &str = "Driver called: roadworks <img src=x onerror=\"window.__convoy_xss=true\"> & \"detour\"";
/// Where the recorded drive loses its data for a minute (fixes left out), and where it halts
/// (in an allowed stop zone: no alert).
const GAP_AT: usize = 300;
const GAP_FIXES: usize = 60;
const HALT_AT: usize = 800;
const HALT_S: usize = 150;
const AUDITOR_USER: &str = "auditor-ida";
const AUDITOR_PASSWORD: &str = "a long enough auditor password";
const DISPATCHER_USER: &str = "dispatcher-dan";
const DISPATCHER_PASSWORD: &str = "a long enough dispatcher password";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_person_logs_in_watches_acknowledges_replays_exports_and_logs_out_in_chromium() {
    let shots = screenshots_dir("session");
    let work = tempfile::tempdir().unwrap();

    // A base map that cannot be reached (nothing listens there): the map must do without it.
    let tiles = format!("http://127.0.0.1:{}/{{z}}/{{x}}/{{y}}.png", convoy_testkit::free_port());
    let server = TestServer::start_configured(Backend::Sqlite, BrokerKind::Embedded, |config| {
        config.web = WebSettings { tile_url: Some(tiles), tile_attribution: Some(ATTRIBUTION.into()) };
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
        json!(["Moves", "Replay", "Exports", "Report", "Alert history", "Audit log", "Holds"])
    );
    assert_eq!(login["move_name"], MOVE_NAME);
    assert_eq!(login["move_links"], json!(["Replay", "Exports", "Report"]), "no live link for the move");
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

/// The live map keeps its feed: when the connection to the server is cut, the page says it is
/// disconnected and when it will retry, retries later each time it is turned away, and once
/// through shows what it missed (a fix; an alert someone else resolved meanwhile leaves the
/// panel) and what comes after.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_live_map_reconnects_when_its_feed_is_cut_and_catches_up_in_chromium() {
    let shots = screenshots_dir("reconnect");
    let work = tempfile::tempdir().unwrap();
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    convoy_registry::add_user(&server.store, DISPATCHER_USER, Role::Dispatcher, DISPATCHER_PASSWORD)
        .await
        .unwrap();
    let token = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let route = Route::munich().unwrap().points().to_vec();
    let (live, live_password) = register_vehicle(&server, "truck-live").await;
    let (detour, detour_password) = register_vehicle(&server, "truck-detour").await;
    let plan = json!({
        "name": MOVE_NAME,
        "vehicles": ["truck-live", "truck-detour"],
        "route": { "type": "LineString", "coordinates": route.iter().map(|p| [p.x(), p.y()]).collect::<Vec<_>>() },
        "corridor_m": 150,
        "window": { "from": Utc::now() - TimeSpan::hours(1), "to": Utc::now() + TimeSpan::hours(1) },
        "rules": { "late_after_s": 100_000, "signal_lost_after_s": 100_000 },
    });
    let move_id = create_move(&server, &token, &plan).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    // An open alert, on the page when it opens.
    let t0 = Utc::now().trunc_subsecs(0) - TimeSpan::seconds(600);
    publish_fixes(
        &server,
        &detour,
        &detour_password,
        &fixes(&with_detour(&route, 500, 620, 400.0)[..570], t0, 1),
        5,
    )
    .await;
    let open_alerts = format!("/api/v1/alerts?state=open&move={move_id}");
    let alert = eventually(Duration::from_secs(30), "the off-route alert", || async {
        server.get_json(&open_alerts, &token).await.1["alerts"].as_array().and_then(|a| a.first().cloned())
    })
    .await;
    let alert_id = alert["id"].as_str().unwrap();

    // The live vehicle's next three places on the route, each reported when the script asks.
    let places = [route[100], route[101], route[102]];
    assert!(places[0] != places[1] && places[1] != places[2]);
    let proxy = FeedCutter::start(server.http).await;
    let config = json!({
        "base": proxy.url(),
        "admin": { "user": ADMIN_USER, "password": ADMIN_PASSWORD },
        "vehicle": live.to_string(),
        "alert_id": alert_id,
        "positions": places.iter().map(|p| json!({ "lat": p.y(), "lon": p.x() })).collect::<Vec<_>>(),
    });
    let dispatcher = server.login(DISPATCHER_USER, DISPATCHER_PASSWORD).await;
    let mut browser = BrowserScript::start("reconnect.mjs", config, work.path(), &shots);
    let mut published = Vec::new();
    // The n-th place, reported as a fix taken now.
    let report_place =
        |n: usize| publish_fix_now(&server, &live, &live_password, route[99 + n], places[n], n as u64 + 1);
    let report = tokio::time::timeout(Duration::from_secs(300), async {
        while let Some(what) = browser.next_need().await {
            match what.as_str() {
                "position 1" => published.push(report_place(0).await),
                "cut" => proxy.cut_live_feed(),
                "while cut" => {
                    published.push(report_place(1).await);
                    let response = reqwest::Client::new()
                        .post(server.url(&format!("/api/v1/alerts/{alert_id}/resolve")))
                        .bearer_auth(&dispatcher)
                        .json(&json!({ "note": "Called the driver: a diversion" }))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(response.status(), 200);
                }
                "let through" => proxy.let_through(),
                "position 3" => published.push(report_place(2).await),
                _ => panic!("reconnect.mjs needs something unknown: {what}"),
            }
            browser.done(&what).await;
        }
        browser.report().await
    })
    .await
    .expect("the browser session finishes within 5 minutes");
    let steps = &report["steps"];
    let stands_at = |seen: &Value, fix: &Position| {
        (seen["lat"].as_f64(), seen["lon"].as_f64()) == (Some(fix.lat), Some(fix.lon))
    };

    // Live through the proxy: the first fix arrived.
    assert_eq!(steps["live"]["connection"], "● live");
    assert!(stands_at(&steps["live"]["marker"], &published[0]), "{}", steps["live"]);
    // Cut: the page says so, and when it will try again.
    assert_eq!(steps["cut"]["connection"], "○ disconnected, retrying in 1 s");
    // While cut, nothing reached it: the marker stayed, the resolved alert stayed.
    let while_cut = &steps["while_cut"];
    assert!(stands_at(&while_cut["marker"], &published[0]), "{while_cut}");
    assert_eq!(while_cut["alert_listed"], 1);
    // Through again: the fix it missed, the alert gone, and then the next fix.
    let reconnected = &steps["reconnected"];
    assert_eq!(reconnected["connection"], "● live");
    assert!(stands_at(&reconnected["marker"], &published[1]), "{reconnected}");
    assert_eq!(reconnected["alerts_listed"], 0);
    assert_eq!(reconnected["badge_visible"], false);
    assert!(stands_at(&steps["after"]["marker"], &published[2]), "{}", steps["after"]);

    // What the status line said, in order: live; cut; tries, each turned away and followed by
    // a longer wait (1 s, 2 s, …); live again.
    let shown: Vec<(&str, &str)> = steps["after"]["connection_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["state"].as_str().unwrap(), e["text"].as_str().unwrap()))
        .collect();
    let waits: Vec<u64> = shown
        .iter()
        .filter(|(state, _)| *state == "closed")
        .map(|(_, text)| {
            let wait = text.strip_prefix("○ disconnected, retrying in ").and_then(|t| t.strip_suffix(" s"));
            wait.unwrap_or_else(|| panic!("{text}")).parse().unwrap()
        })
        .collect();
    assert_eq!(waits[..2], [1, 2], "{shown:?}");
    assert!(waits.windows(2).all(|w| w[0] < w[1]), "each wait longer: {shown:?}");
    let mut expected = vec![("open", "● live")];
    for _ in &waits {
        expected.extend([("closed", ""), ("connecting", "○ connecting…")]);
    }
    expected.push(("open", "● live"));
    let states: Vec<(&str, &str)> =
        shown.iter().map(|&(state, text)| (state, if state == "closed" { "" } else { text })).collect();
    assert_eq!(states, expected, "{shown:?}");

    // The proxy saw the same: one feed cut, each try turned away, one let through; the page
    // made no other WebSocket; the server opened the feed twice.
    let turned_away = waits.len() - 1;
    assert_eq!(proxy.counts(), (2, 1, turned_away), "(opened, cut, turned away)");
    assert_eq!(report["websockets"].as_array().unwrap().len(), 2 + turned_away, "{report:#}");
    // Each opened with a one-use ticket: the page never puts its token in a URL.
    for socket in report["websockets"].as_array().unwrap() {
        assert_eq!(socket["params"], json!(["ticket"]), "{report:#}");
    }
    let (_, opened) =
        server.get_json(&format!("/api/v1/audit?actor={ADMIN_USER}&action=live.open"), &token).await;
    assert_eq!(opened["entries"].as_array().unwrap().len(), 2, "{opened}");
    server.stop().await;
}

/// An admin sets a phone up on the page (#/phones): a name holding HTML is refused and shown as
/// text; an OwnTracks phone registered for the HTTP endpoint the page offers shows the QR code
/// the API drew (which reads back as the import link) and its secret, and downloads as
/// NAME.otrc. A location POSTed as the app would, with what that file says, is stored; once the
/// page removed the phone, the same report is refused. A dispatcher is offered no Phones view.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_admin_sets_a_phone_up_on_the_page_and_the_phone_reports_with_its_otrc_in_chromium() {
    let shots = screenshots_dir("phones");
    let work = tempfile::tempdir().unwrap();
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    convoy_registry::add_user(&server.store, DISPATCHER_USER, Role::Dispatcher, DISPATCHER_PASSWORD)
        .await
        .unwrap();
    let token = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    register_vehicle(&server, "escort-car").await;
    let config = json!({
        "base": server.url("/"),
        "admin": { "user": ADMIN_USER, "password": ADMIN_PASSWORD },
        "dispatcher": { "user": DISPATCHER_USER, "password": DISPATCHER_PASSWORD },
        "phone": { "name": "anna-phone", "device": "pixel", "vehicle": "escort-car", "html_name": PHONE_NAME },
    });
    let mut browser = BrowserScript::start("phones.mjs", config, work.path(), &shots);
    let otrc_path = work.path().join("anna-phone.otrc");
    let taken = Utc::now().trunc_subsecs(0) - TimeSpan::seconds(30);
    let mut answers = Vec::new();
    // The API's list while the phone is registered (the page removes it before the end).
    let mut listed = Value::Null;
    let report = tokio::time::timeout(Duration::from_secs(300), async {
        while let Some(what) = browser.next_need().await {
            match what.as_str() {
                "report" => {
                    listed = server.get_json("/api/v1/phones", &token).await.1;
                    answers.push(report_as_owntracks(&otrc_path, taken).await);
                }
                "report again" => answers.push(report_as_owntracks(&otrc_path, taken).await),
                _ => panic!("phones.mjs needs something unknown: {what}"),
            }
            browser.done(&what).await;
        }
        browser.report().await
    })
    .await
    .expect("the browser session finishes within 5 minutes");
    let steps = &report["steps"];

    // The admin is offered the view; it opens with the HTTP endpoint of this very server.
    let nav = steps["open"]["nav"].as_array().unwrap();
    assert!(nav.iter().any(|item| item == "Phones"), "{nav:?}");
    assert_eq!(steps["open"]["endpoint"], server.url("/api/v1/phones/owntracks"));
    assert_eq!(steps["open"]["traccar"]["endpoint"], "", "no Traccar listener here: {}", steps["open"]);
    assert!(steps["open"]["traccar"]["hint"].as_str().unwrap().contains("is off"), "{}", steps["open"]);
    assert_eq!(steps["open"]["rows"], 0);

    // HTML in the name: refused by the API, the refusal shown as text, nothing registered.
    let refused = &steps["html_name_refused"];
    assert_eq!(refused["status"], 400);
    // The API quotes the name as Rust does (`\"` for its quotes); the markup is there as text.
    assert!(refused["message"].as_str().unwrap().contains("<img src=x onerror="), "{refused}");
    assert_eq!(refused["elements_in_message"], 0);
    assert_eq!(refused["injected_script_ran"], false);
    assert_eq!((refused["rows"].as_u64(), refused["setup_shown"].as_bool()), (Some(0), Some(false)));

    // Registered: the image the page shows reads back (rqrr) as the import link; the secret is
    // shown once.
    let registered = &steps["register"];
    let answer = &registered["answer"];
    assert_eq!(registered["status"], 201, "{answer}");
    let link = answer["import_link"].as_str().unwrap();
    let shown = registered["qr_src"].as_str().unwrap().strip_prefix("data:image/svg+xml;base64,").unwrap();
    let shown = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(shown).unwrap()).unwrap();
    assert_eq!(shown, answer["qr_svg"].as_str().unwrap());
    assert_eq!(common::qr::read_qr_svg(&shown), link);
    assert!(registered["qr_width"].as_u64().unwrap() > 100, "the browser drew it: {registered}");
    assert_eq!(registered["import_link"], link);
    assert_eq!(registered["secret"], answer["secret"]);
    assert!(registered["once"].as_str().unwrap().starts_with("Shown once"), "{registered}");
    assert_eq!(
        registered["row"],
        json!(["OwnTracks", "anna-phone", "pixel", "escort-car", "—", registered["row"][5], "Remove"])
    );
    // The list never shows a secret or its hash.
    assert_eq!(listed["phones"].as_array().unwrap().len(), 1, "{listed}");
    assert!(!listed.to_string().contains(answer["secret"].as_str().unwrap()), "{listed}");
    assert!(!listed.to_string().contains("hash"), "{listed}");

    // The downloaded .otrc is the API's configuration, and the import link holds exactly it.
    assert_eq!(steps["download_otrc"]["file_name"], "anna-phone.otrc");
    let otrc: Value = serde_json::from_str(&std::fs::read_to_string(&otrc_path).unwrap()).unwrap();
    assert_eq!(otrc, answer["configuration"]);
    assert_eq!(convoy_gateway::phones::owntracks_import_link(&otrc), link);
    assert_eq!(
        (otrc["mode"].as_i64(), otrc["url"].as_str()),
        (Some(3), Some(server.url("/api/v1/phones/owntracks").as_str()))
    );
    assert_eq!(otrc["password"], answer["secret"]);

    // The phone reported with what the file says: stored as the vehicle's fix.
    assert_eq!(answers[0], 200);
    let (_, track) = server.get_json("/api/v1/vehicles/escort-car/track", &token).await;
    let positions = track["positions"].as_array().unwrap();
    assert_eq!(positions.len(), 1, "{track}");
    assert_eq!((positions[0]["lat"].as_f64(), positions[0]["lon"].as_f64()), (Some(48.1371), Some(11.5754)));
    assert_eq!(time(&positions[0]["t"]), taken);

    // Removed on the page (after a confirmation): the same report is refused.
    assert!(steps["remove"]["question"]
        .as_str()
        .unwrap()
        .starts_with("Remove the OwnTracks phone anna-phone?"));
    assert_eq!(steps["remove"]["rows"], 0);
    assert_eq!(answers[1], 401);
    let (_, audit) = server.get_json(&format!("/api/v1/audit?actor={ADMIN_USER}"), &token).await;
    let actions: Vec<&str> =
        audit["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for action in ["phones.view", "phone.add", "phone.remove"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }

    // A dispatcher has no Phones view, not even by its address (the API refuses them too:
    // tests/authorization.rs).
    let dispatcher = &steps["dispatcher"];
    assert!(!dispatcher["nav"].as_array().unwrap().iter().any(|n| n == "Phones"), "{dispatcher}");
    assert_eq!(
        (dispatcher["landed"].as_str(), dispatcher["phone_forms"].as_u64()),
        (Some("#/live"), Some(0))
    );
    server.stop().await;
}

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

/// People on the page: an admin adds a person (#/people), resets their password after a
/// confirmation (the new one shown once, not again when the view is opened again), and the
/// person logs in with it in the browser and changes their own password (#/password, a wrong
/// current one refused first; their session goes on); the admin disables them after a
/// confirmation and their login is refused. The store and the audit log agree.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_admin_adds_resets_and_disables_a_person_who_changes_their_own_password_in_chromium() {
    const PERSON: &str = "pat-browser";
    const FIRST: &str = "pat's first password";
    const CHOSEN: &str = "pat chose this one";
    let shots = screenshots_dir("people");
    let work = tempfile::tempdir().unwrap();
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let config = json!({
        "base": server.url("/"),
        "admin": { "user": ADMIN_USER, "password": ADMIN_PASSWORD },
        "person": { "user": PERSON, "role": "escort", "password": FIRST },
        "new_password": CHOSEN,
    });
    let mut browser = BrowserScript::start("people.mjs", config, work.path(), &shots);
    let report = tokio::time::timeout(Duration::from_secs(300), async {
        if let Some(what) = browser.next_need().await {
            panic!("people.mjs needs something unknown: {what}");
        }
        browser.report().await
    })
    .await
    .expect("the browser session finishes within 5 minutes");
    let steps = &report["steps"];

    let open = &steps["open"];
    assert_eq!(open["nav"].as_array().unwrap().last().unwrap(), "People", "{open}");
    assert_eq!(open["hash"], "#/people");
    assert!(open["names"].as_array().unwrap().iter().any(|n| n == ADMIN_USER), "{open}");
    let added = &steps["add"];
    assert_eq!(
        (added["role"].as_str(), added["state"].as_str(), added["last_login"].as_str()),
        (Some("escort"), Some("Enabled"), Some("never")),
        "{added}"
    );

    let reset = &steps["reset"];
    assert!(reset["question"].as_str().unwrap().contains(PERSON), "asked first: {reset}");
    let shown = reset["password"].as_str().unwrap();
    assert_eq!(shown.len(), 24, "{reset}");
    assert!(reset["once"].as_str().unwrap().contains("Shown once"), "{reset}");
    assert_eq!(steps["shown_only_once"]["passwords_shown"], 0);
    assert_eq!(steps["log_in_as_them"]["who"], format!("{PERSON} (escort)"));
    assert_eq!(steps["log_in_as_them"]["nav"], json!(["Live map", "Alert history"]));

    let wrong = &steps["wrong_current_password"];
    assert_eq!(
        (wrong["hash"].as_str(), wrong["message"].as_str()),
        (Some("#/password"), Some("Your current password is wrong."))
    );
    let changed = &steps["change_own_password"];
    assert!(changed["message"].as_str().unwrap().starts_with("Your password is changed"), "{changed}");
    assert_eq!(
        (changed["hash"].as_str(), changed["still_logged_in"].as_bool()),
        (Some("#/live"), Some(true))
    );

    let disabled = &steps["disable"];
    assert!(disabled["question"].as_str().unwrap().starts_with(&format!("Disable {PERSON}?")), "{disabled}");
    assert_eq!(disabled["enable_buttons"], 1, "{disabled}");
    let refused = &steps["disabled_login_refused"];
    assert_eq!(
        (refused["message"].as_str(), refused["still_on_login"].as_bool()),
        (Some("Wrong user name or password."), Some(true))
    );

    // What the page did is what the store holds: the chosen password is theirs (not the first
    // nor the reset one), and they are disabled.
    let store = &server.store;
    assert!(convoy_registry::password_is_right(store, PERSON, CHOSEN).await.unwrap());
    for old in [FIRST, shown] {
        assert!(!convoy_registry::password_is_right(store, PERSON, old).await.unwrap(), "{old} still works");
    }
    assert!(store.user(PERSON).await.unwrap().unwrap().disabled);
    let entries =
        store.audit_entries(&convoy_store::AuditFilter { limit: 1000, ..Default::default() }).await.unwrap();
    let actions: Vec<(&str, &str)> = entries
        .iter()
        .filter(|e| e.target == PERSON)
        .map(|e| (e.action.as_str(), e.actor.as_deref().unwrap_or("")))
        .collect();
    for wanted in [
        ("user.add", ADMIN_USER),
        ("user.reset_password", ADMIN_USER),
        ("me.password", PERSON),
        ("user.disable", ADMIN_USER),
    ] {
        assert!(actions.contains(&wanted), "{wanted:?} in {actions:?}");
    }
    server.stop().await;
}

/// Vehicle administration in Chromium: an admin registers a vehicle on the Vehicles view (its
/// password and agent configuration shown once, the configuration downloaded as a file), gives
/// it a new password and disables it, each after a confirmation. The store and the audit log
/// agree.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_admin_registers_rotates_and_disables_a_vehicle_on_the_page_in_chromium() {
    const VEHICLE: &str = "truck-page";
    let shots = screenshots_dir("vehicles");
    let work = tempfile::tempdir().unwrap();
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let config = json!({
        "base": server.url("/"),
        "admin": { "user": ADMIN_USER, "password": ADMIN_PASSWORD },
        "vehicle": VEHICLE,
    });
    let mut browser = BrowserScript::start("vehicles.mjs", config, work.path(), &shots);
    let report = tokio::time::timeout(Duration::from_secs(300), async {
        if let Some(what) = browser.next_need().await {
            panic!("vehicles.mjs needs something unknown: {what}");
        }
        browser.report().await
    })
    .await
    .expect("the browser session finishes within 5 minutes");
    let steps = &report["steps"];

    let open = &steps["open"];
    assert!(open["nav"].as_array().unwrap().iter().any(|n| n == "Vehicles"), "{open}");
    assert_eq!(open["hash"], "#/vehicles");
    let registered = &steps["register"];
    let first = registered["password"].as_str().unwrap();
    assert_eq!(first.len(), 24, "{registered}");
    assert_eq!(
        (registered["state"].as_str(), registered["last_seen"].as_str()),
        (Some("Enabled"), Some("never")),
        "{registered}"
    );
    assert_eq!(registered["file_name"], format!("convoy-agent-{VEHICLE}.toml"));
    let file = registered["file_text"].as_str().unwrap();
    assert_eq!(registered["config_shown"].as_str(), Some(file), "the file is the configuration shown");
    assert!(file.contains(&format!("vehicle = \"{VEHICLE}\"")) && !file.contains(first), "{file}");

    let rotated = &steps["rotate"];
    assert!(rotated["question"].as_str().unwrap().contains(VEHICLE), "asked first: {rotated}");
    let second = rotated["password"].as_str().unwrap();
    assert!(second.len() == 24 && second != first, "{rotated}");
    assert!(rotated["once"].as_str().unwrap().contains("Shown once"), "{rotated}");
    let disabled = &steps["disable"];
    assert!(disabled["question"].as_str().unwrap().starts_with(&format!("Disable {VEHICLE}?")), "{disabled}");
    assert_eq!(
        (&disabled["enable_buttons"], &disabled["passwords_shown"]),
        (&json!(1), &json!(0)),
        "{disabled}"
    );

    // What the page did is what the store holds: the second password is the vehicle's, and it
    // is disabled.
    let store = &server.store;
    let id = convoy_core::VehicleId::new(VEHICLE).unwrap();
    let login = store.vehicle_login(&id).await.unwrap().unwrap();
    let stored = convoy_registry::vehicle_key::StoredVehicleHash::parse(&login.password_hash);
    assert!(stored.verify_fast(second) && !stored.verify_fast(first));
    assert!(login.disabled);
    let entries =
        store.audit_entries(&convoy_store::AuditFilter { limit: 1000, ..Default::default() }).await.unwrap();
    let actions: Vec<(&str, &str)> = entries
        .iter()
        .filter(|e| e.target == VEHICLE)
        .map(|e| (e.action.as_str(), e.actor.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(
        actions,
        [
            ("vehicle.add", ADMIN_USER),
            ("vehicle.rotate_password", ADMIN_USER),
            ("vehicle.disable", ADMIN_USER)
        ]
    );
    server.stop().await;
}

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

/// A name the page sends to the API as it was typed: HTML, which no phone name may hold.
const PHONE_NAME: &str = "<img src=x onerror=\"window.__convoy_xss=true\">";

/// POSTs a location as OwnTracks in HTTP mode does, with the URL, user, password and device
/// of the configuration file at `otrc` (HTTP Basic, X-Limit-U/D); returns the answer's status.
async fn report_as_owntracks(otrc: &Path, taken: DateTime<Utc>) -> u16 {
    let config: Value = serde_json::from_str(&std::fs::read_to_string(otrc).unwrap()).unwrap();
    let (user, device) = (config["username"].as_str().unwrap(), config["deviceId"].as_str().unwrap());
    let location = json!({
        "_type": "location", "lat": 48.1371, "lon": 11.5754, "acc": 15, "tid": config["tid"],
        "tst": taken.timestamp(), "topic": format!("owntracks/{user}/{device}"),
    });
    let response = reqwest::Client::new()
        .post(config["url"].as_str().unwrap())
        .basic_auth(user, config["password"].as_str())
        .header("X-Limit-U", user)
        .header("X-Limit-D", device)
        .json(&location)
        .send()
        .await
        .unwrap();
    response.status().as_u16()
}

/// The page comes from the binary itself, with the right types and a policy that allows no
/// inline script and no other origin than the configured tile server's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_and_its_files_are_served_from_the_binary_with_a_strict_policy() {
    let server = TestServer::start_configured(Backend::Sqlite, BrokerKind::Embedded, |config| {
        config.web.tile_url = Some("https://{s}.tiles.example.org/{z}/{x}/{y}.png".into());
    })
    .await;
    let get = |path: &str| reqwest::get(server.url(path));

    let page = get("/").await.unwrap();
    assert_eq!(page.status(), 200);
    let header = |response: &reqwest::Response, name: &str| {
        response.headers().get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
    };
    assert_eq!(header(&page, "content-type"), "text/html; charset=utf-8");
    assert_eq!(header(&page, "x-content-type-options"), "nosniff");
    let policy = header(&page, "content-security-policy");
    for directive in [
        "default-src 'self'",
        "script-src 'self';",
        "style-src 'self';",
        "img-src 'self' data: blob: https://*.tiles.example.org;",
        // Its own origin only: 'self' covers the live feed's ws:/wss: to the same host (CSP
        // Level 3), as the live map's tests in Chromium show.
        "connect-src 'self';",
        "frame-ancestors 'none'",
    ] {
        assert!(policy.contains(directive), "{directive} in {policy}");
    }
    assert!(!policy.contains("unsafe"), "{policy}");
    let html = page.text().await.unwrap();
    let scripts: Vec<&str> =
        html.match_indices("<script").map(|(i, _)| &html[i..i + html[i..].find('>').unwrap()]).collect();
    assert_eq!(scripts.len(), 2, "{html}");
    assert!(scripts.iter().all(|s| s.contains(" src=\"/assets/")), "no inline script: {scripts:?}");

    for (path, content_type, starts) in [
        ("/assets/js/main.js", "text/javascript; charset=utf-8", &b"//"[..]),
        ("/assets/css/app.css", "text/css; charset=utf-8", b"/*"),
        ("/assets/vendor/leaflet/leaflet.js", "text/javascript; charset=utf-8", b"/*"),
        ("/assets/vendor/leaflet/images/marker-icon.png", "image/png", b"\x89PNG"),
        ("/assets/vendor/leaflet/LICENSE", "text/plain; charset=utf-8", b"BSD 2-Clause"),
    ] {
        let response = get(path).await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(header(&response, "content-type"), content_type, "{path}");
        assert_eq!(header(&response, "x-content-type-options"), "nosniff", "{path}");
        assert!(response.bytes().await.unwrap().starts_with(starts), "{path}");
    }
    for path in ["/assets/js/nothing.js", "/assets/../Cargo.toml", "/assets/%2e%2e/src/main.rs", "/assets/"] {
        let response = get(path).await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
        assert!(response.json::<Value>().await.unwrap()["error"].is_string(), "{path}");
    }
    server.stop().await;
}

/// target/browser-screenshots/NAME/, emptied for this run.
/// An admin reads the alert history in the page (#/history): 130 alerts come as a page of 100
/// and, with "More", the last 30, each once; filtered by state and note text (any case), the
/// notes holding markup show as text; "Download CSV" saves the filtered list, its formula-like
/// note behind a quote. The look and the download are in the audit log.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_admin_pages_filters_and_downloads_the_alert_history_in_chromium() {
    let shots = screenshots_dir("history");
    let work = tempfile::tempdir().unwrap();
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let token = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    register_vehicle(&server, "truck-07").await;
    let plan = json!({
        "name": "a move with a history",
        "vehicles": ["truck-07"],
        "route": { "type": "LineString", "coordinates": [[11.56, 48.16], [11.57, 48.17]] },
        "corridor_m": 200,
    });
    let move_id = create_move(&server, &token, &plan).await;
    let base = Utc::now().trunc_subsecs(3) - TimeSpan::hours(4);
    for n in 0..130 {
        // Two alerts share each minute: the page's cursor must not lose or repeat either.
        let alert =
            opened_alert(&format!("hist-{n:03}"), &move_id, "truck-07", base + TimeSpan::minutes(n / 2));
        assert!(server.store.open_alert(&alert).await.unwrap());
    }
    const FORMULA_NOTE: &str = "=1+1 roadworks again";
    for (id, note) in [("hist-010", NOTE), ("hist-020", FORMULA_NOTE), ("hist-030", "nothing to see")] {
        server.store.acknowledge_alert(id, ADMIN_USER, Some(note), base).await.unwrap();
    }
    let config = json!({
        "base": server.url("/"),
        "admin": { "user": ADMIN_USER, "password": ADMIN_PASSWORD },
    });
    let mut browser = BrowserScript::start("history.mjs", config, work.path(), &shots);
    let report = tokio::time::timeout(Duration::from_secs(300), async {
        if let Some(what) = browser.next_need().await {
            panic!("history.mjs needs something unknown: {what}");
        }
        browser.report().await
    })
    .await
    .expect("the browser session finishes within 5 minutes");
    let steps = &report["steps"];

    let open = &steps["open"];
    assert!(open["nav"].as_array().unwrap().iter().any(|item| item == "Alert history"), "{open}");
    assert_eq!(open["hash"], "#/history");
    assert_eq!((open["rows"].as_u64(), open["more_visible"].as_bool()), (Some(100), Some(true)), "{open}");
    assert_eq!(open["first"], "hist-128", "newest first, then by id");
    assert_eq!(open["count"], "100 alerts, more to come");

    let more = &steps["more"];
    assert_eq!((more["rows"].as_u64(), more["distinct"].as_u64()), (Some(130), Some(130)), "{more}");
    assert_eq!((more["last"].as_str(), more["count"].as_str()), (Some("hist-001"), Some("130 alerts")));

    let filtered = &steps["filter"];
    assert_eq!(filtered["ids"], json!(["hist-020", "hist-010"]), "newest first: {filtered}");
    let notes = filtered["notes"].as_array().unwrap();
    assert!(notes.iter().any(|n| n == NOTE) && notes.iter().any(|n| n == FORMULA_NOTE), "{filtered}");
    assert_eq!(
        (filtered["images"].as_u64(), filtered["xss"].as_bool()),
        (Some(0), Some(false)),
        "markup is text"
    );
    assert_eq!(filtered["more_visible"], false);

    let download = &steps["download"];
    assert_eq!(download["file_name"], "alerts.csv");
    let text = download["text"].as_str().unwrap();
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 3, "a header and the two filtered alerts: {text}");
    assert!(lines[0].starts_with("id,kind,state,"), "{text}");
    assert!(lines[1].starts_with("hist-020,off_route,acknowledged,"), "{text}");
    assert!(lines[1].contains(&format!(",'{FORMULA_NOTE},")), "the formula behind a quote: {text}");
    assert!(lines[1].ends_with(r#","{""distance_m"":420.0}""#), "the detail, quoted: {text}");
    let quoted_note = format!("\"{}\"", NOTE.replace('"', "\"\""));
    assert!(lines[2].starts_with("hist-010,") && lines[2].contains(&quoted_note), "{text}");

    let (_, audit) = server.get_json(&format!("/api/v1/audit?actor={ADMIN_USER}"), &token).await;
    let entries = audit["entries"].as_array().unwrap();
    let export = entries.iter().find(|e| e["action"] == "alert.export").expect("the download is audited");
    assert_eq!(
        (export["detail"]["state"].as_str(), export["detail"]["text"].as_str()),
        (Some("acknowledged"), Some("ROADWORKS"))
    );
    assert!(entries.iter().any(|e| e["action"] == "alert.view" && e["target"] == "alerts"));
    server.stop().await;
}

fn screenshots_dir(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("browser-screenshots").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A script of tests/browser/ driving Chromium (`node SCRIPT CONFIG`), and the test's side of
/// their conversation: the script asks (`NEED what`), the test acts and answers (`DONE what`).
struct BrowserScript {
    script: &'static str,
    node: Child,
    to_node: ChildStdin,
    from_node: Lines<BufReader<ChildStdout>>,
    report_path: PathBuf,
}

impl BrowserScript {
    /// Starts `script` with `config`, to which it adds where screenshots go (`shots`) and
    /// where downloads, the config itself and the report go (`work`).
    fn start(script: &'static str, mut config: Value, work: &Path, shots: &Path) -> BrowserScript {
        let browser_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
        assert!(
            browser_dir.join("node_modules/playwright-core").is_dir(),
            "playwright-core is not installed: run `npm ci` in tests/browser (scripts/test.sh does)"
        );
        let report_path = work.join(format!("{script}.report.json"));
        config["shots_dir"] = json!(shots);
        config["download_dir"] = json!(work);
        config["report_path"] = json!(report_path);
        let config_path = work.join(format!("{script}.config.json"));
        std::fs::write(&config_path, config.to_string()).unwrap();
        let mut node = tokio::process::Command::new("node")
            .arg(browser_dir.join(script))
            .arg(&config_path)
            .current_dir(&browser_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs (Node.js is installed by scripts/test.sh)");
        let to_node = node.stdin.take().unwrap();
        let from_node = BufReader::new(node.stdout.take().unwrap()).lines();
        BrowserScript { script, node, to_node, from_node, report_path }
    }

    /// What the script needs next, or None once it has ended.
    async fn next_need(&mut self) -> Option<String> {
        while let Some(line) = self.from_node.next_line().await.unwrap() {
            match line.trim().strip_prefix("NEED ") {
                Some(what) => return Some(what.to_string()),
                None => eprintln!("{}: {line}", self.script),
            }
        }
        None
    }

    async fn done(&mut self, what: &str) {
        self.to_node.write_all(format!("DONE {what}\n").as_bytes()).await.unwrap();
    }

    /// Waits for the script to end and returns its report, once it is known that every step
    /// passed and no script on the page failed.
    async fn report(&mut self) -> Value {
        let status = self.node.wait().await.unwrap();
        let report: Value = serde_json::from_str(
            &std::fs::read_to_string(&self.report_path)
                .unwrap_or_else(|e| panic!("{} writes its report ({status}): {e}", self.script)),
        )
        .unwrap();
        assert!(status.success() && report["ok"] == true, "the browser session failed: {report:#}");
        assert_eq!(report["page_errors"], json!([]), "no script error on the page: {report:#}");
        report
    }
}

/// Creates a move from a JSON plan through the API; returns its id.
async fn create_move(server: &TestServer, token: &str, plan: &Value) -> String {
    let response = reqwest::Client::new()
        .post(server.url("/api/v1/moves"))
        .bearer_auth(token)
        .json(plan)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string()
}

/// The records of an RFC 4180 text (quoted fields, doubled quotes, CRLF line ends).
fn csv_records(text: &str) -> Vec<Vec<String>> {
    let (mut records, mut record, mut field) = (Vec::new(), Vec::new(), String::new());
    let (mut chars, mut quoted) = (text.chars().peekable(), false);
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {
                assert_eq!(chars.next(), Some('\n'), "a line ends in CRLF");
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(!quoted && field.is_empty() && record.is_empty(), "the last line ends in CRLF");
    records
}

/// A fix as a row of the CSV export reads (vehicle, seq, t, lat, lon, speed_mps, course_deg,
/// alt_m, hdop, sats, fix, …): an empty field is an absent value.
fn csv_position(row: &[String]) -> Position {
    let number = |i: usize| (!row[i].is_empty()).then(|| row[i].parse::<f64>().unwrap());
    Position {
        seq: row[1].parse().unwrap(),
        t: row[2].parse().unwrap(),
        lat: row[3].parse().unwrap(),
        lon: row[4].parse().unwrap(),
        speed_mps: number(5),
        course_deg: number(6),
        alt_m: number(7),
        hdop: number(8),
        accuracy_m: None,
        sats: (!row[9].is_empty()).then(|| row[9].parse().unwrap()),
        fix: (!row[10].is_empty()).then(|| FixMode::parse(&row[10]).unwrap()),
    }
}

/// A GPX 1.1 route file through `points`.
fn gpx(points: &[Point]) -> String {
    let points: String =
        points.iter().map(|p| format!("<trkpt lat=\"{}\" lon=\"{}\"></trkpt>", p.y(), p.x())).collect();
    format!(
        "<?xml version=\"1.0\"?><gpx version=\"1.1\" creator=\"test\" xmlns=\"http://www.topografix.com/GPX/1/1\">\
         <trk><trkseg>{points}</trkseg></trk></gpx>"
    )
}

fn time(value: &Value) -> DateTime<Utc> {
    value.as_str().unwrap_or_else(|| panic!("a time: {value}")).parse().unwrap()
}

/// Fixes `step_s` seconds apart from `t0`, with the speed and course the points imply.
fn fixes(points: &[Point], t0: DateTime<Utc>, step_s: i64) -> Vec<Position> {
    points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let previous = points[i.saturating_sub(1)];
            Position {
                seq: i as u64 + 1,
                t: t0 + TimeSpan::seconds(i as i64 * step_s),
                lat: p.y(),
                lon: p.x(),
                alt_m: None,
                speed_mps: Some(distance_m(previous, *p) / step_s as f64),
                course_deg: (i > 0 && previous != *p).then(|| bearing(previous, *p)),
                fix: Some(FixMode::ThreeD),
                sats: Some(9),
                hdop: Some(0.9),
                accuracy_m: None,
            }
        })
        .collect()
}

fn bearing(a: Point, b: Point) -> f64 {
    let (lat1, lat2, dlon) = (a.y().to_radians(), b.y().to_radians(), (b.x() - a.x()).to_radians());
    let y = dlon.sin() * lat2.cos();
    let x = lat1.cos() * lat2.sin() - lat1.sin() * lat2.cos() * dlon.cos();
    (y.atan2(x).to_degrees() + 360.0) % 360.0
}

/// Stands at `at` for `seconds`.
fn with_halt(points: &[Point], at: usize, seconds: usize) -> Vec<Point> {
    let mut out = points[..at].to_vec();
    out.extend(std::iter::repeat_n(points[at], seconds));
    out.extend_from_slice(&points[at..]);
    out
}

/// Leaves the road at `from`, drives `offset_m` to its left, and comes back by `to`.
fn with_detour(points: &[Point], from: usize, to: usize, offset_m: f64) -> Vec<Point> {
    let mut out = points.to_vec();
    for i in from..to {
        let ramp = ((i - from) as f64 / 25.0).min((to - i) as f64 / 25.0).min(1.0);
        let (a, b) = (points[i - 1], points[i + 1]);
        let east = (b.x() - a.x()) * 111_320.0 * a.y().to_radians().cos();
        let north = (b.y() - a.y()) * 111_190.0;
        let length = (east * east + north * north).sqrt().max(1e-9);
        let (side_e, side_n) = (-north / length * offset_m * ramp, east / length * offset_m * ramp);
        let p = points[i];
        out[i] =
            Point::new(p.x() + side_e / (111_320.0 * p.y().to_radians().cos()), p.y() + side_n / 111_190.0);
    }
    out
}

fn mqtt_options(mqtt: std::net::SocketAddr, vehicle: &VehicleId, password: &str) -> MqttOptions {
    let mut options = MqttOptions::new(format!("convoy-agent-{vehicle}"), mqtt.ip().to_string(), mqtt.port());
    options.set_credentials(vehicle.to_string(), password);
    options
}

/// Drives `route` in real time, a fix a second taken now, with an agent's health report now
/// and then, until `driving` turns false; returns the fixes published.
async fn drive_live(
    mqtt: std::net::SocketAddr,
    vehicle: VehicleId,
    password: String,
    route: Vec<Point>,
    driving: Arc<AtomicBool>,
) -> Vec<Position> {
    let (client, mut eventloop) = AsyncClient::new(mqtt_options(mqtt, &vehicle, &password), 100);
    tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
    let topic = convoy_core::topics::positions_topic(&vehicle);
    let status_topic = convoy_core::topics::status_topic(&vehicle);
    let mut sent = Vec::new();
    let mut second = tokio::time::interval(Duration::from_secs(1));
    for i in 0..route.len() - 1 {
        second.tick().await;
        if !driving.load(Ordering::Relaxed) {
            break;
        }
        // Its health report every few seconds (a real agent sends one every 30 s).
        if i % 5 == 0 {
            let status = json!({
                "v": 1, "vehicle": vehicle, "state": "online", "gnss": "fix", "spool_depth": 0, "t": Utc::now(),
            });
            client.publish(status_topic.clone(), QoS::AtLeastOnce, false, status.to_string()).await.unwrap();
        }
        // The speed and heading from the previous point; taken now.
        let mut fix = fixes(&route[i..i + 2], Utc::now(), 1).pop().unwrap();
        fix.t = Utc::now().trunc_subsecs(3);
        fix.seq = i as u64 + 1;
        let payload = PositionBatch::new(vehicle.clone(), vec![fix.clone()]).encode();
        client.publish(topic.clone(), QoS::AtLeastOnce, false, payload).await.unwrap();
        sent.push(fix);
    }
    let _ = client.disconnect().await;
    sent
}

/// Publishes a fix at `here` taken now, heading from `previous`, as the vehicle's agent would;
/// returns it.
async fn publish_fix_now(
    server: &TestServer,
    vehicle: &VehicleId,
    password: &str,
    previous: Point,
    here: Point,
    seq: u64,
) -> Position {
    let mut fix = fixes(&[previous, here], Utc::now(), 1).pop().unwrap();
    fix.t = Utc::now().trunc_subsecs(3);
    fix.seq = seq;
    publish_fixes(server, vehicle, password, std::slice::from_ref(&fix), 1).await;
    fix
}

/// A TCP proxy in front of the server for the browser. It passes everything through; on
/// demand it cuts the live feed's connections (as a dropped network would: the page sees the
/// server go away) and turns the page's new attempts at the feed away until it is told to let
/// them through again.
struct FeedCutter {
    addr: SocketAddr,
    state: Arc<CutterState>,
    task: tokio::task::JoinHandle<()>,
}

struct CutterState {
    blocked: AtomicBool,
    /// Counts the cuts; each live connection ends at the next one.
    cuts: watch::Sender<u32>,
    opened: AtomicUsize,
    cut: AtomicUsize,
    turned_away: AtomicUsize,
}

impl FeedCutter {
    async fn start(server: SocketAddr) -> FeedCutter {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(CutterState {
            blocked: AtomicBool::new(false),
            cuts: watch::channel(0).0,
            opened: AtomicUsize::new(0),
            cut: AtomicUsize::new(0),
            turned_away: AtomicUsize::new(0),
        });
        let task = tokio::spawn({
            let state = state.clone();
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    tokio::spawn(FeedCutter::pass(client, server, state.clone()));
                }
            }
        });
        FeedCutter { addr, state, task }
    }

    fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Cuts the live feed's open connections and turns new ones away.
    fn cut_live_feed(&self) {
        self.state.blocked.store(true, Ordering::SeqCst);
        self.state.cuts.send_modify(|n| *n += 1);
    }

    fn let_through(&self) {
        self.state.blocked.store(false, Ordering::SeqCst);
    }

    /// Live feed connections (passed through, cut, turned away).
    fn counts(&self) -> (usize, usize, usize) {
        let count = |n: &AtomicUsize| n.load(Ordering::SeqCst);
        (count(&self.state.opened), count(&self.state.cut), count(&self.state.turned_away))
    }

    async fn pass(mut client: TcpStream, server: SocketAddr, state: Arc<CutterState>) {
        let mut cuts = state.cuts.subscribe();
        // The request line says whether this connection is for the live feed.
        let mut head = Vec::new();
        while !head.windows(2).any(|w| w == b"\r\n") && head.len() < 16 * 1024 {
            let mut buffer = [0; 4096];
            match client.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&buffer[..n]),
            }
        }
        let live = head.starts_with(b"GET /api/v1/live");
        if live && state.blocked.load(Ordering::SeqCst) {
            state.turned_away.fetch_add(1, Ordering::SeqCst);
            return;
        }
        let Ok(mut upstream) = TcpStream::connect(server).await else { return };
        if upstream.write_all(&head).await.is_err() {
            return;
        }
        if !live {
            let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            return;
        }
        state.opened.fetch_add(1, Ordering::SeqCst);
        tokio::select! {
            _ = tokio::io::copy_bidirectional(&mut client, &mut upstream) => {}
            _ = cuts.changed() => {
                state.cut.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
}

impl Drop for FeedCutter {
    fn drop(&mut self) {
        self.task.abort();
    }
}
