//! What `convoy serve` keeps on disk is for its user only, even started by hand under the
//! common umask 022: the data directory it creates is 0700, and the SQLite database with its
//! -wal and -shm files and the audit head file are 0600. A data directory that existed is left
//! as it was, with a warning if others may read it.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::served::{add_admin, Served};
use nix::sys::stat::{umask, Mode};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

/// The umask a shell usually gives, inherited by the processes these tests start.
fn common_umask() {
    umask(Mode::from_bits_truncate(0o022));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_creates_its_data_directory_and_database_files_for_its_user_only() {
    common_umask();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Served::spawn(&data, &dir.path().join("server.log"), &[]);
    server.ready().await;
    server.wait_for_log("audit log head").await;
    // A write, so SQLite has its -wal and -shm open.
    let refused = reqwest::Client::new()
        .post(server.url("/api/v1/login"))
        .json(&serde_json::json!({ "username": "nobody", "password": "not a password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let files = ["convoy.db", "convoy.db-wal", "convoy.db-shm", "audit-head.log"];
    let modes: Vec<(&str, u32)> = files.iter().map(|f| (*f, mode(&data.join(f)))).collect();
    let log = server.log_text();
    assert!(server.stop().success());
    assert_eq!(mode(&data), 0o700, "the data directory");
    assert_eq!(modes, files.iter().map(|f| (*f, 0o600)).collect::<Vec<_>>());
    assert!(!log.contains("can be read by other users"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_data_directory_others_can_read_is_kept_and_warned_about() {
    common_umask();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    add_admin(&data, "admin-modes", "a long enough admin password");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let server = Served::spawn(&data, &dir.path().join("server.log"), &[]);
    server.ready().await;
    server.wait_for_log("the data directory can be read by other users of this machine").await;
    assert!(server.stop().success());
    assert_eq!(mode(&data), 0o755, "not changed behind its owner's back");
    assert_eq!(mode(&data.join("convoy.db")), 0o600, "created by the CLI, under the same umask");
}
