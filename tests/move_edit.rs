//! Editing a move's plan through the API, on a real server with PostgreSQL: each edit a new
//! version with who, when and what changed, in the audit log; each refusal with its status and
//! reason, counted, and nothing changed; and, end to end, the rules judging the fixes after an
//! edit by the new plan: a vehicle off the old corridor but inside the new one raises no
//! `off_route`, and a later end keeps the move judged past its old end.

mod common;

use std::time::Duration;

use chrono::{DateTime, Duration as TimeSpan, SubsecRound, Utc};
use common::*;
use convoy_core::{FixMode, Position, Role};
use convoy_store::AuditFilter;
use serde_json::{json, Value};

const DISPATCHER: (&str, &str) = ("dispatcher-dag", "a long enough dispatcher password");

async fn send(server: &TestServer, token: &str, method: &str, path: &str, body: Value) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let response = reqwest::Client::new()
        .request(method, server.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A straight route east along 48.16° N, about 7.4 km.
fn plan(name: &str, window: Option<(DateTime<Utc>, DateTime<Utc>)>) -> Value {
    let mut plan = json!({
        "name": name,
        "vehicles": ["truck-07"],
        "route": { "type": "LineString", "coordinates": [[11.50, 48.16], [11.60, 48.16]] },
        "corridor_m": 150,
        // Nobody is silent for long here.
        "rules": { "signal_lost_after_s": 100_000 },
    });
    if let Some((from, to)) = window {
        plan["window"] = json!({ "from": from.trunc_subsecs(3), "to": to.trunc_subsecs(3) });
    }
    plan
}

async fn new_move(server: &TestServer, token: &str, plan: &Value) -> String {
    let (status, body) = send(server, token, "POST", "/api/v1/moves", plan.clone()).await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_string()
}

async fn edit(server: &TestServer, token: &str, id: &str, body: Value) -> (u16, Value) {
    send(server, token, "PUT", &format!("/api/v1/moves/{id}/plan"), body).await
}

async fn audit(server: &TestServer, action: &str) -> Vec<(Option<String>, String, Value)> {
    let filter = AuditFilter { action: Some(action.into()), limit: 100, ..Default::default() };
    let entries = server.store.audit_entries(&filter).await.unwrap();
    entries.into_iter().map(|e| (e.actor, e.target, serde_json::from_str(&e.detail).unwrap())).collect()
}

async fn refusals(server: &TestServer, reason: &str) -> u64 {
    let metrics = server.metrics().await;
    let line = format!("convoy_gateway_move_edits_refused_total{{reason=\"{reason}\"}} ");
    let value = metrics.lines().find_map(|l| l.strip_prefix(line.as_str())).unwrap_or("0");
    value.trim().parse().unwrap()
}

async fn start() -> (TestServer, String, String) {
    let server = TestServer::start(Backend::Postgres, BrokerKind::Embedded).await;
    register_vehicle(&server, "truck-07").await;
    convoy_registry::add_user(&server.store, DISPATCHER.0, Role::Dispatcher, DISPATCHER.1).await.unwrap();
    let admin = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let dispatcher = server.login(DISPATCHER.0, DISPATCHER.1).await;
    (server, admin, dispatcher)
}

/// A window that starts tomorrow: a planned move.
fn tomorrow() -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let from = Utc::now() + TimeSpan::days(1);
    Some((from, from + TimeSpan::hours(8)))
}

/// A window that started an hour ago and ends in an hour: a running move.
fn now_running() -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    Some((Utc::now() - TimeSpan::hours(1), Utc::now() + TimeSpan::hours(1)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planned_moves_whole_plan_is_edited_as_new_versions_listed_newest_first() {
    let (server, admin, dispatcher) = start().await;
    let original = plan("Data centre", tomorrow());
    let id = new_move(&server, &admin, &original).await;
    let (_, created) = server.get_json(&format!("/api/v1/moves/{id}"), &admin).await;
    assert_eq!(created["version"], 1);

    let mut edited = original.clone();
    edited["name"] = json!("Data centre, by the ring road");
    edited["corridor_m"] = json!(400);
    edited["route"]["coordinates"] = json!([[11.50, 48.16], [11.55, 48.17], [11.60, 48.16]]);
    let (status, answer) = edit(&server, &dispatcher, &id, json!({ "replaces": 1, "plan": edited })).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!((answer["version"].clone(), answer["name"].clone()), (json!(2), edited["name"].clone()));
    assert_eq!(
        (answer["plan"]["corridor_m"].as_f64(), answer["state"].as_str()),
        (Some(400.0), Some("planned"))
    );
    assert_eq!(answer["plan"]["route"]["coordinates"], edited["route"]["coordinates"]);

    // A team with it: a third version.
    let (status, answer) =
        edit(&server, &admin, &id, json!({ "replaces": 2, "plan": edited, "team": [ESCORT_USER] })).await;
    assert_eq!((status, answer["team"].clone()), (200, json!([ESCORT_USER])), "{answer}");

    let (status, body) = server.get_json(&format!("/api/v1/moves/{id}/versions"), &admin).await;
    assert_eq!(status, 200, "{body}");
    let versions = body["versions"].as_array().unwrap();
    let summary: Vec<_> = versions
        .iter()
        .map(|v| (v["version"].clone(), v["by"].clone(), v["changes"].clone(), v["team"].clone()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (json!(3), json!(ADMIN_USER), json!(["team"]), json!([ESCORT_USER])),
            (json!(2), json!(DISPATCHER.0), json!(["name", "route", "corridor_m"]), Value::Null),
            (json!(1), json!(ADMIN_USER), json!([]), Value::Null),
        ]
    );
    assert_eq!(versions[2]["plan"]["corridor_m"].as_f64(), Some(150.0), "each version keeps its plan");
    assert_eq!(versions[1]["plan"]["name"], edited["name"]);
    assert_eq!(
        audit(&server, "move.edit").await,
        [
            (
                Some(DISPATCHER.0.into()),
                id.clone(),
                json!({ "version": 2, "changes": ["name", "route", "corridor_m"] })
            ),
            (Some(ADMIN_USER.into()), id.clone(), json!({ "version": 3, "changes": ["team"] })),
        ],
        "oldest first"
    );
    assert_eq!(audit(&server, "move.versions").await.len(), 1);

    // The escort now on the team sees the versions; an escort of another move would not.
    let escort = server.login(ESCORT_USER, ESCORT_PASSWORD).await;
    let (status, _) = server.get_json(&format!("/api/v1/moves/{id}/versions"), &escort).await;
    assert_eq!(status, 200);
    let other = new_move(&server, &admin, &plan("another team's", tomorrow())).await;
    let (status, body) = server.get_json(&format!("/api/v1/moves/{other}/versions"), &escort).await;
    assert_eq!(status, 404, "as a move that does not exist: {body}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_move_takes_only_a_new_team_and_end_time() {
    let (server, admin, dispatcher) = start().await;
    let original = plan("On the road", now_running());
    let id = new_move(&server, &admin, &original).await;

    let mut wider = original.clone();
    wider["corridor_m"] = json!(1000);
    wider["name"] = json!("renamed");
    let before = refusals(&server, "started").await;
    let (status, body) = edit(&server, &dispatcher, &id, json!({ "replaces": 1, "plan": wider })).await;
    assert_eq!((status, body["reason"].as_str()), (409, Some("started")), "{body}");
    let message = body["error"].as_str().unwrap();
    assert!(message.contains("name, corridor_m"), "names the fields: {message}");
    assert_eq!(refusals(&server, "started").await, before + 1);

    let mut later = original.clone();
    let new_end = (Utc::now() + TimeSpan::hours(3)).trunc_subsecs(3);
    later["window"]["to"] = json!(new_end);
    let (status, body) =
        edit(&server, &dispatcher, &id, json!({ "replaces": 1, "plan": later, "team": [ESCORT_USER] })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["version"].clone(), body["state"].clone()), (json!(2), json!("running")));
    assert_eq!(body["team"], json!([ESCORT_USER]));
    assert_eq!(server.store.move_team(&id).await.unwrap(), [ESCORT_USER]);
    // The vehicles' move windows (and phones' tracking) read the move's window from here.
    let crews = server.store.move_crews().await.unwrap();
    assert_eq!(crews.iter().find(|c| c.id == id).unwrap().ends_at, Some(new_end));
    assert_eq!(
        audit(&server, "move.edit").await,
        [(Some(DISPATCHER.0.into()), id.clone(), json!({ "version": 2, "changes": ["window.to", "team"] }))]
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_bad_edit_is_refused_with_its_reason_counted_and_changes_nothing() {
    let (server, admin, dispatcher) = start().await;
    let original = plan("Planned", tomorrow());
    let id = new_move(&server, &admin, &original).await;
    let mut renamed = original.clone();
    renamed["name"] = json!("First edit");
    let (status, body) = edit(&server, &admin, &id, json!({ "replaces": 1, "plan": renamed })).await;
    assert_eq!(status, 200, "{body}");

    let with = |change: &dyn Fn(&mut Value)| {
        let mut plan = renamed.clone();
        change(&mut plan);
        plan
    };
    let past = (Utc::now() - TimeSpan::minutes(5)).trunc_subsecs(3);
    let cases = [
        // Another edit came first: version 1 is stale.
        (json!({ "replaces": 1, "plan": with(&|p| p["name"] = json!("Second")) }), 409, "stale_version"),
        (
            json!({ "replaces": 2, "plan": with(&|p| p["corridor_m"] = json!(5)) }),
            400,
            "corridor_out_of_range",
        ),
        (
            json!({ "replaces": 2, "plan": with(&|p| p["route"]["coordinates"] = json!([[11.5, 48.16]])) }),
            400,
            "route_too_short",
        ),
        (
            json!({ "replaces": 2, "plan": with(&|p| p["window"]["to"] = p["window"]["from"].clone()) }),
            400,
            "invalid_window",
        ),
        (
            json!({ "replaces": 2, "plan": with(&|p| p["window"] = json!({ "from": past - TimeSpan::hours(1), "to": past })) }),
            400,
            "end_in_past",
        ),
        (
            json!({ "replaces": 2, "plan": with(&|p| p["vehicles"] = json!(["truck-99"])) }),
            422,
            "unknown_vehicle",
        ),
        (json!({ "replaces": 2, "plan": renamed, "team": ["nobody-here"] }), 422, "unknown_person"),
        (json!({ "replaces": 2, "plan": renamed }), 400, "no_change"),
        (json!({ "replaces": 2 }), 400, "malformed"),
        (json!({ "replaces": 2, "plan": renamed, "by": "someone" }), 400, "malformed"),
    ];
    for (body, status, reason) in cases {
        let before = refusals(&server, reason).await;
        let (got, answer) = edit(&server, &dispatcher, &id, body.clone()).await;
        assert_eq!(
            (got, answer["reason"].as_str().unwrap_or("malformed")),
            (status, reason),
            "{body}: {answer}"
        );
        assert_eq!(refusals(&server, reason).await, before + 1, "{body}: counted");
    }
    let (status, body) =
        edit(&server, &admin, "m-no-such-move", json!({ "replaces": 1, "plan": original })).await;
    assert_eq!((status, body["reason"].as_str()), (404, Some("unknown_move")), "{body}");

    // A cancelled move takes no edit.
    let (status, _) = send(
        &server,
        &admin,
        "POST",
        &format!("/api/v1/moves/{id}/cancel"),
        json!({ "reason": "postponed" }),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = edit(&server, &admin, &id, json!({ "replaces": 2, "plan": original })).await;
    assert_eq!((status, body["reason"].as_str()), (409, Some("already_over")), "{body}");

    let record = server.store.move_record(&id).await.unwrap().unwrap();
    assert_eq!((record.version, record.name.as_str()), (2, "First edit"), "nothing changed");
    assert_eq!(server.store.plan_versions(&id).await.unwrap().len(), 2);
    assert_eq!(audit(&server, "move.edit").await.len(), 1);
    server.stop().await;
}

/// Fixes one second apart from `from`, `north_m` north of the route.
fn drive(from: DateTime<Utc>, seconds: u64, north_m: f64) -> Vec<Position> {
    (0..seconds)
        .map(|s| Position {
            seq: s + 1,
            t: from + TimeSpan::seconds(s as i64),
            lat: 48.16 + north_m / 111_190.0,
            lon: 11.52 + 10.0 * s as f64 / 74_300.0,
            alt_m: None,
            speed_mps: Some(10.0),
            course_deg: Some(90.0),
            fix: Some(FixMode::ThreeD),
            sats: Some(9),
            hdop: Some(0.9),
            accuracy_m: None,
        })
        .collect()
}

async fn alerts_of(server: &TestServer, token: &str, id: &str) -> Vec<Value> {
    let (_, body) = server.get_json(&format!("/api/v1/alerts?move={id}"), token).await;
    body["alerts"].as_array().cloned().unwrap_or_default()
}

/// One truck on two moves alike; one of them is edited, the other kept as it was. The truck's
/// fixes (taken ahead of now: the rules run on fix time, and fixes up to 5 minutes ahead are
/// taken) are judged for both moves in one pass: the kept move raises `off_route` where the
/// edit says otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn after_an_edit_the_rules_judge_the_vehicles_fixes_by_the_new_plan() {
    let server = TestServer::start(Backend::Postgres, BrokerKind::Embedded).await;
    let (truck, password) = register_vehicle(&server, "truck-07").await;
    let admin = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let now = Utc::now().trunc_subsecs(0);

    // Starts in a minute, 150 m corridor; widened to 1 km before it starts. The truck then
    // drives 400 m off the route: off the old corridor, inside the new one.
    let window = Some((now + TimeSpan::seconds(60), now + TimeSpan::hours(1)));
    let kept = new_move(&server, &admin, &plan("kept", window)).await;
    let widened = new_move(&server, &admin, &plan("widened", window)).await;
    let mut wide = plan("widened", window);
    wide["corridor_m"] = json!(1000);
    let (status, body) = edit(&server, &admin, &widened, json!({ "replaces": 1, "plan": wide })).await;
    assert_eq!(status, 200, "{body}");
    // Running now, ends in 2 minutes; the end moved an hour later. The truck drives off route
    // after the old end.
    let old_end = Some((now - TimeSpan::minutes(10), now + TimeSpan::seconds(120)));
    let ending = new_move(&server, &admin, &plan("ending", old_end)).await;
    let extended = new_move(&server, &admin, &plan("extended", old_end)).await;
    let mut later = plan("extended", old_end);
    later["window"]["to"] = json!(now + TimeSpan::hours(1));
    let (status, body) = edit(&server, &admin, &extended, json!({ "replaces": 1, "plan": later })).await;
    assert_eq!(status, 200, "{body}");

    publish_fixes(&server, &truck, &password, &drive(now + TimeSpan::seconds(150), 60, 400.0), 5).await;

    let opened = eventually(Duration::from_secs(60), "off_route on the kept and extended moves", || async {
        let (kept, extended) =
            (alerts_of(&server, &admin, &kept).await, alerts_of(&server, &admin, &extended).await);
        (!kept.is_empty() && !extended.is_empty()).then_some((kept, extended))
    })
    .await;
    for alerts in [&opened.0, &opened.1] {
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        assert_eq!(alerts[0]["kind"], "off_route");
    }
    // The same fixes, in the same pass of the rules: nothing for the widened corridor, nor for
    // the move whose old end passed.
    assert_eq!(alerts_of(&server, &admin, &widened).await, Vec::<Value>::new(), "inside the new corridor");
    assert_eq!(alerts_of(&server, &admin, &ending).await, Vec::<Value>::new(), "over before the fixes");
    server.stop().await;
}

/// A moves-only agent on the truck learns the move's later end at once: the window it keeps
/// (and records inside) follows the edit.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_vehicles_agent_keeps_the_moves_edited_window() {
    use convoy_agent::config::BrokerAddress;
    use convoy_agent::privacy::Privacy;
    use convoy_core::move_windows::MoveWindows;

    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let admin = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let (truck, password) = register_vehicle(&server, "truck-07").await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let agent_state = state.clone();
    let broker = BrokerAddress::plain("127.0.0.1", server.mqtt.port());
    let agent = TestAgent::start_configured(&truck, &password, broker, move |config| {
        config.privacy = Privacy::MovesOnly;
        config.state_dir = agent_state;
    });
    let kept_containing = |t: DateTime<Utc>| {
        let (state, truck) = (state.clone(), truck.clone());
        async move {
            eventually(Duration::from_secs(40), "the agent to keep windows containing the time", || async {
                let bytes = std::fs::read(state.join("move_windows.json")).ok()?;
                MoveWindows::decode(&bytes, &truck).ok().filter(|w| w.contains(t))
            })
            .await
        }
    };

    let now = Utc::now().trunc_subsecs(0);
    let original = plan("ends soon", Some((now - TimeSpan::minutes(10), now + TimeSpan::minutes(30))));
    let id = new_move(&server, &admin, &original).await;
    let first = kept_containing(now).await;
    assert!(!first.contains(now + TimeSpan::hours(2)), "{first:?}");

    let mut later = original.clone();
    let new_end = now + TimeSpan::hours(3);
    later["window"]["to"] = json!(new_end);
    let (status, body) = edit(&server, &admin, &id, json!({ "replaces": 1, "plan": later })).await;
    assert_eq!(status, 200, "{body}");
    let kept = kept_containing(now + TimeSpan::hours(2)).await;
    assert_eq!(kept.windows.iter().map(|w| w.to).collect::<Vec<_>>(), [Some(new_end)]);
    agent.stop().await;
    server.stop().await;
}

/// A plan edited elsewhere (another server's API; here straight into the shared store) reaches
/// this server's rules by their look for edited plans: the truck's fixes off the old corridor
/// but inside the new one raise nothing for the edited move.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_plan_edited_by_another_server_reaches_the_rules() {
    let log = Captured::install("convoy_alerts=info");
    let server = TestServer::start(Backend::Postgres, BrokerKind::Embedded).await;
    let (truck, password) = register_vehicle(&server, "truck-07").await;
    let admin = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let now = Utc::now().trunc_subsecs(0);
    let window = Some((now + TimeSpan::seconds(60), now + TimeSpan::hours(1)));
    let kept = new_move(&server, &admin, &plan("kept", window)).await;
    let widened = new_move(&server, &admin, &plan("widened", window)).await;

    // The rules watch the move as created before it is edited elsewhere (else they would read
    // the edited plan first, and have nothing to follow).
    eventually(Duration::from_secs(30), "the rules to watch the move", || async {
        log.lines().iter().any(|l| l.contains("watching move") && l.contains(&widened)).then_some(())
    })
    .await;
    let mut wide = server.store.move_record(&widened).await.unwrap().unwrap().plan;
    wide["corridor_m"] = json!(1000.0);
    let edit = convoy_store::PlanEdit {
        replaces: 1,
        name: "widened".into(),
        plan: wide,
        at: now,
        by: "someone on another server".into(),
        changes: vec!["corridor_m".into()],
        team: None,
    };
    assert_eq!(
        server.store.edit_move_plan(&widened, &edit).await.unwrap(),
        convoy_store::PlanEdited::Stored(2)
    );
    eventually(Duration::from_secs(30), "the rules to take the plan edited elsewhere", || async {
        log.lines()
            .iter()
            .any(|l| l.contains("its rules follow the new plan") && l.contains(&widened))
            .then_some(())
    })
    .await;

    publish_fixes(&server, &truck, &password, &drive(now + TimeSpan::seconds(90), 60, 400.0), 5).await;
    let opened = eventually(Duration::from_secs(60), "off_route on the kept move", || async {
        let alerts = alerts_of(&server, &admin, &kept).await;
        (!alerts.is_empty()).then_some(alerts)
    })
    .await;
    assert_eq!(opened[0]["kind"], "off_route");
    assert_eq!(alerts_of(&server, &admin, &widened).await, Vec::<Value>::new(), "inside the new corridor");
    server.stop().await;
}
