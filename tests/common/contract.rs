//! The API's contract: real answers checked against the server's own OpenAPI document.
//!
//! [`Contract::check`] finds the operation of an answer by its method and path (matched against
//! the document's path templates), then the documented response for its status and the media
//! type it came as, and validates a JSON body against that schema with a JSON Schema 2020-12
//! validator (the schema's `$ref`s resolve against the document's `components`). The schemas
//! are made strict first: an object may hold only the properties the document names
//! (`additionalProperties` / `unevaluatedProperties: false`), so a field the server sends and
//! the document does not describe fails as surely as one it lacks.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Mutex;

use serde_json::{json, Value};

use super::TestServer;

pub struct Contract {
    doc: Value,
    /// Names of component schemas used as a part of an `allOf` (those must stay open: the
    /// whole they are part of is closed instead).
    parts: HashSet<String>,
    validators: Mutex<HashMap<String, jsonschema::Validator>>,
    /// (method, template, status) of every answer checked.
    seen: Mutex<BTreeSet<(String, String, String)>>,
}

/// One answer to check.
pub struct Answer<'a> {
    pub method: &'a str,
    /// The path as requested, with its query if any.
    pub path: &'a str,
    pub status: u16,
    pub content_type: Option<&'a str>,
    pub body: &'a [u8],
}

impl Contract {
    /// The contract `server` serves.
    pub async fn of(server: &TestServer) -> Contract {
        let doc: Value =
            reqwest::get(server.url("/api/v1/openapi.json")).await.unwrap().json().await.unwrap();
        Contract::new(doc)
    }

    pub fn new(doc: Value) -> Contract {
        let mut parts = HashSet::new();
        collect_parts(&doc, &mut parts);
        Contract { doc, parts, validators: Mutex::new(HashMap::new()), seen: Mutex::new(BTreeSet::new()) }
    }

    pub fn document(&self) -> &Value {
        &self.doc
    }

    /// The document's path template that `path` (without its query) matches.
    pub fn template(&self, path: &str) -> Option<String> {
        let path = path.split('?').next().unwrap_or_default();
        let segments: Vec<&str> = path.split('/').collect();
        let templates = self.doc["paths"].as_object()?;
        let mut best: Option<(usize, &String)> = None;
        for template in templates.keys() {
            let parts: Vec<&str> = template.split('/').collect();
            let last_is_param = parts.last().is_some_and(|p| p.starts_with('{'));
            // `/assets/{path}` is a catch-all: its last parameter takes the rest.
            let lengths_fit = parts.len() == segments.len()
                || (template.starts_with("/assets/") && last_is_param && segments.len() > parts.len());
            if !lengths_fit {
                continue;
            }
            let mut literal = 0;
            let fits = parts.iter().zip(&segments).all(|(part, segment)| {
                if part.starts_with('{') {
                    !segment.is_empty()
                } else {
                    literal += 1;
                    part == segment
                }
            });
            if fits && best.is_none_or(|(n, _)| literal > n) {
                best = Some((literal, template));
            }
        }
        best.map(|(_, template)| template.clone())
    }

    /// Checks one answer against the document; says what is wrong if anything.
    pub fn check(&self, answer: &Answer) -> Result<(), String> {
        let what = format!("{} {} -> {}", answer.method, answer.path, answer.status);
        let template = self.template(answer.path).ok_or_else(|| format!("{what}: no documented path"))?;
        let method = answer.method.to_lowercase();
        let operation = &self.doc["paths"][&template][&method];
        if operation.is_null() {
            return Err(format!("{what}: {method} {template} is not documented"));
        }
        let status = answer.status.to_string();
        let mut response = operation["responses"]
            .get(&status)
            .cloned()
            .ok_or_else(|| format!("{what}: status {status} is not documented for {method} {template}"))?;
        let mut pointer = format!("/paths/{}/{method}/responses/{status}", escape(&template));
        if let Some(target) = response["$ref"].as_str() {
            pointer = target.trim_start_matches('#').to_string();
            response = self.doc.pointer(&pointer).cloned().ok_or_else(|| format!("{what}: {target}"))?;
        }
        self.seen.lock().unwrap().insert((answer.method.to_uppercase(), template.clone(), status.clone()));
        let Some(content) = response["content"].as_object() else {
            return if answer.body.is_empty() {
                Ok(())
            } else {
                Err(format!("{what}: a body where the document has none"))
            };
        };
        let media = answer.content_type.unwrap_or_default().split(';').next().unwrap_or_default().trim();
        let documented = content.keys().find(|key| {
            let key_media = key.split(';').next().unwrap_or_default().trim();
            key_media == media || key.as_str() == "*/*"
        });
        let Some(key) = documented else {
            return Err(format!("{what}: content type {media:?} is not documented ({:?})", content.keys()));
        };
        if key != "application/json" {
            return Ok(());
        }
        let body: Value = serde_json::from_slice(answer.body).map_err(|e| {
            format!("{what}: the body is not JSON ({e}): {}", String::from_utf8_lossy(answer.body))
        })?;
        let schema_pointer = format!("{pointer}/content/{}/schema", escape(key));
        self.validate(&schema_pointer, &body).map_err(|e| format!("{what}: {e}\n  body: {body}"))
    }

    /// Validates `instance` against the schema at `pointer` in the document.
    pub fn validate(&self, pointer: &str, instance: &Value) -> Result<(), String> {
        let mut validators = self.validators.lock().unwrap();
        if !validators.contains_key(pointer) {
            let schema =
                self.doc.pointer(pointer).cloned().ok_or_else(|| format!("no schema at {pointer}"))?;
            let mut components = self.doc["components"].clone();
            if let Some(schemas) = components["schemas"].as_object_mut() {
                for (name, schema) in schemas.iter_mut() {
                    strict(schema, self.parts.contains(name));
                }
            }
            let mut answer = schema;
            strict(&mut answer, false);
            let root = json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "$ref": "#/$defs/answer",
                "$defs": { "answer": answer },
                "components": components,
            });
            let validator = jsonschema::options()
                .with_draft(jsonschema::Draft::Draft202012)
                .should_validate_formats(true)
                .build(&root)
                .map_err(|e| format!("the schema at {pointer} does not compile: {e}"))?;
            validators.insert(pointer.to_string(), validator);
        }
        let errors: Vec<String> = validators[pointer]
            .iter_errors(instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }

    /// Every (method, template, status) checked so far.
    pub fn seen(&self) -> BTreeSet<(String, String, String)> {
        self.seen.lock().unwrap().clone()
    }

    /// Every documented operation as (METHOD, template).
    pub fn operations(&self) -> BTreeSet<(String, String)> {
        let mut all = BTreeSet::new();
        for (path, item) in self.doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                if ["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                    all.insert((method.to_uppercase(), path.clone()));
                }
            }
        }
        all
    }

    /// Records an answer checked elsewhere (the live feed's upgrade).
    pub fn saw(&self, method: &str, template: &str, status: u16) {
        self.seen.lock().unwrap().insert((method.to_uppercase(), template.to_string(), status.to_string()));
    }
}

/// A JSON pointer's escaping of one key.
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The component schemas referred to as a member of an `allOf`.
fn collect_parts(value: &Value, parts: &mut HashSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(members)) = map.get("allOf") {
                for member in members {
                    if let Some(name) =
                        member["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/"))
                    {
                        parts.insert(name.to_string());
                    }
                }
            }
            map.values().for_each(|inner| collect_parts(inner, parts));
        }
        Value::Array(items) => items.iter().for_each(|inner| collect_parts(inner, parts)),
        _ => {}
    }
}

/// Closes every object schema under `schema` to the properties it names; a `part` (a member
/// of an `allOf`) stays open, and the `allOf` is closed instead, as is each use of a part by
/// `$ref` (`unevaluatedProperties` sees the properties the referred schema names).
fn strict(schema: &mut Value, part: bool) {
    let Value::Object(map) = schema else { return };
    if !part && !map.contains_key("additionalProperties") && !map.contains_key("unevaluatedProperties") {
        if map.contains_key("allOf") || map.contains_key("$ref") {
            map.insert("unevaluatedProperties".into(), Value::Bool(false));
        } else if map.contains_key("properties") {
            map.insert("additionalProperties".into(), Value::Bool(false));
        }
    }
    if let Some(Value::Object(properties)) = map.get_mut("properties") {
        properties.values_mut().for_each(|p| strict(p, false));
    }
    for key in ["items", "additionalProperties"] {
        if let Some(inner) = map.get_mut(key) {
            strict(inner, false);
        }
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(Value::Array(members)) = map.get_mut(key) {
            members.iter_mut().for_each(|m| strict(m, false));
        }
    }
    if let Some(Value::Array(members)) = map.get_mut("allOf") {
        members.iter_mut().for_each(|m| strict(m, true));
    }
}
