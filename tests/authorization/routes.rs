//! The authorisation matrix's table: every route of the router, who may call it, and how the
//! test calls it.

use super::*;

/// Who may call a route.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Access {
    /// Anyone, with or without a token.
    Public,
    /// A valid token of one of these roles.
    Roles(&'static [Role]),
    /// A phone's own credentials (HTTP Basic), never a person's token.
    Phone,
}

pub(crate) const EVERYONE: Access =
    Access::Roles(&[Role::Admin, Role::Dispatcher, Role::Escort, Role::Auditor]);
pub(crate) const ADMIN: Access = Access::Roles(&[Role::Admin]);
pub(crate) const PLANNERS: Access = Access::Roles(&[Role::Admin, Role::Dispatcher]);
pub(crate) const HISTORY: Access = Access::Roles(&[Role::Admin, Role::Dispatcher, Role::Auditor]);
pub(crate) const WATCHERS: Access = Access::Roles(&[Role::Admin, Role::Dispatcher, Role::Escort]);
pub(crate) const AUDITORS: Access = Access::Roles(&[Role::Admin, Role::Auditor]);

/// What a call needs besides its path: a body, or fresh state so that it is independent of
/// every other call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Call {
    /// The path alone; `{id}` is the test move, its first vehicle or its standing alert.
    Plain,
    /// The caller's own credentials (the admin's for callers without a role).
    Login,
    /// The caller's token is a fresh one, made for this call.
    Logout,
    /// A new user with a name never used.
    NewUser,
    /// `{name}` is a new user holding a token.
    RevokeTokens,
    /// `{name}` is a new user holding a token; the body a new role.
    SetRole,
    /// The caller is a new user of the caller's role, with a token of their own; the body their
    /// password and a new one.
    OwnPassword,
    /// The body a language to speak.
    Language,
    /// `{id}` is a new move; the team is the test escort.
    Team,
    /// `{id}` is a new running move (no window); the body a reason.
    EndMove,
    /// `{id}` is a new move whose window starts tomorrow; the body a reason.
    CancelMove,
    /// `{id}` is a new planned move; the body its plan renamed, replacing version 1.
    EditPlan,
    /// A small GeoJSON route.
    ParseRoute,
    /// A vehicle id never used.
    NewVehicle,
    /// `{id}` is a vehicle registered for this call.
    FreshVehicle,
    /// `{id}` is a vehicle registered for this call; the body a public key never registered.
    NewVehicleKey,
    /// A plan with a name never used.
    NewMove,
    /// `{id}` is a new open alert on the test move.
    FreshAlert,
    /// A WebSocket handshake with `?token=`.
    WebSocket,
    /// An OwnTracks location, sent with the caller's token (no phone's credentials).
    Phone,
    /// A phone with a name never used, to register.
    NewPhone,
    /// `{kind}/{name}` is a phone registered for this call.
    RemovePhone,
    /// A legal hold on the test move's cargo vehicle.
    NewHold,
    /// A tile of a raster archive: called on a second server, whose base map is one (the
    /// matrix's server draws the streets of an extract; a server has one base map).
    RasterTile,
    /// `{id}` is a hold placed for this call; the body a release reason.
    FreshHold,
    /// `{id}` is a new move; the body its list of seals.
    Seals,
    /// `{id}` is a new move with one seal, the test escort on its team; the body a checkpoint.
    Checkpoint,
}

pub(crate) struct Route {
    pub(crate) method: &'static str,
    /// As the router spells it.
    pub(crate) path: &'static str,
    pub(crate) query: &'static str,
    pub(crate) access: Access,
    pub(crate) call: Call,
}

pub(crate) const fn route(method: &'static str, path: &'static str, access: Access, call: Call) -> Route {
    Route { method, path, query: "", access, call }
}

/// Every route of the router, with who may call it.
pub(crate) const ROUTES: &[Route] = &[
    route("GET", "/healthz", Access::Public, Call::Plain),
    route("GET", "/metrics", Access::Public, Call::Plain),
    route("GET", "/", Access::Public, Call::Plain),
    route("GET", "/assets/{*path}", Access::Public, Call::Plain),
    route("GET", "/basemap/streets/{z}/{x}/{y}", Access::Public, Call::Plain),
    route("GET", "/basemap/tiles/{z}/{x}/{y}", Access::Public, Call::RasterTile),
    route("POST", "/api/v1/login", Access::Public, Call::Login),
    route("GET", "/api/v1/openapi.json", Access::Public, Call::Plain),
    route("POST", "/api/v1/logout", EVERYONE, Call::Logout),
    route("GET", "/api/v1/me", EVERYONE, Call::Plain),
    route("GET", "/api/v1/users", ADMIN, Call::Plain),
    route("POST", "/api/v1/users", ADMIN, Call::NewUser),
    route("DELETE", "/api/v1/users/{name}/tokens", ADMIN, Call::RevokeTokens),
    route("DELETE", "/api/v1/users/{name}/login-holds", ADMIN, Call::RevokeTokens),
    route("DELETE", "/api/v1/me/login-holds", EVERYONE, Call::Plain),
    route("PUT", "/api/v1/users/{name}/role", ADMIN, Call::SetRole),
    route("POST", "/api/v1/users/{name}/disable", ADMIN, Call::RevokeTokens),
    route("POST", "/api/v1/users/{name}/enable", ADMIN, Call::RevokeTokens),
    route("POST", "/api/v1/users/{name}/password", ADMIN, Call::RevokeTokens),
    route("PUT", "/api/v1/me/password", EVERYONE, Call::OwnPassword),
    route("PUT", "/api/v1/me/language", EVERYONE, Call::Language),
    route("PUT", "/api/v1/moves/{id}/team", PLANNERS, Call::Team),
    route("POST", "/api/v1/moves/{id}/end", PLANNERS, Call::EndMove),
    route("POST", "/api/v1/moves/{id}/cancel", PLANNERS, Call::CancelMove),
    route("PUT", "/api/v1/moves/{id}/plan", PLANNERS, Call::EditPlan),
    route("GET", "/api/v1/moves/{id}/versions", EVERYONE, Call::Plain),
    route("POST", "/api/v1/routes/parse", PLANNERS, Call::ParseRoute),
    route("GET", "/api/v1/vehicles", EVERYONE, Call::Plain),
    route("POST", "/api/v1/vehicles", PLANNERS, Call::NewVehicle),
    route("POST", "/api/v1/vehicles/{id}/password", PLANNERS, Call::FreshVehicle),
    route("POST", "/api/v1/vehicles/{id}/disable", PLANNERS, Call::FreshVehicle),
    route("POST", "/api/v1/vehicles/{id}/enable", PLANNERS, Call::FreshVehicle),
    route("GET", "/api/v1/vehicles/{id}/status", PLANNERS, Call::FreshVehicle),
    route("GET", "/api/v1/vehicles/{id}/keys", PLANNERS, Call::FreshVehicle),
    route("POST", "/api/v1/vehicles/{id}/keys", PLANNERS, Call::NewVehicleKey),
    route("GET", "/api/v1/vehicles/{id}/track", HISTORY, Call::Plain),
    route("GET", "/api/v1/moves", EVERYONE, Call::Plain),
    route("POST", "/api/v1/moves", PLANNERS, Call::NewMove),
    route("GET", "/api/v1/moves/{id}", EVERYONE, Call::Plain),
    route("GET", "/api/v1/moves/{id}/progress", WATCHERS, Call::Plain),
    route("GET", "/api/v1/moves/{id}/replay", HISTORY, Call::Plain),
    Route { query: "format=gpx", ..route("GET", "/api/v1/moves/{id}/export", HISTORY, Call::Plain) },
    route("GET", "/api/v1/moves/{id}/report", HISTORY, Call::Plain),
    route("GET", "/api/v1/moves/{id}/evidence", AUDITORS, Call::Plain),
    Route { query: "day=2000-01-01", ..route("GET", "/api/v1/reports/daily", HISTORY, Call::Plain) },
    route("GET", "/api/v1/alerts", EVERYONE, Call::Plain),
    route("GET", "/api/v1/alerts/history", EVERYONE, Call::Plain),
    route("GET", "/api/v1/alerts/{id}", EVERYONE, Call::Plain),
    route("POST", "/api/v1/alerts/{id}/ack", WATCHERS, Call::FreshAlert),
    route("POST", "/api/v1/alerts/{id}/resolve", WATCHERS, Call::FreshAlert),
    route("GET", "/api/v1/live", WATCHERS, Call::WebSocket),
    route("POST", "/api/v1/live/ticket", WATCHERS, Call::Plain),
    route("GET", "/api/v1/audit", AUDITORS, Call::Plain),
    route("POST", "/api/v1/phones/owntracks", Access::Phone, Call::Phone),
    route("GET", "/api/v1/phones", ADMIN, Call::Plain),
    route("POST", "/api/v1/phones", ADMIN, Call::NewPhone),
    route("DELETE", "/api/v1/phones/{kind}/{name}", ADMIN, Call::RemovePhone),
    route("GET", "/api/v1/holds", AUDITORS, Call::Plain),
    route("POST", "/api/v1/holds", ADMIN, Call::NewHold),
    route("POST", "/api/v1/holds/{id}/release", ADMIN, Call::FreshHold),
    route("GET", "/api/v1/moves/{id}/seals", EVERYONE, Call::Plain),
    route("PUT", "/api/v1/moves/{id}/seals", PLANNERS, Call::Seals),
    route("GET", "/api/v1/moves/{id}/checkpoints", EVERYONE, Call::Plain),
    route("POST", "/api/v1/moves/{id}/checkpoints", WATCHERS, Call::Checkpoint),
    route("GET", "/api/v1/server/keys", AUDITORS, Call::Plain),
    route("GET", "/api/v1/retention/purges", AUDITORS, Call::Plain),
];
