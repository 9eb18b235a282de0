//! SQL and HTML metacharacters (and a NUL byte) in every parameter of the API: each request is
//! answered with a 4xx and a JSON error, or with an empty JSON result for a filter that matches
//! nothing; never a 5xx, never anything but JSON; and nothing stored changes.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};

/// What an attacker types: SQL that would close a quoted string, markup, a NUL byte (which
/// PostgreSQL refuses in text), and an over-long string.
fn hostile_values() -> Vec<String> {
    vec![
        "' OR '1'='1".into(),
        "x'; DROP TABLE users; --".into(),
        "<script>alert(1)</script>".into(),
        "<img src=x onerror=alert(1)>".into(),
        "a\u{0}b".into(),
        "é".repeat(5000),
    ]
}

fn encode(value: &str) -> String {
    value.bytes().map(|b| format!("%{b:02X}")).collect()
}

/// Every place a value goes: (method, path with `{}` for the value, JSON body with "{}").
fn places(move_id: &str) -> Vec<(Method, String, Option<Value>)> {
    let get = |path: &str| (Method::GET, path.to_string(), None);
    vec![
        get("/api/v1/vehicles/{}/track"),
        get("/api/v1/vehicles/truck-h/track?from={}"),
        get("/api/v1/vehicles/truck-h/track?format={}"),
        get("/api/v1/vehicles/truck-h/track?simplify_m={}"),
        get("/api/v1/moves/{}"),
        get("/api/v1/moves/{}/replay"),
        get(&format!("/api/v1/moves/{move_id}/replay?vehicle={{}}")),
        get(&format!("/api/v1/moves/{move_id}/replay?to={{}}")),
        get(&format!("/api/v1/moves/{move_id}/export?format={{}}")),
        get(&format!("/api/v1/moves/{move_id}/export?format=csv&vehicle={{}}")),
        get("/api/v1/moves/{}/report"),
        get("/api/v1/alerts?state={}"),
        get("/api/v1/alerts?move={}"),
        get("/api/v1/alerts?vehicle={}"),
        get("/api/v1/alerts?limit={}"),
        get("/api/v1/alerts/{}"),
        get("/api/v1/audit?actor={}"),
        get("/api/v1/audit?action={}"),
        get("/api/v1/audit?from={}"),
        get("/api/v1/audit?after_seq={}"),
        (Method::DELETE, "/api/v1/users/{}/tokens".into(), None),
        (Method::POST, "/api/v1/alerts/{}/ack".into(), Some(json!({ "note": "{}" }))),
        (Method::POST, "/api/v1/alerts/{}/resolve".into(), None),
        (Method::PUT, format!("/api/v1/moves/{move_id}/team"), Some(json!({ "users": ["{}"] }))),
        (Method::PUT, "/api/v1/moves/{}/team".into(), Some(json!({ "users": [] }))),
        (
            Method::POST,
            "/api/v1/users".into(),
            Some(json!({ "name": "{}", "role": "escort", "password": "long enough password" })),
        ),
        (
            Method::POST,
            "/api/v1/users".into(),
            Some(json!({ "name": "ok-name", "role": "{}", "password": "long enough password" })),
        ),
        (Method::POST, "/api/v1/vehicles".into(), Some(json!({ "id": "{}" }))),
        (
            Method::POST,
            "/api/v1/moves".into(),
            Some(
                json!({ "name": "n", "vehicles": ["{}"], "route": { "type": "LineString", "coordinates": [[11.5, 48.1], [11.6, 48.2]] } }),
            ),
        ),
        (Method::POST, "/api/v1/login".into(), Some(json!({ "username": "{}", "password": "{}" }))),
    ]
}

/// Everything a hostile request could have changed, as the API shows it.
async fn stored_state(server: &TestServer, token: &str) -> Vec<Value> {
    let mut state = Vec::new();
    for path in ["/api/v1/users", "/api/v1/vehicles", "/api/v1/moves", "/api/v1/alerts"] {
        let (status, body) = server.get_json(path, token).await;
        assert_eq!(status, 200, "{path}: {body}");
        state.push(body);
    }
    state
}

async fn hostile_parameters_change_nothing(backend: Backend) {
    let server = TestServer::start(backend, BrokerKind::Embedded).await;
    let token = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    register_vehicle(&server, "truck-h").await;
    let plan = json!({ "name": "Hostile test", "vehicles": ["truck-h"],
        "route": { "type": "LineString", "coordinates": [[11.5, 48.1], [11.6, 48.2]] } });
    let created: Value = reqwest::Client::new()
        .post(server.url("/api/v1/moves"))
        .bearer_auth(&token)
        .json(&plan)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let move_id = created["id"].as_str().unwrap().to_string();
    let before = stored_state(&server, &token).await;

    let client = reqwest::Client::new();
    let mut wrong = Vec::new();
    for (method, path, body) in places(&move_id) {
        for value in hostile_values() {
            let url = server.url(&path.replace("{}", &encode(&value)));
            let mut request = client.request(method.clone(), url).bearer_auth(&token);
            if let Some(body) = &body {
                let text =
                    body.to_string().replace("{}", serde_json::to_string(&value).unwrap().trim_matches('"'));
                request = request.header("content-type", "application/json").body(text);
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let content_type =
                response.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
            let nosniff = response.headers().get("x-content-type-options").is_some_and(|v| v == "nosniff");
            let text = response.text().await.unwrap();
            let parsed: Option<Value> = serde_json::from_str(&text).ok();
            let shown = format!("{method} {path} with {:?}", value.chars().take(30).collect::<String>());
            let json_with_nosniff =
                content_type.as_deref().is_some_and(|t| t.starts_with("application/json")) && nosniff;
            let problem = match parsed {
                _ if status >= 500 => Some(format!("{status} {text}")),
                _ if !json_with_nosniff => Some(format!("{content_type:?}, nosniff {nosniff}")),
                None => Some(format!("not JSON: {text}")),
                Some(body) if status >= 400 && !body["error"].is_string() => {
                    Some(format!("{status} without an error message: {text}"))
                }
                Some(_) if status < 400 && method != Method::GET => {
                    Some(format!("a hostile change was accepted: {status} {text}"))
                }
                Some(_) => None,
            };
            if let Some(problem) = problem {
                wrong.push(format!("{shown}: {problem}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{} answers were wrong:\n{}", wrong.len(), wrong.join("\n"));
    assert_eq!(stored_state(&server, &token).await, before, "nothing stored changed");
    server.stop().await;
}

#[tokio::test]
async fn metacharacters_in_every_parameter_get_a_json_4xx_and_change_nothing_on_sqlite() {
    hostile_parameters_change_nothing(Backend::Sqlite).await;
}

#[tokio::test]
async fn metacharacters_in_every_parameter_get_a_json_4xx_and_change_nothing_on_postgres() {
    hostile_parameters_change_nothing(Backend::Postgres).await;
}

/// A client that opens a connection and never finishes its request's headers (slowloris), and
/// one that sends nothing at all, are closed by the server, and others are served meanwhile.
#[tokio::test]
async fn clients_that_never_finish_their_headers_are_closed_and_hold_up_nobody() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let mut slow = tokio::net::TcpStream::connect(server.http).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: convoy\r\nX-Slow: ").await.unwrap();
    let mut silent = tokio::net::TcpStream::connect(server.http).await.unwrap();

    let served = reqwest::get(server.url("/healthz")).await.unwrap();
    assert_eq!(served.status(), 200, "another client is served while two dawdle");

    // The server gives 30 s for the headers, then closes: the reads end (0 bytes or a 408).
    for (name, socket) in [("half-sent headers", &mut slow), ("nothing sent", &mut silent)] {
        let mut answer = Vec::new();
        let closed =
            tokio::time::timeout(std::time::Duration::from_secs(90), socket.read_to_end(&mut answer)).await;
        assert!(closed.is_ok(), "{name}: the connection is still open after 90 s");
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{name}: {answer}");
    }
    server.stop().await;
}
