//! What a vehicle may do on the broker, taken from the v1 topics of `convoy_core::topics`
//! ([`VehicleTopic`]): publish only the topics Convoy reads, on its own tree
//! (`convoy/v1/vehicles/{id}/positions` and `.../status`), each at most its kind's size, with
//! the retain flag only where the kind allows it (status), and leave a last will only on its
//! status. It subscribes to one topic only, its own move windows (`.../windows`, which the
//! server publishes retained for agents set to `privacy = "moves_only"`), at QoS 0 or 1.
//!
//! The rule is narrow because rumqttd keeps what it is given: every retained message for good,
//! one per topic, and a log per subscribed filter. A vehicle allowed any topic under its tree
//! could make it keep a retained message per topic it invents (the probe of issue 20 took the
//! server from 20 MB to 860 MB with 1,200 of 500 KB), and one allowed any filter could make
//! it keep a log per filter (its windows topic is one small log: `WINDOWS_LOG`).
//! Deploy/mosquitto.acl grants the same topics per vehicle.

use convoy_core::move_windows::windows_topic;
use convoy_core::topics::{parse_vehicle_topic, VehicleTopic};
use convoy_core::VehicleId;

use super::Refusal;

/// A vehicle's own topics.
#[derive(Clone, Debug)]
pub struct VehicleTree {
    vehicle: VehicleId,
    /// `convoy/v1/vehicles/{id}/`
    prefix: String,
    /// `convoy/v1/vehicles/{id}/windows`, the one filter it may subscribe to.
    windows: String,
}

impl VehicleTree {
    pub fn new(vehicle: &VehicleId) -> Self {
        Self {
            vehicle: vehicle.clone(),
            prefix: format!("convoy/v1/vehicles/{vehicle}/"),
            windows: windows_topic(vehicle),
        }
    }

    /// Whether the vehicle may publish a message of `payload_len` bytes on `topic`, with
    /// `retain`; the kind of message it is if so. Outside its tree is `ForeignTopic` (posing as
    /// another vehicle); inside it, a topic Convoy does not read is `UnknownTopic`.
    pub fn check_publish(
        &self,
        topic: &str,
        retain: bool,
        payload_len: usize,
    ) -> Result<VehicleTopic, Refusal> {
        let kind = self.own_topic(topic)?;
        if retain && !kind.may_retain() {
            return Err(Refusal::RetainNotAllowed);
        }
        if payload_len > kind.max_payload_bytes() {
            return Err(Refusal::PayloadTooLarge(kind));
        }
        Ok(kind)
    }

    /// Whether the vehicle may leave this last will: its status (retained or not), of the
    /// status's size. The broker publishes it for the vehicle when the connection drops.
    pub fn check_will(&self, topic: &str, retain: bool, message_len: usize) -> Result<(), Refusal> {
        match self.own_topic(topic) {
            Ok(VehicleTopic::Status) => self.check_publish(topic, retain, message_len).map(|_| ()),
            Ok(VehicleTopic::Positions) | Err(Refusal::UnknownTopic) => Err(Refusal::WillNotAllowed),
            Err(_) => Err(Refusal::ForeignWill),
        }
    }

    /// A vehicle subscribes to its own windows topic only, at QoS 0 or 1 (the server publishes
    /// it at 1); a filter that could reach beyond the vehicle's own tree is told apart
    /// (`ForeignSubscription`: an attempt to read others' data).
    pub fn check_subscribe(&self, filter: &str, qos: u8) -> Result<(), Refusal> {
        if filter == self.windows && qos <= 1 {
            Ok(())
        } else if filter.starts_with(&self.prefix) {
            Err(Refusal::SubscriptionNotAllowed)
        } else {
            Err(Refusal::ForeignSubscription)
        }
    }

    /// Whether the vehicle may unsubscribe from `filter`: what it may subscribe to.
    pub fn check_unsubscribe(&self, filter: &str) -> Result<(), Refusal> {
        self.check_subscribe(filter, 0)
    }

    fn own_topic(&self, topic: &str) -> Result<VehicleTopic, Refusal> {
        if !topic.starts_with(&self.prefix) {
            return Err(Refusal::ForeignTopic);
        }
        match parse_vehicle_topic(topic) {
            Some((vehicle, kind)) if vehicle == self.vehicle.as_str() => Ok(kind),
            _ => Err(Refusal::UnknownTopic),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use convoy_core::topics::MAX_STATUS_BYTES;
    use convoy_core::wire::MAX_PAYLOAD_BYTES;

    fn tree() -> VehicleTree {
        VehicleTree::new(&VehicleId::new("truck-a").unwrap())
    }

    #[test]
    fn a_vehicle_publishes_its_positions_and_status_only() {
        let tree = tree();
        assert_eq!(
            tree.check_publish("convoy/v1/vehicles/truck-a/positions", false, 10),
            Ok(VehicleTopic::Positions)
        );
        assert_eq!(
            tree.check_publish("convoy/v1/vehicles/truck-a/status", false, 10),
            Ok(VehicleTopic::Status)
        );
        for foreign in [
            "convoy/v1/vehicles/truck-b/positions",
            "convoy/v1/vehicles/truck-a",
            "convoy/v1/vehicles/truck-ab/positions",
            "convoy/v1/vehicles/truck/positions",
            "convoy/v1/alerts/truck-a",
            "/convoy/v1/vehicles/truck-a/positions",
            "",
        ] {
            assert_eq!(tree.check_publish(foreign, false, 10), Err(Refusal::ForeignTopic), "{foreign:?}");
        }
        for unknown in [
            "convoy/v1/vehicles/truck-a/",
            "convoy/v1/vehicles/truck-a/junk/1",
            "convoy/v1/vehicles/truck-a/notes",
            "convoy/v1/vehicles/truck-a/positions/",
            "convoy/v1/vehicles/truck-a/positions/more",
            "convoy/v1/vehicles/truck-a/status/x",
            "convoy/v1/vehicles/truck-a/Positions",
        ] {
            assert_eq!(tree.check_publish(unknown, false, 10), Err(Refusal::UnknownTopic), "{unknown:?}");
        }
    }

    #[test]
    fn only_the_status_may_be_retained() {
        let tree = tree();
        assert_eq!(
            tree.check_publish("convoy/v1/vehicles/truck-a/status", true, 10),
            Ok(VehicleTopic::Status)
        );
        assert_eq!(
            tree.check_publish("convoy/v1/vehicles/truck-a/positions", true, 10),
            Err(Refusal::RetainNotAllowed)
        );
        // The topic decides first: retained junk is junk.
        assert_eq!(
            tree.check_publish("convoy/v1/vehicles/truck-a/junk/1", true, 10),
            Err(Refusal::UnknownTopic)
        );
    }

    #[test]
    fn each_kind_has_its_largest_payload() {
        let tree = tree();
        let positions = "convoy/v1/vehicles/truck-a/positions";
        let status = "convoy/v1/vehicles/truck-a/status";
        assert_eq!(tree.check_publish(positions, false, MAX_PAYLOAD_BYTES), Ok(VehicleTopic::Positions));
        assert_eq!(
            tree.check_publish(positions, false, MAX_PAYLOAD_BYTES + 1),
            Err(Refusal::PayloadTooLarge(VehicleTopic::Positions))
        );
        assert_eq!(tree.check_publish(status, true, MAX_STATUS_BYTES), Ok(VehicleTopic::Status));
        assert_eq!(
            tree.check_publish(status, true, MAX_STATUS_BYTES + 1),
            Err(Refusal::PayloadTooLarge(VehicleTopic::Status))
        );
        assert_eq!(Refusal::PayloadTooLarge(VehicleTopic::Positions).reason(), "positions_too_large");
        assert_eq!(Refusal::PayloadTooLarge(VehicleTopic::Status).reason(), "status_too_large");
    }

    #[test]
    fn a_will_only_on_its_own_status() {
        let tree = tree();
        // The topic decides before the retain flag: a retained will on positions is no will.
        assert_eq!(
            tree.check_will("convoy/v1/vehicles/truck-a/positions", true, 100),
            Err(Refusal::WillNotAllowed)
        );
        assert_eq!(tree.check_will("convoy/v1/vehicles/truck-a/status", true, 100), Ok(()));
        assert_eq!(tree.check_will("convoy/v1/vehicles/truck-a/status", false, 100), Ok(()));
        assert_eq!(
            tree.check_will("convoy/v1/vehicles/truck-b/status", true, 100),
            Err(Refusal::ForeignWill)
        );
        assert_eq!(
            tree.check_will("convoy/v1/vehicles/truck-a/positions", false, 100),
            Err(Refusal::WillNotAllowed)
        );
        assert_eq!(
            tree.check_will("convoy/v1/vehicles/truck-a/junk", true, 100),
            Err(Refusal::WillNotAllowed)
        );
        assert_eq!(
            tree.check_will("convoy/v1/vehicles/truck-a/status", true, MAX_STATUS_BYTES + 1),
            Err(Refusal::PayloadTooLarge(VehicleTopic::Status))
        );
    }

    #[test]
    fn a_vehicle_subscribes_to_its_own_windows_only() {
        let tree = tree();
        assert_eq!(tree.check_subscribe("convoy/v1/vehicles/truck-a/windows", 1), Ok(()));
        assert_eq!(tree.check_subscribe("convoy/v1/vehicles/truck-a/windows", 0), Ok(()));
        assert_eq!(tree.check_unsubscribe("convoy/v1/vehicles/truck-a/windows"), Ok(()));
        assert_eq!(
            tree.check_subscribe("convoy/v1/vehicles/truck-a/windows", 2),
            Err(Refusal::SubscriptionNotAllowed)
        );
        assert_eq!(
            tree.check_subscribe("convoy/v1/vehicles/truck-b/windows", 1),
            Err(Refusal::ForeignSubscription)
        );
        assert_eq!(
            tree.check_subscribe("convoy/v1/vehicles/+/windows", 1),
            Err(Refusal::ForeignSubscription)
        );
        for own in [
            "convoy/v1/vehicles/truck-a/windows/#",
            "convoy/v1/vehicles/truck-a/windows/+",
            "convoy/v1/vehicles/truck-a/#",
            "convoy/v1/vehicles/truck-a/+",
            "convoy/v1/vehicles/truck-a/status",
            "convoy/v1/vehicles/truck-a/junk/1",
            "convoy/v1/vehicles/truck-a/",
        ] {
            assert_eq!(tree.check_subscribe(own, 1), Err(Refusal::SubscriptionNotAllowed), "{own:?}");
        }
        for foreign in [
            "#",
            "convoy/#",
            "convoy/v1/vehicles/#",
            "convoy/v1/vehicles/truck-a",
            "convoy/v1/vehicles/+/positions",
            "convoy/v1/vehicles/+/#",
            "convoy/v1/vehicles/truck-b/positions",
            "convoy/v1/alerts/+",
            "$share/g/convoy/v1/vehicles/truck-a/positions",
            "+/v1/vehicles/truck-a/positions",
        ] {
            assert_eq!(tree.check_subscribe(foreign, 1), Err(Refusal::ForeignSubscription), "{foreign:?}");
        }
    }
}
