//! The alert service: runs the engine beside ingest, records every alert change in the store,
//! publishes it on `convoy/v1/alerts/{vehicle}`, sends it to the live feed and to the notifiers.
//! Each vehicle's progress along its route goes to the progress board and the live feed
//! (`progress_feed.rs`) after each batch.
//!
//! Nothing here waits on a notifier or on the broker: notifiers have their own queues, MQTT
//! publishes are handed to the client's queue (and counted when it is full). The store is
//! waited on: an alert change is retried until it is recorded, while ingest goes on (its
//! batches queue up for the engine).
//!
//! On start, and when it learns of a new move, the service replays what the store holds for
//! the move (see `replay.rs`): the engine's state after a restart is the state it would have
//! had, changes already recorded are not announced again, and an incident that began while
//! the service was down is announced once.

use std::collections::HashMap;
use std::time::Duration;

use chrono::Utc;
use convoy_core::alert::{AlertMessage, AlertState};
use convoy_core::live::LiveEvent;
use convoy_core::rules::RuleSettings;
use convoy_store::{AlertRecord, MoveCrew, Store};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use crate::announcer::{start_mqtt, Announcer, LocaleDefaults};
use crate::arrival::{self, Arrival};
use crate::engine::{Change, Engine, RuleEvent};
use crate::notify::{Delivery, NotifierConfig, Notifiers};
use crate::outside_alert::OutsideAlert;
use crate::progress_feed::ProgressFeed;
use crate::replay::{move_spec, replay_move, CLOCK_GRACE};

/// How often the store is asked for moves the service was not told about.
const DISCOVER_MOVES_EVERY: Duration = Duration::from_secs(10);

/// What the service is told.
#[derive(Debug)]
pub enum Input {
    /// What ingest committed (only fixes stored without marks).
    Arrived(Vec<Arrival>),
    /// A move was created; the service reads it from the store.
    MoveAdded(String),
    /// A person ended or cancelled a move (already recorded); the service reads when.
    MoveEnded(String),
    /// A person edited a move's plan (already recorded): the fixes from now on are judged by
    /// the new one; the service reads it.
    MoveEdited(String),
    /// A person acknowledged or resolved an alert (already recorded): tell the world.
    Announce(AlertMessage),
    /// Something outside the rules opens an alert (`outside_alert.rs`): record and announce it.
    Outside(OutsideAlert),
}

/// Where the service publishes alerts over MQTT.
#[derive(Clone, Debug)]
pub struct MqttTarget {
    pub host: String,
    pub port: u16,
    pub client_id: String,
    pub username: Option<String>,
    pub password: Option<String>,
    /// MQTT over TLS, with the broker's pinned CA and an optional client certificate.
    pub tls: Option<convoy_tls_client::TlsFiles>,
}

impl MqttTarget {
    /// The client's options: where, who, and TLS if configured (a TLS file that cannot be read
    /// stops the start, naming it).
    pub fn options(&self) -> anyhow::Result<rumqttc::MqttOptions> {
        let mut options = rumqttc::MqttOptions::new(self.client_id.clone(), self.host.clone(), self.port);
        if let Some(user) = &self.username {
            options.set_credentials(user.clone(), self.password.clone().unwrap_or_default());
        }
        if let Some(files) = &self.tls {
            options.set_transport(convoy_tls_client::mqtt_transport(files)?);
        }
        Ok(options)
    }
}

#[derive(Clone, Debug)]
pub struct ServiceConfig {
    pub rules: RuleSettings,
    pub mqtt: Option<MqttTarget>,
    pub notifiers: Vec<NotifierConfig>,
    /// The language and time zone of alerts sent for a move whose plan names none.
    pub locale: LocaleDefaults,
}

/// Runs the service until `shutdown` is cancelled or `inputs` closes.
pub async fn run(
    config: ServiceConfig,
    store: Store,
    mut inputs: mpsc::UnboundedReceiver<Input>,
    live: broadcast::Sender<LiveEvent>,
    mut progress: ProgressFeed,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let (delivery_tx, delivery_rx) = mpsc::unbounded_channel();
    let notifiers = Notifiers::start(config.notifiers.clone(), delivery_tx, shutdown.clone())?;
    // The delivery log and the alert publisher stop after the notifiers, when told below: not
    // children of `shutdown`.
    let helpers_stop = CancellationToken::new();
    let deliveries = tokio::spawn(record_deliveries(store.clone(), delivery_rx, helpers_stop.clone()));
    let mqtt = config.mqtt.as_ref().map(|target| start_mqtt(target, helpers_stop.clone())).transpose()?;
    let mut announcer = Announcer {
        mqtt: mqtt.as_ref().map(|(client, _)| client.clone()),
        live,
        notifiers,
        defaults: config.locale,
        locales: HashMap::new(),
    };

    let mut engine = Engine::new(config.rules.clone());
    // The moves dealt with (watched, closed long ago, or refused by the engine), each with the
    // version of its plan the engine has (0 if unknown): each is read from the store once, not
    // at every look for new ones, and again only when its plan's version changes.
    let mut settled = HashMap::new();
    for id in store.move_ids().await? {
        settle(&store, &mut engine, &id, &mut settled, &mut announcer, &shutdown).await;
    }
    progress.publish(&mut engine, Utc::now());
    tracing::info!("alert service running");

    let mut clock = tokio::time::interval(Duration::from_secs(1));
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut discover = tokio::time::interval(DISCOVER_MOVES_EVERY);
    discover.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut events = Vec::new();
    loop {
        tokio::select! {
            input = inputs.recv() => match input {
                Some(Input::Arrived(mut arrivals)) => {
                    arrival::sort(&mut arrivals);
                    for arrival in &arrivals {
                        arrival.feed(&mut engine, &mut events);
                    }
                }
                Some(Input::MoveAdded(id)) => {
                    settle(&store, &mut engine, &id, &mut settled, &mut announcer, &shutdown).await;
                }
                Some(Input::MoveEnded(id)) => match store.move_record(&id).await {
                    Ok(Some(record)) => end_move(&mut engine, &id, record.end.map(|end| end.at)),
                    Ok(None) => {}
                    // The next look for moves finds the end.
                    Err(e) => tracing::warn!(move_id = %id, error = %e, "cannot read the move's end"),
                },
                Some(Input::MoveEdited(id)) => {
                    if engine.has_move(&id) {
                        if let Some(version) = replace_plan(&store, &mut engine, &mut announcer, &id).await {
                            settled.insert(id, version);
                        }
                    } else {
                        // Not watched yet (or its old plan was refused): the new plan may be.
                        settled.remove(&id);
                        settle(&store, &mut engine, &id, &mut settled, &mut announcer, &shutdown).await;
                    }
                }
                Some(Input::Announce(message)) => announcer.announce(&message),
                Some(Input::Outside(alert)) => events.extend(alert.events(&engine)),
                None => break,
            },
            _ = clock.tick() => {
                engine.tick(Utc::now() - CLOCK_GRACE, &mut events);
                // By the wall clock, as figures are published: the rules' clock runs 5 s
                // behind, before which a move created just now does not run yet.
                progress.prune(&engine, Utc::now());
            }
            // Moves created, edited, ended or cancelled elsewhere (the CLI, another server) are
            // found by looking.
            _ = discover.tick() => {
                match store.move_crews().await {
                    Ok(crews) => {
                        for crew in &crews {
                            settle(&store, &mut engine, &crew.id, &mut settled, &mut announcer, &shutdown).await;
                            end_move(&mut engine, &crew.id, crew.ended_at);
                        }
                        follow_edits(&store, &mut engine, &mut announcer, &mut settled, &crews).await;
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot look for new moves"),
                }
            }
            () = shutdown.cancelled() => break,
        }
        progress.publish(&mut engine, Utc::now());
        if !record_all(&store, &mut events, &mut announcer, &shutdown).await {
            break;
        }
    }
    let Announcer { notifiers, .. } = announcer;
    notifiers.stop().await;
    let poller = match mqtt {
        Some((client, mut poller)) => {
            let _ = client.try_disconnect();
            // A moment for the DISCONNECT to go out; then it is stopped.
            let sent = tokio::time::timeout(Duration::from_millis(100), &mut poller).await;
            sent.is_err().then_some(poller)
        }
        None => None,
    };
    helpers_stop.cancel();
    let _ = deliveries.await;
    if let Some(poller) = poller {
        let _ = poller.await;
    }
    Ok(())
}

/// Watches a move not dealt with yet. A store failure leaves it for the next look; a plan the
/// engine refuses is logged once.
async fn settle(
    store: &Store,
    engine: &mut Engine,
    id: &str,
    settled: &mut HashMap<String, u32>,
    announcer: &mut Announcer,
    shutdown: &CancellationToken,
) {
    if settled.contains_key(id) {
        return;
    }
    match add_move(store, engine, id, announcer, shutdown).await {
        Ok(version) => {
            settled.insert(id.to_string(), version);
        }
        Err(e) => {
            tracing::error!(move_id = %id, error = %e, "cannot watch this move");
            if e.downcast_ref::<convoy_store::StoreError>().is_none() {
                settled.insert(id.to_string(), 0);
            }
        }
    }
}

/// Hands the engine the plans edited elsewhere (another server's API) since it read them: a
/// watched move whose plan's version (read with the moves, `crews`) is not the one the engine
/// has.
async fn follow_edits(
    store: &Store,
    engine: &mut Engine,
    announcer: &mut Announcer,
    settled: &mut HashMap<String, u32>,
    crews: &[MoveCrew],
) {
    for crew in crews {
        let edited = settled.get(&crew.id).is_some_and(|&known| known != crew.plan_version);
        if edited && engine.has_move(&crew.id) {
            if let Some(version) = replace_plan(store, engine, announcer, &crew.id).await {
                settled.insert(crew.id.clone(), version);
            }
        }
    }
}

/// Stops the rules for a move a person ended or cancelled at `at` (nothing if not ended). Its
/// open alerts are left for people to resolve, as when a window closes: an end says the move
/// is over, not that what went wrong in it was dealt with.
fn end_move(engine: &mut Engine, id: &str, at: Option<chrono::DateTime<Utc>>) {
    if let Some(at) = at {
        if engine.end_move(id, at) {
            tracing::info!(move_id = id, ended_at = %at, "move ended; its rules stop");
        }
    }
}

/// Hands a watched move's edited plan to the engine: the fixes from now on are judged by it,
/// nothing already judged again. Returns the version handed over; `None` if the store failed
/// (the next look for edited plans tries again) or the plan was refused (logged).
async fn replace_plan(
    store: &Store,
    engine: &mut Engine,
    announcer: &mut Announcer,
    id: &str,
) -> Option<u32> {
    let record = match store.move_record(id).await {
        Ok(record) => record?,
        Err(e) => {
            tracing::error!(move_id = %id, error = %e, "cannot read the move's edited plan");
            return None;
        }
    };
    match move_spec(&record).map(|spec| {
        announcer.learn(id, &spec.plan);
        engine.replace_plan(&spec)
    }) {
        Ok(Ok(())) => {
            tracing::info!(
                move_id = id,
                version = record.version,
                "move's plan edited; its rules follow the new plan"
            );
            return Some(record.version);
        }
        Ok(Err(e)) => tracing::error!(move_id = %id, error = %e, "the engine refuses the move's edited plan"),
        Err(e) => tracing::error!(move_id = %id, error = %e, "the move's edited plan does not read"),
    }
    None
}

/// A move whose window closed longer ago than this is not watched: no agent keeps a backlog
/// that old (its spool holds 7 days at 1 Hz by default), so nothing can change its alerts, and
/// restoring it would only make every start slower.
const WATCH_AFTER_WINDOW: chrono::Duration = chrono::Duration::days(7);

/// Reads a move, adds it to the engine and brings its state up to now from the record.
async fn add_move(
    store: &Store,
    engine: &mut Engine,
    id: &str,
    announcer: &mut Announcer,
    shutdown: &CancellationToken,
) -> anyhow::Result<u32> {
    if engine.has_move(id) {
        return Ok(0);
    }
    let record = store.move_record(id).await?.ok_or_else(|| anyhow::anyhow!("no such move"))?;
    let spec = move_spec(&record)?;
    announcer.learn(id, &spec.plan);
    if spec.plan.window.is_some_and(|w| w.to + WATCH_AFTER_WINDOW < Utc::now()) {
        tracing::info!(move_id = id, "move closed more than 7 days ago; not watched");
        return Ok(record.version);
    }
    engine.add_move(&spec)?;
    let mut events = Vec::new();
    replay_move(store, engine, &spec, Utc::now(), &mut events).await?;
    let count = events.len();
    record_all(store, &mut events, announcer, shutdown).await;
    tracing::info!(move_id = id, events = count, "watching move");
    Ok(record.version)
}

/// Records each event, retrying while the store fails; announces what changed. Returns false
/// if shut down before all were recorded.
async fn record_all(
    store: &Store,
    events: &mut Vec<RuleEvent>,
    announcer: &mut Announcer,
    shutdown: &CancellationToken,
) -> bool {
    for event in events.drain(..) {
        let mut backoff = Duration::from_millis(100);
        loop {
            match record(store, &event).await {
                Ok(Some(message)) => {
                    announcer.announce(&message);
                    break;
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::error!(error = %e, alert = %event.alert_id, retry_in = ?backoff, "cannot record alert change");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        () = shutdown.cancelled() => return false,
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
    true
}

/// Records one event; the message to announce if it changed anything.
async fn record(store: &Store, event: &RuleEvent) -> convoy_store::Result<Option<AlertMessage>> {
    match event.change {
        Change::Opened => {
            let record = AlertRecord {
                id: event.alert_id.clone(),
                move_id: event.move_id.clone(),
                vehicle: event.vehicle.clone(),
                kind: event.kind,
                zone: event.zone.clone(),
                state: AlertState::Open,
                opened_t: event.t,
                lat: event.lat,
                lon: event.lon,
                detail: event.detail.clone(),
                late: event.late,
                acknowledged_t: None,
                acknowledged_by: None,
                note: None,
                resolved_t: None,
                resolved_by: None,
                cleared_t: None,
                cleared_detail: None,
            };
            let inserted = store.open_alert(&record).await?;
            Ok(inserted.then(|| message_for(&record, event)))
        }
        Change::Cleared => {
            let Some(before) = store.alert(&event.alert_id).await? else { return Ok(None) };
            if before.cleared_t.is_some() {
                return Ok(None);
            }
            let after = store.clear_alert(&event.alert_id, event.t, &event.detail).await?;
            Ok(after.filter(|_| before.state != AlertState::Resolved).map(|after| message_for(&after, event)))
        }
    }
}

/// The message for a change the rule made.
fn message_for(record: &AlertRecord, event: &RuleEvent) -> AlertMessage {
    let mut message = record.message(event.t, event.detail.clone(), event.late);
    // Where the rule saw it, which for a clearing is not where the alert opened.
    (message.lat, message.lon) = (event.lat, event.lon);
    message
}

/// Writes each notifier attempt to the store's delivery log, until `stop` is cancelled.
async fn record_deliveries(
    store: Store,
    mut deliveries: mpsc::UnboundedReceiver<Delivery>,
    stop: CancellationToken,
) {
    loop {
        let delivery = tokio::select! {
            delivery = deliveries.recv() => delivery,
            () = stop.cancelled() => return,
        };
        let Some(delivery) = delivery else { return };
        // Stopped in the middle of a write too: shutdown does not wait on the store here.
        let recorded = tokio::select! {
            recorded = store.record_delivery(&delivery) => recorded,
            () = stop.cancelled() => return,
        };
        if let Err(e) = recorded {
            tracing::error!(error = %e, "cannot record a notifier delivery");
        }
    }
}
