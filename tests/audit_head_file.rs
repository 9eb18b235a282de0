//! The audit head file: a real `convoy serve` appends the chain's head to it at start and at
//! stop, readable by its owner only, and `convoy audit verify --head-file` checks the chain
//! against its last head, so a tail cut consistently by the database's owner (entries and the
//! stored head alike) is found.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::served::{add_admin, Served};
use serde_json::json;

/// `convoy audit verify` on the data directory, with `args`: its exit code and output.
fn verify(data: &Path, args: &[&std::ffi::OsStr]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_convoy"))
        .args(["audit", "verify", "--data-dir"])
        .arg(data)
        .args(args)
        .output()
        .unwrap();
    let text =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.code().unwrap(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_records_its_audit_head_in_a_file_that_verify_checks_the_chain_against() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    add_admin(&data, "admin-head", "a long enough admin password");
    let server = Served::spawn(&data, &dir.path().join("server.log"), &[]);
    server.ready().await;
    server.wait_for_log("audit log head").await;
    let login = reqwest::Client::new()
        .post(server.url("/api/v1/login"))
        .json(&json!({ "username": "admin-head", "password": "a long enough admin password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    assert!(server.stop().success());

    let head_file = data.join("audit-head.log");
    let text = std::fs::read_to_string(&head_file).unwrap();
    // TIME SEQ:HASH KEYID:SIGNATURE
    let heads: Vec<&str> = text.lines().map(|line| line.split(' ').nth(1).unwrap()).collect();
    assert_eq!(heads.len(), 2, "one head at start, one at stop:\n{text}");
    let seq = |head: &str| head.split_once(':').unwrap().0.parse::<u64>().unwrap();
    let (first, last) = (seq(heads[0]), seq(heads[1]));
    assert!(first >= 1, "the CLI's user.add at least: {text}");
    assert_eq!(last, first + 1, "and the login since: {text}");
    assert_eq!(std::fs::metadata(&head_file).unwrap().permissions().mode() & 0o777, 0o600);

    let (code, output) = verify(&data, &["--head-file".as_ref(), head_file.as_os_str()]);
    assert_eq!(code, 0, "{output}");
    assert!(output.contains(&format!("audit log intact: {last} entries, head {}", heads[1])), "{output}");

    // The database's owner cuts the login off, rewrites the stored head to match and removes
    // the server's signature of the head it cut (which `verify` would otherwise miss).
    let conn = rusqlite::Connection::open(data.join("convoy.db")).unwrap();
    conn.execute_batch(&format!(
        "DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete;
         DELETE FROM audit_log WHERE seq = {last};
         UPDATE audit_head SET seq = {first}, hash = (SELECT hash FROM audit_log WHERE seq = {first});
         DROP TRIGGER audit_signatures_no_delete; DELETE FROM audit_signatures WHERE seq = {last};",
    ))
    .unwrap();
    drop(conn);
    let (code, output) = verify(&data, &[]);
    assert_eq!(code, 0, "without the head file the cut is consistent: {output}");
    let (code, output) = verify(&data, &["--head-file".as_ref(), head_file.as_os_str()]);
    assert_eq!(code, 1, "{output}");
    assert!(output.contains(&format!("audit log BROKEN: entry {last} truncated")), "{output}");
}

#[test]
fn verify_refuses_a_head_file_without_a_head() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    add_admin(&data, "admin-head", "a long enough admin password");
    let empty = dir.path().join("audit-head.log");
    std::fs::write(&empty, "").unwrap();
    let (code, output) = verify(&data, &["--head-file".as_ref(), empty.as_os_str()]);
    assert_ne!(code, 0, "{output}");
    assert!(output.contains("records no head"), "{output}");
}
