//! Publishes fixes to the broker: QoS 1 batches on `convoy/v1/vehicles/{id}/positions`, a
//! persistent session, a retained status with a last will of "offline", and a bounded buffer
//! that holds fixes while the broker is out of reach (oldest dropped first, counted).

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use convoy_core::topics::{positions_topic, status_topic};
use convoy_core::{Position, PositionBatch};
use rumqttc::{AsyncClient, ClientError, Event, LastWill, MqttOptions, Packet, QoS};
use serde_json::json;
use tokio::sync::{mpsc, watch};

use crate::{AgentConfig, AgentStats};

const STATUS_INTERVAL: Duration = Duration::from_secs(30);

pub async fn run(
    config: AgentConfig,
    mut fixes: mpsc::UnboundedReceiver<Position>,
    stats: Arc<AgentStats>,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let status_topic = status_topic(&config.vehicle);
    let mut options = MqttOptions::new(
        format!("convoy-agent-{}", config.vehicle),
        config.broker.host.clone(),
        config.broker.port,
    );
    options.set_clean_session(false);
    options.set_keep_alive(Duration::from_secs(15));
    options.set_max_packet_size(convoy_core::wire::MAX_PAYLOAD_BYTES + 1024, 64 * 1024);
    if let Some(user) = &config.username {
        options.set_credentials(user.clone(), config.password.clone().unwrap_or_default());
    }
    options.set_last_will(LastWill::new(
        &status_topic,
        status(&config, "offline", &stats, 0, started),
        QoS::AtLeastOnce,
        true,
    ));
    let (client, mut eventloop) = AsyncClient::new(options, 64);

    // The event loop runs on its own: it connects, reconnects with backoff, resends what the
    // broker has not acknowledged, and announces each new connection.
    let (connected_tx, mut connected_rx) = watch::channel(0u64);
    let poller = tokio::spawn(async move {
        let mut backoff = Duration::from_millis(200);
        let mut connections = 0u64;
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    connections += 1;
                    backoff = Duration::from_millis(200);
                    let _ = connected_tx.send(connections);
                }
                Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) => break,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, retry_in = ?backoff, "broker connection failed");
                    let jitter = Duration::from_millis(rand::random::<u64>() % 250);
                    tokio::time::sleep(backoff + jitter).await;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
    });

    let topic = positions_topic(&config.vehicle);
    let mut buffer: VecDeque<Position> = VecDeque::new();
    let mut status_tick = tokio::time::interval(STATUS_INTERVAL);
    let mut retry = tokio::time::interval(Duration::from_millis(200));
    let mut reader_done = false;
    loop {
        tokio::select! {
            fix = fixes.recv(), if !reader_done => match fix {
                Some(fix) => buffer.push_back(fix),
                None => reader_done = true,
            },
            _ = connected_rx.changed() => {
                tracing::info!(broker = %config.broker.host, "connected to broker");
                let _ = client.try_publish(&status_topic, QoS::AtLeastOnce, true, status(&config, "online", &stats, buffer.len(), started));
            }
            _ = status_tick.tick() => {
                let _ = client.try_publish(&status_topic, QoS::AtLeastOnce, true, status(&config, "online", &stats, buffer.len(), started));
            }
            _ = retry.tick() => {}
            _ = shutdown.changed(), if !*shutdown.borrow() => {}
        }
        while let Ok(fix) = fixes.try_recv() {
            buffer.push_back(fix);
        }
        while buffer.len() > config.max_buffered_fixes {
            buffer.pop_front();
            stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
        // Hand batches to the client until its queue is full (the broker is away): the rest
        // waits in the buffer, oldest first.
        while !buffer.is_empty() {
            let n = buffer.len().min(config.max_batch_fixes);
            let batch = PositionBatch::new(config.vehicle.clone(), buffer.iter().take(n).cloned().collect());
            match client.try_publish(&topic, QoS::AtLeastOnce, false, batch.encode()) {
                Ok(()) => {
                    buffer.drain(..n);
                    stats.published.fetch_add(n as u64, Ordering::Relaxed);
                }
                Err(ClientError::TryRequest(_)) => break,
                Err(e) => anyhow::bail!("MQTT client stopped: {e}"),
            }
        }
        if *shutdown.borrow() && (reader_done || fixes.is_closed()) {
            break;
        }
    }
    let _ = client.try_publish(
        &status_topic,
        QoS::AtLeastOnce,
        true,
        status(&config, "offline", &stats, buffer.len(), started),
    );
    let _ = client.try_disconnect();
    let _ = tokio::time::timeout(Duration::from_secs(2), poller).await;
    Ok(())
}

fn status(
    config: &AgentConfig,
    state: &str,
    stats: &AgentStats,
    buffered: usize,
    started: Instant,
) -> Vec<u8> {
    json!({
        "v": 1,
        "vehicle": config.vehicle,
        "state": state,
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_s": started.elapsed().as_secs(),
        "buffered_fixes": buffered,
        "fixes": stats.fixes.load(Ordering::Relaxed),
        "no_fix_epochs": stats.no_fix_epochs.load(Ordering::Relaxed),
        "nmea_rejected": crate::decoder::REJECT_REASONS
            .iter()
            .zip(&stats.nmea_rejected)
            .map(|(reason, count)| (reason.to_string(), count.load(Ordering::Relaxed).into()))
            .collect::<serde_json::Map<String, serde_json::Value>>(),
        "serial_errors": stats.serial_errors.load(Ordering::Relaxed),
        "dropped_fixes": stats.dropped.load(Ordering::Relaxed),
    })
    .to_string()
    .into_bytes()
}
