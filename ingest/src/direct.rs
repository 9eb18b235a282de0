//! Positions that reach Convoy other than through the broker: a phone's HTTP request (OwnTracks
//! in HTTP mode, Traccar Client). They are stored the way a broker message is (marked against
//! the vehicle's latest fix, committed in one transaction, the same (vehicle, seq, t) key), and
//! once committed they go to the alert rules and the live feed like ingest's own commits.
//!
//! The caller answers its client only after [`DirectIntake::store`] returns: the apps take any
//! answer as "delivered" (OwnTracks even a 5xx), so nothing is answered before the commit.

use chrono::{SubsecRound as _, Utc};
use convoy_store::{IngestWrite, Retention, Store, StoreError, VehiclePositions, WriteOutcome};
use tokio::sync::mpsc;

use crate::{Committed, IngestMetrics};

/// Stores positions from outside the broker, as ingest stores the broker's. Cheap to clone.
#[derive(Clone)]
pub struct DirectIntake {
    store: Store,
    retention: Option<Retention>,
    metrics: IngestMetrics,
    committed: Option<mpsc::UnboundedSender<Committed>>,
}

impl DirectIntake {
    /// `committed` is where ingest's own commits go (the alert service, the live feed).
    pub fn new(
        store: Store,
        retention: Option<Retention>,
        metrics: IngestMetrics,
        committed: Option<mpsc::UnboundedSender<Committed>>,
    ) -> Self {
        Self { store, retention, metrics, committed }
    }

    /// Commits one vehicle's positions, then tells the live consumers of the fresh ones. A
    /// store failure is returned, nothing half-stored: the caller answers with an error and the
    /// app sends the positions again.
    pub async fn store(&self, positions: VehiclePositions) -> Result<WriteOutcome, StoreError> {
        // To the millisecond, as every backend stores it (see `prepare` in the crate root).
        let now = Utc::now().trunc_subsecs(3);
        let write = IngestWrite {
            oldest_kept: self.retention.map(|r| r.cutoff(now)),
            positions: vec![positions],
            ..IngestWrite::default()
        };
        let started = std::time::Instant::now();
        let outcome = match self.store.write_ingest(&write).await {
            Ok(outcome) => outcome,
            Err(e) => {
                self.metrics.store_errors.inc();
                return Err(e);
            }
        };
        self.metrics.committed(&outcome, started.elapsed());
        if let Some(to) = &self.committed {
            if !outcome.fresh.is_empty() {
                let _ = to.send(Committed {
                    received_at: outcome.received_at,
                    fresh: outcome.fresh.clone(),
                    statuses: Vec::new(),
                    integrity: Vec::new(),
                });
            }
        }
        Ok(outcome)
    }
}
