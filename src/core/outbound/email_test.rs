use super::*;
use crate::core::tenancy::Provider;
use serde_json::Map;

fn target(message_id: Option<&str>) -> Target {
    Target {
        provider: Provider::Email,
        org_id: "org_1".into(),
        installation_id: "ins_1".into(),
        binding_id: "bnd_1".into(),
        agent_id: "agent_a".into(),
        conversation_id: "alice@customer.example".into(),
        thread_id: Some("0123456789abcdef".into()),
        message_id: message_id.map(str::to_owned),
        reply_to: None,
        thread: None,
    }
}

fn made(
    op: &Op,
    target: &Target,
    handles: &Map<String, Value>,
) -> Result<Option<HttpCall>, Failure> {
    let context = Context {
        base_url: "",
        credential: "",
        handles,
        tenant_key: "support@acme.example",
        metadata: &Value::Null,
        message_id: "msg_1",
        now: 1_796_000_000,
    };
    request(op, target, &context)
}

fn send(text: &str) -> Op {
    Op::Send {
        part: 0,
        text: text.into(),
    }
}

fn message(call: &HttpCall) -> String {
    call.body.clone().unwrap()
}

#[test]
fn a_reply_is_threaded_and_sent_from_the_signed_reply_address() {
    let handles = Map::from_iter([
        (
            "from".to_owned(),
            Value::from("support+r-0123456789abcdef-aa@acme.example"),
        ),
        (
            "subject".to_owned(),
            Value::from("Order #42 \u{2013} delayed"),
        ),
        ("references".to_owned(), Value::from("<a@x> <b@y>")),
    ]);
    let call = made(
        &send("It ships today \u{2713}"),
        &target(Some("<b@y>")),
        &handles,
    )
    .unwrap()
    .unwrap();
    assert_eq!(call.url, "mailto:alice@customer.example");
    assert_eq!(
        call.headers,
        vec![(
            "From",
            "support+r-0123456789abcdef-aa@acme.example".to_owned()
        )]
    );
    let raw = message(&call);
    let parsed = crate::core::mime::Message::parse(raw.as_bytes()).unwrap();
    assert_eq!(parsed.header("To"), Some("alice@customer.example"));
    assert_eq!(
        crate::core::mime::decode_words(parsed.header("Subject").unwrap()),
        "Re: Order #42 \u{2013} delayed"
    );
    assert_eq!(parsed.header("In-Reply-To"), Some("<b@y>"));
    assert_eq!(parsed.header("References"), Some("<a@x> <b@y>"));
    assert_eq!(parsed.header("Auto-Submitted"), Some("auto-replied"));
    assert_eq!(
        parsed.header("Date"),
        Some("Mon, 30 Nov 2026 00:53:20 +0000")
    );
    let id = parsed.header("Message-ID").unwrap();
    assert!(id.ends_with("@acme.example>"), "{id}");
    assert_eq!(parsed.text().unwrap().trim_end(), "It ships today \u{2713}");
    // The same part is the same message on a retry.
    let again = made(
        &send("It ships today \u{2713}"),
        &target(Some("<b@y>")),
        &handles,
    )
    .unwrap()
    .unwrap();
    assert_eq!(message(&again), raw);
}

#[test]
fn a_message_an_agent_starts_comes_from_the_installations_address() {
    let call = made(&send("Hello"), &target(None), &Map::new())
        .unwrap()
        .unwrap();
    let raw = message(&call);
    let parsed = crate::core::mime::Message::parse(raw.as_bytes()).unwrap();
    assert_eq!(parsed.header("From"), Some("support@acme.example"));
    assert_eq!(parsed.header("Subject"), Some("Re: your message"));
    assert_eq!(parsed.header("In-Reply-To"), None);
}

#[test]
fn a_subject_cannot_inject_headers_and_re_is_not_doubled() {
    let handles = Map::from_iter([("subject".to_owned(), Value::from("Re: hi\r\nBcc: victim@x"))]);
    let raw = message(&made(&send("x"), &target(None), &handles).unwrap().unwrap());
    assert!(!raw.contains("\r\nBcc:"), "{raw}");
    let handles = Map::from_iter([("subject".to_owned(), Value::from("RE: hi"))]);
    let raw = message(&made(&send("x"), &target(None), &handles).unwrap().unwrap());
    assert!(raw.contains("Subject: RE: hi\r\n"), "{raw}");
}

#[test]
fn only_sends_are_calls_and_the_conversation_must_be_an_address() {
    for op in [
        Op::Typing,
        Op::MarkRead,
        Op::Delete {
            part: 0,
            provider_id: "x".into(),
        },
    ] {
        assert_eq!(made(&op, &target(None), &Map::new()).unwrap(), None);
    }
    let mut bad = target(None);
    bad.conversation_id = "not an address".into();
    assert_eq!(
        made(&send("x"), &bad, &Map::new()).unwrap_err().code,
        "conversation_not_found"
    );
    bad.conversation_id = "a@b.c\r\nBcc: x@y".into();
    assert!(made(&send("x"), &bad, &Map::new()).is_err());
}

#[test]
fn the_bindings_answers_map_to_outcomes() {
    let answer = |status, body| Answer {
        status,
        headers: &[],
        body,
    };
    assert_eq!(
        outcome(&send("x"), &answer(202, "<id@acme.example>")),
        Outcome::Done {
            provider_id: Some("<id@acme.example>".into())
        }
    );
    assert!(
        matches!(outcome(&send("x"), &answer(403, "not allowed")), Outcome::Failed(f) if f.code == "refused")
    );
    assert!(matches!(
        outcome(&send("x"), &answer(503, "down")),
        Outcome::Retry { .. }
    ));
}

#[test]
fn long_threads_and_subjects_stay_within_header_limits() {
    let chain: Vec<String> = (0..200).map(|n| format!("<{n}@x.example>")).collect();
    let handles = Map::from_iter([
        ("references".to_owned(), Value::from(chain.join(" "))),
        ("subject".to_owned(), Value::from("s".repeat(5000))),
    ]);
    let raw = message(
        &made(&send("x"), &target(Some("<199@x.example>")), &handles)
            .unwrap()
            .unwrap(),
    );
    let head = raw.split("\r\n\r\n").next().unwrap();
    assert!(head.split("\r\n").all(|line| line.len() <= 998), "{head}");
    let parsed = crate::core::mime::Message::parse(raw.as_bytes()).unwrap();
    assert_eq!(parsed.header("References").unwrap().split(' ').count(), 10);
    assert_eq!(parsed.header("In-Reply-To"), Some("<199@x.example>"));
}

#[test]
fn an_address_that_is_not_one_mail_can_be_sent_from_fails() {
    let handles = Map::from_iter([("from".to_owned(), Value::from("a\r\nBcc: b@c.example"))]);
    let failure = made(&send("x"), &target(None), &handles).unwrap_err();
    assert_eq!(failure.code, "refused");
}
