//! What the server keeps retained on the broker for the devices that report to it, each on a
//! topic only that device may read: an OwnTracks phone's reporting mode ([`phone_modes`]) and
//! a vehicle's move windows ([`move_windows`]). Both follow the moves, so one task reads the
//! store every [`CHECK_EVERY`], works out every message, and publishes those that changed;
//! retained, so a device that was off at the moment of a change gets it when it subscribes.

pub mod move_windows;
pub mod phone_modes;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use convoy_alerts::service::MqttTarget;
use convoy_store::Store;
use rumqttc::{AsyncClient, Event, Packet, QoS};
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;

/// How often the messages are worked out again: a move created, changed or ended elsewhere (the
/// CLI, another server) reaches its devices within this (the alert rules discover moves every
/// 10 s too); one changed through this server's API wakes the loop at once.
pub const CHECK_EVERY: Duration = Duration::from_secs(10);

/// One retained message: its topic and payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retained {
    pub topic: String,
    pub payload: Vec<u8>,
}

/// Runs until `shutdown`: checks every [`CHECK_EVERY`] and whenever `wake` is notified, and
/// publishes what changed, and everything again after each (re)connection to the broker.
pub async fn run(
    store: Store,
    target: MqttTarget,
    wake: Arc<Notify>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut options = target.options()?;
    options.set_keep_alive(Duration::from_secs(15));
    let (client, eventloop) = AsyncClient::new(options, 1_000);
    let (connected_tx, mut connected) = mpsc::unbounded_channel();
    let poller = tokio::spawn(poll_broker(eventloop, connected_tx, shutdown.clone()));
    // What was last published, by topic; emptied at every connection, so all is published again.
    let mut published: HashMap<String, Vec<u8>> = HashMap::new();
    let mut check = tokio::time::interval(CHECK_EVERY);
    loop {
        tokio::select! {
            Some(()) = connected.recv() => published.clear(),
            _ = check.tick() => {}
            () = wake.notified() => {}
            () = shutdown.cancelled() => break,
        }
        tokio::select! {
            () = publish_changes(&store, &client, &mut published) => {}
            () = shutdown.cancelled() => break,
        }
    }
    let _ = poller.await;
    Ok(())
}

/// Drives the connection, and says when it is (re)established.
async fn poll_broker(
    mut eventloop: rumqttc::EventLoop,
    connected: mpsc::UnboundedSender<()>,
    shutdown: CancellationToken,
) {
    let mut backoff = Duration::from_millis(200);
    loop {
        let event = tokio::select! {
            event = eventloop.poll() => event,
            () = shutdown.cancelled() => return,
        };
        match event {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                backoff = Duration::from_millis(200);
                let _ = connected.send(());
            }
            Ok(_) => {}
            Err(e) => {
                tracing::debug!(error = %e, retry_in = ?backoff, "the retained-message publisher lost the broker");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    () = shutdown.cancelled() => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
}

/// Publishes every wanted message that differs from what was last published (waiting for room
/// in the client's queue: a fleet's first round is larger than the queue). A part whose store
/// read fails is skipped this time, and logged; the other still goes out.
async fn publish_changes(store: &Store, client: &AsyncClient, published: &mut HashMap<String, Vec<u8>>) {
    // Every move's crew once for both parts.
    let crews = match store.move_crews().await {
        Ok(crews) => crews,
        Err(e) => {
            return tracing::warn!(error = %e, "cannot read the moves for the devices' retained messages")
        }
    };
    let now = chrono::Utc::now();
    let mut wanted = Vec::new();
    match phone_modes::wanted(store, &crews, now).await {
        Ok(messages) => wanted.extend(messages),
        Err(e) => tracing::warn!(error = %e, "cannot work out the phones' reporting modes"),
    }
    match store.vehicle_ids().await {
        Ok(vehicles) => wanted.extend(move_windows::wanted(&vehicles, &crews, now)),
        Err(e) => tracing::warn!(error = %e, "cannot read the vehicles to send their move windows"),
    }
    for Retained { topic, payload } in wanted {
        if published.get(&topic) == Some(&payload) {
            continue;
        }
        match client.publish(topic.clone(), QoS::AtLeastOnce, true, payload.clone()).await {
            Ok(()) => {
                tracing::info!(%topic, "retained device message published");
                published.insert(topic, payload);
            }
            Err(e) => return tracing::warn!(error = %e, "the retained-message publisher's client stopped"),
        }
    }
}
