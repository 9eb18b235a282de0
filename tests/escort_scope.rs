//! What an escort sees, against a real server (embedded broker, SQLite): an escort assigned
//! to one move sees that move's vehicles, alerts, progress and live positions and nothing of
//! another move, even when asking for it by name; and tokens end when they should (logout, an
//! admin revoking a user's tokens). Who may call which route at all is `tests/authorization.rs`.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{SubsecRound, Utc};
use common::*;
use convoy_core::plan::MovePlan;
use convoy_core::{FixMode, Position, PositionBatch, VehicleId};
use futures_util::{SinkExt, StreamExt};
use rand::distributions::{Alphanumeric, DistString};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite;

fn plan(name: &str, vehicles: &[&str]) -> Value {
    json!({
        "name": name,
        "vehicles": vehicles,
        "route": { "type": "LineString", "coordinates": [[11.56, 48.16], [11.57, 48.17], [11.58, 48.17]] },
        "corridor_m": 200,
    })
}

/// Plans a move as the store does for the API (every vehicle must be registered).
async fn new_move(server: &TestServer, plan: &Value) -> String {
    let plan = MovePlan::from_json(plan.to_string().as_bytes()).unwrap();
    convoy_registry::store_new_move(&server.store, &plan, ADMIN_USER).await.unwrap().id
}

/// Opens an `off_route` alert on `move_id` as the rules would, and returns its id.
async fn open_alert(server: &TestServer, move_id: &str, vehicle: &str) -> String {
    let id = format!("alert-{}", Alphanumeric.sample_string(&mut rand::thread_rng(), 12).to_lowercase());
    let record = opened_alert(&id, move_id, vehicle, Utc::now());
    assert!(server.store.open_alert(&record).await.unwrap(), "alert {id} opened");
    id
}

/// Opens the live feed with `?token=`; returns the handshake's status and, when it succeeded,
/// the socket.
async fn open_live(
    server: &TestServer,
    token: Option<&str>,
) -> (u16, Option<tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>>)
{
    let query = token.map(|t| format!("?token={t}")).unwrap_or_default();
    let url = format!("ws://{}/api/v1/live{query}", server.http);
    match tokio_tungstenite::connect_async(url).await {
        Ok((socket, response)) => (response.status().as_u16(), Some(socket)),
        Err(tungstenite::Error::Http(response)) => (response.status().as_u16(), None),
        Err(e) => panic!("live feed handshake failed: {e}"),
    }
}

/// Two moves, A and B, each with its own vehicle, position and open alert; the escort is
/// assigned to A only (by the API, as a dispatcher would).
struct TwoMoves {
    server: TestServer,
    admin: String,
    escort: String,
    move_a: String,
    move_b: String,
    alert_a: String,
    alert_b: String,
    /// The vehicles' MQTT passwords, A's and B's.
    passwords: Vec<String>,
}

const VEHICLE_A: &str = "van-a";
const VEHICLE_B: &str = "van-b";

impl TwoMoves {
    async fn start() -> TwoMoves {
        let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
        let admin = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
        let escort = server.login(ESCORT_USER, ESCORT_PASSWORD).await;
        let mut passwords = Vec::new();
        for id in [VEHICLE_A, VEHICLE_B] {
            let vehicle = VehicleId::new(id).unwrap();
            passwords.push(convoy_registry::register_vehicle(&server.store, &vehicle).await.unwrap());
        }
        let move_a = new_move(&server, &plan("move A", &[VEHICLE_A])).await;
        let move_b = new_move(&server, &plan("move B", &[VEHICLE_B])).await;
        let (status, team) = request(
            &server,
            "PUT",
            &format!("/api/v1/moves/{move_a}/team"),
            &admin,
            json!({ "users": [ESCORT_USER] }),
        )
        .await;
        assert_eq!(status, 200, "{team}");
        for (id, password) in [VEHICLE_A, VEHICLE_B].iter().zip(&passwords) {
            publish_fix(&server, &VehicleId::new(*id).unwrap(), password).await;
        }
        eventually(Duration::from_secs(30), "both vehicles' positions stored", || async {
            let latest = server.store.latest_positions().await.unwrap();
            (latest.len() == 2).then_some(())
        })
        .await;
        let alert_a = open_alert(&server, &move_a, VEHICLE_A).await;
        let alert_b = open_alert(&server, &move_b, VEHICLE_B).await;
        TwoMoves { server, admin, escort, move_a, move_b, alert_a, alert_b, passwords }
    }
}

/// A request with a JSON body; the status and the JSON answer.
async fn request(server: &TestServer, method: &str, path: &str, token: &str, body: Value) -> (u16, Value) {
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

/// Publishes one fix as the vehicle's agent would, through the embedded broker, and waits for
/// the broker's PUBACK.
async fn publish_fix(server: &TestServer, vehicle: &VehicleId, password: &str) {
    let mut options =
        MqttOptions::new(format!("convoy-agent-{vehicle}"), server.mqtt.ip().to_string(), server.mqtt.port());
    options.set_credentials(vehicle.to_string(), password);
    let (client, mut eventloop) = AsyncClient::new(options, 10);
    let fix = Position {
        seq: 1,
        t: Utc::now().trunc_subsecs(3) - chrono::Duration::seconds(1),
        lat: 48.16,
        lon: 11.56,
        alt_m: None,
        speed_mps: Some(0.0),
        course_deg: None,
        fix: Some(FixMode::ThreeD),
        sats: Some(9),
        hdop: Some(0.9),
        accuracy_m: None,
    };
    let payload = PositionBatch::new(vehicle.clone(), vec![fix]).encode();
    let topic = convoy_core::topics::positions_topic(vehicle);
    client.publish(topic, QoS::AtLeastOnce, false, payload).await.unwrap();
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if let Event::Incoming(Packet::PubAck(_)) = eventloop.poll().await.unwrap() {
                return;
            }
        }
    })
    .await
    .expect("the broker acknowledges the fix");
    client.disconnect().await.unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(1), eventloop.poll()).await;
}

fn ids(list: &Value, key: &str, field: &str) -> Vec<String> {
    list[key].as_array().unwrap().iter().map(|item| item[field].as_str().unwrap().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_escort_sees_and_acts_on_their_assigned_move_only() {
    let world = TwoMoves::start().await;
    let server = &world.server;
    let (admin, escort) = (world.admin.as_str(), world.escort.as_str());

    // The admin sees both moves: what the escort misses below is there to see.
    let (_, all) = server.get_json("/api/v1/moves", admin).await;
    assert_eq!(ids(&all, "moves", "id").len(), 2);
    let (status, moves) = server.get_json("/api/v1/moves", escort).await;
    assert_eq!((status, ids(&moves, "moves", "id")), (200, vec![world.move_a.clone()]));
    let (status, _) = server.get_json(&format!("/api/v1/moves/{}", world.move_a), escort).await;
    assert_eq!(status, 200);
    // Another team's move is answered exactly as a move that does not exist: an escort cannot
    // tell which move ids exist.
    let (status, refused) = server.get_json(&format!("/api/v1/moves/{}", world.move_b), escort).await;
    assert_eq!(status, 404, "{refused}");
    assert_eq!(server.get_json("/api/v1/moves/no-such-move", escort).await, (404, refused));
    // The same for a move's progress along its route.
    let progress = |id: &str| format!("/api/v1/moves/{id}/progress");
    assert_eq!(server.get_json(&progress(&world.move_a), escort).await.0, 200);
    let (status, refused) = server.get_json(&progress(&world.move_b), escort).await;
    assert_eq!(status, 404, "{refused}");
    assert_eq!(server.get_json(&progress("no-such-move"), escort).await, (404, refused));

    let (_, vehicles) = server.get_json("/api/v1/vehicles", admin).await;
    assert_eq!(ids(&vehicles, "vehicles", "id"), [VEHICLE_A, VEHICLE_B]);
    let (status, vehicles) = server.get_json("/api/v1/vehicles", escort).await;
    assert_eq!((status, ids(&vehicles, "vehicles", "id")), (200, vec![VEHICLE_A.to_string()]));
    // A newer move of another team takes vehicle A too: the admin sees it as A's move, the
    // escort still sees their own (another team's move id is not theirs to see).
    let overlapping = new_move(server, &plan("move C", &[VEHICLE_A])).await;
    let (_, vehicles) = server.get_json("/api/v1/vehicles", admin).await;
    assert_eq!(vehicles["vehicles"][0]["move"], json!(overlapping), "{vehicles}");
    let (_, vehicles) = server.get_json("/api/v1/vehicles", escort).await;
    assert_eq!(vehicles["vehicles"][0]["move"], json!(world.move_a), "{vehicles}");

    let (_, alerts) = server.get_json("/api/v1/alerts", admin).await;
    assert_eq!(ids(&alerts, "alerts", "id").len(), 2);
    let (status, alerts) = server.get_json("/api/v1/alerts", escort).await;
    assert_eq!((status, ids(&alerts, "alerts", "id")), (200, vec![world.alert_a.clone()]));
    let (status, alerts) = server.get_json(&format!("/api/v1/alerts?vehicle={VEHICLE_B}"), escort).await;
    assert_eq!((status, alerts), (200, json!({ "alerts": [] })));
    let by_name = server.get_json(&format!("/api/v1/alerts?move={}", world.move_b), escort).await;
    assert_eq!(by_name, (200, json!({ "alerts": [] })), "asking for another move's alerts by name");
    assert_eq!(server.get_json("/api/v1/alerts?move=no-such-move", escort).await, by_name);
    // The alert history keeps the same scope, by name too.
    let (status, history) = server.get_json("/api/v1/alerts/history", escort).await;
    assert_eq!((status, ids(&history, "alerts", "id")), (200, vec![world.alert_a.clone()]));
    let (_, history) =
        server.get_json(&format!("/api/v1/alerts/history?move={}", world.move_b), escort).await;
    assert_eq!(history, json!({ "alerts": [], "next": null }), "another team's move in the history");
    let (_, history) = server.get_json("/api/v1/alerts/history", admin).await;
    assert_eq!(ids(&history, "alerts", "id").len(), 2);
    let (status, _) = server.get_json(&format!("/api/v1/alerts/{}", world.alert_a), escort).await;
    assert_eq!(status, 200);
    let (status, refused) = server.get_json(&format!("/api/v1/alerts/{}", world.alert_b), escort).await;
    assert_eq!(status, 404);
    assert_eq!(server.get_json("/api/v1/alerts/no-such-alert", escort).await, (404, refused));

    let before = server.store.alert(&world.alert_b).await.unwrap().unwrap();
    for action in ["ack", "resolve"] {
        let path = format!("/api/v1/alerts/{}/{action}", world.alert_b);
        let (status, body) = request(server, "POST", &path, escort, json!({ "note": "not mine" })).await;
        assert_eq!(status, 404, "{action}: {body}");
    }
    assert_eq!(server.store.alert(&world.alert_b).await.unwrap().unwrap(), before, "nothing changed");
    assert_eq!(server.store.alert_transitions(&world.alert_b).await.unwrap().len(), 1, "only its opening");
    // Their own move's alert they may acknowledge.
    let path = format!("/api/v1/alerts/{}/ack", world.alert_a);
    let (status, acked) = request(server, "POST", &path, escort, json!({ "note": "on it" })).await;
    assert_eq!((status, &acked["acknowledged_by"]), (200, &json!(ESCORT_USER)));
    world.server.stop().await;
}

/// The live feed's messages up to the answer to a ping sent at once: the state on connect (the
/// server reads the ping only after it has sent that).
async fn live_snapshot(server: &TestServer, token: &str) -> Vec<Value> {
    let (status, socket) = open_live(server, Some(token)).await;
    assert_eq!(status, 101);
    let mut socket = socket.unwrap();
    socket.send(tungstenite::Message::Ping(b"snapshot".to_vec().into())).await.unwrap();
    let mut messages = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(message) = socket.next().await {
            match message.unwrap() {
                tungstenite::Message::Text(text) => {
                    messages.push(serde_json::from_str(text.as_str()).unwrap())
                }
                tungstenite::Message::Pong(payload) if &payload[..] == b"snapshot" => return,
                _ => {}
            }
        }
        panic!("the live feed closed before answering the ping");
    })
    .await
    .expect("the live feed answers the ping");
    socket.close(None).await.unwrap();
    messages
}

/// The vehicles of the position and progress messages and the ids of the alert messages.
fn live_contents(messages: &[Value]) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut vehicles = BTreeSet::new();
    let mut alerts = BTreeSet::new();
    for message in messages {
        match message["type"].as_str() {
            Some("position") => vehicles.insert(message["vehicle"].as_str().unwrap().to_string()),
            Some("progress") => {
                vehicles.insert(format!("progress of {}", message["progress"]["vehicle"].as_str().unwrap()))
            }
            Some("alert") => alerts.insert(message["alert"]["id"].as_str().unwrap().to_string()),
            _ => false,
        };
    }
    (vehicles, alerts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_feed_shows_an_escort_their_assigned_move_only() {
    let world = TwoMoves::start().await;
    let set = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    // A fix of each vehicle taken after its move began (the one `start` sent may be a moment
    // older than the move), so both vehicles' progress is known.
    for (id, password) in [VEHICLE_A, VEHICLE_B].iter().zip(&world.passwords) {
        let fix = Position {
            seq: 2,
            t: Utc::now().trunc_subsecs(3),
            lat: 48.16,
            lon: 11.56,
            alt_m: None,
            speed_mps: Some(0.0),
            course_deg: None,
            fix: Some(FixMode::ThreeD),
            sats: Some(9),
            hdop: Some(0.9),
            accuracy_m: None,
        };
        publish_fixes(&world.server, &VehicleId::new(*id).unwrap(), password, &[fix], 1).await;
    }
    for id in [&world.move_a, &world.move_b] {
        eventually(Duration::from_secs(30), "the move's progress", || async {
            let (_, answer) =
                world.server.get_json(&format!("/api/v1/moves/{id}/progress"), &world.admin).await;
            answer["vehicles"].as_array().is_some_and(|v| !v.is_empty()).then_some(())
        })
        .await;
    }
    let (progress_a, progress_b) = (format!("progress of {VEHICLE_A}"), format!("progress of {VEHICLE_B}"));

    let (vehicles, alerts) = live_contents(&live_snapshot(&world.server, &world.admin).await);
    assert_eq!(vehicles, set(&[VEHICLE_A, VEHICLE_B, &progress_a, &progress_b]), "the admin sees both moves");
    assert_eq!(alerts, set(&[&world.alert_a, &world.alert_b]));

    let messages = live_snapshot(&world.server, &world.escort).await;
    let (vehicles, alerts) = live_contents(&messages);
    assert_eq!(vehicles, set(&[VEHICLE_A, &progress_a]), "{messages:?}");
    assert_eq!(alerts, set(&[&world.alert_a]), "{messages:?}");
    let text = serde_json::to_string(&messages).unwrap();
    assert!(!text.contains(VEHICLE_B) && !text.contains(&world.move_b), "nothing of move B: {text}");
    world.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_with_an_unknown_user_or_for_an_unknown_move_is_refused() {
    let world = TwoMoves::start().await;
    let server = &world.server;
    let path = format!("/api/v1/moves/{}/team", world.move_a);
    let (status, body) =
        request(server, "PUT", &path, &world.admin, json!({ "users": [ESCORT_USER, "nobody-known"] })).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"].as_str().unwrap().contains("nobody-known"), "{body}");
    assert_eq!(server.store.move_team(&world.move_a).await.unwrap(), [ESCORT_USER], "the team is unchanged");

    let (status, body) = request(
        server,
        "PUT",
        "/api/v1/moves/no-such-move/team",
        &world.admin,
        json!({ "users": [ESCORT_USER] }),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert!(body["error"].is_string());
    assert_eq!(server.store.moves_of_user(ESCORT_USER).await.unwrap(), [world.move_a.as_str()]);
    world.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_ends_that_token_at_once_and_no_other() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let leaving = server.login(ESCORT_USER, ESCORT_PASSWORD).await;
    let other = server.login(ESCORT_USER, ESCORT_PASSWORD).await;
    assert_eq!(server.get_json("/api/v1/me", &leaving).await.0, 200);

    let response =
        reqwest::Client::new().post(server.url("/api/v1/logout")).bearer_auth(&leaving).send().await.unwrap();
    assert_eq!(response.status(), 204);
    let (status, body) = server.get_json("/api/v1/me", &leaving).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(open_live(&server, Some(&leaving)).await.0, 401, "the live feed refuses it too");
    let (status, me) = server.get_json("/api/v1/me", &other).await;
    assert_eq!((status, &me["name"]), (200, &json!(ESCORT_USER)), "the user's other login goes on");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_users_tokens_ends_every_one_of_them() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let admin = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let laptop = server.login(ESCORT_USER, ESCORT_PASSWORD).await;
    let phone = server.login(ESCORT_USER, ESCORT_PASSWORD).await;

    let path = format!("/api/v1/users/{ESCORT_USER}/tokens");
    let (status, body) = request(&server, "DELETE", &path, &admin, Value::Null).await;
    assert_eq!((status, body), (200, json!({ "revoked": 2 })));
    for token in [&laptop, &phone] {
        assert_eq!(server.get_json("/api/v1/me", token).await.0, 401);
        assert_eq!(open_live(&server, Some(token)).await.0, 401);
    }
    assert_eq!(server.get_json("/api/v1/me", &admin).await.0, 200, "other users' tokens go on");
    let again = server.login(ESCORT_USER, ESCORT_PASSWORD).await;
    assert_eq!(server.get_json("/api/v1/me", &again).await.0, 200, "a new login works");

    let (status, body) =
        request(&server, "DELETE", "/api/v1/users/nobody-known/tokens", &admin, Value::Null).await;
    assert_eq!(status, 404, "{body}");
    server.stop().await;
}
