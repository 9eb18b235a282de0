//! Legal holds as they are placed and released, by `POST /api/v1/holds` and `convoy hold` alike:
//! a request is judged whole (a reason, a reference within its limit, one scope, a range the
//! right way round, a move or vehicle that exists) before anything is stored, so a refused one
//! changes nothing.

use chrono::{DateTime, Utc};
use convoy_core::VehicleId;
use convoy_store::{LegalHold, ReleaseOutcome, Store, StoreError};

/// The longest reason, placing or releasing, in characters.
pub const MAX_REASON_CHARS: usize = 500;
/// The longest reference (a case or claim number), in characters.
pub const MAX_REFERENCE_CHARS: usize = 100;

/// What a hold is placed on.
#[derive(Clone, Debug, PartialEq)]
pub enum HoldScope {
    /// A move's vehicles, over its window unless a range is given.
    Move(String),
    /// One registered vehicle.
    Vehicle(String),
    /// Every vehicle.
    AllVehicles,
}

/// A hold as asked for, not yet judged.
#[derive(Clone, Debug)]
pub struct HoldRequest {
    pub scope: HoldScope,
    /// `None` only for a move with a window.
    pub range: Option<(DateTime<Utc>, DateTime<Utc>)>,
    pub reason: String,
    pub reference: String,
}

#[derive(Debug, thiserror::Error)]
pub enum HoldError {
    #[error("a reason is required")]
    EmptyReason,
    #[error("the {0} is longer than {1} characters")]
    TooLong(&'static str, usize),
    #[error("the start of the range must be before its end")]
    ReversedRange,
    #[error("a hold on a vehicle or on every vehicle needs a time range")]
    NoRange,
    #[error("{0}")]
    BadName(String),
    #[error("no move {0:?}")]
    UnknownMove(String),
    #[error("move {0:?} has no window: give a time range")]
    NoWindow(String),
    #[error("vehicle {0} is not registered")]
    UnknownVehicle(String),
    #[error("no hold {0}")]
    NoSuchHold(i64),
    #[error("hold {id} is released already (by {by:?})")]
    AlreadyReleased { id: i64, by: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl HoldError {
    /// A short label, as the API answers and counts refusals.
    pub fn reason(&self) -> &'static str {
        match self {
            HoldError::EmptyReason => "empty_reason",
            HoldError::TooLong(..) => "too_long",
            HoldError::ReversedRange | HoldError::NoRange => "bad_range",
            HoldError::BadName(_) => "bad_name",
            HoldError::UnknownMove(_) => "unknown_move",
            HoldError::NoWindow(_) => "no_window",
            HoldError::UnknownVehicle(_) => "unknown_vehicle",
            HoldError::NoSuchHold(_) => "no_such_hold",
            HoldError::AlreadyReleased { .. } => "already_released",
            HoldError::Store(_) => "store",
        }
    }
}

/// Every label [`HoldError::reason`] gives a refusal of bad input or of a conflict (not an
/// unknown hold, nor the store's failures).
pub const HOLD_REFUSAL_REASONS: &[&str] = &[
    "empty_reason",
    "too_long",
    "bad_range",
    "bad_name",
    "unknown_move",
    "no_window",
    "unknown_vehicle",
    "already_released",
];

/// Judges `request` and places the hold at `now` for `by`; returns its id and the hold.
pub async fn place_hold(
    store: &Store,
    request: HoldRequest,
    by: &str,
    now: DateTime<Utc>,
) -> Result<(i64, LegalHold), HoldError> {
    let reason = checked_reason(&request.reason)?;
    let reference = request.reference.trim().to_string();
    if reference.chars().count() > MAX_REFERENCE_CHARS {
        return Err(HoldError::TooLong("reference", MAX_REFERENCE_CHARS));
    }
    if let Some((from, to)) = request.range {
        if from >= to {
            return Err(HoldError::ReversedRange);
        }
    }
    let (move_id, vehicles, (from, to)) = match request.scope {
        HoldScope::Move(id) => {
            let crew = store.move_crews().await?.into_iter().find(|c| c.id == id);
            let crew = crew.ok_or_else(|| HoldError::UnknownMove(id.clone()))?;
            let window = crew.starts_at.zip(crew.ends_at);
            let range = request.range.or(window).ok_or_else(|| HoldError::NoWindow(id.clone()))?;
            (Some(id), Some(crew.vehicles), range)
        }
        HoldScope::Vehicle(name) => {
            let vehicle = VehicleId::new(name.clone()).map_err(|e| HoldError::BadName(e.to_string()))?;
            if !store.vehicle_registered(&vehicle).await? {
                return Err(HoldError::UnknownVehicle(name));
            }
            (None, Some(vec![vehicle]), request.range.ok_or(HoldError::NoRange)?)
        }
        HoldScope::AllVehicles => (None, None, request.range.ok_or(HoldError::NoRange)?),
    };
    let hold = LegalHold { vehicles, move_id, from, to, reason, reference, created_by: by.to_string() };
    let id = store.add_legal_hold(&hold, now).await?;
    Ok((id, hold))
}

/// Releases hold `id` for `by` with `reason`; returns the hold as released.
pub async fn release_hold(
    store: &Store,
    id: i64,
    reason: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<convoy_store::HoldRecord, HoldError> {
    let reason = checked_reason(reason)?;
    match store.release_legal_hold(id, by, &reason, now).await? {
        ReleaseOutcome::Released(record) => Ok(record),
        ReleaseOutcome::AlreadyReleased(record) => {
            Err(HoldError::AlreadyReleased { id, by: record.release.map(|r| r.by).unwrap_or_default() })
        }
        ReleaseOutcome::NoSuchHold => Err(HoldError::NoSuchHold(id)),
    }
}

/// A reason as kept: trimmed, not empty, not too long.
fn checked_reason(reason: &str) -> Result<String, HoldError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(HoldError::EmptyReason);
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(HoldError::TooLong("reason", MAX_REASON_CHARS));
    }
    Ok(reason.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_is_trimmed_and_must_say_something_within_its_limit() {
        assert_eq!(checked_reason("  claim 7 ").unwrap(), "claim 7");
        assert!(matches!(checked_reason(" \t "), Err(HoldError::EmptyReason)));
        assert!(checked_reason(&"é".repeat(MAX_REASON_CHARS)).is_ok(), "characters, not bytes");
        assert!(matches!(checked_reason(&"a".repeat(MAX_REASON_CHARS + 1)), Err(HoldError::TooLong(..))));
    }
}
