//! Seal checkpoints against the `seal` alerts: every seal seen broken or missing opens one
//! alert at once (its `zone` is the seal's number, its time the checkpoint's), and no `seal`
//! alert is without such a checkpoint. An alert removed, added or moved, or a checkpoint
//! changed after it, shows here.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use convoy_core::alert::AlertKind;
use convoy_history::evidence::lines::{AlertLine, SealCheckpointLine};

/// A seal seen not intact: (number, time to the millisecond).
type Sighting = (String, i64);

#[derive(Default)]
pub struct CustodyCheck {
    /// `seal` alerts by sighting, with their ids.
    alerts: BTreeMap<Sighting, String>,
    /// Sightings of broken or missing seals, with their checkpoint's id.
    seen: BTreeMap<Sighting, i64>,
    pub checkpoints: u64,
    pub not_intact: u64,
}

fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

impl CustodyCheck {
    pub fn alert(&mut self, alert: &AlertLine) {
        if alert.kind == AlertKind::Seal {
            let number = alert.zone.clone().unwrap_or_default();
            self.alerts.insert((number, millis(alert.opened_t)), alert.id.clone());
        }
    }

    pub fn checkpoint(&mut self, checkpoint: &SealCheckpointLine) {
        self.checkpoints += 1;
        for seal in checkpoint.seals.iter().filter(|s| s.state != "intact") {
            self.not_intact += 1;
            self.seen.insert((seal.number.clone(), millis(checkpoint.at)), checkpoint.id);
        }
    }

    pub fn finish(&self, failures: &mut Vec<String>) {
        for ((number, at), checkpoint) in &self.seen {
            if !self.alerts.contains_key(&(number.clone(), *at)) {
                failures.push(format!(
                    "seal {number}: checkpoint {checkpoint} saw it broken or missing, but no seal alert opened then (an alert was removed, or the checkpoint changed)"
                ));
            }
        }
        for (sighting, id) in &self.alerts {
            if !self.seen.contains_key(sighting) {
                let number = &sighting.0;
                failures.push(format!(
                    "alert {id}: a seal alert for seal {number} without a checkpoint that saw the seal broken or missing then"
                ));
            }
        }
    }
}
