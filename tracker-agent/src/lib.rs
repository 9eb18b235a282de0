//! The in-vehicle agent: reads the GNSS receiver on a serial port, turns its NMEA into one fix
//! per epoch, numbers each fix, and publishes batches over MQTT.
//!
//! It depends on `convoy-core` only: it knows the wire format, and nothing of the server.

pub mod clock;
pub mod config;
pub mod decoder;
pub mod epoch;
pub mod framer;
#[doc(hidden)]
pub mod fuzzing;
pub mod key_file;
pub mod log_writer;
pub mod metrics;
pub mod nav;
pub mod nmea_writer;
pub mod privacy;
pub mod private_files;
mod publisher;
pub mod reader;
pub mod rollover;
pub mod sampler;
pub mod seq;
pub mod spool;
/// TLS to the broker: the shared builder (`convoy-tls-client`).
pub use convoy_tls_client as tls;

use std::sync::Arc;

pub use config::AgentConfig;
use tokio_util::sync::CancellationToken;

/// Counters the agent keeps about itself, reported in its status.
#[derive(Debug, Default)]
pub struct AgentStats {
    pub fixes: std::sync::atomic::AtomicU64,
    pub no_fix_epochs: std::sync::atomic::AtomicU64,
    /// Set-aside input by reason, in the order of [`decoder::REJECT_REASONS`].
    pub nmea_rejected: [std::sync::atomic::AtomicU64; decoder::REJECT_REASONS.len()],
    pub serial_errors: std::sync::atomic::AtomicU64,
    /// Jumps of the host clock relative to the receiver's.
    pub clock_jumps: std::sync::atomic::AtomicU64,
    /// Fixes whose receiver date was a GPS week rollover in the past, corrected.
    pub week_rollover_corrected: std::sync::atomic::AtomicU64,
    /// Fixes withheld: dated before the build floor, and no rollover explains the date.
    pub implausible_dates: std::sync::atomic::AtomicU64,
    /// Fixes thinned out by the heartbeat sampling policy.
    pub thinned: std::sync::atomic::AtomicU64,
    pub published: std::sync::atomic::AtomicU64,
    /// Batches handed to the MQTT client signed with the vehicle's key.
    pub batches_signed: std::sync::atomic::AtomicU64,
    /// Fixes not recorded: taken outside the vehicle's move windows (`privacy = "moves_only"`).
    pub withheld: std::sync::atomic::AtomicU64,
    /// Windows messages refused, by reason, in the order of
    /// [`convoy_core::move_windows::WINDOWS_ERROR_REASONS`].
    pub windows_rejected:
        [std::sync::atomic::AtomicU64; convoy_core::move_windows::WINDOWS_ERROR_REASONS.len()],
    /// When the receiver last completed an epoch, in milliseconds since the Unix epoch (0: never).
    pub last_epoch_ms: std::sync::atomic::AtomicI64,
    /// Whether that epoch had a fix.
    pub last_epoch_had_fix: std::sync::atomic::AtomicBool,
}

/// The receiver's state as the status reports it.
pub fn gnss_state(stats: &AgentStats, now: chrono::DateTime<chrono::Utc>) -> &'static str {
    use std::sync::atomic::Ordering;
    let last = stats.last_epoch_ms.load(Ordering::Relaxed);
    if last == 0 || now.timestamp_millis() - last > 5_000 {
        "no_data"
    } else if stats.last_epoch_had_fix.load(Ordering::Relaxed) {
        "fix"
    } else {
        "no_fix"
    }
}

/// Runs the agent until `shutdown` is cancelled; then the reader completes the epoch in hand,
/// and the publisher spools it, sends what it can, reports the agent offline and disconnects.
pub async fn run(config: AgentConfig, shutdown: CancellationToken) -> anyhow::Result<()> {
    let stats = Arc::new(AgentStats::default());
    if let Some(key) = &config.signing_key {
        tracing::info!(key = %key.public().id(), "signing batches");
    }
    private_files::warn_if_shared(&config.state_dir, "agent's state directory");
    let (spool, recovery) =
        spool::Spool::open(&config.state_dir.join("spool"), &config.vehicle, config.spool.clone())?;
    if recovery != (spool::Recovery { chain: recovery.chain, ..Default::default() }) {
        tracing::warn!(
            pending = recovery.pending,
            corrupt_records = recovery.corrupt_records,
            truncated_bytes = recovery.truncated_bytes,
            "spool recovered"
        );
    }
    let floor = seq::SeqFloor::open(&config.state_dir)?;
    let gate = privacy::MoveGate::open(config.privacy, &config.vehicle, &config.state_dir);
    let (fix_tx, fix_rx) = tokio::sync::mpsc::unbounded_channel();
    let publisher = tokio::spawn(publisher::run(
        config.clone(),
        fix_rx,
        spool,
        floor,
        gate,
        stats.clone(),
        shutdown.clone(),
    ));
    let read = reader::run(&config, fix_tx, &stats, shutdown);
    let read_result = read.await;
    let publish_result = publisher.await?;
    read_result.and(publish_result)
}
