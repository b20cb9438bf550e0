//! Install tokens: minted through the admin API, claimed from chat through the real ingress.

use crate::ingress::{
    dataset_secret, deliveries, post_telegram, post_whatsapp, telegram_update, unique,
    whatsapp_text,
};
use crate::Env;
use libtest_mimic::Failed;
use serde_json::{json, Value};
use std::time::Duration;

tests![
    an_install_token_is_minted_with_deep_links,
    a_telegram_start_claims_the_token_and_routes_the_sender,
    a_whatsapp_message_claims_the_token,
    a_claim_the_provider_sends_again_reaches_the_agent_once_as_claimed,
    two_concurrent_claims_give_exactly_one_success,
    garbage_and_expired_tokens_are_rejected_without_reaching_the_agent_as_text,
];

/// The agent the tests install: no seeded binding routes to it.
const AGENT: &str = "agent_installed";

/// Mints a token for `subject` with `extra` request fields; returns the 201 body.
fn mint(env: &Env, subject: &str, extra: Value) -> Value {
    let mut body = json!({"org_id": env.id("acme"), "agent_id": AGENT, "subject": subject});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let reply = env.admin(
        "POST",
        "/v1/install-tokens",
        "install-tokens:mint",
        Some(body),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.json()
}

/// Sends `text` as a Telegram private message from `from`; returns the update id.
fn telegram_says(env: &Env, from: u64, text: &str) -> String {
    let update_id = 700_000 + unique();
    let secret = dataset_secret(
        "installations",
        "acme_telegram",
        "credentials",
        "secret_token",
    );
    let reply = post_telegram(
        &env.worker,
        env.id("acme_telegram"),
        &secret,
        &telegram_update(update_id, from, text),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    update_id.to_string()
}

/// The one envelope delivered for `event_id`.
fn delivered(env: &Env, event_id: &str) -> Value {
    let envelopes = deliveries(env, event_id, 1, Duration::from_secs(15));
    assert_eq!(envelopes.len(), 1, "one envelope for {event_id}");
    envelopes[0].clone()
}

/// A Telegram user id no other test uses.
fn new_telegram_user() -> u64 {
    8_800_000 + unique()
}

fn an_install_token_is_minted_with_deep_links(env: &Env) -> Result<(), Failed> {
    let minted = mint(env, "user-links", json!({"ttl_seconds": 60}));
    let token = minted["token"].as_str().unwrap();
    assert_eq!(token.len(), 55);
    assert_eq!(minted["text"], format!("install:{token}"));
    assert_eq!(
        minted["links"]["whatsapp"],
        format!("https://wa.me/15550001111?text=install:{token}")
    );
    assert_eq!(
        minted["links"]["telegram"],
        format!("https://t.me/acme_dev_bot?start={token}")
    );
    assert_eq!(
        minted["links"]["line"],
        format!("https://line.me/R/oaMessage/%40acmedev/?install%3A{token}")
    );
    let expires_in = minted["expires_at"].as_u64().unwrap() - channel_edge_e2e::seed::now();
    assert!((55..=61).contains(&expires_in), "{expires_in}");
    let telegram_only = mint(env, "user-links", json!({"provider": "telegram"}));
    assert_eq!(telegram_only["links"]["whatsapp"], Value::Null);
    assert_eq!(telegram_only["links"]["line"], Value::Null);

    let too_long = env.admin_invalid(
        "POST",
        "/v1/install-tokens",
        "install-tokens:mint",
        json!({"org_id": env.id("acme"), "agent_id": AGENT, "subject": "u",
                "ttl_seconds": 3601}),
    );
    assert_eq!(too_long.status, 400, "{}", too_long.body);
    let no_org = env.admin(
        "POST",
        "/v1/install-tokens",
        "install-tokens:mint",
        Some(json!({"org_id": "org_nope", "agent_id": AGENT, "subject": "u"})),
    );
    assert_eq!(no_org.status, 404, "{}", no_org.body);
    let wrong_scope = env.admin(
        "POST",
        "/v1/install-tokens",
        "bindings:write",
        Some(json!({"org_id": env.id("acme"), "agent_id": AGENT, "subject": "u"})),
    );
    assert_eq!(wrong_scope.status, 403, "{}", wrong_scope.body);
    Ok(())
}

fn a_telegram_start_claims_the_token_and_routes_the_sender(env: &Env) -> Result<(), Failed> {
    let user = new_telegram_user();
    let before = telegram_says(env, user, "hello?");
    assert!(
        deliveries(env, &before, 1, Duration::from_secs(2)).is_empty(),
        "a stranger is not delivered before the claim"
    );

    let minted = mint(env, "user-77", json!({}));
    let token = minted["token"].as_str().unwrap();
    let claim = telegram_says(env, user, &format!("/start {token}"));
    let claimed = delivered(env, &claim);
    assert_eq!(claimed["kind"], "install_claimed");
    assert_eq!(claimed["agent_id"], AGENT);
    assert_eq!(claimed["install"]["subject"], "user-77");
    assert_eq!(claimed["install"]["grant_id"], minted["id"]);
    assert_eq!(claimed["text"], Value::Null, "the token is not forwarded");
    assert!(!claimed.to_string().contains(token));

    let next = telegram_says(env, user, "hi, agent");
    let message = delivered(env, &next);
    assert_eq!(message["kind"], "message");
    assert_eq!(message["agent_id"], AGENT);
    assert_eq!(message["binding_id"], claimed["binding_id"]);

    let replay = telegram_says(env, user, &format!("/start {token}"));
    let rejected = delivered(env, &replay);
    assert_eq!(rejected["kind"], "install_rejected");
    assert_eq!(rejected["install"]["reason"], "used");
    assert_eq!(rejected["agent_id"], AGENT);
    Ok(())
}

fn a_whatsapp_message_claims_the_token(env: &Env) -> Result<(), Failed> {
    let phone = format!("1555990{:04}", unique());
    let minted = mint(env, "user-wa", json!({"provider": "whatsapp"}));
    let claim_id = format!("wamid.CLAIM{}", unique());
    let text = minted["text"].as_str().unwrap();
    let reply = post_whatsapp(env, &whatsapp_text(&claim_id, &phone, text));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let claimed = delivered(env, &claim_id);
    assert_eq!(claimed["kind"], "install_claimed");
    assert_eq!(claimed["install"]["subject"], "user-wa");
    assert_eq!(claimed["sender"]["id"], phone.as_str());

    let next_id = format!("wamid.NEXT{}", unique());
    let reply = post_whatsapp(env, &whatsapp_text(&next_id, &phone, "what can you do?"));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let message = delivered(env, &next_id);
    assert_eq!(
        (message["kind"].clone(), message["agent_id"].clone()),
        (json!("message"), json!(AGENT))
    );
    Ok(())
}

fn a_claim_the_provider_sends_again_reaches_the_agent_once_as_claimed(
    env: &Env,
) -> Result<(), Failed> {
    // Meta retries a notification it got no 200 for: the same body, the same message id. The
    // ingress decides the claim again (it finds the grant claimed by this very event) and
    // queues it again; the consumer's dedupe delivers one of the two.
    let phone = format!("1555991{:04}", unique());
    let minted = mint(env, "user-retry", json!({"provider": "whatsapp"}));
    let claim_id = format!("wamid.RETRY{}", unique());
    let body = whatsapp_text(&claim_id, &phone, minted["text"].as_str().unwrap());
    for attempt in 1..=2 {
        let reply = post_whatsapp(env, &body);
        assert_eq!(reply.status, 200, "attempt {attempt}: {}", reply.body);
    }
    let arrived = deliveries(env, &claim_id, 2, Duration::from_secs(5));
    assert_eq!(arrived.len(), 1, "one envelope for the claim: {arrived:?}");
    assert_eq!(arrived[0]["kind"], "install_claimed");
    assert_eq!(arrived[0]["install"]["subject"], "user-retry");
    Ok(())
}

fn two_concurrent_claims_give_exactly_one_success(env: &Env) -> Result<(), Failed> {
    let minted = mint(env, "user-race", json!({}));
    let text = format!("install:{}", minted["token"].as_str().unwrap());
    let claims: Vec<String> = std::thread::scope(|scope| {
        let racers: Vec<_> = (0..2)
            .map(|_| {
                let text = &text;
                scope.spawn(move || telegram_says(env, new_telegram_user(), text))
            })
            .collect();
        racers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let mut kinds: Vec<String> = claims
        .iter()
        .map(|id| delivered(env, id)["kind"].as_str().unwrap().to_owned())
        .collect();
    kinds.sort();
    assert_eq!(kinds, ["install_claimed", "install_rejected"]);
    Ok(())
}

fn garbage_and_expired_tokens_are_rejected_without_reaching_the_agent_as_text(
    env: &Env,
) -> Result<(), Failed> {
    // A stranger: not allowed on the seeded Telegram binding, whose agent still hears the
    // rejection so it can tell them.
    let garbage = telegram_says(env, new_telegram_user(), "install:not-a-real-token");
    let rejected = delivered(env, &garbage);
    assert_eq!(rejected["kind"], "install_rejected");
    assert_eq!(rejected["install"]["reason"], "invalid");
    assert_eq!(rejected["install"]["grant_id"], Value::Null);
    assert_eq!(rejected["agent_id"], "agent_support");

    let minted = mint(env, "user-late", json!({"ttl_seconds": 1}));
    std::thread::sleep(Duration::from_millis(2100));
    let late = telegram_says(env, new_telegram_user(), minted["text"].as_str().unwrap());
    let expired = delivered(env, &late);
    assert_eq!(expired["install"]["reason"], "expired");
    assert_eq!(expired["install"]["grant_id"], minted["id"]);
    assert!(!expired
        .to_string()
        .contains(minted["token"].as_str().unwrap()));
    Ok(())
}
