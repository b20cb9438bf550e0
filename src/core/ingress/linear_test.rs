//! Tests for [`super::Linear`]. The fixture is the comment payload of Linear's SDK tests with the
//! fields real deliveries add (`tests/fixtures/README.md`); signatures are made here with the
//! `hmac` crate, and one is pinned to a value computed independently ([`PINNED_SIGNATURE`]).

use super::*;
use crate::core::ingress::{Kind, Parsed, Rejection, Request};

const SECRET: &str = "lin_wh_5f4a9b3c2d1e0f6a7b8c9d0e1f2a3b4c";
const COMMENT: &[u8] = include_bytes!("../../../tests/fixtures/linear/comment_create.json");
/// The fixture's `webhookTimestamp`, in seconds.
const SENT: u64 = 1_579_784_000;

/// `Linear-Signature` of [`COMMENT`] under [`SECRET`], computed outside this crate:
/// `hmac.new(SECRET, open("comment_create.json", "rb").read(), hashlib.sha256).hexdigest()`.
const PINNED_SIGNATURE: &str = "c264774cfa5f3c873c82cebb6d6138929a2f4df5d51df88b5e2be3714a95cc3f";

fn sign(secret: &str, body: &[u8]) -> String {
    crate::core::ingress::sign::linear(secret, body)
}

fn verify_at(
    signature: Option<&str>,
    body: &[u8],
    secrets: &[&str],
    now: u64,
) -> Result<(), Rejection> {
    let headers: Vec<(String, String)> = signature
        .map(|s| ("linear-signature".to_owned(), s.to_owned()))
        .into_iter()
        .collect();
    let secrets: Vec<String> = secrets.iter().map(|s| (*s).to_owned()).collect();
    Linear::verify(&Request::post(&headers, body), &secrets, now, 300)
}

fn verify(signature: Option<&str>, body: &[u8], secrets: &[&str]) -> Result<(), Rejection> {
    verify_at(signature, body, secrets, SENT + 10)
}

fn parsed(body: &[u8], delivery: Option<&str>) -> Event {
    let headers: Vec<(String, String)> = delivery
        .map(|d| ("Linear-Delivery".to_owned(), d.to_owned()))
        .into_iter()
        .collect();
    match Linear::parse(&Request::post(&headers, body)).unwrap() {
        Parsed::Events { mut events, .. } => events.remove(0),
        other => panic!("expected events, got {other:?}"),
    }
}

#[test]
fn the_pinned_signature_verifies_within_the_window() {
    assert_eq!(sign(SECRET, COMMENT), PINNED_SIGNATURE);
    assert_eq!(verify(Some(PINNED_SIGNATURE), COMMENT, &[SECRET]), Ok(()));
    assert_eq!(
        verify(Some(PINNED_SIGNATURE), COMMENT, &["other", SECRET]),
        Ok(())
    );
}

#[test]
fn a_signature_by_another_secret_or_over_other_bytes_is_refused() {
    let other = sign("another-secret", COMMENT);
    assert_eq!(
        verify(Some(&other), COMMENT, &[SECRET]),
        Err(Rejection::BadSignature)
    );
    let mut changed = COMMENT.to_vec();
    changed[3] ^= 1;
    assert_eq!(
        verify(Some(PINNED_SIGNATURE), &changed, &[SECRET]),
        Err(Rejection::BadSignature)
    );
    assert_eq!(
        verify(Some(PINNED_SIGNATURE), COMMENT, &[]),
        Err(Rejection::NoSecret)
    );
}

#[test]
fn missing_or_malformed_signatures_are_refused() {
    assert_eq!(
        verify(None, COMMENT, &[SECRET]),
        Err(Rejection::MissingHeader { header: SIGNATURE })
    );
    let prefixed = format!("sha256={PINNED_SIGNATURE}");
    for bad in ["", "zz", &PINNED_SIGNATURE[..40], prefixed.as_str()] {
        assert_eq!(
            verify(Some(bad), COMMENT, &[SECRET]),
            Err(Rejection::MalformedSignature { header: SIGNATURE }),
            "{bad:?}"
        );
    }
}

#[test]
fn the_signed_webhook_timestamp_is_in_milliseconds_and_must_be_fresh() {
    let sig = Some(PINNED_SIGNATURE);
    assert_eq!(verify_at(sig, COMMENT, &[SECRET], SENT + 300), Ok(()));
    assert_eq!(verify_at(sig, COMMENT, &[SECRET], SENT - 300), Ok(()));
    assert_eq!(
        verify_at(sig, COMMENT, &[SECRET], SENT + 301),
        Err(Rejection::StaleTimestamp)
    );
    assert_eq!(
        verify_at(sig, COMMENT, &[SECRET], SENT - 301),
        Err(Rejection::FutureTimestamp)
    );
}

#[test]
fn a_body_without_a_webhook_timestamp_is_refused_even_when_signed() {
    let missing = Rejection::MalformedTimestamp {
        header: "webhookTimestamp",
    };
    for body in [
        &br#"{"type":"Comment"}"#[..],
        br#"{"webhookTimestamp":"1579784000000"}"#,
        br#"{"webhookTimestamp":-5}"#,
        b"not json",
    ] {
        assert_eq!(
            verify(Some(&sign(SECRET, body)), body, &[SECRET]),
            Err(missing.clone()),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn a_new_comment_is_a_message_on_its_issue_found_by_the_workspace() {
    let event = parsed(COMMENT, Some("d1f4d3a0-1111-4222-8333-944455556666"));
    assert_eq!(
        event.provider_event_id,
        "d1f4d3a0-1111-4222-8333-944455556666"
    );
    assert_eq!(
        event.semantic_key.as_deref(),
        Some("8e1b4a72-62f1-4b6e-9c43-3c5e0f0d2b11:Comment:create:2174add1-f7c8-44e3-bbf3-2d60b5ea8bc9:2020-01-23T12:53:18.084Z")
    );
    assert_eq!(event.kind, Kind::Message);
    assert_eq!(
        event.occurred_at,
        Some(1_579_783_998),
        "the comment's createdAt"
    );
    assert_eq!(event.tenant_keys, ["8e1b4a72-62f1-4b6e-9c43-3c5e0f0d2b11"]);
    let conversation = event.conversation.unwrap();
    assert_eq!(conversation.id, "539068e2-ae88-4d09-bd75-22eb4a59612f");
    assert_eq!(conversation.thread_id, None);
    assert_eq!(
        event.message_id.as_deref(),
        Some("2174add1-f7c8-44e3-bbf3-2d60b5ea8bc9")
    );
    let sender = event.sender.unwrap();
    assert_eq!(
        (sender.display_name.as_deref(), sender.is_bot),
        (Some("Jane Doe"), false)
    );
    assert!(event.text.unwrap().starts_with("Indeed"));
}

#[test]
fn without_a_delivery_header_the_semantic_key_is_the_event_id() {
    let event = parsed(COMMENT, None);
    assert_eq!(Some(event.provider_event_id), event.semantic_key);
}

#[test]
fn replies_thread_under_their_parent_and_app_comments_are_bots() {
    let mut payload: Value = serde_json::from_slice(COMMENT).unwrap();
    payload["data"]["parentId"] = "7f0e0000-0000-4000-8000-000000000001".into();
    payload["actor"]["type"] = "OauthClient".into();
    let event = parsed(payload.to_string().as_bytes(), Some("d"));
    assert_eq!(
        event.conversation.unwrap().thread_id.as_deref(),
        Some("7f0e0000-0000-4000-8000-000000000001")
    );
    assert!(event.sender.unwrap().is_bot);
    payload["actor"]["type"] = "user".into();
    payload["data"]["botActor"] = serde_json::json!({"name": "Agent"});
    assert!(
        parsed(payload.to_string().as_bytes(), Some("d"))
            .sender
            .unwrap()
            .is_bot
    );
}

#[test]
fn other_entities_are_other_events_in_their_own_conversation() {
    let issue = br#"{"action":"update","type":"Issue","organizationId":"o1",
        "data":{"id":"i1","title":"Crash on save","updatedAt":"2026-01-01T00:00:00Z"}}"#;
    let event = parsed(issue, Some("d"));
    assert_eq!(event.kind, Kind::Other);
    assert_eq!(event.conversation.unwrap().id, "i1");
    assert_eq!(event.text.as_deref(), Some("Crash on save"));
    assert_eq!(event.message_id, None);
    assert_eq!(event.sender, None);
}

#[test]
fn bodies_it_cannot_read_are_parse_errors() {
    for (body, reason) in [
        (&b"{"[..], "body is not JSON"),
        (
            br#"{"type":"Comment","action":"create","data":{"id":"c"}}"#,
            "missing string field organizationId",
        ),
        (
            br#"{"organizationId":"o","action":"create","data":{"id":"c"}}"#,
            "missing string field type",
        ),
        (
            br#"{"organizationId":"o","type":"Comment","data":{"id":"c"}}"#,
            "missing string field action",
        ),
        (
            br#"{"organizationId":"o","type":"Comment","action":"create"}"#,
            "missing string field data.id",
        ),
    ] {
        let error = Linear::parse(&Request::post(&[], body)).unwrap_err();
        assert!(error.reason.starts_with(reason), "{}", error.reason);
    }
}
