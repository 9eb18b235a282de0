//! `convoy`: the server, its demo, and its administration commands. Flags override the
//! config file; with no config file the embedded defaults run.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use convoy::config::ServerConfigFile;
use convoy::demo::DemoOptions;
use convoy_core::{Role, VehicleId};
use convoy_store::Store;

#[derive(Parser, Debug)]
#[command(name = "convoy", version, about = "Vehicle tracking and geofence alerts for sensitive moves")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run everything in one process with simulated vehicles; nothing to install.
    Demo {
        /// Where the demo keeps its database and state.
        #[arg(long, default_value = "convoy-data")]
        data_dir: PathBuf,
        /// Where the HTTP API listens.
        #[arg(long, default_value = "127.0.0.1:8080")]
        http_listen: SocketAddr,
    },
    /// Run the server.
    Serve {
        #[command(flatten)]
        storage: StorageArgs,
        /// TOML configuration file (see deploy/convoy.toml).
        #[arg(long)]
        config: Option<PathBuf>,
        /// `embedded` or mqtt://HOST:PORT.
        #[arg(long)]
        broker: Option<String>,
        /// Where the embedded broker listens.
        #[arg(long)]
        mqtt_listen: Option<SocketAddr>,
        /// Where the HTTP API listens.
        #[arg(long)]
        http_listen: Option<SocketAddr>,
    },
    /// Manage vehicles.
    Vehicle {
        #[command(subcommand)]
        command: VehicleCommand,
    },
    /// Manage people's accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Args, Debug)]
struct StorageArgs {
    /// Data directory (the SQLite database lives here by default).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// sqlite://PATH or postgres://...
    #[arg(long)]
    database: Option<String>,
}

#[derive(Subcommand, Debug)]
enum VehicleCommand {
    /// Register a vehicle and print its MQTT password (shown once).
    Add {
        id: String,
        #[command(flatten)]
        storage: StorageArgs,
    },
}

#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Add a person with a role; the password comes from --password-file or a prompt.
    Add {
        name: String,
        #[arg(long)]
        role: Role,
        #[arg(long)]
        password_file: Option<PathBuf>,
        #[command(flatten)]
        storage: StorageArgs,
    },
}

impl StorageArgs {
    fn into_config_file(self, mut file: ServerConfigFile) -> ServerConfigFile {
        file.data_dir = self.data_dir.or(file.data_dir);
        file.database = self.database.or(file.database);
        file
    }

    async fn open(self) -> anyhow::Result<Store> {
        let config = self.into_config_file(ServerConfigFile::default()).resolve()?;
        Store::open(&config.database).await.with_context(|| format!("opening {}", config.database))
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,rumqttd=warn,rumqttc=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Demo { data_dir, http_listen } => {
            convoy::demo::run(DemoOptions { data_dir, http_listen }).await
        }
        Command::Serve { storage, config, broker, mqtt_listen, http_listen } => {
            let mut file = match &config {
                Some(path) => ServerConfigFile::load(path)?,
                None => ServerConfigFile::default(),
            };
            file.broker = broker.or(file.broker);
            file.mqtt_listen = mqtt_listen.or(file.mqtt_listen);
            file.http_listen = http_listen.or(file.http_listen);
            let config = storage.into_config_file(file).resolve()?;
            serve(config).await
        }
        Command::Vehicle { command: VehicleCommand::Add { id, storage } } => {
            let id = VehicleId::new(id)?;
            let store = storage.open().await?;
            let password = convoy_gateway::auth::register_vehicle(&store, &id).await?;
            eprintln!("Vehicle {id} registered. Its MQTT password is shown once; give it to the agent:");
            println!("{password}");
            Ok(())
        }
        Command::User { command: UserCommand::Add { name, role, password_file, storage } } => {
            let password = match password_file {
                Some(path) => std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?
                    .trim_end_matches(['\r', '\n'])
                    .to_string(),
                None => prompt_password()?,
            };
            let store = storage.open().await?;
            convoy_gateway::auth::add_user(&store, &name, role, &password).await?;
            eprintln!("User {name} added with role {role}.");
            Ok(())
        }
    }
}

async fn serve(config: convoy::config::ServerConfig) -> anyhow::Result<()> {
    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let server = convoy::server::start(&config, shutdown_rx).await?;
    eprintln!("Convoy is serving on http://{}", server.http_addr);
    tokio::signal::ctrl_c().await?;
    let _ = shutdown_tx.send(true);
    server.wait().await
}

/// Reads a password from standard input's first line, without echo when it is a terminal.
fn prompt_password() -> anyhow::Result<String> {
    use nix::sys::termios::{tcgetattr, tcsetattr, LocalFlags, SetArg};
    use std::io::{BufRead, IsTerminal};
    let stdin = std::io::stdin();
    let saved = if stdin.is_terminal() { tcgetattr(&stdin).ok() } else { None };
    if let Some(saved) = &saved {
        let mut quiet = saved.clone();
        quiet.local_flags.remove(LocalFlags::ECHO);
        tcsetattr(&stdin, SetArg::TCSANOW, &quiet)?;
    }
    eprint!("Password for the new user: ");
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if let Some(saved) = &saved {
        tcsetattr(&stdin, SetArg::TCSANOW, saved)?;
        eprintln!();
    }
    read?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}
