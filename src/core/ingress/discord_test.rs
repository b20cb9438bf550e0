//! Tests for [`super::Discord`]. Keys: `SigningKey::from_bytes(&[7; 32])` (and `[8; 32]` as
//! "another key"), derived without an RNG; signatures are made here over `{timestamp}{body}`
//! (Ed25519 is deterministic) and pinned by one known-answer vector computed independently.
//! Fixtures: `tests/fixtures/discord/`, whose sources are in `tests/fixtures/README.md`.

use super::*;
use crate::core::ingress::{Ack, ConversationType, Kind, Parsed, Rejection, Request};
use ed25519_dalek::{Signer, SigningKey};
use serde_json::json;

const NOW: u64 = 1_700_000_000;
const WINDOW: u64 = 300;

/// Known-answer vector, computed once with Python's `cryptography` package (an implementation
/// independent of ed25519-dalek):
/// `Ed25519PrivateKey.from_private_bytes(bytes([7] * 32))`, public key as raw bytes in hex, and
/// `sign(KAT_TIMESTAMP + KAT_BODY)` in hex.
const KAT_PUBLIC_KEY: &str = "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c";
const KAT_TIMESTAMP: &str = "1700000000";
const KAT_BODY: &str = r#"{"application_id":"290926444748734465","id":"1011230905440223253","token":"A_UNIQUE_TOKEN","type":1,"version":1}"#;
const KAT_SIGNATURE: &str = "781977b657ec3a6638048cfe7c6acd2c60c7f811681c3a0bd95e24deff891eeea0cc373dcf89ad5b2a43178bf21df24b5b3d87ebc2e77c8960b641e112267705";

const PING: &[u8] = include_bytes!("../../../tests/fixtures/discord/ping.json");
const SLASH_COMMAND: &[u8] =
    include_bytes!("../../../tests/fixtures/discord/slash_command_guild.json");
const BUTTON: &[u8] = include_bytes!("../../../tests/fixtures/discord/button.json");
const DM_COMMAND: &[u8] = include_bytes!("../../../tests/fixtures/discord/dm_command.json");

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn public_hex(seed: u8) -> String {
    hex(key(seed).verifying_key().as_bytes())
}

/// The signature header for `body` sent at `timestamp`, signed with the key from `seed`.
fn sign(seed: u8, timestamp: &str, body: &[u8]) -> String {
    let message = [timestamp.as_bytes(), body].concat();
    hex(&key(seed).sign(&message).to_bytes())
}

fn headers(signature: Option<&str>, timestamp: Option<&str>) -> Vec<(String, String)> {
    [(SIGNATURE, signature), (TIMESTAMP, timestamp)]
        .into_iter()
        .filter_map(|(name, value)| Some((name.to_owned(), value?.to_owned())))
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

fn verify(
    signature: Option<&str>,
    timestamp: Option<&str>,
    body: &[u8],
    secrets: &[String],
    now: u64,
) -> Result<(), Rejection> {
    let headers = headers(signature, timestamp);
    Discord::verify(&request(&headers, body), secrets, now, WINDOW)
}

/// The PING fixture signed with key 7 at [`NOW`], verified with `secrets` at `now`.
fn verify_ping(secrets: &[String], now: u64) -> Result<(), Rejection> {
    let timestamp = NOW.to_string();
    let signature = sign(7, &timestamp, PING);
    verify(Some(&signature), Some(&timestamp), PING, secrets, now)
}

fn parse(body: &[u8]) -> Result<Parsed, ParseError> {
    Discord::parse(&request(&[], body))
}

fn single_event(body: &[u8]) -> (Event, Ack) {
    match parse(body).unwrap() {
        Parsed::Events { mut events, ack } => {
            assert_eq!(events.len(), 1);
            (events.remove(0), ack)
        }
        other => panic!("expected one event, got {other:?}"),
    }
}

fn reason(body: &Value) -> String {
    parse(body.to_string().as_bytes()).unwrap_err().reason
}

// Verification.

#[test]
fn known_answer_vector_verifies() {
    // Vector: KAT_* above (Python `cryptography`).
    let secrets = vec![KAT_PUBLIC_KEY.to_owned()];
    let result = verify(
        Some(KAT_SIGNATURE),
        Some(KAT_TIMESTAMP),
        KAT_BODY.as_bytes(),
        &secrets,
        NOW,
    );
    assert_eq!(result, Ok(()));
}

#[test]
fn test_signer_matches_the_known_answer_vector() {
    // Vector: KAT_* above; pins the seeded key and the signer the other tests use.
    assert_eq!(public_hex(7), KAT_PUBLIC_KEY);
    assert_eq!(sign(7, KAT_TIMESTAMP, KAT_BODY.as_bytes()), KAT_SIGNATURE);
}

#[test]
fn signed_fixture_verifies_with_any_header_case() {
    // Vector: the PING fixture signed with key 7.
    let timestamp = NOW.to_string();
    let headers = vec![
        (
            "x-signature-ed25519".to_owned(),
            sign(7, &timestamp, PING).to_ascii_uppercase(),
        ),
        ("X-SIGNATURE-TIMESTAMP".to_owned(), timestamp),
    ];
    let result = Discord::verify(&request(&headers, PING), &[public_hex(7)], NOW, WINDOW);
    assert_eq!(result, Ok(()));
}

#[test]
fn missing_signature_header_is_refused() {
    let result = verify(
        None,
        Some(KAT_TIMESTAMP),
        KAT_BODY.as_bytes(),
        &[public_hex(7)],
        NOW,
    );
    assert_eq!(result, Err(Rejection::MissingHeader { header: SIGNATURE }));
}

#[test]
fn missing_timestamp_header_is_refused() {
    let result = verify(
        Some(KAT_SIGNATURE),
        None,
        KAT_BODY.as_bytes(),
        &[public_hex(7)],
        NOW,
    );
    assert_eq!(result, Err(Rejection::MissingHeader { header: TIMESTAMP }));
}

fn assert_malformed_signature(signature: &str) {
    let result = verify(
        Some(signature),
        Some(KAT_TIMESTAMP),
        KAT_BODY.as_bytes(),
        &[KAT_PUBLIC_KEY.to_owned()],
        NOW,
    );
    assert_eq!(
        result,
        Err(Rejection::MalformedSignature { header: SIGNATURE }),
        "{signature:?}"
    );
}

#[test]
fn signature_of_the_wrong_length_is_malformed() {
    // Vector: the KAT signature, shortened, lengthened and emptied.
    assert_malformed_signature("");
    assert_malformed_signature(&KAT_SIGNATURE[..126]);
    assert_malformed_signature(&KAT_SIGNATURE[..127]);
    assert_malformed_signature(&format!("{KAT_SIGNATURE}00"));
    assert_malformed_signature(&format!(" {KAT_SIGNATURE}"));
}

#[test]
fn non_hex_signature_is_malformed() {
    // Vector: the KAT signature with one digit replaced, and 128 bytes of non-ASCII.
    let mut signature = KAT_SIGNATURE.to_owned();
    signature.replace_range(0..1, "x");
    assert_malformed_signature(&signature);
    assert_malformed_signature(&"é".repeat(64));
}

#[test]
fn wrong_signature_is_refused() {
    // Vector: the KAT signature with its first byte changed (78 → 79).
    let signature = format!("79{}", &KAT_SIGNATURE[2..]);
    let result = verify(
        Some(&signature),
        Some(KAT_TIMESTAMP),
        KAT_BODY.as_bytes(),
        &[KAT_PUBLIC_KEY.to_owned()],
        NOW,
    );
    assert_eq!(result, Err(Rejection::BadSignature));
}

#[test]
fn signature_from_another_key_is_refused() {
    // Vector: the PING fixture signed with key 8, verified with key 7.
    let timestamp = NOW.to_string();
    let signature = sign(8, &timestamp, PING);
    let result = verify(
        Some(&signature),
        Some(&timestamp),
        PING,
        &[public_hex(7)],
        NOW,
    );
    assert_eq!(result, Err(Rejection::BadSignature));
}

#[test]
fn body_altered_by_one_byte_is_refused() {
    // Vector: KAT, with `"type":1` changed to `"type":2`.
    let body = KAT_BODY.replace(r#""type":1"#, r#""type":2"#);
    let result = verify(
        Some(KAT_SIGNATURE),
        Some(KAT_TIMESTAMP),
        body.as_bytes(),
        &[KAT_PUBLIC_KEY.to_owned()],
        NOW,
    );
    assert_eq!(result, Err(Rejection::BadSignature));
}

#[test]
fn altered_timestamp_no_longer_matches() {
    // Vector: KAT, sent with a timestamp one second later (still fresh).
    let result = verify(
        Some(KAT_SIGNATURE),
        Some("1700000001"),
        KAT_BODY.as_bytes(),
        &[KAT_PUBLIC_KEY.to_owned()],
        NOW,
    );
    assert_eq!(result, Err(Rejection::BadSignature));
}

#[test]
fn stale_and_future_timestamps_are_refused() {
    // Vector: the PING fixture signed with key 7 at NOW, verified at other times.
    let secrets = [public_hex(7)];
    assert_eq!(verify_ping(&secrets, NOW + WINDOW), Ok(()));
    assert_eq!(verify_ping(&secrets, NOW - WINDOW), Ok(()));
    assert_eq!(
        verify_ping(&secrets, NOW + WINDOW + 1),
        Err(Rejection::StaleTimestamp)
    );
    assert_eq!(
        verify_ping(&secrets, NOW - WINDOW - 1),
        Err(Rejection::FutureTimestamp)
    );
}

#[test]
fn malformed_timestamps_are_refused() {
    for timestamp in [
        "",
        "now",
        "-1",
        "1700000000.0",
        " 1700000000",
        "18446744073709551616",
    ] {
        let result = verify(
            Some(KAT_SIGNATURE),
            Some(timestamp),
            KAT_BODY.as_bytes(),
            &[KAT_PUBLIC_KEY.to_owned()],
            NOW,
        );
        assert_eq!(
            result,
            Err(Rejection::MalformedTimestamp { header: TIMESTAMP }),
            "{timestamp:?}"
        );
    }
    let result = verify(
        Some(KAT_SIGNATURE),
        Some("18446744073709551615"),
        KAT_BODY.as_bytes(),
        &[KAT_PUBLIC_KEY.to_owned()],
        NOW,
    );
    assert_eq!(result, Err(Rejection::FutureTimestamp), "no overflow");
}

#[test]
fn no_secrets_is_refused() {
    assert_eq!(verify_ping(&[], NOW), Err(Rejection::NoSecret));
}

#[test]
fn malformed_and_small_order_public_keys_are_skipped() {
    // Vectors: key 7's hex cut short, non-hex, empty, and two keys of small order (the
    // identity, and the order-8 point of libsodium's blocklist) that would accept forgeries.
    let bad = [
        public_hex(7)[..63].to_owned(),
        "z".repeat(64),
        String::new(),
        format!("01{}", "0".repeat(62)),
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a".to_owned(),
    ];
    for key in &bad {
        assert_eq!(
            verify_ping(std::slice::from_ref(key), NOW),
            Err(Rejection::NoSecret),
            "{key:?}"
        );
    }
    // A 32-byte value that is not a curve point (y = 2 does not decompress) is a key the core
    // cannot tell from a real one without curve arithmetic: it verifies nothing.
    let not_a_point = format!("02{}", "0".repeat(62));
    assert_eq!(
        verify_ping(std::slice::from_ref(&not_a_point), NOW),
        Err(Rejection::BadSignature)
    );
    let mut with_good = bad.to_vec();
    with_good.push(public_hex(7));
    assert_eq!(verify_ping(&with_good, NOW), Ok(()));
    assert_eq!(
        verify_ping(&[format!(" {}\n", public_hex(7))], NOW),
        Ok(()),
        "pasted with spaces"
    );
}

#[test]
fn rotation_accepts_either_public_key() {
    // Vectors: the PING fixture signed with key 7 and with key 8.
    let timestamp = NOW.to_string();
    let both = [public_hex(8), public_hex(7)];
    for seed in [7, 8] {
        let signature = sign(seed, &timestamp, PING);
        assert_eq!(
            verify(Some(&signature), Some(&timestamp), PING, &both, NOW),
            Ok(())
        );
    }
    let signature = sign(7, &timestamp, PING);
    let result = verify(
        Some(&signature),
        Some(&timestamp),
        PING,
        &[public_hex(8)],
        NOW,
    );
    assert_eq!(result, Err(Rejection::BadSignature));
}

#[test]
fn rejections_never_contain_a_signature_or_key() {
    let wrong = format!("79{}", &KAT_SIGNATURE[2..]);
    let secrets = [KAT_PUBLIC_KEY.to_owned()];
    let rejections = [
        verify(
            Some(&wrong),
            Some(KAT_TIMESTAMP),
            KAT_BODY.as_bytes(),
            &secrets,
            NOW,
        ),
        verify(
            Some("00"),
            Some(KAT_TIMESTAMP),
            KAT_BODY.as_bytes(),
            &secrets,
            NOW,
        ),
        verify(
            Some(&wrong),
            Some(KAT_TIMESTAMP),
            KAT_BODY.as_bytes(),
            &secrets,
            NOW + 10_000,
        ),
        verify(
            Some(&wrong),
            Some(KAT_TIMESTAMP),
            KAT_BODY.as_bytes(),
            &[],
            NOW,
        ),
    ];
    for rejection in rejections {
        let rejection = rejection.unwrap_err();
        for text in [rejection.to_string(), format!("{rejection:?}")] {
            assert!(!text.contains(KAT_SIGNATURE), "{text}");
            assert!(!text.contains(&wrong[..32]), "{text}");
            assert!(!text.contains(KAT_PUBLIC_KEY), "{text}");
        }
    }
}

// Parsing. Fixtures: tests/fixtures/discord (sources in tests/fixtures/README.md).

#[test]
fn ping_is_answered_with_pong() {
    // Fixture: a PING interaction (type 1).
    assert_eq!(
        parse(PING),
        Ok(Parsed::Handshake(Reply {
            status: 200,
            content_type: "application/json",
            body: r#"{"type":1}"#.to_owned(),
        }))
    );
}

#[test]
fn guild_slash_command_is_a_deferred_command() {
    // Fixture: Discord's documented slash command interaction (cardsearch).
    let (event, ack) = single_event(SLASH_COMMAND);
    assert_eq!(ack, Ack::Json(r#"{"type":5}"#.to_owned()));
    assert_eq!(event.provider_event_id, "786008729715212338");
    assert_eq!(event.semantic_key, None);
    assert_eq!(event.app_id.as_deref(), Some("290926444748734465"));
    assert_eq!(event.tenant_keys, vec!["290926798626357999"]);
    assert_eq!(event.team_id.as_deref(), Some("290926798626357999"));
    assert_eq!(event.kind, Kind::Command);
    assert_eq!(
        event.occurred_at,
        Some(1_607_469_484),
        "from the snowflake id"
    );
    assert_eq!(
        event.sender,
        Some(Sender {
            id: "53908232506183680".to_owned(),
            display_name: Some("Mason".to_owned()),
            is_bot: false,
        })
    );
    assert_eq!(
        event.conversation,
        Some(Conversation {
            id: "645027906669510667".to_owned(),
            kind: ConversationType::Channel,
            thread_id: None,
        })
    );
    assert_eq!(
        event.text.as_deref(),
        Some("/cardsearch cardname:The Gitrog Monster")
    );
    assert_eq!(
        Value::Object(event.reply_context),
        json!({"interaction_token": "A_UNIQUE_TOKEN", "application_id": "290926444748734465",
               "respond": "original"})
    );
    // The interaction token is a capability: it goes into the sealed reply capability only.
    let mut raw = serde_json::from_slice::<Value>(SLASH_COMMAND).unwrap();
    raw.as_object_mut().unwrap().remove("token");
    assert_eq!(event.raw, raw);
    assert!(!event.raw.to_string().contains("A_UNIQUE_TOKEN"));
}

#[test]
fn button_is_a_deferred_update() {
    // Fixture: Discord's documented button (message component) interaction.
    let (event, ack) = single_event(BUTTON);
    assert_eq!(ack, Ack::Json(r#"{"type":6}"#.to_owned()));
    assert_eq!(event.kind, Kind::Interaction);
    assert_eq!(event.provider_event_id, "846462639134605312");
    assert_eq!(event.text.as_deref(), Some("click_one"));
    assert_eq!(event.sender.unwrap().id, "53908232506183680");
    assert_eq!(event.conversation.unwrap().id, "345626669114982999");
    assert_eq!(
        event.reply_context["interaction_token"],
        "unique_interaction_token"
    );
    assert_eq!(
        event.reply_context["respond"], "followup",
        "the original is the clicked message: a reply follows up"
    );
}

#[test]
fn a_dm_command_is_keyed_by_the_application() {
    // Fixture: the documented slash command as a bot DM (`user`, `channel`, no guild).
    let (event, ack) = single_event(DM_COMMAND);
    assert_eq!(ack, Ack::Json(r#"{"type":5}"#.to_owned()));
    assert_eq!(Some(event.tenant_keys[0].as_str()), event.app_id.as_deref());
    assert_eq!(event.tenant_keys.len(), 1);
    assert_eq!(event.team_id, None);
    assert_eq!(
        event.sender,
        Some(Sender {
            id: "53908232506183680".to_owned(),
            display_name: Some("Mason".to_owned()),
            is_bot: false,
        }),
        "global_name wins over username"
    );
    let conversation = event.conversation.unwrap();
    assert_eq!(
        (conversation.id.as_str(), conversation.kind),
        ("645027906669510668", ConversationType::Dm)
    );
    assert_eq!(
        event.text.as_deref(),
        Some("/cardsearch cardname:Rhystic Study")
    );
}

#[test]
fn group_dms_threads_of_options_and_bots_are_read() {
    // Fixture: the DM command changed field by field.
    let mut payload: Value = serde_json::from_slice(DM_COMMAND).unwrap();
    payload["channel"]["type"] = json!(3);
    payload.as_object_mut().unwrap().remove("channel_id");
    payload["user"]["bot"] = json!(true);
    payload["data"]["options"] = json!([{"type": 2, "name": "deck", "options": [
        {"type": 1, "name": "add", "options": [
            {"type": 3, "name": "card", "value": "Sol Ring"},
            {"type": 4, "name": "count", "value": 2},
            {"type": 5, "name": "foil", "value": true}
        ]}
    ]}]);
    let (event, _) = single_event(payload.to_string().as_bytes());
    let conversation = event.conversation.unwrap();
    assert_eq!(
        (conversation.id.as_str(), conversation.kind),
        ("645027906669510668", ConversationType::Group)
    );
    assert!(event.sender.unwrap().is_bot);
    assert_eq!(
        event.text.as_deref(),
        Some("/cardsearch deck add card:Sol Ring count:2 foil:true")
    );
}

#[test]
fn autocomplete_and_modal_submit_are_interactions() {
    // Fixture: the guild slash command as autocomplete (type 4), then as a modal submit
    // (type 5, data.custom_id).
    let mut payload: Value = serde_json::from_slice(SLASH_COMMAND).unwrap();
    payload["type"] = json!(4);
    let (event, ack) = single_event(payload.to_string().as_bytes());
    assert_eq!(
        ack,
        Ack::Json(r#"{"type":8,"data":{"choices":[]}}"#.to_owned())
    );
    assert_eq!(event.kind, Kind::Interaction);
    assert_eq!(
        event.text.as_deref(),
        Some("/cardsearch cardname:The Gitrog Monster")
    );
    payload["type"] = json!(5);
    payload["data"] = json!({"custom_id": "feedback_modal", "components": []});
    let (event, ack) = single_event(payload.to_string().as_bytes());
    assert_eq!(ack, Ack::Json(r#"{"type":5}"#.to_owned()));
    assert_eq!(event.kind, Kind::Interaction);
    assert_eq!(event.text.as_deref(), Some("feedback_modal"));
}

#[test]
fn malformed_bodies_name_what_is_wrong() {
    // Fixture: the guild slash command with fields removed or changed.
    let command: Value = serde_json::from_slice(SLASH_COMMAND).unwrap();
    let without = |pointer: &str| {
        let mut payload = command.clone();
        let (parent, field) = pointer.rsplit_once('/').unwrap();
        payload
            .pointer_mut(parent)
            .unwrap()
            .as_object_mut()
            .unwrap()
            .remove(field);
        payload
    };
    assert!(parse(b"not json")
        .unwrap_err()
        .reason
        .starts_with("body is not JSON"));
    assert_eq!(reason(&without("/type")), "missing integer field type");
    assert_eq!(reason(&json!({"type": "2"})), "missing integer field type");
    assert_eq!(
        reason(&json!({"type": 9})),
        "type: unknown interaction type 9"
    );
    assert_eq!(reason(&without("/id")), "missing string field id");
    assert_eq!(
        reason(&without("/application_id")),
        "missing string field application_id"
    );
    assert_eq!(reason(&without("/token")), "missing string field token");
    assert_eq!(
        reason(&without("/data/name")),
        "missing string field data.name"
    );
    assert_eq!(
        reason(&without("/member")),
        "missing object field member.user or user"
    );
    assert_eq!(
        reason(&without("/member/user/id")),
        "missing string field user.id"
    );
    let mut button: Value = serde_json::from_slice(BUTTON).unwrap();
    button["data"] = json!({"component_type": 2});
    assert_eq!(reason(&button), "missing string field data.custom_id");
}
