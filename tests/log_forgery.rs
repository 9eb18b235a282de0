//! Values from outside cannot forge lines in the server's log. A login name needs no login and
//! a move's name only a dispatcher; both reach the log. Given CR/LF and an escape sequence,
//! each must show escaped inside its own line of a real `convoy serve`'s log, and no line may
//! begin with what they tried to pass off as the server's own (`audit log head` is the line
//! operators keep as the audit log's anchor).

mod common;

use common::served::{add_admin, Served};
use serde_json::json;

/// A time no real line of this run carries, so a line starting with it can only be forged.
const FORGED_PREFIX: &str = "2020-01-01T00:00:00Z";

/// A name that ends its line and starts a fake `audit log head` one, then a red one (at most 64
/// characters with a one-letter `tail`: a login name may be no longer).
fn forged(tail: &str) -> String {
    format!("{tail}\r\n{FORGED_PREFIX}  INFO audit log head head=42:ab\n\x1b[31m{tail}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_and_move_names_with_line_breaks_and_escapes_are_escaped_in_the_servers_log() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    add_admin(&data, "admin-log", "a long enough admin password");
    let server = Served::spawn(&data, &dir.path().join("server.log"), &[]);
    server.ready().await;
    let http = reqwest::Client::new();

    let user = forged("m");
    assert!(user.chars().count() <= 64);
    let refused = http
        .post(server.url("/api/v1/login"))
        .json(&json!({ "username": user, "password": "not the password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    let login = http
        .post(server.url("/api/v1/login"))
        .json(&json!({ "username": "admin-log", "password": "a long enough admin password" }))
        .send()
        .await
        .unwrap();
    let token = login.json::<serde_json::Value>().await.unwrap()["token"].as_str().unwrap().to_string();
    let vehicle =
        http.post(server.url("/api/v1/vehicles")).bearer_auth(&token).json(&json!({ "id": "truck-log" }));
    assert_eq!(vehicle.send().await.unwrap().status(), 201);
    let plan = json!({
        "name": forged("office move"),
        "vehicles": ["truck-log"],
        "route": { "type": "LineString", "coordinates": [[11.56, 48.16], [11.57, 48.17]] },
    });
    let created =
        http.post(server.url("/api/v1/moves")).bearer_auth(&token).json(&plan).send().await.unwrap();
    assert_eq!(created.status(), 201);

    server.wait_for_log("login refused").await;
    server.wait_for_log("move created").await;
    let log = server.log_bytes();
    let status = server.stop();
    assert!(status.success(), "{status}");
    let text = String::from_utf8(log).unwrap();

    let forged_lines: Vec<&str> =
        text.split(['\n', '\r']).filter(|line| line.trim_start().starts_with(FORGED_PREFIX)).collect();
    assert!(forged_lines.is_empty(), "forged lines {forged_lines:?} in the log:\n{text}");
    assert!(!text.contains(['\r', '\x1b']), "raw CR or ESC in the log: {text:?}");
    let escaped = format!("\\r\\n{FORGED_PREFIX}  INFO");
    for (what, tail) in [("login refused", "m"), ("move created", "office move")] {
        let line = text
            .lines()
            .find(|line| line.contains(what))
            .unwrap_or_else(|| panic!("no {what:?} line:\n{text}"));
        assert!(line.contains(&escaped), "{what}: {line}");
        assert!(line.contains(&format!("\\n\\x1b[31m{tail}")), "{what}: {line}");
    }
}
