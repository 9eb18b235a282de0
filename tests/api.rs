//! The HTTP API's doors: login, tokens, roles, and clear errors.

mod common;

use common::*;
use serde_json::{json, Value};

async fn post(server: &TestServer, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    let mut request = reqwest::Client::new().post(server.url(path)).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn health_and_metrics_answer_without_login() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let health: Value = reqwest::get(server.url("/healthz")).await.unwrap().json().await.unwrap();
    assert_eq!(health, json!({ "status": "ok", "store": "sqlite" }));
    let metrics = server.metrics().await;
    assert_eq!(metric(&metrics, "convoy_ingest_positions_total"), Some(0.0));
    assert_eq!(metric(&metrics, "convoy_ingest_rejected_total{reason=\"malformed\"}"), Some(0.0));
    server.stop().await;
}

#[tokio::test]
async fn login_refuses_wrong_passwords_and_unknown_users_alike() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let wrong =
        post(&server, "/api/v1/login", None, json!({ "username": ESCORT_USER, "password": "nope" })).await;
    let unknown =
        post(&server, "/api/v1/login", None, json!({ "username": "nobody", "password": "nope" })).await;
    assert_eq!(wrong, (401, json!({ "error": "wrong user name or password" })));
    assert_eq!(unknown, wrong, "the answer does not tell which user names exist");
    let (status, body) = post(&server, "/api/v1/login", None, json!({ "username": ESCORT_USER })).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("password"), "{body}");
    let metrics = server.metrics().await;
    assert_eq!(metric(&metrics, "convoy_gateway_logins_total{outcome=\"refused\"}"), Some(2.0));
    server.stop().await;
}

#[tokio::test]
async fn the_api_needs_a_valid_bearer_token() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let response = reqwest::get(server.url("/api/v1/vehicles")).await.unwrap();
    assert_eq!(response.status(), 401);
    let (status, body) = server.get_json("/api/v1/vehicles", "forged-token").await;
    assert_eq!((status, body), (401, json!({ "error": "invalid or expired token" })));
    let token = server.login(ESCORT_USER, ESCORT_PASSWORD).await;
    let (status, body) = server.get_json("/api/v1/vehicles", &token).await;
    assert_eq!((status, body), (200, json!({ "vehicles": [] })));
    server.stop().await;
}

#[tokio::test]
async fn dispatchers_and_admins_register_vehicles_and_see_the_password_once() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let admin = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let escort = server.login(ESCORT_USER, ESCORT_PASSWORD).await;

    let (status, body) = post(&server, "/api/v1/vehicles", Some(&escort), json!({ "id": "truck-07" })).await;
    assert_eq!((status, body), (403, json!({ "error": "role escort may not do this" })));

    let (status, body) = post(&server, "/api/v1/vehicles", Some(&admin), json!({ "id": "truck-07" })).await;
    assert_eq!(status, 201);
    assert_eq!(body["id"], "truck-07");
    let password = body["password"].as_str().unwrap();
    assert_eq!(password.len(), 24);
    let hash = server.store.vehicle_password_hash(&"truck-07".parse().unwrap()).await.unwrap().unwrap();
    assert!(hash.starts_with("hmac-sha256$") && !hash.contains(password), "only a salted HMAC is stored");

    let (status, _) = post(&server, "/api/v1/vehicles", Some(&admin), json!({ "id": "truck-07" })).await;
    assert_eq!(status, 409);
    let (status, body) = post(&server, "/api/v1/vehicles", Some(&admin), json!({ "id": "truck/07" })).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("'/'"), "{body}");

    let (_, listed) = server.get_json("/api/v1/vehicles", &admin).await;
    assert_eq!(
        listed,
        json!({ "vehicles": [{ "id": "truck-07", "position": null, "received_at": null, "move": null, "disabled": false,
            "signed": false, "key_id": null }] })
    );
    // An escort sees only the vehicles of moves they are assigned to: none yet.
    let (_, listed) = server.get_json("/api/v1/vehicles", &escort).await;
    assert_eq!(listed, json!({ "vehicles": [] }));
    server.stop().await;
}

#[tokio::test]
async fn unknown_paths_get_a_json_404() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let response = reqwest::get(server.url("/api/v1/nothing")).await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({ "error": "no such path" }));
    server.stop().await;
}
