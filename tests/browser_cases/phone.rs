//! The page on a phone (360x740 CSS px, touch) and a tablet (768x1024): issue 13.

use crate::*;

/// A straight route east along 48.1° N.
const ROUTE: [(f64, f64); 2] = [(11.50, 48.10), (11.60, 48.10)];
/// Where the followed vehicle's next fix puts it: about 450 m on, some 140 px from the map's
/// centre at the zoom Follow sets (15) unless the map follows it; near enough to be a plausible
/// drive from the last fix.
const MOVED: (f64, f64) = (11.507, 48.10);
/// The smallest touch target allowed, in CSS px.
const TOUCH_PX: f64 = 44.0;

/// At 360x740 with touch, an escort's live view has no sideways scroll, stacks the map above the
/// vehicles and the alerts, makes every control at least 44x44 and folds the nav behind a Menu
/// button; an alert is acknowledged with a note in two taps (the API then has it acknowledged
/// with that note, by the escort); Follow keeps the vehicle at the map's centre as its next fix
/// comes in. At 768x1024 an admin's replay and report of the move have no sideways scroll and show
/// their controls and map. Screenshots in target/browser-screenshots/phone/.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_live_view_works_on_a_phone_and_replay_and_report_on_a_tablet_in_chromium() {
    let shots = screenshots_dir("phone");
    let work = tempfile::tempdir().unwrap();
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let token = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let (vehicle, password) = register_vehicle(&server, "truck-phone").await;
    let plan = json!({
        "name": "phone move",
        "vehicles": [vehicle.as_str()],
        "route": { "type": "LineString", "coordinates": ROUTE.map(|(lon, lat)| [lon, lat]) },
        "corridor_m": 200,
        "window": { "from": Utc::now() - TimeSpan::hours(1), "to": Utc::now() + TimeSpan::hours(1) },
        "rules": { "late_after_s": 100_000, "signal_lost_after_s": 100_000 },
    });
    let move_id = create_move(&server, &token, &plan).await;
    let team = reqwest::Client::new()
        .put(server.url(&format!("/api/v1/moves/{move_id}/team")))
        .bearer_auth(&token)
        .json(&json!({ "users": [ESCORT_USER] }))
        .send()
        .await
        .unwrap();
    assert_eq!(team.status(), 200, "the escort is on the move's team");
    let alert_id = "alert-phone-1";
    assert!(server
        .store
        .open_alert(&opened_alert(alert_id, &move_id, vehicle.as_str(), Utc::now()))
        .await
        .unwrap());
    // Two fixes on the route at its start, so the vehicle is on the map and the replay has a track.
    let now = Utc::now().trunc_subsecs(0);
    let start = fixes(
        &[Point::new(ROUTE[0].0, ROUTE[0].1), Point::new(11.501, 48.10)],
        now - TimeSpan::seconds(20),
        5,
    );
    publish_fixes(&server, &vehicle, &password, &start, 10).await;

    let note = "Called the driver <b>at 10:02</b>: road works, back on route";
    let config = json!({
        "base": server.url("/"),
        "escort": { "user": ESCORT_USER, "password": ESCORT_PASSWORD },
        "admin": { "user": ADMIN_USER, "password": ADMIN_PASSWORD },
        "vehicle": vehicle.as_str(),
        "alert_id": alert_id,
        "note": note,
        "moved": { "lat": MOVED.1, "lon": MOVED.0 },
        "move_id": move_id,
        "viewport": { "width": 360, "height": 740 },
        "touch": true,
    });
    let mut browser = BrowserScript::start("phone.mjs", config, work.path(), &shots);
    let report = tokio::time::timeout(Duration::from_secs(300), async {
        while let Some(what) = browser.next_need().await {
            match what.as_str() {
                "move" => {
                    let mut next = fixes(&[Point::new(MOVED.0, MOVED.1)], Utc::now().trunc_subsecs(0), 1);
                    // The agent's sequence goes on from the first two fixes.
                    next[0].seq = 3;
                    publish_fixes(&server, &vehicle, &password, &next, 1).await;
                }
                _ => panic!("phone.mjs needs something unknown: {what}"),
            }
            browser.done(&what).await;
        }
        browser.report().await
    })
    .await
    .expect("the browser session finishes within 5 minutes");
    let steps = &report["steps"];
    let px = |v: &Value, name: &str| v[name].as_f64().unwrap_or_else(|| panic!("{name} in {v}"));
    let fits = |v: &Value| px(v, "scroll_width") <= px(v, "inner_width");
    // Targets come smallest first: the first one is the smallest.
    let smallest_target_fits = |v: &Value| {
        let smallest = &v["targets"][0];
        px(smallest, "width") >= TOUCH_PX && px(smallest, "height") >= TOUCH_PX
    };

    // The phone's live view: one screen wide, map then vehicles then alerts, big targets.
    let live = &steps["live_fits_a_phone"];
    let menu = &steps["menu_opens_the_nav"];
    eprintln!("the smallest targets: live view {}, nav {}", live["targets"][0], menu["targets"][0]);
    assert_eq!(live["inner_width"], 360, "{live}");
    assert!(fits(live), "no sideways scroll on a phone: {live}");
    assert!(live["targets"].as_array().unwrap().len() >= 5, "{live}");
    assert!(smallest_target_fits(live), "every target at least 44x44; the smallest: {}", live["targets"][0]);
    let (map, vehicles, alerts) = (&live["map"], &live["vehicles"], &live["alerts"]);
    assert!(
        px(map, "right") <= 360.0 && px(map, "bottom") - px(map, "top") >= 260.0,
        "the map is a useful size: {map}"
    );
    assert!(px(vehicles, "top") >= px(map, "bottom"), "the vehicles under the map: {live}");
    assert!(px(alerts, "top") >= px(vehicles, "bottom"), "the alerts under the vehicles: {live}");
    assert!(px(live, "font_px") >= 14.0, "{live}");
    assert_eq!(live["nav_shown"], false, "the nav is folded behind the menu button: {live}");

    assert_eq!(menu["expanded"], "true", "{menu}");
    assert!(fits(menu), "{menu}");
    assert!(menu["nav"].as_array().unwrap().iter().any(|item| item == "Live map"), "{menu}");
    assert!(smallest_target_fits(menu), "the nav's links at least 44x44: {}", menu["targets"][0]);
    assert_eq!(menu["expanded_after_choosing"], "false", "{menu}");

    // Two taps and the note, counted by the script and by the page.
    let ack = &steps["acknowledge_with_two_taps"];
    assert_eq!((&ack["taps"], &ack["touches"]), (&json!(2), &json!(2)), "{ack}");
    assert_eq!(ack["note_focused_by_tap"], true, "{ack}");
    assert_eq!(ack["shown_note"], note, "the note shown as text: {ack}");
    let (status, answer) = server.get_json(&format!("/api/v1/alerts/{alert_id}"), &token).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        (&answer["state"], &answer["note"], &answer["acknowledged_by"]),
        (&json!("acknowledged"), &json!(note), &json!(ESCORT_USER)),
        "{answer}"
    );

    // Following: the map scrolled out of view before the tap and back in after it, the vehicle
    // at its centre after the next fix.
    let follow = &steps["follow_keeps_the_vehicle_centred"];
    assert_eq!(follow["pressed"], "true", "{follow}");
    assert!(px(&follow["map_before_tap"], "top") < 0.0, "the map was scrolled away: {follow}");
    let shown = &follow["map_after_tap"];
    assert!(
        px(shown, "top") >= 0.0 && px(shown, "bottom") <= px(shown, "inner_height"),
        "the map in view: {follow}"
    );
    assert!(
        px(follow, "dx").abs() <= 20.0 && px(follow, "dy").abs() <= 20.0,
        "the vehicle at the centre: {follow}"
    );

    // The tablet: replay and report one screen wide, their controls and map on the screen.
    let on_screen = |b: &Value| {
        px(b, "left") >= 0.0
            && px(b, "right") <= px(b, "inner_width")
            && px(b, "top") >= 0.0
            && px(b, "top") < px(b, "inner_height")
    };
    let replay = &steps["replay_fits_a_tablet"];
    assert_eq!(replay["inner_width"], 768, "{replay}");
    assert!(fits(replay), "no sideways scroll in the replay: {replay}");
    for control in ["load", "play", "slider", "map"] {
        assert!(on_screen(&replay[control]), "the replay's {control} on the screen: {replay}");
    }
    assert!(px(&replay["slider"], "bottom") <= px(&replay["slider"], "inner_height"), "{replay}");
    let report_view = &steps["report_fits_a_tablet"];
    assert!(fits(report_view), "no sideways scroll in the report: {report_view}");
    for control in ["print", "map"] {
        assert!(on_screen(&report_view[control]), "the report's {control} on the screen: {report_view}");
    }
    server.stop().await;
}
