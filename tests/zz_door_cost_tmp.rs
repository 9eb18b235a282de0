//! TEMPORARY measurement of the MQTT door's cost (deleted after use).
mod common;
use std::time::{Duration, Instant};
use common::*;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

async fn run(addr: std::net::SocketAddr, client_id: &str, user: &str, password: &str, n: usize) -> f64 {
    let mut options = MqttOptions::new(client_id, addr.ip().to_string(), addr.port());
    options.set_credentials(user, password);
    options.set_inflight(100);
    let (client, mut eventloop) = AsyncClient::new(options, 1000);
    loop { if let Event::Incoming(Packet::ConnAck(_)) = eventloop.poll().await.unwrap() { break; } }
    let payload = vec![b'x'; 200];
    let start = Instant::now();
    let sender = tokio::spawn(async move {
        for _ in 0..n { client.publish("convoy/v1/vehicles/truck-a/bench", QoS::AtLeastOnce, false, payload.clone()).await.unwrap(); }
        client
    });
    let mut acks = 0;
    while acks < n {
        if let Event::Incoming(Packet::PubAck(_)) = eventloop.poll().await.unwrap() { acks += 1; }
    }
    let _ = sender.await;
    n as f64 / start.elapsed().as_secs_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn door_cost() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let vehicle = convoy_core::VehicleId::new("truck-a").unwrap();
    let password = convoy_gateway::auth::register_vehicle(&server.store, &vehicle).await.unwrap();
    let (internal, account) = server.server.as_ref().unwrap().internal_mqtt.clone().unwrap();
    let n = 100_000;
    for round in 0..3 {
        let direct = run(internal, &format!("bench-direct-{round}"), &account.username, &account.password, n).await;
        let door = run(server.mqtt, "convoy-agent-truck-a", "truck-a", &password, n).await;
        println!("round {round}: direct {direct:.0} msg/s, through the door {door:.0} msg/s ({:.1} %)", 100.0 * door / direct);
    }
    let _ = Duration::from_secs(0);
    server.stop().await;
}
