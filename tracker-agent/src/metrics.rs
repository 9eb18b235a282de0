//! The agent's metrics in Prometheus text format, written to a file for node_exporter's
//! textfile collector: a truck's box runs no server of ours, and the file costs nothing when
//! nobody reads it.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::Ordering;

use convoy_core::move_windows::WINDOWS_ERROR_REASONS;

use crate::decoder::REJECT_REASONS;
use crate::AgentStats;

/// What the spool reports besides the shared counters.
pub struct SpoolFigures {
    pub depth: u64,
    pub dropped: u64,
    pub oldest_age_s: Option<i64>,
}

pub fn render(stats: &AgentStats, spool: &SpoolFigures, gnss_state: &str) -> String {
    let mut out = String::new();
    let mut counter = |name: &str, help: &str, value: u64| {
        let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n");
    };
    counter(
        "convoy_agent_fixes_total",
        "Fixes read and kept by the sampling policy (spooled, or withheld outside moves)",
        stats.fixes.load(Ordering::Relaxed),
    );
    counter(
        "convoy_agent_no_fix_epochs_total",
        "Receiver epochs without a fix",
        stats.no_fix_epochs.load(Ordering::Relaxed),
    );
    counter(
        "convoy_agent_thinned_total",
        "Stationary fixes left out by the heartbeat policy",
        stats.thinned.load(Ordering::Relaxed),
    );
    counter(
        "convoy_agent_serial_errors_total",
        "Serial device failures and failed reopenings",
        stats.serial_errors.load(Ordering::Relaxed),
    );
    counter(
        "convoy_agent_published_total",
        "Fixes handed to the MQTT client",
        stats.published.load(Ordering::Relaxed),
    );
    counter(
        "convoy_agent_batches_signed_total",
        "Batches handed to the MQTT client signed with the vehicle's key",
        stats.batches_signed.load(Ordering::Relaxed),
    );
    counter("convoy_agent_spool_dropped_total", "Fixes dropped because the spool was full", spool.dropped);
    counter(
        "convoy_agent_withheld_total",
        "Fixes not recorded: outside the vehicle's move windows (privacy = moves_only)",
        stats.withheld.load(Ordering::Relaxed),
    );
    counter(
        "convoy_agent_week_rollover_corrected_total",
        "Fixes whose receiver date was 1024 weeks (or twice that) in the past, corrected",
        stats.week_rollover_corrected.load(Ordering::Relaxed),
    );
    counter(
        "convoy_agent_implausible_date_total",
        "Fixes withheld: dated before the agent's build floor, and no week rollover explains it",
        stats.implausible_dates.load(Ordering::Relaxed),
    );
    let _ = write!(
        out,
        "# HELP convoy_agent_nmea_rejected_total Receiver input set aside, by reason\n# TYPE convoy_agent_nmea_rejected_total counter\n"
    );
    for (reason, count) in REJECT_REASONS.iter().zip(&stats.nmea_rejected) {
        let _ = writeln!(
            out,
            "convoy_agent_nmea_rejected_total{{reason=\"{reason}\"}} {}",
            count.load(Ordering::Relaxed)
        );
    }
    let _ = write!(
        out,
        "# HELP convoy_agent_windows_rejected_total Move windows messages refused, by reason\n# TYPE convoy_agent_windows_rejected_total counter\n"
    );
    for (reason, count) in WINDOWS_ERROR_REASONS.iter().zip(&stats.windows_rejected) {
        let _ = writeln!(
            out,
            "convoy_agent_windows_rejected_total{{reason=\"{reason}\"}} {}",
            count.load(Ordering::Relaxed)
        );
    }
    let _ = write!(
        out,
        "# HELP convoy_agent_spool_depth Fixes waiting for the broker's acknowledgement\n# TYPE convoy_agent_spool_depth gauge\nconvoy_agent_spool_depth {}\n",
        spool.depth
    );
    if let Some(age) = spool.oldest_age_s {
        let _ = write!(
            out,
            "# HELP convoy_agent_spool_oldest_age_seconds Age of the oldest waiting fix\n# TYPE convoy_agent_spool_oldest_age_seconds gauge\nconvoy_agent_spool_oldest_age_seconds {age}\n"
        );
    }
    let _ = write!(out, "# HELP convoy_agent_gnss_state The receiver's state (1 for the current one)\n# TYPE convoy_agent_gnss_state gauge\n");
    for state in ["fix", "no_fix", "no_data"] {
        let _ =
            writeln!(out, "convoy_agent_gnss_state{{state=\"{state}\"}} {}", u8::from(state == gnss_state));
    }
    out
}

/// Writes the metrics aside and renames, so a reader never sees half a file.
pub fn write(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)?;
    // Counters only, for node_exporter, which runs as its own user: readable by all, although
    // the agent's umask (077) makes everything else private.
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644))?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reject_reason_and_state_is_a_sample() {
        let stats = AgentStats::default();
        stats.nmea_rejected[0].store(7, Ordering::Relaxed);
        stats.week_rollover_corrected.store(2, Ordering::Relaxed);
        let text = render(&stats, &SpoolFigures { depth: 3, dropped: 0, oldest_age_s: Some(12) }, "no_fix");
        assert!(text.contains("convoy_agent_nmea_rejected_total{reason=\"bad_checksum\"} 7\n"), "{text}");
        assert!(text.contains("convoy_agent_nmea_rejected_total{reason=\"unparsable\"} 0\n"));
        assert!(text.contains("convoy_agent_spool_depth 3\n"));
        assert!(text.contains("convoy_agent_week_rollover_corrected_total 2\n"), "{text}");
        assert!(text.contains("convoy_agent_implausible_date_total 0\n"), "{text}");
        assert!(text.contains("convoy_agent_spool_oldest_age_seconds 12\n"));
        assert!(text.contains("convoy_agent_gnss_state{state=\"no_fix\"} 1\n"));
        assert!(text.contains("convoy_agent_gnss_state{state=\"fix\"} 0\n"));
    }
}
