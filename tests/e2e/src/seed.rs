//! Loads `seed/dev-dataset.json` into a running worker through the admin API, as the root
//! principal (`seed/DEV-ONLY-root-key.pem`), so its secrets are sealed exactly as production
//! data is. Objects refer to each other by `ref`; the loader swaps refs for the ids the API
//! returns. Keys starting with `_` are notes for tests and are not sent.

use crate::{http, repo_root};
use channel_edge::core::auth::{mint, ScopeSet};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// The root principal's id (seed/root-principal.sql).
pub const ROOT_PRINCIPAL: &str = "prn_root";

/// The dev dataset.
pub fn dataset() -> Value {
    let text = std::fs::read_to_string(repo_root().join("seed/dev-dataset.json"))
        .expect("seed/dev-dataset.json is readable");
    serde_json::from_str(&text).expect("seed/dev-dataset.json is JSON")
}

/// The dev root private key (PEM).
pub fn root_key() -> String {
    std::fs::read_to_string(repo_root().join("seed/DEV-ONLY-root-key.pem"))
        .expect("seed/DEV-ONLY-root-key.pem is readable")
}

/// Unix seconds now.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs()
}

/// A root token with `scope`, valid for ten minutes.
pub fn root_token(scope: &str) -> String {
    let scopes = ScopeSet::parse(scope).expect("valid scopes");
    mint(&root_key(), ROOT_PRINCIPAL, &scopes, now(), 600).expect("the dev root key signs")
}

/// The ids the API gave each `ref`, e.g. `acme` → `org_…`.
pub type Ids = BTreeMap<String, String>;

/// Loads the dataset into the worker at `base_url`. Returns the ids by ref, or what failed.
pub fn load(base_url: &str) -> Result<Ids, String> {
    load_checked(base_url, &|_, _, _| {})
}

/// [`load`], passing every request (method, path, body) to `check` before it is sent.
pub fn load_checked(base_url: &str, check: &dyn Fn(&str, &str, &Value)) -> Result<Ids, String> {
    let dataset = dataset();
    let token = root_token("*");
    let mut ids = Ids::new();
    let steps = [
        ("orgs", "/v1/orgs", &[][..]),
        ("app_profiles", "/v1/app-profiles", &[("org", "org_id")][..]),
        (
            "installations",
            "/v1/installations",
            &[("app_profile", "app_profile_id"), ("org", "org_id")][..],
        ),
        (
            "bindings",
            "/v1/bindings",
            &[("installation", "installation_id")][..],
        ),
    ];
    for (section, path, refs) in steps {
        for item in dataset[section].as_array().into_iter().flatten() {
            let (reference, body) = request_body(item, refs, &ids)?;
            check("POST", path, &body);
            let id = create(base_url, path, &token, &body)?;
            if let Some(reference) = reference {
                ids.insert(reference, id);
            }
        }
    }
    Ok(ids)
}

/// The ids of a dataset loaded earlier, found through the admin API: an org by its name, an app
/// profile by its provider and app id, an installation by its app profile and tenant.
pub fn find_loaded(base_url: &str) -> Result<Ids, String> {
    let dataset = dataset();
    let token = root_token("*");
    let mut ids = Ids::new();
    let sections = [
        ("orgs", "/v1/orgs", &["name"][..]),
        (
            "app_profiles",
            "/v1/app-profiles",
            &["provider", "provider_app_id"][..],
        ),
        (
            "installations",
            "/v1/installations",
            &["app_profile_id", "tenant_key"][..],
        ),
    ];
    for (section, path, keys) in sections {
        let existing = list_all(base_url, path, &token)?;
        for item in dataset[section].as_array().into_iter().flatten() {
            let Some(reference) = item["ref"].as_str() else {
                continue;
            };
            let wanted = |key: &str| match key {
                "app_profile_id" => ids
                    .get(item["app_profile"].as_str().unwrap_or_default())
                    .map(|id| Value::from(id.as_str()))
                    .unwrap_or_default(),
                _ => item[key].clone(),
            };
            let found = existing
                .iter()
                .find(|object| keys.iter().all(|key| object[*key] == wanted(key)));
            if let Some(id) = found.and_then(|object| object["id"].as_str()) {
                ids.insert(reference.to_owned(), id.to_owned());
            }
        }
    }
    Ok(ids)
}

/// Every item of the admin collection at `path`, page by page.
fn list_all(base_url: &str, path: &str, token: &str) -> Result<Vec<Value>, String> {
    let bearer = format!("Bearer {token}");
    let mut items = Vec::new();
    let mut cursor = String::new();
    loop {
        let url = format!("{base_url}{path}?limit=100{cursor}");
        let reply = http::send("GET", &url, &[("authorization", &bearer)], &[]);
        if reply.status != 200 {
            return Err(format!("GET {path}: {} {}", reply.status, reply.body));
        }
        let page = reply.json();
        items.extend(page["items"].as_array().into_iter().flatten().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return Ok(items),
        }
    }
}

/// The API body of one dataset item: `_…` keys and `ref` dropped, refs swapped for ids.
fn request_body(
    item: &Value,
    refs: &[(&str, &str)],
    ids: &Ids,
) -> Result<(Option<String>, Value), String> {
    let mut body = Map::new();
    let mut reference = None;
    for (key, value) in item.as_object().into_iter().flatten() {
        if key.starts_with('_') {
            continue;
        }
        if key == "ref" {
            reference = value.as_str().map(str::to_owned);
            continue;
        }
        match refs.iter().find(|(name, _)| name == key) {
            Some((_, field)) => {
                let name = value.as_str().unwrap_or_default();
                let id = ids
                    .get(name)
                    .ok_or(format!("unknown ref {name:?} in {key}"))?;
                body.insert((*field).to_owned(), Value::from(id.as_str()));
            }
            None => {
                body.insert(key.clone(), value.clone());
            }
        }
    }
    Ok((reference, Value::Object(body)))
}

fn create(base_url: &str, path: &str, token: &str, body: &Value) -> Result<String, String> {
    let bearer = format!("Bearer {token}");
    let reply = http::send(
        "POST",
        &format!("{base_url}{path}"),
        &[
            ("authorization", &bearer),
            ("content-type", "application/json"),
        ],
        body.to_string().as_bytes(),
    );
    if reply.status != 201 {
        return Err(format!("POST {path}: {} {}", reply.status, reply.body));
    }
    reply.json()["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or(format!("POST {path}: no id in {}", reply.body))
}
