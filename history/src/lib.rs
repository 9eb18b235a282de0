//! Stored history read back, the same way wherever it is shown: the stretch of time a look at
//! a move covers ([`span`]), stops and data gaps ([`stops`]), track files in GPX, GeoJSON, KML
//! and CSV ([`export`]), what a move's report says of each vehicle ([`summary`]), what a vehicle
//! did in a day ([`day`], [`day_summary`]), and the parts of a replay ([`replay`]). The
//! gateway's HTTP handlers add access checks, the audit log and HTTP around these.
//!
//! Pure where it can be: the writers, the stop detection and the summaries take fixes one at a
//! time in fix-time order and never hold a whole track; only [`replay`] reads the store.

pub mod completeness;
pub mod day;
pub mod day_summary;
mod error;
pub mod evidence;
pub mod export;
pub mod replay;
pub mod span;
pub mod stops;
pub mod summary;
mod track_fix;

pub use error::{HistoryError, HISTORY_REJECTION_REASONS};
pub use span::{MoveHistory, Span};
pub use track_fix::TrackFix;
