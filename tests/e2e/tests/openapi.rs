//! Checks real requests and responses against `schema/openapi.json`: every admin call the suite
//! makes goes through [`assert_conforms`], and every body it sends as valid through
//! [`assert_request_conforms`], so the document cannot drift from the worker in either direction.

use channel_edge_e2e::{http::Reply, repo_root};
use serde_json::{json, Value};
use std::sync::OnceLock;

fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let text = std::fs::read_to_string(repo_root().join("schema/openapi.json"))
            .expect("schema/openapi.json is readable");
        serde_json::from_str(&text).expect("schema/openapi.json is JSON")
    })
}

/// The documented path template that `path` (without query) matches.
fn template_for(path: &str) -> Option<&'static str> {
    let path = path.split('?').next().unwrap_or_default();
    document()["paths"]
        .as_object()?
        .keys()
        .find(|template| {
            let mut t = template.split('/');
            let mut p = path.split('/');
            loop {
                match (t.next(), p.next()) {
                    (None, None) => return true,
                    (Some(t), Some(p)) if t.starts_with('{') && !p.is_empty() => {}
                    (Some(t), Some(p)) if t == p => {}
                    _ => return false,
                }
            }
        })
        .map(String::as_str)
}

/// The operation `method path` documents.
fn operation(method: &str, path: &str) -> (&'static str, &'static Value) {
    let template = template_for(path).unwrap_or_else(|| panic!("{path} is not in openapi.json"));
    let operation = &document()["paths"][template][method.to_lowercase()];
    assert!(
        operation.is_object(),
        "{method} {template} is not in openapi.json"
    );
    (template, operation)
}

/// The errors of `instance` against `schema` (a schema object of the document, whose `$ref`s
/// point into its components).
fn errors(schema: &serde_json::Map<String, Value>, instance: &Value) -> Vec<String> {
    let mut root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": document()["components"],
    });
    for (key, value) in schema {
        root[key] = value.clone();
    }
    let validator =
        jsonschema::validator_for(&root).unwrap_or_else(|e| panic!("schema does not compile: {e}"));
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// Panics unless `body`, sent to `method path`, matches the operation's documented request
/// body: every body a test sends as valid must be one the contract accepts.
pub fn assert_request_conforms(method: &str, path: &str, body: &Value) {
    let (template, operation) = operation(method, path);
    let Some(schema) =
        operation["requestBody"]["content"]["application/json"]["schema"].as_object()
    else {
        panic!("{method} {template} documents no request body, but the test sends {body}");
    };
    let errors = errors(schema, body);
    assert!(
        errors.is_empty(),
        "the request {method} {path} does not match openapi.json:\n  {}\nbody: {body}",
        errors.join("\n  ")
    );
}

/// Panics unless the reply's status is documented for the operation and its body matches the
/// documented schema.
pub fn assert_conforms(method: &str, path: &str, reply: &Reply) {
    let (template, operation) = operation(method, path);
    let status = reply.status.to_string();
    let response = &operation["responses"][&status];
    assert!(
        response.is_object(),
        "{method} {template}: status {status} is not documented (body {})",
        reply.body
    );
    let Some(schema) = response["content"]["application/json"]["schema"].as_object() else {
        return;
    };
    let body = reply.json();
    let errors = errors(schema, &body);
    assert!(
        errors.is_empty(),
        "{method} {path} -> {status} does not match openapi.json:\n  {}\nbody: {body}",
        errors.join("\n  ")
    );
}
