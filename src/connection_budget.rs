//! How many connections `convoy serve` takes on each listener: its open-files limit raised to
//! the most allowed, and the caps derived from it (`convoy_limits::budget`), logged at start and
//! shown on `/metrics` (`convoy_open_files_limit`, `convoy_connections_max{listener}`).

use std::sync::Arc;

use convoy_limits::{budget, ConnectionMetrics, Gate, Needs};
use convoy_store::Store;
use prometheus::Registry;

use crate::config::{BrokerChoice, ServerConfig};

/// Raises the soft open-files limit to the hard one (a process that holds thousands of
/// connections cannot live within the usual 1,024), and says so.
pub fn raise_open_files_limit() {
    match convoy_limits::open_files::raise_to_hard() {
        Ok((before, after)) => tracing::info!(
            soft = after.soft,
            hard = after.hard,
            was = before.soft,
            "open-files limit (raise the hard one with systemd's LimitNOFILE= for more connections)"
        ),
        Err(e) => tracing::warn!(error = %e, "cannot read or raise the open-files limit"),
    }
}

/// The gates of the HTTP listener and, with the embedded broker, of the MQTT door.
pub struct Gates {
    pub http: Arc<Gate>,
    pub mqtt: Option<Arc<Gate>>,
    /// The `metrics_listen` port's: a scraper or two, out of the process's own reserve.
    pub metrics: Arc<Gate>,
}

/// The most connections the metrics listener holds (Prometheus keeps one open).
const METRICS_CONNECTIONS: usize = 8;

/// Derives the caps from the current open-files limit and what this server holds besides its
/// clients, logs them, and makes the listeners' gates.
pub fn gates(config: &ServerConfig, store: &Store, registry: &Registry) -> anyhow::Result<Gates> {
    let open_files = match convoy_limits::open_files::current() {
        Ok(limits) => limits.soft,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the open-files limit; assuming 1024");
            1024
        }
    };
    let needs = Needs {
        database_descriptors: store.descriptors_at_most(),
        notifiers: config.notifiers.len(),
        embedded_broker: matches!(config.broker, BrokerChoice::Embedded { .. }),
        http_max: convoy_gateway::MAX_CONNECTIONS,
        mqtt_max: convoy_broker::MAX_CONNECTIONS,
    };
    let caps = budget::derive(open_files, &needs);
    tracing::info!(
        open_files = caps.open_files,
        reserve = caps.reserve,
        http = caps.http,
        mqtt = caps.mqtt,
        mqtt_descriptors_each = budget::DESCRIPTORS_PER_VEHICLE,
        "connection caps"
    );
    if caps.starved {
        tracing::warn!(
            open_files = caps.open_files,
            "the open-files limit is too low for the smallest connection caps: raise LimitNOFILE="
        );
    }
    let metrics = ConnectionMetrics::new(registry)?;
    metrics.open_files_limit.set(i64::try_from(caps.open_files).unwrap_or(i64::MAX));
    Ok(Gates {
        http: Gate::new("http", caps.http, convoy_gateway::SILENT_NEAR_CAP, &metrics),
        mqtt: caps.mqtt.map(|cap| Gate::new("mqtt", cap, convoy_broker::SILENT_NEAR_CAP, &metrics)),
        metrics: Gate::new("metrics", METRICS_CONNECTIONS, convoy_gateway::SILENT_NEAR_CAP, &metrics),
    })
}
