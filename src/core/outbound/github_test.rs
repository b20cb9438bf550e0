use super::*;
use crate::core::tenancy::Provider;

fn target(conversation: &str) -> Target {
    Target {
        provider: Provider::Github,
        org_id: "org_1".into(),
        installation_id: "ins_1".into(),
        binding_id: "bnd_1".into(),
        agent_id: "agent_a".into(),
        conversation_id: conversation.into(),
        thread_id: None,
        message_id: Some("492700400".into()),
        reply_to: None,
        thread: None,
    }
}

fn call(op: &Op, conversation: &str) -> Result<Option<HttpCall>, Failure> {
    let handles = serde_json::Map::new();
    let metadata = Value::Null;
    let context = Context {
        base_url: "https://api.github.test/",
        credential: "ghs_token",
        handles: &handles,
        tenant_key: "1",
        metadata: &metadata,
        message_id: "msg_1",
        now: 1,
    };
    request(op, &target(conversation), &context)
}

fn send() -> Op {
    Op::Send {
        part: 0,
        text: "**done**".into(),
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
fn a_comment_goes_to_the_issue_with_githubs_headers() {
    let made = call(&send(), "Codertocat/Hello-World#1").unwrap().unwrap();
    assert_eq!(made.method, "POST");
    assert_eq!(
        made.url,
        "https://api.github.test/repos/Codertocat/Hello-World/issues/1/comments"
    );
    for header in [
        ("Authorization", "Bearer ghs_token"),
        ("Accept", "application/vnd.github+json"),
        ("X-GitHub-Api-Version", "2022-11-28"),
        ("User-Agent", "channel-edge"),
    ] {
        assert!(
            made.headers.contains(&(header.0, header.1.to_owned())),
            "{header:?}"
        );
    }
    assert_eq!(made.body.as_deref(), Some(r#"{"body":"**done**"}"#));
}

#[test]
fn edits_and_deletes_name_the_comment() {
    let edit = Op::Edit {
        part: 0,
        provider_id: "77".into(),
        text: "x".into(),
    };
    let made = call(&edit, "o/r#1").unwrap().unwrap();
    assert_eq!(
        (made.method, made.url.as_str()),
        (
            "PATCH",
            "https://api.github.test/repos/o/r/issues/comments/77"
        )
    );
    let delete = Op::Delete {
        part: 0,
        provider_id: "77".into(),
    };
    let made = call(&delete, "o/r#1").unwrap().unwrap();
    assert_eq!((made.method, made.body), ("DELETE", None));
    let forged = Op::Delete {
        part: 0,
        provider_id: "77/../../x".into(),
    };
    assert_eq!(call(&forged, "o/r#1").unwrap_err().code, "not_modifiable");
    assert_eq!(call(&Op::Typing, "o/r#1"), Ok(None));
}

#[test]
fn conversations_not_of_githubs_form_fail_before_any_call() {
    for conversation in [
        "o/r", "o/r#", "o/r#1a", "o#1", "../x/r#1", "o/r/x#1", "o/..#1", "#1",
    ] {
        assert_eq!(
            call(&send(), conversation).unwrap_err().code,
            "conversation_not_found",
            "{conversation}"
        );
    }
}

#[test]
fn answers_map_to_outcomes() {
    let op = send();
    assert_eq!(
        outcome(&op, &answer(201, &[], r#"{"id":1234,"body":"x"}"#)),
        Outcome::Done {
            provider_id: Some("1234".into())
        }
    );
    assert_eq!(
        outcome(&op, &answer(204, &[], "")),
        Outcome::Done { provider_id: None }
    );
    let retry_after = [("retry-after".to_owned(), "30".to_owned())];
    assert_eq!(
        outcome(&op, &answer(403, &retry_after, "{}")),
        Outcome::RateLimited { after_ms: 30_000 }
    );
    let exhausted = [("x-ratelimit-remaining".to_owned(), "0".to_owned())];
    assert_eq!(
        outcome(&op, &answer(429, &exhausted, "{}")),
        Outcome::RateLimited { after_ms: 60_000 }
    );
    assert!(matches!(
        outcome(&op, &answer(502, &[], "")),
        Outcome::Retry { .. }
    ));
}

#[test]
fn refusals_say_why() {
    let op = send();
    let failure = |status, body: &str| match outcome(&op, &answer(status, &[], body)) {
        Outcome::Failed(failure) => failure,
        other => panic!("expected a failure, got {other:?}"),
    };
    assert_eq!(
        failure(401, r#"{"message":"Bad credentials"}"#).code,
        "credentials"
    );
    assert_eq!(
        failure(404, r#"{"message":"Not Found"}"#).code,
        "conversation_not_found"
    );
    let locked = failure(
        403,
        r#"{"message":"Unable to create comment because issue is locked."}"#,
    );
    assert_eq!(locked.code, "not_in_conversation");
    assert!(locked.reason.contains("locked"));
    assert_eq!(
        failure(422, r#"{"message":"Validation Failed"}"#).code,
        "refused"
    );
}
