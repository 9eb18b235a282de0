//! Who may do what, against a real server (embedded broker, SQLite).
//!
//! The authorisation matrix: [`ROUTES`] lists every route of the router with the roles allowed
//! to call it, and each route is called with no token, a forged token, an expired token and as
//! one user of each role. Every call that changes something gets fresh state of its own (a new
//! alert to acknowledge, a new vehicle or user name, a new token to log out), so each caller's
//! answer depends on its role alone. The same table is checked against the router's routes
//! (`convoy_gateway::route_list`: an unlisted route fails) and against the OpenAPI document (an
//! undocumented route, or documented roles that are not the enforced ones, fail). Every JSON
//! answer of the matrix, success or refusal, is also checked against the document's schema for
//! its operation and status (`common::contract`).
//!
//! The escort's scope and the ending of tokens are in `tests/escort_scope.rs`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::Utc;
use common::contract::{self, Contract};
use common::*;
use convoy_core::plan::MovePlan;
use convoy_core::{Role, VehicleId};
use convoy_registry::credentials::token_hash;
use convoy_store::User;
use rand::distributions::{Alphanumeric, DistString};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite;

#[path = "authorization/routes.rs"]
mod routes;
use routes::*;

/// Who makes a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    NoToken,
    Forged,
    Expired,
    As(Role),
}

impl fmt::Display for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Caller::NoToken => f.write_str("no token"),
            Caller::Forged => f.write_str("a forged token"),
            Caller::Expired => f.write_str("an expired token"),
            Caller::As(role) => write!(f, "{role}"),
        }
    }
}

const CALLERS: [Caller; 7] = [
    Caller::NoToken,
    Caller::Forged,
    Caller::Expired,
    Caller::As(Role::Admin),
    Caller::As(Role::Dispatcher),
    Caller::As(Role::Escort),
    Caller::As(Role::Auditor),
];

/// What a call should get.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expected {
    /// 2xx, or 101 for a WebSocket.
    Success,
    Refused(u16),
}

fn expected(access: Access, caller: Caller) -> Expected {
    match (access, caller) {
        (Access::Public, _) => Expected::Success,
        // A person's token is no phone's credentials.
        (Access::Phone, _) => Expected::Refused(401),
        (Access::Roles(_), Caller::NoToken | Caller::Forged | Caller::Expired) => Expected::Refused(401),
        (Access::Roles(roles), Caller::As(role)) if roles.contains(&role) => Expected::Success,
        (Access::Roles(_), Caller::As(_)) => Expected::Refused(403),
    }
}

const DISPATCHER_USER: &str = "dispatcher-di";
const DISPATCHER_PASSWORD: &str = "a long enough dispatcher password";
const AUDITOR_USER: &str = "auditor-au";
const AUDITOR_PASSWORD: &str = "a long enough auditor password";

fn credentials(role: Role) -> (&'static str, &'static str) {
    match role {
        Role::Admin => (ADMIN_USER, ADMIN_PASSWORD),
        Role::Dispatcher => (DISPATCHER_USER, DISPATCHER_PASSWORD),
        Role::Escort => (ESCORT_USER, ESCORT_PASSWORD),
        Role::Auditor => (AUDITOR_USER, AUDITOR_PASSWORD),
    }
}

fn random_token() -> String {
    Alphanumeric.sample_string(&mut rand::rngs::OsRng, 40)
}

/// A server with one user of each role, two registered vehicles, a move the escort is assigned
/// to, and an open alert on it.
struct World {
    server: TestServer,
    tokens: BTreeMap<&'static str, String>,
    expired: String,
    move_id: String,
    alert_id: String,
    /// The registered OwnTracks phone's user name and secret.
    phone: (String, String),
    /// An argon2id hash for the users made along the way (hashing each is slow and pointless).
    user_hash: String,
    fresh: u32,
}

const CARGO: &str = "truck-07";
const ESCORT_VEHICLE: &str = "escort-1";

fn plan(name: &str, vehicles: &[&str]) -> Value {
    json!({
        "name": name,
        "vehicles": vehicles,
        "route": { "type": "LineString", "coordinates": [[11.56, 48.16], [11.57, 48.17], [11.58, 48.17]] },
        "corridor_m": 200,
    })
}

impl World {
    async fn start() -> World {
        let server = TestServer::start_configured(Backend::Sqlite, BrokerKind::Embedded, |c| {
            c.base_map = common::basemap::from_file(&common::basemap::andorra())
        })
        .await;
        let store = &server.store;
        for (role, (name, password)) in [Role::Dispatcher, Role::Auditor].map(|r| (r, credentials(r))) {
            convoy_registry::add_user(store, name, role, password).await.unwrap();
        }
        for id in [CARGO, ESCORT_VEHICLE] {
            convoy_registry::register_vehicle(store, &VehicleId::new(id).unwrap()).await.unwrap();
        }
        let mut tokens = BTreeMap::new();
        for role in Role::ALL {
            let (name, password) = credentials(role);
            tokens.insert(role.as_str(), server.login(name, password).await);
        }
        let expired = random_token();
        store
            .add_token(&token_hash(&expired), ADMIN_USER, Utc::now() - chrono::Duration::hours(1))
            .await
            .unwrap();
        let move_id = new_move(&server, &plan("matrix move", &[CARGO, ESCORT_VEHICLE])).await;
        store.set_move_team(&move_id, &[ESCORT_USER.to_string()]).await.unwrap();
        let alert_id = open_alert(&server, &move_id, CARGO).await;
        let user_hash = store.user(ADMIN_USER).await.unwrap().unwrap().password_hash;
        let phone = convoy_registry::NewPhone {
            kind: convoy_store::DeviceKind::OwnTracks,
            name: "matrix-phone".into(),
            owntracks_device: Some("pixel".into()),
            vehicle: VehicleId::new(ESCORT_VEHICLE).unwrap(),
            person: None,
        };
        let (device, secret) = convoy_registry::register_phone(store, phone).await.unwrap();
        let phone = (device.name, secret);
        World { server, tokens, expired, move_id, alert_id, phone, user_hash, fresh: 0 }
    }

    fn token(&self, role: Role) -> &str {
        &self.tokens[role.as_str()]
    }

    fn fresh_name(&mut self, prefix: &str) -> String {
        self.fresh += 1;
        format!("{prefix}-{}", self.fresh)
    }

    /// The token a caller sends, if any.
    fn caller_token(&self, caller: Caller) -> Option<String> {
        match caller {
            Caller::NoToken => None,
            Caller::Forged => Some(random_token()),
            Caller::Expired => Some(self.expired.clone()),
            Caller::As(role) => Some(self.token(role).to_string()),
        }
    }

    /// The request `caller` makes to `route`, with fresh state made for it.
    async fn prepare(&mut self, route: &Route, caller: Caller) -> Prepared {
        let mut token = self.caller_token(caller);
        let mut body = None;
        let mut id = match route.path {
            p if p.starts_with("/api/v1/vehicles/") => CARGO.to_string(),
            p if p.starts_with("/api/v1/alerts/") => self.alert_id.clone(),
            _ => self.move_id.clone(),
        };
        let mut name = String::new();
        match route.call {
            Call::Plain | Call::WebSocket | Call::RasterTile => {}
            Call::Language => body = Some(json_body(json!({ "language": "zh-CN" }))),
            Call::Login => {
                let (user, password) = credentials(match caller {
                    Caller::As(role) => role,
                    _ => Role::Admin,
                });
                body = Some(json_body(json!({ "username": user, "password": password })));
            }
            Call::Logout => {
                if let Caller::As(role) = caller {
                    let fresh = random_token();
                    let user = credentials(role).0;
                    let expires = Utc::now() + chrono::Duration::hours(1);
                    self.server.store.add_token(&token_hash(&fresh), user, expires).await.unwrap();
                    token = Some(fresh);
                }
            }
            Call::NewUser => {
                let user = self.fresh_name("new-user");
                body = Some(json_body(json!({ "name": user, "role": "escort", "password": "x".repeat(16) })));
            }
            Call::RevokeTokens | Call::SetRole => {
                if route.call == Call::SetRole {
                    body = Some(json_body(json!({ "role": "dispatcher" })));
                }
                name = self.fresh_name("leaver");
                let user = User {
                    name: name.clone(),
                    role: Role::Escort,
                    password_hash: self.user_hash.clone(),
                    disabled: false,
                };
                self.server.store.add_user(&user).await.unwrap();
                let expires = Utc::now() + chrono::Duration::hours(1);
                self.server.store.add_token(&token_hash(&random_token()), &name, expires).await.unwrap();
            }
            Call::OwnPassword => {
                let password = "an old password";
                body = Some(json_body(json!({ "current": password, "new": "a brand new password" })));
                if let Caller::As(role) = caller {
                    let user = self.fresh_name(&format!("self-{role}"));
                    convoy_registry::add_user(&self.server.store, &user, role, password).await.unwrap();
                    let fresh = random_token();
                    let expires = Utc::now() + chrono::Duration::hours(1);
                    self.server.store.add_token(&token_hash(&fresh), &user, expires).await.unwrap();
                    token = Some(fresh);
                }
            }
            Call::Team => {
                let name = self.fresh_name("team move");
                id = new_move(&self.server, &plan(&name, &[CARGO])).await;
                body = Some(json_body(json!({ "users": [ESCORT_USER] })));
            }
            Call::Seals => {
                let name = self.fresh_name("sealed move");
                id = new_move(&self.server, &plan(&name, &[CARGO])).await;
                let seal = json!({ "label": "Rack 3 crate", "number": "SL-1", "sensitivity": "secret", "vehicle": CARGO });
                body = Some(json_body(json!({ "seals": [seal] })));
            }
            Call::Checkpoint => {
                let name = self.fresh_name("checked move");
                id = new_move(&self.server, &plan(&name, &[CARGO])).await;
                self.server.store.set_move_team(&id, &[ESCORT_USER.to_string()]).await.unwrap();
                let seal = convoy_store::Seal {
                    id: format!("s-{name}").replace(' ', "-"),
                    label: "Rack 3 crate".into(),
                    number: "SL-1".into(),
                    contents: String::new(),
                    sensitivity: "normal".into(),
                    vehicle: None,
                };
                self.server.store.replace_move_seals(&id, std::slice::from_ref(&seal)).await.unwrap();
                let seen = json!({ "seal_id": seal.id, "state": "intact" });
                body = Some(json_body(json!({ "stage": "loading", "vehicle": CARGO, "seals": [seen] })));
            }
            Call::EndMove => {
                let name = self.fresh_name("move to end");
                id = new_move(&self.server, &plan(&name, &[CARGO])).await;
                body = Some(json_body(json!({ "reason": "delivered early" })));
            }
            Call::CancelMove => {
                let mut planned = plan(&self.fresh_name("move to cancel"), &[CARGO]);
                let from = Utc::now() + chrono::Duration::days(1);
                let to = from + chrono::Duration::hours(8);
                planned["window"] = json!({ "from": from.to_rfc3339(), "to": to.to_rfc3339() });
                id = new_move(&self.server, &planned).await;
                body = Some(json_body(json!({ "reason": "client postponed" })));
            }
            Call::EditPlan => {
                // Planned (it starts tomorrow), so its whole plan may change.
                let name = self.fresh_name("move to edit");
                let from = Utc::now() + chrono::Duration::days(1);
                let window = json!({ "from": from.to_rfc3339(), "to": (from + chrono::Duration::hours(8)).to_rfc3339() });
                let mut planned = plan(&name, &[CARGO]);
                planned["window"] = window.clone();
                id = new_move(&self.server, &planned).await;
                let mut edited = plan(&format!("{name}, edited"), &[CARGO]);
                edited["window"] = window;
                body = Some(json_body(json!({ "replaces": 1, "plan": edited })));
            }
            Call::ParseRoute => {
                let route = json!({ "type": "LineString", "coordinates": [[11.56, 48.16], [11.57, 48.17]] });
                body = Some(("application/geo+json", route.to_string().into_bytes()));
            }
            Call::NewVehicle => body = Some(json_body(json!({ "id": self.fresh_name("van") }))),
            Call::FreshVehicle => {
                id = self.fresh_name("lorry");
                convoy_registry::register_vehicle(&self.server.store, &VehicleId::new(&id).unwrap())
                    .await
                    .unwrap();
            }
            Call::NewVehicleKey => {
                id = self.fresh_name("lorry");
                convoy_registry::register_vehicle(&self.server.store, &VehicleId::new(&id).unwrap())
                    .await
                    .unwrap();
                let key = convoy_core::signing::SecretKey::generate().public();
                body = Some(json_body(json!({ "public_key": key.to_string() })));
            }
            Call::NewMove => {
                body = Some(json_body(plan(&self.fresh_name("planned move"), &[CARGO, ESCORT_VEHICLE])))
            }
            Call::FreshAlert => id = open_alert(&self.server, &self.move_id, CARGO).await,
            Call::Phone => body = Some(json_body(owntracks_location())),
            Call::NewPhone => {
                let endpoint = self.server.url("/api/v1/phones/owntracks");
                let phone = json!({
                    "kind": "owntracks", "name": self.fresh_name("phone"), "device": "pixel",
                    "vehicle": ESCORT_VEHICLE, "endpoint": endpoint,
                });
                body = Some(json_body(phone));
            }
            Call::RemovePhone => {
                name = self.fresh_name("old-phone");
                let phone = convoy_registry::NewPhone {
                    kind: convoy_store::DeviceKind::Traccar,
                    name: name.clone(),
                    owntracks_device: None,
                    vehicle: VehicleId::new(CARGO).unwrap(),
                    person: None,
                };
                convoy_registry::register_phone(&self.server.store, phone).await.unwrap();
            }
            Call::NewHold => {
                let hold = json!({
                    "vehicle": CARGO, "from": "2026-01-01T00:00:00Z", "to": "2026-01-02T00:00:00Z",
                    "reason": "matrix", "reference": self.fresh_name("case"),
                });
                body = Some(json_body(hold));
            }
            Call::FreshHold => {
                let request = convoy_registry::HoldRequest {
                    scope: convoy_registry::HoldScope::AllVehicles,
                    range: Some((Utc::now() - chrono::Duration::days(1), Utc::now())),
                    reason: "matrix".into(),
                    reference: String::new(),
                };
                let (hold, _) =
                    convoy_registry::place_hold(&self.server.store, request, ADMIN_USER, Utc::now())
                        .await
                        .unwrap();
                id = hold.to_string();
                body = Some(json_body(json!({ "reason": "matrix done" })));
            }
        }
        let (z, x, y) = match route.call {
            Call::RasterTile => common::basemap::RASTER_TILE,
            _ => common::basemap::TARRAGONA_Z16,
        };
        let tile = format!("{z}/{x}/{y}");
        let path = route
            .path
            .replace("{id}", &id)
            .replace("{kind}", "traccar")
            .replace("{name}", &name)
            .replace("{*path}", "js/main.js")
            .replace("{z}/{x}/{y}", &tile);
        let query = if route.query.is_empty() { String::new() } else { format!("?{}", route.query) };
        Prepared { method: route.method, path: format!("{path}{query}"), token, body }
    }
}

/// An OwnTracks location of the matrix's phone, a minute old.
fn owntracks_location() -> Value {
    let tst = Utc::now().timestamp() - 60;
    json!({ "_type": "location", "lat": 48.16, "lon": 11.56, "tst": tst, "topic": "owntracks/matrix-phone/pixel" })
}

fn json_body(value: Value) -> (&'static str, Vec<u8>) {
    ("application/json", value.to_string().into_bytes())
}

struct Prepared {
    method: &'static str,
    path: String,
    token: Option<String>,
    body: Option<(&'static str, Vec<u8>)>,
}

/// Plans a move as the store does for the API (every vehicle must be registered).
async fn new_move(server: &TestServer, plan: &Value) -> String {
    let plan = MovePlan::from_json(plan.to_string().as_bytes()).unwrap();
    convoy_registry::store_new_move(&server.store, &plan, ADMIN_USER).await.unwrap().id
}

/// Opens an `off_route` alert on `move_id` as the rules would, and returns its id.
async fn open_alert(server: &TestServer, move_id: &str, vehicle: &str) -> String {
    let id = format!("alert-{}", random_token()[..12].to_lowercase());
    let record = opened_alert(&id, move_id, vehicle, Utc::now());
    assert!(server.store.open_alert(&record).await.unwrap(), "alert {id} opened");
    id
}

/// The answer to a call: its status, and its body when it is JSON; whether it is as the OpenAPI
/// document describes it.
struct Answer {
    status: u16,
    json: Option<Value>,
    contract: Result<(), String>,
}

async fn send(server: &TestServer, contract: &Contract, request: Prepared) -> Answer {
    let method = reqwest::Method::from_bytes(request.method.as_bytes()).unwrap();
    let mut builder = reqwest::Client::new().request(method, server.url(&request.path));
    if let Some(token) = &request.token {
        builder = builder.bearer_auth(token);
    }
    if let Some((content_type, body)) = request.body {
        builder = builder.header("content-type", content_type).body(body);
    }
    let response = builder.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
    let body = response.bytes().await.unwrap();
    let contract = contract.check(&contract::Answer {
        method: request.method,
        path: &request.path,
        status,
        content_type: content_type.as_deref(),
        body: &body,
    });
    Answer { status, json: serde_json::from_slice(&body).ok(), contract }
}

/// Opens the live feed as the web page does (`?token=`); returns the handshake's status and,
/// when it succeeded, the socket.
async fn open_live(
    server: &TestServer,
    token: Option<&str>,
) -> (u16, Option<tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>>)
{
    let query = token.map(|t| format!("?token={t}")).unwrap_or_default();
    let url = format!("ws://{}/api/v1/live{query}", server.http);
    match tokio_tungstenite::connect_async(url).await {
        Ok((socket, response)) => (response.status().as_u16(), Some(socket)),
        Err(tungstenite::Error::Http(response)) => (response.status().as_u16(), None),
        Err(e) => panic!("live feed handshake failed: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_each_caller_as_the_role_table_says() {
    let mut world = World::start().await;
    let contract = Contract::of(&world.server).await;
    let mut wrong = Vec::new();
    let mut calls = 0;
    let mut raster_calls = Vec::new();
    for route in ROUTES {
        for caller in CALLERS {
            let want = expected(route.access, caller);
            let request = world.prepare(route, caller).await;
            let what = format!("{} {} by {caller}", route.method, request.path);
            calls += 1;
            if route.call == Call::RasterTile {
                raster_calls.push((route, want, request));
                continue;
            }
            if route.call == Call::WebSocket {
                let (status, socket) = open_live(&world.server, request.token.as_deref()).await;
                if let Some(mut socket) = socket {
                    socket.close(None).await.unwrap();
                }
                let ok = match want {
                    Expected::Success => status == 101,
                    Expected::Refused(code) => status == code,
                };
                if !ok {
                    wrong.push(format!("{what}: expected {want:?}, got {status}"));
                }
                if status == 101 {
                    contract.saw("GET", route.path, status);
                }
                continue;
            }
            let answer = send(&world.server, &contract, request).await;
            if let Err(e) = &answer.contract {
                wrong.push(format!("{what}: not as documented: {e}"));
            }
            match want {
                Expected::Success if (200..300).contains(&answer.status) => {}
                Expected::Refused(code) if answer.status == code => {
                    // A refusal says why, in the API's error shape.
                    let message = answer.json.as_ref().and_then(|j| j["error"].as_str());
                    if message.is_none_or(str::is_empty) {
                        wrong.push(format!("{what}: {code} without an error message"));
                    }
                }
                _ => wrong.push(format!("{what}: expected {want:?}, got {}", answer.status)),
            }
        }
    }
    assert_eq!(calls, ROUTES.len() * CALLERS.len());
    // A raster archive's tiles, on a server of their own, with the same callers' requests.
    let archive_dir = tempfile::tempdir().unwrap();
    let archive = archive_dir.path().join("region.mbtiles");
    common::basemap::raster_archive(&archive, "png");
    let raster = TestServer::start_configured(Backend::Sqlite, BrokerKind::Embedded, |c| {
        c.base_map = common::basemap::from_file(&archive)
    })
    .await;
    for (route, want, request) in raster_calls {
        let what = format!("{} {} (raster server)", route.method, request.path);
        let answer = send(&raster, &contract, request).await;
        if let Err(e) = &answer.contract {
            wrong.push(format!("{what}: not as documented: {e}"));
        }
        if !matches!(want, Expected::Success) || !(200..300).contains(&answer.status) {
            wrong.push(format!("{what}: expected {want:?}, got {}", answer.status));
        }
    }
    raster.stop().await;
    // The phones' routes succeed with a phone's credentials only.
    for route in ROUTES.iter().filter(|r| r.call == Call::Phone) {
        let (user, secret) = &world.phone;
        let response = reqwest::Client::new()
            .post(world.server.url(route.path))
            .basic_auth(user, Some(secret))
            .json(&owntracks_location())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
        let body = response.bytes().await.unwrap();
        let answer = contract::Answer {
            method: route.method,
            path: route.path,
            status,
            content_type: content_type.as_deref(),
            body: &body,
        };
        if let Err(e) = contract.check(&answer) {
            wrong.push(format!("{} {} by its phone: not as documented: {e}", route.method, route.path));
        }
        if status != 200 {
            wrong.push(format!("{} {} by its phone: expected 200, got {status}", route.method, route.path));
        }
    }
    assert!(wrong.is_empty(), "{} of {calls} calls answered wrongly:\n{}", wrong.len(), wrong.join("\n"));
    // Every operation's success, and the refusals the matrix makes, were checked against the
    // document.
    let seen = contract.seen();
    for (method, path) in contract.operations() {
        let succeeded = seen
            .iter()
            .any(|(m, p, status)| (m, p) == (&method, &path) && (status.starts_with('2') || status == "101"));
        assert!(succeeded, "{method} {path}: no success checked against the document");
    }
    for code in ["401", "403"] {
        assert!(seen.iter().any(|(_, _, status)| status == code), "a {code} checked against the document");
    }
    world.server.stop().await;
}

/// The (method, path) of every route of the server's router, as the gateway builds it (each
/// feature module exports its routes; the router is merged from exactly these): a route added
/// there but not to [`ROUTES`] fails the test below.
fn router_routes() -> BTreeSet<(String, String)> {
    convoy_gateway::route_list().into_iter().collect()
}

/// Fails with the routes one set has and the other lacks.
fn assert_same_routes(
    a: &BTreeSet<(String, String)>,
    a_name: &str,
    b: &BTreeSet<(String, String)>,
    b_name: &str,
) {
    let only_a: Vec<_> = a.difference(b).collect();
    let only_b: Vec<_> = b.difference(a).collect();
    assert!(only_a.is_empty() && only_b.is_empty(), "only {a_name}: {only_a:?}; only {b_name}: {only_b:?}");
}

fn table_routes() -> BTreeSet<(String, String)> {
    ROUTES.iter().map(|r| (r.method.to_string(), r.path.to_string())).collect()
}

#[test]
fn the_table_lists_every_route_of_the_router_once() {
    assert_eq!(table_routes().len(), ROUTES.len(), "a route is listed twice");
    let router = router_routes();
    assert!(router.len() > 20, "the router's routes were read: {router:?}");
    assert_same_routes(&table_routes(), "in the table", &router, "in the router");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_describes_exactly_the_tables_routes_and_roles() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    // Served without a token.
    let response = reqwest::get(server.url("/api/v1/openapi.json")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let doc: Value = response.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1."));

    let mut documented = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if ["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                documented.insert((method.to_uppercase(), path.clone()), operation.clone());
            }
        }
    }
    // OpenAPI has no catch-all parameter: `{*path}` is documented as `{path}`.
    let tested: BTreeMap<(String, String), Access> =
        ROUTES.iter().map(|r| ((r.method.to_string(), r.path.replace("{*", "{")), r.access)).collect();
    let documented_keys: BTreeSet<_> = documented.keys().cloned().collect();
    let tested_keys: BTreeSet<_> = tested.keys().cloned().collect();
    assert_same_routes(&documented_keys, "documented", &tested_keys, "in the table");

    for (key, access) in &tested {
        let operation = &documented[key];
        match access {
            Access::Public => {
                assert_eq!(operation["security"], json!([]), "{key:?} is public");
            }
            Access::Phone => {
                assert_eq!(operation["security"], json!([{ "phoneBasic": [] }]), "{key:?} is for phones");
                assert!(operation.get("x-roles").is_none(), "{key:?}: no person's role");
            }
            Access::Roles(roles) => {
                assert_ne!(operation.get("security"), Some(&json!([])), "{key:?} needs a token");
                let documented: BTreeSet<&str> =
                    operation["x-roles"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
                let enforced: BTreeSet<&str> = roles.iter().map(|r| r.as_str()).collect();
                assert_eq!(documented, enforced, "{key:?}: documented roles differ from the enforced ones");
            }
        }
    }
    server.stop().await;
}
