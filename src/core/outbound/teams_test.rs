use super::*;
use crate::core::outbound::test_answer as answer;
use crate::core::tenancy::Provider;
use serde_json::{json, Map};

const ALLOWED: &str =
    "https://smba.trafficmanager.net/, https://smba.infra.gcc.teams.microsoft.com/";
const SERVICE: &str = "https://smba.trafficmanager.net/amer/tenant-1/";

fn target(thread: Option<ThreadMode>, thread_id: Option<&str>) -> Target {
    Target {
        provider: Provider::Teams,
        org_id: "org_1".into(),
        installation_id: "ins_1".into(),
        binding_id: "bnd_1".into(),
        agent_id: "agent_a".into(),
        conversation_id: "19:abc@thread.tacv2".into(),
        thread_id: thread_id.map(str::to_owned),
        message_id: Some("1759944781430".into()),
        reply_to: None,
        thread,
    }
}

fn made(
    op: &Op,
    target: &Target,
    handles: &Map<String, Value>,
    metadata: &Value,
) -> Result<Option<HttpCall>, Failure> {
    let context = Context {
        base_url: ALLOWED,
        credential: "bf-token",
        handles,
        tenant_key: "tenant-1",
        metadata,
        message_id: "msg_1",
        now: 1,
    };
    request(op, target, &context)
}

fn call(op: &Op, target: &Target) -> HttpCall {
    let handles = Map::from_iter([(SERVICE_URL.to_owned(), SERVICE.into())]);
    made(op, target, &handles, &Value::Null).unwrap().unwrap()
}

fn send() -> Op {
    Op::Send {
        part: 0,
        text: "**hi**".into(),
    }
}

#[test]
fn a_reply_answers_the_activity_in_its_channel_thread() {
    let call = call(&send(), &target(None, Some("1759881511856")));
    assert_eq!(call.method, "POST");
    assert_eq!(
        call.url,
        "https://smba.trafficmanager.net/amer/tenant-1/v3/conversations/19%3Aabc%40thread.tacv2%3Bmessageid%3D1759881511856/activities/1759944781430"
    );
    assert!(call
        .headers
        .contains(&("Authorization", "Bearer bf-token".to_owned())));
    assert!(!call.follow_redirects);
    let body: Value = serde_json::from_str(call.body.as_deref().unwrap()).unwrap();
    assert_eq!(body["type"], "message");
    assert_eq!(body["text"], "**hi**");
    assert_eq!(body["textFormat"], "markdown");
    assert_eq!(body["replyToId"], "1759944781430");
}

#[test]
fn to_the_channel_itself_a_new_message_is_posted() {
    let call = call(
        &send(),
        &target(Some(ThreadMode::Channel), Some("1759881511856")),
    );
    assert!(
        call.url
            .ends_with("/v3/conversations/19%3Aabc%40thread.tacv2/activities"),
        "{}",
        call.url
    );
    let body: Value = serde_json::from_str(call.body.as_deref().unwrap()).unwrap();
    assert!(body.get("replyToId").is_none());
}

#[test]
fn edits_deletes_and_typing() {
    let edit = Op::Edit {
        part: 0,
        provider_id: "1:abc".into(),
        text: "new".into(),
    };
    let made = call(&edit, &target(None, None));
    assert_eq!(made.method, "PUT");
    assert!(made.url.ends_with("/activities/1%3Aabc"), "{}", made.url);
    let body: Value = serde_json::from_str(made.body.as_deref().unwrap()).unwrap();
    assert_eq!(body["id"], "1:abc");
    let delete = Op::Delete {
        part: 0,
        provider_id: "1:abc".into(),
    };
    let made = call(&delete, &target(None, None));
    assert_eq!((made.method, made.body), ("DELETE", None));
    let typing = call(&Op::Typing, &target(None, None));
    assert!(typing.url.ends_with("/activities"));
    assert!(typing.body.unwrap().contains("typing"));
    let handles = Map::from_iter([(SERVICE_URL.to_owned(), SERVICE.into())]);
    assert_eq!(made_none(&handles), None);
}

fn made_none(handles: &Map<String, Value>) -> Option<HttpCall> {
    made(&Op::MarkRead, &target(None, None), handles, &Value::Null).unwrap()
}

#[test]
fn a_message_an_agent_starts_goes_to_the_installations_service_url() {
    let metadata = json!({"service_url": "https://smba.infra.gcc.teams.microsoft.com/teams/"});
    let call = made(&send(), &target(None, None), &Map::new(), &metadata)
        .unwrap()
        .unwrap();
    assert!(
        call.url
            .starts_with("https://smba.infra.gcc.teams.microsoft.com/teams/v3/"),
        "{}",
        call.url
    );
    let failure = made(&send(), &target(None, None), &Map::new(), &Value::Null).unwrap_err();
    assert_eq!(failure.code, "conversation_not_found");
}

#[test]
fn a_service_url_outside_the_allowed_prefixes_is_never_called() {
    for url in [
        "https://attacker.example/",
        "https://smba.trafficmanager.net.attacker.example/",
        "http://smba.trafficmanager.net/amer/",
        "https://smba.trafficmanager.networks/",
    ] {
        let handles = Map::from_iter([(SERVICE_URL.to_owned(), url.into())]);
        let failure = made(&send(), &target(None, None), &handles, &Value::Null).unwrap_err();
        assert_eq!(failure.code, "refused", "{url}");
        assert!(!failure.reason.contains("bf-token"));
    }
}

#[test]
fn answers_map_to_outcomes() {
    let done = outcome(&send(), &answer(201, r#"{"id":"1:new"}"#));
    assert_eq!(
        done,
        Outcome::Done {
            provider_id: Some("1:new".into())
        }
    );
    assert_eq!(
        outcome(
            &send(),
            &Answer {
                status: 429,
                headers: &[("retry-after".to_owned(), "3".to_owned())],
                body: ""
            }
        ),
        Outcome::RateLimited { after_ms: 3000 }
    );
    assert!(matches!(
        outcome(&send(), &answer(502, "")),
        Outcome::Retry { .. }
    ));
    for (status, code) in [
        (401, "credentials"),
        (403, "credentials"),
        (404, "conversation_not_found"),
        (400, "refused"),
    ] {
        let body = r#"{"error":{"code":"BadArgument","message":"nope"}}"#;
        match outcome(&send(), &answer(status, body)) {
            Outcome::Failed(failure) => {
                assert_eq!(failure.code, code);
                assert!(failure.reason.contains("nope"));
            }
            other => panic!("{status}: {other:?}"),
        }
    }
}
