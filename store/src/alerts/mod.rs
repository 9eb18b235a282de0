//! Alerts with their lifecycle, every change of their state, and notifier deliveries, as the
//! store keeps them.
//!
//! An alert is opened by its rule, may be acknowledged by a person while open, and is resolved
//! by its rule (when the rule sees the condition end) or by a person. Every change of state is
//! appended to the alert's transitions with who made it, when and why. Changes made by people
//! are race-safe: of two people acknowledging one alert at once, one changes it and the other
//! finds it already acknowledged.

mod postgres;
mod sqlite;

use chrono::{DateTime, Utc};
use convoy_core::alert::{AlertKind, AlertMessage, AlertState};
use convoy_core::VehicleId;

use crate::{Result, StoreError};

/// Who resolves an alert when its rule sees the condition end.
pub const BY_RULE: &str = "rule";

/// An alert as it stands.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertRecord {
    pub id: String,
    pub move_id: String,
    pub vehicle: VehicleId,
    pub kind: AlertKind,
    pub zone: Option<String>,
    pub state: AlertState,
    pub opened_t: DateTime<Utc>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub detail: serde_json::Value,
    /// Opened from fixes that arrived long after they were taken (a backlog).
    pub late: bool,
    pub acknowledged_t: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<String>,
    /// The latest note a person gave when acknowledging or resolving (each one is also kept in
    /// the alert's transitions).
    pub note: Option<String>,
    pub resolved_t: Option<DateTime<Utc>>,
    /// [`BY_RULE`] or a username.
    pub resolved_by: Option<String>,
    /// When the rule itself saw the condition end, even if a person resolved the alert first.
    pub cleared_t: Option<DateTime<Utc>>,
    pub cleared_detail: Option<serde_json::Value>,
}

impl AlertRecord {
    /// The alert as it is published (MQTT, the live feed, notifiers) at a change made at `t`.
    pub fn message(&self, t: DateTime<Utc>, detail: serde_json::Value, late: bool) -> AlertMessage {
        AlertMessage {
            v: AlertMessage::VERSION,
            id: self.id.clone(),
            kind: self.kind,
            state: self.state,
            vehicle: self.vehicle.clone(),
            move_id: self.move_id.clone(),
            t,
            lat: self.lat,
            lon: self.lon,
            detail,
            late,
        }
    }
}

/// One change of an alert's state.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertTransition {
    pub alert_id: String,
    pub state: AlertState,
    pub at: DateTime<Utc>,
    /// [`BY_RULE`] or a username.
    pub by: String,
    pub note: Option<String>,
}

/// What a person's acknowledgement or resolution did.
#[derive(Clone, Debug, PartialEq)]
pub enum AlertChange {
    /// The alert changed; here it is afterwards.
    Changed(AlertRecord),
    NotFound,
    /// Acknowledging an alert that is not open, or resolving a resolved one: nothing changed.
    AlreadyInState(AlertRecord),
}

/// Which alerts to list; every field left `None` matches every alert.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertFilter {
    pub state: Option<AlertState>,
    pub move_id: Option<String>,
    pub vehicle: Option<VehicleId>,
    /// At most this many alerts.
    pub limit: u32,
}

impl Default for AlertFilter {
    fn default() -> Self {
        Self { state: None, move_id: None, vehicle: None, limit: 1000 }
    }
}

/// Where a page of the alert history ends: the last alert's opening time and id. The history is
/// ordered by `opened_t` descending, then by id ascending (the order of the `alerts_by_time`
/// index), so the next page starts strictly after this key: no alert is skipped or repeated
/// while several share an opening time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertKey {
    pub opened_t: DateTime<Utc>,
    pub id: String,
}

impl AlertKey {
    /// The key of `alert`.
    pub fn of(alert: &AlertRecord) -> Self {
        Self { opened_t: alert.opened_t, id: alert.id.clone() }
    }
}

/// A page of the alert history; every field left `None` matches every alert.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct AlertHistoryQuery {
    /// Opened at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Opened before this time.
    pub to: Option<DateTime<Utc>>,
    /// Of one of these moves; an empty list matches nothing (an escort with no moves).
    pub moves: Option<Vec<String>>,
    pub vehicle: Option<VehicleId>,
    pub kind: Option<AlertKind>,
    pub state: Option<AlertState>,
    /// The latest note contains this text, ignoring the case of ASCII letters (PostgreSQL also
    /// folds other letters, as its locale says). Matched literally: `%` and `_` are no wildcards.
    pub note_contains: Option<String>,
    /// Only alerts after this key in the history's order (keyset paging).
    pub after: Option<AlertKey>,
    /// At most this many alerts (0 is read as 1).
    pub limit: u32,
}

/// One attempt of a notifier to deliver an alert's state.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    pub alert_id: String,
    /// The state that was being delivered.
    pub state: AlertState,
    pub notifier: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    pub at: DateTime<Utc>,
    pub ok: bool,
    /// What the notifier's far end answered, or the error.
    pub detail: String,
}

/// How many alerts of one kind a vehicle opened (the daily report's alert columns).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertCount {
    pub vehicle: VehicleId,
    pub kind: AlertKind,
    pub count: u64,
}

/// What a person does to an alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PersonAction {
    /// From open only.
    Acknowledge,
    /// From open or acknowledged.
    Resolve,
}

impl PersonAction {
    /// The state the alert is in afterwards.
    pub(crate) fn to(self) -> AlertState {
        match self {
            PersonAction::Acknowledge => AlertState::Acknowledged,
            PersonAction::Resolve => AlertState::Resolved,
        }
    }
}

pub(crate) fn parse_kind(text: &str) -> Result<AlertKind> {
    AlertKind::parse(text).ok_or_else(|| StoreError::Corrupt(format!("alert kind {text:?}")))
}

pub(crate) fn parse_state(text: &str) -> Result<AlertState> {
    AlertState::parse(text).ok_or_else(|| StoreError::Corrupt(format!("alert state {text:?}")))
}

forward! {
    /// Stores a new alert, open (its `state` and its acknowledged, resolved and cleared fields are
    /// ignored), with an `open` transition by [`BY_RULE`] at `opened_t`. False, changing nothing,
    /// if an alert with its id exists.
    pub async fn open_alert(&self, alert: &AlertRecord) -> Result<bool>;

    /// The rule saw the alert's condition end at `t`: records `t` and `detail` as the clearing
    /// (unless cleared before), and resolves the alert by [`BY_RULE`] at `t` unless it is already
    /// resolved (by a person). Idempotent. The alert afterwards; `None` if there is no such alert.
    pub async fn clear_alert(
        &self,
        id: &str,
        t: DateTime<Utc>,
        detail: &serde_json::Value,
    ) -> Result<Option<AlertRecord>>;

    /// A person acknowledges an open alert.
    pub async fn acknowledge_alert(
        &self,
        id: &str,
        user: &str,
        note: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<AlertChange>;

    /// A person resolves an alert that is open or acknowledged.
    pub async fn resolve_alert(
        &self,
        id: &str,
        user: &str,
        note: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<AlertChange>;

    pub async fn alert(&self, id: &str) -> Result<Option<AlertRecord>>;

    /// The alerts matching `filter`, newest `opened_t` first, then by id.
    pub async fn alerts(&self, filter: &AlertFilter) -> Result<Vec<AlertRecord>>;

    /// A page of the alert history: the alerts `query` selects, newest `opened_t` first, then
    /// by id, starting after `query.after`. Keyset paging: each page costs the same however
    /// deep it is.
    pub async fn alert_history(&self, query: &AlertHistoryQuery) -> Result<Vec<AlertRecord>>;

    /// How many alerts each vehicle (or only `vehicle`) opened in `[from, to)`, by kind: one
    /// row per vehicle and kind with at least one, ordered by vehicle, then kind. Counted in
    /// the database, so the cost does not depend on how many alerts there are to read.
    pub async fn alert_counts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        vehicle: Option<&VehicleId>,
    ) -> Result<Vec<AlertCount>>;

    /// Every change of an alert's state, in the order they happened.
    pub async fn alert_transitions(&self, id: &str) -> Result<Vec<AlertTransition>>;

    pub async fn record_delivery(&self, delivery: &Delivery) -> Result<()>;

    /// Every delivery attempt recorded for an alert, in the order they were recorded.
    pub async fn deliveries(&self, alert_id: &str) -> Result<Vec<Delivery>>;
}
