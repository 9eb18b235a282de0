//! Ending and cancelling a move through the API, on a real server with PostgreSQL: each action
//! with its audit entry and the state the list shows; each refusal with its status and reason,
//! counted, and nothing changed; and, end to end, a vehicle driving off route after its move
//! was ended raises no `off_route` for that move while the same fixes raise one for a move
//! still running.

mod common;

use std::time::Duration;

use chrono::{Duration as TimeSpan, SubsecRound, Utc};
use common::*;
use convoy_core::{FixMode, Position, Role};
use convoy_store::AuditFilter;
use serde_json::{json, Value};

const DISPATCHER: (&str, &str) = ("dispatcher-dag", "a long enough dispatcher password");

async fn post_json(server: &TestServer, token: &str, path: &str, body: Value) -> (u16, Value) {
    let response =
        reqwest::Client::new().post(server.url(path)).bearer_auth(token).json(&body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A straight route east along 48.16° N, about 7.4 km.
fn plan(name: &str, vehicles: &[&str], window: Option<Value>) -> Value {
    let mut plan = json!({
        "name": name,
        "vehicles": vehicles,
        "route": { "type": "LineString", "coordinates": [[11.50, 48.16], [11.60, 48.16]] },
        "corridor_m": 150,
        // Nobody is silent for long here.
        "rules": { "signal_lost_after_s": 100_000 },
    });
    if let Some(window) = window {
        plan["window"] = window;
    }
    plan
}

async fn new_move(server: &TestServer, token: &str, plan: Value) -> String {
    let (status, body) = post_json(server, token, "/api/v1/moves", plan).await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_string()
}

/// A window that starts tomorrow: a planned move.
fn tomorrow() -> Value {
    let from = Utc::now() + TimeSpan::days(1);
    json!({ "from": from, "to": from + TimeSpan::hours(8) })
}

/// The move as listed.
async fn listed(server: &TestServer, token: &str, id: &str) -> Value {
    let (status, list) = server.get_json("/api/v1/moves", token).await;
    assert_eq!(status, 200, "{list}");
    list["moves"].as_array().unwrap().iter().find(|m| m["id"] == id).unwrap().clone()
}

async fn audit(server: &TestServer, action: &str) -> Vec<(Option<String>, String, Value)> {
    let filter = AuditFilter { action: Some(action.into()), limit: 100, ..Default::default() };
    let entries = server.store.audit_entries(&filter).await.unwrap();
    entries.into_iter().map(|e| (e.actor, e.target, serde_json::from_str(&e.detail).unwrap())).collect()
}

async fn refusals(server: &TestServer, reason: &str) -> u64 {
    let metrics = server.metrics().await;
    let line = format!("convoy_gateway_move_ends_refused_total{{reason=\"{reason}\"}} ");
    let value = metrics.lines().find_map(|l| l.strip_prefix(line.as_str())).unwrap_or("0");
    value.trim().parse().unwrap()
}

async fn start() -> (TestServer, String, String) {
    let server = TestServer::start(Backend::Postgres, BrokerKind::Embedded).await;
    register_vehicle(&server, "truck-07").await;
    convoy_registry::add_user(&server.store, DISPATCHER.0, Role::Dispatcher, DISPATCHER.1).await.unwrap();
    let admin = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let dispatcher = server.login(DISPATCHER.0, DISPATCHER.1).await;
    (server, admin, dispatcher)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatcher_ends_a_running_move_once_with_the_reason_in_the_audit_log() {
    let (server, admin, dispatcher) = start().await;
    let id = new_move(&server, &admin, plan("running", &["truck-07"], None)).await;
    assert_eq!(
        (
            listed(&server, &admin, &id).await["state"].clone(),
            listed(&server, &admin, &id).await["end"].clone()
        ),
        (json!("running"), Value::Null)
    );

    let path = format!("/api/v1/moves/{id}/end");
    let (status, ended) =
        post_json(&server, &dispatcher, &path, json!({ "reason": "  delivered early " })).await;
    assert_eq!(status, 200, "{ended}");
    assert_eq!(ended["state"], "ended");
    assert_eq!(
        (ended["end"]["by"].clone(), ended["end"]["reason"].clone()),
        (json!(DISPATCHER.0), json!("delivered early"))
    );
    assert_eq!(ended["end"]["cancelled"], false);
    assert_eq!(ended["plan"]["name"], "running", "the move's answer, with its plan");
    let listed_now = listed(&server, &admin, &id).await;
    assert_eq!(
        (listed_now["state"].clone(), listed_now["end"].clone()),
        (json!("ended"), ended["end"].clone())
    );
    let (_, one) = server.get_json(&format!("/api/v1/moves/{id}"), &admin).await;
    assert_eq!(one["state"], "ended");
    assert_eq!(
        audit(&server, "move.end").await,
        [(Some(DISPATCHER.0.into()), id.clone(), json!({ "reason": "delivered early" }))]
    );

    // Ending again, or cancelling it now: 409, and the first end stands.
    let before = refusals(&server, "already_over").await;
    for action in ["end", "cancel"] {
        let (status, body) =
            post_json(&server, &admin, &format!("/api/v1/moves/{id}/{action}"), json!({ "reason": "again" }))
                .await;
        assert_eq!((status, body["reason"].as_str()), (409, Some("already_over")), "{action}: {body}");
    }
    assert_eq!(refusals(&server, "already_over").await, before + 2);
    assert_eq!(listed(&server, &admin, &id).await["end"], ended["end"]);
    assert_eq!(audit(&server, "move.end").await.len(), 1);
    assert!(audit(&server, "move.cancel").await.is_empty());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planned_move_is_cancelled_not_ended_and_a_running_one_ended_not_cancelled() {
    let (server, admin, dispatcher) = start().await;
    let planned = new_move(&server, &admin, plan("planned", &["truck-07"], Some(tomorrow()))).await;
    let running = new_move(&server, &admin, plan("running", &["truck-07"], None)).await;
    assert_eq!(listed(&server, &admin, &planned).await["state"], "planned");

    let (status, body) =
        post_json(&server, &admin, &format!("/api/v1/moves/{planned}/end"), json!({ "reason": "r" })).await;
    assert_eq!((status, body["reason"].as_str()), (409, Some("not_started")), "{body}");
    let (status, body) =
        post_json(&server, &admin, &format!("/api/v1/moves/{running}/cancel"), json!({ "reason": "r" }))
            .await;
    assert_eq!((status, body["reason"].as_str()), (409, Some("running")), "{body}");
    assert_eq!(server.store.move_record(&running).await.unwrap().unwrap().end, None, "nothing changed");

    let path = format!("/api/v1/moves/{planned}/cancel");
    let (status, cancelled) =
        post_json(&server, &dispatcher, &path, json!({ "reason": "client postponed" })).await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(
        (cancelled["state"].clone(), cancelled["end"]["cancelled"].clone()),
        (json!("cancelled"), json!(true))
    );
    assert_eq!(listed(&server, &admin, &planned).await["state"], "cancelled");
    assert_eq!(
        audit(&server, "move.cancel").await,
        [(Some(DISPATCHER.0.into()), planned.clone(), json!({ "reason": "client postponed" }))]
    );
    for action in ["end", "cancel"] {
        let (status, body) = post_json(
            &server,
            &admin,
            &format!("/api/v1/moves/{planned}/{action}"),
            json!({ "reason": "again" }),
        )
        .await;
        assert_eq!((status, body["reason"].as_str()), (409, Some("already_over")), "{action}: {body}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_too_long_reason_or_an_unknown_move_is_refused_and_changes_nothing() {
    let (server, admin, _) = start().await;
    let id = new_move(&server, &admin, plan("running", &["truck-07"], None)).await;
    let path = format!("/api/v1/moves/{id}/end");
    let cases = [
        (json!({ "reason": "" }), 400, Some("empty_reason")),
        (json!({ "reason": " \n\t " }), 400, Some("empty_reason")),
        (json!({ "reason": "x".repeat(501) }), 400, Some("reason_too_long")),
        (json!({}), 400, None),
        (json!({ "reason": "r", "by": "someone else" }), 400, None),
    ];
    for (body, status, reason) in cases {
        let before = refusals(&server, reason.unwrap_or("malformed")).await;
        let (got, answer) = post_json(&server, &admin, &path, body.clone()).await;
        assert_eq!((got, answer["reason"].as_str()), (status, reason), "{body}: {answer}");
        assert_eq!(refusals(&server, reason.unwrap_or("malformed")).await, before + 1, "{body}: counted");
    }
    let (status, body) =
        post_json(&server, &admin, "/api/v1/moves/m-no-such-move/end", json!({ "reason": "r" })).await;
    assert_eq!((status, body["reason"].as_str()), (404, Some("unknown_move")), "{body}");
    let (status, _) =
        post_json(&server, &admin, "/api/v1/moves/m-no-such-move/cancel", json!({ "reason": "r" })).await;
    assert_eq!(status, 404);

    assert_eq!(server.store.move_record(&id).await.unwrap().unwrap().end, None);
    assert_eq!(listed(&server, &admin, &id).await["state"], "running");
    assert!(audit(&server, "move.end").await.is_empty());
    // The longest reason allowed is taken whole.
    let longest = "é".repeat(500);
    let (status, body) = post_json(&server, &admin, &path, json!({ "reason": longest })).await;
    assert_eq!((status, body["end"]["reason"].as_str()), (200, Some(longest.as_str())));
    server.stop().await;
}

/// Fixes one second apart from `from`, `north_m` north of the route (well outside its corridor).
fn off_route_drive(from: chrono::DateTime<Utc>, seconds: u64, north_m: f64) -> Vec<Position> {
    (0..seconds)
        .map(|s| Position {
            seq: s + 1,
            t: from + TimeSpan::seconds(s as i64),
            lat: 48.16 + north_m / 111_190.0,
            lon: 11.52 + 10.0 * s as f64 / 74_300.0,
            alt_m: None,
            speed_mps: Some(10.0),
            course_deg: Some(90.0),
            fix: Some(FixMode::ThreeD),
            sats: Some(9),
            hdop: Some(0.9),
            accuracy_m: None,
        })
        .collect()
}

/// One truck on two moves with the same route: one ended, one left running. The truck then
/// drives 400 m off the route. The same fixes, evaluated for both moves in one pass of the
/// rules, raise `off_route` for the running move (what the ended one would have raised) and
/// nothing for the ended one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_vehicle_driving_off_route_after_its_move_ended_raises_no_off_route_for_it() {
    let server = TestServer::start(Backend::Postgres, BrokerKind::Embedded).await;
    let (truck, password) = register_vehicle(&server, "truck-07").await;
    let admin = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let kept = new_move(&server, &admin, plan("kept", &["truck-07"], None)).await;
    let ended = new_move(&server, &admin, plan("ended", &["truck-07"], None)).await;
    let (status, body) =
        post_json(&server, &admin, &format!("/api/v1/moves/{ended}/end"), json!({ "reason": "turned back" }))
            .await;
    assert_eq!(status, 200, "{body}");

    // Taken after the end (fixes up to 5 minutes ahead are accepted; the rules run on fix
    // time), so the whole excursion is after it.
    let from = Utc::now().trunc_subsecs(0) + TimeSpan::seconds(60);
    publish_fixes(&server, &truck, &password, &off_route_drive(from, 60, 400.0), 5).await;

    let kept_alerts = eventually(Duration::from_secs(60), "off_route on the running move", || async {
        let (_, body) = server.get_json(&format!("/api/v1/alerts?move={kept}"), &admin).await;
        let alerts = body["alerts"].as_array().cloned().unwrap_or_default();
        (!alerts.is_empty()).then_some(alerts)
    })
    .await;
    assert_eq!(kept_alerts.len(), 1, "{kept_alerts:?}");
    assert_eq!(
        (kept_alerts[0]["kind"].as_str(), kept_alerts[0]["vehicle"].as_str()),
        (Some("off_route"), Some("truck-07"))
    );
    // The rules evaluate a fix for every move of its vehicle before the alerts are recorded:
    // the ended move's turn for these fixes is over.
    let (_, body) = server.get_json(&format!("/api/v1/alerts?move={ended}"), &admin).await;
    assert_eq!(body["alerts"], json!([]), "nothing for the ended move");
    server.stop().await;
}
