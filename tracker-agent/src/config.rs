//! The agent's configuration: a TOML file (annotated example in `deploy/convoy-agent.toml`),
//! overridden by command-line flags.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use convoy_core::signing::SecretKey;
use convoy_core::VehicleId;
use serde::Deserialize;

use crate::privacy::Privacy;
use crate::rollover::TimeReference;
use crate::spool::{FsyncPolicy, SpoolConfig};
use crate::tls::TlsFiles;

/// The environment variable that may hold the MQTT password.
pub const PASSWORD_ENV: &str = "CONVOY_AGENT_PASSWORD";

#[derive(Clone, Debug)]
pub struct AgentConfig {
    /// The receiver's serial device, e.g. `/dev/ttyACM0`.
    pub serial: PathBuf,
    /// Serial speed in baud (4800 to 921600).
    pub baud: u32,
    pub vehicle: VehicleId,
    pub broker: BrokerAddress,
    pub username: Option<String>,
    pub password: Option<String>,
    /// Where the agent keeps its state: the sequence counter and the spool.
    pub state_dir: PathBuf,
    /// The most fixes in one published batch.
    pub max_batch_fixes: usize,
    /// The on-disk queue of fixes waiting for the broker.
    pub spool: SpoolConfig,
    /// Thin a stationary vehicle to one fix per this interval; `None` publishes every fix.
    pub heartbeat: Option<Duration>,
    /// Where to write Prometheus metrics (for node_exporter's textfile collector), if anywhere.
    pub metrics_file: Option<PathBuf>,
    /// Whether fixes outside the vehicle's move windows are recorded.
    pub privacy: Privacy,
    /// The vehicle's signing key: each batch is signed with it. `None` publishes unsigned
    /// batches. (Its `Debug` shows only the key id.)
    pub signing_key: Option<SecretKey>,
    /// What receiver dates are checked against for the GPS week rollover ([`crate::rollover`]).
    pub time_reference: TimeReference,
}

/// Where the broker is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerAddress {
    pub host: String,
    pub port: u16,
    /// TLS (`mqtts://`), with these files.
    pub tls: Option<TlsFiles>,
}

impl BrokerAddress {
    /// Parses `mqtt://HOST:PORT` (port 1883 if absent) or `mqtts://HOST:PORT` (8883), the
    /// latter with the TLS files it needs.
    pub fn parse(url: &str, tls: Option<TlsFiles>) -> anyhow::Result<Self> {
        let (rest, default_port, tls) = if let Some(rest) = url.strip_prefix("mqtt://") {
            (rest, 1883, None)
        } else if let Some(rest) = url.strip_prefix("mqtts://") {
            let Some(tls) = tls else {
                bail!("mqtts:// needs ca_file: the CA that signed the broker's certificate")
            };
            (rest, 8883, Some(tls))
        } else {
            bail!("broker {url:?} must look like mqtt://HOST:PORT or mqtts://HOST:PORT")
        };
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) => (host, port.parse().with_context(|| format!("bad port in {url:?}"))?),
            None => (rest, default_port),
        };
        if host.is_empty() {
            bail!("broker {url:?} has no host");
        }
        Ok(Self { host: host.to_string(), port, tls })
    }

    /// A plain TCP broker.
    pub fn plain(host: impl Into<String>, port: u16) -> Self {
        Self { host: host.into(), port, tls: None }
    }
}

/// The file form of the configuration. Every field may also come from a flag.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfigFile {
    /// The receiver's serial device.
    pub serial: Option<PathBuf>,
    /// Serial speed in baud.
    pub baud: Option<u32>,
    /// This vehicle's id, as registered on the server.
    pub vehicle: Option<String>,
    /// `mqtt://HOST:PORT`, or `mqtts://HOST:PORT` for TLS.
    pub broker: Option<String>,
    /// With mqtts: the CA that signed the broker's certificate (PEM).
    pub ca_file: Option<PathBuf>,
    /// With mqtts: this vehicle's client certificate (PEM), if the broker asks for one.
    pub client_cert_file: Option<PathBuf>,
    /// With mqtts: the key of the client certificate (PEM).
    pub client_key_file: Option<PathBuf>,
    /// MQTT user name; defaults to the vehicle id.
    pub username: Option<String>,
    /// A file holding the MQTT password (or set CONVOY_AGENT_PASSWORD).
    pub password_file: Option<PathBuf>,
    /// The agent's state directory (sequence counter and spool).
    pub spool: Option<PathBuf>,
    /// The most fixes in one published batch.
    pub max_batch_fixes: Option<usize>,
    /// The most fixes the spool holds while the broker is unreachable (default: 7 days at 1 Hz).
    pub spool_max_fixes: Option<u64>,
    /// When spooled fixes are synced to disk: "always" (default), "interval" or "never".
    pub fsync: Option<String>,
    /// With fsync = "interval": at most this many milliseconds between syncs.
    pub fsync_interval_ms: Option<u64>,
    /// Thin a stationary vehicle to one fix every this many seconds (off when absent).
    pub heartbeat_s: Option<u64>,
    /// Write Prometheus metrics to this file every 30 s (node_exporter textfile collector).
    pub metrics_file: Option<PathBuf>,
    /// "always" (default) or "moves_only": record nothing outside the vehicle's move windows.
    pub privacy: Option<String>,
    /// The vehicle's secret signing key (made by `convoy-agent keygen`, mode 0600): batches are
    /// signed when set, unsigned otherwise.
    pub signing_key_file: Option<PathBuf>,
    /// What receiver dates are checked against for the GPS week rollover: "host" (default: the
    /// host clock when synchronised, else the build date), or, for replaying captures, the
    /// RFC 3339 time the capture was made, or "off" (dates as the receiver gives them).
    pub time_reference: Option<String>,
}

impl AgentConfigFile {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    /// Checks and completes the configuration, reporting every problem at once.
    pub fn resolve(self) -> anyhow::Result<AgentConfig> {
        let mut problems = Vec::new();
        let serial = self.serial.clone();
        if serial.is_none() {
            problems.push("no serial device (serial = \"/dev/ttyACM0\" or --serial)".to_string());
        }
        let baud = self.baud.unwrap_or(9600);
        if !(4800..=921_600).contains(&baud) {
            problems.push(format!("baud {baud} is outside 4800 to 921600"));
        }
        let vehicle = match self.vehicle.as_deref().map(VehicleId::new) {
            Some(Ok(v)) => Some(v),
            Some(Err(e)) => {
                problems.push(format!("vehicle: {e}"));
                None
            }
            None => {
                problems.push("no vehicle id (vehicle = \"truck-07\" or --vehicle)".to_string());
                None
            }
        };
        let client_cert = match (&self.client_cert_file, &self.client_key_file) {
            (Some(cert), Some(key)) => Some((cert.clone(), key.clone())),
            (None, None) => None,
            _ => {
                problems.push("client_cert_file and client_key_file go together".to_string());
                None
            }
        };
        let tls = self.ca_file.clone().map(|ca_file| TlsFiles { ca_file, client_cert });
        let broker =
            match BrokerAddress::parse(self.broker.as_deref().unwrap_or("mqtt://127.0.0.1:1883"), tls) {
                Ok(b) => Some(b),
                Err(e) => {
                    problems.push(e.to_string());
                    None
                }
            };
        let password = match &self.password_file {
            Some(path) => match std::fs::read_to_string(path) {
                Ok(text) => Some(text.trim_end_matches(['\r', '\n']).to_string()),
                Err(e) => {
                    problems.push(format!("password file {}: {e}", path.display()));
                    None
                }
            },
            None => std::env::var(PASSWORD_ENV).ok(),
        };
        let fsync = match (self.fsync.as_deref().unwrap_or("always"), self.fsync_interval_ms) {
            ("always", _) => Some(FsyncPolicy::Always),
            ("never", _) => Some(FsyncPolicy::Never),
            ("interval", Some(ms)) if ms > 0 => Some(FsyncPolicy::Interval(Duration::from_millis(ms))),
            ("interval", _) => {
                problems.push("fsync = \"interval\" needs fsync_interval_ms above 0".to_string());
                None
            }
            (other, _) => {
                problems.push(format!("fsync {other:?} must be \"always\", \"interval\" or \"never\""));
                None
            }
        };
        if self.spool_max_fixes == Some(0) {
            problems.push("spool_max_fixes must be above 0".to_string());
        }
        let privacy = match self.privacy.as_deref().map(|text| (text, Privacy::parse(text))) {
            None => Privacy::default(),
            Some((_, Some(privacy))) => privacy,
            Some((other, None)) => {
                problems.push(format!("privacy {other:?} must be \"always\" or \"moves_only\""));
                Privacy::default()
            }
        };
        let signing_key = match &self.signing_key_file {
            Some(path) => match crate::key_file::load(path) {
                Ok(key) => Some(key),
                Err(e) => {
                    problems.push(format!("signing_key_file: {e:#}"));
                    None
                }
            },
            None => None,
        };
        let time_reference =
            match self.time_reference.as_deref().map(|text| (text, TimeReference::parse(text))) {
                None => TimeReference::default(),
                Some((_, Some(reference))) => reference,
                Some((other, None)) => {
                    problems.push(format!(
                        "time_reference {other:?} must be \"host\", \"off\" or an RFC 3339 time"
                    ));
                    TimeReference::default()
                }
            };
        if self.heartbeat_s == Some(0) {
            problems.push("heartbeat_s must be above 0 (leave it out to publish every fix)".to_string());
        }
        let (Some(serial), Some(vehicle), Some(broker), Some(fsync), true) =
            (serial, vehicle, broker, fsync, problems.is_empty())
        else {
            bail!("invalid agent configuration:\n  - {}", problems.join("\n  - "));
        };
        Ok(AgentConfig {
            serial,
            baud,
            username: Some(self.username.unwrap_or_else(|| vehicle.to_string())),
            state_dir: self
                .spool
                .unwrap_or_else(|| PathBuf::from("/var/lib/convoy-agent").join(vehicle.as_str())),
            vehicle,
            broker,
            password,
            max_batch_fixes: self
                .max_batch_fixes
                .unwrap_or(200)
                .clamp(1, convoy_core::wire::MAX_BATCH_POSITIONS),
            spool: SpoolConfig {
                max_fixes: self.spool_max_fixes.unwrap_or(SpoolConfig::default().max_fixes),
                fsync,
                ..SpoolConfig::default()
            },
            heartbeat: self.heartbeat_s.map(Duration::from_secs),
            metrics_file: self.metrics_file,
            privacy,
            signing_key,
            time_reference,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_parses() {
        let text = include_str!("../../deploy/convoy-agent.toml");
        let file: AgentConfigFile = toml::from_str(text).unwrap();
        assert!(file.resolve().is_err(), "the example's password file does not exist here");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let file = AgentConfigFile {
            baud: Some(300),
            vehicle: Some("bad id".into()),
            broker: Some("http://x".into()),
            fsync: Some("sometimes".into()),
            heartbeat_s: Some(0),
            privacy: Some("never".into()),
            time_reference: Some("yesterday".into()),
            ..Default::default()
        };
        let err = file.resolve().unwrap_err().to_string();
        for expected in [
            "no serial device",
            "baud 300",
            "vehicle:",
            "mqtt://HOST:PORT",
            "fsync \"sometimes\"",
            "heartbeat_s",
            "privacy \"never\"",
            "time_reference \"yesterday\"",
        ] {
            assert!(err.contains(expected), "{expected:?} missing from {err}");
        }
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<AgentConfigFile>("serail = \"/dev/ttyS0\"").is_err());
    }

    #[test]
    fn broker_addresses_parse() {
        assert_eq!(
            BrokerAddress::parse("mqtt://10.0.0.1:8883", None).unwrap(),
            BrokerAddress::plain("10.0.0.1", 8883)
        );
        assert_eq!(BrokerAddress::parse("mqtt://broker", None).unwrap().port, 1883);
        assert!(BrokerAddress::parse("tcp://broker", None).is_err());
        assert!(BrokerAddress::parse("mqtts://broker", None).is_err(), "TLS needs a CA");
        let tls = TlsFiles { ca_file: "/etc/ca.pem".into(), client_cert: None };
        let secure = BrokerAddress::parse("mqtts://broker", Some(tls.clone())).unwrap();
        assert_eq!((secure.port, secure.tls), (8883, Some(tls)));
    }
}
