//! `GET /api/v1/openapi.json`: the API's OpenAPI 3.1 document, public like the web page,
//! generated from the handlers and the types they serialize.
//!
//! Generated with utoipa 5 and its axum bindings (utoipa-axum): the most widely used OpenAPI
//! generator for Rust, maintained, and made for axum. Each feature module declares its routes
//! with `routes!(handler, ...)`, and the `#[utoipa::path]` on a handler both registers it with
//! the router and documents it: the router and the document come from the same declarations, so
//! neither can have an operation the other lacks. Schemas derive (`ToSchema`) from the very
//! structs the handlers return ([`Reply`](crate::reply::Reply)) and take (`ApiJson`,
//! `ApiQuery`), so a field renamed in one is renamed in the other.
//!
//! What no derive knows is added here, each from the one place it lives:
//! - who may call an operation: its module wraps its routes in [`requires`] (an
//!   [`Ability`]), [`signed_in`] or [`public`], and `x-roles`, the description's opening
//!   ("Roles: admin, dispatcher." or "Public") and the 401 and 403 answers follow from
//!   [`Ability::roles`], the table the handlers enforce;
//! - the API's prose, the bearer scheme and the shared error answers (`#/components/responses/…`,
//!   all of the [`ErrorBody`] schema `{"error", "reason"}`);
//! - the schemas of what other crates define and the gateway streams or passes on as it is
//!   (positions, plans, stops, live messages: `schemas.rs`).
//!
//! The unit tests below check the document's form; `tests/authorization.rs` that its operations
//! and roles are the routes and roles the server enforces; `tests/api_contract.rs` that real
//! answers match it.

use std::sync::OnceLock;

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use convoy_core::{Ability, Role};
use serde_json::{json, Value};
use utoipa::openapi::path::Operation;
use utoipa::openapi::{Ref, RefOr};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use utoipa_axum::routes;

use crate::error::ErrorBody;
use crate::state::AppState;

/// The routes of one feature, each with its documentation.
pub(crate) type Routes = UtoipaMethodRouter<AppState>;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(public(routes!(document)))
}

/// The document, built once (from the same routes the server serves) and kept as JSON text.
pub(crate) fn document_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| crate::router::openapi().to_string())
}

#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "system",
    operation_id = "openapi",
    summary = "This document",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API.", body = Object)),
)]
pub(crate) async fn document() -> Response {
    let mut response = document_text().into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    // A new binary may bring a new document under the same URL: always revalidate.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// Operations anyone may call, with or without a token: `security: []`, and a description
/// that opens with "Public".
pub(crate) fn public(routes: Routes) -> Routes {
    each_operation(routes, |operation| {
        operation.security = Some(Vec::new());
        opens_with(operation, "Public: no token needed.".to_string());
    })
}

/// Operations for phones (OwnTracks in HTTP mode), not people: no bearer token, the phone's
/// own credentials over HTTP Basic (`security: [{"phoneBasic": []}]`, `x-for: phones`, and a
/// description that opens with "For phones").
pub(crate) fn for_phones(routes: Routes) -> Routes {
    each_operation(routes, |operation| {
        let requirement =
            utoipa::openapi::security::SecurityRequirement::new("phoneBasic", Vec::<String>::new());
        operation.security = Some(vec![requirement]);
        opens_with(
            operation,
            "For phones: HTTP Basic with the phone's user name and secret (`convoy phone add-owntracks`), no bearer token.".to_string(),
        );
        operation.extensions.get_or_insert_with(Default::default).insert("x-for".into(), json!("phones"));
    })
}

/// Operations every signed-in person may call, whatever their role.
pub(crate) fn signed_in(routes: Routes) -> Routes {
    with_roles(&Role::ALL, routes)
}

/// Operations that need `ability`: the roles [`Ability::roles`] gives it, as `x-roles` and at
/// the opening of the description. The handler refuses the others (`Authenticated::require`).
pub(crate) fn requires(ability: Ability, routes: Routes) -> Routes {
    with_roles(ability.roles(), routes)
}

fn with_roles(roles: &[Role], routes: Routes) -> Routes {
    let names: Vec<&str> = roles.iter().map(|role| role.as_str()).collect();
    each_operation(routes, |operation| {
        opens_with(operation, format!("Roles: {}.", names.join(", ")));
        operation.extensions.get_or_insert_with(Default::default).insert("x-roles".into(), json!(names));
        let responses = &mut operation.responses.responses;
        responses.entry("401".into()).or_insert_with(|| RefOr::Ref(Ref::from_response_name("Unauthorized")));
        if roles.len() < Role::ALL.len() {
            responses.entry("403".into()).or_insert_with(|| RefOr::Ref(Ref::from_response_name("Forbidden")));
        }
    })
}

fn opens_with(operation: &mut Operation, opening: String) {
    operation.description = Some(match operation.description.take().filter(|d| !d.is_empty()) {
        Some(rest) => format!("{opening} {rest}"),
        None => opening,
    });
}

fn each_operation(mut routes: Routes, change: impl Fn(&mut Operation)) -> Routes {
    for item in routes.1.paths.values_mut() {
        let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for operation in operations.into_iter().flatten() {
            change(operation);
        }
    }
    routes
}

macro_rules! error_responses {
    ($($(#[$doc:meta])* $name:ident => $description:literal,)*) => {
        $(
            $(#[$doc])*
            #[allow(dead_code)] // a name the `#[utoipa::path]` attributes refer to
            pub(crate) struct $name;

            impl<'r> utoipa::ToResponse<'r> for $name {
                fn response() -> (&'r str, RefOr<utoipa::openapi::Response>) {
                    (stringify!($name), error_response($description))
                }
            }
        )*

        /// Every shared error answer, by name.
        fn error_responses() -> Vec<(&'static str, RefOr<utoipa::openapi::Response>)> {
            vec![$((stringify!($name), error_response($description)),)*]
        }
    };
}

fn error_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    let content = utoipa::openapi::ContentBuilder::new().schema(Some(Ref::from_schema_name("Error"))).build();
    utoipa::openapi::ResponseBuilder::new()
        .description(description)
        .content("application/json", content)
        .build()
        .into()
}

error_responses! {
    BadRequest => "The request is malformed or a parameter is out of its bounds; nothing changed.",
    Unauthorized => "No token, or a forged, expired or revoked one (or, for login, a wrong user name or password).",
    Forbidden => "The user's role may not do this.",
    NotFound => "There is no such thing, or it is outside what the caller may see (an escort asking for another team's move or alert).",
    Conflict => "It exists already, or is in that state already; nothing changed.",
    PayloadTooLarge => "The body is larger than the limit (it was not read), or the answer would be (ask for less).",
    UnsupportedMediaType => "The body's Content-Type is not one this operation reads.",
    TooManyRequests => "Too many failed logins for this name from this address, or from this address: wait the seconds of the `Retry-After` header.",
    UnprocessableEntity => "Well-formed, but it names something that does not exist (a vehicle, a user) or asks for too much at once.",
    ServiceUnavailable => "The store or the audit log is unavailable: nothing was done (an access that cannot be recorded does not happen). Try again.",
}

/// The document of `api` (the router's own): with the API's prose, the bearer scheme, the shared
/// error answers and the wire schemas added, and each catch-all `{*path}` written `{path}` (OpenAPI
/// has no catch-all parameter).
pub(crate) fn finish(api: utoipa::openapi::OpenApi) -> Value {
    let mut doc = serde_json::to_value(&api).expect("an OpenAPI document serialises");
    let paths = doc["paths"].as_object_mut().map(std::mem::take).unwrap_or_default();
    let paths: serde_json::Map<String, Value> =
        paths.into_iter().map(|(path, item)| (path.replace("{*", "{"), item)).collect();
    let mut schemas = doc["components"]["schemas"].as_object_mut().map(std::mem::take).unwrap_or_default();
    for (name, schema) in crate::schemas::wire_schemas() {
        schemas.insert(name.to_string(), schema);
    }
    // The error answers' schema, which the shared responses refer to.
    let error = <ErrorBody as utoipa::PartialSchema>::schema();
    schemas.insert(
        <ErrorBody as utoipa::ToSchema>::name().into(),
        serde_json::to_value(error).expect("a schema serialises"),
    );
    let responses: serde_json::Map<String, Value> = error_responses()
        .into_iter()
        .map(|(name, response)| {
            (name.to_string(), serde_json::to_value(response).expect("a response serialises"))
        })
        .collect();
    json!({
        "openapi": doc["openapi"],
        "info": {
            "title": "Convoy API",
            "version": "1",
            "summary": "Vehicle tracking and geofence alerts for sensitive moves.",
            "description": DESCRIPTION,
            "license": { "name": "Apache-2.0", "identifier": "Apache-2.0" },
        },
        "servers": [{ "url": "/", "description": "the gateway serving this document" }],
        "security": [{ "bearer": [] }],
        "tags": [
            { "name": "system", "description": "Health, metrics, this document and the web page: no login." },
            { "name": "people", "description": "Login, logout, users and their tokens." },
            { "name": "vehicles", "description": "Registered vehicles, their latest positions and tracks." },
            { "name": "moves", "description": "Move plans, their teams, and their history: replay, export, report." },
            { "name": "alerts", "description": "Alerts and their lifecycle." },
            { "name": "reports", "description": "Reports over the whole fleet: the daily report per vehicle and day." },
            { "name": "live", "description": "The WebSocket live feed." },
            { "name": "audit", "description": "The hash-chained audit log." },
            { "name": "holds", "description": "Legal holds: positions kept past retention until released." },
            { "name": "phones", "description": "Phones used as trackers: registering them and handing out their setup (admins), and their reports (OwnTracks in HTTP mode); Traccar Client reports on a listener of its own (`[phones] osmand_listen`), outside this document." },
        ],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token from `POST /api/v1/login`; valid 12 hours unless revoked (logout, or an admin revoking the user's tokens).",
                },
                "phoneBasic": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "A phone's OwnTracks user name and its secret (`convoy phone add-owntracks` or `POST /api/v1/phones`), for the phones' reports only.",
                },
                "liveToken": {
                    "type": "apiKey",
                    "in": "query",
                    "name": "token",
                    "description": "The same token as a query parameter, for the WebSocket live feed only (prefer a ticket: URLs end up in logs).",
                },
                "liveTicket": {
                    "type": "apiKey",
                    "in": "query",
                    "name": "ticket",
                    "description": "A one-use ticket from `POST /api/v1/live/ticket`, for the WebSocket live feed only.",
                },
            },
            "responses": responses,
            "schemas": schemas,
        },
    })
}

const DESCRIPTION: &str = "The HTTP API of the Convoy gateway. Every `/api/v1` path but login, this document and the phones' reports (HTTP Basic with the phone's own credentials) needs `Authorization: Bearer TOKEN` (a token from `POST /api/v1/login`); the live feed also opens with a one-use `?ticket=` (from `POST /api/v1/live/ticket`), because browsers cannot set headers on a WebSocket, or with the token as `?token=`.

Errors are JSON: `{\"error\": \"a sentence for a person\", \"reason\": \"a_label_for_programs\"}` (`reason` only where there is one). A request without a valid token gets 401; a role that may not make the call gets 403; an escort asking for a move (or one of its alerts) they are not assigned to gets 404, exactly as for one that does not exist, so move and alert ids do not leak.

Roles: `admin` (everything), `dispatcher` (plans moves, manages vehicles, acknowledges alerts, watches live), `escort` (the live map and alerts of the moves assigned to them), `auditor` (history, replay, exports, reports and the audit log, every place at least `auditor_delay_minutes` old; no live feed, no acknowledgements). Each operation names the roles allowed in its description and in `x-roles`, from the table the server enforces.

Times are RFC 3339 in UTC with milliseconds (`2026-11-28T09:15:02.000Z`); coordinates are WGS 84 degrees, GeoJSON order `[lon, lat]`.";

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashSet};

    use serde_json::Value;

    const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];
    const ROLES: [&str; 4] = ["admin", "dispatcher", "escort", "auditor"];

    fn document() -> Value {
        serde_json::from_str(super::document_text()).expect("the document is JSON")
    }

    /// Every operation: (method, path, operation object).
    fn operations(doc: &Value) -> Vec<(String, String, Value)> {
        let mut all = Vec::new();
        for (path, item) in doc["paths"].as_object().expect("paths is an object") {
            for method in METHODS {
                if let Some(operation) = item.get(method) {
                    all.push((method.to_string(), path.clone(), operation.clone()));
                }
            }
        }
        all
    }

    /// Every `$ref` anywhere in `value`, with where it was found.
    fn refs(value: &Value, at: &str, found: &mut Vec<(String, String)>) {
        match value {
            Value::Object(map) => {
                for (key, inner) in map {
                    if key == "$ref" {
                        found.push((at.to_string(), inner.as_str().unwrap_or_default().to_string()));
                    } else {
                        refs(inner, &format!("{at}/{key}"), found);
                    }
                }
            }
            Value::Array(items) => {
                for (n, inner) in items.iter().enumerate() {
                    refs(inner, &format!("{at}/{n}"), found);
                }
            }
            _ => {}
        }
    }

    #[test]
    fn the_document_is_openapi_3_1_with_a_bearer_scheme_required_by_default() {
        let doc = document();
        assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1.")), "{}", doc["openapi"]);
        assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
        let bearer = &doc["components"]["securitySchemes"]["bearer"];
        assert_eq!((bearer["type"].as_str(), bearer["scheme"].as_str()), (Some("http"), Some("bearer")));
        assert_eq!(doc["security"], serde_json::json!([{ "bearer": [] }]));
    }

    #[test]
    fn every_ref_resolves() {
        let doc = document();
        let mut found = Vec::new();
        refs(&doc, "#", &mut found);
        assert!(found.len() > 50, "the document uses its components");
        for (at, target) in found {
            let pointer = target.strip_prefix('#').unwrap_or_else(|| panic!("{at}: {target} is not local"));
            assert!(doc.pointer(pointer).is_some(), "{at}: {target} does not resolve");
        }
    }

    #[test]
    fn every_operation_is_described_with_its_roles_and_responses() {
        let doc = document();
        let mut ids = HashSet::new();
        for (method, path, operation) in operations(&doc) {
            let name = format!("{} {path}", method.to_uppercase());
            assert!(operation["summary"].as_str().is_some_and(|s| !s.is_empty()), "{name}: summary");
            let id = operation["operationId"].as_str().unwrap_or_else(|| panic!("{name}: operationId"));
            assert!(ids.insert(id.to_string()), "{name}: operationId {id} is used twice");
            let responses = operation["responses"].as_object().unwrap_or_else(|| panic!("{name}: responses"));
            assert!(
                responses.keys().any(|code| code.starts_with('2') || code == "101"),
                "{name}: a success response"
            );
            let description = operation["description"].as_str().unwrap_or_default();
            if operation.get("security") == Some(&serde_json::json!([])) {
                assert!(operation.get("x-roles").is_none(), "{name}: public, so no roles");
                assert!(description.starts_with("Public"), "{name}: says it is public");
                continue;
            }
            if operation.get("x-for") == Some(&serde_json::json!("phones")) {
                assert_eq!(operation["security"], serde_json::json!([{ "phoneBasic": [] }]), "{name}");
                assert!(operation.get("x-roles").is_none(), "{name}: for phones, so no roles");
                assert!(description.starts_with("For phones"), "{name}: says it is for phones");
                assert!(responses.contains_key("401"), "{name}: 401 for missing or wrong credentials");
                continue;
            }
            let roles: BTreeSet<&str> = operation["x-roles"]
                .as_array()
                .unwrap_or_else(|| panic!("{name}: x-roles"))
                .iter()
                .map(|r| r.as_str().unwrap_or_default())
                .collect();
            assert!(
                !roles.is_empty() && roles.iter().all(|r| ROLES.contains(r)),
                "{name}: x-roles {roles:?}"
            );
            // "Roles: admin, dispatcher." opens the description.
            let named = description
                .strip_prefix("Roles: ")
                .and_then(|rest| rest.split_once(". ").map(|(list, _)| list).or(rest.strip_suffix('.')))
                .unwrap_or_else(|| panic!("{name}: the description opens with its roles"));
            for role in ROLES {
                assert_eq!(
                    named.contains(role),
                    roles.contains(role),
                    "{name}: the description and x-roles disagree on {role}"
                );
            }
            assert!(responses.contains_key("401"), "{name}: 401 for a missing or bad token");
            if roles.len() < ROLES.len() {
                assert!(responses.contains_key("403"), "{name}: 403 for the other roles");
            }
            for code in responses.keys().filter(|code| code.starts_with('4')) {
                let response = &responses[code];
                let target =
                    response["$ref"].as_str().unwrap_or_else(|| panic!("{name} {code}: a shared error"));
                assert!(target.starts_with("#/components/responses/"), "{name} {code}: {target}");
            }
        }
    }

    #[test]
    fn every_path_parameter_is_declared() {
        let doc = document();
        for (method, path, operation) in operations(&doc) {
            let declared: BTreeSet<String> = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| match p["$ref"].as_str() {
                    Some(target) => doc.pointer(target.trim_start_matches('#')).cloned().unwrap_or_default(),
                    None => p.clone(),
                })
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().unwrap_or_default().to_string())
                .collect();
            let in_template: BTreeSet<String> = path
                .split('/')
                .filter_map(|part| part.strip_prefix('{')?.strip_suffix('}'))
                .map(str::to_string)
                .collect();
            assert_eq!(declared, in_template, "{method} {path}");
        }
    }

    #[test]
    fn error_responses_have_the_common_error_schema() {
        let doc = document();
        let error = &doc["components"]["schemas"]["Error"];
        assert_eq!(error["required"], serde_json::json!(["error"]));
        for (name, response) in doc["components"]["responses"].as_object().unwrap() {
            assert_eq!(
                response["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/Error",
                "{name}"
            );
        }
    }

    #[test]
    fn roles_come_from_the_role_table() {
        use convoy_core::Ability;
        let doc = document();
        let roles = |method: &str, path: &str| doc["paths"][path][method]["x-roles"].clone();
        let table = |ability: Ability| {
            serde_json::json!(ability.roles().iter().map(|r| r.as_str()).collect::<Vec<_>>())
        };
        assert_eq!(roles("post", "/api/v1/moves"), table(Ability::Plan));
        assert_eq!(roles("get", "/api/v1/audit"), table(Ability::Audit));
        assert_eq!(roles("get", "/api/v1/live"), table(Ability::Live));
        assert_eq!(roles("get", "/api/v1/me"), serde_json::json!(ROLES));
    }

    #[test]
    fn the_route_list_is_the_documents_operations() {
        let doc = document();
        let documented: BTreeSet<(String, String)> =
            operations(&doc).into_iter().map(|(method, path, _)| (method.to_uppercase(), path)).collect();
        let listed: BTreeSet<(String, String)> =
            crate::route_list().into_iter().map(|(method, path)| (method, path.replace("{*", "{"))).collect();
        assert_eq!(listed, documented);
        assert!(crate::route_list().contains(&("GET".into(), "/assets/{*path}".into())), "as axum spells it");
    }

    /// Every route is declared with `routes!` (so documented): no feature module adds one
    /// the document cannot see.
    #[test]
    fn no_route_is_added_past_the_document() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("listener.rs") {
                let source = std::fs::read_to_string(&path).unwrap();
                // The unit tests may build routers of their own.
                let source = source.split("#[cfg(test)]").next().unwrap_or_default();
                for call in ["route", "route_service", "nest_service", "nest"] {
                    let undocumented = format!(".{call}(");
                    assert!(!source.contains(&undocumented), "{}: {undocumented}", path.display());
                }
            }
        }
    }
}
