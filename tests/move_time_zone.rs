//! A move's time zone through the API, on a real server (SQLite): a plan names one (an IANA
//! name) and every answer about the move carries it; a plan without one takes the server's
//! `[moves] default_time_zone` (UTC unless configured); an unknown name is refused 400
//! `unknown_time_zone`, counted, and stores nothing; an edit may change the zone before the
//! start only.

mod common;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use common::*;
use serde_json::{json, Value};

async fn send(server: &TestServer, token: &str, method: &str, path: &str, body: Value) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let response = reqwest::Client::new()
        .request(method, server.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn plan(name: &str, time_zone: Option<&str>, from: DateTime<Utc>) -> Value {
    let mut plan = json!({
        "name": name,
        "vehicles": ["truck-07"],
        "route": { "type": "LineString", "coordinates": [[121.40, 31.20], [121.50, 31.23]] },
        "window": { "from": from.trunc_subsecs(3), "to": (from + Duration::hours(8)).trunc_subsecs(3) },
    });
    if let Some(zone) = time_zone {
        plan["time_zone"] = json!(zone);
    }
    plan
}

async fn server(configure: impl FnOnce(&mut convoy::config::ServerConfig)) -> (TestServer, String) {
    let server = TestServer::start_configured(Backend::Sqlite, BrokerKind::Embedded, configure).await;
    register_vehicle(&server, "truck-07").await;
    let token = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    (server, token)
}

async fn create(server: &TestServer, token: &str, plan: &Value) -> String {
    let (status, body) = send(server, token, "POST", "/api/v1/moves", plan.clone()).await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_string()
}

/// The `time_zone` of each listed move, by id.
async fn listed_zones(server: &TestServer, token: &str) -> Vec<(String, String)> {
    let (status, body) = server.get_json("/api/v1/moves", token).await;
    assert_eq!(status, 200, "{body}");
    let mut zones: Vec<(String, String)> = body["moves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["id"].as_str().unwrap().to_string(), m["time_zone"].as_str().unwrap().to_string()))
        .collect();
    zones.sort();
    zones
}

fn metric_value(metrics: &str, counter: &str, reason: &str) -> f64 {
    metric(metrics, &format!("{counter}{{reason=\"{reason}\"}}")).unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plans_zone_is_kept_and_answered_and_a_plan_without_one_is_utc() {
    let (server, token) = server(|_| {}).await;
    let tomorrow = Utc::now() + Duration::days(1);
    let shanghai = create(&server, &token, &plan("Pudong", Some("Asia/Shanghai"), tomorrow)).await;
    let plain = create(&server, &token, &plan("No zone", None, tomorrow)).await;

    let (status, stored) = server.get_json(&format!("/api/v1/moves/{shanghai}"), &token).await;
    assert_eq!(status, 200, "{stored}");
    assert_eq!(
        (stored["time_zone"].as_str(), stored["plan"]["time_zone"].as_str()),
        (Some("Asia/Shanghai"), Some("Asia/Shanghai"))
    );
    assert_eq!(stored["window"]["from"], json!(tomorrow.trunc_subsecs(3)), "times stay UTC");
    let (_, stored) = server.get_json(&format!("/api/v1/moves/{plain}"), &token).await;
    assert_eq!(stored["time_zone"], "UTC", "the default when unconfigured: {stored}");
    assert!(stored["plan"].get("time_zone").is_none(), "the plan keeps what was sent: {stored}");
    let mut expected = vec![(shanghai.clone(), "Asia/Shanghai".to_string()), (plain, "UTC".to_string())];
    expected.sort();
    assert_eq!(listed_zones(&server, &token).await, expected);

    // A route file takes it as a query parameter, as the plan's other fields.
    let gpx = std::fs::read(data_path("drives/gpxpy/around-visnjan-with-car.gpx")).unwrap();
    let response = reqwest::Client::new()
        .post(server.url("/api/v1/moves?name=Visnjan&vehicles=truck-07&time_zone=Europe%2FZagreb"))
        .bearer_auth(&token)
        .header("content-type", "application/gpx+xml")
        .body(gpx)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let id = response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let (_, stored) = server.get_json(&format!("/api/v1/moves/{id}"), &token).await;
    assert_eq!(stored["time_zone"], "Europe/Zagreb");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_without_a_zone_takes_the_configured_default() {
    let berlin = convoy_core::time_zone::parse("Europe/Berlin").unwrap();
    let (server, token) = server(|config| config.moves.default_time_zone = berlin).await;
    let tomorrow = Utc::now() + Duration::days(1);
    let plain = create(&server, &token, &plan("No zone", None, tomorrow)).await;
    let own = create(&server, &token, &plan("Its own", Some("Asia/Shanghai"), tomorrow)).await;
    let (_, stored) = server.get_json(&format!("/api/v1/moves/{plain}"), &token).await;
    assert_eq!(stored["time_zone"], "Europe/Berlin", "{stored}");
    let mut expected = vec![(plain, "Europe/Berlin".to_string()), (own, "Asia/Shanghai".to_string())];
    expected.sort();
    assert_eq!(listed_zones(&server, &token).await, expected);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_zone_is_refused_400_counted_and_nothing_is_stored() {
    let (server, token) = server(|_| {}).await;
    let tomorrow = Utc::now() + Duration::days(1);
    for zone in ["Mars/Olympus_Mons", "CST", "UTC+8", ""] {
        let (status, body) =
            send(&server, &token, "POST", "/api/v1/moves", plan("Bad", Some(zone), tomorrow)).await;
        assert_eq!((status, body["reason"].as_str()), (400, Some("unknown_time_zone")), "{zone}: {body}");
        let message = body["error"].as_str().unwrap();
        assert!(message.contains(&format!("\"{zone}\"")) && message.contains("IANA"), "{message}");
    }
    let (status, body) = send(&server, &token, "POST", "/api/v1/moves", json!({"time_zone": 8})).await;
    assert_eq!(status, 400, "{body}");
    let response = reqwest::Client::new()
        .post(server.url("/api/v1/moves?name=Visnjan&vehicles=truck-07&time_zone=Atlantis"))
        .bearer_auth(&token)
        .header("content-type", "application/gpx+xml")
        .body(std::fs::read(data_path("drives/gpxpy/around-visnjan-with-car.gpx")).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let metrics = server.metrics().await;
    assert_eq!(metric_value(&metrics, "convoy_gateway_plans_rejected_total", "unknown_time_zone"), 5.0);
    assert_eq!(listed_zones(&server, &token).await, Vec::<(String, String)>::new(), "nothing stored");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_changes_the_zone_before_the_start_only() {
    let (server, token) = server(|_| {}).await;
    let tomorrow = Utc::now() + Duration::days(1);
    let planned = create(&server, &token, &plan("Planned", None, tomorrow)).await;
    let edit = |id: &str, plan: Value| {
        let path = format!("/api/v1/moves/{id}/plan");
        let (server, token) = (&server, &token);
        async move { send(server, token, "PUT", &path, json!({ "replaces": 1, "plan": plan })).await }
    };
    let (status, body) = edit(&planned, plan("Planned", Some("Mars/Base"), tomorrow)).await;
    assert_eq!((status, body["reason"].as_str()), (400, Some("unknown_time_zone")), "{body}");
    let (status, body) = edit(&planned, plan("Planned", Some("Asia/Shanghai"), tomorrow)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["version"].as_u64(), body["time_zone"].as_str()), (Some(2), Some("Asia/Shanghai")));
    let (_, versions) = server.get_json(&format!("/api/v1/moves/{planned}/versions"), &token).await;
    assert_eq!(versions["versions"][0]["changes"], json!(["time_zone"]), "{versions}");

    let started = Utc::now() - Duration::hours(1);
    let running = create(&server, &token, &plan("Running", Some("Asia/Shanghai"), started)).await;
    let (status, body) = edit(&running, plan("Running", Some("Europe/Berlin"), started)).await;
    assert_eq!((status, body["reason"].as_str()), (409, Some("started")), "{body}");
    assert!(body["error"].as_str().unwrap().contains("time_zone"), "{body}");
    let (_, stored) = server.get_json(&format!("/api/v1/moves/{running}"), &token).await;
    assert_eq!((stored["version"].as_u64(), stored["time_zone"].as_str()), (Some(1), Some("Asia/Shanghai")));
    let metrics = server.metrics().await;
    let counter = "convoy_gateway_move_edits_refused_total";
    assert_eq!(metric_value(&metrics, counter, "unknown_time_zone"), 1.0);
    assert_eq!(metric_value(&metrics, counter, "started"), 1.0);
    server.stop().await;
}
