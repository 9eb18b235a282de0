//! Rules on the vehicle's link and receiver: `signal_lost` (no message for
//! `signal_lost_after_s`, by the server's clock) and `gnss_lost` (the agent, online, reports no
//! fix for `gnss_lost_after_s`).
//!
//! Both open at the moment the silence became long enough (last heard + threshold), not at the
//! tick that noticed it, so a replay that ticks at other moments opens the same alert.

use chrono::{DateTime, Duration, Utc};
use convoy_core::alert::AlertKind;
use convoy_core::rules::RuleSettings;
use convoy_core::VehicleId;
use serde_json::json;

use super::{alert_id, seconds, time, Change, Context, OpenAlert, RuleEvent};

/// What an agent's status message says about its health.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AgentHealth {
    /// `state` is `online` (an `offline` status is the broker's last will for the agent).
    pub online: bool,
    /// `gnss` is `fix`: the receiver has a position.
    pub has_fix: bool,
}

impl AgentHealth {
    /// Reads a status message (`{"state":"online","gnss":"no_fix",...}`); `None` if it says
    /// neither.
    pub fn from_status(status: &serde_json::Value) -> Option<Self> {
        let online = match status.get("state")?.as_str()? {
            "online" => true,
            "offline" => false,
            _ => return None,
        };
        let has_fix = status.get("gnss").and_then(|g| g.as_str()).is_none_or(|g| g == "fix");
        Some(AgentHealth { online, has_fix })
    }
}

#[derive(Debug, Default)]
pub(super) struct Signal {
    open: Option<(OpenAlert, DateTime<Utc>)>,
}

impl Signal {
    /// Opens the alert if `now` is at least the threshold after `last_heard`.
    pub fn check(
        &mut self,
        move_id: &str,
        vehicle: &VehicleId,
        settings: &RuleSettings,
        last_heard: DateTime<Utc>,
        now: DateTime<Utc>,
        out: &mut Vec<RuleEvent>,
    ) {
        if self.open.is_some() || seconds(last_heard, now) < settings.signal_lost_after_s {
            return;
        }
        let opened = last_heard + Duration::milliseconds((settings.signal_lost_after_s * 1000.0) as i64);
        let id = alert_id(move_id, vehicle, AlertKind::SignalLost, None, opened);
        out.push(clock_event(
            &id,
            AlertKind::SignalLost,
            Change::Opened,
            move_id,
            vehicle,
            opened,
            json!({ "last_heard": time(last_heard) }),
        ));
        self.open = Some((OpenAlert { id }, last_heard));
    }

    /// A message arrived: the signal is back.
    pub fn heard(&mut self, move_id: &str, vehicle: &VehicleId, at: DateTime<Utc>, out: &mut Vec<RuleEvent>) {
        if let Some((alert, last_heard)) = self.open.take() {
            let detail =
                json!({ "last_heard": time(last_heard), "silent_s": seconds(last_heard, at).round() });
            out.push(clock_event(
                &alert.id,
                AlertKind::SignalLost,
                Change::Cleared,
                move_id,
                vehicle,
                at,
                detail,
            ));
        }
    }
}

#[derive(Debug, Default)]
pub(super) struct Gnss {
    /// The first report of no fix since the last fix.
    no_fix_since: Option<DateTime<Utc>>,
    open: Option<OpenAlert>,
}

impl Gnss {
    pub fn report(
        &mut self,
        move_id: &str,
        vehicle: &VehicleId,
        settings: &RuleSettings,
        health: AgentHealth,
        at: DateTime<Utc>,
        out: &mut Vec<RuleEvent>,
    ) {
        if !health.online {
            // Offline is signal_lost's business; the receiver's state is unknown.
            self.no_fix_since = None;
            return;
        }
        if health.has_fix {
            self.no_fix_since = None;
            if let Some(alert) = self.open.take() {
                out.push(clock_event(
                    &alert.id,
                    AlertKind::GnssLost,
                    Change::Cleared,
                    move_id,
                    vehicle,
                    at,
                    json!({}),
                ));
            }
            return;
        }
        self.no_fix_since.get_or_insert(at);
        self.check(move_id, vehicle, settings, at, out);
    }

    pub fn check(
        &mut self,
        move_id: &str,
        vehicle: &VehicleId,
        settings: &RuleSettings,
        now: DateTime<Utc>,
        out: &mut Vec<RuleEvent>,
    ) {
        let Some(since) = self.no_fix_since else { return };
        if self.open.is_some() || seconds(since, now) < settings.gnss_lost_after_s {
            return;
        }
        let opened = since + Duration::milliseconds((settings.gnss_lost_after_s * 1000.0) as i64);
        let id = alert_id(move_id, vehicle, AlertKind::GnssLost, None, opened);
        out.push(clock_event(
            &id,
            AlertKind::GnssLost,
            Change::Opened,
            move_id,
            vehicle,
            opened,
            json!({ "no_fix_since": time(since) }),
        ));
        self.open = Some(OpenAlert { id });
    }

    /// A fix arrived: the receiver has a position again.
    pub fn fix_seen(&mut self, vehicle: &VehicleId, ctx: &mut Context) {
        self.no_fix_since = None;
        if let Some(alert) = self.open.take() {
            ctx.clear(vehicle, AlertKind::GnssLost, None, alert, json!({}));
        }
    }
}

fn clock_event(
    id: &str,
    kind: AlertKind,
    change: Change,
    move_id: &str,
    vehicle: &VehicleId,
    t: DateTime<Utc>,
    detail: serde_json::Value,
) -> RuleEvent {
    RuleEvent {
        alert_id: id.to_string(),
        kind,
        change,
        move_id: move_id.to_string(),
        vehicle: vehicle.clone(),
        zone: None,
        t,
        lat: None,
        lon: None,
        detail,
        late: false,
    }
}
