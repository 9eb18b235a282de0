//! What reaches the engine, in the one order both the live service and the replay use.
//!
//! Live, ingest hands over each committed batch; in a replay the same messages come back from
//! the store. Both sort by the moment the server received each message, then reports before
//! fixes, then fix time, vehicle and sequence number, so the engine sees the same sequence
//! either way. Only fixes stored without marks (neither late nor implausible) are evaluated.

use chrono::{DateTime, Utc};
use convoy_core::{Position, VehicleId};

use crate::engine::{AgentHealth, Engine, RuleEvent};

#[derive(Clone, Debug, PartialEq)]
pub enum Arrival {
    Status { vehicle: VehicleId, health: AgentHealth, received_at: DateTime<Utc> },
    Position { vehicle: VehicleId, position: Position, received_at: DateTime<Utc> },
}

impl Arrival {
    pub fn received_at(&self) -> DateTime<Utc> {
        match self {
            Arrival::Status { received_at, .. } | Arrival::Position { received_at, .. } => *received_at,
        }
    }

    fn order_key(&self) -> (DateTime<Utc>, u8, DateTime<Utc>, &str, u64) {
        match self {
            Arrival::Status { vehicle, received_at, .. } => {
                (*received_at, 0, *received_at, vehicle.as_str(), 0)
            }
            Arrival::Position { vehicle, position, received_at } => {
                (*received_at, 1, position.t, vehicle.as_str(), position.seq)
            }
        }
    }

    /// Hands the arrival to the engine.
    pub fn feed(&self, engine: &mut Engine, out: &mut Vec<RuleEvent>) {
        match self {
            Arrival::Status { vehicle, health, received_at } => {
                engine.on_status(vehicle, *health, *received_at, out)
            }
            Arrival::Position { vehicle, position, received_at } => {
                engine.on_position(vehicle, position, *received_at, out)
            }
        }
    }
}

/// Puts arrivals in engine order.
pub fn sort(arrivals: &mut [Arrival]) {
    arrivals.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_come_before_fixes_received_at_the_same_moment_and_fixes_by_time() {
        let at: DateTime<Utc> = "2026-11-28T09:00:00Z".parse().unwrap();
        let vehicle = VehicleId::new("truck").unwrap();
        let position = |seq: u64, s: i64| Position::bare(seq, at - chrono::Duration::seconds(s), 48.0, 11.0);
        let mut arrivals = vec![
            Arrival::Position { vehicle: vehicle.clone(), position: position(2, 1), received_at: at },
            Arrival::Position { vehicle: vehicle.clone(), position: position(1, 2), received_at: at },
            Arrival::Status {
                vehicle: vehicle.clone(),
                health: AgentHealth { online: true, has_fix: true },
                received_at: at,
            },
        ];
        sort(&mut arrivals);
        assert!(matches!(arrivals[0], Arrival::Status { .. }));
        assert!(matches!(&arrivals[1], Arrival::Position { position, .. } if position.seq == 1));
    }
}
