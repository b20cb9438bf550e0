//! The provider lists in `schema/openapi.json` and `schema/inbound-envelope.v{1,2}.json` are made
//! from the provider registry (`Provider::ALL` and each provider's `Spec`), not written by hand:
//! this test computes them and fails on any difference.
//!
//! `CHANNEL_EDGE_WRITE_SCHEMA=1 cargo test -p channel-edge --test provider_documents` rewrites
//! them in place (only the values below, in the documents' own layout), so adding a provider
//! updates both documents in one command.

use channel_edge::core::tenancy::Provider;
use serde_json::{json, Value};
use std::path::PathBuf;

/// Where a document lists every provider, by JSON Pointer.
const OPENAPI_PROVIDER_LISTS: [&str; 11] = [
    "/paths/~1v1~1app-profiles/get/parameters/3/schema/enum",
    "/paths/~1v1~1deliveries/get/parameters/3/schema/enum",
    "/paths/~1v1~1dead-letters/get/parameters/3/schema/enum",
    "/paths/~1v1~1dead-letters~1redrive/post/parameters/2/schema/enum",
    "/components/schemas/Delivery/properties/provider/enum",
    "/paths/~1v1~1messages/get/parameters/3/schema/enum",
    "/components/schemas/AppProfile/properties/provider/enum",
    "/components/schemas/NewAppProfile/properties/provider/enum",
    "/components/schemas/NewInstallToken/properties/provider/enum",
    "/components/schemas/NewBindingSession/properties/provider/enum",
    "/components/schemas/Message/properties/provider/enum",
];
const ENVELOPE_PROVIDER_LISTS: [&str; 2] = [
    "/properties/provider/enum",
    "/properties/route/properties/channel/enum",
];
/// The app profile secret rules: the first two `allOf` entries are about `kind`.
const PROFILE_SECRET_RULES: &str = "/components/schemas/NewAppProfile/allOf";
const KIND_RULES: usize = 2;
const PROFILE_SECRETS_TEXT: &str =
    "/components/schemas/NewAppProfile/properties/secrets/description";
const CREDENTIALS_TEXT: &str =
    "/components/schemas/NewInstallation/properties/credentials/description";

fn names() -> Value {
    json!(Provider::ALL.map(Provider::as_str))
}

/// `slack: **signing_secret**, oauth_client_id; …` (required ones in bold, `none` when empty).
fn secret_list(secrets: fn(Provider) -> &'static [(&'static str, bool)]) -> String {
    Provider::ALL
        .map(|provider| {
            let list: Vec<String> = secrets(provider)
                .iter()
                .map(|(name, required)| {
                    if *required {
                        format!("**{name}**")
                    } else {
                        (*name).to_owned()
                    }
                })
                .collect();
            let list = if list.is_empty() {
                "none".to_owned()
            } else {
                list.join(", ")
            };
            format!("{}: {list}", provider.as_str())
        })
        .join("; ")
}

/// One `allOf` rule per provider: which secret names an app profile of it takes and requires.
fn profile_secret_rules(kind_rules: &[Value]) -> Value {
    let mut rules = kind_rules.to_vec();
    for provider in Provider::ALL {
        let secrets = provider.profile_secrets();
        let when = json!({"properties": {"provider": {"const": provider.as_str()}},
                          "required": ["provider"]});
        let then = if secrets.is_empty() {
            json!({"properties": {"secrets": {"maxProperties": 0}}})
        } else {
            let required: Vec<&str> = secrets
                .iter()
                .filter(|(_, required)| *required)
                .map(|(name, _)| *name)
                .collect();
            let names: Vec<&str> = secrets.iter().map(|(name, _)| *name).collect();
            let mut rule = json!({"properties": {"secrets": {"propertyNames": {"enum": names}}}});
            if !required.is_empty() {
                rule["required"] = json!(["secrets"]);
                rule["properties"]["secrets"]["required"] = json!(required);
            }
            rule
        };
        rules.push(json!({"if": when, "then": then}));
    }
    Value::Array(rules)
}

/// What each generated pointer of a document must hold.
fn expected(document: &Value, openapi: bool) -> Vec<(String, Value)> {
    if !openapi {
        return ENVELOPE_PROVIDER_LISTS
            .map(|pointer| (pointer.to_owned(), names()))
            .to_vec();
    }
    let mut values: Vec<(String, Value)> = OPENAPI_PROVIDER_LISTS
        .map(|pointer| (pointer.to_owned(), names()))
        .to_vec();
    let kind_rules = document
        .pointer(PROFILE_SECRET_RULES)
        .and_then(Value::as_array)
        .map(|rules| rules.iter().take(KIND_RULES).cloned().collect::<Vec<_>>())
        .unwrap_or_default();
    values.push((
        PROFILE_SECRET_RULES.to_owned(),
        profile_secret_rules(&kind_rules),
    ));
    values.push((
        PROFILE_SECRETS_TEXT.to_owned(),
        json!(format!(
            "The profile's secrets by name. Allowed names per provider (required ones in bold): \
             {}. A wrong, missing or empty secret is 422.",
            secret_list(Provider::profile_secrets)
        )),
    ));
    values.push((
        CREDENTIALS_TEXT.to_owned(),
        json!(format!(
            "Credentials by name; the allowed names depend on the profile's provider (required \
             ones in bold): {}. A wrong, missing or empty credential is 422.",
            secret_list(Provider::installation_credentials)
        )),
    ));
    values
}

fn check_or_write(file: &str, openapi: bool) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(file);
    let mut text = std::fs::read_to_string(&path).expect("the document is readable");
    let document: Value = serde_json::from_str(&text).expect("the document is JSON");
    let write = std::env::var_os("CHANNEL_EDGE_WRITE_SCHEMA").is_some();
    for (pointer, value) in expected(&document, openapi) {
        if document.pointer(&pointer) == Some(&value) {
            continue;
        }
        assert!(
            write,
            "{file}{pointer} is not what the provider registry says; rewrite it with \
             CHANNEL_EDGE_WRITE_SCHEMA=1 cargo test -p channel-edge --test provider_documents"
        );
        let (start, end) = span(&text, &pointer)
            .unwrap_or_else(|| panic!("{file}{pointer} is not in the document"));
        let indent = text[..start].rsplit('\n').next().unwrap_or("").len()
            - text[..start]
                .rsplit('\n')
                .next()
                .unwrap_or("")
                .trim_start()
                .len();
        text.replace_range(start..end, &layout(&value, indent));
    }
    if write {
        std::fs::write(&path, text).expect("the document is writable");
    }
}

#[test]
fn the_openapi_document_lists_the_registered_providers() {
    check_or_write("schema/openapi.json", true);
}

#[test]
fn the_envelope_schema_lists_the_registered_providers() {
    check_or_write("schema/inbound-envelope.v1.json", false);
    check_or_write("schema/inbound-envelope.v2.json", false);
}

#[test]
fn no_other_list_of_every_provider_is_left_by_hand() {
    let all = names();
    for (file, listed) in [
        ("schema/openapi.json", &OPENAPI_PROVIDER_LISTS[..]),
        (
            "schema/inbound-envelope.v1.json",
            &ENVELOPE_PROVIDER_LISTS[..],
        ),
        (
            "schema/inbound-envelope.v2.json",
            &ENVELOPE_PROVIDER_LISTS[..],
        ),
    ] {
        let text =
            std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(file)).unwrap();
        let document: Value = serde_json::from_str(&text).unwrap();
        let mut found = Vec::new();
        lists_of(&document, "", &all, &mut found);
        for pointer in found {
            assert!(
                listed.contains(&pointer.as_str()),
                "{file}{pointer} lists every provider: add it to this test's lists"
            );
        }
    }
}

/// Pointers of every array in `value` equal to `all`.
fn lists_of(value: &Value, pointer: &str, all: &Value, found: &mut Vec<String>) {
    if value == all {
        found.push(pointer.to_owned());
        return;
    }
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let key = key.replace('~', "~0").replace('/', "~1");
                lists_of(child, &format!("{pointer}/{key}"), all, found);
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                lists_of(child, &format!("{pointer}/{index}"), all, found);
            }
        }
        _ => {}
    }
}

/// The byte span of the value at JSON Pointer `pointer` in JSON `text`.
fn span(text: &str, pointer: &str) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut at = skip_space(bytes, 0);
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        at = child(bytes, at, &segment)?;
    }
    Some((at, end_of_value(bytes, at)?))
}

fn skip_space(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    at
}

/// Where the member `segment` of the object or array starting at `at` starts.
fn child(bytes: &[u8], at: usize, segment: &str) -> Option<usize> {
    let open = *bytes.get(at)?;
    let mut at = skip_space(bytes, at + 1);
    let mut index = 0;
    loop {
        if matches!(bytes.get(at), Some(b'}' | b']')) {
            return None;
        }
        let matched = if open == b'{' {
            let key_end = end_of_value(bytes, at)?;
            let key: String = serde_json::from_slice(&bytes[at..key_end]).ok()?;
            at = skip_space(bytes, key_end);
            at = skip_space(bytes, at + 1); // the colon
            key == segment
        } else {
            segment.parse::<usize>().ok() == Some(index)
        };
        if matched {
            return Some(at);
        }
        at = skip_space(bytes, end_of_value(bytes, at)?);
        if bytes.get(at) == Some(&b',') {
            at = skip_space(bytes, at + 1);
        }
        index += 1;
    }
}

/// Where the JSON value starting at `at` ends (one past its last byte).
fn end_of_value(bytes: &[u8], at: usize) -> Option<usize> {
    match bytes.get(at)? {
        b'"' => {
            let mut i = at + 1;
            while *bytes.get(i)? != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            Some(i + 1)
        }
        b'{' | b'[' => {
            let (mut depth, mut i) = (0usize, at);
            loop {
                match *bytes.get(i)? {
                    b'"' => {
                        i = end_of_value(bytes, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        _ => {
            let mut i = at;
            while bytes
                .get(i)
                .is_some_and(|b| !matches!(b, b',' | b'}' | b']') && !b.is_ascii_whitespace())
            {
                i += 1;
            }
            Some(i)
        }
    }
}

/// `value` laid out as the documents are (two-space indent, ASCII only), starting at column
/// `indent`.
fn layout(value: &Value, indent: usize) -> String {
    let pad = |n: usize| " ".repeat(n);
    match value {
        Value::Array(items) if !items.is_empty() => {
            let inner: Vec<String> = items
                .iter()
                .map(|item| format!("{}{}", pad(indent + 2), layout(item, indent + 2)))
                .collect();
            format!("[\n{}\n{}]", inner.join(",\n"), pad(indent))
        }
        Value::Object(map) if !map.is_empty() => {
            let inner: Vec<String> = map
                .iter()
                .map(|(key, item)| {
                    format!(
                        "{}{}: {}",
                        pad(indent + 2),
                        ascii(&json!(key).to_string()),
                        layout(item, indent + 2)
                    )
                })
                .collect();
            format!("{{\n{}\n{}}}", inner.join(",\n"), pad(indent))
        }
        other => ascii(&other.to_string()),
    }
}

/// JSON text with every non-ASCII character escaped (`\u2026`).
fn ascii(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

#[test]
fn the_layout_is_the_documents_own() {
    let value = json!({"a": ["x", "…"], "b": {}});
    assert_eq!(
        layout(&value, 2),
        "{\n    \"a\": [\n      \"x\",\n      \"\\u2026\"\n    ],\n    \"b\": {}\n  }"
    );
    let text = r#"{"x": {"y": [1, {"z": "a\"b"}]}, "w": 2}"#;
    let (start, end) = span(text, "/x/y/1/z").unwrap();
    assert_eq!(&text[start..end], r#""a\"b""#);
    assert_eq!(span(text, "/w"), Some((38, 39)));
}
