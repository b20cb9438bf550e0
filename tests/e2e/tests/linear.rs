//! Linear end to end: signed comment webhooks with their signed `webhookTimestamp`, a retry under
//! a new delivery id delivered once, answers as threaded comments through the GraphQL stand-in,
//! and a workspace bound with its token.

use crate::ingress::{dataset_secret, deliveries, unique};
use crate::messages::{accepted, calls, capability, created, send, settled};
use crate::Env;
use channel_edge::core::ingress::sign;
use channel_edge_e2e::fake::Answer;
use channel_edge_e2e::{http, seed};
use libtest_mimic::Failed;
use serde_json::{json, Value};
use std::time::Duration;

tests![
    a_linear_comment_is_delivered_once_and_answered_in_its_thread,
    stale_unsigned_or_untimed_linear_webhooks_are_refused,
    a_linear_workspace_binds_with_its_token,
];

/// A fresh workspace installed under the seeded Linear app profile, bound openly.
fn workspace(env: &Env) -> (String, String) {
    let n = unique();
    let organization = format!("0rg{n:05}-0000-4000-8000-000000000000");
    let token = format!("lin_oauth_{n}");
    let installation = created(&env.admin(
        "POST",
        "/v1/installations",
        "installations:write",
        Some(
            json!({"app_profile_id": env.id("linear"), "org_id": env.id("acme"),
            "tenant_key": organization, "credentials": {"access_token": token}}),
        ),
    ));
    created(&env.admin(
        "POST",
        "/v1/bindings",
        "bindings:write",
        Some(
            json!({"installation_id": installation, "agent_id": format!("agent_linear_{n}"),
                    "sender_policy": "open"}),
        ),
    ));
    (organization, token)
}

fn comment(organization: &str, comment_id: &str, sent_ms: u64) -> Value {
    json!({"action": "create", "type": "Comment",
        "actor": {"id": "u-ann", "name": "Ann", "type": "user"},
        "data": {"id": comment_id, "body": "Can the agent look at this?", "issueId": "issue-42",
                 "userId": "u-ann", "createdAt": "2026-11-29T10:00:00.000Z",
                 "updatedAt": "2026-11-29T10:00:00.000Z"},
        "url": "https://linear.app/acme/issue/ENG-42#comment-1", "organizationId": organization,
        "webhookId": "wh-1", "webhookTimestamp": sent_ms})
}

fn post_linear(env: &Env, secret: &str, delivery: &str, body: &Value) -> http::Reply {
    let body = body.to_string();
    let url = env
        .worker
        .url(&format!("/webhooks/linear/{}", env.id("linear")));
    let signature = sign::linear(secret, body.as_bytes());
    http::send(
        "POST",
        &url,
        &[
            ("content-type", "application/json"),
            ("linear-delivery", delivery),
            ("linear-event", "Comment"),
            ("linear-signature", &signature),
        ],
        body.as_bytes(),
    )
}

fn webhook_secret() -> String {
    dataset_secret("app_profiles", "linear", "secrets", "webhook_secret")
}

fn a_linear_comment_is_delivered_once_and_answered_in_its_thread(env: &Env) -> Result<(), Failed> {
    let (organization, token) = workspace(env);
    let comment_id = format!("c-{}", unique());
    let body = comment(&organization, &comment_id, seed::now() * 1000);
    let first = format!("delivery-{}", unique());
    for delivery in [first.clone(), format!("delivery-{}", unique())] {
        let reply = post_linear(env, &webhook_secret(), &delivery, &body);
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    let envelopes = deliveries(env, &first, 1, Duration::from_secs(15));
    assert_eq!(envelopes.len(), 1);
    let envelope = &envelopes[0];
    let same = env.runtime.wait_for(2, Duration::from_secs(3), |r| {
        r.url == "/inbound"
            && r.json()["conversation"]["id"] == "issue-42"
            && r.json()["text"] == "Can the agent look at this?"
            && r.json()["installation_id"] == envelope["installation_id"]
    });
    assert_eq!(
        same.len(),
        1,
        "a retry under a new delivery id is delivered once"
    );

    env.providers.respond(
        "/linear/graphql",
        Answer::json(
            200,
            json!({"data": {"commentCreate": {"success": true,
                                 "comment": {"id": "c-answer"}}}}),
        ),
    );
    let id = accepted(&send(
        env,
        json!({"reply_to": capability(envelope), "text": "On it: **now**"}),
    ));
    let view = settled(env, &id, Duration::from_secs(10));
    assert_eq!(view["status"], "sent", "{view}");
    assert_eq!(view["provider_message_ids"], json!(["c-answer"]));
    let sent = calls(env, "/linear/graphql");
    let ours: Vec<Value> = sent
        .iter()
        .filter(|r| r.header("authorization") == Some(format!("Bearer {token}").as_str()))
        .map(|r| r.json())
        .collect();
    assert_eq!(ours.len(), 1);
    let input = &ours[0]["variables"]["input"];
    assert_eq!(input["issueId"], "issue-42");
    assert_eq!(input["parentId"], comment_id.as_str());
    assert_eq!(input["body"], "On it: **now**");
    assert_eq!(input["id"].as_str().map(str::len), Some(36));
    Ok(())
}

fn stale_unsigned_or_untimed_linear_webhooks_are_refused(env: &Env) -> Result<(), Failed> {
    let (organization, _) = workspace(env);
    let secret = webhook_secret();
    let now_ms = seed::now() * 1000;
    let stale = comment(&organization, "c-stale", now_ms - 600_000);
    let reply = post_linear(env, &secret, "d-stale", &stale);
    assert_eq!(
        (reply.status, reply.json()["error"]["code"].as_str()),
        (401, Some("stale_timestamp"))
    );
    let mut untimed = comment(&organization, "c-untimed", now_ms);
    untimed.as_object_mut().unwrap().remove("webhookTimestamp");
    let reply = post_linear(env, &secret, "d-untimed", &untimed);
    assert_eq!(
        (reply.status, reply.json()["error"]["code"].as_str()),
        (401, Some("malformed_timestamp"))
    );
    let forged = post_linear(
        env,
        "not-the-secret",
        "d-forged",
        &comment(&organization, "c", now_ms),
    );
    assert_eq!(
        (forged.status, forged.json()["error"]["code"].as_str()),
        (401, Some("bad_signature"))
    );
    Ok(())
}

fn a_linear_workspace_binds_with_its_token(env: &Env) -> Result<(), Failed> {
    let reply = env.admin(
        "POST",
        "/v1/binding-sessions",
        "bindings:write",
        Some(
            json!({"provider": "linear", "method": "token", "org_id": env.id("acme"),
            "app_profile_id": env.id("linear"), "timeout_seconds": 120,
            "binding": {"agent_id": "agent_linear_bound", "sender_policy": "open"}}),
        ),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    let organization = format!("b0und{:05}-0000-4000-8000-000000000000", unique());
    env.providers.respond(
        "/linear/graphql",
        Answer::json(
            200,
            json!({"data": {"viewer": {"id": "u1", "name": "Ann"},
            "organization": {"id": organization, "name": "Bound Co", "urlKey": "bound"}}}),
        ),
    );
    let id = reply.json()["id"].as_str().unwrap().to_owned();
    let done = env.admin(
        "POST",
        &format!("/v1/binding-sessions/{id}/credentials"),
        "bindings:write",
        Some(json!({"access_token": "lin_api_bound"})),
    );
    let done = done.json();
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(
        done["channel"],
        format!("Bound Co ({organization})").as_str()
    );
    let asked = calls(env, "/linear/graphql");
    assert!(asked
        .iter()
        .any(|r| r.header("authorization") == Some("lin_api_bound")));

    // The token's user ("u1", the viewer) is the agent answering: its comments are not messages.
    let now_ms = seed::now() * 1000;
    let mut own = comment(&organization, &format!("c-own-{}", unique()), now_ms);
    own["actor"]["id"] = json!("u1");
    let own_delivery = format!("d-own-{}", unique());
    assert_eq!(
        post_linear(env, &webhook_secret(), &own_delivery, &own).status,
        200
    );
    let other_delivery = format!("d-other-{}", unique());
    let other = comment(&organization, &format!("c-other-{}", unique()), now_ms);
    assert_eq!(
        post_linear(env, &webhook_secret(), &other_delivery, &other).status,
        200
    );
    assert_eq!(
        deliveries(env, &other_delivery, 1, Duration::from_secs(10)).len(),
        1
    );
    assert!(deliveries(env, &own_delivery, 1, Duration::from_secs(1)).is_empty());
    Ok(())
}
