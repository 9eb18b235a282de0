//! The whole path with real parts: a receiver log written into a pseudo-terminal, the real
//! agent reading it as a serial port, a real broker (embedded rumqttd or Mosquitto), ingest, a
//! real database (SQLite or PostgreSQL), and the HTTP API.

mod common;

use std::time::Duration;

use chrono::Duration as TimeSpan;
use common::*;
use convoy_core::VehicleId;

/// Pushes a gpsd regression log through the whole path and checks the stored track against
/// gpsd's own decoding of the same log.
async fn receiver_log_reaches_the_api(backend: Backend, broker: BrokerKind) {
    let server = TestServer::start(backend, broker).await;
    let vehicle = VehicleId::new("truck-07").unwrap();
    let password = convoy_registry::register_vehicle(&server.store, &vehicle).await.unwrap();
    let expected = gpsd_fixes(&data_path("nmea/gpsd/haicom-305N.log.chk"));
    assert!(expected.len() > 50, "the oracle has {} fixes", expected.len());

    let agent = TestAgent::start(&vehicle, &password, server.mqtt);
    agent.feed(std::fs::read(data_path("nmea/gpsd/haicom-305N.log")).unwrap());

    let token = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let last = expected.last().unwrap().clone();
    let last_t = last.t.expect("gpsd gives the last fix a time");
    let latest = eventually(Duration::from_secs(30), "the last fix on GET /api/v1/vehicles", || async {
        let (status, body) = server.get_json("/api/v1/vehicles", &token).await;
        assert_eq!(status, 200, "{body}");
        let position = body["vehicles"][0]["position"].clone();
        (position["t"] == convoy_core::position::format_time(&last_t)).then_some(position)
    })
    .await;
    assert_eq!(latest["seq"], expected.len() as u64, "one seq per fix, starting at 1");
    assert!((latest["lat"].as_f64().unwrap() - last.lat).abs() < 1e-6);
    assert!((latest["lon"].as_f64().unwrap() - last.lon).abs() < 1e-6);

    let from = last_t - TimeSpan::days(1);
    let track = server.store.track(&vehicle, from, last_t + TimeSpan::hours(1)).await.unwrap();
    assert_eq!(track.len(), expected.len(), "every fix gpsd reports, and no other");
    for (stored, oracle) in track.iter().zip(&expected) {
        if let Some(t) = oracle.t {
            assert_eq!(stored.t, t);
        }
        assert!(
            (stored.lat - oracle.lat).abs() < 1e-6 && (stored.lon - oracle.lon).abs() < 1e-6,
            "{stored:?} vs {oracle:?}"
        );
    }
    assert_eq!(
        track.iter().map(|p| p.seq).collect::<Vec<_>>(),
        (1..=expected.len() as u64).collect::<Vec<_>>()
    );

    agent.stop().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_receiver_log_reaches_the_api_through_the_embedded_broker_and_sqlite() {
    receiver_log_reaches_the_api(Backend::Sqlite, BrokerKind::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_receiver_log_reaches_the_api_through_the_embedded_broker_and_postgres() {
    receiver_log_reaches_the_api(Backend::Postgres, BrokerKind::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_receiver_log_reaches_the_api_through_mosquitto_and_postgres() {
    receiver_log_reaches_the_api(Backend::Postgres, BrokerKind::Mosquitto).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_receiver_log_reaches_the_api_through_mosquitto_and_sqlite() {
    receiver_log_reaches_the_api(Backend::Sqlite, BrokerKind::Mosquitto).await;
}
