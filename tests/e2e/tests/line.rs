//! LINE end to end: a channel bound with its token, signed webhooks (redeliveries, the console's
//! verify request, forged signatures) and answers through the push API of the LINE stand-in.

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
    a_line_channel_binds_with_its_token_and_delivers,
    a_line_event_is_delivered_once_and_answered_by_push,
    forged_line_webhooks_are_refused,
    a_line_qr_session_completes_when_its_message_is_sent,
];

/// A LINE channel installed for one test, bound openly to a fresh agent.
struct Channel {
    installation: String,
    secret: String,
    token: String,
}

fn line_channel(env: &Env) -> Channel {
    let n = unique();
    let (secret, token) = (format!("line-secret-{n}"), format!("line-token-{n}"));
    let installation = created(&env.admin(
        "POST",
        "/v1/installations",
        "installations:write",
        Some(
            json!({"app_profile_id": env.id("line"), "org_id": env.id("acme"),
            "tenant_key": format!("U{n:032x}"),
            "credentials": {"channel_secret": secret, "channel_access_token": token}}),
        ),
    ));
    created(&env.admin(
        "POST",
        "/v1/bindings",
        "bindings:write",
        Some(
            json!({"installation_id": installation, "agent_id": format!("agent_line_{n}"),
                    "sender_policy": "open"}),
        ),
    ));
    Channel {
        installation,
        secret,
        token,
    }
}

/// POSTs `body` to installation `installation`'s LINE webhook, signed with `secret`.
fn post_line(env: &Env, installation: &str, secret: &str, body: &Value) -> http::Reply {
    let body = body.to_string();
    let url = env.worker.url(&format!("/webhooks/line/{installation}"));
    let signature = sign::line(secret, body.as_bytes());
    http::send(
        "POST",
        &url,
        &[
            ("content-type", "application/json; charset=utf-8"),
            ("x-line-signature", &signature),
        ],
        body.as_bytes(),
    )
}

/// A one-to-one text message event from `user`.
fn text_event(event_id: &str, user: &str, text: &str, redelivery: bool) -> Value {
    json!({"destination": "U0000000000000000000000000000000b", "events": [{
        "type": "message", "mode": "active", "timestamp": seed::now() * 1000,
        "source": {"type": "user", "userId": user}, "webhookEventId": event_id,
        "deliveryContext": {"isRedelivery": redelivery},
        "replyToken": "nHuyWiB7yP5Zw52FIkcQobQuGDXCTA",
        "message": {"id": "444573844083572737", "type": "text", "quoteToken": "q3Plxr4AgKd",
                    "text": text}}]})
}

fn a_line_channel_binds_with_its_token_and_delivers(env: &Env) -> Result<(), Failed> {
    let n = unique();
    let token = format!("bound-line-token-{n}");
    let user_id = format!("U{:032x}", 0xb0_0000 + n);
    let reply = env.admin(
        "POST",
        "/v1/binding-sessions",
        "bindings:write",
        Some(
            json!({"provider": "line", "method": "token", "org_id": env.id("acme"),
            "app_profile_id": env.id("line"), "timeout_seconds": 120,
            "binding": {"agent_id": "agent_line_bound", "allowlist": ["U1"]}}),
        ),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    let session = reply.json();
    assert_eq!(
        session["auth_prompt"]["data"]["fields"],
        json!(["channel_secret", "channel_access_token"])
    );
    env.providers.respond(
        "/line/v2/bot/info",
        Answer::json(
            200,
            json!({"userId": user_id, "basicId": "@bound", "displayName": "Bound"}),
        ),
    );
    let endpoint = "/line/v2/bot/channel/webhook/endpoint";
    env.providers
        .respond_with(endpoint, move |seen: &[Recorded]| {
            let set = seen.iter().rev().find(|r| r.method == "PUT");
            let url = set.map_or(Value::Null, |r| r.json()["endpoint"].clone());
            Answer::json(200, json!({"endpoint": url, "active": true}))
        });
    let id = session["id"].as_str().unwrap();
    let secret = format!("bound-line-secret-{n}");
    let done = env.admin(
        "POST",
        &format!("/v1/binding-sessions/{id}/credentials"),
        "bindings:write",
        Some(json!({"channel_secret": secret, "channel_access_token": token})),
    );
    assert_eq!(done.status, 200, "{}", done.body);
    let done = done.json();
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["channel"], format!("@bound ({user_id})").as_str());
    assert!(!done.to_string().contains(&secret) && !done.to_string().contains(&token));
    let installation = done["outcome"]["installation_id"].as_str().unwrap();
    let set = calls(env, endpoint);
    let put = set
        .iter()
        .find(|r| r.method == "PUT")
        .expect("the endpoint is set");
    assert_eq!(
        put.header("authorization"),
        Some(format!("Bearer {token}").as_str())
    );
    let url = put.json()["endpoint"].as_str().unwrap().to_owned();
    assert!(
        url.ends_with(&format!("/webhooks/line/{installation}")),
        "{url}"
    );

    let event_id = format!("01BOUND{n:019}");
    let reply = post_line(
        env,
        installation,
        &secret,
        &text_event(&event_id, "U1", "hi", false),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let envelope = deliveries(env, &event_id, 1, Duration::from_secs(15)).remove(0);
    assert_eq!(envelope["agent_id"], "agent_line_bound");
    assert_eq!(envelope["provider"], "line");
    Ok(())
}

fn a_line_event_is_delivered_once_and_answered_by_push(env: &Env) -> Result<(), Failed> {
    let channel = line_channel(env);
    let event_id = format!("01ONCE{:020}", unique());
    let user = "U4af4980629abcdef0123456789abcdef";
    let first = text_event(&event_id, user, "can you help?", false);
    let reply = post_line(env, &channel.installation, &channel.secret, &first);
    assert_eq!((reply.status, reply.body.as_str()), (200, ""));
    let envelope = deliveries(env, &event_id, 1, Duration::from_secs(15)).remove(0);
    assert_eq!(envelope["text"], "can you help?");
    assert_eq!(envelope["conversation"]["id"], user);
    assert_eq!(envelope["conversation"]["type"], "dm");
    assert!(
        !envelope
            .to_string()
            .contains("nHuyWiB7yP5Zw52FIkcQobQuGDXCTA"),
        "the reply token stays out of the envelope"
    );
    // LINE's redelivery carries the same webhookEventId: accepted, not delivered again.
    let again = text_event(&event_id, user, "can you help?", true);
    let reply = post_line(env, &channel.installation, &channel.secret, &again);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        deliveries(env, &event_id, 2, Duration::from_secs(4)).len(),
        1
    );

    let push = "/line/v2/bot/message/push";
    env.providers.respond(
        push,
        Answer::json(200, json!({"sentMessages": [{"id": "461230966842064897"}]})),
    );
    let id = accepted(&send(
        env,
        json!({"reply_to": capability(&envelope), "text": "Sure, **happy** to help", "thread": "reply"}),
    ));
    let view = settled(env, &id, Duration::from_secs(10));
    assert_eq!(view["status"], "sent", "{view}");
    assert_eq!(view["provider_message_ids"], json!(["461230966842064897"]));
    let pushed: Vec<Recorded> = calls(env, push)
        .into_iter()
        .filter(|r| r.header("authorization") == Some(format!("Bearer {}", channel.token).as_str()))
        .collect();
    assert_eq!(pushed.len(), 1);
    assert_eq!(
        pushed[0].json(),
        json!({"to": user, "messages": [{"type": "text", "text": "Sure, happy to help",
                                          "quoteToken": "q3Plxr4AgKd"}]})
    );
    let key = pushed[0].header("x-line-retry-key").unwrap_or_default();
    assert_eq!(key.len(), 36, "a UUID retry key: {key}");
    Ok(())
}

fn forged_line_webhooks_are_refused(env: &Env) -> Result<(), Failed> {
    let channel = line_channel(env);
    let event_id = format!("01FORGED{:018}", unique());
    let event = text_event(&event_id, "U1", "hi", false);
    let forged = post_line(env, &channel.installation, "not-the-secret", &event);
    assert_eq!(forged.status, 401, "{}", forged.body);
    let url = env
        .worker
        .url(&format!("/webhooks/line/{}", channel.installation));
    let unsigned = http::send("POST", &url, &[], event.to_string().as_bytes());
    assert_eq!(unsigned.status, 401, "{}", unsigned.body);
    // The console's "Verify" button: a signed body with no events.
    let verify = json!({"destination": "U0000000000000000000000000000000b", "events": []});
    let reply = post_line(env, &channel.installation, &channel.secret, &verify);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(deliveries(env, &event_id, 1, Duration::from_secs(2)).is_empty());
    Ok(())
}

/// A `qr` session on the seeded LINE account: its deep link opens the account's chat with
/// `install:<token>` typed in, and that message, sent, completes the session.
fn a_line_qr_session_completes_when_its_message_is_sent(env: &Env) -> Result<(), Failed> {
    let reply = env.admin(
        "POST",
        "/v1/binding-sessions",
        "bindings:write",
        Some(
            json!({"provider": "line", "method": "qr", "org_id": env.id("acme"),
            "app_profile_id": env.id("line"), "subject": "line-qr-user",
            "binding": {"agent_id": "agent_line_linked"}}),
        ),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    let session = reply.json();
    let link = session["auth_prompt"]["data"]["deep_link"]
        .as_str()
        .unwrap()
        .to_owned();
    let typed = link
        .strip_prefix("https://line.me/R/oaMessage/%40acmedev/?")
        .unwrap_or_else(|| panic!("a link to the seeded account: {link}"));
    let text: String = form_urlencoded::parse(typed.as_bytes())
        .map(|(key, _)| key.into_owned())
        .collect();
    assert!(text.starts_with("install:"), "{text}");
    assert!(session["auth_prompt"]["data"]["qr_svg"]
        .as_str()
        .unwrap()
        .starts_with("<svg"));

    let event_id = format!("01QR{:022}", unique());
    let user = format!("U{:032x}", 0xc0_0000 + unique());
    let secret = dataset_secret(
        "installations",
        "acme_line",
        "credentials",
        "channel_secret",
    );
    let reply = post_line(
        env,
        env.id("acme_line"),
        &secret,
        &text_event(&event_id, &user, &text, false),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let claimed = deliveries(env, &event_id, 1, Duration::from_secs(15)).remove(0);
    assert_eq!(claimed["kind"], "install_claimed", "{claimed}");
    assert_eq!(claimed["agent_id"], "agent_line_linked");
    let id = session["id"].as_str().unwrap();
    let mut done = Value::Null;
    for _ in 0..20 {
        done = env
            .admin(
                "GET",
                &format!("/v1/binding-sessions/{id}"),
                "bindings:read",
                None,
            )
            .json();
        if done["status"] == "completed" {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["outcome"]["sender_id"], user.as_str());
    assert_eq!(done["outcome"]["installation_id"], env.id("acme_line"));
    Ok(())
}
