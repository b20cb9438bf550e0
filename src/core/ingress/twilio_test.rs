//! Tests for [`super::Twilio`]: Twilio's documented signature example, a pinned vector over the
//! SMS fixture computed independently, the JSON (`bodySHA256`) case, and the traps (another port,
//! another host, the shared-key mode). Fixtures: `tests/fixtures/twilio/`, sources in
//! `tests/fixtures/README.md`.

use super::*;
use crate::core::ingress::sign;

const SMS: &[u8] = include_bytes!("../../../tests/fixtures/twilio/sms.form");
const WHATSAPP: &[u8] = include_bytes!("../../../tests/fixtures/twilio/whatsapp.form");
const TOKEN: &str = "f3e2d1c0b9a8978695a4b3c2d1e0f9a8";
const URL: &str = "https://edge.example.com/webhooks/twilio/ins_0123?source=sms";
/// `X-Twilio-Signature` of [`SMS`] posted to [`URL`] under [`TOKEN`], computed with Python's
/// standard library (`urllib.parse.parse_qsl`, sorted pairs, `hmac` with SHA-1, base64).
const PINNED: &str = "5yAPqXSTUuEXMAmZDygaNt/+eVA=";

fn verify(
    url: &str,
    signature: Option<&str>,
    body: &[u8],
    tokens: &[&str],
) -> Result<(), Rejection> {
    let headers: Vec<(String, String)> = signature
        .map(|s| ("x-twilio-signature".to_owned(), s.to_owned()))
        .into_iter()
        .collect();
    let query: Vec<(String, String)> = url
        .split_once('?')
        .map(|(_, q)| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let request = Request {
        method: "POST",
        headers: &headers,
        query: &query,
        url,
        body,
    };
    let tokens: Vec<String> = tokens.iter().map(|t| (*t).to_owned()).collect();
    Twilio::verify(&request, &tokens, 0, 0)
}

#[test]
fn twilios_documented_example_verifies() {
    // "Webhooks security": auth token 12345, this URL and these parameters.
    let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
    let body = b"CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1234&From=%2B12349013030&To=%2B18005551212";
    assert_eq!(
        sign::twilio("12345", url, body),
        "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    );
    assert_eq!(
        verify(url, Some("0/KCTR6DLpKmkAf8muzZqo1nDgQ="), body, &["12345"]),
        Ok(())
    );
}

#[test]
fn the_pinned_vector_verifies_with_any_valid_token() {
    assert_eq!(sign::twilio(TOKEN, URL, SMS), PINNED);
    assert_eq!(
        verify(URL, Some(PINNED), SMS, &["other-token", TOKEN]),
        Ok(())
    );
    assert_eq!(
        verify(URL, Some(PINNED), SMS, &["other-token"]),
        Err(Rejection::BadSignature)
    );
    assert_eq!(
        verify(URL, Some(PINNED), SMS, &[""]),
        Err(Rejection::NoSecret)
    );
}

#[test]
fn the_url_must_be_the_one_twilio_signed_port_host_and_query_included() {
    for other in [
        "https://edge.example.com:443/webhooks/twilio/ins_0123?source=sms",
        "https://edge.example.com:8443/webhooks/twilio/ins_0123?source=sms",
        "https://attacker.example/webhooks/twilio/ins_0123?source=sms",
        "https://edge.example.com/webhooks/twilio/ins_0123",
        "https://edge.example.com/webhooks/twilio/ins_0123?source=mms",
        "http://edge.example.com/webhooks/twilio/ins_0123?source=sms",
    ] {
        assert_eq!(
            verify(other, Some(PINNED), SMS, &[TOKEN]),
            Err(Rejection::BadSignature),
            "{other}"
        );
    }
    assert_eq!(
        verify("", Some(PINNED), SMS, &[TOKEN]),
        Err(Rejection::BadSignature)
    );
}

#[test]
fn a_changed_parameter_does_not_verify() {
    let changed = String::from_utf8_lossy(SMS).replace("Hello+from", "Hallo+from");
    assert_eq!(
        verify(URL, Some(PINNED), changed.as_bytes(), &[TOKEN]),
        Err(Rejection::BadSignature)
    );
}

#[test]
fn json_bodies_are_covered_by_the_urls_body_sha256() {
    let body = br#"{"property": "value", "boolean": true}"#;
    let url = "https://example.com/myapp?bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
    let signature = sign::twilio("12345", url, body);
    assert_eq!(
        signature, "Klp85180pYIxzIO5cuyxpfh1BKw=",
        "computed with Python's hmac"
    );
    assert_eq!(verify(url, Some(&signature), body, &["12345"]), Ok(()));
    let other = br#"{"property": "other", "boolean": true}"#;
    assert_eq!(
        verify(url, Some(&signature), other, &["12345"]),
        Err(Rejection::BadSignature)
    );
}

#[test]
fn missing_malformed_and_shared_key_signatures_are_refused() {
    assert_eq!(
        verify(URL, None, SMS, &[TOKEN]),
        Err(Rejection::MissingHeader { header: SIGNATURE })
    );
    for bad in [
        "",
        "not base64!",
        "AAAA",
        "PINNEDPINNEDPINNEDPINNEDPINNEDPINNEDPINNED==",
    ] {
        assert_eq!(
            verify(URL, Some(bad), SMS, &[TOKEN]),
            Err(Rejection::MalformedSignature { header: SIGNATURE }),
            "{bad:?}"
        );
    }
    let headers = vec![
        ("X-Twilio-Signature".to_owned(), PINNED.to_owned()),
        (
            SIGNATURE_SETTINGS.to_owned(),
            "key=KSxxx,algorithm=HMAC_SHA256".to_owned(),
        ),
    ];
    let request = Request {
        method: "POST",
        headers: &headers,
        query: &[],
        url: URL,
        body: SMS,
    };
    assert_eq!(
        Twilio::verify(&request, &[TOKEN.to_owned()], 0, 0),
        Err(Rejection::MalformedSignature {
            header: SIGNATURE_SETTINGS
        })
    );
}

fn event(body: &[u8]) -> (Event, Ack) {
    match Twilio::parse(&Request::post(&[], body)).unwrap() {
        Parsed::Events { mut events, ack } => (events.remove(0), ack),
        other => panic!("expected events, got {other:?}"),
    }
}

#[test]
fn an_sms_is_a_message_from_the_sender_acknowledged_with_empty_twiml() {
    let (event, ack) = event(SMS);
    assert_eq!(ack, Ack::Xml(EMPTY_TWIML));
    assert_eq!(
        event.provider_event_id,
        "SM2c1f0d7e3a4b5c6d7e8f9a0b1c2d3e4f"
    );
    assert_eq!(event.kind, Kind::Message);
    assert_eq!(event.text.as_deref(), Some("Hello from the bay"));
    assert_eq!(event.sender.unwrap().id, "+15551234567");
    let conversation = event.conversation.unwrap();
    assert_eq!(
        (conversation.id.as_str(), conversation.kind),
        ("+15551234567", ConversationType::Dm)
    );
    assert_eq!(
        event.team_id.as_deref(),
        Some("AC0123456789abcdef0123456789abcdef")
    );
    assert_eq!(event.reply_context["number"], "+15557654321");
    assert!(
        event.tenant_keys.is_empty(),
        "the path names the installation"
    );
}

#[test]
fn a_whatsapp_message_keeps_its_prefix_and_profile_name() {
    let (event, _) = event(WHATSAPP);
    assert_eq!(event.text.as_deref(), Some("Hola, ¿hay alguien?"));
    let sender = event.sender.unwrap();
    assert_eq!(sender.id, "whatsapp:+5215512345678");
    assert_eq!(sender.display_name.as_deref(), Some("Ana María"));
    assert_eq!(event.reply_context["number"], "whatsapp:+14155238886");
}

#[test]
fn status_callbacks_make_no_event() {
    let callback =
        b"MessageSid=SM1&MessageStatus=delivered&SmsStatus=delivered&From=%2B15557654321";
    match Twilio::parse(&Request::post(&[], callback)).unwrap() {
        Parsed::Events { events, ack } => {
            assert!(events.is_empty());
            assert_eq!(ack, Ack::Xml(EMPTY_TWIML));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn forms_without_a_message_are_parse_errors() {
    for (body, reason) in [
        (&b"From=%2B1555"[..], "missing form field MessageSid"),
        (b"MessageSid=SM1", "missing form field From"),
        (b"MessageSid=&From=%2B1", "missing form field MessageSid"),
    ] {
        let error = Twilio::parse(&Request::post(&[], body)).unwrap_err();
        assert_eq!(error.reason, reason);
    }
}
