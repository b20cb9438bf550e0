use super::*;
use crate::core::auth::{Scope, ScopeSet};
use crate::core::authority::Restriction;
use serde_json::{json, Map};

fn parse_body(body: serde_json::Value) -> Result<NewMessage, ApiError> {
    NewMessage::parse(body.to_string().as_bytes())
}

fn bad_request(result: Result<NewMessage, ApiError>) -> String {
    match result {
        Err(ApiError::BadRequest { message }) => message,
        other => panic!("expected 400, got {other:?}"),
    }
}

#[test]
fn a_message_is_addressed_by_a_reply_capability_or_by_binding_and_conversation() {
    let reply = parse_body(json!({"reply_to": "rc1.k1.x", "text": "hi"})).unwrap();
    assert_eq!(reply.address().unwrap(), Address::Reply("rc1.k1.x"));
    assert!(reply.is_final, "final by default");
    let explicit = parse_body(json!({"binding_id": "bnd_1", "conversation": "C1",
        "thread_id": "1.0", "text": "hi", "thread": "reply", "idempotency_key": "k"}))
    .unwrap();
    assert_eq!(
        explicit.address().unwrap(),
        Address::Explicit {
            binding_id: "bnd_1",
            conversation: "C1",
            thread_id: Some("1.0")
        }
    );
    assert_eq!(explicit.thread, Some(ThreadMode::Reply));
    for body in [
        json!({"text": "hi"}),
        json!({"reply_to": "rc1.k1.x", "binding_id": "bnd_1", "conversation": "C1", "text": "hi"}),
        json!({"reply_to": "rc1.k1.x", "thread_id": "1.0", "text": "hi"}),
        json!({"binding_id": "bnd_1", "text": "hi"}),
        json!({"binding_id": "", "conversation": "C1", "text": "hi"}),
    ] {
        assert!(
            bad_request(parse_body(body.clone())).contains("reply_to"),
            "{body}"
        );
    }
}

#[test]
fn texts_are_bounded_and_a_final_one_says_something() {
    let long = "x".repeat(MAX_TEXT_CHARS + 1);
    assert!(bad_request(parse_body(json!({"reply_to": "r", "text": long}))).contains("at most"));
    assert!(bad_request(parse_body(json!({"reply_to": "r", "text": "  "}))).contains("empty"));
    let stream = parse_body(json!({"reply_to": "r", "text": "", "final": false})).unwrap();
    assert!(!stream.is_final);
    assert!(MessageEdit::parse(br#"{"text": ""}"#).is_err());
    let edit = MessageEdit::parse(br#"{"text": "more", "final": false}"#).unwrap();
    assert_eq!((edit.text.as_str(), edit.is_final), ("more", false));
    assert!(MessageEdit::parse(br#"{"text": "x", "extra": 1}"#).is_err());
}

#[test]
fn idempotency_keys_are_bounded() {
    let long = "k".repeat(MAX_IDEMPOTENCY_KEY_CHARS + 1);
    for key in ["", long.as_str()] {
        let body = json!({"reply_to": "r", "text": "hi", "idempotency_key": key});
        assert!(bad_request(parse_body(body)).contains("idempotency_key"));
    }
    assert!(parse_body(json!({"reply_to": "r", "text": "hi", "unknown": true})).is_err());
}

fn reply_to(provider: Provider) -> ReplyTo {
    ReplyTo {
        provider,
        org_id: "org_1".into(),
        installation_id: "ins_1".into(),
        binding_id: "bnd_1".into(),
        agent_id: "agent_a".into(),
        conversation_id: "C1".into(),
        thread_id: Some("1.0".into()),
        message_id: Some("1.5".into()),
        handles: Map::new(),
        expires_at: 1,
    }
}

#[test]
fn a_reply_goes_where_its_capability_says() {
    let target = Target::from_reply(
        reply_to(Provider::Slack),
        "rc1.k1.x",
        Some(ThreadMode::Reply),
    )
    .unwrap();
    assert_eq!(target.conversation_id, "C1");
    assert_eq!(target.thread_id.as_deref(), Some("1.0"));
    assert_eq!(target.message_id.as_deref(), Some("1.5"));
    assert_eq!(target.agent_id, "agent_a");
    assert_eq!(target.thread, Some(ThreadMode::Reply));
    assert_eq!(target.conversation_key(), "ins_1/C1");
}

#[test]
fn a_provider_that_cannot_start_a_conversation_is_refused_with_422() {
    let selector = Selector::default();
    let error =
        Target::explicit(&binding(&selector, Provider::Whatsapp), "15550002222", None).unwrap_err();
    assert!(matches!(
        error,
        AddressError::Unsupported {
            provider: "whatsapp",
            ..
        }
    ));
    assert!(error.to_string().contains("reply_to"));
    let api: ApiError = error.into();
    assert_eq!((api.status(), api.code()), (422, "unsupported"));
    // Every provider channel-edge receives from can be answered.
    for provider in Provider::ALL {
        assert!(sender_of(provider, "messages").is_ok(), "{provider:?}");
        let reply = Target::from_reply(reply_to(provider), "rc1.k1.x", None).unwrap();
        assert_eq!(reply.reply_to, None, "no handles: nothing sealed to keep");
    }
}

fn binding(selector: &Selector, provider: Provider) -> BindingFacts<'_> {
    BindingFacts {
        id: "bnd_1",
        agent_id: "agent_a",
        selector,
        installation_id: "ins_1",
        org_id: "org_1",
        provider,
    }
}

#[test]
fn an_agent_starts_a_message_only_in_a_conversation_its_binding_routes() {
    let only_c1 = Selector {
        conversation: Some("C1".into()),
        ..Selector::default()
    };
    let target = Target::explicit(&binding(&only_c1, Provider::Telegram), "C1", Some("7")).unwrap();
    assert_eq!(
        (target.conversation_id.as_str(), target.thread_id.as_deref()),
        ("C1", Some("7"))
    );
    assert_eq!(target.message_id, None);
    let error = Target::explicit(&binding(&only_c1, Provider::Telegram), "C9", None).unwrap_err();
    assert_eq!(
        error,
        AddressError::NotRouted {
            binding_id: "bnd_1".into(),
            conversation: "C9".into()
        }
    );
    assert_eq!(ApiError::from(error).code(), "not_routed");
    let anywhere = Selector::default();
    assert!(Target::explicit(&binding(&anywhere, Provider::Slack), "C9", None).is_ok());
    assert!(Target::explicit(&binding(&anywhere, Provider::Discord), "C9", None).is_ok());
}

fn caller(orgs: Option<&[&str]>, agents: Option<&[&str]>) -> Caller {
    let set = |ids: Option<&[&str]>| ids.map(|ids| ids.iter().map(|s| (*s).to_owned()).collect());
    Caller {
        principal_id: "prn_runtime".into(),
        scopes: [Scope::MessagesSend].into_iter().collect::<ScopeSet>(),
        restriction: Restriction {
            org_ids: set(orgs),
            agent_ids: set(agents),
        },
        expires_at: None,
    }
}

#[test]
fn a_principal_sends_only_for_its_agents_in_its_orgs() {
    let target = Target::from_reply(reply_to(Provider::Slack), "rc1.k1.x", None).unwrap();
    assert!(check_caller(&caller(None, None), &target).is_ok());
    assert!(check_caller(&caller(Some(&["org_1"]), Some(&["agent_a"])), &target).is_ok());
    assert_eq!(
        check_caller(&caller(None, Some(&["agent_b"])), &target),
        Err(AuthorityError::AgentOutOfReach {
            agent_id: "agent_a".into()
        })
    );
    let error = check_caller(&caller(Some(&["org_2"]), None), &target).unwrap_err();
    assert_eq!(
        error,
        AuthorityError::OrgOutOfReach {
            org_id: "org_1".into()
        }
    );
    assert!(error.to_string().contains("org_1"));
}

#[test]
fn statuses_are_named_and_know_when_they_have_ended() {
    let all = [
        (Status::Queued, "queued", false),
        (Status::Sent, "sent", false),
        (Status::Failed, "failed", true),
        (Status::Unknown, "unknown", true),
        (Status::DeadLettered, "dead_lettered", true),
        (Status::Deleted, "deleted", true),
    ];
    for (status, name, ended) in all {
        assert_eq!(status.as_str(), name);
        assert_eq!(status.has_ended(), ended);
        assert_eq!(serde_json::to_value(status).unwrap(), json!(name));
    }
}

#[test]
fn retry_after_is_read_as_decimal_seconds_rounded_up_to_the_millisecond() {
    for (text, ms) in [
        ("2", 2000),
        ("0.5", 500),
        ("1.0001", 1001),
        ("1.0000", 1000),
        ("0.001", 1),
        ("12.34", 12_340),
        ("3600", 3_600_000),
        ("86400", 3_600_000),
    ] {
        assert_eq!(seconds_to_ms(Some(text)), ms, "{text}");
    }
    for garbage in ["", ".5", "5.", "1e3", "+2", "1.2.3", "12345678", "٣"] {
        assert_eq!(
            seconds_to_ms(Some(garbage)),
            1000,
            "{garbage:?} waits the default second"
        );
    }
    assert_eq!(seconds_to_ms(None), 1000);
    assert_eq!(ms_of_seconds(Some(0.75)), 750);
    assert_eq!(ms_of_seconds(Some(f64::NAN)), 1000);
    assert_eq!(ms_of_seconds(Some(-1.0)), 1000);
}
