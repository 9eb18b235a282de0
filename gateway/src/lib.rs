//! The gateway: the embedded MQTT broker with a credential per vehicle, and the HTTP API.
//!
//! It reads and writes the store (users, vehicles, positions) and knows nothing of ingest: the
//! two meet only in the store and on the broker.

pub mod auth;
pub mod broker;
mod http;
mod metrics;
mod track;

pub use http::{router, serve, AppState};
pub use metrics::GatewayMetrics;
