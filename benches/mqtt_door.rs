//! What the embedded broker's front door costs: one connection's QoS 1 position messages (one
//! fix each) straight to rumqttd (as the server's account, on its internal port), acknowledged
//! by rumqttd on receipt, against the same through the door (as a vehicle), whose PUBACK waits
//! until ingest has committed them, in alternating rounds; then how fast the door logs in a
//! fleet (each login checks the vehicle's salted HMAC in the store and opens a connection to
//! rumqttd).
//!
//! Real parts: the whole server in this process with the embedded broker and SQLite. (Earlier
//! versions also measured 200-byte messages on `convoy/v1/vehicles/{id}/bench`, which ingest
//! does not read: the door now refuses any topic but a vehicle's positions and status.)
//!
//!   cargo bench --bench mqtt_door -- [MESSAGES] [ROUNDS] [VEHICLES]     (default 10000 5 2000)

use std::net::SocketAddr;
use std::time::Instant;

use convoy::config::{BrokerChoice, ServerConfig};
use convoy_core::topics::positions_topic;
use convoy_core::{Position, PositionBatch, VehicleId};
use futures_util::{StreamExt, TryStreamExt};
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, QoS};

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let messages: usize = args.first().map_or(Ok(10_000), |a| a.parse())?;
    let rounds: usize = args.get(1).map_or(Ok(5), |a| a.parse())?;
    let vehicles: usize = args.get(2).map_or(Ok(2000), |a| a.parse())?;

    let dir = tempfile::tempdir()?;
    let listen: SocketAddr = format!("127.0.0.1:{}", convoy_testkit::free_port()).parse()?;
    let config = ServerConfig::new(
        dir.path().to_path_buf(),
        format!("sqlite://{}", dir.path().join("convoy.db").display()),
        BrokerChoice::Embedded { listen },
        "127.0.0.1:0".parse()?,
    );
    let shutdown = tokio_util::sync::CancellationToken::new();
    let server = convoy::server::start(&config, shutdown.clone()).await?;
    let (internal, account) = server.internal_mqtt.clone().expect("the embedded broker");
    let bench = VehicleId::new(BENCH_VEHICLE)?;
    let password = convoy_registry::register_vehicle(&server.store, &bench).await?;

    println!("one connection, 100 in flight: {messages} QoS 1 position messages of one fix:");
    for round in 1..=rounds {
        let first_seq = (round - 1) as u64 * 2 * messages as u64 + 1;
        let direct = publish_rate(
            internal,
            &format!("bench-direct-{round}"),
            &account.username,
            &account.password,
            messages,
            Load::Positions { first_seq },
        )
        .await?;
        // Ingest stores what rumqttd took before the door's round starts: the door's PUBACKs
        // wait for ingest's commits, which must not queue behind the direct round's backlog.
        let last_direct = first_seq + messages as u64 - 1;
        stored_up_to(&server.store, &bench, last_direct).await?;
        let door = publish_rate(
            listen,
            "convoy-agent-bench-0",
            "bench-0",
            &password,
            messages,
            Load::Positions { first_seq: first_seq + messages as u64 },
        )
        .await?;
        println!(
            "  round {round}: rumqttd directly, acknowledged on receipt {direct:>9.0}/s   through the door, \
             acknowledged once stored {door:>9.0}/s   ({:.0} %)",
            100.0 * door / direct
        );
    }

    let mut fleet = Vec::new();
    for n in 0..vehicles {
        let id = VehicleId::new(format!("fleet-{n:05}"))?;
        let password = convoy_registry::register_vehicle(&server.store, &id).await?;
        fleet.push((id, password));
    }
    // The door's own cost: 64 logins in progress at a time. Then the whole fleet at the same
    // instant, as after a restart without the agents' jitter: that also measures how the
    // kernel's listen backlogs (the door's 1,024, rumqttd's own) absorb the burst.
    let (first, rest) = fleet.split_at(vehicles / 2);
    for (label, group, in_parallel) in
        [("64 at a time", first, 64), ("all at the same instant", rest, rest.len().max(1))]
    {
        let started = Instant::now();
        futures_util::stream::iter(group.iter().map(|(id, password)| async move {
            let (_client, mut eventloop) =
                client(listen, &format!("convoy-agent-{id}"), id.as_str(), password);
            connack(&mut eventloop).await
        }))
        .buffer_unordered(in_parallel)
        .try_collect::<Vec<()>>()
        .await?;
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{} vehicles logging in, {label}: all in after {seconds:.2} s ({:.0} logins/s)",
            group.len(),
            group.len() as f64 / seconds
        );
    }

    shutdown.cancel();
    server.wait().await
}

fn client(addr: SocketAddr, client_id: &str, user: &str, password: &str) -> (AsyncClient, EventLoop) {
    let mut options = MqttOptions::new(client_id, addr.ip().to_string(), addr.port());
    options.set_credentials(user, password);
    options.set_inflight(100);
    let (client, mut eventloop) = AsyncClient::new(options, 1000);
    // A fleet logging in at once waits its turn for the argon2 checks: longer than rumqttc's 5 s.
    eventloop.network_options.set_connection_timeout(120);
    (client, eventloop)
}

async fn connack(eventloop: &mut EventLoop) -> anyhow::Result<()> {
    loop {
        if let Event::Incoming(Packet::ConnAck(_)) = eventloop.poll().await? {
            return Ok(());
        }
    }
}

/// What a round's messages are: of the bench vehicle, whoever sends them.
#[derive(Clone, Copy)]
enum Load {
    /// One fix a message on the vehicle's positions topic, seqs from `first_seq` on.
    Positions { first_seq: u64 },
}

/// The vehicle whose positions the rounds send.
const BENCH_VEHICLE: &str = "bench-0";

impl Load {
    fn message(self, n: usize) -> anyhow::Result<(String, Vec<u8>)> {
        Ok(match self {
            Load::Positions { first_seq } => {
                let vehicle = VehicleId::new(BENCH_VEHICLE)?;
                let seq = first_seq + n as u64;
                let fix = Position {
                    seq,
                    t: chrono::Utc::now(),
                    lat: 48.0,
                    lon: 11.0 + (seq % 1000) as f64 * 1e-4,
                    alt_m: None,
                    speed_mps: Some(10.0),
                    course_deg: Some(90.0),
                    fix: None,
                    sats: None,
                    hdop: None,
                    accuracy_m: None,
                };
                (positions_topic(&vehicle), PositionBatch::new(vehicle, vec![fix]).encode())
            }
        })
    }
}

/// Waits until `vehicle`'s fix `seq` is stored (fixes of one round share their millisecond, so
/// the latest position does not tell).
async fn stored_up_to(store: &convoy_store::Store, vehicle: &VehicleId, seq: u64) -> anyhow::Result<()> {
    let deadline = Instant::now() + std::time::Duration::from_secs(120);
    let now = chrono::Utc::now();
    loop {
        let track =
            store.track(vehicle, now - chrono::Duration::hours(1), now + chrono::Duration::hours(1)).await?;
        if track.iter().any(|fix| fix.seq == seq) {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < deadline, "fix {seq} of {vehicle} not stored after 120 s");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Publishes `n` messages as fast as they are acknowledged; returns messages a second.
async fn publish_rate(
    addr: SocketAddr,
    client_id: &str,
    user: &str,
    password: &str,
    n: usize,
    load: Load,
) -> anyhow::Result<f64> {
    let (client, mut eventloop) = client(addr, client_id, user, password);
    connack(&mut eventloop).await?;
    let messages = (0..n).map(|i| load.message(i)).collect::<anyhow::Result<Vec<_>>>()?;
    let started = Instant::now();
    let sender = tokio::spawn(async move {
        for (topic, payload) in messages {
            client.publish(topic, QoS::AtLeastOnce, false, payload).await?;
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
