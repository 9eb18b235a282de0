//! The broker's Prometheus metrics. Their names keep the `convoy_gateway_` prefix they had when
//! the broker lived in the gateway: dashboards and alerts of running sites use them.

use prometheus::{IntCounter, IntCounterVec, Opts, Registry};

use crate::door::Refusal;

#[derive(Clone)]
pub struct BrokerMetrics {
    /// Logins refused for bad credentials, at the door or on rumqttd's internal port.
    pub auth_failures: IntCounter,
    /// Connections the front door closed, by reason (see [`Refusal`]).
    pub refused: IntCounterVec,
    /// Vehicle connections closed because a held message was not stored while others were.
    pub unconfirmed: IntCounter,
}

impl BrokerMetrics {
    pub fn new(registry: &Registry) -> prometheus::Result<Self> {
        let metrics = Self {
            auth_failures: IntCounter::new(
                "convoy_gateway_mqtt_auth_failures_total",
                "MQTT connections refused for bad credentials",
            )?,
            refused: IntCounterVec::new(
                Opts::new(
                    "convoy_gateway_mqtt_refused_total",
                    "MQTT connections the embedded broker's front door closed, by reason",
                ),
                &["reason"],
            )?,
            unconfirmed: IntCounter::new(
                "convoy_gateway_mqtt_unconfirmed_closed_total",
                "Vehicle connections closed so the vehicle resends a message ingest never stored",
            )?,
        };
        registry.register(Box::new(metrics.auth_failures.clone()))?;
        registry.register(Box::new(metrics.refused.clone()))?;
        registry.register(Box::new(metrics.unconfirmed.clone()))?;
        for refusal in Refusal::ALL {
            metrics.refused.with_label_values(&[refusal.reason()]);
        }
        Ok(metrics)
    }
}
