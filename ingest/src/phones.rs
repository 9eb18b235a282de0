//! OwnTracks messages arriving through the broker (`owntracks/USER/DEVICE`): each is checked
//! against the phone registered under that user name and stored as its vehicle's fixes, with
//! the phone as their source. A fix a person's phone took outside that person's moves is
//! refused and counted, and never stored, not even as a dead letter: where a person was off
//! duty is not the company's business.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use convoy_core::phone::owntracks::{self, Message};
use convoy_registry::phones::Tracking;
use convoy_store::{Device, DeviceKind, Store, StoreError, VehiclePositions};
use rumqttc::Publish;

use crate::Verdict;

/// How long a phone's registration and its person's moves are trusted before they are read
/// again (a phone removed, a move added to a person's team).
const REREAD_AFTER: Duration = Duration::from_secs(30);

/// What ingest has read of the phones it has heard from: each one's registration and when its
/// fixes may be kept.
#[derive(Default)]
pub(crate) struct KnownPhones {
    /// By OwnTracks user name; `None` if no phone is registered under it.
    phones: HashMap<String, (Option<(Device, Tracking)>, Instant)>,
}

impl KnownPhones {
    /// Reads what a batch's OwnTracks messages need and ingest does not know yet (or knows too
    /// long), one lookup per phone. Fails only if the store does: a store outage must not turn
    /// a phone's messages into dead letters.
    pub(crate) async fn learn(&mut self, batch: &[Publish], store: &Store) -> Result<(), StoreError> {
        for publish in batch {
            let Some((user, _)) = owntracks::parse_topic(&publish.topic) else { continue };
            if self.phones.get(user).is_none_or(|(_, at)| at.elapsed() > REREAD_AFTER) {
                let known = match store.device(DeviceKind::OwnTracks, user).await? {
                    Some(device) => Some((device.clone(), Tracking::of(store, &device).await?)),
                    None => None,
                };
                self.phones.insert(user.to_string(), (known, Instant::now()));
            }
        }
        Ok(())
    }

    /// What to do with one message on `owntracks/{user}/{device}` (after [`Self::learn`]).
    pub(crate) fn check(&self, publish: &Publish, user: &str, device: &str, now: DateTime<Utc>) -> Verdict {
        let Some((Some((phone, tracking)), _)) = self.phones.get(user) else {
            let detail = format!("no OwnTracks phone is registered as {user}");
            return Verdict::Reject { reason: "unknown_device", detail };
        };
        if phone.owntracks_device.as_deref() != Some(device) {
            let detail = format!("OwnTracks user {user} is registered with another device than {device}");
            return Verdict::Reject { reason: "device_mismatch", detail };
        }
        if publish.payload.is_empty() {
            // A retained message being cleared.
            return Verdict::Nothing;
        }
        let location = match owntracks::decode(&publish.payload, now) {
            Ok(Message::Location(location)) => location,
            // Its last will, a region event, a card: nothing Convoy keeps.
            Ok(Message::Other { .. }) => return Verdict::Nothing,
            Err(e) => return Verdict::Reject { reason: e.reason(), detail: e.to_string() },
        };
        let position = location.fix.position;
        if !tracking.at(position.t) {
            return Verdict::Private;
        }
        Verdict::Store(VehiclePositions {
            vehicle: phone.vehicle.clone(),
            positions: vec![position],
            source: Some(phone.source()),
            chain: None,
        })
    }
}
