//! Tests for [`super::Slack`]. Vectors: Slack's documented example in "Verifying requests from
//! Slack" (<https://docs.slack.dev/authentication/verifying-requests-from-slack>); every other
//! signature is made here with the `hmac` crate over `v0:{ts}:{body}` and is pinned to that
//! example by `documented_example_signs_as_documented`. Fixtures: `tests/fixtures/slack/`, whose
//! sources are in `tests/fixtures/README.md`.

use super::*;
use crate::core::ingress::{Ack, ConversationType, Kind, Parsed, Rejection, Reply, Request};
use hmac::Hmac;
use serde_json::json;
use sha2::Sha256;

/// Slack's documented example: signing secret, timestamp, body and signature.
const DOC_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const DOC_TIMESTAMP: &str = "1531420618";
const DOC_NOW: u64 = 1_531_420_618;
const DOC_BODY: &[u8] = include_bytes!("../../../tests/fixtures/slack/slash_command.form");
const DOC_SIGNATURE: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
const WINDOW: u64 = 300;

const URL_VERIFICATION: &[u8] =
    include_bytes!("../../../tests/fixtures/slack/url_verification.json");
const MESSAGE_CHANNELS: &[u8] =
    include_bytes!("../../../tests/fixtures/slack/message_channels.json");
const ENTERPRISE: &[u8] =
    include_bytes!("../../../tests/fixtures/slack/enterprise_app_mention.json");
const BLOCK_ACTIONS: &str = include_str!("../../../tests/fixtures/slack/block_actions.json");
const SSL_CHECK: &[u8] = include_bytes!("../../../tests/fixtures/slack/ssl_check.form");
const RATE_LIMITED: &[u8] = include_bytes!("../../../tests/fixtures/slack/app_rate_limited.json");

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
    secrets: &[&str],
    now: u64,
) -> Result<(), Rejection> {
    let headers = headers(signature, timestamp);
    let secrets: Vec<String> = secrets.iter().map(|s| (*s).to_owned()).collect();
    Slack::verify(&request(&headers, body), &secrets, now, WINDOW)
}

/// The documented example's request, verified at `now` with `secrets`.
fn verify_doc(signature: &str, secrets: &[&str], now: u64) -> Result<(), Rejection> {
    verify(Some(signature), Some(DOC_TIMESTAMP), DOC_BODY, secrets, now)
}

/// `v0=<hex HMAC-SHA256(secret, "v0:{timestamp}:{body}")>`.
fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("v0={hex}")
}

fn parse(body: &[u8]) -> Result<Parsed, ParseError> {
    Slack::parse(&request(&[], body))
}

fn single_event(body: &[u8]) -> Event {
    match parse(body).unwrap() {
        Parsed::Events { mut events, ack } => {
            assert_eq!(ack, Ack::Empty);
            assert_eq!(events.len(), 1);
            events.remove(0)
        }
        other => panic!("expected one event, got {other:?}"),
    }
}

/// An interactivity form body: `payload=<JSON>`.
fn interactivity_form(payload: &str) -> Vec<u8> {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", payload)
        .finish()
        .into_bytes()
}

fn reason(body: &[u8]) -> String {
    parse(body).unwrap_err().reason
}

// Verification. Vector: Slack's documented example, unless a test says otherwise.

#[test]
fn documented_example_verifies() {
    assert_eq!(verify_doc(DOC_SIGNATURE, &[DOC_SECRET], DOC_NOW), Ok(()));
}

#[test]
fn documented_example_signs_as_documented() {
    // Pins the test signer below to Slack's documented vector.
    assert_eq!(sign(DOC_SECRET, DOC_TIMESTAMP, DOC_BODY), DOC_SIGNATURE);
}

#[test]
fn documented_example_verifies_at_both_window_edges() {
    for now in [DOC_NOW - WINDOW, DOC_NOW + WINDOW] {
        assert_eq!(verify_doc(DOC_SIGNATURE, &[DOC_SECRET], now), Ok(()));
    }
}

#[test]
fn header_names_are_case_insensitive() {
    let headers = vec![
        ("x-slack-signature".to_owned(), DOC_SIGNATURE.to_owned()),
        (
            "X-SLACK-REQUEST-TIMESTAMP".to_owned(),
            DOC_TIMESTAMP.to_owned(),
        ),
    ];
    let secrets = vec![DOC_SECRET.to_owned()];
    let result = Slack::verify(&request(&headers, DOC_BODY), &secrets, DOC_NOW, WINDOW);
    assert_eq!(result, Ok(()));
}

#[test]
fn missing_signature_header_is_refused() {
    let result = verify(None, Some(DOC_TIMESTAMP), DOC_BODY, &[DOC_SECRET], DOC_NOW);
    assert_eq!(result, Err(Rejection::MissingHeader { header: SIGNATURE }));
}

#[test]
fn missing_timestamp_header_is_refused() {
    let result = verify(Some(DOC_SIGNATURE), None, DOC_BODY, &[DOC_SECRET], DOC_NOW);
    assert_eq!(result, Err(Rejection::MissingHeader { header: TIMESTAMP }));
}

fn assert_malformed_signature(signature: &str) {
    assert_eq!(
        verify_doc(signature, &[DOC_SECRET], DOC_NOW),
        Err(Rejection::MalformedSignature { header: SIGNATURE }),
        "{signature:?}"
    );
}

#[test]
fn empty_signature_is_malformed() {
    // The trap in providers.md: a zip()-style compare accepted an empty signature.
    assert_malformed_signature("v0=");
    assert_malformed_signature("");
}

#[test]
fn wrong_prefix_is_malformed() {
    let hex = &DOC_SIGNATURE[3..];
    assert_malformed_signature(&format!("v1={hex}"));
    assert_malformed_signature(hex);
    assert_malformed_signature(&format!("V0={hex}"));
}

#[test]
fn wrong_length_is_malformed() {
    assert_malformed_signature(&DOC_SIGNATURE[..DOC_SIGNATURE.len() - 1]);
    assert_malformed_signature(&DOC_SIGNATURE[..DOC_SIGNATURE.len() - 2]);
    assert_malformed_signature(&format!("{DOC_SIGNATURE}00"));
    assert_malformed_signature(&format!("{DOC_SIGNATURE} "));
}

#[test]
fn non_hex_is_malformed() {
    let mut signature = DOC_SIGNATURE.to_owned();
    signature.replace_range(10..11, "g");
    assert_malformed_signature(&signature);
    // 64 bytes, but not 64 hex digits.
    assert_malformed_signature(&format!("v0={}", "é".repeat(32)));
}

#[test]
fn wrong_signature_is_refused() {
    // The documented signature with its last digit changed (9 → a).
    let signature = format!("{}a", &DOC_SIGNATURE[..DOC_SIGNATURE.len() - 1]);
    assert_eq!(
        verify_doc(&signature, &[DOC_SECRET], DOC_NOW),
        Err(Rejection::BadSignature)
    );
}

#[test]
fn upper_case_hex_of_the_right_signature_verifies() {
    let signature = format!("v0={}", DOC_SIGNATURE[3..].to_ascii_uppercase());
    assert_eq!(verify_doc(&signature, &[DOC_SECRET], DOC_NOW), Ok(()));
}

#[test]
fn wrong_secret_is_refused() {
    assert_eq!(
        verify_doc(
            DOC_SIGNATURE,
            &["8f742231b10e8888abcd99yyyzzz85a6"],
            DOC_NOW
        ),
        Err(Rejection::BadSignature)
    );
}

#[test]
fn stale_timestamp_is_refused() {
    assert_eq!(
        verify_doc(DOC_SIGNATURE, &[DOC_SECRET], DOC_NOW + WINDOW + 1),
        Err(Rejection::StaleTimestamp)
    );
}

#[test]
fn future_timestamp_is_refused() {
    assert_eq!(
        verify_doc(DOC_SIGNATURE, &[DOC_SECRET], DOC_NOW - WINDOW - 1),
        Err(Rejection::FutureTimestamp)
    );
}

#[test]
fn timestamp_is_checked_before_the_signature() {
    let wrong = format!("v0={}", "0".repeat(64));
    assert_eq!(
        verify_doc(&wrong, &[DOC_SECRET], DOC_NOW + WINDOW + 1),
        Err(Rejection::StaleTimestamp)
    );
}

#[test]
fn non_numeric_timestamp_is_malformed() {
    for timestamp in [
        "",
        "abc",
        "1531420618a",
        "-1531420618",
        " 1531420618",
        "1531420618.5",
        "+1",
    ] {
        let result = verify(
            Some(DOC_SIGNATURE),
            Some(timestamp),
            DOC_BODY,
            &[DOC_SECRET],
            DOC_NOW,
        );
        assert_eq!(
            result,
            Err(Rejection::MalformedTimestamp { header: TIMESTAMP }),
            "{timestamp:?}"
        );
    }
}

#[test]
fn huge_timestamps_are_refused_without_overflow() {
    // One past u64::MAX does not parse; u64::MAX itself is far in the future.
    let result = verify(
        Some(DOC_SIGNATURE),
        Some("18446744073709551616"),
        DOC_BODY,
        &[DOC_SECRET],
        DOC_NOW,
    );
    assert_eq!(
        result,
        Err(Rejection::MalformedTimestamp { header: TIMESTAMP })
    );
    let result = verify(
        Some(DOC_SIGNATURE),
        Some("18446744073709551615"),
        DOC_BODY,
        &[DOC_SECRET],
        DOC_NOW,
    );
    assert_eq!(result, Err(Rejection::FutureTimestamp));
}

#[test]
fn body_altered_by_one_byte_is_refused() {
    let mut body = DOC_BODY.to_vec();
    let last = body.len() - 1;
    body[last] ^= 1;
    let result = verify(
        Some(DOC_SIGNATURE),
        Some(DOC_TIMESTAMP),
        &body,
        &[DOC_SECRET],
        DOC_NOW,
    );
    assert_eq!(result, Err(Rejection::BadSignature));
}

#[test]
fn timestamp_is_signed() {
    // The documented signature under a different (still fresh) timestamp.
    let result = verify(
        Some(DOC_SIGNATURE),
        Some("1531420619"),
        DOC_BODY,
        &[DOC_SECRET],
        DOC_NOW,
    );
    assert_eq!(result, Err(Rejection::BadSignature));
}

#[test]
fn no_secrets_is_refused() {
    assert_eq!(
        verify_doc(DOC_SIGNATURE, &[], DOC_NOW),
        Err(Rejection::NoSecret)
    );
}

#[test]
fn empty_secrets_are_never_used() {
    // A request signed with an empty key must not pass because a secret is blank.
    let signature = sign("", DOC_TIMESTAMP, DOC_BODY);
    assert_eq!(
        verify_doc(&signature, &[""], DOC_NOW),
        Err(Rejection::NoSecret)
    );
    assert_eq!(
        verify_doc(&signature, &["", DOC_SECRET], DOC_NOW),
        Err(Rejection::BadSignature)
    );
}

#[test]
fn rotation_accepts_the_old_and_the_new_secret() {
    // Vectors: the documented example (old secret) and a signature made here with a new one.
    let new = "new-signing-secret-0123456789abcdef";
    let signed_with_new = sign(new, DOC_TIMESTAMP, DOC_BODY);
    assert_eq!(
        verify_doc(DOC_SIGNATURE, &[new, DOC_SECRET], DOC_NOW),
        Ok(())
    );
    assert_eq!(
        verify_doc(&signed_with_new, &[new, DOC_SECRET], DOC_NOW),
        Ok(())
    );
    assert_eq!(verify_doc(&signed_with_new, &[new], DOC_NOW), Ok(()));
    assert_eq!(
        verify_doc(DOC_SIGNATURE, &[new], DOC_NOW),
        Err(Rejection::BadSignature)
    );
}

#[test]
fn rejections_never_contain_the_expected_signature_or_secret() {
    let expected_hex = &DOC_SIGNATURE[3..];
    let wrong = format!("v0={}", "0".repeat(64));
    let rejections = [
        verify_doc(&wrong, &[DOC_SECRET], DOC_NOW),
        verify_doc("v0=", &[DOC_SECRET], DOC_NOW),
        verify_doc(&wrong, &[DOC_SECRET], DOC_NOW + WINDOW + 1),
        verify(Some(&wrong), Some("x"), DOC_BODY, &[DOC_SECRET], DOC_NOW),
        verify_doc(&wrong, &[], DOC_NOW),
    ];
    for rejection in rejections {
        let rejection = rejection.unwrap_err();
        for text in [
            rejection.to_string(),
            format!("{rejection:?}"),
            rejection.code().to_owned(),
        ] {
            assert!(!text.contains(expected_hex), "{text}");
            assert!(!text.contains(DOC_SECRET), "{text}");
        }
    }
}

// Parsing. Fixtures: tests/fixtures/slack (sources in tests/fixtures/README.md).

#[test]
fn url_verification_echoes_the_challenge() {
    // Fixture: the Events API docs' url_verification example.
    assert_eq!(
        parse(URL_VERIFICATION),
        Ok(Parsed::Handshake(Reply {
            status: 200,
            content_type: "text/plain",
            body: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P".to_owned(),
        }))
    );
}

#[test]
fn channel_message_is_normalised() {
    // Fixture: Slack's documented message.channels example in its event_callback envelope.
    let event = single_event(MESSAGE_CHANNELS);
    assert_eq!(event.provider_event_id, "Ev123ABC456");
    assert_eq!(
        event.semantic_key.as_deref(),
        Some("T123ABC456:C123ABC456:1355517523.000005")
    );
    assert_eq!(event.app_id.as_deref(), Some("A123ABC456"));
    assert_eq!(event.tenant_keys, vec!["T123ABC456"]);
    assert_eq!(event.team_id.as_deref(), Some("T123ABC456"));
    assert_eq!(event.kind, Kind::Message);
    assert_eq!(event.occurred_at, Some(1_355_517_523));
    assert_eq!(
        event.sender,
        Some(Sender {
            id: "U123ABC456".to_owned(),
            display_name: None,
            is_bot: false,
        })
    );
    assert_eq!(
        event.conversation,
        Some(Conversation {
            id: "C123ABC456".to_owned(),
            kind: ConversationType::Channel,
            thread_id: None,
        })
    );
    assert_eq!(event.text.as_deref(), Some("Live long and prospect."));
    assert!(event.reply_context.is_empty());
    let mut expected_raw: Value = serde_json::from_slice(MESSAGE_CHANNELS).unwrap();
    expected_raw.as_object_mut().unwrap().remove("token");
    assert_eq!(event.raw, expected_raw);
}

#[test]
fn enterprise_payload_names_the_enterprise_first() {
    // Fixture: an org-wide (Enterprise Grid) install's app_mention, built from the Events API
    // envelope fields and the app_mention docs example.
    let event = single_event(ENTERPRISE);
    assert_eq!(event.tenant_keys, vec!["T123ABC456", "E123ABC456"]);
    assert_eq!(event.team_id.as_deref(), Some("T123ABC456"));
    assert_eq!(event.kind, Kind::Message);
    let conversation = event.conversation.unwrap();
    assert_eq!(conversation.thread_id.as_deref(), Some("1515449483.000108"));
    assert_eq!(conversation.kind, ConversationType::Channel);
    assert_eq!(
        event.semantic_key.as_deref(),
        Some("T123ABC456:C123ABC456:1515449522.000016")
    );
}

#[test]
fn enterprise_id_falls_back_to_the_first_authorization() {
    // Fixture: the enterprise payload without its top-level enterprise_id.
    let mut payload: Value = serde_json::from_slice(ENTERPRISE).unwrap();
    payload.as_object_mut().unwrap().remove("enterprise_id");
    let event = single_event(payload.to_string().as_bytes());
    assert_eq!(event.tenant_keys, vec!["T123ABC456", "E123ABC456"]);
}

#[test]
fn null_enterprise_id_is_skipped() {
    // Fixture: message.channels with the null enterprise_id Slack sends outside Enterprise Grid.
    let mut payload: Value = serde_json::from_slice(MESSAGE_CHANNELS).unwrap();
    payload["enterprise_id"] = Value::Null;
    assert_eq!(
        single_event(payload.to_string().as_bytes()).tenant_keys,
        vec!["T123ABC456"]
    );
}

#[test]
fn bots_dms_threads_and_other_kinds_are_recognised() {
    // Fixture: message.channels with its event changed field by field.
    let mut payload: Value = serde_json::from_slice(MESSAGE_CHANNELS).unwrap();
    payload["event"] = json!({
        "type": "message", "subtype": "bot_message", "bot_id": "B123", "channel": "D123",
        "channel_type": "im", "text": "beep", "ts": "1355517524.000001",
        "thread_ts": "1355517523.000005"
    });
    payload.as_object_mut().unwrap().remove("event_time");
    let event = single_event(payload.to_string().as_bytes());
    let sender = event.sender.unwrap();
    assert_eq!((sender.id.as_str(), sender.is_bot), ("B123", true));
    let conversation = event.conversation.unwrap();
    assert_eq!(conversation.kind, ConversationType::Dm);
    assert_eq!(conversation.thread_id.as_deref(), Some("1355517523.000005"));
    assert_eq!(event.occurred_at, Some(1_355_517_524), "floor of event.ts");
    for (kind, expected) in [
        ("reaction_added", Kind::Reaction),
        ("reaction_removed", Kind::Reaction),
        ("member_joined_channel", Kind::Membership),
        ("member_left_channel", Kind::Membership),
        ("app_home_opened", Kind::Other),
    ] {
        payload["event"] = json!({"type": kind, "user": "U1", "item": {"channel": "C9"}});
        let event = single_event(payload.to_string().as_bytes());
        assert_eq!(event.kind, expected, "{kind}");
        assert_eq!(event.semantic_key, None, "{kind}");
        assert_eq!(event.conversation.map(|c| c.id).as_deref(), Some("C9"));
    }
    payload["event"]["channel_type"] = json!("mpim");
    payload["event"]["channel"] = json!("G1");
    assert_eq!(
        single_event(payload.to_string().as_bytes())
            .conversation
            .unwrap()
            .kind,
        ConversationType::Group
    );
}

#[test]
fn slash_command_is_a_command() {
    // Fixture: the slash command body of Slack's documented signing example.
    let event = single_event(DOC_BODY);
    assert_eq!(
        event.provider_event_id,
        "398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    );
    assert_eq!(event.kind, Kind::Command);
    assert_eq!(event.text.as_deref(), Some("/webhook-collect"));
    assert_eq!(event.tenant_keys, vec!["T1DC2JH3J"]);
    assert_eq!(event.team_id.as_deref(), Some("T1DC2JH3J"));
    assert_eq!(event.app_id, None, "the 2018 example predates api_app_id");
    assert_eq!(
        event.sender,
        Some(Sender {
            id: "U2CERLKJA".to_owned(),
            display_name: Some("roadrunner".to_owned()),
            is_bot: false,
        })
    );
    let conversation = event.conversation.unwrap();
    assert_eq!(
        (conversation.id.as_str(), conversation.kind),
        ("G8PSS9T3V", ConversationType::Channel)
    );
    assert_eq!(
        Value::Object(event.reply_context),
        json!({"response_url": "https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN"})
    );
    assert_eq!(event.raw["command"], "/webhook-collect");
    assert_eq!(event.raw["text"], "");
    assert_eq!(
        event.raw.get("token"),
        None,
        "the verification token is not passed on"
    );
    assert_eq!(
        event.raw.get("response_url"),
        None,
        "the response_url is sealed into the reply capability, not passed on"
    );
}

#[test]
fn slash_command_text_enterprise_and_app_are_read() {
    // Fixture: a slash command body built here with the documented field names.
    let body = "command=%2Fdeploy&text=+prod+now+&team_id=T1&enterprise_id=E1&api_app_id=A1\
        &user_id=U1&channel_id=D1&channel_name=directmessage&trigger_id=1.2.3";
    let event = single_event(body.as_bytes());
    assert_eq!(event.text.as_deref(), Some("/deploy  prod now"));
    assert_eq!(event.tenant_keys, vec!["T1", "E1"]);
    assert_eq!(event.app_id.as_deref(), Some("A1"));
    assert_eq!(event.conversation.unwrap().kind, ConversationType::Dm);
    assert!(event.reply_context.is_empty());
}

#[test]
fn block_actions_is_an_interaction() {
    // Fixture: the block_actions example from Slack's interaction payload reference.
    let event = single_event(&interactivity_form(BLOCK_ACTIONS));
    assert_eq!(
        event.provider_event_id,
        "12321423423.333649436676.d8c1bb837935619ccad0f624c448ffb3"
    );
    assert_eq!(event.kind, Kind::Interaction);
    assert_eq!(event.app_id.as_deref(), Some("AABA1ABCD"));
    assert_eq!(event.team_id.as_deref(), Some("T9TK3CUKW"));
    assert_eq!(event.tenant_keys, vec!["T9TK3CUKW"]);
    assert_eq!(
        event.sender,
        Some(Sender {
            id: "UA8RXUSPL".to_owned(),
            display_name: Some("jtorrance".to_owned()),
            is_bot: false,
        })
    );
    assert_eq!(event.conversation.unwrap().id, "CBR2V3XEX");
    assert_eq!(
        Value::Object(event.reply_context),
        json!({"response_url": "https://hooks.slack.com/actions/AABA1ABCD/1232321423432/D09sSasdasdAS9091209"})
    );
    assert_eq!(event.raw["actions"][0]["value"], "click_me_123");
    assert_eq!(event.raw.get("token"), None);
    assert_eq!(event.raw.get("response_url"), None);
    assert_eq!(
        event.message_id,
        event.raw["container"]["message_ts"]
            .as_str()
            .map(str::to_owned)
    );
}

#[test]
fn interaction_without_trigger_id_uses_message_ts_and_user() {
    // Fixture: the block_actions example without trigger_id, response_url and channel, and
    // from an Enterprise Grid team.
    let mut payload: Value = serde_json::from_str(BLOCK_ACTIONS).unwrap();
    for field in ["trigger_id", "response_url", "channel"] {
        payload.as_object_mut().unwrap().remove(field);
    }
    payload["team"]["enterprise_id"] = json!("E9");
    let event = single_event(&interactivity_form(&payload.to_string()));
    assert_eq!(event.provider_event_id, "1548261231.000200:UA8RXUSPL");
    assert!(event.reply_context.is_empty());
    assert_eq!(
        event.conversation.unwrap().id,
        "CBR2V3XEX",
        "from container.channel_id"
    );
    assert_eq!(event.tenant_keys, vec!["T9TK3CUKW", "E9"]);
}

#[test]
fn ssl_check_is_answered_empty() {
    // Fixture: the ssl_check form described in "Implementing slash commands".
    assert_eq!(
        parse(SSL_CHECK),
        Ok(Parsed::Handshake(Reply {
            status: 200,
            content_type: "text/plain",
            body: String::new(),
        }))
    );
}

#[test]
fn unknown_types_carry_no_events() {
    // Fixture: the Events API docs' app_rate_limited example.
    assert_eq!(
        parse(RATE_LIMITED),
        Ok(Parsed::Events {
            events: vec![],
            ack: Ack::Empty,
        })
    );
}

#[test]
fn json_is_recognised_by_its_first_byte_after_spaces() {
    // Fixture: url_verification after leading white space.
    let mut body = b" \r\n\t".to_vec();
    body.extend_from_slice(URL_VERIFICATION);
    assert!(matches!(parse(&body), Ok(Parsed::Handshake(_))));
}

#[test]
fn malformed_bodies_name_what_is_wrong() {
    // Vectors: hand-made broken bodies.
    assert!(reason(b"{\"type\": ").starts_with("body is not JSON"));
    assert_eq!(reason(b"{}"), "missing string field type");
    assert_eq!(
        reason(br#"{"type":"url_verification"}"#),
        "missing string field challenge"
    );
    assert_eq!(
        reason(br#"{"type":"event_callback","team_id":"T1","event_id":"Ev1"}"#),
        "missing string field event"
    );
    assert_eq!(
        reason(br#"{"type":"event_callback","team_id":"T1","event_id":"Ev1","event":{}}"#),
        "missing string field event.type"
    );
    assert_eq!(
        reason(br#"{"type":"event_callback","event_id":"Ev1","event":{"type":"message"}}"#),
        "missing string field team_id"
    );
    assert_eq!(
        reason(br#"{"type":"event_callback","team_id":"T1","event":{"type":"message"}}"#),
        "missing string field event_id"
    );
    assert_eq!(
        reason(b""),
        "form body has no command, payload or ssl_check field"
    );
    assert_eq!(
        reason(b"hello"),
        "form body has no command, payload or ssl_check field"
    );
    assert_eq!(
        reason(b"command=%2Fx&team_id=T1&user_id=U1"),
        "missing form field trigger_id"
    );
    assert_eq!(
        reason(b"command=%2Fx&trigger_id=1&user_id=U1"),
        "missing form field team_id"
    );
    assert_eq!(
        reason(b"command=%2Fx&trigger_id=1&team_id=T1"),
        "missing form field user_id"
    );
    assert!(reason(b"payload=not-json").starts_with("payload is not JSON"));
    assert_eq!(
        reason(&interactivity_form(r#"{"type":"block_actions"}"#)),
        "missing string field user.id"
    );
    assert_eq!(
        reason(&interactivity_form(
            r#"{"type":"block_actions","user":{"id":"U1"},"trigger_id":"1"}"#
        )),
        "missing string field team.id"
    );
    assert_eq!(
        reason(&interactivity_form(
            r#"{"type":"block_actions","user":{"id":"U1"},"team":{"id":"T1"}}"#
        )),
        "missing string field trigger_id"
    );
}
