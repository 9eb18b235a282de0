//! The notifiers against real servers on loopback: an HTTP server (axum) for webhooks, aiosmtpd
//! (Python) for e-mail, Mosquitto for MQTT.

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
    Delivery, NotifierConfig, NotifierCounts, NotifierOptions, Notifiers, DROPPED_QUEUE_FULL,
    DROPPED_SHUTDOWN,
};
use convoy_core::alert::{AlertKind, AlertMessage, AlertState};
use convoy_core::vehicle::VehicleId;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

// ---------------------------------------------------------------------------------------------
// Helpers

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

// --- A webhook receiver --------------------------------------------------------------------

struct Request {
    at: Instant,
    headers: HeaderMap,
    body: Bytes,
}

/// A scripted answer: the status, and a `Retry-After` value.
type Answer = (StatusCode, Option<&'static str>);

#[derive(Clone)]
struct HookState {
    /// Answers to give, in order; 200 once they are used up.
    script: Arc<Mutex<VecDeque<Answer>>>,
    requests: mpsc::UnboundedSender<Request>,
}

struct Hook {
    url: String,
    requests: mpsc::UnboundedReceiver<Request>,
}

impl Hook {
    async fn start(script: &[Answer]) -> Hook {
        let (tx, requests) = mpsc::unbounded_channel();
        let state =
            HookState { script: Arc::new(Mutex::new(script.iter().copied().collect())), requests: tx };
        let app = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Hook { url: format!("http://{addr}/hook"), requests }
    }

    async fn next(&mut self, within: Duration) -> Request {
        tokio::time::timeout(within, self.requests.recv())
            .await
            .expect("the webhook received nothing in time")
            .unwrap()
    }

    async fn nothing_more(&mut self, within: Duration) {
        if let Ok(Some(request)) = tokio::time::timeout(within, self.requests.recv()).await {
            panic!("unexpected webhook request: {:?}", request.headers.get("x-convoy-delivery"));
        }
    }
}

async fn receive(State(state): State<HookState>, headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    let _ = state.requests.send(Request { at: Instant::now(), headers, body });
    let (status, retry_after) = state.script.lock().unwrap().pop_front().unwrap_or((StatusCode::OK, None));
    let mut response = (status, "scripted answer").into_response();
    if let Some(seconds) = retry_after {
        response.headers_mut().insert("retry-after", seconds.parse().unwrap());
    }
    response
}

/// A server that accepts connections and never answers.
struct BlackHole {
    url: String,
    accepted: watch::Receiver<usize>,
}

impl BlackHole {
    async fn start() -> BlackHole {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, accepted) = watch::channel(0);
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
                tx.send_replace(held.len());
            }
        });
        BlackHole { url: format!("http://{addr}/hook"), accepted }
    }

    async fn wait_accepted(&mut self, n: usize) {
        tokio::time::timeout(Duration::from_secs(5), self.accepted.wait_for(|&count| count >= n))
            .await
            .expect("no connection to the black hole")
            .unwrap();
    }
}

fn header<'a>(request: &'a Request, name: &str) -> &'a str {
    request.headers.get(name).unwrap_or_else(|| panic!("no {name} header")).to_str().unwrap()
}

// --- An SMTP server: aiosmtpd ----------------------------------------------------------------

const SMTP_SERVER: &str = r#"
import json, os, sys, threading
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

outdir, port = sys.argv[1], int(sys.argv[2])

class Save:
    def __init__(self):
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(outdir, "%06d" % self.count)
        login = session.auth_data.decode() if isinstance(session.auth_data, bytes) else None
        with open(base + ".json", "w") as f:
            json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos, "login": login}, f)
        with open(base + ".tmp", "wb") as f:
            f.write(envelope.original_content)
        os.rename(base + ".tmp", base + ".eml")
        return "250 Message accepted for delivery"

def authenticate(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"convoy" and auth_data.password == b"s3cret"
    if ok:
        return AuthResult(success=True, auth_data=auth_data.login)
    return AuthResult(success=False, handled=False)  # handled=False: the server answers 535

controller = Controller(Save(), hostname="127.0.0.1", port=port,
                        authenticator=authenticate, auth_require_tls=False)
controller.start()
print("ready", flush=True)
threading.Event().wait()
"#;

/// A Python that has aiosmtpd: `$CONVOY_TEST_PYTHON`, `python3`, or Debian's `/usr/bin/python3`
/// (where `apt-get install python3-aiosmtpd` puts it).
fn python_with_aiosmtpd() -> String {
    let mut candidates = Vec::new();
    if let Ok(python) = std::env::var("CONVOY_TEST_PYTHON") {
        candidates.push(python);
    }
    candidates.push("python3".to_string());
    candidates.push("/usr/bin/python3".to_string());
    for python in &candidates {
        let works = Command::new(python)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|status| status.success())
            .unwrap_or(false);
        if works {
            return python.clone();
        }
    }
    panic!(
        "no Python with aiosmtpd among {candidates:?}: install it with `apt-get install python3-aiosmtpd` \
         (scripts/test.sh does), or set CONVOY_TEST_PYTHON"
    )
}

struct Smtp {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Smtp {
    fn start() -> Smtp {
        let python = python_with_aiosmtpd();
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("smtp_server.py");
        std::fs::write(&script, SMTP_SERVER).unwrap();
        let mail = dir.path().join("mail");
        std::fs::create_dir(&mail).unwrap();
        let port = convoy_testkit::free_port();
        let child = Command::new(python)
            .args(["-W", "ignore"]) // aiosmtpd warns about its own deprecated attribute
            .arg(&script)
            .arg(&mail)
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting the SMTP server");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        assert!(
            convoy_testkit::wait_for_port(addr, Duration::from_secs(15)),
            "aiosmtpd did not start on {addr}"
        );
        Smtp { child, port, dir }
    }

    fn mail_dir(&self) -> PathBuf {
        self.dir.path().join("mail")
    }

    /// The messages received so far: (envelope JSON, raw message), in order.
    fn received(&self) -> Vec<(serde_json::Value, String)> {
        read_mail(&self.mail_dir())
    }

    async fn wait_for(&self, n: usize, within: Duration) -> Vec<(serde_json::Value, String)> {
        let deadline = Instant::now() + within;
        loop {
            let mail = self.received();
            if mail.len() >= n {
                return mail;
            }
            assert!(Instant::now() < deadline, "the SMTP server received {} of {n} messages", mail.len());
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

fn read_mail(dir: &Path) -> Vec<(serde_json::Value, String)> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|eml| {
            let envelope = std::fs::read_to_string(eml.with_extension("json")).unwrap();
            (serde_json::from_str(&envelope).unwrap(), std::fs::read_to_string(&eml).unwrap())
        })
        .collect()
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A header of a raw message (unfolded), by name.
fn mail_header(raw: &str, name: &str) -> Option<String> {
    let (head, _) = raw.split_once("\r\n\r\n")?;
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded.split("\r\n").find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim().to_string())
    })
}

fn mail_body(raw: &str) -> String {
    raw.split_once("\r\n\r\n").map(|(_, body)| body.replace("\r\n", "\n")).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Webhook

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_posts_the_alert_json_signed_and_notify_returns_at_once() {
    let mut hook = Hook::start(&[]).await;
    let (tx, mut log) = Log::new();
    let notifiers =
        Notifiers::start(vec![webhook("ops", &hook.url, 5_000, 6, 500)], tx, never_shut_down()).unwrap();
    let alert = message("a1", AlertState::Open);

    let started = Instant::now();
    notifiers.notify(&alert);
    assert!(started.elapsed() < Duration::from_millis(50), "notify took {:?}", started.elapsed());

    let request = hook.next(Duration::from_secs(5)).await;
    assert_eq!(request.body.as_ref(), serde_json::to_vec(&alert).unwrap().as_slice());
    assert_eq!(header(&request, "content-type"), "application/json");
    assert_eq!(header(&request, "x-convoy-delivery"), "a1/open/1");
    // Recompute the signature the way a receiver would.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"webhook-secret").unwrap();
    mac.update(&request.body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(header(&request, "x-convoy-signature"), expected);
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["kind"], "off_route");
    assert_eq!(body["vehicle"], "truck-07");

    let delivery = log.from("ops", Duration::from_secs(5)).await;
    assert_eq!(
        (delivery.alert_id.as_str(), delivery.state, delivery.attempt, delivery.ok),
        ("a1", AlertState::Open, 1, true)
    );
    assert!(delivery.detail.contains("200"), "{}", delivery.detail);
    let counts = counts_of(&notifiers, "ops");
    assert_eq!((counts.sent, counts.failed, counts.dropped, counts.attempts), (1, 0, 0, 1));
    notifiers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_retries_server_errors_with_growing_backoff() {
    let mut hook =
        Hook::start(&[(StatusCode::INTERNAL_SERVER_ERROR, None), (StatusCode::INTERNAL_SERVER_ERROR, None)])
            .await;
    let (tx, mut log) = Log::new();
    let notifiers =
        Notifiers::start(vec![webhook("ops", &hook.url, 5_000, 6, 200)], tx, never_shut_down()).unwrap();
    notifiers.notify(&message("a2", AlertState::Resolved));

    let mut requests = Vec::new();
    for _ in 0..3 {
        requests.push(hook.next(Duration::from_secs(5)).await);
    }
    let ids: Vec<_> = requests.iter().map(|r| header(r, "x-convoy-delivery").to_string()).collect();
    assert_eq!(ids, ["a2/resolved/1", "a2/resolved/2", "a2/resolved/3"]);
    let first_wait = requests[1].at - requests[0].at;
    let second_wait = requests[2].at - requests[1].at;
    assert!(first_wait >= Duration::from_millis(200), "first wait {first_wait:?}");
    assert!(second_wait >= Duration::from_millis(400), "second wait {second_wait:?}");
    assert!(second_wait > first_wait, "backoff did not grow: {first_wait:?} then {second_wait:?}");

    let mut deliveries = Vec::new();
    for _ in 0..3 {
        deliveries.push(log.from("ops", Duration::from_secs(5)).await);
    }
    let seen: Vec<_> = deliveries.iter().map(|d| (d.attempt, d.ok)).collect();
    assert_eq!(seen, [(1, false), (2, false), (3, true)]);
    assert!(
        deliveries[0].detail.contains("500") && deliveries[0].detail.contains("retrying in 200 ms"),
        "{}",
        deliveries[0].detail
    );
    assert!(deliveries[1].detail.contains("retrying in 400 ms"), "{}", deliveries[1].detail);
    assert!(deliveries[0].at < deliveries[1].at && deliveries[1].at < deliveries[2].at);
    assert!(
        deliveries[2].at - deliveries[1].at > deliveries[1].at - deliveries[0].at,
        "the logged attempts are not further and further apart"
    );
    hook.nothing_more(Duration::from_millis(300)).await;
    let counts = counts_of(&notifiers, "ops");
    assert_eq!((counts.sent, counts.failed, counts.attempts), (1, 0, 3));
    notifiers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_gives_up_at_once_on_a_client_error_but_retries_429() {
    let mut hook =
        Hook::start(&[(StatusCode::BAD_REQUEST, None), (StatusCode::TOO_MANY_REQUESTS, Some("1"))]).await;
    let (tx, mut log) = Log::new();
    let notifiers =
        Notifiers::start(vec![webhook("ops", &hook.url, 5_000, 6, 100)], tx, never_shut_down()).unwrap();

    notifiers.notify(&message("bad", AlertState::Open));
    let request = hook.next(Duration::from_secs(5)).await;
    assert_eq!(header(&request, "x-convoy-delivery"), "bad/open/1");
    let delivery = log.from("ops", Duration::from_secs(5)).await;
    assert_eq!((delivery.attempt, delivery.ok), (1, false));
    assert!(
        delivery.detail.contains("400") && delivery.detail.contains("not retried"),
        "{}",
        delivery.detail
    );

    // The next message meets a 429 with Retry-After: 1, then succeeds.
    notifiers.notify(&message("busy", AlertState::Open));
    let first = hook.next(Duration::from_secs(5)).await;
    assert_eq!(header(&first, "x-convoy-delivery"), "busy/open/1");
    let second = hook.next(Duration::from_secs(5)).await;
    assert_eq!(header(&second, "x-convoy-delivery"), "busy/open/2");
    assert!(second.at - first.at >= Duration::from_millis(1000), "Retry-After was not honoured");
    let retried = log.from("ops", Duration::from_secs(5)).await;
    assert_eq!((retried.alert_id.as_str(), retried.attempt, retried.ok), ("busy", 1, false));
    assert!(retried.detail.contains("429"), "{}", retried.detail);
    let done = log.from("ops", Duration::from_secs(5)).await;
    assert_eq!((done.alert_id.as_str(), done.attempt, done.ok), ("busy", 2, true));

    hook.nothing_more(Duration::from_millis(300)).await;
    let counts = counts_of(&notifiers, "ops");
    assert_eq!((counts.sent, counts.failed, counts.attempts), (1, 1, 3));
    notifiers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_holds_up_no_other_notifier() {
    let mut hole = BlackHole::start().await;
    let mut hook = Hook::start(&[]).await;
    let smtp = Smtp::start();
    let (tx, mut log) = Log::new();
    let notifiers = Notifiers::start(
        vec![
            webhook("stuck", &hole.url, 1_000, 2, 100),
            webhook("ops", &hook.url, 5_000, 6, 500),
            email("mail", smtp.port),
        ],
        tx,
        never_shut_down(),
    )
    .unwrap();

    let started = Instant::now();
    for i in 0..3 {
        notifiers.notify(&message(&format!("s{i}"), AlertState::Open));
    }
    assert!(started.elapsed() < Duration::from_millis(50), "notify took {:?}", started.elapsed());
    hole.wait_accepted(1).await;

    // The other webhook and the mail have everything well before the stuck one's first timeout.
    for i in 0..3 {
        let request = hook.next(Duration::from_millis(900)).await;
        assert_eq!(header(&request, "x-convoy-delivery"), format!("s{i}/open/1"));
    }
    let mail = smtp.wait_for(3, Duration::from_millis(900)).await;
    assert_eq!(mail.len(), 3);
    assert!(started.elapsed() < Duration::from_millis(1_000), "others were held up: {:?}", started.elapsed());
    assert_eq!(counts_of(&notifiers, "stuck").sent, 0);

    // The stuck one times out, retries once, gives up, and goes on to the next message.
    let first = log.wait_for(Duration::from_secs(5), |d| d.notifier == "stuck").await;
    assert_eq!((first.alert_id.as_str(), first.attempt, first.ok), ("s0", 1, false));
    assert!(first.detail.contains("timed out"), "{}", first.detail);
    assert!(started.elapsed() >= Duration::from_millis(1_000));
    let last = log.wait_for(Duration::from_secs(5), |d| d.notifier == "stuck").await;
    assert_eq!((last.alert_id.as_str(), last.attempt, last.ok), ("s0", 2, false));
    assert!(last.detail.contains("giving up after 2 attempts"), "{}", last.detail);
    let next = log.wait_for(Duration::from_secs(5), |d| d.notifier == "stuck").await;
    assert_eq!((next.alert_id.as_str(), next.attempt), ("s1", 1));

    for notifier in ["ops", "mail"] {
        for i in 0..3 {
            let delivery = log.wait_for(Duration::from_secs(1), |d| d.notifier == notifier && d.ok).await;
            assert_eq!(delivery.alert_id, format!("s{i}"));
        }
    }
    let stopping = Instant::now();
    notifiers.stop().await;
    assert!(stopping.elapsed() < Duration::from_secs(7), "stop took {:?}", stopping.elapsed());
}

// ---------------------------------------------------------------------------------------------
// Queue, late messages, shutdown

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_messages_are_not_sent_and_not_failures() {
    let mut hook = Hook::start(&[]).await;
    let smtp = Smtp::start();
    let (tx, mut log) = Log::new();
    let notifiers = Notifiers::start(
        vec![webhook("ops", &hook.url, 5_000, 6, 500), email("mail", smtp.port)],
        tx,
        never_shut_down(),
    )
    .unwrap();
    let mut late = message("late", AlertState::Open);
    late.late = true;
    notifiers.notify(&late);
    notifiers.notify(&message("live", AlertState::Open));

    let request = hook.next(Duration::from_secs(5)).await;
    assert_eq!(header(&request, "x-convoy-delivery"), "live/open/1");
    hook.nothing_more(Duration::from_millis(300)).await;
    let mail = smtp.wait_for(1, Duration::from_secs(5)).await;
    assert!(mail_header(&mail[0].1, "Subject").unwrap().contains("off_route open"));

    let deliveries = log.drain(Duration::from_millis(500)).await;
    assert!(deliveries.iter().all(|d| d.alert_id == "live" && d.ok), "{deliveries:#?}");
    assert_eq!(deliveries.len(), 2);
    assert_eq!(smtp.received().len(), 1);
    for (name, counts) in notifiers.counts() {
        assert_eq!((counts.sent, counts.failed, counts.dropped, counts.skipped_late), (1, 0, 0, 1), "{name}");
    }
    notifiers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_drops_the_oldest_and_stop_accounts_for_the_rest() {
    let mut hole = BlackHole::start().await;
    let (tx, mut log) = Log::new();
    let options = NotifierOptions { queue_capacity: 2, stop_deadline: Duration::from_millis(300) };
    let notifiers = Notifiers::start_with_options(
        vec![webhook("stuck", &hole.url, 10_000, 6, 100)],
        tx,
        never_shut_down(),
        options,
    )
    .unwrap();
    notifiers.notify(&message("q0", AlertState::Open));
    hole.wait_accepted(1).await; // q0 is in flight
    for i in 1..5 {
        notifiers.notify(&message(&format!("q{i}"), AlertState::Open));
    }
    // The queue holds q3, q4; q1 and q2 were dropped, oldest first.
    for expected in ["q1", "q2"] {
        let dropped = log.from("stuck", Duration::from_secs(1)).await;
        assert_eq!((dropped.alert_id.as_str(), dropped.attempt, dropped.ok), (expected, 0, false));
        assert_eq!(dropped.detail, DROPPED_QUEUE_FULL);
    }
    let counts = counts_of(&notifiers, "stuck");
    assert_eq!((counts.dropped, counts.queued, counts.sent, counts.failed), (2, 2, 0, 0));

    let stopping = Instant::now();
    notifiers.stop().await;
    assert!(stopping.elapsed() < Duration::from_secs(2), "stop took {:?}", stopping.elapsed());
    let rest = log.drain(Duration::from_millis(300)).await;
    let summary: Vec<_> =
        rest.iter().map(|d| (d.alert_id.as_str(), d.attempt, d.ok, d.detail.as_str())).collect();
    assert_eq!(
        summary,
        [
            ("q0", 1, false, "interrupted: shutting down"),
            ("q3", 0, false, DROPPED_SHUTDOWN),
            ("q4", 0, false, DROPPED_SHUTDOWN)
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_cuts_the_backoff_short_for_one_last_attempt() {
    let mut hook = Hook::start(&[(StatusCode::SERVICE_UNAVAILABLE, None)]).await;
    let (tx, mut log) = Log::new();
    let shutdown = CancellationToken::new();
    let notifiers =
        Notifiers::start(vec![webhook("ops", &hook.url, 5_000, 6, 30_000)], tx, shutdown.clone()).unwrap();
    notifiers.notify(&message("b1", AlertState::Acknowledged));
    let failed = log.from("ops", Duration::from_secs(5)).await;
    assert!(!failed.ok && failed.detail.contains("retrying in 30000 ms"), "{}", failed.detail);

    let first = hook.next(Duration::from_secs(1)).await;
    assert_eq!(header(&first, "x-convoy-delivery"), "b1/acknowledged/1");

    let asked = Instant::now();
    shutdown.cancel();
    let request = hook.next(Duration::from_secs(3)).await;
    assert_eq!(header(&request, "x-convoy-delivery"), "b1/acknowledged/2");
    let delivered = log.from("ops", Duration::from_secs(3)).await;
    assert_eq!((delivered.attempt, delivered.ok), (2, true));
    assert!(asked.elapsed() < Duration::from_secs(3));

    // After shutdown nothing is queued any more; what arrives is reported, not kept.
    tokio::time::sleep(Duration::from_millis(100)).await;
    notifiers.notify(&message("after", AlertState::Open));
    let refused = log.from("ops", Duration::from_secs(3)).await;
    assert_eq!(
        (refused.alert_id.as_str(), refused.attempt, refused.detail.as_str()),
        ("after", 0, DROPPED_SHUTDOWN)
    );
    notifiers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_refuses_configurations_that_cannot_work() {
    let (tx, _log) = Log::new();
    let twice = vec![
        webhook("a", "http://127.0.0.1:9/x", 1_000, 1, 1),
        webhook("a", "http://127.0.0.1:9/y", 1_000, 1, 1),
    ];
    assert!(Notifiers::start(twice, tx.clone(), never_shut_down()).is_err());
    assert!(Notifiers::start(
        vec![webhook("a", "http://127.0.0.1:9/x", 1_000, 0, 1)],
        tx.clone(),
        never_shut_down()
    )
    .is_err());
    assert!(Notifiers::start(vec![webhook("a", "gopher://x/", 1_000, 1, 1)], tx.clone(), never_shut_down())
        .is_err());
    let mut bad_mail = email("m", 25);
    if let NotifierConfig::Email { to, .. } = &mut bad_mail {
        to.push("not an address".to_string());
    }
    assert!(Notifiers::start(vec![bad_mail], tx.clone(), never_shut_down()).is_err());
    let empty = Notifiers::start(Vec::new(), tx, never_shut_down()).unwrap();
    empty.notify(&message("nobody", AlertState::Open));
    assert!(empty.counts().is_empty());
    empty.stop().await;
}

// ---------------------------------------------------------------------------------------------
// E-mail

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_arrives_with_its_sender_recipients_subject_and_body() {
    let smtp = Smtp::start();
    let (tx, mut log) = Log::new();
    let notifiers = Notifiers::start(vec![email("mail", smtp.port)], tx, never_shut_down()).unwrap();
    let alert = message("e1", AlertState::Open);
    notifiers.notify(&alert);

    let delivery = log.from("mail", Duration::from_secs(10)).await;
    assert!(delivery.ok, "{delivery:?}");
    assert_eq!((delivery.alert_id.as_str(), delivery.attempt), ("e1", 1));
    assert!(delivery.detail.starts_with("SMTP 250"), "{}", delivery.detail);

    let mail = smtp.wait_for(1, Duration::from_secs(5)).await;
    let (envelope, raw) = &mail[0];
    assert_eq!(envelope["mail_from"], "convoy@example.org");
    assert_eq!(envelope["rcpt_tos"], serde_json::json!(["escort@example.org", "dispatch@example.org"]));
    assert!(envelope["login"].is_null());
    assert_eq!(mail_header(raw, "Subject").unwrap(), "[Convoy] off_route open: truck-07 (move m1)");
    assert_eq!(mail_header(raw, "From").unwrap(), "Convoy <convoy@example.org>");
    let to = mail_header(raw, "To").unwrap();
    assert!(to.contains("escort@example.org") && to.contains("dispatch@example.org"), "{to}");
    assert!(mail_header(raw, "Content-Type").unwrap().starts_with("text/plain"));
    let body = mail_body(raw);
    for line in
        ["Alert:    off_route", "State:    open", "Vehicle:  truck-07", "Move:     m1", "Alert id: e1"]
    {
        assert!(body.contains(line), "{line:?} not in\n{body}");
    }
    assert!(body.contains("Time:     2026-11-28T09:15:02.000Z"), "{body}");
    assert!(body.contains("Position: 48.137154, 11.576124"), "{body}");
    let json_start = body.find("As JSON:\n").unwrap() + "As JSON:\n".len();
    let json: AlertMessage = serde_json::from_str(body[json_start..].trim()).unwrap();
    assert_eq!(json, alert);
    notifiers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_logs_in_and_a_refused_login_is_not_retried() {
    let smtp = Smtp::start();
    let (tx, mut log) = Log::new();
    let with_login = |name: &str, password: &str| {
        let mut config = email(name, smtp.port);
        if let NotifierConfig::Email { username, password: pw, .. } = &mut config {
            *username = Some("convoy".to_string());
            *pw = Some(password.into());
        }
        config
    };
    let notifiers = Notifiers::start(
        vec![with_login("good", "s3cret"), with_login("bad", "wrong")],
        tx,
        never_shut_down(),
    )
    .unwrap();
    notifiers.notify(&message("e2", AlertState::Resolved));

    let good = log.from("good", Duration::from_secs(10)).await;
    assert!(good.ok, "{good:?}");
    let bad = log.from("bad", Duration::from_secs(10)).await;
    assert_eq!((bad.attempt, bad.ok), (1, false));
    assert!(bad.detail.contains("535") && bad.detail.contains("not retried"), "{}", bad.detail);

    let mail = smtp.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].0["login"], "convoy");
    assert_eq!(
        mail_header(&mail[0].1, "Subject").unwrap(),
        "[Convoy] off_route resolved: truck-07 (move m1)"
    );
    assert!(log.drain(Duration::from_millis(500)).await.iter().all(|d| d.notifier != "bad"));
    notifiers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_retries_while_the_relay_is_down() {
    let port = convoy_testkit::free_port();
    let (tx, mut log) = Log::new();
    let notifiers = Notifiers::start(vec![email("mail", port)], tx, never_shut_down()).unwrap();
    notifiers.notify(&message("e3", AlertState::Open));
    let refused = log.from("mail", Duration::from_secs(5)).await;
    assert_eq!((refused.attempt, refused.ok), (1, false));
    assert!(refused.detail.contains("retrying in 200 ms"), "{}", refused.detail);
    let refused = log.from("mail", Duration::from_secs(5)).await;
    assert_eq!((refused.attempt, refused.ok), (2, false));
    let last = log.from("mail", Duration::from_secs(5)).await;
    assert_eq!((last.attempt, last.ok), (3, false));
    assert!(last.detail.contains("giving up after 3 attempts"), "{}", last.detail);
    assert_eq!(counts_of(&notifiers, "mail").failed, 1);
    notifiers.stop().await;
}

// ---------------------------------------------------------------------------------------------
// MQTT

fn mqtt(name: &str, port: u16, max_attempts: u32) -> NotifierConfig {
    NotifierConfig::Mqtt {
        name: name.to_string(),
        host: "127.0.0.1".to_string(),
        port,
        topic_prefix: "external/convoy/alerts".to_string(),
        client_id: format!("convoy-notifier-{}", std::process::id()),
        username: None,
        password: None,
        timeout_ms: 1_000,
        max_attempts,
        first_backoff_ms: 200,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_publishes_the_json_at_qos_1_on_the_vehicle_topic() {
    let broker = convoy_testkit::Mosquitto::start();
    let mut options = rumqttc::MqttOptions::new("test-subscriber", "127.0.0.1", broker.port);
    options.set_keep_alive(Duration::from_secs(10));
    let (client, mut eventloop) = rumqttc::AsyncClient::new(options, 10);
    client.subscribe("external/convoy/alerts/#", rumqttc::QoS::AtLeastOnce).await.unwrap();
    let (publishes_tx, mut publishes) = mpsc::unbounded_channel();
    let (subscribed_tx, mut subscribed) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            match eventloop.poll().await {
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::SubAck(_))) => {
                    let _ = subscribed_tx.send(());
                }
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(publish))) => {
                    let _ = publishes_tx.send(publish);
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(5), subscribed.recv()).await.expect("no SUBACK");

    let (tx, mut log) = Log::new();
    let notifiers = Notifiers::start(vec![mqtt("external", broker.port, 6)], tx, never_shut_down()).unwrap();
    let alert = message("q1", AlertState::Open);
    notifiers.notify(&alert);

    let publish = tokio::time::timeout(Duration::from_secs(10), publishes.recv())
        .await
        .expect("nothing published")
        .unwrap();
    assert_eq!(publish.topic, "external/convoy/alerts/truck-07");
    assert_eq!(publish.qos, rumqttc::QoS::AtLeastOnce);
    assert_eq!(publish.payload.as_ref(), serde_json::to_vec(&alert).unwrap().as_slice());
    let delivery = log.from("external", Duration::from_secs(5)).await;
    assert!(delivery.ok, "{delivery:?}");
    assert!(delivery.detail.contains("PUBACK"), "{}", delivery.detail);

    let mut late = message("q2", AlertState::Resolved);
    late.late = true;
    notifiers.notify(&late);
    assert!(
        tokio::time::timeout(Duration::from_millis(500), publishes.recv()).await.is_err(),
        "a late alert was published"
    );
    let counts = counts_of(&notifiers, "external");
    assert_eq!((counts.sent, counts.skipped_late), (1, 1));
    notifiers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_retries_until_the_broker_is_up() {
    let port = convoy_testkit::free_port();
    let (tx, mut log) = Log::new();
    let notifiers = Notifiers::start(vec![mqtt("external", port, 20)], tx, never_shut_down()).unwrap();
    notifiers.notify(&message("q3", AlertState::Open));
    let failed = log.from("external", Duration::from_secs(5)).await;
    assert_eq!((failed.attempt, failed.ok), (1, false));
    assert!(failed.detail.contains("not connected"), "{}", failed.detail);

    let _broker = convoy_testkit::Mosquitto::start_on(port, &[]);
    let delivered = log.wait_for(Duration::from_secs(30), |d| d.ok).await;
    assert_eq!(delivered.alert_id, "q3");
    assert!(delivered.attempt >= 2);
    let counts = counts_of(&notifiers, "external");
    assert_eq!((counts.sent, counts.failed), (1, 0));
    notifiers.stop().await;
}
