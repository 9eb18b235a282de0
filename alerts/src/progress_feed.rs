//! Where the engine's progress figures go: the board the gateway reads
//! (`GET /api/v1/moves/{id}/progress`, the live feed's state on connect) and the live feed's
//! `progress` messages. `src/server.rs` hands both in; the gateway never sees this crate.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use convoy_core::live::LiveEvent;
use convoy_core::progress::{ProgressBoard, VehicleProgress};
use tokio::sync::broadcast;

use crate::engine::Engine;

/// The board and the live feed the figures go to.
pub struct ProgressFeed {
    board: Arc<ProgressBoard>,
    /// The live feed's positions channel: a client too slow for it skips some figures as it
    /// skips positions, and is caught up from the board.
    live: broadcast::Sender<LiveEvent>,
    taken: Vec<VehicleProgress>,
}

impl ProgressFeed {
    pub fn new(board: Arc<ProgressBoard>, live: broadcast::Sender<LiveEvent>) -> Self {
        ProgressFeed { board, live, taken: Vec::new() }
    }

    /// Puts the figures of every vehicle with a fix evaluated since the last call on the board
    /// and on the live feed (once per vehicle and move, however many fixes the batch held),
    /// those of the moves running at `now` only: a replay of an ended move's record on start
    /// shows nothing.
    pub(crate) fn publish(&mut self, engine: &mut Engine, now: DateTime<Utc>) {
        engine.take_progress(&mut self.taken);
        for progress in self.taken.drain(..) {
            if !engine.runs_at(&progress.move_id, now) {
                continue;
            }
            self.board.set(progress.clone());
            // No live client is no error.
            let _ = self.live.send(LiveEvent::Progress { progress });
        }
    }

    /// Drops the figures of moves no longer running at `now` (ended, cancelled, past their
    /// window): the board holds running moves only. The live feed is told, so pages stop
    /// showing an arrival for a move that is over.
    pub(crate) fn prune(&self, engine: &Engine, now: DateTime<Utc>) {
        for move_id in self.board.retain_moves(|id| engine.runs_at(id, now)) {
            let _ = self.live.send(LiveEvent::ProgressEnded { move_id });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use convoy_core::plan::MovePlan;
    use convoy_core::rules::RuleSettings;
    use convoy_core::{FixMode, Position, VehicleId};

    fn engine(window_to: DateTime<Utc>) -> Engine {
        let t0 = window_to - chrono::Duration::hours(1);
        let plan = MovePlan::from_json(&serde_json::to_vec(&serde_json::json!({
            "name": "feed",
            "vehicles": ["truck"],
            "route": { "type": "LineString", "coordinates": [[11.0, 48.0], [11.1, 48.0]] },
            "window": { "from": convoy_core::position::format_time(&t0), "to": convoy_core::position::format_time(&window_to) },
        }))
        .unwrap())
        .unwrap();
        let mut engine = Engine::new(RuleSettings::default());
        let spec = crate::MoveSpec { id: "m1".into(), plan, created_at: t0, ended_at: None };
        engine.add_move(&spec).unwrap();
        engine
    }

    fn fix(t: DateTime<Utc>) -> Position {
        Position {
            seq: 1,
            t,
            lat: 48.0,
            lon: 11.05,
            alt_m: None,
            speed_mps: Some(10.0),
            course_deg: None,
            fix: Some(FixMode::ThreeD),
            sats: None,
            hdop: None,
            accuracy_m: None,
        }
    }

    #[test]
    fn figures_reach_the_board_and_the_feed_and_leave_the_board_when_the_move_stops() {
        let end: DateTime<Utc> = "2026-12-07T16:00:00Z".parse().unwrap();
        let mut engine = engine(end);
        let board = Arc::new(ProgressBoard::default());
        let (live, mut feed) = broadcast::channel(16);
        let mut progress = ProgressFeed::new(board.clone(), live);
        let at = end - chrono::Duration::minutes(10);
        engine.on_position(&VehicleId::new("truck").unwrap(), &fix(at), at, &mut Vec::new());
        progress.publish(&mut engine, at);
        assert_eq!(board.of_move("m1").len(), 1);
        match feed.try_recv().unwrap() {
            LiveEvent::Progress { progress } => assert_eq!(progress.vehicle.as_str(), "truck"),
            other => panic!("{other:?}"),
        }
        progress.prune(&engine, at);
        assert_eq!(board.of_move("m1").len(), 1, "still running");
        assert!(feed.try_recv().is_err(), "nothing said while it runs");
        progress.prune(&engine, end + chrono::Duration::seconds(1));
        assert!(board.of_move("m1").is_empty(), "gone once its window closed");
        assert_eq!(feed.try_recv().unwrap(), LiveEvent::ProgressEnded { move_id: "m1".into() });
        progress.prune(&engine, end + chrono::Duration::seconds(2));
        assert!(feed.try_recv().is_err(), "said once");
    }

    #[test]
    fn a_move_not_running_now_publishes_nothing() {
        let end: DateTime<Utc> = "2026-12-07T16:00:00Z".parse().unwrap();
        let mut engine = engine(end);
        let board = Arc::new(ProgressBoard::default());
        let (live, mut feed) = broadcast::channel(16);
        let mut progress = ProgressFeed::new(board.clone(), live);
        let at = end - chrono::Duration::minutes(10);
        engine.on_position(&VehicleId::new("truck").unwrap(), &fix(at), at, &mut Vec::new());
        // A replay on a later start: the record moved the figures, but the move is over.
        progress.publish(&mut engine, end + chrono::Duration::days(1));
        assert!(board.all().is_empty());
        assert!(feed.try_recv().is_err());
    }
}
