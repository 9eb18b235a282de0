//! `convoy-agent`: the in-vehicle agent. Flags override the config file.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use convoy_agent::config::AgentConfigFile;

#[derive(Parser, Debug)]
#[command(
    name = "convoy-agent",
    version,
    about = "Reads a GNSS receiver and publishes its fixes to Convoy over MQTT"
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// TOML configuration file (see deploy/convoy-agent.toml).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Serial device of the receiver.
    #[arg(long)]
    serial: Option<PathBuf>,
    /// Serial speed in baud.
    #[arg(long)]
    baud: Option<u32>,
    /// This vehicle's id.
    #[arg(long)]
    vehicle: Option<String>,
    /// Broker address, mqtt://HOST:PORT.
    #[arg(long)]
    broker: Option<String>,
    /// MQTT user name (default: the vehicle id).
    #[arg(long)]
    username: Option<String>,
    /// File holding the MQTT password (or set CONVOY_AGENT_PASSWORD).
    #[arg(long)]
    password_file: Option<PathBuf>,
    /// State directory.
    #[arg(long)]
    spool: Option<PathBuf>,
    /// The vehicle's secret signing key (see `keygen`); batches are unsigned without one.
    #[arg(long)]
    signing_key_file: Option<PathBuf>,
    /// What receiver dates are checked against for the GPS week rollover: "host" (default),
    /// or, replaying a capture, the RFC 3339 time it was made, or "off".
    #[arg(long)]
    time_reference: Option<String>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Makes this vehicle's signing key: writes the secret key to a new file only its owner
    /// may read, and prints the public key to register with the vehicle on the server. The
    /// secret key never leaves the file.
    Keygen {
        /// Where to write the secret key (created 0600).
        #[arg(long)]
        key_file: PathBuf,
        /// Replace an existing key file (the old key is lost: keep its public key on the
        /// server to verify what it signed).
        #[arg(long)]
        force: bool,
    },
}

/// One thread: the agent waits on a serial port and a socket, and a multi-threaded runtime
/// would spend more on waking its threads than on the work (measured in docs/BENCHMARKS.md).
#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    // The spool holds every position driven: nothing the agent creates is for other users.
    convoy_agent::private_files::restrict_umask();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        // Escaped: a value from the receiver or the broker cannot forge a line (see log_writer).
        .with_writer(convoy_agent::log_writer::escaped_stderr())
        .with_ansi(false)
        .init();
    let args = Args::parse();
    if let Some(Command::Keygen { key_file, force }) = &args.command {
        let key = convoy_agent::key_file::create(key_file, *force)?;
        // Only the public half: what the server needs to verify this vehicle's batches.
        println!("public key: {}\nkey id: {}", key.public(), key.public().id());
        return Ok(());
    }
    let mut file = match &args.config {
        Some(path) => AgentConfigFile::load(path)?,
        None => AgentConfigFile::default(),
    };
    file.serial = args.serial.or(file.serial);
    file.baud = args.baud.or(file.baud);
    file.vehicle = args.vehicle.or(file.vehicle);
    file.broker = args.broker.or(file.broker);
    file.username = args.username.or(file.username);
    file.password_file = args.password_file.or(file.password_file);
    file.spool = args.spool.or(file.spool);
    file.signing_key_file = args.signing_key_file.or(file.signing_key_file);
    file.time_reference = args.time_reference.or(file.time_reference);
    let config = file.resolve()?;

    // Ctrl-C, or SIGTERM from systemd: the agent spools the epoch in hand and says goodbye.
    let shutdown = tokio_util::sync::CancellationToken::new();
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("listening for SIGTERM")?;
    tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            shutdown.cancel();
        }
    });
    convoy_agent::run(config, shutdown).await.context("agent stopped")
}
