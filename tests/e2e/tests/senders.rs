//! Outbound through WhatsApp, Discord and Standard Webhooks callbacks, and the limit across an
//! installation's conversations. The provider fake checks the exact request each documents.

use crate::ingress::{
    dataset_secret, deliveries, post_discord, post_standard_to, post_whatsapp, unique,
};
use crate::messages::{
    accepted, calls, capability, created, send, settled, telegram_bot, telegram_inbound,
};
use crate::{unique_ip, Env};
use channel_edge::core::ingress::{standard::Standard, Request};
use channel_edge_e2e::fake::{Answer, Recorded};
use channel_edge_e2e::seed;
use libtest_mimic::Failed;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

tests!(
    a_whatsapp_reply_quotes_the_message_and_marks_it_read,
    a_whatsapp_stream_is_sent_once_when_final,
    a_whatsapp_reply_after_the_window_says_a_template_is_needed,
    a_discord_command_reply_edits_the_deferred_response_and_follows_up,
    a_discord_message_the_agent_starts_goes_to_the_channel_with_a_nonce,
    a_standard_webhooks_source_gets_signed_answers_at_its_callback,
    a_callback_that_redirects_is_not_followed,
    forty_conversations_stay_under_telegrams_thirty_a_second,
);

/// A WhatsApp number installed for one test (its own phone number id), bound openly to a fresh
/// agent, whose Graph API answers every send.
struct Number {
    phone_number_id: String,
}

fn whatsapp_number(env: &Env) -> Number {
    let n = unique();
    let phone_number_id = format!("{}", 210_000_000_000_000 + n);
    let installation = created(&env.admin(
        "POST",
        "/v1/installations",
        "installations:write",
        Some(
            json!({"app_profile_id": env.id("whatsapp"), "org_id": env.id("acme"),
            "tenant_key": phone_number_id,
            "credentials": {"access_token": format!("wa-token-{n}")}}),
        ),
    ));
    created(&env.admin(
        "POST",
        "/v1/bindings",
        "bindings:write",
        Some(
            json!({"installation_id": installation, "agent_id": format!("agent_wa_{n}"),
                    "sender_policy": "open"}),
        ),
    ));
    let path = format!("/graph/{phone_number_id}/messages");
    env.providers.respond_with(&path, |received: &[Recorded]| {
        Answer::json(
            200,
            json!({"messaging_product": "whatsapp",
            "messages": [{"id": format!("wamid.OUT{}", received.len())}]}),
        )
    });
    Number { phone_number_id }
}

/// An inbound WhatsApp text to `number`; returns its envelope.
fn whatsapp_inbound(env: &Env, number: &Number, wamid: &str) -> Value {
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "120000000000001",
        "changes": [{"field": "messages", "value": {"messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": number.phone_number_id},
        "contacts": [{"profile": {"name": "Ann"}, "wa_id": "15550003333"}],
        "messages": [{"from": "15550003333", "id": wamid, "timestamp": seed::now().to_string(),
                      "text": {"body": "hello"}, "type": "text"}]}}]}]});
    let reply = post_whatsapp(env, &body);
    assert_eq!(reply.status, 200, "{}", reply.body);
    deliveries(env, wamid, 1, Duration::from_secs(10))
        .pop()
        .expect("the envelope")
}

fn graph_calls(env: &Env, number: &Number) -> Vec<Value> {
    calls(env, &format!("/graph/{}/messages", number.phone_number_id))
        .iter()
        .map(Recorded::json)
        .collect()
}

fn a_whatsapp_reply_quotes_the_message_and_marks_it_read(env: &Env) -> Result<(), Failed> {
    let number = whatsapp_number(env);
    let wamid = format!("wamid.IN{}", unique());
    let envelope = whatsapp_inbound(env, &number, &wamid);
    let id = accepted(&send(
        env,
        json!({"reply_to": capability(&envelope), "text": "Hi **Ann**", "thread": "reply"}),
    ));
    let path = format!("/graph/{}/messages", number.phone_number_id);
    let received = env
        .providers
        .wait_for(2, Duration::from_secs(10), |r| r.url == path);
    assert_eq!(received.len(), 2, "the reply, then the read receipt");
    assert_eq!(
        received[0].header("authorization"),
        Some(
            format!(
                "Bearer wa-token-{}",
                number.phone_number_id.parse::<u64>().unwrap() - 210_000_000_000_000
            )
            .as_str()
        )
    );
    assert_eq!(
        received[0].json(),
        json!({"messaging_product": "whatsapp", "recipient_type": "individual",
               "to": "15550003333", "type": "text",
               "text": {"preview_url": false, "body": "Hi *Ann*"},
               "context": {"message_id": wamid}})
    );
    assert_eq!(
        received[1].json(),
        json!({"messaging_product": "whatsapp", "status": "read", "message_id": wamid})
    );
    let view = settled(env, &id, Duration::from_secs(5));
    assert_eq!(view["status"], "sent", "{view}");
    let ids = view["provider_message_ids"].as_array().unwrap().clone();
    assert!(
        ids.len() == 1 && ids[0].as_str().unwrap().starts_with("wamid.OUT"),
        "{view}"
    );
    Ok(())
}

fn a_whatsapp_stream_is_sent_once_when_final(env: &Env) -> Result<(), Failed> {
    let number = whatsapp_number(env);
    let envelope = whatsapp_inbound(env, &number, &format!("wamid.IN{}", unique()));
    let id = accepted(&send(
        env,
        json!({"reply_to": capability(&envelope), "text": "Thinking", "final": false}),
    ));
    for text in ["Thinking about it", "Thinking about it: yes"] {
        let reply = env.admin(
            "PATCH",
            &format!("/v1/messages/{id}"),
            "messages:send",
            Some(json!({"text": text, "final": false})),
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    std::thread::sleep(Duration::from_secs(2));
    let texts = |env: &Env| -> Vec<String> {
        graph_calls(env, &number)
            .iter()
            .filter_map(|call| call["text"]["body"].as_str().map(str::to_owned))
            .collect()
    };
    assert!(texts(env).is_empty(), "nothing before the stream is final");
    let done = env.admin(
        "PATCH",
        &format!("/v1/messages/{id}"),
        "messages:send",
        Some(json!({"text": "Thinking about it: yes, done", "final": true})),
    );
    assert_eq!(done.status, 200, "{}", done.body);
    let deadline = Instant::now() + Duration::from_secs(10);
    while texts(env).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(texts(env), vec!["Thinking about it: yes, done".to_owned()]);
    let edit = env.admin(
        "PATCH",
        &format!("/v1/messages/{id}"),
        "messages:send",
        Some(json!({"text": "changed my mind"})),
    );
    assert_eq!(edit.status, 422, "WhatsApp cannot edit: {}", edit.body);
    Ok(())
}

fn a_whatsapp_reply_after_the_window_says_a_template_is_needed(env: &Env) -> Result<(), Failed> {
    let number = whatsapp_number(env);
    let envelope = whatsapp_inbound(env, &number, &format!("wamid.IN{}", unique()));
    env.providers.respond(
        &format!("/graph/{}/messages", number.phone_number_id),
        Answer::json(
            400,
            json!({"error": {"message": "(#131047) Re-engagement message",
            "type": "OAuthException", "code": 131047}}),
        ),
    );
    let id = accepted(&send(
        env,
        json!({"reply_to": capability(&envelope), "text": "late"}),
    ));
    let view = settled(env, &id, Duration::from_secs(10));
    assert_eq!(view["status"], "failed", "{view}");
    assert_eq!(view["failure_code"], "template_required");
    assert!(view["failure_reason"]
        .as_str()
        .unwrap()
        .contains("template"));
    Ok(())
}

/// A Discord guild installed for one test, bound openly to a fresh agent.
fn discord_guild(env: &Env) -> (String, String, String) {
    let n = unique();
    let guild = format!("{}", 1_310_000_000_000_000_000 + n);
    let bot_token = format!("discord-bot-{n}");
    let installation = created(&env.admin(
        "POST",
        "/v1/installations",
        "installations:write",
        Some(
            json!({"app_profile_id": env.id("discord"), "org_id": env.id("acme"),
            "tenant_key": guild, "credentials": {"bot_token": bot_token}}),
        ),
    ));
    let binding = created(&env.admin(
        "POST",
        "/v1/bindings",
        "bindings:write",
        Some(
            json!({"installation_id": installation, "agent_id": format!("agent_discord_{n}"),
                    "sender_policy": "open"}),
        ),
    ));
    (guild, bot_token, binding)
}

fn a_discord_command_reply_edits_the_deferred_response_and_follows_up(
    env: &Env,
) -> Result<(), Failed> {
    let (guild, _, _) = discord_guild(env);
    let n = unique();
    let token = format!("interaction-token-{n}");
    let interaction = format!("14{}", 100_000 + n);
    let command = json!({"id": interaction, "application_id": "1200000000000000001", "type": 2,
        "token": token, "version": 1, "guild_id": guild, "channel_id": "1400000000000000009",
        "member": {"user": {"id": "1500000000000000001", "username": "dev"}},
        "data": {"id": "1600000000000000001", "name": "ask", "type": 1}});
    let ack = post_discord(env, &command);
    assert_eq!(ack.json(), json!({"type": 5}), "deferred");
    let envelope = deliveries(env, &interaction, 1, Duration::from_secs(10))
        .pop()
        .expect("the envelope");
    assert!(
        !envelope.to_string().contains(&token),
        "the token stays sealed"
    );
    let hook = format!("/discord/webhooks/1200000000000000001/{token}");
    for path in [format!("{hook}/messages/@original"), hook.clone()] {
        env.providers.respond_with(&path, |received: &[Recorded]| {
            Answer::json(200, json!({"id": format!("99{}", received.len())}))
        });
    }
    // 2000 characters is Discord's limit: this answer takes two messages.
    let long = format!("{} @everyone", "word ".repeat(450));
    let id = accepted(&send(
        env,
        json!({"reply_to": capability(&envelope), "text": long}),
    ));
    let original = env.providers.wait_for(1, Duration::from_secs(10), |r| {
        r.url == format!("{hook}/messages/@original")
    });
    assert_eq!(original[0].method, "PATCH");
    assert_eq!(
        original[0].header("authorization"),
        None,
        "the token in the path suffices"
    );
    assert_eq!(original[0].json()["allowed_mentions"], json!({"parse": []}));
    let follow_up = env.providers.wait_for(1, Duration::from_secs(10), |r| {
        r.url == format!("{hook}?wait=true")
    });
    assert_eq!(follow_up[0].method, "POST");
    let second = follow_up[0].json()["content"].as_str().unwrap().to_owned();
    assert!(
        !second.contains("@everyone"),
        "mass mentions are neutralised: {second}"
    );
    // The follow-up reached the stand-in; its receipt is recorded once Discord's answer is read.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let view = loop {
        let view = settled(env, &id, Duration::from_secs(5));
        let ids = view["provider_message_ids"].as_array().map_or(0, Vec::len);
        if ids == 2 || std::time::Instant::now() >= deadline {
            break view;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        view["provider_message_ids"].as_array().unwrap().len(),
        2,
        "{view}"
    );
    Ok(())
}

fn a_discord_message_the_agent_starts_goes_to_the_channel_with_a_nonce(
    env: &Env,
) -> Result<(), Failed> {
    let (_, bot_token, binding) = discord_guild(env);
    let channel = format!("14{}", 200_000 + unique());
    let path = format!("/discord/channels/{channel}/messages");
    env.providers
        .respond_with(&path, |_| Answer::json(200, json!({"id": "555"})));
    let id = accepted(&send(
        env,
        json!({"binding_id": binding, "conversation": channel, "text": "Build **green**"}),
    ));
    let sent = env
        .providers
        .wait_for(1, Duration::from_secs(10), |r| r.url == path);
    assert_eq!(
        sent[0].header("authorization"),
        Some(format!("Bot {bot_token}").as_str())
    );
    let body = sent[0].json();
    assert_eq!(body["content"], "Build **green**");
    assert_eq!(body["enforce_nonce"], true);
    assert!(body["nonce"]
        .as_str()
        .is_some_and(|nonce| nonce.len() <= 25));
    assert_eq!(
        settled(env, &id, Duration::from_secs(5))["provider_message_ids"],
        json!(["555"])
    );
    let deleted = env.admin(
        "DELETE",
        &format!("/v1/messages/{id}"),
        "messages:send",
        None,
    );
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    let delete = env.providers.wait_for(1, Duration::from_secs(10), |r| {
        r.method == "DELETE" && r.url == format!("{path}/555")
    });
    assert_eq!(delete.len(), 1);
    Ok(())
}

/// A Standard Webhooks source with a callback at the provider fake, bound openly to a fresh
/// agent: (installation, secret, callback path).
fn standard_source(env: &Env) -> (String, String, String) {
    let n = unique();
    let secret = dataset_secret(
        "installations",
        "acme_standard",
        "credentials",
        "webhook_secret",
    );
    let callback = format!("/callbacks/source-{n}");
    let installation = created(&env.admin(
        "POST",
        "/v1/installations",
        "installations:write",
        Some(
            json!({"app_profile_id": env.id("standard"), "org_id": env.id("acme"),
            "tenant_key": format!("source-{n}"), "credentials": {"webhook_secret": secret},
            "metadata": {"callback_url": env.providers.url(&callback)}}),
        ),
    ));
    created(&env.admin(
        "POST",
        "/v1/bindings",
        "bindings:write",
        Some(
            json!({"installation_id": installation, "agent_id": format!("agent_source_{n}"),
                    "sender_policy": "open"}),
        ),
    ));
    (installation, secret, callback)
}

fn standard_inbound(env: &Env, installation: &str, secret: &str) -> Value {
    let event = format!("evt_{}", unique());
    let body = json!({"type": "message", "text": "status?", "sender": {"id": "ops"},
                      "conversation": {"id": "ticket-42"}})
    .to_string();
    let reply = post_standard_to(
        env,
        installation,
        secret,
        (&event, seed::now()),
        &body,
        &unique_ip(),
    );
    assert_eq!(reply.status, 204, "{}", reply.body);
    deliveries(env, &event, 1, Duration::from_secs(10))
        .pop()
        .expect("the envelope")
}

fn a_standard_webhooks_source_gets_signed_answers_at_its_callback(env: &Env) -> Result<(), Failed> {
    let (installation, secret, callback) = standard_source(env);
    let envelope = standard_inbound(env, &installation, &secret);
    let id = accepted(&send(
        env,
        json!({"reply_to": capability(&envelope), "text": "All **green**"}),
    ));
    let received = env
        .providers
        .wait_for(1, Duration::from_secs(10), |r| r.url == callback);
    let delivery = &received[0];
    let request = Request {
        method: "POST",
        headers: &delivery.headers,
        query: &[],
        url: "",
        body: &delivery.body,
    };
    assert_eq!(
        Standard::verify(&request, &[secret], seed::now(), 300),
        Ok(()),
        "signed with the installation's own secret"
    );
    let body = delivery.json();
    assert_eq!(
        (
            body["type"].clone(),
            body["conversation"].clone(),
            body["text"].clone()
        ),
        (
            json!("message.created"),
            json!("ticket-42"),
            json!("All green")
        )
    );
    assert_eq!(body["message_id"], json!(id));
    assert_eq!(settled(env, &id, Duration::from_secs(5))["status"], "sent");
    Ok(())
}

fn a_callback_that_redirects_is_not_followed(env: &Env) -> Result<(), Failed> {
    let (installation, secret, callback) = standard_source(env);
    let elsewhere = format!("{callback}/elsewhere");
    let redirect =
        Answer::json(302, json!({})).with_header("Location", &env.providers.url(&elsewhere));
    env.providers.respond(&callback, redirect);
    let envelope = standard_inbound(env, &installation, &secret);
    let id = accepted(&send(
        env,
        json!({"reply_to": capability(&envelope), "text": "hi"}),
    ));
    let view = settled(env, &id, Duration::from_secs(10));
    assert_eq!(view["status"], "failed", "{view}");
    assert_eq!(view["failure_code"], "redirect");
    assert!(
        calls(env, &elsewhere).is_empty(),
        "the redirect was not followed"
    );
    let refused = env.admin_invalid(
        "POST",
        "/v1/installations",
        "installations:write",
        json!({"app_profile_id": env.id("standard"), "org_id": env.id("acme"),
               "tenant_key": format!("plain-{}", unique()),
               "credentials": {"webhook_secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
               "metadata": {"callback_url": "http://source.example/answers"}}),
    );
    assert_eq!(refused.status, 400, "{}", refused.body);
    Ok(())
}

fn forty_conversations_stay_under_telegrams_thirty_a_second(env: &Env) -> Result<(), Failed> {
    let bot = telegram_bot(env);
    let chats: Vec<i64> = (0..40).map(|i| 50_000 + i).collect();
    let capabilities: Vec<String> = chats
        .iter()
        .map(|chat| capability(&telegram_inbound(env, &bot, *chat, None)))
        .collect();
    for round in 0..2 {
        for reply_to in &capabilities {
            accepted(&send(
                env,
                json!({"reply_to": reply_to, "text": format!("round {round}")}),
            ));
        }
    }
    let sent = env.providers.wait_for(80, Duration::from_secs(30), |r| {
        r.url == bot.path("sendMessage")
    });
    assert_eq!(sent.len(), 80, "every message arrives");
    let first = sent[0].at;
    let offsets: Vec<Duration> = sent.iter().map(|r| r.at.duration_since(first)).collect();
    for (index, at) in offsets.iter().enumerate() {
        let within = offsets
            .iter()
            .skip(index)
            .take_while(|later| **later < *at + Duration::from_millis(1000))
            .count();
        assert!(
            within <= 30,
            "{within} calls within a second of call {index}"
        );
    }
    for chat in chats {
        let chat_id = json!(chat.to_string());
        let texts: Vec<String> = sent
            .iter()
            .map(Recorded::json)
            .filter(|body| body["chat_id"] == chat_id)
            .map(|body| body["text"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(texts, vec!["round 0", "round 1"], "in order in chat {chat}");
    }
    Ok(())
}
