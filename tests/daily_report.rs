//! `GET /api/v1/reports/daily` against a real server (embedded broker, SQLite): fixes stored
//! across UTC midnight land in their own days, a halt counts as a stop, a silence lowers the
//! coverage, alerts are counted by kind, the CSV reads back as the JSON, an auditor's day ends
//! `auditor_delay_minutes` ago, and each refusal has its status, reason and counter, changing
//! nothing (no audit entry).
//!
//! Fixes and alerts are written through the store, as ingest and the alert service write them.

mod common;

use chrono::{DateTime, Duration, NaiveTime, SubsecRound, Utc};
use common::*;
use convoy_core::alert::AlertKind;
use convoy_core::position::format_time;
use convoy_core::{Position, Role, VehicleId};
use convoy_store::{AuditFilter, IngestWrite, VehiclePositions};
use serde_json::Value;

const AUDITOR: &str = "auditor-ada";
const AUDITOR_PASSWORD: &str = "a long enough auditor password";

/// In London, west of Greenwich: the longitudes are negative (and stay numbers in the CSV).
const LAT: f64 = 51.5;
const LON: f64 = -0.12;
/// Metres east per degree of longitude at 51.5°N on the WGS 84 ellipsoid, near enough.
const M_PER_DEGREE: f64 = 69_440.0;

fn fix(seq: u64, t: DateTime<Utc>, east_m: f64, speed_mps: f64) -> Position {
    Position {
        seq,
        t,
        lat: LAT,
        lon: LON + east_m / M_PER_DEGREE,
        alt_m: None,
        speed_mps: Some(speed_mps),
        course_deg: None,
        fix: None,
        sats: None,
        hdop: None,
        accuracy_m: None,
    }
}

/// `seconds` fixes a second from `from`, `east_m` on at `speed_mps` (0: standing).
fn run(from: DateTime<Utc>, seconds: i64, east_m: f64, speed_mps: f64) -> Vec<Position> {
    (0..seconds)
        .map(|s| {
            let t = from + Duration::seconds(s);
            fix(t.timestamp() as u64, t, east_m + speed_mps * s as f64, speed_mps)
        })
        .collect()
}

async fn store_fixes(server: &TestServer, vehicle: &str, positions: Vec<Position>) {
    let write = IngestWrite {
        received_at: Some(Utc::now()),
        positions: vec![VehiclePositions {
            vehicle: VehicleId::new(vehicle).unwrap(),
            positions,
            source: None,
            chain: None,
        }],
        ..Default::default()
    };
    server.store.write_ingest(&write).await.unwrap();
}

fn day_text(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

fn row<'a>(report: &'a Value, vehicle: &str) -> &'a Value {
    report["vehicles"].as_array().unwrap().iter().find(|r| r["vehicle"] == vehicle).unwrap_or_else(|| {
        panic!("no row for {vehicle}: {report}");
    })
}

fn vehicles(report: &Value) -> Vec<&str> {
    report["vehicles"].as_array().unwrap().iter().map(|r| r["vehicle"].as_str().unwrap()).collect()
}

struct World {
    server: TestServer,
    admin: String,
    auditor: String,
    /// Midnight (UTC) three days ago: the first day of the drive across midnight.
    midnight: DateTime<Utc>,
}

impl World {
    async fn start() -> World {
        let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
        convoy_registry::add_user(&server.store, AUDITOR, Role::Auditor, AUDITOR_PASSWORD).await.unwrap();
        for vehicle in ["truck-01", "truck-02", "truck-03"] {
            register_vehicle(&server, vehicle).await;
        }
        let admin = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
        let auditor = server.login(AUDITOR, AUDITOR_PASSWORD).await;
        let midnight = (Utc::now() - Duration::days(3)).with_time(NaiveTime::MIN).unwrap();
        World { server, admin, auditor, midnight }
    }

    /// A time of the first day, e.g. `at(23, 30)`.
    fn at(&self, hour: i64, minute: i64) -> DateTime<Utc> {
        self.midnight + Duration::hours(hour) + Duration::minutes(minute)
    }

    /// truck-01 drives from 23:30 to 00:05 across midnight: 10 minutes at 10 m/s, a 5-minute
    /// halt, 5 minutes on, 5 minutes without a fix (it drives on 3 km), then 10 minutes on.
    async fn drive_across_midnight(&self) {
        let mut track = run(self.at(23, 30), 600, 0.0, 10.0);
        track.extend(run(self.at(23, 40), 300, 6000.0, 0.0));
        track.extend(run(self.at(23, 45), 300, 6000.0, 10.0));
        track.extend(run(self.at(23, 55), 600, 12_000.0, 10.0));
        store_fixes(&self.server, "truck-01", track).await;
    }

    async fn open(&self, id: &str, vehicle: &str, kind: AlertKind, opened_t: DateTime<Utc>) {
        let alert = convoy_store::AlertRecord { kind, ..opened_alert(id, "m-daily", vehicle, opened_t) };
        assert!(self.server.store.open_alert(&alert).await.unwrap());
    }

    async fn report(&self, query: &str, token: &str) -> Value {
        let (status, body) = self.server.get_json(&format!("/api/v1/reports/daily?{query}"), token).await;
        assert_eq!(status, 200, "{query}: {body}");
        body
    }

    async fn daily_audits(&self) -> Vec<convoy_store::AuditEntry> {
        let filter = AuditFilter { action: Some("report.daily".into()), limit: 1000, ..Default::default() };
        self.server.store.audit_entries(&filter).await.unwrap()
    }
}

#[tokio::test]
async fn each_day_reports_its_own_distance_stops_gaps_coverage_and_alerts() {
    let w = World::start().await;
    w.drive_across_midnight().await;
    w.open("a-1", "truck-01", AlertKind::Overspeed, w.at(23, 31)).await;
    w.open("a-2", "truck-01", AlertKind::Overspeed, w.at(23, 46)).await;
    w.open("a-3", "truck-01", AlertKind::OffRoute, w.at(23, 47)).await;
    w.open("a-4", "truck-01", AlertKind::SignalLost, w.at(24, 1)).await;
    // truck-02 sent nothing that day but raised an alert: it has a row; truck-03 has none.
    w.open("a-5", "truck-02", AlertKind::GnssLost, w.at(12, 0)).await;

    let first = day_text(w.midnight);
    let report = w.report(&format!("day={first}"), &w.admin).await;
    assert_eq!(report["day"], first.as_str());
    assert_eq!(report["time_zone"], "UTC");
    assert_eq!(report["from"], format_time(&w.midnight));
    assert_eq!(report["to"], format_time(&(w.midnight + Duration::days(1))));
    assert_eq!(report["partial"], false);
    assert_eq!(vehicles(&report), ["truck-01", "truck-02"], "by id; truck-03 did nothing");

    let truck = row(&report, "truck-01");
    assert_eq!(truck["fixes"], 600 + 300 + 300 + 300, "up to midnight only: {truck}");
    assert_eq!(truck["first_fix"], format_time(&w.at(23, 30)));
    assert_eq!(truck["last_fix"], format_time(&(w.midnight + Duration::days(1) - Duration::seconds(1))));
    // 6 km, the halt (nothing), 3 km, 3 km across the silence, 3 km to midnight.
    let distance = truck["distance_m"].as_f64().unwrap();
    assert!((distance - 14_990.0).abs() < 30.0, "{distance}");
    // The halt is a stop, from its first to its last standing fix.
    assert_eq!(truck["stops"], 1);
    assert_eq!(truck["longest_stop"]["from"], format_time(&w.at(23, 40)));
    assert_eq!(truck["longest_stop"]["duration_s"], 299.0);
    assert_eq!(truck["stopped_s"], 299.0);
    assert!((truck["longest_stop"]["lon"].as_f64().unwrap() - (LON + 6000.0 / M_PER_DEGREE)).abs() < 1e-6);
    // The silence is one gap, and not covered: 23:30:00-23:49:59 and 23:55:00-23:59:59.
    assert_eq!(truck["gaps"], 1);
    assert_eq!(truck["covered_s"], 1199.0 + 299.0);
    assert_eq!(truck["coverage"], ((1498.0 / 86_400.0) * 10_000.0_f64).round() / 10_000.0);
    assert_eq!(truck["moving_s"], 1498.0 - 299.0);
    assert_eq!(truck["alerts"]["overspeed"], 2);
    assert_eq!(truck["alerts"]["off_route"], 1);
    assert_eq!(truck["alerts"]["signal_lost"], 0, "opened the next day");
    assert_eq!(truck["alerts_total"], 3);
    let quiet = row(&report, "truck-02");
    assert_eq!((quiet["fixes"].as_u64(), quiet["alerts"]["gnss_lost"].as_u64()), (Some(0), Some(1)));
    assert_eq!((&quiet["first_fix"], &quiet["longest_stop"]), (&Value::Null, &Value::Null));

    // The next day holds the rest of the drive.
    let second = day_text(w.midnight + Duration::days(1));
    let report = w.report(&format!("day={second}&vehicle=truck-01"), &w.admin).await;
    assert_eq!(vehicles(&report), ["truck-01"]);
    let truck = row(&report, "truck-01");
    assert_eq!(truck["fixes"], 300);
    assert_eq!(truck["first_fix"], format_time(&(w.midnight + Duration::days(1))));
    assert_eq!((truck["stops"].as_u64(), truck["gaps"].as_u64()), (Some(0), Some(0)));
    assert_eq!(truck["alerts"]["signal_lost"], 1);

    // A day with nothing is an empty report.
    let empty = w.report(&format!("day={}", day_text(w.midnight - Duration::days(1))), &w.admin).await;
    assert_eq!(vehicles(&empty), Vec::<&str>::new());

    // Each report is in the audit log with its day and vehicle.
    let audits = w.daily_audits().await;
    assert_eq!(audits.len(), 3);
    assert_eq!(audits[0].actor.as_deref(), Some(ADMIN_USER));
    let detail = |n: usize| serde_json::from_str::<Value>(&audits[n].detail).unwrap();
    assert_eq!((audits[0].target.as_str(), &detail(0)["day"]), ("*", &Value::from(first.as_str())));
    assert_eq!((audits[1].target.as_str(), &detail(1)["vehicle"]), ("truck-01", &Value::from("truck-01")));
    w.server.stop().await;
}

#[tokio::test]
async fn a_day_in_shanghai_starts_at_16_00_utc_the_day_before() {
    let w = World::start().await;
    // Ten minutes before 16:00 UTC (23:50 in Shanghai) and ten after (00:00 to 00:10 there).
    let mut track = run(w.at(15, 50), 600, 0.0, 10.0);
    track.extend(run(w.at(16, 0), 600, 6000.0, 10.0));
    store_fixes(&w.server, "truck-01", track).await;
    w.open("a-1", "truck-01", AlertKind::Overspeed, w.at(15, 55)).await;
    w.open("a-2", "truck-01", AlertKind::OffRoute, w.at(16, 5)).await;

    let shanghai_day = day_text(w.midnight + Duration::days(1));
    let report = w.report(&format!("day={shanghai_day}&time_zone=Asia%2FShanghai"), &w.admin).await;
    assert_eq!(
        (report["day"].as_str(), report["time_zone"].as_str()),
        (Some(&*shanghai_day), Some("Asia/Shanghai"))
    );
    assert_eq!(report["from"], format_time(&w.at(16, 0)), "Shanghai's midnight is 16:00 UTC the day before");
    assert_eq!(report["to"], format_time(&(w.at(16, 0) + Duration::days(1))));
    let truck = row(&report, "truck-01");
    assert_eq!(truck["fixes"], 600, "only the fixes from 16:00 UTC on: {truck}");
    assert_eq!(truck["first_fix"], format_time(&w.at(16, 0)), "times stay UTC");
    assert_eq!(
        (truck["alerts"]["off_route"].as_u64(), truck["alerts"]["overspeed"].as_u64()),
        (Some(1), Some(0))
    );

    // The same date as a UTC day holds all twenty minutes.
    let utc = w.report(&format!("day={}", day_text(w.midnight)), &w.admin).await;
    assert_eq!(
        (utc["time_zone"].as_str(), row(&utc, "truck-01")["fixes"].as_u64()),
        (Some("UTC"), Some(1200))
    );
    let audits = w.daily_audits().await;
    let detail = serde_json::from_str::<Value>(&audits[0].detail).unwrap();
    assert_eq!(detail["time_zone"], "Asia/Shanghai");
    w.server.stop().await;
}

#[tokio::test]
async fn the_csv_holds_the_json_rows_as_a_download() {
    let w = World::start().await;
    w.drive_across_midnight().await;
    w.open("a-1", "truck-01", AlertKind::Overspeed, w.at(23, 31)).await;
    let first = day_text(w.midnight);
    let json = w.report(&format!("day={first}"), &w.admin).await;

    let response = reqwest::Client::new()
        .get(w.server.url(&format!("/api/v1/reports/daily?day={first}&format=csv")))
        .bearer_auth(&w.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let header = |name: &str| response.headers()[name].to_str().unwrap().to_string();
    assert!(header("content-type").starts_with("text/csv"), "{}", header("content-type"));
    assert_eq!(header("content-disposition"), format!("attachment; filename=\"daily-{first}.csv\""));
    let text = response.text().await.unwrap();
    let lines: Vec<Vec<&str>> = text.lines().map(|line| line.split(',').collect()).collect();
    assert_eq!(lines.len(), 2, "a header and truck-01's row: {text}");
    let (names, cells) = (&lines[0], &lines[1]);
    assert_eq!(names.len(), cells.len());
    let cell = |name: &str| cells[names.iter().position(|n| *n == name).unwrap_or_else(|| panic!("{name}"))];
    let truck = row(&json, "truck-01");
    assert_eq!(cell("day"), first);
    assert_eq!(cell("vehicle"), "truck-01");
    assert_eq!(cell("first_fix"), truck["first_fix"].as_str().unwrap());
    assert_eq!(cell("fixes"), truck["fixes"].to_string());
    assert_eq!(cell("distance_km"), format!("{:.3}", truck["distance_m"].as_f64().unwrap() / 1000.0));
    assert_eq!(cell("stopped_s").parse::<f64>().unwrap(), truck["stopped_s"].as_f64().unwrap());
    assert_eq!(cell("coverage").parse::<f64>().unwrap(), truck["coverage"].as_f64().unwrap());
    assert_eq!(cell("alerts_overspeed"), "1");
    // A negative longitude is a number, not a formula: written as it is.
    assert!(cell("longest_stop_lon").starts_with("-0.0"), "{}", cell("longest_stop_lon"));
    let audits = w.daily_audits().await;
    let detail = serde_json::from_str::<Value>(&audits.last().unwrap().detail).unwrap();
    assert_eq!(detail["format"], "csv");
    w.server.stop().await;
}

#[tokio::test]
async fn an_auditors_day_ends_at_the_auditor_delay() {
    let w = World::start().await;
    let now = Utc::now().trunc_subsecs(0);
    // A minute of fixes 30 minutes ago (too recent for an auditor), and one 3 hours ago.
    let recent = now - Duration::minutes(30);
    let older = now - Duration::hours(3);
    let mut track = run(older, 60, 0.0, 10.0);
    track.extend(run(recent, 60, 5000.0, 10.0));
    store_fixes(&w.server, "truck-01", track).await;
    let day = day_text(recent);
    // The older minute counts when it fell on the same UTC day (not just after midnight).
    let older_same_day = if day_text(older) == day { 60 } else { 0 };

    let admin = w.report(&format!("day={day}"), &w.admin).await;
    assert_eq!(row(&admin, "truck-01")["fixes"], 60 + older_same_day);
    assert_eq!(admin["partial"], day == day_text(Utc::now()), "today is not over");

    let auditor = w.report(&format!("day={day}"), &w.auditor).await;
    let to = DateTime::parse_from_rfc3339(auditor["to"].as_str().unwrap()).unwrap();
    assert!(to <= Utc::now() - Duration::minutes(60), "{auditor}");
    assert_eq!(auditor["partial"], true);
    if older_same_day > 0 {
        assert_eq!(row(&auditor, "truck-01")["fixes"], older_same_day, "{auditor}");
    } else {
        assert_eq!(vehicles(&auditor), Vec::<&str>::new(), "{auditor}");
    }
    w.server.stop().await;
}

#[tokio::test]
async fn bad_requests_are_refused_with_a_reason_counted_and_change_nothing() {
    let w = World::start().await;
    let today = day_text(Utc::now());
    let tomorrow = day_text(Utc::now() + Duration::days(1));
    let cases: Vec<(String, u16, &str)> = vec![
        (String::new(), 400, "bad_day"),
        ("day=yesterday".into(), 400, "bad_day"),
        ("day=2026-13-01".into(), 400, "bad_day"),
        ("day=2026-12-1".into(), 400, "bad_day"),
        (format!("day={tomorrow}"), 400, "future_day"),
        ("day=9999-12-31".into(), 400, "future_day"),
        (format!("day={today}&vehicle=no%20such%20id!"), 400, "bad_vehicle"),
        (format!("day={today}&vehicle=truck-99"), 404, "unknown_vehicle"),
        (format!("day={today}&format=xlsx"), 400, "bad_format"),
        (format!("day={today}&time_zone=Mars%2FOlympus_Mons"), 400, "unknown_time_zone"),
    ];
    for (query, status, reason) in &cases {
        let (got, body) = w.server.get_json(&format!("/api/v1/reports/daily?{query}"), &w.admin).await;
        assert_eq!((got, body["reason"].as_str()), (*status, Some(*reason)), "{query}: {body}");
        assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()), "{query}: {body}");
    }
    let metrics = w.server.metrics().await;
    for (reason, count) in [
        ("bad_day", 4.0),
        ("future_day", 2.0),
        ("bad_vehicle", 1.0),
        ("unknown_vehicle", 1.0),
        ("bad_format", 1.0),
        ("unknown_time_zone", 1.0),
    ] {
        let sample = format!("convoy_gateway_daily_reports_refused_total{{reason=\"{reason}\"}}");
        assert_eq!(metric(&metrics, &sample), Some(count), "{sample}");
    }
    assert_eq!(w.daily_audits().await.len(), 0, "a refusal is no look at the data");
    // An escort may not read reports.
    let escort = w.server.login(ESCORT_USER, ESCORT_PASSWORD).await;
    let (status, _) = w.server.get_json(&format!("/api/v1/reports/daily?day={today}"), &escort).await;
    assert_eq!(status, 403);
    w.server.stop().await;
}
