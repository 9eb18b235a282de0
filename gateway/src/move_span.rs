//! Counting refused requests for stored history (exports, replays, reports, tracks) by reason.

use crate::error::ApiError;
use crate::state::AppState;

/// Counts a refusal that has a reason (bad input; not a 403 or a 404).
pub(crate) fn count_refusal(state: &AppState, error: &ApiError) {
    if let Some(reason) = error.reason() {
        state.metrics.history_rejected.with_label_values(&[reason]).inc();
    }
}
