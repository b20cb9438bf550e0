//! The admin API's authentication, principals, rate limiting and audit ledger.

use crate::{unique_ip, Env};
use channel_edge::core::auth::{generate_key_pair, mint, ScopeSet};
use channel_edge_e2e::{http, seed};
use libtest_mimic::Failed;
use serde_json::{json, Value};

tests![
    openapi_document_is_served,
    missing_token_is_401_json,
    bad_token_is_401_and_audited,
    token_without_the_scope_is_403_naming_it,
    failed_authentication_is_rate_limited_per_ip,
    principals_grant_only_what_they_hold,
    rotating_a_principal_key_retires_the_old_key,
    a_revoked_principal_is_refused,
    concurrent_appends_keep_the_chain_and_tampering_is_caught,
    the_audit_list_is_newest_first_and_filters,
];

fn openapi_document_is_served(env: &Env) -> Result<(), Failed> {
    let reply = http::get(&env.worker.url("/v1/openapi.json"));
    assert_eq!(reply.status, 200);
    let served = reply.json();
    assert_eq!(served["openapi"], "3.1.0");
    let file: Value = serde_json::from_str(include_str!("../../../schema/openapi.json"))?;
    assert_eq!(
        served, file,
        "the worker serves schema/openapi.json as built"
    );
    Ok(())
}

fn missing_token_is_401_json(env: &Env) -> Result<(), Failed> {
    let ip = unique_ip();
    let reply = http::send(
        "GET",
        &env.worker.url("/v1/orgs"),
        &[("cf-connecting-ip", &ip)],
        &[],
    );
    assert_eq!(reply.status, 401);
    assert_eq!(reply.json()["error"]["code"], "unauthorized");
    assert!(reply.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Authorization"));
    crate::openapi::assert_conforms("GET", "/v1/orgs", &reply);
    Ok(())
}

fn bad_token_is_401_and_audited(env: &Env) -> Result<(), Failed> {
    let ip = unique_ip();
    // Signed by a key no principal has, claiming to be root.
    let (pem, _) = generate_key_pair([9; 32]);
    let forged = mint(&pem, "prn_root", &ScopeSet::parse("*")?, seed::now(), 60)?;
    let reply = env.call(
        "GET",
        "/v1/orgs",
        &forged,
        None,
        &[("cf-connecting-ip", &ip)],
    );
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.json()["error"]["message"],
        "token is not signed by a known principal"
    );
    assert!(!reply.body.contains(forged.rsplit('.').next().unwrap()));
    let entries = audit_entries(env, "auth.failed");
    assert!(
        entries
            .iter()
            .any(|entry| entry["target"] == format!("ip:{ip}")),
        "no auth.failed entry for {ip}"
    );
    Ok(())
}

fn token_without_the_scope_is_403_naming_it(env: &Env) -> Result<(), Failed> {
    let reply = env.admin("GET", "/v1/audit", "bindings:read", None);
    assert_eq!(reply.status, 403);
    assert_eq!(reply.json()["error"]["code"], "forbidden");
    assert_eq!(reply.json()["error"]["missing_scope"], "audit:read");
    Ok(())
}

fn failed_authentication_is_rate_limited_per_ip(env: &Env) -> Result<(), Failed> {
    let ip = unique_ip();
    let attempt = |ip: &str| {
        env.call(
            "GET",
            "/v1/orgs",
            "not-a-jwt",
            None,
            &[("cf-connecting-ip", ip)],
        )
    };
    for n in 1..=5 {
        assert_eq!(attempt(&ip).status, 401, "attempt {n}");
    }
    let limited = attempt(&ip);
    assert_eq!(limited.status, 429);
    assert_eq!(limited.header("retry-after"), Some("60"));
    assert_eq!(limited.json()["error"]["code"], "rate_limited");
    // Another client is not affected, and valid tokens are never limited.
    assert_eq!(attempt(&unique_ip()).status, 401);
    let valid = env.call(
        "GET",
        "/v1/orgs",
        &seed::root_token("profiles:write"),
        None,
        &[("cf-connecting-ip", &ip)],
    );
    assert_eq!(valid.status, 200);
    Ok(())
}

/// Creates a principal with `scopes` as root and returns (id, private key PEM). The root token
/// carries `*`: a token can only grant scopes it carries itself.
fn new_principal(env: &Env, seed_byte: u8, scopes: &[&str]) -> (String, String) {
    let (pem, public_key) = generate_key_pair([seed_byte; 32]);
    let reply = env.admin(
        "POST",
        "/v1/principals",
        "*",
        Some(json!({"name": format!("test-{seed_byte}"), "public_key": public_key, "scopes": scopes})),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    (reply.json()["id"].as_str().unwrap().to_owned(), pem)
}

fn token(id: &str, pem: &str, scope: &str) -> String {
    mint(pem, id, &ScopeSet::parse(scope).unwrap(), seed::now(), 600).unwrap()
}

fn principals_grant_only_what_they_hold(env: &Env) -> Result<(), Failed> {
    let (id, pem) = new_principal(env, 11, &["principals:write", "bindings:read"]);
    let created = env.admin(
        "GET",
        &format!("/v1/principals/{id}"),
        "principals:write",
        None,
    );
    assert_eq!(
        created.json()["scopes"],
        json!(["principals:write", "bindings:read"])
    );
    assert_eq!(created.json()["created_by"], "prn_root");

    let (_, other_key) = generate_key_pair([12; 32]);
    let admin_token = token(&id, &pem, "principals:write bindings:read");
    let escalate = env.call(
        "POST",
        "/v1/principals",
        &admin_token,
        Some(json!({"name": "x", "public_key": other_key, "scopes": ["audit:read"]})),
        &[],
    );
    assert_eq!(escalate.status, 403, "{}", escalate.body);
    assert_eq!(escalate.json()["error"]["missing_scope"], "audit:read");
    let subset = env.call(
        "POST",
        "/v1/principals",
        &admin_token,
        Some(json!({"name": "reader", "public_key": other_key, "scopes": ["bindings:read"]})),
        &[],
    );
    assert_eq!(subset.status, 201, "{}", subset.body);
    assert_eq!(subset.json()["created_by"], json!(id));
    Ok(())
}

fn rotating_a_principal_key_retires_the_old_key(env: &Env) -> Result<(), Failed> {
    let (id, old_pem) = new_principal(env, 21, &["audit:read"]);
    let old_token = token(&id, &old_pem, "audit:read");
    assert_eq!(
        env.call("GET", "/v1/audit?limit=1", &old_token, None, &[])
            .status,
        200
    );
    let (new_pem, new_key) = generate_key_pair([22; 32]);
    // The rotating token must hold every scope the target holds.
    let rotated = env.admin(
        "POST",
        &format!("/v1/principals/{id}/rotate"),
        "principals:write audit:read",
        Some(json!({"public_key": new_key})),
    );
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    assert_eq!(rotated.json()["public_key"], json!(new_key));
    let ip = unique_ip();
    let old = env.call(
        "GET",
        "/v1/audit?limit=1",
        &old_token,
        None,
        &[("cf-connecting-ip", &ip)],
    );
    assert_eq!(old.status, 401);
    let new_token = token(&id, &new_pem, "audit:read");
    assert_eq!(
        env.call("GET", "/v1/audit?limit=1", &new_token, None, &[])
            .status,
        200
    );
    assert!(!audit_entries(env, "principal.rotate").is_empty());
    Ok(())
}

fn a_revoked_principal_is_refused(env: &Env) -> Result<(), Failed> {
    let (id, pem) = new_principal(env, 31, &["audit:read"]);
    let token = token(&id, &pem, "audit:read");
    let revoked = env.admin(
        "POST",
        &format!("/v1/principals/{id}/revoke"),
        "principals:write audit:read",
        None,
    );
    assert_eq!(revoked.status, 200);
    assert_eq!(revoked.json()["status"], "revoked");
    let ip = unique_ip();
    let refused = env.call(
        "GET",
        "/v1/audit?limit=1",
        &token,
        None,
        &[("cf-connecting-ip", &ip)],
    );
    assert_eq!(refused.status, 401);
    assert_eq!(refused.json()["error"]["message"], "principal is revoked");
    let again = env.admin(
        "POST",
        &format!("/v1/principals/{id}/revoke"),
        "principals:write audit:read",
        None,
    );
    assert_eq!(again.status, 409);
    Ok(())
}

/// Every ledger entry with `action`, oldest first.
pub fn audit_entries(env: &Env, action: &str) -> Vec<Value> {
    audit_where(env, &format!("action={action}"))
}

/// Every ledger entry matching the `GET /v1/audit` filters in `query` (`name=value&…`), oldest
/// first, page by page.
pub fn audit_where(env: &Env, query: &str) -> Vec<Value> {
    let mut found = Vec::new();
    let mut cursor = String::new();
    loop {
        let reply = env.admin(
            "GET",
            &format!("/v1/audit?order=asc&limit=200&{query}&cursor={cursor}"),
            "audit:read",
            None,
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
        let page = reply.json();
        found.extend(page["items"].as_array().into_iter().flatten().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => return found,
        }
    }
}

fn the_audit_list_is_newest_first_and_filters(env: &Env) -> Result<(), Failed> {
    let org = env.admin(
        "POST",
        "/v1/orgs",
        "profiles:write",
        Some(json!({"name": "audit filters"})),
    );
    assert_eq!(org.status, 201, "{}", org.body);
    let org = org.json()["id"].as_str().unwrap().to_owned();
    let revoked = env.admin(
        "POST",
        &format!("/v1/orgs/{org}/revoke"),
        "profiles:write",
        None,
    );
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    let page = |query: &str| {
        let reply = env.admin("GET", &format!("/v1/audit?{query}"), "audit:read", None);
        assert_eq!(reply.status, 200, "{query}: {}", reply.body);
        reply.json()
    };
    let actions = |page: &Value| -> Vec<String> {
        let items = page["items"].as_array().unwrap();
        items
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_owned())
            .collect()
    };

    // Newest first by default, oldest first with order=asc; the filter holds across pages.
    let newest = page(&format!("target={org}&limit=1"));
    assert_eq!(actions(&newest), ["org.revoke"]);
    let cursor = newest["next_cursor"].as_str().expect("a second page");
    let older = page(&format!("target={org}&limit=1&cursor={cursor}"));
    assert_eq!(actions(&older), ["org.create"]);
    assert_eq!(older["next_cursor"], Value::Null);
    assert_eq!(
        actions(&page(&format!("target={org}&order=asc"))),
        ["org.create", "org.revoke"]
    );

    // The whole ledger, unfiltered, is newest first too.
    let latest = page("limit=50");
    let seqs: Vec<u64> = latest["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|pair| pair[0] > pair[1]), "{seqs:?}");

    // Filters combine.
    let created = page(&format!("target={org}&action=org.create&actor=prn_root"));
    assert_eq!(actions(&created), ["org.create"]);
    let at = created["items"][0]["at"].as_u64().unwrap();
    assert_eq!(
        actions(&page(&format!("target={org}&actor=prn_other"))),
        Vec::<String>::new()
    );
    assert_eq!(actions(&page(&format!("target={org}&since={at}"))).len(), 2);
    assert_eq!(
        actions(&page(&format!("target={org}&since={}", at + 3600))),
        Vec::<String>::new()
    );

    for bad in [
        "order=newest",
        "since=yesterday",
        "action=",
        "org_id=x",
        "cursor=abc",
    ] {
        let reply = env.admin("GET", &format!("/v1/audit?{bad}"), "audit:read", None);
        assert_eq!(reply.status, 400, "{bad}: {}", reply.body);
    }
    Ok(())
}

fn verify(env: &Env) -> Value {
    let reply = env.admin("GET", "/v1/audit/verify", "audit:read", None);
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()
}

fn concurrent_appends_keep_the_chain_and_tampering_is_caught(env: &Env) -> Result<(), Failed> {
    const WRITERS: usize = 16;
    let names: Vec<String> = (0..WRITERS)
        .map(|n| format!("concurrent-org-{n}"))
        .collect();
    std::thread::scope(|scope| {
        for name in &names {
            scope.spawn(move || {
                let reply = env.admin(
                    "POST",
                    "/v1/orgs",
                    "profiles:write",
                    Some(json!({"name": name})),
                );
                assert_eq!(reply.status, 201, "{}", reply.body);
            });
        }
    });
    let logged = audit_entries(env, "org.create");
    for name in &names {
        assert!(
            logged
                .iter()
                .any(|entry| entry["detail"]["name"] == json!(name)),
            "no org.create entry for {name}"
        );
    }
    let verified = verify(env);
    assert_eq!(verified["valid"], true, "{verified}");

    // Tamper with one row behind the worker's back: verification names it.
    let seq = logged[0]["seq"].as_u64().unwrap();
    let original = logged[0]["actor"].as_str().unwrap().to_owned();
    env.worker.d1_execute(&format!(
        "UPDATE audit_log SET actor = 'prn_mallory' WHERE seq = {seq}"
    ))?;
    let broken = verify(env);
    env.worker.d1_execute(&format!(
        "UPDATE audit_log SET actor = '{original}' WHERE seq = {seq}"
    ))?;
    assert_eq!(broken["valid"], false, "{broken}");
    assert_eq!(broken["first_broken_seq"], json!(seq), "{broken}");
    assert_eq!(verify(env)["valid"], true, "restored");
    Ok(())
}
