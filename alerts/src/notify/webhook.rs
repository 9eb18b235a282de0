//! The webhook notifier: an HTTP POST of the alert's JSON, signed. Beside the alert message's
//! fields (as on `convoy/v1/alerts/{vehicle}`) the body carries `language`, the move's, and
//! `text`, the alert as a person reads it in that language (what a group robot posts).
//!
//! Headers: `Content-Type: application/json`, `X-Convoy-Signature: sha256=<hex HMAC-SHA256 of the
//! body under the secret>`, `X-Convoy-Delivery: <alert id>/<state>/<attempt>`. A 2xx answer is
//! success; connection errors, timeouts, 5xx and 429 are retried (429 and 503 honour a
//! `Retry-After` in seconds, up to the backoff cap); any other answer is final. Redirects are not
//! followed (they would turn the POST into a GET).

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::http::{client, http_url, post_json, refusal};
use super::retry::AttemptError;
use super::text::{chat_text, Notice};

/// The hex HMAC-SHA256 of `body` under `secret`: what follows `sha256=` in `X-Convoy-Signature`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

pub(super) struct Webhook {
    client: reqwest::Client,
    url: reqwest::Url,
    secret: Vec<u8>,
}

impl Webhook {
    pub(super) fn new(url: &str, secret: &str, timeout: Duration) -> anyhow::Result<Webhook> {
        let url = http_url(url, "webhook url")?;
        if secret.is_empty() {
            anyhow::bail!("webhook secret must not be empty");
        }
        Ok(Webhook { client: client(timeout)?, url, secret: secret.as_bytes().to_vec() })
    }

    pub(super) async fn attempt(&self, notice: &Notice, attempt: u32) -> Result<String, AttemptError> {
        let message = &notice.alert;
        let body = body(notice).map_err(|e| AttemptError::fatal(format!("cannot encode: {e}")))?;
        let headers = [
            ("X-Convoy-Signature", format!("sha256={}", signature(&self.secret, &body))),
            ("X-Convoy-Delivery", format!("{}/{}/{}", message.id, message.state.as_str(), attempt)),
        ];
        let response = post_json(&self.client, self.url.clone(), &headers, body).await?;
        let status = response.status();
        if status.is_success() {
            return Ok(format!("HTTP {status}"));
        }
        Err(refusal(response).await)
    }
}

/// The alert message's JSON with the move's `language` and the alert's `text` in it.
fn body(notice: &Notice) -> serde_json::Result<Vec<u8>> {
    let mut value = serde_json::to_value(&notice.alert)?;
    if let serde_json::Value::Object(fields) = &mut value {
        fields.insert("language".into(), notice.locale.language.tag().into());
        fields.insert("text".into(), chat_text(notice).into());
    }
    serde_json::to_vec(&value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_a_known_hmac_sha256() {
        // RFC 4231, test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[tokio::test]
    async fn a_failed_delivery_never_names_the_url_or_its_credentials() {
        // Nothing listens on port 1: the connection is refused at once.
        let url = "http://user:hunter2@127.0.0.1:1/hook/t0ken?key=s3cret";
        let hook = Webhook::new(url, "s", Duration::from_secs(5)).unwrap();
        let message = convoy_core::alert::AlertMessage {
            v: 1,
            id: "a1".into(),
            kind: convoy_core::alert::AlertKind::OffRoute,
            state: convoy_core::alert::AlertState::Open,
            vehicle: convoy_core::VehicleId::new("truck-07").unwrap(),
            move_id: "m1".into(),
            t: "2026-11-28T09:15:02Z".parse().unwrap(),
            lat: None,
            lon: None,
            detail: serde_json::json!({}),
            late: false,
        };
        let notice = Notice { alert: message, locale: Default::default() };
        let failed = hook.attempt(&notice, 1).await.unwrap_err();
        assert!(failed.retry, "a refused connection is worth another try");
        for secret in ["hunter2", "t0ken", "s3cret", "127.0.0.1:1"] {
            assert!(!failed.detail.contains(secret), "{secret} in {:?}", failed.detail);
        }
        let refused =
            Webhook::new("ftp://user:hunter2@example.org/", "s", Duration::from_secs(1)).err().unwrap();
        assert!(!refused.to_string().contains("hunter2"), "{refused}");
    }

    #[test]
    fn bad_urls_and_empty_secrets_are_refused() {
        let timeout = Duration::from_secs(1);
        assert!(Webhook::new("ftp://example.org/", "s", timeout).is_err());
        assert!(Webhook::new("not a url", "s", timeout).is_err());
        assert!(Webhook::new("http://127.0.0.1:9/hook", "", timeout).is_err());
        assert!(Webhook::new("https://example.org/hook", "s", timeout).is_ok());
    }
}
