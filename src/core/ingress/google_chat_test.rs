//! Tests for [`super`]: the fixture is Google's documented `MESSAGE` event
//! (`tests/fixtures/README.md`); tokens are signed with the dev key set's key.

use super::*;
use crate::core::ingress::sample::dev::{JWT_KEY_ID, JWT_SIGNING_KEY_PEM};
use crate::core::ingress::sign::{google_chat_claims, rs256_jwt};
use crate::core::jwt::{dev_key_set, verify_natively};
use serde_json::json;

const MESSAGE: &[u8] = include_bytes!("../../../tests/fixtures/google_chat/message.json");
const PROJECT: &str = "123456789012";
const ENDPOINT: &str = "https://edge.example/webhooks/google_chat/app_1";
const NOW: u64 = 1_800_000_000;

fn token(claims: &Value) -> String {
    format!(
        "Bearer {}",
        rs256_jwt(JWT_SIGNING_KEY_PEM, JWT_KEY_ID, claims).unwrap()
    )
}

fn checked(claims: &Value, audience: &str) -> Result<crate::core::jwt::Check, Rejection> {
    let headers = vec![("Authorization".to_owned(), token(claims))];
    let request = Request {
        url: ENDPOINT,
        ..Request::post(&headers, MESSAGE)
    };
    verify(&request, audience, NOW)
}

fn id_token(change: impl FnOnce(&mut Value)) -> Value {
    let mut claims = json!({
        "iss": "https://accounts.google.com", "aud": ENDPOINT,
        "email": CHAT_ISSUER, "email_verified": true,
        "iat": NOW, "exp": NOW + 3600, "sub": "113000000000000000000",
    });
    change(&mut claims);
    claims
}

fn parsed(body: &[u8]) -> Event {
    match parse(&Request::post(&[], body)).unwrap() {
        Parsed::Events { mut events, ack } => {
            assert_eq!(ack, Ack::Json("{}".into()));
            events.remove(0)
        }
        other => panic!("expected events, got {other:?}"),
    }
}

#[test]
fn with_a_project_number_chats_own_token_verifies_with_chats_keys() {
    let check = checked(&google_chat_claims(PROJECT, NOW), PROJECT).unwrap();
    assert_eq!(check.key_set, KeySet::GoogleChat);
    assert_eq!(verify_natively(&check, &dev_key_set()), Ok(()));
    assert_eq!(
        checked(&google_chat_claims("999", NOW), PROJECT),
        Err(Rejection::WrongAudience)
    );
    // A Google ID token is not Chat's own token.
    assert_eq!(
        checked(&id_token(|c| c["aud"] = PROJECT.into()), PROJECT),
        Err(Rejection::WrongIssuer)
    );
}

#[test]
fn with_an_endpoint_url_a_google_id_token_for_chat_verifies_with_googles_keys() {
    let check = checked(&id_token(|_| {}), ENDPOINT).unwrap();
    assert_eq!(check.key_set, KeySet::Google);
    assert_eq!(verify_natively(&check, &dev_key_set()), Ok(()));
    let other_url = id_token(|c| c["aud"] = format!("{ENDPOINT}/").into());
    assert_eq!(checked(&other_url, ENDPOINT), Err(Rejection::WrongAudience));
    let bare_issuer = id_token(|c| c["iss"] = "accounts.google.com".into());
    assert!(checked(&bare_issuer, ENDPOINT).is_ok());
    // `endpoint_url`: the URL the request came to.
    assert!(checked(&id_token(|_| {}), ENDPOINT_URL).is_ok());
    let elsewhere =
        id_token(|c| c["aud"] = "https://edge.example/webhooks/google_chat/app_2".into());
    assert_eq!(
        checked(&elsewhere, ENDPOINT_URL),
        Err(Rejection::WrongAudience)
    );
}

#[test]
fn an_id_token_any_service_account_minted_is_refused() {
    let email = Rejection::ClaimMismatch { claim: "email" };
    let others = id_token(|c| c["email"] = "attacker@project.iam.gserviceaccount.com".into());
    assert_eq!(checked(&others, ENDPOINT), Err(email.clone()));
    let unverified = id_token(|c| c["email_verified"] = false.into());
    assert_eq!(checked(&unverified, ENDPOINT), Err(email.clone()));
    let as_text = id_token(|c| c["email_verified"] = "true".into());
    assert_eq!(checked(&as_text, ENDPOINT), Err(email));
    let chat_issued = google_chat_claims(ENDPOINT, NOW);
    assert_eq!(checked(&chat_issued, ENDPOINT), Err(Rejection::WrongIssuer));
}

#[test]
fn expired_tokens_are_refused() {
    let expired = id_token(|c| c["exp"] = (NOW - 301).into());
    assert_eq!(checked(&expired, ENDPOINT), Err(Rejection::ExpiredToken));
    let mut claims = google_chat_claims(PROJECT, NOW);
    claims["exp"] = (NOW - 301).into();
    assert_eq!(checked(&claims, PROJECT), Err(Rejection::ExpiredToken));
}

#[test]
fn a_message_is_in_its_space_and_thread_with_its_argument_text() {
    let event = parsed(MESSAGE);
    assert_eq!(
        event.provider_event_id,
        "spaces/AAAAAAAAAAA/messages/CCCCCCCCCCC"
    );
    assert_eq!(event.kind, Kind::Message);
    assert_eq!(event.tenant_keys, ["spaces/AAAAAAAAAAA"]);
    assert_eq!(event.text.as_deref(), Some("Hello"));
    let conversation = event.conversation.unwrap();
    assert_eq!(conversation.id, "spaces/AAAAAAAAAAA");
    assert_eq!(conversation.kind, ConversationType::Channel);
    assert_eq!(
        conversation.thread_id.as_deref(),
        Some("spaces/AAAAAAAAAAA/threads/BBBBBBBBBBB")
    );
    let sender = event.sender.unwrap();
    assert_eq!(sender.id, "users/12345678901234567890");
    assert!(!sender.is_bot);
    assert_eq!(event.occurred_at, Some(1_488_481_379));
}

#[test]
fn other_events_dms_bots_and_domains() {
    let mut body: Value = serde_json::from_slice(MESSAGE).unwrap();
    body["type"] = "ADDED_TO_SPACE".into();
    body.as_object_mut().unwrap().remove("message");
    body["space"] = json!({"name": "spaces/DM1", "type": "DM"});
    body["user"]["domainId"] = "d0main".into();
    let event = parsed(body.to_string().as_bytes());
    assert_eq!(event.kind, Kind::Other);
    assert_eq!(
        event.provider_event_id,
        "ADDED_TO_SPACE:spaces/DM1:2017-03-02T19:02:59.910959Z"
    );
    assert_eq!(event.tenant_keys, ["spaces/DM1", "domain:d0main"]);
    assert_eq!(event.conversation.unwrap().kind, ConversationType::Dm);
    assert_eq!(event.sender.unwrap().id, "users/12345678901234567890");
    let mut bot: Value = serde_json::from_slice(MESSAGE).unwrap();
    bot["message"]["sender"]["type"] = "BOT".into();
    assert!(parsed(bot.to_string().as_bytes()).sender.unwrap().is_bot);
}

#[test]
fn add_on_events_and_unreadable_bodies_are_parse_errors() {
    let add_on = json!({"commonEventObject": {}, "chat": {"messagePayload": {}}});
    let error = parse(&Request::post(&[], add_on.to_string().as_bytes())).unwrap_err();
    assert!(error.reason.contains("add-on"), "{}", error.reason);
    assert!(parse(&Request::post(&[], b"{")).is_err());
    let no_space = json!({"type": "MESSAGE"});
    assert!(parse(&Request::post(&[], no_space.to_string().as_bytes())).is_err());
}
