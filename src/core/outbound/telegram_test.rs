use super::*;
use crate::core::outbound::test_answer as answer;
use crate::core::tenancy::Provider;

const BASE: &str = "https://telegram.test";

fn target(thread_id: Option<&str>, message_id: Option<&str>, thread: Option<ThreadMode>) -> Target {
    Target {
        provider: Provider::Telegram,
        org_id: "org_1".into(),
        installation_id: "ins_1".into(),
        binding_id: "bnd_1".into(),
        agent_id: "agent_a".into(),
        conversation_id: "-1001234".into(),
        thread_id: thread_id.map(str::to_owned),
        message_id: message_id.map(str::to_owned),
        reply_to: None,
        thread,
    }
}

fn send(part: usize, text: &str) -> Op {
    Op::Send {
        part,
        text: text.into(),
    }
}

fn body(call: &HttpCall) -> Value {
    serde_json::from_str(call.body.as_deref().unwrap()).unwrap()
}

/// The request for `op` to `target` made with `credential`.
fn call(op: &Op, target: &Target, credential: &str) -> Option<HttpCall> {
    let handles = serde_json::Map::new();
    let metadata = Value::Null;
    let context = Context {
        base_url: BASE,
        credential,
        handles: &handles,
        tenant_key: "T1",
        metadata: &metadata,
        message_id: "msg_1",
        now: 1,
    };
    request(op, target, &context).unwrap()
}

#[test]
fn a_send_is_send_message_in_html_with_the_token_in_the_path() {
    let made = call(&send(0, "<b>hi</b>"), &target(None, None, None), "123:ABC").unwrap();
    assert_eq!(made.url, "https://telegram.test/bot123:ABC/sendMessage");
    assert_eq!(
        body(&made),
        json!({"chat_id": "-1001234", "text": "<b>hi</b>", "parse_mode": "HTML"})
    );
    assert!(made
        .headers
        .iter()
        .all(|(_, value)| !value.contains("123:ABC")));
}

#[test]
fn a_reply_stays_in_its_forum_topic_and_quotes_the_message_when_asked() {
    let t = target(Some("77"), Some("501"), Some(ThreadMode::Reply));
    let first = body(&call(&send(0, "a"), &t, "t").unwrap());
    assert_eq!(first["message_thread_id"], 77);
    assert_eq!(
        first["reply_parameters"],
        json!({"message_id": 501, "allow_sending_without_reply": true})
    );
    let second = body(&call(&send(1, "b"), &t, "t").unwrap());
    assert_eq!(second["message_thread_id"], 77);
    assert_eq!(
        second.get("reply_parameters"),
        None,
        "only the first part quotes"
    );
    let plain = body(&call(&send(0, "a"), &target(Some("77"), Some("501"), None), "t").unwrap());
    assert_eq!(plain.get("reply_parameters"), None);
    let out = body(
        &call(
            &send(0, "a"),
            &target(Some("77"), None, Some(ThreadMode::Channel)),
            "t",
        )
        .unwrap(),
    );
    assert_eq!(out.get("message_thread_id"), None);
}

#[test]
fn edits_deletes_and_typing_are_their_bot_api_methods() {
    let t = target(Some("77"), None, None);
    let edit = Op::Edit {
        part: 0,
        provider_id: "9".into(),
        text: "new".into(),
    };
    let made = call(&edit, &t, "t").unwrap();
    assert!(made.url.ends_with("/editMessageText"));
    assert_eq!(
        body(&made),
        json!({"chat_id": "-1001234", "message_id": 9, "text": "new", "parse_mode": "HTML"})
    );
    let delete = Op::Delete {
        part: 0,
        provider_id: "9".into(),
    };
    let made = call(&delete, &t, "t").unwrap();
    assert!(made.url.ends_with("/deleteMessage"));
    assert_eq!(body(&made), json!({"chat_id": "-1001234", "message_id": 9}));
    let made = call(&Op::Typing, &t, "t").unwrap();
    assert!(made.url.ends_with("/sendChatAction"));
    assert_eq!(
        body(&made),
        json!({"chat_id": "-1001234", "action": "typing", "message_thread_id": 77})
    );
}

#[test]
fn answers_are_read_as_the_bot_api_documents_them() {
    let op = send(0, "x");
    assert_eq!(
        outcome(
            &op,
            &answer(
                200,
                r#"{"ok":true,"result":{"message_id":812,"chat":{"id":1}}}"#
            )
        ),
        Outcome::Done {
            provider_id: Some("812".into())
        }
    );
    let limited = r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 2","parameters":{"retry_after":2}}"#;
    assert_eq!(
        outcome(&op, &answer(429, limited)),
        Outcome::RateLimited { after_ms: 2000 }
    );
    assert!(matches!(
        outcome(&op, &answer(502, "Bad Gateway")),
        Outcome::Retry { .. }
    ));
    let edit = Op::Edit {
        part: 0,
        provider_id: "1".into(),
        text: "same".into(),
    };
    let unchanged = r#"{"ok":false,"error_code":400,"description":"Bad Request: message is not modified: specified new message content and reply markup are exactly the same"}"#;
    assert_eq!(
        outcome(&edit, &answer(400, unchanged)),
        Outcome::Done { provider_id: None }
    );
    let delete = Op::Delete {
        part: 0,
        provider_id: "1".into(),
    };
    let gone =
        r#"{"ok":false,"error_code":400,"description":"Bad Request: message to delete not found"}"#;
    assert_eq!(
        outcome(&delete, &answer(400, gone)),
        Outcome::Done { provider_id: None }
    );
}

#[test]
fn refusals_keep_telegrams_description() {
    let op = send(0, "x");
    for (status, description, code) in [
        (400, "Bad Request: chat not found", "conversation_not_found"),
        (403, "Forbidden: bot was blocked by the user", "blocked"),
        (
            403,
            "Forbidden: bot was kicked from the supergroup chat",
            "blocked",
        ),
        (401, "Unauthorized", "credentials"),
        (400, "Bad Request: message is too long", "too_long"),
        (
            400,
            "Bad Request: can't parse entities: Unsupported start tag",
            "refused",
        ),
    ] {
        let body = format!(r#"{{"ok":false,"error_code":{status},"description":"{description}"}}"#);
        let Outcome::Failed(failure) = outcome(&op, &answer(status, &body)) else {
            panic!("{description} is a refusal");
        };
        assert_eq!(failure.code, code, "{description}");
        assert!(failure.reason.contains(description), "{}", failure.reason);
    }
}
