//! The alert history on the page.

use crate::*;

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
