//! Each vehicle's progress along its move's route, end to end: a vehicle drives half its route
//! over MQTT through a real server; the API's figures match the route's geometry, and the live
//! feed carries them as they change.

mod common;

use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use common::*;
use convoy_core::route_index::RouteIndex;
use convoy_core::{FixMode, Position};
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

/// A straight route east along 48.1° N, about 7.4 km.
const ROUTE: [(f64, f64); 2] = [(11.50, 48.10), (11.60, 48.10)];
/// Fixes at 1 Hz from the route's start to its middle.
const SECONDS_TO_HALF_WAY: i64 = 360;

fn route_length_m() -> f64 {
    RouteIndex::new(&geo::LineString::from(ROUTE.to_vec())).unwrap().length_m()
}

/// From the start to half-way along the route, steadily.
fn half_way_drive(t0: DateTime<Utc>, speed_mps: f64) -> Vec<Position> {
    (0..=SECONDS_TO_HALF_WAY)
        .map(|s| Position {
            seq: s as u64 + 1,
            t: t0 + chrono::Duration::seconds(s),
            lat: ROUTE[0].1,
            lon: ROUTE[0].0 + (ROUTE[1].0 - ROUTE[0].0) / 2.0 * s as f64 / SECONDS_TO_HALF_WAY as f64,
            alt_m: None,
            speed_mps: Some(speed_mps),
            course_deg: Some(90.0),
            fix: Some(FixMode::ThreeD),
            sats: Some(9),
            hdop: Some(0.9),
            accuracy_m: None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vehicle_half_way_along_its_route_is_half_way_in_the_api_and_the_live_feed() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let admin = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let (vehicle, password) = register_vehicle(&server, "truck-half").await;
    let length_m = route_length_m();
    let speed_mps = length_m / 2.0 / SECONDS_TO_HALF_WAY as f64;
    let t0 = Utc::now().trunc_subsecs(0) - chrono::Duration::seconds(SECONDS_TO_HALF_WAY + 60);
    let plan = json!({
        "name": "half way",
        "vehicles": [vehicle.as_str()],
        "route": { "type": "LineString", "coordinates": ROUTE.map(|(lon, lat)| [lon, lat]) },
        "corridor_m": 100,
        "window": { "from": t0 - chrono::Duration::minutes(5), "to": Utc::now() + chrono::Duration::hours(1) },
    });
    let created = reqwest::Client::new()
        .post(server.url("/api/v1/moves"))
        .bearer_auth(&admin)
        .json(&plan)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let move_id = created.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/moves/{move_id}/progress");
    let (status, before) = server.get_json(&path, &admin).await;
    assert_eq!((status, &before["vehicles"]), (200, &json!([])), "no figures before a fix: {before}");

    let url = format!("ws://{}/api/v1/live?token={admin}", server.http);
    let (mut feed, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let fixes = half_way_drive(t0, speed_mps);
    let last_fix = fixes.last().unwrap().t;
    publish_fixes(&server, &vehicle, &password, &fixes, 20).await;

    // The API: half the route done, half left, and an arrival at the same pace.
    let answer = eventually(Duration::from_secs(30), "the last fix's progress", || async {
        let (_, answer) = server.get_json(&path, &admin).await;
        (answer["vehicles"][0]["as_of"] == json!(convoy_core::position::format_time(&last_fix)))
            .then_some(answer)
    })
    .await;
    assert_eq!(answer["move"], json!(move_id));
    let progress = &answer["vehicles"][0];
    assert_eq!((&progress["vehicle"], &progress["state"]), (&json!("truck-half"), &json!("on_route")));
    let figure = |name: &str| progress[name].as_f64().unwrap_or_else(|| panic!("{name}: {progress}"));
    assert!((figure("route_length_m") - length_m).abs() < 0.1, "{progress}");
    assert!((figure("progress_m") - length_m / 2.0).abs() < 3.0, "half-way is half the length: {progress}");
    assert!((figure("remaining_m") - length_m / 2.0).abs() < 3.0, "{progress}");
    assert!((figure("speed_mps") - speed_mps).abs() < 0.1, "the pace it drove: {progress}");
    let eta: DateTime<Utc> = progress["eta"].as_str().unwrap().parse().unwrap();
    let expected_s = figure("remaining_m") / figure("speed_mps");
    assert!(((eta - last_fix).num_seconds() as f64 - expected_s).abs() <= 1.0, "{progress}");
    assert_eq!(progress["estimate"], true);
    // Each look is in the audit log, with the move it was of.
    let (_, audited) =
        server.get_json(&format!("/api/v1/audit?actor={ADMIN_USER}&action=move.progress"), &admin).await;
    let entries = audited["entries"].as_array().unwrap();
    assert!(entries.len() >= 2 && entries.iter().all(|e| e["target"] == json!(move_id)), "{audited}");

    // The live feed: progress messages as the batches were evaluated (never more than one per
    // fix), ending with the same figures.
    let mut messages = 0;
    let last = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let Message::Text(text) = feed.next().await.unwrap().unwrap() else { continue };
            let event: Value = serde_json::from_str(&text).unwrap();
            if event["type"] != "progress" {
                continue;
            }
            messages += 1;
            if event["progress"]["as_of"] == progress["as_of"] {
                return event;
            }
        }
    })
    .await
    .expect("the live feed carries the last fix's progress");
    assert_eq!(&last["progress"], progress, "the feed and the API say the same");
    assert!(
        messages > 1 && messages <= fixes.len(),
        "{messages} progress messages for {} fixes",
        fixes.len()
    );

    // A client connecting now gets the figures at once, with the rest of the state.
    let (mut fresh, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let on_connect = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let Message::Text(text) = fresh.next().await.unwrap().unwrap() else { continue };
            let event: Value = serde_json::from_str(&text).unwrap();
            if event["type"] == "progress" {
                return event;
            }
        }
    })
    .await
    .expect("progress on connect");
    assert_eq!(&on_connect["progress"], progress);

    // Ending the move takes its figures off (the board holds running moves only), and the live
    // feed says so.
    let ended = reqwest::Client::new()
        .post(server.url(&format!("/api/v1/moves/{move_id}/end")))
        .bearer_auth(&admin)
        .json(&json!({ "reason": "arrived by other means" }))
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), 200);
    eventually(Duration::from_secs(30), "the ended move's figures gone", || async {
        let (status, answer) = server.get_json(&path, &admin).await;
        (status == 200 && answer["vehicles"] == json!([])).then_some(())
    })
    .await;
    let ended = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let Message::Text(text) = feed.next().await.unwrap().unwrap() else { continue };
            let event: Value = serde_json::from_str(&text).unwrap();
            if event["type"] == "progress_ended" {
                return event;
            }
        }
    })
    .await
    .expect("the live feed says the move's progress is over");
    assert_eq!(ended, json!({ "type": "progress_ended", "move": move_id }));
    server.stop().await;
}
