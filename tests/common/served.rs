//! `convoy serve` as a real child process, its standard error kept in a file: for what only the
//! binary does (its log writer, its umask, its banner).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::eventually;

pub struct Served {
    child: Child,
    pub http_port: u16,
    pub mqtt_port: u16,
    pub data_dir: PathBuf,
    pub log: PathBuf,
}

impl Served {
    /// Starts `convoy serve` on SQLite in `data_dir` (created by the server if missing), on
    /// free loopback ports, with `extra` arguments; its log goes to `log`.
    pub fn spawn(data_dir: &Path, log: &Path, extra: &[&str]) -> Served {
        Self::spawn_with(data_dir, log, extra, |_| {})
    }

    /// As [`Served::spawn`], with `configure` given the command last (a limit set for the child).
    pub fn spawn_with(
        data_dir: &Path,
        log: &Path,
        extra: &[&str],
        configure: impl FnOnce(&mut Command),
    ) -> Served {
        let (http_port, mqtt_port) = (convoy_testkit::free_port(), convoy_testkit::free_port());
        let log_file = std::fs::File::options().create(true).append(true).open(log).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_convoy"));
        command
            .arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--mqtt-listen", &format!("127.0.0.1:{mqtt_port}")])
            .args(["--http-listen", &format!("127.0.0.1:{http_port}")])
            .args(extra)
            .env("RUST_LOG", "info")
            .env_remove("NO_COLOR")
            .stdout(Stdio::null())
            .stderr(log_file);
        configure(&mut command);
        let child = command.spawn().unwrap();
        Served { child, http_port, mqtt_port, data_dir: data_dir.to_path_buf(), log: log.to_path_buf() }
    }

    pub fn http(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.http_port))
    }

    pub fn mqtt(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.mqtt_port))
    }

    /// The process id, for what the operating system says of it (its memory in /proc).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.http_port)
    }

    /// The log as bytes, exactly as written.
    pub fn log_bytes(&self) -> Vec<u8> {
        std::fs::read(&self.log).unwrap_or_default()
    }

    pub fn log_text(&self) -> String {
        String::from_utf8_lossy(&self.log_bytes()).into_owned()
    }

    /// Waits until the log holds `text`.
    pub async fn wait_for_log(&self, text: &str) {
        eventually(Duration::from_secs(60), text, || async { self.log_text().contains(text).then_some(()) })
            .await;
    }

    /// Waits until the server listens (its ingest subscribed, its HTTP API up).
    pub async fn ready(&self) {
        self.wait_for_log("ingest subscribed").await;
        self.wait_for_log("HTTP API listening").await;
    }

    /// SIGTERM, as systemd stops it, and waits for it to exit.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        self.child.wait().unwrap()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `convoy ARGS --data-dir DATA_DIR` as an operator would; its standard output.
pub fn convoy(args: &[&str], data_dir: &Path) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_convoy"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .unwrap();
    assert!(output.status.success(), "convoy {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// Adds a person of `role` to the database in `data_dir` with the CLI, as an operator would.
pub fn add_user(data_dir: &Path, name: &str, role: &str, password: &str) {
    let file = data_dir.with_extension(format!("{name}.password"));
    std::fs::write(&file, password).unwrap();
    convoy(&["user", "add", name, "--role", role, "--password-file", file.to_str().unwrap()], data_dir);
}

/// Adds an admin to the database in `data_dir` with the CLI, as an operator would.
pub fn add_admin(data_dir: &Path, name: &str, password: &str) {
    add_user(data_dir, name, "admin", password);
}

/// Registers vehicle `id` in the database in `data_dir` with the CLI; its MQTT password.
pub fn add_vehicle(data_dir: &Path, id: &str) -> String {
    let printed: serde_json::Value =
        serde_json::from_str(&convoy(&["vehicle", "add", id, "--json"], data_dir)).unwrap();
    printed["password"].as_str().unwrap().to_string()
}
