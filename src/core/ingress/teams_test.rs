//! Tests for [`super`]: the fixtures are Microsoft's (`tests/fixtures/README.md`); tokens are
//! signed with the dev key set's key, as the Bot Connector signs with its own.

use super::*;
use crate::core::ingress::sample::dev::{JWT_KEY_ID, JWT_SIGNING_KEY_PEM};
use crate::core::ingress::sign::{rs256_jwt, teams_claims};
use crate::core::jwt::{dev_key_set, verify_natively};
use serde_json::json;

const MENTION: &[u8] = include_bytes!("../../../tests/fixtures/teams/channel_mention.json");
const INVOKE: &[u8] = include_bytes!("../../../tests/fixtures/teams/invoke.json");
/// The fixture's bot.
const APP: &str = "0b6fe6d1-fece-44f7-9a48-56465e2d5ab8";
const NOW: u64 = 1_759_944_790;

fn token(claims: &Value) -> String {
    format!(
        "Bearer {}",
        rs256_jwt(JWT_SIGNING_KEY_PEM, JWT_KEY_ID, claims).unwrap()
    )
}

fn verify_with(authorization: &str, body: &[u8], app: &str) -> Result<(), Rejection> {
    let headers = vec![("Authorization".to_owned(), authorization.to_owned())];
    let check = verify(&Request::post(&headers, body), app, NOW)?;
    verify_natively(&check, &dev_key_set())
}

fn claims_with(change: impl FnOnce(&mut Value)) -> Value {
    let mut claims = teams_claims(NOW, MENTION);
    change(&mut claims);
    claims
}

fn parsed(body: &[u8]) -> Event {
    match parse(&Request::post(&[], body)).unwrap() {
        Parsed::Events { mut events, ack } => {
            assert_eq!(ack, Ack::Empty);
            events.remove(0)
        }
        other => panic!("expected events, got {other:?}"),
    }
}

#[test]
fn the_bot_connectors_token_for_this_app_verifies() {
    let claims = teams_claims(NOW, MENTION);
    assert_eq!(claims["aud"], APP);
    assert_eq!(verify_with(&token(&claims), MENTION, APP), Ok(()));
}

#[test]
fn another_apps_or_issuers_token_is_refused() {
    let claims = teams_claims(NOW, MENTION);
    assert_eq!(
        verify_with(&token(&claims), MENTION, "another-app"),
        Err(Rejection::WrongAudience)
    );
    for issuer in [
        "https://sts.windows.net/x/",
        "https://api.botframework.com/",
        "",
    ] {
        let claims = claims_with(|c| c["iss"] = issuer.into());
        assert_eq!(
            verify_with(&token(&claims), MENTION, APP),
            Err(Rejection::WrongIssuer),
            "{issuer}"
        );
    }
}

#[test]
fn an_expired_token_is_refused_after_five_minutes_of_skew() {
    let claims = claims_with(|c| c["exp"] = (NOW - 301).into());
    assert_eq!(
        verify_with(&token(&claims), MENTION, APP),
        Err(Rejection::ExpiredToken)
    );
    let claims = claims_with(|c| c["exp"] = (NOW - 299).into());
    assert_eq!(verify_with(&token(&claims), MENTION, APP), Ok(()));
}

#[test]
fn the_serviceurl_claim_must_be_the_activitys() {
    let claims = claims_with(|c| c["serviceurl"] = "https://attacker.example/".into());
    assert_eq!(
        verify_with(&token(&claims), MENTION, APP),
        Err(Rejection::ClaimMismatch {
            claim: "serviceurl"
        })
    );
    let claims = claims_with(|c| {
        c.as_object_mut().unwrap().remove("serviceurl");
    });
    assert!(verify_with(&token(&claims), MENTION, APP).is_err());
    // A body naming another serviceUrl under a genuine token.
    let mut body: Value = serde_json::from_slice(MENTION).unwrap();
    body["serviceUrl"] = "https://attacker.example/".into();
    let claims = teams_claims(NOW, MENTION);
    assert_eq!(
        verify_with(&token(&claims), body.to_string().as_bytes(), APP),
        Err(Rejection::ClaimMismatch {
            claim: "serviceurl"
        })
    );
}

#[test]
fn only_teams_activities_by_a_key_endorsed_for_teams_pass() {
    let mut body: Value = serde_json::from_slice(MENTION).unwrap();
    body["channelId"] = "webchat".into();
    let claims = teams_claims(NOW, MENTION);
    assert_eq!(
        verify_with(&token(&claims), body.to_string().as_bytes(), APP),
        Err(Rejection::ClaimMismatch {
            claim: "endorsements"
        })
    );
    let headers = vec![("Authorization".to_owned(), token(&claims))];
    let check = verify(&Request::post(&headers, MENTION), APP, NOW).unwrap();
    let mut keys = dev_key_set();
    keys[0].endorsements = vec!["skype".into()];
    assert_eq!(verify_natively(&check, &keys), Err(Rejection::UnknownKey));
}

#[test]
fn a_token_signed_by_another_key_or_unsigned_is_refused() {
    let claims = teams_claims(NOW, MENTION);
    let good = token(&claims);
    let (input, _) = good.rsplit_once('.').unwrap();
    let forged = format!("{input}.{}", "A".repeat(342));
    assert_eq!(
        verify_with(&forged, MENTION, APP),
        Err(Rejection::BadSignature)
    );
    assert_eq!(
        verify_with("", MENTION, APP),
        Err(Rejection::MalformedToken)
    );
    let headers: Vec<(String, String)> = Vec::new();
    assert_eq!(
        verify(&Request::post(&headers, MENTION), APP, NOW),
        Err(Rejection::MissingHeader {
            header: "Authorization"
        })
    );
}

#[test]
fn a_channel_mention_is_a_message_in_its_thread_found_by_tenant() {
    let event = parsed(MENTION);
    assert_eq!(event.provider_event_id, "1759944781430");
    assert_eq!(event.kind, Kind::Message);
    assert_eq!(event.app_id.as_deref(), Some(APP));
    assert_eq!(event.tenant_keys, ["50612dbb-0237-4969-b378-8d42590f9c00"]);
    assert_eq!(event.text.as_deref(), Some("reply to thread"));
    let conversation = event.conversation.unwrap();
    assert_eq!(
        conversation.id,
        "19:6848757105754c8981c67612732d9aa7@thread.tacv2"
    );
    assert_eq!(conversation.thread_id.as_deref(), Some("1759881511856"));
    assert_eq!(conversation.kind, ConversationType::Channel);
    let sender = event.sender.unwrap();
    assert_eq!(sender.display_name.as_deref(), Some("rido"));
    assert!(!sender.is_bot);
    assert_eq!(event.message_id.as_deref(), Some("1759944781430"));
    assert_eq!(
        event.reply_context[SERVICE_URL],
        "https://smba.trafficmanager.net/amer/50612dbb-0237-4969-b378-8d42590f9c00/"
    );
    assert_eq!(event.occurred_at, Some(1_759_944_781));
}

#[test]
fn an_invoke_is_another_event_in_a_personal_chat() {
    let event = parsed(INVOKE);
    assert_eq!(event.kind, Kind::Other);
    assert_eq!(event.message_id, None);
    assert_eq!(event.conversation.unwrap().kind, ConversationType::Dm);
    assert_eq!(event.tenant_keys, ["56653e9d-2158-46ee-90d7-675c39642038"]);
}

#[test]
fn bots_are_bots_and_the_tenant_falls_back_to_channel_data() {
    let mut body: Value = serde_json::from_slice(MENTION).unwrap();
    body["from"]["id"] = "28:another-bot".into();
    body["conversation"]
        .as_object_mut()
        .unwrap()
        .remove("tenantId");
    body["conversation"]["conversationType"] = "groupChat".into();
    let event = parsed(body.to_string().as_bytes());
    assert!(event.sender.unwrap().is_bot);
    assert_eq!(event.tenant_keys, ["50612dbb-0237-4969-b378-8d42590f9c00"]);
    assert_eq!(event.conversation.unwrap().kind, ConversationType::Group);
}

#[test]
fn bodies_it_cannot_read_are_parse_errors() {
    assert!(parse(&Request::post(&[], b"nope")).is_err());
    for field in ["id", "type", "recipient", "serviceUrl"] {
        let mut body: Value = serde_json::from_slice(MENTION).unwrap();
        body.as_object_mut().unwrap().remove(field);
        assert!(
            parse(&Request::post(&[], body.to_string().as_bytes())).is_err(),
            "{field}"
        );
    }
    let mut body: Value = serde_json::from_slice(MENTION).unwrap();
    body["conversation"]
        .as_object_mut()
        .unwrap()
        .remove("tenantId");
    body.as_object_mut().unwrap().remove("channelData");
    assert!(parse(&Request::post(&[], body.to_string().as_bytes())).is_err());
    let _ = json!(null);
}
