//! How long from the MQTT publish of the fix that crosses a rule's threshold to the alert on
//! the WebSocket live feed, while a fleet loads the server.
//!
//! Real parts: Mosquitto, a private PostgreSQL cluster (default durability: fsync on), the
//! whole server in this process (ingest, alert service, HTTP/WebSocket), `convoy loadgen`'s
//! fleet as background load, and probe vehicles on a move whose `off_route` rule fires on the
//! first fix outside a 10 m corridor and resolves on the first fix back. Each probe alternates
//! on the route and 40 m off it once a second (40 m/s: plausible), so every other fix opens an
//! alert; its latency is the WebSocket arrival of the `open` message minus the publish.
//!
//!   cargo bench --bench alert_latency -- [VEHICLES] [SECONDS]      (default 10000 120)

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{SubsecRound, Utc};
use convoy::config::{BrokerChoice, ServerConfig};
use convoy::demo::simulator::Route;
use convoy_core::{FixMode, Position, PositionBatch, Role, VehicleId};
use futures_util::StreamExt;
use rumqttc::{AsyncClient, MqttOptions, QoS};
use serde_json::{json, Value};

const PROBES: usize = 10;

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let vehicles: usize = args.first().map_or(Ok(10_000), |a| a.parse())?;
    let seconds: u64 = args.get(1).map_or(Ok(120), |a| a.parse())?;

    let pg = convoy_testkit::PgCluster::start();
    let mosquitto = convoy_testkit::Mosquitto::start_with(&["max_inflight_messages 10000"]);
    let dir = tempfile::tempdir()?;
    let config = ServerConfig::new(
        dir.path().to_path_buf(),
        pg.url(),
        BrokerChoice::External {
            host: "127.0.0.1".into(),
            port: mosquitto.port,
            username: None,
            password: None,
            tls: None,
        },
        "127.0.0.1:0".parse()?,
    );
    let shutdown = tokio_util::sync::CancellationToken::new();
    let server = convoy::server::start(&config, shutdown.clone()).await?;
    let store = server.store.clone();
    convoy_registry::add_user(&store, "bench", Role::Admin, "a long enough bench password").await?;
    let token = login(server.http_addr).await?;

    // The probes' move.
    let route = Route::munich()?;
    let points = route.points().to_vec();
    let mut probes = Vec::new();
    for n in 0..PROBES {
        let id = VehicleId::new(format!("probe-{n:02}"))?;
        convoy_registry::register_vehicle(&store, &id).await?;
        probes.push(id);
    }
    let plan = json!({
        "name": "latency probes",
        "vehicles": probes.iter().map(|v| v.as_str()).collect::<Vec<_>>(),
        "route": { "type": "LineString", "coordinates": points.iter().map(|p| [p.x(), p.y()]).collect::<Vec<_>>() },
        "corridor_m": 10,
        "rules": { "off_route_after_s": 0, "off_route_min_fixes": 1, "off_route_resolve_after_s": 0 },
    });
    let plan = convoy_core::plan::MovePlan::from_json(&serde_json::to_vec(&plan)?)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    convoy_registry::store_new_move(&store, &plan, "bench").await?;
    // The service finds the move within 10 s.
    tokio::time::sleep(Duration::from_secs(11)).await;

    // The WebSocket: when each alert opened, by (vehicle, fix time).
    let opened: Arc<Mutex<HashMap<(String, String), Instant>>> = Arc::default();
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/api/v1/live?token={token}", server.http_addr))
            .await?;
    let sink = opened.clone();
    tokio::spawn(async move {
        while let Some(Ok(message)) = socket.next().await {
            if let tokio_tungstenite::tungstenite::Message::Text(text) = message {
                let value: Value = serde_json::from_str(&text).unwrap_or_default();
                let alert = &value["alert"];
                if value["type"] == "alert" && alert["state"] == "open" {
                    let key = (
                        alert["vehicle"].as_str().unwrap_or("").to_string(),
                        alert["t"].as_str().unwrap_or("").to_string(),
                    );
                    sink.lock().unwrap().insert(key, Instant::now());
                }
            }
        }
    });

    // The fleet.
    let fleet = convoy::loadgen::LoadgenConfig {
        broker_host: "127.0.0.1".into(),
        broker_port: mosquitto.port,
        username: None,
        password: None,
        database: Some(pg.url()),
        vehicles,
        rate_hz: 1.0,
        batch: 1,
        fixes_per_vehicle: seconds + 20,
        connections: 8,
        settle_timeout: Duration::from_secs(120),
        signed: false,
    };
    let fleet = tokio::spawn(convoy::loadgen::run(fleet));
    // Let the fleet get going (registration, connections) before probing.
    tokio::time::sleep(Duration::from_secs(20)).await;

    let published = probe(&probes, &points, mosquitto.port, seconds).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let fleet_report = fleet.await??;

    let arrivals = opened.lock().unwrap().clone();
    let mut latencies_ms: Vec<f64> = published
        .iter()
        .filter_map(|(key, sent)| arrivals.get(key).map(|at| at.duration_since(*sent).as_secs_f64() * 1000.0))
        .collect();
    let missing = published.len() - latencies_ms.len();
    latencies_ms.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies_ms[((latencies_ms.len() as f64 * p) as usize).min(latencies_ms.len() - 1)];
    println!("fleet: {fleet_report}");
    println!(
        "alert latency, publish -> WebSocket, {} alerts ({missing} missing) with {vehicles} vehicles at 1 Hz: \
         p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        latencies_ms.len(),
        pct(0.5),
        pct(0.9),
        pct(0.99),
        latencies_ms.last().copied().unwrap_or(f64::NAN)
    );
    shutdown.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(10), server.wait()).await;
    Ok(())
}

/// Publishes each probe's fixes once a second, alternating on and 40 m off the route, for
/// `seconds`; returns when each threshold-crossing fix was published, by (vehicle, fix time).
async fn probe(
    probes: &[VehicleId],
    points: &[geo::Point],
    port: u16,
    seconds: u64,
) -> anyhow::Result<HashMap<(String, String), Instant>> {
    let mut options = MqttOptions::new("latency-probes", "127.0.0.1", port);
    options.set_keep_alive(Duration::from_secs(15));
    let (client, mut eventloop) = AsyncClient::new(options, 1000);
    tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
    // Points where the recorded car was moving: at a standstill the road's direction (and so
    // which way is off it) is unknown.
    let moving: Vec<usize> = (1..points.len() - 1).filter(|&i| points[i - 1] != points[i + 1]).collect();
    let mut sent = HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    for second in 0..seconds {
        tick.tick().await;
        let t = Utc::now().trunc_subsecs(3);
        let outside = second % 2 == 1;
        for (n, vehicle) in probes.iter().enumerate() {
            // Spread the probes over the second, as independent vehicles are.
            tokio::time::sleep(Duration::from_millis(1000 / PROBES as u64 / 2)).await;
            let i = moving[(n * 50 + second as usize / 2) % moving.len()];
            let p = points[i];
            // 40 m to the left of the road's direction here, so surely out of a 10 m corridor.
            let (east, north) = {
                let (a, b) = (points[i - 1], points[i + 1]);
                let e = (b.x() - a.x()) * 111_320.0 * p.y().to_radians().cos();
                let n = (b.y() - a.y()) * 111_190.0;
                let length = (e * e + n * n).sqrt().max(1e-9);
                (-n / length, e / length)
            };
            let (lat, lon) = if outside {
                (
                    p.y() + 40.0 * north / 111_190.0,
                    p.x() + 40.0 * east / (111_320.0 * p.y().to_radians().cos()),
                )
            } else {
                (p.y(), p.x())
            };
            let t = t + chrono::Duration::milliseconds(n as i64);
            let position = Position {
                seq: second + 1,
                t,
                lat,
                lon,
                alt_m: None,
                speed_mps: Some(10.0),
                course_deg: None,
                fix: Some(FixMode::ThreeD),
                sats: Some(9),
                hdop: Some(0.9),
                accuracy_m: None,
            };
            let payload = PositionBatch::new(vehicle.clone(), vec![position]).encode();
            let topic = convoy_core::topics::positions_topic(vehicle);
            client.publish(topic, QoS::AtLeastOnce, false, payload).await?;
            if outside {
                sent.insert((vehicle.to_string(), convoy_core::position::format_time(&t)), Instant::now());
            }
        }
    }
    Ok(sent)
}

async fn login(http: std::net::SocketAddr) -> anyhow::Result<String> {
    let body: Value = reqwest::Client::new()
        .post(format!("http://{http}/api/v1/login"))
        .json(&json!({ "username": "bench", "password": "a long enough bench password" }))
        .send()
        .await?
        .json()
        .await?;
    Ok(body["token"].as_str().unwrap_or_default().to_string())
}
