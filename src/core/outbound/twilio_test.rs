use super::*;
use crate::core::outbound::test_answer as answer;
use serde_json::json;

fn target(conversation: &str) -> Target {
    Target {
        provider: Provider::Twilio,
        org_id: "org_1".into(),
        installation_id: "ins_1".into(),
        binding_id: "bnd_1".into(),
        agent_id: "agent_a".into(),
        conversation_id: conversation.into(),
        thread_id: None,
        message_id: Some("SMin".into()),
        reply_to: None,
        thread: None,
    }
}

const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";

fn call(
    op: &Op,
    conversation: &str,
    handles: Value,
    metadata: Value,
) -> Result<Option<HttpCall>, Failure> {
    let handles = handles.as_object().cloned().unwrap_or_default();
    let context = Context {
        base_url: "https://api.twilio.test",
        credential: "auth-token",
        handles: &handles,
        tenant_key: "+15557654321",
        metadata: &metadata,
        message_id: "msg_1",
        now: 1,
    };
    request(op, &target(conversation), &context)
}

fn send() -> Op {
    Op::Send {
        part: 0,
        text: "Hi & bye".into(),
    }
}

fn form(call: &HttpCall) -> Vec<(String, String)> {
    form_urlencoded::parse(call.body.as_deref().unwrap().as_bytes())
        .into_owned()
        .collect()
}

#[test]
fn an_sms_is_sent_from_the_number_written_to_with_basic_auth() {
    let made = call(
        &send(),
        "+15551234567",
        json!({"number": "+15550009999"}),
        json!({"account_sid": ACCOUNT}),
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        made.url,
        format!("https://api.twilio.test/2010-04-01/Accounts/{ACCOUNT}/Messages.json")
    );
    let basic = STANDARD.encode(format!("{ACCOUNT}:auth-token"));
    assert!(made
        .headers
        .contains(&("Authorization", format!("Basic {basic}"))));
    assert!(made.headers.contains(&(
        "Content-Type",
        "application/x-www-form-urlencoded".to_owned()
    )));
    assert_eq!(
        form(&made),
        [
            ("To", "+15551234567"),
            ("From", "+15550009999"),
            ("Body", "Hi & bye")
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
    );
}

#[test]
fn whatsapp_conversations_are_answered_from_the_whatsapp_sender() {
    let metadata = json!({"account_sid": ACCOUNT});
    let made = call(
        &send(),
        "whatsapp:+5215512345678",
        json!({}),
        metadata.clone(),
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        form(&made)[1],
        ("From".to_owned(), "whatsapp:+15557654321".to_owned())
    );
    let sms = call(
        &send(),
        "+1555",
        json!({"number": "whatsapp:+1444"}),
        metadata,
    )
    .unwrap()
    .unwrap();
    assert_eq!(form(&sms)[1], ("From".to_owned(), "+1444".to_owned()));
}

#[test]
fn an_account_sid_not_of_twilios_form_fails_before_any_call() {
    for metadata in [
        json!({}),
        json!({"account_sid": "AC../../x"}),
        json!({"account_sid": "SK0123456789abcdef0123456789abcdef"}),
    ] {
        let failure = call(&send(), "+1555", json!({}), metadata.clone()).unwrap_err();
        assert_eq!(failure.code, "credentials", "{metadata}");
    }
    let metadata = json!({"account_sid": ACCOUNT});
    assert_eq!(call(&Op::Typing, "+1555", json!({}), metadata), Ok(None));
}

#[test]
fn answers_map_to_outcomes() {
    let op = send();
    assert_eq!(
        outcome(&op, &answer(201, r#"{"sid":"SM5f0c","status":"queued"}"#)),
        Outcome::Done {
            provider_id: Some("SM5f0c".into())
        }
    );
    assert!(matches!(
        outcome(
            &op,
            &answer(429, r#"{"code":20429,"message":"Too Many Requests"}"#)
        ),
        Outcome::RateLimited { .. }
    ));
    assert!(matches!(
        outcome(&op, &answer(503, "")),
        Outcome::Retry { .. }
    ));
    let failure = |status, body: &str| match outcome(&op, &answer(status, body)) {
        Outcome::Failed(failure) => failure.code,
        other => panic!("expected a failure, got {other:?}"),
    };
    assert_eq!(
        failure(401, r#"{"code":20003,"message":"Authenticate"}"#),
        "credentials"
    );
    assert_eq!(
        failure(
            400,
            r#"{"code":21211,"message":"The 'To' number is not valid."}"#
        ),
        "conversation_not_found"
    );
    assert_eq!(
        failure(
            400,
            r#"{"code":21610,"message":"Attempt to send to unsubscribed recipient"}"#
        ),
        "blocked"
    );
    assert_eq!(
        failure(
            400,
            r#"{"code":63016,"message":"outside the allowed window"}"#
        ),
        "window_closed"
    );
    assert_eq!(
        failure(400, r#"{"code":21617,"message":"too long"}"#),
        "refused"
    );
}
