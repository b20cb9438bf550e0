//! Tests for [`super::WhatsApp`], and for Meta's signature and handshake ([`meta::verify`],
//! [`meta::subscribe`]) with WhatsApp's payloads. Meta publishes no signature vector:
//! signatures here are HMAC-SHA256 over the fixture bytes, made in the test with the `hmac`
//! crate, and one is pinned to a constant computed independently (see [`PINNED_SIGNATURE`]) so a
//! change in how the message is built cannot pass unnoticed. The handshake uses the example
//! request of Meta's webhooks guide (<https://developers.facebook.com/docs/graph-api/webhooks/getting-started>,
//! "Verification Requests"). Fixtures: `tests/fixtures/whatsapp/`, sources in
//! `tests/fixtures/README.md`.

use super::*;
use crate::core::ingress::meta::{self, subscribe, CHALLENGE, MODE, SIGNATURE, VERIFY_TOKEN};
use crate::core::ingress::{Ack, ConversationType, Kind, Parsed, Rejection, Reply, Request};
use hmac::Hmac;
use hmac::Mac;
use sha2::Sha256;

/// An app secret of the shape Meta issues (32 hex digits); made up.
const APP_SECRET: &str = "8a1d3c5e7f9b0d2e4f6a8c0e2d4b6f81";
/// The next app secret during a rotation; made up.
const NEW_APP_SECRET: &str = "f0e1d2c3b4a5968778695a4b3c2d1e0f";

const TEXT: &[u8] = include_bytes!("../../../tests/fixtures/whatsapp/text.json");
const BUTTON_REPLY: &[u8] =
    include_bytes!("../../../tests/fixtures/whatsapp/interactive_button_reply.json");
const STATUS_SENT: &[u8] = include_bytes!("../../../tests/fixtures/whatsapp/status_sent.json");
const TWO_MESSAGES: &[u8] = include_bytes!("../../../tests/fixtures/whatsapp/two_messages.json");
/// Compact, with non-ASCII escaped as Meta sends it (`caf\u00e9`); no trailing newline.
const NON_ASCII: &[u8] = include_bytes!("../../../tests/fixtures/whatsapp/text_non_ascii.json");

/// `X-Hub-Signature-256` of [`NON_ASCII`] under [`APP_SECRET`], computed once outside this
/// crate with Python's standard library and checked with OpenSSL:
/// `hmac.new(b"8a1d3c5e7f9b0d2e4f6a8c0e2d4b6f81", open("text_non_ascii.json", "rb").read(),
/// hashlib.sha256).hexdigest()` and
/// `openssl dgst -sha256 -hmac 8a1d3c5e7f9b0d2e4f6a8c0e2d4b6f81 text_non_ascii.json`.
const PINNED_SIGNATURE: &str =
    "sha256=2dbb6991a5450408e3871274083170de1ab5d07b17d06e91f5b5333283d0c4cd";

/// The verify token and challenge of Meta's example verification request.
const VERIFY_TOKEN_VALUE: &str = "meatyhamhock";
const CHALLENGE_VALUE: &str = "1158201444";

fn request<'a>(headers: &'a [(String, String)], body: &'a [u8]) -> Request<'a> {
    Request {
        method: "POST",
        headers,
        query: &[],
        url: "",
        body,
    }
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|value| (*value).to_owned()).collect()
}

/// `sha256=<hex HMAC-SHA256(secret, body)>`, made with the `hmac` crate.
fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("sha256={hex}")
}

fn verify(signature: Option<&str>, body: &[u8], secrets: &[&str]) -> Result<(), Rejection> {
    let headers: Vec<(String, String)> = signature
        .map(|signature| (SIGNATURE.to_owned(), signature.to_owned()))
        .into_iter()
        .collect();
    meta::verify(
        &request(&headers, body),
        &strings(secrets),
        1_749_416_400,
        300,
    )
}

fn assert_malformed(signature: &str) {
    assert_eq!(
        verify(Some(signature), TEXT, &[APP_SECRET]),
        Err(Rejection::MalformedSignature { header: SIGNATURE }),
        "{signature:?}"
    );
}

fn events(body: &[u8]) -> Vec<Event> {
    match WhatsApp::parse(&request(&[], body)).unwrap() {
        Parsed::Events { events, ack } => {
            assert_eq!(ack, Ack::Empty);
            events
        }
        other => panic!("expected events, got {other:?}"),
    }
}

fn single_event(body: &[u8]) -> Event {
    let mut events = events(body);
    assert_eq!(events.len(), 1);
    events.remove(0)
}

fn reason(body: &[u8]) -> String {
    WhatsApp::parse(&request(&[], body)).unwrap_err().reason
}

/// The text fixture with its one message replaced by `message`.
fn with_message(message: Value) -> Vec<u8> {
    let mut payload: Value = serde_json::from_slice(TEXT).unwrap();
    payload["entry"][0]["changes"][0]["value"]["messages"] = Value::Array(vec![message]);
    payload.to_string().into_bytes()
}

// Verification. Vectors: signatures made here with the hmac crate, and the pinned constant.

#[test]
fn the_pinned_vector_verifies() {
    assert_eq!(
        verify(Some(PINNED_SIGNATURE), NON_ASCII, &[APP_SECRET]),
        Ok(())
    );
}

#[test]
fn the_test_signer_reproduces_the_pinned_vector() {
    // Pins `sign` (and so every signature below) to the independently computed constant.
    assert_eq!(sign(APP_SECRET, NON_ASCII), PINNED_SIGNATURE);
}

#[test]
fn a_signed_body_verifies() {
    let signature = sign(APP_SECRET, TEXT);
    assert_eq!(verify(Some(&signature), TEXT, &[APP_SECRET]), Ok(()));
}

#[test]
fn header_names_are_case_insensitive() {
    let headers = vec![("x-hub-signature-256".to_owned(), sign(APP_SECRET, TEXT))];
    let result = meta::verify(&request(&headers, TEXT), &strings(&[APP_SECRET]), 0, 0);
    assert_eq!(result, Ok(()));
}

#[test]
fn upper_case_hex_of_the_right_signature_verifies() {
    let signature = format!("sha256={}", PINNED_SIGNATURE[7..].to_ascii_uppercase());
    assert_eq!(verify(Some(&signature), NON_ASCII, &[APP_SECRET]), Ok(()));
}

#[test]
fn the_signature_covers_escaped_bytes_not_reserialised_json() {
    // The trap in providers.md: Meta signs `caf\u00e9` as those six ASCII characters. Parsing
    // and re-serialising yields a raw `é` (and other bytes), which must not verify.
    assert!(NON_ASCII.windows(6).any(|window| window == br"\u00e9"));
    let reserialised =
        serde_json::to_vec(&serde_json::from_slice::<Value>(NON_ASCII).unwrap()).unwrap();
    assert!(String::from_utf8(reserialised.clone())
        .unwrap()
        .contains('é'));
    assert_eq!(
        verify(Some(PINNED_SIGNATURE), &reserialised, &[APP_SECRET]),
        Err(Rejection::BadSignature)
    );
}

#[test]
fn a_missing_header_is_refused() {
    assert_eq!(
        verify(None, TEXT, &[APP_SECRET]),
        Err(Rejection::MissingHeader { header: SIGNATURE })
    );
}

#[test]
fn an_empty_signature_is_malformed() {
    assert_malformed("");
    assert_malformed("sha256=");
}

#[test]
fn a_sha1_signature_is_malformed() {
    // The legacy `X-Hub-Signature` form, sent in the SHA-256 header.
    assert_malformed("sha1=2fd4e1c67a2d28fced849ee1bb76e7391b93eb12");
    let hex = &sign(APP_SECRET, TEXT)[7..];
    assert_malformed(&format!("sha1={hex}"));
}

#[test]
fn a_wrong_prefix_is_malformed() {
    let hex = &sign(APP_SECRET, TEXT)[7..];
    assert_malformed(hex);
    assert_malformed(&format!("SHA256={hex}"));
    assert_malformed(&format!("sha256:{hex}"));
}

#[test]
fn a_wrong_length_is_malformed() {
    let signature = sign(APP_SECRET, TEXT);
    assert_malformed(&signature[..signature.len() - 1]);
    assert_malformed(&signature[..signature.len() - 2]);
    assert_malformed(&format!("{signature}00"));
    assert_malformed(&format!("{signature} "));
}

#[test]
fn non_hex_is_malformed() {
    let mut signature = sign(APP_SECRET, TEXT);
    signature.replace_range(10..11, "g");
    assert_malformed(&signature);
    assert_malformed(&format!("sha256={}", "é".repeat(32)));
}

#[test]
fn a_wrong_signature_is_refused() {
    let signature = format!("sha256={}", "0".repeat(64));
    assert_eq!(
        verify(Some(&signature), TEXT, &[APP_SECRET]),
        Err(Rejection::BadSignature)
    );
}

#[test]
fn a_wrong_secret_is_refused() {
    let signature = sign("another-app-secret", TEXT);
    assert_eq!(
        verify(Some(&signature), TEXT, &[APP_SECRET]),
        Err(Rejection::BadSignature)
    );
}

#[test]
fn a_body_altered_by_one_byte_is_refused() {
    let signature = sign(APP_SECRET, TEXT);
    let mut body = TEXT.to_vec();
    let last = body.len() - 1;
    body[last] ^= 1;
    assert_eq!(
        verify(Some(&signature), &body, &[APP_SECRET]),
        Err(Rejection::BadSignature)
    );
}

#[test]
fn no_secrets_is_refused() {
    assert_eq!(
        verify(Some(PINNED_SIGNATURE), NON_ASCII, &[]),
        Err(Rejection::NoSecret)
    );
}

#[test]
fn empty_secrets_are_never_used() {
    let signature = sign("", TEXT);
    assert_eq!(
        verify(Some(&signature), TEXT, &[""]),
        Err(Rejection::NoSecret)
    );
    assert_eq!(
        verify(Some(&signature), TEXT, &["", APP_SECRET]),
        Err(Rejection::BadSignature)
    );
}

#[test]
fn rotation_accepts_the_old_and_the_new_secret() {
    let secrets = [NEW_APP_SECRET, APP_SECRET];
    assert_eq!(verify(Some(PINNED_SIGNATURE), NON_ASCII, &secrets), Ok(()));
    let signed_with_new = sign(NEW_APP_SECRET, NON_ASCII);
    assert_eq!(verify(Some(&signed_with_new), NON_ASCII, &secrets), Ok(()));
    assert_eq!(
        verify(Some(PINNED_SIGNATURE), NON_ASCII, &[NEW_APP_SECRET]),
        Err(Rejection::BadSignature)
    );
}

#[test]
fn the_clock_is_ignored() {
    // Meta signs no timestamp: any `now` and `window` give the same answer.
    let headers = vec![(SIGNATURE.to_owned(), PINNED_SIGNATURE.to_owned())];
    for (now, window) in [(0, 0), (u64::MAX, 0), (1, u64::MAX)] {
        let result = meta::verify(
            &request(&headers, NON_ASCII),
            &strings(&[APP_SECRET]),
            now,
            window,
        );
        assert_eq!(result, Ok(()));
    }
}

#[test]
fn rejections_never_contain_the_expected_signature_or_secret() {
    let expected_hex = &PINNED_SIGNATURE[7..];
    let wrong = format!("sha256={}", "0".repeat(64));
    for rejection in [
        verify(Some(&wrong), NON_ASCII, &[APP_SECRET]),
        verify(Some("sha1=00"), NON_ASCII, &[APP_SECRET]),
        verify(None, NON_ASCII, &[APP_SECRET]),
        verify(Some(&wrong), NON_ASCII, &[]),
    ] {
        let rejection = rejection.unwrap_err();
        for text in [rejection.to_string(), format!("{rejection:?}")] {
            assert!(!text.contains(expected_hex), "{text}");
            assert!(!text.contains(APP_SECRET), "{text}");
        }
    }
}

// The GET handshake. Vector: Meta's example verification request (module doc).

/// A GET with these query pairs and no headers at all.
fn handshake(pairs: &[(&str, &str)], tokens: &[&str]) -> Result<Reply, Rejection> {
    let query: Vec<(String, String)> = pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
    let request = Request {
        method: "GET",
        headers: &[],
        query: &query,
        url: "",
        body: b"",
    };
    subscribe(&request, &strings(tokens))
}

fn meta_example() -> Vec<(&'static str, &'static str)> {
    vec![
        (MODE, "subscribe"),
        (CHALLENGE, CHALLENGE_VALUE),
        (VERIFY_TOKEN, VERIFY_TOKEN_VALUE),
    ]
}

/// Meta's example with `name` removed, or set to `value`.
fn example_with(
    name: &'static str,
    value: Option<&'static str>,
) -> Vec<(&'static str, &'static str)> {
    let mut pairs = meta_example();
    pairs.retain(|(key, _)| *key != name);
    pairs.extend(value.map(|value| (name, value)));
    pairs
}

#[test]
fn the_handshake_echoes_the_challenge() {
    assert_eq!(
        handshake(&meta_example(), &[VERIFY_TOKEN_VALUE]),
        Ok(Reply {
            status: 200,
            content_type: "text/plain",
            body: CHALLENGE_VALUE.to_owned(),
        })
    );
}

#[test]
fn the_handshake_needs_no_signature_header() {
    // The trap in providers.md: the GET has no X-Hub-Signature-256, which the POST check would
    // refuse; the handshake is answered by `subscribe` alone.
    let query: Vec<(String, String)> = meta_example()
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
    let get = Request {
        method: "GET",
        headers: &[],
        query: &query,
        url: "",
        body: b"",
    };
    let tokens = strings(&[VERIFY_TOKEN_VALUE]);
    assert_eq!(
        meta::verify(&get, &strings(&[APP_SECRET]), 0, 300),
        Err(Rejection::MissingHeader { header: SIGNATURE })
    );
    assert!(subscribe(&get, &tokens).is_ok());
}

#[test]
fn the_handshake_refuses_a_wrong_token() {
    let pairs = example_with(VERIFY_TOKEN, Some("meatyhamhocks"));
    assert_eq!(
        handshake(&pairs, &[VERIFY_TOKEN_VALUE]),
        Err(Rejection::BadSignature)
    );
}

#[test]
fn the_handshake_refuses_an_empty_token() {
    let pairs = example_with(VERIFY_TOKEN, Some(""));
    assert_eq!(
        handshake(&pairs, &[VERIFY_TOKEN_VALUE]),
        Err(Rejection::MalformedSignature {
            header: VERIFY_TOKEN
        })
    );
}

#[test]
fn the_handshake_refuses_a_wrong_mode() {
    let pairs = example_with(MODE, Some("unsubscribe"));
    assert_eq!(
        handshake(&pairs, &[VERIFY_TOKEN_VALUE]),
        Err(Rejection::MalformedSignature { header: MODE })
    );
}

#[test]
fn the_handshake_names_a_missing_parameter() {
    for name in [MODE, VERIFY_TOKEN, CHALLENGE] {
        assert_eq!(
            handshake(&example_with(name, None), &[VERIFY_TOKEN_VALUE]),
            Err(Rejection::MissingHeader { header: name }),
            "{name}"
        );
    }
}

#[test]
fn the_handshake_accepts_either_token_during_rotation() {
    let tokens = ["new-verify-token", VERIFY_TOKEN_VALUE];
    assert!(handshake(&meta_example(), &tokens).is_ok());
    let pairs = example_with(VERIFY_TOKEN, Some("new-verify-token"));
    assert!(handshake(&pairs, &tokens).is_ok());
}

#[test]
fn the_handshake_without_tokens_is_refused() {
    assert_eq!(handshake(&meta_example(), &[]), Err(Rejection::NoSecret));
    assert_eq!(handshake(&meta_example(), &[""]), Err(Rejection::NoSecret));
}

// Parsing. Fixtures: tests/fixtures/whatsapp (sources in tests/fixtures/README.md).

#[test]
fn a_text_message() {
    // Fixture: the incoming text message example of Meta's `messages` webhook reference.
    let event = single_event(TEXT);
    assert_eq!(
        event.provider_event_id,
        "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
    );
    assert_eq!(event.semantic_key, None);
    assert_eq!(event.app_id, None);
    assert_eq!(event.tenant_keys, vec!["106540352242922".to_owned()]);
    assert_eq!(event.team_id.as_deref(), Some("102290129340398"));
    assert_eq!(event.kind, Kind::Message);
    assert_eq!(event.occurred_at, Some(1_749_416_383));
    assert_eq!(
        event.text.as_deref(),
        Some("Does it come in another color?")
    );
    assert_eq!(
        event.sender,
        Some(Sender {
            id: "16505551234".to_owned(),
            display_name: Some("Sheena Nelson".to_owned()),
            is_bot: false,
        })
    );
    assert_eq!(
        event.conversation,
        Some(Conversation {
            id: "16505551234".to_owned(),
            kind: ConversationType::Dm,
            thread_id: None,
        })
    );
    let payload: Value = serde_json::from_slice(TEXT).unwrap();
    let value = &payload["entry"][0]["changes"][0]["value"];
    assert_eq!(
        event.raw,
        json!({
            "message": value["messages"][0],
            "metadata": value["metadata"],
            "contacts": value["contacts"],
        })
    );
}

#[test]
fn an_interactive_button_reply_is_an_interaction() {
    // Fixture: the reply-button example of Meta's interactive messages webhook reference.
    let event = single_event(BUTTON_REPLY);
    assert_eq!(event.kind, Kind::Interaction);
    assert_eq!(event.text.as_deref(), Some("Cancel"));
    assert_eq!(event.occurred_at, Some(1_739_321_024));
    assert_eq!(
        event.raw["message"]["context"]["id"],
        "wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA="
    );
}

#[test]
fn a_list_reply_is_an_interaction_with_the_row_title() {
    // Vector: the list-reply branch of the same reference page (row `priority_express`).
    let event = single_event(&with_message(json!({
        "from": "16505551234",
        "id": "wamid.list",
        "timestamp": "1739321024",
        "type": "interactive",
        "interactive": {
            "type": "list_reply",
            "list_reply": {
                "id": "priority_express",
                "title": "Priority Mail Express",
                "description": "Next Day to 2 Days"
            }
        }
    })));
    assert_eq!(event.kind, Kind::Interaction);
    assert_eq!(event.text.as_deref(), Some("Priority Mail Express"));
}

#[test]
fn a_template_quick_reply_button_is_an_interaction() {
    // Vector: a `button` message as Meta's `messages` reference describes quick-reply buttons
    // on templates (`button.payload`, `button.text`).
    let event = single_event(&with_message(json!({
        "from": "16505551234",
        "id": "wamid.button",
        "timestamp": "1739321024",
        "type": "button",
        "button": {"payload": "approve_order", "text": "Approve"}
    })));
    assert_eq!(event.kind, Kind::Interaction);
    assert_eq!(event.text.as_deref(), Some("Approve"));
}

#[test]
fn a_reaction_is_a_reaction() {
    // Vector: a `reaction` message as Meta's `messages` reference describes it.
    let event = single_event(&with_message(json!({
        "from": "16505551234",
        "id": "wamid.reaction",
        "timestamp": "1739321024",
        "type": "reaction",
        "reaction": {"message_id": "wamid.original", "emoji": "👍"}
    })));
    assert_eq!(event.kind, Kind::Reaction);
    assert_eq!(event.text, None);
}

#[test]
fn a_status_update_alone_produces_no_events() {
    // Fixture: a `sent` status from Meta's status messages webhook reference.
    assert_eq!(events(STATUS_SENT), Vec::<Event>::new());
}

#[test]
fn two_messages_in_one_body_are_two_events_in_order() {
    // Fixture: Meta's text message example with a second sender's message in the same change.
    let events = events(TWO_MESSAGES);
    assert_eq!(events.len(), 2);
    let senders: Vec<_> = events
        .iter()
        .map(|event| event.sender.clone().unwrap())
        .collect();
    assert_eq!(senders[0].id, "16505551234");
    assert_eq!(senders[0].display_name.as_deref(), Some("Sheena Nelson"));
    assert_eq!(senders[1].id, "16315551181");
    assert_eq!(senders[1].display_name.as_deref(), Some("Pablo Morales"));
    assert_eq!(events[1].text.as_deref(), Some("And in a larger size?"));
    // Each event carries only its own sender's contact.
    assert_eq!(events[0].raw["contacts"].as_array().unwrap().len(), 1);
    assert_eq!(events[1].raw["contacts"][0]["wa_id"], "16315551181");
}

#[test]
fn several_entries_and_changes_are_read_in_order() {
    // Vector: the text fixture's entry twice (the second under another WABA and phone number),
    // with a status-only change and a non-`messages` field in between.
    let mut payload: Value = serde_json::from_slice(TEXT).unwrap();
    let mut second = payload["entry"][0].clone();
    second["id"] = json!("200000000000001");
    second["changes"][0]["value"]["metadata"]["phone_number_id"] = json!("300000000000001");
    let status: Value = serde_json::from_slice(STATUS_SENT).unwrap();
    let mut changes = vec![status["entry"][0]["changes"][0].clone()];
    changes.push(json!({"field": "account_update", "value": {"event": "VERIFIED_ACCOUNT"}}));
    changes.push(second["changes"][0].clone());
    second["changes"] = Value::Array(changes);
    payload["entry"].as_array_mut().unwrap().push(second);
    let events = events(payload.to_string().as_bytes());
    let keys: Vec<_> = events
        .iter()
        .map(|event| (event.team_id.clone().unwrap(), event.tenant_keys.clone()))
        .collect();
    assert_eq!(
        keys,
        vec![
            (
                "102290129340398".to_owned(),
                vec!["106540352242922".to_owned()]
            ),
            (
                "200000000000001".to_owned(),
                vec!["300000000000001".to_owned()]
            ),
        ]
    );
}

#[test]
fn escaped_non_ascii_text_is_decoded() {
    // Fixture: a text message with `\u00e9`-escaped characters, as Meta sends them.
    let event = single_event(NON_ASCII);
    assert_eq!(event.text.as_deref(), Some("Un café, s’il vous plaît"));
    assert_eq!(
        event.sender.unwrap().display_name.as_deref(),
        Some("Renée Dupont")
    );
}

#[test]
fn a_sender_without_a_contact_has_no_display_name() {
    let mut payload: Value = serde_json::from_slice(TEXT).unwrap();
    payload["entry"][0]["changes"][0]["value"]
        .as_object_mut()
        .unwrap()
        .remove("contacts");
    let event = single_event(payload.to_string().as_bytes());
    assert_eq!(event.sender.unwrap().display_name, None);
    assert_eq!(event.raw["contacts"], json!([]));
}

#[test]
fn another_object_is_a_parse_error() {
    let body = String::from_utf8(TEXT.to_vec())
        .unwrap()
        .replace("whatsapp_business_account", "page");
    assert_eq!(
        reason(body.as_bytes()),
        "object is not whatsapp_business_account"
    );
}

#[test]
fn a_message_without_a_phone_number_id_is_a_parse_error() {
    let mut payload: Value = serde_json::from_slice(TEXT).unwrap();
    payload["entry"][0]["changes"][0]["value"]["metadata"] = json!({});
    assert_eq!(
        reason(payload.to_string().as_bytes()),
        "missing string field changes.value.metadata.phone_number_id"
    );
}

#[test]
fn a_message_without_an_id_is_a_parse_error() {
    let body = with_message(json!({"from": "16505551234", "type": "text"}));
    assert_eq!(reason(&body), "missing string field messages.id");
}

#[test]
fn a_body_without_entries_is_a_parse_error() {
    assert_eq!(
        reason(br#"{"object":"whatsapp_business_account"}"#),
        "missing array field entry"
    );
}

#[test]
fn a_body_that_is_not_json_is_a_parse_error() {
    assert!(reason(b"hub.mode=subscribe").starts_with("body is not JSON"));
}
