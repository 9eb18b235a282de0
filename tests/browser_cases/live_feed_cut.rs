//! A live map whose feed is cut: it says so, retries with backoff and catches up.

use crate::*;

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
