//! How recent a part of the record each person may read.
//!
//! Those who run moves (admin, dispatcher, escort) read everything up to now. An auditor works
//! from the record, never on the road: they read where a vehicle was only once it is at least
//! [`AccessSettings::auditor_delay_minutes`] in the past, so an auditor's account (or a stolen
//! one) cannot follow a truck while it drives. Every path that carries a place applies the same
//! cut: a vehicle's track, a move's replay, exports and report (their span ends at the cut), and
//! alerts (an alert opened after the cut is listed, but without its coordinates and zone). The
//! live feed and the vehicle list's positions are closed to auditors altogether.

use chrono::{DateTime, Duration, Utc};
use convoy_core::Role;
use convoy_history::Span;
use convoy_store::AlertRecord;
use serde::Deserialize;

/// An auditor reads places this many minutes old or older, unless configured otherwise.
pub const DEFAULT_AUDITOR_DELAY_MINUTES: u32 = 60;

/// `[access]` in the server's configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessSettings {
    /// How old a fix or an alert's place must be before an auditor reads it; 0 lets auditors
    /// read up to now.
    #[serde(default = "default_auditor_delay_minutes")]
    pub auditor_delay_minutes: u32,
}

fn default_auditor_delay_minutes() -> u32 {
    DEFAULT_AUDITOR_DELAY_MINUTES
}

impl Default for AccessSettings {
    fn default() -> Self {
        Self { auditor_delay_minutes: DEFAULT_AUDITOR_DELAY_MINUTES }
    }
}

impl AccessSettings {
    /// The newest fix time a person of `role` reads at `now`; `None`: up to now.
    pub(crate) fn newest_for(&self, role: Role, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        (role == Role::Auditor).then(|| now - Duration::minutes(self.auditor_delay_minutes.into()))
    }

    /// `span` as a person of `role` reads it at `now`: [`cut`] at [`Self::newest_for`].
    pub(crate) fn readable(&self, role: Role, span: Span, now: DateTime<Utc>) -> Span {
        cut(span, self.newest_for(role, now))
    }
}

/// `span` cut at `newest`. A span wholly after it is left empty (it ends where it starts), so
/// the answer is an empty track rather than an error: the record is there, just not yet readable.
pub(crate) fn cut(span: Span, newest: Option<DateTime<Utc>>) -> Span {
    match newest {
        Some(newest) => Span { from: span.from, to: span.to.min(newest).max(span.from) },
        None => span,
    }
}

/// `alert` as it may be read: one opened after `newest` keeps what happened and when, but not
/// where (its coordinates, and its zone, which names a place).
pub(crate) fn placeless_if_recent(mut alert: AlertRecord, newest: Option<DateTime<Utc>>) -> AlertRecord {
    if newest.is_some_and(|newest| alert.opened_t > newest) {
        alert.lat = None;
        alert.lon = None;
        alert.zone = None;
    }
    alert
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use convoy_core::alert::{AlertKind, AlertState};
    use convoy_core::VehicleId;

    fn at(minute: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap() + Duration::minutes(minute)
    }

    #[test]
    fn only_auditors_read_behind_the_road() {
        let access = AccessSettings::default();
        let now = at(120);
        for role in [Role::Admin, Role::Dispatcher, Role::Escort] {
            assert_eq!(access.newest_for(role, now), None, "{role}");
        }
        assert_eq!(access.newest_for(Role::Auditor, now), Some(at(60)));
        let no_delay = AccessSettings { auditor_delay_minutes: 0 };
        assert_eq!(no_delay.newest_for(Role::Auditor, now), Some(now));
    }

    #[test]
    fn a_span_is_cut_at_the_newest_readable_time() {
        let span = Span { from: at(0), to: at(120) };
        assert_eq!(cut(span, None), span);
        assert_eq!(cut(span, Some(at(60))), Span { from: at(0), to: at(60) });
        assert_eq!(cut(span, Some(at(500))), span, "an older span is whole");
        assert_eq!(cut(span, Some(at(-30))), Span { from: at(0), to: at(0) }, "a newer one is empty");
    }

    fn alert(opened: i64) -> AlertRecord {
        AlertRecord {
            id: "a1".into(),
            move_id: "m1".into(),
            vehicle: VehicleId::new("truck-01").unwrap(),
            kind: AlertKind::ZoneEnter,
            zone: Some("depot".into()),
            state: AlertState::Open,
            opened_t: at(opened),
            lat: Some(48.1),
            lon: Some(11.5),
            detail: serde_json::json!({}),
            late: false,
            acknowledged_t: None,
            acknowledged_by: None,
            note: None,
            resolved_t: None,
            resolved_by: None,
            cleared_t: None,
            cleared_detail: None,
        }
    }

    #[test]
    fn a_recent_alert_loses_its_place_and_an_older_one_keeps_it() {
        let recent = placeless_if_recent(alert(90), Some(at(60)));
        assert_eq!((recent.lat, recent.lon, recent.zone.as_deref()), (None, None, None));
        assert_eq!(recent.kind, AlertKind::ZoneEnter, "what happened stays");
        let older = placeless_if_recent(alert(30), Some(at(60)));
        assert_eq!(older, alert(30));
        assert_eq!(placeless_if_recent(alert(90), None), alert(90));
    }
}
