use super::*;
use crate::core::outbound::test_answer as answer;
use crate::core::tenancy::Provider;

const BASE: &str = "https://slack.test/api";

fn target(thread_id: Option<&str>, message_id: Option<&str>, thread: Option<ThreadMode>) -> Target {
    Target {
        provider: Provider::Slack,
        org_id: "org_1".into(),
        installation_id: "ins_1".into(),
        binding_id: "bnd_1".into(),
        agent_id: "agent_a".into(),
        conversation_id: "C0HELP".into(),
        thread_id: thread_id.map(str::to_owned),
        message_id: message_id.map(str::to_owned),
        reply_to: None,
        thread,
    }
}

fn send(text: &str) -> Op {
    Op::Send {
        part: 0,
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
fn a_send_is_chat_post_message_with_the_bot_token() {
    let made = call(&send("*hi*"), &target(None, Some("1.5"), None), "xoxb-1").unwrap();
    assert_eq!(made.method, "POST");
    assert_eq!(made.url, "https://slack.test/api/chat.postMessage");
    assert!(made
        .headers
        .contains(&("Authorization", "Bearer xoxb-1".to_owned())));
    assert!(made
        .headers
        .contains(&("Content-Type", "application/json; charset=utf-8".to_owned())));
    assert_eq!(
        body(&made),
        json!({"channel": "C0HELP", "text": "*hi*", "mrkdwn": true})
    );
}

#[test]
fn a_reply_goes_where_the_answered_message_was_unless_told_otherwise() {
    let thread = |t: Target| body(&call(&send("x"), &t, "t").unwrap())["thread_ts"].clone();
    assert_eq!(thread(target(Some("1.0"), Some("1.5"), None)), "1.0");
    assert_eq!(thread(target(None, Some("1.5"), None)), Value::Null);
    assert_eq!(
        thread(target(None, Some("1.5"), Some(ThreadMode::Reply))),
        "1.5",
        "reply starts a thread under the answered message"
    );
    assert_eq!(
        thread(target(Some("1.0"), Some("1.5"), Some(ThreadMode::Channel))),
        Value::Null
    );
}

#[test]
fn edits_and_deletes_name_the_message_by_its_ts() {
    let t = target(None, None, None);
    let edit = Op::Edit {
        part: 0,
        provider_id: "1700.1".into(),
        text: "new".into(),
    };
    let made = call(&edit, &t, "t").unwrap();
    assert_eq!(made.url, "https://slack.test/api/chat.update");
    assert_eq!(
        body(&made),
        json!({"channel": "C0HELP", "ts": "1700.1", "text": "new"})
    );
    let delete = Op::Delete {
        part: 0,
        provider_id: "1700.1".into(),
    };
    let made = call(&delete, &t, "t").unwrap();
    assert_eq!(made.url, "https://slack.test/api/chat.delete");
    assert_eq!(body(&made), json!({"channel": "C0HELP", "ts": "1700.1"}));
    assert_eq!(call(&Op::Typing, &t, "t"), None);
}

#[test]
fn answers_are_read_as_slack_documents_them() {
    let op = send("x");
    assert_eq!(
        outcome(
            &op,
            &answer(200, r#"{"ok":true,"channel":"C0HELP","ts":"1700.2"}"#)
        ),
        Outcome::Done {
            provider_id: Some("1700.2".into())
        }
    );
    let headers = [("retry-after".to_owned(), "3".to_owned())];
    let limited = Answer {
        status: 429,
        headers: &headers,
        body: "",
    };
    assert_eq!(
        outcome(&op, &limited),
        Outcome::RateLimited { after_ms: 3000 }
    );
    assert_eq!(
        outcome(&op, &answer(200, r#"{"ok":false,"error":"ratelimited"}"#)),
        Outcome::RateLimited { after_ms: 1000 }
    );
    assert!(matches!(
        outcome(&op, &answer(503, "")),
        Outcome::Retry { .. }
    ));
    assert!(matches!(
        outcome(
            &op,
            &answer(200, r#"{"ok":false,"error":"internal_error"}"#)
        ),
        Outcome::Retry { .. }
    ));
    let delete = Op::Delete {
        part: 0,
        provider_id: "1".into(),
    };
    assert_eq!(
        outcome(
            &delete,
            &answer(200, r#"{"ok":false,"error":"message_not_found"}"#)
        ),
        Outcome::Done { provider_id: None },
        "already gone is deleted"
    );
}

#[test]
fn refusals_are_named_in_plain_words() {
    let op = send("x");
    for (error, code) in [
        ("not_in_channel", "not_in_conversation"),
        ("channel_not_found", "conversation_not_found"),
        ("invalid_auth", "credentials"),
        ("token_revoked", "credentials"),
        ("is_archived", "conversation_archived"),
        ("msg_too_long", "too_long"),
        ("cant_update_message", "not_modifiable"),
        ("something_new", "refused"),
    ] {
        let body = format!(r#"{{"ok":false,"error":"{error}"}}"#);
        let Outcome::Failed(failure) = outcome(&op, &answer(200, &body)) else {
            panic!("{error} is a refusal");
        };
        assert_eq!(failure.code, code, "{error}");
        assert!(failure.reason.contains(error), "{}", failure.reason);
    }
    let Outcome::Failed(failure) = outcome(&op, &answer(400, "not json")) else {
        panic!("garbage is a refusal");
    };
    assert_eq!(failure.code, "refused");
}

#[test]
fn a_provider_word_is_quoted_harmlessly() {
    assert_eq!(quoted("a\nb<c>"), "ab<c>");
    assert_eq!(quoted(&"x".repeat(500)).len(), 200);
    assert_eq!(seconds_to_ms(Some(" 7 ")), 7000);
    assert_eq!(seconds_to_ms(Some("0.25")), 250);
    assert_eq!(seconds_to_ms(Some("soon")), 1000);
    assert_eq!(seconds_to_ms(Some("-3")), 1000);
    assert_eq!(seconds_to_ms(Some("999999")), 3_600_000);
}
