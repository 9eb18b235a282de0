//! What the live feed (`GET /api/v1/live`, a WebSocket) sends: JSON messages tagged by `type`.

use serde::Serialize;

use crate::alert::AlertMessage;
use crate::position::Position;
use crate::progress::VehicleProgress;
use crate::vehicle::VehicleId;

/// One message of the live feed.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveEvent {
    /// A vehicle's new fix, as on the wire.
    Position { vehicle: VehicleId, position: Position },
    /// An alert opened or changed state.
    Alert { alert: AlertMessage },
    /// An agent's health report, as it published it.
    Status { vehicle: VehicleId, status: serde_json::Value },
    /// A vehicle's progress along its move's route, at most once per evaluated fix.
    Progress { progress: VehicleProgress },
    /// The move stopped running (ended, cancelled, past its window): its vehicles' progress
    /// is over.
    ProgressEnded {
        #[serde(rename = "move")]
        move_id: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_tagged_by_type() {
        let status = LiveEvent::Status {
            vehicle: VehicleId::new("truck-07").unwrap(),
            status: serde_json::json!({"state": "online"}),
        };
        let json = serde_json::to_value(&status).unwrap();
        assert_eq!(json["type"], "status");
        assert_eq!(json["vehicle"], "truck-07");
        assert_eq!(json["status"]["state"], "online");
    }
}
