//! Notifiers: every alert change goes to each configured notifier (a webhook, an e-mail relay, an
//! external MQTT broker).
//!
//! The caller (ingest, through the alert lifecycle) hands each [`AlertMessage`] to
//! [`Notifiers::notify`], which only puts it on each notifier's own bounded queue and returns: it
//! never waits, never fails. Each notifier has its own task that takes messages from its queue in
//! order and delivers them one at a time, retrying failed attempts with exponential backoff, so a
//! failing or slow notifier holds up neither the caller nor the other notifiers. Every attempt is
//! reported as a [`Delivery`] on the channel given to [`Notifiers::start`]; so is every message a
//! notifier drops without attempting it (its queue was full, or it was shutting down), with
//! `ok == false` and `attempt == 0`.
//!
//! Messages marked `late` (decided from a backlog of old fixes) are on the record but ring no one:
//! they are not sent, not queued and not failures; [`NotifierCounts::skipped_late`] counts them.
//!
//! Memory is bounded: each queue holds at most [`NotifierOptions::queue_capacity`] messages; when
//! it is full the oldest queued message is dropped, counted and reported. The [`Delivery`] channel
//! is the caller's: it must keep reading it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::{bail, Context};
use chrono::Utc;
use convoy_core::alert::AlertMessage;
use serde::Deserialize;
use tokio::sync::{mpsc, watch, Notify};
use tokio::task::JoinHandle;

mod email;
mod mqtt;
mod webhook;

pub use webhook::signature;

/// One attempt to deliver an alert change, as the store keeps it (the notification log):
/// `attempt` is 1 for the first real attempt, 0 for a message dropped without one.
pub use convoy_store::Delivery;

/// The detail of a delivery for a message dropped because its notifier's queue was full.
pub const DROPPED_QUEUE_FULL: &str = "dropped: queue full";
/// The detail of a delivery for a message still queued when the notifiers stopped.
pub const DROPPED_SHUTDOWN: &str = "dropped: shutting down";

/// A notifier, as configured (`type = "webhook" | "email" | "mqtt"`).
///
/// `Debug` shows every field but the secrets (webhook `secret`, `password`).
#[derive(Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NotifierConfig {
    /// An HTTP POST of the alert's JSON, signed with HMAC-SHA256 of the body under `secret`.
    Webhook {
        name: String,
        /// `http://` or `https://`.
        url: String,
        /// The HMAC-SHA256 key for `X-Convoy-Signature`.
        secret: String,
        #[serde(default = "default_webhook_timeout_ms")]
        timeout_ms: u64,
        #[serde(default = "default_max_attempts")]
        max_attempts: u32,
        #[serde(default = "default_first_backoff_ms")]
        first_backoff_ms: u64,
    },
    /// A plain-text e-mail through an SMTP relay.
    Email {
        name: String,
        smtp_host: String,
        smtp_port: u16,
        from: String,
        to: Vec<String>,
        #[serde(default)]
        username: Option<String>,
        #[serde(default)]
        password: Option<String>,
        /// Upgrade the connection with STARTTLS (required when set).
        #[serde(default)]
        starttls: bool,
        #[serde(default = "default_email_timeout_ms")]
        timeout_ms: u64,
        #[serde(default = "default_max_attempts")]
        max_attempts: u32,
        #[serde(default = "default_first_backoff_ms")]
        first_backoff_ms: u64,
    },
    /// A QoS 1 publish of the alert's JSON on `{topic_prefix}/{vehicle}` of an external broker
    /// (the server publishes alerts on its own broker connection already).
    Mqtt {
        name: String,
        host: String,
        port: u16,
        #[serde(default = "default_topic_prefix")]
        topic_prefix: String,
        client_id: String,
        #[serde(default)]
        username: Option<String>,
        #[serde(default)]
        password: Option<String>,
        #[serde(default = "default_mqtt_timeout_ms")]
        timeout_ms: u64,
        #[serde(default = "default_max_attempts")]
        max_attempts: u32,
        #[serde(default = "default_first_backoff_ms")]
        first_backoff_ms: u64,
    },
}

fn default_webhook_timeout_ms() -> u64 {
    5_000
}
fn default_email_timeout_ms() -> u64 {
    10_000
}
fn default_mqtt_timeout_ms() -> u64 {
    5_000
}
fn default_max_attempts() -> u32 {
    6
}
fn default_first_backoff_ms() -> u64 {
    500
}
fn default_topic_prefix() -> String {
    "convoy/v1/alerts".to_string()
}

impl NotifierConfig {
    /// The notifier's configured name, as it appears in deliveries and counts.
    pub fn name(&self) -> &str {
        match self {
            NotifierConfig::Webhook { name, .. }
            | NotifierConfig::Email { name, .. }
            | NotifierConfig::Mqtt { name, .. } => name,
        }
    }

    fn policy(&self) -> Policy {
        let (timeout_ms, max_attempts, first_backoff_ms) = match self {
            NotifierConfig::Webhook { timeout_ms, max_attempts, first_backoff_ms, .. }
            | NotifierConfig::Email { timeout_ms, max_attempts, first_backoff_ms, .. }
            | NotifierConfig::Mqtt { timeout_ms, max_attempts, first_backoff_ms, .. } => {
                (*timeout_ms, *max_attempts, *first_backoff_ms)
            }
        };
        Policy {
            timeout: Duration::from_millis(timeout_ms),
            max_attempts,
            first_backoff: Duration::from_millis(first_backoff_ms),
        }
    }
}

fn redacted(secret: &Option<String>) -> Option<&'static str> {
    secret.as_ref().map(|_| "<redacted>")
}

impl std::fmt::Debug for NotifierConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotifierConfig::Webhook { name, url, secret: _, timeout_ms, max_attempts, first_backoff_ms } => f
                .debug_struct("Webhook")
                .field("name", name)
                .field("url", url)
                .field("secret", &"<redacted>")
                .field("timeout_ms", timeout_ms)
                .field("max_attempts", max_attempts)
                .field("first_backoff_ms", first_backoff_ms)
                .finish(),
            NotifierConfig::Email {
                name,
                smtp_host,
                smtp_port,
                from,
                to,
                username,
                password,
                starttls,
                timeout_ms,
                max_attempts,
                first_backoff_ms,
            } => f
                .debug_struct("Email")
                .field("name", name)
                .field("smtp_host", smtp_host)
                .field("smtp_port", smtp_port)
                .field("from", from)
                .field("to", to)
                .field("username", username)
                .field("password", &redacted(password))
                .field("starttls", starttls)
                .field("timeout_ms", timeout_ms)
                .field("max_attempts", max_attempts)
                .field("first_backoff_ms", first_backoff_ms)
                .finish(),
            NotifierConfig::Mqtt {
                name,
                host,
                port,
                topic_prefix,
                client_id,
                username,
                password,
                timeout_ms,
                max_attempts,
                first_backoff_ms,
            } => f
                .debug_struct("Mqtt")
                .field("name", name)
                .field("host", host)
                .field("port", port)
                .field("topic_prefix", topic_prefix)
                .field("client_id", client_id)
                .field("username", username)
                .field("password", &redacted(password))
                .field("timeout_ms", timeout_ms)
                .field("max_attempts", max_attempts)
                .field("first_backoff_ms", first_backoff_ms)
                .finish(),
        }
    }
}

/// How the notifiers run, beyond each one's configuration.
#[derive(Clone, Debug)]
pub struct NotifierOptions {
    /// The most messages one notifier keeps queued; past it the oldest is dropped.
    pub queue_capacity: usize,
    /// How long [`Notifiers::stop`] lets queued and in-flight work finish.
    pub stop_deadline: Duration,
}

impl Default for NotifierOptions {
    fn default() -> Self {
        NotifierOptions { queue_capacity: 10_000, stop_deadline: Duration::from_secs(5) }
    }
}

/// What one notifier has done since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NotifierCounts {
    /// Messages delivered.
    pub sent: u64,
    /// Messages given up on after their last attempt (or a final error).
    pub failed: u64,
    /// Messages dropped without an attempt: queue full, or still queued at shutdown.
    pub dropped: u64,
    /// Late messages not sent, by design.
    pub skipped_late: u64,
    /// Attempts made, successful or not.
    pub attempts: u64,
    /// Messages waiting in the queue now.
    pub queued: usize,
}

/// The running notifiers. Dropping this without [`Notifiers::stop`] lets each notifier finish
/// what it has queued (one attempt each) in the background.
pub struct Notifiers {
    workers: Vec<Worker>,
    deliveries: mpsc::UnboundedSender<Delivery>,
    stop: watch::Sender<bool>,
    options: NotifierOptions,
}

struct Worker {
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Notifiers {
    /// Starts one task per notifier (on the current Tokio runtime). Fails on a configuration that
    /// cannot work (a bad URL or address, duplicate names, zero attempts); does not contact any
    /// server. `shutdown` turning `true` makes every notifier finish what it has queued, one
    /// attempt per message, and stop; [`Notifiers::stop`] does the same with a deadline.
    pub fn start(
        configs: Vec<NotifierConfig>,
        deliveries: mpsc::UnboundedSender<Delivery>,
        shutdown: watch::Receiver<bool>,
    ) -> anyhow::Result<Notifiers> {
        Self::start_with_options(configs, deliveries, shutdown, NotifierOptions::default())
    }

    /// [`Notifiers::start`] with a queue capacity and stop deadline of your own.
    pub fn start_with_options(
        configs: Vec<NotifierConfig>,
        deliveries: mpsc::UnboundedSender<Delivery>,
        shutdown: watch::Receiver<bool>,
        options: NotifierOptions,
    ) -> anyhow::Result<Notifiers> {
        if options.queue_capacity == 0 {
            bail!("notifier queue capacity must be at least 1");
        }
        let runtime = tokio::runtime::Handle::try_current()
            .context("notifiers must be started inside a Tokio runtime")?;
        let mut names = std::collections::HashSet::new();
        let mut prepared = Vec::with_capacity(configs.len());
        for config in &configs {
            let name = config.name();
            if name.trim().is_empty() {
                bail!("a notifier has an empty name");
            }
            if !names.insert(name.to_string()) {
                bail!("two notifiers are named {name:?}: names must be unique");
            }
            let policy = config.policy();
            if policy.max_attempts == 0 {
                bail!("notifier {name:?}: max_attempts must be at least 1");
            }
            if policy.timeout.is_zero() {
                bail!("notifier {name:?}: timeout_ms must be at least 1");
            }
            let transport = Transport::new(config).with_context(|| format!("notifier {name:?}"))?;
            prepared.push((name.to_string(), policy, transport));
        }

        let (stop_tx, stop_rx) = watch::channel(false);
        let workers = prepared
            .into_iter()
            .map(|(name, policy, transport)| {
                let shared = Arc::new(Shared::new(name, options.queue_capacity));
                let stop = Stop { external: shutdown.clone(), internal: stop_rx.clone() };
                let task =
                    runtime.spawn(run_worker(transport, policy, shared.clone(), stop, deliveries.clone()));
                Worker { shared, task }
            })
            .collect();
        Ok(Notifiers { workers, deliveries, stop: stop_tx, options })
    }

    /// Queues an alert change for every notifier and returns at once. Late messages are counted
    /// and skipped. When a notifier's queue is full its oldest queued message is dropped and
    /// reported as a delivery with `ok == false` and detail [`DROPPED_QUEUE_FULL`].
    pub fn notify(&self, message: &AlertMessage) {
        if message.late {
            for worker in &self.workers {
                worker.shared.counters.skipped_late.fetch_add(1, Ordering::Relaxed);
            }
            return;
        }
        if self.workers.is_empty() {
            return;
        }
        let message = Arc::new(message.clone());
        for worker in &self.workers {
            worker.shared.push(message.clone(), &self.deliveries);
        }
    }

    /// Per-notifier counts, in configuration order.
    pub fn counts(&self) -> Vec<(String, NotifierCounts)> {
        self.workers.iter().map(|worker| (worker.shared.name.clone(), worker.shared.counts())).collect()
    }

    /// Stops accepting work and lets each notifier deliver what it has queued or in flight (one
    /// attempt per message, no more backoff) until [`NotifierOptions::stop_deadline`]. What is
    /// left then is abandoned and reported: the interrupted attempt as a failed delivery, the
    /// messages still queued as [`DROPPED_SHUTDOWN`].
    pub async fn stop(self) {
        let Notifiers { workers, deliveries, stop, options } = self;
        let _ = stop.send(true);
        let deadline = tokio::time::Instant::now() + options.stop_deadline;
        for mut worker in workers {
            if tokio::time::timeout_at(deadline, &mut worker.task).await.is_err() {
                worker.task.abort();
                let _ = (&mut worker.task).await;
            }
            worker.shared.abandon(&deliveries);
        }
    }
}

/// Retry policy of one notifier.
#[derive(Clone, Copy, Debug)]
struct Policy {
    timeout: Duration,
    max_attempts: u32,
    first_backoff: Duration,
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
struct AttemptError {
    retry: bool,
    detail: String,
    /// The server asked for at least this wait (HTTP `Retry-After`).
    retry_after: Option<Duration>,
}

impl AttemptError {
    fn retry(detail: impl Into<String>) -> Self {
        AttemptError { retry: true, detail: detail.into(), retry_after: None }
    }
    fn fatal(detail: impl Into<String>) -> Self {
        AttemptError { retry: false, detail: detail.into(), retry_after: None }
    }
}

/// An error and its causes on one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

enum Transport {
    Webhook(webhook::Webhook),
    Email(email::Email),
    Mqtt(mqtt::Mqtt),
}

impl Transport {
    fn new(config: &NotifierConfig) -> anyhow::Result<Transport> {
        Ok(match config {
            NotifierConfig::Webhook { url, secret, timeout_ms, .. } => {
                Transport::Webhook(webhook::Webhook::new(url, secret, Duration::from_millis(*timeout_ms))?)
            }
            NotifierConfig::Email {
                smtp_host,
                smtp_port,
                from,
                to,
                username,
                password,
                starttls,
                timeout_ms,
                ..
            } => Transport::Email(email::Email::new(email::EmailSettings {
                host: smtp_host,
                port: *smtp_port,
                from,
                to,
                username: username.as_deref(),
                password: password.as_deref(),
                starttls: *starttls,
                timeout: Duration::from_millis(*timeout_ms),
            })?),
            NotifierConfig::Mqtt {
                host,
                port,
                topic_prefix,
                client_id,
                username,
                password,
                timeout_ms,
                ..
            } => Transport::Mqtt(mqtt::Mqtt::new(mqtt::MqttSettings {
                host,
                port: *port,
                topic_prefix,
                client_id,
                username: username.as_deref(),
                password: password.as_deref(),
                timeout: Duration::from_millis(*timeout_ms),
            })?),
        })
    }

    /// One attempt; `Ok` holds what the server answered.
    async fn attempt(&mut self, message: &AlertMessage, attempt: u32) -> Result<String, AttemptError> {
        match self {
            Transport::Webhook(webhook) => webhook.attempt(message, attempt).await,
            Transport::Email(email) => email.attempt(message).await,
            Transport::Mqtt(mqtt) => mqtt.attempt(message).await,
        }
    }

    async fn close(self) {
        if let Transport::Mqtt(mqtt) = self {
            mqtt.close().await;
        }
    }
}

/// Asked to stop: by the caller's shutdown signal, or by [`Notifiers::stop`] / dropping
/// [`Notifiers`].
struct Stop {
    external: watch::Receiver<bool>,
    internal: watch::Receiver<bool>,
}

impl Stop {
    fn requested(&self) -> bool {
        *self.external.borrow() || *self.internal.borrow() || self.internal.has_changed().is_err()
    }

    async fn wait(&mut self) {
        let Stop { external, internal } = self;
        let external = async {
            if external.wait_for(|stop| *stop).await.is_err() {
                // The caller's shutdown sender is gone without asking to stop: it never will.
                std::future::pending::<()>().await;
            }
        };
        let internal = async {
            // An error means `Notifiers` was dropped: stop too.
            let _ = internal.wait_for(|stop| *stop).await;
        };
        tokio::select! {
            _ = external => {}
            _ = internal => {}
        }
    }
}

#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    skipped_late: AtomicU64,
    attempts: AtomicU64,
}

struct Queue {
    messages: VecDeque<Arc<AlertMessage>>,
    /// The worker has ended: nothing will take from the queue any more.
    closed: bool,
}

/// What `notify`, `stop` and a notifier's task share.
struct Shared {
    name: String,
    capacity: usize,
    queue: Mutex<Queue>,
    wake: Notify,
    /// The message being attempted and the attempt number, for reporting an interrupted attempt.
    current: Mutex<Option<(Arc<AlertMessage>, u32)>>,
    counters: Counters,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while holding these locks; recover the data if something ever does.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    fn new(name: String, capacity: usize) -> Shared {
        Shared {
            name,
            capacity,
            queue: Mutex::new(Queue { messages: VecDeque::new(), closed: false }),
            wake: Notify::new(),
            current: Mutex::new(None),
            counters: Counters::default(),
        }
    }

    fn counts(&self) -> NotifierCounts {
        let c = &self.counters;
        NotifierCounts {
            sent: c.sent.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            skipped_late: c.skipped_late.load(Ordering::Relaxed),
            attempts: c.attempts.load(Ordering::Relaxed),
            queued: lock(&self.queue).messages.len(),
        }
    }

    fn push(&self, message: Arc<AlertMessage>, deliveries: &mpsc::UnboundedSender<Delivery>) {
        let dropped = {
            let mut queue = lock(&self.queue);
            if queue.closed {
                Some((message, DROPPED_SHUTDOWN))
            } else {
                let oldest =
                    if queue.messages.len() >= self.capacity { queue.messages.pop_front() } else { None };
                queue.messages.push_back(message);
                oldest.map(|oldest| (oldest, DROPPED_QUEUE_FULL))
            }
        };
        self.wake.notify_one();
        if let Some((message, why)) = dropped {
            self.record_drop(&message, why, deliveries);
        }
    }

    fn pop(&self) -> Option<Arc<AlertMessage>> {
        lock(&self.queue).messages.pop_front()
    }

    fn record_drop(&self, message: &AlertMessage, why: &str, deliveries: &mpsc::UnboundedSender<Delivery>) {
        let dropped = self.counters.dropped.fetch_add(1, Ordering::Relaxed) + 1;
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
    fn abandon(&self, deliveries: &mpsc::UnboundedSender<Delivery>) {
        if let Some((message, attempt)) = lock(&self.current).take() {
            self.counters.failed.fetch_add(1, Ordering::Relaxed);
            let _ = deliveries.send(Delivery {
                alert_id: message.id.clone(),
                state: message.state,
                notifier: self.name.clone(),
                attempt,
                at: Utc::now(),
                ok: false,
                detail: "interrupted: shutting down".to_string(),
            });
        }
        let left: Vec<_> = {
            let mut queue = lock(&self.queue);
            queue.closed = true;
            queue.messages.drain(..).collect()
        };
        for message in left {
            self.record_drop(&message, DROPPED_SHUTDOWN, deliveries);
        }
    }
}

async fn run_worker(
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
    message: Arc<AlertMessage>,
) {
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        *lock(&shared.current) = Some((message.clone(), attempt));
        let at = Utc::now();
        // The transports time out by themselves; this is the backstop.
        let result = tokio::time::timeout(
            policy.timeout + Duration::from_secs(1),
            transport.attempt(&message, attempt),
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

    #[test]
    fn configuration_reads_from_toml_like_json_with_defaults() {
        let configs: Vec<NotifierConfig> = serde_json::from_value(serde_json::json!([
            {"type": "webhook", "name": "ops", "url": "http://127.0.0.1:1/hook", "secret": "s3"},
            {"type": "email", "name": "mail", "smtp_host": "localhost", "smtp_port": 25,
             "from": "convoy@example.org", "to": ["escort@example.org"]},
            {"type": "mqtt", "name": "ext", "host": "localhost", "port": 1883, "client_id": "convoy-ext"}
        ]))
        .unwrap();
        match &configs[0] {
            NotifierConfig::Webhook { timeout_ms, max_attempts, first_backoff_ms, .. } => {
                assert_eq!((*timeout_ms, *max_attempts, *first_backoff_ms), (5000, 6, 500));
            }
            other => panic!("{other:?}"),
        }
        match &configs[1] {
            NotifierConfig::Email { starttls, username, max_attempts, .. } => {
                assert!(!starttls);
                assert!(username.is_none());
                assert_eq!(*max_attempts, 6);
            }
            other => panic!("{other:?}"),
        }
        match &configs[2] {
            NotifierConfig::Mqtt { topic_prefix, .. } => assert_eq!(topic_prefix, "convoy/v1/alerts"),
            other => panic!("{other:?}"),
        }
        assert_eq!(configs[2].name(), "ext");
    }

    #[test]
    fn debug_output_hides_the_secrets() {
        let config = NotifierConfig::Email {
            name: "mail".into(),
            smtp_host: "localhost".into(),
            smtp_port: 25,
            from: "a@example.org".into(),
            to: vec!["b@example.org".into()],
            username: Some("user".into()),
            password: Some("hunter2".into()),
            starttls: true,
            timeout_ms: 1,
            max_attempts: 1,
            first_backoff_ms: 1,
        };
        let text = format!("{config:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("user"));
        let hook = NotifierConfig::Webhook {
            name: "h".into(),
            url: "http://x/".into(),
            secret: "topsecret".into(),
            timeout_ms: 1,
            max_attempts: 1,
            first_backoff_ms: 1,
        };
        assert!(!format!("{hook:?}").contains("topsecret"));
    }
}
