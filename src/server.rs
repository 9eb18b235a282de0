//! `convoy serve`: the store, the broker (embedded or external), ingest and the HTTP API in
//! one process. The parts meet here and nowhere else.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use convoy_alerts::service::{self as alert_service, MqttTarget, ServiceConfig};
use convoy_alerts::{AgentHealth, Arrival, LocaleDefaults, OutsideAlert, ProgressFeed};
use convoy_broker::{BrokerMetrics, DoorTls, InternalClient};
use convoy_core::alert::AlertKind;
use convoy_core::custody::SealIncident;
use convoy_core::live::LiveEvent;
use convoy_core::progress::ProgressBoard;
use convoy_gateway::{AppState, GatewayEvents, GatewayMetrics, MoveChange};
use convoy_ingest::{Committed, DirectIntake, IngestConfig, IngestMetrics, IngestObserver, Observer};
use convoy_store::{Store, VehiclePositions};
use prometheus::Registry;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::{BrokerChoice, ServerConfig};

/// A started server.
pub struct RunningServer {
    pub http_addr: SocketAddr,
    /// Where vehicles connect to the embedded broker (its front door, plain MQTT), if it is the
    /// embedded one.
    pub mqtt_addr: Option<SocketAddr>,
    /// The embedded broker's MQTT over TLS listener, if `[mqtt_tls]` is set.
    pub mqtts_addr: Option<SocketAddr>,
    /// Where `GET /metrics` is served, if `metrics_listen` gives it a listener of its own.
    pub metrics_addr: Option<SocketAddr>,
    /// Where Traccar Client reports (`[phones] osmand_listen`), if set.
    pub osmand_addr: Option<SocketAddr>,
    /// rumqttd's internal loopback port and the server's own account on it, which ingest and
    /// the alert publisher use (vehicles cannot log in there).
    pub internal_mqtt: Option<(SocketAddr, InternalClient)>,
    pub store: Store,
    tasks: Vec<(&'static str, JoinHandle<anyhow::Result<()>>)>,
}

impl RunningServer {
    /// Waits for every part to stop (after shutdown), reporting the first failure.
    pub async fn wait(self) -> anyhow::Result<()> {
        let mut first_error = None;
        for (name, task) in self.tasks {
            let result = task.await.with_context(|| format!("{name} panicked")).and_then(|r| r);
            if let Err(e) = result {
                tracing::error!(part = name, error = %e, "stopped with an error");
                first_error.get_or_insert(e.context(name));
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Starts every part; they run until `shutdown` is cancelled. Each part is handed a child of it:
/// one that stops on its own stops nothing else.
pub async fn start(config: &ServerConfig, shutdown: CancellationToken) -> anyhow::Result<RunningServer> {
    // Before anything else: a base map that cannot be read stops the start, and nothing is served.
    let base_map = match &config.base_map {
        Some(source) => Some(source.load().await?),
        None => None,
    };
    prepare_data_dir(&config.data_dir)?;
    let store =
        Store::open(&config.database).await.with_context(|| format!("opening {}", config.database))?;
    tracing::info!(backend = store.backend(), "store open");
    let signing_key = server_signing_key(config, &store).await?;
    let registry = Registry::new();
    let gateway_metrics = GatewayMetrics::new(&registry)?;
    let ingest_metrics = IngestMetrics::new(&registry)?;
    let gates = crate::connection_budget::gates(config, &store, &registry)?;

    let (mut ingest_config, embedded) = match &config.broker {
        BrokerChoice::Embedded { listen } => {
            let internal = InternalClient::random("convoy-server");
            let tls = match &config.mqtt_tls {
                Some(tls) => {
                    let files = tls.files();
                    let server_config = convoy_gateway::tls::server_config(&files).context("[mqtt_tls]")?;
                    Some(DoorTls {
                        listen: tls.listen,
                        config: server_config,
                        require_identity: files.client_ca_file.is_some(),
                    })
                }
                None => None,
            };
            let listeners = convoy_broker::BrokerListeners { plain: *listen, tls };
            let embedded = convoy_broker::start(
                listeners,
                store.clone(),
                internal.clone(),
                config.mqtt_observers.clone(),
                BrokerMetrics::new(&registry)?,
                gates.mqtt.clone().context("the embedded broker's gate")?,
                shutdown.child_token(),
            )
            .await?;
            tracing::info!(
                mqtt = %embedded.mqtt_addr,
                mqtts = ?embedded.mqtts_addr,
                internal = %embedded.internal_addr,
                "embedded broker listening"
            );
            // Ingest and the alert publisher talk to rumqttd directly, as the server's account.
            let mut ingest =
                IngestConfig::new(embedded.internal_addr.ip().to_string(), embedded.internal_addr.port());
            ingest.username = Some(internal.username.clone());
            ingest.password = Some(internal.password.clone());
            (ingest, Some((embedded, internal)))
        }
        BrokerChoice::External { .. } => {
            anyhow::ensure!(
                config.mqtt_tls.is_none(),
                "[mqtt_tls] is for the embedded broker; with an external broker, configure TLS there \
                 (see deploy/mosquitto.conf)"
            );
            (external_ingest_config(config)?, None)
        }
    };
    let (mqtt_addr, mqtts_addr, internal_mqtt, door) = match embedded {
        Some((broker, internal)) => {
            ingest_config.observer = Some(Observer(Arc::new(DoorLedger(broker.ledger.clone()))));
            (
                Some(broker.mqtt_addr),
                broker.mqtts_addr,
                Some((broker.internal_addr, internal)),
                Some(broker.door),
            )
        }
        None => (None, None, None, None),
    };
    ingest_config.retention = config.retention;
    // Alerts go out on the broker ingest reads from, under the same server credentials.
    let alerts_mqtt = MqttTarget {
        host: ingest_config.broker_host.clone(),
        port: ingest_config.broker_port,
        client_id: format!("{}-alerts", ingest_config.client_id),
        username: ingest_config.username.clone(),
        password: ingest_config.password.clone(),
        tls: ingest_config.tls.clone(),
    };

    let listener = tokio::net::TcpListener::bind(config.http_listen)
        .await
        .with_context(|| format!("binding the HTTP API to {}", config.http_listen))?;
    let http_addr = listener.local_addr()?;
    let scheme = if config.http_tls.is_some() { "https" } else { "http" };
    tracing::info!(%http_addr, scheme, "HTTP API listening");

    let (live, _) = broadcast::channel::<LiveEvent>(LIVE_BUFFER);
    let (live_alerts, _) = broadcast::channel::<LiveEvent>(LIVE_ALERTS_BUFFER);
    let (alert_inputs, alert_inputs_rx) = mpsc::unbounded_channel();
    let (move_changes, move_changes_rx) = mpsc::unbounded_channel();
    // Wakes the retained-message loop at a move's change, rather than at its next check.
    let retained_wake = Arc::new(tokio::sync::Notify::new());
    let (alert_changes, alert_changes_rx) = mpsc::unbounded_channel();
    let (seal_incidents, seal_incidents_rx) = mpsc::unbounded_channel();
    let (committed, committed_rx) = mpsc::unbounded_channel();
    let from_gateway = FromGateway {
        move_changes: move_changes_rx,
        alert_changes: alert_changes_rx,
        seal_incidents: seal_incidents_rx,
    };
    let forward = tokio::spawn(forward_to_alerts(
        committed_rx,
        from_gateway,
        retained_wake.clone(),
        alert_inputs,
        live.clone(),
        shutdown.child_token(),
    ));
    let retained_mqtt =
        MqttTarget { client_id: format!("{}-retained", ingest_config.client_id), ..alerts_mqtt.clone() };
    let alerts_config = ServiceConfig {
        rules: config.rules.clone(),
        mqtt: Some(alerts_mqtt),
        notifiers: config.notifiers.clone(),
        locale: LocaleDefaults {
            language: config.moves.default_language,
            time_zone: config.moves.default_time_zone,
        },
    };
    // Each running move's vehicles' progress: the alert service writes it, the gateway reads it.
    let progress = Arc::new(ProgressBoard::default());
    let alerts = tokio::spawn(alert_service::run(
        alerts_config,
        store.clone(),
        alert_inputs_rx,
        live_alerts.clone(),
        ProgressFeed::new(progress.clone(), live.clone()),
        shutdown.child_token(),
    ));

    // Phones' HTTP reports are committed as ingest commits, and go where its commits go.
    let phone_intake = Arc::new(PhoneIntake(DirectIntake::new(
        store.clone(),
        config.retention,
        ingest_metrics.clone(),
        Some(committed.clone()),
    )));
    let osmand_listener = match config.phones.osmand_listen {
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding [phones] osmand_listen to {addr}"))?;
            let osmand_addr = listener.local_addr()?;
            let tls = config.phones.osmand_tls;
            tracing::info!(%osmand_addr, tls, "Traccar Client (OsmAnd) phone listener listening");
            Some((listener, osmand_addr))
        }
        None => None,
    };
    let osmand_addr = osmand_listener.as_ref().map(|(_, addr)| *addr);
    let events = GatewayEvents { move_changes, alert_changes, seal_incidents, live, live_alerts };
    // The server's key signs evidence bundles' manifests too.
    let evidence_key = Arc::new(signing_key.clone());
    let state = AppState {
        store: store.clone(),
        registry,
        metrics: gateway_metrics,
        events,
        progress,
        web: config.web.clone(),
        base_map,
        rules: config.rules.clone(),
        moves: config.moves,
        access: config.access,
        http: config.http.clone(),
        login_throttle: Default::default(),
        refused_logins: Default::default(),
        live_tickets: Default::default(),
        metrics_on_api_listener: config.metrics_listen.is_none(),
        phone_intake,
        phone_store_patience: config.phone_store_patience,
        traccar_listener: osmand_addr.map(|addr| convoy_gateway::phones::TraccarListener {
            port: addr.port(),
            tls: config.phones.osmand_tls,
        }),
        // Vehicles connect to the TLS listener when there is one.
        agent_broker: match (mqtts_addr, mqtt_addr) {
            (Some(addr), _) => {
                Some(convoy_gateway::vehicles_admin::AgentBroker { port: addr.port(), tls: true })
            }
            (None, Some(addr)) => {
                Some(convoy_gateway::vehicles_admin::AgentBroker { port: addr.port(), tls: false })
            }
            (None, None) => None,
        },
        evidence_key: Some(evidence_key),
    };
    let osmand_state = state.clone();
    let metrics_listener = match config.metrics_listen {
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding the metrics listener to {addr}"))?;
            let metrics_addr = listener.local_addr()?;
            tracing::info!(%metrics_addr, "metrics listening");
            Some((listener, metrics_addr))
        }
        None => None,
    };
    let metrics_addr = metrics_listener.as_ref().map(|(_, addr)| *addr);
    let state_registry = state.registry.clone();
    let http_shutdown = shutdown.child_token();
    let http_tls =
        config.http_tls.as_ref().map(convoy_gateway::tls::server_config).transpose().context("[http_tls]")?;
    let osmand_tls = match (&http_tls, config.phones.osmand_tls) {
        (Some(tls), true) => Some(tls.clone()),
        _ => None,
    };
    // The phones' listener shares the API's connection budget.
    let osmand_gate = gates.http.clone();
    let http_gate = gates.http;
    let http = tokio::spawn(async move {
        match http_tls {
            Some(tls) => convoy_gateway::serve_tls(listener, state, tls, http_gate, http_shutdown).await,
            None => convoy_gateway::serve(listener, state, http_gate, http_shutdown).await,
        }
        .context("HTTP server failed")
    });
    let housekeeping = tokio::spawn(convoy_store::run_signed_housekeeping(
        store.clone(),
        convoy_store::Housekeeping {
            retention: config.retention,
            every: HOUSEKEEPING_EVERY,
            head_file: Some(config.audit_head_file.clone()),
            signing_key: Some(signing_key),
        },
        shutdown.child_token(),
    ));
    let ingest = tokio::spawn(convoy_ingest::run(
        ingest_config,
        store.clone(),
        ingest_metrics,
        Some(committed),
        shutdown.child_token(),
    ));
    let retained = tokio::spawn(crate::retained::run(
        store.clone(),
        retained_mqtt,
        retained_wake,
        shutdown.child_token(),
    ));
    let mut tasks = vec![
        ("http", http),
        ("ingest", ingest),
        ("alerts", alerts),
        ("housekeeping", housekeeping),
        ("forwarding", forward),
        ("retained device messages", retained),
    ];
    tasks.extend(door.map(|door| ("mqtt door", door)));
    if let Some((listener, _)) = osmand_listener {
        let osmand_shutdown = shutdown.child_token();
        tasks.push((
            "osmand",
            tokio::spawn(async move {
                convoy_gateway::serve_osmand(listener, osmand_state, osmand_tls, osmand_gate, osmand_shutdown)
                    .await
                    .context("the OsmAnd phone listener failed")
            }),
        ));
    }
    if let Some((listener, _)) = metrics_listener {
        let registry = state_registry;
        let metrics_gate = gates.metrics;
        let metrics_shutdown = shutdown.child_token();
        tasks.push((
            "metrics",
            tokio::spawn(async move {
                convoy_gateway::serve_metrics(listener, registry, metrics_gate, metrics_shutdown)
                    .await
                    .context("metrics listener failed")
            }),
        ));
    }
    Ok(RunningServer {
        http_addr,
        mqtt_addr,
        mqtts_addr,
        metrics_addr,
        osmand_addr,
        internal_mqtt,
        store,
        tasks,
    })
}

/// The gateway's phone intake, over ingest's direct intake (the gateway never imports ingest).
struct PhoneIntake(DirectIntake);

impl convoy_gateway::PhoneIntake for PhoneIntake {
    fn store(&self, positions: VehiclePositions) -> convoy_gateway::phones::intake::Stored<'_> {
        Box::pin(self.0.store(positions))
    }
}

/// The server's signing key, made if there is none yet, and its public key recorded in the
/// store (from now, if it is new there), so its signatures verify.
pub async fn server_signing_key(
    config: &ServerConfig,
    store: &Store,
) -> anyhow::Result<convoy_core::signing::SecretKey> {
    let path = &config.signing_key_file;
    let (key, created) = crate::server_key::load_or_create(path)?;
    let public = key.public();
    if created {
        tracing::info!(path = %path.display(), key = %public.id(), "made the server's signing key");
    }
    store.add_server_key(&public, chrono::Utc::now()).await.context("recording the server's public key")?;
    tracing::info!(key = %public.id(), public_key = %public, "server signing key");
    Ok(key)
}

/// Creates the data directory for its owner only; one that exists is left as it is (someone
/// chose its mode), with a warning if other users may read it.
fn prepare_data_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    use convoy_agent::private_files::{create_private_dir, warn_if_shared};
    if dir.exists() {
        warn_if_shared(dir, "data directory");
        return Ok(());
    }
    create_private_dir(dir).with_context(|| format!("creating the data directory {}", dir.display()))
}

/// How many positions and status reports wait for the slowest WebSocket client before it
/// skips some.
const LIVE_BUFFER: usize = 16_384;
/// How many alert changes wait for the slowest WebSocket client (which is closed, not allowed
/// to skip alerts, past this).
const LIVE_ALERTS_BUFFER: usize = 4_096;

/// What the gateway tells the server (the other ends of `GatewayEvents`' channels).
struct FromGateway {
    move_changes: mpsc::UnboundedReceiver<MoveChange>,
    alert_changes: mpsc::UnboundedReceiver<convoy_core::alert::AlertMessage>,
    seal_incidents: mpsc::UnboundedReceiver<SealIncident>,
}

/// Carries what ingest committed, moves' changes, people's alert changes and seals seen broken
/// or missing to the alert service
/// (and wakes the retained-message loop at a move's change),
/// and positions and agent status to the live feed. Ends at shutdown (the alert service stops
/// then too), or when ingest and the gateway are gone.
async fn forward_to_alerts(
    mut committed: mpsc::UnboundedReceiver<Committed>,
    from_gateway: FromGateway,
    retained_wake: Arc<tokio::sync::Notify>,
    alerts: mpsc::UnboundedSender<alert_service::Input>,
    live: broadcast::Sender<LiveEvent>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let FromGateway { mut move_changes, mut alert_changes, mut seal_incidents } = from_gateway;
    loop {
        let input = tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            Some(mut batch) = committed.recv() => {
                // Integrity alerts after the fixes of the same commit.
                let refused = std::mem::take(&mut batch.integrity);
                if alerts.send(alert_service::Input::Arrived(arrivals(batch, &live))).is_err() {
                    return Ok(());
                }
                for refusal in refused {
                    if alerts.send(alert_service::Input::Outside(integrity_alert(refusal))).is_err() {
                        return Ok(());
                    }
                }
                continue;
            }
            Some(change) = move_changes.recv() => {
                retained_wake.notify_one();
                match change {
                    MoveChange::Added(id) => alert_service::Input::MoveAdded(id),
                    MoveChange::Ended(id) => alert_service::Input::MoveEnded(id),
                    MoveChange::Edited(id) => alert_service::Input::MoveEdited(id),
                }
            }
            Some(message) = alert_changes.recv() => alert_service::Input::Announce(message),
            Some(incident) = seal_incidents.recv() => alert_service::Input::Outside(seal_alert(incident)),
            else => return Ok(()),
        };
        if alerts.send(input).is_err() {
            return Ok(());
        }
    }
}

/// The `integrity` alert a batch refused by ingest opens on its vehicle's moves.
fn integrity_alert(refusal: convoy_ingest::IntegrityRefusal) -> convoy_alerts::OutsideAlert {
    convoy_alerts::OutsideAlert {
        kind: convoy_core::alert::AlertKind::Integrity,
        detail: refusal.detail(),
        vehicle: refusal.vehicle,
        move_id: None,
        t: refusal.t,
        lat: Some(refusal.lat),
        lon: Some(refusal.lon),
        subject: Some(refusal.reason.to_string()),
    }
}

/// The `seal` alert a seal seen broken or missing at a checkpoint opens on its move: its
/// subject (the alert's `zone`, part of its id) is the seal's number.
fn seal_alert(incident: SealIncident) -> OutsideAlert {
    OutsideAlert {
        kind: AlertKind::Seal,
        vehicle: incident.vehicle,
        move_id: Some(incident.move_id),
        t: incident.t,
        lat: incident.lat,
        lon: incident.lon,
        subject: Some(incident.seal_number),
        detail: incident.detail,
    }
}

/// What the engine and the live feed take from one commit.
fn arrivals(batch: Committed, live: &broadcast::Sender<LiveEvent>) -> Vec<Arrival> {
    let mut arrivals = Vec::with_capacity(batch.fresh.len() + batch.statuses.len());
    for status in batch.statuses {
        let Ok(json) = serde_json::from_str::<serde_json::Value>(&status.status_json) else { continue };
        if let Some(health) = AgentHealth::from_status(&json) {
            arrivals.push(Arrival::Status {
                vehicle: status.vehicle.clone(),
                health,
                received_at: status.received_at,
            });
        }
        let _ = live.send(LiveEvent::Status { vehicle: status.vehicle, status: json });
    }
    for (vehicle, position) in batch.fresh {
        let _ = live.send(LiveEvent::Position { vehicle: vehicle.clone(), position: position.clone() });
        arrivals.push(Arrival::Position { vehicle, position, received_at: batch.received_at });
    }
    arrivals
}

/// Resolves when the process is asked to stop: Ctrl-C (SIGINT) at a terminal, SIGTERM from
/// systemd or a container runtime.
pub async fn stop_requested() -> anyhow::Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("listening for SIGTERM")?;
    tokio::select! {
        interrupted = tokio::signal::ctrl_c() => interrupted.context("listening for Ctrl-C")?,
        _ = terminate.recv() => {}
    }
    Ok(())
}

/// How often partitions are prepared and retention purges run.
const HOUSEKEEPING_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// `convoy ingest`: only the ingest role, against an external broker, for sites that run several
/// ingest processes sharing one subscription. Runs until `shutdown` is cancelled.
pub async fn run_ingest(config: &ServerConfig, shutdown: CancellationToken) -> anyhow::Result<()> {
    let BrokerChoice::External { host, port, .. } = &config.broker else {
        anyhow::bail!("convoy ingest needs an external broker (--broker mqtt://HOST:PORT)");
    };
    let store =
        Store::open(&config.database).await.with_context(|| format!("opening {}", config.database))?;
    let metrics = IngestMetrics::new(&Registry::new())?;
    let mut ingest = external_ingest_config(config)?;
    ingest.retention = config.retention;
    tracing::info!(backend = store.backend(), broker = %format!("{host}:{port}"), "ingest running");
    // Alert rules run with `convoy serve`, which has every vehicle's fixes; an ingest-only
    // process stores and acknowledges.
    let result = convoy_ingest::run(ingest, store, metrics.clone(), None, shutdown).await;
    // No /metrics here: what it did is told once, at the end (scripts/bench-ingest.sh reads it).
    tracing::info!(
        positions = metrics.positions.get(),
        duplicates = metrics.duplicates.get(),
        signatures_checked = metrics.signatures_checked.get(),
        verify_seconds = format!("{:.3}", metrics.verify_seconds.get()),
        "ingest stopped"
    );
    result
}

fn external_ingest_config(config: &ServerConfig) -> anyhow::Result<IngestConfig> {
    let BrokerChoice::External { host, port, username, password, tls } = &config.broker else {
        anyhow::bail!("an external broker is needed (mqtt://HOST:PORT or mqtts://HOST:PORT)");
    };
    let mut ingest = IngestConfig::new(host, *port);
    ingest.client_id = config.ingest_client_id.clone();
    ingest.share_group = config.ingest_share_group.clone();
    ingest.username = username.clone();
    ingest.password = password.clone();
    ingest.tls = tls.clone();
    Ok(ingest)
}

/// Ingest tells the embedded broker's door when it is subscribed (the door lets vehicles in only
/// then) and what it committed (the door then sends the vehicles' PUBACKs).
struct DoorLedger(Arc<convoy_broker::door::CommitLedger>);

impl IngestObserver for DoorLedger {
    fn subscribed(&self) {
        self.0.ingest_subscribed();
    }

    fn committed(&self, topic: &str, payload: &[u8]) {
        self.0.committed(topic, payload);
    }
}
