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

/// Where the escort stops (a second of the drive), and for how long.
const ESCORT_STOPS_AT: usize = 200;
const ESCORT_STOPPED_FOR: usize = 200;
/// How often the phone reports (OwnTracks in move mode reports every few seconds, not each).
const PHONE_EVERY_S: usize = 5;

fn munich() -> Vec<Point> {
    Route::munich().unwrap().points().to_vec()
}

fn truck_fix(points: &[Point], i: usize, t0: DateTime<Utc>) -> Position {
    Position {
        seq: i as u64 + 1,
        t: t0 + TimeSpan::seconds(i as i64),
        lat: points[i].y(),
        lon: points[i].x(),
        alt_m: None,
        speed_mps: Some(if i == 0 { 0.0 } else { distance_m(points[i - 1], points[i]) }),
        course_deg: None,
        fix: Some(FixMode::ThreeD),
        sats: Some(9),
        hdop: Some(0.9),
        accuracy_m: None,
    }
}

/// Where the escort is at second `i`: a few seconds behind the truck, but standing still from
/// ESCORT_STOPS_AT for ESCORT_STOPPED_FOR seconds; then it is with the truck again.
fn escort_at(points: &[Point], i: usize) -> Point {
    let behind = i.saturating_sub(4);
    if (ESCORT_STOPS_AT..ESCORT_STOPS_AT + ESCORT_STOPPED_FOR).contains(&i) {
        points[ESCORT_STOPS_AT - 4]
    } else {
        points[behind]
    }
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
    let drive_s = ESCORT_STOPS_AT + ESCORT_STOPPED_FOR + 120;
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
    // The escort stopped at second 200; the truck was a kilometre away from it some seconds
    // later, and the alert waits 60 s beyond that.
    let time = |v: &Value| v.as_str().unwrap().parse::<DateTime<Utc>>().unwrap();
    let stopped = t0 + TimeSpan::seconds(ESCORT_STOPS_AT as i64);
    let opened = time(&alert["opened_t"]) - stopped;
    assert!(
        (60..=ESCORT_STOPPED_FOR as i64).contains(&opened.num_seconds()),
        "opened {opened} after the escort stopped"
    );
    let caught_up = t0 + TimeSpan::seconds((ESCORT_STOPS_AT + ESCORT_STOPPED_FOR) as i64);
    let cleared = time(&alert["cleared_t"]) - caught_up;
    assert!((0..=10).contains(&cleared.num_seconds()), "cleared {cleared} after the escort caught up");

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
