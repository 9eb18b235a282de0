//! The gate a listener admits each accepted connection through: at most its cap open at once,
//! and when it is full, the connections that have said nothing yet go first.
//!
//! Until a connection has *spoken* (sent its first HTTP request, or its MQTT CONNECT) it costs a
//! descriptor and gives nothing, and so does a keep-alive HTTP connection waiting for its next
//! request; a crowd of such *silent* connections must not keep out a client that has something
//! to say. So the listener accepts first and asks the gate after: at the cap, the oldest silent
//! connection is closed to make room; when a quarter of the places or fewer are free, a
//! connection silent for longer than the gate's short grace is closed too. A vehicle logged in,
//! a live feed or a request under way is never closed by the gate: when every place is held by
//! such connections, the new one is closed instead. Each closing is counted in
//! `convoy_connections_shed_total{listener, reason}`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prometheus::{IntCounter, IntGauge};
use tokio_util::sync::CancellationToken;

use crate::metrics::ConnectionMetrics;
use crate::warn_limit::WarnLimit;

/// Why the gate closed a connection: the `reason` label of `convoy_connections_shed_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShedReason {
    /// Silent past the short grace while the listener was near its cap.
    SilentNearCap,
    /// The oldest silent connection, closed to make room for a new one at the cap.
    OldestSilent,
    /// A new connection, closed because no place is held by a silent connection.
    Full,
    /// The oldest silent connection, closed because accepting failed for lack of descriptors.
    OutOfDescriptors,
}

impl ShedReason {
    pub const ALL: [ShedReason; 4] =
        [ShedReason::SilentNearCap, ShedReason::OldestSilent, ShedReason::Full, ShedReason::OutOfDescriptors];

    pub fn label(self) -> &'static str {
        match self {
            ShedReason::SilentNearCap => "silent_near_cap",
            ShedReason::OldestSilent => "oldest_silent",
            ShedReason::Full => "full",
            ShedReason::OutOfDescriptors => "out_of_descriptors",
        }
    }
}

/// How long a listener waits after a failed accept (out of descriptors, most likely): long
/// enough not to spin, short enough that a freed descriptor is soon used.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);
/// At most one warning of each kind per listener this often.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// One listener's gate (shared by its plain and TLS listeners).
pub struct Gate {
    listener: &'static str,
    cap: usize,
    silent_grace: Duration,
    state: Mutex<State>,
    open: IntGauge,
    shed: [IntCounter; 4],
    accept_failed: IntCounter,
    full_warning: WarnLimit,
    shed_warning: WarnLimit,
    accept_warning: WarnLimit,
}

#[derive(Default)]
struct State {
    /// Connections admitted and not yet closed or shed.
    held: usize,
    next_id: u64,
    /// The silent connections (not spoken yet, or between requests), longest silent first
    /// (keys only grow).
    silent: BTreeMap<u64, Silent>,
}

struct Silent {
    since: Instant,
    shed: CancellationToken,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("listener", &self.listener)
            .field("cap", &self.cap)
            .finish_non_exhaustive()
    }
}

impl Gate {
    /// A gate of `cap` connections for `listener` (`http`, `mqtt`); when it is near the cap, a
    /// connection silent for longer than `silent_grace` is closed.
    pub fn new(
        listener: &'static str,
        cap: usize,
        silent_grace: Duration,
        metrics: &ConnectionMetrics,
    ) -> Arc<Self> {
        metrics.listener(listener);
        metrics.cap.with_label_values(&[listener]).set(cap as i64);
        Arc::new(Self {
            listener,
            cap: cap.max(1),
            silent_grace,
            state: Mutex::default(),
            open: metrics.open.with_label_values(&[listener]),
            shed: ShedReason::ALL.map(|reason| metrics.shed.with_label_values(&[listener, reason.label()])),
            accept_failed: metrics.accept_failed.with_label_values(&[listener]),
            full_warning: WarnLimit::new(WARN_EVERY),
            shed_warning: WarnLimit::new(WARN_EVERY),
            accept_warning: WarnLimit::new(WARN_EVERY),
        })
    }

    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Connections held now.
    pub fn held(&self) -> usize {
        self.lock().held
    }

    /// Admits a connection just accepted, closing silent ones to make room; `None` when no place
    /// is held by a silent connection (the caller closes the new one).
    pub fn admit(self: &Arc<Self>) -> Option<Admitted> {
        let now = Instant::now();
        let mut state = self.lock();
        if self.cap.saturating_sub(state.held) <= self.cap / 4 {
            while let Some(oldest) = state.silent.first_entry() {
                if now.duration_since(oldest.get().since) < self.silent_grace {
                    break;
                }
                let silent = oldest.remove();
                self.shed_one(&mut state, silent, ShedReason::SilentNearCap);
            }
        }
        if state.held >= self.cap {
            let Some((_, oldest)) = state.silent.pop_first() else {
                self.shed[ShedReason::Full as usize].inc();
                drop(state);
                if let Some(skipped) = self.full_warning.ready() {
                    tracing::warn!(
                        listener = self.listener,
                        cap = self.cap,
                        refused_unlogged = skipped,
                        "connection refused: every place is held by a vehicle, a live feed or a request under way"
                    );
                }
                return None;
            };
            self.shed_one(&mut state, oldest, ShedReason::OldestSilent);
        }
        state.held += 1;
        let id = state.next_id;
        state.next_id += 1;
        let shed = CancellationToken::new();
        state.silent.insert(id, Silent { since: now, shed: shed.clone() });
        self.open.set(state.held as i64);
        let place = Place { silent_key: Some(id), busy: 0, spoke: false };
        Some(Admitted { gate: self.clone(), shed, place: Mutex::new(place) })
    }

    /// After a failed accept: counts it, closes the oldest silent connection if descriptors ran
    /// out, warns (at most every 10 s) and waits a little, so the accept loop never spins.
    pub async fn accept_failed(&self, error: &std::io::Error) {
        self.accept_failed.inc();
        let out_of_descriptors = matches!(error.raw_os_error(), Some(code) if is_out_of_descriptors(code));
        if out_of_descriptors {
            let mut state = self.lock();
            if let Some((_, oldest)) = state.silent.pop_first() {
                self.shed_one(&mut state, oldest, ShedReason::OutOfDescriptors);
            }
        }
        if let Some(skipped) = self.accept_warning.ready() {
            tracing::warn!(
                listener = self.listener,
                error = %error,
                unlogged_since = skipped,
                "cannot accept a connection; retrying shortly"
            );
        }
        tokio::time::sleep(ACCEPT_RETRY).await;
    }

    fn shed_one(&self, state: &mut State, silent: Silent, reason: ShedReason) {
        state.held -= 1;
        silent.shed.cancel();
        self.shed[reason as usize].inc();
        self.open.set(state.held as i64);
        if let Some(skipped) = self.shed_warning.ready() {
            tracing::warn!(
                listener = self.listener,
                cap = self.cap,
                reason = reason.label(),
                unlogged_since = skipped,
                "closing a silent connection (nothing asked yet, or waiting to ask again): the listener is at or near its cap"
            );
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// EMFILE (this process) or ENFILE (the whole system).
fn is_out_of_descriptors(code: i32) -> bool {
    code == nix::errno::Errno::EMFILE as i32 || code == nix::errno::Errno::ENFILE as i32
}

/// A place at the gate, held until dropped.
pub struct Admitted {
    gate: Arc<Gate>,
    shed: CancellationToken,
    place: Mutex<Place>,
}

/// Where a connection stands. (Lock order: a place, then its gate's state.)
struct Place {
    /// Its key among the gate's silent connections, while it is one.
    silent_key: Option<u64>,
    /// Requests under way ([`Busy`] guards alive).
    busy: usize,
    /// It has spoken for good: never silent again.
    spoke: bool,
}

impl std::fmt::Debug for Admitted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admitted").field("listener", &self.gate.listener).finish_non_exhaustive()
    }
}

impl Admitted {
    /// The client has spoken for good (a vehicle's CONNECT, a WebSocket's upgrade): from now on
    /// the gate never closes this connection.
    pub fn spoke(&self) {
        let mut place = self.lock();
        place.spoke = true;
        self.leave_silent(&mut place);
    }

    /// A request is under way until the guard is dropped (with its answer sent): meanwhile the
    /// gate never closes this connection. Once no request is under way, a connection that has
    /// not [`spoke`](Self::spoke) for good counts as silent again, as a keep-alive connection
    /// waiting for its next request is.
    pub fn busy(self: &Arc<Self>) -> Busy {
        let mut place = self.lock();
        place.busy += 1;
        self.leave_silent(&mut place);
        Busy(self.clone())
    }

    /// Resolves if the gate closes this connection (only ever while it is silent): the
    /// connection's task drops it then.
    pub async fn shed(&self) {
        self.shed.cancelled().await
    }

    fn leave_silent(&self, place: &mut Place) {
        if let Some(key) = place.silent_key.take() {
            self.gate.lock().silent.remove(&key);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Place> {
        self.place.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A request under way on an admitted connection (see [`Admitted::busy`]).
pub struct Busy(Arc<Admitted>);

impl std::fmt::Debug for Busy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Busy").field(&self.0).finish()
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let admitted = &self.0;
        let mut place = admitted.lock();
        place.busy -= 1;
        if place.busy > 0 || place.spoke || admitted.shed.is_cancelled() {
            return;
        }
        // Silent again, as the newest: its wait for a next request starts now.
        let mut state = admitted.gate.lock();
        let key = state.next_id;
        state.next_id += 1;
        state.silent.insert(key, Silent { since: Instant::now(), shed: admitted.shed.clone() });
        place.silent_key = Some(key);
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let silent_key = self.lock().silent_key.take();
        let mut state = self.gate.lock();
        if let Some(key) = silent_key {
            state.silent.remove(&key);
        }
        // A shed connection's place was given back when it was shed.
        if !self.shed.is_cancelled() {
            state.held -= 1;
            self.gate.open.set(state.held as i64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus::Registry;

    fn gate(cap: usize, grace: Duration) -> (Arc<Gate>, ConnectionMetrics) {
        let metrics = ConnectionMetrics::new(&Registry::new()).unwrap();
        (Gate::new("http", cap, grace, &metrics), metrics)
    }

    fn shed_count(metrics: &ConnectionMetrics, reason: ShedReason) -> u64 {
        metrics.shed.with_label_values(&["http", reason.label()]).get()
    }

    fn is_shed(admitted: &Admitted) -> bool {
        admitted.shed.is_cancelled()
    }

    #[test]
    fn at_the_cap_the_oldest_silent_connection_makes_room() {
        let (gate, metrics) = gate(4, Duration::from_secs(3600));
        let first = gate.admit().unwrap();
        let second = gate.admit().unwrap();
        second.spoke();
        let rest: Vec<_> = (0..2).map(|_| gate.admit().unwrap()).collect();
        assert_eq!(gate.held(), 4);
        let newest = gate.admit().unwrap();
        assert!(is_shed(&first) && !is_shed(&second) && !rest.iter().any(is_shed) && !is_shed(&newest));
        assert_eq!(gate.held(), 4);
        assert_eq!(shed_count(&metrics, ShedReason::OldestSilent), 1);
        drop(first);
        assert_eq!(gate.held(), 4, "a shed connection's place is not given back twice");
    }

    #[test]
    fn connections_that_have_spoken_are_never_shed_the_new_one_is_refused() {
        let (gate, metrics) = gate(3, Duration::ZERO);
        let held: Vec<_> = (0..3).map(|_| gate.admit().unwrap()).collect();
        held.iter().for_each(Admitted::spoke);
        assert!(gate.admit().is_none());
        assert!(!held.iter().any(is_shed));
        assert_eq!(shed_count(&metrics, ShedReason::Full), 1);
        drop(held);
        assert_eq!(gate.held(), 0);
        assert!(gate.admit().is_some());
    }

    #[test]
    fn near_the_cap_connections_silent_past_the_grace_are_closed() {
        let (gate, metrics) = gate(8, Duration::ZERO);
        // Below three quarters nobody is closed for silence.
        let early: Vec<_> = (0..6).map(|_| gate.admit().unwrap()).collect();
        assert!(!early.iter().any(is_shed));
        // With a quarter or fewer free, the silent ones past the (zero) grace go.
        let spoken = &early[0];
        spoken.spoke();
        let late = gate.admit().unwrap();
        assert!(early[1..].iter().all(is_shed) && !is_shed(spoken) && !is_shed(&late));
        assert_eq!(shed_count(&metrics, ShedReason::SilentNearCap), 5);
        assert_eq!(gate.held(), 2);
    }

    #[test]
    fn a_silent_connection_within_the_grace_stays_below_the_cap() {
        let (gate, _) = gate(4, Duration::from_secs(3600));
        let held: Vec<_> = (0..4).map(|_| gate.admit().unwrap()).collect();
        assert!(!held.iter().any(is_shed));
    }

    #[tokio::test]
    async fn running_out_of_descriptors_closes_the_oldest_silent_connection() {
        let (gate, metrics) = gate(4, Duration::from_secs(3600));
        let oldest = gate.admit().unwrap();
        let spoken = gate.admit().unwrap();
        spoken.spoke();
        let emfile = std::io::Error::from_raw_os_error(nix::errno::Errno::EMFILE as i32);
        gate.accept_failed(&emfile).await;
        assert!(is_shed(&oldest) && !is_shed(&spoken));
        assert_eq!(shed_count(&metrics, ShedReason::OutOfDescriptors), 1);
        assert_eq!(metrics.accept_failed.with_label_values(&["http"]).get(), 1);
        gate.accept_failed(&std::io::Error::other("something else")).await;
        assert!(!is_shed(&spoken));
    }

    #[test]
    fn a_request_under_way_is_never_shed_and_after_it_the_connection_is_silent_again() {
        let (gate, _) = gate(2, Duration::from_secs(3600));
        let keep_alive = Arc::new(gate.admit().unwrap());
        let request = keep_alive.busy();
        let second_request = keep_alive.busy();
        let other = gate.admit().unwrap();
        // At the cap: the other, silent, goes; the one with requests under way stays.
        let third = gate.admit().unwrap();
        assert!(is_shed(&other) && !is_shed(&keep_alive));
        drop(request);
        let fourth = gate.admit().unwrap();
        assert!(is_shed(&third) && !is_shed(&keep_alive), "one request is still under way");
        fourth.spoke();
        drop(second_request);
        // Waiting for its next request, it is the silent one to go.
        let _fifth = gate.admit().unwrap();
        assert!(is_shed(&keep_alive));
    }

    #[test]
    fn a_connection_that_spoke_for_good_stays_after_its_requests() {
        let (gate, metrics) = gate(1, Duration::from_secs(3600));
        let upgraded = Arc::new(gate.admit().unwrap());
        let request = upgraded.busy();
        upgraded.spoke();
        drop(request);
        assert!(gate.admit().is_none());
        assert!(!is_shed(&upgraded));
        assert_eq!(shed_count(&metrics, ShedReason::Full), 1);
    }

    #[tokio::test]
    async fn shed_resolves_only_for_a_shed_connection() {
        let (gate, _) = gate(1, Duration::from_secs(3600));
        let first = gate.admit().unwrap();
        first.spoke();
        assert!(tokio::time::timeout(Duration::from_millis(10), first.shed()).await.is_err());
        drop(first);
        let silent = gate.admit().unwrap();
        let _next = gate.admit().unwrap();
        silent.shed().await;
    }
}
