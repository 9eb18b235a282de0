//! Phones as trackers: registering an OwnTracks or Traccar Client phone to a vehicle gives it a
//! random secret, shown once, kept as a vehicle's password is (a salted HMAC: the secret is
//! never chosen by a person, so a slow hash would buy nothing). The MQTT door, ingest and the
//! HTTP intakes check it here, one way.

use chrono::Utc;
use convoy_core::VehicleId;
use convoy_store::{Device, DeviceKind, MoveCrew, Store, StoreError};

use crate::credentials::random_password;
use crate::vehicle_key::{hash_vehicle_password, StoredVehicleHash, DUMMY_VEHICLE_HASH};

/// The longest phone name (an OwnTracks user or device, a Traccar device id).
pub const MAX_PHONE_NAME: usize = 64;

/// A phone to register.
#[derive(Clone, Debug)]
pub struct NewPhone {
    pub kind: DeviceKind,
    /// The OwnTracks user name (its login, one per phone) or the Traccar device id.
    pub name: String,
    /// OwnTracks only: the app's device id, the last level of its topic.
    pub owntracks_device: Option<String>,
    pub vehicle: VehicleId,
    /// The person whose phone it is: tracked only during the moves that person escorts.
    pub person: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AddPhoneError {
    #[error("{0}")]
    BadName(String),
    #[error("vehicle {0} is not registered")]
    UnknownVehicle(VehicleId),
    #[error("no person is named {0}")]
    UnknownPerson(String),
    #[error("a {kind} phone named {name} is already registered")]
    AlreadyExists { kind: &'static str, name: String },
    #[error(transparent)]
    Store(StoreError),
}

/// Whether `name` may name a phone: 1 to 64 ASCII letters, digits, `.`, `_` or `-`, so it is
/// one MQTT topic level, a Mosquitto user name and a URL path segment without escaping.
pub fn valid_phone_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_PHONE_NAME
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Registers a phone with a new random secret and returns the device and the secret: it is
/// shown once and cannot be recovered.
pub async fn register_phone(store: &Store, phone: NewPhone) -> Result<(Device, String), AddPhoneError> {
    if !valid_phone_name(&phone.name) {
        return Err(AddPhoneError::BadName(format!(
            "phone name {:?} must be 1 to {MAX_PHONE_NAME} letters, digits, '.', '_' or '-'",
            phone.name
        )));
    }
    let owntracks_device = match (phone.kind, phone.owntracks_device) {
        (DeviceKind::OwnTracks, Some(device)) if valid_phone_name(&device) => Some(device),
        (DeviceKind::OwnTracks, Some(device)) => {
            return Err(AddPhoneError::BadName(format!("OwnTracks device {device:?} is not a valid name")))
        }
        (DeviceKind::OwnTracks, None) => {
            return Err(AddPhoneError::BadName("an OwnTracks phone needs its device id".into()))
        }
        (DeviceKind::Traccar, _) => None,
    };
    // An OwnTracks user name is an MQTT login beside the vehicles' (one namespace in
    // Mosquitto's password file): it may not be a vehicle's id.
    if phone.kind == DeviceKind::OwnTracks {
        if let Ok(as_vehicle) = VehicleId::new(phone.name.as_str()) {
            if store.vehicle_registered(&as_vehicle).await.map_err(AddPhoneError::Store)? {
                return Err(AddPhoneError::BadName(format!(
                    "{} is a vehicle's id: an OwnTracks user name must be another login",
                    phone.name
                )));
            }
        }
    }
    if !store.vehicle_registered(&phone.vehicle).await.map_err(AddPhoneError::Store)? {
        return Err(AddPhoneError::UnknownVehicle(phone.vehicle));
    }
    if let Some(person) = &phone.person {
        if store.user(person).await.map_err(AddPhoneError::Store)?.is_none() {
            return Err(AddPhoneError::UnknownPerson(person.clone()));
        }
    }
    let secret = random_password();
    let device = Device {
        kind: phone.kind,
        name: phone.name,
        owntracks_device,
        vehicle: phone.vehicle,
        person: phone.person,
        secret_hash: hash_vehicle_password(&secret),
        created_at: Utc::now(),
    };
    match store.add_device(&device).await {
        Ok(()) => Ok((device, secret)),
        Err(StoreError::AlreadyExists(_)) => {
            Err(AddPhoneError::AlreadyExists { kind: device.kind.as_str(), name: device.name })
        }
        Err(e) => Err(AddPhoneError::Store(e)),
    }
}

/// Whether `secret` is the phone's. An unknown phone (`None`) is checked against a hash nothing
/// matches, so a refusal takes as long whether or not the phone exists.
pub fn verify_phone_secret(device: Option<&Device>, secret: &str) -> bool {
    let stored = device.map_or(DUMMY_VEHICLE_HASH, |d| d.secret_hash.as_str());
    let verified = StoredVehicleHash::parse(stored).verify_fast(secret);
    verified && device.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_names_are_one_safe_topic_level() {
        for good in ["anna", "anna-phone", "48241179", "a.b_c-d", &"x".repeat(64)] {
            assert!(valid_phone_name(good), "{good}");
        }
        for bad in ["", "a/b", "a+b", "#", "anna phone", "ä", &"x".repeat(65), "a\nb"] {
            assert!(!valid_phone_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn an_owntracks_endpoint_is_an_mqtt_or_http_url_naming_a_host() {
        let mqtt = |host: &str, port, tls| Ok(OwnTracksEndpoint::Mqtt { host: host.into(), port, tls });
        assert_eq!(
            OwnTracksEndpoint::parse("mqtts://convoy.example.com:8883"),
            mqtt("convoy.example.com", 8883, true)
        );
        assert_eq!(OwnTracksEndpoint::parse("mqtt://10.0.0.7:1883/"), mqtt("10.0.0.7", 1883, false));
        assert_eq!(OwnTracksEndpoint::parse("mqtt://[::1]:1883"), mqtt("[::1]", 1883, false));
        for url in [
            "https://convoy.example.com/api/v1/phones/owntracks",
            "http://127.0.0.1:8080/api/v1/phones/owntracks",
        ] {
            assert_eq!(OwnTracksEndpoint::parse(url), Ok(OwnTracksEndpoint::Http { url: url.into() }));
        }
        let long = format!("https://{}.example.com/", "x".repeat(MAX_ENDPOINT_BYTES));
        for bad in [
            "",
            "convoy.example.com",
            "ftp://convoy.example.com/",
            "javascript:alert(1)",
            "mqtt://convoy.example.com",
            "mqtt://convoy.example.com:0",
            "mqtt://convoy.example.com:65536",
            "mqtt://:1883",
            "mqtt://a b:1883",
            "https://",
            "https://:8080/api",
            "https://convoy.example.com:port/api",
            "https://convoy.example.com/<img src=x>",
            "https://convoy.example.com/a b",
            "https://convoy.example.com/\n",
            &long,
        ] {
            assert!(OwnTracksEndpoint::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_traccar_server_url_is_the_listeners_base_and_the_secret() {
        let base = OsmAndBase::parse("https://convoy.example.com:5055/").unwrap();
        assert_eq!(base.server_url("s3cr3t"), "https://convoy.example.com:5055/s3cr3t");
        let behind_a_proxy = OsmAndBase::parse("https://convoy.example.com/osmand").unwrap();
        assert_eq!(behind_a_proxy.server_url("s3cr3t"), "https://convoy.example.com/osmand/s3cr3t");
        for bad in [
            "mqtt://convoy.example.com:5055",
            "https://convoy.example.com/?a=1",
            "https://convoy.example.com/#x",
            "https:///x",
        ] {
            assert!(OsmAndBase::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn only_the_phones_own_secret_verifies() {
        let secret = random_password();
        let device = Device {
            kind: DeviceKind::Traccar,
            name: "48241179".into(),
            owntracks_device: None,
            vehicle: VehicleId::new("escort-1").unwrap(),
            person: None,
            secret_hash: hash_vehicle_password(&secret),
            created_at: Utc::now(),
        };
        assert!(verify_phone_secret(Some(&device), &secret));
        assert!(!verify_phone_secret(Some(&device), &random_password()));
        assert!(!verify_phone_secret(Some(&device), ""));
        assert!(!verify_phone_secret(None, &secret));
    }
}

/// When a phone's fixes may be kept: always for a phone that belongs to no person (a
/// subcontracted truck's); for a person's phone, only within a move that person is on the team
/// of. Positions outside their moves are not the company's business: such a fix is refused where
/// it arrives, counted, never stored. Read once, asked for each fix of a report or a batch.
#[derive(Clone, Debug)]
pub enum Tracking {
    Always,
    /// Within these moves' windows (`MoveCrew::is_running_at`).
    DuringMoves(Vec<MoveCrew>),
}

impl Tracking {
    /// Reads when `device` may be tracked.
    pub async fn of(store: &Store, device: &Device) -> Result<Self, StoreError> {
        match device.person {
            None => Ok(Tracking::Always),
            Some(_) => Self::among(store, device, &store.move_crews().await?).await,
        }
    }

    /// As [`Tracking::of`], with every move's crew already read (once for many phones).
    pub async fn among(store: &Store, device: &Device, crews: &[MoveCrew]) -> Result<Self, StoreError> {
        let Some(person) = &device.person else { return Ok(Tracking::Always) };
        let theirs = store.moves_of_user(person).await?;
        Ok(Tracking::DuringMoves(crews.iter().filter(|m| theirs.contains(&m.id)).cloned().collect()))
    }

    /// Whether a fix taken at `t` may be kept.
    pub fn at(&self, t: chrono::DateTime<Utc>) -> bool {
        match self {
            Tracking::Always => true,
            Tracking::DuringMoves(moves) => moves.iter().any(|m| m.is_running_at(t)),
        }
    }
}

/// Where an OwnTracks app sends its reports: Convoy's MQTT listener, or its HTTP endpoint.
#[derive(Clone, Debug, PartialEq)]
pub enum OwnTracksEndpoint {
    Mqtt {
        host: String,
        port: u16,
        tls: bool,
    },
    /// The full URL of `POST /api/v1/phones/owntracks`.
    Http {
        url: String,
    },
}

/// The longest endpoint or server URL a phone is given: it goes into a QR code with the rest of
/// the app's configuration, which must stay small enough for a phone's camera to read.
pub const MAX_ENDPOINT_BYTES: usize = 512;

/// An endpoint or server URL that cannot be handed to a phone, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadEndpoint(String);

impl OwnTracksEndpoint {
    /// `mqtt://HOST:PORT`, `mqtts://HOST:PORT`, or the `http://` or `https://` URL of
    /// `POST /api/v1/phones/owntracks` (by a proxy's path too).
    pub fn parse(text: &str) -> Result<Self, BadEndpoint> {
        if text.len() > MAX_ENDPOINT_BYTES {
            return Err(bad(format!("the endpoint is longer than {MAX_ENDPOINT_BYTES} bytes")));
        }
        if text.starts_with("https://") || text.starts_with("http://") {
            check_http_url(text, "the OwnTracks endpoint")?;
            return Ok(OwnTracksEndpoint::Http { url: text.to_string() });
        }
        let (tls, rest) = match text.split_once("://") {
            Some(("mqtt", rest)) => (false, rest),
            Some(("mqtts", rest)) => (true, rest),
            _ => {
                return Err(bad(format!(
                    "the endpoint {text:?} is not mqtt://, mqtts://, http:// or https://"
                )))
            }
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| bad(format!("the MQTT endpoint {text:?} needs HOST:PORT")))?;
        if !valid_host(host) {
            return Err(bad(format!("the MQTT endpoint's host {host:?} is not a host name or address")));
        }
        let port = port
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| bad(format!("the MQTT port {port:?} is not a port number")))?;
        Ok(OwnTracksEndpoint::Mqtt { host: host.to_string(), port, tls })
    }
}

/// The base URL of Traccar Client's listener (`[phones] osmand_listen`, as the phones reach it):
/// a phone's server URL is this with its secret as the last path segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OsmAndBase(String);

impl OsmAndBase {
    /// An `http://` or `https://` URL without a query or fragment (the secret goes after its
    /// path); a trailing `/` is dropped.
    pub fn parse(text: &str) -> Result<Self, BadEndpoint> {
        check_http_url(text, "the Traccar server URL")?;
        if text.contains(['?', '#']) {
            return Err(bad(format!("the Traccar server URL {text:?} may not hold a query or fragment")));
        }
        Ok(OsmAndBase(text.trim_end_matches('/').to_string()))
    }

    /// The URL Traccar Client is given: it holds the secret.
    pub fn server_url(&self, secret: &str) -> String {
        format!("{}/{secret}", self.0)
    }
}

fn bad(message: String) -> BadEndpoint {
    BadEndpoint(message)
}

/// An `http(s)://HOST[:PORT][/…]` URL of at most [`MAX_ENDPOINT_BYTES`] printable characters
/// that need no escaping in a URL (no spaces, quotes or angle brackets), naming a host.
fn check_http_url(text: &str, what: &str) -> Result<(), BadEndpoint> {
    if text.len() > MAX_ENDPOINT_BYTES {
        return Err(bad(format!("{what} is longer than {MAX_ENDPOINT_BYTES} bytes")));
    }
    let printable = |b: u8| (0x21..0x7f).contains(&b) && !b"\"<>\\^`{|}".contains(&b);
    if !text.bytes().all(printable) {
        return Err(bad(format!("{what} {text:?} holds characters a URL cannot carry unescaped")));
    }
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .ok_or_else(|| bad(format!("{what} {text:?} is not an http:// or https:// URL")))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.rsplit_once(':') {
        // `[::1]:8080`, `host:8080`; a bare IPv6 address is bracketed, so its colons are inside.
        Some((host, port)) if !port.contains(']') => {
            port.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
                bad(format!("{what} {text:?} has a port that is not a number from 1 to 65535"))
            })?;
            host
        }
        _ => authority,
    };
    if !valid_host(host) {
        return Err(bad(format!("{what} {text:?} names no host")));
    }
    Ok(())
}

/// A DNS name, an IPv4 address or a bracketed IPv6 address.
fn valid_host(host: &str) -> bool {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<std::net::Ipv6Addr>().is_ok();
    }
    !host.is_empty()
        && host.len() <= 253
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'))
}

/// An OwnTracks configuration (the app imports it as an `.otrc` file, or from a QR code): the
/// endpoint, the phone's login and secret, its topic, remote commands on (so Convoy can switch
/// it between move and quiet mode), and messages not retained. It holds the secret: hand it to
/// the phone's owner only.
pub fn owntracks_configuration(
    device: &Device,
    secret: &str,
    endpoint: &OwnTracksEndpoint,
) -> serde_json::Value {
    let device_id = device.owntracks_device.clone().unwrap_or_default();
    let mut config = serde_json::json!({
        "_type": "configuration",
        "username": device.name,
        "password": secret,
        "deviceId": device_id,
        "tid": tracker_id(&device.name),
        "auth": true,
        "cmd": true,
        "remoteConfiguration": true,
        "monitoring": 2,
    });
    let extra = match endpoint {
        OwnTracksEndpoint::Mqtt { host, port, tls } => serde_json::json!({
            "mode": 0,
            "host": host,
            "port": port,
            "tls": tls,
            // The door admits an OwnTracks phone by its user name; the client id is free.
            "clientId": device.name,
            "pubTopicBase": "owntracks/%u/%d",
            "pubRetain": false,
            "pubQos": 1,
            "sub": true,
            "subTopic": convoy_core::phone::owntracks::command_topic(&device.name, &device_id),
            "cleanSession": false,
        }),
        OwnTracksEndpoint::Http { url } => serde_json::json!({ "mode": 3, "url": url }),
    };
    if let (Some(config), serde_json::Value::Object(extra)) = (config.as_object_mut(), extra) {
        config.extend(extra);
    }
    config
}

/// The two characters OwnTracks shows on the map for a phone: the name's last two letters or
/// digits, as the app itself defaults to.
fn tracker_id(name: &str) -> String {
    let alnum: Vec<char> = name.chars().filter(char::is_ascii_alphanumeric).collect();
    alnum[alnum.len().saturating_sub(2)..].iter().collect::<String>().to_uppercase()
}

/// OwnTracks' monitoring modes a server may switch a phone to (`monitoring` in its
/// configuration).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Monitoring {
    /// Reports nothing.
    Quiet = -1,
    /// Reports on significant changes only (few reports, each refused outside a move).
    Significant = 1,
    /// Reports often: a move of the phone's person is running.
    Move = 2,
}

/// The command switching an OwnTracks phone to `mode` (the app applies it when remote
/// configuration is on, as the configuration Convoy hands out sets it).
pub fn owntracks_monitoring_command(mode: Monitoring) -> serde_json::Value {
    serde_json::json!({
        "_type": "cmd",
        "action": "setConfiguration",
        "configuration": { "_type": "configuration", "monitoring": mode as i8 },
    })
}
