//! When to try a delivery again: a notifier's [`Policy`], the exponential [`backoff`] between
//! attempts, and the [`AttemptError`] a transport returns to say whether another attempt may
//! help.
//!
//! Kept apart from the worker so that the arithmetic can be tested without a runtime and the
//! transports depend on nothing but this verdict type.

use std::time::Duration;

/// Retry policy of one notifier, from its configuration.
#[derive(Clone, Copy, Debug)]
pub(super) struct Policy {
    /// How long one attempt may take.
    pub timeout: Duration,
    pub max_attempts: u32,
    /// The wait after the first failed attempt; it doubles after each further one.
    pub first_backoff: Duration,
}

/// The longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// The wait after failed attempt number `attempt` (1-based): `first × 2^(attempt-1)`, at most
/// [`MAX_BACKOFF`].
pub fn backoff(first: Duration, attempt: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
    first.saturating_mul(factor).min(MAX_BACKOFF)
}

/// Why an attempt failed, and whether trying again may help.
#[derive(Debug)]
pub(super) struct AttemptError {
    pub retry: bool,
    pub detail: String,
    /// The server asked for at least this wait (HTTP `Retry-After`).
    pub retry_after: Option<Duration>,
}

impl AttemptError {
    pub fn retry(detail: impl Into<String>) -> Self {
        AttemptError { retry: true, detail: detail.into(), retry_after: None }
    }
    pub fn fatal(detail: impl Into<String>) -> Self {
        AttemptError { retry: false, detail: detail.into(), retry_after: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_first_wait_up_to_a_minute() {
        let first = Duration::from_millis(500);
        assert_eq!(backoff(first, 1), Duration::from_millis(500));
        assert_eq!(backoff(first, 2), Duration::from_millis(1000));
        assert_eq!(backoff(first, 5), Duration::from_millis(8000));
        assert_eq!(backoff(first, 8), Duration::from_secs(60));
        assert_eq!(backoff(first, 40), Duration::from_secs(60));
        assert_eq!(backoff(first, u32::MAX), Duration::from_secs(60));
    }
}
