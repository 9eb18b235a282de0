//! Zone rules: entering a forbidden zone (`zone_enter`, open while inside), leaving the origin
//! (`zone_exit`) and arriving at the destination (`zone_enter`). Departure and arrival are
//! notices: opened and cleared by the same fix, so they ring once and need no resolving.

use convoy_core::alert::AlertKind;
use convoy_core::plan::{Zone, ZoneKind};
use convoy_core::VehicleId;
use serde_json::json;

use super::{Context, OpenAlert};

/// Whether a planned stop may happen in the zone.
pub(super) fn allows_stops(zone: &Zone) -> bool {
    matches!(zone.kind, ZoneKind::Origin | ZoneKind::Destination | ZoneKind::AllowedStop)
}

#[derive(Debug, Default)]
pub(super) struct ZoneState {
    /// The zones the previous fix was in (sorted indices).
    inside: Vec<u32>,
    /// Open `zone_enter` alerts of forbidden zones, by zone index.
    open: Vec<(u32, OpenAlert)>,
}

impl ZoneState {
    pub fn update(&mut self, vehicle: &VehicleId, now_inside: &[u32], zones: &[Zone], ctx: &mut Context) {
        if self.inside == now_inside {
            return;
        }
        for &left in self.inside.iter().filter(|i| now_inside.binary_search(i).is_err()) {
            let zone = &zones[left as usize];
            match zone.kind {
                ZoneKind::Forbidden => {
                    if let Some(at) = self.open.iter().position(|(i, _)| *i == left) {
                        let (_, alert) = self.open.swap_remove(at);
                        ctx.clear(vehicle, AlertKind::ZoneEnter, Some(&zone.name), alert, detail(zone));
                    }
                }
                ZoneKind::Origin => notice(vehicle, AlertKind::ZoneExit, zone, ctx),
                ZoneKind::Destination | ZoneKind::AllowedStop => {}
            }
        }
        for &entered in now_inside.iter().filter(|i| self.inside.binary_search(i).is_err()) {
            let zone = &zones[entered as usize];
            match zone.kind {
                ZoneKind::Forbidden => {
                    let alert = ctx.open(vehicle, AlertKind::ZoneEnter, Some(&zone.name), detail(zone));
                    self.open.push((entered, alert));
                }
                ZoneKind::Destination => notice(vehicle, AlertKind::ZoneEnter, zone, ctx),
                ZoneKind::Origin | ZoneKind::AllowedStop => {}
            }
        }
        self.inside.clear();
        self.inside.extend_from_slice(now_inside);
    }
}

fn notice(vehicle: &VehicleId, kind: AlertKind, zone: &Zone, ctx: &mut Context) {
    let alert = ctx.open(vehicle, kind, Some(&zone.name), detail(zone));
    ctx.clear(vehicle, kind, Some(&zone.name), alert, detail(zone));
}

fn detail(zone: &Zone) -> serde_json::Value {
    json!({ "zone": zone.name, "zone_kind": zone.kind })
}
