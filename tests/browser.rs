//! The web page in a real browser: Debian's headless Chromium driven by playwright-core
//! (tests/browser/run.mjs) against a real server (embedded broker, SQLite) with vehicles
//! publishing over MQTT. One session walks what a person does: a refused then accepted login,
//! vehicles moving on the live map, an off-route alert that rings and is acknowledged with a
//! note (which the API then shows), a replay at 60x with its gap, stop and alert marks, a GPX
//! export downloaded and read back, the printable report, logout, and an escort's smaller
//! view. HTML in a move name, a zone name and a note is shown as text.
//!
//! Screenshots of every step are kept in target/browser-screenshots/.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Duration as TimeSpan, SubsecRound, Utc};
use common::*;
use convoy::demo::simulator::Route;
use convoy_core::geometry::distance_m;
use convoy_core::{FixMode, Position, PositionBatch, VehicleId};
use convoy_gateway::WebSettings;
use geo::Point;
use rumqttc::{AsyncClient, MqttOptions, QoS};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_person_logs_in_watches_acknowledges_replays_exports_and_logs_out_in_chromium() {
    let browser_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    assert!(
        browser_dir.join("node_modules/playwright-core").is_dir(),
        "playwright-core is not installed: run `npm ci` in tests/browser (scripts/test.sh does)"
    );
    let shots = screenshots_dir();
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
    let response = reqwest::Client::new()
        .post(server.url("/api/v1/moves"))
        .bearer_auth(&token)
        .json(&plan)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let move_id = response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
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
        "shots_dir": shots,
        "download_dir": work.path(),
        "report_path": work.path().join("report.json"),
    });
    let config_path = work.path().join("config.json");
    std::fs::write(&config_path, config.to_string()).unwrap();

    let mut node = tokio::process::Command::new("node")
        .arg(browser_dir.join("run.mjs"))
        .arg(&config_path)
        .current_dir(&browser_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs (Node.js is installed by scripts/test.sh)");
    let mut to_node = node.stdin.take().unwrap();
    let mut from_node = BufReader::new(node.stdout.take().unwrap()).lines();
    // The off-route drive starts when the page is watching: the alert must appear live.
    let detour_fixes = {
        let points = with_detour(&route, 500, 620, 400.0);
        // Up to the middle of the detour: the alert opens and stays open.
        let t0 = Utc::now().trunc_subsecs(0) - TimeSpan::seconds(600);
        fixes(&points[..570], t0, 1)
    };
    let mut acknowledged_in_api = Value::Null;
    let outcome = tokio::time::timeout(Duration::from_secs(600), async {
        while let Some(line) = from_node.next_line().await.unwrap() {
            let Some(what) = line.trim().strip_prefix("NEED ") else {
                eprintln!("run.mjs: {line}");
                continue;
            };
            if what == "detour" {
                publish_fixes(&server, &detour, &detour_password, &detour_fixes, 5).await;
            } else if let Some(id) = what.strip_prefix("acknowledged ") {
                acknowledged_in_api = server.get_json(&format!("/api/v1/alerts/{id}"), &token).await.1;
            } else {
                panic!("run.mjs needs something unknown: {what}");
            }
            to_node.write_all(format!("DONE {what}\n").as_bytes()).await.unwrap();
        }
        node.wait().await.unwrap()
    })
    .await
    .expect("the browser session finishes within 10 minutes");
    driving.store(false, Ordering::Relaxed);
    let live_fixes = live_fixes.await.unwrap();

    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(work.path().join("report.json")).expect("run.mjs writes its report"),
    )
    .unwrap();
    let steps = &report["steps"];
    assert!(outcome.success() && report["ok"] == true, "the browser session failed: {report:#}");
    assert_eq!(report["page_errors"], json!([]), "no script error on the page: {report:#}");

    // Login: a wrong password is refused with a message; the right one opens the live map.
    assert_eq!(steps["login_refused"]["message"], "Wrong user name or password.");
    assert_eq!(steps["login_refused"]["still_on_login"], true);
    assert_eq!(steps["login"]["who"], format!("{ADMIN_USER} (admin)"));
    assert_eq!(
        steps["login"]["nav"],
        json!(["Live map", "Moves", "Plan a move", "Replay", "Exports", "Report", "Audit log"])
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

    // Logout ends the token on the server, not only in the tab.
    let logout = &steps["logout"];
    assert_eq!(logout["token_after"], Value::Null);
    let (status, _) = server.get_json("/api/v1/me", logout["token"].as_str().unwrap()).await;
    assert_eq!(status, 401, "the token is revoked");

    // An escort sees the live map only, and of it only the move they escort.
    let escort = &steps["escort_view"];
    assert_eq!(escort["nav"], json!(["Live map"]));
    assert_eq!(escort["vehicles"], json!(["truck-past"]));
    assert_eq!(escort["moves"], json!([format!("{NEW_MOVE} ({new_move})")]));

    assert!(std::fs::read_dir(&shots).unwrap().count() >= 10, "screenshots kept in {}", shots.display());
    server.stop().await;
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
        "connect-src 'self' ws: wss:",
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

/// target/browser-screenshots/, emptied for this run.
fn screenshots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("browser-screenshots");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
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
