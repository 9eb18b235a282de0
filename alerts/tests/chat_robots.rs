//! The group chat robots (DingTalk, WeCom, Feishu) against a local server that receives each as
//! its service does: the same paths and credentials in the URL, the same body, the signature
//! checked as each service documents it (written here from the documentation, not with
//! Convoy's functions), and the service's answers: `errcode`/`code` 0, a refused signature, a
//! rate limit.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::Json;
use base64::Engine as _;
use convoy_alerts::notify::{Delivery, Locale, NotifierConfig, Notifiers};
use convoy_core::alert::{AlertKind, AlertMessage, AlertState};
use convoy_core::language::Language;
use convoy_core::vehicle::VehicleId;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const DINGTALK_TOKEN: &str = "dt-access-token";
const DINGTALK_SECRET: &str = "SEC0123456789abcdef";
const WECOM_KEY: &str = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa";
const FEISHU_HOOK: &str = "0a1b2c3d-feishu-hook";
const FEISHU_SECRET: &str = "feishu-signing-secret";

fn message(id: &str) -> AlertMessage {
    AlertMessage {
        v: 1,
        id: id.to_string(),
        kind: AlertKind::OffRoute,
        state: AlertState::Open,
        vehicle: VehicleId::new("truck-07").unwrap(),
        move_id: "m1".to_string(),
        t: "2026-11-28T09:15:02Z".parse().unwrap(),
        lat: Some(48.137154),
        lon: Some(11.576124),
        detail: json!({"distance_m": 412.5}),
        late: false,
    }
}

fn hmac_base64(key: &[u8], message: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap();
    mac.update(message);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// What a service received: which service, and the message's text.
#[derive(Debug)]
struct Received {
    service: &'static str,
    text: String,
}

#[derive(Clone)]
struct Services {
    received: mpsc::UnboundedSender<Received>,
    /// Answers to give before the normal ones (a rate limit), per service.
    script: Arc<Mutex<VecDeque<(&'static str, Value)>>>,
}

impl Services {
    fn scripted(&self, service: &'static str) -> Option<Value> {
        let mut script = self.script.lock().unwrap();
        let position = script.iter().position(|(s, _)| *s == service)?;
        script.remove(position).map(|(_, answer)| answer)
    }
}

/// Within an hour of now, as both DingTalk and Feishu require.
fn recent(timestamp_s: i64) -> bool {
    (chrono::Utc::now().timestamp() - timestamp_s).abs() <= 3600
}

/// DingTalk's custom robot: `POST /robot/send?access_token=…&timestamp=…&sign=…`; the sign is
/// Base64(HmacSHA256(key = secret, message = timestamp + "\n" + secret)), timestamp in ms.
async fn dingtalk(
    State(services): State<Services>,
    Query(query): Query<std::collections::HashMap<String, String>>,
    Json(body): Json<Value>,
) -> Json<Value> {
    if query.get("access_token").map(String::as_str) != Some(DINGTALK_TOKEN) {
        return Json(json!({"errcode": 300001, "errmsg": "token is not exist"}));
    }
    let timestamp: i64 = query.get("timestamp").and_then(|t| t.parse().ok()).unwrap_or(0);
    let expected =
        hmac_base64(DINGTALK_SECRET.as_bytes(), format!("{timestamp}\n{DINGTALK_SECRET}").as_bytes());
    if !recent(timestamp / 1000) || query.get("sign") != Some(&expected) {
        return Json(
            json!({"errcode": 310000, "errmsg": "sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]"}),
        );
    }
    if let Some(answer) = services.scripted("dingtalk") {
        return Json(answer);
    }
    assert_eq!(body["msgtype"], "text", "{body}");
    let text = body["text"]["content"].as_str().unwrap().to_string();
    services.received.send(Received { service: "dingtalk", text }).unwrap();
    Json(json!({"errcode": 0, "errmsg": "ok"}))
}

/// WeCom's group robot: `POST /cgi-bin/webhook/send?key=…`, no signature.
async fn wecom(
    State(services): State<Services>,
    Query(query): Query<std::collections::HashMap<String, String>>,
    Json(body): Json<Value>,
) -> Json<Value> {
    if query.get("key").map(String::as_str) != Some(WECOM_KEY) {
        return Json(json!({"errcode": 93000, "errmsg": "invalid webhook url"}));
    }
    if let Some(answer) = services.scripted("wecom") {
        return Json(answer);
    }
    assert_eq!(body["msgtype"], "text", "{body}");
    let text = body["text"]["content"].as_str().unwrap().to_string();
    assert!(text.len() <= 2048, "WeCom's limit");
    services.received.send(Received { service: "wecom", text }).unwrap();
    Json(json!({"errcode": 0, "errmsg": "ok"}))
}

/// Feishu's custom bot: `POST /open-apis/bot/v2/hook/{hook}`, `timestamp` (s) and `sign` in the
/// body; the sign is Base64(HmacSHA256(key = timestamp + "\n" + secret, message = "")).
async fn feishu(
    State(services): State<Services>,
    Path(hook): Path<String>,
    Json(body): Json<Value>,
) -> Json<Value> {
    if hook != FEISHU_HOOK {
        return Json(json!({"code": 19001, "msg": "param invalid: incoming webhook access token invalid"}));
    }
    let timestamp: i64 = body["timestamp"].as_str().and_then(|t| t.parse().ok()).unwrap_or(0);
    let expected = hmac_base64(format!("{timestamp}\n{FEISHU_SECRET}").as_bytes(), b"");
    if !recent(timestamp) || body["sign"].as_str() != Some(expected.as_str()) {
        return Json(
            json!({"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time"}),
        );
    }
    if let Some(answer) = services.scripted("feishu") {
        return Json(answer);
    }
    assert_eq!(body["msg_type"], "text", "{body}");
    let text = body["content"]["text"].as_str().unwrap().to_string();
    services.received.send(Received { service: "feishu", text }).unwrap();
    Json(json!({"code": 0, "msg": "success", "data": {}}))
}

/// The three services on one loopback server; its base URL and what they receive.
async fn start_services(script: &[(&'static str, Value)]) -> (String, mpsc::UnboundedReceiver<Received>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let services = Services { received: tx, script: Arc::new(Mutex::new(script.iter().cloned().collect())) };
    let app = axum::Router::new()
        .route("/robot/send", axum::routing::post(dingtalk))
        .route("/cgi-bin/webhook/send", axum::routing::post(wecom))
        .route("/open-apis/bot/v2/hook/{hook}", axum::routing::post(feishu))
        .with_state(services);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), rx)
}

fn robots(base: &str, dingtalk_secret: &str, feishu_secret: &str) -> Vec<NotifierConfig> {
    vec![
        NotifierConfig::Dingtalk {
            name: "dingtalk".into(),
            url: format!("{base}/robot/send?access_token={DINGTALK_TOKEN}").into(),
            secret: Some(dingtalk_secret.into()),
            timeout_ms: 5_000,
            max_attempts: 3,
            first_backoff_ms: 100,
        },
        NotifierConfig::Wecom {
            name: "wecom".into(),
            url: format!("{base}/cgi-bin/webhook/send?key={WECOM_KEY}").into(),
            timeout_ms: 5_000,
            max_attempts: 3,
            first_backoff_ms: 100,
        },
        NotifierConfig::Feishu {
            name: "feishu".into(),
            url: format!("{base}/open-apis/bot/v2/hook/{FEISHU_HOOK}").into(),
            secret: Some(feishu_secret.into()),
            timeout_ms: 5_000,
            max_attempts: 3,
            first_backoff_ms: 100,
        },
    ]
}

/// The deliveries of the three robots once each has made `attempts`, and any more that come
/// in the next half second (a retry there should not be).
async fn deliveries(rx: &mut mpsc::UnboundedReceiver<Delivery>, attempts: usize) -> Vec<Delivery> {
    let mut all: Vec<Delivery> = Vec::new();
    let made = |all: &[Delivery], name: &str| all.iter().filter(|d| d.notifier == name).count();
    let waited = tokio::time::timeout(Duration::from_secs(20), async {
        while !["dingtalk", "wecom", "feishu"].iter().all(|name| made(&all, name) >= attempts) {
            all.push(rx.recv().await.unwrap());
        }
    })
    .await;
    assert!(waited.is_ok(), "{attempts} attempts each: {all:#?}");
    while let Ok(Some(delivery)) = tokio::time::timeout(Duration::from_millis(500), rx.recv()).await {
        all.push(delivery);
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_robot_posts_the_alert_text_signed_as_its_service_checks() {
    let (base, mut received) = start_services(&[]).await;
    let (tx, mut log) = mpsc::unbounded_channel();
    let notifiers =
        Notifiers::start(robots(&base, DINGTALK_SECRET, FEISHU_SECRET), tx, CancellationToken::new())
            .unwrap();
    notifiers.notify(&message("a1"));

    let all = deliveries(&mut log, 1).await;
    for name in ["dingtalk", "wecom", "feishu"] {
        let ours: Vec<&Delivery> = all.iter().filter(|d| d.notifier == name).collect();
        assert_eq!(ours.len(), 1, "{name}: one attempt: {all:#?}");
        assert!(ours[0].ok && ours[0].attempt == 1, "{name}: {:?}", ours[0]);
        assert!(ours[0].detail.ends_with(" ok"), "{:?}", ours[0].detail);
    }
    let mut services = Vec::new();
    for _ in 0..3 {
        let message = tokio::time::timeout(Duration::from_secs(5), received.recv()).await.unwrap().unwrap();
        assert!(
            message.text.starts_with("Convoy alert: off_route open\nVehicle: truck-07\n"),
            "{}",
            message.text
        );
        assert!(message.text.contains("Position: 48.137154, 11.576124"), "{}", message.text);
        services.push(message.service);
    }
    services.sort();
    assert_eq!(services, ["dingtalk", "feishu", "wecom"]);
    notifiers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signature_the_service_refuses_is_a_final_failure_named_in_the_delivery() {
    let (base, mut received) = start_services(&[]).await;
    let (tx, mut log) = mpsc::unbounded_channel();
    let notifiers = Notifiers::start(
        robots(&base, "SEC-not-the-robots", "not-the-bots-secret"),
        tx,
        CancellationToken::new(),
    )
    .unwrap();
    notifiers.notify(&message("a2"));

    let all = deliveries(&mut log, 1).await;
    let of = |name: &str| all.iter().filter(|d| d.notifier == name).collect::<Vec<_>>();
    let (dingtalk, feishu) = (of("dingtalk"), of("feishu"));
    assert_eq!((dingtalk.len(), feishu.len()), (1, 1), "not retried: {all:#?}");
    assert!(
        !dingtalk[0].ok && dingtalk[0].detail.starts_with("DingTalk code 310000: sign not match"),
        "{:?}",
        dingtalk[0]
    );
    assert!(
        !feishu[0].ok && feishu[0].detail.starts_with("Feishu code 19021: sign match fail"),
        "{:?}",
        feishu[0]
    );
    // WeCom has no signature: its message arrives.
    let message = tokio::time::timeout(Duration::from_secs(5), received.recv()).await.unwrap().unwrap();
    assert_eq!(message.service, "wecom");
    assert!(received.try_recv().is_err(), "nothing reached DingTalk's or Feishu's group");
    notifiers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_messages_is_tried_again_and_then_delivered() {
    let script = [
        ("dingtalk", json!({"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"})),
        ("wecom", json!({"errcode": 45009, "errmsg": "api freq out of limit"})),
        ("feishu", json!({"code": 11232, "msg": "frequency limited"})),
    ];
    let (base, mut received) = start_services(&script).await;
    let (tx, mut log) = mpsc::unbounded_channel();
    let notifiers =
        Notifiers::start(robots(&base, DINGTALK_SECRET, FEISHU_SECRET), tx, CancellationToken::new())
            .unwrap();
    notifiers.notify(&message("a3"));

    let all = deliveries(&mut log, 2).await;
    for name in ["dingtalk", "wecom", "feishu"] {
        let ours: Vec<&Delivery> = all.iter().filter(|d| d.notifier == name).collect();
        assert!(ours.len() == 2 && !ours[0].ok && ours[1].ok && ours[1].attempt == 2, "{name}: {ours:#?}");
    }
    for _ in 0..3 {
        tokio::time::timeout(Duration::from_secs(5), received.recv()).await.unwrap().unwrap();
    }
    notifiers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_in_chinese_reaches_every_robot_in_chinese_at_its_local_time() {
    let (base, mut received) = start_services(&[]).await;
    let (tx, mut log) = mpsc::unbounded_channel();
    let notifiers =
        Notifiers::start(robots(&base, DINGTALK_SECRET, FEISHU_SECRET), tx, CancellationToken::new())
            .unwrap();
    let locale = Locale {
        language: Language::SimplifiedChinese,
        time_zone: convoy_core::time_zone::parse("Asia/Shanghai").unwrap(),
    };
    notifiers.notify_in(&message("a4"), locale);

    let all = deliveries(&mut log, 1).await;
    assert!(all.iter().all(|d| d.ok), "{all:#?}");
    let mut services = Vec::new();
    for _ in 0..3 {
        let message = tokio::time::timeout(Duration::from_secs(5), received.recv()).await.unwrap().unwrap();
        assert!(message.text.starts_with("Convoy 告警：偏离路线 开启\n车辆：truck-07\n"), "{}", message.text);
        // 09:15:02 UTC is 17:15:02 in Shanghai.
        assert!(
            message.text.contains("时间：2026-11-28 17:15:02 (Asia/Shanghai, UTC+08:00)"),
            "{}",
            message.text
        );
        assert!(message.text.contains("位置：48.137154, 11.576124"), "{}", message.text);
        services.push(message.service);
    }
    services.sort();
    assert_eq!(services, ["dingtalk", "feishu", "wecom"]);
    notifiers.stop().await;
}
