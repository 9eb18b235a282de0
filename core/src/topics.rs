//! The MQTT topics of the v1 contract.

use crate::vehicle::VehicleId;

/// What ingest subscribes to for positions.
pub const POSITIONS_FILTER: &str = "convoy/v1/vehicles/+/positions";
/// What ingest subscribes to for agent status.
pub const STATUS_FILTER: &str = "convoy/v1/vehicles/+/status";

/// Where a vehicle publishes messages of `kind`.
pub fn vehicle_topic(vehicle: &VehicleId, kind: VehicleTopic) -> String {
    format!("convoy/v1/vehicles/{vehicle}/{}", kind.name())
}

pub fn positions_topic(vehicle: &VehicleId) -> String {
    vehicle_topic(vehicle, VehicleTopic::Positions)
}

pub fn status_topic(vehicle: &VehicleId) -> String {
    vehicle_topic(vehicle, VehicleTopic::Status)
}

/// Where the server publishes a vehicle's alerts, at every change of state.
pub fn alerts_topic(vehicle: &VehicleId) -> String {
    format!("convoy/v1/alerts/{vehicle}")
}

/// What a subscriber to every alert subscribes to.
pub const ALERTS_FILTER: &str = "convoy/v1/alerts/+";

/// The largest agent status a vehicle may publish. The agent's own (its state, version, a
/// dozen counters and its id) stay under 1 KiB; four times that leaves room for fields later
/// versions add, and keeps what a broker holds per vehicle small.
pub const MAX_STATUS_BYTES: usize = 4 * 1024;

/// The kind of message a vehicle topic carries: the only topics a vehicle may publish on, and
/// what each allows. The embedded broker's door takes its rules from here, and ingest reads
/// these same topics; a new topic is added here, in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VehicleTopic {
    Positions,
    Status,
}

impl VehicleTopic {
    pub const ALL: [VehicleTopic; 2] = [VehicleTopic::Positions, VehicleTopic::Status];

    /// The topic's last level, after `convoy/v1/vehicles/{id}/`.
    pub fn name(self) -> &'static str {
        match self {
            VehicleTopic::Positions => "positions",
            VehicleTopic::Status => "status",
        }
    }

    /// The largest payload a vehicle may publish on it.
    pub fn max_payload_bytes(self) -> usize {
        match self {
            VehicleTopic::Positions => crate::wire::MAX_PAYLOAD_BYTES,
            VehicleTopic::Status => MAX_STATUS_BYTES,
        }
    }

    /// Whether a vehicle may publish it with the retain flag, and leave it as its last will:
    /// only its status, so whoever subscribes later sees the vehicle's last state (the agent
    /// keeps it retained, and its will says "offline"). Positions are a stream: a broker
    /// keeps a retained message for good, so a retained position would only cost memory.
    pub fn may_retain(self) -> bool {
        match self {
            VehicleTopic::Positions => false,
            VehicleTopic::Status => true,
        }
    }
}

/// Splits `convoy/v1/vehicles/{id}/{kind}` into its vehicle and kind. The vehicle part is
/// returned raw: the caller validates it, so a bad id is reported as such, not as a bad topic.
pub fn parse_vehicle_topic(topic: &str) -> Option<(&str, VehicleTopic)> {
    let rest = topic.strip_prefix("convoy/v1/vehicles/")?;
    let (vehicle, kind) = rest.split_once('/')?;
    let kind = VehicleTopic::ALL.into_iter().find(|k| k.name() == kind)?;
    Some((vehicle, kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_round_trip() {
        let id = VehicleId::new("truck-07").unwrap();
        let topic = positions_topic(&id);
        assert_eq!(topic, "convoy/v1/vehicles/truck-07/positions");
        assert_eq!(parse_vehicle_topic(&topic), Some(("truck-07", VehicleTopic::Positions)));
        assert_eq!(parse_vehicle_topic(&status_topic(&id)), Some(("truck-07", VehicleTopic::Status)));
    }

    #[test]
    fn foreign_topics_are_not_vehicle_topics() {
        assert_eq!(parse_vehicle_topic("convoy/v1/alerts/truck-07"), None);
        assert_eq!(parse_vehicle_topic("convoy/v1/vehicles/truck-07/other"), None);
        assert_eq!(parse_vehicle_topic("convoy/v1/vehicles/truck-07"), None);
        assert_eq!(parse_vehicle_topic("convoy/v1/vehicles/truck-07/positions/more"), None);
        assert_eq!(parse_vehicle_topic("convoy/v1/vehicles/truck-07/junk/positions"), None);
    }

    #[test]
    fn only_the_status_is_retained_and_each_kind_has_its_size() {
        assert!(VehicleTopic::Status.may_retain());
        assert!(!VehicleTopic::Positions.may_retain());
        assert_eq!(VehicleTopic::Positions.max_payload_bytes(), crate::wire::MAX_PAYLOAD_BYTES);
        assert_eq!(VehicleTopic::Status.max_payload_bytes(), MAX_STATUS_BYTES);
        for kind in VehicleTopic::ALL {
            let id = VehicleId::new("truck-07").unwrap();
            assert_eq!(parse_vehicle_topic(&vehicle_topic(&id, kind)), Some(("truck-07", kind)));
        }
    }
}
