//! Alerts as the rest of the world sees them: kinds, lifecycle states, and the message published
//! on `convoy/v1/alerts/{vehicle}`, sent to the live feed and to notifiers.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::position::{deserialize_rfc3339, serialize_millis};
use crate::vehicle::VehicleId;

/// What a rule watches for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    OffRoute,
    UnplannedStop,
    SignalLost,
    GnssLost,
    ZoneEnter,
    ZoneExit,
    Overspeed,
    ConvoyBroken,
    /// A vehicle's signed track does not hold: a bad signature, a chain that does not link, a
    /// key not valid then (opened by ingest, not by a rule).
    Integrity,
    /// A seal seen broken or missing at a checkpoint (opened by the escort's record).
    Seal,
}

impl AlertKind {
    pub const ALL: [AlertKind; 10] = [
        AlertKind::OffRoute,
        AlertKind::UnplannedStop,
        AlertKind::SignalLost,
        AlertKind::GnssLost,
        AlertKind::ZoneEnter,
        AlertKind::ZoneExit,
        AlertKind::Overspeed,
        AlertKind::ConvoyBroken,
        AlertKind::Integrity,
        AlertKind::Seal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::OffRoute => "off_route",
            AlertKind::UnplannedStop => "unplanned_stop",
            AlertKind::SignalLost => "signal_lost",
            AlertKind::GnssLost => "gnss_lost",
            AlertKind::ZoneEnter => "zone_enter",
            AlertKind::ZoneExit => "zone_exit",
            AlertKind::Overspeed => "overspeed",
            AlertKind::ConvoyBroken => "convoy_broken",
            AlertKind::Integrity => "integrity",
            AlertKind::Seal => "seal",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

/// Where an alert is in its life: `open` -> `acknowledged` -> `resolved` (by its rule or by a
/// person); `open` may go straight to `resolved`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    Open,
    Acknowledged,
    Resolved,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Open => "open",
            AlertState::Acknowledged => "acknowledged",
            AlertState::Resolved => "resolved",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [AlertState::Open, AlertState::Acknowledged, AlertState::Resolved]
            .into_iter()
            .find(|state| state.as_str() == text)
    }
}

/// An alert at one moment of its life, as published on `convoy/v1/alerts/{vehicle}`:
/// `{"v":1,"id":"…","kind":"off_route","state":"open","vehicle":"truck-07","move":"…","t":"…",
/// "lat":…,"lon":…,"detail":{…}}`.
///
/// `t` is the time of this change: for what a rule decides, the fix time of the fix that decided
/// it (`signal_lost` is decided by the server's clock); for what a person does, when they did it.
/// `late` is set when the change was decided from fixes that arrived long after they were taken
/// (a backlog): it is on the record, but no notifier rings for it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertMessage {
    pub v: u32,
    pub id: String,
    pub kind: AlertKind,
    pub state: AlertState,
    pub vehicle: VehicleId,
    #[serde(rename = "move")]
    pub move_id: String,
    #[serde(serialize_with = "serialize_millis", deserialize_with = "deserialize_rfc3339")]
    pub t: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
    /// Rule-specific facts: when the condition began, distances, the zone, who acted and why.
    #[serde(default)]
    pub detail: serde_json::Value,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub late: bool,
}

impl AlertMessage {
    pub const VERSION: u32 = 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_states_round_trip_through_their_names() {
        for kind in AlertKind::ALL {
            assert_eq!(AlertKind::parse(kind.as_str()), Some(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        assert_eq!(AlertKind::parse("off-route"), None);
        for state in [AlertState::Open, AlertState::Acknowledged, AlertState::Resolved] {
            assert_eq!(AlertState::parse(state.as_str()), Some(state));
        }
    }

    #[test]
    fn the_message_has_the_documented_shape() {
        let message = AlertMessage {
            v: 1,
            id: "a1".into(),
            kind: AlertKind::OffRoute,
            state: AlertState::Open,
            vehicle: VehicleId::new("truck-07").unwrap(),
            move_id: "m1".into(),
            t: "2026-11-28T09:15:02Z".parse().unwrap(),
            lat: Some(48.1),
            lon: Some(11.5),
            detail: serde_json::json!({"since": "2026-11-28T09:14:32.000Z"}),
            late: false,
        };
        let json = serde_json::to_value(&message).unwrap();
        assert_eq!(json["move"], "m1");
        assert_eq!(json["kind"], "off_route");
        assert_eq!(json["t"], "2026-11-28T09:15:02.000Z");
        assert!(json.get("late").is_none());
        let back: AlertMessage = serde_json::from_value(json).unwrap();
        assert_eq!(back, message);
    }
}
