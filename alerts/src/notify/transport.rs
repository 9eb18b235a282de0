//! [`Transport`]: one notifier's connection to its receiver, whatever the channel.
//!
//! The worker only needs "make one attempt" and "close"; this is where a configuration becomes
//! the channel's own client (webhook, e-mail, MQTT or robot module), and where the configured secrets
//! are exposed, to those clients and nowhere else.

use std::time::Duration;

use super::config::NotifierConfig;
use super::retry::AttemptError;
use super::robot::{Robot, Service};
use super::secret::Secret;
use super::text::Notice;
use super::{email, mqtt, webhook};

pub(super) enum Transport {
    Webhook(webhook::Webhook),
    Email(email::Email),
    Mqtt(mqtt::Mqtt),
    Robot(Robot),
}

impl Transport {
    /// Checks the configuration and builds the client; contacts no server.
    pub fn new(config: &NotifierConfig) -> anyhow::Result<Transport> {
        Ok(match config {
            NotifierConfig::Webhook { url, secret, timeout_ms, .. } => Transport::Webhook(
                webhook::Webhook::new(url.expose(), secret.expose(), Duration::from_millis(*timeout_ms))?,
            ),
            NotifierConfig::Email {
                smtp_host,
                smtp_port,
                from,
                to,
                username,
                password,
                starttls,
                ca_file,
                timeout_ms,
                ..
            } => Transport::Email(email::Email::new(email::EmailSettings {
                host: smtp_host,
                port: *smtp_port,
                from,
                to,
                username: username.as_deref(),
                password: password.as_ref().map(|password| password.expose()),
                starttls: *starttls,
                ca_file: ca_file.as_deref(),
                timeout: Duration::from_millis(*timeout_ms),
            })?),
            NotifierConfig::Mqtt {
                host,
                port,
                topic_prefix,
                client_id,
                username,
                password,
                ca_file,
                client_cert_file,
                client_key_file,
                timeout_ms,
                ..
            } => Transport::Mqtt(mqtt::Mqtt::new(mqtt::MqttSettings {
                host,
                port: *port,
                topic_prefix,
                client_id,
                username: username.as_deref(),
                password: password.as_ref().map(|password| password.expose()),
                tls: convoy_tls_client::TlsFiles::from_keys(
                    "",
                    ca_file.as_deref(),
                    client_cert_file.as_deref(),
                    client_key_file.as_deref(),
                )?,
                timeout: Duration::from_millis(*timeout_ms),
            })?),
            NotifierConfig::Dingtalk { url, secret, timeout_ms, .. } => Transport::Robot(Robot::new(
                Service::DingTalk,
                url.expose(),
                secret.as_ref().map(Secret::expose),
                Duration::from_millis(*timeout_ms),
            )?),
            NotifierConfig::Wecom { url, timeout_ms, .. } => Transport::Robot(Robot::new(
                Service::WeCom,
                url.expose(),
                None,
                Duration::from_millis(*timeout_ms),
            )?),
            NotifierConfig::Feishu { url, secret, timeout_ms, .. } => Transport::Robot(Robot::new(
                Service::Feishu,
                url.expose(),
                secret.as_ref().map(Secret::expose),
                Duration::from_millis(*timeout_ms),
            )?),
        })
    }

    /// One attempt; `Ok` holds what the server answered.
    pub async fn attempt(&mut self, notice: &Notice, attempt: u32) -> Result<String, AttemptError> {
        match self {
            Transport::Webhook(webhook) => webhook.attempt(notice, attempt).await,
            Transport::Email(email) => email.attempt(notice).await,
            // MQTT carries the alert message as it is on the wire: for programs, not people.
            Transport::Mqtt(mqtt) => mqtt.attempt(&notice.alert).await,
            Transport::Robot(robot) => robot.attempt(notice).await,
        }
    }

    pub async fn close(self) {
        if let Transport::Mqtt(mqtt) = self {
            mqtt.close().await;
        }
    }
}

/// An error and its causes on one line, for a delivery's detail.
pub(super) fn error_chain(error: &dyn std::error::Error) -> String {
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
