//! One notifier's worker: the task that takes messages from its queue in order and delivers
//! them one at a time, retrying with backoff, and the delivery log it writes as it goes.
//!
//! [`Shared`] is everything the caller's side ([`super::Notifiers`]) and the task both touch:
//! the queue, the counters and the attempt in flight. It lives behind an `Arc` so that a task
//! outliving a dropped `Notifiers` still has it. Its locks are held for a queue operation or a
//! swap of the attempt in flight, never across an `await`, so `notify` never waits on a worker.
//!
//! Every attempt, and every message given up without one, is reported as a [`Delivery`] on the
//! caller's channel; that is the delivery log. Sending on it never blocks and a closed channel
//! is ignored: the log must not hold up delivery.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::Utc;
use convoy_core::alert::AlertMessage;

use super::text::Notice;
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::queue::Queue;
use super::retry::{backoff, AttemptError, Policy, MAX_BACKOFF};
use super::transport::Transport;
use super::{Delivery, NotifierCounts, DROPPED_SHUTDOWN};

/// A running notifier, as [`super::Notifiers`] holds it: its task and what it shares with it.
pub(super) struct Worker {
    pub shared: Arc<Shared>,
    pub task: JoinHandle<()>,
}

/// Asked to stop: a child of the caller's shutdown token, cancelled by it, by
/// [`super::Notifiers::stop`] or by dropping [`super::Notifiers`].
pub(super) struct Stop(pub CancellationToken);

impl Stop {
    fn requested(&self) -> bool {
        self.0.is_cancelled()
    }

    async fn wait(&mut self) {
        self.0.cancelled().await
    }
}

/// Atomics rather than a lock: `counts` may be read while an attempt is being recorded.
#[derive(Default)]
pub(super) struct Counters {
    sent: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    skipped_late: AtomicU64,
    attempts: AtomicU64,
}

/// What `notify`, `stop` and a notifier's task share.
pub(super) struct Shared {
    pub name: String,
    queue: Mutex<Queue<Arc<Notice>>>,
    wake: Notify,
    /// The message being attempted and the attempt number, for reporting an interrupted attempt.
    current: Mutex<Option<(Arc<Notice>, u32)>>,
    counters: Counters,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while holding these locks; recover the data if something ever does.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    pub fn new(name: String, capacity: usize) -> Shared {
        Shared {
            name,
            queue: Mutex::new(Queue::new(capacity)),
            wake: Notify::new(),
            current: Mutex::new(None),
            counters: Counters::default(),
        }
    }

    pub fn counts(&self) -> NotifierCounts {
        let c = &self.counters;
        NotifierCounts {
            sent: c.sent.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            skipped_late: c.skipped_late.load(Ordering::Relaxed),
            attempts: c.attempts.load(Ordering::Relaxed),
            queued: lock(&self.queue).len(),
        }
    }

    /// A late message is not queued but still accounted for.
    pub fn count_skipped_late(&self) {
        self.counters.skipped_late.fetch_add(1, Ordering::Relaxed);
    }

    pub fn push(&self, message: Arc<Notice>, deliveries: &mpsc::UnboundedSender<Delivery>) {
        let dropped = lock(&self.queue).push(message);
        self.wake.notify_one();
        if let Some((message, why)) = dropped {
            self.record_drop(&message.alert, why, deliveries);
        }
    }

    fn pop(&self) -> Option<Arc<Notice>> {
        lock(&self.queue).pop()
    }

    fn record_drop(&self, message: &AlertMessage, why: &str, deliveries: &mpsc::UnboundedSender<Delivery>) {
        let dropped = self.counters.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        // A receiver down for hours drops thousands: warn on the first and then now and again.
        if dropped == 1 || dropped % 1000 == 0 {
            tracing::warn!(notifier = %self.name, dropped, "notifier dropped an alert message ({why})");
        }
        let _ = deliveries.send(Delivery {
            alert_id: message.id.clone(),
            state: message.state,
            notifier: self.name.clone(),
            attempt: 0,
            at: Utc::now(),
            ok: false,
            detail: why.to_string(),
        });
    }

    /// After the worker ended or was aborted: reports the interrupted attempt and what is still
    /// queued, and refuses new messages.
    pub fn abandon(&self, deliveries: &mpsc::UnboundedSender<Delivery>) {
        if let Some((notice, attempt)) = lock(&self.current).take() {
            self.counters.failed.fetch_add(1, Ordering::Relaxed);
            let _ = deliveries.send(Delivery {
                alert_id: notice.alert.id.clone(),
                state: notice.alert.state,
                notifier: self.name.clone(),
                attempt,
                at: Utc::now(),
                ok: false,
                detail: "interrupted: shutting down".to_string(),
            });
        }
        let left = lock(&self.queue).close();
        for notice in left {
            self.record_drop(&notice.alert, DROPPED_SHUTDOWN, deliveries);
        }
    }
}

/// The notifier's task: runs until asked to stop and its queue is empty.
pub(super) async fn run(
    mut transport: Transport,
    policy: Policy,
    shared: Arc<Shared>,
    mut stop: Stop,
    deliveries: mpsc::UnboundedSender<Delivery>,
) {
    loop {
        match shared.pop() {
            Some(message) => deliver(&mut transport, policy, &shared, &mut stop, &deliveries, message).await,
            None => {
                if stop.requested() {
                    break;
                }
                tokio::select! {
                    _ = shared.wake.notified() => {}
                    _ = stop.wait() => {}
                }
            }
        }
    }
    // Refuse new messages; report any that raced in after the last look.
    shared.abandon(&deliveries);
    transport.close().await;
}

/// Delivers one message: attempts until success, a final error, the last attempt, or a stop
/// request (after which a failed attempt is not retried).
async fn deliver(
    transport: &mut Transport,
    policy: Policy,
    shared: &Shared,
    stop: &mut Stop,
    deliveries: &mpsc::UnboundedSender<Delivery>,
    notice: Arc<Notice>,
) {
    let message = &notice.alert;
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        *lock(&shared.current) = Some((notice.clone(), attempt));
        let at = Utc::now();
        // The transports time out by themselves; this is the backstop.
        let result = tokio::time::timeout(
            policy.timeout + Duration::from_secs(1),
            transport.attempt(&notice, attempt),
        )
        .await
        .unwrap_or_else(|_| {
            Err(AttemptError::retry(format!("timed out after {} ms", policy.timeout.as_millis())))
        });
        shared.counters.attempts.fetch_add(1, Ordering::Relaxed);
        let record = |ok: bool, detail: String| {
            let _ = deliveries.send(Delivery {
                alert_id: message.id.clone(),
                state: message.state,
                notifier: shared.name.clone(),
                attempt,
                at,
                ok,
                detail,
            });
        };
        match result {
            Ok(detail) => {
                *lock(&shared.current) = None;
                shared.counters.sent.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(notifier = %shared.name, alert = %message.id, attempt, "notified: {detail}");
                record(true, detail);
                return;
            }
            Err(error) => {
                let (last, detail) = if !error.retry {
                    (true, format!("{}; not retried", error.detail))
                } else if attempt >= policy.max_attempts {
                    (true, format!("{}; giving up after {attempt} attempts", error.detail))
                } else if stop.requested() {
                    (true, format!("{}; not retried: shutting down", error.detail))
                } else {
                    (false, error.detail.clone())
                };
                if last {
                    *lock(&shared.current) = None;
                    shared.counters.failed.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(notifier = %shared.name, alert = %message.id, attempt, "notification failed: {detail}");
                    record(false, detail);
                    return;
                }
                let wait = backoff(policy.first_backoff, attempt)
                    .max(error.retry_after.unwrap_or_default().min(MAX_BACKOFF));
                tracing::info!(notifier = %shared.name, alert = %message.id, attempt, "notification attempt failed: {detail}; retrying in {} ms", wait.as_millis());
                record(false, format!("{detail}; retrying in {} ms", wait.as_millis()));
                // A stop request cuts the wait short: one last attempt, then on.
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.wait() => {}
                }
            }
        }
    }
}
