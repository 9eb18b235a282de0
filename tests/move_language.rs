//! A move's language (the one its alerts are sent in) through the API, on a real server
//! (SQLite): a plan names one and every answer about the move carries it; a plan without one
//! takes `[moves] default_language` (English unless configured); an unknown one is refused 400
//! `unknown_language`, counted, and stores nothing; a started move may still change it. And a
//! route file drawn on a Chinese map is declared `coordinates=gcj02` and stored in WGS-84.

mod common;

use chrono::{Duration, SubsecRound, Utc};
use common::*;
use convoy_core::language::Language;
use serde_json::{json, Value};

fn plan(name: &str, language: Option<&str>, hours_from_now: i64) -> Value {
    let from = (Utc::now() + Duration::hours(hours_from_now)).trunc_subsecs(3);
    let mut plan = json!({
        "name": name,
        "vehicles": ["truck-07"],
        "route": { "type": "LineString", "coordinates": [[121.40, 31.20], [121.50, 31.23]] },
        "window": { "from": from, "to": from + Duration::hours(8) },
    });
    if let Some(language) = language {
        plan["language"] = json!(language);
    }
    plan
}

async fn start(configure: impl FnOnce(&mut convoy::config::ServerConfig)) -> (TestServer, String) {
    let server = TestServer::start_configured(Backend::Sqlite, BrokerKind::Embedded, configure).await;
    register_vehicle(&server, "truck-07").await;
    let token = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    (server, token)
}

async fn send(
    server: &TestServer,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> (u16, Value) {
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

async fn create(server: &TestServer, token: &str, plan: Value) -> String {
    let (status, body) = send(server, token, reqwest::Method::POST, "/api/v1/moves", plan).await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_string()
}

async fn language_of(server: &TestServer, token: &str, id: &str) -> (String, Value) {
    let (status, stored) = server.get_json(&format!("/api/v1/moves/{id}"), token).await;
    assert_eq!(status, 200, "{stored}");
    (stored["language"].as_str().unwrap().to_string(), stored["plan"]["language"].clone())
}

async fn upload_gpx(server: &TestServer, token: &str, query: &str, gpx: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(server.url(&format!("/api/v1/moves?{query}")))
        .bearer_auth(token)
        .header("content-type", "application/gpx+xml")
        .body(gpx.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plans_language_is_kept_and_answered_and_a_plan_without_one_takes_the_default() {
    let (server, token) = start(|_| {}).await;
    let chinese = create(&server, &token, plan("浦东", Some("zh-CN"), 24)).await;
    let plain = create(&server, &token, plan("No language", None, 24)).await;
    assert_eq!(language_of(&server, &token, &chinese).await, ("zh-CN".to_string(), json!("zh-CN")));
    assert_eq!(language_of(&server, &token, &plain).await, ("en".to_string(), Value::Null));
    let (_, listed) = server.get_json("/api/v1/moves", &token).await;
    let mut languages: Vec<&str> =
        listed["moves"].as_array().unwrap().iter().map(|m| m["language"].as_str().unwrap()).collect();
    languages.sort();
    assert_eq!(languages, ["en", "zh-CN"]);
    server.stop().await;

    let (server, token) = start(|config| config.moves.default_language = Language::SimplifiedChinese).await;
    let plain = create(&server, &token, plan("默认", None, 24)).await;
    let english = create(&server, &token, plan("Its own", Some("en"), 24)).await;
    assert_eq!(language_of(&server, &token, &plain).await.0, "zh-CN");
    assert_eq!(language_of(&server, &token, &english).await.0, "en");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_language_is_refused_400_counted_and_nothing_is_stored() {
    let (server, token) = start(|_| {}).await;
    for language in ["fr", "zh-TW", "chinese", ""] {
        let (status, body) =
            send(&server, &token, reqwest::Method::POST, "/api/v1/moves", plan("Bad", Some(language), 24))
                .await;
        assert_eq!((status, body["reason"].as_str()), (400, Some("unknown_language")), "{language}: {body}");
        assert!(body["error"].as_str().unwrap().contains(&format!("\"{language}\"")), "{body}");
    }
    let (status, body) =
        upload_gpx(&server, &token, "name=x&vehicles=truck-07&language=de", SHANGHAI_GPX).await;
    assert_eq!((status, body["reason"].as_str()), (400, Some("unknown_language")), "{body}");
    let metrics = server.metrics().await;
    let refused = metric(&metrics, "convoy_gateway_plans_rejected_total{reason=\"unknown_language\"}");
    assert_eq!(refused, Some(5.0));
    let (_, listed) = server.get_json("/api/v1/moves", &token).await;
    assert_eq!(listed["moves"], json!([]), "nothing stored");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_started_move_may_change_its_language_and_the_version_says_so() {
    let (server, token) = start(|_| {}).await;
    let running = create(&server, &token, plan("Running", None, -1)).await;
    let (_, stored) = server.get_json(&format!("/api/v1/moves/{running}"), &token).await;
    let mut edited = stored["plan"].clone();
    edited["language"] = json!("zh-CN");
    let path = format!("/api/v1/moves/{running}/plan");
    let (status, body) =
        send(&server, &token, reqwest::Method::PUT, &path, json!({ "replaces": 1, "plan": edited })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["version"].as_u64(), body["language"].as_str()), (Some(2), Some("zh-CN")), "{body}");
    let (_, versions) = server.get_json(&format!("/api/v1/moves/{running}/versions"), &token).await;
    assert_eq!(versions["versions"][0]["changes"], json!(["language"]), "{versions}");
    server.stop().await;
}

/// Two points in Shanghai as a Chinese map gives them (GCJ-02).
const SHANGHAI_GPX: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1"><rte>
  <rtept lat="31.2304" lon="121.4737"/><rtept lat="31.2400" lon="121.4900"/>
</rte></gpx>"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_file_declared_gcj02_is_stored_in_wgs84_and_an_unknown_system_refused() {
    let (server, token) = start(|_| {}).await;
    let (status, body) = upload_gpx(
        &server,
        &token,
        "name=%E4%B8%8A%E6%B5%B7&vehicles=truck-07&coordinates=gcj02&language=zh-CN",
        SHANGHAI_GPX,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap();
    let (_, stored) = server.get_json(&format!("/api/v1/moves/{id}"), &token).await;
    let first = &stored["plan"]["route"]["coordinates"][0];
    let (lat, lon) = convoy_core::gcj02::gcj02_to_wgs84(31.2304, 121.4737);
    let (stored_lon, stored_lat) = (first[0].as_f64().unwrap(), first[1].as_f64().unwrap());
    assert!((stored_lat - lat).abs() < 1e-7 && (stored_lon - lon).abs() < 1e-7, "{first} vs {lat},{lon}");
    // Hundreds of metres from the file's numbers, as GCJ-02 is in Shanghai.
    assert!((stored_lon - 121.4737).abs() > 0.003, "{first}");
    assert_eq!((stored["name"].as_str(), stored["language"].as_str()), (Some("上海"), Some("zh-CN")));

    let (status, body) =
        upload_gpx(&server, &token, "name=x&vehicles=truck-07&coordinates=bd09", SHANGHAI_GPX).await;
    assert_eq!((status, body["reason"].as_str()), (400, Some("unknown_coordinates")), "{body}");
    server.stop().await;
}
