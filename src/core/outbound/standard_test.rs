use super::*;
use crate::core::ingress::{standard::Standard, Request};
use crate::core::tenancy::Provider;
use serde_json::Value;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn target() -> Target {
    Target {
        provider: Provider::Standard,
        org_id: "org_1".into(),
        installation_id: "ins_1".into(),
        binding_id: "bnd_1".into(),
        agent_id: "agent_a".into(),
        conversation_id: "ticket-42".into(),
        thread_id: None,
        message_id: Some("evt_1".into()),
        reply_to: None,
        thread: None,
    }
}

fn call(op: &Op, metadata: &Value) -> Result<Option<HttpCall>, Failure> {
    let handles = serde_json::Map::new();
    let context = Context {
        base_url: "",
        credential: SECRET,
        handles: &handles,
        tenant_key: "",
        metadata,
        message_id: "msg_1",
        now: 1_700_000_000,
    };
    request(op, &target(), &context)
}

fn send(text: &str) -> Op {
    Op::Send {
        part: 0,
        text: text.into(),
    }
}

#[test]
fn an_answer_is_a_signed_event_to_the_callback_url() {
    let metadata = json!({"callback_url": "https://source.example/hooks/answers"});
    let made = call(&send("Hello"), &metadata).unwrap().unwrap();
    assert_eq!(
        (made.method, made.url.as_str()),
        ("POST", "https://source.example/hooks/answers")
    );
    assert!(made.idempotent && !made.follow_redirects);
    let body = made.body.clone().unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"type": "message.created", "message_id": "msg_1", "part": 0,
               "conversation": "ticket-42", "thread": null, "in_reply_to": "evt_1",
               "text": "Hello"})
    );
    // The receiver verifies it with the same secret, as any Standard Webhooks receiver does.
    let headers: Vec<(String, String)> = made
        .headers
        .iter()
        .map(|(name, value)| ((*name).to_owned(), value.clone()))
        .collect();
    let request = Request {
        method: "POST",
        headers: &headers,
        query: &[],
        url: "",
        body: body.as_bytes(),
    };
    assert_eq!(
        Standard::verify(&request, &[SECRET.to_owned()], 1_700_000_000, 300),
        Ok(())
    );
}

#[test]
fn one_event_keeps_its_id_and_the_next_gets_another() {
    let metadata = json!({"callback_url": "https://source.example/a"});
    let id = |op: &Op| {
        let made = call(op, &metadata).unwrap().unwrap();
        made.headers
            .iter()
            .find(|(name, _)| *name == "webhook-id")
            .map(|(_, value)| value.clone())
            .unwrap()
    };
    assert_eq!(id(&send("Hello")), id(&send("Hello")));
    let edit = Op::Edit {
        part: 0,
        provider_id: "msg_1.0".into(),
        text: "Hello!".into(),
    };
    assert_ne!(id(&send("Hello")), id(&edit));
}

#[test]
fn only_https_or_loopback_callbacks_are_called() {
    for good in [
        "https://source.example/a",
        "http://127.0.0.1:8791/answers",
        "http://localhost/a",
        "http://[::1]:9/a",
    ] {
        assert_eq!(check_callback_url(good), Ok(()), "{good}");
    }
    for bad in [
        "http://source.example/a",
        "http://127.0.0.1.evil.example/a",
        "http://user@evil.example/a",
        "ftp://source.example/a",
        "https://",
        "source.example",
    ] {
        assert!(check_callback_url(bad).is_err(), "{bad}");
    }
    let failure = call(&send("x"), &json!({"callback_url": "http://evil.example"})).unwrap_err();
    assert_eq!(failure.code, "no_callback");
    let failure = call(&send("x"), &json!({})).unwrap_err();
    assert!(failure.reason.contains("callback_url"));
}

#[test]
fn answers_are_read_by_their_status() {
    let answer = |status| Answer {
        status,
        headers: &[],
        body: "",
    };
    assert_eq!(
        outcome(&send("x"), &answer(204)),
        Outcome::Done { provider_id: None }
    );
    assert!(
        matches!(outcome(&send("x"), &answer(302)), Outcome::Failed(f) if f.code == "redirect")
    );
    assert_eq!(
        outcome(&send("x"), &answer(429)),
        Outcome::RateLimited { after_ms: 1000 }
    );
    assert!(matches!(
        outcome(&send("x"), &answer(503)),
        Outcome::Retry { .. }
    ));
    assert!(matches!(outcome(&send("x"), &answer(400)), Outcome::Failed(f) if f.code == "refused"));
    assert_eq!(call(&Op::Typing, &json!({})), Ok(None));
}
