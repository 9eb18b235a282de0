//! A PostgreSQL server of a test's own: Debian's binaries, a fresh cluster in a temporary
//! directory, on a free loopback port, that the test may stop, kill and start again (the shared
//! server of `scripts/test.sh` must stay up for the other tests). Optionally with TLS on, its
//! certificate signed by a fresh CA whose PEM the test gets.
//!
//! PostgreSQL refuses to run as root: when the tests run as root (CI does), every PostgreSQL
//! tool runs as the `postgres` account through `runuser`, and the cluster's files belong to it.

use std::fs;
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{self, Signal};
use nix::unistd::{chown, Pid, User};

use crate::free_port;

const MISSING: &str = "install Debian's postgresql package (scripts/test.sh does)";

/// A PostgreSQL cluster on 127.0.0.1:`port`, superuser `postgres` with trust authentication,
/// stopped (immediately) and deleted on drop.
pub struct PgCluster {
    pub port: u16,
    /// The temporary directory: the server's log, its Unix socket, the CA's PEM, `data/`.
    dir: tempfile::TempDir,
    data: PathBuf,
    bin: PathBuf,
    log: PathBuf,
    ca: Option<PathBuf>,
    /// The `postgres` account's uid and gid when the tests run as root.
    owner: Option<(nix::unistd::Uid, nix::unistd::Gid)>,
}

impl PgCluster {
    /// A new cluster, started and accepting connections.
    pub fn start() -> PgCluster {
        Self::create(false)
    }

    /// A new cluster with `ssl = on`: its certificate names `localhost` and `127.0.0.1` and is
    /// signed by a fresh CA, whose PEM is [`PgCluster::ca_file`]. Plain connections still work.
    pub fn start_with_tls() -> PgCluster {
        Self::create(true)
    }

    /// The superuser's URL: `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// The CA that signed the server's certificate (PEM), for TLS clients; `None` without TLS.
    pub fn ca_file(&self) -> Option<&Path> {
        self.ca.as_deref()
    }

    /// The server's log file.
    pub fn log_file(&self) -> &Path {
        &self.log
    }

    /// Stops the server cleanly (`pg_ctl stop -m fast`: connections are closed, a checkpoint is
    /// written) and waits until it is gone.
    pub fn stop(&self) {
        let output = self.pg_ctl(&["stop", "-m", "fast", "-w", "-t", "60"]);
        if !output.status.success() {
            panic!("pg_ctl stop failed for the cluster on port {}: {}", self.port, describe(&output));
        }
    }

    /// Kills the server like a power cut: SIGKILL to the postmaster and to each of its children
    /// (each PostgreSQL child leads a process group of its own, so one signal to a group is not
    /// enough), then waits until they are all gone. Nothing is flushed or checkpointed;
    /// [`PgCluster::start_again`] runs crash recovery.
    pub fn kill(&self) {
        let pid = self.postmaster_pid().unwrap_or_else(|| {
            panic!("the cluster on port {} is not running (no postmaster.pid): nothing to kill", self.port)
        });
        let postmaster = Pid::from_raw(pid);
        // Stopped, the postmaster forks no new child while its children are listed (once it
        // is dead they belong to init and cannot be told from other processes).
        signal::kill(postmaster, Signal::SIGSTOP).unwrap_or_else(|e| {
            panic!("cannot stop the postmaster {pid} of the cluster on port {}: {e}", self.port)
        });
        let children = children_of(pid);
        signal::kill(postmaster, Signal::SIGKILL).unwrap();
        for &child in &children {
            let _ = signal::kill(Pid::from_raw(child), Signal::SIGKILL);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while children.iter().any(|&child| process_state(child).is_some_and(|state| state != 'Z')) {
            assert!(Instant::now() < deadline, "PostgreSQL backends survived SIGKILL for 30 s: {children:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
        // A new postmaster refuses to start while the old one's pid exists, even as a zombie:
        // wait for init to reap it. If nothing reaps it (a container without an init), its lock
        // file is stale for certain, and removing it lets the server start.
        let deadline = Instant::now() + Duration::from_secs(10);
        while process_state(pid).is_some() {
            if Instant::now() > deadline {
                let _ = fs::remove_file(self.data.join("postmaster.pid"));
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Starts the stopped or killed server again, on the same data directory and port. Panics
    /// if another process took the port meanwhile.
    pub fn start_again(&self) {
        if TcpListener::bind((Ipv4Addr::LOCALHOST, self.port)).is_err() {
            panic!(
                "cannot start PostgreSQL again: port {} was taken meanwhile by another process",
                self.port
            );
        }
        if let Err(failure) = self.pg_start() {
            if failure.port_in_use {
                panic!(
                    "cannot start PostgreSQL again: port {} was taken meanwhile by another process\n{}",
                    self.port, failure.text
                );
            }
            panic!("PostgreSQL did not start again on port {}:\n{}", self.port, failure.text);
        }
    }

    fn create(tls: bool) -> PgCluster {
        let bin = bin_dir();
        let owner = if nix::unistd::geteuid().is_root() {
            let user = User::from_name("postgres")
                .ok()
                .flatten()
                .unwrap_or_else(|| panic!("running as root and there is no postgres account: {MISSING}"));
            Some((user.uid, user.gid))
        } else {
            None
        };
        let dir =
            tempfile::Builder::new().prefix("convoy-pg.").tempdir().expect("creating a temporary directory");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let data = dir.path().join("data");
        fs::create_dir(&data).unwrap();
        fs::set_permissions(&data, fs::Permissions::from_mode(0o700)).unwrap();
        let log = dir.path().join("server.log");
        if let Some((uid, gid)) = owner {
            for path in [dir.path(), data.as_path()] {
                chown(path, Some(uid), Some(gid))
                    .unwrap_or_else(|e| panic!("cannot give {} to postgres: {e}", path.display()));
            }
        }
        let mut cluster = PgCluster { port: 0, dir, data, bin, log, ca: None, owner };

        let data = cluster.data.to_str().expect("a UTF-8 temporary directory").to_owned();
        let output = cluster.run(
            "initdb",
            &["-D", &data, "-U", "postgres", "-A", "trust", "--no-sync", "--no-locale", "-E", "UTF8"],
        );
        if !output.status.success() {
            panic!("initdb failed: {}", describe(&output));
        }

        // Everything but the port goes into postgresql.conf, so that a restart needs no options
        // and no path is ever quoted for a shell.
        let mut settings = format!(
            "\n# convoy-testkit\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
             max_connections = 100\nfsync = on\n",
            conf_path(cluster.dir.path())
        );
        if tls {
            cluster.write_tls_files();
            settings.push_str(&format!(
                "ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\n",
                conf_path(&cluster.data.join("server.crt")),
                conf_path(&cluster.data.join("server.key")),
            ));
        }
        let conf = cluster.data.join("postgresql.conf");
        let mut text = fs::read_to_string(&conf).unwrap();
        text.push_str(&settings);
        fs::write(&conf, text).unwrap();

        // free_port releases the port before PostgreSQL binds it: another process may race for
        // it, so try a few ports before giving up.
        let mut last = String::new();
        for _ in 0..5 {
            cluster.port = free_port();
            match cluster.pg_start() {
                Ok(()) => return cluster,
                Err(failure) if failure.port_in_use => last = failure.text,
                Err(failure) => {
                    panic!("PostgreSQL did not start on port {}:\n{}", cluster.port, failure.text)
                }
            }
        }
        panic!("PostgreSQL found its port taken five times in a row:\n{last}")
    }

    /// A CA and a server certificate for `localhost` and 127.0.0.1: the certificate and key in
    /// the data directory (the key 0600, both the server's), the CA's PEM beside it for clients.
    fn write_tls_files(&mut self) {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};

        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(DnType::CommonName, "convoy-testkit PostgreSQL CA");
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();

        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, "localhost");
        params.subject_alt_names = vec![
            SanType::DnsName("localhost".try_into().unwrap()),
            SanType::IpAddress(Ipv4Addr::LOCALHOST.into()),
        ];
        let cert = params.signed_by(&key, &ca_cert, &ca_key).unwrap();

        self.write_owned(&self.data.join("server.crt"), &cert.pem(), 0o644);
        self.write_owned(&self.data.join("server.key"), &key.serialize_pem(), 0o600);
        let ca = self.dir.path().join("ca.pem");
        fs::write(&ca, ca_cert.pem()).unwrap();
        fs::set_permissions(&ca, fs::Permissions::from_mode(0o644)).unwrap();
        self.ca = Some(ca);
    }

    fn write_owned(&self, path: &Path, text: &str, mode: u32) {
        fs::write(path, text).unwrap();
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
        if let Some((uid, gid)) = self.owner {
            chown(path, Some(uid), Some(gid)).unwrap();
        }
    }

    /// `pg_ctl start -w` on `self.port`; on failure, what pg_ctl said and the log's tail.
    fn pg_start(&self) -> Result<(), StartFailure> {
        let log = self.log.to_str().unwrap().to_owned();
        let options = format!("-p {}", self.port);
        let output = self.pg_ctl(&["start", "-w", "-t", "60", "-l", &log, "-o", &options]);
        if output.status.success() {
            return Ok(());
        }
        let tail = log_tail(&self.log, 40);
        Err(StartFailure {
            port_in_use: tail.contains("Address already in use"),
            text: format!("{}\n--- {} (last lines) ---\n{tail}", describe(&output), self.log.display()),
        })
    }

    fn pg_ctl(&self, args: &[&str]) -> Output {
        let data = self.data.to_str().unwrap().to_owned();
        let mut all = vec!["-D", &data];
        all.extend_from_slice(args);
        self.run("pg_ctl", &all)
    }

    /// Runs a PostgreSQL tool, as `postgres` when we are root, from the temporary directory
    /// (the `postgres` account may not enter the caller's working directory).
    fn run(&self, tool: &str, args: &[&str]) -> Output {
        let program = self.bin.join(tool);
        let mut command = match self.owner {
            Some(_) => {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(&program);
                c
            }
            None => Command::new(&program),
        };
        command
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("PGDATA")
            .env_remove("PGPORT")
            .env_remove("PGHOST")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}; {MISSING}", program.display()))
    }

    fn postmaster_pid(&self) -> Option<i32> {
        let text = fs::read_to_string(self.data.join("postmaster.pid")).ok()?;
        text.lines().next()?.trim().parse().ok()
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if self.postmaster_pid().is_some() {
            let _ = self.pg_ctl(&["stop", "-m", "immediate", "-w", "-t", "30"]);
        }
        // The temporary directory removes itself.
    }
}

struct StartFailure {
    port_in_use: bool,
    text: String,
}

/// The newest `/usr/lib/postgresql/VERSION/bin` holding `pg_ctl`.
fn bin_dir() -> PathBuf {
    let mut found: Vec<(Vec<u32>, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version =
                entry.file_name().to_str()?.split('.').map(|p| p.parse().ok()).collect::<Option<_>>()?;
            let bin = entry.path().join("bin");
            bin.join("pg_ctl").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found
        .pop()
        .map(|(_, bin)| bin)
        .unwrap_or_else(|| panic!("no /usr/lib/postgresql/*/bin/pg_ctl: {MISSING}"))
}

/// A path as a single-quoted postgresql.conf value.
fn conf_path(path: &Path) -> String {
    path.to_str().expect("a UTF-8 path").replace('\'', "''")
}

fn describe(output: &Output) -> String {
    format!(
        "{}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout).trim_end(),
        String::from_utf8_lossy(&output.stderr).trim_end()
    )
}

fn log_tail(path: &Path, lines: usize) -> String {
    match fs::read_to_string(path) {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(cannot read the log: {e})"),
    }
}

/// The state letter of process `pid` (`R`, `S`, `Z`...), `None` when there is no such process.
fn process_state(pid: i32) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ')'.
    stat.rsplit_once(')')?.1.split_whitespace().next()?.chars().next()
}

/// The processes whose parent is `parent`.
fn children_of(parent: i32) -> Vec<i32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = fs::read_to_string(entry.path().join("stat")).ok()?;
            let ppid: i32 = stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()?;
            (ppid == parent).then_some(pid)
        })
        .collect()
}
