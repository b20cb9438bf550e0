//! Microsoft Teams end to end: activities with Bot Connector tokens (signed by the dev key set,
//! which the stand-in serves as the Bot Framework's) delivered once and answered in their thread
//! through the service URL with a minted bot token; the token rejection matrix; a key rotated
//! into the key set is found by fetching it again, at most once a minute.

use crate::ingress::{deliveries, unique};
use crate::messages::{accepted, calls, capability, created, send, settled};
use crate::Env;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use channel_edge::core::ingress::sample::dev::{JWT_KEY_ID, JWT_SIGNING_KEY_PEM};
use channel_edge::core::ingress::sign::{rs256_jwt, teams_claims};
use channel_edge_e2e::fake::{Answer, KEY_SET_PATHS};
use channel_edge_e2e::http;
use hmac::Mac;
use libtest_mimic::Failed;
use serde_json::{json, Value};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

tests![
    a_teams_message_is_delivered_once_and_answered_in_its_thread,
    teams_tokens_that_are_not_the_bot_connectors_are_refused,
    a_key_rotated_into_the_key_set_is_found_and_fetched_at_most_once_a_minute,
];

/// A Teams bot of its own: an app profile, an installation for one tenant, an open binding.
struct Bot {
    profile: String,
    app_id: String,
    tenant: String,
    agent: String,
}

fn bot(env: &Env) -> Bot {
    let n = unique();
    let app_id = format!("0de0a11c-0000-4000-8000-{n:012}");
    let tenant = format!("7e4a0000-0000-4000-8000-{n:012}");
    let profile = created(&env.admin(
        "POST",
        "/v1/app-profiles",
        "profiles:write",
        Some(
            json!({"provider": "teams", "kind": "platform", "provider_app_id": app_id,
            "name": format!("Teams bot {n}"),
            "secrets": {"app_password": format!("teams-password-{n}")}}),
        ),
    ));
    let installation = created(&env.admin(
        "POST",
        "/v1/installations",
        "installations:write",
        Some(json!({"app_profile_id": profile, "org_id": env.id("acme"), "tenant_key": tenant})),
    ));
    let agent = format!("agent_teams_{n}");
    created(&env.admin(
        "POST",
        "/v1/bindings",
        "bindings:write",
        Some(json!({"installation_id": installation, "agent_id": agent, "sender_policy": "open"})),
    ));
    Bot {
        profile,
        app_id,
        tenant,
        agent,
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A channel message in a thread, to `bot`, from the service URL the stand-in serves.
fn activity(env: &Env, bot: &Bot, id: &str) -> Value {
    json!({
        "type": "message", "id": id, "channelId": "msteams",
        "serviceUrl": env.providers.url(&format!("/teams/amer/{}/", bot.tenant)),
        "timestamp": "2026-11-30T10:00:00.000Z",
        "from": {"id": "29:1e2e-user", "name": "Megan", "aadObjectId": "b15a9416-0ad3-4172-9210-7beb711d3f70"},
        "recipient": {"id": format!("28:{}", bot.app_id), "name": "EdgeBot"},
        "conversation": {"id": "19:e2e@thread.tacv2;messageid=1759881511856", "isGroup": true,
                         "conversationType": "channel", "tenantId": bot.tenant},
        "text": "<at>EdgeBot</at> status please", "textFormat": "plain",
        "channelData": {"tenant": {"id": bot.tenant}},
    })
}

fn bearer(claims: &Value, kid: &str, pem: &str) -> String {
    format!("Bearer {}", rs256_jwt(pem, kid, claims).unwrap())
}

fn post(env: &Env, bot: &Bot, authorization: &str, body: &Value) -> http::Reply {
    let url = env.worker.url(&format!("/webhooks/teams/{}", bot.profile));
    let mut headers = vec![("content-type", "application/json")];
    if !authorization.is_empty() {
        headers.push(("authorization", authorization));
    }
    http::send("POST", &url, &headers, body.to_string().as_bytes())
}

fn a_teams_message_is_delivered_once_and_answered_in_its_thread(env: &Env) -> Result<(), Failed> {
    let bot = bot(env);
    let id = format!("17599447{:05}", unique());
    let body = activity(env, &bot, &id);
    let token = bearer(
        &teams_claims(now(), body.to_string().as_bytes()),
        JWT_KEY_ID,
        JWT_SIGNING_KEY_PEM,
    );
    // The activity and the Bot Connector's retry of it.
    for _ in 0..2 {
        let reply = post(env, &bot, &token, &body);
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    let delivered = deliveries(env, &id, 2, Duration::from_secs(8));
    assert_eq!(delivered.len(), 1, "the retry is dropped");
    let envelope = &delivered[0];
    assert_eq!(envelope["provider"], "teams");
    assert_eq!(envelope["agent_id"], bot.agent.as_str());
    assert_eq!(envelope["text"], "status please");
    assert_eq!(envelope["conversation"]["id"], "19:e2e@thread.tacv2");
    assert_eq!(envelope["conversation"]["thread_id"], "1759881511856");

    let login = "/teams-login/botframework.com/oauth2/v2.0/token";
    env.providers.respond_to(
        login,
        &format!("client_id={}", bot.app_id),
        Answer::json(
            200,
            json!({"token_type": "Bearer", "expires_in": 3599,
                                 "access_token": format!("bf-token-{id}")}),
        ),
    );
    let reply_path = format!(
        "/teams/amer/{}/v3/conversations/19%3Ae2e%40thread.tacv2%3Bmessageid%3D1759881511856/activities/{id}",
        bot.tenant
    );
    env.providers
        .respond(&reply_path, Answer::json(201, json!({"id": "1:reply-1"})));
    let message = accepted(&send(
        env,
        json!({"reply_to": capability(envelope), "text": "All **green**"}),
    ));
    let view = settled(env, &message, Duration::from_secs(15));
    assert_eq!(view["status"], "sent", "{view}");
    assert_eq!(view["provider_message_ids"], json!(["1:reply-1"]));
    let token_calls: Vec<_> = calls(env, login)
        .into_iter()
        .filter(|call| String::from_utf8_lossy(&call.body).contains(&bot.app_id))
        .collect();
    assert_eq!(token_calls.len(), 1);
    let form: Vec<(String, String)> = form_urlencoded::parse(&token_calls[0].body)
        .into_owned()
        .collect();
    assert!(form.contains(&("grant_type".into(), "client_credentials".into())));
    assert!(form.contains(&(
        "scope".into(),
        "https://api.botframework.com/.default".into()
    )));
    let sent = calls(env, &reply_path);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].header("authorization"),
        Some(format!("Bearer bf-token-{id}").as_str())
    );
    let posted = sent[0].json();
    assert_eq!(posted["type"], "message");
    assert_eq!(posted["replyToId"], id.as_str());
    assert_eq!(posted["text"], "All **green**");
    Ok(())
}

fn teams_tokens_that_are_not_the_bot_connectors_are_refused(env: &Env) -> Result<(), Failed> {
    let bot = bot(env);
    let body = activity(env, &bot, &format!("forged-{}", unique()));
    let good = teams_claims(now(), body.to_string().as_bytes());
    let with = |change: &dyn Fn(&mut Value)| {
        let mut claims = good.clone();
        change(&mut claims);
        bearer(&claims, JWT_KEY_ID, JWT_SIGNING_KEY_PEM)
    };
    let b64 = |value: &Value| URL_SAFE_NO_PAD.encode(value.to_string());
    // `alg: none`, and HS256 "signed" with the public key set as the HMAC secret.
    let none = format!(
        "Bearer {}.{}.",
        b64(&json!({"alg": "none", "kid": JWT_KEY_ID})),
        b64(&good)
    );
    let hs_input = format!(
        "{}.{}",
        b64(&json!({"alg": "HS256", "kid": JWT_KEY_ID})),
        b64(&good)
    );
    let public = include_str!("../../../seed/dev-jwt-key-set.json");
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(public.as_bytes()).unwrap();
    mac.update(hs_input.as_bytes());
    let hs256 = format!(
        "Bearer {hs_input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    );
    let other_key = include_str!("../../fixtures/github/test_app_private_key.pem");
    let cases: Vec<(&str, String, &str)> = vec![
        ("no token", String::new(), "missing_header"),
        ("alg none", none, "token_algorithm"),
        ("HS256 with the public key", hs256, "token_algorithm"),
        (
            "expired",
            with(&|c| c["exp"] = json!(now() - 600)),
            "expired_token",
        ),
        (
            "another app",
            with(&|c| c["aud"] = json!("another-app")),
            "wrong_audience",
        ),
        (
            "another issuer",
            with(&|c| c["iss"] = json!("https://sts.windows.net/evil/")),
            "wrong_issuer",
        ),
        (
            "another serviceurl",
            with(&|c| c["serviceurl"] = json!("https://attacker.example/")),
            "claim_mismatch",
        ),
        (
            "an unknown key",
            bearer(&good, "no-such-key", other_key),
            "unknown_key",
        ),
        (
            "the right kid, another key",
            bearer(&good, JWT_KEY_ID, other_key),
            "bad_signature",
        ),
    ];
    for (case, authorization, code) in cases {
        let reply = post(env, &bot, &authorization, &body);
        assert_eq!(reply.status, 401, "{case}: {}", reply.body);
        assert_eq!(
            reply.json()["error"]["code"],
            code,
            "{case}: {}",
            reply.body
        );
        assert!(!reply.body.contains("eyJ"), "{case}: a token in the answer");
    }
    Ok(())
}

/// The GitHub test App key, which the stand-in's Bot Framework key set takes in as `rotated-in`.
const ROTATED_KEY: &str = include_str!("../../fixtures/github/test_app_private_key.pem");

fn a_key_rotated_into_the_key_set_is_found_and_fetched_at_most_once_a_minute(
    env: &Env,
) -> Result<(), Failed> {
    let bot = bot(env);
    // The worker holds the key set as it was (this verifies with the dev key)…
    let before = activity(env, &bot, &format!("before-rotation-{}", unique()));
    let claims = teams_claims(now(), before.to_string().as_bytes());
    let token = bearer(&claims, JWT_KEY_ID, JWT_SIGNING_KEY_PEM);
    assert_eq!(post(env, &bot, &token, &before).status, 200);
    // …then a key is rotated in.
    let mut key_set: Value =
        serde_json::from_str(include_str!("../../../seed/dev-jwt-key-set.json"))?;
    let rotated: Value =
        serde_json::from_str(include_str!("../../fixtures/teams/rotated_key.json"))?;
    key_set["keys"].as_array_mut().unwrap().push(rotated);
    env.providers
        .default_response(KEY_SET_PATHS[0], Answer::json(200, key_set));
    let fetches = || calls(env, KEY_SET_PATHS[0]).len();
    let before = fetches();
    let started = Instant::now();
    let id = format!("rotated-{}", unique());
    let body = activity(env, &bot, &id);
    // Until the cached key set may be fetched again (a minute after the last fetch), the new key
    // is unknown; then it verifies. Tried every 5 s, like a platform retrying.
    let accepted = loop {
        let token = bearer(
            &teams_claims(now(), body.to_string().as_bytes()),
            "rotated-in",
            ROTATED_KEY,
        );
        let reply = post(env, &bot, &token, &body);
        if reply.status == 200 {
            break true;
        }
        assert_eq!(
            reply.json()["error"]["code"],
            "unknown_key",
            "{}",
            reply.body
        );
        if started.elapsed() > Duration::from_secs(80) {
            break false;
        }
        std::thread::sleep(Duration::from_secs(5));
    };
    assert!(accepted, "the rotated key was never found");
    // Other tests may ask for unknown keys meanwhile: still at most one fetch a minute.
    let fetched = fetches() - before;
    let allowed = 2 + started.elapsed().as_secs() as usize / 60;
    assert!(
        (1..=allowed).contains(&fetched),
        "{fetched} fetches in {:?}",
        started.elapsed()
    );
    assert_eq!(deliveries(env, &id, 1, Duration::from_secs(8)).len(), 1);
    Ok(())
}
