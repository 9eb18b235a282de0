//! Alerts no rule opens: something seen outside the fixes, told to the alert service, which
//! records and announces them like the rules' (`Input::Outside`).
//!
//! - `integrity`: ingest found a vehicle's signed track does not hold (a bad signature, a
//!   chain that does not link, a key not valid at that time); opened on each move the vehicle
//!   runs in then.
//! - `seal`: an escort recorded a seal seen broken or missing at a checkpoint; opened on that
//!   move.
//!
//! Neither clears itself: a person resolves it. A replay of the rules does not make them (they
//! are not decided by fixes); they stay on the record as they were opened.

use chrono::{DateTime, Utc};
use convoy_core::alert::AlertKind;
use convoy_core::VehicleId;

use crate::engine::{alert_id, Change, Engine, RuleEvent};

/// An alert opened from outside the rules.
#[derive(Clone, Debug, PartialEq)]
pub struct OutsideAlert {
    pub kind: AlertKind,
    pub vehicle: VehicleId,
    /// The move it belongs to; `None`: every move the vehicle runs in at `t`.
    pub move_id: Option<String>,
    /// When it was seen (for `integrity`, the fix time of the batch; for `seal`, the
    /// checkpoint's).
    pub t: DateTime<Utc>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// What tells this incident from another of the same kind at the same time (a seal's
    /// number, a batch's last seq): part of the alert id, shown as the alert's `zone` field.
    pub subject: Option<String>,
    pub detail: serde_json::Value,
}

impl OutsideAlert {
    /// The alert events that open it: one per move it belongs to, none if the vehicle is in
    /// no watched running move (then only its own record, a dead letter or a checkpoint, says
    /// so).
    pub fn events(&self, engine: &Engine) -> Vec<RuleEvent> {
        let moves = match &self.move_id {
            Some(id) if engine.has_move(id) => vec![id.clone()],
            Some(_) => Vec::new(),
            None => engine.moves_of(&self.vehicle, self.t),
        };
        moves
            .into_iter()
            .map(|move_id| RuleEvent {
                alert_id: alert_id(&move_id, &self.vehicle, self.kind, self.subject.as_deref(), self.t),
                kind: self.kind,
                change: Change::Opened,
                move_id,
                vehicle: self.vehicle.clone(),
                zone: self.subject.clone(),
                t: self.t,
                lat: self.lat,
                lon: self.lon,
                detail: self.detail.clone(),
                late: false,
            })
            .collect()
    }
}
