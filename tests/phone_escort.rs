//! A phone as a tracker beside an agent truck: an escort car reporting through OwnTracks (in
//! HTTP mode) escorts a truck whose agent publishes over MQTT. When the escort stays behind and
//! the truck drives on, `convoy_broken` opens on the truck, and closes when the escort catches
//! up: the phone's fixes count exactly as an agent's would. The replay of the stored record
//! gives the same alert.

mod common;

use std::time::Duration;

use chrono::{DateTime, Duration as TimeSpan, SubsecRound, Utc};
use common::*;
use convoy::demo::simulator::Route;
use convoy_core::geometry::distance_m;
use convoy_core::{FixMode, Position};
use convoy_registry::NewPhone;
use convoy_store::DeviceKind;
use geo::Point;
use serde_json::{json, Value};

/// The escort stops at this second of the drive and waits this long, then drives on at the
/// truck's pace; the truck parks at TRUCK_PARKS_AT, and the escort reaches it there.
const ESCORT_STOPS_AT: usize = 200;
const ESCORT_STOPPED_FOR: usize = 200;
const TRUCK_PARKS_AT: usize = 450;
const DRIVE_S: usize = 700;
/// How often the phone reports (OwnTracks in move mode reports every few seconds, not each).
const PHONE_EVERY_S: usize = 5;
/// How far the escort may be from its truck (the rules' default `escort_max_distance_m`).
const ESCORT_MAX_DISTANCE_M: f64 = 1000.0;

fn munich() -> Vec<Point> {
    Route::munich().unwrap().points().to_vec()
}

fn truck_at(points: &[Point], i: usize) -> Point {
    points[i.min(TRUCK_PARKS_AT)]
}

fn truck_fix(points: &[Point], i: usize, t0: DateTime<Utc>) -> Position {
    let here = truck_at(points, i);
    Position {
        seq: i as u64 + 1,
        t: t0 + TimeSpan::seconds(i as i64),
        lat: here.y(),
        lon: here.x(),
        alt_m: None,
        speed_mps: Some(if i == 0 { 0.0 } else { distance_m(truck_at(points, i - 1), here) }),
        course_deg: None,
        fix: Some(FixMode::ThreeD),
        sats: Some(9),
        hdop: Some(0.9),
        accuracy_m: None,
    }
}

/// Where the escort is at second `i`: four seconds behind the truck, standing still from
/// ESCORT_STOPS_AT for ESCORT_STOPPED_FOR seconds, then driving on along the route until it
/// reaches the parked truck.
fn escort_at(points: &[Point], i: usize) -> Point {
    let along = if i < ESCORT_STOPS_AT {
        i
    } else {
        ESCORT_STOPS_AT + i.saturating_sub(ESCORT_STOPS_AT + ESCORT_STOPPED_FOR)
    };
    points[along.saturating_sub(4).min(TRUCK_PARKS_AT)]
}

/// The escort's latest report at second `i` (it reports every PHONE_EVERY_S seconds).
fn escort_seen_at(points: &[Point], i: usize) -> Point {
    escort_at(points, i - i % PHONE_EVERY_S)
}

/// The OwnTracks app's report of a location (its JSON, as the booklet gives it).
fn owntracks_location(p: Point, t: DateTime<Utc>) -> Value {
    json!({
        "_type": "location", "lat": p.y(), "lon": p.x(), "tst": t.timestamp(), "acc": 8,
        "batt": 76, "tid": "e1", "topic": "owntracks/escort1-phone/pixel", "vel": 40,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_phone_escort_left_behind_breaks_the_convoy_and_catching_up_mends_it() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let token = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let (truck, truck_password) = register_vehicle(&server, "truck-01").await;
    register_vehicle(&server, "escort-1").await;
    let phone = NewPhone {
        kind: DeviceKind::OwnTracks,
        name: "escort1-phone".into(),
        owntracks_device: Some("pixel".into()),
        vehicle: convoy_core::VehicleId::new("escort-1").unwrap(),
        person: None,
    };
    let (_, secret) = convoy_registry::register_phone(&server.store, phone).await.unwrap();

    let points = munich();
    let drive_s = DRIVE_S;
    let t0 = Utc::now().trunc_subsecs(0) - TimeSpan::seconds(drive_s as i64 + 20);
    let plan = json!({
        "name": "a truck and its phone escort",
        "vehicles": ["truck-01", "escort-1"],
        "escorts": { "truck-01": "escort-1" },
        "route": { "type": "LineString", "coordinates": points.iter().map(|p| [p.x(), p.y()]).collect::<Vec<_>>() },
        "corridor_m": 150,
        "window": { "from": t0 - TimeSpan::seconds(5), "to": Utc::now() + TimeSpan::minutes(30) },
        // The drive happened minutes ago: its fixes are news here, and nobody is silent.
        "rules": { "late_after_s": 100_000, "signal_lost_after_s": 100_000 },
    });
    let http = reqwest::Client::new();
    let created =
        http.post(server.url("/api/v1/moves")).bearer_auth(&token).json(&plan).send().await.unwrap();
    assert_eq!(created.status(), 201);
    let move_id = created.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();

    // Ten seconds at a time, the truck's agent first, then the phone: the rules judge the truck
    // against the escort's latest fix, as they would on the road.
    for block in (0..drive_s).step_by(10) {
        let end = (block + 10).min(drive_s);
        let fixes: Vec<Position> = (block..end).map(|i| truck_fix(&points, i, t0)).collect();
        publish_fixes(&server, &truck, &truck_password, &fixes, 10).await;
        for i in (block..end).filter(|i| i % PHONE_EVERY_S == 0) {
            let t = t0 + TimeSpan::seconds(i as i64);
            let answer = http
                .post(server.url("/api/v1/phones/owntracks"))
                .basic_auth("escort1-phone", Some(&secret))
                .header("X-Limit-U", "escort1-phone")
                .header("X-Limit-D", "pixel")
                .json(&owntracks_location(escort_at(&points, i), t))
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status(), 200, "{}", answer.text().await.unwrap());
        }
    }

    let alert = eventually(Duration::from_secs(60), "convoy_broken opened and cleared", || async {
        let (status, body) = server.get_json(&format!("/api/v1/alerts?move={move_id}"), &token).await;
        assert_eq!(status, 200, "{body}");
        let alerts = body["alerts"].as_array().unwrap().clone();
        alerts.into_iter().find(|a| a["kind"] == "convoy_broken" && a["cleared_t"].is_string())
    })
    .await;
    assert_eq!(alert["vehicle"], "truck-01");
    // Apart from the first second the truck is more than a kilometre from the escort's latest
    // report; the alert waits 60 s more (and up to a block of ten seconds for the phone's next
    // report to be judged). Together again at the first second it is within the kilometre.
    let apart =
        |i: usize| distance_m(truck_at(&points, i), escort_seen_at(&points, i)) > ESCORT_MAX_DISTANCE_M;
    let first_apart = (0..drive_s).find(|&i| apart(i)).expect("the truck drives away from the escort");
    let together_again = (first_apart..drive_s).find(|&i| !apart(i)).expect("the escort catches up");
    let time = |v: &Value| v.as_str().unwrap().parse::<DateTime<Utc>>().unwrap();
    let at = |i: usize| t0 + TimeSpan::seconds(i as i64);
    let opened = time(&alert["opened_t"]) - at(first_apart);
    assert!(
        (60..=75).contains(&opened.num_seconds()),
        "opened {opened} after the truck was a kilometre away"
    );
    let cleared = time(&alert["cleared_t"]) - at(together_again);
    assert!((0..=15).contains(&cleared.num_seconds()), "cleared {cleared} after the escort caught up");

    // The escort's fixes are stored as its vehicle's, with the phone's accuracy.
    let (status, track) = server
        .get_json(
            &format!(
                "/api/v1/vehicles/escort-1/track?from={}&to={}",
                (t0 - TimeSpan::seconds(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            &token,
        )
        .await;
    assert_eq!(status, 200, "{track}");
    let positions = track["positions"].as_array().unwrap();
    assert_eq!(positions.len(), drive_s.div_ceil(PHONE_EVERY_S));
    assert!(positions.iter().all(|p| p["accuracy_m"] == 8.0), "{:?}", positions.first());

    // Replay is evidence: the stored record gives exactly this alert.
    let settings = convoy_core::rules::RuleSettings::default();
    let report = convoy_alerts::replay::replay_and_compare(&server.store, &settings, &move_id, Utc::now())
        .await
        .unwrap();
    assert!(report.matches(), "replay differs: {:?}", report.differences());
    server.stop().await;
}
