//! A vehicle's PUBACK waits until its message is in the database.
//!
//! rumqttd acknowledges a PUBLISH as soon as it holds it in memory. Forwarded as it is, that
//! PUBACK would let the agent drop the fix from its spool while the only copy is in the server's
//! memory, and a crash of the server would lose it. So for the topics ingest stores (positions
//! and status), the door drops rumqttd's PUBACK and sends its own once ingest reports the
//! message committed through the [`CommitLedger`]: the agent's spool lets a fix go only when it
//! is stored, and a crash of either side loses nothing. An OwnTracks phone's locations
//! (`owntracks/{user}/{device}`) are held the same way: whatever ingest does with one (stores
//! it, keeps it private, makes it a dead letter, or reads an `lwt` and keeps nothing), it
//! reports it committed with the rest of its batch. The door also lets vehicles in only once
//! ingest has subscribed, since rumqttd gives what nobody subscribed to to nobody.
//!
//! Messages are matched by content: a keyed hash of topic and payload (the key is random per
//! process, so a vehicle cannot make its message collide with another). Two identical messages
//! are stored once and both acknowledged, which is right: their content is stored.
//!
//! Every QoS 1 PUBACK of a connection goes through one queue, so they reach the vehicle in the
//! order its PUBLISHes came (MQTT 3.1.1, section 4.6): the PUBACKs the door gives at once (a
//! phone's publish on a sub-topic Convoy does not read) wait their turn there too. A PUBACK is sent only after rumqttd's for the same packet id was
//! taken, so the vehicle cannot reuse a packet id that rumqttd still holds.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use convoy_core::phone::owntracks;
use convoy_core::topics::{parse_vehicle_topic, VehicleTopic};

use super::packet::{fixed_header, ClientPacket, FixedHeader, PacketError, PUBACK};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

/// The most PUBACKs held for one connection; past it the door stops reading the vehicle until
/// some are released (MQTT clients keep far fewer in flight: the agent's window is 24).
pub const MAX_HELD_PER_CONNECTION: usize = 1000;

/// A held message still not stored this long after a later message of the same vehicle on the
/// same topic was is taken as lost on the way (the internal broker dropped it): rumqttd keeps
/// one log per topic filter and ingest commits in order, so a message overtaken is not coming.
/// The door then closes the connection and the agent, which still has the fix in its spool,
/// sends it again. (Progress decides, not age: under a long backlog nothing is declared lost.)
pub const OVERTAKEN_GRACE: Duration = Duration::from_secs(10);

/// What a connection's PUBACK side hears, in order: its own held messages and ingest's commits.
#[derive(Debug)]
pub enum AckEvent {
    /// A PUBLISH is on its way to rumqttd and its PUBACK is held. Sent before the PUBLISH is
    /// forwarded, so it is always ahead of the commit and of rumqttd's PUBACK.
    Held(Held),
    /// A message with this key was committed.
    Committed(u64),
    /// A packet the door answers itself, not in the PUBACKs' order (a phone's SUBACK or
    /// UNSUBACK): sent with the next PUBACKs released, or at once.
    Reply(Vec<u8>),
}

/// What a held PUBACK waits for: a message ingest stores (by kind, for the overtaken check),
/// or nothing (the door answers it, in its turn).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeldKind {
    Vehicle(VehicleTopic),
    OwnTracks,
    Answered,
}

/// Ingest's commits, told to the door connections waiting for them.
pub struct CommitLedger {
    keys: RandomState,
    waiting: Mutex<Waiting>,
    /// Whether ingest has subscribed: before, rumqttd would drop what vehicles publish.
    subscribed: tokio::sync::watch::Sender<bool>,
}

#[derive(Default)]
struct Waiting {
    by_key: HashMap<u64, Vec<mpsc::UnboundedSender<AckEvent>>>,
    /// The map's size after the last sweep of closed connections.
    swept_at: usize,
}

impl Default for CommitLedger {
    fn default() -> Self {
        Self {
            keys: RandomState::new(),
            waiting: Mutex::default(),
            subscribed: tokio::sync::watch::Sender::new(false),
        }
    }
}

impl std::fmt::Debug for CommitLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommitLedger").finish_non_exhaustive()
    }
}

impl CommitLedger {
    /// What ingest stores what is published on `topic` as (and will report committed), if it
    /// reads that topic: a vehicle's positions or status, or an OwnTracks phone's messages.
    pub fn stored_topic(topic: &str) -> Option<HeldKind> {
        if let Some((_, kind)) = parse_vehicle_topic(topic) {
            return Some(HeldKind::Vehicle(kind));
        }
        owntracks::parse_topic(topic).map(|_| HeldKind::OwnTracks)
    }

    pub fn key(&self, topic: &str, payload: &[u8]) -> u64 {
        let mut hasher = self.keys.build_hasher();
        topic.hash(&mut hasher);
        payload.hash(&mut hasher);
        hasher.finish()
    }

    /// Ingest holds its subscriptions: from now on rumqttd keeps what vehicles publish for it.
    pub fn ingest_subscribed(&self) {
        self.subscribed.send_replace(true);
    }

    /// Resolves once ingest has subscribed for the first time. (The embedded rumqttd keeps
    /// ingest's session while the process lives, so later reconnections lose nothing.)
    pub async fn until_ingest_subscribed(&self) {
        let mut subscribed = self.subscribed.subscribe();
        let _ = subscribed.wait_for(|subscribed| *subscribed).await;
    }

    /// Tells `to` when a message with `key` is committed.
    pub fn expect(&self, key: u64, to: &mpsc::UnboundedSender<AckEvent>) {
        let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        waiting.by_key.entry(key).or_default().push(to.clone());
        // Connections that ended leave their waits behind: sweep them out whenever the map
        // has doubled, so its size follows the messages really in flight.
        if waiting.by_key.len() > 2 * waiting.swept_at.max(1024) {
            waiting.by_key.retain(|_, senders| {
                senders.retain(|s| !s.is_closed());
                !senders.is_empty()
            });
            waiting.swept_at = waiting.by_key.len();
        }
    }

    /// Called by ingest for each message of a batch once the batch is committed.
    pub fn committed(&self, topic: &str, payload: &[u8]) {
        let key = self.key(topic, payload);
        let waiters = {
            let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
            let waiters = waiting.by_key.remove(&key);
            // Let the sweep threshold follow the map down after a peak.
            if waiting.by_key.len() < waiting.swept_at / 2 {
                waiting.swept_at = waiting.by_key.len();
            }
            waiters
        };
        for waiter in waiters.into_iter().flatten() {
            // A connection that has ended no longer needs to know.
            let _ = waiter.send(AckEvent::Committed(key));
        }
    }

    /// The number of messages waited for (for tests).
    pub fn waiting(&self) -> usize {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner()).by_key.len()
    }
}

/// One QoS 1 PUBLISH whose PUBACK is held.
#[derive(Debug)]
pub struct Held {
    packet_id: u16,
    /// What ingest stores it as.
    topic: HeldKind,
    /// Its ledger key.
    key: u64,
    committed: bool,
    broker_acked: bool,
    /// When a later message on the same topic was committed while this one was not.
    overtaken_at: Option<Instant>,
    /// Counts against [`MAX_HELD_PER_CONNECTION`] until released.
    _permit: OwnedSemaphorePermit,
}

impl Held {
    /// A message ingest stores (`topic`), waiting for its commit (`key`).
    pub fn stored(packet_id: u16, topic: HeldKind, key: u64, permit: OwnedSemaphorePermit) -> Self {
        Self {
            packet_id,
            topic,
            key,
            committed: false,
            broker_acked: false,
            overtaken_at: None,
            _permit: permit,
        }
    }

    /// A PUBLISH the door answers itself (never forwarded): its PUBACK waits only for those
    /// before it.
    pub fn answered(packet_id: u16, permit: OwnedSemaphorePermit) -> Self {
        Self {
            packet_id,
            topic: HeldKind::Answered,
            key: 0,
            committed: true,
            broker_acked: true,
            overtaken_at: None,
            _permit: permit,
        }
    }

    /// Sent to rumqttd on another connection than the vehicle's (its status lane), so no
    /// PUBACK of rumqttd's for this packet id will come: only the commit is waited for.
    pub fn without_broker_ack(mut self) -> Self {
        self.broker_acked = true;
        self
    }
}

/// One connection's held PUBACKs, oldest first.
#[derive(Debug, Default)]
pub struct HeldAcks {
    queue: VecDeque<Held>,
    /// The door's own replies, sent with the next release.
    replies: Vec<u8>,
}

impl HeldAcks {
    /// The permits a connection's holds are counted with.
    pub fn limit() -> Arc<Semaphore> {
        Arc::new(Semaphore::new(MAX_HELD_PER_CONNECTION))
    }

    pub fn apply(&mut self, event: AckEvent) {
        match event {
            AckEvent::Held(held) => self.queue.push_back(held),
            AckEvent::Reply(packet) => self.replies.extend_from_slice(&packet),
            AckEvent::Committed(key) => {
                let Some(index) = self.queue.iter().position(|h| !h.committed && h.key == key) else {
                    return;
                };
                self.queue[index].committed = true;
                let topic = self.queue[index].topic;
                let now = Instant::now();
                for earlier in self.queue.range_mut(..index) {
                    if !earlier.committed && earlier.topic == topic && earlier.overtaken_at.is_none() {
                        earlier.overtaken_at = Some(now);
                    }
                }
            }
        }
    }

    /// rumqttd acknowledged `packet_id`: true if that PUBACK is held (and must not be
    /// forwarded), false if it is not one of ours.
    pub fn broker_acked(&mut self, packet_id: u16) -> bool {
        match self.queue.iter_mut().find(|h| h.packet_id == packet_id && !h.broker_acked) {
            Some(held) => {
                held.broker_acked = true;
                true
            }
            None => false,
        }
    }

    /// Appends the PUBACKs now due, in order: the oldest held messages that are committed and
    /// whose rumqttd PUBACK was taken.
    pub fn release_into(&mut self, out: &mut Vec<u8>) -> usize {
        out.append(&mut self.replies);
        let mut released = 0;
        while self.queue.front().is_some_and(|h| h.committed && h.broker_acked) {
            if let Some(held) = self.queue.pop_front() {
                if tracing::level_enabled!(tracing::Level::DEBUG) {
                    tracing::debug!(
                        pkid = held.packet_id,
                        "PUBACK released: stored and acknowledged by the broker"
                    );
                }
                out.extend_from_slice(&ClientPacket::PubAck(held.packet_id).encode());
                released += 1;
            }
        }
        released
    }

    /// Whether a held message looks lost: a later one on its topic was committed more than
    /// [`OVERTAKEN_GRACE`] ago and it still is not.
    pub fn one_looks_lost(&self) -> bool {
        self.queue
            .iter()
            .any(|h| !h.committed && h.overtaken_at.is_some_and(|t| t.elapsed() > OVERTAKEN_GRACE))
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

/// The length of the first whole packet in bytes from rumqttd, and its packet id if it is a
/// PUBACK. `None` until a whole packet is there. rumqttd is trusted to frame correctly; a
/// remaining length over four bytes ends the connection.
pub fn broker_packet(bytes: &[u8]) -> Result<Option<(usize, Option<u16>)>, PacketError> {
    let Some(FixedHeader { first, header_len, remaining }) = fixed_header(bytes)? else {
        return Ok(None);
    };
    let total = header_len + remaining;
    if bytes.len() < total {
        return Ok(None);
    }
    let puback = (first >> 4 == PUBACK && remaining == 2)
        .then(|| u16::from_be_bytes([bytes[header_len], bytes[header_len + 1]]));
    Ok(Some((total, puback)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(limit: &Arc<Semaphore>, packet_id: u16, key: u64) -> AckEvent {
        held_on(limit, packet_id, VehicleTopic::Positions, key)
    }

    fn held_on(limit: &Arc<Semaphore>, packet_id: u16, topic: VehicleTopic, key: u64) -> AckEvent {
        AckEvent::Held(Held::stored(
            packet_id,
            HeldKind::Vehicle(topic),
            key,
            limit.clone().try_acquire_owned().unwrap(),
        ))
    }

    #[test]
    fn pubacks_wait_for_the_commit_and_for_rumqttd_and_leave_in_order() {
        let limit = HeldAcks::limit();
        let mut acks = HeldAcks::default();
        acks.apply(held(&limit, 1, 10));
        acks.apply(held(&limit, 2, 20));
        let mut out = Vec::new();
        assert!(acks.broker_acked(1) && acks.broker_acked(2));
        assert_eq!(acks.release_into(&mut out), 0, "nothing is committed yet");
        acks.apply(AckEvent::Committed(20));
        assert_eq!(acks.release_into(&mut out), 0, "the second may not overtake the first");
        acks.apply(AckEvent::Committed(10));
        assert_eq!(acks.release_into(&mut out), 2);
        assert_eq!(out, [0x40, 2, 0, 1, 0x40, 2, 0, 2]);
        assert!(acks.is_empty());
        assert_eq!(limit.available_permits(), MAX_HELD_PER_CONNECTION, "permits come back");
    }

    #[test]
    fn a_commit_before_rumqttds_puback_waits_for_it() {
        let limit = HeldAcks::limit();
        let mut acks = HeldAcks::default();
        acks.apply(held(&limit, 7, 70));
        acks.apply(AckEvent::Committed(70));
        let mut out = Vec::new();
        assert_eq!(acks.release_into(&mut out), 0);
        assert!(acks.broker_acked(7));
        assert!(!acks.broker_acked(7), "a second PUBACK for the id is not ours");
        assert_eq!(acks.release_into(&mut out), 1);
    }

    #[test]
    fn the_ledger_tells_every_waiter_once_and_forgets_the_key() {
        let ledger = CommitLedger::default();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let key = ledger.key("convoy/v1/vehicles/a/positions", b"{}");
        assert_ne!(key, ledger.key("convoy/v1/vehicles/b/positions", b"{}"));
        ledger.expect(key, &tx);
        ledger.expect(key, &tx);
        assert_eq!(ledger.waiting(), 1);
        ledger.committed("convoy/v1/vehicles/a/positions", b"{}");
        assert!(matches!(rx.try_recv(), Ok(AckEvent::Committed(k)) if k == key));
        assert!(matches!(rx.try_recv(), Ok(AckEvent::Committed(k)) if k == key));
        assert!(rx.try_recv().is_err());
        assert_eq!(ledger.waiting(), 0);
    }

    #[test]
    fn a_message_overtaken_on_its_topic_is_marked_but_not_a_later_topic_or_a_backlog() {
        let limit = HeldAcks::limit();
        let mut acks = HeldAcks::default();
        acks.apply(held_on(&limit, 1, VehicleTopic::Status, 10));
        acks.apply(held_on(&limit, 2, VehicleTopic::Positions, 20));
        acks.apply(held_on(&limit, 3, VehicleTopic::Positions, 30));
        // Status later than positions is no evidence; nor is waiting long with nothing after it.
        acks.apply(AckEvent::Committed(10));
        assert!(acks.queue.iter().all(|h| h.overtaken_at.is_none()));
        // The third committed while the second was not: the second was overtaken.
        acks.apply(AckEvent::Committed(30));
        assert!(acks.queue[1].overtaken_at.is_some());
        assert!(!acks.one_looks_lost(), "not before the grace has passed");
        acks.queue[1].overtaken_at = Some(Instant::now() - OVERTAKEN_GRACE - Duration::from_secs(1));
        assert!(acks.one_looks_lost());
        // Its commit comes after all: nothing is lost.
        acks.apply(AckEvent::Committed(20));
        assert!(!acks.one_looks_lost());
    }

    #[tokio::test]
    async fn the_door_waits_until_ingest_has_subscribed() {
        let ledger = Arc::new(CommitLedger::default());
        let waiting = tokio::spawn({
            let ledger = ledger.clone();
            async move { ledger.until_ingest_subscribed().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        ledger.ingest_subscribed();
        tokio::time::timeout(Duration::from_secs(10), waiting).await.unwrap().unwrap();
        // Later waits return at once.
        tokio::time::timeout(Duration::from_secs(10), ledger.until_ingest_subscribed()).await.unwrap();
    }

    #[test]
    fn waits_of_ended_connections_are_swept() {
        let ledger = CommitLedger::default();
        for key in 0..3000u64 {
            let (tx, rx) = mpsc::unbounded_channel();
            drop(rx);
            ledger.expect(key, &tx);
        }
        assert!(ledger.waiting() < 2100, "{} waits kept", ledger.waiting());
    }

    #[test]
    fn only_positions_status_and_owntracks_locations_wait_for_a_commit() {
        assert_eq!(
            CommitLedger::stored_topic("convoy/v1/vehicles/a/positions"),
            Some(HeldKind::Vehicle(VehicleTopic::Positions))
        );
        assert_eq!(
            CommitLedger::stored_topic("convoy/v1/vehicles/a/status"),
            Some(HeldKind::Vehicle(VehicleTopic::Status))
        );
        assert_eq!(CommitLedger::stored_topic("convoy/v1/vehicles/a/other"), None);
        assert_eq!(CommitLedger::stored_topic("owntracks/ana/pixel"), Some(HeldKind::OwnTracks));
        assert_eq!(CommitLedger::stored_topic("owntracks/ana/pixel/event"), None);
    }

    #[test]
    fn an_answered_puback_waits_for_those_before_it_and_replies_go_at_once() {
        let limit = HeldAcks::limit();
        let mut acks = HeldAcks::default();
        acks.apply(held(&limit, 1, 10));
        acks.apply(AckEvent::Held(Held::answered(2, limit.clone().try_acquire_owned().unwrap())));
        acks.apply(AckEvent::Reply(vec![0x90, 3, 0, 3, 0x80]));
        let mut out = Vec::new();
        assert_eq!(acks.release_into(&mut out), 0);
        assert_eq!(out, [0x90, 3, 0, 3, 0x80], "the SUBACK does not wait");
        out.clear();
        assert!(acks.broker_acked(1));
        acks.apply(AckEvent::Committed(10));
        assert_eq!(acks.release_into(&mut out), 2);
        assert_eq!(out, [0x40, 2, 0, 1, 0x40, 2, 0, 2]);
    }

    #[test]
    fn broker_packets_are_framed_and_pubacks_read() {
        assert_eq!(broker_packet(&[]), Ok(None));
        assert_eq!(broker_packet(&[0x40, 2, 0]), Ok(None));
        assert_eq!(broker_packet(&[0x40, 2, 1, 2, 0xd0]), Ok(Some((4, Some(258)))));
        assert_eq!(broker_packet(&[0xd0, 0]), Ok(Some((2, None))));
        // A PUBLISH of 200 bytes: two length bytes.
        let mut publish = vec![0x30, 0xc8, 0x01];
        publish.extend(std::iter::repeat_n(0, 200));
        assert_eq!(broker_packet(&publish), Ok(Some((203, None))));
        assert!(broker_packet(&[0x30, 0xff, 0xff, 0xff, 0xff, 0x01]).is_err());
    }
}
