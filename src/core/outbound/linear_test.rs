use super::*;
use crate::core::outbound::test_answer as answer;
use crate::core::tenancy::Provider;

fn target(thread: Option<ThreadMode>, thread_id: Option<&str>) -> Target {
    Target {
        provider: Provider::Linear,
        org_id: "org_1".into(),
        installation_id: "ins_1".into(),
        binding_id: "bnd_1".into(),
        agent_id: "agent_a".into(),
        conversation_id: "issue-1".into(),
        thread_id: thread_id.map(str::to_owned),
        message_id: Some("comment-in".into()),
        reply_to: None,
        thread,
    }
}

fn call_with(op: &Op, target: &Target, credential: &str) -> HttpCall {
    let handles = serde_json::Map::new();
    let metadata = Value::Null;
    let context = Context {
        base_url: "https://linear.test/",
        credential,
        handles: &handles,
        tenant_key: "org",
        metadata: &metadata,
        message_id: "msg_1",
        now: 1,
    };
    request(op, target, &context).unwrap().unwrap()
}

fn body(call: &HttpCall) -> Value {
    serde_json::from_str(call.body.as_deref().unwrap()).unwrap()
}

fn send(part: usize) -> Op {
    Op::Send {
        part,
        text: "**hi**".into(),
    }
}

#[test]
fn a_reply_comments_in_the_thread_with_an_idempotent_id() {
    let made = call_with(&send(0), &target(None, None), "oauth-token");
    assert_eq!(made.url, "https://linear.test/graphql");
    assert!(made
        .headers
        .contains(&("Authorization", "Bearer oauth-token".to_owned())));
    assert!(made.idempotent);
    let sent = body(&made);
    assert!(sent["query"].as_str().unwrap().contains("commentCreate"));
    let input = &sent["variables"]["input"];
    assert_eq!(input["issueId"], "issue-1");
    assert_eq!(input["body"], "**hi**");
    assert_eq!(
        input["parentId"], "comment-in",
        "answers start a thread under the comment"
    );
    assert_eq!(input["id"], derived_uuid("msg_1", 0));
    let in_thread = body(&call_with(&send(1), &target(None, Some("parent")), "k"));
    assert_eq!(in_thread["variables"]["input"]["parentId"], "parent");
    assert_ne!(in_thread["variables"]["input"]["id"], input["id"]);
    let channel = body(&call_with(
        &send(0),
        &target(Some(ThreadMode::Channel), Some("p")),
        "k",
    ));
    assert!(channel["variables"]["input"].get("parentId").is_none());
}

#[test]
fn personal_api_keys_are_sent_without_bearer() {
    let made = call_with(&send(0), &target(None, None), "lin_api_abc");
    assert!(made
        .headers
        .contains(&("Authorization", "lin_api_abc".to_owned())));
}

#[test]
fn edits_and_deletes_name_the_comment_by_the_id_its_send_chose() {
    let edit = Op::Edit {
        part: 0,
        provider_id: "c1".into(),
        text: "new".into(),
    };
    let edited = body(&call_with(&edit, &target(None, None), "t"));
    assert!(edited["query"].as_str().unwrap().contains("commentUpdate"));
    let id = derived_uuid("msg_1", 0);
    assert_eq!(
        edited["variables"],
        json!({"id": id, "input": {"body": "new"}})
    );
    let delete = Op::Delete {
        part: 0,
        provider_id: "c1".into(),
    };
    let deleted = body(&call_with(&delete, &target(None, None), "t"));
    assert!(deleted["query"].as_str().unwrap().contains("commentDelete"));
    assert_eq!(deleted["variables"], json!({"id": id}));
}

#[test]
fn answers_map_to_outcomes() {
    let created = r#"{"data":{"commentCreate":{"success":true,"comment":{"id":"c9"}}}}"#;
    assert_eq!(
        outcome(&send(0), &answer(200, created)),
        Outcome::Done {
            provider_id: Some("c9".into())
        }
    );
    let deleted = r#"{"data":{"commentDelete":{"success":true}}}"#;
    let delete = Op::Delete {
        part: 0,
        provider_id: "c9".into(),
    };
    assert_eq!(
        outcome(&delete, &answer(200, deleted)),
        Outcome::Done { provider_id: None }
    );
    let limited =
        r#"{"errors":[{"message":"Rate limit exceeded","extensions":{"type":"ratelimited"}}]}"#;
    assert!(matches!(
        outcome(&send(0), &answer(400, limited)),
        Outcome::RateLimited { .. }
    ));
    assert!(matches!(
        outcome(&send(0), &answer(429, "")),
        Outcome::RateLimited { .. }
    ));
    assert!(matches!(
        outcome(&send(0), &answer(503, "")),
        Outcome::Retry { .. }
    ));
}

#[test]
fn a_retried_call_linear_had_carried_out_is_done() {
    let taken =
        r#"{"errors":[{"message":"Entity already exists","extensions":{"type":"invalid input"}}]}"#;
    assert_eq!(
        outcome(&send(0), &answer(200, taken)),
        Outcome::Done { provider_id: None }
    );
    let delete = Op::Delete {
        part: 0,
        provider_id: "c".into(),
    };
    let gone = r#"{"errors":[{"message":"Entity not found: Comment"}]}"#;
    assert_eq!(
        outcome(&delete, &answer(200, gone)),
        Outcome::Done { provider_id: None }
    );
    // A send to an issue that is not there is not a retry.
    let missing = r#"{"errors":[{"message":"Entity not found: Issue"}]}"#;
    assert!(matches!(
        outcome(&send(0), &answer(200, missing)),
        Outcome::Failed(_)
    ));
}

#[test]
fn refusals_say_why() {
    let failure = |status, body: &str| match outcome(&send(0), &answer(status, body)) {
        Outcome::Failed(failure) => failure,
        other => panic!("expected a failure, got {other:?}"),
    };
    let auth = failure(
        400,
        r#"{"errors":[{"message":"Authentication required, not authenticated","extensions":{"type":"authentication error"}}]}"#,
    );
    assert_eq!(auth.code, "credentials");
    assert!(auth.reason.contains("Authentication required"));
    let missing = failure(
        200,
        r#"{"errors":[{"message":"Entity not found: Issue"}],"data":null}"#,
    );
    assert_eq!(missing.code, "conversation_not_found");
    let forbidden = failure(
        200,
        r#"{"errors":[{"message":"no access","extensions":{"type":"forbidden"}}]}"#,
    );
    assert_eq!(forbidden.code, "not_in_conversation");
    let unsuccessful = failure(200, r#"{"data":{"commentCreate":{"success":false}}}"#);
    assert_eq!(unsuccessful.code, "refused");
}
