//! The audit log end to end, on SQLite and on PostgreSQL: what the API records (who, what,
//! when, from where), who may read it, and `convoy audit verify` (the real binary) finding
//! entries changed, removed or reordered directly in the database, as someone with the
//! database owner's rights could.

mod common;

use std::process::Command;

use chrono::{DateTime, Utc};
use common::{
    eventually, Backend, BrokerKind, TestServer, ADMIN_PASSWORD, ADMIN_USER, ESCORT_PASSWORD, ESCORT_USER,
};
use convoy_core::Role;
use convoy_store::{AuditEntry, AuditFilter};
use serde_json::{json, Value};

const AUDITOR_USER: &str = "auditor-cy";
const AUDITOR_PASSWORD: &str = "a long enough auditor password";
const DISPATCHER_USER: &str = "dispatcher-di";
const DISPATCHER_PASSWORD: &str = "a long enough dispatcher password";

async fn start(backend: Backend) -> TestServer {
    let server = TestServer::start(backend, BrokerKind::Embedded).await;
    let people = [
        (AUDITOR_USER, Role::Auditor, AUDITOR_PASSWORD),
        (DISPATCHER_USER, Role::Dispatcher, DISPATCHER_PASSWORD),
    ];
    for (name, role, password) in people {
        convoy_registry::add_user(&server.store, name, role, password).await.unwrap();
    }
    // The retention purge at start is recorded too; wait for it so it does not land in the
    // middle of what a test looks at.
    eventually(std::time::Duration::from_secs(10), "the purge at start", || async {
        let filter = AuditFilter { action: Some("retention.purge".into()), limit: 1, ..Default::default() };
        (!server.store.audit_entries(&filter).await.unwrap().is_empty()).then_some(())
    })
    .await;
    server
}

async fn post_json(server: &TestServer, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    let mut request = reqwest::Client::new().post(server.url(path)).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn audit(server: &TestServer, token: &str, query: &str) -> (u16, Value) {
    server.get_json(&format!("/api/v1/audit{query}"), token).await
}

/// `(actor, action, target)` of each entry, in order.
fn summary(entries: &Value) -> Vec<(Option<String>, String, String)> {
    entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().map(str::to_string),
                e["action"].as_str().unwrap().to_string(),
                e["target"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The entry for `action` on `target`; panics if there is not exactly one.
fn entry<'a>(entries: &'a Value, action: &str, target: &str) -> &'a Value {
    let found: Vec<&Value> = entries
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == action && e["target"] == target)
        .collect();
    assert_eq!(found.len(), 1, "one {action} of {target} in {entries:#}");
    found[0]
}

fn a_plan() -> Value {
    json!({
        "name": "office move",
        "vehicles": ["truck-07"],
        "route": { "type": "LineString", "coordinates": [[11.56, 48.16], [11.57, 48.17], [11.58, 48.17]] },
    })
}

async fn actions_are_recorded_with_who_what_when_and_from_where(backend: Backend) {
    let server = start(backend).await;
    let started = Utc::now() - chrono::Duration::seconds(1);
    let admin = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let (status, _) =
        post_json(&server, "/api/v1/login", None, json!({ "username": ADMIN_USER, "password": "wrong" }))
            .await;
    assert_eq!(status, 401);
    let tried = "nobody' OR '1'='1";
    let (status, _) =
        post_json(&server, "/api/v1/login", None, json!({ "username": tried, "password": "wrong" })).await;
    assert_eq!(status, 401);
    let (status, _) = post_json(&server, "/api/v1/vehicles", Some(&admin), json!({ "id": "truck-07" })).await;
    assert_eq!(status, 201);
    assert_eq!(server.get_json("/api/v1/vehicles", &admin).await.0, 200);
    assert_eq!(server.get_json("/api/v1/vehicles/truck-07/track", &admin).await.0, 200);
    let (status, created) = post_json(&server, "/api/v1/moves", Some(&admin), a_plan()).await;
    assert_eq!(status, 201, "{created}");
    let move_id = created["id"].as_str().unwrap().to_string();
    assert_eq!(server.get_json(&format!("/api/v1/moves/{move_id}"), &admin).await.0, 200);
    assert_eq!(server.get_json("/api/v1/alerts", &admin).await.0, 200);
    let auditor = server.login(AUDITOR_USER, AUDITOR_PASSWORD).await;

    let (status, body) = audit(&server, &auditor, "").await;
    assert_eq!(status, 200, "{body}");
    let entries = &body["entries"];
    let admin_name = Some(ADMIN_USER.to_string());
    let expected = [
        (admin_name.clone(), "login.ok", ADMIN_USER),
        (admin_name.clone(), "login.failed", ADMIN_USER),
        (None, "login.failed", tried),
        (admin_name.clone(), "vehicle.add", "truck-07"),
        (admin_name.clone(), "vehicles.view", "vehicles"),
        (admin_name.clone(), "track.view", "truck-07"),
        (admin_name.clone(), "move.create", &move_id),
        (admin_name.clone(), "move.view", &move_id),
        (admin_name.clone(), "alert.view", "alerts"),
        (Some(AUDITOR_USER.to_string()), "login.ok", AUDITOR_USER),
        (Some(AUDITOR_USER.to_string()), "audit.view", "audit_log"),
    ];
    let expected: Vec<_> = expected.into_iter().map(|(a, b, c)| (a, b.to_string(), c.to_string())).collect();
    let recorded: Vec<_> =
        summary(entries).into_iter().filter(|(_, action, _)| action != "retention.purge").collect();
    assert_eq!(recorded, expected);

    // Who (above), what, when and from where; one contiguous chain.
    let now = Utc::now();
    for (n, e) in entries.as_array().unwrap().iter().enumerate() {
        assert_eq!(e["seq"], n as u64 + 1, "{e}");
        assert_eq!(e["hash"].as_str().unwrap().len(), 64, "{e}");
        if e["action"] == "retention.purge" {
            assert_eq!((e["actor"].as_str(), &e["from"]), (Some("system"), &Value::Null), "{e}");
            continue;
        }
        let at: DateTime<Utc> = e["at"].as_str().unwrap().parse().unwrap();
        assert!(at >= started && at <= now, "{e}");
        assert_eq!(e["from"], "127.0.0.1", "{e}");
    }
    let failed = entry(entries, "login.failed", tried);
    assert_eq!(
        (failed["detail"]["username"].as_str(), &failed["detail"]["known_user"]),
        (Some(tried), &json!(false))
    );
    assert_eq!(entry(entries, "login.failed", ADMIN_USER)["detail"]["known_user"], true);
    let last = entries.as_array().unwrap().last().unwrap();
    assert_eq!(body["head"], json!({ "seq": last["seq"], "hash": last["hash"] }));
    server.stop().await;
}

async fn only_admins_and_auditors_read_the_log(backend: Backend) {
    let server = start(backend).await;
    for (user, password, expected) in [
        (ADMIN_USER, ADMIN_PASSWORD, 200),
        (AUDITOR_USER, AUDITOR_PASSWORD, 200),
        (DISPATCHER_USER, DISPATCHER_PASSWORD, 403),
        (ESCORT_USER, ESCORT_PASSWORD, 403),
    ] {
        let token = server.login(user, password).await;
        let (status, body) = audit(&server, &token, "").await;
        assert_eq!(status, expected, "{user}: {body}");
    }
    assert_eq!(audit(&server, "forged-token", "").await.0, 401);
    let anonymous = reqwest::get(server.url("/api/v1/audit")).await.unwrap();
    assert_eq!(anonymous.status(), 401);
    // Refused reads are not views: only the two allowed ones are recorded.
    let views = server
        .store
        .audit_entries(&AuditFilter { action: Some("audit.view".into()), limit: 10, ..Default::default() })
        .await
        .unwrap();
    let viewers: Vec<_> = views.iter().map(|e| e.actor.clone().unwrap()).collect();
    assert_eq!(viewers, [ADMIN_USER, AUDITOR_USER]);
    server.stop().await;
}

async fn the_log_is_filtered_and_paged_and_bad_queries_are_refused(backend: Backend) {
    let server = start(backend).await;
    let auditor = server.login(AUDITOR_USER, AUDITOR_PASSWORD).await;
    for _ in 0..2 {
        let wrong = json!({ "username": ADMIN_USER, "password": "wrong" });
        assert_eq!(post_json(&server, "/api/v1/login", None, wrong).await.0, 401);
    }
    // Refusals of one name from one address within a minute are one entry, then their count
    // (`gateway/src/login_audit.rs`): here only the first is written yet.
    let (_, body) = audit(&server, &auditor, "?action=login.failed").await;
    assert_eq!(summary(&body["entries"]).len(), 1, "{body}");
    assert_eq!(body["entries"][0]["detail"]["count"], 1, "{body}");
    let (_, body) = audit(&server, &auditor, &format!("?actor={AUDITOR_USER}&action=login.ok")).await;
    assert_eq!(
        summary(&body["entries"]),
        [(Some(AUDITOR_USER.into()), "login.ok".into(), AUDITOR_USER.into())]
    );
    let (_, body) = audit(&server, &auditor, "?after_seq=1&limit=2").await;
    let seqs: Vec<_> = body["entries"].as_array().unwrap().iter().map(|e| e["seq"].clone()).collect();
    assert_eq!(seqs, [json!(2), json!(3)]);
    let (_, body) = audit(&server, &auditor, "?from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z").await;
    assert_eq!(body["entries"], json!([]));
    // SQL metacharacters are a value like any other.
    let (status, body) = audit(&server, &auditor, "?actor=x%27%20OR%20%271%27%3D%271").await;
    assert_eq!((status, &body["entries"]), (200, &json!([])), "{body}");

    for (query, what) in [
        ("?from=2026-11-28T10:00:00Z&to=2026-11-28T09:00:00Z", "after"),
        ("?from=yesterday", "RFC 3339"),
        ("?limit=0", "limit"),
        ("?limit=10001", "limit"),
        ("?after_seq=-1", "after_seq"),
    ] {
        let (status, body) = audit(&server, &auditor, query).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body["error"].as_str().unwrap().contains(what), "{query}: {body}");
    }
    server.stop().await;
}

/// Fifty people logging in at once: one chain, seqs without a gap.
async fn concurrent_logins_keep_the_chain_intact(backend: Backend) {
    let server = start(backend).await;
    let logins: Vec<_> = (0..50)
        .map(|_| {
            let url = server.url("/api/v1/login");
            tokio::spawn(async move {
                let body = json!({ "username": ADMIN_USER, "password": ADMIN_PASSWORD });
                reqwest::Client::new().post(url).json(&body).send().await.unwrap().status().as_u16()
            })
        })
        .collect();
    for login in logins {
        assert_eq!(login.await.unwrap(), 200);
    }
    let entries = all_entries(&server).await;
    let seqs: Vec<u64> = entries.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=entries.len() as u64).collect::<Vec<_>>());
    assert_eq!(entries.iter().filter(|e| e.action == "login.ok").count(), 50);
    let verdict = server.store.verify_audit(None).await.unwrap();
    assert!(verdict.intact(), "{verdict:?}");
    let (code, stdout) = verify(&server, None);
    assert_eq!(code, 0, "{stdout}");
    server.stop().await;
}

/// Command-line changes are recorded as `cli:USER`.
async fn command_line_changes_are_recorded(backend: Backend) {
    let server = start(backend).await;
    let output = Command::new(env!("CARGO_BIN_EXE_convoy"))
        .args(["vehicle", "add", "truck-09", "--database", &server.config.database])
        .env("USER", "ops")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let added = all_entries(&server).await.into_iter().find(|e| e.action == "vehicle.add").unwrap();
    assert_eq!(
        (added.actor.as_deref(), added.target.as_str(), added.from_addr),
        (Some("cli:ops"), "truck-09", None)
    );
    server.stop().await;
}

async fn all_entries(server: &TestServer) -> Vec<AuditEntry> {
    server.store.audit_entries(&AuditFilter { limit: 10_000, ..Default::default() }).await.unwrap()
}

/// Runs `convoy audit verify` on the server's database: its exit code and output.
fn verify(server: &TestServer, expect_head: Option<&str>) -> (i32, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_convoy"));
    command.args(["audit", "verify", "--database", &server.config.database]);
    if let Some(head) = expect_head {
        command.args(["--expect-head", head]);
    }
    let output = command.output().unwrap();
    let text =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.code().unwrap(), text)
}

/// A server whose log holds a few entries, verified intact by the CLI; its printed head.
async fn with_entries(backend: Backend) -> (TestServer, String) {
    let server = start(backend).await;
    let admin = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    for _ in 0..5 {
        assert_eq!(server.get_json("/api/v1/vehicles", &admin).await.0, 200);
    }
    let (code, stdout) = verify(&server, None);
    assert_eq!(code, 0, "{stdout}");
    let entries = all_entries(&server).await;
    let last = entries.last().unwrap();
    let head = format!("{}:{}", last.seq, last.hash);
    assert!(
        stdout.contains(&format!("audit log intact: {} entries, head {head}", entries.len())),
        "{stdout}"
    );
    (server, head)
}

/// Runs SQL on the server's database behind its back, first removing the append-only guards
/// (triggers), as the database's owner can.
async fn tamper(server: &TestServer, sql: &str) {
    let database = &server.config.database;
    if let Some(path) = database.strip_prefix("sqlite://") {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.execute_batch(
            "DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete;",
        )
        .unwrap();
        conn.execute_batch(sql).unwrap();
    } else {
        let (client, connection) = tokio_postgres::connect(database, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        client.batch_execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only").await.unwrap();
        client.batch_execute(sql).await.unwrap();
    }
}

fn assert_broken(server: &TestServer, expect_head: Option<&str>, problem: &str) {
    let (code, stdout) = verify(server, expect_head);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains(&format!("audit log BROKEN: {problem}")), "{stdout}");
}

async fn a_changed_entry_is_found(backend: Backend) {
    let (server, _) = with_entries(backend).await;
    tamper(&server, "UPDATE audit_log SET target = 'someone-else' WHERE seq = 3").await;
    assert_broken(&server, None, "entry 3 changed");
    server.stop().await;
}

async fn a_deleted_entry_is_found_as_a_gap(backend: Backend) {
    let (server, _) = with_entries(backend).await;
    tamper(&server, "DELETE FROM audit_log WHERE seq = 3").await;
    assert_broken(&server, None, "entry 3 removed");
    server.stop().await;
}

async fn swapped_entries_are_found_as_reordered(backend: Backend) {
    let (server, _) = with_entries(backend).await;
    tamper(
        &server,
        "UPDATE audit_log SET seq = -1 WHERE seq = 3;
         UPDATE audit_log SET seq = 3 WHERE seq = 4;
         UPDATE audit_log SET seq = 4 WHERE seq = -1;",
    )
    .await;
    assert_broken(&server, None, "entry 3 reordered: it was written as entry 4");
    server.stop().await;
}

async fn a_changed_entry_with_a_recomputed_hash_is_found(backend: Backend) {
    let (server, _) = with_entries(backend).await;
    let mut forged = all_entries(&server).await.into_iter().find(|e| e.seq == 3).unwrap();
    forged.target = "someone-else".into();
    forged.hash = forged.computed_hash();
    let sql = format!("UPDATE audit_log SET target = 'someone-else', hash = '{}' WHERE seq = 3", forged.hash);
    tamper(&server, &sql).await;
    assert_broken(&server, None, "entry 3 changed: its hash was rewritten");
    server.stop().await;
}

/// Cutting off the newest entries is found from the head the store keeps; if that is rewritten
/// too, only a head recorded earlier outside the database shows it.
async fn a_cut_tail_is_found_against_the_expected_head(backend: Backend) {
    let (server, head) = with_entries(backend).await;
    let seq: u64 = head.split(':').next().unwrap().parse().unwrap();
    tamper(&server, &format!("DELETE FROM audit_log WHERE seq >= {}", seq - 1)).await;
    assert_broken(&server, None, &format!("entry {} truncated", seq - 1));
    let new_last = all_entries(&server).await.pop().unwrap();
    let sql = format!("UPDATE audit_head SET seq = {}, hash = '{}'", new_last.seq, new_last.hash);
    tamper(&server, &sql).await;
    let (code, stdout) = verify(&server, None);
    assert_eq!(code, 0, "without a head kept elsewhere, a consistent cut is not seen: {stdout}");
    assert_broken(&server, Some(&head), &format!("entry {} truncated", seq - 1));
    server.stop().await;
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
              async fn $name() { super::$name(super::Backend::Sqlite).await })*
        }
        mod on_postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
              async fn $name() { super::$name(super::Backend::Postgres).await })*
        }
    };
}

on_both_backends!(
    actions_are_recorded_with_who_what_when_and_from_where,
    only_admins_and_auditors_read_the_log,
    the_log_is_filtered_and_paged_and_bad_queries_are_refused,
    concurrent_logins_keep_the_chain_intact,
    command_line_changes_are_recorded,
    a_changed_entry_is_found,
    a_deleted_entry_is_found_as_a_gap,
    swapped_entries_are_found_as_reordered,
    a_changed_entry_with_a_recomputed_hash_is_found,
    a_cut_tail_is_found_against_the_expected_head,
);
