//! Failed logins are throttled by name: after ten wrong passwords even the right one is
//! refused for a while (429), counted, and recorded in the audit log; other names are not held.

mod common;

use common::{
    metric, Backend, BrokerKind, TestServer, ADMIN_PASSWORD, ADMIN_USER, ESCORT_PASSWORD, ESCORT_USER,
};
use serde_json::json;

async fn try_login(server: &TestServer, user: &str, password: &str) -> u16 {
    reqwest::Client::new()
        .post(server.url("/api/v1/login"))
        .json(&json!({ "username": user, "password": password }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn ten_wrong_passwords_hold_the_name_and_only_that_name() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    for attempt in 0..convoy_gateway::throttle::MAX_FAILURES {
        assert_eq!(
            try_login(&server, ESCORT_USER, "not the password at all").await,
            401,
            "attempt {attempt}"
        );
    }
    assert_eq!(
        try_login(&server, ESCORT_USER, ESCORT_PASSWORD).await,
        429,
        "held, even with the right password"
    );
    let response = reqwest::Client::new()
        .post(server.url("/api/v1/login"))
        .json(&json!({ "username": ESCORT_USER, "password": ESCORT_PASSWORD }))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("too many failed logins"), "{body}");
    assert_eq!(try_login(&server, ADMIN_USER, ADMIN_PASSWORD).await, 200, "another name is not held");

    let metrics = server.metrics().await;
    assert_eq!(metric(&metrics, r#"convoy_gateway_logins_total{outcome="throttled"}"#), Some(2.0));
    assert_eq!(metric(&metrics, r#"convoy_gateway_logins_total{outcome="refused"}"#), Some(10.0));
    let admin = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let (status, audit) = server.get_json("/api/v1/audit?action=login.throttled", &admin).await;
    assert_eq!(status, 200, "{audit}");
    let entries = audit["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{audit}");
    assert!(entries.iter().all(|e| e["target"] == ESCORT_USER && e["from"] == "127.0.0.1"), "{audit}");
    server.stop().await;
}
