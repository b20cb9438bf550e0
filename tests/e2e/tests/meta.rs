//! Messenger and Instagram end to end: Meta's handshake and signature on the app profiles'
//! webhooks, events found by Page or account id, echoes dropped, answers through the Send API
//! stand-ins, and a Page bound with its token.

use crate::ingress::{dataset_secret, deliveries, unique};
use crate::messages::{accepted, calls, capability, created, send, settled};
use crate::Env;
use channel_edge::core::ingress::sign;
use channel_edge_e2e::fake::{Answer, Recorded};
use channel_edge_e2e::{http, seed};
use libtest_mimic::Failed;
use serde_json::{json, Value};
use std::time::Duration;

tests![
    a_messenger_message_is_delivered_once_and_answered_from_the_page,
    an_instagram_message_is_answered_and_its_echo_dropped,
    meta_handshakes_answer_and_forged_signatures_are_refused,
    a_messenger_page_binds_with_its_token,
];

/// `provider`'s seeded app profile ref (`messenger`, `instagram`) and its app secret.
fn app_secret(provider: &str) -> String {
    dataset_secret("app_profiles", provider, "secrets", "app_secret")
}

/// Installs a fresh account (Page or Instagram account) of `provider` bound openly to a fresh
/// agent; returns its tenant key and credential.
fn account(env: &Env, provider: &str, credential: &str) -> (String, String) {
    let n = unique();
    let id = format!("{}", 880_000_000_000_000 + n);
    let token = format!("{provider}-token-{n}");
    let installation = created(&env.admin(
        "POST",
        "/v1/installations",
        "installations:write",
        Some(
            json!({"app_profile_id": env.id(provider), "org_id": env.id("acme"),
            "tenant_key": id, "credentials": {credential: token}}),
        ),
    ));
    created(&env.admin(
        "POST",
        "/v1/bindings",
        "bindings:write",
        Some(
            json!({"installation_id": installation, "agent_id": format!("agent_{provider}_{n}"),
                    "sender_policy": "open"}),
        ),
    ));
    (id, token)
}

fn post_meta(env: &Env, provider: &str, secret: &str, body: &Value) -> http::Reply {
    let body = body.to_string();
    let url = env
        .worker
        .url(&format!("/webhooks/{provider}/{}", env.id(provider)));
    let signature = sign::whatsapp(secret, body.as_bytes());
    http::send(
        "POST",
        &url,
        &[
            ("content-type", "application/json"),
            ("x-hub-signature-256", &signature),
        ],
        body.as_bytes(),
    )
}

/// One `messaging` text from `from` to `account`, as `object` (`page`, `instagram`) sends it.
fn messaging(object: &str, account: &str, items: Vec<Value>) -> Value {
    json!({"object": object, "entry": [{"id": account, "time": seed::now() * 1000,
        "messaging": items}]})
}

fn text(from: &str, to: &str, mid: &str, text: &str) -> Value {
    json!({"sender": {"id": from}, "recipient": {"id": to}, "timestamp": seed::now() * 1000,
           "message": {"mid": mid, "text": text}})
}

fn a_messenger_message_is_delivered_once_and_answered_from_the_page(
    env: &Env,
) -> Result<(), Failed> {
    let (page, token) = account(env, "messenger", "page_access_token");
    let mid = format!("m_IN{}", unique());
    let body = messaging(
        "page",
        &page,
        vec![text("7300000000000001", &page, &mid, "hej")],
    );
    let secret = app_secret("messenger");
    for _ in 0..2 {
        let reply = post_meta(env, "messenger", &secret, &body);
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    let envelopes = deliveries(env, &mid, 2, Duration::from_secs(8));
    assert_eq!(envelopes.len(), 1, "Meta's retry is delivered once");
    let envelope = &envelopes[0];
    assert_eq!(envelope["provider"], "messenger");
    assert_eq!(envelope["conversation"]["id"], "7300000000000001");

    let path = format!("/graph/{page}/messages");
    env.providers.respond_with(&path, |seen: &[Recorded]| {
        Answer::json(
            200,
            json!({"recipient_id": "7300000000000001",
                                 "message_id": format!("m_OUT{}", seen.len())}),
        )
    });
    let id = accepted(&send(
        env,
        json!({"reply_to": capability(envelope), "text": "**Hi**"}),
    ));
    let view = settled(env, &id, Duration::from_secs(10));
    assert_eq!(view["status"], "sent", "{view}");
    let sent = env
        .providers
        .wait_for(2, Duration::from_secs(5), |r| r.url == path);
    assert_eq!(
        sent[0].header("authorization"),
        Some(format!("Bearer {token}").as_str())
    );
    assert_eq!(
        sent[0].json(),
        json!({"recipient": {"id": "7300000000000001"}, "messaging_type": "RESPONSE",
               "message": {"text": "Hi"}})
    );
    assert_eq!(sent[1].json()["sender_action"], "mark_seen");
    assert!(view["provider_message_ids"][0]
        .as_str()
        .unwrap()
        .starts_with("m_OUT"));
    Ok(())
}

fn an_instagram_message_is_answered_and_its_echo_dropped(env: &Env) -> Result<(), Failed> {
    let (account, token) = account(env, "instagram", "access_token");
    let (mid, echo) = (
        format!("aWdf_IN{}", unique()),
        format!("aWdf_ECHO{}", unique()),
    );
    let mut own = text(&account, "7400000000000001", &echo, "from the account");
    own["message"]["is_echo"] = json!(true);
    let body = messaging(
        "instagram",
        &account,
        vec![text("7400000000000001", &account, &mid, "Grüße"), own],
    );
    let reply = post_meta(env, "instagram", &app_secret("instagram"), &body);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let envelope = deliveries(env, &mid, 1, Duration::from_secs(15)).remove(0);
    assert_eq!(envelope["text"], "Grüße");
    assert!(deliveries(env, &echo, 1, Duration::from_secs(2)).is_empty());

    let path = format!("/instagram/{account}/messages");
    env.providers.respond(
        &path,
        Answer::json(
            200,
            json!({"recipient_id": "7400000000000001", "message_id": "aWdf_OUT"}),
        ),
    );
    let id = accepted(&send(
        env,
        json!({"reply_to": capability(&envelope), "text": "Danke"}),
    ));
    let view = settled(env, &id, Duration::from_secs(10));
    assert_eq!(view["status"], "sent", "{view}");
    let sent = calls(env, &path);
    assert_eq!(
        sent[0].header("authorization"),
        Some(format!("Bearer {token}").as_str())
    );
    assert_eq!(
        sent[0].json(),
        json!({"recipient": {"id": "7400000000000001"}, "message": {"text": "Danke"}})
    );
    Ok(())
}

fn meta_handshakes_answer_and_forged_signatures_are_refused(env: &Env) -> Result<(), Failed> {
    for provider in ["messenger", "instagram"] {
        let token = dataset_secret("app_profiles", provider, "secrets", "verify_token");
        let base = env
            .worker
            .url(&format!("/webhooks/{provider}/{}", env.id(provider)));
        let url =
            format!("{base}?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444");
        let answer = http::send("GET", &url, &[], b"");
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (200, "1158201444"),
            "{provider}"
        );
        let wrong = format!("{base}?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1");
        assert_eq!(
            http::send("GET", &wrong, &[], b"").status,
            403,
            "{provider}"
        );

        let mid = format!("m_FORGED{}", unique());
        let object = if provider == "messenger" {
            "page"
        } else {
            "instagram"
        };
        let body = messaging(object, "100000000000001", vec![text("1", "2", &mid, "x")]);
        let forged = post_meta(env, provider, "not-the-app-secret", &body);
        assert_eq!(forged.status, 401, "{provider}: {}", forged.body);
        let signed = sign::whatsapp(&app_secret(provider), body.to_string().as_bytes());
        let sha1 = signed.replace("sha256=", "sha1=");
        let reply = http::send(
            "POST",
            &base,
            &[
                ("content-type", "application/json"),
                ("x-hub-signature-256", &sha1),
            ],
            body.to_string().as_bytes(),
        );
        assert_eq!(
            reply.status, 401,
            "{provider}: sha1= is refused: {}",
            reply.body
        );
        assert!(deliveries(env, &mid, 1, Duration::from_secs(1)).is_empty());
    }
    Ok(())
}

fn a_messenger_page_binds_with_its_token(env: &Env) -> Result<(), Failed> {
    let page = format!("{}", 890_000_000_000_000 + unique());
    let reply = env.admin(
        "POST",
        "/v1/binding-sessions",
        "bindings:write",
        Some(
            json!({"provider": "messenger", "method": "token", "org_id": env.id("acme"),
            "app_profile_id": env.id("messenger"), "timeout_seconds": 120,
            "binding": {"agent_id": "agent_page_bound", "sender_policy": "open"}}),
        ),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    let session = reply.json();
    env.providers.respond(
        &format!("/graph/{page}"),
        Answer::json(200, json!({"id": page, "name": "Bound Page"})),
    );
    env.providers.respond(
        &format!("/graph/{page}/subscribed_apps"),
        Answer::json(200, json!({"success": true})),
    );
    let id = session["id"].as_str().unwrap();
    let done = env.admin(
        "POST",
        &format!("/v1/binding-sessions/{id}/credentials"),
        "bindings:write",
        Some(json!({"page_id": page, "page_access_token": "EAAPage-test"})),
    );
    let done = done.json();
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["channel"], format!("Bound Page ({page})").as_str());
    let subscribe = format!("/graph/{page}/subscribed_apps?");
    let subscribed = env
        .providers
        .wait_for(1, Duration::from_secs(1), |r| r.url.starts_with(&subscribe));
    assert_eq!(
        subscribed[0].header("authorization"),
        Some("Bearer EAAPage-test")
    );
    let malformed = env.admin(
        "POST",
        "/v1/binding-sessions",
        "bindings:write",
        Some(
            json!({"provider": "messenger", "method": "token", "org_id": env.id("acme"),
            "app_profile_id": env.id("messenger"), "binding": {"agent_id": "a"}}),
        ),
    );
    let id = malformed.json()["id"].as_str().unwrap().to_owned();
    let refused = env.admin(
        "POST",
        &format!("/v1/binding-sessions/{id}/credentials"),
        "bindings:write",
        Some(json!({"page_id": "../me", "page_access_token": "x"})),
    );
    assert_eq!(
        refused.status, 400,
        "a page id goes into a URL: digits only"
    );
    Ok(())
}
