//! Tests for [`super::Standard`] and [`super::sign`]. Vector: the test vector of the Standard
//! Webhooks reference libraries (standard-webhooks/standard-webhooks,
//! `libraries/python/tests/test_webhooks.py`, `test_sign_function`; the same values are in the
//! other libraries' tests and in Svix's). Every other signature is made with [`sign`], which the
//! vector pins. Fixtures: `tests/fixtures/standard/`, sources in `tests/fixtures/README.md`.

use super::*;
use crate::core::ingress::{Ack, ConversationType, Event, Kind, Parsed, Rejection, Request};

/// The published vector: secret, message id, timestamp, payload and signature.
const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SPEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const SPEC_TIMESTAMP: &str = "1614265330";
const SPEC_NOW: u64 = 1_614_265_330;
/// `{"test": 2432232314}`, no trailing newline.
const SPEC_BODY: &[u8] = include_bytes!("../../../tests/fixtures/standard/spec_vector.json");
const SPEC_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
const WINDOW: u64 = 300;

/// A second secret (made up: `whsec_` + base64 of 24 bytes) for rotation tests.
const NEW_SECRET: &str = "whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24=";

const MESSAGE: &[u8] = include_bytes!("../../../tests/fixtures/standard/message.json");

/// The spec vector's headers, with any of them replaced (`Some`) or removed (`None` value).
fn headers(overrides: &[(&str, Option<&str>)]) -> Vec<(String, String)> {
    [
        (ID, SPEC_ID),
        (TIMESTAMP, SPEC_TIMESTAMP),
        (SIGNATURE, SPEC_SIGNATURE),
    ]
    .into_iter()
    .filter_map(|(name, value)| {
        let value = match overrides.iter().find(|(key, _)| *key == name) {
            Some((_, replaced)) => (*replaced)?,
            None => value,
        };
        Some((name.to_owned(), value.to_owned()))
    })
    .collect()
}

fn request<'a>(headers: &'a [(String, String)], body: &'a [u8]) -> Request<'a> {
    Request {
        method: "POST",
        headers,
        query: &[],
        url: "",
        body,
    }
}

fn verify_with(
    overrides: &[(&str, Option<&str>)],
    body: &[u8],
    secrets: &[&str],
    now: u64,
) -> Result<(), Rejection> {
    let headers = headers(overrides);
    let secrets: Vec<String> = secrets.iter().map(|s| (*s).to_owned()).collect();
    Standard::verify(&request(&headers, body), &secrets, now, WINDOW)
}

/// The spec vector's request with this `webhook-signature`.
fn verify_signature(signature: &str, secrets: &[&str]) -> Result<(), Rejection> {
    verify_with(
        &[(SIGNATURE, Some(signature))],
        SPEC_BODY,
        secrets,
        SPEC_NOW,
    )
}

fn assert_malformed(signature: &str) {
    assert_eq!(
        verify_signature(signature, &[SPEC_SECRET]),
        Err(Rejection::MalformedSignature { header: SIGNATURE }),
        "{signature:?}"
    );
}

fn single_event(headers: &[(String, String)], body: &[u8]) -> Event {
    match Standard::parse(&request(headers, body)).unwrap() {
        Parsed::Events { mut events, ack } => {
            assert_eq!(ack, Ack::NoContent);
            assert_eq!(events.len(), 1);
            events.remove(0)
        }
        other => panic!("expected one event, got {other:?}"),
    }
}

// The published vector.

#[test]
fn the_spec_vector_signs_as_published() {
    assert_eq!(
        sign(SPEC_SECRET, SPEC_ID, SPEC_NOW, SPEC_BODY),
        Ok(SPEC_SIGNATURE.to_owned())
    );
}

#[test]
fn the_spec_vector_verifies() {
    assert_eq!(
        verify_with(&[], SPEC_BODY, &[SPEC_SECRET], SPEC_NOW),
        Ok(())
    );
}

#[test]
fn the_spec_vector_verifies_at_both_window_edges() {
    for now in [SPEC_NOW - WINDOW, SPEC_NOW + WINDOW] {
        assert_eq!(verify_with(&[], SPEC_BODY, &[SPEC_SECRET], now), Ok(()));
    }
}

#[test]
fn a_secret_without_the_prefix_is_decoded_too() {
    // As the reference libraries accept it: the bare base64 key.
    let bare = SPEC_SECRET.strip_prefix("whsec_").unwrap();
    assert_eq!(verify_signature(SPEC_SIGNATURE, &[bare]), Ok(()));
    assert_eq!(
        sign(bare, SPEC_ID, SPEC_NOW, SPEC_BODY),
        Ok(SPEC_SIGNATURE.to_owned())
    );
}

#[test]
fn header_names_are_case_insensitive() {
    let headers = vec![
        ("Webhook-Id".to_owned(), SPEC_ID.to_owned()),
        ("WEBHOOK-TIMESTAMP".to_owned(), SPEC_TIMESTAMP.to_owned()),
        ("Webhook-Signature".to_owned(), SPEC_SIGNATURE.to_owned()),
    ];
    let secrets = vec![SPEC_SECRET.to_owned()];
    let result = Standard::verify(&request(&headers, SPEC_BODY), &secrets, SPEC_NOW, WINDOW);
    assert_eq!(result, Ok(()));
}

// Signature lists. Vector: the spec vector's signature among others made up here.

#[test]
fn one_valid_signature_among_several_verifies() {
    let wrong = format!("v1,{}", STANDARD.encode([0u8; 32]));
    assert_eq!(
        verify_signature(&format!("{wrong} {SPEC_SIGNATURE}"), &[SPEC_SECRET]),
        Ok(())
    );
    assert_eq!(
        verify_signature(&format!("{SPEC_SIGNATURE} {wrong}"), &[SPEC_SECRET]),
        Ok(())
    );
}

#[test]
fn a_malformed_v1_entry_does_not_spoil_a_valid_one() {
    // `bm9wZQ==` is base64 of "nope" (4 bytes): skipped, as the reference libraries never match it.
    assert_eq!(
        verify_signature(&format!("v1,bm9wZQ== {SPEC_SIGNATURE}"), &[SPEC_SECRET]),
        Ok(())
    );
    assert_eq!(
        verify_signature(&format!("v1,!!! {SPEC_SIGNATURE}"), &[SPEC_SECRET]),
        Ok(())
    );
}

#[test]
fn other_versions_are_ignored() {
    let encoded = SPEC_SIGNATURE.strip_prefix("v1,").unwrap();
    // The right bytes under `v1a` (Ed25519) or `v2` are not a v1 signature.
    assert_malformed(&format!("v1a,{encoded}"));
    assert_malformed(&format!("v2,{encoded}"));
    assert_malformed(&format!("v1a,{encoded} v2,{encoded}"));
    assert_eq!(
        verify_signature(&format!("v1a,{encoded} {SPEC_SIGNATURE}"), &[SPEC_SECRET]),
        Ok(())
    );
}

// Rejections.

#[test]
fn missing_headers_are_refused() {
    for name in [ID, TIMESTAMP, SIGNATURE] {
        assert_eq!(
            verify_with(&[(name, None)], SPEC_BODY, &[SPEC_SECRET], SPEC_NOW),
            Err(Rejection::MissingHeader { header: name }),
            "{name}"
        );
    }
}

#[test]
fn a_header_without_v1_entries_is_malformed() {
    assert_malformed("");
    assert_malformed(" ");
    assert_malformed("v1,");
    assert_malformed("v1");
    assert_malformed(SPEC_SIGNATURE.strip_prefix("v1,").unwrap());
    assert_malformed(&SPEC_SIGNATURE.replace("v1,", "V1,"));
    assert_malformed(&SPEC_SIGNATURE.replace("v1,", "v1="));
}

#[test]
fn bad_base64_is_malformed() {
    assert_malformed("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE");
    assert_malformed("v1,g0hM9SsE-OTPJTGt_tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    assert_malformed("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1O*=");
}

#[test]
fn a_wrong_decoded_length_is_malformed() {
    assert_malformed(&format!("v1,{}", STANDARD.encode([7u8; 31])));
    assert_malformed(&format!("v1,{}", STANDARD.encode([7u8; 33])));
    assert_malformed(&format!("v1,{}", STANDARD.encode([7u8; 64])));
}

#[test]
fn malformed_timestamps_are_refused() {
    for timestamp in [
        "",
        "abc",
        "1614265330a",
        "-1614265330",
        " 1614265330",
        "1614265330.0",
        "+1614265330",
        "18446744073709551616",
    ] {
        assert_eq!(
            verify_with(
                &[(TIMESTAMP, Some(timestamp))],
                SPEC_BODY,
                &[SPEC_SECRET],
                SPEC_NOW
            ),
            Err(Rejection::MalformedTimestamp { header: TIMESTAMP }),
            "{timestamp:?}"
        );
    }
}

#[test]
fn a_stale_timestamp_is_refused() {
    assert_eq!(
        verify_with(&[], SPEC_BODY, &[SPEC_SECRET], SPEC_NOW + WINDOW + 1),
        Err(Rejection::StaleTimestamp)
    );
}

#[test]
fn a_future_timestamp_is_refused() {
    assert_eq!(
        verify_with(&[], SPEC_BODY, &[SPEC_SECRET], SPEC_NOW - WINDOW - 1),
        Err(Rejection::FutureTimestamp)
    );
    let far = verify_with(
        &[(TIMESTAMP, Some("18446744073709551615"))],
        SPEC_BODY,
        &[SPEC_SECRET],
        SPEC_NOW,
    );
    assert_eq!(far, Err(Rejection::FutureTimestamp));
}

#[test]
fn the_timestamp_is_checked_before_the_signature() {
    let wrong = format!("v1,{}", STANDARD.encode([0u8; 32]));
    assert_eq!(
        verify_with(
            &[(SIGNATURE, Some(&wrong))],
            SPEC_BODY,
            &[SPEC_SECRET],
            SPEC_NOW + WINDOW + 1
        ),
        Err(Rejection::StaleTimestamp)
    );
}

#[test]
fn a_wrong_signature_is_refused() {
    let wrong = format!("v1,{}", STANDARD.encode([0u8; 32]));
    assert_eq!(
        verify_signature(&wrong, &[SPEC_SECRET]),
        Err(Rejection::BadSignature)
    );
}

#[test]
fn a_body_altered_by_one_byte_is_refused() {
    let mut body = SPEC_BODY.to_vec();
    body[10] ^= 1;
    assert_eq!(
        verify_with(&[], &body, &[SPEC_SECRET], SPEC_NOW),
        Err(Rejection::BadSignature)
    );
}

#[test]
fn the_id_and_timestamp_are_signed() {
    let other_id = verify_with(
        &[(ID, Some("msg_p5jXN8AQM9LWM0D4loKWxJel"))],
        SPEC_BODY,
        &[SPEC_SECRET],
        SPEC_NOW,
    );
    assert_eq!(other_id, Err(Rejection::BadSignature));
    let other_time = verify_with(
        &[(TIMESTAMP, Some("1614265331"))],
        SPEC_BODY,
        &[SPEC_SECRET],
        SPEC_NOW,
    );
    assert_eq!(other_time, Err(Rejection::BadSignature));
}

#[test]
fn a_wrong_secret_is_refused() {
    assert_eq!(
        verify_signature(SPEC_SIGNATURE, &[NEW_SECRET]),
        Err(Rejection::BadSignature)
    );
}

#[test]
fn no_secrets_is_refused() {
    assert_eq!(
        verify_signature(SPEC_SIGNATURE, &[]),
        Err(Rejection::NoSecret)
    );
}

#[test]
fn unusable_secrets_are_skipped() {
    // Not base64, empty, or an empty key: never used; with nothing else, there is no secret.
    let unusable = [
        "whsec_!!!not base64",
        "",
        "whsec_",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS",
    ];
    assert_eq!(
        verify_signature(SPEC_SIGNATURE, &unusable),
        Err(Rejection::NoSecret)
    );
    let mut with_good = unusable.to_vec();
    with_good.push(SPEC_SECRET);
    assert_eq!(verify_signature(SPEC_SIGNATURE, &with_good), Ok(()));
}

#[test]
fn rotation_accepts_the_old_and_the_new_secret() {
    let signed_with_new = sign(NEW_SECRET, SPEC_ID, SPEC_NOW, SPEC_BODY).unwrap();
    let both = [NEW_SECRET, SPEC_SECRET];
    assert_eq!(verify_signature(SPEC_SIGNATURE, &both), Ok(()));
    assert_eq!(verify_signature(&signed_with_new, &both), Ok(()));
    assert_eq!(
        verify_signature(&signed_with_new, &[SPEC_SECRET]),
        Err(Rejection::BadSignature)
    );
    // A sender rotating lists both signatures; a receiver with either secret accepts.
    let header = format!("{signed_with_new} {SPEC_SIGNATURE}");
    assert_eq!(verify_signature(&header, &[SPEC_SECRET]), Ok(()));
    assert_eq!(verify_signature(&header, &[NEW_SECRET]), Ok(()));
}

#[test]
fn rejections_never_contain_the_expected_signature_or_secret() {
    let expected = SPEC_SIGNATURE.strip_prefix("v1,").unwrap();
    let key = SPEC_SECRET.strip_prefix("whsec_").unwrap();
    let wrong = format!("v1,{}", STANDARD.encode([0u8; 32]));
    for rejection in [
        verify_signature(&wrong, &[SPEC_SECRET]),
        verify_signature("v1,", &[SPEC_SECRET]),
        verify_signature(&wrong, &[]),
        verify_with(&[], SPEC_BODY, &[SPEC_SECRET], 0),
        verify_with(
            &[(TIMESTAMP, Some("x"))],
            SPEC_BODY,
            &[SPEC_SECRET],
            SPEC_NOW,
        ),
    ] {
        let rejection = rejection.unwrap_err();
        for text in [rejection.to_string(), format!("{rejection:?}")] {
            assert!(!text.contains(expected), "{text}");
            assert!(!text.contains(key), "{text}");
        }
    }
}

// Signing.

#[test]
fn sign_and_verify_round_trip() {
    // Vector: the message fixture, signed here with both secrets at another time.
    let now = 1_718_000_000;
    for secret in [SPEC_SECRET, NEW_SECRET] {
        let signature = sign(secret, "msg_round_trip", now, MESSAGE).unwrap();
        let timestamp = now.to_string();
        let result = verify_with(
            &[
                (ID, Some("msg_round_trip")),
                (TIMESTAMP, Some(&timestamp)),
                (SIGNATURE, Some(&signature)),
            ],
            MESSAGE,
            &[secret],
            now,
        );
        assert_eq!(result, Ok(()), "{secret}");
    }
}

#[test]
fn signing_with_an_unusable_secret_is_refused() {
    for secret in ["whsec_!!!", "", "whsec_"] {
        assert_eq!(
            sign(secret, SPEC_ID, SPEC_NOW, SPEC_BODY),
            Err(Rejection::NoSecret),
            "{secret:?}"
        );
    }
}

// Parsing. Fixtures: tests/fixtures/standard (sources in tests/fixtures/README.md).

#[test]
fn a_message_body_is_a_message() {
    // Fixture: a `message` body built here in the shape the Standard Webhooks spec recommends
    // (`type`, `timestamp`, `data`).
    let headers = headers(&[]);
    let event = single_event(&headers, MESSAGE);
    assert_eq!(event.provider_event_id, SPEC_ID);
    assert_eq!(event.kind, Kind::Message);
    assert_eq!(event.occurred_at, Some(SPEC_NOW));
    assert_eq!(
        event.text.as_deref(),
        Some("Can you summarise yesterday's incidents?")
    );
    assert_eq!(
        event.sender,
        Some(Sender {
            id: "user_8f3a2c".to_owned(),
            display_name: None,
            is_bot: false,
        })
    );
    assert_eq!(
        event.conversation,
        Some(Conversation {
            id: "conv_41d9".to_owned(),
            kind: ConversationType::Channel,
            thread_id: None,
        })
    );
    assert!(event.tenant_keys.is_empty());
    assert_eq!(event.semantic_key, None);
    assert_eq!(event.raw, serde_json::from_slice::<Value>(MESSAGE).unwrap());
}

#[test]
fn any_other_object_is_other() {
    // Fixture: the spec vector's payload.
    let headers = headers(&[]);
    let event = single_event(&headers, SPEC_BODY);
    assert_eq!(event.kind, Kind::Other);
    assert_eq!(event.text, None);
    assert_eq!(event.sender, None);
    assert_eq!(event.conversation, None);
    assert_eq!(event.raw, serde_json::json!({"test": 2432232314_u64}));
}

#[test]
fn top_level_fields_are_read_too() {
    // Vector: made up; `text`, `sender.id` (a number) and `conversation.id` at the top level.
    let body = br#"{"type":"message","text":"hi","sender":{"id":42},"conversation":{"id":"c1"}}"#;
    let headers = headers(&[]);
    let event = single_event(&headers, body);
    assert_eq!(event.text.as_deref(), Some("hi"));
    assert_eq!(event.sender.unwrap().id, "42");
    assert_eq!(event.conversation.unwrap().id, "c1");
}

#[test]
fn a_sender_or_conversation_may_be_the_id_itself() {
    // Vector: made up; `"sender": "ci-bot"` as many CI senders write it, at both levels.
    let headers = headers(&[]);
    for body in [
        &br#"{"type":"message","text":"hi","sender":"ci-bot","conversation":"c1"}"#[..],
        br#"{"type":"message","data":{"text":"hi","sender":"ci-bot","conversation":"c1"}}"#,
        br#"{"type":"message","text":"hi","sender":{"id":"ci-bot"},"conversation":"c1"}"#,
    ] {
        let event = single_event(&headers, body);
        assert_eq!(
            event.sender.map(|sender| sender.id).as_deref(),
            Some("ci-bot")
        );
        assert_eq!(
            event.conversation.map(|conversation| conversation.id),
            Some("c1".to_owned())
        );
    }
    let numeric = single_event(&headers, br#"{"sender":7,"conversation":-100}"#);
    assert_eq!(numeric.sender.unwrap().id, "7");
    assert_eq!(numeric.conversation.unwrap().id, "-100");
}

#[test]
fn data_is_read_before_the_top_level_and_unusable_values_are_skipped() {
    // Vector: made up. `data.sender` wins over `sender`; a `data.conversation` without an id, a
    // boolean or an array is no id, so the top-level one is read.
    let body = br#"{"sender":"top","data":{"sender":"inner","conversation":{"name":"x"}},
        "conversation":"c2"}"#;
    let headers = headers(&[]);
    let event = single_event(&headers, body);
    assert_eq!(event.sender.unwrap().id, "inner");
    assert_eq!(event.conversation.unwrap().id, "c2");
    for body in [
        &br#"{"sender":true}"#[..],
        br#"{"sender":["a"]}"#,
        br#"{"sender":{"id":null}}"#,
        br#"{"sender":null}"#,
    ] {
        assert_eq!(single_event(&headers, body).sender, None, "{body:?}");
    }
}

#[test]
fn a_body_that_is_not_a_json_object_is_a_parse_error() {
    let headers = headers(&[]);
    for body in [&b"not json"[..], b"[1,2]", b"\"text\"", b""] {
        assert!(
            Standard::parse(&request(&headers, body)).is_err(),
            "{body:?}"
        );
    }
}

#[test]
fn a_missing_id_is_a_parse_error() {
    let headers = headers(&[(ID, None)]);
    let error = Standard::parse(&request(&headers, SPEC_BODY)).unwrap_err();
    assert_eq!(error.reason, "missing header webhook-id");
}
