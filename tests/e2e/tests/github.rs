//! GitHub end to end: ping, signed issue comments (a redelivery dropped, two hooks kept apart),
//! forged and SHA-1 signatures refused, answers as issue comments through the REST stand-in.

use crate::ingress::{dataset_secret, deliveries, unique};
use crate::messages::{accepted, calls, capability, created, send, settled};
use crate::Env;
use channel_edge::core::ingress::sign;
use channel_edge_e2e::fake::Answer;
use channel_edge_e2e::http;
use libtest_mimic::Failed;
use serde_json::{json, Value};
use std::time::Duration;

tests![
    a_github_comment_is_delivered_once_and_answered_on_the_issue,
    github_pings_answer_and_forged_or_sha1_deliveries_are_refused,
    a_github_app_answers_with_installation_tokens_it_mints,
];

/// A fresh App installation under the seeded GitHub app profile, bound openly.
fn installation(env: &Env) -> (u64, String) {
    let n = unique();
    let id = 52_000_000 + n;
    let token = format!("ghs_e2e{n}");
    let installation = created(&env.admin(
        "POST",
        "/v1/installations",
        "installations:write",
        Some(
            json!({"app_profile_id": env.id("github"), "org_id": env.id("acme"),
            "tenant_key": id.to_string(), "credentials": {"access_token": token}}),
        ),
    ));
    created(&env.admin(
        "POST",
        "/v1/bindings",
        "bindings:write",
        Some(
            json!({"installation_id": installation, "agent_id": format!("agent_github_{n}"),
                    "sender_policy": "open"}),
        ),
    ));
    (id, token)
}

fn comment(installation: u64, comment_id: u64) -> Value {
    let user = json!({"login": "Codertocat", "id": 21031067, "type": "User"});
    json!({"action": "created",
        "issue": {"number": 7, "title": "Crash", "user": user},
        "comment": {"id": comment_id, "body": "@agent please look", "user": user,
                    "created_at": "2026-11-29T10:00:00Z"},
        "repository": {"id": 186853002, "full_name": "acme/widgets"},
        "sender": user, "installation": {"id": installation}})
}

fn post_github(
    env: &Env,
    event: &str,
    hook: &str,
    delivery: &str,
    signature: &str,
    body: &str,
) -> http::Reply {
    let url = env
        .worker
        .url(&format!("/webhooks/github/{}", env.id("github")));
    http::send(
        "POST",
        &url,
        &[
            ("content-type", "application/json"),
            ("x-github-event", event),
            ("x-github-hook-id", hook),
            ("x-github-delivery", delivery),
            ("x-hub-signature-256", signature),
            ("user-agent", "GitHub-Hookshot/e2e"),
        ],
        body.as_bytes(),
    )
}

fn secret() -> String {
    dataset_secret("app_profiles", "github", "secrets", "webhook_secret")
}

fn a_github_comment_is_delivered_once_and_answered_on_the_issue(env: &Env) -> Result<(), Failed> {
    let (installation, token) = installation(env);
    let comment_id = 1_700_000_000 + unique();
    let body = comment(installation, comment_id).to_string();
    let signature = sign::whatsapp(&secret(), body.as_bytes());
    let delivery = format!("72d3162e-cc78-11e3-81ab-{:012}", unique());
    // The delivery, GitHub's redelivery of it (same id), and the same delivery to another hook.
    for hook in ["4001", "4001", "4002"] {
        let reply = post_github(env, "issue_comment", hook, &delivery, &signature, &body);
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    let first = deliveries(env, &format!("4001:{delivery}"), 2, Duration::from_secs(6));
    assert_eq!(first.len(), 1, "the redelivery is dropped");
    let other = deliveries(env, &format!("4002:{delivery}"), 1, Duration::from_secs(6));
    assert_eq!(other.len(), 1, "another hook's copy is its own event");
    let envelope = &first[0];
    assert_eq!(envelope["conversation"]["id"], "acme/widgets#7");
    assert_eq!(envelope["text"], "@agent please look");

    let path = "/github/repos/acme/widgets/issues/7/comments";
    env.providers.respond(
        path,
        Answer::json(201, json!({"id": 99_000_001, "body": "x"})),
    );
    let id = accepted(&send(
        env,
        json!({"reply_to": capability(envelope), "text": "Looking: `crash`"}),
    ));
    let view = settled(env, &id, Duration::from_secs(10));
    assert_eq!(view["status"], "sent", "{view}");
    assert_eq!(view["provider_message_ids"], json!(["99000001"]));
    let sent = calls(env, path);
    assert_eq!(
        sent[0].header("authorization"),
        Some(format!("Bearer {token}").as_str())
    );
    assert_eq!(sent[0].header("x-github-api-version"), Some("2022-11-28"));
    assert!(sent[0].header("user-agent").is_some());
    assert_eq!(sent[0].json(), json!({"body": "Looking: `crash`"}));
    Ok(())
}

fn github_pings_answer_and_forged_or_sha1_deliveries_are_refused(env: &Env) -> Result<(), Failed> {
    let ping = json!({"zen": "Keep it logically awesome.", "hook_id": 4003,
                      "hook": {"type": "App", "id": 4003, "events": ["*"]}})
    .to_string();
    let signature = sign::whatsapp(&secret(), ping.as_bytes());
    let reply = post_github(env, "ping", "4003", "ping-1", &signature, &ping);
    assert_eq!((reply.status, reply.body.as_str()), (200, ""));

    let body = comment(52_000_000, 1).to_string();
    let forged = sign::whatsapp("not-the-secret", body.as_bytes());
    let reply = post_github(env, "issue_comment", "4003", "forged-1", &forged, &body);
    assert_eq!(reply.status, 401, "{}", reply.body);
    let sha1 = sign::whatsapp(&secret(), body.as_bytes()).replace("sha256=", "sha1=");
    let reply = post_github(env, "issue_comment", "4003", "sha1-1", &sha1, &body);
    assert_eq!(reply.status, 401, "{}", reply.body);
    Ok(())
}

/// The test-only App key (`tests/fixtures/github/`), as GitHub hands keys out (PKCS#1 PEM).
const APP_KEY: &str = include_str!("../../fixtures/github/test_app_private_key.pem");
const APP_PUBLIC_KEY: &str = include_str!("../../fixtures/github/test_app_public_key.pem");

fn a_github_app_answers_with_installation_tokens_it_mints(env: &Env) -> Result<(), Failed> {
    let n = unique();
    let app_id = format!("{}", 990_000 + n);
    let secret = format!("app-webhook-secret-{n}");
    let profile = created(&env.admin(
        "POST",
        "/v1/app-profiles",
        "profiles:write",
        Some(
            json!({"provider": "github", "kind": "platform", "provider_app_id": app_id,
            "name": format!("GitHub App {n}"),
            "secrets": {"webhook_secret": secret, "private_key": APP_KEY}}),
        ),
    ));
    let installation_id = 53_000_000 + n;
    let installation = created(&env.admin(
        "POST",
        "/v1/installations",
        "installations:write",
        Some(json!({"app_profile_id": profile, "org_id": env.id("acme"),
            "tenant_key": installation_id.to_string()})),
    ));
    created(&env.admin(
        "POST",
        "/v1/bindings",
        "bindings:write",
        Some(
            json!({"installation_id": installation, "agent_id": format!("agent_app_{n}"),
                    "sender_policy": "open"}),
        ),
    ));
    let token_path = format!("/github/app/installations/{installation_id}/access_tokens");
    env.providers.respond(
        &token_path,
        Answer::json(
            201,
            json!({"token": format!("ghs_minted{n}"), "expires_at": "2099-01-01T00:00:00Z"}),
        ),
    );
    let comments = "/github/repos/acme/app-widgets/issues/7/comments";
    env.providers
        .default_response(comments, Answer::json(201, json!({"id": 99_100_000})));

    let mut body = comment(installation_id, 1_800_000_000 + n);
    body["repository"]["full_name"] = json!("acme/app-widgets");
    let body = body.to_string();
    let signature = sign::whatsapp(&secret, body.as_bytes());
    let delivery = format!("app-delivery-{n}");
    let url = env.worker.url(&format!("/webhooks/github/{profile}"));
    let reply = http::send(
        "POST",
        &url,
        &[
            ("content-type", "application/json"),
            ("x-github-event", "issue_comment"),
            ("x-github-hook-id", "5001"),
            ("x-github-delivery", &delivery),
            ("x-hub-signature-256", &signature),
        ],
        body.as_bytes(),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let envelope =
        deliveries(env, &format!("5001:{delivery}"), 1, Duration::from_secs(15)).remove(0);
    for text in ["first answer", "second answer"] {
        let id = accepted(&send(
            env,
            json!({"reply_to": capability(&envelope), "text": text}),
        ));
        let view = settled(env, &id, Duration::from_secs(10));
        assert_eq!(view["status"], "sent", "{view}");
    }
    let asked = calls(env, &token_path);
    assert_eq!(asked.len(), 1, "the token is kept for the second answer");
    let jwt = asked[0]
        .header("authorization")
        .and_then(|value| value.strip_prefix("Bearer "))
        .expect("the App's JWT");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_issuer(&[app_id.as_str()]);
    let key = jsonwebtoken::DecodingKey::from_rsa_pem(APP_PUBLIC_KEY.as_bytes()).unwrap();
    let claims = jsonwebtoken::decode::<Value>(jwt, &key, &validation)
        .expect("an RS256 JWT by the App's key, issued by the App")
        .claims;
    let lifetime = claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap();
    assert!(
        lifetime <= 600,
        "GitHub accepts at most ten minutes: {claims}"
    );
    let minted = format!("Bearer ghs_minted{n}");
    let answered: Vec<_> = calls(env, comments)
        .into_iter()
        .filter(|r| r.header("authorization") == Some(minted.as_str()))
        .collect();
    assert_eq!(answered.len(), 2, "both answers use the minted token");
    Ok(())
}
