//! Notifiers: every alert change goes to each configured notifier (a webhook, an e-mail relay, an
//! external MQTT broker, a DingTalk, WeCom or Feishu group robot).
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
//!
//! This module is the public face ([`Notifiers`] and what it is started with and reports); the
//! parts live in their own modules:
//!
//! - `config`: [`NotifierConfig`], the `[[notifiers]]` tables of `convoy.toml`, refusing
//!   unknown keys;
//! - `secret`: [`Secret`], how passwords, webhook secrets and URLs are kept out of `Debug`;
//! - `queue`: the bounded, drop-the-oldest queue in front of each notifier;
//! - `worker`: each notifier's task, its retries and the delivery log it writes;
//! - `retry`: the retry policy, [`backoff`] and the retry-or-not verdict of an attempt;
//! - `transport`: one attempt over whichever channel a notifier uses, built from its
//!   configuration;
//! - `webhook`, `email`, `mqtt`, `robot` (DingTalk, WeCom, Feishu): the channels themselves;
//!   `http`: what the webhook and the robots share.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use convoy_core::alert::AlertMessage;
use tokio::sync::mpsc;
use tokio_util::sync::{CancellationToken, DropGuard};

mod config;
mod email;
mod http;
mod mqtt;
mod queue;
mod retry;
mod robot;
mod secret;
mod text;
mod transport;
mod webhook;
mod worker;

pub use config::NotifierConfig;
pub use retry::{backoff, MAX_BACKOFF};
pub use robot::{dingtalk_sign, feishu_sign};
pub use secret::Secret;
pub use text::{kind_name, state_name, Locale, Notice};
pub use webhook::signature;

use transport::Transport;
use worker::{Shared, Stop, Worker};

/// One attempt to deliver an alert change, as the store keeps it (the notification log):
/// `attempt` is 1 for the first real attempt, 0 for a message dropped without one.
pub use convoy_store::Delivery;

/// The detail of a delivery for a message dropped because its notifier's queue was full.
pub const DROPPED_QUEUE_FULL: &str = "dropped: queue full";
/// The detail of a delivery for a message still queued when the notifiers stopped.
pub const DROPPED_SHUTDOWN: &str = "dropped: shutting down";

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
    /// Cancels the workers' stop token when dropped, or in [`Notifiers::stop`].
    stop: DropGuard,
    options: NotifierOptions,
}

impl Notifiers {
    /// Starts one task per notifier (on the current Tokio runtime). Fails on a configuration that
    /// cannot work (a bad URL or address, duplicate names, zero attempts); does not contact any
    /// server. `shutdown` cancelled makes every notifier finish what it has queued, one attempt
    /// per message, and stop; [`Notifiers::stop`] does the same with a deadline.
    pub fn start(
        configs: Vec<NotifierConfig>,
        deliveries: mpsc::UnboundedSender<Delivery>,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Notifiers> {
        Self::start_with_options(configs, deliveries, shutdown, NotifierOptions::default())
    }

    /// [`Notifiers::start`] with a queue capacity and stop deadline of your own.
    pub fn start_with_options(
        configs: Vec<NotifierConfig>,
        deliveries: mpsc::UnboundedSender<Delivery>,
        shutdown: CancellationToken,
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

        let stop = shutdown.child_token();
        let workers = prepared
            .into_iter()
            .map(|(name, policy, transport)| {
                let stop = Stop(stop.clone());
                let shared = Arc::new(Shared::new(name, options.queue_capacity));
                let task =
                    runtime.spawn(worker::run(transport, policy, shared.clone(), stop, deliveries.clone()));
                Worker { shared, task }
            })
            .collect();
        Ok(Notifiers { workers, deliveries, stop: stop.drop_guard(), options })
    }

    /// Queues an alert change for every notifier and returns at once. Late messages are counted
    /// and skipped. When a notifier's queue is full its oldest queued message is dropped and
    /// reported as a delivery with `ok == false` and detail [`DROPPED_QUEUE_FULL`].
    pub fn notify(&self, message: &AlertMessage) {
        self.notify_in(message, Locale::default());
    }

    /// [`Notifiers::notify`] for a move whose alerts are written in `locale`'s language and
    /// time zone (e-mail, webhook text, group robots; MQTT carries the message as it is).
    pub fn notify_in(&self, message: &AlertMessage, locale: Locale) {
        if message.late {
            for worker in &self.workers {
                worker.shared.count_skipped_late();
            }
            return;
        }
        if self.workers.is_empty() {
            return;
        }
        let notice = Arc::new(Notice { alert: message.clone(), locale });
        for worker in &self.workers {
            worker.shared.push(notice.clone(), &self.deliveries);
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
        drop(stop);
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
