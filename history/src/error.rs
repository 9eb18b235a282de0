//! Why a look at stored history was refused or failed.

use convoy_store::StoreError;

/// Why a request for a move's or vehicle's history was refused as bad input: the `reason` of
/// the error and the label of `convoy_gateway_history_requests_rejected_total`.
pub const HISTORY_REJECTION_REASONS: [&str; 6] =
    ["bad_query", "bad_format", "bad_range", "range_too_long", "bad_vehicle", "too_many_positions"];

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The request itself asks for what cannot be given; `reason` is one of
    /// [`HISTORY_REJECTION_REASONS`]. Asking again the same way will not help.
    #[error("{message}")]
    Refused { message: String, reason: &'static str },
    /// A move's plan was stored but no longer reads (a bug or a damaged database).
    #[error("the move's stored plan cannot be read")]
    StoredPlan,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl HistoryError {
    /// The refusal's reason, if the request was refused.
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            HistoryError::Refused { reason, .. } => Some(reason),
            _ => None,
        }
    }
}
