//! `GET /api/v1/openapi.json`: the API's OpenAPI 3.1 document, public like the web page.
//!
//! The document is hand-written JSON (`openapi.json`, next to this file) rather than generated
//! from the handlers: no code-generation dependency, and the text says why each limit and role
//! is what it is. Tests keep it honest: the unit tests below check that it is well-formed
//! OpenAPI whose every `$ref` resolves, and `tests/authorization.rs` checks that its
//! operations and their `x-roles` are exactly the routes and roles the server enforces.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

/// The document, embedded in the binary.
pub(crate) const DOCUMENT: &str = include_str!("openapi.json");

pub(crate) async fn document() -> Response {
    let mut response = DOCUMENT.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    // A new binary may bring a new document under the same URL: always revalidate.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashSet};

    use serde_json::Value;

    use super::DOCUMENT;

    const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];
    const ROLES: [&str; 4] = ["admin", "dispatcher", "escort", "auditor"];

    fn document() -> Value {
        serde_json::from_str(DOCUMENT).expect("openapi.json is JSON")
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
}
