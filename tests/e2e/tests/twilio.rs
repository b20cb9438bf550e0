//! Twilio end to end: SMS and WhatsApp webhooks signed over the public URL (another host or
//! port refused, a replayed `MessageSid` dropped), an empty TwiML acknowledgement, answers
//! through the Messages API stand-in, and a number bound by token.

use crate::ingress::{deliveries, unique};
use crate::messages::{accepted, calls, capability, created, send, settled};
use crate::Env;
use channel_edge::core::ingress::sign;
use channel_edge_e2e::fake::Answer;
use channel_edge_e2e::http;
use libtest_mimic::Failed;
use serde_json::json;
use std::time::Duration;

tests![
    a_twilio_sms_is_delivered_once_and_answered_from_the_number,
    twilio_signatures_for_another_url_or_token_are_refused,
    a_twilio_number_binds_with_its_token,
];

const ACCOUNT: &str = "AC0de0000000000000000000000000e2e0";
const EMPTY_TWIML: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Response></Response>"#;

/// A fresh number installed under the seeded Twilio app profile, bound openly.
fn number(env: &Env) -> (String, String, String) {
    let n = unique();
    let phone = format!("+1555{:07}", 7_000_000 + n);
    let token = format!("twilio-token-{n}");
    let installation = created(&env.admin(
        "POST",
        "/v1/installations",
        "installations:write",
        Some(
            json!({"app_profile_id": env.id("twilio"), "org_id": env.id("acme"),
            "tenant_key": phone, "metadata": {"account_sid": ACCOUNT},
            "credentials": {"auth_token": token}}),
        ),
    ));
    created(&env.admin(
        "POST",
        "/v1/bindings",
        "bindings:write",
        Some(
            json!({"installation_id": installation, "agent_id": format!("agent_twilio_{n}"),
                    "sender_policy": "open"}),
        ),
    ));
    (installation, phone, token)
}

fn sms(sid: &str, from: &str, to: &str, body: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("SmsMessageSid", sid)
        .append_pair("NumMedia", "0")
        .append_pair("Body", body)
        .append_pair("To", to)
        .append_pair("MessageSid", sid)
        .append_pair("AccountSid", ACCOUNT)
        .append_pair("From", from)
        .append_pair("ApiVersion", "2010-04-01")
        .finish()
}

/// POSTs `form` to `url` signed for `signed_url` with `token`.
fn post(url: &str, signed_url: &str, token: &str, form: &str) -> http::Reply {
    let signature = sign::twilio(token, signed_url, form.as_bytes());
    http::send(
        "POST",
        url,
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("x-twilio-signature", &signature),
        ],
        form.as_bytes(),
    )
}

fn a_twilio_sms_is_delivered_once_and_answered_from_the_number(env: &Env) -> Result<(), Failed> {
    let (installation, phone, token) = number(env);
    let url = env
        .worker
        .url(&format!("/webhooks/twilio/{installation}?channel=sms"));
    let sid = format!("SM{:032x}", unique());
    let form = sms(&sid, "+15551230000", &phone, "Hi there");
    for _ in 0..2 {
        let reply = post(&url, &url, &token, &form);
        assert_eq!((reply.status, reply.body.as_str()), (200, EMPTY_TWIML));
        assert_eq!(reply.header("content-type"), Some("text/xml"));
    }
    let envelopes = deliveries(env, &sid, 2, Duration::from_secs(6));
    assert_eq!(envelopes.len(), 1, "the same MessageSid is delivered once");
    let envelope = &envelopes[0];
    assert_eq!(envelope["conversation"]["id"], "+15551230000");

    let path = format!("/twilio/2010-04-01/Accounts/{ACCOUNT}/Messages.json");
    env.providers.respond(
        &path,
        Answer::json(201, json!({"sid": "SMout1", "status": "queued"})),
    );
    let id = accepted(&send(
        env,
        json!({"reply_to": capability(envelope), "text": "Hello **back**"}),
    ));
    let view = settled(env, &id, Duration::from_secs(10));
    assert_eq!(view["status"], "sent", "{view}");
    let sent = calls(env, &path);
    let form: Vec<(String, String)> = form_urlencoded::parse(&sent[0].body).into_owned().collect();
    let pairs = [
        ("To", "+15551230000"),
        ("From", phone.as_str()),
        ("Body", "Hello back"),
    ];
    assert_eq!(form, pairs.map(|(k, v)| (k.to_owned(), v.to_owned())));
    let basic = base64_basic(&token);
    assert_eq!(sent[0].header("authorization"), Some(basic.as_str()));
    Ok(())
}

fn base64_basic(token: &str) -> String {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT}:{token}"));
    format!("Basic {encoded}")
}

fn twilio_signatures_for_another_url_or_token_are_refused(env: &Env) -> Result<(), Failed> {
    let (installation, phone, token) = number(env);
    let url = env.worker.url(&format!("/webhooks/twilio/{installation}"));
    let sid = format!("SM{:032x}", unique());
    let form = sms(&sid, "+15551230001", &phone, "hi");
    let elsewhere = format!("https://attacker.example/webhooks/twilio/{installation}");
    let other_port = url.replacen("127.0.0.1:", "127.0.0.1:1", 1);
    for (signed_url, secret) in [
        (elsewhere.as_str(), token.as_str()),
        (&other_port, &token),
        (&url, "wrong-token"),
    ] {
        let reply = post(&url, signed_url, secret, &form);
        assert_eq!(reply.status, 401, "signed for {signed_url}: {}", reply.body);
    }
    let unsigned = http::send("POST", &url, &[], form.as_bytes());
    assert_eq!(unsigned.status, 401);
    assert!(deliveries(env, &sid, 1, Duration::from_secs(1)).is_empty());
    Ok(())
}

fn a_twilio_number_binds_with_its_token(env: &Env) -> Result<(), Failed> {
    let reply = env.admin(
        "POST",
        "/v1/binding-sessions",
        "bindings:write",
        Some(
            json!({"provider": "twilio", "method": "token", "org_id": env.id("acme"),
            "app_profile_id": env.id("twilio"), "timeout_seconds": 120,
            "binding": {"agent_id": "agent_twilio_bound", "sender_policy": "open"}}),
        ),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    let phone = format!("+1555{:07}", 8_000_000 + unique());
    let base = format!("/twilio/2010-04-01/Accounts/{ACCOUNT}");
    env.providers.respond(
        &format!("{base}/IncomingPhoneNumbers.json"),
        Answer::json(
            200,
            json!({"incoming_phone_numbers": [{"sid": "PN0001", "phone_number": phone,
                                                             "friendly_name": "Support line"}]}),
        ),
    );
    env.providers.respond_to_body(
        &format!("{base}/IncomingPhoneNumbers/PN0001.json"),
        |body, _| {
            let url = form_urlencoded::parse(body)
                .find(|(k, _)| k == "SmsUrl")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            Answer::json(200, json!({"sid": "PN0001", "sms_url": url}))
        },
    );
    let id = reply.json()["id"].as_str().unwrap().to_owned();
    let done = env.admin(
        "POST",
        &format!("/v1/binding-sessions/{id}/credentials"),
        "bindings:write",
        Some(json!({"account_sid": ACCOUNT, "auth_token": "bound-token", "phone_number": phone})),
    );
    let done = done.json();
    assert_eq!(done["status"], "completed", "{done}");
    let installation = done["outcome"]["installation_id"].as_str().unwrap();
    let set = calls(env, &format!("{base}/IncomingPhoneNumbers/PN0001.json"));
    let sms_url = form_urlencoded::parse(&set[0].body)
        .find(|(k, _)| k == "SmsUrl")
        .map(|(_, v)| v.into_owned());
    assert_eq!(
        sms_url,
        Some(env.worker.url(&format!("/webhooks/twilio/{installation}")))
    );
    let bad = env.admin(
        "POST",
        "/v1/binding-sessions",
        "bindings:write",
        Some(
            json!({"provider": "twilio", "method": "token", "org_id": env.id("acme"),
            "app_profile_id": env.id("twilio"), "binding": {"agent_id": "a"}}),
        ),
    );
    let id = bad.json()["id"].as_str().unwrap().to_owned();
    let refused = env.admin(
        "POST",
        &format!("/v1/binding-sessions/{id}/credentials"),
        "bindings:write",
        Some(json!({"account_sid": "AC/../x", "auth_token": "t", "phone_number": "+1"})),
    );
    assert_eq!(
        refused.status, 400,
        "the account SID goes into a URL: {}",
        refused.body
    );
    Ok(())
}
