//! `convoy demo`: the whole product in one process with nothing installed. An embedded broker,
//! SQLite under the data directory, the server, and three simulated vehicles whose agents read
//! NMEA from pseudo-terminals exactly as from a serial port.

pub mod simulator;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context;
use convoy_agent::config::BrokerAddress;
use convoy_agent::AgentConfig;
use convoy_core::{Role, VehicleId};
use convoy_store::Store;
use tokio::sync::watch;

use crate::config::{BrokerChoice, ServerConfig};
use crate::pty::PtyPair;
use simulator::Route;

/// The demo's vehicles and how many seconds apart they start along the route.
const VEHICLES: [(&str, u64); 3] = [("truck-01", 0), ("escort-1", 25), ("truck-02", 300)];
const DEMO_USER: &str = "admin";

#[derive(Clone, Debug)]
pub struct DemoOptions {
    pub data_dir: PathBuf,
    pub http_listen: SocketAddr,
}

/// Runs the demo until Ctrl-C.
pub async fn run(options: DemoOptions) -> anyhow::Result<()> {
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let demo = start(&options, shutdown_rx).await?;
    say(&format!(
        "Convoy demo is running.\n  API:  http://{}/api/v1/vehicles\n  data: {}\nlogin: {DEMO_USER} {}\nPress Ctrl-C to stop.",
        demo.http_addr,
        options.data_dir.display(),
        demo.password
    ));
    tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
    say("Stopping...");
    let _ = shutdown_tx.send(true);
    demo.stop().await
}

/// Prints a line for the person at the terminal; a closed standard output (the demo piped into
/// `head`) is no reason to stop.
fn say(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}").and_then(|()| out.flush());
}

/// A running demo.
pub struct Demo {
    pub http_addr: SocketAddr,
    pub password: String,
    server: crate::server::RunningServer,
    agents: Vec<tokio::task::JoinHandle<anyhow::Result<()>>>,
    stop_simulators: Arc<AtomicBool>,
}

impl Demo {
    pub async fn stop(self) -> anyhow::Result<()> {
        self.stop_simulators.store(true, Ordering::Relaxed);
        for agent in self.agents {
            agent.await??;
        }
        self.server.wait().await
    }
}

/// Starts the server, the simulated receivers and their agents.
pub async fn start(options: &DemoOptions, shutdown: watch::Receiver<bool>) -> anyhow::Result<Demo> {
    let data_dir = &options.data_dir;
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    // The embedded broker cannot take port 0: pick a free loopback port for it.
    let mqtt_listen: SocketAddr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0")?;
        probe.local_addr()?
    };
    let config = ServerConfig::new(
        data_dir.clone(),
        format!("sqlite://{}", data_dir.join("convoy.db").display()),
        BrokerChoice::Embedded { listen: mqtt_listen },
        options.http_listen,
    );
    let server = crate::server::start(&config, shutdown.clone()).await?;
    let password = demo_login(&server.store, data_dir).await?;

    let route = Route::munich()?;
    let stop_simulators = Arc::new(AtomicBool::new(false));
    let mut agents = Vec::new();
    for (id, offset_s) in VEHICLES {
        let vehicle = VehicleId::new(id)?;
        let vehicle_password = demo_vehicle(&server.store, data_dir, &vehicle).await?;
        let pty = PtyPair::open()?;
        let serial = pty.slave_path.clone();
        let (route, stop) = (route.clone(), stop_simulators.clone());
        // The thread owns the pair, so the terminal lives as long as its receiver.
        std::thread::Builder::new()
            .name(format!("receiver-{id}"))
            .spawn(move || simulator::drive(route, offset_s, &pty.master, stop))?;
        let agent = AgentConfig {
            serial,
            baud: 9600,
            broker: BrokerAddress::plain("127.0.0.1", mqtt_listen.port()),
            username: Some(id.to_string()),
            password: Some(vehicle_password),
            state_dir: data_dir.join("agents").join(id),
            max_batch_fixes: 200,
            spool: Default::default(),
            heartbeat: None,
            metrics_file: None,
            vehicle,
        };
        agents.push(tokio::spawn(convoy_agent::run(agent, shutdown.clone())));
    }
    Ok(Demo { http_addr: server.http_addr, password, server, agents, stop_simulators })
}

/// The demo user's password: made at random the first time, kept (readable by the owner only)
/// in the data directory so the next run prints the same login.
async fn demo_login(store: &Store, data_dir: &Path) -> anyhow::Result<String> {
    let file = data_dir.join("demo-login.txt");
    if let Ok(password) = std::fs::read_to_string(&file) {
        return Ok(password.trim().to_string());
    }
    let password = convoy_gateway::auth::random_password();
    convoy_gateway::auth::add_user(store, DEMO_USER, Role::Admin, &password).await.with_context(|| {
        format!("creating the demo user (if {} was deleted, start with a new data directory)", file.display())
    })?;
    write_private(&file, &password)?;
    Ok(password)
}

/// A demo vehicle's MQTT password, registered the first time and kept in the data directory.
async fn demo_vehicle(store: &Store, data_dir: &Path, vehicle: &VehicleId) -> anyhow::Result<String> {
    let file = data_dir.join("agents").join(format!("{vehicle}.password"));
    if let Ok(password) = std::fs::read_to_string(&file) {
        return Ok(password.trim().to_string());
    }
    let password = convoy_gateway::auth::register_vehicle(store, vehicle)
        .await
        .with_context(|| format!("registering demo vehicle {vehicle}"))?;
    write_private(&file, &password)?;
    Ok(password)
}

fn write_private(path: &Path, secret: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    writeln!(file, "{secret}")?;
    Ok(())
}
