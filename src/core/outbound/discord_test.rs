use super::*;
use crate::core::outbound::test_answer as answer;
use crate::core::tenancy::Provider;

const BASE: &str = "https://discord.test/api/v10";

fn target() -> Target {
    Target {
        provider: Provider::Discord,
        org_id: "org_1".into(),
        installation_id: "ins_1".into(),
        binding_id: "bnd_1".into(),
        agent_id: "agent_a".into(),
        conversation_id: "1400000000000000001".into(),
        thread_id: None,
        message_id: None,
        reply_to: None,
        thread: None,
    }
}

fn handles(respond: &str) -> serde_json::Map<String, Value> {
    [
        ("interaction_token", "itoken"),
        ("application_id", "1200000000000000001"),
        ("respond", respond),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), json!(v)))
    .collect()
}

fn call(op: &Op, handles: &serde_json::Map<String, Value>) -> Option<HttpCall> {
    let metadata = Value::Null;
    let context = Context {
        base_url: BASE,
        credential: "BOT.TOKEN",
        handles,
        tenant_key: "1300000000000000001",
        metadata: &metadata,
        message_id: "msg_0123456789abcdef0123456789abcdef",
        now: 1,
    };
    request(op, &target(), &context).unwrap()
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

#[test]
fn a_reply_to_a_command_edits_the_deferred_response_then_follows_up() {
    let hook = "https://discord.test/api/v10/webhooks/1200000000000000001/itoken";
    let first = call(&send(0, "hi"), &handles("original")).unwrap();
    assert_eq!(
        (first.method, first.url.as_str()),
        ("PATCH", format!("{hook}/messages/@original").as_str())
    );
    assert!(first
        .headers
        .iter()
        .all(|(name, _)| *name != "Authorization"));
    assert_eq!(
        body(&first),
        json!({"content": "hi", "allowed_mentions": {"parse": []}})
    );
    let second = call(&send(1, "more"), &handles("original")).unwrap();
    assert_eq!(
        (second.method, second.url.as_str()),
        ("POST", format!("{hook}?wait=true").as_str())
    );
    let component = call(&send(0, "hi"), &handles("followup")).unwrap();
    assert_eq!(
        component.method, "POST",
        "a component's original is the clicked message"
    );
    let edit = Op::Edit {
        part: 0,
        provider_id: "99".into(),
        text: "new".into(),
    };
    let edited = call(&edit, &handles("original")).unwrap();
    assert_eq!(
        (edited.method, edited.url.as_str()),
        ("PATCH", format!("{hook}/messages/99").as_str())
    );
    let delete = Op::Delete {
        part: 0,
        provider_id: "99".into(),
    };
    let deleted = call(&delete, &handles("original")).unwrap();
    assert_eq!((deleted.method, deleted.body.clone()), ("DELETE", None));
}

#[test]
fn without_a_valid_interaction_the_bot_posts_to_the_channel_with_a_nonce() {
    let none = serde_json::Map::new();
    let sent = call(&send(2, "hi @everyone"), &none).unwrap();
    assert_eq!(
        (sent.method, sent.url.as_str()),
        (
            "POST",
            "https://discord.test/api/v10/channels/1400000000000000001/messages"
        )
    );
    assert!(sent
        .headers
        .contains(&("Authorization", "Bot BOT.TOKEN".to_owned())));
    assert!(sent.idempotent, "enforce_nonce makes a retry safe");
    let body = body(&sent);
    assert_eq!(body["nonce"], "0123456789abcdef01232");
    assert!(body["nonce"].as_str().unwrap().len() <= 25);
    assert_eq!(body["enforce_nonce"], true);
    assert_eq!(body["allowed_mentions"], json!({"parse": []}));
    let delete = Op::Delete {
        part: 0,
        provider_id: "77".into(),
    };
    let deleted = call(&delete, &none).unwrap();
    assert_eq!(
        deleted.url,
        "https://discord.test/api/v10/channels/1400000000000000001/messages/77"
    );
    assert_eq!(call(&Op::Typing, &none), None);
}

#[test]
fn answers_are_read_as_discord_documents_them() {
    assert_eq!(
        outcome(
            &send(0, "x"),
            &answer(200, r#"{"id":"1234","content":"x"}"#)
        ),
        Outcome::Done {
            provider_id: Some("1234".into())
        }
    );
    let limited = r#"{"message":"You are being rate limited.","retry_after":0.75,"global":false}"#;
    assert_eq!(
        outcome(&send(0, "x"), &answer(429, limited)),
        Outcome::RateLimited { after_ms: 750 }
    );
    assert!(matches!(
        outcome(&send(0, "x"), &answer(502, "")),
        Outcome::Retry { .. }
    ));
    let delete = Op::Delete {
        part: 0,
        provider_id: "1".into(),
    };
    assert_eq!(
        outcome(
            &delete,
            &answer(404, r#"{"message":"Unknown Message","code":10008}"#)
        ),
        Outcome::Done { provider_id: None }
    );
    assert_eq!(
        outcome(&delete, &answer(204, "")),
        Outcome::Done { provider_id: None }
    );
    for (status, code, expected) in [
        (401, 0, "credentials"),
        (404, 10003, "conversation_not_found"),
        (404, 10015, "reply_expired"),
        (403, 50013, "not_in_conversation"),
        (400, 50035, "too_long"),
        (400, 1, "refused"),
    ] {
        let body = format!(r#"{{"message":"m","code":{code}}}"#);
        let Outcome::Failed(failure) = outcome(&send(0, "x"), &answer(status, &body)) else {
            panic!("{code} is a refusal");
        };
        assert_eq!(failure.code, expected, "{code}");
    }
}

#[test]
fn a_rate_limit_bucket_that_is_empty_says_how_long_to_wait() {
    let headers = [
        ("x-ratelimit-remaining".to_owned(), "0".to_owned()),
        ("x-ratelimit-reset-after".to_owned(), "1.5".to_owned()),
    ];
    let empty = Answer {
        status: 200,
        headers: &headers,
        body: "{}",
    };
    assert_eq!(empty.bucket_wait_ms(), 1500);
    assert_eq!(answer(200, "{}").bucket_wait_ms(), 0);
}
