//! Google Chat end to end: events with Google-signed tokens (the dev key set, which the stand-in
//! serves as Chat's and Google's key sets) for both audiences an app profile may take, answered
//! through the Chat API with a token minted from the service-account key; ID tokens another
//! service account minted are refused.

use crate::ingress::{deliveries, unique};
use crate::messages::{accepted, calls, capability, created, send, settled};
use crate::Env;
use channel_edge::core::ingress::sample::dev::{JWT_KEY_ID, JWT_SIGNING_KEY_PEM};
use channel_edge::core::ingress::sign::{google_chat_claims, rs256_jwt};
use channel_edge_e2e::fake::Answer;
use channel_edge_e2e::http;
use libtest_mimic::Failed;
use serde_json::{json, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

tests![
    a_google_chat_message_is_acknowledged_delivered_and_answered_in_its_thread,
    with_an_endpoint_url_audience_only_chats_id_tokens_for_that_url_pass,
];

const SERVICE_ACCOUNT: &str = "edge-bot@e2e-project.iam.gserviceaccount.com";

/// A Chat app of its own with app id `audience` (a project number, or `endpoint_url`),
/// installed for a space, bound openly. Returns (profile id, space).
fn app(env: &Env, audience: &str) -> (String, String) {
    let n = unique();
    let key_file = json!({"type": "service_account", "client_email": SERVICE_ACCOUNT,
                          "private_key": JWT_SIGNING_KEY_PEM, "token_uri": "https://attacker.example/token"});
    let profile = created(&env.admin(
        "POST",
        "/v1/app-profiles",
        "profiles:write",
        Some(json!({"provider": "google_chat", "kind": "platform",
            "provider_app_id": audience,
            "name": format!("Chat app {n}"),
            "secrets": {"service_account_key": key_file.to_string()}})),
    ));
    let space = format!("spaces/E2E{n}");
    let installation = created(&env.admin(
        "POST",
        "/v1/installations",
        "installations:write",
        Some(json!({"app_profile_id": profile, "org_id": env.id("acme"), "tenant_key": space})),
    ));
    created(&env.admin(
        "POST",
        "/v1/bindings",
        "bindings:write",
        Some(
            json!({"installation_id": installation, "agent_id": format!("agent_chat_{n}"),
                    "sender_policy": "open"}),
        ),
    ));
    (profile, space)
}

fn endpoint(env: &Env, profile: &str) -> String {
    env.worker.url(&format!("/webhooks/google_chat/{profile}"))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn event(space: &str, message: &str) -> Value {
    json!({
        "type": "MESSAGE", "eventTime": "2026-11-30T10:00:00.000000Z",
        "space": {"name": space, "spaceType": "SPACE"},
        "message": {"name": format!("{space}/messages/{message}"), "text": "@Edge deploy status",
                    "argumentText": " deploy status",
                    "sender": {"name": "users/1001", "displayName": "Izumi", "type": "HUMAN"},
                    "thread": {"name": format!("{space}/threads/T1")}},
        "user": {"name": "users/1001", "displayName": "Izumi", "type": "HUMAN"},
    })
}

fn post(env: &Env, profile: &str, claims: &Value, body: &Value) -> http::Reply {
    let token = format!(
        "Bearer {}",
        rs256_jwt(JWT_SIGNING_KEY_PEM, JWT_KEY_ID, claims).unwrap()
    );
    http::send(
        "POST",
        &endpoint(env, profile),
        &[
            ("content-type", "application/json"),
            ("authorization", &token),
        ],
        body.to_string().as_bytes(),
    )
}

fn a_google_chat_message_is_acknowledged_delivered_and_answered_in_its_thread(
    env: &Env,
) -> Result<(), Failed> {
    let project = format!("{}", 700_000_000_000 + unique());
    let (profile, space) = app(env, &project);
    let message = format!("M{}", unique());
    let body = event(&space, &message);
    let reply = post(env, &profile, &google_chat_claims(&project, now()), &body);
    assert_eq!((reply.status, reply.body.as_str()), (200, "{}"));
    let name = format!("{space}/messages/{message}");
    let delivered = deliveries(env, &name, 1, Duration::from_secs(8));
    let envelope = &delivered[0];
    assert_eq!(envelope["provider"], "google_chat");
    assert_eq!(envelope["text"], "deploy status");
    assert_eq!(
        envelope["conversation"]["thread_id"],
        format!("{space}/threads/T1")
    );
    // Another project's token for the same app profile is refused.
    let reply = post(env, &profile, &google_chat_claims("1", now()), &body);
    assert_eq!(reply.status, 401, "{}", reply.body);

    let token_path = "/google-oauth/token";
    env.providers.default_response(
        token_path,
        Answer::json(
            200,
            json!({"access_token": "ya29.e2e", "expires_in": 3599, "token_type": "Bearer"}),
        ),
    );
    let messages = format!("/chat/v1/{space}/messages");
    env.providers.default_response(
        &messages,
        Answer::json(200, json!({"name": format!("{space}/messages/client-x")})),
    );
    let id = accepted(&send(
        env,
        json!({"reply_to": capability(envelope), "text": "All *green*"}),
    ));
    let view = settled(env, &id, Duration::from_secs(15));
    assert_eq!(view["status"], "sent", "{view}");
    let sent: Vec<_> = env
        .providers
        .requests()
        .into_iter()
        .filter(|r| r.url.starts_with(&format!("{messages}?")))
        .collect();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].url.contains("messageId=client-"), "{}", sent[0].url);
    assert!(sent[0]
        .url
        .contains("messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"));
    assert_eq!(sent[0].header("authorization"), Some("Bearer ya29.e2e"));
    assert_eq!(
        sent[0].json()["thread"]["name"],
        format!("{space}/threads/T1")
    );
    // The assertion was signed by the service account's key, for the configured token URL (not
    // the key file's token_uri), asking for the Chat bot scope.
    let asked = calls(env, token_path);
    let form: Vec<(String, String)> = form_urlencoded::parse(&asked.last().unwrap().body)
        .into_owned()
        .collect();
    let assertion = &form.iter().find(|(k, _)| k == "assertion").unwrap().1;
    let key = jsonwebtoken::DecodingKey::from_rsa_components(&dev_modulus(), "AQAB")?;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[env.providers.url(token_path)]);
    let claims = jsonwebtoken::decode::<Value>(assertion, &key, &validation)?.claims;
    assert_eq!(claims["iss"], SERVICE_ACCOUNT);
    assert_eq!(claims["scope"], "https://www.googleapis.com/auth/chat.bot");
    Ok(())
}

fn dev_modulus() -> String {
    let key_set: Value =
        serde_json::from_str(include_str!("../../../seed/dev-jwt-key-set.json")).unwrap();
    key_set["keys"][0]["n"].as_str().unwrap().to_owned()
}

fn with_an_endpoint_url_audience_only_chats_id_tokens_for_that_url_pass(
    env: &Env,
) -> Result<(), Failed> {
    let (profile, space) = app(env, "endpoint_url");
    let url = endpoint(env, &profile);
    let id_token = |change: &dyn Fn(&mut Value)| {
        let mut claims = json!({"iss": "https://accounts.google.com", "aud": url,
            "email": "chat@system.gserviceaccount.com", "email_verified": true,
            "iat": now(), "exp": now() + 3600, "sub": "1"});
        change(&mut claims);
        claims
    };
    let message = format!("M{}", unique());
    let body = event(&space, &message);
    let refused: Vec<(&str, Value, &str)> = vec![
        (
            "another service account",
            id_token(&|c| c["email"] = json!("evil@x.iam.gserviceaccount.com")),
            "claim_mismatch",
        ),
        (
            "an unverified email",
            id_token(&|c| c["email_verified"] = json!(false)),
            "claim_mismatch",
        ),
        (
            "another URL",
            id_token(&|c| c["aud"] = json!("https://other.example/hook")),
            "wrong_audience",
        ),
        (
            "Chat's own token",
            google_chat_claims(&url, now()),
            "wrong_issuer",
        ),
        (
            "expired",
            id_token(&|c| c["exp"] = json!(now() - 600)),
            "expired_token",
        ),
    ];
    for (case, claims, code) in refused {
        let reply = post(env, &profile, &claims, &body);
        assert_eq!(reply.status, 401, "{case}: {}", reply.body);
        assert_eq!(reply.json()["error"]["code"], code, "{case}");
    }
    let reply = post(env, &profile, &id_token(&|_| {}), &body);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let name = format!("{space}/messages/{message}");
    assert_eq!(deliveries(env, &name, 1, Duration::from_secs(8)).len(), 1);
    Ok(())
}
