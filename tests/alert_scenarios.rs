//! Alerts through the whole path, from a real drive: fixes published over MQTT as the vehicle,
//! a real broker, ingest, the store, the rule engine, and the alert out on MQTT
//! (`convoy/v1/alerts/+`), on the WebSocket live feed, on a webhook, and in the API; then the
//! replay of the stored record gives exactly the alerts raised live.
//!
//! The drive (barefoot's 20-minute Munich drive, densified where the recording jumps) is its own
//! planned route. Its fixes are published in seconds, with their real spacing of one second in
//! fix time, ending just before now: the rules run on fix time, so they judge the drive as if
//! it were driven. Such fixes arrive up to 25 minutes after they were taken, so the scenario
//! moves say so in their rules (`late_after_s`), except where lateness is what is tested.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Duration as TimeSpan, SubsecRound, Utc};
use common::*;
use convoy::demo::simulator::Route;
use convoy_core::geometry::{distance_m, distance_to_route_m};
use convoy_core::{FixMode, Position, VehicleId};
use futures_util::StreamExt;
use geo::{LineString, Point};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::{json, Value};

const CORRIDOR_M: f64 = 150.0;

/// Where a scenario's alerts are seen from the outside.
struct Observers {
    mqtt: Arc<Mutex<Vec<Value>>>,
    websocket: Arc<Mutex<Vec<Value>>>,
    webhook: Arc<Mutex<Vec<Value>>>,
}

impl Observers {
    fn mqtt(&self) -> Vec<Value> {
        self.mqtt.lock().unwrap().clone()
    }
    fn websocket(&self) -> Vec<Value> {
        self.websocket.lock().unwrap().clone()
    }
    fn webhook(&self) -> Vec<Value> {
        self.webhook.lock().unwrap().clone()
    }
}

/// A local webhook receiver; returns its URL and what it received.
async fn start_webhook() -> (String, Arc<Mutex<Vec<Value>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: axum::Json<Value>| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push(body.0);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

/// A server with a webhook notifier, and observers on MQTT and the WebSocket.
async fn start(backend: Backend, broker: BrokerKind) -> (TestServer, Observers, String) {
    let (webhook_url, webhook) = start_webhook().await;
    let notifier: convoy_alerts::notify::NotifierConfig = serde_json::from_value(json!({
        "type": "webhook", "name": "escort-desk", "url": webhook_url, "secret": "test secret",
    }))
    .unwrap();
    let server =
        TestServer::start_configured(backend, broker, |config| config.notifiers = vec![notifier]).await;
    let token = server.login(ADMIN_USER, ADMIN_PASSWORD).await;

    let observer = VehicleId::new("observer").unwrap();
    let password = convoy_registry::register_vehicle(&server.store, &observer).await.unwrap();
    let mqtt = subscribe_alerts(&server, &observer, &password).await;

    let websocket = Arc::new(Mutex::new(Vec::new()));
    let url = format!("ws://{}/api/v1/live?token={token}", server.http);
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let sink = websocket.clone();
    tokio::spawn(async move {
        while let Some(Ok(message)) = socket.next().await {
            if let tokio_tungstenite::tungstenite::Message::Text(text) = message {
                let value: Value = serde_json::from_str(&text).unwrap();
                if value["type"] == "alert" {
                    sink.lock().unwrap().push(value["alert"].clone());
                }
            }
        }
    });
    (server, Observers { mqtt, websocket, webhook }, token)
}

async fn subscribe_alerts(
    server: &TestServer,
    as_vehicle: &VehicleId,
    password: &str,
) -> Arc<Mutex<Vec<Value>>> {
    // A vehicle may read only its own topics on the embedded broker: observe there as the
    // server's own account, on rumqttd's internal port.
    let internal = server.server.as_ref().and_then(|s| s.internal_mqtt.clone());
    let options = match &internal {
        Some((addr, account)) => {
            let mut options = MqttOptions::new("alert-observer", addr.ip().to_string(), addr.port());
            options.set_credentials(account.username.clone(), account.password.clone());
            options
        }
        None => {
            let mut options = MqttOptions::new(
                format!("convoy-agent-{as_vehicle}"),
                server.mqtt.ip().to_string(),
                server.mqtt.port(),
            );
            options.set_credentials(as_vehicle.to_string(), password);
            options
        }
    };
    let (client, mut eventloop) = AsyncClient::new(options, 100);
    let received = Arc::new(Mutex::new(Vec::new()));
    let sink = received.clone();
    let (subscribed_tx, subscribed_rx) = tokio::sync::oneshot::channel();
    let mut subscribed_tx = Some(subscribed_tx);
    client.subscribe(convoy_core::topics::ALERTS_FILTER, QoS::AtLeastOnce).await.unwrap();
    tokio::spawn(async move {
        let _keep = client;
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    if let Some(tx) = subscribed_tx.take() {
                        let _ = tx.send(());
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    sink.lock().unwrap().push(serde_json::from_slice(&p.payload).unwrap());
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(10), subscribed_rx).await.unwrap().unwrap();
    received
}

/// The Munich drive, one point a second.
fn munich() -> Vec<Point> {
    Route::munich().unwrap().points().to_vec()
}

/// Leaves the road at `from`, drives `offset_m` to its side, and comes back by `to`, ramping
/// out and in over 25 s as a real detour would.
fn with_detour(points: &[Point], from: usize, to: usize, offset_m: f64) -> Vec<Point> {
    let mut out = points.to_vec();
    for i in from..to {
        let ramp = ((i - from) as f64 / 25.0).min((to - i) as f64 / 25.0).min(1.0);
        let (a, b) = (points[i - 1], points[i + 1]);
        let (east, north) = metres(a, b);
        let length = (east * east + north * north).sqrt().max(1e-9);
        // Left of the direction of travel.
        let (side_e, side_n) = (-north / length, east / length);
        out[i] = offset(points[i], side_e * offset_m * ramp, side_n * offset_m * ramp);
    }
    out
}

/// Stops at `at` for `seconds`, with a parked receiver's few metres of drift.
fn with_halt(points: &[Point], at: usize, seconds: usize) -> Vec<Point> {
    let mut out = points[..at].to_vec();
    for s in 0..seconds {
        let wobble = ((s * 7919) % 11) as f64 - 5.0;
        out.push(offset(points[at], wobble * 0.6, -wobble * 0.4));
    }
    out.extend_from_slice(&points[at..]);
    out
}

fn metres(a: Point, b: Point) -> (f64, f64) {
    let east = (b.x() - a.x()) * 111_320.0 * a.y().to_radians().cos();
    (east, (b.y() - a.y()) * 111_190.0)
}

fn offset(p: Point, east_m: f64, north_m: f64) -> Point {
    Point::new(p.x() + east_m / (111_320.0 * p.y().to_radians().cos()), p.y() + north_m / 111_190.0)
}

/// Fixes one second apart from `t0`, with the speed the points imply.
fn fixes(points: &[Point], t0: DateTime<Utc>) -> Vec<Position> {
    points
        .iter()
        .enumerate()
        .map(|(i, p)| Position {
            seq: i as u64 + 1,
            t: t0 + TimeSpan::seconds(i as i64),
            lat: p.y(),
            lon: p.x(),
            alt_m: None,
            speed_mps: Some(if i == 0 { 0.0 } else { distance_m(points[i - 1], *p) }),
            course_deg: None,
            fix: Some(FixMode::ThreeD),
            sats: Some(9),
            hdop: Some(0.9),
            accuracy_m: None,
        })
        .collect()
}

async fn post_json(server: &TestServer, token: &str, path: &str, body: Value) -> (u16, Value) {
    let response =
        reqwest::Client::new().post(server.url(path)).bearer_auth(token).json(&body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn route_json(points: &[Point]) -> Value {
    json!({ "type": "LineString", "coordinates": points.iter().map(|p| [p.x(), p.y()]).collect::<Vec<_>>() })
}

fn circle_zone(name: &str, kind: &str, at: Point, radius_m: f64) -> Value {
    json!({
        "type": "Feature",
        "geometry": { "type": "Point", "coordinates": [at.x(), at.y()] },
        "properties": { "name": name, "kind": kind, "radius_m": radius_m },
    })
}

fn time(value: &Value) -> DateTime<Utc> {
    value.as_str().unwrap().parse().unwrap()
}

/// Replay is evidence: the stored record of the move gives exactly the alerts raised live.
async fn assert_replay_matches(server: &TestServer, move_id: &str) -> convoy_alerts::replay::ReplayReport {
    let settings = convoy_core::rules::RuleSettings::default();
    let report = convoy_alerts::replay::replay_and_compare(&server.store, &settings, move_id, Utc::now())
        .await
        .unwrap();
    assert!(report.matches(), "replay differs: {:?}", report.differences());
    report
}

/// The first fix farther than the corridor from the route, and the first one back inside after
/// it, by the geodesic reference distance.
fn exit_and_return(planned: &LineString, fixes: &[Position]) -> (DateTime<Utc>, DateTime<Utc>) {
    let outside = |f: &Position| distance_to_route_m(Point::new(f.lon, f.lat), planned).unwrap() > CORRIDOR_M;
    let exit = fixes.iter().position(outside).expect("the detour leaves the corridor");
    let back = exit + fixes[exit..].iter().position(|f| !outside(f)).expect("the detour comes back");
    (fixes[exit].t, fixes[back].t)
}

/// Four trucks on one move, each driving the planned route: one makes a 400 m detour, one halts
/// 6 minutes outside every zone, one halts 6 minutes in an allowed stop, one just drives. Only
/// the detour and the first halt raise alerts, each exactly once, out on every channel, and the
/// replay of the record gives the same alerts.
async fn detour_and_halts(backend: Backend, broker: BrokerKind) {
    let (server, observers, token) = start(backend, broker).await;
    let route = munich();
    let planned = LineString::from(route.clone());
    let rest_area = route[800];
    let (detour, halt, rest, plain) = (
        register_vehicle(&server, "truck-detour").await,
        register_vehicle(&server, "truck-halt").await,
        register_vehicle(&server, "truck-rest").await,
        register_vehicle(&server, "truck-plain").await,
    );
    let driven = [
        (&detour, with_detour(&route, 500, 620, 400.0)),
        (&halt, with_halt(&route, 300, 360)),
        (&rest, with_halt(&route, 800, 360)),
        (&plain, route.clone()),
    ];
    let longest = driven.iter().map(|(_, points)| points.len()).max().unwrap() as i64;
    let t0 = Utc::now().trunc_subsecs(0) - TimeSpan::seconds(longest + 20);
    let plan = json!({
        "name": "scenario: detour and halts",
        "vehicles": ["truck-detour", "truck-halt", "truck-rest", "truck-plain"],
        "route": route_json(&route),
        "corridor_m": CORRIDOR_M,
        "zones": { "type": "FeatureCollection", "features": [
            circle_zone("rest area", "allowed_stop", rest_area, 80.0),
        ]},
        "window": { "from": t0 - TimeSpan::seconds(5), "to": Utc::now() + TimeSpan::minutes(30) },
        // Fixes taken up to 25 minutes ago are news here, and nobody is silent for long.
        "rules": { "late_after_s": 100_000, "signal_lost_after_s": 100_000 },
    });
    let (status, body) = post_json(&server, &token, "/api/v1/moves", plan).await;
    assert_eq!(status, 201, "{body}");
    let move_id = body["id"].as_str().unwrap().to_string();

    let mut all_fixes = Vec::new();
    for ((vehicle, password), points) in &driven {
        let vehicle_fixes = fixes(points, t0);
        publish_fixes(&server, vehicle, password, &vehicle_fixes, 5).await;
        all_fixes.push(vehicle_fixes);
    }

    let alerts = eventually(Duration::from_secs(60), "two cleared alerts in the API", || async {
        let (status, body) = server.get_json(&format!("/api/v1/alerts?move={move_id}"), &token).await;
        assert_eq!(status, 200, "{body}");
        let alerts = body["alerts"].as_array().unwrap().clone();
        (alerts.len() >= 2 && alerts.iter().all(|a| a["cleared_t"].is_string())).then_some(alerts)
    })
    .await;
    let kinds: Vec<(String, String)> = alerts
        .iter()
        .map(|a| (a["vehicle"].as_str().unwrap().into(), a["kind"].as_str().unwrap().into()))
        .collect();
    assert_eq!(alerts.len(), 2, "exactly two alerts: {kinds:?}");
    let off_route = alerts.iter().find(|a| a["kind"] == "off_route").expect("an off_route alert");
    let stop = alerts.iter().find(|a| a["kind"] == "unplanned_stop").expect("an unplanned_stop alert");
    assert_eq!(off_route["vehicle"], "truck-detour");
    assert_eq!(stop["vehicle"], "truck-halt");

    // Off route: 30-45 s after the first fix outside the corridor; resolved 15-20 s after the
    // first fix back inside.
    let (exit, back) = exit_and_return(&planned, &all_fixes[0]);
    let opened = time(&off_route["opened_t"]) - exit;
    assert!((30..=45).contains(&opened.num_seconds()), "off_route opened {opened} after the exit");
    let cleared = time(&off_route["cleared_t"]) - back;
    assert!((15..=20).contains(&cleared.num_seconds()), "off_route cleared {cleared} after the return");
    assert_eq!(off_route["resolved_by"], "rule");
    assert_eq!(time(&off_route["detail"]["since"]), exit);

    // The halt began at second 300 of the drive; the alert 5 minutes later.
    let halt_began = t0 + TimeSpan::seconds(300);
    let opened = time(&stop["opened_t"]) - halt_began;
    assert!((299..=301).contains(&opened.num_seconds()), "unplanned_stop opened {opened} into the halt");
    assert!(time(&stop["cleared_t"]) > halt_began + TimeSpan::seconds(360));

    // Out on MQTT, the WebSocket and the webhook: each alert opened and resolved, once.
    let expected: Vec<(String, String)> = {
        let mut e = vec![];
        for alert in [off_route, stop] {
            for state in ["open", "resolved"] {
                e.push((alert["id"].as_str().unwrap().to_string(), state.to_string()));
            }
        }
        e.sort();
        e
    };
    let seen = |messages: Vec<Value>| {
        let mut s: Vec<(String, String)> = messages
            .iter()
            .map(|m| (m["id"].as_str().unwrap().to_string(), m["state"].as_str().unwrap().to_string()))
            .collect();
        s.sort();
        s
    };
    eventually(Duration::from_secs(10), "the alerts on MQTT, WebSocket and webhook", || async {
        (seen(observers.mqtt()).len() >= 4
            && seen(observers.websocket()).len() >= 4
            && seen(observers.webhook()).len() >= 4)
            .then_some(())
    })
    .await;
    assert_eq!(seen(observers.mqtt()), expected, "MQTT");
    assert_eq!(seen(observers.websocket()), expected, "WebSocket");
    assert_eq!(seen(observers.webhook()), expected, "webhook");

    // Replay is evidence: the stored record gives exactly these alerts.
    let report = assert_replay_matches(&server, &move_id).await;
    assert_eq!(report.replayed.len(), 2);

    // A resolved alert cannot be acknowledged.
    let id = off_route["id"].as_str().unwrap();
    let (status, body) =
        post_json(&server, &token, &format!("/api/v1/alerts/{id}/ack"), json!({"note": "late"})).await;
    assert_eq!(status, 409, "{body}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_detour_and_an_unplanned_halt_alert_once_each_through_the_embedded_broker_and_sqlite() {
    detour_and_halts(Backend::Sqlite, BrokerKind::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_detour_and_an_unplanned_halt_alert_once_each_through_mosquitto_and_postgres() {
    detour_and_halts(Backend::Postgres, BrokerKind::Mosquitto).await;
}

/// A vehicle driving in real time goes silent: `signal_lost` opens when the silence reaches the
/// threshold, resolves when data returns, opens again when it stops for good; a person
/// acknowledges it, and every change reaches MQTT, the WebSocket and the webhook. The threshold
/// is 5 s here instead of 120 s so the test takes seconds (the engine's tests use 120 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_silent_vehicle_raises_signal_lost_which_resolves_when_data_returns() {
    let (server, observers, token) = start(Backend::Sqlite, BrokerKind::Embedded).await;
    let route = munich();
    let (vehicle, password) = register_vehicle(&server, "truck-quiet").await;
    let plan = json!({
        "name": "scenario: silence",
        "vehicles": ["truck-quiet"],
        "route": route_json(&route),
        "rules": { "signal_lost_after_s": 5 },
    });
    let (status, body) = post_json(&server, &token, "/api/v1/moves", plan).await;
    assert_eq!(status, 201, "{body}");
    let move_id = body["id"].as_str().unwrap().to_string();
    // The service learns of the move before the vehicle drives.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let mut seq = 0;
    let mut drive_for = |seconds: usize, from: usize| {
        let now = Utc::now().trunc_subsecs(3);
        let mut out = fixes(&route[from..from + seconds], now);
        for f in &mut out {
            seq += 1;
            f.seq = seq;
            // Taken now, one a second as they are published.
            f.t = now;
        }
        out
    };
    for second in 0..3 {
        let fix = drive_for(1, second);
        publish_fixes(&server, &vehicle, &password, &fix, 5).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // Silent for 9 s: past the 5 s threshold (the server's clock runs 5 s behind, see
    // alerts/src/replay.rs CLOCK_GRACE, so the alert appears about 10 s into the silence).
    let opened = eventually(Duration::from_secs(30), "signal_lost open on MQTT", || async {
        observers.mqtt().into_iter().find(|m| m["kind"] == "signal_lost" && m["state"] == "open")
    })
    .await;
    let fix = drive_for(1, 3);
    publish_fixes(&server, &vehicle, &password, &fix, 5).await;
    eventually(Duration::from_secs(10), "signal_lost resolved on MQTT", || async {
        observers.mqtt().into_iter().find(|m| m["id"] == opened["id"] && m["state"] == "resolved")
    })
    .await;
    // Silent again, for good: a second incident, which a person acknowledges.
    let second = eventually(Duration::from_secs(30), "a second signal_lost", || async {
        observers
            .mqtt()
            .into_iter()
            .find(|m| m["kind"] == "signal_lost" && m["state"] == "open" && m["id"] != opened["id"])
    })
    .await;
    let id = second["id"].as_str().unwrap();
    let (status, body) = post_json(
        &server,
        &token,
        &format!("/api/v1/alerts/{id}/ack"),
        json!({"note": "driver called: tunnel"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "acknowledged");
    assert_eq!(body["acknowledged_by"], ADMIN_USER);
    assert_eq!(body["note"], "driver called: tunnel");
    let (status, _) = post_json(&server, &token, &format!("/api/v1/alerts/{id}/ack"), json!({})).await;
    assert_eq!(status, 409, "a second acknowledgement changes nothing");

    let states = |messages: Vec<Value>| -> Vec<String> {
        messages
            .iter()
            .map(|m| {
                format!("{}:{}", if m["id"] == opened["id"] { 1 } else { 2 }, m["state"].as_str().unwrap())
            })
            .collect()
    };
    let expected = vec!["1:open", "1:resolved", "2:open", "2:acknowledged"];
    eventually(Duration::from_secs(10), "every change on every channel", || async {
        (states(observers.mqtt()) == expected
            && states(observers.websocket()) == expected
            && states(observers.webhook()) == expected)
            .then_some(())
    })
    .await;
    let acknowledged = observers.mqtt().pop().unwrap();
    assert_eq!(acknowledged["detail"]["note"], "driver called: tunnel");

    // The first incident opened when the silence reached 5 s: at the last fix's arrival + 5 s.
    let stored = server.store.alert(opened["id"].as_str().unwrap()).await.unwrap().unwrap();
    let last_heard: DateTime<Utc> = stored.detail["last_heard"].as_str().unwrap().parse().unwrap();
    assert_eq!(stored.opened_t - last_heard, TimeSpan::seconds(5));
    assert_replay_matches(&server, &move_id).await;
    server.stop().await;
}

/// A backlog: a detour whose fixes arrive 20 minutes after they were taken (the vehicle was
/// out of coverage). The incident is over by the time anyone could act: it is recorded and
/// published marked late, and the webhook does not ring.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backlog_records_its_incidents_as_late_and_rings_no_one() {
    let (server, observers, token) = start(Backend::Sqlite, BrokerKind::Embedded).await;
    let route = munich();
    let (vehicle, password) = register_vehicle(&server, "truck-backlog").await;
    let t0 = Utc::now().trunc_subsecs(0) - TimeSpan::seconds(route.len() as i64 + 20);
    let plan = json!({
        "name": "scenario: backlog",
        "vehicles": ["truck-backlog"],
        "route": route_json(&route),
        "window": { "from": t0 - TimeSpan::seconds(5), "to": Utc::now() + TimeSpan::minutes(30) },
        "rules": { "signal_lost_after_s": 100_000 },
    });
    let (status, body) = post_json(&server, &token, "/api/v1/moves", plan).await;
    assert_eq!(status, 201, "{body}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    publish_fixes(&server, &vehicle, &password, &fixes(&with_detour(&route, 500, 620, 400.0), t0), 5).await;

    let messages = eventually(Duration::from_secs(30), "the off_route alert on MQTT", || async {
        let m = observers.mqtt();
        (m.len() >= 2).then_some(m)
    })
    .await;
    assert!(messages.iter().all(|m| m["kind"] == "off_route" && m["late"] == true), "{messages:?}");
    // Give the webhook every chance to (wrongly) ring.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(observers.webhook(), Vec::<Value>::new());
    assert_eq!(observers.websocket().len(), 2, "the live feed still shows the record");
    server.stop().await;
}

/// The server restarts in the middle of an incident (its rule state is in memory only): it
/// rebuilds that state from the stored record, so the open alert is neither opened again nor
/// forgotten, and clears when the vehicle returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restart_in_the_middle_of_a_detour_neither_repeats_nor_forgets_the_alert() {
    let (mut server, observers, token) = start(Backend::Sqlite, BrokerKind::Mosquitto).await;
    let route = munich();
    let (vehicle, password) = register_vehicle(&server, "truck-restart").await;
    let t0 = Utc::now().trunc_subsecs(0) - TimeSpan::seconds(route.len() as i64 + 20);
    let plan = json!({
        "name": "scenario: restart",
        "vehicles": ["truck-restart"],
        "route": route_json(&route),
        "window": { "from": t0 - TimeSpan::seconds(5), "to": Utc::now() + TimeSpan::minutes(30) },
        "rules": { "late_after_s": 100_000, "signal_lost_after_s": 100_000 },
    });
    let (status, body) = post_json(&server, &token, "/api/v1/moves", plan).await;
    assert_eq!(status, 201, "{body}");
    let move_id = body["id"].as_str().unwrap().to_string();
    let driven = fixes(&with_detour(&route, 500, 620, 400.0), t0);

    // Up to the middle of the detour: the alert is open.
    publish_fixes(&server, &vehicle, &password, &driven[..570], 5).await;
    let opened = eventually(Duration::from_secs(30), "off_route open", || async {
        observers.mqtt().into_iter().find(|m| m["kind"] == "off_route" && m["state"] == "open")
    })
    .await;
    server.restart().await;
    publish_fixes(&server, &vehicle, &password, &driven[570..], 5).await;
    eventually(Duration::from_secs(30), "off_route resolved", || async {
        observers.mqtt().into_iter().find(|m| m["id"] == opened["id"] && m["state"] == "resolved")
    })
    .await;
    let token = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let (_, body) = server.get_json(&format!("/api/v1/alerts?move={move_id}"), &token).await;
    assert_eq!(body["alerts"].as_array().unwrap().len(), 1, "{body}");
    let states: Vec<String> =
        observers.mqtt().iter().map(|m| m["state"].as_str().unwrap().to_string()).collect();
    assert_eq!(states, vec!["open", "resolved"], "announced once each");
    assert_replay_matches(&server, &move_id).await;
    server.stop().await;
}

/// The agent reports no GNSS fix while it stays online (a jammer nearby): `gnss_lost` opens
/// when that has lasted the threshold, and resolves with the next fix. Status reports travel
/// the whole path: MQTT, ingest, the status history, the engine. The threshold is 3 s here
/// instead of 60 s so the test takes seconds (the engine's tests use 60 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_agent_reporting_no_fix_raises_gnss_lost_which_resolves_with_the_next_fix() {
    let (server, observers, token) = start(Backend::Sqlite, BrokerKind::Embedded).await;
    let route = munich();
    let (vehicle, password) = register_vehicle(&server, "truck-jammed").await;
    let plan = json!({
        "name": "scenario: jammer",
        "vehicles": ["truck-jammed"],
        "route": route_json(&route),
        "rules": { "gnss_lost_after_s": 3 },
    });
    let (status, body) = post_json(&server, &token, "/api/v1/moves", plan).await;
    assert_eq!(status, 201, "{body}");
    let move_id = body["id"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(500)).await;

    let now = Utc::now().trunc_subsecs(3);
    publish_fixes(&server, &vehicle, &password, &fixes(&route[..1], now), 5).await;
    let status_report = |gnss: &str| {
        json!({ "v": 1, "vehicle": "truck-jammed", "state": "online", "gnss": gnss, "t": Utc::now() })
            .to_string()
    };
    let mut options =
        MqttOptions::new(format!("convoy-agent-{vehicle}"), server.mqtt.ip().to_string(), server.mqtt.port());
    options.set_credentials(vehicle.to_string(), password.clone());
    let (client, mut eventloop) = AsyncClient::new(options, 10);
    tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
    let topic = convoy_core::topics::status_topic(&vehicle);
    for _ in 0..5 {
        client.publish(topic.clone(), QoS::AtLeastOnce, false, status_report("no_fix")).await.unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let opened = eventually(Duration::from_secs(20), "gnss_lost open on MQTT", || async {
        observers.mqtt().into_iter().find(|m| m["kind"] == "gnss_lost" && m["state"] == "open")
    })
    .await;
    client.disconnect().await.unwrap();
    let mut next = fixes(&route[1..2], Utc::now().trunc_subsecs(3));
    next[0].seq = 2;
    publish_fixes(&server, &vehicle, &password, &next, 5).await;
    eventually(Duration::from_secs(10), "gnss_lost resolved", || async {
        observers.mqtt().into_iter().find(|m| m["id"] == opened["id"] && m["state"] == "resolved")
    })
    .await;
    let stored = server.store.alert(opened["id"].as_str().unwrap()).await.unwrap().unwrap();
    let since: DateTime<Utc> = stored.detail["no_fix_since"].as_str().unwrap().parse().unwrap();
    assert_eq!(stored.opened_t - since, TimeSpan::seconds(3), "opened when the no-fix spell reached 3 s");
    assert!(observers.websocket().iter().any(|m| m["id"] == opened["id"]));
    assert_replay_matches(&server, &move_id).await;
    server.stop().await;
}

/// The Munich drive as recorded, at a 100 km/h limit: its fast stretch is driven at 28-30 m/s
/// but the recording's steps dip to 15 m/s for a second or two now and then (a step just over
/// 30 m, densified into two). `overspeed` opens once for the stretch where the rule that cleared
/// at the first fix under the limit opened twice (and once for the 468 m jump before it), also
/// across a restart of the server in the middle of the stretch, which rebuilds the rule's
/// clearing state from the stored record; and the replay of the record gives the same alerts.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn overspeed_with_one_second_dips_opens_once_per_stretch_across_a_restart_and_the_replay_agrees() {
    let (mut server, observers, token) = start(Backend::Sqlite, BrokerKind::Mosquitto).await;
    let route = munich();
    let (vehicle, password) = register_vehicle(&server, "truck-fast").await;
    let t0 = Utc::now().trunc_subsecs(0) - TimeSpan::seconds(route.len() as i64 + 20);
    let plan = json!({
        "name": "scenario: overspeed",
        "vehicles": ["truck-fast"],
        "route": route_json(&route),
        "window": { "from": t0 - TimeSpan::seconds(5), "to": Utc::now() + TimeSpan::minutes(30) },
        "rules": { "late_after_s": 100_000, "signal_lost_after_s": 100_000, "speed_limit_mps": 27.8 },
    });
    let (status, body) = post_json(&server, &token, "/api/v1/moves", plan).await;
    assert_eq!(status, 201, "{body}");
    let move_id = body["id"].as_str().unwrap().to_string();
    let driven = fixes(&route, t0);
    let speed = |i: usize| driven[i].speed_mps.unwrap();
    // What the record holds: the dips inside the fast stretch (from second 789 on).
    let dips: Vec<usize> = (790..900).filter(|&i| speed(i) < 20.0 && speed(i - 1) > 27.8).collect();
    assert!(!dips.is_empty(), "no dip in the fast stretch");

    // Up to just after the first dip of the fast stretch: the restart comes while the rule
    // holds the stretch's alert open through the dip.
    let restart_at = dips[0] + 3;
    publish_fixes(&server, &vehicle, &password, &driven[..restart_at], 5).await;
    eventually(Duration::from_secs(30), "two overspeed alerts opened", || async {
        let opened =
            observers.mqtt().iter().filter(|m| m["kind"] == "overspeed" && m["state"] == "open").count();
        (opened == 2).then_some(())
    })
    .await;
    server.restart().await;
    publish_fixes(&server, &vehicle, &password, &driven[restart_at..], 5).await;
    let token = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let alerts = eventually(Duration::from_secs(60), "both overspeed alerts cleared", || async {
        let (_, body) = server.get_json(&format!("/api/v1/alerts?move={move_id}"), &token).await;
        let alerts = body["alerts"].as_array()?.clone();
        alerts.iter().all(|a| a["cleared_t"].is_string()).then_some(alerts)
    })
    .await;
    let mut opened: Vec<i64> = alerts
        .iter()
        .filter(|a| a["kind"] == "overspeed")
        .map(|a| (time(&a["opened_t"]) - t0).num_seconds())
        .collect();
    opened.sort();
    // The 468 m jump (driven at 29 m/s from second 619) and the fast stretch (from 789): ten
    // seconds into each.
    assert_eq!(opened, vec![630, 800], "{alerts:?}");
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    assert_replay_matches(&server, &move_id).await;
    server.stop().await;
}

/// A move planned in Chinese, in Shanghai's time zone: its webhook carries the alert's text in
/// Chinese with the local time (the alert message's own fields unchanged), while a move
/// without a language rings in the server's default, English, in UTC.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_move_in_chinese_rings_its_webhook_in_chinese_at_the_moves_local_time() {
    let (server, observers, token) = start(Backend::Sqlite, BrokerKind::Embedded).await;
    let route: Vec<Point> = munich().into_iter().take(700).collect();
    let (chinese, english) =
        (register_vehicle(&server, "truck-zh").await, register_vehicle(&server, "truck-en").await);
    let t0 = Utc::now().trunc_subsecs(0) - TimeSpan::seconds(route.len() as i64 + 20);
    let plan = |name: &str, vehicle: &str, language: Option<&str>| {
        let mut plan = json!({
            "name": name,
            "vehicles": [vehicle],
            "route": route_json(&route),
            "corridor_m": CORRIDOR_M,
            "window": { "from": t0 - TimeSpan::seconds(5), "to": Utc::now() + TimeSpan::minutes(30) },
            "rules": { "late_after_s": 100_000, "signal_lost_after_s": 100_000 },
        });
        if let Some(language) = language {
            plan["language"] = json!(language);
            plan["time_zone"] = json!("Asia/Shanghai");
        }
        plan
    };
    for (name, vehicle, language) in [("搬迁", "truck-zh", Some("zh-CN")), ("move", "truck-en", None)] {
        let (status, body) = post_json(&server, &token, "/api/v1/moves", plan(name, vehicle, language)).await;
        assert_eq!(status, 201, "{body}");
        let (status, summary) =
            server.get_json(&format!("/api/v1/moves/{}", body["id"].as_str().unwrap()), &token).await;
        assert_eq!((status, &summary["language"]), (200, &json!(language.unwrap_or("en"))), "{summary}");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let detour = with_detour(&route, 300, 420, 400.0);
    publish_fixes(&server, &chinese.0, &chinese.1, &fixes(&detour, t0), 5).await;
    publish_fixes(&server, &english.0, &english.1, &fixes(&detour, t0), 5).await;

    let opened = |vehicle: &'static str| {
        let observers = &observers;
        move || async move {
            observers.webhook().into_iter().find(|m| m["vehicle"] == vehicle && m["state"] == "open")
        }
    };
    let zh = eventually(Duration::from_secs(30), "the Chinese move's webhook", opened("truck-zh")).await;
    let en = eventually(Duration::from_secs(30), "the English move's webhook", opened("truck-en")).await;

    assert_eq!((zh["kind"].as_str(), zh["language"].as_str()), (Some("off_route"), Some("zh-CN")), "{zh}");
    let text = zh["text"].as_str().unwrap();
    assert!(text.starts_with("Convoy 告警：偏离路线 开启\n车辆：truck-zh\n"), "{text}");
    let opened_at: DateTime<Utc> = time(&zh["t"]);
    let shanghai = opened_at.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap());
    let local = format!("时间：{} (Asia/Shanghai, UTC+08:00)", shanghai.format("%Y-%m-%d %H:%M:%S"));
    assert!(text.contains(&local), "{local} not in {text}");

    assert_eq!(en["language"], "en", "{en}");
    let text = en["text"].as_str().unwrap();
    assert!(text.starts_with("Convoy alert: off_route open\nVehicle: truck-en\n"), "{text}");
    assert!(text.contains(&format!("Time: {}", time(&en["t"]).format("%Y-%m-%d %H:%M:%S UTC"))), "{text}");
    // MQTT carries the alert message as it always has: no text, no language.
    let on_mqtt = observers.mqtt().into_iter().find(|m| m["vehicle"] == "truck-zh").unwrap();
    assert!(on_mqtt.get("text").is_none() && on_mqtt.get("language").is_none(), "{on_mqtt}");
    server.stop().await;
}
