//! Replay: runs the rules over what the store holds for a move, in the order the server
//! received it. The live service restores its state this way when it starts or learns of a
//! move, and `convoy alerts replay` uses it to show that the record gives exactly the alerts
//! that were raised.

use chrono::{DateTime, Duration, Utc};
use convoy_core::alert::AlertKind;
use convoy_core::plan::MovePlan;
use convoy_core::wire::MAX_FUTURE_SKEW;
use convoy_store::{AlertFilter, AlertRecord, MoveRecord, Store};

use crate::arrival::{self, Arrival};
use crate::engine::{AgentHealth, Change, Engine, MoveSpec, RuleEvent};

/// The service's clock runs this far behind the wall clock, so that a batch stamped just
/// before a tick but handed over just after it is still seen before the tick (see
/// `service.rs`); a replay's last tick is at the same distance from now.
pub const CLOCK_GRACE: Duration = Duration::seconds(5);

/// A stored move as the engine wants it.
pub fn move_spec(record: &MoveRecord) -> anyhow::Result<MoveSpec> {
    let body = serde_json::to_vec(&record.plan)?;
    let plan =
        MovePlan::from_json(&body).map_err(|e| anyhow::anyhow!("move {}: stored plan: {e}", record.id))?;
    let ended_at = record.end.as_ref().map(|end| end.at);
    Ok(MoveSpec { id: record.id.clone(), plan, created_at: record.created_at, ended_at })
}

/// What a replay at `now` covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// Fix times (and receive times) from here on.
    pub from: DateTime<Utc>,
    /// Fix times before this (exclusive): the window's end, or as far ahead as a fix time may
    /// be when it arrives.
    pub fix_to: DateTime<Utc>,
    /// Everything the server has received, up to now: a fix committed just before a restart
    /// reaches the rules only this way.
    pub until: DateTime<Utc>,
    /// Where the live clock had got to: it runs [`CLOCK_GRACE`] behind, and stops at the
    /// window's end.
    pub last_tick: DateTime<Utc>,
}

pub fn span(spec: &MoveSpec, now: DateTime<Utc>) -> Span {
    let clock = now - CLOCK_GRACE;
    let span = match spec.plan.window {
        Some(window) => Span {
            from: window.from,
            fix_to: window.to + Duration::milliseconds(1),
            until: now,
            last_tick: clock.min(window.to),
        },
        None => Span { from: spec.created_at, fix_to: now + MAX_FUTURE_SKEW, until: now, last_tick: clock },
    };
    // A person's end stops the move as its window's end does (the engine is quiet from it on).
    match spec.ended_at {
        Some(end) => Span { fix_to: span.fix_to.min(end), last_tick: span.last_tick.min(end), ..span },
        None => span,
    }
}

/// Feeds everything stored for the move's vehicles in its span into `engine`, ticking the
/// move's clock at each arrival and at the end, as the live service does.
pub async fn replay_move(
    store: &Store,
    engine: &mut Engine,
    spec: &MoveSpec,
    now: DateTime<Utc>,
    out: &mut Vec<RuleEvent>,
) -> anyhow::Result<()> {
    let Span { from, fix_to, until, last_tick } = span(spec, now);
    if until <= from {
        return Ok(());
    }
    let mut arrivals = Vec::new();
    for vehicle in &spec.plan.vehicles {
        let mut stream = store.track_stream(vehicle, from, fix_to);
        while let Some(stored) = stream.recv().await {
            let stored = stored?;
            if !evaluated(stored.late, stored.implausible.is_some(), stored.received_at, until) {
                continue;
            }
            arrivals.push(Arrival::Position {
                vehicle: vehicle.clone(),
                position: stored.position,
                received_at: stored.received_at,
            });
        }
        for status in store.status_history(vehicle, from, until + Duration::milliseconds(1)).await? {
            let Ok(json) = serde_json::from_str::<serde_json::Value>(&status.status_json) else { continue };
            if let Some(health) = AgentHealth::from_status(&json) {
                arrivals.push(Arrival::Status {
                    vehicle: vehicle.clone(),
                    health,
                    received_at: status.received_at,
                });
            }
        }
    }
    feed_arrivals(engine, &spec.id, &mut arrivals, last_tick, out);
    Ok(())
}

/// Whether a stored fix reaches the rules in a replay covering up to `until`: only fixes
/// stored without marks, received by then.
pub fn evaluated(late: bool, implausible: bool, received_at: DateTime<Utc>, until: DateTime<Utc>) -> bool {
    !late && !implausible && received_at <= until
}

/// Feeds `arrivals` into `engine` in arrival order, ticking the move's clock before each as
/// the live service does, and at the end up to `last_tick`. The store's replay and an evidence
/// bundle's both come through here.
pub fn feed_arrivals(
    engine: &mut Engine,
    move_id: &str,
    arrivals: &mut [Arrival],
    last_tick: DateTime<Utc>,
    out: &mut Vec<RuleEvent>,
) {
    arrival::sort(arrivals);
    for arrival in arrivals.iter() {
        // Live, the clock (running CLOCK_GRACE behind) has ticked up to about here when an
        // arrival is handed over.
        engine.tick_move(move_id, arrival.received_at() - CLOCK_GRACE, out);
        arrival.feed(engine, out);
    }
    // The live clock ticks on wall time, within the window only.
    engine.tick_move(move_id, last_tick, out);
}

/// An incident as both the replay and the stored alerts can state it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Incident {
    pub id: String,
    pub vehicle: String,
    pub kind: AlertKind,
    pub zone: Option<String>,
    pub opened_t: DateTime<Utc>,
    pub cleared_t: Option<DateTime<Utc>>,
    pub late: bool,
}

impl Incident {
    pub fn from_record(record: &AlertRecord) -> Self {
        Incident {
            id: record.id.clone(),
            vehicle: record.vehicle.to_string(),
            kind: record.kind,
            zone: record.zone.clone(),
            opened_t: record.opened_t,
            cleared_t: record.cleared_t,
            late: record.late,
        }
    }
}

/// The incidents a list of events describes.
pub fn incidents(events: &[RuleEvent]) -> Vec<Incident> {
    let mut incidents: Vec<Incident> = Vec::new();
    for event in events {
        match event.change {
            Change::Opened => incidents.push(Incident {
                id: event.alert_id.clone(),
                vehicle: event.vehicle.to_string(),
                kind: event.kind,
                zone: event.zone.clone(),
                opened_t: event.t,
                cleared_t: None,
                late: event.late,
            }),
            Change::Cleared => {
                if let Some(incident) = incidents.iter_mut().rev().find(|i| i.id == event.alert_id) {
                    incident.cleared_t = Some(event.t);
                }
            }
        }
    }
    incidents.sort();
    incidents
}

/// What a replay found against the stored alerts.
#[derive(Debug, PartialEq)]
pub struct ReplayReport {
    pub replayed: Vec<Incident>,
    pub stored: Vec<Incident>,
}

impl ReplayReport {
    pub fn matches(&self) -> bool {
        self.replayed == self.stored
    }

    /// Incidents only the replay has, and incidents only the store has.
    pub fn differences(&self) -> (Vec<&Incident>, Vec<&Incident>) {
        let only_replayed = self.replayed.iter().filter(|i| !self.stored.contains(i)).collect();
        let only_stored = self.stored.iter().filter(|i| !self.replayed.contains(i)).collect();
        (only_replayed, only_stored)
    }
}

/// Replays a stored move with a fresh engine and compares with the alerts stored for it.
pub async fn replay_and_compare(
    store: &Store,
    settings: &convoy_core::rules::RuleSettings,
    move_id: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<ReplayReport> {
    let record = store.move_record(move_id).await?.ok_or_else(|| anyhow::anyhow!("no move {move_id:?}"))?;
    let spec = move_spec(&record)?;
    let mut engine = Engine::new(settings.clone());
    engine.add_move(&spec)?;
    let mut events = Vec::new();
    replay_move(store, &mut engine, &spec, now, &mut events).await?;
    // Only this move's events: a vehicle may take part in other moves too.
    events.retain(|e| e.move_id == spec.id);
    let filter = AlertFilter { move_id: Some(move_id.to_string()), limit: u32::MAX, ..Default::default() };
    let mut stored: Vec<Incident> = store.alerts(&filter).await?.iter().map(Incident::from_record).collect();
    stored.sort();
    Ok(ReplayReport { replayed: incidents(&events), stored })
}
