//! The connection limits' Prometheus metrics, labelled by listener (`http`, `mqtt`).

use prometheus::{IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

use crate::gate::ShedReason;

#[derive(Clone)]
pub struct ConnectionMetrics {
    /// The soft open-files limit the caps were derived from.
    pub open_files_limit: IntGauge,
    pub(crate) cap: IntGaugeVec,
    pub(crate) open: IntGaugeVec,
    pub(crate) shed: IntCounterVec,
    pub(crate) accept_failed: IntCounterVec,
}

impl ConnectionMetrics {
    pub fn new(registry: &Registry) -> prometheus::Result<Self> {
        let metrics = Self {
            open_files_limit: IntGauge::new(
                "convoy_open_files_limit",
                "The soft open-files limit (RLIMIT_NOFILE) the connection caps were derived from",
            )?,
            cap: IntGaugeVec::new(
                Opts::new("convoy_connections_max", "The most client connections a listener holds at once"),
                &["listener"],
            )?,
            open: IntGaugeVec::new(
                Opts::new("convoy_connections_open", "Client connections a listener holds now"),
                &["listener"],
            )?,
            shed: IntCounterVec::new(
                Opts::new(
                    "convoy_connections_shed_total",
                    "Client connections closed to stay within the cap, by listener and reason",
                ),
                &["listener", "reason"],
            )?,
            accept_failed: IntCounterVec::new(
                Opts::new(
                    "convoy_connections_accept_failed_total",
                    "Failed accepts (out of file descriptors and the like), by listener",
                ),
                &["listener"],
            )?,
        };
        registry.register(Box::new(metrics.open_files_limit.clone()))?;
        registry.register(Box::new(metrics.cap.clone()))?;
        registry.register(Box::new(metrics.open.clone()))?;
        registry.register(Box::new(metrics.shed.clone()))?;
        registry.register(Box::new(metrics.accept_failed.clone()))?;
        Ok(metrics)
    }

    /// Shows every series of `listener` at zero from the start.
    pub(crate) fn listener(&self, listener: &str) {
        self.open.with_label_values(&[listener]);
        self.accept_failed.with_label_values(&[listener]);
        for reason in ShedReason::ALL {
            self.shed.with_label_values(&[listener, reason.label()]);
        }
    }
}
