//! Vehicles' statuses reach rumqttd over one connection of their own, not the vehicle's.
//!
//! rumqttd keeps each message it logs as a slice of the buffer it read that message into, and
//! a buffer lives as long as any slice of it. On a vehicle's connection, a status read right
//! after a 512 KiB position batch shares that batch's buffer: kept in the status log (statuses
//! are few, so it keeps them long), it kept the batch's whole buffer alive long after the batch
//! had left the positions log. A vehicle alternating the largest batches with tiny statuses
//! took the server from 38 MB to 1.35 GB (tests/broker_memory.rs). On this lane rumqttd reads
//! statuses only, each at most `MAX_STATUS_BYTES`, so a kept status holds at most a small
//! buffer of other statuses.
//!
//! The lane is the server's internal client (its own client id) and publishes at QoS 1, so
//! rumqttc sends again what a broken lane connection lost. The vehicle's PUBACK does not
//! depend on the lane: it still waits for ingest's commit ([`super::held_acks`]), and a status
//! the lane lost is sent again by the agent, as any message ingest never stored.

use std::net::SocketAddr;
use std::time::Duration;

use convoy_core::topics::MAX_STATUS_BYTES;
use rumqttc::{AsyncClient, MqttOptions, QoS};
use tokio_util::sync::CancellationToken;

/// The client id the lane logs in to rumqttd with.
const CLIENT_ID: &str = "convoy-door-status";

/// Statuses waiting for the lane's connection: past it, a vehicle's connection waits (the door
/// reads nothing more from it) until the lane has sent some.
const QUEUE: usize = 256;

/// The lane's client; its connection runs until `shutdown`.
#[derive(Clone, Debug)]
pub struct StatusLane {
    client: AsyncClient,
}

/// The lane is gone: the server is stopping.
#[derive(Debug, thiserror::Error)]
#[error("the status lane to the internal broker is closed")]
pub struct LaneClosed;

impl StatusLane {
    /// Connects to rumqttd on `upstream` as the internal user `username`.
    pub fn start(upstream: SocketAddr, username: &str, password: &str, shutdown: CancellationToken) -> Self {
        let mut options = MqttOptions::new(CLIENT_ID, upstream.ip().to_string(), upstream.port());
        options.set_credentials(username, password);
        options.set_keep_alive(Duration::from_secs(15));
        options.set_clean_session(false);
        options.set_max_packet_size(MAX_STATUS_BYTES + 1024, MAX_STATUS_BYTES + 1024);
        let (client, mut eventloop) = AsyncClient::new(options, QUEUE);
        tokio::spawn(async move {
            let mut failed_before = false;
            loop {
                let event = tokio::select! {
                    event = eventloop.poll() => event,
                    () = shutdown.cancelled() => return,
                };
                match event {
                    Ok(_) => failed_before = false,
                    Err(e) => {
                        if !failed_before {
                            tracing::warn!(error = %e, "the door's status lane to the internal broker failed; reconnecting");
                        }
                        failed_before = true;
                        tokio::select! {
                            () = tokio::time::sleep(Duration::from_millis(200)) => {}
                            () = shutdown.cancelled() => return,
                        }
                    }
                }
            }
        });
        Self { client }
    }

    /// Hands a vehicle's status to rumqttd, as the vehicle sent it (`retain` included). Waits
    /// while the lane's queue is full. The payload is copied, so nothing of the vehicle's
    /// connection is kept with it.
    pub async fn publish(&self, topic: &str, retain: bool, payload: &[u8]) -> Result<(), LaneClosed> {
        self.client.publish(topic, QoS::AtLeastOnce, retain, payload.to_vec()).await.map_err(|_| LaneClosed)
    }
}
