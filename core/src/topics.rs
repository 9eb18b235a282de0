//! The MQTT topics of the v1 contract.

use crate::vehicle::VehicleId;

/// What ingest subscribes to for positions.
pub const POSITIONS_FILTER: &str = "convoy/v1/vehicles/+/positions";
/// What ingest subscribes to for agent status.
pub const STATUS_FILTER: &str = "convoy/v1/vehicles/+/status";

pub fn positions_topic(vehicle: &VehicleId) -> String {
    format!("convoy/v1/vehicles/{vehicle}/positions")
}

pub fn status_topic(vehicle: &VehicleId) -> String {
    format!("convoy/v1/vehicles/{vehicle}/status")
}

/// Where the server publishes a vehicle's alerts, at every change of state.
pub fn alerts_topic(vehicle: &VehicleId) -> String {
    format!("convoy/v1/alerts/{vehicle}")
}

/// What a subscriber to every alert subscribes to.
pub const ALERTS_FILTER: &str = "convoy/v1/alerts/+";

/// The kind of message a vehicle topic carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VehicleTopic {
    Positions,
    Status,
}

/// Splits `convoy/v1/vehicles/{id}/{kind}` into its vehicle and kind. The vehicle part is
/// returned raw: the caller validates it, so a bad id is reported as such, not as a bad topic.
pub fn parse_vehicle_topic(topic: &str) -> Option<(&str, VehicleTopic)> {
    let rest = topic.strip_prefix("convoy/v1/vehicles/")?;
    let (vehicle, kind) = rest.split_once('/')?;
    let kind = match kind {
        "positions" => VehicleTopic::Positions,
        "status" => VehicleTopic::Status,
        _ => return None,
    };
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
    }
}
