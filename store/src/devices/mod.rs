//! Phones registered to report a vehicle's positions through an app (OwnTracks, Traccar
//! Client): which vehicle each reports for, whose phone it is, and its secret's hash.

mod postgres;
mod sqlite;

use chrono::{DateTime, Utc};
use convoy_core::VehicleId;

use crate::{Result, StoreError};

/// The app a phone reports through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    /// OwnTracks, over MQTT or HTTP; `name` is its user name (its login).
    OwnTracks,
    /// Traccar Client (the OsmAnd protocol); `name` is its device id.
    Traccar,
}

impl DeviceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::OwnTracks => "owntracks",
            DeviceKind::Traccar => "traccar",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "owntracks" => Some(DeviceKind::OwnTracks),
            "traccar" => Some(DeviceKind::Traccar),
            _ => None,
        }
    }
}

/// A registered phone.
#[derive(Clone, Debug, PartialEq)]
pub struct Device {
    pub kind: DeviceKind,
    /// The OwnTracks user name or the Traccar device id: unique per kind.
    pub name: String,
    /// OwnTracks only: the device part of its topic (`owntracks/{name}/{device}`).
    pub owntracks_device: Option<String>,
    /// Whose positions it reports.
    pub vehicle: VehicleId,
    /// The person the phone belongs to, if any: it is then tracked only while a move that
    /// person escorts is running.
    pub person: Option<String>,
    /// The device's secret as `convoy_registry::vehicle_key` keeps a vehicle's password.
    pub secret_hash: String,
    pub created_at: DateTime<Utc>,
}

impl Device {
    /// What its fixes are stored with as their source: `owntracks:NAME` or `traccar:ID`.
    pub fn source(&self) -> String {
        format!("{}:{}", self.kind.as_str(), self.name)
    }
}

forward! {
    /// Registers a phone; `AlreadyExists` if its kind and name are taken.
    pub async fn add_device(&self, device: &Device) -> Result<()>;

    pub async fn device(&self, kind: DeviceKind, name: &str) -> Result<Option<Device>>;

    /// Every registered phone, by kind and name.
    pub async fn devices(&self) -> Result<Vec<Device>>;

    /// Removes a phone; whether it existed. Its stored fixes stay.
    pub async fn remove_device(&self, kind: DeviceKind, name: &str) -> Result<bool>;
}

fn parse_kind(text: &str) -> Result<DeviceKind> {
    DeviceKind::parse(text).ok_or_else(|| StoreError::Corrupt(format!("device kind {text:?}")))
}
