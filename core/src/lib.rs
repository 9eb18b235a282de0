//! Convoy's domain: vehicle ids, positions, the versioned wire format, move plans and the
//! geometry that judges a position against a plan.
//!
//! This crate does no I/O and knows nothing of async, MQTT or databases: every other part of
//! Convoy depends on it, and it depends on none of them.

pub mod alert;
pub mod custody;
#[doc(hidden)]
pub mod fuzzing;
pub mod gcj02;
pub mod geometry;
pub mod language;
pub mod live;
mod local_frame;
pub mod log_line;
pub mod move_windows;
pub mod phone;
pub mod plan;
pub mod plausibility;
pub mod position;
pub mod progress;
pub mod route_index;
pub mod rules;
pub mod signing;
pub mod simplify;
pub mod stop;
pub mod time_zone;
pub mod topics;
pub mod vehicle;
pub mod wire;
pub mod zone_index;

pub use language::Language;
pub use position::{FixMode, Position};
pub use vehicle::{VehicleId, VehicleIdError};
pub use wire::{PositionBatch, WireError};
pub mod role;
pub use role::{Ability, Role};
