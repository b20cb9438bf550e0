//! Outbound messages: the agent answers Slack and Telegram conversations through channel-edge,
//! which holds the bot tokens. The provider fake checks the exact request each provider
//! documents (method, path, auth, body).

use crate::authority::{principal, token};
use crate::ingress::{dataset_secret, deliveries, post_telegram, unique};
use crate::{unique_ip, Env};
use channel_edge::core::ingress::sign;
use channel_edge_e2e::fake::{Answer, Recorded};
use channel_edge_e2e::http::{self, Reply};
use channel_edge_e2e::seed;
use libtest_mimic::Failed;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

tests!(
    a_telegram_reply_lands_in_its_chat_and_topic_with_the_token_held_by_channel_edge,
    a_slack_reply_lands_in_the_thread_of_the_message_answered,
    a_stream_of_fifty_edits_reaches_telegram_as_a_few_and_ends_on_the_final_text,
    a_rate_limit_is_waited_out_and_then_the_message_is_sent,
    a_provider_error_is_retried_until_the_message_is_sent,
    one_idempotency_key_makes_one_provider_message,
    twenty_messages_to_one_chat_arrive_in_order,
    a_principal_for_another_agent_or_org_cannot_send,
    a_revoked_installation_sends_nothing,
    revoking_a_binding_drops_what_waits_with_one_ledger_entry,
    an_agent_starts_a_message_only_where_its_binding_routes,
    a_refused_send_fails_with_the_providers_reason,
    messages_are_deleted_at_the_provider,
);

/// A Telegram bot installed for one test, with an open binding to its own agent.
pub struct Bot {
    pub installation: String,
    pub binding: String,
    pub agent: String,
    pub bot_token: String,
    pub secret_token: String,
}

impl Bot {
    /// The fake Bot API path of `method` for this bot.
    pub fn path(&self, method: &str) -> String {
        format!("/telegram/bot{}/{method}", self.bot_token)
    }
}

pub fn created(reply: &Reply) -> String {
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.json()["id"].as_str().unwrap().to_owned()
}

/// Installs a bot whose Bot API answers every method with success (new message ids counting
/// up), bound to a fresh agent.
pub fn telegram_bot(env: &Env) -> Bot {
    let n = unique();
    let bot_token = format!("{}:BOT{n}SECRET", 7_000_000 + n);
    let secret_token = format!("secret-token-{n}");
    let installation = created(&env.admin(
        "POST",
        "/v1/installations",
        "installations:write",
        Some(
            json!({"app_profile_id": env.id("telegram"), "org_id": env.id("acme"),
            "tenant_key": format!("{}", 7_000_000 + n),
            "credentials": {"bot_token": bot_token, "secret_token": secret_token}}),
        ),
    ));
    let agent = format!("agent_outbound_{n}");
    let binding = created(&env.admin(
        "POST",
        "/v1/bindings",
        "bindings:write",
        Some(json!({"installation_id": installation, "agent_id": agent, "sender_policy": "open"})),
    ));
    let bot = Bot {
        installation,
        binding,
        agent,
        bot_token,
        secret_token,
    };
    for method in [
        "sendMessage",
        "editMessageText",
        "deleteMessage",
        "sendChatAction",
    ] {
        let path = bot.path(method);
        env.providers.respond_with(&path, |received: &[Recorded]| {
            let id = 100 + received.len();
            Answer::json(
                200,
                json!({"ok": true, "result": {"message_id": id, "chat": {"id": 1}}}),
            )
        });
    }
    bot
}

/// An inbound Telegram message in `chat` (a forum topic when `topic` is given); returns the
/// envelope the agent received.
pub fn telegram_inbound(env: &Env, bot: &Bot, chat: i64, topic: Option<i64>) -> Value {
    let update_id = 3_000_000 + unique();
    let mut message = json!({"message_id": update_id % 100_000, "date": seed::now(),
        "from": {"id": 555, "is_bot": false, "first_name": "Ann"},
        "chat": {"id": chat, "type": "supergroup", "title": "Team", "is_forum": topic.is_some()},
        "text": "can you help?"});
    if let Some(topic) = topic {
        message["message_thread_id"] = json!(topic);
        message["is_topic_message"] = json!(true);
    }
    let update = json!({"update_id": update_id, "message": message});
    let reply = post_telegram(&env.worker, &bot.installation, &bot.secret_token, &update);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let envelopes = deliveries(env, &update_id.to_string(), 1, Duration::from_secs(10));
    assert_eq!(envelopes.len(), 1, "the agent receives the inbound message");
    envelopes[0].clone()
}

pub fn capability(envelope: &Value) -> String {
    envelope["reply"]["capability"]
        .as_str()
        .unwrap_or_else(|| panic!("no reply capability: {envelope}"))
        .to_owned()
}

/// `POST /v1/messages` as root (scope `messages:send`).
pub fn send(env: &Env, body: Value) -> Reply {
    env.admin("POST", "/v1/messages", "messages:send", Some(body))
}

pub fn accepted(reply: &Reply) -> String {
    assert_eq!(reply.status, 202, "{}", reply.body);
    reply.json()["id"].as_str().unwrap().to_owned()
}

/// Waits until message `id`'s status is not `queued` (or `timeout`), and returns it.
pub fn settled(env: &Env, id: &str, timeout: Duration) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let reply = env.admin("GET", &format!("/v1/messages/{id}"), "messages:send", None);
        assert_eq!(reply.status, 200, "{}", reply.body);
        let view = reply.json();
        if view["status"] != "queued" || Instant::now() >= deadline {
            return view;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Requests the provider fake received at `path`.
pub fn calls(env: &Env, path: &str) -> Vec<Recorded> {
    env.providers
        .requests()
        .into_iter()
        .filter(|r| r.url == path)
        .collect()
}

fn a_telegram_reply_lands_in_its_chat_and_topic_with_the_token_held_by_channel_edge(
    env: &Env,
) -> Result<(), Failed> {
    let bot = telegram_bot(env);
    let envelope = telegram_inbound(env, &bot, -100_777, Some(42));
    assert!(
        !envelope.to_string().contains(&bot.bot_token),
        "the envelope holds no credential"
    );
    let reply = send(
        env,
        json!({"reply_to": capability(&envelope), "text": "Sure: **run** `make` <now> & wait",
               "thread": "reply"}),
    );
    let id = accepted(&reply);
    assert_eq!(reply.json()["status"], "queued");
    let sent = env.providers.wait_for(1, Duration::from_secs(10), |r| {
        r.url == bot.path("sendMessage")
    });
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].method, "POST");
    assert_eq!(sent[0].header("content-type"), Some("application/json"));
    let body = sent[0].json();
    assert_eq!(body["chat_id"], "-100777");
    assert_eq!(body["message_thread_id"], 42, "in the forum topic");
    assert_eq!(body["parse_mode"], "HTML");
    assert_eq!(
        body["text"],
        "Sure: <b>run</b> <code>make</code> &lt;now&gt; &amp; wait"
    );
    let inbound_message = envelope["raw"]["message"]["message_id"].clone();
    assert_eq!(body["reply_parameters"]["message_id"], inbound_message);
    let view = settled(env, &id, Duration::from_secs(10));
    assert_eq!(view["status"], "sent", "{view}");
    assert_eq!(view["provider_message_ids"].as_array().unwrap().len(), 1);
    assert_eq!(view["conversation_id"], "-100777");
    assert_eq!(view["thread_id"], "42");
    // No provider secret in any answer, log line or ledger entry.
    for text in [
        reply.body.clone(),
        view.to_string(),
        env.worker.log_tail(),
        env.admin("GET", "/v1/audit?limit=200", "audit:read", None)
            .body,
    ] {
        assert!(!text.contains(&bot.bot_token), "a bot token leaked: {text}");
    }
    Ok(())
}

fn a_slack_reply_lands_in_the_thread_of_the_message_answered(env: &Env) -> Result<(), Failed> {
    let n = unique();
    let team = format!("T0OUT{n}");
    let bot_token = format!("xoxb-outbound-{n}");
    let installation = created(&env.admin(
        "POST",
        "/v1/installations",
        "installations:write",
        Some(
            json!({"app_profile_id": env.id("slack_platform"), "org_id": env.id("acme"),
            "tenant_key": team, "credentials": {"bot_token": bot_token}}),
        ),
    ));
    created(&env.admin(
        "POST",
        "/v1/bindings",
        "bindings:write",
        Some(
            json!({"installation_id": installation, "agent_id": format!("agent_slack_{n}"),
                    "sender_policy": "open"}),
        ),
    ));
    env.providers.respond_with("/slack/chat.postMessage", |received: &[Recorded]| {
        Answer::json(200, json!({"ok": true, "channel": "C", "ts": format!("1800000000.{:06}", received.len())}))
    });
    let event_id = format!("EvOUT{n}");
    let body = json!({"token": "unused", "team_id": team, "api_app_id": "A0DEVPLATFORM",
        "event": {"type": "message", "channel": "C0OUT", "channel_type": "channel", "user": "U0ANN",
                  "text": "<!channel> help", "ts": "1700000100.000200", "thread_ts": "1700000000.000100"},
        "type": "event_callback", "event_id": event_id, "event_time": seed::now()})
    .to_string();
    let secret = dataset_secret(
        "app_profiles",
        "slack_platform",
        "secrets",
        "signing_secret",
    );
    let now = seed::now();
    let signature = sign::slack(&secret, now, body.as_bytes());
    let timestamp = now.to_string();
    let url = env
        .worker
        .url(&format!("/webhooks/slack/{}", env.id("slack_platform")));
    let inbound = http::send(
        "POST",
        &url,
        &[
            ("content-type", "application/json"),
            ("x-slack-request-timestamp", &timestamp),
            ("x-slack-signature", &signature),
        ],
        body.as_bytes(),
    );
    assert_eq!(inbound.status, 200, "{}", inbound.body);
    let envelopes = deliveries(env, &event_id, 1, Duration::from_secs(10));
    let text = "Here: [docs](https://example.com/a?b=1|2) and <!everyone>";
    let id = accepted(&send(
        env,
        json!({"reply_to": capability(&envelopes[0]), "text": text}),
    ));
    let posted = env.providers.wait_for(1, Duration::from_secs(10), |r| {
        r.url == "/slack/chat.postMessage" && r.json()["channel"] == "C0OUT"
    });
    assert_eq!(posted.len(), 1);
    let call = &posted[0];
    assert_eq!(
        call.header("authorization"),
        Some(format!("Bearer {bot_token}").as_str())
    );
    assert_eq!(
        call.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    let body = call.json();
    assert_eq!(
        body["thread_ts"], "1700000000.000100",
        "in the answered thread"
    );
    assert_eq!(
        body["text"],
        "Here: <https://example.com/a?b=1%7C2|docs> and &lt;!everyone&gt;"
    );
    let view = settled(env, &id, Duration::from_secs(10));
    assert_eq!(view["status"], "sent", "{view}");
    assert_eq!(view["thread_id"], "1700000000.000100");
    Ok(())
}

fn a_stream_of_fifty_edits_reaches_telegram_as_a_few_and_ends_on_the_final_text(
    env: &Env,
) -> Result<(), Failed> {
    let bot = telegram_bot(env);
    let envelope = telegram_inbound(env, &bot, 4242, None);
    let id = accepted(&send(
        env,
        json!({"reply_to": capability(&envelope), "text": "", "final": false}),
    ));
    let started = Instant::now();
    let mut text = String::new();
    for i in 0..50 {
        text.push_str(&format!("word{i} "));
        let is_final = i == 49;
        let reply = env.admin(
            "PATCH",
            &format!("/v1/messages/{id}"),
            "messages:send",
            Some(json!({"text": text.trim_end(), "final": is_final})),
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
        std::thread::sleep(Duration::from_millis(30));
    }
    // One call per second in a Telegram chat: the PATCHes took this long, so at most one edit per
    // second of it (and one for the final text) may reach Telegram, however slow the machine.
    let most_edits = started.elapsed().as_secs() as usize + 2;
    let final_text = text.trim_end().to_owned();
    let deadline = Instant::now() + Duration::from_secs(15);
    let shown = loop {
        let sends = calls(env, &bot.path("sendMessage"));
        let edits = calls(env, &bot.path("editMessageText"));
        let last = edits
            .last()
            .or(sends.last())
            .map(|r| r.json()["text"].as_str().unwrap_or_default().to_owned());
        if last.as_deref() == Some(final_text.as_str()) || Instant::now() >= deadline {
            break (sends.len(), edits.len(), last);
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(
        shown.2.as_deref(),
        Some(final_text.as_str()),
        "ends on the final text"
    );
    assert_eq!(shown.0, 1, "one message");
    assert!(
        shown.1 <= most_edits && shown.1 < 50,
        "{} edits for 50 PATCHes (at most {most_edits})",
        shown.1
    );
    let view = settled(env, &id, Duration::from_secs(5));
    assert_eq!(
        (view["status"].clone(), view["final"].clone()),
        (json!("sent"), json!(true))
    );
    Ok(())
}

fn a_rate_limit_is_waited_out_and_then_the_message_is_sent(env: &Env) -> Result<(), Failed> {
    let bot = telegram_bot(env);
    let envelope = telegram_inbound(env, &bot, 5151, None);
    let limited = Answer::json(
        429,
        json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 2"}),
    )
    .with_header("Retry-After", "2");
    env.providers.respond(&bot.path("sendMessage"), limited);
    let id = accepted(&send(
        env,
        json!({"reply_to": capability(&envelope), "text": "patience"}),
    ));
    let sent = env.providers.wait_for(2, Duration::from_secs(15), |r| {
        r.url == bot.path("sendMessage")
    });
    assert_eq!(sent.len(), 2, "refused once, then sent");
    let view = settled(env, &id, Duration::from_secs(10));
    assert_eq!(view["status"], "sent", "{view}");
    let first = env
        .providers
        .requests()
        .iter()
        .position(|r| r.url == bot.path("sendMessage"));
    assert!(first.is_some());
    // The retry waited for Retry-After: the fake saw the two calls at least 2 s apart.
    let times = sent_times(env, &bot.path("sendMessage"));
    assert!(
        times[1] - times[0] >= Duration::from_millis(1900),
        "{times:?}"
    );
    Ok(())
}

/// When the fake received each request to `path`, as offsets from the first.
pub fn sent_times(env: &Env, path: &str) -> Vec<Duration> {
    let received: Vec<Recorded> = calls(env, path);
    let first = received.first().map(|r| r.at).unwrap_or_else(Instant::now);
    received
        .iter()
        .map(|r| r.at.duration_since(first))
        .collect()
}

fn a_provider_error_is_retried_until_the_message_is_sent(env: &Env) -> Result<(), Failed> {
    let bot = telegram_bot(env);
    let envelope = telegram_inbound(env, &bot, 6161, None);
    env.providers.respond(
        &bot.path("sendMessage"),
        Answer::json(
            500,
            json!({"ok": false, "error_code": 500, "description": "Internal Server Error"}),
        ),
    );
    let id = accepted(&send(
        env,
        json!({"reply_to": capability(&envelope), "text": "again"}),
    ));
    let view = settled(env, &id, Duration::from_secs(15));
    assert_eq!(view["status"], "sent", "{view}");
    assert_eq!(view["attempts"], 2);
    assert_eq!(calls(env, &bot.path("sendMessage")).len(), 2);
    Ok(())
}

fn one_idempotency_key_makes_one_provider_message(env: &Env) -> Result<(), Failed> {
    let bot = telegram_bot(env);
    let envelope = telegram_inbound(env, &bot, 7171, None);
    let body = json!({"reply_to": capability(&envelope), "text": "exactly once",
                      "idempotency_key": "answer-1"});
    let first = accepted(&send(env, body.clone()));
    let second = accepted(&send(env, body));
    assert_eq!(first, second, "the retry answers with the first message");
    settled(env, &first, Duration::from_secs(10));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(calls(env, &bot.path("sendMessage")).len(), 1);
    Ok(())
}

fn twenty_messages_to_one_chat_arrive_in_order(env: &Env) -> Result<(), Failed> {
    let bot = telegram_bot(env);
    let envelope = telegram_inbound(env, &bot, 8181, None);
    let reply_to = capability(&envelope);
    let ids: Vec<String> = (0..20)
        .map(|i| {
            accepted(&send(
                env,
                json!({"reply_to": reply_to, "text": format!("part {i}")}),
            ))
        })
        .collect();
    let sent = env.providers.wait_for(20, Duration::from_secs(40), |r| {
        r.url == bot.path("sendMessage")
    });
    let texts: Vec<String> = sent
        .iter()
        .map(|r| r.json()["text"].as_str().unwrap_or_default().to_owned())
        .collect();
    let expected: Vec<String> = (0..20).map(|i| format!("part {i}")).collect();
    assert_eq!(texts, expected);
    for id in ids {
        assert_eq!(settled(env, &id, Duration::from_secs(5))["status"], "sent");
    }
    Ok(())
}

fn a_principal_for_another_agent_or_org_cannot_send(env: &Env) -> Result<(), Failed> {
    let bot = telegram_bot(env);
    let envelope = telegram_inbound(env, &bot, 9191, None);
    let make = |seed_byte: u8, restriction: Value| {
        let mut body = json!({"scopes": ["messages:send"]});
        body.as_object_mut()
            .unwrap()
            .extend(restriction.as_object().unwrap().clone());
        let (id, pem) = principal(env, seed_byte, body);
        token(&id, &pem, "messages:send")
    };
    let other_agent = make(161, json!({"agent_ids": ["agent_someone_else"]}));
    let elsewhere = created(&env.admin(
        "POST",
        "/v1/orgs",
        "profiles:write",
        Some(json!({"name": "Elsewhere"})),
    ));
    let other_org = make(
        162,
        json!({"org_ids": [elsewhere], "agent_ids": [bot.agent]}),
    );
    let own = make(163, json!({"agent_ids": [bot.agent]}));
    let body = json!({"reply_to": capability(&envelope), "text": "hi"});
    let refused = env.call(
        "POST",
        "/v1/messages",
        &other_agent,
        Some(body.clone()),
        &[],
    );
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.body.contains(&bot.agent), "{}", refused.body);
    let refused_explicit = env.call(
        "POST",
        "/v1/messages",
        &other_agent,
        Some(json!({"binding_id": bot.binding, "conversation": "9191", "text": "hi"})),
        &[],
    );
    assert_eq!(
        refused_explicit.status, 404,
        "another agent's binding is out of reach: {}",
        refused_explicit.body
    );
    let wrong_org = env.call("POST", "/v1/messages", &other_org, Some(body.clone()), &[]);
    assert_eq!(wrong_org.status, 403, "{}", wrong_org.body);
    assert!(
        wrong_org.body.contains(env.id("acme")),
        "{}",
        wrong_org.body
    );
    let id = accepted(&env.call("POST", "/v1/messages", &own, Some(body), &[]));
    // Its own message is readable; the other agent's principal does not even see it.
    let read = |token: &str| {
        env.call("GET", &format!("/v1/messages/{id}"), token, None, &[])
            .status
    };
    assert_eq!(read(&own), 200);
    assert_eq!(read(&other_agent), 404);
    // An expired or tampered capability is refused.
    let tampered = capability(&envelope).replacen("rc1.", "rc1.x", 1);
    let bad = send(env, json!({"reply_to": tampered, "text": "hi"}));
    assert_eq!(
        (bad.status, bad.error_code()),
        (422, "invalid_reply_to".to_owned())
    );
    Ok(())
}

fn a_revoked_installation_sends_nothing(env: &Env) -> Result<(), Failed> {
    let bot = telegram_bot(env);
    let envelope = telegram_inbound(env, &bot, 1212, None);
    let reply_to = capability(&envelope);
    let revoked = env.admin(
        "POST",
        &format!("/v1/installations/{}/revoke", bot.installation),
        "installations:write",
        None,
    );
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    let refused = send(env, json!({"reply_to": reply_to, "text": "too late"}));
    assert_eq!(refused.status, 409, "{}", refused.body);
    std::thread::sleep(Duration::from_secs(1));
    assert!(calls(env, &bot.path("sendMessage")).is_empty());
    Ok(())
}

fn an_agent_starts_a_message_only_where_its_binding_routes(env: &Env) -> Result<(), Failed> {
    let bot = telegram_bot(env);
    let narrow = created(&env.admin(
        "POST",
        "/v1/bindings",
        "bindings:write",
        Some(
            json!({"installation_id": bot.installation, "agent_id": bot.agent,
                    "selector": {"conversation": "3131"}, "sender_policy": "open"}),
        ),
    ));
    let elsewhere = send(
        env,
        json!({"binding_id": narrow, "conversation": "9999", "text": "hello"}),
    );
    assert_eq!(
        (elsewhere.status, elsewhere.error_code()),
        (422, "not_routed".to_owned())
    );
    let id = accepted(&send(
        env,
        json!({"binding_id": narrow, "conversation": "3131", "thread_id": "7", "text": "hello"}),
    ));
    let sent = env.providers.wait_for(1, Duration::from_secs(10), |r| {
        r.url == bot.path("sendMessage")
    });
    let body = sent[0].json();
    assert_eq!(
        (body["chat_id"].clone(), body["message_thread_id"].clone()),
        (json!("3131"), json!(7))
    );
    assert_eq!(settled(env, &id, Duration::from_secs(5))["status"], "sent");
    let unknown = send(
        env,
        json!({"binding_id": "bnd_00000000000000000000000000000000", "conversation": "1", "text": "x"}),
    );
    assert_eq!(unknown.status, 404);
    Ok(())
}

fn a_refused_send_fails_with_the_providers_reason(env: &Env) -> Result<(), Failed> {
    let bot = telegram_bot(env);
    let envelope = telegram_inbound(env, &bot, 1313, None);
    env.providers.respond(
        &bot.path("sendMessage"),
        Answer::json(
            403,
            json!({"ok": false, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}),
        ),
    );
    let id = accepted(&send(
        env,
        json!({"reply_to": capability(&envelope), "text": "hello?"}),
    ));
    let view = settled(env, &id, Duration::from_secs(10));
    assert_eq!(view["status"], "failed", "{view}");
    assert_eq!(view["failure_code"], "blocked");
    assert!(view["failure_reason"]
        .as_str()
        .unwrap()
        .contains("bot was blocked by the user"));
    let edit = env.admin(
        "PATCH",
        &format!("/v1/messages/{id}"),
        "messages:send",
        Some(json!({"text": "again"})),
    );
    assert_eq!(edit.status, 409, "{}", edit.body);
    let ip = unique_ip();
    let missing = env.call_unchecked(
        "GET",
        "/v1/messages/msg_00000000000000000000000000000000",
        &seed::root_token("messages:send"),
        None,
        &[("cf-connecting-ip", &ip)],
    );
    assert_eq!(missing.status, 404);
    Ok(())
}

fn messages_are_deleted_at_the_provider(env: &Env) -> Result<(), Failed> {
    let bot = telegram_bot(env);
    let envelope = telegram_inbound(env, &bot, 1414, None);
    let id = accepted(&send(
        env,
        json!({"reply_to": capability(&envelope), "text": "oops"}),
    ));
    let view = settled(env, &id, Duration::from_secs(10));
    let provider_id: i64 = view["provider_message_ids"][0]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let deleted = env.admin(
        "DELETE",
        &format!("/v1/messages/{id}"),
        "messages:send",
        None,
    );
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    let calls = env.providers.wait_for(1, Duration::from_secs(10), |r| {
        r.url == bot.path("deleteMessage")
    });
    assert_eq!(
        calls[0].json(),
        json!({"chat_id": "1414", "message_id": provider_id})
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while settled(env, &id, Duration::ZERO)["status"] != "deleted" && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(settled(env, &id, Duration::ZERO)["status"], "deleted");
    Ok(())
}

fn revoking_a_binding_drops_what_waits_with_one_ledger_entry(env: &Env) -> Result<(), Failed> {
    let bot = telegram_bot(env);
    let envelope = telegram_inbound(env, &bot, 1515, None);
    let reply_to = capability(&envelope);
    // The first send is told to wait 3 s, so the others queue behind it.
    let limited = Answer::json(
        429,
        json!({"ok": false, "error_code": 429,
        "description": "Too Many Requests: retry after 3", "parameters": {"retry_after": 3}}),
    );
    env.providers.respond(&bot.path("sendMessage"), limited);
    let ids: Vec<String> = (0..3)
        .map(|i| {
            accepted(&send(
                env,
                json!({"reply_to": reply_to, "text": format!("waiting {i}")}),
            ))
        })
        .collect();
    let revoked = env.admin(
        "POST",
        &format!("/v1/bindings/{}/revoke", bot.binding),
        "bindings:write",
        None,
    );
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    // Within the directory's 30 s cache lifetime every waiting message is dropped.
    for id in &ids {
        let deadline = Instant::now() + Duration::from_secs(40);
        let view = loop {
            let view = settled(env, id, Duration::ZERO);
            if view["status"] != "queued" || Instant::now() >= deadline {
                break view;
            }
            std::thread::sleep(Duration::from_millis(500));
        };
        assert_eq!(view["status"], "failed", "{view}");
        assert_eq!(view["failure_code"], "revoked", "{view}");
    }
    assert_eq!(
        calls(env, &bot.path("sendMessage")).len(),
        1,
        "only the refused first try"
    );
    let entries = crate::admin::audit_where(
        env,
        &format!("action=messages.dropped&target=binding:{}", bot.binding),
    );
    assert_eq!(
        entries.len(),
        1,
        "one ledger entry for the revocation: {entries:?}"
    );
    assert_eq!(entries[0]["detail"]["count"], 3);
    Ok(())
}
