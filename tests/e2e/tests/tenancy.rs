//! App profiles, installations, bindings, sealed secrets and rollout flags through the admin API.

use crate::admin::audit_entries;
use crate::Env;
use channel_edge_e2e::{seed, wrangler::WranglerDev};
use libtest_mimic::Failed;
use serde_json::{json, Value};
use std::path::Path;

tests![
    invalid_bodies_are_refused_with_what_to_fix,
    a_byoa_installation_belongs_only_to_its_profiles_org,
    a_byoa_binding_never_falls_back_to_platform_credentials,
    platform_and_byoa_installations_revoke_independently,
    rotated_secrets_verify_during_their_grace_and_profiles_rotate_independently,
    secrets_are_write_only,
    d1_holds_no_plaintext_secret,
    bindings_keep_their_selector_and_allowlist,
    lists_are_cursor_paginated,
    rollout_flags_record_who_and_why,
    master_key_rotation_reseals_everything,
    schema_file_is_the_migrated_schema,
    a_slack_profile_has_an_app_manifest_pointing_at_this_worker,
];

fn created(reply: channel_edge_e2e::http::Reply) -> Value {
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.json()
}

fn new_org(env: &Env, name: &str) -> String {
    let org = created(env.admin(
        "POST",
        "/v1/orgs",
        "profiles:write",
        Some(json!({"name": name})),
    ));
    org["id"].as_str().unwrap().to_owned()
}

fn new_slack_profile(env: &Env, kind: &str, org: Option<&str>, secret: &str) -> String {
    let app_id = format!("A{}", secret.len());
    let profile = created(env.admin(
        "POST",
        "/v1/app-profiles",
        "profiles:write",
        Some(json!({
            "provider": "slack", "kind": kind, "org_id": org, "provider_app_id": app_id,
            "name": format!("test {kind}"), "secrets": {"signing_secret": secret}
        })),
    ));
    profile["id"].as_str().unwrap().to_owned()
}

fn new_slack_installation(env: &Env, profile: &str, org: &str, team: &str) -> String {
    let installation = created(env.admin(
        "POST",
        "/v1/installations",
        "installations:write",
        Some(
            json!({"app_profile_id": profile, "org_id": org, "tenant_key": team,
                    "credentials": {"bot_token": format!("xoxb-{team}")}}),
        ),
    ));
    installation["id"].as_str().unwrap().to_owned()
}

fn invalid_bodies_are_refused_with_what_to_fix(env: &Env) -> Result<(), Failed> {
    let typo = env.admin_invalid("POST", "/v1/orgs", "profiles:write", json!({"nmae": "x"}));
    assert_eq!(typo.status, 400);
    assert!(typo.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("nmae"));
    let missing = env.admin_invalid(
        "POST",
        "/v1/app-profiles",
        "profiles:write",
        json!({"provider": "whatsapp", "kind": "platform", "provider_app_id": "1",
                "name": "n", "secrets": {"app_secret": "s"}}),
    );
    assert_eq!(missing.status, 422);
    assert_eq!(
        missing.json()["error"]["message"],
        "whatsapp app profile needs the secret \"verify_token\""
    );
    let unknown = env.admin("GET", "/v1/orgs/org_nope", "profiles:write", None);
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.json()["error"]["message"], "org org_nope not found");
    Ok(())
}

fn a_byoa_installation_belongs_only_to_its_profiles_org(env: &Env) -> Result<(), Failed> {
    let other_org = new_org(env, "Other org");
    let refused = env.admin(
        "POST",
        "/v1/installations",
        "installations:write",
        Some(
            json!({"app_profile_id": env.id("slack_byoa"), "org_id": other_org,
                    "tenant_key": "T-OTHER", "credentials": {"bot_token": "xoxb-other"}}),
        ),
    );
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(
        refused.json()["error"]["message"],
        format!(
            "the app profile is owned by org {}; its installations must belong to that org",
            env.id("acme")
        )
    );
    // The platform profile is installable by any org.
    new_slack_installation(
        env,
        env.id("slack_platform"),
        &other_org,
        "T-OTHER-PLATFORM",
    );
    Ok(())
}

fn a_byoa_binding_never_falls_back_to_platform_credentials(env: &Env) -> Result<(), Failed> {
    let refused = env.admin(
        "POST",
        "/v1/bindings",
        "bindings:write",
        Some(
            json!({"installation_id": env.id("acme_slack_byoa"), "agent_id": "agent_x",
                    "fallback_installation_id": env.id("acme_slack")}),
        ),
    );
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(
        refused.json()["error"]["message"],
        "a binding on a byoa installation cannot fall back to platform credentials"
    );
    // Explicit platform fallback on a platform installation is allowed, within its org only.
    let org = new_org(env, "Fallback org");
    let installation = new_slack_installation(env, env.id("slack_platform"), &org, "T-FALLBACK");
    let own = new_slack_installation(env, env.id("slack_platform"), &org, "T-FALLBACK-OWN");
    let other_org = env.admin(
        "POST",
        "/v1/bindings",
        "bindings:write",
        Some(
            json!({"installation_id": installation, "agent_id": "agent_x",
                    "fallback_installation_id": env.id("acme_slack")}),
        ),
    );
    assert_eq!(
        other_org.status, 422,
        "another org's credentials: {}",
        other_org.body
    );
    let binding = created(env.admin(
        "POST",
        "/v1/bindings",
        "bindings:write",
        Some(
            json!({"installation_id": installation, "agent_id": "agent_x",
                    "fallback_installation_id": own}),
        ),
    ));
    assert_eq!(binding["fallback_installation_id"], json!(own));
    Ok(())
}

fn platform_and_byoa_installations_revoke_independently(env: &Env) -> Result<(), Failed> {
    let org = new_org(env, "Revocation org");
    let byoa_profile = new_slack_profile(env, "byoa", Some(&org), "revocation-byoa-secret");
    let byoa = new_slack_installation(env, &byoa_profile, &org, "T-REV-BYOA");
    let platform = new_slack_installation(env, env.id("slack_platform"), &org, "T-REV-PLATFORM");

    let revoked = env.admin(
        "POST",
        &format!("/v1/installations/{byoa}/revoke"),
        "installations:write",
        None,
    );
    assert_eq!(revoked.status, 200);
    assert_eq!(revoked.json()["status"], "revoked");
    let still = env.admin(
        "GET",
        &format!("/v1/installations/{platform}"),
        "installations:write",
        None,
    );
    assert_eq!(still.json()["status"], "active");
    let profile = env.admin(
        "GET",
        &format!("/v1/app-profiles/{byoa_profile}"),
        "profiles:write",
        None,
    );
    assert_eq!(
        profile.json()["status"],
        "active",
        "revoking an installation leaves its profile"
    );

    let no_binding = env.admin(
        "POST",
        "/v1/bindings",
        "bindings:write",
        Some(json!({"installation_id": byoa, "agent_id": "agent_x"})),
    );
    assert_eq!(no_binding.status, 409, "{}", no_binding.body);
    let twice = env.admin(
        "POST",
        &format!("/v1/installations/{byoa}/revoke"),
        "installations:write",
        None,
    );
    assert_eq!(twice.status, 409);
    // The tenant key is free again once its installation is revoked.
    new_slack_installation(env, &byoa_profile, &org, "T-REV-BYOA");
    assert!(!audit_entries(env, "installation.revoke").is_empty());
    Ok(())
}

fn secret_names(view: &Value) -> Vec<(String, bool)> {
    view["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                s["expires_at"].is_null(),
            )
        })
        .collect()
}

fn rotated_secrets_verify_during_their_grace_and_profiles_rotate_independently(
    env: &Env,
) -> Result<(), Failed> {
    let org = new_org(env, "Rotation org");
    let byoa = new_slack_profile(env, "byoa", Some(&org), "rotation-byoa-v1");
    let platform = new_slack_profile(env, "platform", None, "rotation-platform-v1");
    let rotate = |grace: u64, value: &str| {
        env.admin(
            "POST",
            &format!("/v1/app-profiles/{byoa}/rotate"),
            "profiles:write",
            Some(json!({"secrets": {"signing_secret": value}, "grace_seconds": grace})),
        )
    };
    let during = rotate(3600, "rotation-byoa-v2");
    assert_eq!(during.status, 200, "{}", during.body);
    let names = secret_names(&during.json());
    assert_eq!(
        names,
        vec![
            ("signing_secret".into(), false),
            ("signing_secret".into(), true)
        ],
        "old value (ending) and new value (open-ended) are both valid"
    );
    let after = rotate(0, "rotation-byoa-v3");
    assert_eq!(
        secret_names(&after.json()),
        vec![("signing_secret".into(), true)]
    );
    let untouched = env.admin(
        "GET",
        &format!("/v1/app-profiles/{platform}"),
        "profiles:write",
        None,
    );
    assert_eq!(
        secret_names(&untouched.json()),
        vec![("signing_secret".into(), true)]
    );
    Ok(())
}

fn secrets_are_write_only(env: &Env) -> Result<(), Failed> {
    let secret = "write-only-secret-value-7f3c";
    let profile = new_slack_profile(env, "platform", None, secret);
    let replies = [
        env.admin(
            "GET",
            &format!("/v1/app-profiles/{profile}"),
            "profiles:write",
            None,
        ),
        env.admin("GET", "/v1/app-profiles?limit=200", "profiles:write", None),
        env.admin(
            "POST",
            &format!("/v1/app-profiles/{profile}/rotate"),
            "profiles:write",
            Some(json!({"secrets": {"signing_secret": "write-only-rotated-9a1d"}})),
        ),
        env.admin("GET", "/v1/audit?limit=200", "audit:read", None),
    ];
    for reply in replies {
        assert!(reply.status < 300, "{}", reply.body);
        assert!(!reply.body.contains(secret), "secret in {}", reply.body);
        assert!(!reply.body.contains("write-only-rotated-9a1d"));
    }
    Ok(())
}

/// Every file below `dir`, recursively.
fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files(&path));
        } else {
            found.push(path);
        }
    }
    found
}

fn d1_holds_no_plaintext_secret(env: &Env) -> Result<(), Failed> {
    let dataset = seed::dataset();
    let mut secrets: Vec<String> = Vec::new();
    for (section, field) in [
        ("app_profiles", "secrets"),
        ("installations", "credentials"),
    ] {
        for item in dataset[section].as_array().unwrap() {
            for value in item[field]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(_, v)| v)
            {
                secrets.push(value.as_str().unwrap().to_owned());
            }
        }
    }
    assert!(secrets.len() >= 10, "the dataset has secrets to look for");
    let files: Vec<_> = files(env.worker.state_dir())
        .into_iter()
        .filter(|path| path.components().any(|part| part.as_os_str() == "d1"))
        .collect();
    assert!(!files.is_empty(), "found the local D1 files");
    let mut scanned = 0;
    for file in &files {
        let bytes = std::fs::read(file)?;
        scanned += bytes.len();
        for secret in &secrets {
            let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(!found, "plaintext secret {secret:?} in {}", file.display());
        }
    }
    assert!(scanned > 0);
    Ok(())
}

fn bindings_keep_their_selector_and_allowlist(env: &Env) -> Result<(), Failed> {
    let binding = created(env.admin(
        "POST",
        "/v1/bindings",
        "bindings:write",
        Some(
            json!({"installation_id": env.id("acme_slack"), "agent_id": "agent_triage",
                    "selector": {"conversation": "C0TRIAGE"}, "priority": 5,
                    "allowlist": ["U0BOB", "U0CAROL"]}),
        ),
    ));
    let id = binding["id"].as_str().unwrap();
    assert_eq!(binding["selector"], json!({"conversation": "C0TRIAGE"}));
    assert_eq!(binding["sender_policy"], "allowlist");
    assert_eq!(binding["allowlist"], json!(["U0BOB", "U0CAROL"]));
    let path = format!("/v1/bindings/{id}/allowlist");
    let added = env.admin(
        "POST",
        &path,
        "bindings:write",
        Some(json!({"sender_id": "+1 555/x"})),
    );
    assert_eq!(added.status, 201, "{}", added.body);
    let twice = env.admin(
        "POST",
        &path,
        "bindings:write",
        Some(json!({"sender_id": "U0BOB"})),
    );
    assert_eq!(twice.status, 409);
    let removed = env.admin(
        "DELETE",
        &format!("{path}/%2B1%20555%2Fx"),
        "bindings:write",
        None,
    );
    assert_eq!(removed.status, 200, "{}", removed.body);
    let list = env.admin("GET", &path, "bindings:read", None);
    assert_eq!(list.json()["items"], json!(["U0BOB", "U0CAROL"]));
    let read_only = env.admin(
        "POST",
        &path,
        "bindings:read",
        Some(json!({"sender_id": "U0EVE"})),
    );
    assert_eq!(read_only.status, 403);
    Ok(())
}

fn lists_are_cursor_paginated(env: &Env) -> Result<(), Failed> {
    for n in 0..5 {
        new_org(env, &format!("Paged org {n}"));
    }
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = env.admin(
            "GET",
            &format!("/v1/orgs?limit=2&cursor={cursor}"),
            "profiles:write",
            None,
        );
        let page = page.json();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(
            items
                .iter()
                .map(|org| org["id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seen, sorted, "ordered by id, no repeats");
    assert!(seen.len() >= 6);
    let bad = env.admin("GET", "/v1/orgs?limit=0", "profiles:write", None);
    assert_eq!(bad.status, 400);
    Ok(())
}

fn rollout_flags_record_who_and_why(env: &Env) -> Result<(), Failed> {
    let set = |body: Value| env.admin("PUT", "/v1/rollout/discord", "rollout:write", Some(body));
    let canary =
        set(json!({"stage": "canary", "canary_org_ids": [env.id("acme")], "reason": "trial"}));
    assert_eq!(canary.status, 200, "{}", canary.body);
    assert_eq!(canary.json()["updated_by"], "prn_root");
    assert_eq!(canary.json()["canary_org_ids"], json!([env.id("acme")]));
    let no_reason = set(json!({"stage": "on"}));
    assert_eq!(no_reason.status, 422);
    assert_eq!(
        no_reason.json()["error"]["message"],
        "promoting discord from canary to on needs a reason"
    );
    let promoted = set(json!({"stage": "on", "reason": "failure matrix green"}));
    assert_eq!(promoted.status, 200);
    assert_eq!(promoted.json()["reason"], "failure matrix green");
    let listed = env.admin("GET", "/v1/rollout", "rollout:write", None);
    assert!(listed.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|flag| flag["key"] == "discord" && flag["stage"] == "on"));
    let unknown = env.admin(
        "PUT",
        "/v1/rollout/icq",
        "rollout:write",
        Some(json!({"stage": "off"})),
    );
    assert_eq!(unknown.status, 422);
    let changes = audit_entries(env, "rollout.set");
    assert!(changes
        .iter()
        .any(|entry| entry["detail"]["from"] == "canary" && entry["detail"]["to"] == "on"));
    Ok(())
}

/// The ring `MASTER_KEYS` of .dev.vars.example.
fn dev_ring() -> String {
    let text =
        std::fs::read_to_string(channel_edge_e2e::repo_root().join(".dev.vars.example")).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("MASTER_KEYS="))
        .unwrap();
    line["MASTER_KEYS=".len()..].trim_matches('"').to_owned()
}

fn master_key_rotation_reseals_everything(_env: &Env) -> Result<(), Failed> {
    // Its own worker: the key ring is a secret fixed for a worker's lifetime.
    let old = dev_ring();
    let worker = WranglerDev::start(&[])?;
    seed::load(&worker.url(""))?;
    let new = "dev2:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let rotate = |worker: &WranglerDev| {
        let bearer = format!("Bearer {}", seed::root_token("*"));
        channel_edge_e2e::http::send(
            "POST",
            &worker.url("/v1/master-key/rotate"),
            &[("authorization", &bearer)],
            &[],
        )
    };
    let worker = worker.restart(&[("MASTER_KEYS", format!("{new},{old}"))])?;
    let first = rotate(&worker);
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.json()["current_key_id"], "dev2");
    assert!(
        first.json()["resealed"].as_u64().unwrap() >= 10,
        "{}",
        first.body
    );
    // With the old key gone, every value still opens: all were re-sealed under dev2.
    let worker = worker.restart(&[("MASTER_KEYS", new.to_owned())])?;
    let second = rotate(&worker);
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(second.json()["resealed"], 0);
    assert_eq!(second.json()["already_current"], first.json()["resealed"]);
    Ok(())
}

const SCHEMA_HEADER: &str = "\
-- The current full D1 schema: what migrations/ add up to. Generated, not edited: the e2e test
-- schema_file_is_the_migrated_schema compares it with a migrated database, and
-- `CHANNEL_EDGE_WRITE_SCHEMA=1 cargo test -p channel-edge-e2e -- schema_file` rewrites it.
";

fn schema_file_is_the_migrated_schema(env: &Env) -> Result<(), Failed> {
    let rows = env.worker.d1_query(
        "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name != 'd1_migrations' \
         AND name NOT LIKE '_cf_%' AND name NOT LIKE 'sqlite_%' ORDER BY tbl_name, type DESC, name",
    )?;
    let statements: Vec<String> = rows
        .iter()
        .map(|row| format!("{};\n", row["sql"].as_str().unwrap_or_default()))
        .collect();
    let migrated = format!("{SCHEMA_HEADER}\n{}", statements.join("\n"));
    let path = channel_edge_e2e::repo_root().join("schema/d1.sql");
    if std::env::var_os("CHANNEL_EDGE_WRITE_SCHEMA").is_some() {
        std::fs::write(&path, &migrated)?;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == migrated,
        "schema/d1.sql differs from the migrated database; regenerate it with \
         CHANNEL_EDGE_WRITE_SCHEMA=1 cargo test -p channel-edge-e2e -- schema_file"
    );
    Ok(())
}

fn a_slack_profile_has_an_app_manifest_pointing_at_this_worker(env: &Env) -> Result<(), Failed> {
    let id = env.id("slack_platform");
    let path = |id: &str| format!("/v1/app-profiles/{id}/slack-manifest");
    let reply = env.admin("GET", &path(id), "profiles:read", None);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let manifest = reply.json();
    // Built from the worker's PUBLIC_BASE_URL (the harness sets it to the worker's own origin).
    let webhook = env.worker.url(&format!("/webhooks/slack/{id}"));
    assert_eq!(
        manifest["settings"]["event_subscriptions"]["request_url"],
        webhook.as_str()
    );
    assert_eq!(
        manifest["settings"]["interactivity"]["request_url"],
        webhook.as_str()
    );
    assert_eq!(
        manifest["features"]["slash_commands"][0]["url"],
        webhook.as_str()
    );
    assert_eq!(
        manifest["oauth_config"]["redirect_urls"],
        json!([env.worker.url("/oauth/slack/callback")])
    );
    assert_eq!(
        manifest["display_information"]["name"],
        "Slack platform app (dev)"
    );
    // That request URL passes Slack's check when the app is created: url_verification answered.
    let challenge =
        json!({"token": "x", "challenge": "manifest-check", "type": "url_verification"});
    let answer = crate::ingress::post_slack(env, &challenge, &[]);
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (200, "manifest-check")
    );

    let telegram = env.admin("GET", &path(env.id("telegram")), "profiles:read", None);
    assert_eq!(telegram.status, 422, "{}", telegram.body);
    assert_eq!(telegram.json()["error"]["code"], "unsupported");
    let unknown = env.admin("GET", &path("app_nope"), "profiles:read", None);
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    let revoked = new_slack_profile(env, "platform", None, "manifest-revoked-secret");
    let revoke = format!("/v1/app-profiles/{revoked}/revoke");
    assert_eq!(
        env.admin("POST", &revoke, "profiles:write", None).status,
        200
    );
    let manifest = env.admin("GET", &path(&revoked), "profiles:read", None);
    assert_eq!(
        manifest.status, 409,
        "a revoked profile's webhooks answer 404"
    );
    let no_scope = env.admin("GET", &path(id), "installations:read", None);
    assert_eq!(no_scope.status, 403, "{}", no_scope.body);
    Ok(())
}
