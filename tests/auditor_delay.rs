//! An auditor reads the record, never the road: every path that carries a place (a vehicle's
//! track, a move's replay, export and report, the daily report, alerts) gives an auditor only
//! what is at least `auditor_delay_minutes` old (60 by default), while the admin reads the same
//! paths up to now.
//! The live feed and the vehicle list's positions are closed to auditors in the role matrix
//! (tests/authorization.rs).
//!
//! Against a real server (embedded broker, SQLite): one vehicle publishes, through the door, a
//! fix taken two hours ago and one taken a second ago; the move has an alert opened two hours
//! ago and one opened now.

mod common;

use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use common::*;
use convoy_core::alert::AlertKind;
use convoy_core::plan::MovePlan;
use convoy_core::position::format_time;
use convoy_core::{FixMode, Position, Role, VehicleId};
use convoy_store::AlertRecord;
use serde_json::{json, Value};

const AUDITOR: &str = "auditor-ada";
const AUDITOR_PASSWORD: &str = "a long enough auditor password";
const VEHICLE: &str = "truck-11";

struct World {
    server: TestServer,
    admin: String,
    auditor: String,
    move_id: String,
    old_fix: DateTime<Utc>,
    new_fix: DateTime<Utc>,
    old_alert: String,
    new_alert: String,
}

impl World {
    /// A server whose auditors read places `auditor_delay_minutes` old.
    async fn start(auditor_delay_minutes: u32) -> World {
        let server = TestServer::start_configured(Backend::Sqlite, BrokerKind::Embedded, |config| {
            config.access = convoy_gateway::AccessSettings { auditor_delay_minutes };
        })
        .await;
        convoy_registry::add_user(&server.store, AUDITOR, Role::Auditor, AUDITOR_PASSWORD).await.unwrap();
        let vehicle = VehicleId::new(VEHICLE).unwrap();
        let password = convoy_registry::register_vehicle(&server.store, &vehicle).await.unwrap();
        let now = Utc::now().trunc_subsecs(3);
        let plan = json!({
            "name": "a move under audit",
            "vehicles": [VEHICLE],
            "route": { "type": "LineString", "coordinates": [[11.56, 48.16], [11.58, 48.17]] },
            "corridor_m": 200,
            "window": { "from": now - chrono::Duration::hours(3), "to": now + chrono::Duration::hours(1) },
        });
        let plan = MovePlan::from_json(plan.to_string().as_bytes()).unwrap();
        let move_id = convoy_registry::store_new_move(&server.store, &plan, ADMIN_USER).await.unwrap().id;

        let (old_fix, new_fix) = (now - chrono::Duration::hours(2), now - chrono::Duration::seconds(1));
        publish_fixes(&server, &vehicle, &password, &fixes_at(&[old_fix, new_fix]), 2).await;
        eventually(Duration::from_secs(30), "both fixes stored", || async {
            let stored = server.store.track(&vehicle, old_fix, now).await.unwrap();
            (stored.len() == 2).then_some(())
        })
        .await;
        let old_alert = open_alert(&server, &move_id, old_fix).await;
        let new_alert = open_alert(&server, &move_id, new_fix).await;
        let admin = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
        let auditor = server.login(AUDITOR, AUDITOR_PASSWORD).await;
        World { server, admin, auditor, move_id, old_fix, new_fix, old_alert, new_alert }
    }

    /// Whether `alert` is one of the two this test opened (the rules may open others).
    fn is_ours(&self, alert: &Value) -> bool {
        alert["id"] == json!(self.old_alert) || alert["id"] == json!(self.new_alert)
    }

    /// The ids of this test's alerts in a list, in its order.
    fn ours<'a>(&'a self, alerts: &Value) -> Vec<&'a String> {
        let ids: Vec<&str> = alerts.as_array().unwrap().iter().filter_map(|a| a["id"].as_str()).collect();
        [&self.old_alert, &self.new_alert].into_iter().filter(|id| ids.contains(&id.as_str())).collect()
    }

    async fn get(&self, path: &str, token: &str) -> (u16, String) {
        let response =
            reqwest::Client::new().get(self.server.url(path)).bearer_auth(token).send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    async fn get_json(&self, path: &str, token: &str) -> Value {
        let (status, body) = self.get(path, token).await;
        assert_eq!(status, 200, "{path}: {body}");
        serde_json::from_str(&body).unwrap()
    }
}

/// Fixes taken at `times`, as the vehicle's receiver would give them.
fn fixes_at(times: &[DateTime<Utc>]) -> Vec<Position> {
    times
        .iter()
        .enumerate()
        .map(|(n, t)| Position {
            seq: n as u64 + 1,
            t: *t,
            lat: 48.16 + n as f64 * 0.001,
            lon: 11.56,
            alt_m: None,
            speed_mps: Some(0.0),
            course_deg: None,
            fix: Some(FixMode::ThreeD),
            sats: Some(9),
            hdop: Some(0.9),
            accuracy_m: None,
        })
        .collect()
}

/// Opens a zone alert as the rules would, at `opened_t`, and returns its id.
async fn open_alert(server: &TestServer, move_id: &str, opened_t: DateTime<Utc>) -> String {
    let id = format!("alert-{}", opened_t.timestamp_millis());
    let record = AlertRecord {
        kind: AlertKind::ZoneEnter,
        zone: Some("customer site".into()),
        detail: json!({}),
        ..opened_alert(&id, move_id, VEHICLE, opened_t)
    };
    assert!(server.store.open_alert(&record).await.unwrap(), "alert {id} opened");
    id
}

/// The fix times of a JSON list of positions.
fn fix_times(positions: &Value) -> Vec<String> {
    positions.as_array().unwrap().iter().map(|p| p["t"].as_str().unwrap().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auditor_reads_places_only_once_they_are_an_hour_old() {
    let world = World::start(convoy_gateway::DEFAULT_AUDITOR_DELAY_MINUTES).await;
    assert_eq!(convoy_gateway::DEFAULT_AUDITOR_DELAY_MINUTES, 60);
    let (old, new) = (format_time(&world.old_fix), format_time(&world.new_fix));
    let both = vec![old.clone(), new.clone()];

    // A vehicle's track, by default the last 24 hours, and with `to` in the future.
    let to = format_time(&(Utc::now() + chrono::Duration::minutes(5)));
    for path in
        [format!("/api/v1/vehicles/{VEHICLE}/track"), format!("/api/v1/vehicles/{VEHICLE}/track?to={to}")]
    {
        let admin = world.get_json(&path, &world.admin).await;
        assert_eq!(fix_times(&admin["positions"]), both, "{path}");
        let auditor = world.get_json(&path, &world.auditor).await;
        assert_eq!(fix_times(&auditor["positions"]), std::slice::from_ref(&old), "{path}");
    }
    let csv = format!("/api/v1/vehicles/{VEHICLE}/track?format=csv");
    let (_, admin) = world.get(&csv, &world.admin).await;
    let (status, auditor) = world.get(&csv, &world.auditor).await;
    assert_eq!(status, 200);
    assert!(admin.contains(&new) && admin.contains(&old), "{admin}");
    assert!(auditor.contains(&old) && !auditor.contains(&new), "{auditor}");

    // A move's replay: positions and alerts.
    let replay = format!("/api/v1/moves/{}/replay", world.move_id);
    let admin = world.get_json(&replay, &world.admin).await;
    assert_eq!(fix_times(&admin["tracks"][0]["positions"]), both);
    assert_eq!(world.ours(&admin["alerts"]), [&world.old_alert, &world.new_alert]);
    let auditor = world.get_json(&replay, &world.auditor).await;
    assert_eq!(fix_times(&auditor["tracks"][0]["positions"]), std::slice::from_ref(&old));
    assert_eq!(world.ours(&auditor["alerts"]), [&world.old_alert]);
    let auditor_to: DateTime<Utc> = auditor["to"].as_str().unwrap().parse().unwrap();
    assert!(
        auditor_to <= Utc::now() - chrono::Duration::minutes(59),
        "the replay says where it ends: {auditor_to}"
    );

    // A move's export and its report.
    for format in ["csv", "gpx", "geojson", "kml"] {
        let path = format!("/api/v1/moves/{}/export?format={format}", world.move_id);
        let (_, admin) = world.get(&path, &world.admin).await;
        assert!(admin.contains(&new[..19]), "{format}: {admin}");
        let (status, auditor) = world.get(&path, &world.auditor).await;
        assert_eq!(status, 200, "{format}");
        assert!(auditor.contains(&old[..19]) && !auditor.contains(&new[..19]), "{format}: {auditor}");
    }
    let report = format!("/api/v1/moves/{}/report", world.move_id);
    let admin = world.get_json(&report, &world.admin).await;
    assert_eq!(admin["vehicles"][0]["fixes"], 2, "{admin}");
    let auditor = world.get_json(&report, &world.auditor).await;
    assert_eq!(auditor["vehicles"][0]["fixes"], 1, "{auditor}");
    assert_eq!(world.ours(&auditor["alerts"]), [&world.old_alert], "{auditor}");

    // The daily report of the new fix's (UTC) day: its span, so its fixes and alerts, end at
    // the cut. The old fix and alert are of that day too unless the test runs before 02:00.
    let day = world.new_fix.format("%Y-%m-%d").to_string();
    let same_day = world.old_fix.format("%Y-%m-%d").to_string() == day;
    let daily = format!("/api/v1/reports/daily?day={day}&vehicle={VEHICLE}");
    let admin = world.get_json(&daily, &world.admin).await;
    let row = &admin["vehicles"][0];
    assert_eq!((row["fixes"].as_u64(), row["last_fix"].as_str()), (Some(1 + same_day as u64), Some(&*new)));
    assert_eq!(row["alerts_total"], 1 + same_day as u64, "{admin}");
    let auditor = world.get_json(&daily, &world.auditor).await;
    let auditor_to: DateTime<Utc> = auditor["to"].as_str().unwrap().parse().unwrap();
    // In the first hour of a day the cut is before the day began: the span is then empty,
    // ending where it starts.
    let day_start: DateTime<Utc> = auditor["from"].as_str().unwrap().parse().unwrap();
    assert!(auditor_to <= (Utc::now() - chrono::Duration::minutes(59)).max(day_start), "{auditor}");
    if same_day {
        let row = &auditor["vehicles"][0];
        assert_eq!((row["fixes"].as_u64(), row["last_fix"].as_str()), (Some(1), Some(&*old)), "{auditor}");
        assert_eq!(row["alerts_total"], 1, "{auditor}");
    } else {
        assert_eq!(auditor["vehicles"], json!([]), "{auditor}");
    }

    // Alerts: the recent one is listed, without its place; the old one keeps it.
    let admin = world.get_json("/api/v1/alerts", &world.admin).await;
    let auditor = world.get_json("/api/v1/alerts", &world.auditor).await;
    assert_eq!(world.ours(&admin["alerts"]).len(), 2);
    assert_eq!(world.ours(&auditor["alerts"]).len(), 2, "a recent alert is listed");
    let ours = |list: &Value| -> Vec<Value> {
        list["alerts"].as_array().unwrap().iter().filter(|a| world.is_ours(a)).cloned().collect()
    };
    for alert in &ours(&admin) {
        assert_eq!((&alert["lat"], &alert["zone"]), (&json!(48.165), &json!("customer site")), "{alert}");
    }
    for alert in &ours(&auditor) {
        let place = (&alert["lat"], &alert["lon"], &alert["zone"]);
        if alert["id"] == json!(world.new_alert) {
            assert_eq!(place, (&Value::Null, &Value::Null, &Value::Null), "{alert}");
        } else {
            assert_eq!(place, (&json!(48.165), &json!(11.59), &json!("customer site")), "{alert}");
        }
    }
    let one = world.get_json(&format!("/api/v1/alerts/{}", world.new_alert), &world.auditor).await;
    assert_eq!((&one["lat"], &one["zone"]), (&Value::Null, &Value::Null), "{one}");
    let one = world.get_json(&format!("/api/v1/alerts/{}", world.new_alert), &world.admin).await;
    assert_eq!(one["lat"], json!(48.165), "{one}");

    // The vehicle list: positions for the admin, none for the auditor.
    let admin = world.get_json("/api/v1/vehicles", &world.admin).await;
    assert!(admin["vehicles"][0]["position"].is_object(), "{admin}");
    let auditor = world.get_json("/api/v1/vehicles", &world.auditor).await;
    assert!(auditor["vehicles"][0]["position"].is_null(), "{auditor}");
    world.server.stop().await;
}

/// `[access] auditor_delay_minutes = 0` lets auditors read up to now: the cut is the setting's,
/// not a fixed rule.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_delay_an_auditor_reads_up_to_now() {
    let world = World::start(0).await;
    let both = vec![format_time(&world.old_fix), format_time(&world.new_fix)];
    let track = world.get_json(&format!("/api/v1/vehicles/{VEHICLE}/track"), &world.auditor).await;
    assert_eq!(fix_times(&track["positions"]), both);
    let replay = world.get_json(&format!("/api/v1/moves/{}/replay", world.move_id), &world.auditor).await;
    assert_eq!(fix_times(&replay["tracks"][0]["positions"]), both);
    let one = world.get_json(&format!("/api/v1/alerts/{}", world.new_alert), &world.auditor).await;
    assert_eq!(one["lat"], json!(48.165), "{one}");
    world.server.stop().await;
}
