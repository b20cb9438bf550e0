//! Email end to end, through wrangler's local email handler endpoint
//! (`POST /cdn-cgi/handler/email?from=…&to=…`) and its local `send_email` binding (each sent
//! message is written to a file the log names): a message Cloudflare authenticated is delivered
//! once and answered from a signed reply address, threaded; the reply to that address comes
//! back to the same thread; unauthenticated, forged and unknown-mailbox messages are refused
//! (bounced), and the HTTP webhook path does not exist for email.

use crate::ingress::{deliveries, unique, wait_for_audit};
use crate::messages::{accepted, capability, created, send, settled};
use crate::Env;
use channel_edge_e2e::http;
use libtest_mimic::Failed;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

tests![
    an_authenticated_email_is_delivered_once_and_answered_in_its_thread,
    unauthenticated_forged_or_misaddressed_email_is_refused,
];

const SENDER: &str = "alice@customer.example";

/// A mailbox of its own: an email app profile, an installation for `support-<n>@acme.example`,
/// an open binding. Returns the address and the agent.
fn mailbox(env: &Env) -> (String, String) {
    let n = unique();
    let address = format!("support-{n}@acme.example");
    let profile = created(&env.admin(
        "POST",
        "/v1/app-profiles",
        "profiles:write",
        Some(
            json!({"provider": "email", "kind": "platform", "provider_app_id": format!("mail-{n}"),
                    "name": format!("Mail {n}"), "secrets": {}}),
        ),
    ));
    let installation = created(&env.admin(
        "POST",
        "/v1/installations",
        "installations:write",
        Some(json!({"app_profile_id": profile, "org_id": env.id("acme"), "tenant_key": address})),
    ));
    let agent = format!("agent_mail_{n}");
    created(&env.admin(
        "POST",
        "/v1/bindings",
        "bindings:write",
        Some(json!({"installation_id": installation, "agent_id": agent, "sender_policy": "open"})),
    ));
    (address, agent)
}

/// A message from [`SENDER`] to `to` with Cloudflare's `results` on top.
fn message(to: &str, id: &str, results: &str, extra: &str) -> String {
    format!(
        "Authentication-Results: {results}\r\n\
         From: Alice <{SENDER}>\r\nTo: {to}\r\nSubject: Order #42\r\nMessage-ID: {id}\r\n\
         Date: Mon, 30 Nov 2026 09:00:00 +0000\r\n{extra}\
         Content-Type: text/plain; charset=utf-8\r\n\r\nWhere is my order?\r\n"
    )
}

const PASS: &str = "mx.cloudflare.net; dkim=pass header.d=customer.example header.s=s1; \
                    dmarc=pass header.from=customer.example policy.dmarc=reject; \
                    spf=pass smtp.mailfrom=alice@customer.example";

/// Hands `raw` to the worker's email handler as Email Routing would.
fn deliver(env: &Env, to: &str, raw: &str) -> http::Reply {
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("from", SENDER)
        .append_pair("to", to)
        .finish();
    let url = env.worker.url(&format!("/cdn-cgi/handler/email?{query}"));
    http::send(
        "POST",
        &url,
        &[("content-type", "message/rfc822")],
        raw.as_bytes(),
    )
}

/// The message the local `send_email` binding wrote for `message_id`.
fn sent_file(env: &Env, message_id: &str) -> String {
    let name = format!("{}.eml", message_id.trim_matches(['<', '>']));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = env.worker.log();
        let path = log
            .lines()
            .filter_map(|line| line.trim().strip_prefix("Email: "))
            .find(|path| path.ends_with(&name));
        if let Some(text) = path.and_then(|path| std::fs::read_to_string(path).ok()) {
            return text;
        }
        assert!(Instant::now() < deadline, "no file {name} in the log");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    message
        .lines()
        .take_while(|line| !line.is_empty())
        .find_map(|line| {
            let (field, value) = line.split_once(':')?;
            field.eq_ignore_ascii_case(name).then(|| value.trim())
        })
}

fn an_authenticated_email_is_delivered_once_and_answered_in_its_thread(
    env: &Env,
) -> Result<(), Failed> {
    let (address, agent) = mailbox(env);
    let id = format!("<first-{}@customer.example>", unique());
    let raw = message(&address, &id, PASS, "");
    // The message, and the sending server's retry of it.
    for _ in 0..2 {
        let reply = deliver(env, &address, &raw);
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    let delivered = deliveries(env, &id, 2, Duration::from_secs(8));
    assert_eq!(delivered.len(), 1, "the retry is dropped");
    let envelope = &delivered[0];
    assert_eq!(envelope["provider"], "email");
    assert_eq!(envelope["agent_id"], agent.as_str());
    assert_eq!(envelope["sender"]["id"], SENDER);
    assert_eq!(envelope["conversation"]["id"], SENDER);
    assert_eq!(envelope["text"], "Where is my order?");
    let thread = envelope["conversation"]["thread_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let sent = accepted(&send(
        env,
        json!({"reply_to": capability(envelope), "text": "It ships **today**."}),
    ));
    let view = settled(env, &sent, Duration::from_secs(15));
    assert_eq!(view["status"], "sent", "{view}");
    let message_id = view["provider_message_ids"][0].as_str().unwrap().to_owned();
    let mail = sent_file(env, &message_id);
    let from = header(&mail, "From").unwrap().to_owned();
    let (local, domain) = address.split_once('@').unwrap();
    assert!(from.starts_with(&format!("{local}+r-{thread}-")), "{from}");
    assert!(from.ends_with(&format!("@{domain}")), "{from}");
    assert_eq!(header(&mail, "To"), Some(SENDER));
    assert_eq!(header(&mail, "Subject"), Some("Re: Order #42"));
    assert_eq!(header(&mail, "In-Reply-To"), Some(id.as_str()));
    assert_eq!(header(&mail, "Auto-Submitted"), Some("auto-replied"));

    // Alice answers the reply address: the same thread, found by the address's tag.
    let answer_id = format!("<second-{}@customer.example>", unique());
    let raw = message(&from, &answer_id, PASS, "Subject: Re: Order #42\r\n");
    let reply = deliver(env, &from, &raw);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let delivered = deliveries(env, &answer_id, 1, Duration::from_secs(8));
    assert_eq!(delivered[0]["conversation"]["thread_id"], thread.as_str());
    assert_eq!(delivered[0]["agent_id"], agent.as_str());
    // A made-up tag on the same mailbox is not a thread of ours: the message starts its own.
    let forged_to = format!("{local}+r-0123456789abcdef-0011223344556677@{domain}");
    let forged_id = format!("<third-{}@customer.example>", unique());
    let reply = deliver(env, &forged_to, &message(&forged_to, &forged_id, PASS, ""));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let delivered = deliveries(env, &forged_id, 1, Duration::from_secs(8));
    assert_ne!(
        delivered[0]["conversation"]["thread_id"],
        "0123456789abcdef"
    );
    Ok(())
}

fn unauthenticated_forged_or_misaddressed_email_is_refused(env: &Env) -> Result<(), Failed> {
    let (address, _) = mailbox(env);
    let failing = "mx.cloudflare.net; dkim=none; dmarc=fail header.from=customer.example; \
                   spf=softfail smtp.mailfrom=alice@customer.example";
    let forged_below = format!("{failing}\r\nAuthentication-Results: {PASS}");
    let other_dkim = "mx.cloudflare.net; dkim=pass header.d=attacker.example; dmarc=none";
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "DMARC failed",
            message(&address, &format!("<f1-{}@x>", unique()), failing, ""),
            "mail_authentication",
        ),
        (
            "a pass forged below Cloudflare's fail",
            message(&address, &format!("<f2-{}@x>", unique()), &forged_below, ""),
            "mail_authentication",
        ),
        (
            "DKIM for another domain",
            message(&address, &format!("<f3-{}@x>", unique()), other_dkim, ""),
            "mail_authentication",
        ),
    ];
    for (case, raw, code) in cases {
        let reply = deliver(env, &address, &raw);
        assert_eq!(reply.status, 400, "{case}: {}", reply.body);
        assert!(reply.body.contains(code), "{case}: {}", reply.body);
    }
    let unknown = format!("nobody-{}@acme.example", unique());
    let reply = deliver(env, &unknown, &message(&unknown, "<u@x>", PASS, ""));
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert!(reply.body.contains("no such mailbox"), "{}", reply.body);
    // Refusals are audited like webhooks' (once per source, reason and minute): before the
    // pipeline by the sending domain, in it by the installation.
    wait_for_audit(env, "unknown_or_revoked", "email from:customer.example");
    wait_for_audit(env, "mail_authentication", "ip:email");
    // An address receives mail for one installation only, whatever the app profile.
    let n = unique();
    let other = created(&env.admin(
        "POST",
        "/v1/app-profiles",
        "profiles:write",
        Some(
            json!({"provider": "email", "kind": "byoa", "org_id": env.id("acme"),
                    "provider_app_id": format!("mail-other-{n}"), "name": "Other", "secrets": {}}),
        ),
    ));
    let taken = env.admin(
        "POST",
        "/v1/installations",
        "installations:write",
        Some(json!({"app_profile_id": other, "org_id": env.id("acme"), "tenant_key": address})),
    );
    assert_eq!(taken.status, 409, "{}", taken.body);
    let tagged = env.admin(
        "POST",
        "/v1/installations",
        "installations:write",
        Some(json!({"app_profile_id": other, "org_id": env.id("acme"),
                    "tenant_key": "x+r-0123456789abcdef-00@acme.example"})),
    );
    assert_eq!(tagged.status, 422, "{}", tagged.body);
    // Email never arrives over HTTP: a request could carry any Authentication-Results.
    let raw = message(&address, "<http@x>", PASS, "");
    let url = env
        .worker
        .url("/webhooks/email/ins_00000000000000000000000000000000");
    let reply = http::send(
        "POST",
        &url,
        &[("content-type", "message/rfc822")],
        raw.as_bytes(),
    );
    assert_eq!(reply.status, 404, "{}", reply.body);
    let _: Value = reply.json();
    Ok(())
}
