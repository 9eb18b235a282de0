//! The parts of a move's replay read from the store: each vehicle's track written as JSON as
//! it is read (with its stops and gaps found on the way), within a budget of positions, and the
//! move's alerts whose incidents overlap the span.

use convoy_core::VehicleId;
use convoy_store::{AlertFilter, AlertRecord, Store, StoreError};

use convoy_core::stop::StopRule;

use crate::stops::{Gap, Stop, StopsAndGaps};
use crate::{HistoryError, Span, TrackFix};

/// The most positions one replay returns (all vehicles together).
pub const MAX_REPLAY_POSITIONS: usize = 500_000;
/// The most alerts of a move that a replay or report reads.
pub const MAX_MOVE_ALERTS: u32 = 10_000;

/// Appends `{"vehicle":…,"positions":[…]}` for one vehicle and returns its stops and gaps.
pub async fn write_track(
    store: &Store,
    vehicle: &VehicleId,
    span: Span,
    thresholds: StopRule,
    budget: &mut PositionBudget,
    body: &mut Vec<u8>,
) -> Result<(Vec<Stop>, Vec<Gap>), HistoryError> {
    // A vehicle id is [A-Za-z0-9._-]: nothing to escape.
    body.extend_from_slice(format!("{{\"vehicle\":\"{vehicle}\",\"positions\":[").as_bytes());
    let mut detector = StopsAndGaps::new(thresholds);
    let mut fixes = store.track_stream(vehicle, span.from, span.to);
    let mut first = true;
    while let Some(fix) = fixes.recv().await {
        let fix = fix?;
        budget.take()?;
        if !first {
            body.push(b',');
        }
        first = false;
        write_value(body, &TrackFix::of(&fix));
        if fix.implausible.is_none() {
            detector.push(&fix.position);
        }
    }
    body.extend_from_slice(b"]}");
    Ok(detector.finish())
}

pub fn write_value(body: &mut Vec<u8>, value: &impl serde::Serialize) {
    // Positions, alerts and plain JSON values of finite numbers always serialise.
    let _ = serde_json::to_writer(body, value);
}

/// Counts positions against a limit; past it, the request is refused with a 413 that says how
/// to ask for less.
pub struct PositionBudget {
    left: usize,
    limit: usize,
}

impl PositionBudget {
    pub fn new(limit: usize) -> Self {
        PositionBudget { left: limit, limit }
    }

    pub fn take(&mut self) -> Result<(), HistoryError> {
        match self.left.checked_sub(1) {
            Some(left) => {
                self.left = left;
                Ok(())
            }
            None => Err(HistoryError::Refused {
                message: format!(
                    "more than {} positions in this range: narrow it with from and to, pick one \
                     vehicle, or download the track as a file (export)",
                    self.limit
                ),
                reason: "too_many_positions",
            }),
        }
    }
}

/// The move's alerts (of one vehicle, if given) whose incidents overlap `span`, oldest first.
pub async fn alerts_in(
    store: &Store,
    move_id: &str,
    vehicle: Option<&VehicleId>,
    span: Span,
) -> Result<Vec<AlertRecord>, StoreError> {
    let filter = AlertFilter {
        move_id: Some(move_id.to_string()),
        vehicle: vehicle.cloned(),
        limit: MAX_MOVE_ALERTS,
        ..Default::default()
    };
    let mut alerts: Vec<AlertRecord> =
        store.alerts(&filter).await?.into_iter().filter(|a| overlaps(a, span)).collect();
    alerts.sort_by(|a, b| a.opened_t.cmp(&b.opened_t).then_with(|| a.id.cmp(&b.id)));
    Ok(alerts)
}

/// Whether an alert's incident (from its opening to when its condition ended or it was
/// resolved, whichever came first) overlaps `span`.
fn overlaps(alert: &AlertRecord, span: Span) -> bool {
    let ended = match (alert.cleared_t, alert.resolved_t) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    alert.opened_t < span.to && ended.is_none_or(|end| end >= span.from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Duration, TimeZone, Utc};
    use convoy_core::alert::{AlertKind, AlertState};
    use serde_json::json;

    fn at(minute: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, 9, 0, 0).unwrap() + Duration::minutes(minute)
    }

    fn alert(opened: i64, cleared: Option<i64>) -> AlertRecord {
        AlertRecord {
            id: "a1".into(),
            move_id: "m1".into(),
            vehicle: VehicleId::new("truck-07").unwrap(),
            kind: AlertKind::OffRoute,
            zone: None,
            state: AlertState::Open,
            opened_t: at(opened),
            lat: None,
            lon: None,
            detail: json!({}),
            late: false,
            acknowledged_t: None,
            acknowledged_by: None,
            note: None,
            resolved_t: cleared.map(at),
            resolved_by: None,
            cleared_t: cleared.map(at),
            cleared_detail: None,
        }
    }

    #[test]
    fn an_alert_belongs_to_a_span_its_incident_overlaps() {
        let span = Span { from: at(10), to: at(20) };
        assert!(overlaps(&alert(12, Some(13)), span), "inside");
        assert!(overlaps(&alert(5, Some(11)), span), "over at the start");
        assert!(overlaps(&alert(5, None), span), "still open");
        assert!(overlaps(&alert(19, Some(30)), span), "opened before the end");
        assert!(!overlaps(&alert(5, Some(9)), span), "over before");
        assert!(!overlaps(&alert(20, None), span), "opened at the end (exclusive)");
    }

    #[test]
    fn the_budget_refuses_the_position_past_its_limit() {
        let mut budget = PositionBudget::new(2);
        assert!(budget.take().is_ok());
        assert!(budget.take().is_ok());
        assert_eq!(budget.take().unwrap_err().reason(), Some("too_many_positions"));
    }
}
