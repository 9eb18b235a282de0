//! `convoy_broken`: the escort vehicle more than `escort_max_distance_m` from its cargo vehicle
//! for `convoy_broken_after_s`, opened at a fix where the cargo vehicle moves. Judged at the
//! cargo vehicle's fixes against the escort's last fix; cleared when they are close again.

use chrono::{DateTime, Utc};
use convoy_core::alert::AlertKind;
use convoy_core::VehicleId;
use serde_json::json;

use super::route_rules::{distance_m, round};
use super::{seconds, time, Context, Fix, OpenAlert};

#[derive(Debug, Default)]
pub(super) struct ConvoyWatch {
    apart_since: Option<DateTime<Utc>>,
    open: Option<OpenAlert>,
}

impl ConvoyWatch {
    pub fn update(&mut self, vehicle: &VehicleId, escort: &Fix, ctx: &mut Context) {
        let s = ctx.settings;
        let fix = ctx.fix;
        let apart_m = distance_m(&fix, escort);
        if apart_m <= s.escort_max_distance_m {
            self.apart_since = None;
            if let Some(alert) = self.open.take() {
                ctx.clear(
                    vehicle,
                    AlertKind::ConvoyBroken,
                    None,
                    alert,
                    json!({ "apart_m": round(apart_m) }),
                );
            }
            return;
        }
        let since = *self.apart_since.get_or_insert(fix.t);
        // A parked cargo vehicle is not running away from its escort: the alert waits until it
        // moves (a stop at a light does not restart the count).
        let moving = fix.speed_mps >= s.stop_speed_mps;
        if moving && self.open.is_none() && seconds(since, fix.t) >= s.convoy_broken_after_s {
            let detail = json!({
                "since": time(since),
                "apart_m": round(apart_m),
                "escort_seen": time(escort.t),
            });
            self.open = Some(ctx.open(vehicle, AlertKind::ConvoyBroken, None, detail));
        }
    }
}
