//! Each vehicle's move windows, retained on its own `convoy/v1/vehicles/{id}/windows`: an agent
//! set to `privacy = "moves_only"` records and sends fixes taken inside them only. A window is
//! a move's (from its start, or its creation when it has none, to its end if it has one); moves
//! that have ended (their window closed, or a person ended or cancelled them) are left out. A vehicle with no move gets an empty list: record nothing.

use chrono::{DateTime, Utc};
use convoy_core::move_windows::{windows_topic, MoveWindows, Window};
use convoy_core::VehicleId;
use convoy_store::MoveCrew;

use super::Retained;

/// The windows message of every vehicle.
pub fn wanted(vehicles: &[VehicleId], crews: &[MoveCrew], now: DateTime<Utc>) -> Vec<Retained> {
    vehicles
        .iter()
        .map(|vehicle| Retained {
            topic: windows_topic(vehicle),
            payload: windows_of(vehicle, crews, now).encode(),
        })
        .collect()
}

/// The windows of `vehicle`'s moves that have not ended at `now`.
pub fn windows_of(vehicle: &VehicleId, crews: &[MoveCrew], now: DateTime<Utc>) -> MoveWindows {
    let windows = crews
        .iter()
        .filter(|crew| crew.vehicles.contains(vehicle) && !crew.has_ended(now))
        .map(|crew| Window { from: crew.starts_at.unwrap_or(crew.created_at), to: crew.end() })
        .collect();
    MoveWindows::new(vehicle.clone(), windows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn crew(id: &str, vehicles: &[&str], window: (Option<i64>, Option<i64>), now: DateTime<Utc>) -> MoveCrew {
        MoveCrew {
            id: id.to_string(),
            created_at: now - Duration::hours(5),
            vehicles: vehicles.iter().map(|v| VehicleId::new(*v).unwrap()).collect(),
            starts_at: window.0.map(|h| now + Duration::hours(h)),
            ends_at: window.1.map(|h| now + Duration::hours(h)),
            ended_at: None,
            cancelled: false,
            plan_version: 1,
        }
    }

    #[test]
    fn a_vehicle_gets_the_windows_of_its_moves_not_ended() {
        let now = Utc::now();
        let truck = VehicleId::new("truck-a").unwrap();
        let crews = [
            crew("running", &["truck-a", "escort-1"], (Some(-1), Some(2)), now),
            crew("ahead", &["truck-a"], (Some(24), Some(30)), now),
            crew("ended", &["truck-a"], (Some(-10), Some(-2)), now),
            crew("open", &["truck-a"], (None, None), now),
            crew("others", &["truck-b"], (Some(-1), Some(2)), now),
            MoveCrew {
                ended_at: Some(now - Duration::minutes(1)),
                ..crew("ended early", &["truck-a"], (Some(-1), Some(2)), now)
            },
            MoveCrew {
                ended_at: Some(now - Duration::minutes(1)),
                cancelled: true,
                ..crew("cancelled", &["truck-a"], (Some(3), Some(4)), now)
            },
        ];
        let windows = windows_of(&truck, &crews, now);
        assert_eq!(windows.vehicle, truck);
        assert_eq!(
            windows.windows,
            vec![
                // The open move runs from its creation, 5 hours ago, and never ends.
                Window { from: now - Duration::hours(5), to: None },
                Window { from: now - Duration::hours(1), to: Some(now + Duration::hours(2)) },
                Window { from: now + Duration::hours(24), to: Some(now + Duration::hours(30)) },
            ]
        );
        assert!(windows.contains(now));
        let idle = windows_of(&VehicleId::new("truck-c").unwrap(), &crews, now);
        assert!(idle.windows.is_empty());
    }

    #[test]
    fn each_vehicle_gets_its_message_on_its_own_topic() {
        let now = Utc::now();
        let vehicles = [VehicleId::new("truck-a").unwrap(), VehicleId::new("truck-b").unwrap()];
        let crews = [crew("m", &["truck-b"], (Some(-1), Some(1)), now)];
        let messages = wanted(&vehicles, &crews, now);
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].topic, "convoy/v1/vehicles/truck-a/windows");
        let b = MoveWindows::decode(&messages[1].payload, &vehicles[1]).unwrap();
        assert_eq!(messages[1].topic, "convoy/v1/vehicles/truck-b/windows");
        assert!(b.contains(now));
        assert!(!MoveWindows::decode(&messages[0].payload, &vehicles[0]).unwrap().contains(now));
    }
}
