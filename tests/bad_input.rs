//! Bad input at the edges of the server: a malformed payload, a vehicle that is not
//! registered, a vehicle posing as another, a wrong MQTT password, bad HTTP requests. Each gets
//! a clear refusal and a counter, changes nothing, and the server goes on.

mod common;

use std::time::Duration;

use common::*;
use convoy_core::VehicleId;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

/// Connects as a vehicle; returns the client once the broker accepted the login, or the error.
async fn connect(
    server: &TestServer,
    client_id: &str,
    user: &str,
    password: &str,
) -> Result<AsyncClient, String> {
    let mut options = MqttOptions::new(client_id, "127.0.0.1", server.mqtt.port());
    options.set_credentials(user, password);
    let (client, mut eventloop) = AsyncClient::new(options, 10);
    let first = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(ack))) => return Ok(ack),
                Ok(_) => continue,
                Err(e) => return Err(e.to_string()),
            }
        }
    })
    .await
    .map_err(|_| "no answer from the broker".to_string())?;
    first?;
    tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
    Ok(client)
}

async fn registered_vehicle(server: &TestServer, id: &str) -> (VehicleId, String) {
    let vehicle = VehicleId::new(id).unwrap();
    let password = convoy_registry::register_vehicle(&server.store, &vehicle).await.unwrap();
    (vehicle, password)
}

async fn rejected(server: &TestServer, reason: &str) -> f64 {
    metric(&server.metrics().await, &format!("convoy_ingest_rejected_total{{reason=\"{reason}\"}}")).unwrap()
}

async fn malformed_payloads_are_dead_lettered_and_counted(broker: BrokerKind) {
    let server = TestServer::start(Backend::Sqlite, broker).await;
    let (vehicle, password) = registered_vehicle(&server, "truck-07").await;
    let client = connect(&server, "convoy-agent-truck-07", vehicle.as_str(), &password).await.unwrap();
    let topic = "convoy/v1/vehicles/truck-07/positions";
    let garbage = vec![0xff, 0x00, b'{', b'"'];
    client.publish(topic, QoS::AtLeastOnce, false, garbage.clone()).await.unwrap();
    let far_north = r#"{"v":1,"vehicle":"truck-07","positions":[{"seq":1,"t":"2026-01-01T00:00:00Z","lat":91.0,"lon":2.0}]}"#;
    client.publish(topic, QoS::AtLeastOnce, false, far_north).await.unwrap();
    // A good message after the bad ones still gets through: ingest goes on.
    let good = r#"{"v":1,"vehicle":"truck-07","positions":[{"seq":2,"t":"2026-01-01T00:00:01Z","lat":48.1,"lon":11.5}]}"#;
    client.publish(topic, QoS::AtLeastOnce, false, good).await.unwrap();

    let letters = eventually(Duration::from_secs(10), "two dead letters", || async {
        let letters = server.store.dead_letters(10).await.unwrap();
        (letters.len() == 2).then_some(letters)
    })
    .await;
    // Newest first.
    assert_eq!(letters[0].reason, "latitude_out_of_range");
    assert_eq!(letters[0].payload, far_north.as_bytes());
    assert!(letters[0].detail.contains("latitude 91"), "{}", letters[0].detail);
    assert_eq!(letters[1].reason, "malformed");
    assert_eq!(letters[1].payload, garbage);
    assert_eq!(letters[1].topic, topic);
    assert_eq!(rejected(&server, "malformed").await, 1.0);
    assert_eq!(rejected(&server, "latitude_out_of_range").await, 1.0);

    let track = eventually(Duration::from_secs(10), "the good position", || async {
        let t0 = chrono::DateTime::parse_from_rfc3339("2025-12-31T00:00:00Z").unwrap().to_utc();
        let track = server.store.track(&vehicle, t0, t0 + chrono::Duration::days(3)).await.unwrap();
        (!track.is_empty()).then_some(track)
    })
    .await;
    assert_eq!(
        track.iter().map(|p| p.seq).collect::<Vec<_>>(),
        vec![2],
        "nothing of the bad messages was stored"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn malformed_payloads_are_dead_lettered_and_counted_on_the_embedded_broker() {
    malformed_payloads_are_dead_lettered_and_counted(BrokerKind::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn malformed_payloads_are_dead_lettered_and_counted_on_mosquitto() {
    malformed_payloads_are_dead_lettered_and_counted(BrokerKind::Mosquitto).await;
}

/// A vehicle posing as another in its payload, and one publishing as an unregistered vehicle.
/// Mosquitto (with no ACL here) delivers both and ingest dead-letters them; the embedded
/// broker's front door already refuses the second, a publish outside the vehicle's own topics.
async fn positions_of_unregistered_or_impersonated_vehicles_are_not_stored(broker: BrokerKind) {
    let server = TestServer::start(Backend::Sqlite, broker).await;
    let (_, password) = registered_vehicle(&server, "truck-07").await;
    let (escort, _) = registered_vehicle(&server, "escort-1").await;
    let client = connect(&server, "convoy-agent-truck-07", "truck-07", &password).await.unwrap();
    // On its own topic, a payload claiming to be another vehicle.
    let posing = r#"{"v":1,"vehicle":"escort-1","positions":[{"seq":1,"t":"2026-01-01T00:00:00Z","lat":48.1,"lon":11.5}]}"#;
    client.publish("convoy/v1/vehicles/truck-07/positions", QoS::AtLeastOnce, false, posing).await.unwrap();
    // A vehicle nobody registered.
    let ghost = r#"{"v":1,"vehicle":"ghost-9","positions":[{"seq":1,"t":"2026-01-01T00:00:00Z","lat":48.1,"lon":11.5}]}"#;
    client.publish("convoy/v1/vehicles/ghost-9/positions", QoS::AtLeastOnce, false, ghost).await.unwrap();

    let expected = match broker {
        BrokerKind::Mosquitto => vec!["unknown_vehicle", "vehicle_mismatch"],
        BrokerKind::Embedded => vec!["vehicle_mismatch"],
    };
    let letters = eventually(Duration::from_secs(10), "the dead letters", || async {
        let letters = server.store.dead_letters(10).await.unwrap();
        (letters.len() == expected.len()).then_some(letters)
    })
    .await;
    let reasons: Vec<_> = letters.iter().map(|l| l.reason.as_str()).collect();
    assert_eq!(reasons, expected);
    assert_eq!(rejected(&server, "vehicle_mismatch").await, 1.0);
    if let BrokerKind::Embedded = broker {
        let refused = r#"convoy_gateway_mqtt_refused_total{reason="foreign_topic"}"#;
        assert_eq!(metric(&server.metrics().await, refused), Some(1.0));
        assert_eq!(rejected(&server, "unknown_vehicle").await, 0.0, "the ghost never reached ingest");
    } else {
        assert_eq!(rejected(&server, "unknown_vehicle").await, 1.0);
    }
    assert!(server.store.latest_positions().await.unwrap().is_empty());
    let t0 = chrono::DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z").unwrap().to_utc();
    let escort_track = server.store.track(&escort, t0, t0 + chrono::Duration::days(800)).await.unwrap();
    assert!(escort_track.is_empty(), "nothing was stored as the impersonated escort");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn positions_of_unregistered_or_impersonated_vehicles_are_not_stored_on_the_embedded_broker() {
    positions_of_unregistered_or_impersonated_vehicles_are_not_stored(BrokerKind::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn positions_of_unregistered_or_impersonated_vehicles_are_not_stored_on_mosquitto() {
    positions_of_unregistered_or_impersonated_vehicles_are_not_stored(BrokerKind::Mosquitto).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_embedded_broker_refuses_wrong_credentials_and_counts_them() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let (_, password) = registered_vehicle(&server, "truck-07").await;
    let (_, escort_password) = registered_vehicle(&server, "escort-1").await;

    assert!(connect(&server, "convoy-agent-truck-07", "truck-07", "not-the-password").await.is_err());
    assert!(connect(&server, "convoy-agent-ghost", "ghost", &password).await.is_err(), "unknown vehicle");
    assert!(
        connect(&server, "convoy-agent-escort-1", "truck-07", &password).await.is_err(),
        "a vehicle may not take another vehicle's session"
    );
    assert!(connect(&server, "convoy-agent-truck-07", "truck-07", &escort_password).await.is_err());
    let failures = metric(&server.metrics().await, "convoy_gateway_mqtt_auth_failures_total").unwrap();
    assert_eq!(failures, 4.0);
    // The right credentials still work afterwards.
    assert!(connect(&server, "convoy-agent-truck-07", "truck-07", &password).await.is_ok());
    server.stop().await;
}
