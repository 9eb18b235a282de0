//! Zone rules: entering a forbidden zone (`zone_enter`, open while inside), leaving the origin
//! (`zone_exit`) and arriving at the destination (`zone_enter`). Departure and arrival are
//! notices: opened and cleared by the same fix, so they ring once and need no resolving. Edges
//! have a band (`zone_edge_margin_m`) so that GNSS noise along an edge does not flap them.

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
    /// Whether a fix was evaluated yet: the first one is taken as it is, with no band.
    started: bool,
    /// The zones the vehicle counts as inside (sorted indices).
    inside: Vec<u32>,
    /// Where the next fix's zones are gathered (kept to spare an allocation per fix).
    next: Vec<u32>,
    /// Open `zone_enter` alerts of forbidden zones, by zone index.
    open: Vec<(u32, OpenAlert)>,
}

impl ZoneState {
    /// `near`: the zones near the fix (within the edge margin of their bounding box), sorted by
    /// index, each with whether it holds the fix; `depth_m`: how deep inside a zone the fix is
    /// (negative outside), asked only of a zone the fix is on the other side of from the
    /// vehicle's last known side (it costs a pass over the zone's edges); `margins`: each
    /// zone's edge margin.
    ///
    /// Hysteresis at the edge, by distance rather than by time: a vehicle counts as having
    /// entered a zone once a fix is `margin` inside its edge, and as having left it once a fix
    /// is `margin` outside. Fixes in the band between change nothing, so a vehicle driving
    /// along the edge with GNSS noise smaller than the margin enters (and rings) once, or never.
    /// A dwell time would delay every entry by that time and still flap on noise that outlasts
    /// it; the margin costs about a second of driving and needs no timer. A vehicle's first
    /// fix has nothing to hold and is taken by the edge itself.
    pub fn update(
        &mut self,
        vehicle: &VehicleId,
        near: &[(u32, bool)],
        depth_m: impl Fn(u32) -> f64,
        margins: &[f64],
        zones: &[Zone],
        ctx: &mut Context,
    ) {
        self.next.clear();
        for &(i, holds) in near {
            let was_inside = self.inside.binary_search(&i).is_ok();
            let margin = margins[i as usize];
            let inside = match (self.started, was_inside, holds) {
                (false, _, _) => holds,
                (true, true, true) | (true, false, false) => holds,
                (true, true, false) => depth_m(i) >= -margin,
                (true, false, true) => depth_m(i) >= margin,
            };
            if inside {
                self.next.push(i);
            }
        }
        self.started = true;
        if self.inside == self.next {
            return;
        }
        let (before, now_inside) = (&self.inside, &self.next);
        for &left in before.iter().filter(|i| now_inside.binary_search(i).is_err()) {
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
        for &entered in now_inside.iter().filter(|i| before.binary_search(i).is_err()) {
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
        std::mem::swap(&mut self.inside, &mut self.next);
    }
}

fn notice(vehicle: &VehicleId, kind: AlertKind, zone: &Zone, ctx: &mut Context) {
    let alert = ctx.open(vehicle, kind, Some(&zone.name), detail(zone));
    ctx.clear(vehicle, kind, Some(&zone.name), alert, detail(zone));
}

fn detail(zone: &Zone) -> serde_json::Value {
    json!({ "zone": zone.name, "zone_kind": zone.kind })
}
