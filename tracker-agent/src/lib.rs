//! The in-vehicle agent: reads the GNSS receiver on a serial port, turns its NMEA into one fix
//! per epoch, numbers each fix, and publishes batches over MQTT.
//!
//! It depends on `convoy-core` only: it knows the wire format, and nothing of the server.

pub mod config;
pub mod decoder;
pub mod epoch;
pub mod framer;
pub mod nav;
mod publisher;
pub mod reader;
pub mod seq;

use std::sync::Arc;

pub use config::AgentConfig;
use tokio::sync::watch;

/// Counters the agent keeps about itself, reported in its status.
#[derive(Debug, Default)]
pub struct AgentStats {
    pub fixes: std::sync::atomic::AtomicU64,
    pub no_fix_epochs: std::sync::atomic::AtomicU64,
    /// Set-aside input by reason, in the order of [`decoder::REJECT_REASONS`].
    pub nmea_rejected: [std::sync::atomic::AtomicU64; decoder::REJECT_REASONS.len()],
    pub serial_errors: std::sync::atomic::AtomicU64,
    pub published: std::sync::atomic::AtomicU64,
    pub dropped: std::sync::atomic::AtomicU64,
}

/// Runs the agent until `shutdown` turns true.
pub async fn run(config: AgentConfig, shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
    let stats = Arc::new(AgentStats::default());
    let mut seq = seq::SeqCounter::open(&config.state_dir)?;
    let (fix_tx, fix_rx) = tokio::sync::mpsc::unbounded_channel();
    let publisher = tokio::spawn(publisher::run(config.clone(), fix_rx, stats.clone(), shutdown.clone()));
    let read = reader::run(&config, &mut seq, fix_tx, &stats, shutdown);
    let read_result = read.await;
    let publish_result = publisher.await?;
    read_result.and(publish_result)
}
