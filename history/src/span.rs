//! Which vehicles and which stretch of time a look at a move's history covers: the export,
//! the replay and the report all ask this the same way.
//!
//! A move covers its planned window (both ends included) or, without one, the time from its
//! creation until now (and fixes stamped up to the wire's allowed clock skew ahead of the
//! server). `from` and `to` narrow that further; they never widen it.

use chrono::{DateTime, Duration, Utc};
use convoy_core::plan::{MovePlan, TimeWindow};
use convoy_core::position::format_time;
use convoy_core::rules::RuleSettings;
use convoy_core::wire::MAX_FUTURE_SKEW;
use convoy_core::VehicleId;
use convoy_store::MoveRecord;

use crate::HistoryError;

/// The longest span a replay or report reads at once.
pub const MAX_SPAN_DAYS: i64 = 7;

/// A stored move, read back into its plan and its effective rules.
pub struct MoveHistory {
    pub record: MoveRecord,
    pub plan: MovePlan,
    /// The server's rule settings with the plan's overrides.
    pub rules: RuleSettings,
}

/// Fix times `[from, to)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl MoveHistory {
    /// Reads `record`'s plan back, with `server_rules` (the server's settings) overridden by
    /// the plan's own.
    pub fn of(record: MoveRecord, server_rules: &RuleSettings) -> Result<Self, HistoryError> {
        let body = serde_json::to_vec(&record.plan).unwrap_or_default();
        let plan = MovePlan::from_json(&body).map_err(|e| {
            tracing::error!(move_id = %record.id, error = %e, "a stored plan no longer reads");
            HistoryError::StoredPlan
        })?;
        let rules = server_rules.with_overrides(&plan.rules).unwrap_or_else(|e| {
            // The overrides were checked when the move was planned; the server's own settings
            // may have changed since. Its defaults are the next best thing.
            tracing::warn!(move_id = %record.id, error = %e, "the move's rule overrides no longer apply");
            server_rules.clone()
        });
        Ok(MoveHistory { record, plan, rules })
    }

    /// The move's vehicles, or the one asked for if it is one of them.
    pub fn vehicles(&self, only: Option<&str>) -> Result<Vec<VehicleId>, HistoryError> {
        let Some(text) = only else { return Ok(self.plan.vehicles.clone()) };
        let id = VehicleId::new(text).map_err(|e| bad_request(format!("vehicle: {e}"), "bad_vehicle"))?;
        if self.plan.vehicles.contains(&id) {
            Ok(vec![id])
        } else {
            Err(bad_request(format!("vehicle {id} is not part of move {}", self.record.id), "bad_vehicle"))
        }
    }

    /// The span the request covers, at `now`.
    pub fn span(
        &self,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Span, HistoryError> {
        resolve_span(self.plan.window, self.record.created_at, now, from, to)
    }
}

/// The move's own span narrowed by `from` and `to`. A reversed request, or one outside the
/// move's span, is a 400 that says so.
pub fn resolve_span(
    window: Option<TimeWindow>,
    created_at: DateTime<Utc>,
    now: DateTime<Utc>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<Span, HistoryError> {
    if let (Some(from), Some(to)) = (from, to) {
        if from >= to {
            return Err(bad_request("from must be before to", "bad_range"));
        }
    }
    let own = match window {
        Some(window) => Span { from: window.from, to: window.to + Duration::milliseconds(1) },
        None => Span { from: created_at, to: (now + MAX_FUTURE_SKEW).max(created_at) },
    };
    let span =
        Span { from: from.map_or(own.from, |f| f.max(own.from)), to: to.map_or(own.to, |t| t.min(own.to)) };
    if span.from >= span.to {
        return Err(bad_request(
            format!(
                "the range asked for is outside the move, which covers {} to {}",
                format_time(&own.from),
                format_time(&own.to)
            ),
            "bad_range",
        ));
    }
    Ok(span)
}

/// Refuses a span longer than [`MAX_SPAN_DAYS`]: what a replay or report holds is bounded.
pub fn check_length(span: Span) -> Result<(), HistoryError> {
    if span.to - span.from > Duration::days(MAX_SPAN_DAYS) {
        let hours = (span.to - span.from).num_hours();
        return Err(bad_request(
            format!(
                "the range is {hours} hours long; at most {MAX_SPAN_DAYS} days are read at once: \
                 give from and to"
            ),
            "range_too_long",
        ));
    }
    Ok(())
}

fn bad_request(message: impl Into<String>, reason: &'static str) -> HistoryError {
    HistoryError::Refused { message: message.into(), reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, hour, 0, 0).unwrap()
    }

    fn window() -> Option<TimeWindow> {
        Some(TimeWindow { from: at(8), to: at(18) })
    }

    #[test]
    fn a_window_is_the_span_with_its_end_included() {
        let span = resolve_span(window(), at(1), at(23), None, None).unwrap();
        assert_eq!(span, Span { from: at(8), to: at(18) + Duration::milliseconds(1) });
    }

    #[test]
    fn without_a_window_the_span_runs_from_creation_to_now() {
        let span = resolve_span(None, at(1), at(5), None, None).unwrap();
        assert_eq!(span, Span { from: at(1), to: at(5) + MAX_FUTURE_SKEW });
    }

    #[test]
    fn from_and_to_narrow_but_never_widen() {
        let span = resolve_span(window(), at(1), at(23), Some(at(10)), Some(at(20))).unwrap();
        assert_eq!(span, Span { from: at(10), to: at(18) + Duration::milliseconds(1) });
        let span = resolve_span(window(), at(1), at(23), Some(at(2)), Some(at(9))).unwrap();
        assert_eq!(span, Span { from: at(8), to: at(9) });
    }

    #[test]
    fn reversed_and_outside_ranges_are_refused() {
        let reversed = resolve_span(window(), at(1), at(23), Some(at(12)), Some(at(10))).unwrap_err();
        assert_eq!(reversed.reason(), Some("bad_range"));
        let outside = resolve_span(window(), at(1), at(23), Some(at(19)), Some(at(20))).unwrap_err();
        assert_eq!(outside.reason(), Some("bad_range"));
    }

    #[test]
    fn seven_days_pass_and_more_does_not() {
        let week = Span { from: at(0), to: at(0) + Duration::days(7) };
        assert!(check_length(week).is_ok());
        let more = Span { from: at(0), to: at(0) + Duration::days(7) + Duration::seconds(1) };
        assert_eq!(check_length(more).unwrap_err().reason(), Some("range_too_long"));
    }
}
