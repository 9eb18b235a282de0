//! People's OwnTracks phones, switched between move mode and quiet mode: a phone that belongs
//! to a person is told to report often while a move that person escorts is running and to
//! report nothing otherwise. The command is retained on the phone's own
//! `owntracks/USER/DEVICE/cmd` (the only topic it may subscribe to). Ingest refuses fixes
//! outside the person's moves whatever the phone does: this only spares the phone, and the
//! person, the reporting.

use chrono::{DateTime, Utc};
use convoy_core::phone::owntracks::command_topic;
use convoy_registry::phones::{owntracks_monitoring_command, Monitoring, Tracking};
use convoy_store::{DeviceKind, MoveCrew, Store};

use super::Retained;

/// The command each person's OwnTracks phone should have now, given every move's crew.
pub async fn wanted(
    store: &Store,
    crews: &[MoveCrew],
    now: DateTime<Utc>,
) -> convoy_store::Result<Vec<Retained>> {
    let devices = store.devices().await?;
    let mut wanted = Vec::new();
    for device in devices.iter().filter(|d| d.kind == DeviceKind::OwnTracks && d.person.is_some()) {
        let mode = if Tracking::among(store, device, crews).await?.at(now) {
            Monitoring::Move
        } else {
            Monitoring::Quiet
        };
        wanted.push(Retained {
            topic: command_topic(&device.name, device.owntracks_device.as_deref().unwrap_or_default()),
            payload: owntracks_monitoring_command(mode).to_string().into_bytes(),
        });
    }
    Ok(wanted)
}
