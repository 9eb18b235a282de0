//! The rule engine: positions, agent reports and clock ticks in, alert events out.
//!
//! Pure and deterministic: no I/O, no clock of its own. Given the same inputs in the same order
//! it gives the same events, which is what makes `convoy alerts replay` evidence. Inputs are
//! fed in arrival order; a fix that is not newer than the vehicle's last evaluated fix (a
//! redelivery or a late fix of a backlog) is skipped: it is on the record but cannot change
//! what already happened. Every rule runs on fix time except `signal_lost`, which runs on the
//! time the server received messages and on ticks of its clock.
//!
//! Beside the alerts, each evaluated fix moves its vehicle's progress along the route
//! (`progress.rs`: how far along, how far left, an estimated arrival), taken with
//! [`Engine::take_progress`].
//!
//! Each rule is a small state machine per vehicle and move (see the files beside this one).
//! A rule opens at most one alert at a time per vehicle and kind (per zone for zone kinds) and
//! clears it itself.

mod edit;
mod fleet;
mod health;
mod progress;
mod route_rules;
mod zone_rules;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use convoy_core::alert::AlertKind;
use convoy_core::plan::{MovePlan, TimeWindow};
use convoy_core::progress::VehicleProgress;
use convoy_core::route_index::RouteIndex;
use convoy_core::rules::{RuleSettings, RuleSettingsError};
use convoy_core::zone_index::ZoneIndex;
use convoy_core::{Position, VehicleId};
use sha2::{Digest, Sha256};

pub use health::AgentHealth;

/// What an event does to its alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Opened,
    /// The rule saw the condition end.
    Cleared,
}

/// One decision of a rule.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleEvent {
    /// Derived from the move, vehicle, kind, zone and opening time: the same incident has the
    /// same id live and in a replay.
    pub alert_id: String,
    pub kind: AlertKind,
    pub change: Change,
    pub move_id: String,
    pub vehicle: VehicleId,
    /// The zone's name, for zone kinds.
    pub zone: Option<String>,
    /// The fix time that decided it (server time for `signal_lost`, and for `gnss_lost`, which
    /// the agent's reports decide).
    pub t: DateTime<Utc>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub detail: serde_json::Value,
    /// Decided from a fix that arrived long after it was taken: recorded, not rung.
    pub late: bool,
}

/// A move as the engine needs it.
#[derive(Clone, Debug)]
pub struct MoveSpec {
    pub id: String,
    pub plan: MovePlan,
    /// When the move was created: with no window, it is active from then on.
    pub created_at: DateTime<Utc>,
    /// When a person ended or cancelled the move: it is quiet from then on (by fix time, as
    /// its window is), whatever its window says.
    pub ended_at: Option<DateTime<Utc>>,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("move {0}: the route has fewer than two distinct points")]
    RouteTooShort(String),
    #[error("move {0}: {1}")]
    Rules(String, RuleSettingsError),
}

/// Highest speed assumed along the route when matching a fix after a gap, in m/s.
const MAX_ROUTE_SPEED_MPS: f64 = 70.0;

/// The rule engine.
#[derive(Debug)]
pub struct Engine {
    defaults: RuleSettings,
    moves: Vec<MoveRuntime>,
    move_index: HashMap<String, usize>,
    /// Which (move, vehicle slot) pairs a vehicle takes part in.
    by_vehicle: HashMap<VehicleId, Slots>,
    /// Zones holding the current fix or near it, with how deep inside (reused between fixes).
    zone_buffer: Vec<(u32, bool)>,
    /// The (move, vehicle slot) pairs with a fix evaluated since [`Engine::take_progress`] last
    /// ran, each once (`VehicleRuntime::progress_queued`): at most one per pair, whatever the
    /// fixes.
    progress_queue: Vec<(u32, u32)>,
}

#[derive(Debug)]
struct MoveRuntime {
    id: String,
    settings: RuleSettings,
    corridor_m: f64,
    window: Option<TimeWindow>,
    created_at: DateTime<Utc>,
    ended_at: Option<DateTime<Utc>>,
    route: RouteIndex,
    zones: ZoneIndex,
    /// Each zone's edge margin: `zone_edge_margin_m`, less for a zone too small for it.
    zone_margins: Vec<f64>,
    vehicles: Vec<VehicleRuntime>,
}

/// The (move, vehicle slot) pairs of a vehicle: nearly always one, kept inline so that finding
/// it costs no extra memory access.
#[derive(Debug, Default)]
struct Slots {
    first: Option<(u32, u32)>,
    more: Vec<(u32, u32)>,
}

impl Slots {
    fn push(&mut self, slot: (u32, u32)) {
        match self.first {
            None => self.first = Some(slot),
            Some(_) => self.more.push(slot),
        }
    }

    fn iter(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.first.into_iter().chain(self.more.iter().copied()).map(|(m, s)| (m as usize, s as usize))
    }
}

/// The last evaluated fix of a vehicle.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Fix {
    t: DateTime<Utc>,
    seq: u64,
    lat: f64,
    lon: f64,
    /// As the receiver reports it, else as implied by the previous fix.
    speed_mps: f64,
    /// The average speed from the previous fix to this one (0 for the first).
    implied_mps: f64,
}

/// An alert a rule holds open.
#[derive(Clone, Debug, PartialEq)]
struct OpenAlert {
    id: String,
}

#[derive(Debug)]
struct VehicleRuntime {
    id: VehicleId,
    /// The slot of the vehicle escorting this one.
    escort: Option<usize>,
    last_fix: Option<Fix>,
    /// When the server last received a message from this vehicle.
    last_heard: Option<DateTime<Utc>>,
    route_match: Option<convoy_core::route_index::RouteMatch>,
    /// Its progress along the route, for the estimated arrival.
    progress: progress::ProgressTracker,
    /// Whether it waits in `Engine::progress_queue`.
    progress_queued: bool,
    off_route: route_rules::OffRoute,
    stop: route_rules::Stop,
    overspeed: route_rules::Overspeed,
    zones: zone_rules::ZoneState,
    convoy: fleet::ConvoyWatch,
    signal: health::Signal,
    gnss: health::Gnss,
}

impl Engine {
    pub fn new(defaults: RuleSettings) -> Self {
        Engine {
            defaults,
            moves: Vec::new(),
            move_index: HashMap::new(),
            by_vehicle: HashMap::new(),
            zone_buffer: Vec::new(),
            progress_queue: Vec::new(),
        }
    }

    /// Adds a move (a move already added is left as it is).
    pub fn add_move(&mut self, spec: &MoveSpec) -> Result<(), EngineError> {
        if self.move_index.contains_key(&spec.id) {
            return Ok(());
        }
        let plan = &spec.plan;
        let route =
            RouteIndex::new(&plan.route).ok_or_else(|| EngineError::RouteTooShort(spec.id.clone()))?;
        let settings =
            self.defaults.with_overrides(&plan.rules).map_err(|e| EngineError::Rules(spec.id.clone(), e))?;
        let slot_of = |v: &VehicleId| plan.vehicles.iter().position(|x| x == v);
        let zones = ZoneIndex::new(&plan.zones);
        let zone_margins =
            (0..plan.zones.len()).map(|i| settings.zone_edge_margin_m.min(zones.margin_cap_m(i))).collect();
        let index = self.moves.len();
        for (slot, vehicle) in plan.vehicles.iter().enumerate() {
            self.by_vehicle.entry(vehicle.clone()).or_default().push((index as u32, slot as u32));
        }
        self.moves.push(MoveRuntime {
            id: spec.id.clone(),
            settings,
            corridor_m: plan.corridor_m,
            window: plan.window,
            created_at: spec.created_at,
            ended_at: spec.ended_at,
            route,
            zones,
            zone_margins,
            vehicles: plan
                .vehicles
                .iter()
                .map(|v| VehicleRuntime::new(v.clone(), plan.escorts.get(v).and_then(slot_of)))
                .collect(),
        });
        self.move_index.insert(spec.id.clone(), index);
        Ok(())
    }

    pub fn has_move(&self, id: &str) -> bool {
        self.move_index.contains_key(id)
    }

    /// A person ended or cancelled the move at `at`: nothing at or after it is evaluated for
    /// the move. Its open alerts stay as they are, for people to resolve, as when a window
    /// closes. An unknown move, or one ended already, is left as it is (the first end stands).
    /// Returns whether this ended it.
    pub fn end_move(&mut self, id: &str, at: DateTime<Utc>) -> bool {
        match self.move_index.get(id) {
            Some(&m) if self.moves[m].ended_at.is_none() => {
                self.moves[m].ended_at = Some(at);
                true
            }
            _ => false,
        }
    }

    /// Evaluates one fix of `vehicle`, received by the server at `received_at`.
    pub fn on_position(
        &mut self,
        vehicle: &VehicleId,
        fix: &Position,
        received_at: DateTime<Utc>,
        out: &mut Vec<RuleEvent>,
    ) {
        let Engine { by_vehicle, moves, zone_buffer, progress_queue, .. } = self;
        let Some(slots) = by_vehicle.get(vehicle) else {
            return;
        };
        for (m, slot) in slots.iter() {
            let mv = &mut moves[m];
            if !mv.active_at(fix.t) {
                continue;
            }
            // At debug level, what the rules made of this fix for this move. Off, not even a
            // disabled span is made: with tracing's `log` feature (on through tower) that cost
            // the engine a tenth of its speed (docs/BENCHMARKS.md).
            let _evaluation = tracing::level_enabled!(tracing::Level::DEBUG).then(|| {
                tracing::debug_span!("evaluate", r#move = %mv.id, vehicle = %vehicle, seq = fix.seq).entered()
            });
            mv.heard(slot, received_at, out);
            let evaluated = mv.evaluate(slot, fix, received_at, zone_buffer, out);
            let vehicle = &mut mv.vehicles[slot];
            if evaluated && !vehicle.progress_queued {
                vehicle.progress_queued = true;
                progress_queue.push((m as u32, slot as u32));
            }
        }
    }

    /// The progress of each vehicle with a fix evaluated since the last call, as of its latest
    /// fix (once per vehicle and move, however many fixes).
    pub fn take_progress(&mut self, out: &mut Vec<VehicleProgress>) {
        for (m, slot) in self.progress_queue.drain(..) {
            let mv = &mut self.moves[m as usize];
            let vehicle = &mut mv.vehicles[slot as usize];
            vehicle.progress_queued = false;
            out.extend(vehicle.progress.figures(&mv.id, &vehicle.id, mv.route.length_m()));
        }
    }

    /// Whether the move is watched and runs at `t` (inside its window, not ended).
    pub fn runs_at(&self, id: &str, t: DateTime<Utc>) -> bool {
        self.move_index.get(id).is_some_and(|&m| self.moves[m].active_at(t))
    }

    /// The watched moves `vehicle` is in that run at `t`.
    pub fn moves_of(&self, vehicle: &VehicleId, t: DateTime<Utc>) -> Vec<String> {
        let Some(slots) = self.by_vehicle.get(vehicle) else { return Vec::new() };
        slots
            .iter()
            .map(|(m, _)| &self.moves[m])
            .filter(|mv| mv.active_at(t))
            .map(|mv| mv.id.clone())
            .collect()
    }

    /// Takes an agent's health report, received at `received_at`.
    pub fn on_status(
        &mut self,
        vehicle: &VehicleId,
        health: AgentHealth,
        received_at: DateTime<Utc>,
        out: &mut Vec<RuleEvent>,
    ) {
        let Engine { by_vehicle, moves, .. } = self;
        let Some(slots) = by_vehicle.get(vehicle) else {
            return;
        };
        for (m, slot) in slots.iter() {
            let mv = &mut moves[m];
            if !mv.active_at(received_at) {
                continue;
            }
            if health.online {
                mv.heard(slot, received_at, out);
            }
            mv.gnss_report(slot, health, received_at, out);
        }
    }

    /// The server's clock says `now`: raises `signal_lost` and `gnss_lost` that are due.
    pub fn tick(&mut self, now: DateTime<Utc>, out: &mut Vec<RuleEvent>) {
        for mv in &mut self.moves {
            if mv.active_at(now) {
                mv.tick(now, out);
            }
        }
    }

    /// Like [`Engine::tick`], for one move only (a replay).
    pub fn tick_move(&mut self, move_id: &str, now: DateTime<Utc>, out: &mut Vec<RuleEvent>) {
        if let Some(&m) = self.move_index.get(move_id) {
            let mv = &mut self.moves[m];
            if mv.active_at(now) {
                mv.tick(now, out);
            }
        }
    }
}

impl VehicleRuntime {
    fn new(id: VehicleId, escort: Option<usize>) -> Self {
        VehicleRuntime {
            id,
            escort,
            last_fix: None,
            last_heard: None,
            route_match: None,
            progress: Default::default(),
            progress_queued: false,
            off_route: Default::default(),
            stop: Default::default(),
            overspeed: Default::default(),
            zones: Default::default(),
            convoy: Default::default(),
            signal: Default::default(),
            gnss: Default::default(),
        }
    }
}

impl MoveRuntime {
    fn active_at(&self, t: DateTime<Utc>) -> bool {
        let in_window = match self.window {
            Some(w) => w.from <= t && t <= w.to,
            None => self.created_at <= t,
        };
        in_window && self.ended_at.is_none_or(|end| t < end)
    }

    /// When the vehicle's silence is counted from if it was never heard.
    fn active_since(&self) -> DateTime<Utc> {
        self.window.map_or(self.created_at, |w| w.from)
    }

    fn evaluate(
        &mut self,
        slot: usize,
        position: &Position,
        received_at: DateTime<Utc>,
        zone_buffer: &mut Vec<(u32, bool)>,
        out: &mut Vec<RuleEvent>,
    ) -> bool {
        let previous = self.vehicles[slot].last_fix;
        if previous.is_some_and(|last| (position.t, position.seq) <= (last.t, last.seq)) {
            tracing::debug!("fix skipped: not newer than the last one evaluated");
            return false;
        }
        let fix = Fix::new(position, previous.as_ref());
        let late = (received_at - fix.t).num_milliseconds() as f64 > self.settings.late_after_s * 1000.0;
        let escort_fix = self.vehicles[slot].escort.and_then(|e| self.vehicles[e].last_fix);
        let mut ctx = Context { move_id: &self.id, settings: &self.settings, fix, late, out };

        let vehicle = &mut self.vehicles[slot];
        vehicle.gnss.fix_seen(&vehicle.id, &mut ctx);

        let p = geo::Point::new(fix.lon, fix.lat);
        let since_last_s = previous.map_or(0.0, |last| (fix.t - last.t).num_milliseconds() as f64 / 1000.0);
        let max_advance_m = MAX_ROUTE_SPEED_MPS * since_last_s + 50.0;
        let matched = self.route.locate(p, vehicle.route_match.as_ref(), self.corridor_m, max_advance_m);
        vehicle.route_match = Some(matched);

        zone_buffer.clear();
        self.zones.for_each_near(p, self.settings.zone_edge_margin_m, |i, holds| {
            zone_buffer.push((i as u32, holds))
        });
        zone_buffer.sort_unstable_by_key(|&(i, _)| i);
        let at_allowed_place = zone_buffer
            .iter()
            .any(|&(i, holds)| holds && zone_rules::allows_stops(&self.zones.zones()[i as usize]));

        let inside_corridor = matched.distance_m <= self.corridor_m || at_allowed_place;
        // A fix counts as off the corridor only when its whole accuracy circle is (a phone's
        // `acc`; the agent reports none): a phone saying ±500 m beside the road is not off route
        // by itself. One whose circle reaches into the corridor proves nothing either way and
        // leaves the rule as it was: it neither adds to a run outside nor counts as back.
        let outside_for_sure =
            !inside_corridor && matched.distance_m - position.accuracy_m.unwrap_or(0.0) > self.corridor_m;
        if inside_corridor || outside_for_sure {
            vehicle.off_route.update(&vehicle.id, inside_corridor, &matched, &mut ctx);
        }
        vehicle.progress.record(fix.t, matched.progress_m, inside_corridor);
        vehicle.stop.update(&vehicle.id, at_allowed_place, &mut ctx);
        vehicle.overspeed.update(&vehicle.id, &mut ctx);
        let depth_m = |i: u32| self.zones.depth_m(i as usize, p);
        vehicle.zones.update(
            &vehicle.id,
            zone_buffer,
            depth_m,
            &self.zone_margins,
            self.zones.zones(),
            &mut ctx,
        );
        if let Some(escort) = escort_fix {
            vehicle.convoy.update(&vehicle.id, &escort, &mut ctx);
        }
        vehicle.last_fix = Some(fix);
        if tracing::level_enabled!(tracing::Level::DEBUG) {
            tracing::debug!(
                distance_m = matched.distance_m,
                inside_corridor,
                zones = zone_buffer.len(),
                late,
                "fix evaluated"
            );
        }
        true
    }

    /// A message from the vehicle arrived: raise `signal_lost` if the silence before it was
    /// long enough (the tick may not have come yet), then clear it.
    fn heard(&mut self, slot: usize, received_at: DateTime<Utc>, out: &mut Vec<RuleEvent>) {
        let since = self.active_since();
        let vehicle = &mut self.vehicles[slot];
        vehicle.signal.check(
            &self.id,
            &vehicle.id,
            &self.settings,
            vehicle.last_heard.unwrap_or(since),
            received_at,
            out,
        );
        vehicle.signal.heard(&self.id, &vehicle.id, received_at, out);
        vehicle.last_heard = Some(vehicle.last_heard.map_or(received_at, |t| t.max(received_at)));
    }

    fn gnss_report(
        &mut self,
        slot: usize,
        health: AgentHealth,
        received_at: DateTime<Utc>,
        out: &mut Vec<RuleEvent>,
    ) {
        let vehicle = &mut self.vehicles[slot];
        vehicle.gnss.report(&self.id, &vehicle.id, &self.settings, health, received_at, out);
    }

    fn tick(&mut self, now: DateTime<Utc>, out: &mut Vec<RuleEvent>) {
        let since = self.active_since();
        for vehicle in &mut self.vehicles {
            vehicle.signal.check(
                &self.id,
                &vehicle.id,
                &self.settings,
                vehicle.last_heard.unwrap_or(since),
                now,
                out,
            );
            vehicle.gnss.check(&self.id, &vehicle.id, &self.settings, now, out);
        }
    }
}

impl Fix {
    fn new(position: &Position, previous: Option<&Fix>) -> Self {
        let implied_mps = previous.map_or(0.0, |last| {
            convoy_core::stop::implied_speed_mps(
                geo::Point::new(last.lon, last.lat),
                last.t,
                geo::Point::new(position.lon, position.lat),
                position.t,
            )
        });
        Fix {
            t: position.t,
            seq: position.seq,
            lat: position.lat,
            lon: position.lon,
            // A fix without a reported speed gets the speed implied by the previous fix.
            speed_mps: position.speed_mps.unwrap_or(implied_mps),
            implied_mps,
        }
    }
}

/// What a rule needs to know about the fix being evaluated, and where its events go.
struct Context<'a> {
    move_id: &'a str,
    settings: &'a RuleSettings,
    fix: Fix,
    late: bool,
    out: &'a mut Vec<RuleEvent>,
}

impl Context<'_> {
    /// Opens an alert decided by this fix; returns what the rule keeps.
    fn open(
        &mut self,
        vehicle: &VehicleId,
        kind: AlertKind,
        zone: Option<&str>,
        detail: serde_json::Value,
    ) -> OpenAlert {
        let id = alert_id(self.move_id, vehicle, kind, zone, self.fix.t);
        tracing::debug!(alert = %id, kind = kind.as_str(), zone, "rule opens an alert");
        self.out.push(RuleEvent {
            alert_id: id.clone(),
            kind,
            change: Change::Opened,
            move_id: self.move_id.to_string(),
            vehicle: vehicle.clone(),
            zone: zone.map(str::to_string),
            t: self.fix.t,
            lat: Some(self.fix.lat),
            lon: Some(self.fix.lon),
            detail,
            late: self.late,
        });
        OpenAlert { id }
    }

    /// Clears an alert this fix ends.
    fn clear(
        &mut self,
        vehicle: &VehicleId,
        kind: AlertKind,
        zone: Option<&str>,
        alert: OpenAlert,
        detail: serde_json::Value,
    ) {
        tracing::debug!(alert = %alert.id, kind = kind.as_str(), zone, "rule clears an alert");
        self.out.push(RuleEvent {
            alert_id: alert.id,
            kind,
            change: Change::Cleared,
            move_id: self.move_id.to_string(),
            vehicle: vehicle.clone(),
            zone: zone.map(str::to_string),
            t: self.fix.t,
            lat: Some(self.fix.lat),
            lon: Some(self.fix.lon),
            detail,
            late: self.late,
        });
    }
}

/// The alert id of an incident: the same live and in a replay, opaque, safe in a URL.
pub fn alert_id(
    move_id: &str,
    vehicle: &VehicleId,
    kind: AlertKind,
    zone: Option<&str>,
    opened: DateTime<Utc>,
) -> String {
    let mut hash = Sha256::new();
    for part in [move_id, vehicle.as_str(), kind.as_str(), zone.unwrap_or("")] {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    hash.update(opened.timestamp_micros().to_be_bytes());
    hex::encode(&hash.finalize()[..12])
}

/// Seconds from `a` to `b`.
fn seconds(a: DateTime<Utc>, b: DateTime<Utc>) -> f64 {
    (b - a).num_milliseconds() as f64 / 1000.0
}

fn time(t: DateTime<Utc>) -> String {
    convoy_core::position::format_time(&t)
}

#[cfg(test)]
mod tests;
