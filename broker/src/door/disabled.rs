//! Disabled vehicles at the door: which vehicles are disabled, read from the store every
//! [`DISABLED_CHECK_INTERVAL`] in one query whatever the fleet's size, so that a connected
//! vehicle is closed within twice that (one read, and the next if the change lands just after
//! a read). Logging in checks the store itself; this is for connections already open.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use convoy_core::VehicleId;
use convoy_store::Store;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::login::Client;

/// How often the door reads which vehicles are disabled.
pub const DISABLED_CHECK_INTERVAL: Duration = Duration::from_secs(5);

/// The disabled vehicles, as last read.
pub(super) struct DisabledVehicles {
    set: watch::Sender<Arc<HashSet<VehicleId>>>,
}

impl DisabledVehicles {
    pub(super) fn new() -> Self {
        let (set, _) = watch::channel(Arc::default());
        Self { set }
    }

    /// Reads the disabled vehicles every `every` until `shutdown`. A failed read keeps the
    /// last set.
    pub(super) async fn watch(&self, store: &Store, every: Duration, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = shutdown.cancelled() => return,
            }
            match store.disabled_vehicles().await {
                Ok(ids) => {
                    let ids: HashSet<VehicleId> = ids.into_iter().collect();
                    self.set.send_if_modified(|set| {
                        let changed = **set != ids;
                        if changed {
                            *set = Arc::new(ids);
                        }
                        changed
                    });
                }
                Err(e) => tracing::warn!(error = %e, "cannot read the disabled vehicles"),
            }
        }
    }

    /// Returns once `client` is a disabled vehicle; never for a phone. The set read may be up
    /// to one interval old (a vehicle enabled since, and logged in again): when it names the
    /// vehicle, the store decides, and a stale entry is asked again after an interval.
    pub(super) async fn until_disabled(&self, store: &Store, client: &Client) {
        let Client::Vehicle(vehicle) = client else { return std::future::pending().await };
        let mut disabled = self.set.subscribe();
        loop {
            if disabled.wait_for(|set| set.contains(vehicle)).await.is_err() {
                return std::future::pending().await;
            }
            match store.vehicle_login(vehicle).await {
                Ok(Some(login)) if !login.disabled => {}
                Ok(_) => return,
                Err(e) => tracing::warn!(error = %e, "cannot read whether the vehicle is disabled"),
            }
            tokio::time::sleep(DISABLED_CHECK_INTERVAL).await;
        }
    }
}
