use super::*;
use crate::core::outbound::test_answer as answer;
use crate::core::tenancy::Provider;

const BASE: &str = "https://graph.test/v21.0";

fn target(thread: Option<ThreadMode>) -> Target {
    Target {
        provider: Provider::Whatsapp,
        org_id: "org_1".into(),
        installation_id: "ins_1".into(),
        binding_id: "bnd_1".into(),
        agent_id: "agent_a".into(),
        conversation_id: "15550002222".into(),
        thread_id: None,
        message_id: Some("wamid.IN".into()),
        reply_to: None,
        thread,
    }
}

fn call(op: &Op, target: &Target) -> Option<HttpCall> {
    let handles = serde_json::Map::new();
    let metadata = Value::Null;
    let context = Context {
        base_url: BASE,
        credential: "EAAB-token",
        handles: &handles,
        tenant_key: "106540352242922",
        metadata: &metadata,
        message_id: "msg_1",
        now: 1,
    };
    request(op, target, &context).unwrap()
}

fn body(call: &HttpCall) -> Value {
    serde_json::from_str(call.body.as_deref().unwrap()).unwrap()
}

fn send(text: &str) -> Op {
    Op::Send {
        part: 0,
        text: text.into(),
    }
}

#[test]
fn a_reply_is_a_text_message_from_the_installations_number() {
    let made = call(&send("*hi*"), &target(Some(ThreadMode::Reply))).unwrap();
    assert_eq!(
        made.url,
        "https://graph.test/v21.0/106540352242922/messages"
    );
    assert!(made
        .headers
        .contains(&("Authorization", "Bearer EAAB-token".to_owned())));
    assert_eq!(
        body(&made),
        json!({"messaging_product": "whatsapp", "recipient_type": "individual",
               "to": "15550002222", "type": "text",
               "text": {"preview_url": false, "body": "*hi*"},
               "context": {"message_id": "wamid.IN"}})
    );
    let plain = body(&call(&send("x"), &target(None)).unwrap());
    assert_eq!(plain.get("context"), None, "quotes only for thread: reply");
}

#[test]
fn read_receipts_and_typing_name_the_answered_message() {
    let read = body(&call(&Op::MarkRead, &target(None)).unwrap());
    assert_eq!(
        read,
        json!({"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.IN"})
    );
    let typing = body(&call(&Op::Typing, &target(None)).unwrap());
    assert_eq!(typing["typing_indicator"], json!({"type": "text"}));
    let mut started = target(None);
    started.message_id = None;
    assert_eq!(call(&Op::MarkRead, &started), None);
    let edit = Op::Edit {
        part: 0,
        provider_id: "wamid.OUT".into(),
        text: "x".into(),
    };
    assert_eq!(call(&edit, &target(None)), None, "WhatsApp cannot edit");
}

#[test]
fn answers_are_read_as_meta_documents_them() {
    let sent = r#"{"messaging_product":"whatsapp","contacts":[{"input":"1555","wa_id":"1555"}],"messages":[{"id":"wamid.OUT"}]}"#;
    assert_eq!(
        outcome(&send("x"), &answer(200, sent)),
        Outcome::Done {
            provider_id: Some("wamid.OUT".into())
        }
    );
    assert_eq!(
        outcome(&Op::MarkRead, &answer(200, r#"{"success":true}"#)),
        Outcome::Done { provider_id: None }
    );
    let pair = r#"{"error":{"message":"(#131056) (Business Account, Consumer Account) pair rate limit hit","code":131056}}"#;
    assert_eq!(
        outcome(&send("x"), &answer(400, pair)),
        Outcome::RateLimited { after_ms: 6000 }
    );
    let throughput = r#"{"error":{"message":"(#130429) Rate limit hit","code":130429}}"#;
    assert_eq!(
        outcome(&send("x"), &answer(400, throughput)),
        Outcome::RateLimited { after_ms: 1000 }
    );
    let unavailable = r#"{"error":{"message":"Service unavailable","code":131016}}"#;
    assert!(matches!(
        outcome(&send("x"), &answer(503, unavailable)),
        Outcome::Retry { .. }
    ));
}

#[test]
fn outside_the_customer_service_window_a_template_is_needed() {
    let late = r#"{"error":{"message":"(#131047) Re-engagement message","type":"OAuthException","code":131047,"error_data":{"details":"Message failed to send because more than 24 hours have passed since the customer last replied to this number."}}}"#;
    let Outcome::Failed(failure) = outcome(&send("x"), &answer(400, late)) else {
        panic!("a refusal");
    };
    assert_eq!(failure.code, "template_required");
    assert!(failure.reason.contains("template"), "{}", failure.reason);
    for (code, expected) in [
        (190, "credentials"),
        (131026, "undeliverable"),
        (999, "refused"),
    ] {
        let body = format!(r#"{{"error":{{"message":"m","code":{code}}}}}"#);
        let Outcome::Failed(failure) = outcome(&send("x"), &answer(400, &body)) else {
            panic!("{code} is a refusal");
        };
        assert_eq!(failure.code, expected, "{code}");
    }
}
