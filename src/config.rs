//! The server's configuration: a TOML file (annotated example in `deploy/convoy.toml`),
//! overridden by command-line flags, with embedded defaults when there is no file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use convoy_alerts::notify::NotifierConfig;
use convoy_core::rules::RuleSettings;
use convoy_gateway::tls::TlsFiles;
use convoy_gateway::{AccessSettings, HttpSettings, MoveSettings, WebSettings};
use convoy_store::Retention;
pub use convoy_tls_client::TlsFiles as BrokerTls;
use serde::Deserialize;

/// The resolved configuration of `convoy serve`.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub data_dir: PathBuf,
    /// `sqlite://PATH` or `postgres://...`.
    pub database: String,
    pub broker: BrokerChoice,
    pub http_listen: SocketAddr,
    /// How long positions are kept; `None` keeps them forever.
    pub retention: Option<Retention>,
    /// Ingest's MQTT client id: stable, so the broker keeps its session across restarts.
    pub ingest_client_id: String,
    /// MQTT shared-subscription group for several ingest processes (external brokers).
    pub ingest_share_group: Option<String>,
    /// Default thresholds of the alert rules; each move may override them.
    pub rules: RuleSettings,
    /// Where alert changes are sent besides MQTT and the live feed.
    pub notifiers: Vec<NotifierConfig>,
    /// MQTT over TLS on the embedded broker, beside its plain listener.
    pub mqtt_tls: Option<MqttTls>,
    /// HTTPS for the API and the web page (on `http_listen`) instead of plain HTTP.
    pub http_tls: Option<TlsFiles>,
    /// What the web page is told (base-map tiles).
    pub web: WebSettings,
    /// The base map served from this server (`[web] base_map`, or the demo's built-in extract).
    pub base_map: Option<crate::base_map::BaseMapSource>,
    /// `[moves]`: the time zone of a move whose plan names none.
    pub moves: MoveSettings,
    /// How recent a record each role reads.
    pub access: AccessSettings,
    /// `[http]`: the reverse proxies whose `X-Forwarded-For` names the client.
    pub http: HttpSettings,
    /// Where the audit log's head is appended at start, hourly and at stop: the anchor to ship
    /// off the machine (`convoy audit verify --head-file`).
    pub audit_head_file: PathBuf,
    /// `[audit] signing_key_file`: the server's Ed25519 key, which signs the audit log's head
    /// and each purge's destruction record (`crate::server_key`).
    pub signing_key_file: PathBuf,
    /// Where `GET /metrics` is served instead of `http_listen` (plain HTTP), if set.
    pub metrics_listen: Option<SocketAddr>,
    /// `[phones]`: the listener of Traccar Client's reports.
    pub phones: PhoneSettings,
    /// How long an OwnTracks report over HTTP retries a failing store before it is answered 503
    /// (`convoy_gateway::phones::STORE_PATIENCE`, 60 s). Not in the file: the app drops a fix
    /// answered 503, so only tests shorten it.
    pub phone_store_patience: std::time::Duration,
    /// `[[mqtt_observers]]`: who may watch the alerts on the embedded broker (read-only).
    pub mqtt_observers: convoy_broker::door::ObserverAccounts,
}

/// `[[mqtt_observers]]`: a read-only account of the embedded broker, which may subscribe to the
/// alerts (`convoy/v1/alerts/+`) and nothing else. In the configuration rather than the
/// database: a site has a handful, set by whoever runs the server, like the external broker's
/// own account (`broker_password_file`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObserverEntry {
    /// Its name; it logs in as `observer:NAME`.
    pub name: String,
    /// A file holding its password (at least 16 characters).
    pub password_file: PathBuf,
}

/// `[phones]`: phones as trackers over HTTP. OwnTracks in HTTP mode needs nothing here (it
/// posts to `/api/v1/phones/owntracks` on `http_listen`); Traccar Client's OsmAnd protocol gets
/// a listener of its own, since its secret is the URL's path and its requests are not the API.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhoneSettings {
    /// Where Traccar Client reports (e.g. `0.0.0.0:5055`, its usual port); off when unset.
    #[serde(default)]
    pub osmand_listen: Option<SocketAddr>,
    /// Serve that listener over TLS with `[http_tls]`'s certificate and key (required then).
    #[serde(default)]
    pub osmand_tls: bool,
}

/// `[audit]`: the server's signed record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSettings {
    /// The server's signing key file (default `server-signing.key` in the data directory).
    #[serde(default)]
    pub signing_key_file: Option<PathBuf>,
}

/// The embedded broker's TLS listener.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttTls {
    /// Where it listens (8883 is MQTT over TLS's port).
    pub listen: SocketAddr,
    /// The broker's certificate chain (PEM).
    pub cert_file: PathBuf,
    /// The broker's private key (PEM).
    pub key_file: PathBuf,
    /// When set, vehicles must present a client certificate signed by this CA.
    #[serde(default)]
    pub client_ca_file: Option<PathBuf>,
}

impl MqttTls {
    pub fn files(&self) -> TlsFiles {
        TlsFiles {
            cert_file: self.cert_file.clone(),
            key_file: self.key_file.clone(),
            client_ca_file: self.client_ca_file.clone(),
        }
    }
}

impl ServerConfig {
    /// A configuration with these essentials and the defaults for everything else.
    pub fn new(data_dir: PathBuf, database: String, broker: BrokerChoice, http_listen: SocketAddr) -> Self {
        Self {
            audit_head_file: data_dir.join(AUDIT_HEAD_FILE),
            signing_key_file: data_dir.join(crate::server_key::SIGNING_KEY_FILE),
            metrics_listen: None,
            phones: PhoneSettings::default(),
            phone_store_patience: convoy_gateway::phones::STORE_PATIENCE,
            mqtt_observers: Default::default(),
            data_dir,
            database,
            broker,
            http_listen,
            retention: Some(Retention { days: DEFAULT_RETENTION_DAYS }),
            ingest_client_id: "convoy-ingest".into(),
            ingest_share_group: None,
            rules: RuleSettings::default(),
            notifiers: Vec::new(),
            mqtt_tls: None,
            http_tls: None,
            web: WebSettings::default(),
            base_map: None,
            moves: MoveSettings::default(),
            access: AccessSettings::default(),
            http: HttpSettings::default(),
        }
    }
}

/// The audit head file's name in the data directory, unless configured otherwise.
pub const AUDIT_HEAD_FILE: &str = "audit-head.log";

/// Positions are kept this many days unless configured otherwise.
pub const DEFAULT_RETENTION_DAYS: u32 = 90;

/// Which broker the server uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BrokerChoice {
    /// The embedded rumqttd, listening on this address.
    Embedded { listen: SocketAddr },
    /// An external broker (Mosquitto, EMQX); over TLS (`mqtts://`) with these files.
    External {
        host: String,
        port: u16,
        username: Option<String>,
        password: Option<String>,
        tls: Option<BrokerTls>,
    },
}

/// The file form; every key may also come from a flag.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfigFile {
    /// Where the server keeps its files (the SQLite database by default).
    pub data_dir: Option<PathBuf>,
    /// `sqlite://PATH` or `postgres://USER@HOST:PORT/DB`; default: SQLite in the data directory.
    pub database: Option<String>,
    /// `embedded` (default), `mqtt://HOST:PORT` or `mqtts://HOST:PORT` (TLS, port 8883 by
    /// default; needs `broker_ca_file`).
    pub broker: Option<String>,
    /// The CA that signed an `mqtts://` broker's certificate (PEM): the only one trusted.
    pub broker_ca_file: Option<PathBuf>,
    /// The server's client certificate (PEM), for a broker that asks for one; with
    /// `broker_client_key_file`.
    pub broker_client_cert_file: Option<PathBuf>,
    /// The key of `broker_client_cert_file` (PEM).
    pub broker_client_key_file: Option<PathBuf>,
    /// Where the embedded broker listens (default 127.0.0.1:1883).
    pub mqtt_listen: Option<SocketAddr>,
    /// Where the HTTP API listens (default 127.0.0.1:8080).
    pub http_listen: Option<SocketAddr>,
    /// User name for an external broker.
    pub broker_username: Option<String>,
    /// A file holding the password for an external broker.
    pub broker_password_file: Option<PathBuf>,
    /// Days positions are kept (default 90); 0 keeps them forever. Legal holds survive it.
    pub retention_days: Option<u32>,
    /// Ingest's MQTT client id (default convoy-ingest); give each ingest process its own.
    pub ingest_client_id: Option<String>,
    /// Share the subscription with other ingest processes in this group (`$share/GROUP/...`).
    pub ingest_share_group: Option<String>,
    /// `[rules]`: default thresholds of the alert rules (see `RuleSettings`).
    pub rules: Option<RuleSettings>,
    /// `[[notifiers]]`: webhook, email and MQTT notifiers of alert changes.
    #[serde(default)]
    pub notifiers: Vec<NotifierConfig>,
    /// `[mqtt_tls]`: MQTT over TLS on the embedded broker: `listen`, `cert_file`, `key_file`, and
    /// `client_ca_file` to require vehicles' client certificates.
    pub mqtt_tls: Option<MqttTls>,
    /// `[http_tls]`: serve the API and the web page over HTTPS: `cert_file`, `key_file`.
    pub http_tls: Option<TlsFiles>,
    /// Plain (not TLS) listeners bind a loopback address only, unless this is true.
    #[serde(default)]
    pub allow_plain_remote: bool,
    /// Where the audit log's head is appended (default `audit-head.log` in `data_dir`).
    pub audit_head_file: Option<PathBuf>,
    /// `[audit]`: `signing_key_file`, the server's signing key (default `server-signing.key`
    /// in `data_dir`; made at the first start).
    pub audit: Option<AuditSettings>,
    /// Serve `GET /metrics` here (plain HTTP, e.g. 127.0.0.1:9464) and no longer on
    /// `http_listen`. Unset (the default): on `http_listen`.
    pub metrics_listen: Option<SocketAddr>,
    /// `[web]`: `tile_url` (`{z}/{x}/{y}` template of the base map; none by default),
    /// `tile_attribution`, `coordinates` (`wgs84`, or `gcj02` for Chinese tiles), and
    /// `base_map` (a file served by this server instead: an OpenStreetMap extract or a raster
    /// MBTiles archive; exclusive with `tile_url`).
    pub web: Option<WebSettings>,
    /// `[moves]`: `default_time_zone`, the IANA time zone of a move whose plan names none
    /// (default UTC; an unknown name stops the start, naming it).
    pub moves: Option<MoveSettings>,
    /// `[access]`: `auditor_delay_minutes`, how old a place must be before an auditor reads it
    /// (default 60).
    pub access: Option<AccessSettings>,
    /// `[http]`: `trusted_proxies`, the reverse proxies (addresses or CIDR blocks) whose
    /// `X-Forwarded-For` names the client, for the login throttle and the audit log.
    pub http: Option<HttpSettings>,
    /// `[phones]`: `osmand_listen`, where Traccar Client reports (off when unset), and
    /// `osmand_tls = true` to serve it over TLS with `[http_tls]`'s certificate.
    pub phones: Option<PhoneSettings>,
    /// `[[mqtt_observers]]`: `name` and `password_file` of each read-only alert observer of the
    /// embedded broker.
    #[serde(default)]
    pub mqtt_observers: Vec<ObserverEntry>,
}

impl ServerConfigFile {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    /// The file at `path`, or the embedded defaults when there is none.
    pub fn load_or_default(path: Option<&Path>) -> anyhow::Result<Self> {
        path.map_or_else(|| Ok(Self::default()), Self::load)
    }

    pub fn resolve(self) -> anyhow::Result<ServerConfig> {
        let data_dir = self.data_dir.unwrap_or_else(|| PathBuf::from("convoy-data"));
        let database =
            self.database.unwrap_or_else(|| format!("sqlite://{}", data_dir.join("convoy.db").display()));
        let broker = match self.broker.as_deref().unwrap_or("embedded") {
            "embedded" => BrokerChoice::Embedded {
                listen: self.mqtt_listen.unwrap_or_else(|| "127.0.0.1:1883".parse().unwrap()),
            },
            url => {
                let tls = BrokerTls::from_keys(
                    "broker_",
                    self.broker_ca_file.as_deref(),
                    self.broker_client_cert_file.as_deref(),
                    self.broker_client_key_file.as_deref(),
                )?;
                if url.starts_with("mqtts://") && tls.is_none() {
                    bail!("broker {url:?} needs broker_ca_file: the CA that signed the broker's certificate");
                }
                let address = convoy_agent::config::BrokerAddress::parse(url, tls)
                    .map_err(|e| anyhow::anyhow!("{e:#} (or \"embedded\")"))?;
                if address.tls.is_none() && self.broker_ca_file.is_some() {
                    bail!("broker_ca_file is for a TLS broker: write the broker as mqtts://HOST:PORT");
                }
                let password = match &self.broker_password_file {
                    Some(path) => Some(
                        std::fs::read_to_string(path)
                            .with_context(|| format!("reading {}", path.display()))?
                            .trim_end()
                            .to_string(),
                    ),
                    None => None,
                };
                BrokerChoice::External {
                    host: address.host,
                    port: address.port,
                    username: self.broker_username.clone(),
                    password,
                    tls: address.tls,
                }
            }
        };
        let http_listen = self.http_listen.unwrap_or_else(|| "127.0.0.1:8080".parse().unwrap());
        if !self.allow_plain_remote {
            if let BrokerChoice::Embedded { listen } = &broker {
                ensure_loopback("mqtt_listen (plain MQTT)", *listen)?;
            }
            if self.http_tls.is_none() {
                ensure_loopback("http_listen (plain HTTP)", http_listen)?;
            }
            if let Some(metrics_listen) = self.metrics_listen {
                ensure_loopback("metrics_listen (plain HTTP)", metrics_listen)?;
            }
        }
        let phones = self.phones.unwrap_or_default();
        if phones.osmand_tls && self.http_tls.is_none() {
            bail!("[phones] osmand_tls = true needs [http_tls], whose certificate it serves");
        }
        if let Some(listen) = phones.osmand_listen {
            if !phones.osmand_tls && !self.allow_plain_remote {
                ensure_loopback("[phones] osmand_listen (plain HTTP; set osmand_tls = true)", listen)?;
            }
        }
        if let Some(web) = &self.web {
            web.validate().context("[web]")?;
        }
        if !self.mqtt_observers.is_empty() && !matches!(broker, BrokerChoice::Embedded { .. }) {
            bail!(
                "[[mqtt_observers]] is for the embedded broker; with an external broker, give the \
                 observer a read-only account there (see deploy/mosquitto.acl)"
            );
        }
        let mqtt_observers = observer_accounts(&self.mqtt_observers)?;
        Ok(ServerConfig {
            audit_head_file: self.audit_head_file.unwrap_or_else(|| data_dir.join(AUDIT_HEAD_FILE)),
            signing_key_file: self
                .audit
                .and_then(|a| a.signing_key_file)
                .unwrap_or_else(|| data_dir.join(crate::server_key::SIGNING_KEY_FILE)),
            metrics_listen: self.metrics_listen,
            phones,
            phone_store_patience: convoy_gateway::phones::STORE_PATIENCE,
            mqtt_observers,
            data_dir,
            database,
            broker,
            http_listen,
            retention: match self.retention_days.unwrap_or(DEFAULT_RETENTION_DAYS) {
                0 => None,
                days => Some(Retention { days }),
            },
            ingest_client_id: self.ingest_client_id.unwrap_or_else(|| "convoy-ingest".into()),
            ingest_share_group: self.ingest_share_group,
            rules: {
                let rules = self.rules.unwrap_or_default();
                rules.validate().context("[rules]")?;
                rules
            },
            notifiers: self.notifiers,
            mqtt_tls: self.mqtt_tls,
            http_tls: self.http_tls,
            base_map: self
                .web
                .as_ref()
                .and_then(|w| w.base_map.clone())
                .map(crate::base_map::BaseMapSource::File),
            web: self.web.unwrap_or_default(),
            moves: self.moves.unwrap_or_default(),
            access: self.access.unwrap_or_default(),
            http: self.http.unwrap_or_default(),
        })
    }
}

/// The observers' accounts, their passwords read from their files.
pub fn observer_accounts(entries: &[ObserverEntry]) -> anyhow::Result<convoy_broker::door::ObserverAccounts> {
    let mut accounts = Vec::new();
    for entry in entries {
        let path = &entry.password_file;
        let password = std::fs::read_to_string(path)
            .with_context(|| format!("[[mqtt_observers]] {:?}: reading {}", entry.name, path.display()))?;
        let account = convoy_broker::door::ObserverAccount::new(&entry.name, password.trim_end())
            .map_err(|e| anyhow::anyhow!("[[mqtt_observers]]: {e}"))?;
        accounts.push(account);
    }
    convoy_broker::door::ObserverAccounts::new(accounts)
        .map_err(|e| anyhow::anyhow!("[[mqtt_observers]]: {e}"))
}

/// Positions cross a plain listener unencrypted: it may face only this machine unless the
/// configuration says otherwise.
fn ensure_loopback(what: &str, addr: SocketAddr) -> anyhow::Result<()> {
    if addr.ip().is_loopback() {
        return Ok(());
    }
    bail!(
        "{what} {addr} is not a loopback address: use TLS for it, or set allow_plain_remote = true \
         if something else (a VPN, a TLS proxy) protects it"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_file_means_embedded_defaults() {
        let config = ServerConfigFile::default().resolve().unwrap();
        assert_eq!(config.database, "sqlite://convoy-data/convoy.db");
        assert_eq!(config.broker, BrokerChoice::Embedded { listen: "127.0.0.1:1883".parse().unwrap() });
        assert_eq!(config.http_listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(config.retention, Some(Retention { days: DEFAULT_RETENTION_DAYS }));
        let forever = ServerConfigFile { retention_days: Some(0), ..Default::default() };
        assert_eq!(forever.resolve().unwrap().retention, None);
    }

    #[test]
    fn the_example_config_parses() {
        let file: ServerConfigFile = toml::from_str(include_str!("../deploy/convoy.toml")).unwrap();
        let config = file.resolve().unwrap();
        assert!(config.database.starts_with("sqlite://"));
    }

    #[test]
    fn an_external_broker_is_parsed_and_a_bad_one_refused() {
        let file = ServerConfigFile { broker: Some("mqtt://10.1.2.3:1884".into()), ..Default::default() };
        assert_eq!(
            file.resolve().unwrap().broker,
            BrokerChoice::External {
                host: "10.1.2.3".into(),
                port: 1884,
                username: None,
                password: None,
                tls: None
            }
        );
        let bad = ServerConfigFile { broker: Some("amqp://x".into()), ..Default::default() };
        assert!(bad.resolve().is_err());
    }

    #[test]
    fn a_tls_broker_needs_its_ca_and_takes_a_client_certificate() {
        let file: ServerConfigFile = toml::from_str(
            "broker = \"mqtts://broker.example\"\nbroker_ca_file = \"ca.pem\"\n\
             broker_client_cert_file = \"convoy.pem\"\nbroker_client_key_file = \"convoy.key\"\n",
        )
        .unwrap();
        let BrokerChoice::External { host, port, tls: Some(tls), .. } = file.resolve().unwrap().broker else {
            panic!("an external broker over TLS");
        };
        assert_eq!((host.as_str(), port), ("broker.example", 8883));
        assert_eq!(tls.ca_file, PathBuf::from("ca.pem"));
        assert_eq!(tls.client_cert, Some(("convoy.pem".into(), "convoy.key".into())));

        let error = |text: &str| {
            format!("{:#}", toml::from_str::<ServerConfigFile>(text).unwrap().resolve().unwrap_err())
        };
        let no_ca = error("broker = \"mqtts://broker.example:8884\"");
        assert!(no_ca.contains("needs broker_ca_file"), "{no_ca}");
        let plain_with_ca = error("broker = \"mqtt://broker.example\"\nbroker_ca_file = \"ca.pem\"");
        assert!(plain_with_ca.contains("mqtts://"), "{plain_with_ca}");
        let cert_alone =
            error("broker = \"mqtts://b\"\nbroker_ca_file = \"ca.pem\"\nbroker_client_cert_file = \"c.pem\"");
        assert!(cert_alone.contains("go together"), "{cert_alone}");
    }

    #[test]
    fn plain_listeners_stay_on_loopback_unless_allowed() {
        let public_http =
            ServerConfigFile { http_listen: Some("0.0.0.0:8080".parse().unwrap()), ..Default::default() };
        let error = public_http.resolve().unwrap_err().to_string();
        assert!(error.contains("http_listen"), "{error}");
        let public_mqtt =
            ServerConfigFile { mqtt_listen: Some("0.0.0.0:1883".parse().unwrap()), ..Default::default() };
        assert!(public_mqtt.resolve().is_err());
        let public_metrics =
            ServerConfigFile { metrics_listen: Some("0.0.0.0:9464".parse().unwrap()), ..Default::default() };
        let error = public_metrics.resolve().unwrap_err().to_string();
        assert!(error.contains("metrics_listen"), "{error}");
        let metrics: ServerConfigFile = toml::from_str("metrics_listen = \"127.0.0.1:9464\"").unwrap();
        assert_eq!(metrics.resolve().unwrap().metrics_listen, Some("127.0.0.1:9464".parse().unwrap()));
        let allowed = ServerConfigFile {
            mqtt_listen: Some("0.0.0.0:1883".parse().unwrap()),
            allow_plain_remote: true,
            ..Default::default()
        };
        assert!(allowed.resolve().is_ok());
        let https = ServerConfigFile {
            http_listen: Some("0.0.0.0:8443".parse().unwrap()),
            http_tls: Some(TlsFiles {
                cert_file: "c.pem".into(),
                key_file: "k.pem".into(),
                client_ca_file: None,
            }),
            ..Default::default()
        };
        assert!(https.resolve().is_ok());
    }

    #[test]
    fn observers_are_read_from_their_files_and_bad_ones_stop_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.password");
        std::fs::write(&good, "a long enough observer password\n").unwrap();
        let short = dir.path().join("short.password");
        std::fs::write(&short, "short\n").unwrap();
        let file = |entries: &str| -> ServerConfigFile { toml::from_str(entries).unwrap() };
        let one = format!("[[mqtt_observers]]\nname = \"ops\"\npassword_file = {:?}\n", good.display());
        let config = file(&one).resolve().unwrap();
        assert!(
            config.mqtt_observers.verify("ops", "a long enough observer password"),
            "trailing newline trimmed"
        );
        let error = |text: &str| file(text).resolve().unwrap_err().to_string();
        assert!(error(&format!("{one}{one}")).contains("twice"));
        let weak = format!("[[mqtt_observers]]\nname = \"ops\"\npassword_file = {:?}\n", short.display());
        assert!(error(&weak).contains("at least 16"));
        assert!(error("[[mqtt_observers]]\nname = \"ops\"\npassword_file = \"/nonexistent\"\n")
            .contains("/nonexistent"));
        assert!(error(&format!("broker = \"mqtt://10.1.2.3:1883\"\n{one}")).contains("embedded broker"));
        assert!(ServerConfigFile::default().resolve().unwrap().mqtt_observers.is_empty());
    }

    #[test]
    fn tls_sections_parse() {
        let file: ServerConfigFile = toml::from_str(
            "[mqtt_tls]\nlisten = \"0.0.0.0:8883\"\ncert_file = \"s.pem\"\nkey_file = \"s.key\"\nclient_ca_file = \"ca.pem\"\n\
             [http_tls]\ncert_file = \"h.pem\"\nkey_file = \"h.key\"\n[web]\ntile_url = \"https://tiles.example/{z}/{x}/{y}.png\"\n",
        )
        .unwrap();
        let config = file.resolve().unwrap();
        let mqtt = config.mqtt_tls.unwrap();
        assert_eq!(mqtt.listen.port(), 8883);
        assert_eq!(mqtt.client_ca_file, Some("ca.pem".into()));
        assert_eq!(config.http_tls.unwrap().key_file, PathBuf::from("h.key"));
        assert_eq!(config.web.tile_url.as_deref(), Some("https://tiles.example/{z}/{x}/{y}.png"));
        assert_eq!(config.web.coordinates, convoy_gateway::MapCoordinates::Wgs84, "the default");
    }

    #[test]
    fn a_base_map_file_is_read_at_start_and_excludes_a_tile_server() {
        let file: ServerConfigFile = toml::from_str("[web]\nbase_map = \"/maps/region.osm.pbf\"\n").unwrap();
        let config = file.resolve().unwrap();
        assert_eq!(
            config.base_map,
            Some(crate::base_map::BaseMapSource::File(PathBuf::from("/maps/region.osm.pbf")))
        );
        assert_eq!(ServerConfigFile::default().resolve().unwrap().base_map, None);
        let both: ServerConfigFile = toml::from_str(
            "[web]\nbase_map = \"/maps/region.osm.pbf\"\ntile_url = \"https://t.example/{z}/{x}/{y}.png\"\n",
        )
        .unwrap();
        let error = format!("{:#}", both.resolve().unwrap_err());
        assert!(error.contains("tile_url and base_map are exclusive"), "{error}");
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<ServerConfigFile>("http_lsten = \"127.0.0.1:1\"").is_err());
        assert!(toml::from_str::<ServerConfigFile>("[phones]\nosmand_lsten = \"127.0.0.1:1\"").is_err());
    }

    #[test]
    fn the_signing_key_is_in_the_data_directory_unless_audit_names_a_file() {
        let default: ServerConfigFile = toml::from_str("data_dir = \"/srv/convoy\"").unwrap();
        let expected = PathBuf::from("/srv/convoy/server-signing.key");
        assert_eq!(default.resolve().unwrap().signing_key_file, expected);
        let named: ServerConfigFile =
            toml::from_str("[audit]\nsigning_key_file = \"/keys/convoy.key\"").unwrap();
        assert_eq!(named.resolve().unwrap().signing_key_file, PathBuf::from("/keys/convoy.key"));
        assert!(toml::from_str::<ServerConfigFile>("[audit]\nsigning_key = \"x\"").is_err());
    }

    #[test]
    fn the_base_maps_coordinates_are_wgs84_or_gcj02_and_nothing_else() {
        let gcj: ServerConfigFile = toml::from_str("[web]\ncoordinates = \"gcj02\"").unwrap();
        assert_eq!(gcj.resolve().unwrap().web.coordinates, convoy_gateway::MapCoordinates::Gcj02);
        let error =
            toml::from_str::<ServerConfigFile>("[web]\ncoordinates = \"bd09\"").unwrap_err().to_string();
        assert!(error.contains("bd09") && error.contains("gcj02") && error.contains("wgs84"), "{error}");
    }

    #[test]
    fn the_default_time_zone_is_utc_unless_set_and_an_unknown_name_stops_the_start() {
        let default = ServerConfigFile::default().resolve().unwrap().moves.default_time_zone;
        assert_eq!(default.name(), "UTC");
        let set: ServerConfigFile = toml::from_str("[moves]\ndefault_time_zone = \"Asia/Shanghai\"").unwrap();
        assert_eq!(set.resolve().unwrap().moves.default_time_zone.name(), "Asia/Shanghai");
        let error = toml::from_str::<ServerConfigFile>("[moves]\ndefault_time_zone = \"Asia/Shanghi\"")
            .unwrap_err()
            .to_string();
        assert!(error.contains("default_time_zone") && error.contains("\"Asia/Shanghi\""), "{error}");
    }

    #[test]
    fn the_phone_listener_is_off_unless_set_and_plain_only_on_loopback() {
        assert_eq!(ServerConfigFile::default().resolve().unwrap().phones, PhoneSettings::default());
        let local: ServerConfigFile = toml::from_str("[phones]\nosmand_listen = \"127.0.0.1:5055\"").unwrap();
        let phones = local.resolve().unwrap().phones;
        assert_eq!(phones.osmand_listen, Some("127.0.0.1:5055".parse().unwrap()));
        assert!(!phones.osmand_tls);
        let public: ServerConfigFile = toml::from_str("[phones]\nosmand_listen = \"0.0.0.0:5055\"").unwrap();
        let error = public.resolve().unwrap_err().to_string();
        assert!(error.contains("osmand_listen"), "{error}");
        let no_certificate: ServerConfigFile =
            toml::from_str("[phones]\nosmand_listen = \"0.0.0.0:5055\"\nosmand_tls = true").unwrap();
        let error = no_certificate.resolve().unwrap_err().to_string();
        assert!(error.contains("[http_tls]"), "{error}");
        let tls: ServerConfigFile = toml::from_str(
            "[http_tls]\ncert_file = \"h.pem\"\nkey_file = \"h.key\"\n\
             [phones]\nosmand_listen = \"0.0.0.0:5055\"\nosmand_tls = true",
        )
        .unwrap();
        assert!(tls.resolve().unwrap().phones.osmand_tls);
    }

    /// Through `load`, as `convoy serve --config` reads the file: `[[notifiers]]` tables are an
    /// internally tagged enum, which serde buffers before it looks at the keys, so this checks
    /// that a misspelt key there is refused all the same and that the error says where.
    #[test]
    fn a_misspelt_notifier_key_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("convoy.toml");
        let notifier = "[[notifiers]]\ntype = \"webhook\"\nname = \"desk\"\n\
                        url = \"https://desk.example.org/convoy\"\nsecret = \"s3\"\n";
        std::fs::write(&path, notifier).unwrap();
        let config = ServerConfigFile::load(&path).unwrap().resolve().unwrap();
        assert_eq!(config.notifiers.len(), 1);
        assert_eq!(config.notifiers[0].name(), "desk");

        std::fs::write(&path, format!("{notifier}max_atempts = 3\n")).unwrap();
        let error = format!("{:#}", ServerConfigFile::load(&path).unwrap_err());
        assert!(error.contains("[[notifiers]]"), "{error}");
        assert!(error.contains("unknown field `max_atempts`"), "{error}");
        assert!(error.contains("`max_attempts`"), "{error}");
    }
}
