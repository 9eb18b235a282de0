//! How far each vehicle of a running move is along its route, how far it has left, and when it
//! should arrive: what the alert engine works out from each matched fix (`convoy_alerts`'s
//! `engine/progress.rs`), and what the API (`GET /api/v1/moves/{id}/progress`), the live feed
//! (`progress` messages) and the live map show.
//!
//! [`ProgressBoard`] is where the alert service leaves the latest figures and the gateway reads
//! them: one entry per (move, vehicle), dropped when the move stops running, so its size is the
//! running moves' vehicles whatever the fixes.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::position::{deserialize_rfc3339, serialize_millis};
use crate::vehicle::VehicleId;

/// Where a vehicle stands towards its arrival, and so whether there is an estimate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProgressState {
    /// In the corridor and making progress: `eta` is set.
    OnRoute,
    /// Outside the corridor: its progress along the route says nothing about when it arrives.
    OffRoute,
    /// Made (next to) no progress along the route lately: a halt, a jam, a wait.
    Stopped,
    /// Too few fixes yet to tell its pace.
    Measuring,
    /// At the end of the route.
    Arrived,
}

impl ProgressState {
    pub const ALL: [ProgressState; 5] = [
        ProgressState::OnRoute,
        ProgressState::OffRoute,
        ProgressState::Stopped,
        ProgressState::Measuring,
        ProgressState::Arrived,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProgressState::OnRoute => "on_route",
            ProgressState::OffRoute => "off_route",
            ProgressState::Stopped => "stopped",
            ProgressState::Measuring => "measuring",
            ProgressState::Arrived => "arrived",
        }
    }
}

/// One vehicle's progress along its move's route, as of its last evaluated fix.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VehicleProgress {
    #[serde(rename = "move")]
    pub move_id: String,
    pub vehicle: VehicleId,
    pub state: ProgressState,
    /// Metres along the route from its start.
    pub progress_m: f64,
    pub route_length_m: f64,
    /// Metres along the route still to go.
    pub remaining_m: f64,
    /// Progress along the route per second over the last few minutes of fixes; `None` until
    /// there are enough of them.
    #[serde(default)]
    pub speed_mps: Option<f64>,
    /// When the vehicle should reach the route's end at that pace; only when `on_route`.
    #[serde(
        default,
        serialize_with = "serialize_optional_millis",
        deserialize_with = "deserialize_optional"
    )]
    pub eta: Option<DateTime<Utc>>,
    /// The time of the last fix these figures come from.
    #[serde(serialize_with = "serialize_millis", deserialize_with = "deserialize_rfc3339")]
    pub as_of: DateTime<Utc>,
    /// Always true: the arrival is an estimate from recent pace, not a promise.
    pub estimate: bool,
}

fn serialize_optional_millis<S: serde::Serializer>(
    t: &Option<DateTime<Utc>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => serialize_millis(t, s),
        None => s.serialize_none(),
    }
}

fn deserialize_optional<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    #[derive(Deserialize)]
    struct Wrapped(#[serde(deserialize_with = "deserialize_rfc3339")] DateTime<Utc>);
    Ok(Option::<Wrapped>::deserialize(d)?.map(|Wrapped(t)| t))
}

/// The latest progress of each vehicle of each running move: written by the alert service,
/// read by the gateway. Bounded by the running moves' vehicles: the service drops a move's
/// entries when it stops running (or its plan is replaced).
#[derive(Debug, Default)]
pub struct ProgressBoard {
    moves: Mutex<HashMap<String, BTreeMap<VehicleId, VehicleProgress>>>,
}

impl ProgressBoard {
    /// Keeps `progress` as its vehicle's latest for its move.
    pub fn set(&self, progress: VehicleProgress) {
        let mut moves = self.lock();
        moves.entry(progress.move_id.clone()).or_default().insert(progress.vehicle.clone(), progress);
    }

    /// The move's vehicles' progress, by vehicle id; empty for a move with none (not running,
    /// no fix yet, or unknown).
    pub fn of_move(&self, move_id: &str) -> Vec<VehicleProgress> {
        self.lock().get(move_id).map(|vehicles| vehicles.values().cloned().collect()).unwrap_or_default()
    }

    /// Every entry, move by move.
    pub fn all(&self) -> Vec<VehicleProgress> {
        self.lock().values().flat_map(|vehicles| vehicles.values().cloned()).collect()
    }

    /// Drops the moves `keep` says no to; returns their ids.
    pub fn retain_moves(&self, mut keep: impl FnMut(&str) -> bool) -> Vec<String> {
        let mut dropped = Vec::new();
        self.lock().retain(|id, _| {
            let kept = keep(id);
            if !kept {
                dropped.push(id.clone());
            }
            kept
        });
        dropped
    }

    /// Drops one move's entries.
    pub fn forget_move(&self, move_id: &str) {
        self.lock().remove(move_id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, BTreeMap<VehicleId, VehicleProgress>>> {
        // Nothing panics while holding it; if something did, the figures are still whole.
        self.moves.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(move_id: &str, vehicle: &str, progress_m: f64) -> VehicleProgress {
        VehicleProgress {
            move_id: move_id.into(),
            vehicle: VehicleId::new(vehicle).unwrap(),
            state: ProgressState::OnRoute,
            progress_m,
            route_length_m: 1000.0,
            remaining_m: 1000.0 - progress_m,
            speed_mps: Some(10.0),
            eta: Some("2026-12-07T16:42:00Z".parse().unwrap()),
            as_of: "2026-12-07T16:40:30.250Z".parse().unwrap(),
            estimate: true,
        }
    }

    #[test]
    fn the_board_keeps_the_latest_per_vehicle_and_forgets_moves() {
        let board = ProgressBoard::default();
        board.set(progress("m1", "truck-1", 10.0));
        board.set(progress("m1", "truck-1", 20.0));
        board.set(progress("m1", "escort-1", 5.0));
        board.set(progress("m2", "truck-9", 1.0));
        let m1 = board.of_move("m1");
        assert_eq!(m1.len(), 2);
        assert_eq!(m1[1].progress_m, 20.0, "truck-1's latest, after escort-1");
        assert_eq!(board.all().len(), 3);
        assert_eq!(board.retain_moves(|id| id != "m1"), ["m1"]);
        assert!(board.of_move("m1").is_empty());
        assert!(board.retain_moves(|id| id != "m1").is_empty(), "dropped once");
        board.forget_move("m2");
        assert!(board.all().is_empty());
    }

    #[test]
    fn it_serialises_with_millisecond_times_and_reads_back() {
        let p = progress("m1", "truck-1", 10.0);
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["move"], "m1");
        assert_eq!(json["state"], "on_route");
        assert_eq!(json["eta"], "2026-12-07T16:42:00.000Z");
        assert_eq!(json["as_of"], "2026-12-07T16:40:30.250Z");
        assert_eq!(json["estimate"], true);
        assert_eq!(serde_json::from_value::<VehicleProgress>(json).unwrap(), p);
        let none = VehicleProgress { eta: None, speed_mps: None, state: ProgressState::Stopped, ..p };
        let json = serde_json::to_value(&none).unwrap();
        assert!(json["eta"].is_null() && json["speed_mps"].is_null());
        assert_eq!(serde_json::from_value::<VehicleProgress>(json).unwrap(), none);
    }

    #[test]
    fn state_names_are_the_serde_names() {
        for state in ProgressState::ALL {
            assert_eq!(serde_json::to_value(state).unwrap(), state.as_str());
        }
    }
}
