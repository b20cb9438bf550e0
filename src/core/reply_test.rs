use super::*;
use crate::core::ingress::{Conversation, ConversationType, Kind, Sender};
use serde_json::json;

const NOW: u64 = 1_800_000_000;
const NONCE: [u8; 12] = [7; 12];

fn ring() -> KeyRing {
    KeyRing::parse("k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap()
}

fn rotated() -> KeyRing {
    KeyRing::parse(
        "k2:Hx4dHBsaGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQA=,\
         k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
    )
    .unwrap()
}

fn reply_to() -> ReplyTo {
    ReplyTo {
        provider: Provider::Discord,
        org_id: "org_1".into(),
        installation_id: "ins_1".into(),
        binding_id: "bnd_1".into(),
        agent_id: "agent_a".into(),
        conversation_id: "C1".into(),
        thread_id: Some("T1".into()),
        message_id: Some("42".into()),
        handles: [("interaction_token".to_owned(), json!("secret-token"))]
            .into_iter()
            .collect(),
        expires_at: NOW + 900,
    }
}

#[test]
fn a_sealed_capability_opens_to_what_was_sealed_until_it_expires() {
    let sealed = seal(&ring(), &reply_to(), NONCE).unwrap();
    assert!(sealed.starts_with("rc1.k1."));
    assert_eq!(open(&ring(), &sealed, NOW), Ok(reply_to()));
    assert_eq!(open(&ring(), &sealed, NOW + 899), Ok(reply_to()));
    assert_eq!(open(&ring(), &sealed, NOW + 900), Err(ReplyError::Expired));
}

#[test]
fn the_provider_handles_inside_are_not_readable() {
    let sealed = seal(&ring(), &reply_to(), NONCE).unwrap();
    let (_, payload) = sealed.rsplit_once('.').unwrap();
    let bytes = URL_SAFE_NO_PAD.decode(payload).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    for plain in ["secret-token", "agent_a", "ins_1", "interaction_token"] {
        assert!(!sealed.contains(plain) && !text.contains(plain), "{plain}");
    }
}

#[test]
fn a_tampered_capability_does_not_open() {
    let sealed = seal(&ring(), &reply_to(), NONCE).unwrap();
    let (head, payload) = sealed.rsplit_once('.').unwrap();
    let mut bytes = URL_SAFE_NO_PAD.decode(payload).unwrap();
    for index in [0, 12, bytes.len() / 2, bytes.len() - 1] {
        bytes[index] ^= 1;
        let tampered = format!("{head}.{}", URL_SAFE_NO_PAD.encode(&bytes));
        assert_eq!(open(&ring(), &tampered, NOW), Err(ReplyError::Unauthentic));
        bytes[index] ^= 1;
    }
    // Another key id in the clear part: the associated data no longer matches.
    let moved = sealed.replacen("rc1.k1.", "rc1.k2.", 1);
    assert_eq!(open(&rotated(), &moved, NOW), Err(ReplyError::Unauthentic));
}

#[test]
fn another_deployment_cannot_open_it() {
    let other = KeyRing::parse("k1:Hx4dHBsaGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQA=").unwrap();
    let sealed = seal(&other, &reply_to(), NONCE).unwrap();
    assert_eq!(open(&ring(), &sealed, NOW), Err(ReplyError::Unauthentic));
}

#[test]
fn a_capability_survives_a_master_key_rotation() {
    let sealed = seal(&ring(), &reply_to(), NONCE).unwrap();
    assert_eq!(open(&rotated(), &sealed, NOW), Ok(reply_to()));
    assert!(seal(&rotated(), &reply_to(), NONCE)
        .unwrap()
        .starts_with("rc1.k2."));
}

#[test]
fn malformed_capabilities_are_refused() {
    let long = format!("rc1.k1.{}", "A".repeat(5000));
    for bad in [
        "",
        "rc1",
        "rc1.k1",
        "rc2.k1.AAAA",
        "rc1.k1.!!!!",
        "rc1.k1.AAAA",
        long.as_str(),
    ] {
        assert_eq!(open(&ring(), bad, NOW), Err(ReplyError::Malformed), "{bad}");
    }
    assert_eq!(
        open(
            &ring(),
            "rc1.nokey.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            NOW
        ),
        Err(ReplyError::Unauthentic)
    );
}

#[test]
fn errors_say_what_to_do_and_nothing_of_the_content() {
    for error in [
        ReplyError::Malformed,
        ReplyError::Unauthentic,
        ReplyError::Expired,
    ] {
        assert!(error.to_string().starts_with("reply_to"));
    }
    assert!(ReplyError::Expired.to_string().contains("binding_id"));
}

#[test]
fn an_event_is_answered_where_it_happened_for_as_long_as_the_provider_allows() {
    let routing = Routing {
        org_id: "org_1".into(),
        app_profile_id: "app_1".into(),
        installation_id: "ins_1".into(),
        binding_id: "bnd_1".into(),
        agent_id: "agent_a".into(),
    };
    let mut event = Event {
        provider_event_id: "Ev1".into(),
        semantic_key: None,
        app_id: None,
        tenant_keys: Vec::new(),
        team_id: None,
        kind: Kind::Message,
        occurred_at: None,
        sender: Some(Sender {
            id: "U1".into(),
            display_name: None,
            is_bot: false,
        }),
        conversation: Some(Conversation {
            id: "C1".into(),
            kind: ConversationType::Channel,
            thread_id: Some("T1".into()),
        }),
        text: Some("hi".into()),
        message_id: Some("42".into()),
        reply_context: [("interaction_token".to_owned(), json!("secret-token"))]
            .into_iter()
            .collect(),
        raw: json!({}),
    };
    let discord = ReplyTo::for_event(Provider::Discord, &routing, &event, NOW).unwrap();
    assert_eq!(discord, ReplyTo { ..reply_to() });
    let telegram = ReplyTo::for_event(Provider::Telegram, &routing, &event, NOW).unwrap();
    assert_eq!(telegram.expires_at, NOW + 24 * 3600);
    event.conversation = None;
    assert_eq!(
        ReplyTo::for_event(Provider::Slack, &routing, &event, NOW),
        None
    );
}
