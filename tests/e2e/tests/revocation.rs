//! Revocation that reaches everything an owner has (ingress, claims, sessions, queued
//! deliveries), and a webhook path that cannot be flooded, panicked or made to lose an event.

use crate::admin::audit_entries;
use crate::ingress::{
    deliveries, post_telegram, post_whatsapp, telegram_update, unique, whatsapp_text,
};
use crate::{unique_ip, Env};
use channel_edge_e2e::fake::{Answer, Recorded};
use channel_edge_e2e::{http, seed};
use libtest_mimic::Failed;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

tests![
    revoking_an_org_stops_its_ingress_and_claims,
    revoking_an_app_profile_stops_its_installations,
    a_session_cannot_complete_under_a_revoked_owner,
    a_losing_session_changes_nothing_at_the_provider,
    queued_deliveries_of_a_revoked_installation_are_dropped,
    random_ids_make_one_ledger_entry_a_minute_and_admin_writes_go_on,
    a_get_with_a_body_does_not_panic,
    repeated_refused_claims_reach_the_agent_once,
    a_whatsapp_message_older_than_the_dedupe_window_is_dropped,
    static_pages_load_nothing_and_are_not_sniffed,
];

fn created(reply: http::Reply) -> String {
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.json()["id"].as_str().unwrap().to_owned()
}

fn new_org(env: &Env, name: &str) -> String {
    created(env.admin(
        "POST",
        "/v1/orgs",
        "profiles:write",
        Some(json!({ "name": name })),
    ))
}

/// A Telegram bot installed for a new org, with an open binding: (org, installation, secret).
fn telegram_tenant(env: &Env, name: &str) -> (String, String, String) {
    let org = new_org(env, name);
    let n = unique();
    let secret = format!("revocation-secret-{n}");
    let installation = created(env.admin(
        "POST",
        "/v1/installations",
        "installations:write",
        Some(json!({"app_profile_id": env.id("telegram"), "org_id": org,
                    "tenant_key": format!("{}", 7_200_000_000u64 + n),
                    "credentials": {"bot_token": format!("{}:REVOKE{n}", 7_200_000_000u64 + n),
                                    "secret_token": secret}})),
    ));
    created(env.admin(
        "POST",
        "/v1/bindings",
        "bindings:write",
        Some(
            json!({"installation_id": installation, "agent_id": "agent_revocation",
                    "sender_policy": "open"}),
        ),
    ));
    (org, installation, secret)
}

fn revoke(env: &Env, path: &str, scope: &str) {
    let reply = env.admin("POST", &format!("{path}/revoke"), scope, None);
    assert_eq!(reply.status, 200, "{path}: {}", reply.body);
}

fn says(env: &Env, installation: &str, secret: &str, text: &str) -> (u16, String) {
    let update_id = 1_300_000 + unique();
    let reply = post_telegram(
        &env.worker,
        installation,
        secret,
        &telegram_update(update_id, 4_400_000 + unique(), text),
    );
    (reply.status, update_id.to_string())
}

fn revoking_an_org_stops_its_ingress_and_claims(env: &Env) -> Result<(), Failed> {
    let (org, installation, secret) = telegram_tenant(env, "Org to revoke");
    let (status, before) = says(env, &installation, &secret, "hello");
    assert_eq!(status, 200);
    assert_eq!(
        deliveries(env, &before, 1, Duration::from_secs(15)).len(),
        1
    );
    revoke(env, &format!("/v1/orgs/{org}"), "profiles:write");
    let (status, after) = says(env, &installation, &secret, "still there?");
    assert_eq!(
        status, 404,
        "the org's installation is gone from the ingress"
    );
    let (status, _) = says(env, &installation, &secret, "install:AAAA");
    assert_eq!(status, 404, "and so are its claims");
    assert!(deliveries(env, &after, 1, Duration::from_secs(2)).is_empty());
    Ok(())
}

fn revoking_an_app_profile_stops_its_installations(env: &Env) -> Result<(), Failed> {
    let org = new_org(env, "Profile revocation org");
    let profile = created(env.admin(
        "POST",
        "/v1/app-profiles",
        "profiles:write",
        Some(
            json!({"provider": "standard", "kind": "byoa", "org_id": org,
                    "provider_app_id": "revocation-source", "name": "Source to revoke"}),
        ),
    ));
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let installation = created(env.admin(
        "POST",
        "/v1/installations",
        "installations:write",
        Some(
            json!({"app_profile_id": profile, "org_id": org, "tenant_key": "source",
                    "credentials": {"webhook_secret": secret}}),
        ),
    ));
    created(env.admin(
        "POST",
        "/v1/bindings",
        "bindings:write",
        Some(
            json!({"installation_id": installation, "agent_id": "agent_revocation",
                    "sender_policy": "open"}),
        ),
    ));
    let send = |id: &str| {
        let body = json!({"type": "message", "text": "hi", "sender": {"id": "s1"}}).to_string();
        let now = seed::now();
        let signature =
            channel_edge::core::ingress::sign::standard(secret, id, now, body.as_bytes()).unwrap();
        http::send(
            "POST",
            &env.worker
                .url(&format!("/webhooks/standard/{installation}")),
            &[
                ("content-type", "application/json"),
                ("webhook-id", id),
                ("webhook-timestamp", &now.to_string()),
                ("webhook-signature", &signature),
            ],
            body.as_bytes(),
        )
    };
    assert_eq!(send(&format!("msg_before_{}", unique())).status, 204);
    revoke(
        env,
        &format!("/v1/app-profiles/{profile}"),
        "profiles:write",
    );
    let after = send(&format!("msg_after_{}", unique()));
    assert_eq!(after.status, 404, "{}", after.body);
    Ok(())
}

/// A fresh fake bot: its token, and the fake's answers to getMe, setWebhook and getWebhookInfo.
fn fake_bot(env: &Env) -> String {
    let n = unique();
    let token = format!("{}:LOSER-{n}", 9_300_000_000u64 + n);
    let base = format!("/telegram/bot{token}");
    env.providers.default_response(
        &format!("{base}/getMe"),
        Answer::json(
            200,
            json!({"ok": true, "result": {"id": 9_300_000_000u64 + n, "is_bot": true,
                "username": format!("race_{n}_bot")}}),
        ),
    );
    env.providers.default_response(
        &format!("{base}/setWebhook"),
        Answer::json(200, json!({"ok": true, "result": true})),
    );
    let set_path = format!("{base}/setWebhook");
    env.providers.respond_with(
        &format!("{base}/getWebhookInfo"),
        move |seen: &[Recorded]| {
            let url = seen
                .iter()
                .rev()
                .find(|r| r.url == set_path)
                .map(|r| r.json()["url"].clone())
                .unwrap_or(Value::Null);
            Answer::json(200, json!({"ok": true, "result": {"url": url}}))
        },
    );
    token
}

fn start_session(env: &Env, org: &str) -> String {
    let reply = env.admin(
        "POST",
        "/v1/binding-sessions",
        "bindings:write",
        Some(
            json!({"provider": "telegram", "method": "token", "org_id": org,
                    "app_profile_id": env.id("telegram"),
                    "binding": {"agent_id": "agent_revocation"}}),
        ),
    );
    created(reply)
}

fn post_token(env: &Env, session: &str, token: &str) -> Value {
    let reply = env.admin(
        "POST",
        &format!("/v1/binding-sessions/{session}/credentials"),
        "bindings:write",
        Some(json!({ "bot_token": token })),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()
}

fn set_webhook_calls(env: &Env, token: &str) -> usize {
    let path = format!("/telegram/bot{token}/setWebhook");
    env.providers
        .requests()
        .iter()
        .filter(|r| r.url == path)
        .count()
}

fn a_session_cannot_complete_under_a_revoked_owner(env: &Env) -> Result<(), Failed> {
    let org = new_org(env, "Session org to revoke");
    let session = start_session(env, &org);
    revoke(env, &format!("/v1/orgs/{org}"), "profiles:write");
    let token = fake_bot(env);
    let view = post_token(env, &session, &token);
    assert_eq!(view["status"], "failed", "{view}");
    assert!(
        view["failure"].as_str().unwrap().contains("revoked"),
        "{view}"
    );
    assert_eq!(
        set_webhook_calls(env, &token),
        0,
        "nothing changed at Telegram"
    );
    let made = env.admin(
        "GET",
        &format!("/v1/installations?org_id={org}"),
        "installations:read",
        None,
    );
    assert!(made.json()["items"].as_array().unwrap().is_empty());
    Ok(())
}

fn a_losing_session_changes_nothing_at_the_provider(env: &Env) -> Result<(), Failed> {
    let org = new_org(env, "Race org");
    let token = fake_bot(env);
    let first = start_session(env, &org);
    let second = start_session(env, &org);
    let winner = post_token(env, &first, &token);
    assert_eq!(winner["status"], "completed", "{winner}");
    let loser = post_token(env, &second, &token);
    assert_eq!(loser["status"], "failed", "{loser}");
    assert!(
        loser["failure"]
            .as_str()
            .unwrap()
            .contains("already installed"),
        "{loser}"
    );
    assert_eq!(
        set_webhook_calls(env, &token),
        1,
        "only the winner pointed the bot at itself"
    );
    let info = env
        .providers
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.url.ends_with(&format!("bot{token}/setWebhook")))
        .unwrap();
    let installation = winner["outcome"]["installation_id"].as_str().unwrap();
    assert!(info.json()["url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/webhooks/telegram/{installation}")));
    Ok(())
}

fn queued_deliveries_of_a_revoked_installation_are_dropped(env: &Env) -> Result<(), Failed> {
    let (_, installation, secret) = telegram_tenant(env, "Queued delivery org");
    let update_id = 1_400_000 + unique();
    let needle = format!("\"provider_event_id\":\"{update_id}\"");
    // Two refusals: even if the first retry comes before the revocation lands, it fails too.
    for _ in 0..2 {
        env.runtime.respond_to(
            "/inbound",
            &needle,
            Answer::json(500, json!({"error": "busy"})),
        );
    }
    let reply = post_telegram(
        &env.worker,
        &installation,
        &secret,
        &telegram_update(update_id, 4_500_000 + unique(), "queued then revoked"),
    );
    assert_eq!(reply.status, 200);
    let event_id = update_id.to_string();
    let attempts = |count: usize, timeout: Duration| {
        env.runtime
            .wait_for(count, timeout, |r| {
                r.url == "/inbound" && r.json()["provider_event_id"] == event_id.as_str()
            })
            .len()
    };
    assert_eq!(
        attempts(1, Duration::from_secs(15)),
        1,
        "the first attempt failed"
    );
    revoke(
        env,
        &format!("/v1/installations/{installation}"),
        "installations:write",
    );
    assert!(
        attempts(3, Duration::from_secs(10)) <= 2,
        "no attempt after the revocation"
    );
    let dropped = audit_entries(env, "delivery.dropped");
    assert!(
        dropped
            .iter()
            .any(|entry| entry["target"] == installation.as_str()
                && entry["detail"]["reason"] == "installation_revoked"),
        "{dropped:?}"
    );
    Ok(())
}

fn random_ids_make_one_ledger_entry_a_minute_and_admin_writes_go_on(
    env: &Env,
) -> Result<(), Failed> {
    const REQUESTS: usize = 300;
    let ip = unique_ip();
    let source = format!("slack ip:{ip}");
    std::thread::scope(|scope| {
        let flood = scope.spawn(|| {
            for n in 0..REQUESTS {
                let id = if n % 3 == 0 {
                    format!("nonsense-{n}")
                } else {
                    format!("app_{:032x}", 0xfeed_0000_0000u64 + n as u64)
                };
                let reply = http::send(
                    "POST",
                    &env.worker.url(&format!("/webhooks/slack/{id}")),
                    &[("cf-connecting-ip", &ip)],
                    b"{}",
                );
                assert_eq!(reply.status, 404, "{id}: {}", reply.body);
            }
        });
        for n in 0..10 {
            let reply = env.admin(
                "POST",
                "/v1/orgs",
                "profiles:write",
                Some(json!({ "name": format!("written during the flood {n}") })),
            );
            assert_eq!(reply.status, 201, "{}", reply.body);
        }
        flood.join().unwrap();
    });
    // Counts are written within FLUSH_SECONDS of the first one (edge::store::rejections).
    let flood_entries = || -> Vec<Value> {
        audit_entries(env, "webhook.rejected")
            .into_iter()
            .filter(|entry| entry["target"] == source.as_str())
            .collect()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while flood_entries().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(250));
    }
    std::thread::sleep(Duration::from_secs(3));
    let entries = flood_entries();
    assert!(!entries.is_empty(), "the flood is audited");
    let minutes: std::collections::BTreeSet<u64> = entries
        .iter()
        .map(|entry| entry["detail"]["minute"].as_u64().unwrap())
        .collect();
    assert_eq!(
        entries.len(),
        minutes.len(),
        "one ledger entry per minute, not per id"
    );
    Ok(())
}

fn a_get_with_a_body_does_not_panic(env: &Env) -> Result<(), Failed> {
    let url = env.worker.url("");
    let address = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let path = format!(
        "/webhooks/whatsapp/{}?hub.mode=subscribe&hub.verify_token=x&hub.challenge=1",
        env.id("whatsapp")
    );
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx"
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let status_line = answer.lines().next().unwrap_or_default();
    assert!(
        status_line.contains(" 403 "),
        "a wrong verify token is 403, not a panic: {status_line}"
    );
    Ok(())
}

fn repeated_refused_claims_reach_the_agent_once(env: &Env) -> Result<(), Failed> {
    let (_, installation, secret) = telegram_tenant(env, "Claim flood org");
    let stranger = 4_600_000 + unique();
    let mut events = Vec::new();
    for _ in 0..4 {
        let update_id = 1_500_000 + unique();
        let reply = post_telegram(
            &env.worker,
            &installation,
            &secret,
            &telegram_update(update_id, stranger, "install:x"),
        );
        assert_eq!(reply.status, 200);
        events.push(update_id.to_string());
    }
    std::thread::sleep(Duration::from_secs(3));
    let reached: usize = events
        .iter()
        .map(|event| deliveries(env, event, 1, Duration::ZERO).len())
        .sum();
    assert_eq!(reached, 1, "only the first refusal reaches the agent");
    Ok(())
}

fn a_whatsapp_message_older_than_the_dedupe_window_is_dropped(env: &Env) -> Result<(), Failed> {
    let wamid = format!("wamid.OLD{}", unique());
    let mut body = whatsapp_text(&wamid, "15550003333", "from last week");
    let nine_days_ago = seed::now() - 9 * 24 * 3600;
    body["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] =
        json!(nine_days_ago.to_string());
    assert_eq!(post_whatsapp(env, &body).status, 200);
    assert!(deliveries(env, &wamid, 1, Duration::from_secs(3)).is_empty());
    Ok(())
}

fn static_pages_load_nothing_and_are_not_sniffed(env: &Env) -> Result<(), Failed> {
    for path in [
        "/oauth/slack/callback?code=x&state=bss_nope.123.abc".to_owned(),
        "/bind/bss_00000000000000000000000000000000?t=123.abc".to_owned(),
    ] {
        let reply = http::get(&env.worker.url(&path));
        assert!(
            matches!(reply.status, 400 | 403),
            "{path}: {}",
            reply.status
        );
        let policy = reply.header("content-security-policy").unwrap_or_default();
        assert!(policy.contains("default-src 'none'"), "{path}: {policy}");
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(reply.header("cache-control"), Some("no-store"));
    }
    Ok(())
}
