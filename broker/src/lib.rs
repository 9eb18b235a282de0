//! The embedded MQTT broker, so a small site needs nothing else installed: rumqttd on a private
//! loopback port ([`embedded`]) behind Convoy's own front door ([`door`]), which logs each
//! vehicle in, lets it publish only as itself, and holds its PUBACKs until ingest has stored
//! what it sent. A site with Mosquitto uses none of this.

pub mod door;
pub mod embedded;
mod metrics;

pub use embedded::{
    start, BrokerListeners, DoorTls, EmbeddedBroker, InternalClient, MAX_CONNECTIONS, MAX_PACKET_BYTES,
    SILENT_NEAR_CAP,
};
pub use metrics::BrokerMetrics;
