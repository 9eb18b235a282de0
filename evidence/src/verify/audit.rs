//! The bundle's audit entries (those about the move and its alerts, so not every seq): each
//! entry's hash recomputed from its fields as the store does, and consecutive seqs linked; and
//! each alert's transition made by a person matched by the audit entry its change recorded
//! (`alert.ack`, `alert.resolve`: who, the note, within a minute after).

use chrono::{DateTime, Duration, SubsecRound, Utc};
use convoy_core::alert::AlertState;
use convoy_history::evidence::lines::{AlertLine, AuditLine};

/// How long after a change its audit entry may be written.
const AUDIT_AFTER_CHANGE: Duration = Duration::minutes(1);

/// A person's change of an alert: (alert, action, who, note, when).
type Change = (String, &'static str, String, Option<String>, DateTime<Utc>);

#[derive(Default)]
pub struct AuditCheck {
    pub checked: u64,
    last: Option<(u64, String)>,
    /// Transitions people made, from the alert lines.
    transitions: Vec<Change>,
    /// Alert changes the audit entries record.
    recorded: Vec<Change>,
}

impl AuditCheck {
    pub fn entry(&mut self, line: &AuditLine, failures: &mut Vec<String>) {
        self.checked += 1;
        let what = format!("audit entry {} ({} on {})", line.seq, line.action, line.target);
        match line.entry() {
            None => failures.push(format!("{what}: its time {:?} is not a time", line.at)),
            Some(entry) if entry.computed_hash() != line.hash => {
                failures.push(format!("{what}: its fields no longer give its hash (the entry was changed)"))
            }
            Some(_) => {}
        }
        if let Some((seq, hash)) = &self.last {
            if line.seq <= *seq {
                failures.push(format!("{what}: comes after entry {seq} (entries reordered or repeated)"));
            } else if line.seq == seq + 1 && &line.prev_hash != hash {
                failures.push(format!("{what}: does not link to entry {seq} before it"));
            }
        }
        self.last = Some((line.seq, line.hash.clone()));
        let action = match line.action.as_str() {
            "alert.ack" => "alert.ack",
            "alert.resolve" => "alert.resolve",
            _ => return,
        };
        let (Some(entry), Some(actor)) = (line.entry(), &line.actor) else { return };
        let note = entry.detail_json().get("note").and_then(|n| n.as_str()).map(str::to_string);
        self.recorded.push((line.target.clone(), action, actor.clone(), note, entry.at));
    }

    pub fn alert(&mut self, line: &AlertLine) {
        for t in line.transitions.iter().filter(|t| t.by != convoy_store::BY_RULE) {
            let action = match t.state {
                AlertState::Acknowledged => "alert.ack",
                AlertState::Resolved => "alert.resolve",
                AlertState::Open => continue,
            };
            self.transitions.push((line.id.clone(), action, t.by.clone(), t.note.clone(), t.at));
        }
    }

    /// Each person's transition must have its audit entry.
    pub fn finish(&self, failures: &mut Vec<String>) {
        for (alert, action, by, note, at) in &self.transitions {
            let found = self.recorded.iter().any(|(target, a, actor, n, recorded_at)| {
                target == alert
                    && a == action
                    && actor == by
                    && n == note
                    && *recorded_at >= at.trunc_subsecs(3)
                    && *recorded_at - *at <= AUDIT_AFTER_CHANGE
            });
            if !found {
                failures.push(format!(
                    "alert {alert}: its transition {action} by {by} at {} (note {note:?}) has no matching audit entry (the transition was edited, or its entry removed)",
                    at.to_rfc3339()
                ));
            }
        }
    }
}
