//! Real services for Convoy's tests. Nothing here fakes a service: PostgreSQL is the server
//! that `scripts/test.sh` started, Mosquitto is Debian's broker, started per test on a free
//! loopback port and stopped when the handle drops.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod postgres_cluster;
pub use postgres_cluster::PgCluster;
mod timescale;
pub use timescale::Timescale;
mod test_ca;
pub use test_ca::{CertFiles, TestCa};

/// The environment variable naming the PostgreSQL server the tests may use (a superuser URL).
pub const POSTGRES_ENV: &str = "CONVOY_TEST_POSTGRES_URL";

/// A free TCP port on 127.0.0.1 (bound and released, so another process may still race for it).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Waits until something accepts TCP connections on `addr`.
pub fn wait_for_port(addr: SocketAddr, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// A new, empty database on the test PostgreSQL server; returns its URL.
///
/// Panics with instructions when the server is not configured: a test that needs PostgreSQL
/// must run, not skip.
pub async fn fresh_postgres_database() -> String {
    let admin_url = std::env::var(POSTGRES_ENV).unwrap_or_else(|_| {
        panic!("{POSTGRES_ENV} is not set: run the tests with scripts/test.sh, which starts PostgreSQL")
    });
    let (client, connection) = tokio_postgres::connect(&admin_url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot reach the test PostgreSQL at {admin_url}: {e}"));
    tokio::spawn(connection);
    let name = format!("convoy_test_{:016x}", rand::random::<u64>());
    client.batch_execute(&format!("CREATE DATABASE {name}")).await.unwrap();
    let (base, _) = admin_url.rsplit_once('/').expect("URL has a database part");
    format!("{base}/{name}")
}

/// A Mosquitto broker on a free loopback port, stopped on drop.
pub struct Mosquitto {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Mosquitto {
    /// Starts Mosquitto with anonymous access on 127.0.0.1, with the in-flight limits raised so
    /// a consumer that acknowledges after its database commit is not held to 20 messages.
    pub fn start() -> Mosquitto {
        Self::start_with(&[])
    }

    /// Starts Mosquitto with extra configuration lines.
    pub fn start_with(extra: &[&str]) -> Mosquitto {
        Self::start_on(free_port(), extra)
    }

    /// Starts Mosquitto whose listener speaks TLS with `server`'s certificate and demands a
    /// client certificate signed by `ca`; `extra` lines follow (another listener, say).
    pub fn start_tls(ca: &TestCa, server: &CertFiles, extra: &[&str]) -> Mosquitto {
        ca.make_readable();
        let mut lines = vec![
            format!("cafile {}", ca.ca_file.display()),
            format!("certfile {}", server.cert_file.display()),
            format!("keyfile {}", server.key_file.display()),
            "require_certificate true".to_string(),
        ];
        lines.extend(extra.iter().map(|line| line.to_string()));
        Self::start_with(&lines.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// Starts Mosquitto with its persistence on: sessions and queued messages survive
    /// [`Mosquitto::restart`], as with the broker configuration in deploy/.
    pub fn start_persistent() -> Mosquitto {
        Self::start_configured(free_port(), &[], true)
    }

    /// Starts Mosquitto with this whole configuration (listeners, authentication, ACL: nothing
    /// is added), and waits until it accepts connections on `port`, one of its listeners.
    pub fn start_with_config(config: &str, port: u16) -> Mosquitto {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("mosquitto.conf"), config).unwrap();
        let child = spawn_mosquitto(dir.path(), port);
        Mosquitto { child, port, dir }
    }

    /// Starts Mosquitto on a given port (to bring a broker back where clients expect it).
    pub fn start_on(port: u16, extra: &[&str]) -> Mosquitto {
        Self::start_configured(port, extra, false)
    }

    fn start_configured(port: u16, extra: &[&str], persistent: bool) -> Mosquitto {
        let dir = tempfile::tempdir().unwrap();
        let persistence = if persistent {
            // Started as root, Mosquitto drops to its own user, which must be able to write here.
            let store = dir.path().join("persistence");
            std::fs::create_dir(&store).unwrap();
            std::fs::set_permissions(&store, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
            std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755))
                .unwrap();
            format!("persistence true\npersistence_location {}/\n", store.display())
        } else {
            "persistence false\n".to_string()
        };
        let mut config = format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\nmax_inflight_messages 1000\nmax_queued_messages 1000000\nmax_queued_bytes 0\n{persistence}"
        );
        for line in extra {
            config.push_str(line);
            config.push('\n');
        }
        std::fs::write(dir.path().join("mosquitto.conf"), config).unwrap();
        let child = spawn_mosquitto(dir.path(), port);
        Mosquitto { child, port, dir }
    }

    /// Stops the broker as an operator would (SIGTERM: a persistent broker saves its state)
    /// and starts it again on the same port with the same configuration.
    pub fn restart(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("signalling mosquitto");
        let _ = self.child.wait();
        self.child = spawn_mosquitto(self.dir.path(), self.port);
    }

    /// A password file with these users, written by `mosquitto_passwd`, for `password_file`.
    pub fn password_file(dir: &Path, users: &[(&str, &str)]) -> std::path::PathBuf {
        let path = dir.join("passwd");
        for (i, (user, password)) in users.iter().enumerate() {
            let mut command = Command::new("mosquitto_passwd");
            if i == 0 {
                command.arg("-c");
            }
            let status =
                command.arg("-b").arg(&path).arg(user).arg(password).status().expect("mosquitto_passwd");
            assert!(status.success(), "mosquitto_passwd failed");
        }
        path
    }

    /// Makes the broker read its password file again (SIGHUP).
    pub fn reload(&self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).expect("signalling mosquitto");
    }

    /// Stops the broker now.
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs Mosquitto with the configuration in `dir` and waits until it listens on `port`.
fn spawn_mosquitto(dir: &Path, port: u16) -> Child {
    let child = Command::new(mosquitto_binary())
        .arg("-c")
        .arg(dir.join("mosquitto.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mosquitto is not installed: run the tests with scripts/test.sh, which installs it");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    assert!(wait_for_port(addr, Duration::from_secs(10)), "mosquitto did not start on {addr}");
    child
}

fn mosquitto_binary() -> &'static str {
    if Path::new("/usr/sbin/mosquitto").exists() {
        "/usr/sbin/mosquitto"
    } else {
        "mosquitto"
    }
}
