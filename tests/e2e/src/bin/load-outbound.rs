//! `load-outbound [--messages N] [--conversations M] [--concurrency C] [--faults PCT]` (defaults
//! 300, 50, 8, 0): a load test of outbound messages against a real `wrangler dev`. Run it
//! through `scripts/load.sh --outbound`, which builds the Worker and puts Node 22 on PATH first.
//!
//! 1. Starts a stand-in for every provider's API (one loopback server: Slack under `/slack`,
//!    Telegram under `/telegram`, the Graph API under `/graph`, Discord under `/discord`, and a
//!    Standard Webhooks callback under `/callback`), a fake agent runtime, and `wrangler dev`
//!    pointed at them, and loads the dev seed.
//! 2. Installs one bot, number, guild or source per provider, bound to an agent, and makes M
//!    conversations spread over the five providers (WhatsApp's through an inbound message each,
//!    answered with its reply capability: WhatsApp does not let a bot start one; the others are
//!    started by binding and conversation).
//! 3. Sends N messages (`POST /v1/messages`, N / M per conversation) from C threads, each thread
//!    sending its conversations' messages in order. With `--faults PCT`, the stand-ins answer
//!    the first try of about PCT % of the messages with a 429 (`Retry-After: 1`) or a 500.
//! 4. Waits (at most 120 s) until every message reached its stand-in, and checks that each was
//!    accepted by the stand-in exactly once and that each conversation's messages arrived in the
//!    order they were sent.
//!
//! Prints, per provider, messages, sends per second and p50/p99 from the `202` to the call the
//! stand-in accepted; exits non-zero when a message is missing, doubled or out of order.
//! Everything stays on 127.0.0.1; wrangler is stopped on exit.

use channel_edge::core::ingress::sign;
use channel_edge_e2e::fake::{Answer, FakeServer, Recorded};
use channel_edge_e2e::stats::percentile;
use channel_edge_e2e::wrangler::WranglerDev;
use channel_edge_e2e::{http, seed};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const USAGE: &str =
    "usage: load-outbound [--messages N] [--conversations M] [--concurrency C] [--faults PCT]";
/// How long messages may take to reach the stand-ins once sending ended.
const ARRIVAL_WAIT: Duration = Duration::from_secs(120);
const PROVIDERS: [&str; 5] = ["slack", "telegram", "whatsapp", "discord", "standard"];
/// The Standard Webhooks secret of the load's source.
const SOURCE_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// Command-line settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Options {
    messages: usize,
    conversations: usize,
    concurrency: usize,
    faults: usize,
}

fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        messages: 300,
        conversations: 50,
        concurrency: 8,
        faults: 0,
    };
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .and_then(|value| value.parse::<usize>().ok())
            .ok_or_else(|| format!("{flag} takes a number"))?;
        match flag.as_str() {
            "--messages" => options.messages = value,
            "--conversations" => options.conversations = value,
            "--concurrency" => options.concurrency = value,
            "--faults" => options.faults = value,
            other => return Err(format!("unknown option {other}")),
        }
    }
    let valid = (1..=5000).contains(&options.messages)
        && (PROVIDERS.len()..=500).contains(&options.conversations)
        && options.conversations <= options.messages
        && (1..=64).contains(&options.concurrency)
        && options.faults <= 100;
    if !valid {
        return Err(
            "messages 1–5000, conversations 5–500 (at most messages), concurrency \
                    1–64, faults 0–100"
                .into(),
        );
    }
    Ok(options)
}

/// One conversation: its provider, how a message to it is addressed, and its index.
#[derive(Debug, Clone)]
struct Conversation {
    provider: &'static str,
    address: Value,
    index: usize,
}

/// The text of message `round` to conversation `index` (plain letters and digits, which every
/// format leaves as they are).
fn text(index: usize, round: usize) -> String {
    format!("c{index}r{round}")
}

/// Whether the stand-in refuses the first try of `text` (about `faults` % of the texts), and
/// with what.
fn fault(text: &str, faults: usize) -> Option<u16> {
    let hash = text.bytes().fold(2166136261u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(16777619)
    });
    ((hash % 100) < faults as u32).then_some(if hash % 2 == 0 { 429 } else { 500 })
}

/// The message text a stand-in request carries, by provider.
fn carried_text(provider: &str, body: &Value) -> Option<String> {
    let pointer = match provider {
        "whatsapp" => "/text/body",
        "discord" => "/content",
        _ => "/text",
    };
    body.pointer(pointer)?.as_str().map(str::to_owned)
}

/// The provider a stand-in path belongs to, for message sends only.
fn provider_of(path: &str) -> Option<&'static str> {
    let path = path.split('?').next().unwrap_or_default();
    let provider = match path.split('/').nth(1)? {
        "slack" if path.ends_with("/chat.postMessage") => "slack",
        "telegram" if path.ends_with("/sendMessage") => "telegram",
        "graph" if path.ends_with("/messages") => "whatsapp",
        "discord" if path.ends_with("/messages") => "discord",
        "callback" => "standard",
        _ => return None,
    };
    Some(provider)
}

/// Answers a send: the first try of a faulty text with its fault, anything else with success.
fn answer(provider: &str, body: &Value, received: &[Recorded], faults: usize) -> Answer {
    let text = carried_text(provider, body).unwrap_or_default();
    let first = !received.iter().any(|r| {
        provider_of(&r.url) == Some(provider)
            && serde_json::from_slice::<Value>(&r.body)
                .ok()
                .and_then(|b| carried_text(provider, &b))
                .as_deref()
                == Some(text.as_str())
    });
    match fault(&text, faults).filter(|_| first) {
        Some(429) => Answer::json(
            429,
            json!({"ok": false, "error_code": 429, "retry_after": 1,
            "parameters": {"retry_after": 1}}),
        )
        .with_header("Retry-After", "1"),
        Some(status) => Answer::json(status, json!({"ok": false})),
        None => success(provider, received.len()),
    }
}

fn success(provider: &str, n: usize) -> Answer {
    let body = match provider {
        "slack" => json!({"ok": true, "ts": format!("1800000000.{n:06}")}),
        "telegram" => json!({"ok": true, "result": {"message_id": n}}),
        "whatsapp" => json!({"messages": [{"id": format!("wamid.LOAD{n}")}]}),
        "discord" => json!({"id": n.to_string()}),
        _ => json!({}),
    };
    Answer::json(200, body)
}

/// The stand-ins, the runtime and the worker.
struct Env {
    providers: FakeServer,
    runtime: FakeServer,
    worker: WranglerDev,
    ids: BTreeMap<String, String>,
}

fn start() -> Result<Env, String> {
    let providers = FakeServer::start().map_err(|e| format!("stand-ins: {e}"))?;
    let runtime = FakeServer::start().map_err(|e| format!("fake runtime: {e}"))?;
    let mut vars = providers.provider_vars();
    vars.push(("AGENT_RUNTIME_URL", runtime.url("/inbound")));
    let worker = WranglerDev::start(&vars).map_err(|e| e.to_string())?;
    let ids = seed::load(&worker.url(""))?.into_iter().collect();
    Ok(Env {
        providers,
        runtime,
        worker,
        ids,
    })
}

/// Calls the admin API as root.
fn admin(env: &Env, method: &str, path: &str, body: Value) -> Result<Value, String> {
    let bearer = format!("Bearer {}", seed::root_token("*"));
    let headers = [
        ("authorization", bearer.as_str()),
        ("content-type", "application/json"),
    ];
    let reply = http::send(
        method,
        &env.worker.url(path),
        &headers,
        body.to_string().as_bytes(),
    );
    if !(200..300).contains(&reply.status) {
        return Err(format!("{method} {path}: {} {}", reply.status, reply.body));
    }
    Ok(reply.json())
}

fn id(value: &Value) -> String {
    value["id"].as_str().unwrap_or_default().to_owned()
}

fn seeded<'a>(env: &'a Env, reference: &str) -> Result<&'a str, String> {
    env.ids
        .get(reference)
        .map(String::as_str)
        .ok_or_else(|| format!("no seeded {reference}"))
}

/// Installs `provider` for the load and binds it openly; returns the binding id.
fn install(env: &Env, provider: &str) -> Result<String, String> {
    let (profile, tenant, credentials, metadata) = match provider {
        "slack" => (
            "slack_platform",
            "T0LOAD",
            json!({"bot_token": "xoxb-load"}),
            json!({}),
        ),
        "telegram" => (
            "telegram",
            "9000000001",
            json!({"bot_token": "9000000001:LOAD",
            "secret_token": "load-secret-token"}),
            json!({}),
        ),
        "whatsapp" => (
            "whatsapp",
            "190000000000001",
            json!({"access_token": "load-token"}),
            json!({}),
        ),
        "discord" => (
            "discord",
            "1390000000000000001",
            json!({"bot_token": "load-bot"}),
            json!({}),
        ),
        _ => (
            "standard",
            "load-source",
            json!({"webhook_secret": SOURCE_SECRET}),
            json!({"callback_url": env.providers.url("/callback/load")}),
        ),
    };
    let installation = admin(
        env,
        "POST",
        "/v1/installations",
        json!({
        "app_profile_id": seeded(env, profile)?, "org_id": seeded(env, "acme")?,
        "tenant_key": tenant, "credentials": credentials, "metadata": metadata}),
    )?;
    let binding = admin(
        env,
        "POST",
        "/v1/bindings",
        json!({"installation_id": id(&installation),
        "agent_id": format!("agent_load_{provider}"), "sender_policy": "open"}),
    )?;
    Ok(id(&binding))
}

/// A WhatsApp conversation's reply capability, from an inbound message of its user.
fn whatsapp_capability(env: &Env, user: &str) -> Result<String, String> {
    let wamid = format!("wamid.LOADIN{user}");
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "120000000000001",
        "changes": [{"field": "messages", "value": {"messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": "190000000000001"},
        "contacts": [{"profile": {"name": "Load"}, "wa_id": user}],
        "messages": [{"from": user, "id": wamid, "timestamp": seed::now().to_string(),
                      "text": {"body": "hi"}, "type": "text"}]}}]}]})
    .to_string();
    let secret = seed::dataset()["app_profiles"]
        .as_array()
        .and_then(|profiles| profiles.iter().find(|p| p["ref"] == "whatsapp"))
        .and_then(|p| p["secrets"]["app_secret"].as_str())
        .ok_or("no WhatsApp app secret in the seed")?
        .to_owned();
    let url = env
        .worker
        .url(&format!("/webhooks/whatsapp/{}", seeded(env, "whatsapp")?));
    let signature = sign::whatsapp(&secret, body.as_bytes());
    let headers = [
        ("content-type", "application/json"),
        ("x-hub-signature-256", signature.as_str()),
    ];
    let reply = http::send("POST", &url, &headers, body.as_bytes());
    if reply.status != 200 {
        return Err(format!(
            "inbound WhatsApp message: {} {}",
            reply.status, reply.body
        ));
    }
    let received = env.runtime.wait_for(1, Duration::from_secs(20), |r| {
        serde_json::from_slice::<Value>(&r.body)
            .is_ok_and(|e| e["provider_event_id"] == wamid.as_str())
    });
    received
        .first()
        .and_then(|r| serde_json::from_slice::<Value>(&r.body).ok())
        .and_then(|e| e["reply"]["capability"].as_str().map(str::to_owned))
        .ok_or_else(|| format!("no envelope for {wamid}"))
}

/// Installs every provider and makes `count` conversations over them.
fn conversations(env: &Env, count: usize) -> Result<Vec<Conversation>, String> {
    let mut bindings = BTreeMap::new();
    for provider in PROVIDERS {
        bindings.insert(provider, install(env, provider)?);
    }
    (0..count)
        .map(|index| {
            let provider = PROVIDERS[index % PROVIDERS.len()];
            let address = match provider {
                "whatsapp" => json!({"reply_to": whatsapp_capability(env, &format!("1555900{index:04}"))?}),
                _ => json!({"binding_id": bindings[provider], "conversation": format!("{}", 70_000 + index)}),
            };
            Ok(Conversation {
                provider,
                address,
                index,
            })
        })
        .collect()
}

/// When each message was accepted (`202`), by text.
type Accepted = Arc<Mutex<BTreeMap<String, Instant>>>;

/// Sends `rounds` messages to each of `conversations` from `concurrency` threads; a thread
/// sends its conversations' messages in order.
fn send_all(
    env: &Env,
    conversations: &[Conversation],
    rounds: usize,
    concurrency: usize,
) -> (Accepted, Vec<String>) {
    let accepted: Accepted = Arc::new(Mutex::new(BTreeMap::new()));
    let errors = Arc::new(Mutex::new(Vec::new()));
    let url = env.worker.url("/v1/messages");
    std::thread::scope(|scope| {
        for thread in 0..concurrency {
            let mine: Vec<&Conversation> = conversations
                .iter()
                .filter(|c| c.index % concurrency == thread)
                .collect();
            let (accepted, errors, url) = (accepted.clone(), errors.clone(), url.clone());
            scope.spawn(move || {
                let bearer = format!("Bearer {}", seed::root_token("messages:send"));
                for round in 0..rounds {
                    for conversation in &mine {
                        let text = text(conversation.index, round);
                        let mut body = conversation.address.clone();
                        body["text"] = json!(text);
                        let headers = [
                            ("authorization", bearer.as_str()),
                            ("content-type", "application/json"),
                        ];
                        let reply = http::send("POST", &url, &headers, body.to_string().as_bytes());
                        if reply.status == 202 {
                            accepted.lock().unwrap().insert(text, Instant::now());
                        } else {
                            errors
                                .lock()
                                .unwrap()
                                .push(format!("{text}: {} {}", reply.status, reply.body));
                        }
                    }
                }
            });
        }
    });
    let errors = errors.lock().unwrap().clone();
    (accepted, errors)
}

/// The requests the stand-ins accepted (not the injected faults), by text, in arrival order.
fn deliveries(received: &[Recorded], faults: usize) -> Vec<(String, &'static str, Instant)> {
    let mut tries: BTreeMap<String, usize> = BTreeMap::new();
    let mut accepted = Vec::new();
    for request in received {
        let Some(provider) = provider_of(&request.url) else {
            continue;
        };
        let Some(text) = serde_json::from_slice::<Value>(&request.body)
            .ok()
            .and_then(|body| carried_text(provider, &body))
        else {
            continue;
        };
        let tried = tries.entry(text.clone()).or_default();
        *tried += 1;
        if *tried == 1 && fault(&text, faults).is_some() {
            continue;
        }
        accepted.push((text, provider, request.at));
    }
    accepted
}

/// What is wrong with `delivered` for `expected` texts: missing, doubled, out of order.
fn problems(
    expected: &[String],
    delivered: &[(String, &'static str, Instant)],
    rounds: usize,
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (text, _, _) in delivered {
        *counts.entry(text).or_default() += 1;
    }
    for text in expected {
        match counts.get(text.as_str()) {
            None => problems.push(format!("{text} never arrived")),
            Some(1) => {}
            Some(n) => problems.push(format!("{text} arrived {n} times")),
        }
    }
    let mut order: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (text, _, _) in delivered {
        if let Some((conversation, round)) = text.split_once('r') {
            order
                .entry(conversation)
                .or_default()
                .push(round.parse().unwrap_or(usize::MAX));
        }
    }
    for (conversation, rounds_seen) in order {
        let mut sorted = rounds_seen.clone();
        sorted.sort_unstable();
        if rounds_seen != sorted || rounds_seen.len() > rounds {
            problems.push(format!(
                "{conversation} arrived in the order {rounds_seen:?}"
            ));
        }
    }
    problems
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let options = match parse_args(&args) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("load-outbound: {error}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(options) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("load-outbound: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(options: Options) -> Result<bool, String> {
    eprintln!("load-outbound: starting the stand-ins, wrangler dev and the seed");
    let env = start()?;
    let faults = options.faults;
    for prefix in [
        "/slack/chat.postMessage",
        "/telegram/bot9000000001:LOAD/sendMessage",
        "/graph/190000000000001/messages",
        "/callback/load",
    ] {
        let provider = provider_of(prefix).unwrap_or("standard");
        env.providers
            .respond_to_body(prefix, move |body, received| {
                answer(
                    provider,
                    &serde_json::from_slice(body).unwrap_or(Value::Null),
                    received,
                    faults,
                )
            });
    }
    eprintln!(
        "load-outbound: making {} conversations",
        options.conversations
    );
    let conversations = conversations(&env, options.conversations)?;
    for conversation in conversations.iter().filter(|c| c.provider == "discord") {
        let path = format!("/discord/channels/{}/messages", 70_000 + conversation.index);
        env.providers.respond_to_body(&path, move |body, received| {
            answer(
                "discord",
                &serde_json::from_slice(body).unwrap_or(Value::Null),
                received,
                faults,
            )
        });
    }
    let rounds = (options.messages / options.conversations).max(1);
    eprintln!("load-outbound: sending {rounds} messages to each conversation");
    let began = Instant::now();
    let (accepted, errors) = send_all(&env, &conversations, rounds, options.concurrency);
    let expected: Vec<String> = accepted.lock().unwrap().keys().cloned().collect();
    let deadline = Instant::now() + ARRIVAL_WAIT;
    let delivered = loop {
        let delivered = deliveries(&env.providers.requests(), faults);
        if delivered.len() >= expected.len() || Instant::now() >= deadline {
            break delivered;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    let accepted = accepted.lock().unwrap().clone();
    print_table(&options, &delivered, &accepted, began);
    let mut problems = problems(&expected, &delivered, rounds);
    problems.extend(errors);
    for problem in &problems {
        eprintln!("load-outbound: {problem}");
    }
    Ok(problems.is_empty())
}

fn print_table(
    options: &Options,
    delivered: &[(String, &'static str, Instant)],
    accepted: &BTreeMap<String, Instant>,
    began: Instant,
) {
    println!(
        "\n{} messages to {} conversations, concurrency {}, {} % first tries refused (429 or 500)\n",
        options.messages, options.conversations, options.concurrency, options.faults
    );
    println!("| provider | messages | sends/s | p50 accept → provider | p99 |");
    println!("|---|---|---|---|---|");
    for provider in PROVIDERS.iter().copied().chain(["all"]) {
        let rows: Vec<&(String, &str, Instant)> = delivered
            .iter()
            .filter(|(_, p, _)| provider == "all" || *p == provider)
            .collect();
        let mut latencies: Vec<Duration> = rows
            .iter()
            .filter_map(|(text, _, at)| Some(at.saturating_duration_since(*accepted.get(text)?)))
            .collect();
        latencies.sort_unstable();
        let last = rows.iter().map(|(_, _, at)| *at).max().unwrap_or(began);
        let wall = last
            .saturating_duration_since(began)
            .as_secs_f64()
            .max(1e-9);
        println!(
            "| {provider} | {} | {:.1} | {:.0} ms | {:.0} ms |",
            rows.len(),
            rows.len() as f64 / wall,
            percentile(&latencies, 50.0).as_secs_f64() * 1000.0,
            percentile(&latencies, 99.0).as_secs_f64() * 1000.0
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_have_defaults_and_bounds() {
        let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            parse_args(&[]).unwrap(),
            Options {
                messages: 300,
                conversations: 50,
                concurrency: 8,
                faults: 0
            }
        );
        assert_eq!(parse_args(&args(&["--faults", "20"])).unwrap().faults, 20);
        for bad in [
            &["--faults", "101"][..],
            &["--conversations", "4"],
            &["--messages", "x"],
            &["--bogus", "1"],
        ] {
            assert!(parse_args(&args(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn about_the_asked_share_of_texts_is_refused_once() {
        let texts: Vec<String> = (0..50)
            .flat_map(|c| (0..20).map(move |r| text(c, r)))
            .collect();
        let refused = texts.iter().filter(|t| fault(t, 20).is_some()).count();
        assert!((150..250).contains(&refused), "{refused} of 1000");
        assert!(texts.iter().all(|t| fault(t, 0).is_none()));
    }

    #[test]
    fn a_missing_doubled_or_reordered_message_is_a_problem() {
        let at = Instant::now();
        let expected = vec![text(1, 0), text(1, 1), text(2, 0)];
        let delivered = vec![
            (text(1, 1), "slack", at),
            (text(1, 0), "slack", at),
            (text(2, 0), "slack", at),
            (text(2, 0), "slack", at),
        ];
        let problems = problems(&expected, &delivered, 2);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("c2r0 arrived 2 times")));
        assert!(problems
            .iter()
            .any(|p| p.contains("c1 arrived in the order [1, 0]")));
        let good = vec![
            (text(1, 0), "slack", at),
            (text(1, 1), "slack", at),
            (text(2, 0), "slack", at),
        ];
        assert!(super::problems(&expected, &good, 2).is_empty());
    }

    #[test]
    fn sends_are_told_from_other_calls_by_their_path() {
        assert_eq!(provider_of("/slack/chat.postMessage"), Some("slack"));
        assert_eq!(provider_of("/slack/chat.update"), None);
        assert_eq!(
            provider_of("/telegram/bot1:X/sendMessage"),
            Some("telegram")
        );
        assert_eq!(provider_of("/graph/190/messages"), Some("whatsapp"));
        assert_eq!(provider_of("/discord/channels/7/messages"), Some("discord"));
        assert_eq!(provider_of("/callback/load"), Some("standard"));
    }
}
