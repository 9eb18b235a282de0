//! The notifiers against real servers on loopback: an HTTP server (axum) for webhooks, aiosmtpd
//! (Python) for e-mail, Mosquitto for MQTT. The helpers all cases share are here; the servers
//! and the cases of each channel have a module each.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use convoy_alerts::notify::{
    Delivery, Locale, NotifierConfig, NotifierCounts, NotifierOptions, Notifiers, DROPPED_QUEUE_FULL,
    DROPPED_SHUTDOWN,
};
use convoy_core::alert::{AlertKind, AlertMessage, AlertState};
use convoy_core::language::Language;
use convoy_core::vehicle::VehicleId;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

mod email;
mod hook;
mod mqtt;
mod queue;
mod smtp;
mod tls;
mod webhook;

use hook::*;
use smtp::*;

fn message(id: &str, state: AlertState) -> AlertMessage {
    AlertMessage {
        v: 1,
        id: id.to_string(),
        kind: AlertKind::OffRoute,
        state,
        vehicle: VehicleId::new("truck-07").unwrap(),
        move_id: "m1".to_string(),
        t: "2026-11-28T09:15:02Z".parse().unwrap(),
        lat: Some(48.137154),
        lon: Some(11.576124),
        detail: serde_json::json!({"since": "2026-11-28T09:14:32.000Z", "distance_m": 412.5}),
        late: false,
    }
}

fn webhook(
    name: &str,
    url: &str,
    timeout_ms: u64,
    max_attempts: u32,
    first_backoff_ms: u64,
) -> NotifierConfig {
    NotifierConfig::Webhook {
        name: name.to_string(),
        url: url.into(),
        secret: "webhook-secret".into(),
        timeout_ms,
        max_attempts,
        first_backoff_ms,
    }
}

fn email(name: &str, port: u16) -> NotifierConfig {
    NotifierConfig::Email {
        name: name.to_string(),
        smtp_host: "127.0.0.1".to_string(),
        smtp_port: port,
        from: "Convoy <convoy@example.org>".to_string(),
        to: vec!["escort@example.org".to_string(), "dispatch@example.org".to_string()],
        username: None,
        password: None,
        starttls: false,
        ca_file: None,
        timeout_ms: 5_000,
        max_attempts: 3,
        first_backoff_ms: 200,
    }
}

/// The delivery log as the caller sees it.
struct Log {
    rx: mpsc::UnboundedReceiver<Delivery>,
    seen: Vec<Delivery>,
}

impl Log {
    fn new() -> (mpsc::UnboundedSender<Delivery>, Log) {
        let (tx, rx) = mpsc::unbounded_channel();
        (tx, Log { rx, seen: Vec::new() })
    }

    /// The next delivery that matches, waiting at most `within`.
    async fn wait_for(&mut self, within: Duration, what: impl Fn(&Delivery) -> bool) -> Delivery {
        if let Some(i) = self.seen.iter().position(&what) {
            return self.seen.remove(i);
        }
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(delivery)) if what(&delivery) => return delivery,
                Ok(Some(delivery)) => self.seen.push(delivery),
                Ok(None) => panic!("the delivery channel closed; seen: {:#?}", self.seen),
                Err(_) => panic!("no matching delivery within {within:?}; seen: {:#?}", self.seen),
            }
        }
    }

    async fn from(&mut self, notifier: &str, within: Duration) -> Delivery {
        self.wait_for(within, |d| d.notifier == notifier).await
    }

    /// Everything that arrives within `within`.
    async fn drain(&mut self, within: Duration) -> Vec<Delivery> {
        let deadline = tokio::time::Instant::now() + within;
        let mut all = std::mem::take(&mut self.seen);
        while let Ok(Some(delivery)) = tokio::time::timeout_at(deadline, self.rx.recv()).await {
            all.push(delivery);
        }
        all
    }
}

fn counts_of(notifiers: &Notifiers, name: &str) -> NotifierCounts {
    notifiers.counts().into_iter().find(|(n, _)| n == name).map(|(_, c)| c).unwrap()
}

fn never_shut_down() -> CancellationToken {
    CancellationToken::new()
}
