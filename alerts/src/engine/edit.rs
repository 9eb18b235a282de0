//! A move's plan edited while the engine watches it: the fixes from then on are judged by the
//! new plan, and nothing judged before is judged again.
//!
//! Once a move runs only its team and its end time may change (the gateway refuses the rest),
//! so for a running move an edit moves its end; before it starts, nothing has been judged for
//! it yet, and the whole plan may change. Whatever the edit, each vehicle that stays on the move
//! keeps what it carries (its last fix, its silence, its open alerts): those are facts, not
//! judgements. Only where the route changed is its place along the route found afresh, and
//! only where the zones changed which of them it is inside.

use std::collections::HashMap;

use convoy_core::route_index::RouteIndex;
use convoy_core::zone_index::ZoneIndex;
use convoy_core::VehicleId;

use super::{Engine, EngineError, MoveRuntime, MoveSpec, Slots, VehicleRuntime};

impl Engine {
    /// Replaces a watched move's plan with `spec`'s (a move not watched yet is added). Its end
    /// by a person, if any, stands.
    pub fn replace_plan(&mut self, spec: &MoveSpec) -> Result<(), EngineError> {
        let Some(&m) = self.move_index.get(&spec.id) else {
            return self.add_move(spec);
        };
        let plan = &spec.plan;
        let route =
            RouteIndex::new(&plan.route).ok_or_else(|| EngineError::RouteTooShort(spec.id.clone()))?;
        let settings =
            self.defaults.with_overrides(&plan.rules).map_err(|e| EngineError::Rules(spec.id.clone(), e))?;
        let zones = ZoneIndex::new(&plan.zones);
        let zone_margins =
            (0..plan.zones.len()).map(|i| settings.zone_edge_margin_m.min(zones.margin_cap_m(i))).collect();

        let old = &mut self.moves[m];
        let route_changed = !old.route.same_route(&route);
        let zones_changed = old.zones.zones() != plan.zones.as_slice();
        let mut kept: HashMap<VehicleId, VehicleRuntime> =
            old.vehicles.drain(..).map(|vehicle| (vehicle.id.clone(), vehicle)).collect();
        let slot_of = |v: &VehicleId| plan.vehicles.iter().position(|x| x == v);
        let vehicles = plan
            .vehicles
            .iter()
            .map(|id| {
                let escort = plan.escorts.get(id).and_then(slot_of);
                let Some(mut vehicle) = kept.remove(id) else {
                    return VehicleRuntime::new(id.clone(), escort);
                };
                vehicle.escort = escort;
                if route_changed {
                    vehicle.route_match = None;
                    // Progress along another route says nothing of this one.
                    vehicle.progress = Default::default();
                }
                if zones_changed {
                    vehicle.zones = Default::default();
                }
                vehicle
            })
            .collect();
        *old = MoveRuntime {
            id: spec.id.clone(),
            settings,
            corridor_m: plan.corridor_m,
            window: plan.window,
            created_at: spec.created_at,
            ended_at: old.ended_at.or(spec.ended_at),
            route,
            zones,
            zone_margins,
            vehicles,
        };

        // The progress queue names vehicles by slot: this move's entries go back at the slots
        // its vehicles have now (a vehicle no longer on the move has none).
        self.progress_queue.retain(|&(move_index, _)| move_index as usize != m);
        for (slot, vehicle) in self.moves[m].vehicles.iter().enumerate() {
            if vehicle.progress_queued {
                self.progress_queue.push((m as u32, slot as u32));
            }
        }

        // The vehicles' slots in this move, anew.
        for slots in self.by_vehicle.values_mut() {
            *slots = slots.without_move(m);
        }
        for (slot, vehicle) in plan.vehicles.iter().enumerate() {
            self.by_vehicle.entry(vehicle.clone()).or_default().push((m as u32, slot as u32));
        }
        self.by_vehicle.retain(|_, slots| slots.first.is_some());
        Ok(())
    }
}

impl Slots {
    /// These slots without those of move `m`.
    fn without_move(&self, m: usize) -> Slots {
        let mut rest = Slots::default();
        for (move_index, slot) in self.iter().filter(|&(move_index, _)| move_index != m) {
            rest.push((move_index as u32, slot as u32));
        }
        rest
    }
}
