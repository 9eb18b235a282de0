//! The MQTT notifier against Mosquitto.

use super::*;

fn mqtt(name: &str, port: u16, max_attempts: u32) -> NotifierConfig {
    NotifierConfig::Mqtt {
        name: name.to_string(),
        host: "127.0.0.1".to_string(),
        port,
        topic_prefix: "external/convoy/alerts".to_string(),
        client_id: format!("convoy-notifier-{}", std::process::id()),
        username: None,
        password: None,
        ca_file: None,
        client_cert_file: None,
        client_key_file: None,
        timeout_ms: 1_000,
        max_attempts,
        first_backoff_ms: 200,
    }
}

/// A subscriber to the alerts on the broker's plain listener on `port`: what it receives.
pub(super) async fn subscriber(port: u16) -> mpsc::UnboundedReceiver<rumqttc::Publish> {
    let mut options = rumqttc::MqttOptions::new("test-subscriber", "127.0.0.1", port);
    options.set_keep_alive(Duration::from_secs(10));
    let (client, mut eventloop) = rumqttc::AsyncClient::new(options, 10);
    client.subscribe("external/convoy/alerts/#", rumqttc::QoS::AtLeastOnce).await.unwrap();
    let (publishes_tx, publishes) = mpsc::unbounded_channel();
    let (subscribed_tx, mut subscribed) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let _client = client; // the subscription lives as long as this task
        loop {
            match eventloop.poll().await {
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::SubAck(_))) => {
                    let _ = subscribed_tx.send(());
                }
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(publish))) => {
                    let _ = publishes_tx.send(publish);
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(5), subscribed.recv()).await.expect("no SUBACK");
    publishes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_publishes_the_json_at_qos_1_on_the_vehicle_topic() {
    let broker = convoy_testkit::Mosquitto::start();
    let mut publishes = subscriber(broker.port).await;

    let (tx, mut log) = Log::new();
    let notifiers = Notifiers::start(vec![mqtt("external", broker.port, 6)], tx, never_shut_down()).unwrap();
    let alert = message("q1", AlertState::Open);
    notifiers.notify(&alert);

    let publish = tokio::time::timeout(Duration::from_secs(10), publishes.recv())
        .await
        .expect("nothing published")
        .unwrap();
    assert_eq!(publish.topic, "external/convoy/alerts/truck-07");
    assert_eq!(publish.qos, rumqttc::QoS::AtLeastOnce);
    assert_eq!(publish.payload.as_ref(), serde_json::to_vec(&alert).unwrap().as_slice());
    let delivery = log.from("external", Duration::from_secs(5)).await;
    assert!(delivery.ok, "{delivery:?}");
    assert!(delivery.detail.contains("PUBACK"), "{}", delivery.detail);

    let mut late = message("q2", AlertState::Resolved);
    late.late = true;
    notifiers.notify(&late);
    assert!(
        tokio::time::timeout(Duration::from_millis(500), publishes.recv()).await.is_err(),
        "a late alert was published"
    );
    let counts = counts_of(&notifiers, "external");
    assert_eq!((counts.sent, counts.skipped_late), (1, 1));
    notifiers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_retries_until_the_broker_is_up() {
    let port = convoy_testkit::free_port();
    let (tx, mut log) = Log::new();
    let notifiers = Notifiers::start(vec![mqtt("external", port, 20)], tx, never_shut_down()).unwrap();
    notifiers.notify(&message("q3", AlertState::Open));
    let failed = log.from("external", Duration::from_secs(5)).await;
    assert_eq!((failed.attempt, failed.ok), (1, false));
    assert!(failed.detail.contains("not connected"), "{}", failed.detail);

    let _broker = convoy_testkit::Mosquitto::start_on(port, &[]);
    let delivered = log.wait_for(Duration::from_secs(30), |d| d.ok).await;
    assert_eq!(delivered.alert_id, "q3");
    assert!(delivered.attempt >= 2);
    let counts = counts_of(&notifiers, "external");
    assert_eq!((counts.sent, counts.failed), (1, 0));
    notifiers.stop().await;
}
