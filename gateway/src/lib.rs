//! The gateway: the HTTP API, the web page and the live feed.
//!
//! It reads and writes the store (users, vehicles, positions, moves, alerts) and knows nothing
//! of ingest or the alert engine: they meet in the store, on the broker, and on the channels of
//! [`GatewayEvents`] that the server wires.

mod access;
mod alert_api;
mod alert_history;
mod audit;
mod basemap;
mod checkpoints;
mod daily_report;
mod error;
mod evidence;
mod export;
mod extract;
pub mod forwarded;
#[doc(hidden)]
pub mod fuzzing;
mod health;
mod holds;
mod listener;
mod live;
mod live_ticket;
mod login;
pub mod login_audit;
mod login_holds;
mod metrics;
mod move_edit;
mod move_end;
pub mod move_settings;
mod move_span;
mod moves;
mod openapi;
mod people;
mod people_admin;
pub mod phones;
mod progress;
mod recency;
mod replay_api;
mod reply;
mod report;
pub mod request_span;
mod router;
mod schemas;
mod seals;
mod signed_record;
mod state;
pub mod throttle;
pub mod time_zone;
pub mod tls;
mod track;
pub mod vehicle_keys;
mod vehicle_status;
mod vehicles;
pub mod vehicles_admin;
mod web;

pub use alert_history::ALERT_QUERY_REJECTION_REASONS;
pub use basemap::{BaseMapKind, BaseMapView, SharedBaseMap, BASEMAP_REFUSAL_REASONS};
pub use forwarded::HttpSettings;
pub use listener::{serve, serve_metrics, serve_osmand, serve_tls, MAX_CONNECTIONS, SILENT_NEAR_CAP};
pub use metrics::GatewayMetrics;
pub use move_settings::MoveSettings;
pub use phones::PhoneIntake;
pub use recency::{AccessSettings, DEFAULT_AUDITOR_DELAY_MINUTES};
pub use report::report_json;
pub use router::{route_list, router};
pub use state::{AppState, GatewayEvents, MoveChange};
pub use web::{MapCoordinates, WebSettings};
