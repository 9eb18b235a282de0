//! Vehicle administration against a real server (SQLite, embedded broker): registering answers
//! the password and the agent's configuration once; rotating a password refuses the old one at
//! the broker's door (counted) and lets the new one in, its positions stored; each refusal of
//! the vehicle routes answers its status and reason, is counted, and changes nothing; the audit
//! log records each change, never with a password. A disabled vehicle is refused at the door
//! (counted), a connected one is closed within 10 s, its positions stay, and enabling it lets it
//! in again. A real agent's status reports are read back as its status history.

mod common;

use std::time::Duration;

use chrono::Utc;
use common::*;
use convoy_agent::config::AgentConfigFile;
use convoy_core::{Position, VehicleId};
use convoy_store::AuditFilter;
use rumqttc::{AsyncClient, ConnectReturnCode, Event, MqttOptions, Packet};
use serde_json::{json, Value};

/// A call's status, `Cache-Control` and JSON body.
async fn call(
    server: &TestServer,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Option<String>, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = reqwest::Client::new().request(method, server.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let cache =
        response.headers().get(reqwest::header::CACHE_CONTROL).map(|v| v.to_str().unwrap().to_string());
    (status, cache, response.json().await.unwrap_or(Value::Null))
}

async fn refused_count(server: &TestServer, reason: &str) -> f64 {
    let sample = format!("convoy_gateway_vehicles_refused_total{{reason=\"{reason}\"}}");
    metric(&server.metrics().await, &sample).unwrap_or_else(|| panic!("{sample} is exported"))
}

async fn door_refused(server: &TestServer) -> f64 {
    door_refused_for(server, "bad_credentials").await
}

async fn door_refused_for(server: &TestServer, reason: &str) -> f64 {
    let sample = format!("convoy_gateway_mqtt_refused_total{{reason=\"{reason}\"}}");
    metric(&server.metrics().await, &sample).unwrap_or_else(|| panic!("{sample} is exported"))
}

/// A vehicle's agent connected and staying so: `connected` once the broker accepted it, and
/// the task ends (with the error) when the connection closes.
fn stay_connected(
    server: &TestServer,
    vehicle: &str,
    password: &str,
) -> (tokio::sync::oneshot::Receiver<()>, tokio::task::JoinHandle<rumqttc::ConnectionError>) {
    let mut options =
        MqttOptions::new(format!("convoy-agent-{vehicle}"), server.mqtt.ip().to_string(), server.mqtt.port());
    options.set_credentials(vehicle, password);
    options.set_keep_alive(Duration::from_secs(60));
    let (client, mut eventloop) = AsyncClient::new(options, 10);
    let (connected, connected_rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(async move {
        let _client = client;
        let mut connected = Some(connected);
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(ack))) if ack.code == ConnectReturnCode::Success => {
                    if let Some(connected) = connected.take() {
                        let _ = connected.send(());
                    }
                }
                Ok(_) => {}
                Err(e) => return e,
            }
        }
    });
    (connected_rx, task)
}

/// What the embedded broker answers a vehicle's agent connecting with `password`.
async fn connect(server: &TestServer, vehicle: &str, password: &str) -> ConnectReturnCode {
    let mut options =
        MqttOptions::new(format!("convoy-agent-{vehicle}"), server.mqtt.ip().to_string(), server.mqtt.port());
    options.set_credentials(vehicle, password);
    let (client, mut eventloop) = AsyncClient::new(options, 10);
    let code = loop {
        match tokio::time::timeout(Duration::from_secs(10), eventloop.poll()).await.expect("an answer") {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => break ack.code,
            Ok(_) => continue,
            Err(rumqttc::ConnectionError::ConnectionRefused(code)) => break code,
            Err(e) => panic!("no CONNACK: {e}"),
        }
    };
    if code == ConnectReturnCode::Success {
        client.disconnect().await.unwrap();
        let _ = tokio::time::timeout(Duration::from_secs(1), eventloop.poll()).await;
    }
    code
}

/// Every audit entry as (action, target, actor), with the whole log's text.
async fn audit_log(server: &TestServer) -> (Vec<(String, String, String)>, String) {
    let entries =
        server.store.audit_entries(&AuditFilter { limit: 1000, ..Default::default() }).await.unwrap();
    let text = entries
        .iter()
        .map(|e| format!("{} {} {}", e.action, e.target, e.detail))
        .collect::<Vec<_>>()
        .join("\n");
    let triples =
        entries.into_iter().map(|e| (e.action, e.target, e.actor.unwrap_or_default())).collect::<Vec<_>>();
    (triples, text)
}

/// The agent configuration an answer gives, read as the agent reads its file, with `password`
/// in its password file: the agent's resolved configuration.
fn agent_config(answer: &Value, password: &str) -> convoy_agent::config::AgentConfig {
    let text = answer["agent_config"].as_str().unwrap_or_else(|| panic!("an agent_config: {answer}"));
    assert!(!text.contains(password), "the password is not in the configuration file: {text}");
    assert_eq!(answer["password_file"], json!("/etc/convoy-agent/password"));
    let mut file: AgentConfigFile = toml::from_str(text).expect("the agent reads its configuration");
    assert_eq!(file.password_file.as_deref(), Some(std::path::Path::new("/etc/convoy-agent/password")));
    let dir = tempfile::tempdir().unwrap();
    let password_file = dir.path().join("password");
    std::fs::write(&password_file, password).unwrap();
    file.password_file = Some(password_file);
    file.spool = Some(dir.path().join("spool"));
    file.resolve().expect("a configuration the agent takes")
}

fn fix(seq: u64) -> Position {
    Position {
        seq,
        t: Utc::now() - chrono::Duration::seconds(60 - seq as i64),
        lat: 48.137,
        lon: 11.575,
        alt_m: None,
        speed_mps: Some(3.0),
        course_deg: None,
        fix: None,
        sats: None,
        hdop: None,
        accuracy_m: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registering_answers_the_password_and_the_agent_configuration_once() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let admin = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let (status, cache, added) =
        call(&server, "POST", "/api/v1/vehicles", Some(&admin), Some(json!({ "id": "truck-11" }))).await;
    assert_eq!((status, cache.as_deref()), (201, Some("no-store")), "{added}");
    assert_eq!(added["id"], json!("truck-11"));
    let password = added["password"].as_str().unwrap();
    let config = agent_config(&added, password);
    assert_eq!(config.vehicle.as_str(), "truck-11");
    assert_eq!(config.password.as_deref(), Some(password));
    assert_eq!(
        (config.broker.host.as_str(), config.broker.port, config.broker.tls.is_some()),
        ("127.0.0.1", server.mqtt.port(), false),
        "the broker as the request reached the server, on the embedded broker's port"
    );
    assert_eq!(connect(&server, "truck-11", password).await, ConnectReturnCode::Success);
    let (_, text) = audit_log(&server).await;
    assert!(text.contains("vehicle.add truck-11") && !text.contains(password), "{text}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_password_refuses_the_old_one_at_the_door_and_lets_the_new_one_in() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let admin = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let (vehicle, old) = register_vehicle(&server, "truck-12").await;
    assert_eq!(connect(&server, "truck-12", &old).await, ConnectReturnCode::Success);

    let (status, cache, rotated) =
        call(&server, "POST", "/api/v1/vehicles/truck-12/password", Some(&admin), None).await;
    assert_eq!((status, cache.as_deref()), (200, Some("no-store")), "{rotated}");
    assert_eq!(rotated["id"], json!("truck-12"));
    let new = rotated["password"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    let config = agent_config(&rotated, &new);
    assert_eq!((config.vehicle.as_str(), config.password.as_deref()), ("truck-12", Some(new.as_str())));

    let before = door_refused(&server).await;
    assert_eq!(
        connect(&server, "truck-12", &old).await,
        ConnectReturnCode::BadUserNamePassword,
        "the old password is refused at the next connect"
    );
    assert_eq!(door_refused(&server).await, before + 1.0, "and counted as bad_credentials");

    publish_fixes(&server, &vehicle, &new, &[fix(1), fix(2)], 1).await;
    let stored = eventually(Duration::from_secs(30), "the new password's positions stored", || async {
        let latest = server.store.latest_positions().await.unwrap();
        latest.into_iter().find(|l| l.vehicle == vehicle).filter(|l| l.position.seq == 2)
    })
    .await;
    assert_eq!(stored.position.seq, 2);
    assert_eq!(door_refused(&server).await, before + 1.0, "the new password is not refused");

    let (entries, text) = audit_log(&server).await;
    let entry = ("vehicle.rotate_password".to_string(), "truck-12".to_string(), ADMIN_USER.to_string());
    assert!(entries.contains(&entry), "{entries:?}");
    assert!(!text.contains(&new) && !text.contains(&old), "no password in the audit log: {text}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_refusal_answers_its_reason_is_counted_and_changes_nothing() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let admin = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let escort = server.login(ESCORT_USER, ESCORT_PASSWORD).await;
    let (vehicle, _) = register_vehicle(&server, "truck-13").await;
    let hash = server.store.vehicle_password_hash(&vehicle).await.unwrap();
    let vehicles = server.store.vehicle_ids().await.unwrap();

    let cases: &[(&str, &str, Option<Value>, u16, &str)] = &[
        ("POST", "/api/v1/vehicles/nothing-13/password", None, 404, "unknown_vehicle"),
        ("POST", "/api/v1/vehicles/bad%20id/password", None, 404, "unknown_vehicle"),
        ("POST", "/api/v1/vehicles", Some(json!({ "id": "bad id" })), 400, "bad_id"),
        ("POST", "/api/v1/vehicles", Some(json!({ "id": "truck-13" })), 409, "already_exists"),
        ("POST", "/api/v1/vehicles", Some(json!({ "name": "truck-14" })), 400, "bad_request"),
        ("POST", "/api/v1/vehicles", Some(json!([1, 2])), 400, "bad_request"),
    ];
    for (method, path, body, expected, reason) in cases {
        let before = refused_count(&server, reason).await;
        let (status, _, answer) = call(&server, method, path, Some(&admin), body.clone()).await;
        assert_eq!(status, *expected, "{method} {path}: {answer}");
        if *reason != "bad_request" {
            assert_eq!(answer["reason"], json!(reason), "{method} {path}: {answer}");
        }
        assert_eq!(refused_count(&server, reason).await, before + 1.0, "{method} {path} counted as {reason}");
    }
    // Not JSON at all.
    let before = refused_count(&server, "bad_request").await;
    let response = reqwest::Client::new()
        .post(server.url("/api/v1/vehicles"))
        .bearer_auth(&admin)
        .body("id=truck-15")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    assert_eq!(refused_count(&server, "bad_request").await, before + 1.0);
    // A role without the ability: refused, not counted as anyone's input about vehicles.
    let (status, _, _) =
        call(&server, "POST", "/api/v1/vehicles/truck-13/password", Some(&escort), None).await;
    assert_eq!(status, 403);

    assert_eq!(server.store.vehicle_password_hash(&vehicle).await.unwrap(), hash, "no password changed");
    assert_eq!(server.store.vehicle_ids().await.unwrap(), vehicles, "no vehicle added");
    assert!(server
        .store
        .vehicle_password_hash(&VehicleId::new("nothing-13").unwrap())
        .await
        .unwrap()
        .is_none());
    let (entries, _) = audit_log(&server).await;
    assert!(!entries.iter().any(|(action, ..)| action == "vehicle.rotate_password"), "{entries:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_vehicle_is_closed_and_refused_keeps_its_positions_and_is_let_in_when_enabled() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let admin = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let (vehicle, password) = register_vehicle(&server, "truck-16").await;
    publish_fixes(&server, &vehicle, &password, &[fix(1)], 1).await;
    eventually(Duration::from_secs(30), "the position stored", || async {
        server.store.latest_positions().await.unwrap().into_iter().find(|l| l.vehicle == vehicle)
    })
    .await;
    let (connected, connection) = stay_connected(&server, "truck-16", &password);
    tokio::time::timeout(Duration::from_secs(10), connected).await.expect("connected").unwrap();
    let before = door_refused_for(&server, "vehicle_disabled").await;

    let (status, _, disabled) =
        call(&server, "POST", "/api/v1/vehicles/truck-16/disable", Some(&admin), None).await;
    assert_eq!((status, &disabled), (200, &json!({ "id": "truck-16", "disabled": true, "changed": true })));
    let started = std::time::Instant::now();
    let ended = tokio::time::timeout(Duration::from_secs(10), connection).await;
    let ended = ended.expect("the connected vehicle is closed within 10 s").unwrap();
    assert!(started.elapsed() <= Duration::from_secs(10), "closed after {:?}: {ended}", started.elapsed());
    // Counted as the door's connection task ends, which on a loaded machine may be a while
    // after the vehicle saw its connection close.
    eventually(Duration::from_secs(30), "the closing counted", || async {
        (door_refused_for(&server, "vehicle_disabled").await == before + 1.0).then_some(())
    })
    .await;

    assert_eq!(
        connect(&server, "truck-16", &password).await,
        ConnectReturnCode::NotAuthorized,
        "a disabled vehicle with its right password is refused"
    );
    assert_eq!(door_refused_for(&server, "vehicle_disabled").await, before + 2.0, "and counted");
    let wrong = door_refused(&server).await;
    assert_eq!(
        connect(&server, "truck-16", "not its password").await,
        ConnectReturnCode::BadUserNamePassword
    );
    assert_eq!(door_refused(&server).await, wrong + 1.0, "a wrong password is bad_credentials as ever");

    let latest = server.store.latest_positions().await.unwrap();
    assert!(latest.iter().any(|l| l.vehicle == vehicle && l.position.seq == 1), "its positions stay");
    let (_, list) = server.get_json("/api/v1/vehicles", &admin).await;
    let listed =
        list["vehicles"].as_array().unwrap().iter().find(|v| v["id"] == "truck-16").cloned().unwrap();
    assert_eq!((&listed["disabled"], &listed["position"]["seq"]), (&json!(true), &json!(1)), "{listed}");

    let (status, _, again) =
        call(&server, "POST", "/api/v1/vehicles/truck-16/disable", Some(&admin), None).await;
    assert_eq!((status, &again["changed"]), (200, &json!(false)), "disabling again changes nothing: {again}");

    let (status, _, enabled) =
        call(&server, "POST", "/api/v1/vehicles/truck-16/enable", Some(&admin), None).await;
    assert_eq!((status, &enabled), (200, &json!({ "id": "truck-16", "disabled": false, "changed": true })));
    let (connected, mut connection) = stay_connected(&server, "truck-16", &password);
    tokio::time::timeout(Duration::from_secs(10), connected).await.expect("let in again").unwrap();
    let stays = tokio::time::timeout(Duration::from_secs(7), &mut connection).await;
    assert!(stays.is_err(), "an enabled vehicle stays connected past the door's next read: {stays:?}");
    connection.abort();
    let (_, list) = server.get_json("/api/v1/vehicles", &admin).await;
    assert_eq!(list["vehicles"][0]["disabled"], json!(false), "{list}");

    for (path, reason) in [
        ("/api/v1/vehicles/nothing-16/disable", "unknown_vehicle"),
        ("/api/v1/vehicles/nothing-16/enable", "unknown_vehicle"),
    ] {
        let before = refused_count(&server, reason).await;
        let (status, _, answer) = call(&server, "POST", path, Some(&admin), None).await;
        assert_eq!((status, &answer["reason"]), (404, &json!(reason)), "{path}");
        assert_eq!(refused_count(&server, reason).await, before + 1.0, "{path} counted");
    }
    let (entries, _) = audit_log(&server).await;
    for action in ["vehicle.disable", "vehicle.enable"] {
        let entry = (action.to_string(), "truck-16".to_string(), ADMIN_USER.to_string());
        assert!(entries.contains(&entry), "{action}: {entries:?}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_rotates_disables_enables_and_lists_vehicles_audited_as_its_user() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let (_, old) = register_vehicle(&server, "truck-17").await;
    let rotated: Value =
        serde_json::from_str(&server.cli("vehicle", &["rotate-password", "truck-17", "--json"]).unwrap())
            .unwrap();
    let new = rotated["password"].as_str().unwrap().to_string();
    assert_eq!((rotated["id"].as_str(), new.len()), (Some("truck-17"), 24), "{rotated}");
    assert_eq!(connect(&server, "truck-17", &old).await, ConnectReturnCode::BadUserNamePassword);
    assert_eq!(connect(&server, "truck-17", &new).await, ConnectReturnCode::Success);

    server.cli("vehicle", &["disable", "truck-17"]).unwrap();
    assert_eq!(connect(&server, "truck-17", &new).await, ConnectReturnCode::NotAuthorized);
    let listed = server.cli("vehicle", &["list"]).unwrap();
    let listed: Value = serde_json::from_str(listed.trim()).unwrap();
    assert_eq!(listed, json!({ "id": "truck-17", "disabled": true }), "one line per vehicle");
    server.cli("vehicle", &["enable", "truck-17"]).unwrap();
    assert_eq!(connect(&server, "truck-17", &new).await, ConnectReturnCode::Success);
    assert!(server.cli("vehicle", &["disable", "nothing-17"]).unwrap_err().contains("no such vehicle"));
    assert!(server
        .cli("vehicle", &["rotate-password", "nothing-17"])
        .unwrap_err()
        .contains("no such vehicle"));

    let (entries, text) = audit_log(&server).await;
    let by_cli: Vec<_> = entries
        .iter()
        .filter(|(_, _, actor)| actor == "cli:ops")
        .map(|(action, target, _)| (action.as_str(), target.as_str()))
        .collect();
    assert_eq!(
        by_cli,
        [
            ("vehicle.rotate_password", "truck-17"),
            ("vehicle.disable", "truck-17"),
            ("vehicles.view", "vehicles"),
            ("vehicle.enable", "truck-17"),
        ]
    );
    assert!(!text.contains(&new) && !text.contains(&old), "no password in the audit log");
    server.stop().await;
}

/// A vehicle's agent status history, from a real agent reading a pseudo-terminal: its reports
/// arrive at connecting and at stopping, and the history answers them newest first with the
/// receiver's state, the spool and the agent's version, bounded by a span; the vehicles' people
/// only; each refusal answers its reason, is counted, and the look is in the audit log.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_vehicles_agent_status_history_tells_when_it_was_heard_its_receiver_and_spool() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let admin = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let (truck, password) = register_vehicle(&server, "truck-31").await;
    let started = Utc::now();
    let history = |query: String| {
        let (server, admin) = (&server, &admin);
        async move {
            call(server, "GET", &format!("/api/v1/vehicles/truck-31/status{query}"), Some(admin), None).await
        }
    };

    let agent = TestAgent::start(&truck, &password, server.mqtt);
    agent.feed(nmea(&receiver_epochs(Utc::now(), 5))).join().unwrap();
    eventually(Duration::from_secs(20), "the agent's online report", || async {
        let (status, _, body) = history(String::new()).await;
        (status == 200 && body["reports"].as_array().is_some_and(|r| !r.is_empty())).then_some(())
    })
    .await;
    agent.stop().await;
    let (status, _, body) = eventually(Duration::from_secs(20), "the agent's offline report", || async {
        let answer = history(String::new()).await;
        (answer.2["reports"][0]["state"] == "offline").then_some(answer)
    })
    .await;
    assert_eq!(status, 200, "{body}");
    let reports = body["reports"].as_array().unwrap();
    assert!(reports.len() >= 2, "online, then offline: {body}");
    assert!(reports.iter().any(|r| r["state"] == "online"), "{body}");
    let received: Vec<&str> = reports.iter().map(|r| r["received_at"].as_str().unwrap()).collect();
    assert!(received.windows(2).all(|w| w[0] >= w[1]), "newest first: {received:?}");
    assert_eq!(body["last_seen"], reports[0]["received_at"]);
    assert_eq!((body["vehicle"].as_str(), body["truncated"].as_bool()), (Some("truck-31"), Some(false)));
    let newest = &reports[0];
    assert_eq!(newest["version"], env!("CARGO_PKG_VERSION"), "{newest}");
    assert!(["fix", "no_fix", "no_data"].contains(&newest["gnss"].as_str().unwrap()), "{newest}");
    assert!(
        newest["spool_depth"].is_u64() && newest["spool_depth"] == newest["report"]["spool_depth"],
        "{newest}"
    );
    assert_eq!(newest["report"]["fixes"], 5, "the fixes it read: {newest}");
    assert_eq!(newest["report"]["vehicle"], "truck-31", "the report as sent: {newest}");

    // A span before the agent ran holds nothing.
    let before = (started - chrono::Duration::hours(2)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let earlier = (started - chrono::Duration::hours(3)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (status, _, empty) = history(format!("?from={earlier}&to={before}")).await;
    assert_eq!((status, empty["reports"].as_array().map(Vec::len)), (200, Some(0)), "{empty}");
    assert_eq!(empty["last_seen"], Value::Null);

    // Refusals: each answers its reason, is counted, and reads nothing.
    let week_ago = (started - chrono::Duration::days(8)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (bad_range, bad_time, unknown) = (
        refused_count(&server, "bad_range").await,
        refused_count(&server, "bad_time").await,
        refused_count(&server, "unknown_vehicle").await,
    );
    for (query, expected) in [
        (format!("?from={before}&to={earlier}"), "bad_range"),
        (format!("?from={week_ago}"), "bad_range"),
        ("?from=yesterday".to_string(), "bad_time"),
    ] {
        let (status, _, body) = history(query.clone()).await;
        assert_eq!((status, body["reason"].as_str()), (400, Some(expected)), "{query}: {body}");
    }
    let (status, _, body) =
        call(&server, "GET", "/api/v1/vehicles/truck-99/status", Some(&admin), None).await;
    assert_eq!((status, body["reason"].as_str()), (404, Some("unknown_vehicle")), "{body}");
    assert_eq!(refused_count(&server, "bad_range").await, bad_range + 2.0);
    assert_eq!(refused_count(&server, "bad_time").await, bad_time + 1.0);
    assert_eq!(refused_count(&server, "unknown_vehicle").await, unknown + 1.0);
    let escort = server.login(ESCORT_USER, ESCORT_PASSWORD).await;
    let (status, _, _) = call(&server, "GET", "/api/v1/vehicles/truck-31/status", Some(&escort), None).await;
    assert_eq!(status, 403, "an escort reads no agent's history");

    let (entries, _) = audit_log(&server).await;
    let looks = entries.iter().filter(|(action, target, actor)| {
        action == "vehicle.status_view" && target == "truck-31" && actor == ADMIN_USER
    });
    assert!(looks.count() >= 2, "each look is in the audit log: {entries:?}");
    server.stop().await;
}
