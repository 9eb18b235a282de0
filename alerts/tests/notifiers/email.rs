//! The e-mail notifier through a real SMTP relay.

use super::*;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_for_a_move_in_chinese_reads_in_chinese_in_a_mail_reader() {
    let smtp = Smtp::start();
    let (tx, mut log) = Log::new();
    let notifiers = Notifiers::start(vec![email("mail", smtp.port)], tx, never_shut_down()).unwrap();
    let locale = Locale {
        language: Language::SimplifiedChinese,
        time_zone: convoy_core::time_zone::parse("Asia/Shanghai").unwrap(),
    };
    notifiers.notify_in(&message("e4", AlertState::Acknowledged), locale);
    assert!(log.from("mail", Duration::from_secs(10)).await.ok);

    // Decoded by Python's e-mail library, as a mail reader would.
    let mail = smtp.wait_for(1, Duration::from_secs(5)).await;
    let (envelope, _) = &mail[0];
    assert_eq!(envelope["subject"], "[Convoy] 偏离路线 已确认：truck-07（任务 m1）");
    let text = envelope["text"].as_str().unwrap();
    for line in ["偏离路线 (off_route)", "已确认", "truck-07", "2026-11-28T09:15:02.000Z"] {
        assert!(text.contains(line), "{line:?} not in\n{text}");
    }
    assert!(text.contains("2026-11-28 17:15:02 (Asia/Shanghai, UTC+08:00)"), "{text}");
    assert!(text.contains("告警编号:") && text.contains("JSON 原文:"), "{text}");
    notifiers.stop().await;
}
