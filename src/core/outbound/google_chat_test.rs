use super::*;
use crate::core::outbound::test_answer as answer;
use crate::core::tenancy::Provider;

fn target(thread: Option<ThreadMode>, conversation: &str) -> Target {
    Target {
        provider: Provider::GoogleChat,
        org_id: "org_1".into(),
        installation_id: "ins_1".into(),
        binding_id: "bnd_1".into(),
        agent_id: "agent_a".into(),
        conversation_id: conversation.into(),
        thread_id: Some("spaces/AAAA/threads/BBBB".into()),
        message_id: Some("spaces/AAAA/messages/CCCC".into()),
        reply_to: None,
        thread,
    }
}

fn made(op: &Op, target: &Target) -> Result<Option<HttpCall>, Failure> {
    let handles = serde_json::Map::new();
    let context = Context {
        base_url: "https://chat.test/",
        credential: "ya29.token",
        handles: &handles,
        tenant_key: "spaces/AAAA",
        metadata: &Value::Null,
        message_id: "msg_1",
        now: 1,
    };
    request(op, target, &context)
}

fn send(part: usize) -> Op {
    Op::Send {
        part,
        text: "*hi*".into(),
    }
}

#[test]
fn a_reply_goes_into_the_thread_with_a_client_id_per_part() {
    let call = made(&send(0), &target(None, "spaces/AAAA"))
        .unwrap()
        .unwrap();
    let id = format!("client-{}", derived_uuid("msg_1", 0));
    assert_eq!(
        call.url,
        format!("https://chat.test/v1/spaces/AAAA/messages?messageId={id}&messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD")
    );
    assert!(
        id.len() <= 63
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    );
    assert!(call.idempotent);
    assert!(call
        .headers
        .contains(&("Authorization", "Bearer ya29.token".to_owned())));
    let body: Value = serde_json::from_str(call.body.as_deref().unwrap()).unwrap();
    assert_eq!(body["text"], "*hi*");
    assert_eq!(body["thread"]["name"], "spaces/AAAA/threads/BBBB");
    let second = made(&send(1), &target(None, "spaces/AAAA"))
        .unwrap()
        .unwrap();
    assert_ne!(second.url, call.url);
    let channel = made(&send(0), &target(Some(ThreadMode::Channel), "spaces/AAAA"))
        .unwrap()
        .unwrap();
    assert!(!channel.body.unwrap().contains("thread"));
}

#[test]
fn edits_and_deletes_name_the_parts_client_id() {
    let id = format!("client-{}", derived_uuid("msg_1", 2));
    let edit = Op::Edit {
        part: 2,
        provider_id: "spaces/AAAA/messages/x".into(),
        text: "new".into(),
    };
    let call = made(&edit, &target(None, "spaces/AAAA")).unwrap().unwrap();
    assert_eq!(call.method, "PATCH");
    assert_eq!(
        call.url,
        format!("https://chat.test/v1/spaces/AAAA/messages/{id}?updateMask=text")
    );
    let delete = Op::Delete {
        part: 2,
        provider_id: "x".into(),
    };
    let call = made(&delete, &target(None, "spaces/AAAA"))
        .unwrap()
        .unwrap();
    assert_eq!((call.method, call.body), ("DELETE", None));
    assert_eq!(
        made(&Op::Typing, &target(None, "spaces/AAAA")).unwrap(),
        None
    );
}

#[test]
fn a_conversation_that_is_not_a_space_name_fails_before_any_call() {
    for conversation in [
        "AAAA",
        "spaces/",
        "spaces/../x",
        "spaces/A/messages/B",
        "https://x/",
    ] {
        let failure = made(&send(0), &target(None, conversation)).unwrap_err();
        assert_eq!(failure.code, "conversation_not_found", "{conversation}");
    }
}

#[test]
fn answers_map_to_outcomes() {
    let done = outcome(
        &send(0),
        &answer(200, r#"{"name":"spaces/AAAA/messages/client-x"}"#),
    );
    assert_eq!(
        done,
        Outcome::Done {
            provider_id: Some("spaces/AAAA/messages/client-x".into())
        }
    );
    assert_eq!(
        outcome(&send(0), &answer(409, r#"{"error":{"message":"exists"}}"#)),
        Outcome::Done { provider_id: None }
    );
    let delete = Op::Delete {
        part: 0,
        provider_id: "x".into(),
    };
    assert_eq!(
        outcome(&delete, &answer(404, "")),
        Outcome::Done { provider_id: None }
    );
    assert!(matches!(
        outcome(&send(0), &answer(429, "")),
        Outcome::RateLimited { .. }
    ));
    assert!(matches!(
        outcome(&send(0), &answer(503, "")),
        Outcome::Retry { .. }
    ));
    for (status, code) in [
        (401, "credentials"),
        (403, "not_in_conversation"),
        (404, "conversation_not_found"),
        (400, "refused"),
    ] {
        match outcome(&send(0), &answer(status, r#"{"error":{"message":"why"}}"#)) {
            Outcome::Failed(failure) => {
                assert_eq!(failure.code, code, "{status}");
                assert!(failure.reason.contains("why"));
            }
            other => panic!("{status}: {other:?}"),
        }
    }
}
