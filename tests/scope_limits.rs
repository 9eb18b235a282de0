//! The edges of what people see: an escort stops seeing a move's vehicles when the move has
//! ended (they may carry another team's move next), an auditor's vehicle list carries no live
//! positions, and an over-long user name is refused before it reaches the throttle or the logs.

mod common;

use chrono::{Duration as TimeSpan, SubsecRound, Utc};
use common::*;
use convoy_core::{FixMode, Position, Role};
use serde_json::{json, Value};

async fn post(server: &TestServer, token: &str, path: &str, body: Value) -> (u16, Value) {
    let response =
        reqwest::Client::new().post(server.url(path)).bearer_auth(token).json(&body).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

fn plan(name: &str, vehicle: &str, window: Option<(chrono::DateTime<Utc>, chrono::DateTime<Utc>)>) -> Value {
    let mut plan = json!({ "name": name, "vehicles": [vehicle],
        "route": { "type": "LineString", "coordinates": [[11.5, 48.1], [11.6, 48.2]] } });
    if let Some((from, to)) = window {
        plan["window"] = json!({ "from": from.to_rfc3339(), "to": to.to_rfc3339() });
    }
    plan
}

#[tokio::test]
async fn an_escort_sees_a_moves_vehicles_only_while_it_runs_and_an_auditor_sees_no_live_positions() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let admin = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let (done, done_password) = register_vehicle(&server, "truck-done").await;
    let (running, _) = register_vehicle(&server, "truck-running").await;
    let now = Utc::now().trunc_subsecs(0);
    let (_, ended) = post(
        &server,
        &admin,
        "/api/v1/moves",
        plan("Last week", done.as_str(), Some((now - TimeSpan::days(8), now - TimeSpan::days(7)))),
    )
    .await;
    let (_, current) = post(&server, &admin, "/api/v1/moves", plan("Today", running.as_str(), None)).await;
    for id in [&ended["id"], &current["id"]] {
        let url = server.url(&format!("/api/v1/moves/{}/team", id.as_str().unwrap()));
        let response = reqwest::Client::new()
            .put(url)
            .bearer_auth(&admin)
            .json(&json!({ "users": [ESCORT_USER] }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let escort = server.login(ESCORT_USER, ESCORT_PASSWORD).await;
    let (_, listed) = server.get_json("/api/v1/vehicles", &escort).await;
    let ids: Vec<&str> =
        listed["vehicles"].as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec!["truck-running"], "the ended move's vehicle is no longer the escort's to watch");
    let (_, moves) = server.get_json("/api/v1/moves", &escort).await;
    assert_eq!(moves["moves"].as_array().unwrap().len(), 2, "both moves stay listed: {moves}");

    // An auditor gets the list, without the newest positions.
    let fix = Position {
        seq: 1,
        t: now,
        lat: 48.1,
        lon: 11.5,
        alt_m: None,
        speed_mps: Some(0.0),
        course_deg: None,
        fix: Some(FixMode::ThreeD),
        sats: Some(9),
        hdop: Some(0.9),
        accuracy_m: None,
    };
    publish_fixes(&server, &done, &done_password, &[fix], 1).await;
    eventually(std::time::Duration::from_secs(20), "the fix stored", || async {
        let (_, listed) = server.get_json("/api/v1/vehicles", &admin).await;
        listed["vehicles"]
            .as_array()?
            .iter()
            .any(|v| v["id"] == "truck-done" && !v["position"].is_null())
            .then_some(())
    })
    .await;
    convoy_registry::add_user(&server.store, "auditor-cy", Role::Auditor, "a long enough auditor password")
        .await
        .unwrap();
    let auditor = server.login("auditor-cy", "a long enough auditor password").await;
    let (status, listed) = server.get_json("/api/v1/vehicles", &auditor).await;
    assert_eq!(status, 200);
    let vehicles = listed["vehicles"].as_array().unwrap();
    assert_eq!(vehicles.len(), 2);
    assert!(vehicles.iter().all(|v| v["position"].is_null() && v["received_at"].is_null()), "{listed}");
    server.stop().await;
}

#[tokio::test]
async fn an_over_long_user_name_is_refused_before_anything_records_it() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let name = "n".repeat(100_000);
    let response = reqwest::Client::new()
        .post(server.url("/api/v1/login"))
        .json(&json!({ "username": name, "password": "whatever" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let admin = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let (_, audit) = server.get_json("/api/v1/audit?action=login.failed", &admin).await;
    assert_eq!(audit["entries"], json!([]), "nothing recorded for it");
    server.stop().await;
}
