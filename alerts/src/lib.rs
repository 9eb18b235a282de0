//! The alert rule engine: positions and clock ticks in, alert events out, pure and
//! deterministic so that a replay of the record gives the same alerts.
//!
//! Not built yet: it arrives with the alerting work (moves, corridors and rules). Until then
//! Convoy tracks and stores positions but raises no alert, and this crate is empty on purpose.
