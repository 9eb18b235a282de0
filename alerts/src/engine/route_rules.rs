//! Rules that judge a vehicle's own fixes: `off_route`, `unplanned_stop`, `overspeed`.

use chrono::{DateTime, Utc};
use convoy_core::alert::AlertKind;
use convoy_core::route_index::RouteMatch;
use convoy_core::stop::{StopFix, StopRule};
use convoy_core::VehicleId;
use serde_json::json;

use super::{seconds, time, Context, Fix, OpenAlert};

/// `off_route`: outside the corridor for `off_route_after_s` and `off_route_min_fixes`
/// consecutive fixes; cleared after `off_route_resolve_after_s` back inside. A fix inside an
/// origin, destination or allowed-stop zone counts as inside (a depot beside the road).
#[derive(Debug, Default)]
pub(super) struct OffRoute {
    /// The first fix of the current run outside, and how many fixes the run has.
    outside: Option<(Fix, u32)>,
    /// Since when the vehicle is back inside, while the alert is open.
    back_since: Option<DateTime<Utc>>,
    /// The greatest distance of the open incident.
    farthest_m: f64,
    open: Option<OpenAlert>,
}

impl OffRoute {
    pub fn update(&mut self, vehicle: &VehicleId, inside: bool, matched: &RouteMatch, ctx: &mut Context) {
        let s = ctx.settings;
        let fix = ctx.fix;
        if inside {
            self.outside = None;
            let Some(alert) = &self.open else { return };
            let back_since = *self.back_since.get_or_insert(fix.t);
            if seconds(back_since, fix.t) >= s.off_route_resolve_after_s {
                let detail = json!({ "back_since": time(back_since), "farthest_m": round(self.farthest_m) });
                let alert = alert.clone();
                ctx.clear(vehicle, AlertKind::OffRoute, None, alert, detail);
                self.open = None;
                self.back_since = None;
            }
            return;
        }
        self.back_since = None;
        self.farthest_m = self.farthest_m.max(matched.distance_m);
        let (first, count) = self.outside.get_or_insert((fix, 0));
        *count += 1;
        let (first, count) = (*first, *count);
        if self.open.is_none()
            && count >= s.off_route_min_fixes
            && seconds(first.t, fix.t) >= s.off_route_after_s
        {
            self.farthest_m = matched.distance_m;
            let detail = json!({
                "since": time(first.t),
                "exit": { "lat": first.lat, "lon": first.lon },
                "distance_m": round(matched.distance_m),
                "progress_m": round(matched.progress_m),
                "fixes_outside": count,
            });
            self.open = Some(ctx.open(vehicle, AlertKind::OffRoute, None, detail));
        }
    }
}

/// `unplanned_stop`: stopped for `stop_after_s` outside every place where stopping is planned;
/// cleared when the stop ends. What stopped means, and since when, is `convoy_core::stop`: the
/// definition the replay and the move report use too.
#[derive(Debug, Default)]
pub(super) struct Stop {
    /// When and where the current stop (or candidate stop) began: all the rule needs. The
    /// `convoy_core::stop::StopDetector` the replay uses also keeps when the vehicle was seen
    /// standing, which no alert reads.
    began: Option<(DateTime<Utc>, geo::Point)>,
    open: Option<OpenAlert>,
}

impl Stop {
    pub fn update(&mut self, vehicle: &VehicleId, at_allowed_place: bool, ctx: &mut Context) {
        let s = ctx.settings;
        let fix = ctx.fix;
        let seen = StopFix {
            t: fix.t,
            at: geo::Point::new(fix.lon, fix.lat),
            speed_mps: fix.speed_mps,
            implied_mps: fix.implied_mps,
        };
        let (since, place) = *self.began.get_or_insert((fix.t, seen.at));
        if !StopRule::from(s).keeps(place, &seen) {
            if let Some(alert) = self.open.take() {
                let detail = json!({ "since": time(since), "stopped_s": seconds(since, fix.t).round() });
                ctx.clear(vehicle, AlertKind::UnplannedStop, None, alert, detail);
            }
            self.began = Some((fix.t, seen.at));
            return;
        }
        if self.open.is_none() && !at_allowed_place && seconds(since, fix.t) >= s.stop_after_s {
            let detail = json!({
                "since": time(since),
                "place": { "lat": place.y(), "lon": place.x() },
                "stopped_s": seconds(since, fix.t).round(),
            });
            self.open = Some(ctx.open(vehicle, AlertKind::UnplannedStop, None, detail));
        }
    }
}

/// `overspeed`: above the move's speed limit for `overspeed_after_s`; cleared once the speed has
/// stayed at or under the limit less `overspeed_resolve_margin_mps` for
/// `overspeed_resolve_after_s`, as `off_route` clears only after a while back inside.
///
/// Clearing at the first fix under the limit flapped: a truck at its limit dips under it for a
/// second or two (a bend, a car ahead) and is over it again seconds later, one stretch of fast
/// driving rung as several. So a fix between the limit and the margin under it counts for
/// nothing (the truck is about at its limit, not slower), and any fix not clearly slower
/// restarts the clearing: it takes an unbroken run of clearly slower fixes.
#[derive(Debug, Default)]
pub(super) struct Overspeed {
    above_since: Option<DateTime<Utc>>,
    /// Since when the speed is at or under the limit less the margin, while the alert is open.
    slower_since: Option<DateTime<Utc>>,
    top_mps: f64,
    open: Option<OpenAlert>,
}

impl Overspeed {
    pub fn update(&mut self, vehicle: &VehicleId, ctx: &mut Context) {
        let s = ctx.settings;
        let Some(limit) = s.speed_limit_mps else { return };
        let fix = ctx.fix;
        if fix.speed_mps <= limit {
            self.above_since = None;
            let Some(alert) = &self.open else { return };
            if fix.speed_mps > limit - s.overspeed_resolve_margin_mps {
                self.slower_since = None;
                return;
            }
            let slower_since = *self.slower_since.get_or_insert(fix.t);
            if seconds(slower_since, fix.t) >= s.overspeed_resolve_after_s {
                let detail = json!({
                    "limit_mps": limit,
                    "top_mps": round(self.top_mps),
                    "slower_since": time(slower_since),
                });
                let alert = alert.clone();
                ctx.clear(vehicle, AlertKind::Overspeed, None, alert, detail);
                self.open = None;
                self.slower_since = None;
            }
            return;
        }
        self.slower_since = None;
        let since = *self.above_since.get_or_insert(fix.t);
        if self.open.is_none() && seconds(since, fix.t) >= s.overspeed_after_s {
            self.top_mps = fix.speed_mps;
            let detail =
                json!({ "since": time(since), "limit_mps": limit, "speed_mps": round(fix.speed_mps) });
            self.open = Some(ctx.open(vehicle, AlertKind::Overspeed, None, detail));
        }
        self.top_mps = self.top_mps.max(fix.speed_mps);
    }
}

pub(super) fn distance_m(a: &Fix, b: &Fix) -> f64 {
    convoy_core::geometry::short_distance_m(geo::Point::new(a.lon, a.lat), geo::Point::new(b.lon, b.lat))
}

/// Metres and speeds in alert details, to the centimetre.
pub(super) fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}
