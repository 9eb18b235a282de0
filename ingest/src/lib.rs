//! Ingest: consumes positions from the broker, validates them, and stores them in batches.
//!
//! A message is acknowledged to the broker only after the batch that holds it is committed, so
//! a crash of ingest or of the database loses nothing: the broker redelivers, and the store's
//! (vehicle, seq, t) key makes the redelivery harmless. Whatever cannot be accepted goes to the
//! dead letters with its raw bytes and a reason, and is acknowledged: retrying it cannot help.
//!
//! Receiving and committing overlap: while one batch commits, the next is gathered, so the
//! broker's in-flight window (not the commit's round trip) sets the pace.
//!
//! Ingest knows the broker and the store; it knows nothing of HTTP or of the gateway.

mod direct;
#[doc(hidden)]
pub mod fuzzing;
mod metrics;
mod phones;
mod verify;

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, SubsecRound as _, Utc};
use convoy_core::topics::{parse_vehicle_topic, VehicleTopic, POSITIONS_FILTER, STATUS_FILTER};
use convoy_core::{Position, PositionBatch, VehicleId};
use convoy_store::{AgentStatus, DeadLetter, IngestWrite, Retention, Store, VehiclePositions, WriteOutcome};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, Publish, QoS, SubscribeReasonCode};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

pub use direct::DirectIntake;
pub use metrics::IngestMetrics;
pub use verify::{IntegrityRefusal, REASONS as INTEGRITY_REASONS};

/// How ingest reaches the broker and how it batches.
#[derive(Clone, Debug)]
pub struct IngestConfig {
    pub broker_host: String,
    pub broker_port: u16,
    /// MQTT over TLS to the broker, with its pinned CA and an optional client certificate.
    pub tls: Option<convoy_tls_client::TlsFiles>,
    /// Stable, so the broker keeps the session (and its unacknowledged messages) across restarts.
    pub client_id: String,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The most messages committed in one transaction.
    pub max_batch_messages: usize,
    /// How long the first message of a batch may wait for others.
    pub max_batch_delay: Duration,
    /// Subscribe as a member of this MQTT shared-subscription group (`$share/GROUP/...`), so
    /// several ingest processes share the load; `None` receives everything.
    pub share_group: Option<String>,
    /// Fixes older than the retention are stored marked `older_than_retention`.
    pub retention: Option<Retention>,
    /// Told when ingest is subscribed and of every message once the batch holding it is
    /// committed (the embedded broker's door waits for both).
    pub observer: Option<Observer>,
}

/// What a process running ingest wants to hear of its progress.
pub trait IngestObserver: Send + Sync {
    /// Ingest holds all its subscriptions (after each connection to the broker).
    fn subscribed(&self);
    /// A message, by topic and payload, is in the database.
    fn committed(&self, topic: &str, payload: &[u8]);
}

/// An [`IngestObserver`] to share.
#[derive(Clone)]
pub struct Observer(pub std::sync::Arc<dyn IngestObserver>);

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Observer")
    }
}

/// Who hears of each commit.
struct AfterCommit {
    /// What was stored, for the alert rules and the live feed.
    stored: Option<mpsc::UnboundedSender<Committed>>,
    /// Each message committed.
    messages: Option<Observer>,
}

impl IngestConfig {
    pub fn new(broker_host: impl Into<String>, broker_port: u16) -> Self {
        Self {
            broker_host: broker_host.into(),
            broker_port,
            tls: None,
            client_id: "convoy-ingest".into(),
            username: None,
            password: None,
            max_batch_messages: 4000,
            max_batch_delay: Duration::from_millis(20),
            share_group: None,
            retention: None,
            observer: None,
        }
    }
}

/// What one commit stored, for live consumers (the alert rules, the live feed).
#[derive(Clone, Debug)]
pub struct Committed {
    /// When the positions were stamped as received (as stored).
    pub received_at: DateTime<Utc>,
    /// The fixes stored without marks (neither late nor implausible), in arrival order.
    pub fresh: Vec<(VehicleId, Position)>,
    pub statuses: Vec<AgentStatus>,
    /// Batches refused for their integrity (kept as dead letters): each opens an `integrity`
    /// alert.
    pub integrity: Vec<IntegrityRefusal>,
}

/// Runs ingest until `shutdown` is cancelled. Store failures are retried with backoff, holding
/// the batch unacknowledged; they never drop a message. After each commit, what it stored goes
/// to `committed` (if given) before the batch is acknowledged.
pub async fn run(
    config: IngestConfig,
    store: Store,
    metrics: IngestMetrics,
    committed: Option<mpsc::UnboundedSender<Committed>>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut options =
        MqttOptions::new(config.client_id.clone(), config.broker_host.clone(), config.broker_port);
    options.set_clean_session(false);
    options.set_manual_acks(true);
    options.set_keep_alive(Duration::from_secs(15));
    options.set_max_packet_size(convoy_core::wire::MAX_PAYLOAD_BYTES + 1024, 64 * 1024);
    if let Some(files) = &config.tls {
        options.set_transport(convoy_tls_client::mqtt_transport(files)?);
    }
    if let Some(user) = &config.username {
        options.set_credentials(user.clone(), config.password.clone().unwrap_or_default());
    }
    let (client, eventloop) = AsyncClient::new(options, 1024);
    // Unbounded on purpose: the event loop must never wait on the batcher, or it would stop
    // sending the acknowledgements the writer queues and stop answering the broker's pings.
    // What it holds is bounded by the broker's in-flight window for this client
    // (`max_inflight_messages` in Mosquitto: see deploy/mosquitto.conf).
    let (publish_tx, mut publish_rx) = mpsc::unbounded_channel::<Publish>();
    let filters = subscription_filters(config.share_group.as_deref());
    // Not a child of `shutdown`: the event loop carries the last batch's acknowledgements and
    // the DISCONNECT, so it stops last, when told below.
    let poller_stop = CancellationToken::new();
    let poller = tokio::spawn(poll_broker(
        eventloop,
        client.clone(),
        filters,
        publish_tx,
        config.observer.clone(),
        poller_stop.clone(),
    ));
    // One batch waits while another commits: enough to overlap gathering with committing.
    let (batch_tx, batch_rx) = mpsc::channel::<Vec<Publish>>(1);
    let writer = tokio::spawn(write_batches(
        batch_rx,
        client.clone(),
        store,
        config.retention,
        metrics,
        AfterCommit { stored: committed, messages: config.observer.clone() },
        shutdown.clone(),
    ));

    loop {
        let mut batch: Vec<Publish> = Vec::with_capacity(config.max_batch_messages);
        // Wait for a first message, then gather more for a short while.
        tokio::select! {
            publish = publish_rx.recv() => match publish {
                Some(p) => batch.push(p),
                None => break,
            },
            () = shutdown.cancelled() => break,
        }
        let deadline = tokio::time::Instant::now() + config.max_batch_delay;
        while batch.len() < config.max_batch_messages {
            match tokio::time::timeout_at(deadline, publish_rx.recv()).await {
                Ok(Some(p)) => batch.push(p),
                Ok(None) | Err(_) => break,
            }
        }
        if batch_tx.send(batch).await.is_err() {
            break;
        }
    }
    // The writer finishes the batch in hand (committed and acknowledged) unless it is stuck
    // retrying; what is not acknowledged the broker redelivers.
    drop(batch_tx);
    let written = writer.await;
    let _ = client.try_disconnect();
    // Give the event loop a moment to send the DISCONNECT before it is stopped.
    let mut poller = poller;
    if tokio::time::timeout(Duration::from_millis(100), &mut poller).await.is_err() {
        poller_stop.cancel();
        let _ = poller.await;
    }
    written?
}

/// The topic filters ingest subscribes to, inside a shared-subscription group if one is set.
fn subscription_filters(share_group: Option<&str>) -> Vec<String> {
    [POSITIONS_FILTER, STATUS_FILTER, convoy_core::phone::owntracks::FILTER]
        .iter()
        .map(|filter| match share_group {
            Some(group) => format!("$share/{group}/{filter}"),
            None => filter.to_string(),
        })
        .collect()
}

/// Commits batches in the order they were gathered and acknowledges each batch's messages once
/// it is committed.
async fn write_batches(
    mut batches: mpsc::Receiver<Vec<Publish>>,
    client: AsyncClient,
    store: Store,
    retention: Option<Retention>,
    metrics: IngestMetrics,
    after_commit: AfterCommit,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut registered: HashSet<VehicleId> = HashSet::new();
    let mut phones = phones::KnownPhones::default();
    let mut heads = verify::ChainHeads::default();
    let mut progress = Progress::default();
    let mut number = 0u64;
    while let Some(batch) = batches.recv().await {
        number += 1;
        // At debug level, what each batch stored and when it was acknowledged; off, the span
        // is never built.
        let span = tracing::debug_span!("ingest_batch", batch = number, size = batch.len());
        let stored = async {
            let known = (&mut registered, &mut phones, &mut heads);
            let committed = store_batch(&batch, &store, known, retention, &metrics, &shutdown).await;
            let Some((outcome, statuses, integrity)) = committed else {
                return Ok::<_, anyhow::Error>(false);
            };
            progress.add(&outcome);
            if let Some(to) = &after_commit.stored {
                if !outcome.fresh.is_empty() || !statuses.is_empty() || !integrity.is_empty() {
                    // A consumer that has gone away is no reason to stop storing.
                    let _ = to.send(Committed {
                        received_at: outcome.received_at,
                        fresh: outcome.fresh,
                        statuses,
                        integrity,
                    });
                }
            }
            if let Some(Observer(observer)) = &after_commit.messages {
                for publish in &batch {
                    observer.committed(&publish.topic, &publish.payload);
                }
            }
            for publish in &batch {
                client.ack(publish).await?;
            }
            tracing::debug!(messages = batch.len(), "batch acknowledged");
            Ok(true)
        }
        .instrument(span)
        .await?;
        if !stored {
            // Shut down before the commit: leave the messages unacknowledged for the broker to
            // redeliver.
            return Ok(());
        }
    }
    Ok(())
}

/// What ingest has stored lately, logged every [`Progress::EVERY`] while there is traffic.
struct Progress {
    since: std::time::Instant,
    stored: WriteOutcome,
}

impl Default for Progress {
    fn default() -> Self {
        Self { since: std::time::Instant::now(), stored: WriteOutcome::default() }
    }
}

impl Progress {
    const EVERY: Duration = Duration::from_secs(10);

    fn add(&mut self, outcome: &WriteOutcome) {
        self.stored.inserted += outcome.inserted;
        self.stored.duplicates += outcome.duplicates;
        if self.since.elapsed() >= Self::EVERY {
            let seconds = self.since.elapsed().as_secs();
            tracing::info!(
                positions = self.stored.inserted,
                duplicates = self.stored.duplicates,
                seconds,
                "positions stored"
            );
            *self = Self::default();
        }
    }
}

/// Keeps the broker connection alive, subscribes on every (re)connection, and forwards each
/// received message to the batcher.
async fn poll_broker(
    mut eventloop: rumqttc::EventLoop,
    client: AsyncClient,
    filters: Vec<String>,
    forward: mpsc::UnboundedSender<Publish>,
    observer: Option<Observer>,
    stop: CancellationToken,
) {
    let mut backoff = Duration::from_millis(200);
    let mut subscribed = 0;
    loop {
        let event = tokio::select! {
            event = eventloop.poll() => event,
            () = stop.cancelled() => return,
        };
        match event {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                backoff = Duration::from_millis(200);
                subscribed = 0;
                tracing::info!("ingest connected to the broker");
                for filter in &filters {
                    if let Err(e) = client.try_subscribe(filter.as_str(), QoS::AtLeastOnce) {
                        tracing::error!(error = %e, filter, "cannot subscribe");
                    }
                }
            }
            Ok(Event::Incoming(Packet::SubAck(suback))) => {
                if suback.return_codes.iter().any(|code| matches!(code, SubscribeReasonCode::Failure)) {
                    // Nothing to do but say so loudly: the broker's configuration refuses ingest.
                    tracing::error!("the broker refused an ingest subscription: nothing will be stored");
                    continue;
                }
                // From here on the broker keeps this session's messages, even while ingest is away.
                subscribed += 1;
                if subscribed == filters.len() {
                    tracing::info!(?filters, "ingest subscribed");
                    if let Some(Observer(observer)) = &observer {
                        observer.subscribed();
                    }
                }
            }
            Ok(Event::Incoming(Packet::Publish(publish))) => {
                if forward.send(publish).is_err() {
                    return;
                }
            }
            // The DISCONNECT asked at shutdown has gone out: nothing more to carry.
            Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) => return,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?backoff, "ingest lost the broker");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    () = stop.cancelled() => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
}

/// Stores one batch of messages: checks each, then commits positions and dead letters in one
/// transaction, retrying with backoff while the store fails. Returns `None` only if shut down
/// before the commit.
async fn store_batch(
    batch: &[Publish],
    store: &Store,
    (registered, phones, heads): Known<'_>,
    retention: Option<Retention>,
    metrics: &IngestMetrics,
    shutdown: &CancellationToken,
) -> Option<(WriteOutcome, Vec<AgentStatus>, Vec<IntegrityRefusal>)> {
    let mut backoff = Duration::from_millis(100);
    loop {
        let started = std::time::Instant::now();
        let known = (&mut *registered, &mut *phones, &mut *heads);
        let result = match prepare(batch, store, known, retention).await {
            Ok(prepared) => store.write_ingest(&prepared.write).await.map(|outcome| (outcome, prepared)),
            Err(e) => Err(e),
        };
        match result {
            Ok((outcome, prepared)) => {
                let took = started.elapsed();
                // Counted once committed: a failed commit is prepared again.
                prepared.count(metrics);
                metrics.committed(&outcome, took);
                log_stored(&prepared.write, &outcome, took);
                return Some((outcome, prepared.write.statuses, prepared.integrity));
            }
            Err(e) => {
                metrics.store_errors.inc();
                tracing::error!(error = %e, retry_in = ?backoff, "cannot store batch; holding it unacknowledged");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    () = shutdown.cancelled() => return None,
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// At debug level: each vehicle's fixes and status in a committed batch, by seq.
fn log_stored(write: &IngestWrite, outcome: &WriteOutcome, took: Duration) {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return;
    }
    for stored in &write.positions {
        tracing::debug!(
            vehicle = %stored.vehicle,
            seqs = ?convoy_core::wire::Seqs(&stored.positions),
            "fixes stored"
        );
    }
    for status in &write.statuses {
        tracing::debug!(vehicle = %status.vehicle, "agent status stored");
    }
    tracing::debug!(
        inserted = outcome.inserted,
        duplicates = outcome.duplicates,
        fresh = outcome.fresh.len(),
        dead_letters = write.dead_letters.len(),
        took_ms = took.as_millis() as u64,
        "batch committed"
    );
}

/// What ingest remembers between batches: the registered vehicles, the phones, the newest
/// chain heads.
type Known<'a> = (&'a mut HashSet<VehicleId>, &'a mut phones::KnownPhones, &'a mut verify::ChainHeads);

/// A batch ready to commit, with what to count once it is.
struct Prepared {
    write: IngestWrite,
    integrity: Vec<IntegrityRefusal>,
    /// Each rejected message's reason (not integrity).
    rejected: Vec<&'static str>,
    signed_without_key: u64,
    verify_cost: verify::VerifyCost,
}

impl Prepared {
    fn count(&self, metrics: &IngestMetrics) {
        for reason in &self.rejected {
            metrics.rejected(reason);
        }
        for refusal in &self.integrity {
            metrics.integrity_refused.with_label_values(&[refusal.reason]).inc();
        }
        metrics.signed_without_key.inc_by(self.signed_without_key);
        metrics.verify_seconds.inc_by(self.verify_cost.cpu.as_secs_f64());
        metrics.signatures_checked.inc_by(self.verify_cost.signatures);
    }
}

/// Decodes and checks every message of a batch (signed tracks verified, `verify.rs`); what
/// fails becomes a dead letter. Fails only when the store cannot answer (registrations, keys,
/// the chain): a store outage must not turn good messages into dead letters.
async fn prepare(
    batch: &[Publish],
    store: &Store,
    (registered, phones, heads): Known<'_>,
    retention: Option<Retention>,
) -> Result<Prepared, convoy_store::StoreError> {
    // To the millisecond, as every backend stores it: a replay of the record must see the
    // same times the live rules saw.
    let now = Utc::now().trunc_subsecs(3);
    learn_registrations(batch, store, registered).await?;
    phones.learn(batch, store).await?;
    let mut write = IngestWrite { oldest_kept: retention.map(|r| r.cutoff(now)), ..Default::default() };
    let mut rejected = Vec::new();
    let mut agents = Vec::new();
    for (message, publish) in batch.iter().enumerate() {
        let verdict = match convoy_core::phone::owntracks::parse_topic(&publish.topic) {
            Some((user, device)) => phones.check(publish, user, device, now),
            None => check(publish, registered, now),
        };
        match verdict {
            Verdict::Store(positions) => write.positions.push(positions),
            Verdict::Agent(batch, signed) => agents.push(verify::Candidate { message, batch, signed }),
            Verdict::Status(status) => write.statuses.push(status),
            Verdict::Nothing => {}
            Verdict::Private => {
                // Counted, and neither stored nor kept as a dead letter, nor logged with its place.
                rejected.push("outside_moves");
                tracing::debug!(topic = %publish.topic, "a person's phone reported outside their moves: not stored");
            }
            Verdict::Reject { reason, detail } => {
                rejected.push(reason);
                tracing::warn!(topic = %publish.topic, reason, %detail, "message rejected");
                write.dead_letters.push(DeadLetter {
                    received_at: now,
                    topic: publish.topic.clone(),
                    payload: publish.payload.to_vec(),
                    reason: reason.to_string(),
                    detail,
                });
            }
        }
    }
    let checked = verify::check(store, agents, now, heads).await?;
    write.positions.extend(checked.accepted);
    write.gaps = checked.gaps;
    let mut integrity = Vec::with_capacity(checked.refused.len());
    for (message, refusal) in checked.refused {
        let publish = &batch[message];
        tracing::warn!(topic = %publish.topic, reason = refusal.reason, first_seq = refusal.first_seq,
            last_seq = refusal.last_seq, "signed track refused");
        write.dead_letters.push(DeadLetter {
            received_at: now,
            topic: publish.topic.clone(),
            payload: publish.payload.to_vec(),
            reason: refusal.reason.to_string(),
            detail: format!(
                "seqs {}..={} (key {}): {}",
                refusal.first_seq,
                refusal.last_seq,
                refusal.key.as_deref().unwrap_or("none"),
                refusal.reason
            ),
        });
        integrity.push(refusal);
    }
    Ok(Prepared {
        write,
        integrity,
        rejected,
        signed_without_key: checked.signed_without_key,
        verify_cost: checked.cost,
    })
}

/// What to do with one message.
enum Verdict {
    Store(VehiclePositions),
    /// An agent's batch, with its signature if it carries one: verified before it is stored.
    Agent(VehiclePositions, Option<convoy_core::signing::BatchSignature>),
    Status(AgentStatus),
    /// Accepted, nothing to store (a retained status being cleared).
    Nothing,
    /// A fix a person's phone took outside that person's moves: not stored at all.
    Private,
    Reject {
        reason: &'static str,
        detail: String,
    },
}

/// Reasons ingest itself adds to those of [`convoy_core::WireError::reason`].
pub const INGEST_REJECTION_REASONS: &[&str] = &[
    "bad_topic",
    "vehicle_mismatch",
    "unknown_vehicle",
    "malformed_status",
    "unknown_device",
    "device_mismatch",
    "outside_moves",
];

/// The largest agent status kept: the contract's, which the embedded broker's door also
/// enforces (on Mosquitto only ingest does); the agent's own reports are well under 1 KiB.
const MAX_STATUS_BYTES: usize = convoy_core::topics::MAX_STATUS_BYTES;

fn check(publish: &Publish, registered: &HashSet<VehicleId>, now: chrono::DateTime<Utc>) -> Verdict {
    let Some((topic_vehicle, kind)) = parse_vehicle_topic(&publish.topic) else {
        let detail = format!("topic {:?} is not a vehicle topic", publish.topic);
        return Verdict::Reject { reason: "bad_topic", detail };
    };
    if kind == VehicleTopic::Status {
        if publish.retain {
            // The broker hands a retained status to every new subscription, ingest's own
            // resubscriptions included: it is an old report, not news from the vehicle, and
            // storing it as received now would tell the alert rules the vehicle was just heard.
            // The agent reports every 30 s.
            return Verdict::Nothing;
        }
        return check_status(publish, topic_vehicle, registered, now);
    }
    let batch = match PositionBatch::decode(&publish.payload, now) {
        Ok(batch) => batch,
        Err(e) => return Verdict::Reject { reason: e.reason(), detail: e.to_string() },
    };
    if batch.vehicle.as_str() != topic_vehicle {
        let detail =
            format!("payload is for vehicle {} but was published on {}", batch.vehicle, publish.topic);
        return Verdict::Reject { reason: "vehicle_mismatch", detail };
    }
    if let Some(reject) = unregistered(&batch.vehicle, registered) {
        return reject;
    }
    let positions =
        VehiclePositions { vehicle: batch.vehicle, positions: batch.positions, source: None, chain: None };
    Verdict::Agent(positions, batch.signed)
}

/// An agent status is kept as the agent wrote it, if it is a JSON object of a sane size from a
/// registered vehicle. An empty payload clears a retained message and is not stored.
fn check_status(
    publish: &Publish,
    topic_vehicle: &str,
    registered: &HashSet<VehicleId>,
    now: chrono::DateTime<Utc>,
) -> Verdict {
    if publish.payload.is_empty() {
        return Verdict::Nothing;
    }
    let malformed = |detail: String| Verdict::Reject { reason: "malformed_status", detail };
    if publish.payload.len() > MAX_STATUS_BYTES {
        return malformed(format!("status is {} bytes; at most {MAX_STATUS_BYTES}", publish.payload.len()));
    }
    let object = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&publish.payload);
    if let Err(e) = object {
        return malformed(format!("status is not a JSON object: {e}"));
    }
    let vehicle = match VehicleId::new(topic_vehicle) {
        Ok(vehicle) => vehicle,
        Err(e) => return Verdict::Reject { reason: "bad_topic", detail: e.to_string() },
    };
    if let Some(reject) = unregistered(&vehicle, registered) {
        return reject;
    }
    let status_json = String::from_utf8_lossy(&publish.payload).into_owned();
    Verdict::Status(AgentStatus { vehicle, received_at: now, status_json })
}

/// Asks the store, in one round trip, which of the batch's vehicles not yet known to be
/// registered are; a fleet's first messages after a start must not cost a query each.
async fn learn_registrations(
    batch: &[Publish],
    store: &Store,
    registered: &mut HashSet<VehicleId>,
) -> Result<(), convoy_store::StoreError> {
    let mut unknown: Vec<VehicleId> = batch
        .iter()
        .filter_map(|p| parse_vehicle_topic(&p.topic))
        .filter_map(|(id, _)| VehicleId::new(id).ok())
        .filter(|id| !registered.contains(id))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    unknown.sort();
    unknown.dedup();
    registered.extend(store.registered_among(&unknown).await?);
    Ok(())
}

/// A rejection if the vehicle is not registered (as [`learn_registrations`] found).
fn unregistered(vehicle: &VehicleId, registered: &HashSet<VehicleId>) -> Option<Verdict> {
    if registered.contains(vehicle) {
        return None;
    }
    let detail = format!("vehicle {vehicle} is not registered");
    Some(Verdict::Reject { reason: "unknown_vehicle", detail })
}
