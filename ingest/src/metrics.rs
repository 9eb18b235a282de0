//! Ingest's Prometheus metrics. Labels are bounded: a reason, never a vehicle id.

use std::time::Duration;

use convoy_store::WriteOutcome;
use prometheus::{Counter, Histogram, HistogramOpts, IntCounter, IntCounterVec, Opts, Registry};

#[derive(Clone)]
pub struct IngestMetrics {
    pub positions: IntCounter,
    pub duplicates: IntCounter,
    pub rejected: IntCounterVec,
    pub store_errors: IntCounter,
    pub commit_seconds: Histogram,
    /// Signed batches refused (kept as dead letters), by reason (`verify::REASONS`).
    pub integrity_refused: IntCounterVec,
    /// Signed batches of vehicles with no key registered, stored unsigned.
    pub signed_without_key: IntCounter,
    /// CPU time spent verifying signed tracks (chains hashed, signatures checked).
    pub verify_seconds: Counter,
    /// Signatures checked (one per run of linked batches of a vehicle in a commit).
    pub signatures_checked: IntCounter,
}

impl IngestMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn new(registry: &Registry) -> prometheus::Result<Self> {
        let metrics = Self {
            positions: IntCounter::new(
                "convoy_ingest_positions_total",
                "Positions stored for the first time",
            )?,
            duplicates: IntCounter::new(
                "convoy_ingest_duplicates_total",
                "Positions received again (redelivery) and left as stored",
            )?,
            rejected: IntCounterVec::new(
                Opts::new(
                    "convoy_ingest_rejected_total",
                    "Messages refused and kept as dead letters, by reason",
                ),
                &["reason"],
            )?,
            store_errors: IntCounter::new(
                "convoy_ingest_store_errors_total",
                "Failed commits (the batch is held and retried)",
            )?,
            commit_seconds: Histogram::with_opts(HistogramOpts::new(
                "convoy_ingest_commit_seconds",
                "Time to check and commit one batch",
            ))?,
            integrity_refused: IntCounterVec::new(
                Opts::new(
                    "convoy_ingest_integrity_refused_total",
                    "Signed tracks refused and kept as dead letters, by reason",
                ),
                &["reason"],
            )?,
            signed_without_key: IntCounter::new(
                "convoy_ingest_signed_without_key_total",
                "Signed batches of vehicles with no key registered, stored unsigned",
            )?,
            verify_seconds: Counter::new(
                "convoy_ingest_verify_seconds_total",
                "Time spent verifying signed tracks: chains hashed and signatures checked",
            )?,
            signatures_checked: IntCounter::new(
                "convoy_ingest_signatures_checked_total",
                "Signatures of signed tracks checked (one vouches for a run of linked batches)",
            )?,
        };
        registry.register(Box::new(metrics.verify_seconds.clone()))?;
        registry.register(Box::new(metrics.signatures_checked.clone()))?;
        registry.register(Box::new(metrics.integrity_refused.clone()))?;
        registry.register(Box::new(metrics.signed_without_key.clone()))?;
        for reason in crate::verify::REASONS {
            metrics.integrity_refused.with_label_values(&[reason]);
        }
        registry.register(Box::new(metrics.positions.clone()))?;
        registry.register(Box::new(metrics.duplicates.clone()))?;
        registry.register(Box::new(metrics.rejected.clone()))?;
        registry.register(Box::new(metrics.store_errors.clone()))?;
        registry.register(Box::new(metrics.commit_seconds.clone()))?;
        let reasons = convoy_core::wire::WIRE_ERROR_REASONS
            .iter()
            .chain(convoy_core::phone::PHONE_ERROR_REASONS)
            .chain(crate::INGEST_REJECTION_REASONS);
        for reason in reasons {
            metrics.rejected.with_label_values(&[reason]);
        }
        Ok(metrics)
    }

    pub(crate) fn rejected(&self, reason: &str) {
        self.rejected.with_label_values(&[reason]).inc();
    }

    pub(crate) fn committed(&self, outcome: &WriteOutcome, took: Duration) {
        self.positions.inc_by(outcome.inserted);
        self.duplicates.inc_by(outcome.duplicates);
        self.commit_seconds.observe(took.as_secs_f64());
    }
}
