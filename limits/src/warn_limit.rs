//! A warning written at most once per interval, saying how many were left unwritten: a flood of
//! refused connections or failed accepts must not become a flood of log lines.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct WarnLimit {
    every: Duration,
    last: Mutex<Option<Instant>>,
    skipped: AtomicU64,
}

impl WarnLimit {
    pub fn new(every: Duration) -> Self {
        Self { every, last: Mutex::new(None), skipped: AtomicU64::new(0) }
    }

    /// `Some(skipped since the last one)` when a warning may be written now.
    pub fn ready(&self) -> Option<u64> {
        let now = Instant::now();
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_some_and(|last| now.duration_since(last) < self.every) {
            self.skipped.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        *last = Some(now);
        Some(self.skipped.swap(0, Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_warning_per_interval_and_the_count_of_the_others() {
        let limit = WarnLimit::new(Duration::from_secs(3600));
        assert_eq!(limit.ready(), Some(0));
        for _ in 0..5 {
            assert_eq!(limit.ready(), None);
        }
        let limit = WarnLimit { every: Duration::ZERO, ..limit };
        assert_eq!(limit.ready(), Some(5));
    }
}
