use super::*;
use crate::core::outbound::test_answer as answer;
use crate::core::outbound::{instagram, ThreadMode};
use crate::core::tenancy::Provider;

fn target(provider: Provider) -> Target {
    Target {
        provider,
        org_id: "org_1".into(),
        installation_id: "ins_1".into(),
        binding_id: "bnd_1".into(),
        agent_id: "agent_a".into(),
        conversation_id: "1254459154682919".into(),
        thread_id: None,
        message_id: Some("m_IN".into()),
        reply_to: None,
        thread: Some(ThreadMode::Reply),
    }
}

fn call(sender: &Sender, op: &Op, base: &str) -> Option<HttpCall> {
    let handles = serde_json::Map::new();
    let metadata = Value::Null;
    let context = Context {
        base_url: base,
        credential: "page-token",
        handles: &handles,
        tenant_key: "682498302938465",
        metadata: &metadata,
        message_id: "msg_1",
        now: 1,
    };
    let provider = if sender.base_url_var == "GRAPH_API_BASE_URL" {
        Provider::Messenger
    } else {
        Provider::Instagram
    };
    (sender.request)(op, &target(provider), &context).unwrap()
}

fn body(call: &HttpCall) -> Value {
    serde_json::from_str(call.body.as_deref().unwrap()).unwrap()
}

fn send() -> Op {
    Op::Send {
        part: 0,
        text: "hi".into(),
    }
}

#[test]
fn messenger_sends_a_response_from_the_page() {
    let made = call(&SENDER, &send(), "https://graph.test/v21.0/").unwrap();
    assert_eq!(
        made.url,
        "https://graph.test/v21.0/682498302938465/messages"
    );
    assert!(made
        .headers
        .contains(&("Authorization", "Bearer page-token".to_owned())));
    assert_eq!(
        body(&made),
        json!({"recipient": {"id": "1254459154682919"}, "messaging_type": "RESPONSE",
               "message": {"text": "hi"}})
    );
}

#[test]
fn instagram_sends_the_same_call_without_a_messaging_type() {
    let made = call(&instagram::SENDER, &send(), "https://ig.test/v21.0").unwrap();
    assert_eq!(made.url, "https://ig.test/v21.0/682498302938465/messages");
    assert_eq!(
        body(&made),
        json!({"recipient": {"id": "1254459154682919"}, "message": {"text": "hi"}})
    );
}

#[test]
fn typing_and_seen_are_sender_actions_and_edits_are_not_calls() {
    for sender in [&SENDER, &instagram::SENDER] {
        let typing = body(&call(sender, &Op::Typing, "b").unwrap());
        assert_eq!(typing["sender_action"], "typing_on");
        assert!(typing.get("messaging_type").is_none());
        let seen = body(&call(sender, &Op::MarkRead, "b").unwrap());
        assert_eq!(seen["sender_action"], "mark_seen");
        let edit = Op::Edit {
            part: 0,
            provider_id: "m_1".into(),
            text: "x".into(),
        };
        assert_eq!(call(sender, &edit, "b"), None);
        let delete = Op::Delete {
            part: 0,
            provider_id: "m_1".into(),
        };
        assert_eq!(call(sender, &delete, "b"), None);
    }
}

#[test]
fn answers_map_to_outcomes() {
    let op = send();
    assert_eq!(
        outcome(
            &op,
            &answer(200, r#"{"recipient_id":"1254","message_id":"m_OUT"}"#)
        ),
        Outcome::Done {
            provider_id: Some("m_OUT".into())
        }
    );
    assert!(matches!(
        outcome(
            &op,
            &answer(400, r#"{"error":{"message":"limit","code":613}}"#)
        ),
        Outcome::RateLimited { .. }
    ));
    assert!(matches!(
        outcome(&op, &answer(500, r#"{"error":{"message":"x","code":2}}"#)),
        Outcome::Retry { .. }
    ));
}

#[test]
fn refusals_say_why() {
    let op = send();
    let failure = |body: &str| match outcome(&op, &answer(400, body)) {
        Outcome::Failed(failure) => failure,
        other => panic!("expected a failure, got {other:?}"),
    };
    let window = failure(
        r#"{"error":{"message":"(#10) This message is sent outside of allowed window.","code":10,"error_subcode":2018278}}"#,
    );
    assert_eq!(window.code, "window_closed");
    assert!(window.reason.contains("outside of allowed window"));
    assert_eq!(
        failure(r#"{"error":{"message":"This person isn't available right now.","code":551}}"#)
            .code,
        "undeliverable"
    );
    assert_eq!(
        failure(r#"{"error":{"message":"Invalid OAuth access token.","code":190}}"#).code,
        "credentials"
    );
    assert_eq!(
        failure(r#"{"error":{"message":"No matching user found","code":100}}"#).code,
        "conversation_not_found"
    );
    assert_eq!(
        failure(r#"{"error":{"message":"?","code":12345}}"#).code,
        "refused"
    );
}
