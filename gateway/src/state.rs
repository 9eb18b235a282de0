//! What every request handler is given: the store, metrics, settings, and the channels to the
//! rest of the server.

use convoy_core::alert::AlertMessage;
use convoy_core::live::LiveEvent;
use convoy_store::Store;
use prometheus::Registry;
use tokio::sync::{broadcast, mpsc};

use crate::metrics::GatewayMetrics;

/// Everything a request handler needs.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub registry: Registry,
    pub metrics: GatewayMetrics,
    pub events: GatewayEvents,
    /// Each running move's vehicles' progress along the route, as the alert service last
    /// worked it out (the server wires it; the gateway only reads it).
    pub progress: std::sync::Arc<convoy_core::progress::ProgressBoard>,
    pub web: crate::WebSettings,
    /// `[web] base_map`, read at start: the streets or raster tiles served under `/basemap/`.
    pub base_map: crate::SharedBaseMap,
    /// The server's default rule thresholds; a move's plan may override them (replay and the
    /// move report find stops with the move's own).
    pub rules: convoy_core::rules::RuleSettings,
    /// `[moves]`: the time zone of a move whose plan names none.
    pub moves: crate::MoveSettings,
    /// How recent a record each role reads (auditors read behind the road).
    pub access: crate::recency::AccessSettings,
    /// `[http]`: the trusted reverse proxies, whose `X-Forwarded-For` names the client.
    pub http: crate::HttpSettings,
    /// Failed logins by name and address (shared by every request).
    pub login_throttle: std::sync::Arc<crate::throttle::LoginThrottle>,
    /// Refused logins waiting to be written to the audit log as one entry per name, address
    /// and interval.
    pub refused_logins: std::sync::Arc<crate::login_audit::RefusedLogins>,
    /// One-use tickets that open the live feed without a token in its URL.
    pub live_tickets: std::sync::Arc<crate::live_ticket::LiveTickets>,
    /// Whether `GET /metrics` is answered here; false when metrics have a listener of their own
    /// (`serve_metrics`), and then it answers 404.
    pub metrics_on_api_listener: bool,
    /// Where phones' positions are committed (the server's direct intake, beside ingest).
    pub phone_intake: std::sync::Arc<dyn crate::phones::PhoneIntake>,
    /// How long an OwnTracks report over HTTP retries a failing store before it is answered 503
    /// ([`crate::phones::STORE_PATIENCE`], 60 s; tests shorten it).
    pub phone_store_patience: std::time::Duration,
    /// Traccar Client's listener (`[phones] osmand_listen`), for the page's phone setup; `None`
    /// when it is off.
    pub traccar_listener: Option<crate::phones::TraccarListener>,
    /// Where vehicles reach the embedded broker, for the agent configuration the vehicle routes
    /// give out; `None` with an external broker.
    pub agent_broker: Option<crate::vehicles_admin::AgentBroker>,
    /// The server's signing key for evidence bundles' manifests; `None` leaves the evidence
    /// route answering 503.
    pub evidence_key: Option<std::sync::Arc<convoy_core::signing::SecretKey>>,
}

/// What the gateway tells the rest of the server, and the live feed it serves.
#[derive(Clone)]
pub struct GatewayEvents {
    /// Each move created, edited, ended or cancelled (already recorded).
    pub move_changes: mpsc::UnboundedSender<MoveChange>,
    /// Alert changes people made (acknowledged, resolved), already recorded.
    pub alert_changes: mpsc::UnboundedSender<AlertMessage>,
    /// Seals seen broken or missing at a checkpoint (already recorded): each opens a `seal`
    /// alert on its move.
    pub seal_incidents: mpsc::UnboundedSender<convoy_core::custody::SealIncident>,
    /// Positions and agent status as they happen (many: a slow client skips some).
    pub live: broadcast::Sender<LiveEvent>,
    /// Alert changes as they happen (few: every client gets every one).
    pub live_alerts: broadcast::Sender<LiveEvent>,
}

/// A change to a move that the alert rules and the devices' retained messages follow, by id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MoveChange {
    Added(String),
    /// Ended early or cancelled.
    Ended(String),
    /// Its plan was edited (a new version): the rules follow the new plan from now on.
    Edited(String),
}
