//! `GET /api/v1/alerts/history` against a real server (embedded broker, SQLite): each filter,
//! paging with the cursor to the end while alerts share an opening time, the CSV download (all
//! pages, quoting, formulas in notes neutralised, audited), the scope of each role, and each
//! refusal with its reason and its counter.
//!
//! Alerts are recorded through the store, as the alert service records them; the moves and
//! people are real (made through the registry), so an escort's scope is their team's.

mod common;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use common::*;
use convoy_core::alert::AlertKind;
use convoy_core::plan::MovePlan;
use convoy_core::position::format_time;
use convoy_core::Role;
use convoy_store::{AlertRecord, AuditFilter};
use serde_json::{json, Value};

const AUDITOR: &str = "auditor-ada";
const AUDITOR_PASSWORD: &str = "a long enough auditor password";

struct World {
    server: TestServer,
    admin: String,
    escort: String,
    auditor: String,
    /// The escort's move, and another team's.
    move_a: String,
    move_b: String,
    /// A time well in the past all the alerts are opened after.
    base: DateTime<Utc>,
}

async fn new_move(server: &TestServer, name: &str, vehicle: &str) -> String {
    let plan = json!({
        "name": name,
        "vehicles": [vehicle],
        "route": { "type": "LineString", "coordinates": [[11.56, 48.16], [11.58, 48.17]] },
        "corridor_m": 200,
    });
    let plan = MovePlan::from_json(plan.to_string().as_bytes()).unwrap();
    convoy_registry::store_new_move(&server.store, &plan, ADMIN_USER).await.unwrap().id
}

impl World {
    async fn start() -> World {
        let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
        convoy_registry::add_user(&server.store, AUDITOR, Role::Auditor, AUDITOR_PASSWORD).await.unwrap();
        for vehicle in ["truck-a", "truck-b"] {
            register_vehicle(&server, vehicle).await;
        }
        let move_a = new_move(&server, "move a", "truck-a").await;
        let move_b = new_move(&server, "move b", "truck-b").await;
        server.store.set_move_team(&move_a, &[ESCORT_USER.to_string()]).await.unwrap();
        let admin = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
        let escort = server.login(ESCORT_USER, ESCORT_PASSWORD).await;
        let auditor = server.login(AUDITOR, AUDITOR_PASSWORD).await;
        let base = Utc::now().trunc_subsecs(3) - Duration::hours(5);
        World { server, admin, escort, auditor, move_a, move_b, base }
    }

    fn at(&self, minutes: i64) -> DateTime<Utc> {
        self.base + Duration::minutes(minutes)
    }

    async fn open(&self, alert: AlertRecord) {
        assert!(self.server.store.open_alert(&alert).await.unwrap(), "{} opened", alert.id);
    }

    async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.server.get_json(path, token).await
    }

    /// The ids of a page, in its order.
    async fn ids(&self, query: &str, token: &str) -> Vec<String> {
        let (status, page) = self.get(&format!("/api/v1/alerts/history?{query}"), token).await;
        assert_eq!(status, 200, "{query}: {page}");
        ids(&page)
    }

    async fn audit(&self, action: &str) -> Vec<convoy_store::AuditEntry> {
        let filter = AuditFilter { action: Some(action.into()), limit: 1000, ..Default::default() };
        self.server.store.audit_entries(&filter).await.unwrap()
    }
}

fn ids(page: &Value) -> Vec<String> {
    page["alerts"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_string()).collect()
}

/// `text` percent-encoded for a query string.
fn q(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_filter_selects_its_alerts() {
    let w = World::start().await;
    let (a, b) = (w.move_a.as_str(), w.move_b.as_str());
    w.open(opened_alert("h-1", a, "truck-a", w.at(0))).await;
    w.open(AlertRecord { kind: AlertKind::Overspeed, ..opened_alert("h-2", a, "truck-a", w.at(10)) }).await;
    w.open(opened_alert("h-3", b, "truck-b", w.at(20))).await;
    w.open(AlertRecord { kind: AlertKind::ZoneEnter, ..opened_alert("h-4", b, "truck-b", w.at(30)) }).await;
    let store = &w.server.store;
    store.acknowledge_alert("h-2", ADMIN_USER, Some("Driver CALLED, all fine"), w.at(11)).await.unwrap();
    store.resolve_alert("h-3", ADMIN_USER, Some("road closed"), w.at(21)).await.unwrap();

    let admin = &w.admin;
    assert_eq!(w.ids("", admin).await, ["h-4", "h-3", "h-2", "h-1"], "newest first");
    let (from, to) = (q(&format_time(&w.at(10))), q(&format_time(&w.at(30))));
    assert_eq!(
        w.ids(&format!("from={from}&to={to}"), admin).await,
        ["h-3", "h-2"],
        "from inclusive, to exclusive"
    );
    assert_eq!(w.ids(&format!("from={from}"), admin).await, ["h-4", "h-3", "h-2"]);
    assert_eq!(w.ids(&format!("to={from}"), admin).await, ["h-1"]);
    assert_eq!(w.ids(&format!("move={a}"), admin).await, ["h-2", "h-1"]);
    assert_eq!(w.ids("move=no-such-move", admin).await, Vec::<String>::new());
    assert_eq!(w.ids("vehicle=truck-b", admin).await, ["h-4", "h-3"]);
    assert_eq!(w.ids("kind=overspeed", admin).await, ["h-2"]);
    assert_eq!(w.ids("kind=off_route", admin).await, ["h-3", "h-1"]);
    assert_eq!(w.ids("state=open", admin).await, ["h-4", "h-1"]);
    assert_eq!(w.ids("state=resolved", admin).await, ["h-3"]);
    assert_eq!(w.ids("text=called", admin).await, ["h-2"], "any case");
    assert_eq!(w.ids(&format!("text={}", q("ROAD CLOSED")), admin).await, ["h-3"]);
    assert_eq!(w.ids("text=%25", admin).await, Vec::<String>::new(), "a % is text, not a wildcard");
    assert_eq!(w.ids(&format!("move={b}&kind=off_route&state=resolved&text=road"), admin).await, ["h-3"]);
    let (_, page) = w.get("/api/v1/alerts/history?state=acknowledged", admin).await;
    let alert = &page["alerts"][0];
    assert_eq!(
        (alert["note"].as_str(), alert["acknowledged_by"].as_str()),
        (Some("Driver CALLED, all fine"), Some(ADMIN_USER))
    );
    assert_eq!(alert["opened_t"], format_time(&w.at(10)));
    assert_eq!(page["next"], Value::Null, "one page holds them all");

    // Each look is in the audit log with its filters.
    let views = w.audit("alert.view").await;
    let last = views.last().unwrap();
    assert_eq!((last.actor.as_deref(), last.target.as_str()), (Some(ADMIN_USER), "alerts"));
    let detail: Value = serde_json::from_str(&last.detail).unwrap();
    assert_eq!(detail["state"], "acknowledged");
    w.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn paging_follows_the_cursor_to_the_end_without_gaps_or_repeats() {
    let w = World::start().await;
    // 25 alerts, five at each of five instants: the order within an instant is by id.
    let mut expected = Vec::new();
    for n in 0..25 {
        let id = format!("p-{:02}", (n * 7) % 25);
        w.open(opened_alert(&id, &w.move_a, "truck-a", w.at(n / 5))).await;
        expected.push((n / 5, id));
    }
    expected.sort_by(|x, y| y.0.cmp(&x.0).then_with(|| x.1.cmp(&y.1)));
    let expected: Vec<String> = expected.into_iter().map(|(_, id)| id).collect();

    for limit in [1, 4, 5, 7, 25] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let mut path = format!("/api/v1/alerts/history?move={}&limit={limit}", w.move_a);
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={}", q(c)));
            }
            let (status, page) = w.get(&path, &w.admin).await;
            assert_eq!(status, 200, "{page}");
            let got = ids(&page);
            assert!(got.len() <= limit, "a page holds at most {limit}");
            seen.extend(got);
            pages += 1;
            match page["next"].as_str() {
                Some(next) => cursor = Some(next.to_string()),
                None => break,
            }
            assert!(pages <= 25, "the history ends");
        }
        assert_eq!(seen, expected, "pages of {limit}");
        assert_eq!(pages, expected.len().div_ceil(limit), "no empty last page for pages of {limit}");
    }
    // The list of today keeps its answer: `{"alerts"}`, newest first, no cursor.
    let (status, list) = w.get(&format!("/api/v1/alerts?move={}&limit=3", w.move_a), &w.admin).await;
    assert_eq!(status, 200);
    assert_eq!(list.as_object().unwrap().keys().collect::<Vec<_>>(), ["alerts"]);
    assert_eq!(ids(&list), expected[..3]);
    w.server.stop().await;
}

/// The records of a CSV text whose lines end in CRLF (RFC 4180), quoted fields and all.
fn csv_records(text: &str) -> Vec<Vec<String>> {
    let (mut records, mut record, mut field) = (Vec::new(), Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {
                assert_eq!(chars.next(), Some('\n'), "CRLF");
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(field.is_empty() && record.is_empty(), "the last line ends in CRLF");
    records
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_csv_holds_every_filtered_alert_quoted_with_formulas_neutralised() {
    let w = World::start().await;
    let notes = [
        ("c-1", "=HYPERLINK(\"http://evil\",\"click\")"),
        ("c-2", "+1+2"),
        ("c-3", "-2+3"),
        ("c-4", "@SUM(A1)"),
        ("c-5", "plain, with a comma"),
        ("c-6", "two\r\nlines and a \"quote\""),
        ("c-7", "-12.5"),
    ];
    for (n, (id, note)) in notes.iter().enumerate() {
        w.open(opened_alert(id, &w.move_a, "truck-a", w.at(n as i64))).await;
        w.server.store.acknowledge_alert(id, ADMIN_USER, Some(note), w.at(n as i64)).await.unwrap();
    }
    // More than one of the store's pages (1,000), of the other move, to follow to the end.
    for n in 0..1005 {
        let id = format!("bulk-{n:04}");
        w.open(opened_alert(&id, &w.move_b, "truck-b", w.at(100 + n / 3))).await;
    }

    let response = reqwest::Client::new()
        .get(w.server.url(&format!("/api/v1/alerts/history?format=csv&move={}", w.move_a)))
        .bearer_auth(&w.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert_eq!(response.headers()["content-disposition"], "attachment; filename=\"alerts.csv\"");
    let records = csv_records(&response.text().await.unwrap());
    let header = &records[0];
    assert_eq!(header[0], "id");
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (id, note, opened) = (column("id"), column("note"), column("opened_t"));
    let rows: Vec<(&str, &str)> = records[1..].iter().map(|r| (r[id].as_str(), r[note].as_str())).collect();
    assert_eq!(
        rows,
        [
            ("c-7", "-12.5"),
            ("c-6", "two\r\nlines and a \"quote\""),
            ("c-5", "plain, with a comma"),
            ("c-4", "'@SUM(A1)"),
            ("c-3", "'-2+3"),
            ("c-2", "'+1+2"),
            ("c-1", "'=HYPERLINK(\"http://evil\",\"click\")"),
        ],
        "newest first; a formula behind a quote, a plain number kept"
    );
    assert_eq!(records[1][opened], format_time(&w.at(6)));
    assert!(records.iter().all(|r| r.len() == header.len()), "every row has every column");

    // Every page: the other move's 1,005 alerts, each once, newest first.
    let response = reqwest::Client::new()
        .get(w.server.url(&format!("/api/v1/alerts/history?format=csv&move={}", w.move_b)))
        .bearer_auth(&w.admin)
        .send()
        .await
        .unwrap();
    let records = csv_records(&response.text().await.unwrap());
    let bulk: Vec<&str> = records[1..].iter().map(|r| r[id].as_str()).collect();
    let mut unique = bulk.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((bulk.len(), unique.len()), (1005, 1005));
    assert_eq!(bulk[0], "bulk-1002", "the newest first");

    // The download is audited with its filters.
    let exports = w.audit("alert.export").await;
    assert_eq!(exports.len(), 2);
    let detail: Value = serde_json::from_str(&exports[0].detail).unwrap();
    assert_eq!((detail["move"].as_str(), detail["format"].as_str()), (Some(w.move_a.as_str()), Some("csv")));
    assert_eq!(exports[0].actor.as_deref(), Some(ADMIN_USER));
    w.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_escort_sees_their_moves_only_and_an_auditor_recent_alerts_without_their_place() {
    let w = World::start().await;
    w.open(opened_alert("s-a-old", &w.move_a, "truck-a", w.at(0))).await;
    w.open(opened_alert("s-b-old", &w.move_b, "truck-b", w.at(1))).await;
    // Opened a minute ago: within the auditor's delay (60 minutes by default).
    let recent = Utc::now().trunc_subsecs(3) - Duration::minutes(1);
    w.open(AlertRecord {
        zone: Some("school".into()),
        ..opened_alert("s-a-new", &w.move_a, "truck-a", recent)
    })
    .await;

    assert_eq!(w.ids("", &w.admin).await, ["s-a-new", "s-b-old", "s-a-old"]);
    assert_eq!(w.ids("", &w.escort).await, ["s-a-new", "s-a-old"], "the escort's move only");
    assert_eq!(
        w.ids(&format!("move={}", w.move_b), &w.escort).await,
        Vec::<String>::new(),
        "another team's move"
    );
    assert_eq!(w.ids("vehicle=truck-b", &w.escort).await, Vec::<String>::new());
    let csv = reqwest::Client::new()
        .get(w.server.url("/api/v1/alerts/history?format=csv"))
        .bearer_auth(&w.escort)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let escort_rows: Vec<String> = csv_records(&csv)[1..].iter().map(|r| r[0].clone()).collect();
    assert_eq!(escort_rows, ["s-a-new", "s-a-old"], "the escort's CSV too");

    let (status, page) = w.get("/api/v1/alerts/history", &w.auditor).await;
    assert_eq!(status, 200);
    assert_eq!(ids(&page), ["s-a-new", "s-b-old", "s-a-old"], "an auditor reads every move's alerts");
    let new = &page["alerts"][0];
    assert_eq!((&new["lat"], &new["lon"], &new["zone"]), (&Value::Null, &Value::Null, &Value::Null), "{new}");
    assert_eq!(new["kind"], "off_route", "what and when stay");
    assert_eq!(page["alerts"][2]["lat"], 48.165, "an old alert keeps its place");
    let csv = reqwest::Client::new()
        .get(w.server.url("/api/v1/alerts/history?format=csv"))
        .bearer_auth(&w.auditor)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let records = csv_records(&csv);
    let column = |name: &str| records[0].iter().position(|h| h == name).unwrap();
    let (lat, zone) = (column("lat"), column("zone"));
    assert_eq!(
        (records[1][0].as_str(), records[1][lat].as_str(), records[1][zone].as_str()),
        ("s-a-new", "", "")
    );
    assert_eq!((records[3][0].as_str(), records[3][lat].as_str()), ("s-a-old", "48.165"));
    w.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_queries_are_refused_with_their_reason_counted_and_nothing_recorded() {
    let w = World::start().await;
    for n in 0..3 {
        w.open(opened_alert(&format!("r-{n}"), &w.move_a, "truck-a", w.at(n))).await;
    }
    let (_, first) = w.get("/api/v1/alerts/history?limit=1&state=open", &w.admin).await;
    let cursor = first["next"].as_str().unwrap().to_string();
    let mut damaged = cursor.clone().into_bytes();
    let last = damaged.len() - 1;
    damaged[last] = if damaged[last] == b'A' { b'B' } else { b'A' };
    let damaged = String::from_utf8(damaged).unwrap();
    let (from, to) = (q(&format_time(&w.at(10))), q(&format_time(&w.at(5))));
    let cases: Vec<(String, &str)> = vec![
        ("from=yesterday".into(), "bad_time"),
        (format!("from={from}&to={to}"), "bad_range"),
        (format!("from={from}&to={from}"), "bad_range"),
        ("kind=teleported".into(), "unknown_kind"),
        ("state=asleep".into(), "unknown_state"),
        (format!("text={}", "x".repeat(201)), "text_too_long"),
        ("text=%00".into(), "bad_text"),
        ("vehicle=no%20spaces".into(), "bad_vehicle"),
        ("limit=0".into(), "bad_limit"),
        ("limit=1001".into(), "bad_limit"),
        ("limit=many".into(), "bad_query"),
        ("format=xlsx".into(), "bad_format"),
        ("cursor=forged".into(), "bad_cursor"),
        (format!("cursor={}&state=open", q(&damaged)), "bad_cursor"),
        (format!("cursor={}", "A".repeat(5000)), "bad_cursor"),
        // The first page's cursor, with other filters than its own.
        (format!("cursor={}&state=resolved", q(&cursor)), "stale_cursor"),
        (format!("cursor={}", q(&cursor)), "stale_cursor"),
    ];
    let views_before = w.audit("alert.view").await.len();
    for (query, reason) in &cases {
        let sample = format!("convoy_gateway_alert_queries_rejected_total{{reason=\"{reason}\"}}");
        let before =
            metric(&w.server.metrics().await, &sample).unwrap_or_else(|| panic!("{sample} pre-registered"));
        let (status, body) = w.get(&format!("/api/v1/alerts/history?{query}"), &w.admin).await;
        assert_eq!((status, body["reason"].as_str()), (400, Some(*reason)), "{query}: {body}");
        assert!(!body["error"].as_str().unwrap().is_empty(), "a message for {query}");
        let after = metric(&w.server.metrics().await, &sample).unwrap();
        assert_eq!(after, before + 1.0, "{query} counted as {reason}");
    }
    // Another person's cursor is stale for them, as for other filters.
    let (status, body) =
        w.get(&format!("/api/v1/alerts/history?limit=1&state=open&cursor={}", q(&cursor)), &w.auditor).await;
    assert_eq!((status, body["reason"].as_str()), (400, Some("stale_cursor")));
    assert_eq!(w.audit("alert.view").await.len(), views_before, "a refused query is not a look at alerts");
    assert!(w.audit("alert.export").await.is_empty());
    // The CSV is refused alike, before anything is written.
    let (status, body) = w.get("/api/v1/alerts/history?format=csv&kind=teleported", &w.admin).await;
    assert_eq!((status, body["reason"].as_str()), (400, Some("unknown_kind")));
    assert!(w.audit("alert.export").await.is_empty());
    // The cursor itself still works with its own query.
    let (status, page) =
        w.get(&format!("/api/v1/alerts/history?limit=1&state=open&cursor={}", q(&cursor)), &w.admin).await;
    assert_eq!((status, ids(&page)), (200, vec!["r-1".to_string()]));
    // Every reason the handler gives is pre-registered.
    let metrics = w.server.metrics().await;
    for reason in convoy_gateway::ALERT_QUERY_REJECTION_REASONS {
        let sample = format!("convoy_gateway_alert_queries_rejected_total{{reason=\"{reason}\"}}");
        assert!(metric(&metrics, &sample).is_some(), "{sample}");
    }
    w.server.stop().await;
}
