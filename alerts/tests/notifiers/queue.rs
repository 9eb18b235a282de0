//! Every notifier: late messages, a full queue, shutdown, configurations that cannot work.

use super::*;

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
