//! The rules replayed over the bundle's fixes and agent reports, in the order the server
//! received them, exactly as the store's replay does (`convoy_alerts::replay::feed_arrivals`),
//! and compared with the bundle's alerts of the kinds rules make.
//!
//! The arrivals are kept until the end (they must be sorted by receive time across vehicles):
//! about 150 bytes per fix, as for `convoy alerts replay`.

use chrono::{DateTime, Utc};
use convoy_alerts::replay::{evaluated, feed_arrivals, incidents, span, Incident, Span};
use convoy_alerts::{AgentHealth, Arrival, Engine, MoveSpec};
use convoy_core::alert::AlertKind;
use convoy_core::plan::MovePlan;
use convoy_history::evidence::lines::{AgentStatusLine, AlertLine, BundleLine, FixLine, PlanLine};

/// What the comparison found.
#[derive(Debug, Default, PartialEq)]
pub struct RulesReport {
    pub recorded: usize,
    pub replayed: usize,
    /// Alerts no rule makes (`integrity`, `seal`): listed, not replayed.
    pub outside_rules: usize,
}

pub struct Replay {
    engine: Engine,
    spec: MoveSpec,
    span: Span,
    /// Whether the bundle stops before the move does (an auditor's): alerts still open at the
    /// cut are compared as open.
    cut: bool,
    arrivals: Vec<Arrival>,
    recorded: Vec<Incident>,
    outside_rules: usize,
}

impl Replay {
    /// The engine for the move the plan line gives, or why the plan cannot be replayed.
    pub fn new(bundle: &BundleLine, plan: &PlanLine) -> Result<Self, String> {
        let body = serde_json::to_vec(&plan.plan).map_err(|e| e.to_string())?;
        let move_plan = MovePlan::from_json(&body).map_err(|e| format!("the plan does not read: {e}"))?;
        let spec = MoveSpec {
            id: plan.id.clone(),
            plan: move_plan,
            created_at: plan.created_at,
            ended_at: plan.ended_at,
        };
        let mut engine = Engine::new(bundle.rules.clone());
        engine.add_move(&spec).map_err(|e| format!("the plan cannot be replayed: {e}"))?;
        let cut = bundle.cut;
        // Everything received up to the export reached the rules; an auditor's cut bundle has
        // the fixes timed before `until` only, so its replay stops there.
        let mut span = span(&spec, bundle.exported_at);
        if cut {
            span.fix_to = span.fix_to.min(bundle.until);
            span.last_tick = span.last_tick.min(bundle.until);
        }
        Ok(Replay { engine, spec, span, cut, arrivals: Vec::new(), recorded: Vec::new(), outside_rules: 0 })
    }

    pub fn fix(&mut self, line: &FixLine) {
        let t = line.position.t;
        if t < self.span.from || t >= self.span.fix_to {
            return;
        }
        if evaluated(line.late, line.implausible.is_some(), line.received_at, self.span.until) {
            self.arrivals.push(Arrival::Position {
                vehicle: line.vehicle.clone(),
                position: line.position.clone(),
                received_at: line.received_at,
            });
        }
    }

    pub fn status(&mut self, line: &AgentStatusLine) {
        if line.received_at < self.span.from || line.received_at > self.span.until {
            return;
        }
        let Ok(json) = serde_json::from_str::<serde_json::Value>(&line.status) else { return };
        if let Some(health) = AgentHealth::from_status(&json) {
            self.arrivals.push(Arrival::Status {
                vehicle: line.vehicle.clone(),
                health,
                received_at: line.received_at,
            });
        }
    }

    pub fn alert(&mut self, line: &AlertLine) {
        if matches!(line.kind, AlertKind::Integrity | AlertKind::Seal) {
            self.outside_rules += 1;
            return;
        }
        let (cut, last_tick) = (self.cut, self.span.last_tick);
        self.recorded.push(Incident {
            id: line.id.clone(),
            vehicle: line.vehicle.to_string(),
            kind: line.kind,
            zone: line.zone.clone(),
            opened_t: line.opened_t,
            cleared_t: line.cleared_t.filter(|t| !cut || *t <= last_tick),
            late: line.late,
        });
    }

    /// Replays and compares; each difference is a failure.
    pub fn finish(mut self, failures: &mut Vec<String>) -> RulesReport {
        let mut events = Vec::new();
        feed_arrivals(&mut self.engine, &self.spec.id, &mut self.arrivals, self.span.last_tick, &mut events);
        events.retain(|e| e.move_id == self.spec.id);
        let mut replayed = incidents(&events);
        if self.cut {
            // As the bundle's alerts: those opened before the cut, cleared by then or open.
            let last_tick = self.span.last_tick;
            replayed.retain(|i| i.opened_t < last_tick);
            for i in &mut replayed {
                i.cleared_t = i.cleared_t.filter(|t| *t <= last_tick);
            }
        }
        let mut recorded = std::mem::take(&mut self.recorded);
        recorded.sort();
        for r in &recorded {
            match replayed.iter().find(|i| i.id == r.id) {
                None => failures.push(format!(
                    "alert {} ({} of {} opened {}): the rules replayed over the bundle's fixes do not raise it",
                    r.id,
                    r.kind.as_str(),
                    r.vehicle,
                    time(r.opened_t)
                )),
                Some(i) if i != r => failures.push(format!(
                    "alert {} ({} of {}): recorded as opened {} and cleared {}, the replay gives opened {} and cleared {}",
                    r.id,
                    r.kind.as_str(),
                    r.vehicle,
                    time(r.opened_t),
                    r.cleared_t.map_or("never".into(), time),
                    time(i.opened_t),
                    i.cleared_t.map_or("never".into(), time)
                )),
                Some(_) => {}
            }
        }
        for i in replayed.iter().filter(|i| !recorded.iter().any(|r| r.id == i.id)) {
            failures.push(format!(
                "alert {} ({} of {} opened {}): the replay raises it but the bundle has no such alert",
                i.id,
                i.kind.as_str(),
                i.vehicle,
                time(i.opened_t)
            ));
        }
        RulesReport { recorded: recorded.len(), replayed: replayed.len(), outside_rules: self.outside_rules }
    }
}

fn time(t: DateTime<Utc>) -> String {
    convoy_core::position::format_time(&t)
}
