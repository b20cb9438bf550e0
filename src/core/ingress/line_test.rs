//! Tests for [`super::Line`]. LINE publishes no signature vector: signatures are made here with
//! the `hmac` crate over the fixture bytes, and one is pinned to a value computed independently
//! ([`PINNED_SIGNATURE`]). Fixtures: `tests/fixtures/line/`, sources in
//! `tests/fixtures/README.md`.

use super::*;
use crate::core::ingress::{ConversationType, Kind, Parsed, Rejection, Request};
use hmac::Hmac;
use sha2::Sha256;

/// A channel secret of LINE's shape (32 hex digits); made up.
const CHANNEL_SECRET: &str = "5f6b0d7c8e9a1b2c3d4e5f60718293a4";
const NEW_CHANNEL_SECRET: &str = "a4938271605f4e3d2c1b0a9e8c7d0b6f";

const TEXT_GROUP: &[u8] = include_bytes!("../../../tests/fixtures/line/text_group.json");
const VERIFY: &[u8] = include_bytes!("../../../tests/fixtures/line/verify.json");
const FOLLOW_AND_POSTBACK: &[u8] =
    include_bytes!("../../../tests/fixtures/line/follow_and_postback_redelivered.json");

/// `x-line-signature` of [`VERIFY`] under [`CHANNEL_SECRET`], computed outside this crate:
/// `base64.b64encode(hmac.new(b"5f6b0d7c8e9a1b2c3d4e5f60718293a4",
/// b'{"destination":"xxxxxxxxxx","events":[]}', hashlib.sha256).digest())` (Python).
const PINNED_SIGNATURE: &str = "tsnhs23UIjzubwMqORfgGm32tRzOJEVk4HzeCtMubqo=";

fn sign(secret: &str, body: &[u8]) -> String {
    use base64::Engine;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn verify(signature: Option<&str>, body: &[u8], secrets: &[&str]) -> Result<(), Rejection> {
    let headers: Vec<(String, String)> = signature
        .map(|signature| ("X-Line-Signature".to_owned(), signature.to_owned()))
        .into_iter()
        .collect();
    let secrets: Vec<String> = secrets.iter().map(|s| (*s).to_owned()).collect();
    Line::verify(&Request::post(&headers, body), &secrets, 1_700_000_000, 300)
}

fn events(body: &[u8]) -> Vec<Event> {
    match Line::parse(&Request::post(&[], body)).unwrap() {
        Parsed::Events { events, ack } => {
            assert_eq!(ack, super::Ack::Empty);
            events
        }
        other => panic!("expected events, got {other:?}"),
    }
}

#[test]
fn the_pinned_signature_verifies() {
    assert_eq!(sign(CHANNEL_SECRET, VERIFY), PINNED_SIGNATURE);
    assert_eq!(
        verify(Some(PINNED_SIGNATURE), VERIFY, &[CHANNEL_SECRET]),
        Ok(())
    );
}

#[test]
fn every_valid_channel_secret_verifies_during_a_rotation() {
    let old = sign(CHANNEL_SECRET, TEXT_GROUP);
    let new = sign(NEW_CHANNEL_SECRET, TEXT_GROUP);
    let both = [NEW_CHANNEL_SECRET, CHANNEL_SECRET];
    assert_eq!(verify(Some(&old), TEXT_GROUP, &both), Ok(()));
    assert_eq!(verify(Some(&new), TEXT_GROUP, &both), Ok(()));
    assert_eq!(
        verify(Some(&old), TEXT_GROUP, &[NEW_CHANNEL_SECRET]),
        Err(Rejection::BadSignature)
    );
}

#[test]
fn a_changed_body_does_not_verify() {
    let signature = sign(CHANNEL_SECRET, TEXT_GROUP);
    let mut changed = TEXT_GROUP.to_vec();
    changed[20] ^= 1;
    assert_eq!(
        verify(Some(&signature), &changed, &[CHANNEL_SECRET]),
        Err(Rejection::BadSignature)
    );
}

#[test]
fn a_missing_signature_is_refused() {
    assert_eq!(
        verify(None, TEXT_GROUP, &[CHANNEL_SECRET]),
        Err(Rejection::MissingHeader { header: SIGNATURE })
    );
}

#[test]
fn a_signature_that_is_not_base64_of_32_bytes_is_malformed() {
    let hex = "ab".repeat(32);
    let short = sign(CHANNEL_SECRET, TEXT_GROUP)[..20].to_owned();
    for signature in ["", "!!!!", short.as_str(), hex.as_str()] {
        assert_eq!(
            verify(Some(signature), TEXT_GROUP, &[CHANNEL_SECRET]),
            Err(Rejection::MalformedSignature { header: SIGNATURE }),
            "{signature:?}"
        );
    }
}

#[test]
fn without_a_usable_secret_nothing_verifies() {
    let signature = sign("", TEXT_GROUP);
    assert_eq!(
        verify(Some(&signature), TEXT_GROUP, &[]),
        Err(Rejection::NoSecret)
    );
    assert_eq!(
        verify(Some(&signature), TEXT_GROUP, &[""]),
        Err(Rejection::NoSecret)
    );
}

#[test]
fn the_consoles_verify_request_has_no_events() {
    assert!(events(VERIFY).is_empty());
}

#[test]
fn a_group_text_message_is_a_message_in_the_group() {
    let [event] = events(TEXT_GROUP).try_into().unwrap();
    assert_eq!(event.provider_event_id, "01FZ74A0TDDPYRVKNK77XKC3ZR");
    assert_eq!(event.kind, Kind::Message);
    assert_eq!(
        event.text.as_deref(),
        Some("@All @example Good Morning!! (love)")
    );
    assert_eq!(event.message_id.as_deref(), Some("444573844083572737"));
    assert_eq!(event.occurred_at, Some(1_462_629_479));
    assert!(
        event.tenant_keys.is_empty(),
        "the path names the installation"
    );
    let conversation = event.conversation.unwrap();
    assert_eq!(conversation.id, "Ca56f94637c...");
    assert_eq!(conversation.kind, ConversationType::Group);
    assert_eq!(event.sender.unwrap().id, "U4af4980629...");
    assert_eq!(event.reply_context["quote_token"], "q3Plxr4AgKd...");
    assert!(
        event.raw.get("replyToken").is_none(),
        "no reply token in raw"
    );
    assert_eq!(event.raw["message"]["id"], "444573844083572737");
}

#[test]
fn follows_are_membership_and_a_redelivered_postback_keeps_its_event_id() {
    let [follow, postback] = events(FOLLOW_AND_POSTBACK).try_into().unwrap();
    assert_eq!(follow.kind, Kind::Membership);
    assert_eq!(follow.conversation.unwrap().kind, ConversationType::Dm);
    assert!(follow.reply_context.is_empty());
    assert_eq!(postback.kind, Kind::Interaction);
    assert_eq!(postback.text.as_deref(), Some("storeId=12345"));
    // A redelivery is accepted like any event; the dedupe on this id drops the copy.
    assert_eq!(postback.provider_event_id, "01FZ74A0TDDPYRVKNK77XKC3ZR");
    assert_eq!(postback.raw["deliveryContext"]["isRedelivery"], true);
}

#[test]
fn rooms_are_groups_and_unknown_events_are_other() {
    let body = br#"{"events":[{"type":"unsend","webhookEventId":"01X","timestamp":1,
        "source":{"type":"room","roomId":"Ra8dbf4673c","userId":"U1"},
        "unsend":{"messageId":"325708"}}]}"#;
    let [event] = events(body).try_into().unwrap();
    assert_eq!(event.kind, Kind::Other);
    let conversation = event.conversation.unwrap();
    assert_eq!(
        (conversation.id.as_str(), conversation.kind),
        ("Ra8dbf4673c", ConversationType::Group)
    );
}

#[test]
fn bodies_it_cannot_read_are_parse_errors() {
    for (body, reason) in [
        (&b"not json"[..], "body is not JSON"),
        (br#"{"destination":"x"}"#, "missing array field events"),
        (
            br#"{"events":[{"type":"message"}]}"#,
            "missing string field events.webhookEventId",
        ),
        (
            br#"{"events":[{"type":"message","webhookEventId":""}]}"#,
            "missing string field events.webhookEventId",
        ),
    ] {
        let error = Line::parse(&Request::post(&[], body)).unwrap_err();
        assert!(error.reason.starts_with(reason), "{}", error.reason);
    }
}
