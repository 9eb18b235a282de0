//! The admin views in Simplified Chinese.

use convoy_store::{AgentStatus, IngestWrite};

use crate::*;

const PLANNED_NAME: &str = "仓库搬迁";
const RUNNING_NAME: &str = "市区配送";
const VEHICLE: &str = "truck-01";
const ESCORT_VEHICLE: &str = "escort-01";

/// An admin whose browser speaks Chinese (`zh-CN`) walks every admin view: the moves list (a
/// running move ended with a reason after a Chinese question), planning a move named
/// 数据中心搬迁 (a missing route and a refused route file said in Chinese), editing a plan,
/// people (one added, the same name refused), the password form, vehicles (one registered, an
/// agent's status history), phones (one registered), legal holds (a reversed range refused, a
/// hold placed) and the audit log. No English word is left in any view but the names the test
/// made; a few texts are checked exactly, with a date, a zone's offset and a number written
/// the Chinese way.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_admin_walks_every_admin_view_in_chinese_in_chromium() {
    let shots = screenshots_dir("chinese_admin");
    let work = tempfile::tempdir().unwrap();
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let token = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    for vehicle in [VEHICLE, ESCORT_VEHICLE] {
        register_vehicle(&server, vehicle).await;
    }
    let now = Utc::now().trunc_subsecs(0);
    let move_of = |name: &str, from: DateTime<Utc>, to: DateTime<Utc>| {
        json!({
            "name": name,
            "vehicles": [VEHICLE, ESCORT_VEHICLE],
            "route": { "type": "LineString", "coordinates": [[11.56, 48.16], [11.57, 48.17]] },
            "corridor_m": 200,
            "window": { "from": from, "to": to },
            "time_zone": "Asia/Shanghai",
        })
    };
    // 2026-12-24 01:30 UTC is 09:30 in Shanghai.
    let planned_from = "2026-12-24T01:30:00Z".parse::<DateTime<Utc>>().unwrap().max(now + TimeSpan::days(1));
    let planned_plan = move_of(PLANNED_NAME, planned_from, planned_from + TimeSpan::hours(8));
    let planned = create_move(&server, &token, &planned_plan).await;
    let running_plan = move_of(RUNNING_NAME, now - TimeSpan::hours(1), now + TimeSpan::hours(2));
    let running = create_move(&server, &token, &running_plan).await;
    // The agent's last report: 1,200 fixes waiting in its spool, the oldest 40 s.
    let status =
        r#"{"state":"online","version":"0.1.0","gnss":"fix","spool_depth":1200,"spool_oldest_age_s":40}"#;
    let report = AgentStatus {
        vehicle: VehicleId::new(VEHICLE).unwrap(),
        received_at: now - TimeSpan::minutes(5),
        status_json: status.into(),
    };
    server.store.write_ingest(&IngestWrite { statuses: vec![report], ..Default::default() }).await.unwrap();

    let config = json!({
        "base": server.url("/"),
        "locale": "zh-CN",
        "admin": { "user": ADMIN_USER, "password": ADMIN_PASSWORD },
        "planned": { "id": planned, "name": PLANNED_NAME },
        "running": { "id": running, "name": RUNNING_NAME },
        "vehicle": VEHICLE,
        "escort_vehicle": ESCORT_VEHICLE,
        // Only the names the test server and the test gave: people, vehicles.
        "allowed": [ADMIN_USER, ESCORT_USER, VEHICLE, ESCORT_VEHICLE, "van-3", "zhang.wei"],
    });
    let mut browser = BrowserScript::start("chinese_admin.mjs", config, work.path(), &shots);
    let report = tokio::time::timeout(Duration::from_secs(300), async {
        if let Some(what) = browser.next_need().await {
            panic!("chinese_admin.mjs needs something unknown: {what}");
        }
        browser.report().await
    })
    .await
    .expect("the browser session finishes within 5 minutes");
    let steps = &report["steps"];
    let no_english = |step: &str, key: &str| {
        assert_eq!(steps[step][key], json!([]), "English words left in {step} ({key}): {}", steps[step]);
    };

    assert_eq!(steps["open"]["language"], "zh-CN", "{}", steps["open"]);
    assert_eq!(steps["open"]["html_lang"], "zh-CN", "{}", steps["open"]);

    let moves = &steps["moves"];
    no_english("moves", "english");
    no_english("moves", "english_after");
    assert_eq!(
        (moves["heading"].as_str(), moves["planned_state"].as_str()),
        (Some("任务"), Some("已计划")),
        "{moves}"
    );
    assert_eq!(moves["headers"], json!(["名称", "编号", "车辆", "时间窗口", "状态", "创建", ""]));
    assert_eq!(moves["zone_note"], "时间按 Asia/Shanghai（UTC+08:00）显示");
    if planned_from == "2026-12-24T01:30:00Z".parse::<DateTime<Utc>>().unwrap() {
        assert_eq!(moves["window"], "2026年12月24日 09:30:00 – 2026年12月24日 17:30:00", "{moves}");
    }
    assert_eq!(
        moves["question"],
        format!("现在结束任务 {RUNNING_NAME}？告警规则将停止监控它，其车辆和手机也不再为此任务跟踪。")
    );
    assert_eq!(moves["message"], format!("任务 {RUNNING_NAME} 已结束。"));
    assert_eq!(moves["ended_state"], "已结束");
    let end_note = moves["end_note"].as_str().unwrap();
    assert!(
        end_note.starts_with(&format!("由 {ADMIN_USER} 于 20"))
            && end_note.ends_with("结束：客户要求提前结束"),
        "{end_note}"
    );

    let setup = &steps["setup"];
    no_english("setup", "english");
    no_english("setup", "english_after");
    assert_eq!(setup["heading"], "规划任务");
    assert_eq!(setup["no_route"], "请先上传路线文件。");
    let refused = setup["route_refused"].as_str().unwrap();
    assert!(refused.starts_with("路线文件被拒绝："), "{refused}");
    assert_eq!(setup["route_read"], "从 route.geojson 读取了 3 个路线点、0 个区域。");
    assert_eq!(setup["zone"], json!({ "name": "区域 1", "kind": "允许停车点" }));
    assert_eq!(setup["created"]["status"], 201, "{setup}");
    let new_id = setup["created"]["body"]["id"].as_str().unwrap();
    assert!(setup["message"].as_str().unwrap().starts_with(&format!("任务 {new_id} 已创建。")), "{setup}");
    let stored = server.store.move_record(new_id).await.unwrap().unwrap();
    assert_eq!(stored.name, "数据中心搬迁", "the Chinese name is kept as typed");

    let edit = &steps["edit"];
    no_english("edit", "english");
    no_english("edit", "english_after");
    assert_eq!(edit["heading"], format!("编辑 {PLANNED_NAME}"));
    assert_eq!(edit["note"], "此任务尚未开始：开始前可修改整个计划。 第 1 版。");
    assert_eq!(edit["message"], "已保存为第 2 版。");
    let newest = edit["versions"][0].as_str().unwrap();
    assert!(
        newest.starts_with("第 2 版 · 20") && newest.ends_with(&format!(" · {ADMIN_USER}: 修改了名称")),
        "{newest}"
    );

    let people = &steps["people"];
    no_english("people", "english");
    assert_eq!(people["heading"], "人员");
    assert_eq!(people["added"], "已添加 zhang.wei，角色：调度员。");
    assert_eq!(people["refused"], "未添加：该名称已被使用。");
    assert_eq!(
        (people["state"].as_str(), people["last_login"].as_str(), people["role"].as_str()),
        (Some("已启用"), Some("从未"), Some("调度员"))
    );

    no_english("password", "english");
    assert_eq!(steps["password"]["heading"], "我的密码");
    assert_eq!(steps["password"]["refused"], "两次输入的新密码不一致。");

    let vehicles = &steps["vehicles"];
    no_english("vehicles", "english");
    no_english("vehicles", "english_registered");
    no_english("vehicles", "english_status");
    assert_eq!(vehicles["heading"], "车辆");
    assert_eq!(vehicles["registered"], "van-3 已登记。");
    assert_eq!(vehicles["download"], "下载终端配置");
    assert_eq!(vehicles["status_heading"], format!("{VEHICLE} 的终端状态（最近 24 小时）"));
    assert!(vehicles["last_heard"].as_str().unwrap().starts_with("最近一次联系：20"), "{vehicles}");
    assert_eq!(vehicles["status_columns"], json!(["接收时间", "状态", "接收机", "缓存", "版本"]));
    let row = &vehicles["report"];
    assert_eq!(
        (row["state"].as_str(), row["receiver"].as_str(), row["spool"].as_str()),
        (Some("在线"), Some("已定位"), Some("1,200 条待发，最早一条 40 秒"))
    );
    let received = row["received"].as_str().unwrap();
    assert!(received.contains('年') && received.contains('月') && received.contains('日'), "{received}");

    let phones = &steps["phones"];
    assert_eq!(phones["empty"]["english"], json!([]), "{phones}");
    no_english("phones", "english");
    assert_eq!(phones["empty"]["none"], "尚未登记手机。");
    assert_eq!(phones["status"], 201);
    assert_eq!(phones["message"], format!("手机 zhang-phone 已为 {VEHICLE} 登记。"));
    assert_eq!(phones["download"], "下载 zhang-phone.otrc");

    let holds = &steps["holds"];
    no_english("holds", "english");
    assert_eq!((holds["heading"].as_str(), holds["empty"].as_str()), (Some("法律保全"), Some("暂无保全。")));
    assert_eq!(holds["refused_reason"], "bad_range");
    assert_eq!(holds["refusal"], "未设立：开始时间必须早于结束时间。");
    assert_eq!(holds["placed_status"], 201);
    assert_eq!(holds["covers"], format!("任务 {planned}（{ESCORT_VEHICLE}, {VEHICLE}）"));
    assert_eq!(holds["state"], "有效");

    let audit = &steps["audit"];
    no_english("audit", "english");
    assert_eq!(audit["heading"], "审计日志");
    assert_eq!(audit["columns"], json!(["#", "时间", "操作人", "操作", "对象", "来源", "详情"]));
    assert_eq!(audit["move_create"], "创建任务");
    assert!(audit["head"].as_str().unwrap().starts_with("链头：第 "), "{audit}");
    assert!(audit["detail_summaries"].as_u64().unwrap() > 0, "{audit}");

    assert_eq!(report["page_errors"], json!([]), "{}", report["page_error_details"]);
    server.stop().await;
}
