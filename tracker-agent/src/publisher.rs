//! Publishes spooled fixes to the broker: QoS 1 batches on `convoy/v1/vehicles/{id}/positions`,
//! oldest first, over a persistent session, with a retained status and a last will of
//! "offline". A fix leaves the spool only when the broker's PUBACK for its batch has come.
//!
//! Matching PUBACKs to batches: rumqttc numbers each publish (its packet id) as it sends it, in
//! the order the requests were made, and reports `Outgoing::Publish(pkid)`. So every request is
//! noted in `Sent` before it is made; the event loop pairs each new packet id with the oldest
//! note, and reports the note back when that packet id is acknowledged. A packet id seen again
//! while unacknowledged is a retransmission after a reconnect, not a new publish.
//!
//! With `privacy = "moves_only"` it also subscribes to the vehicle's move windows, and a fix
//! taken outside them is dropped before it is numbered ([`crate::privacy`]).
//!
//! A reconnect to a broker that kept no session (restarted without persistence, or the
//! embedded broker after the server restarted) is different: rumqttc drops what it had not got
//! acknowledged and will never resend it. The agent then sends every unacknowledged fix again
//! from its spool, and ignores acknowledgements of notes made before (their `session`).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use convoy_core::signing::BatchSignature;
use convoy_core::topics::{positions_topic, status_topic};
use convoy_core::{Position, PositionBatch};
use rumqttc::{AsyncClient, ClientError, Event, LastWill, MqttOptions, Outgoing, Packet, QoS, Request};
use serde_json::json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::epoch::Fix;
use crate::privacy::MoveGate;
use crate::seq::SeqFloor;
use crate::spool::{FsyncPolicy, Spool};
use crate::{AgentConfig, AgentStats};

const STATUS_INTERVAL: Duration = Duration::from_secs(30);
/// Position batches awaiting their PUBACK at once. With batches of up to 200 fixes this keeps
/// thousands of fixes in flight during a backlog, while the client's queue (64) never fills.
const MAX_BATCHES_IN_FLIGHT: usize = 16;
/// With a signing key, a batch shorter than `max_batch_fixes` waits this long for more fixes
/// (they wait in the spool, synced). One Ed25519 signature per one-fix batch at 10 Hz came to
/// about 5 % of the agent's CPU; three fixes a batch bring it to about 1.5 % (and fewer
/// publishes halve the rest: docs/BENCHMARKS.md), for at most 300 ms more on the live map.
/// Unsigned agents send each fix at once, as before.
const SIGNED_LINGER: Duration = Duration::from_millis(300);

/// What a publish request was, noted before the request is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sent {
    /// A batch of positions ending at this seq.
    Positions {
        last_seq: u64,
        /// Which broker session the batch was sent in (counts sessions the broker lost).
        session: u64,
    },
    Status,
}

type SentQueue = Arc<Mutex<VecDeque<Sent>>>;

/// What the event loop tells the publisher.
enum Broker {
    /// Connected; `session_present` false when the broker kept nothing of the last session.
    Connected {
        session_present: bool,
    },
    Acked(Sent),
    /// A message the broker delivered (the agent subscribes to its move windows only).
    Message {
        topic: String,
        payload: Vec<u8>,
    },
}

pub async fn run(
    config: AgentConfig,
    mut fixes: mpsc::UnboundedReceiver<Fix>,
    mut spool: Spool,
    mut floor: SeqFloor,
    mut gate: MoveGate,
    stats: Arc<AgentStats>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let status_topic = status_topic(&config.vehicle);
    let mut options = MqttOptions::new(
        format!("convoy-agent-{}", config.vehicle),
        config.broker.host.clone(),
        config.broker.port,
    );
    options.set_clean_session(false);
    options.set_keep_alive(Duration::from_secs(15));
    options.set_max_packet_size(convoy_core::wire::MAX_PAYLOAD_BYTES + 1024, 64 * 1024);
    options.set_inflight(MAX_BATCHES_IN_FLIGHT as u16 + 8);
    if let Some(files) = &config.broker.tls {
        options.set_transport(crate::tls::mqtt_transport(files)?);
    }
    if let Some(user) = &config.username {
        options.set_credentials(user.clone(), config.password.clone().unwrap_or_default());
    }
    let will = status(&config, "offline", &stats, &mut spool, &gate, started);
    options.set_last_will(LastWill::new(&status_topic, will, QoS::AtLeastOnce, true));
    let (client, eventloop) = AsyncClient::new(options, 64);
    let sent: SentQueue = Arc::default();
    let (broker_tx, mut broker_rx) = mpsc::unbounded_channel();
    // Not a child of `shutdown`: the event loop carries the last batches, the offline status and
    // the DISCONNECT, so it stops last, when told below.
    let poller_stop = CancellationToken::new();
    let poller = tokio::spawn(poll_broker(eventloop, sent.clone(), broker_tx, poller_stop.clone()));

    let mut numbering = Numbering { next: floor.floor().max(spool.last_seq() + 1) };
    let topic = positions_topic(&config.vehicle);
    // Batches handed to the client, oldest first, and whether each was acknowledged.
    let mut in_flight: VecDeque<(u64, bool)> = VecDeque::new();
    let mut session = 0u64;
    let mut connected_before = false;
    let mut status_tick = tokio::time::interval(STATUS_INTERVAL);
    let mut sync_tick = tokio::time::interval(match config.spool.fsync {
        FsyncPolicy::Interval(every) => every,
        _ => Duration::from_secs(3600),
    });
    let mut reader_done = false;
    // When the oldest unsent fix of a short signed batch is due to go anyway.
    let mut linger_until: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            fix = fixes.recv(), if !reader_done => match fix {
                Some(fix) => numbering.record(&mut spool, &mut floor, &gate, &stats, fix)?,
                None => reader_done = true,
            },
            event = broker_rx.recv() => match event {
                Some(Broker::Connected { session_present }) => {
                    tracing::info!(broker = %config.broker.host, session_present, "connected to broker");
                    if !session_present && connected_before {
                        // What was in flight is gone with the session: send it all again.
                        tracing::warn!(batches = in_flight.len(), "the broker kept no session: resending");
                        session += 1;
                        spool.resend_all();
                        in_flight.clear();
                    }
                    connected_before = true;
                    if let Some(windows) = gate.topic() {
                        // Again at every connection: the retained windows come with the answer.
                        if let Err(e) = client.try_subscribe(windows, QoS::AtLeastOnce) {
                            tracing::warn!(error = %e, "cannot subscribe to the move windows yet");
                        }
                    }
                    publish_status(&client, &sent, &status_topic, status(&config, "online", &stats, &mut spool, &gate, started));
                }
                Some(Broker::Message { topic, payload }) if gate.topic().as_deref() == Some(topic.as_str()) => {
                    match gate.learn(&payload) {
                        Ok(()) => tracing::info!(windows = gate.known_windows(), "move windows received"),
                        Err(e) => {
                            tracing::warn!(error = %e, "move windows refused");
                            let reasons = convoy_core::move_windows::WINDOWS_ERROR_REASONS;
                            if let Some(i) = reasons.iter().position(|r| *r == e.reason()) {
                                stats.windows_rejected[i].fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                }
                Some(Broker::Message { topic, .. }) => tracing::warn!(%topic, "a message on a topic the agent did not subscribe to"),
                Some(Broker::Acked(Sent::Positions { last_seq, session: of })) if of == session => {
                    if let Some(batch) = in_flight.iter_mut().find(|(seq, _)| *seq == last_seq) {
                        batch.1 = true;
                    }
                    // Fixes leave the spool in order: only an unbroken run of acknowledged
                    // batches from the oldest moves the head.
                    while in_flight.front().is_some_and(|(_, acked)| *acked) {
                        let (seq, _) = in_flight.pop_front().expect("checked above");
                        spool.ack_through(seq)?;
                    }
                }
                Some(Broker::Acked(_)) => {}
                None => anyhow::bail!("the MQTT event loop stopped"),
            },
            _ = status_tick.tick() => {
                publish_status(&client, &sent, &status_topic, status(&config, "online", &stats, &mut spool, &gate, started));
                write_metrics(&config, &stats, &mut spool);
            }
            _ = sync_tick.tick() => spool.sync()?,
            () = tokio::time::sleep_until(linger_until.unwrap_or_else(tokio::time::Instant::now)), if linger_until.is_some() => {}
            () = shutdown.cancelled(), if !shutdown.is_cancelled() => {}
        }
        while let Ok(fix) = fixes.try_recv() {
            numbering.record(&mut spool, &mut floor, &gate, &stats, fix)?;
        }

        // Hand the client batches, oldest first, up to the in-flight limit. While the broker is
        // away the limit is reached and the rest waits in the spool.
        while in_flight.len() < MAX_BATCHES_IN_FLIGHT {
            let waiting = spool.depth().saturating_sub(spool.in_flight() as u64);
            if config.signing_key.is_some()
                && waiting < config.max_batch_fixes as u64
                && !shutdown.is_cancelled()
            {
                if waiting == 0 {
                    linger_until = None;
                    break;
                }
                let due = *linger_until.get_or_insert_with(|| tokio::time::Instant::now() + SIGNED_LINGER);
                if tokio::time::Instant::now() < due {
                    break;
                }
            }
            linger_until = None;
            let unsent = spool.next_unsent(config.max_batch_fixes)?;
            let Some(last) = unsent.positions.last() else { break };
            let last_seq = last.seq;
            let count = unsent.positions.len() as u64;
            let mut batch = PositionBatch::new(config.vehicle.clone(), unsent.positions);
            if let Some(key) = &config.signing_key {
                // Each batch is signed whatever its boundaries (a resend may cut it otherwise):
                // the chain is per fix, and the prev of the first comes from its spool record.
                let (signed, _head) =
                    BatchSignature::sign(key, &config.vehicle, &unsent.prev, &batch.positions)?;
                batch.signed = Some(signed);
            }
            let signed = u64::from(batch.signed.is_some());
            let payload = batch.encode();
            sent.lock().expect("sent queue poisoned").push_back(Sent::Positions { last_seq, session });
            match client.try_publish(&topic, QoS::AtLeastOnce, false, payload) {
                Ok(()) => {
                    in_flight.push_back((last_seq, false));
                    stats.published.fetch_add(count, Ordering::Relaxed);
                    stats.batches_signed.fetch_add(signed, Ordering::Relaxed);
                }
                Err(e) => {
                    sent.lock().expect("sent queue poisoned").pop_back();
                    if !matches!(e, ClientError::TryRequest(_)) {
                        anyhow::bail!("MQTT client stopped: {e}");
                    }
                    // The client's queue is full: publish these again later (the server
                    // de-duplicates whatever reaches it twice). Acks of what was sent before
                    // no longer count: a batch made again may end at the same seq.
                    session += 1;
                    spool.resend_all();
                    in_flight.clear();
                    break;
                }
            }
        }
        if shutdown.is_cancelled() && (reader_done || fixes.is_closed()) {
            break;
        }
    }
    spool.sync()?;
    floor.raise(numbering.next)?;
    write_metrics(&config, &stats, &mut spool);
    publish_status(
        &client,
        &sent,
        &status_topic,
        status(&config, "offline", &stats, &mut spool, &gate, started),
    );
    let _ = client.try_disconnect();
    let mut poller = poller;
    if tokio::time::timeout(Duration::from_secs(2), &mut poller).await.is_err() {
        // No broker to say goodbye to: stop trying to reach one.
        poller_stop.cancel();
        let _ = poller.await;
    }
    Ok(())
}

/// Numbers fixes as they enter the spool: the spool is what makes a number durable, so a crash
/// can leave no gap in the sequence.
struct Numbering {
    next: u64,
}

impl Numbering {
    /// How often the floor file is raised to follow the spool.
    const FLOOR_EVERY: u64 = 256;

    /// Spools `fix` if the gate admits it; otherwise it is dropped unnumbered, so the numbers
    /// of what is recorded stay without gaps.
    fn record(
        &mut self,
        spool: &mut Spool,
        floor: &mut SeqFloor,
        gate: &MoveGate,
        stats: &AgentStats,
        fix: Fix,
    ) -> anyhow::Result<()> {
        if !gate.admits(fix.t) {
            stats.withheld.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        self.spool(spool, floor, fix)
    }

    fn spool(&mut self, spool: &mut Spool, floor: &mut SeqFloor, fix: Fix) -> anyhow::Result<()> {
        let position = to_position(self.next, fix);
        spool.append(&position).map_err(|e| e.context(format!("spooling fix {}", position.seq)))?;
        self.next += 1;
        if self.next % Self::FLOOR_EVERY == 0 {
            floor.raise(self.next)?;
        }
        Ok(())
    }
}

fn to_position(seq: u64, fix: Fix) -> Position {
    Position {
        seq,
        t: fix.t,
        lat: fix.lat,
        lon: fix.lon,
        alt_m: fix.alt_m,
        speed_mps: fix.speed_mps,
        course_deg: fix.course_deg,
        fix: Some(fix.fix),
        sats: fix.sats,
        hdop: fix.hdop,
        accuracy_m: None,
    }
}

fn publish_status(client: &AsyncClient, sent: &SentQueue, topic: &str, payload: Vec<u8>) {
    sent.lock().expect("sent queue poisoned").push_back(Sent::Status);
    if client.try_publish(topic, QoS::AtLeastOnce, true, payload).is_err() {
        sent.lock().expect("sent queue poisoned").pop_back();
    }
}

/// Drives the connection: connects, reconnects with jittered exponential backoff, resends what
/// the broker has not acknowledged, and reports connections and acknowledgements.
async fn poll_broker(
    mut eventloop: rumqttc::EventLoop,
    sent: SentQueue,
    report: mpsc::UnboundedSender<Broker>,
    stop: CancellationToken,
) {
    let mut backoff = Duration::from_millis(200);
    let mut awaiting_ack: HashMap<u16, Sent> = HashMap::new();
    // Publish requests a failed connection moved from the client's channel to its pending list
    // before they were ever sent: noted in `sent`, with no packet id yet.
    let mut never_sent = 0;
    loop {
        let event = tokio::select! {
            event = eventloop.poll() => event,
            () = stop.cancelled() => return,
        };
        let message = match event {
            Ok(Event::Incoming(Packet::ConnAck(connack))) => {
                backoff = Duration::from_millis(200);
                if !connack.session_present {
                    // rumqttc dropped the unacknowledged publishes: their packet ids are free,
                    // and the notes of those it never sent belong to nothing now.
                    awaiting_ack.clear();
                    let mut sent = sent.lock().expect("sent queue poisoned");
                    for _ in 0..never_sent {
                        sent.pop_front();
                    }
                }
                never_sent = 0;
                Some(Broker::Connected { session_present: connack.session_present })
            }
            Ok(Event::Outgoing(Outgoing::Publish(pkid))) => {
                if let std::collections::hash_map::Entry::Vacant(entry) = awaiting_ack.entry(pkid) {
                    if let Some(note) = sent.lock().expect("sent queue poisoned").pop_front() {
                        entry.insert(note);
                    }
                }
                None
            }
            Ok(Event::Incoming(Packet::PubAck(ack))) => awaiting_ack.remove(&ack.pkid).map(Broker::Acked),
            Ok(Event::Incoming(Packet::Publish(publish))) => {
                Some(Broker::Message { topic: publish.topic, payload: publish.payload.to_vec() })
            }
            Ok(Event::Outgoing(Outgoing::Disconnect)) => return,
            Ok(_) => None,
            Err(e) => {
                never_sent = eventloop
                    .pending
                    .iter()
                    .filter(|request| matches!(request, Request::Publish(p) if p.pkid == 0))
                    .count();
                tracing::warn!(error = %e, retry_in = ?backoff, "broker connection failed");
                let jitter =
                    Duration::from_millis(rand::random::<u64>() % (backoff.as_millis() as u64 / 2 + 1));
                tokio::select! {
                    _ = tokio::time::sleep(backoff + jitter) => {}
                    () = stop.cancelled() => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
                None
            }
        };
        if let Some(message) = message {
            if report.send(message).is_err() {
                return;
            }
        }
    }
}

/// The age of the oldest fix waiting in the spool, in seconds.
fn oldest_age_s(spool: &mut Spool) -> Option<i64> {
    match spool.oldest() {
        Ok(oldest) => oldest.map(|p| (Utc::now() - p.t).num_seconds().max(0)),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the oldest spooled fix");
            None
        }
    }
}

fn write_metrics(config: &AgentConfig, stats: &AgentStats, spool: &mut Spool) {
    let Some(path) = &config.metrics_file else { return };
    let figures = crate::metrics::SpoolFigures {
        depth: spool.depth(),
        dropped: spool.dropped(),
        oldest_age_s: oldest_age_s(spool),
    };
    let text = crate::metrics::render(stats, &figures, crate::gnss_state(stats, Utc::now()));
    if let Err(e) = crate::metrics::write(path, &text) {
        tracing::warn!(error = %e, path = %path.display(), "cannot write the metrics file");
    }
}

fn status(
    config: &AgentConfig,
    state: &str,
    stats: &AgentStats,
    spool: &mut Spool,
    gate: &MoveGate,
    started: Instant,
) -> Vec<u8> {
    let now = Utc::now();
    let oldest_age_s = oldest_age_s(spool);
    let mut report = json!({
        "v": 1,
        "vehicle": config.vehicle,
        "state": state,
        "t": convoy_core::position::format_time(&now),
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_s": started.elapsed().as_secs(),
        "gnss": crate::gnss_state(stats, now),
        "spool_depth": spool.depth(),
        "spool_oldest_age_s": oldest_age_s,
        "spool_dropped": spool.dropped(),
        "fixes": stats.fixes.load(Ordering::Relaxed),
        "thinned": stats.thinned.load(Ordering::Relaxed),
        "privacy": gate.privacy().as_str(),
        "move_windows": gate.known_windows(),
        "withheld": stats.withheld.load(Ordering::Relaxed),
        "windows_rejected": stats.windows_rejected.iter().map(|c| c.load(Ordering::Relaxed)).fold(0u64, u64::saturating_add),
        "no_fix_epochs": stats.no_fix_epochs.load(Ordering::Relaxed),
        "serial_errors": stats.serial_errors.load(Ordering::Relaxed),
        "clock_jumps": stats.clock_jumps.load(Ordering::Relaxed),
        "week_rollover_corrected": stats.week_rollover_corrected.load(Ordering::Relaxed),
        "implausible_dates": stats.implausible_dates.load(Ordering::Relaxed),
        "nmea_rejected": crate::decoder::REJECT_REASONS
            .iter()
            .zip(&stats.nmea_rejected)
            .map(|(reason, count)| (reason.to_string(), count.load(Ordering::Relaxed).into()))
            .collect::<serde_json::Map<String, serde_json::Value>>(),
    });
    // Only with a key (an unsigned agent's report is as it was): which key, never the key.
    if let Some(key) = &config.signing_key {
        report["signing"] = json!(format!("ed25519:{}", key.public().id()));
    }
    report.to_string().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::BrokerAddress;
    use crate::spool::SpoolConfig;
    use convoy_core::topics::MAX_STATUS_BYTES;
    use convoy_core::VehicleId;

    /// The broker refuses a status over `MAX_STATUS_BYTES` (and closes the connection): the
    /// largest the agent can write, every counter at its maximum and the longest vehicle id,
    /// stays under a quarter of it.
    #[test]
    fn the_largest_status_is_well_within_the_brokers_bound() {
        let dir = tempfile::tempdir().unwrap();
        let vehicle = VehicleId::new("v".repeat(convoy_core::vehicle::MAX_VEHICLE_ID_LEN)).unwrap();
        let (mut spool, _) =
            Spool::open(&dir.path().join("spool"), &vehicle, SpoolConfig::default()).unwrap();
        let stats = AgentStats::default();
        for counter in [
            &stats.fixes,
            &stats.no_fix_epochs,
            &stats.serial_errors,
            &stats.clock_jumps,
            &stats.thinned,
            &stats.published,
            &stats.batches_signed,
            &stats.withheld,
            &stats.week_rollover_corrected,
            &stats.implausible_dates,
        ]
        .into_iter()
        .chain(&stats.nmea_rejected)
        .chain(&stats.windows_rejected)
        {
            counter.store(u64::MAX, Ordering::Relaxed);
        }
        let config = AgentConfig {
            serial: "/dev/null".into(),
            baud: 9600,
            vehicle,
            broker: BrokerAddress::plain("localhost", 1883),
            username: None,
            password: None,
            state_dir: dir.path().to_path_buf(),
            max_batch_fixes: 200,
            spool: SpoolConfig::default(),
            heartbeat: None,
            metrics_file: None,
            privacy: crate::privacy::Privacy::MovesOnly,
            signing_key: Some(convoy_core::signing::SecretKey::generate()),
            time_reference: Default::default(),
        };
        let gate = MoveGate::open(config.privacy, &config.vehicle, dir.path());
        let status = status(&config, "offline", &stats, &mut spool, &gate, Instant::now());
        // The spool's three figures and the uptime, here small, may take 20 digits each.
        assert!(status.len() + 4 * 20 <= MAX_STATUS_BYTES / 4, "{} bytes", status.len());
        let report: serde_json::Value = serde_json::from_slice(&status).unwrap();
        let id = config.signing_key.as_ref().unwrap().public().id();
        assert_eq!(report["signing"], json!(format!("ed25519:{id}")), "the key's id, never the key");
    }
}
