//! A move's time zone on the page: its times shown in it, and named, whatever zone the browser
//! is in.

use crate::*;
use chrono::DurationRound;
use convoy_core::time_zone::{self, Tz};

/// `t` as the page writes a date and time, in `zone`.
fn shown_in(t: DateTime<Utc>, zone: Tz) -> String {
    t.with_timezone(&zone).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// The browser runs in New York; a move planned in Asia/Shanghai shows its window, its
/// creation and its report in Shanghai time, naming the zone with its offset, and a move
/// without a zone shows the server's default (UTC), each in its own row.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_move_in_shanghai_shows_its_times_there_while_the_browser_is_in_new_york_in_chromium() {
    let shots = screenshots_dir("time_zone");
    let work = tempfile::tempdir().unwrap();
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let token = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    register_vehicle(&server, "truck-sh").await;
    let route = json!({ "type": "LineString", "coordinates": [[121.40, 31.20], [121.50, 31.23]] });
    // Running since an hour ago, so the report has a span.
    let from = Utc::now().trunc_subsecs(0) - TimeSpan::hours(1);
    let to = from + TimeSpan::hours(9);
    let window = json!({ "from": from, "to": to });
    let plan = |name: &str, zone: Option<&str>| {
        let mut plan = json!({ "name": name, "vehicles": ["truck-sh"], "route": route, "window": window });
        if let Some(zone) = zone {
            plan["time_zone"] = json!(zone);
        }
        plan
    };
    let shanghai_id = create_move(&server, &token, &plan("Pudong", Some("Asia/Shanghai"))).await;
    let utc_id = create_move(&server, &token, &plan("No zone", None)).await;
    let (_, shanghai_move) = server.get_json(&format!("/api/v1/moves/{shanghai_id}"), &token).await;
    let created_at: DateTime<Utc> = shanghai_move["created_at"].as_str().unwrap().parse().unwrap();

    // The end moved an hour later, to the minute (a datetime-local input's precision).
    let new_to = (to + TimeSpan::hours(1)).duration_trunc(TimeSpan::minutes(1)).unwrap();
    let in_shanghai = new_to.with_timezone(&time_zone::parse("Asia/Shanghai").unwrap());
    let config = json!({
        "base": server.url("/"),
        "admin": { "user": ADMIN_USER, "password": ADMIN_PASSWORD },
        "timezone_id": "America/New_York",
        "new_to": in_shanghai.format("%Y-%m-%dT%H:%M").to_string(),
        "shanghai": { "id": shanghai_id },
        "utc": { "id": utc_id },
    });
    let mut browser = BrowserScript::start("time_zone.mjs", config, work.path(), &shots);
    let report = tokio::time::timeout(Duration::from_secs(300), async {
        if let Some(what) = browser.next_need().await {
            panic!("time_zone.mjs needs something unknown: {what}");
        }
        browser.report().await
    })
    .await
    .expect("the browser session finishes within 5 minutes");
    let steps = &report["steps"];
    let shanghai = time_zone::parse("Asia/Shanghai").unwrap();

    let moves = &steps["moves"];
    assert_eq!(moves["browser_zone"], "America/New_York", "the browser is elsewhere: {moves}");
    let window_in = |zone: Tz| format!("{} – {}", shown_in(from, zone), shown_in(to, zone));
    assert_eq!(
        moves["shanghai"]["window"],
        format!("{}times in Asia/Shanghai (UTC+08:00)", window_in(shanghai))
    );
    assert_eq!(moves["shanghai"]["zone"], "times in Asia/Shanghai (UTC+08:00)");
    assert_eq!(moves["shanghai"]["created"], format!("{} by {ADMIN_USER}", shown_in(created_at, shanghai)));
    assert_eq!(moves["utc"]["zone"], "times in UTC (UTC+00:00)", "the server's default: {moves}");
    assert!(moves["utc"]["window"].as_str().unwrap().starts_with(&window_in(time_zone::UTC)), "{moves}");

    let shown_report = &steps["report"];
    assert_eq!(shown_report["zone"], "All times in Asia/Shanghai (UTC+08:00).", "{shown_report}");
    let meta = shown_report["meta"].as_str().unwrap();
    assert!(
        meta.contains(&format!("planned by {ADMIN_USER} on {}.", shown_in(created_at, shanghai))),
        "{meta}"
    );
    assert!(meta.contains(&format!("Span {} – ", shown_in(from, shanghai))), "{meta}");

    let edit = &steps["edit"];
    assert_eq!(edit["value"], "Asia/Shanghai", "{edit}");
    assert_eq!(edit["disabled"], true, "the move runs: its zone no longer changes");
    assert_eq!(edit["offered"], 1, "the list of common zones");
    assert_eq!(edit["to"], to.with_timezone(&shanghai).format("%Y-%m-%dT%H:%M").to_string(), "{edit}");
    // The end typed as a Shanghai wall time (in a browser in New York) is stored as that instant.
    assert_eq!(steps["extend"]["ok"], 1, "{}", steps["extend"]);
    let (_, extended) = server.get_json(&format!("/api/v1/moves/{shanghai_id}"), &token).await;
    let stored_to: DateTime<Utc> = extended["plan"]["window"]["to"].as_str().unwrap().parse().unwrap();
    assert_eq!(stored_to, new_to, "{extended}");
    assert_eq!(report["page_errors"], json!([]), "{report}");
    server.stop().await;
}
