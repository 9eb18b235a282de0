//! What a vehicle may do on the broker: publish, subscribe and leave a will only inside its own
//! tree, `convoy/v1/vehicles/{id}/...`, the same rule as Mosquitto's
//! `pattern write convoy/v1/vehicles/%u/#` in deploy/mosquitto.acl.

use convoy_core::VehicleId;

/// A vehicle's own topic tree.
#[derive(Clone, Debug)]
pub struct VehicleTree {
    /// `convoy/v1/vehicles/{id}/`
    prefix: String,
}

impl VehicleTree {
    pub fn new(vehicle: &VehicleId) -> Self {
        Self { prefix: format!("convoy/v1/vehicles/{vehicle}/") }
    }

    /// Whether the vehicle may publish on (or leave a will on) `topic`: a topic below its
    /// prefix. A vehicle id cannot hold `/`, `+` or `#`, so the prefix is literal.
    pub fn may_publish(&self, topic: &str) -> bool {
        topic.strip_prefix(&self.prefix).is_some_and(|rest| !rest.is_empty())
    }

    /// Whether the vehicle may subscribe to `filter`: the filter's first four levels must be
    /// its own prefix, written out (a `+` or `#` there could reach another vehicle).
    pub fn may_subscribe(&self, filter: &str) -> bool {
        self.may_publish(filter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> VehicleTree {
        VehicleTree::new(&VehicleId::new("truck-a").unwrap())
    }

    #[test]
    fn a_vehicle_publishes_in_its_own_tree_only() {
        let tree = tree();
        assert!(tree.may_publish("convoy/v1/vehicles/truck-a/positions"));
        assert!(tree.may_publish("convoy/v1/vehicles/truck-a/status"));
        for foreign in [
            "convoy/v1/vehicles/truck-b/positions",
            "convoy/v1/vehicles/truck-a",
            "convoy/v1/vehicles/truck-a/",
            "convoy/v1/vehicles/truck-ab/positions",
            "convoy/v1/vehicles/truck/positions",
            "convoy/v1/alerts/truck-a",
            "/convoy/v1/vehicles/truck-a/positions",
            "",
        ] {
            assert!(!tree.may_publish(foreign), "{foreign:?}");
        }
    }

    #[test]
    fn a_vehicle_subscribes_in_its_own_tree_only() {
        let tree = tree();
        assert!(tree.may_subscribe("convoy/v1/vehicles/truck-a/#"));
        assert!(tree.may_subscribe("convoy/v1/vehicles/truck-a/+"));
        assert!(tree.may_subscribe("convoy/v1/vehicles/truck-a/status"));
        for foreign in [
            "#",
            "convoy/#",
            "convoy/v1/vehicles/#",
            "convoy/v1/vehicles/+/positions",
            "convoy/v1/vehicles/+/#",
            "convoy/v1/vehicles/truck-b/positions",
            "convoy/v1/alerts/+",
            "$share/g/convoy/v1/vehicles/truck-a/positions",
            "+/v1/vehicles/truck-a/positions",
        ] {
            assert!(!tree.may_subscribe(foreign), "{foreign:?}");
        }
    }
}
