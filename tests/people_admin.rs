//! People administration against a real server (SQLite, embedded broker): an admin lists
//! people, changes a role, disables and enables a person, resets a password (shown once), and
//! a person changes their own; what each does to the person's sessions, logins and live feed;
//! each refusal's status, reason and counter, with nothing changed; the last-admin rule; the
//! audit log's record (never a password); and `convoy user` doing the same from the CLI.

mod common;

use std::time::Duration;

use common::*;
use convoy_core::Role;
use convoy_store::AuditFilter;
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite;

const PAT: (&str, &str) = ("pat", "pat's first password");

async fn call(
    server: &TestServer,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = reqwest::Client::new().request(method, server.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The status of a login (and its token on success).
async fn try_login(server: &TestServer, name: &str, password: &str) -> (u16, Option<String>) {
    let body = json!({ "username": name, "password": password });
    let (status, answer) = call(server, "POST", "/api/v1/login", None, Some(body)).await;
    (status, answer["token"].as_str().map(str::to_string))
}

/// The person `name` as `GET /api/v1/users` lists them.
async fn listed(server: &TestServer, admin: &str, name: &str) -> Value {
    let (status, list) = server.get_json("/api/v1/users", admin).await;
    assert_eq!(status, 200, "{list}");
    list["users"].as_array().unwrap().iter().find(|u| u["name"] == name).cloned().unwrap_or(Value::Null)
}

async fn refused_count(server: &TestServer, reason: &str) -> f64 {
    let sample = format!("convoy_gateway_people_refused_total{{reason=\"{reason}\"}}");
    metric(&server.metrics().await, &sample).unwrap_or_else(|| panic!("{sample} is exported"))
}

/// Every audit entry as (action, target, actor), with the whole log's text.
async fn audit_log(server: &TestServer) -> (Vec<(String, String, String)>, String) {
    let entries =
        server.store.audit_entries(&AuditFilter { limit: 1000, ..Default::default() }).await.unwrap();
    let text = entries
        .iter()
        .map(|e| format!("{} {} {}", e.action, e.target, e.detail))
        .collect::<Vec<_>>()
        .join("\n");
    let triples =
        entries.into_iter().map(|e| (e.action, e.target, e.actor.unwrap_or_default())).collect::<Vec<_>>();
    (triples, text)
}

/// A refused request: method, path, token, body, and the status and reason it gets.
type Refused<'a> = (&'a str, String, &'a str, Option<Value>, u16, &'a str);

async fn start_with_pat() -> (TestServer, String) {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let admin = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let body = json!({ "name": PAT.0, "role": "dispatcher", "password": PAT.1 });
    let (status, added) = call(&server, "POST", "/api/v1/users", Some(&admin), Some(body)).await;
    assert_eq!(status, 201, "{added}");
    (server, admin)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_are_listed_with_role_state_creation_and_last_login() {
    let (server, admin) = start_with_pat().await;
    let pat = listed(&server, &admin, PAT.0).await;
    assert_eq!(
        (&pat["role"], &pat["disabled"], &pat["last_login_at"]),
        (&json!("dispatcher"), &json!(false), &Value::Null)
    );
    let created: chrono::DateTime<chrono::Utc> = pat["created_at"].as_str().unwrap().parse().unwrap();
    assert!((chrono::Utc::now() - created).num_seconds().abs() < 60, "{pat}");
    assert!(pat.get("password_hash").is_none() && !pat.to_string().contains("argon2"), "{pat}");
    server.login(PAT.0, PAT.1).await;
    let pat = listed(&server, &admin, PAT.0).await;
    let last: chrono::DateTime<chrono::Utc> = pat["last_login_at"].as_str().unwrap().parse().unwrap();
    assert!((chrono::Utc::now() - last).num_seconds().abs() < 60, "{pat}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_role_applies_at_the_persons_next_request() {
    let (server, admin) = start_with_pat().await;
    let pat = server.login(PAT.0, PAT.1).await;
    assert_eq!(server.get_json("/api/v1/audit", &pat).await.0, 403, "a dispatcher reads no audit log");
    let path = format!("/api/v1/users/{}/role", PAT.0);
    let (status, changed) =
        call(&server, "PUT", &path, Some(&admin), Some(json!({ "role": "auditor" }))).await;
    assert_eq!((status, &changed["user"]["role"], &changed["revoked"]), (200, &json!("auditor"), &json!(0)));
    let (status, me) = server.get_json("/api/v1/me", &pat).await;
    assert_eq!((status, &me["role"]), (200, &json!("auditor")), "the session goes on, as an auditor");
    assert_eq!(server.get_json("/api/v1/audit", &pat).await.0, 200, "an auditor does");
    let (entries, _) = audit_log(&server).await;
    assert!(entries.contains(&("user.role".into(), PAT.0.into(), ADMIN_USER.into())), "{entries:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_person_is_refused_at_once_and_cannot_log_in_until_enabled() {
    let (server, admin) = start_with_pat().await;
    let laptop = server.login(PAT.0, PAT.1).await;
    let phone = server.login(PAT.0, PAT.1).await;
    let path = format!("/api/v1/users/{}/disable", PAT.0);
    let (status, changed) = call(&server, "POST", &path, Some(&admin), None).await;
    assert_eq!(
        (status, &changed["user"]["disabled"], &changed["revoked"]),
        (200, &json!(true), &json!(2)),
        "{changed}"
    );
    for token in [&laptop, &phone] {
        assert_eq!(server.get_json("/api/v1/me", token).await.0, 401, "the token ended at once");
    }
    assert_eq!(
        try_login(&server, PAT.0, PAT.1).await.0,
        401,
        "the right password does not log a disabled person in"
    );
    assert_eq!(listed(&server, &admin, PAT.0).await["disabled"], json!(true));

    let path = format!("/api/v1/users/{}/enable", PAT.0);
    let (status, changed) = call(&server, "POST", &path, Some(&admin), None).await;
    assert_eq!((status, &changed["user"]["disabled"]), (200, &json!(false)), "{changed}");
    let (status, token) = try_login(&server, PAT.0, PAT.1).await;
    assert_eq!(status, 200, "enabled, the same password logs in");
    assert_eq!(server.get_json("/api/v1/me", &token.unwrap()).await.0, 200);
    assert_eq!(server.get_json("/api/v1/me", &laptop).await.0, 401, "an ended token stays ended");

    let (entries, _) = audit_log(&server).await;
    for action in ["user.disable", "user.enable"] {
        assert!(entries.contains(&(action.into(), PAT.0.into(), ADMIN_USER.into())), "{action}: {entries:?}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabling_a_person_closes_their_open_live_feed_within_ten_seconds() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let admin = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let escort = server.login(ESCORT_USER, ESCORT_PASSWORD).await;
    let url = format!("ws://{}/api/v1/live?token={escort}", server.http);
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.expect("the escort's live feed opens");
    let path = format!("/api/v1/users/{ESCORT_USER}/disable");
    let (status, _) = call(&server, "POST", &path, Some(&admin), None).await;
    assert_eq!(status, 200);
    let disabled_at = std::time::Instant::now();
    let closed = tokio::time::timeout(Duration::from_secs(15), async {
        while let Some(message) = socket.next().await {
            match message {
                Ok(tungstenite::Message::Close(_)) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the live feed is still open 15 s after disabling");
    assert!(disabled_at.elapsed() <= Duration::from_secs(11), "closed after {:?}", disabled_at.elapsed());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_without_the_live_feed_closes_the_persons_open_feed_within_ten_seconds() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let admin = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let escort = server.login(ESCORT_USER, ESCORT_PASSWORD).await;
    let url = format!("ws://{}/api/v1/live?token={escort}", server.http);
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.expect("the escort's live feed opens");
    let path = format!("/api/v1/users/{ESCORT_USER}/role");
    let (status, _) = call(&server, "PUT", &path, Some(&admin), Some(json!({ "role": "auditor" }))).await;
    assert_eq!(status, 200);
    let closed = tokio::time::timeout(Duration::from_secs(15), async {
        while let Some(message) = socket.next().await {
            match message {
                Ok(tungstenite::Message::Close(_)) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "an auditor's live feed is still open 15 s after the role changed");
    assert_eq!(server.get_json("/api/v1/me", &escort).await.0, 200, "the session itself goes on");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_password_is_shown_once_works_and_the_old_one_and_sessions_end() {
    let (server, admin) = start_with_pat().await;
    let session = server.login(PAT.0, PAT.1).await;
    let response = reqwest::Client::new()
        .post(server.url(&format!("/api/v1/users/{}/password", PAT.0)))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let reset: Value = response.json().await.unwrap();
    let password = reset["password"].as_str().unwrap().to_string();
    assert_eq!(
        (&reset["name"], &reset["revoked"], password.len()),
        (&json!(PAT.0), &json!(1), 24),
        "{reset}"
    );
    assert_eq!(server.get_json("/api/v1/me", &session).await.0, 401, "their session ended");
    assert_eq!(try_login(&server, PAT.0, PAT.1).await.0, 401, "the old password stopped working");
    assert_eq!(try_login(&server, PAT.0, &password).await.0, 200, "the new one works");
    // Shown once: the list never carries it, nor does the audit log.
    let (_, list) = server.get_json("/api/v1/users", &admin).await;
    assert!(!list.to_string().contains(&password));
    let (entries, text) = audit_log(&server).await;
    assert!(
        entries.contains(&("user.reset_password".into(), PAT.0.into(), ADMIN_USER.into())),
        "{entries:?}"
    );
    assert!(!text.contains(&password) && !text.contains(PAT.1), "a password in the audit log:\n{text}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_ones_own_password_keeps_this_session_and_ends_the_others() {
    let (server, _admin) = start_with_pat().await;
    let here = server.login(PAT.0, PAT.1).await;
    let elsewhere = server.login(PAT.0, PAT.1).await;
    // The longest password a login takes is the longest one may choose.
    let longest = "p".repeat(1024);
    let body = json!({ "current": PAT.1, "new": longest });
    let (status, changed) = call(&server, "PUT", "/api/v1/me/password", Some(&here), Some(body)).await;
    assert_eq!((status, &changed), (200, &json!({ "revoked": 1 })));
    assert_eq!(server.get_json("/api/v1/me", &here).await.0, 200, "this session goes on");
    assert_eq!(server.get_json("/api/v1/me", &elsewhere).await.0, 401, "the other one ended");
    assert_eq!(try_login(&server, PAT.0, PAT.1).await.0, 401, "the old password stopped working");
    assert_eq!(try_login(&server, PAT.0, &longest).await.0, 200, "the new one logs in");
    let (entries, text) = audit_log(&server).await;
    assert!(entries.contains(&("me.password".into(), PAT.0.into(), PAT.0.into())), "{entries:?}");
    assert!(!text.contains(&longest) && !text.contains(PAT.1), "a password in the audit log");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chosen_language_is_returned_by_me_after_a_new_login_and_a_wrong_one_is_refused() {
    let (server, admin) = start_with_pat().await;
    let first = server.login(PAT.0, PAT.1).await;
    let language = |token: String| {
        let server = &server;
        async move { server.get_json("/api/v1/me", &token).await.1["language"].clone() }
    };
    assert_eq!(language(first.clone()).await, Value::Null, "never chosen");
    let before = refused_count(&server, "unknown_language").await;
    for wrong in [json!("fr"), json!("zh"), json!("ZH-cn"), json!(""), json!(7), Value::Null] {
        let body = json!({ "language": wrong });
        let (status, answer) = call(&server, "PUT", "/api/v1/me/language", Some(&first), Some(body)).await;
        assert_eq!((status, &answer["reason"]), (400, &json!("unknown_language")), "{wrong}: {answer}");
    }
    assert_eq!(refused_count(&server, "unknown_language").await - before, 6.0, "each counted");
    assert_eq!(language(first.clone()).await, Value::Null, "nothing changed");

    let body = json!({ "language": "zh-CN" });
    let (status, _) = call(&server, "PUT", "/api/v1/me/language", Some(&first), Some(body)).await;
    assert_eq!(status, 204);
    let (status, _) = call(&server, "POST", "/api/v1/logout", Some(&first), None).await;
    assert_eq!(status, 204);
    let again = server.login(PAT.0, PAT.1).await;
    assert_eq!(language(again.clone()).await, json!("zh-CN"), "kept for the next login");
    assert_eq!(language(admin.clone()).await, Value::Null, "only the person's own");
    let body = json!({ "language": "en" });
    let (status, _) = call(&server, "PUT", "/api/v1/me/language", Some(&again), Some(body)).await;
    assert_eq!(status, 204);
    assert_eq!(language(again.clone()).await, json!("en"), "changed back");
    let (entries, text) = audit_log(&server).await;
    let chosen = ("person.language".to_string(), PAT.0.to_string(), PAT.0.to_string());
    assert_eq!(entries.iter().filter(|e| **e == chosen).count(), 2, "{entries:?}");
    assert!(text.contains(r#"{"language":"zh-CN"}"#), "{text}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refusal_answers_its_reason_changes_nothing_and_is_counted() {
    let (server, admin) = start_with_pat().await;
    let pat = server.login(PAT.0, PAT.1).await;
    let only_admin = format!("/api/v1/users/{ADMIN_USER}");
    let own = |current: &str, new: String| Some(json!({ "current": current, "new": new }));
    let cases: Vec<Refused> = vec![
        (
            "PUT",
            "/api/v1/users/nobody/role".into(),
            &admin,
            Some(json!({ "role": "escort" })),
            404,
            "unknown_person",
        ),
        ("POST", "/api/v1/users/nobody/disable".into(), &admin, None, 404, "unknown_person"),
        ("POST", "/api/v1/users/nobody/enable".into(), &admin, None, 404, "unknown_person"),
        ("POST", "/api/v1/users/nobody/password".into(), &admin, None, 404, "unknown_person"),
        ("DELETE", "/api/v1/users/nobody/tokens".into(), &admin, None, 404, "unknown_person"),
        (
            "PUT",
            "/api/v1/users/pat/role".into(),
            &admin,
            Some(json!({ "role": "superuser" })),
            400,
            "bad_role",
        ),
        ("PUT", format!("{only_admin}/role"), &admin, Some(json!({ "role": "auditor" })), 409, "last_admin"),
        ("POST", format!("{only_admin}/disable"), &admin, None, 409, "last_admin"),
        (
            "PUT",
            "/api/v1/me/password".into(),
            &pat,
            own("not pat's password", "a fine new password".into()),
            403,
            "wrong_password",
        ),
        ("PUT", "/api/v1/me/password".into(), &pat, own(PAT.1, "short".into()), 400, "weak_password"),
        ("PUT", "/api/v1/me/password".into(), &pat, own(PAT.1, "p".repeat(1025)), 400, "password_too_long"),
        (
            "PUT",
            "/api/v1/me/password".into(),
            &pat,
            Some(json!({ "new": "a fine new password" })),
            400,
            "bad_request",
        ),
        (
            "POST",
            "/api/v1/users".into(),
            &admin,
            Some(json!({ "name": "bad name", "role": "escort", "password": PAT.1 })),
            400,
            "bad_name",
        ),
        (
            "POST",
            "/api/v1/users".into(),
            &admin,
            Some(json!({ "name": PAT.0, "role": "escort", "password": PAT.1 })),
            409,
            "already_exists",
        ),
    ];
    let (_, people_before) = server.get_json("/api/v1/users", &admin).await;
    for (method, path, token, body, status, reason) in cases {
        let before = refused_count(&server, reason).await;
        let (got, answer) = call(&server, method, &path, Some(token), body).await;
        let what = format!("{method} {path}");
        assert_eq!(got, status, "{what}: {answer}");
        // A body the JSON reader refuses is the API's plain 400 (no reason in it), counted.
        let said = if reason == "bad_request" { json!(null) } else { json!(reason) };
        assert_eq!(answer["reason"], said, "{what}: {answer}");
        assert!(answer["error"].as_str().is_some_and(|e| !e.is_empty()), "{what}: a message: {answer}");
        assert_eq!(refused_count(&server, reason).await, before + 1.0, "{what}: counted as {reason}");
    }
    let (_, people_after) = server.get_json("/api/v1/users", &admin).await;
    let without_logins = |v: &Value| {
        v["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| (u["name"].clone(), u["role"].clone(), u["disabled"].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(without_logins(&people_after), without_logins(&people_before), "nothing changed");
    assert_eq!(try_login(&server, PAT.0, PAT.1).await.0, 200, "pat's password is unchanged");
    assert_eq!(server.get_json("/api/v1/me", &admin).await.0, 200, "the admin is still one");
    // Someone else's role is no one's to change but an admin's.
    let (status, _) =
        call(&server, "PUT", "/api/v1/users/pat/role", Some(&pat), Some(json!({ "role": "admin" }))).await;
    assert_eq!(status, 403);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_enabled_admin_stays_whoever_is_changed() {
    let (server, admin) = start_with_pat().await;
    let demote = Some(json!({ "role": "dispatcher" }));
    let me = format!("/api/v1/users/{ADMIN_USER}");
    assert_eq!(call(&server, "PUT", &format!("{me}/role"), Some(&admin), demote.clone()).await.0, 409);
    // With pat made admin, the first admin may go; then pat is the last.
    let (status, _) =
        call(&server, "PUT", "/api/v1/users/pat/role", Some(&admin), Some(json!({ "role": "admin" }))).await;
    assert_eq!(status, 200);
    assert_eq!(call(&server, "POST", &format!("{me}/disable"), Some(&admin), None).await.0, 200);
    assert_eq!(server.get_json("/api/v1/me", &admin).await.0, 401, "the disabled admin's own session ended");
    let pat = server.login(PAT.0, PAT.1).await;
    let (status, answer) = call(&server, "PUT", "/api/v1/users/pat/role", Some(&pat), demote).await;
    assert_eq!((status, &answer["reason"]), (409, &json!("last_admin")), "{answer}");
    let (status, answer) = call(&server, "POST", "/api/v1/users/pat/disable", Some(&pat), None).await;
    assert_eq!((status, &answer["reason"]), (409, &json!("last_admin")), "{answer}");
    // A disabled admin enabled again counts again.
    assert_eq!(call(&server, "POST", &format!("{me}/enable"), Some(&pat), None).await.0, 200);
    assert_eq!(call(&server, "POST", "/api/v1/users/pat/disable", Some(&pat), None).await.0, 200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_current_passwords_count_as_failed_logins() {
    let (server, _admin) = start_with_pat().await;
    let pat = server.login(PAT.0, PAT.1).await;
    let wrong = Some(json!({ "current": "a guessed password", "new": "a fine new password" }));
    for attempt in 1..=10 {
        let (status, answer) = call(&server, "PUT", "/api/v1/me/password", Some(&pat), wrong.clone()).await;
        assert_eq!(status, 403, "attempt {attempt}: {answer}");
    }
    let right = Some(json!({ "current": PAT.1, "new": "a fine new password" }));
    let (status, answer) = call(&server, "PUT", "/api/v1/me/password", Some(&pat), right).await;
    assert_eq!((status, &answer["reason"]), (429, &json!("throttled")), "held like a login: {answer}");
    assert_eq!(try_login(&server, PAT.0, PAT.1).await.0, 429, "and the name's logins from here too");
    let (entries, _) = audit_log(&server).await;
    assert!(
        entries.iter().any(|(action, target, _)| action == "login.failed" && target == PAT.0),
        "{entries:?}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_lists_changes_disables_and_resets_people_audited_as_its_user() {
    let (server, admin) = start_with_pat().await;
    let listed: Vec<Value> =
        server.cli("user", &["list"]).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let pat = listed.iter().find(|p| p["name"] == PAT.0).unwrap();
    assert_eq!((&pat["role"], &pat["disabled"]), (&json!("dispatcher"), &json!(false)), "{pat}");

    server.cli("user", &["role", PAT.0, "auditor"]).unwrap();
    assert_eq!(server.store.user(PAT.0).await.unwrap().unwrap().role, Role::Auditor);
    let session = server.login(PAT.0, PAT.1).await;
    server.cli("user", &["disable", PAT.0]).unwrap();
    assert_eq!(
        server.get_json("/api/v1/me", &session).await.0,
        401,
        "disabled from the CLI, the session ended"
    );
    assert_eq!(try_login(&server, PAT.0, PAT.1).await.0, 401);
    server.cli("user", &["enable", PAT.0]).unwrap();
    let password = server.cli("user", &["reset-password", PAT.0]).unwrap().trim().to_string();
    assert_eq!(password.len(), 24, "the new password alone on stdout: {password:?}");
    assert_eq!(try_login(&server, PAT.0, PAT.1).await.0, 401);
    assert_eq!(try_login(&server, PAT.0, &password).await.0, 200);

    let refused = server.cli("user", &["disable", ADMIN_USER]).unwrap_err();
    assert!(refused.contains("last_admin"), "{refused}");
    assert!(server.cli("user", &["role", "nobody", "escort"]).unwrap_err().contains("no such user"));
    assert!(server.cli("user", &["role", PAT.0, "boss"]).is_err(), "an unknown role");
    assert_eq!(server.get_json("/api/v1/me", &admin).await.0, 200);

    let (entries, text) = audit_log(&server).await;
    let by_cli: Vec<_> = entries
        .iter()
        .filter(|(_, _, actor)| actor == "cli:ops")
        .map(|(action, target, _)| (action.as_str(), target.as_str()))
        .collect();
    assert_eq!(
        by_cli,
        [
            ("users.view", "users"),
            ("user.role", PAT.0),
            ("user.disable", PAT.0),
            ("user.enable", PAT.0),
            ("user.reset_password", PAT.0)
        ]
    );
    assert!(!text.contains(&password), "the reset password in the audit log");
    server.stop().await;
}
