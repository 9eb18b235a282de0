//! The webhook notifier: an HTTP POST of the alert's JSON, signed.
//!
//! Headers: `Content-Type: application/json`, `X-Convoy-Signature: sha256=<hex HMAC-SHA256 of the
//! body under the secret>`, `X-Convoy-Delivery: <alert id>/<state>/<attempt>`. A 2xx answer is
//! success; connection errors, timeouts, 5xx and 429 are retried (429 and 503 honour a
//! `Retry-After` in seconds, up to the backoff cap); any other answer is final. Redirects are not
//! followed (they would turn the POST into a GET).

use std::time::Duration;

use convoy_core::alert::AlertMessage;
use hmac::{Hmac, Mac};
use reqwest::header::{HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use reqwest::StatusCode;
use sha2::Sha256;

use super::retry::AttemptError;
use super::transport::error_chain;

/// The hex HMAC-SHA256 of `body` under `secret`: what follows `sha256=` in `X-Convoy-Signature`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// How much of an error answer's body goes into the delivery's detail.
const BODY_EXCERPT: usize = 200;

pub(super) struct Webhook {
    client: reqwest::Client,
    url: reqwest::Url,
    secret: Vec<u8>,
}

impl Webhook {
    pub(super) fn new(url: &str, secret: &str, timeout: Duration) -> anyhow::Result<Webhook> {
        // The URL may carry credentials: errors say what is wrong with it, never what it is.
        let url = reqwest::Url::parse(url).map_err(|e| anyhow::anyhow!("webhook url: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            anyhow::bail!("webhook url must be http:// or https:// with a host");
        }
        if secret.is_empty() {
            anyhow::bail!("webhook secret must not be empty");
        }
        let client = reqwest::Client::builder()
            .user_agent(concat!("convoy/", env!("CARGO_PKG_VERSION")))
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Webhook { client, url, secret: secret.as_bytes().to_vec() })
    }

    pub(super) async fn attempt(&self, message: &AlertMessage, attempt: u32) -> Result<String, AttemptError> {
        let body =
            serde_json::to_vec(message).map_err(|e| AttemptError::fatal(format!("cannot encode: {e}")))?;
        let signature = format!("sha256={}", signature(&self.secret, &body));
        let delivery = format!("{}/{}/{}", message.id, message.state.as_str(), attempt);
        let response = self
            .client
            .post(self.url.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header("X-Convoy-Signature", signature)
            .header("X-Convoy-Delivery", delivery)
            .body(body)
            .send()
            .await;
        // reqwest's errors name the URL, which may carry credentials (`user:pass@`, a token in
        // its path or query): delivery details are logged and stored, so they never name it.
        let response = response.map_err(reqwest::Error::without_url);
        let mut response = match response {
            Ok(response) => response,
            Err(error) if error.is_builder() => return Err(AttemptError::fatal(error_chain(&error))),
            Err(error) if error.is_timeout() => {
                return Err(AttemptError::retry(format!("timed out: {}", error_chain(&error))))
            }
            Err(error) => return Err(AttemptError::retry(error_chain(&error))),
        };
        let status = response.status();
        if status.is_success() {
            return Ok(format!("HTTP {status}"));
        }
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        // A short excerpt of the answer helps whoever reads the log; never read it all.
        let mut excerpt = Vec::new();
        while excerpt.len() < BODY_EXCERPT {
            match tokio::time::timeout(Duration::from_secs(1), response.chunk()).await {
                Ok(Ok(Some(chunk))) => {
                    excerpt.extend_from_slice(&chunk[..chunk.len().min(BODY_EXCERPT - excerpt.len())])
                }
                _ => break,
            }
        }
        let excerpt = String::from_utf8_lossy(&excerpt);
        let excerpt = excerpt.trim();
        let detail =
            if excerpt.is_empty() { format!("HTTP {status}") } else { format!("HTTP {status}: {excerpt}") };
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            Err(AttemptError { retry: true, detail, retry_after })
        } else {
            Err(AttemptError::fatal(detail))
        }
    }
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
        let message = AlertMessage {
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
        let failed = hook.attempt(&message, 1).await.unwrap_err();
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
