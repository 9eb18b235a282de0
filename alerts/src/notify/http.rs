//! What the HTTP notifiers (the webhook, the chat robots) share: a client that follows no
//! redirect, a URL check that never repeats the URL, one POST whose errors never name the URL,
//! and the verdict on an answer that is not a success.
//!
//! Their URLs often carry the receiver's token (a robot's `access_token` or `key`, a webhook's
//! path): delivery details are logged and stored, so nothing here puts a URL in an error.

use std::time::Duration;

use reqwest::header::{HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use reqwest::StatusCode;

use super::retry::AttemptError;
use super::transport::error_chain;

/// How much of an answer's body goes into a delivery's detail, or is read to find its verdict.
pub(super) const BODY_EXCERPT: usize = 200;

/// A client for one notifier: `timeout` per attempt, no redirects (they would turn the POST
/// into a GET).
pub(super) fn client(timeout: Duration) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .user_agent(concat!("convoy/", env!("CARGO_PKG_VERSION")))
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

/// `url` if it is `http://` or `https://` with a host; the error says what is wrong, never
/// what the URL is. `what` names the setting (`webhook url`).
pub(super) fn http_url(url: &str, what: &str) -> anyhow::Result<reqwest::Url> {
    let url = reqwest::Url::parse(url).map_err(|e| anyhow::anyhow!("{what}: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        anyhow::bail!("{what} must be http:// or https:// with a host");
    }
    Ok(url)
}

/// POSTs a JSON `body` with `headers`; a connection error or timeout is worth another try.
pub(super) async fn post_json(
    client: &reqwest::Client,
    url: reqwest::Url,
    headers: &[(&'static str, String)],
    body: Vec<u8>,
) -> Result<reqwest::Response, AttemptError> {
    let mut request =
        client.post(url).header(CONTENT_TYPE, HeaderValue::from_static("application/json")).body(body);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    // reqwest's errors name the URL, which may carry credentials.
    match request.send().await.map_err(reqwest::Error::without_url) {
        Ok(response) => Ok(response),
        Err(error) if error.is_builder() => Err(AttemptError::fatal(error_chain(&error))),
        Err(error) if error.is_timeout() => {
            Err(AttemptError::retry(format!("timed out: {}", error_chain(&error))))
        }
        Err(error) => Err(AttemptError::retry(error_chain(&error))),
    }
}

/// At most `limit` bytes of an answer's body, waiting at most a second for each part: never
/// read it all.
pub(super) async fn body_start(response: &mut reqwest::Response, limit: usize) -> Vec<u8> {
    let mut start = Vec::new();
    while start.len() < limit {
        match tokio::time::timeout(Duration::from_secs(1), response.chunk()).await {
            Ok(Ok(Some(chunk))) => start.extend_from_slice(&chunk[..chunk.len().min(limit - start.len())]),
            _ => break,
        }
    }
    start
}

/// The verdict on an answer that is not a 2xx: 5xx and 429 are worth another try (429 and 503
/// with their `Retry-After` in seconds), anything else is final. The detail has the status and
/// the start of the body.
pub(super) async fn refusal(mut response: reqwest::Response) -> AttemptError {
    let status = response.status();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let excerpt = body_start(&mut response, BODY_EXCERPT).await;
    let excerpt = String::from_utf8_lossy(&excerpt);
    let excerpt = excerpt.trim();
    let detail =
        if excerpt.is_empty() { format!("HTTP {status}") } else { format!("HTTP {status}: {excerpt}") };
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        AttemptError { retry: true, detail, retry_after }
    } else {
        AttemptError::fatal(detail)
    }
}
