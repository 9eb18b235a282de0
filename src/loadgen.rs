//! `convoy loadgen`: a fleet of simulated vehicles publishing real v1 position batches over MQTT
//! along a real route, to measure what the server takes and how fast it stores it.
//!
//! Vehicles are registered in the database first (named `lg{run}-{n}`, fresh per run, so runs
//! never collide). Each vehicle's fixes move along the Munich drive at its wall-clock pace, so
//! they stay plausible however fast they are sent. After publishing, the store is read back:
//! every fix counted, and its publish-to-store latency taken as the row's stored time minus
//! its fix time (the fix time is the moment it was made, just before publishing).
//!
//! With `signed`, each vehicle gets a fresh Ed25519 key, registered as valid from a minute
//! before the run, and signs every batch linked to its previous one, as an agent with a key
//! does: what ingest's verification costs is then measured on the same load.

use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use convoy_core::signing::{BatchSignature, ChainHash, SecretKey, GENESIS};
use convoy_core::topics::positions_topic;
use convoy_core::{FixMode, Position, PositionBatch, VehicleId};
use convoy_store::{Store, VehicleKey};
use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing, Packet, QoS};

use crate::demo::simulator::Route;

/// What to generate.
#[derive(Clone, Debug)]
pub struct LoadgenConfig {
    pub broker_host: String,
    pub broker_port: u16,
    pub username: Option<String>,
    pub password: Option<String>,
    /// Where ingest stores; vehicles are registered here and results read back. `None` only
    /// publishes (to measure the broker alone).
    pub database: Option<String>,
    pub vehicles: usize,
    /// Fixes per second per vehicle; 0 sends as fast as the broker takes them.
    pub rate_hz: f64,
    /// Fixes per message.
    pub batch: usize,
    /// Fixes per vehicle in all.
    pub fixes_per_vehicle: u64,
    /// MQTT connections the vehicles are spread over.
    pub connections: usize,
    /// How long to wait for ingest to store everything once publishing is done.
    pub settle_timeout: Duration,
    /// Each vehicle signs its batches with a key of its own, registered in the database.
    pub signed: bool,
}

/// What happened.
#[derive(Clone, Debug, Default)]
pub struct LoadgenReport {
    pub vehicles: Vec<VehicleId>,
    pub sent: u64,
    pub acknowledged: u64,
    pub stored: u64,
    /// Seconds from the first publish to the last acknowledgement from the broker.
    pub publish_seconds: f64,
    /// Seconds from the first publish until everything was stored (or the timeout).
    pub stored_seconds: f64,
    /// Publish-to-store latency percentiles in milliseconds: p50, p90, p99, max.
    pub latency_ms: [f64; 4],
}

impl LoadgenReport {
    pub fn stored_per_second(&self) -> f64 {
        self.stored as f64 / self.stored_seconds.max(f64::EPSILON)
    }
}

impl std::fmt::Display for LoadgenReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [p50, p90, p99, max] = self.latency_ms;
        write!(
            f,
            "vehicles {} | sent {} | acknowledged {} | stored {} | published in {:.2} s ({:.0}/s) | \
             stored in {:.2} s ({:.0}/s) | publish-to-store ms p50 {p50:.1} p90 {p90:.1} p99 {p99:.1} max {max:.1}",
            self.vehicles.len(),
            self.sent,
            self.acknowledged,
            self.stored,
            self.publish_seconds,
            self.acknowledged as f64 / self.publish_seconds.max(f64::EPSILON),
            self.stored_seconds,
            self.stored_per_second(),
        )
    }
}

/// A password hash no password matches: load vehicles publish through an external broker and
/// never log in to the embedded one.
const NO_LOGIN: &str = "loadgen: no login";

/// Registers the fleet, publishes, waits for the store to hold everything, and reports.
pub async fn run(config: LoadgenConfig) -> anyhow::Result<LoadgenReport> {
    anyhow::ensure!(config.vehicles > 0 && config.batch > 0 && config.connections > 0, "nothing to send");
    anyhow::ensure!(
        !config.signed || config.database.is_some(),
        "signed batches need --database, to register the vehicles' keys"
    );
    let run_id = format!("{:04x}", rand::random::<u16>());
    let vehicles: Vec<VehicleId> = (0..config.vehicles)
        .map(|n| VehicleId::new(format!("lg{run_id}-{n:05}")))
        .collect::<Result<_, _>>()?;
    let store = match &config.database {
        Some(url) => Some(Store::open(url).await.with_context(|| format!("opening {url}"))?),
        None => None,
    };
    let start_time = Utc::now();
    let keys: Vec<Option<SecretKey>> =
        vehicles.iter().map(|_| config.signed.then(SecretKey::generate)).collect();
    if let Some(store) = &store {
        for (vehicle, key) in vehicles.iter().zip(&keys) {
            store.add_vehicle(vehicle, NO_LOGIN).await?;
            if let Some(key) = key {
                let registered = VehicleKey {
                    vehicle: vehicle.clone(),
                    key: key.public(),
                    valid_from: start_time - chrono::Duration::minutes(1),
                    registered_at: start_time,
                    registered_by: "loadgen".into(),
                };
                store.add_vehicle_key(&registered).await?;
            }
        }
    }
    let route = Route::munich()?;
    let started = Instant::now();
    let mut connections = Vec::new();
    let per_connection = config.vehicles.div_ceil(config.connections);
    for (index, (group, group_keys)) in
        vehicles.chunks(per_connection).zip(keys.chunks(per_connection)).enumerate()
    {
        let fleet = Fleet {
            vehicles: group.to_vec(),
            keys: group_keys.to_vec(),
            route: route.clone(),
            start_time,
            first_vehicle: index * per_connection,
        };
        connections.push(tokio::spawn(publish_fleet(config.clone(), format!("{run_id}-{index}"), fleet)));
    }
    let mut report = LoadgenReport { vehicles: vehicles.clone(), ..Default::default() };
    for connection in connections {
        let (sent, acknowledged) = connection.await??;
        report.sent += sent;
        report.acknowledged += acknowledged;
    }
    report.publish_seconds = started.elapsed().as_secs_f64();
    let Some(store) = store else {
        return Ok(report);
    };

    wait_until_stored(&store, &vehicles, config.fixes_per_vehicle, config.settle_timeout).await?;
    report.stored_seconds = started.elapsed().as_secs_f64();
    let mut latencies = Vec::with_capacity(report.sent as usize);
    for vehicle in &vehicles {
        let mut track = store.track_stream(vehicle, start_time - chrono::Duration::minutes(1), Utc::now());
        while let Some(stored) = track.recv().await {
            let stored = stored?;
            latencies
                .push((stored.received_at - stored.position.t).num_microseconds().unwrap_or(0) as f64 / 1e3);
        }
    }
    report.stored = latencies.len() as u64;
    latencies.sort_by(f64::total_cmp);
    report.latency_ms = [0.5, 0.9, 0.99, 1.0].map(|q| percentile(&latencies, q));
    Ok(report)
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// Polls the store until every vehicle's live position is its last fix, or the timeout. A
/// store that cannot be read (a database restarting under a fault test) is asked again.
async fn wait_until_stored(
    store: &Store,
    vehicles: &[VehicleId],
    fixes_per_vehicle: u64,
    timeout: Duration,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        match store.latest_positions().await {
            Ok(latest) => {
                let done = latest
                    .iter()
                    .filter(|l| {
                        vehicles.binary_search(&l.vehicle).is_ok() && l.position.seq == fixes_per_vehicle
                    })
                    .count();
                if done == vehicles.len() {
                    return Ok(());
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot read the store yet"),
        }
        if Instant::now() > deadline {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The vehicles one connection publishes for.
struct Fleet {
    vehicles: Vec<VehicleId>,
    /// Each vehicle's signing key, when the run is signed.
    keys: Vec<Option<SecretKey>>,
    route: Route,
    start_time: DateTime<Utc>,
    /// Spreads the vehicles along the route.
    first_vehicle: usize,
}

impl Fleet {
    /// Fix number `seq` (from 1) of vehicle `index`, made now.
    fn fix(&self, index: usize, seq: u64) -> Position {
        let now = Utc::now();
        let elapsed = (now - self.start_time).num_milliseconds().max(0) as f64 / 1000.0;
        let offset = 37.0 * (self.first_vehicle + index) as f64;
        let point = self.route.at_time(elapsed + offset);
        let moving = self.route.at_time(elapsed + offset + 1.0) != point;
        Position {
            seq,
            // Milliseconds, as on the wire.
            t: DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now),
            lat: point.y(),
            lon: point.x(),
            alt_m: Some(519.0),
            speed_mps: Some(if moving { 10.0 } else { 0.0 }),
            course_deg: None,
            fix: Some(FixMode::ThreeD),
            sats: Some(9),
            hdop: Some(0.9),
            accuracy_m: None,
        }
    }
}

/// Publishes every fix of a fleet over one connection; returns (sent, acknowledged) fixes.
async fn publish_fleet(config: LoadgenConfig, client_id: String, fleet: Fleet) -> anyhow::Result<(u64, u64)> {
    let mut options =
        MqttOptions::new(format!("convoy-loadgen-{client_id}"), &config.broker_host, config.broker_port);
    // A persistent session: after a broker restart, unacknowledged messages are sent again.
    options.set_clean_session(false);
    options.set_keep_alive(Duration::from_secs(30));
    options.set_inflight(1000);
    options.set_max_packet_size(
        convoy_core::wire::MAX_PAYLOAD_BYTES + 1024,
        convoy_core::wire::MAX_PAYLOAD_BYTES + 1024,
    );
    if let Some(user) = &config.username {
        options.set_credentials(user, config.password.clone().unwrap_or_default());
    }
    let (client, mut eventloop) = AsyncClient::new(options, 1000);
    let batch = config.batch as u64;
    let messages_per_vehicle = config.fixes_per_vehicle.div_ceil(batch);
    let total_messages = messages_per_vehicle * fleet.vehicles.len() as u64;

    // Counts acknowledgements; keeps the connection alive and reconnects on errors.
    let poller = tokio::spawn(async move {
        let mut acknowledged = 0u64;
        while acknowledged < total_messages {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::PubAck(_))) => acknowledged += 1,
                Ok(Event::Outgoing(Outgoing::Disconnect)) => break,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "loadgen connection lost; retrying");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
        acknowledged
    });

    // Paced: each vehicle at its own phase in the period, spread evenly as real receivers are,
    // so the fleet is a steady stream rather than one burst a period.
    let vehicles = fleet.vehicles.len().max(1) as f64;
    let interval =
        (config.rate_hz > 0.0).then(|| Duration::from_secs_f64(batch as f64 / config.rate_hz / vehicles));
    let mut ticker = interval.map(|period| {
        let mut ticker = tokio::time::interval(period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        ticker
    });
    let mut sent = 0u64;
    // Each signing vehicle's chain tip: the head of its last batch.
    let mut tips: Vec<ChainHash> = vec![GENESIS; fleet.vehicles.len()];
    for message in 0..messages_per_vehicle {
        let first_seq = message * batch + 1;
        let last_seq = (first_seq + batch - 1).min(config.fixes_per_vehicle);
        for (index, vehicle) in fleet.vehicles.iter().enumerate() {
            if let Some(ticker) = ticker.as_mut() {
                ticker.tick().await;
            }
            let positions: Vec<Position> = (first_seq..=last_seq).map(|seq| fleet.fix(index, seq)).collect();
            let mut batch = PositionBatch::new(vehicle.clone(), positions);
            if let Some(key) = &fleet.keys[index] {
                let (signed, head) = BatchSignature::sign(key, vehicle, &tips[index], &batch.positions)?;
                batch.signed = Some(signed);
                tips[index] = head;
            }
            let payload = batch.encode();
            client.publish(positions_topic(vehicle), QoS::AtLeastOnce, false, payload).await?;
            sent += last_seq - first_seq + 1;
        }
    }
    let acknowledged_messages = poller.await?;
    let _ = client.disconnect().await;
    // Only the last message of each vehicle may hold fewer than `batch` fixes.
    let acknowledged =
        if acknowledged_messages == total_messages { sent } else { acknowledged_messages * batch };
    Ok((sent, acknowledged))
}
