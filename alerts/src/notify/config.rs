//! The configuration of the notifiers: one [`NotifierConfig`] per `[[notifiers]]` table of
//! `convoy.toml` (annotated example in `deploy/convoy.toml`).
//!
//! Unknown keys are refused rather than ignored: a misspelt `max_attempts` or `starttls` would
//! otherwise quietly fall back to its default and only show up when alerts fail to arrive. The
//! error names the key, the keys that are expected, and `[[notifiers]]`, because serde's own
//! message does not say which part of the file it is about.
//!
//! Passwords, webhook and robot secrets and their URLs are [`Secret`]s, so the derived `Debug` shows
//! everything else and none of them.

use std::path::PathBuf;
use std::time::Duration;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

use super::retry::Policy;
use super::secret::Secret;

/// A notifier, as configured (`type = "webhook" | "email" | "mqtt" | "dingtalk" | "wecom" | "feishu"`).
///
/// `Debug` shows every field but the secrets (webhook `url` and `secret`, `password`).
//
// `remote = "Self"` makes the derive an inherent `NotifierConfig::deserialize`, which the
// `Deserialize` impl below wraps to say where the error is. Fields are listed in each variant, not
// flattened from a shared struct: `flatten` would switch `deny_unknown_fields` off.
#[derive(Clone, Debug, Deserialize)]
#[serde(remote = "Self", tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum NotifierConfig {
    /// An HTTP POST of the alert's JSON, signed with HMAC-SHA256 of the body under `secret`.
    Webhook {
        name: String,
        /// `http://` or `https://`. A secret: such URLs often carry the receiver's token.
        url: Secret,
        /// The HMAC-SHA256 key for `X-Convoy-Signature`.
        secret: Secret,
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
        password: Option<Secret>,
        /// Upgrade the connection with STARTTLS (required when set).
        #[serde(default)]
        starttls: bool,
        /// With `starttls`: the CA that signed the relay's certificate (PEM), trusted instead of
        /// the built-in public roots.
        #[serde(default)]
        ca_file: Option<PathBuf>,
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
        password: Option<Secret>,
        /// MQTT over TLS to this broker: the CA that signed its certificate (PEM), the only one
        /// trusted. Unset: plain MQTT.
        #[serde(default)]
        ca_file: Option<PathBuf>,
        /// A client certificate (PEM) for a broker that asks for one, with `client_key_file`.
        #[serde(default)]
        client_cert_file: Option<PathBuf>,
        #[serde(default)]
        client_key_file: Option<PathBuf>,
        #[serde(default = "default_mqtt_timeout_ms")]
        timeout_ms: u64,
        #[serde(default = "default_max_attempts")]
        max_attempts: u32,
        #[serde(default = "default_first_backoff_ms")]
        first_backoff_ms: u64,
    },
    /// A DingTalk group's custom robot (钉钉自定义机器人): its webhook URL (with its
    /// `access_token`), and the secret of its "加签" (signing) security setting, if it has one.
    Dingtalk {
        name: String,
        url: Secret,
        #[serde(default)]
        secret: Option<Secret>,
        #[serde(default = "default_webhook_timeout_ms")]
        timeout_ms: u64,
        #[serde(default = "default_max_attempts")]
        max_attempts: u32,
        #[serde(default = "default_first_backoff_ms")]
        first_backoff_ms: u64,
    },
    /// A WeCom (企业微信) group robot: its webhook URL, whose `key` is its only credential.
    Wecom {
        name: String,
        url: Secret,
        #[serde(default = "default_webhook_timeout_ms")]
        timeout_ms: u64,
        #[serde(default = "default_max_attempts")]
        max_attempts: u32,
        #[serde(default = "default_first_backoff_ms")]
        first_backoff_ms: u64,
    },
    /// A Feishu or Lark group's custom bot (飞书自定义机器人): its webhook URL, and the secret
    /// of its signature verification (签名校验), if it has one.
    Feishu {
        name: String,
        url: Secret,
        #[serde(default)]
        secret: Option<Secret>,
        #[serde(default = "default_webhook_timeout_ms")]
        timeout_ms: u64,
        #[serde(default = "default_max_attempts")]
        max_attempts: u32,
        #[serde(default = "default_first_backoff_ms")]
        first_backoff_ms: u64,
    },
}

impl<'de> Deserialize<'de> for NotifierConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // The inherent, derived function (see `remote = "Self"` above), not this one.
        NotifierConfig::deserialize(deserializer)
            .map_err(|error| D::Error::custom(format_args!("in [[notifiers]]: {error}")))
    }
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
            | NotifierConfig::Mqtt { name, .. }
            | NotifierConfig::Dingtalk { name, .. }
            | NotifierConfig::Wecom { name, .. }
            | NotifierConfig::Feishu { name, .. } => name,
        }
    }

    pub(super) fn policy(&self) -> Policy {
        let (timeout_ms, max_attempts, first_backoff_ms) = match self {
            NotifierConfig::Webhook { timeout_ms, max_attempts, first_backoff_ms, .. }
            | NotifierConfig::Email { timeout_ms, max_attempts, first_backoff_ms, .. }
            | NotifierConfig::Mqtt { timeout_ms, max_attempts, first_backoff_ms, .. }
            | NotifierConfig::Dingtalk { timeout_ms, max_attempts, first_backoff_ms, .. }
            | NotifierConfig::Wecom { timeout_ms, max_attempts, first_backoff_ms, .. }
            | NotifierConfig::Feishu { timeout_ms, max_attempts, first_backoff_ms, .. } => {
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

#[cfg(test)]
mod tests {
    use super::*;

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
            NotifierConfig::Webhook { url, secret, timeout_ms, max_attempts, first_backoff_ms, .. } => {
                assert_eq!((url.expose(), secret.expose()), ("http://127.0.0.1:1/hook", "s3"));
                assert_eq!((*timeout_ms, *max_attempts, *first_backoff_ms), (5000, 6, 500));
            }
            other => panic!("{other:?}"),
        }
        match &configs[1] {
            NotifierConfig::Email { starttls, username, password, max_attempts, .. } => {
                assert!(!starttls);
                assert!(username.is_none());
                assert!(password.is_none());
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
            ca_file: None,
            timeout_ms: 1,
            max_attempts: 1,
            first_backoff_ms: 1,
        };
        let text = format!("{config:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("user"));
        let hook = NotifierConfig::Webhook {
            name: "h".into(),
            url: "https://desk:urlpass@hooks.example.org/T0/B0/urltoken?key=urlkey".into(),
            secret: "topsecret".into(),
            timeout_ms: 1,
            max_attempts: 1,
            first_backoff_ms: 1,
        };
        let mqtt = NotifierConfig::Mqtt {
            name: "ext".into(),
            host: "broker.example.org".into(),
            port: 1883,
            topic_prefix: "convoy/v1/alerts".into(),
            client_id: "convoy-ext".into(),
            username: Some("convoy".into()),
            password: Some("mqttpass".into()),
            ca_file: None,
            client_cert_file: None,
            client_key_file: None,
            timeout_ms: 1,
            max_attempts: 1,
            first_backoff_ms: 1,
        };
        for text in [format!("{hook:?}"), format!("{hook:#?}"), format!("{mqtt:?}"), format!("{mqtt:#?}")] {
            for secret in ["topsecret", "urlpass", "urltoken", "urlkey", "hooks.example.org", "mqttpass"] {
                assert!(!text.contains(secret), "{secret} in {text}");
            }
        }
        // Still useful for finding one's way: what is not secret is shown.
        let text = format!("{mqtt:?}");
        assert!(text.contains("broker.example.org") && text.contains("convoy-ext"), "{text}");
        assert!(text.contains("password: Some(***)"), "{text}");
    }

    #[test]
    fn the_chat_robots_read_with_their_secrets_hidden() {
        let configs: Vec<NotifierConfig> = serde_json::from_value(serde_json::json!([
            {"type": "dingtalk", "name": "dt", "url": "https://oapi.dingtalk.com/robot/send?access_token=dttoken",
             "secret": "SECdt"},
            {"type": "wecom", "name": "wc", "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=wckey"},
            {"type": "feishu", "name": "fs", "url": "https://open.feishu.cn/open-apis/bot/v2/hook/fshook"}
        ]))
        .unwrap();
        assert_eq!(configs.iter().map(NotifierConfig::name).collect::<Vec<_>>(), ["dt", "wc", "fs"]);
        assert_eq!(configs[0].policy().max_attempts, 6);
        match &configs[2] {
            NotifierConfig::Feishu { secret, .. } => assert!(secret.is_none(), "signing is optional"),
            other => panic!("{other:?}"),
        }
        let text = format!("{configs:?}");
        for secret in ["dttoken", "SECdt", "wckey", "fshook"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        let error = serde_json::from_value::<NotifierConfig>(
            serde_json::json!({"type": "wecom", "name": "wc", "url": "https://x.example/", "secret": "s"}),
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("unknown field `secret`"), "a WeCom robot has no secret: {error}");
    }

    #[test]
    fn a_misspelt_key_is_refused_naming_it_the_expected_keys_and_the_section() {
        let cases = [
            (
                serde_json::json!({"type": "webhook", "name": "ops", "url": "http://127.0.0.1:1/hook",
                    "secret": "s3", "max_atempts": 3}),
                "max_atempts",
                "`max_attempts`",
            ),
            (
                serde_json::json!({"type": "email", "name": "mail", "smtp_host": "localhost",
                    "smtp_port": 25, "from": "convoy@example.org", "to": ["escort@example.org"],
                    "start_tls": true}),
                "start_tls",
                "`starttls`",
            ),
            (
                serde_json::json!({"type": "mqtt", "name": "ext", "host": "localhost", "port": 1883,
                    "client_id": "convoy-ext", "pasword": "x"}),
                "pasword",
                "`password`",
            ),
        ];
        for (value, key, expected) in cases {
            let error = serde_json::from_value::<NotifierConfig>(value).unwrap_err().to_string();
            assert!(error.contains("[[notifiers]]"), "{error}");
            assert!(error.contains(&format!("unknown field `{key}`")), "{error}");
            assert!(error.contains(expected), "{error}");
        }
        // The tag itself is not an unknown key, and an unknown `type` is named too.
        let error =
            serde_json::from_value::<NotifierConfig>(serde_json::json!({"type": "slack", "name": "s"}))
                .unwrap_err()
                .to_string();
        assert!(error.contains("[[notifiers]]") && error.contains("`slack`"), "{error}");
    }
}
