use super::*;
use crate::core::tenancy::Provider;

const BASE: &str = "https://line.test/";

fn target(conversation: &str, thread: Option<ThreadMode>) -> Target {
    Target {
        provider: Provider::Line,
        org_id: "org_1".into(),
        installation_id: "ins_1".into(),
        binding_id: "bnd_1".into(),
        agent_id: "agent_a".into(),
        conversation_id: conversation.into(),
        thread_id: None,
        message_id: Some("444573844083572737".into()),
        reply_to: None,
        thread,
    }
}

fn call_with(
    op: &Op,
    target: &Target,
    handles: &serde_json::Map<String, Value>,
) -> Option<HttpCall> {
    let metadata = Value::Null;
    let context = Context {
        base_url: BASE,
        credential: "line-channel-token",
        handles,
        tenant_key: "U0bot",
        metadata: &metadata,
        message_id: "msg_1",
        now: 1,
    };
    request(op, target, &context).unwrap()
}

fn call(op: &Op, target: &Target) -> Option<HttpCall> {
    call_with(op, target, &serde_json::Map::new())
}

fn body(call: &HttpCall) -> Value {
    serde_json::from_str(call.body.as_deref().unwrap()).unwrap()
}

fn header<'a>(call: &'a HttpCall, name: &str) -> Option<&'a str> {
    call.headers
        .iter()
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.as_str())
}

fn send(part: usize, text: &str) -> Op {
    Op::Send {
        part,
        text: text.into(),
    }
}

fn answer<'a>(status: u16, headers: &'a [(String, String)], body: &'a str) -> Answer<'a> {
    Answer {
        status,
        headers,
        body,
    }
}

#[test]
fn a_message_is_pushed_with_a_retry_key_per_part() {
    let made = call(&send(0, "hi"), &target("Ca56f9", None)).unwrap();
    assert_eq!(made.url, "https://line.test/v2/bot/message/push");
    assert_eq!(
        header(&made, "Authorization"),
        Some("Bearer line-channel-token")
    );
    assert_eq!(
        body(&made),
        json!({"to": "Ca56f9", "messages": [{"type": "text", "text": "hi"}]})
    );
    assert!(made.idempotent, "the retry key makes a retry safe");
    let key = header(&made, "X-Line-Retry-Key").unwrap().to_owned();
    let again = call(&send(0, "hi"), &target("Ca56f9", None)).unwrap();
    assert_eq!(header(&again, "X-Line-Retry-Key"), Some(key.as_str()));
    let next = call(&send(1, "more"), &target("Ca56f9", None)).unwrap();
    assert_ne!(header(&next, "X-Line-Retry-Key"), Some(key.as_str()));
}

#[test]
fn derived_uuids_are_of_version_4_form() {
    let key = derived_uuid("msg_1", 0);
    let groups: Vec<usize> = key.split('-').map(str::len).collect();
    assert_eq!(groups, [8, 4, 4, 4, 12]);
    assert!(key.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
    assert_eq!(&key[14..15], "4");
    assert!("89ab".contains(&key[19..20]));
}

#[test]
fn a_reply_quotes_the_answered_message_with_its_quote_token() {
    let handles: serde_json::Map<String, Value> = [("quote_token".to_owned(), json!("q3Plxr"))]
        .into_iter()
        .collect();
    let reply = target("U1", Some(ThreadMode::Reply));
    let first = body(&call_with(&send(0, "a"), &reply, &handles).unwrap());
    assert_eq!(first["messages"][0]["quoteToken"], "q3Plxr");
    let second = body(&call_with(&send(1, "b"), &reply, &handles).unwrap());
    assert!(second["messages"][0].get("quoteToken").is_none());
    let plain = body(&call_with(&send(0, "a"), &target("U1", None), &handles).unwrap());
    assert!(plain["messages"][0].get("quoteToken").is_none());
}

#[test]
fn typing_shows_the_loading_animation_only_in_one_to_one_chats() {
    let made = call(&Op::Typing, &target("U1", None)).unwrap();
    assert_eq!(made.url, "https://line.test/v2/bot/chat/loading/start");
    assert_eq!(body(&made), json!({"chatId": "U1", "loadingSeconds": 20}));
    assert!(!made.idempotent);
    assert_eq!(call(&Op::Typing, &target("Ca56f9", None)), None);
    assert_eq!(call(&Op::MarkRead, &target("U1", None)), None);
    let edit = Op::Edit {
        part: 0,
        provider_id: "1".into(),
        text: "x".into(),
    };
    assert_eq!(call(&edit, &target("U1", None)), None);
}

#[test]
fn answers_map_to_outcomes() {
    let op = send(0, "hi");
    let sent = r#"{"sentMessages":[{"id":"461230966842064897","quoteToken":"IStG5h1Tz7"}]}"#;
    assert_eq!(
        outcome(&op, &answer(200, &[], sent)),
        Outcome::Done {
            provider_id: Some("461230966842064897".into())
        }
    );
    let accepted = [("x-line-accepted-request-id".to_owned(), "abc".to_owned())];
    assert_eq!(
        outcome(&op, &answer(409, &accepted, "{}")),
        Outcome::Done { provider_id: None }
    );
    assert!(matches!(
        outcome(
            &op,
            &answer(
                429,
                &[],
                r#"{"message":"The API rate limit has been exceeded. Try again later."}"#
            )
        ),
        Outcome::RateLimited { after_ms: 1000 }
    ));
    assert!(matches!(
        outcome(&op, &answer(502, &[], "")),
        Outcome::Retry { .. }
    ));
}

#[test]
fn refusals_say_why() {
    let op = send(0, "hi");
    let failure = |status, body: &str| match outcome(&op, &answer(status, &[], body)) {
        Outcome::Failed(failure) => failure,
        other => panic!("expected a failure, got {other:?}"),
    };
    assert_eq!(
        failure(401, r#"{"message":"Authentication failed"}"#).code,
        "credentials"
    );
    let invalid = failure(
        400,
        r#"{"message":"The request body has 1 error(s)","details":[{"message":"May not be empty","property":"messages[0].text"}]}"#,
    );
    assert_eq!(invalid.code, "refused");
    assert!(
        invalid.reason.contains("May not be empty"),
        "{}",
        invalid.reason
    );
    let quota = failure(429, r#"{"message":"You have reached your monthly limit."}"#);
    assert_eq!(quota.code, "quota");
    let conflict = failure(409, r#"{"message":"conflict"}"#);
    assert_eq!(
        conflict.code, "refused",
        "a 409 without an accepted request id is not success"
    );
}
