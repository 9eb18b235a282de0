//! Where a phone's positions go once the gateway has checked them: the server's direct intake
//! (ingest's way of storing, then the alert rules and the live feed). The gateway never imports
//! ingest; `src/server.rs` implements this trait over `convoy_ingest::DirectIntake`.

use std::future::Future;
use std::pin::Pin;

use convoy_store::{StoreError, VehiclePositions, WriteOutcome};

/// What [`PhoneIntake::store`] returns.
pub type Stored<'a> = Pin<Box<dyn Future<Output = Result<WriteOutcome, StoreError>> + Send + 'a>>;

/// Stores a phone's positions as ingest stores a vehicle's.
pub trait PhoneIntake: Send + Sync + 'static {
    /// Commits one vehicle's positions (stored once by (vehicle, seq, t)) and, once committed,
    /// hands the fresh ones to the alert rules and the live feed. A failure stored nothing.
    fn store(&self, positions: VehiclePositions) -> Stored<'_>;
}
