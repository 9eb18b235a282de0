//! Reads the receiver: opens the serial device (and reopens it when it disappears), frames
//! sentences, assembles epochs, numbers the fixes and hands them to the publisher.

use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::Utc;
use convoy_core::Position;
use tokio::io::AsyncReadExt;
use tokio::sync::{mpsc, watch};
use tokio_serial::SerialPortBuilderExt;

use crate::epoch::{Epoch, EpochAssembler, Fix, Skip};
use crate::framer::{Framed, Framer};
use crate::seq::SeqCounter;
use crate::{AgentConfig, AgentStats};

/// With no byte for this long, the epoch in progress is complete: a receiver sends an epoch's
/// sentences in one burst, so a pause ends it without waiting for the next epoch's first
/// sentence (a second later at 1 Hz).
const QUIET_FLUSH: Duration = Duration::from_millis(250);
/// The longest wait between attempts to reopen a vanished device.
const MAX_REOPEN_BACKOFF: Duration = Duration::from_secs(5);

pub async fn run(
    config: &AgentConfig,
    seq: &mut SeqCounter,
    fixes: mpsc::UnboundedSender<Position>,
    stats: &AgentStats,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let mut backoff = Duration::from_millis(100);
    let mut assembler = EpochAssembler::new();
    while !*shutdown.borrow() {
        let mut port = match tokio_serial::new(config.serial.to_string_lossy(), config.baud)
            .open_native_async()
        {
            Ok(port) => {
                tracing::info!(device = %config.serial.display(), baud = config.baud, "serial device open");
                backoff = Duration::from_millis(100);
                port
            }
            Err(e) => {
                stats.serial_errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(device = %config.serial.display(), error = %e, retry_in = ?backoff, "cannot open serial device");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.changed() => {}
                }
                backoff = (backoff * 2).min(MAX_REOPEN_BACKOFF);
                continue;
            }
        };
        let mut framer = Framer::new();
        let mut buf = vec![0u8; 4096];
        loop {
            let read = tokio::select! {
                read = tokio::time::timeout(QUIET_FLUSH, port.read(&mut buf)) => read,
                _ = shutdown.changed() => break,
            };
            match read {
                Err(_quiet) => {
                    if let Some(epoch) = assembler.flush(Utc::now()) {
                        emit(epoch, seq, &fixes, stats)?;
                    }
                }
                Ok(Ok(0)) | Ok(Err(_)) => {
                    stats.serial_errors.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(device = %config.serial.display(), "serial device closed or failed; reopening");
                    tokio::time::sleep(backoff).await;
                    break;
                }
                Ok(Ok(n)) => {
                    let mut sentences = Vec::new();
                    framer.push(&buf[..n], |framed| match framed {
                        Framed::Sentence(s) => sentences.push(s),
                        Framed::Rejected(why) => {
                            stats.nmea_rejected.fetch_add(1, Ordering::Relaxed);
                            tracing::debug!(reason = why.reason(), "NMEA rejected");
                        }
                    });
                    for sentence in sentences {
                        match assembler.push(&sentence, Utc::now()) {
                            Ok(Some(epoch)) => emit(epoch, seq, &fixes, stats)?,
                            Ok(None) | Err(Skip::Ignored) => {}
                            Err(Skip::Unparsable) => {
                                stats.nmea_unparsable.fetch_add(1, Ordering::Relaxed);
                                tracing::debug!(%sentence, "NMEA sentence could not be decoded");
                            }
                        }
                    }
                }
            }
        }
    }
    if let Some(epoch) = assembler.flush(Utc::now()) {
        emit(epoch, seq, &fixes, stats)?;
    }
    Ok(())
}

fn emit(
    epoch: Epoch,
    seq: &mut SeqCounter,
    fixes: &mpsc::UnboundedSender<Position>,
    stats: &AgentStats,
) -> anyhow::Result<()> {
    match epoch {
        Epoch::NoFix => {
            stats.no_fix_epochs.fetch_add(1, Ordering::Relaxed);
        }
        Epoch::Fix(fix) => {
            stats.fixes.fetch_add(1, Ordering::Relaxed);
            let position = to_position(seq.take()?, fix);
            // The publisher only stops after the reader, so the channel is open.
            let _ = fixes.send(position);
        }
    }
    Ok(())
}

fn to_position(seq: u64, fix: Fix) -> Position {
    Position {
        seq,
        t: fix.t,
        lat: fix.lat,
        lon: fix.lon,
        alt_m: fix.alt_m,
        speed_mps: fix.speed_mps,
        course_deg: fix.course_deg,
        fix: Some(fix.fix),
        sats: fix.sats,
        hdop: fix.hdop,
    }
}
