//! Alerts: the rule engine (positions, agent reports and clock ticks in, alert events out; pure
//! and deterministic so that a replay of the record gives the same alerts), the service that
//! runs it beside ingest and records, publishes and notifies every change, the replay, and the
//! notifiers, and each vehicle's progress along its route (`progress_feed`).

mod announcer;
pub mod arrival;
pub mod engine;
pub mod notify;
pub mod outside_alert;
pub mod progress_feed;
pub mod replay;
pub mod service;

pub use announcer::LocaleDefaults;
pub use arrival::Arrival;
pub use engine::{AgentHealth, Change, Engine, MoveSpec, RuleEvent};
pub use outside_alert::OutsideAlert;
pub use progress_feed::ProgressFeed;
