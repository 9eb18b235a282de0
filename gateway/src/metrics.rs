//! The gateway's Prometheus metrics.

use prometheus::{IntCounter, IntCounterVec, Opts, Registry};

#[derive(Clone)]
pub struct GatewayMetrics {
    pub logins: IntCounterVec,
    pub mqtt_auth_failures: IntCounter,
    /// Connections the MQTT front door closed, by reason (see `mqtt_door::Refusal`).
    pub mqtt_refused: IntCounterVec,
    /// Vehicle connections closed because a held message was not stored while others were.
    pub mqtt_unconfirmed: IntCounter,
    pub plans_rejected: IntCounterVec,
    /// Requests for stored history (track files, exports, replays, reports) refused as bad
    /// input, by reason (see `move_span::HISTORY_REJECTION_REASONS`).
    pub history_rejected: IntCounterVec,
}

impl GatewayMetrics {
    pub fn new(registry: &Registry) -> prometheus::Result<Self> {
        let metrics = Self {
            logins: IntCounterVec::new(
                Opts::new("convoy_gateway_logins_total", "Logins by outcome"),
                &["outcome"],
            )?,
            mqtt_auth_failures: IntCounter::new(
                "convoy_gateway_mqtt_auth_failures_total",
                "MQTT connections refused for bad credentials",
            )?,
            mqtt_refused: IntCounterVec::new(
                Opts::new(
                    "convoy_gateway_mqtt_refused_total",
                    "MQTT connections the embedded broker's front door closed, by reason",
                ),
                &["reason"],
            )?,
            mqtt_unconfirmed: IntCounter::new(
                "convoy_gateway_mqtt_unconfirmed_closed_total",
                "Vehicle connections closed so the vehicle resends a message ingest never stored",
            )?,
            plans_rejected: IntCounterVec::new(
                Opts::new("convoy_gateway_plans_rejected_total", "Move plans refused, by reason"),
                &["reason"],
            )?,
            history_rejected: IntCounterVec::new(
                Opts::new(
                    "convoy_gateway_history_requests_rejected_total",
                    "Requests for exports, replays and reports refused as bad input, by reason",
                ),
                &["reason"],
            )?,
        };
        registry.register(Box::new(metrics.logins.clone()))?;
        registry.register(Box::new(metrics.plans_rejected.clone()))?;
        for reason in convoy_core::plan::PLAN_REJECTION_REASONS {
            metrics.plans_rejected.with_label_values(&[reason]);
        }
        registry.register(Box::new(metrics.history_rejected.clone()))?;
        for reason in crate::move_span::HISTORY_REJECTION_REASONS {
            metrics.history_rejected.with_label_values(&[reason]);
        }
        registry.register(Box::new(metrics.mqtt_auth_failures.clone()))?;
        registry.register(Box::new(metrics.mqtt_refused.clone()))?;
        registry.register(Box::new(metrics.mqtt_unconfirmed.clone()))?;
        for refusal in crate::mqtt_door::Refusal::ALL {
            metrics.mqtt_refused.with_label_values(&[refusal.reason()]);
        }
        for outcome in ["ok", "refused", "throttled"] {
            metrics.logins.with_label_values(&[outcome]);
        }
        Ok(metrics)
    }
}
