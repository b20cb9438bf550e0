//! Webhooks from each provider through the real pipeline to the fake agent runtime.

use crate::admin::audit_entries;
use crate::{unique_ip, Env};
use channel_edge::core::ingress::{sign, standard::Standard, Request};
use channel_edge_e2e::fake::{Answer, Recorded};
use channel_edge_e2e::http::{self, Reply};
use channel_edge_e2e::wrangler::WranglerDev;
use channel_edge_e2e::{repo_root, seed};
use libtest_mimic::Failed;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

tests![
    slack_message_is_delivered_once_signed_and_schema_valid,
    slack_retries_and_resends_are_not_delivered_twice,
    slack_url_verification_is_answered_after_the_signature,
    slack_bad_signature_is_401_and_audited,
    a_disallowed_sender_is_dropped_and_audited,
    telegram_start_message_is_delivered,
    a_revoked_installation_is_refused,
    whatsapp_subscribe_handshake_and_message_and_kill_switch,
    discord_ping_and_command_get_their_responses,
    standard_webhook_is_acknowledged_with_204,
    a_text_too_large_for_the_queue_is_cut_short_and_flagged,
    runtime_errors_are_retried_until_delivered,
    oversized_bodies_are_refused_with_413,
];

/// A fresh number for ids and timestamps no other test uses.
pub fn unique() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

pub fn dataset_secret(section: &str, reference: &str, field: &str, name: &str) -> String {
    let dataset = seed::dataset();
    let item = dataset[section]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["ref"] == reference)
        .unwrap_or_else(|| panic!("no {reference} in {section}"));
    item[field][name].as_str().unwrap().to_owned()
}

fn runtime_secret() -> String {
    let text = std::fs::read_to_string(repo_root().join(".dev.vars.example")).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("AGENT_RUNTIME_SECRET="))
        .unwrap();
    line["AGENT_RUNTIME_SECRET=".len()..]
        .trim_matches('"')
        .to_owned()
}

/// Envelopes the fake runtime received for `provider_event_id`, waiting up to `timeout` for
/// `count` of them. Every one is checked: signature and schema.
pub fn deliveries(
    env: &Env,
    provider_event_id: &str,
    count: usize,
    timeout: Duration,
) -> Vec<Value> {
    deliveries_matching(env, count, timeout, |envelope| {
        envelope["provider_event_id"] == provider_event_id
    })
}

/// Envelopes the fake runtime received that `matches`, waiting up to `timeout` for `count` of
/// them. Every one is checked: signature and schema.
pub fn deliveries_matching(
    env: &Env,
    count: usize,
    timeout: Duration,
    matches: impl Fn(&Value) -> bool,
) -> Vec<Value> {
    let received = env.runtime.wait_for(count, timeout, |r| {
        r.url == "/inbound" && matches(&r.json())
    });
    received.iter().map(checked_envelope).collect()
}

fn checked_envelope(delivery: &Recorded) -> Value {
    let headers: Vec<(String, String)> = delivery.headers.clone();
    let request = Request {
        method: "POST",
        headers: &headers,
        query: &[],
        url: "",
        body: &delivery.body,
    };
    assert_eq!(
        Standard::verify(&request, &[runtime_secret()], seed::now(), 300),
        Ok(()),
        "delivery signed with AGENT_RUNTIME_SECRET"
    );
    let envelope = delivery.json();
    assert_eq!(delivery.header("webhook-id"), envelope["id"].as_str());
    assert_schema_valid(&envelope);
    envelope
}

fn assert_schema_valid(envelope: &Value) {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("schema/inbound-envelope.v2.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(envelope)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:?}: {envelope}");
}

fn slack_event(event_id: &str, user: &str, ts: &str) -> Value {
    json!({
        "token": "unused", "team_id": "T0DEVACME", "api_app_id": "A0DEVPLATFORM",
        "event": {"type": "message", "channel": "C0DEVGENERAL", "channel_type": "channel",
                  "user": user, "text": "hello agent", "ts": ts, "event_ts": ts},
        "type": "event_callback", "event_id": event_id, "event_time": seed::now()
    })
}

/// POSTs `body` to the `slack_platform` profile's webhook, signed with its signing secret.
pub fn post_slack(env: &Env, body: &Value, extra: &[(&str, &str)]) -> Reply {
    let body = body.to_string();
    let now = seed::now();
    let secret = dataset_secret(
        "app_profiles",
        "slack_platform",
        "secrets",
        "signing_secret",
    );
    let signature = sign::slack(&secret, now, body.as_bytes());
    let timestamp = now.to_string();
    let mut headers = vec![
        ("content-type", "application/json"),
        ("x-slack-request-timestamp", timestamp.as_str()),
        ("x-slack-signature", signature.as_str()),
    ];
    headers.extend_from_slice(extra);
    let url = env
        .worker
        .url(&format!("/webhooks/slack/{}", env.id("slack_platform")));
    http::send("POST", &url, &headers, body.as_bytes())
}

fn slack_message_is_delivered_once_signed_and_schema_valid(env: &Env) -> Result<(), Failed> {
    let event_id = format!("Ev0DELIVER{}", unique());
    let reply = post_slack(
        env,
        &slack_event(
            &event_id,
            "U0DEVALICE",
            &format!("1700000000.{:06}", unique()),
        ),
        &[],
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body, "", "Slack is acknowledged with an empty body");
    let envelopes = deliveries(env, &event_id, 1, Duration::from_secs(10));
    assert_eq!(envelopes.len(), 1);
    let envelope = &envelopes[0];
    assert_eq!(envelope["provider"], "slack");
    assert_eq!(envelope["installation_id"], json!(env.id("acme_slack")));
    assert_eq!(envelope["org_id"], json!(env.id("acme")));
    assert_eq!(envelope["agent_id"], "agent_support");
    assert_eq!(envelope["text"], "hello agent");
    assert_eq!(envelope["sender"]["id"], "U0DEVALICE");
    assert_eq!(
        envelope["session_key"],
        json!(format!(
            "slack:{}:agent_support:C0DEVGENERAL",
            env.id("acme_slack")
        ))
    );
    Ok(())
}

fn slack_retries_and_resends_are_not_delivered_twice(env: &Env) -> Result<(), Failed> {
    let event_id = format!("Ev0RETRY{}", unique());
    let ts = format!("1700000001.{:06}", unique());
    let body = slack_event(&event_id, "U0DEVALICE", &ts);
    assert_eq!(post_slack(env, &body, &[]).status, 200);
    let retry = post_slack(
        env,
        &body,
        &[
            ("x-slack-retry-num", "1"),
            ("x-slack-retry-reason", "http_timeout"),
        ],
    );
    assert_eq!(retry.status, 200);
    // Slack re-sending the same message under a new event id: same team, channel and ts.
    let resent_id = format!("Ev0RESENT{}", unique());
    assert_eq!(
        post_slack(env, &slack_event(&resent_id, "U0DEVALICE", &ts), &[]).status,
        200
    );
    assert_eq!(
        deliveries(env, &event_id, 1, Duration::from_secs(10)).len(),
        1
    );
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        deliveries(env, &event_id, 2, Duration::ZERO).len(),
        1,
        "retry delivered again"
    );
    assert!(
        deliveries(env, &resent_id, 1, Duration::ZERO).is_empty(),
        "resend delivered"
    );
    Ok(())
}

fn slack_url_verification_is_answered_after_the_signature(env: &Env) -> Result<(), Failed> {
    let body = json!({"token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"});
    let reply = post_slack(env, &body, &[]);
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.body,
        "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    );
    let url = env
        .worker
        .url(&format!("/webhooks/slack/{}", env.id("slack_platform")));
    let unsigned = http::send(
        "POST",
        &url,
        &[("cf-connecting-ip", &unique_ip())],
        body.to_string().as_bytes(),
    );
    assert_eq!(unsigned.status, 401, "no handshake without a signature");
    Ok(())
}

fn slack_bad_signature_is_401_and_audited(env: &Env) -> Result<(), Failed> {
    let ip = unique_ip();
    let body = slack_event("Ev0FORGED", "U0DEVALICE", "1700000002.000001").to_string();
    let now = seed::now().to_string();
    let forged = sign::slack("not-the-secret", seed::now(), body.as_bytes());
    let url = env
        .worker
        .url(&format!("/webhooks/slack/{}", env.id("slack_platform")));
    let reply = http::send(
        "POST",
        &url,
        &[
            ("x-slack-request-timestamp", &now),
            ("x-slack-signature", &forged),
            ("cf-connecting-ip", &ip),
        ],
        body.as_bytes(),
    );
    assert_eq!(reply.status, 401);
    assert_eq!(reply.error_code(), "bad_signature");
    assert!(
        !reply.body.contains(&forged[3..]),
        "no signature in the answer"
    );
    // A flood from one source and reason is one audit entry per minute, not one per request.
    for _ in 0..10 {
        let headers = [
            ("x-slack-request-timestamp", now.as_str()),
            ("x-slack-signature", forged.as_str()),
            ("cf-connecting-ip", ip.as_str()),
        ];
        assert_eq!(
            http::send("POST", &url, &headers, body.as_bytes()).status,
            401
        );
    }
    wait_for_audit(env, "bad_signature", &ip);
    std::thread::sleep(Duration::from_secs(1));
    let from_ip = audit_entries(env, "webhook.rejected")
        .iter()
        .filter(|entry| entry["target"].as_str().unwrap_or("").contains(&ip))
        .count();
    assert!(
        from_ip <= 2,
        "{from_ip} audit entries for 11 rejections (one per source, reason and minute)"
    );
    assert!(deliveries(env, "Ev0FORGED", 1, Duration::from_secs(2)).is_empty());
    Ok(())
}

/// Waits until a `webhook.rejected` entry with `reason` from `ip` is in the ledger.
pub fn wait_for_audit(env: &Env, reason: &str, ip: &str) {
    for _ in 0..40 {
        let found = audit_entries(env, "webhook.rejected").iter().any(|entry| {
            entry["detail"]["reason"] == reason
                && entry["target"].as_str().unwrap_or("").contains(ip)
        });
        if found {
            return;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("no webhook.rejected entry for {reason} from {ip}");
}

fn a_disallowed_sender_is_dropped_and_audited(env: &Env) -> Result<(), Failed> {
    let ip = unique_ip();
    let event_id = format!("Ev0EVE{}", unique());
    let body = slack_event(
        &event_id,
        "U0DEVEVE",
        &format!("1700000003.{:06}", unique()),
    );
    let reply = post_slack(env, &body, &[("cf-connecting-ip", &ip)]);
    assert_eq!(
        reply.status, 200,
        "silently dropped: the provider sees success"
    );
    assert_eq!(reply.body, "");
    wait_for_audit(env, "sender_not_allowed", &ip);
    assert!(deliveries(env, &event_id, 1, Duration::from_secs(2)).is_empty());
    Ok(())
}

/// Posts a Telegram `update` to `worker` for `installation`, with its secret `token`.
pub fn post_telegram(
    worker: &WranglerDev,
    installation: &str,
    token: &str,
    update: &Value,
) -> Reply {
    let url = worker.url(&format!("/webhooks/telegram/{installation}"));
    http::send(
        "POST",
        &url,
        &[
            ("content-type", "application/json"),
            ("x-telegram-bot-api-secret-token", token),
        ],
        update.to_string().as_bytes(),
    )
}

pub fn telegram_update(update_id: u64, from: u64, text: &str) -> Value {
    json!({"update_id": update_id, "message": {"message_id": update_id, "date": seed::now(),
        "from": {"id": from, "is_bot": false, "first_name": "Dev"},
        "chat": {"id": from, "type": "private", "first_name": "Dev"}, "text": text}})
}

fn telegram_start_message_is_delivered(env: &Env) -> Result<(), Failed> {
    let token = dataset_secret(
        "installations",
        "acme_telegram",
        "credentials",
        "secret_token",
    );
    let update_id = 900_000 + unique();
    let reply = post_telegram(
        &env.worker,
        env.id("acme_telegram"),
        &token,
        &telegram_update(update_id, 424242, "hi there"),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let envelopes = deliveries(env, &update_id.to_string(), 1, Duration::from_secs(10));
    assert_eq!(envelopes.len(), 1);
    assert_eq!(envelopes[0]["conversation"]["type"], "dm");
    let wrong = post_telegram(
        &env.worker,
        env.id("acme_telegram"),
        "wrong-token",
        &telegram_update(update_id + 1, 424242, "x"),
    );
    assert_eq!(wrong.status, 401);
    Ok(())
}

fn a_revoked_installation_is_refused(env: &Env) -> Result<(), Failed> {
    let token = format!("revoked-install-token-{}", unique());
    let installation = env.admin(
        "POST",
        "/v1/installations",
        "installations:write",
        Some(
            json!({"app_profile_id": env.id("telegram"), "org_id": env.id("acme"),
                    "tenant_key": format!("71{}", unique()),
                    "credentials": {"bot_token": "1:x", "secret_token": token}}),
        ),
    );
    assert_eq!(installation.status, 201, "{}", installation.body);
    let id = installation.json()["id"].as_str().unwrap().to_owned();
    env.admin(
        "POST",
        "/v1/bindings",
        "bindings:write",
        Some(json!({"installation_id": id, "agent_id": "agent_x", "sender_policy": "open"})),
    );
    let update_id = 950_000 + unique();
    assert_eq!(
        post_telegram(
            &env.worker,
            &id,
            &token,
            &telegram_update(update_id, 5, "before")
        )
        .status,
        200
    );
    assert_eq!(
        deliveries(env, &update_id.to_string(), 1, Duration::from_secs(10)).len(),
        1
    );
    let revoked = env.admin(
        "POST",
        &format!("/v1/installations/{id}/revoke"),
        "installations:write",
        None,
    );
    assert_eq!(revoked.status, 200);
    let after = post_telegram(
        &env.worker,
        &id,
        &token,
        &telegram_update(update_id + 1, 5, "after"),
    );
    assert_eq!(after.status, 404, "{}", after.body);
    assert_eq!(after.error_code(), "unknown_or_revoked");
    Ok(())
}

/// Posts a signed WhatsApp Cloud API notification to the seeded WhatsApp app profile.
pub fn post_whatsapp(env: &Env, body: &Value) -> Reply {
    let body = body.to_string();
    let secret = dataset_secret("app_profiles", "whatsapp", "secrets", "app_secret");
    let url = env
        .worker
        .url(&format!("/webhooks/whatsapp/{}", env.id("whatsapp")));
    http::send(
        "POST",
        &url,
        &[
            ("content-type", "application/json"),
            (
                "x-hub-signature-256",
                &sign::whatsapp(&secret, body.as_bytes()),
            ),
        ],
        body.as_bytes(),
    )
}

fn whatsapp_message(wamid: &str) -> Value {
    whatsapp_text(wamid, "15550002222", "caf\u{e9} please")
}

/// A WhatsApp text message `wamid` from phone number `from` to the seeded number.
pub fn whatsapp_text(wamid: &str, from: &str, text: &str) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "120000000000001", "changes": [{
        "field": "messages", "value": {"messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": "110000000000001"},
        "contacts": [{"profile": {"name": "Dev Tester"}, "wa_id": from}],
        "messages": [{"from": from, "id": wamid, "timestamp": seed::now().to_string(),
                      "text": {"body": text}, "type": "text"}]}}]}]})
}

fn whatsapp_subscribe_handshake_and_message_and_kill_switch(env: &Env) -> Result<(), Failed> {
    let verify_token = dataset_secret("app_profiles", "whatsapp", "secrets", "verify_token");
    let base = format!("/webhooks/whatsapp/{}", env.id("whatsapp"));
    let ok = http::get(&env.worker.url(&format!(
        "{base}?hub.mode=subscribe&hub.verify_token={verify_token}&hub.challenge=1158201444"
    )));
    assert_eq!((ok.status, ok.body.as_str()), (200, "1158201444"));
    let wrong = http::get(&env.worker.url(&format!(
        "{base}?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1"
    )));
    assert_eq!(wrong.status, 403);

    let wamid = format!("wamid.DEV{}", unique());
    assert_eq!(post_whatsapp(env, &whatsapp_message(&wamid)).status, 200);
    let envelopes = deliveries(env, &wamid, 1, Duration::from_secs(10));
    assert_eq!(envelopes[0]["text"], "café please");
    assert_eq!(envelopes[0]["sender"]["display_name"], "Dev Tester");

    let switch = |stage: &str| {
        let reply = env.admin(
            "PUT",
            "/v1/rollout/whatsapp",
            "rollout:write",
            Some(json!({"stage": stage, "reason": "e2e kill switch"})),
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
    };
    switch("off");
    let killed = post_whatsapp(env, &whatsapp_message(&format!("wamid.KILLED{}", unique())));
    switch("on");
    assert_eq!(killed.status, 503);
    assert_eq!(killed.header("retry-after"), Some("60"));
    assert_eq!(killed.error_code(), "unavailable");

    // Canary: only the listed orgs pass; the others are told to retry later.
    let canary = |orgs: Value| {
        let body = json!({"stage": "canary", "canary_org_ids": orgs});
        let reply = env.admin("PUT", "/v1/rollout/whatsapp", "rollout:write", Some(body));
        assert_eq!(reply.status, 200, "{}", reply.body);
    };
    canary(json!(["org_someone_else"]));
    let outside = post_whatsapp(
        env,
        &whatsapp_message(&format!("wamid.OUTSIDE{}", unique())),
    );
    let inside_id = format!("wamid.INSIDE{}", unique());
    canary(json!([env.id("acme")]));
    let inside = post_whatsapp(env, &whatsapp_message(&inside_id));
    switch("on");
    assert_eq!(outside.status, 503, "an org outside the canary waits");
    assert_eq!(inside.status, 200, "{}", inside.body);
    assert_eq!(
        deliveries(env, &inside_id, 1, Duration::from_secs(10)).len(),
        1
    );
    Ok(())
}

pub fn post_discord(env: &Env, body: &Value) -> Reply {
    let body = body.to_string();
    let now = seed::now();
    let dataset = seed::dataset();
    let seed_hex = dataset["app_profiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["ref"] == "discord")
        .unwrap()["_signing_key_seed_hex"]
        .as_str()
        .unwrap()
        .to_owned();
    let signature = sign::discord(&seed_hex, now, body.as_bytes()).unwrap();
    let url = env
        .worker
        .url(&format!("/webhooks/discord/{}", env.id("discord")));
    http::send(
        "POST",
        &url,
        &[
            ("content-type", "application/json"),
            ("x-signature-ed25519", &signature),
            ("x-signature-timestamp", &now.to_string()),
        ],
        body.as_bytes(),
    )
}

fn discord_ping_and_command_get_their_responses(env: &Env) -> Result<(), Failed> {
    let ping = post_discord(
        env,
        &json!({"id": "1", "application_id": "1200000000000000001", "type": 1, "token": "t", "version": 1}),
    );
    assert_eq!(ping.status, 200);
    assert_eq!(ping.json(), json!({"type": 1}));
    let id = format!("13{}", 100_000 + unique());
    let command = json!({"id": id, "application_id": "1200000000000000001", "type": 2, "token": "itoken",
        "version": 1, "guild_id": "1300000000000000001", "channel_id": "1400000000000000001",
        "member": {"user": {"id": "1500000000000000001", "username": "dev", "global_name": "Dev"}},
        "data": {"id": "1600000000000000001", "name": "ask", "type": 1,
                 "options": [{"name": "question", "type": 3, "value": "status?"}]}});
    let reply = post_discord(env, &command);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json(), json!({"type": 5}), "deferred channel message");
    let envelopes = deliveries(env, &id, 1, Duration::from_secs(10));
    assert_eq!(envelopes[0]["kind"], "command");
    // The interaction token is a capability: sealed into `reply`, never in the clear.
    let envelope = envelopes[0].to_string();
    assert!(!envelope.contains("itoken"), "{envelope}");
    let capability = envelopes[0]["reply"]["capability"]
        .as_str()
        .unwrap_or_default();
    assert!(capability.starts_with("rc1."), "{envelope}");
    Ok(())
}

/// Posts `body` to the seeded Standard Webhooks installation as message `id`, signed at
/// `timestamp`, from `ip`.
fn post_standard(env: &Env, id: &str, timestamp: u64, body: &str, ip: &str) -> Reply {
    let secret = dataset_secret(
        "installations",
        "acme_standard",
        "credentials",
        "webhook_secret",
    );
    post_standard_to(
        env,
        env.id("acme_standard"),
        &secret,
        (id, timestamp),
        body,
        ip,
    )
}

/// Posts `body` to Standard Webhooks installation `installation` as message `id` at `timestamp`,
/// signed with its `secret`, from `ip`.
pub fn post_standard_to(
    env: &Env,
    installation: &str,
    secret: &str,
    (id, timestamp): (&str, u64),
    body: &str,
    ip: &str,
) -> Reply {
    let url = env
        .worker
        .url(&format!("/webhooks/standard/{installation}"));
    http::send(
        "POST",
        &url,
        &[
            ("webhook-id", id),
            ("webhook-timestamp", &timestamp.to_string()),
            (
                "webhook-signature",
                &sign::standard(secret, id, timestamp, body.as_bytes()).unwrap(),
            ),
            ("cf-connecting-ip", ip),
        ],
        body.as_bytes(),
    )
}

fn standard_webhook_is_acknowledged_with_204(env: &Env) -> Result<(), Failed> {
    let id = format!("msg_{}", unique());
    let body = json!({"type": "message", "text": "deploy finished"}).to_string();
    let now = seed::now();
    let reply = post_standard(env, &id, now, &body, &unique_ip());
    assert_eq!(reply.status, 204, "{}", reply.body);
    assert_eq!(
        deliveries(env, &id, 1, Duration::from_secs(10))[0]["agent_id"],
        "agent_ops"
    );
    let stale = post_standard(env, &id, now - 301, &body, &unique_ip());
    assert_eq!(stale.status, 401);
    Ok(())
}

fn a_text_too_large_for_the_queue_is_cut_short_and_flagged(env: &Env) -> Result<(), Failed> {
    let id = format!("msg_{}", unique());
    let text = "é".repeat(150 * 1024);
    let body = json!({"type": "message", "text": text}).to_string();
    let reply = post_standard(env, &id, seed::now(), &body, &unique_ip());
    assert_eq!(reply.status, 204, "{}", reply.body);
    let envelope = &deliveries(env, &id, 1, Duration::from_secs(10))[0];
    assert_eq!(envelope["raw_omitted"], true);
    assert_eq!(envelope["text_truncated"], true);
    let delivered = envelope["text"].as_str().unwrap();
    assert!(text.starts_with(delivered) && delivered.len() > 64 * 1024);
    Ok(())
}

fn runtime_errors_are_retried_until_delivered(env: &Env) -> Result<(), Failed> {
    let token = dataset_secret(
        "installations",
        "acme_telegram",
        "credentials",
        "secret_token",
    );
    let update_id = 980_000 + unique();
    let needle = format!("\"provider_event_id\":\"{update_id}\"");
    env.runtime.respond_to(
        "/inbound",
        &needle,
        Answer::json(500, json!({"error": "busy"})),
    );
    assert_eq!(
        post_telegram(
            &env.worker,
            env.id("acme_telegram"),
            &token,
            &telegram_update(update_id, 424242, "retry me")
        )
        .status,
        200
    );
    let event_id = update_id.to_string();
    let received = env.runtime.wait_for(2, Duration::from_secs(30), |r| {
        r.url == "/inbound" && r.json()["provider_event_id"].as_str() == Some(event_id.as_str())
    });
    assert!(received.len() >= 2, "delivered {} times", received.len());
    assert_eq!(
        received[0].header("webhook-id"),
        received[1].header("webhook-id"),
        "same envelope id on retry"
    );
    Ok(())
}

fn oversized_bodies_are_refused_with_413(env: &Env) -> Result<(), Failed> {
    let body = vec![b'x'; 1024 * 1024 + 1];
    let url = env
        .worker
        .url(&format!("/webhooks/slack/{}", env.id("slack_platform")));
    let reply = http::send("POST", &url, &[], &body);
    assert_eq!(reply.status, 413);
    assert_eq!(reply.error_code(), "payload_too_large");
    Ok(())
}
