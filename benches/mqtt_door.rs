//! What the embedded broker's front door costs: one connection's QoS 1 publishes straight to
//! rumqttd (as the server's account, on its internal port) against the same through the door
//! (as a vehicle), in alternating rounds; then how fast the door logs in a fleet that
//! reconnects at once (each login is an argon2 check).
//!
//! Real parts: the whole server in this process with the embedded broker and SQLite. The
//! messages go to `convoy/v1/vehicles/{id}/bench`, which ingest does not read, so only the
//! broker's path is measured.
//!
//!   cargo bench --bench mqtt_door -- [MESSAGES] [ROUNDS] [VEHICLES]     (default 100000 5 200)

use std::net::SocketAddr;
use std::time::Instant;

use convoy::config::{BrokerChoice, ServerConfig};
use convoy_core::VehicleId;
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, QoS};

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let messages: usize = args.first().map_or(Ok(100_000), |a| a.parse())?;
    let rounds: usize = args.get(1).map_or(Ok(5), |a| a.parse())?;
    let vehicles: usize = args.get(2).map_or(Ok(200), |a| a.parse())?;

    let dir = tempfile::tempdir()?;
    let listen: SocketAddr = format!("127.0.0.1:{}", convoy_testkit::free_port()).parse()?;
    let config = ServerConfig::new(
        dir.path().to_path_buf(),
        format!("sqlite://{}", dir.path().join("convoy.db").display()),
        BrokerChoice::Embedded { listen },
        "127.0.0.1:0".parse()?,
    );
    let (shutdown, shutdown_rx) = tokio::sync::watch::channel(false);
    let server = convoy::server::start(&config, shutdown_rx).await?;
    let (internal, account) = server.internal_mqtt.clone().expect("the embedded broker");
    let bench = VehicleId::new("bench-0")?;
    let password = convoy_gateway::auth::register_vehicle(&server.store, &bench).await?;

    println!("one connection, {messages} QoS 1 publishes of 200 bytes, 100 in flight:");
    for round in 1..=rounds {
        let direct = publish_rate(
            internal,
            &format!("bench-direct-{round}"),
            &account.username,
            &account.password,
            messages,
        )
        .await?;
        let door = publish_rate(listen, "convoy-agent-bench-0", "bench-0", &password, messages).await?;
        println!(
            "  round {round}: rumqttd directly {direct:>9.0}/s   through the door {door:>9.0}/s   ({:.0} %)",
            100.0 * door / direct
        );
    }

    let mut fleet = Vec::new();
    for n in 0..vehicles {
        let id = VehicleId::new(format!("fleet-{n:05}"))?;
        let password = convoy_gateway::auth::register_vehicle(&server.store, &id).await?;
        fleet.push((id, password));
    }
    let started = Instant::now();
    let logins = fleet.into_iter().map(|(id, password)| async move {
        let (_client, mut eventloop) = client(listen, &format!("convoy-agent-{id}"), id.as_str(), &password);
        connack(&mut eventloop).await
    });
    for result in futures_util::future::join_all(logins).await {
        result?;
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{vehicles} vehicles connecting at once: all logged in after {seconds:.2} s ({:.0} logins/s)",
        vehicles as f64 / seconds
    );

    let _ = shutdown.send(true);
    server.wait().await
}

fn client(addr: SocketAddr, client_id: &str, user: &str, password: &str) -> (AsyncClient, EventLoop) {
    let mut options = MqttOptions::new(client_id, addr.ip().to_string(), addr.port());
    options.set_credentials(user, password);
    options.set_inflight(100);
    AsyncClient::new(options, 1000)
}

async fn connack(eventloop: &mut EventLoop) -> anyhow::Result<()> {
    loop {
        if let Event::Incoming(Packet::ConnAck(_)) = eventloop.poll().await? {
            return Ok(());
        }
    }
}

/// Publishes `n` messages as fast as the broker acknowledges them; returns messages a second.
async fn publish_rate(
    addr: SocketAddr,
    client_id: &str,
    user: &str,
    password: &str,
    n: usize,
) -> anyhow::Result<f64> {
    let (client, mut eventloop) = client(addr, client_id, user, password);
    connack(&mut eventloop).await?;
    let topic = format!("convoy/v1/vehicles/{user}/bench");
    let started = Instant::now();
    let sender = tokio::spawn(async move {
        let payload = vec![b'x'; 200];
        for _ in 0..n {
            client.publish(topic.clone(), QoS::AtLeastOnce, false, payload.clone()).await?;
        }
        anyhow::Ok(client)
    });
    let mut acknowledged = 0;
    while acknowledged < n {
        if let Event::Incoming(Packet::PubAck(_)) = eventloop.poll().await? {
            acknowledged += 1;
        }
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    sender.await??;
    Ok(rate)
}
