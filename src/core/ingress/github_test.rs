//! Tests for [`super::parse`] with GitHub's payloads (`tests/fixtures/github/`, sources in
//! `tests/fixtures/README.md`) and for GitHub's use of Meta's signature scheme.

use super::*;
use crate::core::ingress::{Rejection, Request};

const COMMENT: &[u8] = include_bytes!("../../../tests/fixtures/github/issue_comment_created.json");
const PING: &[u8] = include_bytes!("../../../tests/fixtures/github/ping.json");

/// GitHub's documented test vector ("Validating webhook deliveries", "Testing the webhook
/// payload validation"): secret `It's a Secret to Everybody`, payload `Hello, World!`.
const DOC_SECRET: &str = "It's a Secret to Everybody";
const DOC_SIGNATURE: &str =
    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

fn headers(event: &str, hook: Option<&str>, delivery: Option<&str>) -> Vec<(String, String)> {
    let mut headers = vec![(EVENT.to_owned(), event.to_owned())];
    headers.extend(hook.map(|h| (HOOK.to_owned(), h.to_owned())));
    headers.extend(delivery.map(|d| (DELIVERY.to_owned(), d.to_owned())));
    headers
}

fn event(body: &[u8], event_name: &str) -> Event {
    let headers = headers(
        event_name,
        Some("109948940"),
        Some("72d3162e-cc78-11e3-81ab-4c9367dc0958"),
    );
    match parse(&Request::post(&headers, body)).unwrap() {
        Parsed::Events { mut events, ack } => {
            assert_eq!(ack, Ack::Empty);
            events.remove(0)
        }
        other => panic!("expected events, got {other:?}"),
    }
}

#[test]
fn githubs_documented_vector_verifies_and_sha1_does_not() {
    let signed = |value: &str| vec![("X-Hub-Signature-256".to_owned(), value.to_owned())];
    let secrets = vec![DOC_SECRET.to_owned()];
    let ok = signed(DOC_SIGNATURE);
    assert_eq!(
        SPEC.verify
            .natively(&Request::post(&ok, b"Hello, World!"), &secrets, 0, 0),
        Ok(())
    );
    let sha1 = signed("sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59");
    assert_eq!(
        SPEC.verify
            .natively(&Request::post(&sha1, b"Hello, World!"), &secrets, 0, 0),
        Err(Rejection::MalformedSignature {
            header: "X-Hub-Signature-256"
        })
    );
    assert_eq!(
        SPEC.verify
            .natively(&Request::post(&ok, b"Hello, World?"), &secrets, 0, 0),
        Err(Rejection::BadSignature)
    );
}

#[test]
fn a_ping_is_answered_at_once() {
    let headers = headers("ping", Some("109948940"), Some("d"));
    match parse(&Request::post(&headers, PING)).unwrap() {
        Parsed::Handshake(reply) => assert_eq!((reply.status, reply.body.as_str()), (200, "")),
        other => panic!("expected a handshake, got {other:?}"),
    }
}

#[test]
fn a_new_issue_comment_is_a_message_in_the_issue() {
    let event = event(COMMENT, "issue_comment");
    assert_eq!(
        event.provider_event_id,
        "109948940:72d3162e-cc78-11e3-81ab-4c9367dc0958"
    );
    assert_eq!(event.kind, Kind::Message);
    assert_eq!(event.tenant_keys, ["1"], "the App installation");
    assert_eq!(event.team_id.as_deref(), Some("Codertocat/Hello-World"));
    assert_eq!(event.conversation.unwrap().id, "Codertocat/Hello-World#1");
    assert_eq!(event.message_id.as_deref(), Some("492700400"));
    assert_eq!(
        event.occurred_at,
        Some(1_557_933_621),
        "the comment's created_at"
    );
    assert!(event.text.unwrap().starts_with("You are totally right!"));
    let sender = event.sender.unwrap();
    assert_eq!(
        (
            sender.id.as_str(),
            sender.display_name.as_deref(),
            sender.is_bot
        ),
        ("21031067", Some("Codertocat"), false)
    );
}

#[test]
fn the_same_delivery_to_two_hooks_is_two_events() {
    let one = headers("issue_comment", Some("1"), Some("d"));
    let two = headers("issue_comment", Some("2"), Some("d"));
    let id = |headers: &[(String, String)]| match parse(&Request::post(headers, COMMENT)).unwrap() {
        Parsed::Events { events, .. } => events[0].provider_event_id.clone(),
        other => panic!("{other:?}"),
    };
    assert_ne!(id(&one), id(&two));
}

#[test]
fn bots_new_issues_and_other_events() {
    let mut payload: Value = serde_json::from_slice(COMMENT).unwrap();
    payload["comment"]["user"]["type"] = "Bot".into();
    assert!(
        event(payload.to_string().as_bytes(), "issue_comment")
            .sender
            .unwrap()
            .is_bot
    );

    payload["action"] = "opened".into();
    let opened = event(payload.to_string().as_bytes(), "issues");
    assert_eq!(opened.kind, Kind::Message);
    assert_eq!(
        opened.text.as_deref(),
        Some("Spelling error in the README file\n\nIt looks like you accidently spelled 'commit' with two 't's.")
    );
    assert_eq!(opened.message_id, None);

    payload["action"] = "deleted".into();
    let deleted = event(payload.to_string().as_bytes(), "issue_comment");
    assert_eq!((deleted.kind, deleted.text), (Kind::Other, None));
}

#[test]
fn repository_webhooks_are_found_by_the_repository_and_forms_are_read() {
    let mut payload: Value = serde_json::from_slice(COMMENT).unwrap();
    payload.as_object_mut().unwrap().remove("installation");
    let form: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", &payload.to_string())
        .finish();
    let event = event(form.as_bytes(), "issue_comment");
    assert_eq!(event.tenant_keys, ["186853002"]);
    assert_eq!(event.kind, Kind::Message);
}

#[test]
fn requests_it_cannot_read_are_parse_errors() {
    let error = |headers: Vec<(String, String)>, body: &[u8]| {
        parse(&Request::post(&headers, body)).unwrap_err().reason
    };
    assert_eq!(error(vec![], COMMENT), "missing header X-GitHub-Event");
    assert_eq!(
        error(headers("issue_comment", Some("1"), None), COMMENT),
        "missing header X-GitHub-Delivery"
    );
    assert!(
        error(headers("issue_comment", Some("1"), Some("d")), b"{").starts_with("body is not JSON")
    );
    assert!(error(
        headers("issue_comment", Some("1"), Some("d")),
        b"payload=%7B"
    )
    .starts_with("payload is not JSON"));
    assert_eq!(
        error(
            headers("issue_comment", Some("1"), Some("d")),
            br#"{"action":"created"}"#
        ),
        "no installation, repository or organization id"
    );
}
