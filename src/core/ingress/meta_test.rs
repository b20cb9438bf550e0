//! Tests for [`super::messaging`] with Messenger's and Instagram's payloads (Meta's signature and
//! handshake are tested with WhatsApp's in `whatsapp_test.rs`, and once here through each spec).
//! Fixtures: `tests/fixtures/messenger/`, `tests/fixtures/instagram/`, sources in
//! `tests/fixtures/README.md`.

use super::*;
use crate::core::ingress::{instagram, messenger};
use crate::core::tenancy::Provider;

const TEXT: &[u8] = include_bytes!("../../../tests/fixtures/messenger/text.json");
const POSTBACK_REACTION_READ: &[u8] =
    include_bytes!("../../../tests/fixtures/messenger/postback_reaction_read.json");
const INSTAGRAM: &[u8] = include_bytes!("../../../tests/fixtures/instagram/text_and_echo.json");

fn events(provider: Provider, body: &[u8]) -> Vec<Event> {
    match (provider.spec().parse)(&Request::post(&[], body)).unwrap() {
        Parsed::Events { events, ack } => {
            assert_eq!(ack, Ack::Empty);
            events
        }
        other => panic!("expected events, got {other:?}"),
    }
}

fn sign(secret: &str, body: &[u8]) -> String {
    crate::core::ingress::sign::whatsapp(secret, body)
}

#[test]
fn both_specs_verify_metas_signature_and_refuse_sha1() {
    for spec in [&messenger::SPEC, &instagram::SPEC] {
        let secrets = vec!["app-secret".to_owned()];
        let headers = vec![(SIGNATURE.to_owned(), sign("app-secret", TEXT))];
        assert_eq!(
            spec.verify
                .natively(&Request::post(&headers, TEXT), &secrets, 0, 0),
            Ok(())
        );
        let other = vec![(SIGNATURE.to_owned(), sign("other", TEXT))];
        assert_eq!(
            spec.verify
                .natively(&Request::post(&other, TEXT), &secrets, 0, 0),
            Err(Rejection::BadSignature)
        );
        let hex = sign("app-secret", TEXT).replace("sha256=", "sha1=");
        let sha1 = vec![(SIGNATURE.to_owned(), hex)];
        assert_eq!(
            spec.verify
                .natively(&Request::post(&sha1, TEXT), &secrets, 0, 0),
            Err(Rejection::MalformedSignature { header: SIGNATURE })
        );
        assert!(spec.get_handshake.is_some(), "{}: hub challenge", spec.name);
        assert!(
            spec.unsigned_event_time,
            "{}: old events are refused",
            spec.name
        );
    }
}

#[test]
fn a_messenger_text_is_a_dm_found_by_its_page() {
    let [event] = events(Provider::Messenger, TEXT).try_into().unwrap();
    assert_eq!(
        event.provider_event_id,
        "mid.1457764197618:41d102a3e1ae206a38"
    );
    assert_eq!(event.kind, Kind::Message);
    assert_eq!(event.tenant_keys, ["682498302938465"]);
    assert_eq!(event.text.as_deref(), Some("hello, world!"));
    assert_eq!(event.occurred_at, Some(1_458_692_752));
    assert_eq!(event.sender.unwrap().id, "<PSID>");
    let conversation = event.conversation.unwrap();
    assert_eq!(
        (conversation.id.as_str(), conversation.kind),
        ("<PSID>", ConversationType::Dm)
    );
    assert_eq!(
        event.message_id.as_deref(),
        Some("mid.1457764197618:41d102a3e1ae206a38")
    );
}

#[test]
fn postbacks_and_reactions_are_events_and_read_receipts_are_not() {
    let [postback, reaction] = events(Provider::Messenger, POSTBACK_REACTION_READ)
        .try_into()
        .unwrap();
    assert_eq!(postback.kind, Kind::Interaction);
    assert_eq!(postback.text.as_deref(), Some("Talk to an agent"));
    assert!(postback.provider_event_id.starts_with("m_AG5Hz2"));
    assert_eq!(reaction.kind, Kind::Reaction);
    assert_eq!(
        reaction.provider_event_id,
        "mid.1458668856218:ed81099e15d3f4f233:react:\u{2764}\u{fe0f}"
    );
    assert_eq!(reaction.message_id, None);
}

#[test]
fn instagram_echoes_of_the_accounts_own_messages_are_dropped() {
    let [event] = events(Provider::Instagram, INSTAGRAM).try_into().unwrap();
    assert_eq!(event.tenant_keys, ["17841405793187218"]);
    assert_eq!(event.sender.unwrap().id, "1097356184053289");
    assert_eq!(event.text.as_deref(), Some("Hi Grüße"));
}

#[test]
fn numbers_and_strings_are_both_ids_and_times() {
    let body = br#"{"object":"page","entry":[{"id":682498302938465,"messaging":[
        {"sender":{"id":1254459154682919},"timestamp":"1527459824000",
         "message":{"mid":"m_1","text":"x"}}]}]}"#;
    let [event] = events(Provider::Messenger, body).try_into().unwrap();
    assert_eq!(event.tenant_keys, ["682498302938465"]);
    assert_eq!(event.sender.unwrap().id, "1254459154682919");
    assert_eq!(event.occurred_at, Some(1_527_459_824));
}

#[test]
fn standby_and_changes_entries_produce_nothing() {
    let body = br#"{"object":"page","entry":[{"id":"1","standby":[{"sender":{"id":"2"},
        "message":{"mid":"m_1","text":"x"}}]},{"id":"1","changes":[{"field":"feed"}]}]}"#;
    assert!(events(Provider::Messenger, body).is_empty());
}

#[test]
fn bodies_it_cannot_read_are_parse_errors() {
    for (provider, body, reason) in [
        (Provider::Messenger, &b"{"[..], "body is not JSON"),
        (Provider::Messenger, INSTAGRAM, "object is not page"),
        (Provider::Instagram, TEXT, "object is not instagram"),
        (Provider::Messenger, br#"{"object":"page"}"#, "missing array field entry"),
        (
            Provider::Messenger,
            br#"{"object":"page","entry":[{"messaging":[]}]}"#,
            "missing field entry.id",
        ),
        (
            Provider::Messenger,
            br#"{"object":"page","entry":[{"id":"1","messaging":[{"sender":{"id":"2"},"message":{"text":"x"}}]}]}"#,
            "missing string field messaging.message.mid",
        ),
        (
            Provider::Messenger,
            br#"{"object":"page","entry":[{"id":"1","messaging":[{"message":{"mid":"m","text":"x"}}]}]}"#,
            "missing string field messaging.sender.id",
        ),
    ] {
        let error = (provider.spec().parse)(&Request::post(&[], body)).unwrap_err();
        assert!(error.reason.starts_with(reason), "{}", error.reason);
    }
}
