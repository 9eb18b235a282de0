//! `convoy`: the server, its demo, and its administration commands. Flags override the
//! config file; with no config file the embedded defaults run.

use std::net::SocketAddr;
use std::path::PathBuf;

mod audit_cli;
mod evidence_cli;
mod hold_cli;
mod key_cli;
mod phone_cli;
mod user_cli;
mod vehicle_cli;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use convoy::config::ServerConfigFile;
use convoy::demo::DemoOptions;
use convoy_store::Store;
use tokio_util::sync::CancellationToken;

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
        /// `embedded`, mqtt://HOST:PORT or mqtts://HOST:PORT.
        #[arg(long)]
        broker: Option<String>,
        #[command(flatten)]
        broker_tls: BrokerTlsArgs,
        /// Where the embedded broker listens.
        #[arg(long)]
        mqtt_listen: Option<SocketAddr>,
        /// Where the HTTP API listens.
        #[arg(long)]
        http_listen: Option<SocketAddr>,
    },
    /// Run only ingest (broker to database), e.g. several processes sharing one subscription.
    Ingest {
        #[command(flatten)]
        storage: StorageArgs,
        /// TOML configuration file (see deploy/convoy.toml).
        #[arg(long)]
        config: Option<PathBuf>,
        /// The external broker, mqtt://HOST:PORT or mqtts://HOST:PORT.
        #[arg(long)]
        broker: Option<String>,
        #[command(flatten)]
        broker_tls: BrokerTlsArgs,
        /// MQTT client id (stable per process: the broker keeps its session).
        #[arg(long)]
        client_id: Option<String>,
        /// Share the subscription with the other processes of this group.
        #[arg(long)]
        share_group: Option<String>,
    },
    /// Simulate a fleet publishing over MQTT and measure what gets stored, and how fast.
    Loadgen {
        /// The broker ingest consumes from, mqtt://HOST:PORT.
        #[arg(long)]
        broker: String,
        /// The database ingest writes to (vehicles are registered there; results read back).
        /// Without it, only publish (to measure the broker alone).
        #[arg(long)]
        database: Option<String>,
        #[arg(long, default_value_t = 100)]
        vehicles: usize,
        /// Fixes per second per vehicle; 0 sends as fast as the broker takes them.
        #[arg(long, default_value_t = 1.0)]
        rate: f64,
        /// Fixes per message.
        #[arg(long, default_value_t = 1)]
        batch: usize,
        /// Fixes per vehicle in all.
        #[arg(long, default_value_t = 60)]
        fixes: u64,
        /// MQTT connections the vehicles are spread over.
        #[arg(long, default_value_t = 8)]
        connections: usize,
        #[arg(long)]
        username: Option<String>,
        #[arg(long)]
        password_file: Option<PathBuf>,
        /// Seconds to wait for ingest to store everything after the last publish.
        #[arg(long, default_value_t = 120)]
        settle_timeout: u64,
        /// Give each vehicle a signing key (registered with it) and sign every batch, as agents
        /// with `signing_key_file` do. Needs --database.
        #[arg(long)]
        signed: bool,
    },
    /// Bring the database schema up to date (also done at every start).
    Migrate {
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Manage vehicles.
    Vehicle {
        #[command(subcommand)]
        command: vehicle_cli::VehicleCommand,
    },
    /// Register phones (OwnTracks, Traccar Client) that report a vehicle's positions.
    Phone {
        #[command(subcommand)]
        command: phone_cli::PhoneCommand,
    },
    /// Place, list and release legal holds, which keep positions past retention.
    Hold {
        #[command(subcommand)]
        command: hold_cli::HoldCommand,
    },
    /// Manage people's accounts.
    User {
        #[command(subcommand)]
        command: user_cli::UserCommand,
    },
    /// Plan moves.
    Move {
        #[command(subcommand)]
        command: MoveCommand,
    },
    /// Look into alerts.
    Alerts {
        #[command(subcommand)]
        command: AlertsCommand,
    },
    /// Check the audit log and the server's signatures over it.
    Audit {
        #[command(subcommand)]
        command: audit_cli::AuditCommand,
    },
    /// The server's signing key: show its public key, rotate it.
    Key {
        #[command(subcommand)]
        command: key_cli::KeyCommand,
    },
    /// Export a move's evidence bundle, or verify one offline.
    Evidence {
        #[command(subcommand)]
        command: evidence_cli::EvidenceCommand,
    },
}

#[derive(Subcommand, Debug)]
enum MoveCommand {
    /// Create a move from a plan file: the JSON plan of the API (.json), or a route as GPX
    /// (.gpx) or KML (.kml) with the other fields as flags. Prints the move's id.
    Create {
        #[arg(long)]
        file: PathBuf,
        /// The move's name (GPX/KML).
        #[arg(long)]
        name: Option<String>,
        /// Its vehicles, comma-separated (GPX/KML).
        #[arg(long)]
        vehicles: Option<String>,
        /// Cargo:escort pairs, comma-separated (GPX/KML).
        #[arg(long)]
        escorts: Option<String>,
        /// Corridor width in metres (GPX/KML; default 150).
        #[arg(long)]
        corridor_m: Option<String>,
        /// Time window, RFC 3339 (GPX/KML).
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        /// The IANA time zone its times are shown in, e.g. Asia/Shanghai (GPX/KML; default: the
        /// server's `[moves] default_time_zone`).
        #[arg(long)]
        time_zone: Option<String>,
        /// The language its alerts are sent in, en or zh-CN (default: the server's
        /// `[moves] default_language`).
        #[arg(long)]
        language: Option<String>,
        /// What a GPX or KML file's coordinates are in: wgs84 (default) or gcj02 (drawn on
        /// a Chinese map; converted to WGS-84 as it is read).
        #[arg(long)]
        coordinates: Option<String>,
        /// Who creates it, for the record.
        #[arg(long, default_value = "cli")]
        created_by: String,
        #[command(flatten)]
        storage: StorageArgs,
    },
}

#[derive(Subcommand, Debug)]
enum AlertsCommand {
    /// Run the rules over a move's stored record and compare with the alerts raised live.
    /// Exits with 1 if they differ.
    Replay {
        /// The move's id.
        #[arg(long = "move")]
        move_id: String,
        /// TOML configuration file, for the rule settings (see deploy/convoy.toml).
        #[arg(long)]
        config: Option<PathBuf>,
        #[command(flatten)]
        storage: StorageArgs,
    },
}

#[derive(Args, Debug)]
pub(crate) struct StorageArgs {
    /// Data directory (the SQLite database lives here by default).
    #[arg(long)]
    pub(crate) data_dir: Option<PathBuf>,
    /// sqlite://PATH or postgres://...
    #[arg(long)]
    pub(crate) database: Option<String>,
}

/// TLS to an external broker (`mqtts://`); each flag overrides the file's key of the same name.
#[derive(clap::Args, Debug)]
pub(crate) struct BrokerTlsArgs {
    /// The CA that signed the broker's certificate (PEM): the only one trusted.
    #[arg(long)]
    broker_ca_file: Option<PathBuf>,
    /// A client certificate (PEM) for a broker that asks for one.
    #[arg(long, requires = "broker_client_key_file")]
    broker_client_cert_file: Option<PathBuf>,
    /// The client certificate's key (PEM).
    #[arg(long, requires = "broker_client_cert_file")]
    broker_client_key_file: Option<PathBuf>,
}

impl BrokerTlsArgs {
    fn into_config_file(self, mut file: ServerConfigFile) -> ServerConfigFile {
        file.broker_ca_file = self.broker_ca_file.or(file.broker_ca_file);
        file.broker_client_cert_file = self.broker_client_cert_file.or(file.broker_client_cert_file);
        file.broker_client_key_file = self.broker_client_key_file.or(file.broker_client_key_file);
        file
    }
}

impl StorageArgs {
    pub(crate) fn into_config_file(self, mut file: ServerConfigFile) -> ServerConfigFile {
        file.data_dir = self.data_dir.or(file.data_dir);
        file.database = self.database.or(file.database);
        file
    }

    pub(crate) async fn open(self) -> anyhow::Result<Store> {
        let config = self.into_config_file(ServerConfigFile::default()).resolve()?;
        Store::open(&config.database).await.with_context(|| format!("opening {}", config.database))
    }
}

/// The log: `RUST_LOG`, or info with rumqtt's own lines from warnings on.
fn init_logging() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    let chosen = tracing_subscriber::EnvFilter::try_from_default_env().ok();
    // Unless someone chose what to see, rumqttd's ERRORs about ordinary disconnects are left out.
    let everything_chosen = chosen.is_some();
    let filter = chosen.unwrap_or_else(|| "info,rumqttd=warn,rumqttc=warn".into());
    let not_noise = tracing_subscriber::filter::filter_fn(move |meta| {
        everything_chosen || !convoy_broker::embedded::is_rumqttd_disconnect_noise(meta)
    });
    let fmt = tracing_subscriber::fmt::layer()
        // Every control character a logged value holds is escaped, so none can forge a line
        // (an `audit log head` above all) or drive a terminal; colours, being escape sequences
        // themselves, would be escaped too, so there are none.
        .with_writer(convoy_agent::log_writer::escaped_stderr())
        .with_ansi(false)
        .with_filter(not_noise);
    tracing_subscriber::registry().with(filter).with(fmt).init();
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // The database (and SQLite's -wal and -shm beside it), the audit head file and the demo's
    // logins are for this user only, whatever umask the shell or service manager gave.
    convoy_agent::private_files::restrict_umask();
    init_logging();
    match Cli::parse().command {
        Command::Demo { data_dir, http_listen } => {
            convoy::connection_budget::raise_open_files_limit();
            convoy::demo::run(DemoOptions { data_dir, http_listen }).await
        }
        Command::Serve { storage, config, broker, broker_tls, mqtt_listen, http_listen } => {
            let mut file = broker_tls.into_config_file(ServerConfigFile::load_or_default(config.as_deref())?);
            file.broker = broker.or(file.broker);
            file.mqtt_listen = mqtt_listen.or(file.mqtt_listen);
            file.http_listen = http_listen.or(file.http_listen);
            let config = storage.into_config_file(file).resolve()?;
            serve(config).await
        }
        Command::Ingest { storage, config, broker, broker_tls, client_id, share_group } => {
            let mut file = broker_tls.into_config_file(ServerConfigFile::load_or_default(config.as_deref())?);
            file.broker = broker.or(file.broker);
            file.ingest_client_id = client_id.or(file.ingest_client_id);
            file.ingest_share_group = share_group.or(file.ingest_share_group);
            ingest(storage.into_config_file(file).resolve()?).await
        }
        Command::Loadgen {
            broker,
            database,
            vehicles,
            rate,
            batch,
            fixes,
            connections,
            username,
            password_file,
            settle_timeout,
            signed,
        } => {
            let address = convoy_agent::config::BrokerAddress::parse(&broker, None)?;
            let password = match password_file {
                Some(path) => Some(std::fs::read_to_string(&path)?.trim_end().to_string()),
                None => None,
            };
            let config = convoy::loadgen::LoadgenConfig {
                broker_host: address.host,
                broker_port: address.port,
                username,
                password,
                database,
                vehicles,
                rate_hz: rate,
                batch,
                fixes_per_vehicle: fixes,
                connections,
                settle_timeout: std::time::Duration::from_secs(settle_timeout),
                signed,
            };
            let check_stored = config.database.is_some();
            let report = convoy::loadgen::run(config).await?;
            println!("{report}");
            if check_stored {
                anyhow::ensure!(
                    report.stored == report.sent,
                    "{} of {} fixes stored",
                    report.stored,
                    report.sent
                );
            }
            Ok(())
        }
        Command::Migrate { storage } => {
            let store = storage.open().await?;
            store.prepare_ahead(chrono::Utc::now()).await?;
            eprintln!("The {} schema is up to date.", store.backend());
            Ok(())
        }
        Command::Vehicle { command } => vehicle_cli::run(command).await,
        Command::Phone { command } => phone_cli::run(command).await,
        Command::Hold { command } => hold_cli::run(command).await,
        Command::Evidence { command } => evidence_cli::run(command).await,
        Command::User { command } => user_cli::run(command).await,
        Command::Move {
            command:
                MoveCommand::Create {
                    file,
                    name,
                    vehicles,
                    escorts,
                    corridor_m,
                    from,
                    to,
                    time_zone,
                    language,
                    coordinates,
                    created_by,
                    storage,
                },
        } => {
            let fields = convoy_core::plan::PlanFieldsText {
                name: name.as_deref(),
                vehicles: vehicles.as_deref(),
                escorts: escorts.as_deref(),
                corridor_m: corridor_m.as_deref(),
                from: from.as_deref(),
                to: to.as_deref(),
                rules: None,
                time_zone: time_zone.as_deref(),
                language: language.as_deref(),
                coordinates: coordinates.as_deref(),
            };
            let plan = read_plan_file(&file, fields)?;
            let store = storage.open().await?;
            let record = convoy_registry::store_new_move(&store, &plan, &created_by).await?;
            let detail = serde_json::json!({ "name": record.name, "created_by": created_by });
            audit_cli(&store, "move.create", &record.id, detail).await?;
            eprintln!("Move {:?} created. A running server starts watching it within seconds.", record.name);
            println!("{}", record.id);
            Ok(())
        }
        Command::Audit { command } => audit_cli::run(command).await,
        Command::Key { command } => key_cli::run(command).await,
        Command::Alerts { command: AlertsCommand::Replay { move_id, config, storage } } => {
            let file = ServerConfigFile::load_or_default(config.as_deref())?;
            let config = storage.into_config_file(file).resolve()?;
            let store = Store::open(&config.database)
                .await
                .with_context(|| format!("opening {}", config.database))?;
            let report = convoy_alerts::replay::replay_and_compare(
                &store,
                &config.rules,
                &move_id,
                chrono::Utc::now(),
            )
            .await?;
            print_replay(&report);
            if !report.matches() {
                std::process::exit(1);
            }
            Ok(())
        }
    }
}

/// Who makes a change from the command line: `cli:USER` (the Unix user from the environment, or
/// `local`): whoever runs it holds the database's credentials.
fn cli_actor() -> String {
    let user = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_default();
    let user = if user.is_empty() { "local".to_string() } else { user };
    format!("cli:{user}")
}

/// Records a change made from the command line in the audit log, as [`cli_actor`].
async fn audit_cli(
    store: &Store,
    action: &str,
    target: &str,
    detail: serde_json::Value,
) -> anyhow::Result<()> {
    let entry = convoy_store::NewAuditEntry {
        actor: Some(cli_actor()),
        action: action.to_string(),
        target: target.to_string(),
        from_addr: None,
        detail,
    };
    store.append_audit(&entry).await.context("done, but it could not be recorded in the audit log")?;
    Ok(())
}

/// Reads a plan file, by its extension: `.gpx`, `.kml`, else the JSON plan.
fn read_plan_file(
    path: &std::path::Path,
    fields: convoy_core::plan::PlanFieldsText<'_>,
) -> anyhow::Result<convoy_core::plan::MovePlan> {
    use convoy_core::plan::{MovePlan, PlanFields, RouteFormat};
    let metadata = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    anyhow::ensure!(
        metadata.len() <= convoy_core::plan::MAX_PLAN_BYTES as u64,
        "{} is {} bytes; a plan is at most {} bytes",
        path.display(),
        metadata.len(),
        convoy_core::plan::MAX_PLAN_BYTES
    );
    let body = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let plan = match extension.as_str() {
        "gpx" => MovePlan::from_route_file(&body, RouteFormat::Gpx, &PlanFields::from_text(fields)),
        "kml" => MovePlan::from_route_file(&body, RouteFormat::Kml, &PlanFields::from_text(fields)),
        _ => MovePlan::from_json(&body),
    };
    plan.map_err(|e| anyhow::anyhow!("{}: plan refused ({}): {e}", path.display(), e.reason()))
}

fn print_replay(report: &convoy_alerts::replay::ReplayReport) {
    for incident in &report.replayed {
        let cleared = incident.cleared_t.map_or("still open".to_string(), |t| format!("cleared {t}"));
        let zone = incident.zone.as_deref().map(|z| format!(" zone {z:?}")).unwrap_or_default();
        let late = if incident.late { " (late)" } else { "" };
        println!(
            "{}  {:<14} {:<12}{zone} opened {}, {cleared}{late}",
            incident.id,
            incident.kind.as_str(),
            incident.vehicle,
            incident.opened_t
        );
    }
    if report.matches() {
        println!("The replay gives exactly the {} alerts raised live.", report.stored.len());
    } else {
        let (only_replayed, only_stored) = report.differences();
        println!("The replay DIFFERS from the alerts raised live:");
        for incident in only_replayed {
            println!("  only in the replay: {incident:?}");
        }
        for incident in only_stored {
            println!("  only raised live:   {incident:?}");
        }
    }
}

/// Serves until Ctrl-C or SIGTERM, then stops every part (each in its own order: the HTTP API
/// drains, ingest commits and acknowledges the batch in hand).
async fn serve(config: convoy::config::ServerConfig) -> anyhow::Result<()> {
    convoy::connection_budget::raise_open_files_limit();
    let shutdown = CancellationToken::new();
    let server = convoy::server::start(&config, shutdown.clone()).await?;
    let scheme = if config.http_tls.is_some() { "https" } else { "http" };
    eprintln!("Convoy is serving on {scheme}://{}", server.http_addr);
    convoy::server::stop_requested().await?;
    shutdown.cancel();
    server.wait().await
}

/// Runs the ingest role until Ctrl-C, SIGTERM, or until it fails.
async fn ingest(config: convoy::config::ServerConfig) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    let mut ingest = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { convoy::server::run_ingest(&config, shutdown).await }
    });
    tokio::select! {
        result = convoy::server::stop_requested() => {
            result?;
            shutdown.cancel();
            ingest.await?
        }
        result = &mut ingest => result?,
    }
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
