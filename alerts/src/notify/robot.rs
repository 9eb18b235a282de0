//! Group chat robots, where Chinese teams read their alerts: DingTalk's custom robot, WeCom's
//! (WeChat Work) group robot and Feishu's (Lark's) custom bot. Each is a webhook URL that posts
//! a text message into one group, with the service's own body, signing and answer:
//!
//! | service | body | signing (when a `secret` is set) | success |
//! |---|---|---|---|
//! | DingTalk | `{"msgtype":"text","text":{"content":…}}` | `timestamp` (ms) and `sign` query parameters: base64 HMAC-SHA256 of `"{timestamp}\n{secret}"` under the secret | `{"errcode":0}` |
//! | WeCom | `{"msgtype":"text","text":{"content":…}}` | none (the URL's `key` is the credential) | `{"errcode":0}` |
//! | Feishu / Lark | `{"timestamp":"…","sign":"…","msg_type":"text","content":{"text":…}}` | `timestamp` (s) and `sign` in the body: base64 HMAC-SHA256 of an empty message under the key `"{timestamp}\n{secret}"` | `{"code":0}` (older: `"StatusCode":0`) |
//!
//! Each answers HTTP 200 with an error code when it refuses a message; a code that means "too
//! many messages" (DingTalk 130101, WeCom 45009, Feishu 11232: each allows about 20 a minute) is
//! worth another try, any other (a wrong signature, a missing keyword, a deleted robot) is final
//! and named in the delivery. A signature is made at each attempt: both services refuse one
//! older than an hour. The text is English for now (the page's languages are another issue).

use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use super::http::{body_start, client, http_url, post_json, refusal, BODY_EXCERPT};
use super::retry::AttemptError;
use super::text::{plain, Notice};

/// The most bytes of text a message carries: WeCom's limit for a text message (DingTalk and
/// Feishu take more).
pub const MAX_TEXT_BYTES: usize = 2048;

/// Which service a robot is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    DingTalk,
    WeCom,
    Feishu,
}

impl Service {
    fn name(self) -> &'static str {
        match self {
            Service::DingTalk => "DingTalk",
            Service::WeCom => "WeCom",
            Service::Feishu => "Feishu",
        }
    }

    /// The service's code for "too many messages, try later".
    fn rate_limited_code(self) -> i64 {
        match self {
            Service::DingTalk => 130_101,
            Service::WeCom => 45_009,
            Service::Feishu => 11_232,
        }
    }
}

/// DingTalk's `sign` for `timestamp_ms` (before URL encoding, which the query does).
pub fn dingtalk_sign(secret: &str, timestamp_ms: i64) -> String {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(format!("{timestamp_ms}\n{secret}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Feishu's `sign` for `timestamp_s`: the HMAC of nothing, keyed by timestamp and secret.
pub fn feishu_sign(secret: &str, timestamp_s: i64) -> String {
    let key = format!("{timestamp_s}\n{secret}");
    let mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes()).expect("HMAC takes a key of any length");
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The alert as a group reads it, in the move's language, cut to what every service takes.
pub(super) fn text(notice: &Notice) -> String {
    truncate(super::text::chat_text(notice), MAX_TEXT_BYTES)
}

/// `text` cut to at most `max` bytes at a character boundary, ending in "…" when cut.
fn truncate(mut text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut end = max - '…'.len_utf8();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push('…');
    text
}

/// One robot: its service, URL (a secret) and signing secret.
pub(super) struct Robot {
    service: Service,
    client: reqwest::Client,
    url: reqwest::Url,
    secret: Option<String>,
}

impl Robot {
    pub(super) fn new(
        service: Service,
        url: &str,
        secret: Option<&str>,
        timeout: Duration,
    ) -> anyhow::Result<Robot> {
        let url = http_url(url, &format!("{} robot url", service.name().to_lowercase()))?;
        if secret.is_some_and(str::is_empty) {
            anyhow::bail!("the robot's secret must not be empty (leave it out for no signing)");
        }
        if service == Service::WeCom && secret.is_some() {
            anyhow::bail!("a WeCom robot has no secret: its URL's key is the credential");
        }
        Ok(Robot { service, client: client(timeout)?, url, secret: secret.map(str::to_string) })
    }

    pub(super) async fn attempt(&self, notice: &Notice) -> Result<String, AttemptError> {
        let now = chrono::Utc::now();
        let content = text(notice);
        let mut url = self.url.clone();
        let body = match self.service {
            Service::DingTalk => {
                if let Some(secret) = &self.secret {
                    let timestamp = now.timestamp_millis();
                    url.query_pairs_mut()
                        .append_pair("timestamp", &timestamp.to_string())
                        .append_pair("sign", &dingtalk_sign(secret, timestamp));
                }
                json!({ "msgtype": "text", "text": { "content": content } })
            }
            Service::WeCom => json!({ "msgtype": "text", "text": { "content": content } }),
            Service::Feishu => {
                let mut body = json!({ "msg_type": "text", "content": { "text": content } });
                if let Some(secret) = &self.secret {
                    let timestamp = now.timestamp();
                    body["timestamp"] = json!(timestamp.to_string());
                    body["sign"] = json!(feishu_sign(secret, timestamp));
                }
                body
            }
        };
        let body =
            serde_json::to_vec(&body).map_err(|e| AttemptError::fatal(format!("cannot encode: {e}")))?;
        let mut response = post_json(&self.client, url, &[], body).await?;
        if !response.status().is_success() {
            return Err(refusal(response).await);
        }
        // The verdict is in the body; its start holds the code and message.
        let answer = body_start(&mut response, 4 * BODY_EXCERPT).await;
        self.verdict(&answer)
    }

    /// The service's verdict on a message it answered with HTTP 2xx.
    fn verdict(&self, answer: &[u8]) -> Result<String, AttemptError> {
        let service = self.service.name();
        let Ok(answer) = serde_json::from_slice::<Value>(answer) else {
            let start = String::from_utf8_lossy(&answer[..answer.len().min(BODY_EXCERPT)]).into_owned();
            return Err(AttemptError::retry(format!("{service} answered no JSON: {start}")));
        };
        let field = |names: &[&str]| names.iter().find_map(|name| answer.get(*name)).cloned();
        let (code, text) = match self.service {
            Service::DingTalk | Service::WeCom => (field(&["errcode"]), field(&["errmsg"])),
            Service::Feishu => (field(&["code", "StatusCode"]), field(&["msg", "StatusMessage"])),
        };
        let text = text.as_ref().map(plain).unwrap_or_default();
        match code.and_then(|code| code.as_i64()) {
            Some(0) => Ok(format!("{service} ok")),
            Some(code) => {
                let detail = format!("{service} code {code}: {}", truncate(text, BODY_EXCERPT));
                if code == self.service.rate_limited_code() {
                    Err(AttemptError::retry(detail))
                } else {
                    Err(AttemptError::fatal(detail))
                }
            }
            None => Err(AttemptError::retry(format!("{service} answered without a code"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use convoy_core::alert::{AlertKind, AlertMessage, AlertState};
    use convoy_core::VehicleId;

    fn message() -> AlertMessage {
        AlertMessage {
            v: 1,
            id: "a1".into(),
            kind: AlertKind::OffRoute,
            state: AlertState::Open,
            vehicle: VehicleId::new("truck-07").unwrap(),
            move_id: "m1".into(),
            t: "2026-11-28T09:15:02Z".parse().unwrap(),
            lat: Some(48.137154),
            lon: Some(11.576124),
            detail: json!({"distance_m": 412.5, "since": "2026-11-28T09:14:32.000Z"}),
            late: false,
        }
    }

    #[test]
    fn the_signatures_are_the_services_published_algorithms() {
        // Computed independently with Python's hmac, as each service's documentation shows:
        // DingTalk: b64(hmac(secret, f"{ts}\n{secret}")); Feishu: b64(hmac(f"{ts}\n{secret}", b"")).
        assert_eq!(
            dingtalk_sign("SEC-test", 1_700_000_000_000),
            "Sf/ft2shUSqoR1REF+DS39IoTlwQRyDPwfM8S94ODOc="
        );
        assert_eq!(feishu_sign("test-secret", 1_700_000_000), "mbm4Y4oluIPQ00qlBIhX8vAZ0EKv3nw0LuTb91jPL84=");
    }

    #[test]
    fn a_long_text_is_cut_to_wecoms_limit_at_a_character() {
        let long = AlertMessage { detail: json!({ "note": "路".repeat(2000) }), ..message() };
        let text = text(&Notice { alert: long, locale: Default::default() });
        assert!(text.len() <= MAX_TEXT_BYTES && text.ends_with('…'), "{} bytes", text.len());
    }

    #[test]
    fn a_refusal_is_final_unless_it_says_too_many() {
        let robot =
            |service| Robot::new(service, "http://127.0.0.1:9/robot", None, Duration::from_secs(1)).unwrap();
        let dingtalk = robot(Service::DingTalk);
        assert!(dingtalk.verdict(br#"{"errcode":0,"errmsg":"ok"}"#).is_ok());
        let wrong = dingtalk.verdict(br#"{"errcode":310000,"errmsg":"sign not match"}"#).unwrap_err();
        assert!(!wrong.retry && wrong.detail == "DingTalk code 310000: sign not match", "{wrong:?}");
        assert!(dingtalk.verdict(br#"{"errcode":130101,"errmsg":"send too fast"}"#).unwrap_err().retry);
        assert!(
            robot(Service::WeCom)
                .verdict(br#"{"errcode":45009,"errmsg":"api freq out of limit"}"#)
                .unwrap_err()
                .retry
        );
        let feishu = robot(Service::Feishu);
        assert!(feishu.verdict(br#"{"code":0,"msg":"success","data":{}}"#).is_ok());
        assert!(feishu.verdict(br#"{"StatusCode":0,"StatusMessage":"success"}"#).is_ok());
        assert!(!feishu.verdict(br#"{"code":19021,"msg":"sign match fail"}"#).unwrap_err().retry);
        assert!(feishu.verdict(b"<html>busy</html>").unwrap_err().retry, "no JSON: perhaps a proxy");
    }

    #[test]
    fn settings_that_cannot_work_are_refused() {
        let timeout = Duration::from_secs(1);
        assert!(Robot::new(Service::DingTalk, "ftp://example.org/", None, timeout).is_err());
        assert!(Robot::new(Service::Feishu, "https://open.feishu.cn/hook/x", Some(""), timeout).is_err());
        assert!(
            Robot::new(Service::WeCom, "https://qyapi.weixin.qq.com/send?key=k", Some("s"), timeout).is_err()
        );
        let refused =
            Robot::new(Service::DingTalk, "nota url?access_token=t0ken", None, timeout).err().unwrap();
        assert!(!refused.to_string().contains("t0ken"), "{refused}");
    }
}
