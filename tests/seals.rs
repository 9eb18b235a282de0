//! Seal checkpoints through the API, on a real server with PostgreSQL: a move's list of seals
//! (ids kept, refusals with their reasons, counted, nothing changed), checkpoints recorded by an
//! escort with the vehicle's latest stored fix, another team's escort answered 404 and an
//! auditor who may read but not record; and a broken seal opening a `seal` alert on the move,
//! read back from `GET /api/v1/alerts` and seen on the live feed.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{SubsecRound, Utc};
use common::*;
use convoy_core::{FixMode, Position, Role, VehicleId};
use convoy_store::AuditFilter;
use futures_util::StreamExt;
use serde_json::{json, Value};

const AUDITOR: (&str, &str) = ("auditor-ada", "a long enough auditor password");
const OTHER_ESCORT: (&str, &str) = ("escort-other", "a long enough escort password");

async fn send(server: &TestServer, method: &str, token: &str, path: &str, body: Value) -> (u16, Value) {
    let client = reqwest::Client::new();
    let request = match method {
        "PUT" => client.put(server.url(path)),
        _ => client.post(server.url(path)),
    };
    let response = request.bearer_auth(token).json(&body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn plan(name: &str, vehicles: &[&str]) -> Value {
    json!({
        "name": name,
        "vehicles": vehicles,
        "route": { "type": "LineString", "coordinates": [[11.50, 48.16], [11.60, 48.16]] },
        "corridor_m": 150,
        "rules": { "signal_lost_after_s": 100_000 },
    })
}

async fn new_move(server: &TestServer, token: &str, plan: Value) -> String {
    let (status, body) = send(server, "POST", token, "/api/v1/moves", plan).await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_string()
}

async fn refusals(server: &TestServer, reason: &str) -> f64 {
    let sample = format!("convoy_gateway_seals_refused_total{{reason=\"{reason}\"}}");
    metric(&server.metrics().await, &sample).unwrap_or(0.0)
}

async fn audited(server: &TestServer, action: &str) -> Vec<(Option<String>, String)> {
    let filter = AuditFilter { action: Some(action.into()), limit: 100, ..Default::default() };
    let entries = server.store.audit_entries(&filter).await.unwrap();
    entries.into_iter().map(|e| (e.actor, e.target)).collect()
}

fn two_seals() -> Value {
    json!({ "seals": [
        { "label": "Rack 3 crate", "number": "SL-1001", "contents": "payroll disks", "sensitivity": "secret", "vehicle": "truck-01" },
        { "label": "Archive box 7", "number": "SL-1002", "sensitivity": "confidential" },
    ]})
}

struct World {
    server: TestServer,
    admin: String,
    escort: String,
    other_escort: String,
    auditor: String,
    move_id: String,
    truck_password: String,
}

async fn start() -> World {
    let server = TestServer::start(Backend::Postgres, BrokerKind::Embedded).await;
    let (_, truck_password) = register_vehicle(&server, "truck-01").await;
    register_vehicle(&server, "escort-1").await;
    convoy_registry::add_user(&server.store, AUDITOR.0, Role::Auditor, AUDITOR.1).await.unwrap();
    convoy_registry::add_user(&server.store, OTHER_ESCORT.0, Role::Escort, OTHER_ESCORT.1).await.unwrap();
    let admin = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let move_id = new_move(&server, &admin, plan("sealed move", &["truck-01", "escort-1"])).await;
    let other = new_move(&server, &admin, plan("other move", &["escort-1"])).await;
    let team = |users: &[&str]| json!({ "users": users });
    let (status, body) =
        send(&server, "PUT", &admin, &format!("/api/v1/moves/{move_id}/team"), team(&[ESCORT_USER])).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) =
        send(&server, "PUT", &admin, &format!("/api/v1/moves/{other}/team"), team(&[OTHER_ESCORT.0])).await;
    assert_eq!(status, 200);
    World {
        escort: server.login(ESCORT_USER, ESCORT_PASSWORD).await,
        other_escort: server.login(OTHER_ESCORT.0, OTHER_ESCORT.1).await,
        auditor: server.login(AUDITOR.0, AUDITOR.1).await,
        server,
        admin,
        move_id,
        truck_password,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_lists_seals_that_keep_their_ids_and_bad_lists_are_refused_by_reason() {
    let w = start().await;
    let path = format!("/api/v1/moves/{}/seals", w.move_id);
    let (status, empty) = w.server.get_json(&path, &w.admin).await;
    assert_eq!((status, empty), (200, json!({ "seals": [] })));

    let (status, listed) = send(&w.server, "PUT", &w.admin, &path, two_seals()).await;
    assert_eq!(status, 200, "{listed}");
    let seals = listed["seals"].as_array().unwrap();
    assert_eq!(seals.len(), 2);
    assert_eq!(seals[0]["number"], "SL-1001");
    assert_eq!(seals[0]["vehicle"], "truck-01");
    assert_eq!(seals[1]["vehicle"], Value::Null);
    assert_eq!(seals[1]["contents"], "");
    assert_eq!(seals[0]["checked"], false);
    let (first, second) = (seals[0]["id"].clone(), seals[1]["id"].clone());

    // Renamed and reordered, with a third: the ids stay.
    let again = json!({ "seals": [
        { "id": second, "label": "Archive box 7 (blue)", "number": "SL-1002", "sensitivity": "normal" },
        { "id": first, "label": "Rack 3 crate", "number": "SL-1001", "sensitivity": "secret", "vehicle": "truck-01" },
        { "label": "Tape case", "number": "SL-1003", "sensitivity": "normal" },
    ]});
    let (status, listed) = send(&w.server, "PUT", &w.admin, &path, again).await;
    assert_eq!(status, 200, "{listed}");
    let ids: Vec<Value> = listed["seals"].as_array().unwrap().iter().map(|s| s["id"].clone()).collect();
    assert_eq!(&ids[..2], &[second.clone(), first.clone()]);
    assert_eq!(listed["seals"][0]["label"], "Archive box 7 (blue)");
    let (_, read) = w.server.get_json(&path, &w.escort).await;
    assert_eq!(read, listed, "the escort of the move reads the same list");

    let seal = |number: &str| json!({ "label": "box", "number": number, "sensitivity": "normal" });
    let bad = [
        (json!({ "seals": [seal("A"), seal("A")] }), "duplicate_seal_number"),
        (
            json!({ "seals": [{ "id": "s-nope", "label": "box", "number": "A", "sensitivity": "normal" }] }),
            "unknown_seal",
        ),
        (json!({ "seals": [{ "label": "box", "number": "A", "sensitivity": "top" }] }), "bad_sensitivity"),
        (
            json!({ "seals": [{ "label": "box", "number": "A", "sensitivity": "normal", "vehicle": "truck-99" }] }),
            "unknown_vehicle",
        ),
        (json!({ "seals": [{ "label": " ", "number": "A", "sensitivity": "normal" }] }), "empty_label"),
        (json!({ "seals": "none" }), "bad_request"),
    ];
    for (body, reason) in bad {
        let before = refusals(&w.server, reason).await;
        let (status, answer) = send(&w.server, "PUT", &w.admin, &path, body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        if reason != "bad_request" {
            assert_eq!(answer["reason"], reason, "{body}");
        }
        assert_eq!(refusals(&w.server, reason).await, before + 1.0, "{body}: counted");
    }
    let (_, unchanged) = w.server.get_json(&path, &w.admin).await;
    assert_eq!(unchanged, listed, "nothing changed");

    // Escorts and auditors do not plan; another team's escort does not even see the move.
    for token in [&w.escort, &w.auditor] {
        let (status, _) = send(&w.server, "PUT", token, &path, two_seals()).await;
        assert_eq!(status, 403);
    }
    let (status, _) = w.server.get_json(&path, &w.other_escort).await;
    assert_eq!(status, 404);
    let (status, _) = w.server.get_json(&path, &w.auditor).await;
    assert_eq!(status, 200, "an auditor reads the seals");
    assert_eq!(audited(&w.server, "seals.edit").await.len(), 2);
    assert!(audited(&w.server, "seals.view").await.len() >= 3);
    w.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_escort_records_checkpoints_with_the_vehicles_latest_fix_and_bad_ones_are_refused() {
    let w = start().await;
    let seals_path = format!("/api/v1/moves/{}/seals", w.move_id);
    let (_, listed) = send(&w.server, "PUT", &w.admin, &seals_path, two_seals()).await;
    let ids: Vec<String> =
        listed["seals"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_string()).collect();

    let truck = VehicleId::new("truck-01").unwrap();
    let t = Utc::now().trunc_subsecs(3) - chrono::Duration::seconds(5);
    let fix = |seq: u64, seconds: i64| Position {
        seq,
        t: t + chrono::Duration::seconds(seconds),
        lat: 48.16,
        lon: 11.50 + seq as f64 * 1e-4,
        alt_m: None,
        speed_mps: Some(0.0),
        course_deg: None,
        fix: Some(FixMode::ThreeD),
        sats: Some(9),
        hdop: Some(0.9),
        accuracy_m: None,
    };
    publish_fixes(&w.server, &truck, &w.truck_password, &[fix(41, 0), fix(42, 2)], 2).await;

    let path = format!("/api/v1/moves/{}/checkpoints", w.move_id);
    let loading = json!({
        "stage": "loading", "vehicle": "truck-01", "note": "  loaded at dock 4 ",
        "seals": [{ "seal_id": ids[0], "state": "intact" }, { "seal_id": ids[1], "state": "intact" }],
    });
    let (status, recorded) = send(&w.server, "POST", &w.escort, &path, loading).await;
    assert_eq!(status, 201, "{recorded}");
    assert_eq!(recorded["by"], ESCORT_USER);
    assert_eq!(recorded["stage"], "loading");
    assert_eq!(recorded["note"], "loaded at dock 4");
    assert_eq!(
        recorded["fix"],
        json!({ "t": convoy_core::position::format_time(&fix(42, 2).t), "seq": 42, "lat": 48.16, "lon": 11.5042 }),
        "the vehicle's latest stored fix"
    );
    assert_eq!(
        recorded["seals"][0],
        json!({ "seal_id": ids[0], "number": "SL-1001", "label": "Rack 3 crate", "state": "intact", "note": null })
    );

    let seal = |state: &str| json!([{ "seal_id": ids[0], "state": state }]);
    let long = "x".repeat(1001);
    let bad = [
        (json!({ "stage": "lunch", "seals": seal("intact") }), "bad_stage"),
        (json!({ "stage": "handover", "seals": seal("fine") }), "bad_state"),
        (json!({ "stage": "handover", "seals": [] }), "no_seals"),
        (
            json!({ "stage": "handover", "seals": [{ "seal_id": "s-nope", "state": "intact" }] }),
            "unknown_seal",
        ),
        (
            json!({ "stage": "handover", "seals": [{ "seal_id": ids[0], "state": "intact" }, { "seal_id": ids[0], "state": "broken" }] }),
            "duplicate_seal",
        ),
        (json!({ "stage": "handover", "seals": seal("intact"), "note": long }), "note_too_long"),
        (json!({ "stage": "handover", "vehicle": "truck-99", "seals": seal("intact") }), "unknown_vehicle"),
    ];
    for (body, reason) in bad {
        let before = refusals(&w.server, reason).await;
        let (status, answer) = send(&w.server, "POST", &w.escort, &path, body.clone()).await;
        assert_eq!((status, answer["reason"].as_str()), (400, Some(reason)), "{body}: {answer}");
        assert_eq!(refusals(&w.server, reason).await, before + 1.0, "{body}: counted");
    }
    // Another team's escort: as if the move did not exist; an auditor reads but does not record.
    let good = json!({ "stage": "handover", "seals": seal("intact") });
    let (status, _) = send(&w.server, "POST", &w.other_escort, &path, good.clone()).await;
    assert_eq!(status, 404);
    let (status, _) = w.server.get_json(&path, &w.other_escort).await;
    assert_eq!(status, 404);
    let (status, _) = send(&w.server, "POST", &w.auditor, &path, good.clone()).await;
    assert_eq!(status, 403);
    let (status, read) = w.server.get_json(&path, &w.auditor).await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["checkpoints"].as_array().unwrap().len(), 1, "only the one recorded");
    assert_eq!(read["checkpoints"][0]["fix"], Value::Null, "an auditor reads no place newer than the delay");
    let (_, mine) = w.server.get_json(&path, &w.escort).await;
    assert_eq!(mine["checkpoints"][0], recorded);

    // A seal a checkpoint names cannot be removed; its list may still change otherwise.
    let before = refusals(&w.server, "seal_has_checkpoints").await;
    let only_second = json!({ "seals": [{ "id": ids[1], "label": "Archive box 7", "number": "SL-1002", "sensitivity": "confidential" }] });
    let (status, answer) = send(&w.server, "PUT", &w.admin, &seals_path, only_second).await;
    assert_eq!((status, answer["reason"].as_str()), (409, Some("seal_has_checkpoints")), "{answer}");
    assert_eq!(refusals(&w.server, "seal_has_checkpoints").await, before + 1.0);
    let (_, seals) = w.server.get_json(&seals_path, &w.admin).await;
    assert_eq!(seals["seals"].as_array().unwrap().len(), 2, "nothing removed");
    assert_eq!(seals["seals"][0]["checked"], true);

    // The report carries the seals and the checkpoints.
    let (status, report) = w.server.get_json(&format!("/api/v1/moves/{}/report", w.move_id), &w.admin).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["seals"], seals["seals"]);
    assert_eq!(report["checkpoints"][0], recorded);
    let (_, audited_report) =
        w.server.get_json(&format!("/api/v1/moves/{}/report", w.move_id), &w.auditor).await;
    assert_eq!(audited_report["checkpoints"][0]["fix"], Value::Null, "the auditor delay holds in the report");

    // An ended move takes no checkpoint and no new list.
    let (status, _) = send(
        &w.server,
        "POST",
        &w.admin,
        &format!("/api/v1/moves/{}/end", w.move_id),
        json!({ "reason": "done" }),
    )
    .await;
    assert_eq!(status, 200);
    let before = refusals(&w.server, "move_ended").await;
    let (status, answer) = send(&w.server, "POST", &w.escort, &path, good).await;
    assert_eq!((status, answer["reason"].as_str()), (409, Some("move_ended")), "{answer}");
    let (status, _) = send(&w.server, "PUT", &w.admin, &seals_path, two_seals()).await;
    assert_eq!(status, 409);
    assert_eq!(refusals(&w.server, "move_ended").await, before + 2.0);
    assert_eq!(
        audited(&w.server, "checkpoint.record").await,
        [(Some(ESCORT_USER.to_string()), w.move_id.clone())]
    );
    assert!(!audited(&w.server, "checkpoints.view").await.is_empty());
    w.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_seal_opens_a_seal_alert_on_the_move_at_once_and_on_the_live_feed() {
    let w = start().await;
    let (_, listed) =
        send(&w.server, "PUT", &w.admin, &format!("/api/v1/moves/{}/seals", w.move_id), two_seals()).await;
    let ids: Vec<String> =
        listed["seals"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_string()).collect();
    let truck = VehicleId::new("truck-01").unwrap();
    let fix = Position {
        seq: 7,
        t: Utc::now().trunc_subsecs(3) - chrono::Duration::seconds(2),
        lat: 48.161,
        lon: 11.55,
        alt_m: None,
        speed_mps: Some(0.0),
        course_deg: None,
        fix: Some(FixMode::ThreeD),
        sats: Some(9),
        hdop: Some(0.9),
        accuracy_m: None,
    };
    publish_fixes(&w.server, &truck, &w.truck_password, &[fix], 1).await;

    // The escort's live feed.
    let alerts = Arc::new(Mutex::new(Vec::new()));
    let url = format!("ws://{}/api/v1/live?token={}", w.server.http, w.escort);
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let sink = alerts.clone();
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

    let path = format!("/api/v1/moves/{}/checkpoints", w.move_id);
    let intact = json!({ "stage": "loading", "vehicle": "truck-01",
        "seals": [{ "seal_id": ids[0], "state": "intact" }, { "seal_id": ids[1], "state": "intact" }] });
    let (status, _) = send(&w.server, "POST", &w.escort, &path, intact).await;
    assert_eq!(status, 201);
    let unloading = json!({ "stage": "unloading", "vehicle": "truck-01", "note": "at the data centre",
        "seals": [{ "seal_id": ids[0], "state": "broken", "note": "tag cut" }, { "seal_id": ids[1], "state": "intact" }] });
    let (status, recorded) = send(&w.server, "POST", &w.escort, &path, unloading).await;
    assert_eq!(status, 201, "{recorded}");

    let alert = eventually(Duration::from_secs(15), "the seal alert", || async {
        let (_, list) = w.server.get_json("/api/v1/alerts", &w.admin).await;
        list["alerts"].as_array().unwrap().iter().find(|a| a["kind"] == "seal").cloned()
    })
    .await;
    assert_eq!(alert["move"], w.move_id.as_str());
    assert_eq!(alert["vehicle"], "truck-01");
    assert_eq!(alert["state"], "open");
    assert_eq!(alert["opened_t"], recorded["at"], "opened at the checkpoint's time");
    assert_eq!(
        (alert["lat"].clone(), alert["lon"].clone()),
        (json!(48.161), json!(11.55)),
        "at the recorded place"
    );
    assert_eq!(
        alert["detail"],
        json!({ "stage": "unloading", "state": "broken", "seal": "SL-1001", "label": "Rack 3 crate", "by": ESCORT_USER, "note": "tag cut" })
    );
    let (_, all) = w.server.get_json("/api/v1/alerts", &w.admin).await;
    let seal_alerts = all["alerts"].as_array().unwrap().iter().filter(|a| a["kind"] == "seal").count();
    assert_eq!(seal_alerts, 1, "only the broken seal: intact ones open nothing");
    eventually(Duration::from_secs(15), "the seal alert on the live feed", || async {
        alerts.lock().unwrap().iter().any(|a| a["kind"] == "seal" && a["id"] == alert["id"]).then_some(())
    })
    .await;
    w.server.stop().await;
}
