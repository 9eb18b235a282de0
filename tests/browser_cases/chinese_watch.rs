//! The watching views in Simplified Chinese: a browser whose language is Chinese gets the page
//! in Chinese from the login on, with no English word left on any view, and the header's switch
//! turns it to English at once and back, the choice kept across a reload.

use crate::*;

const MOVE_ZH: &str = "数据中心搬迁";
const ZONE_ZH: &str = "北门仓库";
const NOTE_ZH: &str = "已电话联系司机：前方施工，正在绕行";

/// An admin whose browser speaks Chinese (`navigator.languages` zh-CN) walks the live map (a
/// vehicle driving, an open alert acknowledged with a note), replay, exports, the report, the
/// alert history and the daily report (and one refusal there), each with no English word
/// but the names the test made; then switches to English with the header's select (English at
/// once, the live feed not reopened), reloads (English holds: it was saved in the browser),
/// switches back and reloads (Chinese holds), and resolves the alert (the empty panel in Chinese).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_watching_views_read_in_chinese_and_the_header_switches_the_language_in_chromium() {
    walk_in_chinese("chinese_watch", None).await;
}

/// The same walk on a phone (360x740 CSS px, a touch screen): the views are reached through
/// the Menu, and read in Chinese there too.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_watching_views_read_in_chinese_on_a_phone_in_chromium() {
    walk_in_chinese("chinese_watch_phone", Some(json!({ "width": 360, "height": 740 }))).await;
}

/// The walk, on a desktop's screen or on `phone`'s.
async fn walk_in_chinese(shots_name: &str, phone: Option<Value>) {
    let shots = screenshots_dir(shots_name);
    let work = tempfile::tempdir().unwrap();
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let token = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let route = Route::munich().unwrap().points().to_vec();
    let (past, past_password) = register_vehicle(&server, "truck-01").await;
    let (live, live_password) = register_vehicle(&server, "truck-02").await;

    // A drive recorded earlier: a minute of missing data and a halt of 150 s in it.
    let past_points = with_halt(&route[..700], 500, 150);
    let t0 = Utc::now().trunc_subsecs(0) - TimeSpan::seconds(past_points.len() as i64 + 120);
    let mut past_fixes = fixes(&past_points, t0, 1);
    past_fixes.drain(200..260);
    let plan = json!({
        "name": MOVE_ZH,
        "vehicles": ["truck-01", "truck-02"],
        "route": { "type": "LineString", "coordinates": route.iter().map(|p| [p.x(), p.y()]).collect::<Vec<_>>() },
        "corridor_m": 150,
        "zones": { "type": "FeatureCollection", "features": [{
            "type": "Feature",
            "geometry": { "type": "Point", "coordinates": [route[500].x(), route[500].y()] },
            "properties": { "name": ZONE_ZH, "kind": "allowed_stop", "radius_m": 80 },
        }]},
        "window": { "from": t0 - TimeSpan::seconds(5), "to": Utc::now() + TimeSpan::hours(1) },
        "time_zone": "Asia/Shanghai",
        "rules": { "late_after_s": 100_000, "signal_lost_after_s": 100_000 },
    });
    let move_id = create_move(&server, &token, &plan).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    publish_fixes(&server, &past, &past_password, &past_fixes, 5).await;
    // An alert open on the recorded drive, for the page to acknowledge.
    let alert = opened_alert("zh-alert-1", &move_id, "truck-01", t0 + TimeSpan::seconds(100));
    assert!(server.store.open_alert(&alert).await.unwrap());

    let driving = Arc::new(AtomicBool::new(true));
    let live_drive =
        tokio::spawn(drive_live(server.mqtt, live.clone(), live_password, route.clone(), driving.clone()));

    let last_past = past_fixes.last().unwrap().t;
    let config = json!({
        "base": server.url("/"),
        "locale": "zh-CN",
        "admin": { "user": ADMIN_USER, "password": ADMIN_PASSWORD },
        "move_id": move_id,
        "alert_id": "zh-alert-1",
        "past_vehicle": past.to_string(),
        "live_vehicle": live.to_string(),
        "note": NOTE_ZH,
        "day": last_past.format("%Y-%m-%d").to_string(),
        "allowed": [ADMIN_USER, past.to_string(), live.to_string()],
    });
    let mut config = config;
    if let Some(viewport) = phone {
        config["viewport"] = viewport;
        config["touch"] = json!(true);
    }
    let mut browser = BrowserScript::start("chinese_watch.mjs", config, work.path(), &shots);
    let report = tokio::time::timeout(Duration::from_secs(600), async {
        if let Some(what) = browser.next_need().await {
            panic!("chinese_watch.mjs needs something unknown: {what}");
        }
        browser.report().await
    })
    .await
    .expect("the browser session finishes within 10 minutes");
    driving.store(false, Ordering::Relaxed);
    live_drive.await.unwrap();
    let steps = &report["steps"];

    // No English word on any view, dialog or message.
    for step in [
        "login_form",
        "login_refused",
        "live",
        "acknowledge",
        "replay",
        "exports",
        "report",
        "history",
        "history_empty",
        "daily",
        "daily_refused",
        "resolve",
    ] {
        assert_eq!(steps[step]["english"], json!([]), "English left on {step}: {}", steps[step]);
    }
    // The login form, from the browser's language; a refusal in Chinese.
    assert_eq!(steps["login_form"]["lang"], "zh-CN");
    assert_eq!(steps["login_form"]["submit"], "登录");
    assert_eq!(steps["login_refused"]["message"], "用户名或密码错误。");
    // The header and the live map.
    let live_step = &steps["live"];
    assert_eq!(live_step["who"], format!("{ADMIN_USER}（管理员）"));
    assert_eq!(
        live_step["nav"],
        json!([
            "实时地图",
            "任务",
            "规划任务",
            "回放",
            "导出",
            "报告",
            "日报",
            "告警历史",
            "审计日志",
            "手机",
            "法律保全",
            "车辆",
            "人员"
        ])
    );
    assert_eq!(live_step["title"], "实时地图 — Convoy");
    assert_eq!(live_step["connection"], "● 实时");
    assert_eq!(live_step["agent"], "终端：在线 · 卫星定位 已定位");
    assert!(live_step["age"].as_str().unwrap().ends_with(" 秒前"), "{live_step}");
    assert!(live_step["progress"].as_str().unwrap().starts_with("已行驶 "), "{live_step}");
    assert_eq!(live_step["alert_kind"], "偏离路线");
    assert_eq!(live_step["alert_detail"], "偏离路线 420 米");
    assert_eq!(live_step["badge"], "1 条告警待确认");
    // Acknowledged with a Chinese note; the API has it.
    let acknowledged = &steps["acknowledge"];
    assert_eq!(acknowledged["message"], "已确认。");
    assert_eq!(acknowledged["note"], NOTE_ZH);
    assert!(
        acknowledged["line"].as_str().unwrap().starts_with(&format!("{ADMIN_USER} 于 20")),
        "{acknowledged}"
    );
    // The API has the note, then the resolution the page made at the end.
    let (_, in_api) = server.get_json("/api/v1/alerts/zh-alert-1", &token).await;
    let transitions: Vec<(&str, &str, &str)> = in_api["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (t["state"].as_str().unwrap(), t["by"].as_str().unwrap_or(""), t["note"].as_str().unwrap_or(""))
        })
        .collect();
    assert_eq!(
        transitions[1..],
        [("acknowledged", ADMIN_USER, NOTE_ZH), ("resolved", ADMIN_USER, "")],
        "{in_api}"
    );
    // Dates the Chinese way (Intl's zh-CN: 2026/12/07 13:06:07), in the move's zone.
    let replay = &steps["replay"];
    assert!(replay["clock"].as_str().unwrap().starts_with(&last_past.format("%Y/").to_string()), "{replay}");
    assert!(replay["message"].as_str().unwrap().contains(" 辆车，"), "{replay}");
    assert_eq!(replay["zone"], "时间按 Asia/Shanghai 时区（UTC+08:00）");
    assert!(steps["exports"]["message"].as_str().unwrap().starts_with("已保存 "), "{}", steps["exports"]);
    assert_eq!(steps["report"]["alert_log"], "告警记录");
    assert!(steps["history"]["count"].as_str().unwrap().ends_with(" 条告警"), "{}", steps["history"]);
    assert_eq!(steps["history"]["state"], "已确认");
    assert_eq!(steps["history_empty"]["empty"], "没有符合条件的告警。");
    // The daily report: the day written the Chinese way, a number as Chinese writes it.
    let daily = &steps["daily"];
    let day = last_past.date_naive();
    assert!(
        daily["span"].as_str().unwrap().starts_with(&day.format("%Y年%-m月%-d日，00:00 至 ").to_string()),
        "{daily}"
    );
    assert!(daily["km"].as_str().unwrap().parse::<f64>().unwrap() > 0.5, "{daily}");
    assert_eq!(daily["headings"][0], "车辆");
    assert!(
        steps["daily_refused"]["message"].as_str().unwrap().contains("未知的时区"),
        "{}",
        steps["daily_refused"]
    );

    // The switch: English at once on the live map, the feed not reopened; saved in the browser.
    let english = &steps["to_english"];
    assert_eq!(english["heading"], "Vehicles");
    assert_eq!(english["nav_first"], "Live map");
    assert_eq!(english["lang"], "en");
    assert_eq!(english["saved"], "en");
    assert_eq!(english["sockets_before"], english["sockets_after"], "the live feed runs on: {english}");
    assert_eq!(english["marker_moved"], true);
    assert_eq!(steps["english_reloaded"]["heading"], "Vehicles", "the choice beats the browser's language");
    let back = &steps["back_to_chinese"];
    assert_eq!((back["heading"].as_str(), back["reloaded_heading"].as_str()), (Some("车辆"), Some("车辆")));
    assert_eq!((back["lang"].as_str(), back["saved"].as_str()), (Some("zh-CN"), Some("zh-CN")));
    // Resolved on the page: the panel's empty state, in Chinese.
    assert_eq!(steps["resolve"]["empty"], "没有待处理的告警。");
    assert_eq!(steps["resolve"]["count"], "（0 条待确认，0 条已确认）");
    assert!(report["page_errors"].as_array().unwrap().is_empty(), "{}", report["page_errors"]);
    server.stop().await;
}
