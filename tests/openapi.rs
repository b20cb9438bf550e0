//! `schema/openapi.json` (served at `GET /v1/openapi.json`) against the code: every route is
//! documented and nothing else is, every `$ref` resolves, and every admin operation names a real
//! scope.

use channel_edge::core::auth::Scope;
use channel_edge::core::route::{endpoints, Route};
use serde_json::Value;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn document() -> Value {
    serde_json::from_str(include_str!("../schema/openapi.json"))
        .expect("schema/openapi.json is valid JSON")
}

/// Every documented `(method, path, operation)`, method in lower case.
fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let paths = doc["paths"].as_object().expect("`paths` is an object");
    let mut operations = Vec::new();
    for (path, item) in paths {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                operations.push((method.to_owned(), path.clone(), operation));
            }
        }
    }
    operations
}

/// Every `$ref` value anywhere in `value`.
fn refs<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                match (key.as_str(), child) {
                    ("$ref", Value::String(target)) => found.push(target),
                    _ => refs(child, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| refs(item, found)),
        _ => {}
    }
}

#[test]
fn the_document_is_openapi_3_1() {
    assert_eq!(document()["openapi"], "3.1.0");
}

#[test]
fn every_route_is_documented() {
    let doc = document();
    for (method, template) in endpoints() {
        assert!(
            doc["paths"][&template].get(method.to_lowercase()).is_some(),
            "{method} {template} is served but not documented in schema/openapi.json"
        );
    }
}

#[test]
fn every_documented_operation_is_a_route() {
    let doc = document();
    let served: Vec<(String, String)> = endpoints()
        .map(|(method, template)| (method.to_lowercase(), template))
        .collect();
    for (method, path, _) in operations(&doc) {
        assert!(
            served.contains(&(method.clone(), path.clone())),
            "{} {path} is documented but not in route::endpoints()",
            method.to_uppercase()
        );
    }
}

#[test]
fn every_ref_resolves_to_a_component_schema() {
    let doc = document();
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(!found.is_empty(), "the document uses no $ref at all");
    for target in found {
        let name = target.strip_prefix("#/components/schemas/");
        assert!(
            name.is_some_and(|name| doc["components"]["schemas"].get(name).is_some()),
            "$ref {target} does not resolve to an entry of components/schemas"
        );
    }
}

#[test]
fn every_admin_operation_needs_a_known_scope() {
    let doc = document();
    let scopes: Vec<&str> = Scope::ALL.iter().map(|scope| scope.as_str()).collect();
    for (method, path, operation) in operations(&doc) {
        if !path.starts_with("/v1/") || path == "/v1/openapi.json" {
            continue;
        }
        let method = method.to_uppercase();
        assert!(
            operation.get("security").is_some(),
            "{method} {path} has no `security`"
        );
        let scope = operation["x-required-scope"].as_str();
        assert!(
            scope.is_some_and(|scope| scopes.contains(&scope)),
            "{method} {path}: x-required-scope {scope:?} is not one of {scopes:?}"
        );
    }
}

#[test]
fn every_admin_operation_documents_the_scope_its_route_checks() {
    let doc = document();
    for (method, template) in endpoints() {
        // A concrete path for the template: each `{name}` segment becomes `x`.
        let path: Vec<&str> = template
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    "x"
                } else {
                    segment
                }
            })
            .collect();
        if let Route::Admin(admin) = Route::resolve(method, &path.join("/")) {
            assert_eq!(
                doc["paths"][&template][method.to_lowercase()]["x-required-scope"],
                admin.scope().as_str(),
                "{method} {template}: x-required-scope differs from the scope the route checks"
            );
        }
    }
}

/// Every `enum` in `value` that lists scopes (it names `principals:write`).
fn scope_enums<'a>(value: &'a Value, found: &mut Vec<&'a Value>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let lists_scopes = child
                    .as_array()
                    .is_some_and(|items| items.iter().any(|item| item == "principals:write"));
                if key == "enum" && lists_scopes {
                    found.push(child);
                } else {
                    scope_enums(child, found);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| scope_enums(item, found)),
        _ => {}
    }
}

#[test]
fn every_scope_list_is_exactly_the_scope_table() {
    let doc = document();
    let mut found = Vec::new();
    scope_enums(&doc, &mut found);
    assert!(
        found.len() >= 3,
        "Principal, NewPrincipal and Error list scopes"
    );
    let names: Vec<&str> = Scope::ALL.iter().map(|scope| scope.as_str()).collect();
    for listed in found {
        assert_eq!(listed, &serde_json::json!(names));
    }
}

#[test]
fn every_body_limit_is_the_one_the_code_enforces() {
    use channel_edge::core::admin::*;
    let doc = document();
    let schemas = &doc["components"]["schemas"];
    let max = |pointer: &str| {
        schemas
            .pointer(pointer)
            .and_then(Value::as_u64)
            .unwrap_or_else(|| panic!("components/schemas{pointer} is not a number"))
            as usize
    };
    let limits = [
        ("/NewPrincipal/properties/name/maxLength", MAX_NAME_CHARS),
        ("/NewOrg/properties/name/maxLength", MAX_NAME_CHARS),
        ("/NewAppProfile/properties/name/maxLength", MAX_NAME_CHARS),
        (
            "/NewAppProfile/properties/provider_app_id/maxLength",
            MAX_ID_CHARS,
        ),
        (
            "/NewAppProfile/properties/secrets/additionalProperties/maxLength",
            MAX_SECRET_CHARS,
        ),
        (
            "/NewPrincipal/properties/org_ids/maxItems",
            MAX_ID_LIST_ITEMS,
        ),
        (
            "/NewPrincipal/properties/org_ids/items/maxLength",
            MAX_ID_CHARS,
        ),
        (
            "/NewPrincipal/properties/agent_ids/maxItems",
            MAX_ID_LIST_ITEMS,
        ),
        (
            "/NewInstallation/properties/tenant_key/maxLength",
            MAX_ID_CHARS,
        ),
        (
            "/NewInstallation/properties/metadata/maxProperties",
            MAX_METADATA_PROPERTIES,
        ),
        (
            "/NewInstallation/properties/metadata/propertyNames/maxLength",
            MAX_METADATA_KEY_CHARS,
        ),
        (
            "/NewInstallation/properties/metadata/additionalProperties/maxLength",
            MAX_METADATA_VALUE_CHARS,
        ),
        (
            "/NewInstallation/properties/credentials/additionalProperties/maxLength",
            MAX_SECRET_CHARS,
        ),
        (
            "/RotateSecrets/properties/secrets/additionalProperties/maxLength",
            MAX_SECRET_CHARS,
        ),
        ("/NewBinding/properties/agent_id/maxLength", MAX_ID_CHARS),
        (
            "/NewBinding/properties/allowlist/maxItems",
            MAX_ALLOWLIST_ITEMS,
        ),
        (
            "/NewBinding/properties/allowlist/items/maxLength",
            MAX_ID_CHARS,
        ),
        ("/Selector/properties/conversation/maxLength", MAX_ID_CHARS),
        (
            "/AllowlistEntryRequest/properties/sender_id/maxLength",
            MAX_ID_CHARS,
        ),
        (
            "/FlagChange/properties/canary_org_ids/maxItems",
            MAX_ID_LIST_ITEMS,
        ),
        ("/FlagChange/properties/reason/maxLength", MAX_REASON_CHARS),
        (
            "/NewInstallToken/properties/subject/maxLength",
            MAX_ID_CHARS,
        ),
        (
            "/BindingSpec/properties/allowlist/maxItems",
            MAX_ALLOWLIST_ITEMS,
        ),
        (
            "/NewBindingSession/properties/org_id/maxLength",
            MAX_ID_CHARS,
        ),
    ];
    for (pointer, limit) in limits {
        assert_eq!(max(pointer), limit, "components/schemas{pointer}");
    }
    let description = doc["info"]["description"].as_str().unwrap();
    assert!(description.contains(&format!("at most {MAX_BODY_BYTES} bytes")));
}
