//! Alerts: the rule engine (positions, agent reports and clock ticks in, alert events out; pure
//! and deterministic so that a replay of the record gives the same alerts), the service that
//! runs it beside ingest and records, publishes and notifies every change, the replay, and the
//! notifiers.

pub mod arrival;
pub mod engine;
pub mod notify;
pub mod replay;
pub mod service;

pub use arrival::Arrival;
pub use engine::{AgentHealth, Change, Engine, MoveSpec, RuleEvent};
