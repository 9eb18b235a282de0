//! The webhook notifier: the signed JSON, retries, refusals, and a receiver that never answers.

use super::*;

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
    // The alert message's fields as on MQTT, with the move's language and the alert as a person
    // reads it (English here: `notify` is for a move without a language).
    let mut expected_body = serde_json::to_value(&alert).unwrap();
    let text = "Convoy alert: off_route open\nVehicle: truck-07\nMove: m1\nTime: 2026-11-28 09:15:02 UTC";
    let received: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert!(received["text"].as_str().unwrap().starts_with(text), "{received}");
    expected_body["language"] = "en".into();
    expected_body["text"] = received["text"].clone();
    assert_eq!(received, expected_body);
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
