//! Authority: what a caller may do to which target (principals holding more than the caller,
//! principals restricted to orgs and agents, live capabilities for read-only callers), the
//! failed-authentication limit, and bounded, validated admin input.

use crate::{unique_ip, Env};
use channel_edge::core::auth::{generate_key_pair, mint, ScopeSet};
use channel_edge::core::route::endpoints;
use channel_edge_e2e::{http, repo_root, seed};
use libtest_mimic::Failed;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;

tests![
    a_principal_cannot_take_over_one_holding_more_scopes,
    any_principal_rotates_its_own_key_and_nothing_else,
    a_created_principal_never_outlives_or_outreaches_its_creator,
    an_org_restricted_principal_reaches_nothing_of_another_org,
    an_agent_restricted_principal_reaches_only_its_agents,
    read_only_callers_get_no_live_capabilities,
    a_missing_scope_is_not_a_failed_authentication,
    read_scopes_find_ids_without_writing,
    only_json_objects_are_bodies,
    oversized_bodies_and_fields_are_refused,
    unknown_filters_and_filter_values_are_refused,
    a_token_minted_with_openssl_as_the_readme_shows_is_accepted,
];

/// A principal created by root with `body` (name and key filled in); returns its id and key.
pub fn principal(env: &Env, seed_byte: u8, body: Value) -> (String, String) {
    let (pem, public_key) = generate_key_pair([seed_byte; 32]);
    let mut request = json!({"name": format!("authority-{seed_byte}"), "public_key": public_key});
    request
        .as_object_mut()
        .unwrap()
        .extend(body.as_object().unwrap().clone());
    let reply = env.admin("POST", "/v1/principals", "*", Some(request));
    assert_eq!(reply.status, 201, "{}", reply.body);
    (reply.json()["id"].as_str().unwrap().to_owned(), pem)
}

pub fn token(id: &str, pem: &str, scope: &str) -> String {
    mint(pem, id, &ScopeSet::parse(scope).unwrap(), seed::now(), 600).unwrap()
}

fn new_org(env: &Env, name: &str) -> String {
    let reply = env.admin(
        "POST",
        "/v1/orgs",
        "profiles:write",
        Some(json!({ "name": name })),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.json()["id"].as_str().unwrap().to_owned()
}

fn created(reply: &http::Reply) -> String {
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.json()["id"].as_str().unwrap().to_owned()
}

fn root_view(env: &Env) -> Value {
    let reply = env.admin("GET", "/v1/principals/prn_root", "principals:write", None);
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()
}

fn a_principal_cannot_take_over_one_holding_more_scopes(env: &Env) -> Result<(), Failed> {
    let root_before = root_view(env);
    let (id, pem) = principal(env, 101, json!({"scopes": ["principals:write"]}));
    let narrow = token(&id, &pem, "principals:write");
    let (_, attacker_key) = generate_key_pair([102; 32]);
    let rotate = env.call(
        "POST",
        "/v1/principals/prn_root/rotate",
        &narrow,
        Some(json!({ "public_key": attacker_key })),
        &[],
    );
    assert_eq!(rotate.status, 403, "{}", rotate.body);
    assert_eq!(rotate.json()["error"]["missing_scope"], "*");
    let revoke = env.call("POST", "/v1/principals/prn_root/revoke", &narrow, None, &[]);
    assert_eq!(revoke.status, 403, "{}", revoke.body);
    // Root is untouched and still works.
    assert_eq!(root_view(env), root_before);
    assert_eq!(root_before["status"], "active");

    // A target holding a scope the caller's token lacks is refused; one it covers is not.
    let (auditor, _) = principal(env, 103, json!({"scopes": ["audit:read"]}));
    let (_, new_key) = generate_key_pair([104; 32]);
    let path = format!("/v1/principals/{auditor}/rotate");
    let refused = env.call(
        "POST",
        &path,
        &narrow,
        Some(json!({ "public_key": new_key })),
        &[],
    );
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(refused.json()["error"]["missing_scope"], "audit:read");
    let (broad_id, broad_pem) = principal(
        env,
        105,
        json!({"scopes": ["principals:write", "audit:read"]}),
    );
    let broad = token(&broad_id, &broad_pem, "principals:write audit:read");
    let allowed = env.call(
        "POST",
        &path,
        &broad,
        Some(json!({ "public_key": new_key })),
        &[],
    );
    assert_eq!(allowed.status, 200, "{}", allowed.body);
    let forbidden = crate::admin::audit_entries(env, "auth.forbidden");
    assert!(
        forbidden.iter().any(|entry| entry["actor"] == json!(id)
            && entry["target"] == "POST /v1/principals/prn_root/rotate"),
        "the attempt on root is audited"
    );
    Ok(())
}

fn any_principal_rotates_its_own_key_and_nothing_else(env: &Env) -> Result<(), Failed> {
    let (id, old_pem) = principal(env, 111, json!({"scopes": ["audit:read"]}));
    let old = token(&id, &old_pem, "audit:read");
    let (new_pem, new_key) = generate_key_pair([112; 32]);
    let own = env.call(
        "POST",
        &format!("/v1/principals/{id}/rotate"),
        &old,
        Some(json!({ "public_key": new_key })),
        &[],
    );
    assert_eq!(own.status, 200, "{}", own.body);
    let ip = unique_ip();
    let stale = env.call(
        "GET",
        "/v1/audit?limit=1",
        &old,
        None,
        &[("cf-connecting-ip", &ip)],
    );
    assert_eq!(stale.status, 401);
    let fresh = token(&id, &new_pem, "audit:read");
    assert_eq!(
        env.call("GET", "/v1/audit?limit=1", &fresh, None, &[])
            .status,
        200
    );
    let (other, _) = principal(env, 113, json!({"scopes": ["audit:read"]}));
    let (_, key) = generate_key_pair([114; 32]);
    let theirs = env.call(
        "POST",
        &format!("/v1/principals/{other}/rotate"),
        &fresh,
        Some(json!({ "public_key": key })),
        &[],
    );
    assert_eq!(theirs.status, 403);
    assert_eq!(theirs.json()["error"]["missing_scope"], "principals:write");
    let revoke_self = env.call(
        "POST",
        &format!("/v1/principals/{id}/revoke"),
        &fresh,
        None,
        &[],
    );
    assert_eq!(revoke_self.status, 403, "revoking is not self-service");
    Ok(())
}

fn a_created_principal_never_outlives_or_outreaches_its_creator(env: &Env) -> Result<(), Failed> {
    let org = new_org(env, "Expiry org");
    let expires_at = seed::now() + 3600;
    let (id, pem) = principal(
        env,
        121,
        json!({"scopes": ["principals:write", "audit:read"], "expires_at": expires_at,
               "org_ids": [org]}),
    );
    let creator = token(&id, &pem, "principals:write audit:read");
    let (_, key) = generate_key_pair([122; 32]);
    let inherited = env.call(
        "POST",
        "/v1/principals",
        &creator,
        Some(json!({"name": "child", "public_key": key, "scopes": ["audit:read"]})),
        &[],
    );
    assert_eq!(inherited.status, 201, "{}", inherited.body);
    assert_eq!(inherited.json()["expires_at"], json!(expires_at));
    assert_eq!(inherited.json()["org_ids"], json!([org]));
    assert_eq!(inherited.json()["agent_ids"], Value::Null);
    let (_, key) = generate_key_pair([123; 32]);
    let longer = env.call(
        "POST",
        "/v1/principals",
        &creator,
        Some(
            json!({"name": "child", "public_key": key, "scopes": ["audit:read"],
                    "expires_at": expires_at + 1}),
        ),
        &[],
    );
    assert_eq!(longer.status, 403, "{}", longer.body);
    assert!(longer.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("expiry"));
    let wider = env.call(
        "POST",
        "/v1/principals",
        &creator,
        Some(
            json!({"name": "child", "public_key": key, "scopes": ["audit:read"],
                    "org_ids": [org, env.id("acme")]}),
        ),
        &[],
    );
    assert_eq!(wider.status, 403, "{}", wider.body);
    let unknown_org = env.admin(
        "POST",
        "/v1/principals",
        "*",
        Some(
            json!({"name": "x", "public_key": key, "scopes": ["audit:read"],
                    "org_ids": ["org_doesnotexist"]}),
        ),
    );
    assert_eq!(unknown_org.status, 404, "{}", unknown_org.body);
    Ok(())
}

/// What org B holds, made by root, for the walk of an org-A principal.
struct OrgB {
    org: String,
    byoa_profile: String,
    installation: String,
    binding: String,
    session: String,
    message: String,
}

fn org_b(env: &Env) -> OrgB {
    let org = new_org(env, "Org B");
    let byoa_profile = created(&env.admin(
        "POST",
        "/v1/app-profiles",
        "profiles:write",
        Some(json!({"provider": "slack", "kind": "byoa", "org_id": org,
                    "provider_app_id": "A0ORGB", "name": "B's Slack app",
                    "secrets": {"signing_secret": "b-signing-secret"}})),
    ));
    let installation = created(&env.admin(
        "POST",
        "/v1/installations",
        "installations:write",
        Some(
            json!({"app_profile_id": byoa_profile, "org_id": org, "tenant_key": "T0ORGB",
                    "credentials": {"bot_token": "xoxb-org-b"}}),
        ),
    ));
    let binding = created(&env.admin(
        "POST",
        "/v1/bindings",
        "bindings:write",
        Some(
            json!({"installation_id": installation, "agent_id": "agent_b",
                    "allowlist": ["U0B"]}),
        ),
    ));
    let session = created(&env.admin(
        "POST",
        "/v1/binding-sessions",
        "bindings:write",
        Some(
            json!({"provider": "telegram", "method": "token", "org_id": org,
                    "app_profile_id": env.id("telegram"),
                    "binding": {"agent_id": "agent_b"}}),
        ),
    ));
    let message = env.admin(
        "POST",
        "/v1/messages",
        "messages:send",
        Some(json!({"binding_id": binding, "conversation": "C0ORGB", "text": "hello from B"})),
    );
    assert_eq!(message.status, 202, "{}", message.body);
    let message = message.json()["id"].as_str().unwrap().to_owned();
    OrgB {
        org,
        byoa_profile,
        installation,
        binding,
        session,
        message,
    }
}

fn an_org_restricted_principal_reaches_nothing_of_another_org(env: &Env) -> Result<(), Failed> {
    let org_a = new_org(env, "Org A");
    let b = org_b(env);
    let (id, pem) = principal(env, 131, json!({"scopes": ["*"], "org_ids": [org_a]}));
    let a = token(&id, &pem, "*");
    let call =
        |method: &str, path: &str, body: Option<Value>| env.call(method, path, &a, body, &[]);
    let (_, key) = generate_key_pair([132; 32]);
    let platform_slack = env.id("slack_platform").to_owned();
    let delivery = crate::operating::delivered_envelope(env);

    // Every admin route, aimed at org B (or at what is platform-wide), with what it must answer.
    let walk: Vec<(&str, String, &str, Option<Value>, u16)> = vec![
        (
            "POST",
            "/v1/principals".into(),
            "/v1/principals",
            Some(
                json!({"name": "p", "public_key": key, "scopes": ["audit:read"], "org_ids": [b.org]}),
            ),
            403,
        ),
        (
            "GET",
            "/v1/principals/prn_root".into(),
            "/v1/principals/{id}",
            None,
            404,
        ),
        (
            "POST",
            "/v1/principals/prn_root/rotate".into(),
            "/v1/principals/{id}/rotate",
            Some(json!({"public_key": key})),
            404,
        ),
        (
            "POST",
            "/v1/principals/prn_root/revoke".into(),
            "/v1/principals/{id}/revoke",
            None,
            404,
        ),
        (
            "POST",
            "/v1/orgs".into(),
            "/v1/orgs",
            Some(json!({"name": "new"})),
            403,
        ),
        (
            "GET",
            format!("/v1/orgs/{}", b.org),
            "/v1/orgs/{id}",
            None,
            404,
        ),
        (
            "POST",
            format!("/v1/orgs/{}/revoke", b.org),
            "/v1/orgs/{id}/revoke",
            None,
            404,
        ),
        (
            "POST",
            "/v1/app-profiles".into(),
            "/v1/app-profiles",
            Some(
                json!({"provider": "standard", "kind": "byoa", "org_id": b.org,
                     "provider_app_id": "x", "name": "x"}),
            ),
            404,
        ),
        (
            "GET",
            format!("/v1/app-profiles/{}", b.byoa_profile),
            "/v1/app-profiles/{id}",
            None,
            404,
        ),
        (
            "GET",
            format!("/v1/app-profiles/{}/slack-manifest", b.byoa_profile),
            "/v1/app-profiles/{id}/slack-manifest",
            None,
            404,
        ),
        (
            "POST",
            format!("/v1/app-profiles/{}/rotate", b.byoa_profile),
            "/v1/app-profiles/{id}/rotate",
            Some(json!({"secrets": {"signing_secret": "stolen"}})),
            404,
        ),
        (
            "POST",
            format!("/v1/app-profiles/{}/revoke", b.byoa_profile),
            "/v1/app-profiles/{id}/revoke",
            None,
            404,
        ),
        (
            "POST",
            format!("/v1/app-profiles/{platform_slack}/rotate"),
            "/v1/app-profiles/{id}/rotate",
            Some(json!({"secrets": {"signing_secret": "stolen"}})),
            403,
        ),
        (
            "POST",
            format!("/v1/app-profiles/{platform_slack}/revoke"),
            "/v1/app-profiles/{id}/revoke",
            None,
            403,
        ),
        (
            "POST",
            "/v1/installations".into(),
            "/v1/installations",
            Some(
                json!({"app_profile_id": platform_slack, "org_id": b.org, "tenant_key": "T0STEAL",
                     "credentials": {"bot_token": "xoxb-x"}}),
            ),
            404,
        ),
        (
            "GET",
            format!("/v1/installations/{}", b.installation),
            "/v1/installations/{id}",
            None,
            404,
        ),
        (
            "POST",
            format!("/v1/installations/{}/rotate", b.installation),
            "/v1/installations/{id}/rotate",
            Some(json!({"secrets": {"bot_token": "xoxb-stolen"}})),
            404,
        ),
        (
            "POST",
            format!("/v1/installations/{}/revoke", b.installation),
            "/v1/installations/{id}/revoke",
            None,
            404,
        ),
        (
            "POST",
            "/v1/bindings".into(),
            "/v1/bindings",
            Some(json!({"installation_id": b.installation, "agent_id": "agent_a"})),
            404,
        ),
        (
            "GET",
            format!("/v1/bindings/{}", b.binding),
            "/v1/bindings/{id}",
            None,
            404,
        ),
        (
            "POST",
            format!("/v1/bindings/{}/revoke", b.binding),
            "/v1/bindings/{id}/revoke",
            None,
            404,
        ),
        (
            "GET",
            format!("/v1/bindings/{}/allowlist", b.binding),
            "/v1/bindings/{id}/allowlist",
            None,
            404,
        ),
        (
            "POST",
            format!("/v1/bindings/{}/allowlist", b.binding),
            "/v1/bindings/{id}/allowlist",
            Some(json!({"sender_id": "U0EVE"})),
            404,
        ),
        (
            "DELETE",
            format!("/v1/bindings/{}/allowlist/U0B", b.binding),
            "/v1/bindings/{id}/allowlist/{sender_id}",
            None,
            404,
        ),
        ("GET", "/v1/rollout".into(), "/v1/rollout", None, 403),
        (
            "PUT",
            "/v1/rollout/slack".into(),
            "/v1/rollout/{key}",
            Some(json!({"stage": "off"})),
            403,
        ),
        (
            "GET",
            "/v1/audit/verify".into(),
            "/v1/audit/verify",
            None,
            403,
        ),
        (
            "POST",
            "/v1/master-key/rotate".into(),
            "/v1/master-key/rotate",
            None,
            403,
        ),
        (
            "POST",
            "/v1/install-tokens".into(),
            "/v1/install-tokens",
            Some(json!({"org_id": b.org, "agent_id": "agent_b", "subject": "u"})),
            404,
        ),
        (
            "POST",
            "/v1/binding-sessions".into(),
            "/v1/binding-sessions",
            Some(
                json!({"provider": "telegram", "method": "token", "org_id": b.org,
                     "app_profile_id": env.id("telegram"), "binding": {"agent_id": "agent_a"}}),
            ),
            404,
        ),
        (
            "GET",
            format!("/v1/binding-sessions/{}", b.session),
            "/v1/binding-sessions/{id}",
            None,
            404,
        ),
        (
            "DELETE",
            format!("/v1/binding-sessions/{}", b.session),
            "/v1/binding-sessions/{id}",
            None,
            404,
        ),
        (
            "POST",
            format!("/v1/binding-sessions/{}/credentials", b.session),
            "/v1/binding-sessions/{id}/credentials",
            Some(json!({"bot_token": "1:x"})),
            404,
        ),
        (
            "GET",
            format!("/v1/binding-sessions/{}/events", b.session),
            "/v1/binding-sessions/{id}/events",
            None,
            404,
        ),
        (
            "POST",
            "/v1/messages".into(),
            "/v1/messages",
            Some(json!({"binding_id": b.binding, "conversation": "C0ORGB", "text": "hi"})),
            404,
        ),
        (
            "GET",
            format!("/v1/messages/{}", b.message),
            "/v1/messages/{id}",
            None,
            404,
        ),
        (
            "PATCH",
            format!("/v1/messages/{}", b.message),
            "/v1/messages/{id}",
            Some(json!({"text": "edited"})),
            404,
        ),
        (
            "DELETE",
            format!("/v1/messages/{}", b.message),
            "/v1/messages/{id}",
            None,
            404,
        ),
        (
            "GET",
            format!("/v1/deliveries/{delivery}"),
            "/v1/deliveries/{id}",
            None,
            404,
        ),
        (
            "POST",
            format!("/v1/deliveries/{delivery}/replay"),
            "/v1/deliveries/{id}/replay",
            None,
            404,
        ),
        (
            "POST",
            format!("/v1/dead-letters/{delivery}/redrive"),
            "/v1/dead-letters/{id}/redrive",
            None,
            404,
        ),
        ("GET", "/v1/metrics".into(), "/v1/metrics", None, 403),
    ];
    for (method, path, _, body, expected) in &walk {
        let reply = call(method, path, body.clone());
        assert_eq!(reply.status, *expected, "{method} {path}: {}", reply.body);
    }

    // Lists hold only org A's objects (and platform profiles).
    let listed = |path: &str| -> Vec<Value> {
        let reply = call("GET", path, None);
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        reply.json()["items"].as_array().unwrap().clone()
    };
    let ids = |items: &[Value]| -> BTreeSet<String> {
        items
            .iter()
            .map(|item| item["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        ids(&listed("/v1/orgs?limit=200")),
        BTreeSet::from([org_a.clone()])
    );
    let profiles = listed("/v1/app-profiles?limit=200");
    assert!(profiles
        .iter()
        .all(|p| p["kind"] == "platform" || p["org_id"] == json!(org_a)));
    assert!(profiles.iter().any(|p| p["id"] == json!(platform_slack)));
    assert!(listed(&format!("/v1/installations?org_id={}", b.org)).is_empty());
    assert!(listed("/v1/installations?limit=200").is_empty());
    assert!(listed("/v1/bindings?limit=200").is_empty());
    assert!(listed("/v1/binding-sessions?limit=200").is_empty());
    assert!(listed("/v1/deliveries?limit=200").is_empty());
    assert!(listed("/v1/messages?limit=200").is_empty());
    assert!(listed("/v1/dead-letters?limit=200").is_empty());
    let bulk = call("POST", "/v1/dead-letters/redrive", None);
    assert_eq!(bulk.status, 200, "{}", bulk.body);
    assert_eq!(bulk.json()["redriven"], json!([]), "nothing of org B's");
    assert_eq!(
        ids(&listed("/v1/principals?limit=200")),
        BTreeSet::from([id.clone()])
    );
    let audit = listed("/v1/audit?limit=200");
    assert!(
        audit.iter().all(|entry| entry["org_id"] == json!(org_a)),
        "{audit:?}"
    );
    assert!(!audit.is_empty(), "org A's creation is its entry");

    // Within org A it works, and reads platform profiles.
    assert_eq!(
        call("GET", &format!("/v1/app-profiles/{platform_slack}"), None).status,
        200
    );
    let manifest = format!("/v1/app-profiles/{platform_slack}/slack-manifest");
    assert_eq!(call("GET", &manifest, None).status, 200);
    let installation = created(&call(
        "POST",
        "/v1/installations",
        Some(
            json!({"app_profile_id": platform_slack, "org_id": org_a, "tenant_key": "T0ORGA",
                    "credentials": {"bot_token": "xoxb-org-a"}}),
        ),
    ));
    created(&call(
        "POST",
        "/v1/bindings",
        Some(json!({"installation_id": installation, "agent_id": "agent_a"})),
    ));
    assert_eq!(listed("/v1/bindings?limit=200").len(), 1);

    // Every admin route is in the walk.
    for (method, template) in endpoints() {
        if !template.starts_with("/v1/") || template == "/v1/openapi.json" {
            continue;
        }
        let walked = walk
            .iter()
            .any(|(m, _, t, _, _)| *m == method && *t == template)
            || (method == "GET"
                && [
                    "/v1/principals",
                    "/v1/orgs",
                    "/v1/app-profiles",
                    "/v1/installations",
                    "/v1/bindings",
                    "/v1/binding-sessions",
                    "/v1/audit",
                    "/v1/deliveries",
                    "/v1/dead-letters",
                    "/v1/messages",
                ]
                .contains(&template.as_str()))
            || (method == "POST" && template == "/v1/dead-letters/redrive");
        assert!(walked, "{method} {template} is not walked");
    }
    Ok(())
}

fn an_agent_restricted_principal_reaches_only_its_agents(env: &Env) -> Result<(), Failed> {
    let (id, pem) = principal(
        env,
        141,
        json!({"scopes": ["*"], "agent_ids": ["agent_mine"]}),
    );
    let mine = token(&id, &pem, "*");
    let call =
        |method: &str, path: &str, body: Option<Value>| env.call(method, path, &mine, body, &[]);
    let installation = env.id("acme_slack").to_owned();
    let theirs = created(&env.admin(
        "POST",
        "/v1/bindings",
        "bindings:write",
        Some(
            json!({"installation_id": installation, "agent_id": "agent_theirs",
                    "selector": {"conversation": "C0THEIRS"}}),
        ),
    ));
    let ours = created(&call(
        "POST",
        "/v1/bindings",
        Some(
            json!({"installation_id": installation, "agent_id": "agent_mine",
                    "selector": {"conversation": "C0MINE"}}),
        ),
    ));
    let refused = call(
        "POST",
        "/v1/bindings",
        Some(json!({"installation_id": installation, "agent_id": "agent_theirs"})),
    );
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(
        call("GET", &format!("/v1/bindings/{theirs}"), None).status,
        404
    );
    assert_eq!(
        call("GET", &format!("/v1/bindings/{ours}"), None).status,
        200
    );
    let listed = call("GET", "/v1/bindings?limit=200", None).json();
    assert!(listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|binding| binding["agent_id"] == "agent_mine"));
    let token_for_other = call(
        "POST",
        "/v1/install-tokens",
        Some(json!({"org_id": env.id("acme"), "agent_id": "agent_theirs", "subject": "u"})),
    );
    assert_eq!(token_for_other.status, 403, "{}", token_for_other.body);
    let session_for_other = call(
        "POST",
        "/v1/binding-sessions",
        Some(
            json!({"provider": "telegram", "method": "token", "org_id": env.id("acme"),
                    "app_profile_id": env.id("telegram"), "binding": {"agent_id": "agent_theirs"}}),
        ),
    );
    assert_eq!(session_for_other.status, 403, "{}", session_for_other.body);
    assert_eq!(call("GET", "/v1/rollout", None).status, 403);
    Ok(())
}

/// The first `status` event of a session's live stream, read with `token`.
fn first_event(env: &Env, id: &str, token: &str) -> Value {
    let url = env.worker.url(&format!("/v1/binding-sessions/{id}/events"));
    http::events(&url, token, Duration::from_secs(10))
        .recv_timeout(Duration::from_secs(10))
        .expect("the stream sends the session's status first")
}

fn read_only_callers_get_no_live_capabilities(env: &Env) -> Result<(), Failed> {
    let start = |body: Value| {
        let reply = env.admin("POST", "/v1/binding-sessions", "bindings:write", Some(body));
        assert_eq!(reply.status, 201, "{}", reply.body);
        assert_eq!(reply.header("cache-control"), Some("no-store"));
        assert_eq!(reply.header("referrer-policy"), Some("no-referrer"));
        reply.json()
    };
    let oauth = start(
        json!({"provider": "slack", "method": "oauth", "org_id": env.id("acme"),
        "app_profile_id": env.id("slack_platform"), "binding": {"agent_id": "agent_cap"}}),
    );
    let qr = start(
        json!({"provider": "telegram", "method": "qr", "org_id": env.id("acme"),
        "app_profile_id": env.id("telegram"), "subject": "cap-user",
        "binding": {"agent_id": "agent_cap"}}),
    );
    assert!(oauth["authorize_url"].is_string() && oauth["page_url"].is_string());
    assert!(qr["auth_prompt"]["data"]["deep_link"].is_string());

    let reader = seed::root_token("bindings:read");
    for session in [&oauth, &qr] {
        let id = session["id"].as_str().unwrap();
        let path = format!("/v1/binding-sessions/{id}");
        let read = env.call("GET", &path, &reader, None, &[]);
        assert_eq!(read.status, 200);
        assert_eq!(read.header("cache-control"), Some("no-store"));
        let streamed = first_event(env, id, &reader);
        for view in [read.json(), streamed] {
            for pointer in [
                "/page_url",
                "/deep_link",
                "/authorize_url",
                "/auth_prompt/data/deep_link",
                "/auth_prompt/data/qr_svg",
                "/auth_prompt/data/authorize_url",
            ] {
                assert!(
                    view.pointer(pointer).is_none_or(Value::is_null),
                    "{pointer} reaches a bindings:read caller: {view}"
                );
            }
            assert!(!view.to_string().contains("state="), "{view}");
            assert_eq!(view["id"], session["id"]);
        }
        let writer = env.admin("GET", &path, "bindings:write", None).json();
        assert_eq!(writer["page_url"], session["page_url"]);
        let streamed = first_event(env, id, &seed::root_token("bindings:write"));
        assert_eq!(streamed["page_url"], session["page_url"]);
    }
    Ok(())
}

fn a_missing_scope_is_not_a_failed_authentication(env: &Env) -> Result<(), Failed> {
    let ip = unique_ip();
    let weak = seed::root_token("bindings:read");
    for attempt in 1..=8 {
        let reply = env.call(
            "GET",
            "/v1/audit",
            &weak,
            None,
            &[("cf-connecting-ip", &ip)],
        );
        assert_eq!(reply.status, 403, "attempt {attempt}: {}", reply.body);
    }
    let bad = env.call(
        "GET",
        "/v1/orgs",
        "not-a-jwt",
        None,
        &[("cf-connecting-ip", &ip)],
    );
    assert_eq!(bad.status, 401, "403s were not counted against this client");
    Ok(())
}

fn read_scopes_find_ids_without_writing(env: &Env) -> Result<(), Failed> {
    let org = format!("/v1/orgs/{}", env.id("acme"));
    let profile = format!("/v1/app-profiles/{}", env.id("telegram"));
    let installation = format!("/v1/installations/{}", env.id("acme_telegram"));
    let cases: [(&str, &[&str], &[&str]); 3] = [
        (
            "profiles:read",
            &["/v1/orgs", &org, "/v1/app-profiles", &profile],
            &["/v1/installations"],
        ),
        (
            "installations:read",
            &["/v1/orgs", &org, "/v1/installations", &installation],
            &["/v1/app-profiles", &profile],
        ),
        ("bindings:read", &["/v1/bindings"], &["/v1/orgs", &org]),
    ];
    for (scope, allowed, refused) in cases {
        for path in allowed {
            let reply = env.admin("GET", path, scope, None);
            assert_eq!(reply.status, 200, "{scope} GET {path}: {}", reply.body);
        }
        for path in refused {
            let reply = env.admin("GET", path, scope, None);
            assert_eq!(reply.status, 403, "{scope} GET {path}: {}", reply.body);
        }
        let write = env.admin("POST", "/v1/orgs", scope, Some(json!({"name": "Not made"})));
        assert_eq!(write.status, 403, "{scope} creates no org: {}", write.body);
    }
    Ok(())
}

fn only_json_objects_are_bodies(env: &Env) -> Result<(), Failed> {
    let (_, key) = generate_key_pair([151; 32]);
    for (path, scope, body) in [
        ("/v1/orgs", "profiles:write", json!(["name"])),
        ("/v1/principals", "*", json!(["p", key, ["audit:read"]])),
        ("/v1/orgs", "profiles:write", json!("Initech")),
    ] {
        let reply = env.admin_invalid("POST", path, scope, body.clone());
        assert_eq!(reply.status, 400, "{path} {body}: {}", reply.body);
        assert_eq!(
            reply.json()["error"]["message"],
            "bad request: the request body must be a JSON object"
        );
    }
    Ok(())
}

fn oversized_bodies_and_fields_are_refused(env: &Env) -> Result<(), Failed> {
    let huge = json!({"name": "x".repeat(2 * 1024 * 1024)});
    let reply = env.admin_invalid("POST", "/v1/orgs", "profiles:write", huge);
    assert_eq!(reply.status, 413, "{}", reply.body);
    assert_eq!(reply.json()["error"]["code"], "payload_too_large");
    let just_over = json!({"name": "x".repeat(64 * 1024)});
    assert_eq!(
        env.admin_invalid("POST", "/v1/orgs", "profiles:write", just_over)
            .status,
        413
    );
    let long_name = env.admin_invalid(
        "POST",
        "/v1/orgs",
        "profiles:write",
        json!({"name": "n".repeat(201)}),
    );
    assert_eq!(long_name.status, 400, "{}", long_name.body);
    assert_eq!(
        long_name.json()["error"]["message"],
        "bad request: name must be at most 200 characters"
    );
    let at_limit = env.admin(
        "POST",
        "/v1/orgs",
        "profiles:write",
        Some(json!({"name": "n".repeat(200)})),
    );
    assert_eq!(at_limit.status, 201);
    let metadata = env.admin_invalid(
        "POST",
        "/v1/installations",
        "installations:write",
        json!({"app_profile_id": env.id("standard"), "org_id": env.id("acme"),
               "tenant_key": "meta-too-long", "metadata": {"note": "m".repeat(1025)},
               "credentials": {"webhook_secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}}),
    );
    assert_eq!(metadata.status, 400, "{}", metadata.body);
    let allowlist = env.admin_invalid(
        "POST",
        "/v1/bindings",
        "bindings:write",
        json!({"installation_id": env.id("acme_slack"), "agent_id": "agent_x",
               "allowlist": ["u".repeat(257)]}),
    );
    assert_eq!(allowlist.status, 400, "{}", allowlist.body);
    let blank = env.admin_invalid(
        "POST",
        "/v1/install-tokens",
        "install-tokens:mint",
        json!({"org_id": env.id("acme"), "agent_id": "", "subject": "u"}),
    );
    assert_eq!(blank.status, 400, "{}", blank.body);
    Ok(())
}

fn unknown_filters_and_filter_values_are_refused(env: &Env) -> Result<(), Failed> {
    for (path, scope) in [
        ("/v1/orgs?status=deleted", "profiles:read"),
        ("/v1/app-profiles?provider=myspace", "profiles:read"),
        ("/v1/app-profiles?kind=shared", "profiles:read"),
        ("/v1/installations?org=org_1", "installations:read"),
        ("/v1/bindings?status=", "bindings:read"),
        ("/v1/principals?scope=*", "principals:write"),
        ("/v1/audit?org_id=x", "audit:read"),
    ] {
        let reply = env.admin("GET", path, scope, None);
        assert_eq!(reply.status, 400, "{path}: {}", reply.body);
    }
    let known = env.admin(
        "GET",
        "/v1/app-profiles?provider=slack&status=active",
        "profiles:read",
        None,
    );
    assert_eq!(known.status, 200);
    assert!(!known.json()["items"].as_array().unwrap().is_empty());
    Ok(())
}

/// The README's shell snippet (between its `mint-with-openssl` markers) run as written, with
/// `KEY`, `PRINCIPAL` and `SCOPE` set: the token it prints must be accepted.
fn a_token_minted_with_openssl_as_the_readme_shows_is_accepted(env: &Env) -> Result<(), Failed> {
    let readme = std::fs::read_to_string(repo_root().join("README.md"))?;
    let snippet = readme
        .split("<!-- mint-with-openssl -->")
        .nth(1)
        .and_then(|rest| rest.split("```sh\n").nth(1))
        .and_then(|rest| rest.split("```").next())
        .ok_or("README.md has no mint-with-openssl snippet")?;
    let output = std::process::Command::new("bash")
        .arg("-euo")
        .arg("pipefail")
        .arg("-c")
        .arg(format!("{snippet}\nprintf '%s' \"$TOKEN\""))
        .env("KEY", repo_root().join("seed/DEV-ONLY-root-key.pem"))
        .env("PRINCIPAL", "prn_root")
        .env("SCOPE", "audit:read")
        .output()?;
    assert!(
        output.status.success(),
        "the snippet failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = String::from_utf8(output.stdout)?;
    let reply = env.call("GET", "/v1/audit?limit=1", token.trim(), None, &[]);
    assert_eq!(reply.status, 200, "{}", reply.body);
    Ok(())
}
