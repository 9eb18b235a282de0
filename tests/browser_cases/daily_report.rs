//! The daily report on the page.

use crate::*;
use convoy_core::alert::AlertKind;
use convoy_store::{AlertRecord, AuditFilter, IngestWrite, VehiclePositions};

/// Metres a degree of longitude at 48°N (WGS 84).
const M_PER_DEGREE: f64 = 74_626.0;

/// `seconds` fixes a second from `from` at 48°N, starting `east_m` east of 11°E and moving
/// east at `speed_mps` (0: standing).
fn run(from: DateTime<Utc>, seconds: i64, east_m: f64, speed_mps: f64) -> Vec<Position> {
    (0..seconds)
        .map(|s| {
            let t = from + TimeSpan::seconds(s);
            Position {
                seq: t.timestamp() as u64,
                t,
                lat: 48.0,
                lon: 11.0 + (east_m + speed_mps * s as f64) / M_PER_DEGREE,
                alt_m: None,
                speed_mps: Some(speed_mps),
                course_deg: None,
                fix: Some(FixMode::ThreeD),
                sats: None,
                hdop: None,
                accuracy_m: None,
            }
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

/// An admin reads the daily report in the page (#/daily): it opens on yesterday (UTC) with the
/// two vehicles that drove; a chosen day and vehicle show its row (21.0 km, a 30-minute stop,
/// a gap, coverage, alerts by kind); an unknown vehicle shows the server's reason; "Download
/// CSV" saves the day's rows. Each look is in the audit log.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_admin_reads_and_downloads_the_daily_report_in_chromium() {
    let shots = screenshots_dir("daily");
    let work = tempfile::tempdir().unwrap();
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    for vehicle in ["truck-01", "truck-02"] {
        register_vehicle(&server, vehicle).await;
    }
    // Yesterday (UTC): both trucks drive 10 minutes from noon, at 10 and at 5 m/s.
    let yesterday = (Utc::now() - TimeSpan::days(1)).with_time(chrono::NaiveTime::MIN).unwrap();
    store_fixes(&server, "truck-01", run(yesterday + TimeSpan::hours(12), 600, 0.0, 10.0)).await;
    store_fixes(&server, "truck-02", run(yesterday + TimeSpan::hours(12), 600, 0.0, 5.0)).await;
    // Three days ago truck-01 drives 20 minutes at 10 m/s from 08:00, halts 30 minutes, drives
    // 5 minutes, sends nothing for 5 minutes (3 km on), then drives 5 more: 21 km.
    let chosen = yesterday - TimeSpan::days(2);
    let at = |minutes: i64| chosen + TimeSpan::hours(8) + TimeSpan::minutes(minutes);
    let mut track = run(at(0), 1200, 0.0, 10.0);
    track.extend(run(at(20), 1800, 12_000.0, 0.0));
    track.extend(run(at(50), 300, 12_000.0, 10.0));
    track.extend(run(at(60), 300, 17_990.0, 10.0));
    store_fixes(&server, "truck-01", track).await;
    for (id, kind, minute) in [
        ("d-1", AlertKind::Overspeed, 5),
        ("d-2", AlertKind::Overspeed, 52),
        ("d-3", AlertKind::OffRoute, 61),
    ] {
        let alert = AlertRecord { kind, ..opened_alert(id, "m-daily", "truck-01", at(minute)) };
        assert!(server.store.open_alert(&alert).await.unwrap());
    }
    let chosen_day = chosen.format("%Y-%m-%d").to_string();
    let yesterday_day = yesterday.format("%Y-%m-%d").to_string();

    let config = json!({
        "base": server.url("/"),
        "admin": { "user": ADMIN_USER, "password": ADMIN_PASSWORD },
        "day": chosen_day,
        "vehicle": "truck-01",
    });
    let mut browser = BrowserScript::start("daily.mjs", config, work.path(), &shots);
    let report = tokio::time::timeout(Duration::from_secs(300), async {
        if let Some(what) = browser.next_need().await {
            panic!("daily.mjs needs something unknown: {what}");
        }
        browser.report().await
    })
    .await
    .expect("the browser session finishes within 5 minutes");
    let steps = &report["steps"];

    let open = &steps["open"];
    assert!(open["nav"].as_array().unwrap().iter().any(|item| item == "Daily report"), "{open}");
    assert_eq!(open["hash"], "#/daily");
    assert_eq!(open["day"], yesterday_day.as_str(), "yesterday, UTC");
    assert_eq!(open["span"], format!("{yesterday_day}, 00:00 to 24:00 UTC"));
    assert_eq!(
        open["headers"],
        json!(["Vehicle", "km", "Moving", "Stopped", "Stops", "Longest stop", "Gaps", "Coverage", "Alerts"])
    );
    assert_eq!(
        open["rows"],
        json!([
            ["truck-01", "6.0", "0:10", "0:00", "0", "—", "0", "0.7 %", "—"],
            ["truck-02", "3.0", "0:10", "0:00", "0", "—", "0", "0.7 %", "—"],
        ]),
        "{open}"
    );

    let chosen_view = &steps["choose"];
    assert_eq!(chosen_view["span"], format!("{chosen_day}, 00:00 to 24:00 UTC"));
    // Covered 3598 s: 1799 s moving, the 1799 s stop; 3598 s of 86,400 is 4.2 %.
    assert_eq!(
        chosen_view["rows"],
        json!([["truck-01", "21.0", "0:30", "0:30", "1", "0:30", "1", "4.2 %", "Off route 1 · Overspeed 2"]]),
        "{chosen_view}"
    );

    let unknown = &steps["unknown"];
    assert!(unknown["message"].as_str().unwrap().contains("no such vehicle"), "{unknown}");

    let download = &steps["download"];
    assert_eq!(download["file_name"], format!("daily-{chosen_day}.csv"));
    let text = download["text"].as_str().unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "a header and truck-01: {text}");
    assert!(lines[0].starts_with("day,from,to,vehicle,first_fix,"), "{text}");
    assert!(lines[1].starts_with(&format!("{chosen_day},")) && lines[1].contains(",truck-01,"), "{text}");

    let filter = AuditFilter { action: Some("report.daily".into()), limit: 100, ..Default::default() };
    let audits = server.store.audit_entries(&filter).await.unwrap();
    assert_eq!(audits.len(), 3, "the two looks and the download; the refusal is none: {audits:?}");
    assert!(audits[2].detail.contains("\"csv\""), "{:?}", audits[2]);
    server.stop().await;
}
