//! `GET /api/v1/vehicles/{id}/track`: stored fixes in fix-time order with their marks, a time
//! range, simplification for display, and clear errors — on both backends.

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::*;
use convoy_core::{Position, VehicleId};
use convoy_store::{IngestWrite, VehiclePositions};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 9, 0, 0).unwrap()
}

/// Eastward along a parallel at 10 m/s, one fix a second.
fn fix(seq: u64) -> Position {
    Position {
        seq,
        t: t0() + Duration::seconds(seq as i64),
        lat: 48.0,
        lon: 11.0 + seq as f64 * 0.000134,
        alt_m: None,
        speed_mps: Some(10.0),
        course_deg: None,
        fix: None,
        sats: None,
        hdop: None,
        accuracy_m: None,
    }
}

async fn track_is_served_in_order_with_marks(backend: Backend) {
    let server = TestServer::start(backend, BrokerKind::Embedded).await;
    let vehicle = VehicleId::new("truck-07").unwrap();
    convoy_registry::register_vehicle(&server.store, &vehicle).await.unwrap();
    let write = |positions: Vec<Position>| IngestWrite {
        positions: vec![VehiclePositions { vehicle: vehicle.clone(), positions, source: None, chain: None }],
        ..Default::default()
    };
    // Live fixes 100..=199, then a backlog 0..=99 arriving late.
    server.store.write_ingest(&write((100..200).map(fix).collect())).await.unwrap();
    server.store.write_ingest(&write((0..100).map(fix).collect())).await.unwrap();
    let token = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let range = |from: DateTime<Utc>, to: DateTime<Utc>| {
        format!("from={}&to={}", from.to_rfc3339().replace('+', "%2B"), to.to_rfc3339().replace('+', "%2B"))
    };
    let whole = range(t0(), t0() + Duration::hours(1));

    let (status, body) = server.get_json(&format!("/api/v1/vehicles/truck-07/track?{whole}"), &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["vehicle"], "truck-07");
    let positions = body["positions"].as_array().unwrap();
    let seqs: Vec<u64> = positions.iter().map(|p| p["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (0..200).collect::<Vec<_>>(), "fix-time order");
    assert_eq!(positions[0]["late"], true);
    assert_eq!(positions[150].get("late"), None, "unmarked fixes are exactly as on the wire");
    assert_eq!(positions[150]["t"], "2026-11-28T09:02:30.000Z");

    let part = range(t0() + Duration::seconds(10), t0() + Duration::seconds(20));
    let (_, body) = server.get_json(&format!("/api/v1/vehicles/truck-07/track?{part}"), &token).await;
    assert_eq!(body["positions"].as_array().unwrap().len(), 10, "[from, to)");

    // A straight drive simplifies to its two ends.
    let (status, body) =
        server.get_json(&format!("/api/v1/vehicles/truck-07/track?{whole}&simplify_m=5"), &token).await;
    assert_eq!(status, 200, "{body}");
    let kept: Vec<u64> =
        body["positions"].as_array().unwrap().iter().map(|p| p["seq"].as_u64().unwrap()).collect();
    assert_eq!(kept, vec![0, 199]);

    for (query, status) in [
        (format!("/api/v1/vehicles/nobody/track?{whole}"), 404),
        (format!("/api/v1/vehicles/truck-07/track?{}", range(t0(), t0())), 400),
        (format!("/api/v1/vehicles/truck-07/track?{}", range(t0(), t0() - Duration::seconds(1))), 400),
        (format!("/api/v1/vehicles/truck-07/track?{}", range(t0(), t0() + Duration::days(365))), 400),
        ("/api/v1/vehicles/truck-07/track?from=yesterday".to_string(), 400),
        ("/api/v1/vehicles/truck-07/track?to=-262143-01-01T00:00:00Z".to_string(), 400),
        (format!("/api/v1/vehicles/truck-07/track?{whole}&simplify_m=-1"), 400),
        (format!("/api/v1/vehicles/truck-07/track?{whole}&format=shp"), 400),
        ("/api/v1/vehicles/bad%20id/track".to_string(), 400),
    ] {
        let (got, body) = server.get_json(&query, &token).await;
        assert_eq!(got, status, "{query}: {body}");
        assert!(body["error"].is_string(), "{query}: {body}");
    }
    let anonymous =
        reqwest::get(server.url(&format!("/api/v1/vehicles/truck-07/track?{whole}"))).await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_track_is_served_in_fix_time_order_with_its_marks_from_sqlite() {
    track_is_served_in_order_with_marks(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_track_is_served_in_fix_time_order_with_its_marks_from_postgres() {
    track_is_served_in_order_with_marks(Backend::Postgres).await;
}
