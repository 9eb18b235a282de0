//! Reads the receiver: opens the serial device (and reopens it when it disappears), decodes
//! its bytes into epochs, corrects receiver dates past a GPS week rollover ([`crate::rollover`]),
//! and hands the fixes on to be spooled.

use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::Utc;
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;
use tokio_serial::SerialPortBuilderExt;
use tokio_util::sync::CancellationToken;

use crate::clock::ClockWatch;
use crate::decoder::Decoder;
use crate::epoch::{Epoch, Fix};
use crate::rollover::{self, Anchor, Verdict};
use crate::sampler::Sampler;
use crate::{AgentConfig, AgentStats};

/// With no byte for this long, the epoch in progress is complete: a receiver sends an epoch's
/// sentences in one burst, so a pause ends it without waiting for the next epoch's first
/// sentence (a second later at 1 Hz).
const QUIET_FLUSH: Duration = Duration::from_millis(250);
/// The longest wait between attempts to reopen a vanished device.
const MAX_REOPEN_BACKOFF: Duration = Duration::from_secs(5);

/// Reads until `shutdown` is cancelled; every fix kept by the sampling policy goes to `fixes`.
pub async fn run(
    config: &AgentConfig,
    fixes: mpsc::UnboundedSender<Fix>,
    stats: &AgentStats,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut backoff = Duration::from_millis(100);
    let mut decoder = Decoder::new();
    let mut sampler = Sampler::new(config.heartbeat);
    let mut clock = ClockWatch::default();
    let mut emit = |mut epoch: Epoch| {
        stats.last_epoch_ms.store(Utc::now().timestamp_millis(), Ordering::Relaxed);
        stats.last_epoch_had_fix.store(matches!(epoch, Epoch::Fix(_)), Ordering::Relaxed);
        if let Epoch::Fix(fix) = &mut epoch {
            // A date from the host clock is the host's: only the receiver's is checked.
            if !fix.date_from_host_clock {
                let anchor = config.time_reference.anchor(Utc::now(), rollover::host_clock_synced());
                if !date_checked(fix, anchor, stats) {
                    return;
                }
            }
            if let Some(jump) = clock.observe(Utc::now(), fix.t).filter(|_| !fix.date_from_host_clock) {
                stats.clock_jumps.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    jump_s = jump.num_seconds(),
                    "the host clock jumped against the receiver's; fixes keep the receiver's time"
                );
            }
        }
        match epoch {
            Epoch::NoFix => {
                stats.no_fix_epochs.fetch_add(1, Ordering::Relaxed);
            }
            Epoch::Fix(fix) if !sampler.keep(&fix) => {
                stats.thinned.fetch_add(1, Ordering::Relaxed);
            }
            Epoch::Fix(fix) => {
                stats.fixes.fetch_add(1, Ordering::Relaxed);
                // The receiver of this channel only stops after the reader.
                let _ = fixes.send(fix);
            }
        }
    };
    while !shutdown.is_cancelled() {
        let mut port = match tokio_serial::new(config.serial.to_string_lossy(), config.baud)
            .open_native_async()
        {
            Ok(port) => {
                tracing::info!(device = %config.serial.display(), baud = config.baud, "serial device open");
                backoff = Duration::from_millis(100);
                decoder.reset_framing();
                port
            }
            Err(e) => {
                stats.serial_errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(device = %config.serial.display(), error = %e, retry_in = ?backoff, "cannot open serial device");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    () = shutdown.cancelled() => {}
                }
                backoff = (backoff * 2).min(MAX_REOPEN_BACKOFF);
                continue;
            }
        };
        let mut buf = vec![0u8; 4096];
        loop {
            let read = tokio::select! {
                read = tokio::time::timeout(QUIET_FLUSH, port.read(&mut buf)) => read,
                () = shutdown.cancelled() => break,
            };
            match read {
                Err(_quiet) => {
                    if let Some(epoch) = decoder.flush(Utc::now()) {
                        emit(epoch);
                    }
                }
                Ok(Ok(0)) | Ok(Err(_)) => {
                    stats.serial_errors.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(device = %config.serial.display(), "serial device closed or failed; reopening");
                    tokio::time::sleep(backoff).await;
                    break;
                }
                Ok(Ok(n)) => {
                    let mut epochs = Vec::new();
                    decoder.push(&buf[..n], Utc::now(), |epoch| epochs.push(epoch));
                    for epoch in epochs {
                        emit(epoch);
                    }
                    for ((_, count), stat) in decoder.rejected().zip(&stats.nmea_rejected) {
                        stat.store(count, Ordering::Relaxed);
                    }
                }
            }
        }
    }
    if let Some(epoch) = decoder.flush(Utc::now()) {
        emit(epoch);
    }
    Ok(())
}

/// Corrects a receiver date past a GPS week rollover, marks and counts it; false when the date
/// is implausible and the fix is withheld (it is counted).
fn date_checked(fix: &mut Fix, anchor: Anchor, stats: &AgentStats) -> bool {
    match rollover::check(fix.t, anchor) {
        (Verdict::Kept, _) => true,
        (Verdict::Corrected { rollovers }, t) => {
            if stats.week_rollover_corrected.fetch_add(1, Ordering::Relaxed) == 0 {
                tracing::warn!(receiver = %fix.t, corrected = %t, rollovers, ?anchor, "the receiver's date is past a GPS week rollover; correcting it");
            }
            fix.t = t;
            fix.week_rollover_corrected = true;
            true
        }
        (Verdict::Implausible, _) => {
            if stats.implausible_dates.fetch_add(1, Ordering::Relaxed) == 0 {
                tracing::warn!(receiver = %fix.t, ?anchor, "the receiver's date is before the agent was built and no week rollover explains it; withholding such fixes");
            }
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollover::{TimeReference, ROLLOVER};
    use chrono::{DateTime, Duration};
    use convoy_core::FixMode;

    fn fix(t: DateTime<Utc>) -> Fix {
        Fix {
            t,
            lat: 48.0,
            lon: 11.0,
            alt_m: None,
            speed_mps: None,
            course_deg: None,
            fix: FixMode::ThreeD,
            sats: None,
            hdop: None,
            date_from_host_clock: false,
            week_rollover_corrected: false,
        }
    }

    #[test]
    fn a_rolled_over_date_is_corrected_marked_and_counted_and_an_implausible_one_withheld() {
        let stats = AgentStats::default();
        let now = DateTime::parse_from_rfc3339("2027-05-04T10:00:00Z").unwrap().to_utc();
        let synced = TimeReference::Host.anchor(now, true);

        let mut today = fix(now - Duration::seconds(1));
        assert!(date_checked(&mut today, synced, &stats));
        assert_eq!((today.t, today.week_rollover_corrected), (now - Duration::seconds(1), false));

        let mut rolled = fix(now - ROLLOVER);
        assert!(date_checked(&mut rolled, synced, &stats));
        assert_eq!((rolled.t, rolled.week_rollover_corrected), (now, true));
        assert_eq!(stats.week_rollover_corrected.load(Ordering::Relaxed), 1);

        // Dated 2006 and no rollover of today: never published as today's.
        let mut garbage = fix(now - ROLLOVER - Duration::days(200));
        assert!(!date_checked(&mut garbage, synced, &stats));
        assert_eq!(stats.implausible_dates.load(Ordering::Relaxed), 1);
        assert_eq!(stats.week_rollover_corrected.load(Ordering::Relaxed), 1);
    }
}
