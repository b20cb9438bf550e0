//! Operating it (README, "Operating"): the delivery log, dead letters and their re-drive, replay,
//! the pause switch and the metrics, driven as an operator would with `curl`.
//!
//! The end-to-end story runs on its own worker (one retry, so a failing delivery is a dead letter
//! within seconds) with its own fakes, so every counter it scrapes is exactly what it sent.

use crate::authority::{principal, token};
use crate::ingress::{deliveries, post_telegram, telegram_update, unique};
use crate::messages::{accepted, capability, send, settled, telegram_bot, telegram_inbound};
use crate::queue::telegram_secret_token;
use crate::Env;
use channel_edge_e2e::fake::{Answer, FakeServer, Recorded};
use channel_edge_e2e::http::Reply;
use channel_edge_e2e::seed;
use channel_edge_e2e::wrangler::WranglerDev;
use libtest_mimic::Failed;
use prometheus_parse::{Scrape, Value as Sample};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

tests![
    a_delivered_event_is_found_by_its_provider_id_and_replayed,
    the_delivery_log_and_metrics_keep_to_their_reach_and_scopes,
    a_failing_runtime_end_to_end_dead_letters_redrive_pause_and_metrics,
];

/// Polls `path` (as root with `scope`) until `done` holds for the reply's JSON, or `timeout`.
fn poll(env: &Env, path: &str, timeout: Duration, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let reply = env.admin("GET", path, "deliveries:read", None);
        assert_eq!(reply.status, 200, "{}", reply.body);
        let body = reply.json();
        if done(&body) || Instant::now() >= deadline {
            return body;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// The delivery log's row of provider event `event_id`, once it has `status`.
fn logged(env: &Env, event_id: &str, status: &str, timeout: Duration) -> Value {
    let path = format!("/v1/deliveries?provider_event_id={event_id}");
    let page = poll(env, &path, timeout, |page| {
        page["items"][0]["status"] == status
    });
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
    let item = page["items"][0].clone();
    assert_eq!(item["status"], status, "{item}");
    item
}

/// The deliveries of envelope `id` the runtime fake received.
fn received(runtime: &FakeServer, id: &str) -> Vec<Recorded> {
    runtime
        .requests()
        .into_iter()
        .filter(|r| r.url == "/inbound" && r.json()["id"] == id)
        .collect()
}

/// Sends a Telegram update to the seeded `acme_telegram` installation and waits until the
/// delivery log has it delivered; returns its envelope id.
pub fn delivered_envelope(env: &Env) -> String {
    let update_id = 995_500 + unique();
    let update = telegram_update(update_id, 424242, "logged");
    let installation = env.id("acme_telegram");
    let reply = post_telegram(&env.worker, installation, &telegram_secret_token(), &update);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let row = logged(
        env,
        &update_id.to_string(),
        "delivered",
        Duration::from_secs(20),
    );
    row["envelope_id"].as_str().unwrap().to_owned()
}

fn a_delivered_event_is_found_by_its_provider_id_and_replayed(env: &Env) -> Result<(), Failed> {
    let update_id = 996_000 + unique();
    let event_id = update_id.to_string();
    let update = telegram_update(update_id, 424242, "find me later");
    let installation = env.id("acme_telegram");
    let reply = post_telegram(&env.worker, installation, &telegram_secret_token(), &update);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let envelope = deliveries(env, &event_id, 1, Duration::from_secs(15)).remove(0);
    let id = envelope["id"].as_str().unwrap().to_owned();

    let row = logged(env, &event_id, "delivered", Duration::from_secs(10));
    assert_eq!(row["envelope_id"], id.as_str());
    assert_eq!(row["installation_id"], installation);
    assert_eq!(row["provider"], "telegram");
    assert_eq!(row["attempts"], 1);
    assert_eq!(row["last_status"], 200);
    assert_eq!(row["content_kept"], true, "kept for replay (24 h)");
    assert!(
        !row.to_string().contains("find me later"),
        "no content in the log"
    );
    let one = env.admin(
        "GET",
        &format!("/v1/deliveries/{id}"),
        "deliveries:read",
        None,
    );
    assert_eq!(one.status, 200, "{}", one.body);
    let attempts = one.json()["attempts_log"].as_array().unwrap().clone();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0]["kind"], "delivery");
    assert_eq!(attempts[0]["status"], 200);

    // Re-driving what is not a dead letter is refused; replaying it sends it again, marked.
    let path = format!("/v1/dead-letters/{id}/redrive");
    let refused = env.admin("POST", &path, "deliveries:write", None);
    assert_eq!(refused.status, 409, "{}", refused.body);
    let path = format!("/v1/deliveries/{id}/replay");
    let replay = env.admin("POST", &path, "deliveries:write", None);
    assert_eq!(replay.status, 202, "{}", replay.body);
    assert_eq!(replay.json()["status"], "queued");
    let both = deliveries(env, &event_id, 2, Duration::from_secs(15));
    assert_eq!(both.len(), 2, "replayed once");
    assert_eq!(both[1]["id"], id.as_str(), "the same envelope id");
    let replayed = received(&env.runtime, &id);
    assert_eq!(replayed[1].header("channel-edge-delivery"), Some("replay"));
    assert_eq!(replayed[0].header("channel-edge-delivery"), None);
    let row = logged(env, &event_id, "delivered", Duration::from_secs(10));
    assert_eq!(row["attempts"], 2);
    let audit = env.admin(
        "GET",
        &format!("/v1/audit?action=delivery.replayed&target={id}"),
        "audit:read",
        None,
    );
    assert_eq!(audit.json()["items"].as_array().unwrap().len(), 1);
    Ok(())
}

fn the_delivery_log_and_metrics_keep_to_their_reach_and_scopes(env: &Env) -> Result<(), Failed> {
    let update_id = 997_000 + unique();
    let event_id = update_id.to_string();
    let update = telegram_update(update_id, 424242, "whose is this");
    let reply = post_telegram(
        &env.worker,
        env.id("acme_telegram"),
        &telegram_secret_token(),
        &update,
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let row = logged(env, &event_id, "delivered", Duration::from_secs(15));
    let id = row["envelope_id"].as_str().unwrap().to_owned();

    // A principal of another org sees none of it: missing from lists, 404 when named.
    let other = env.admin(
        "POST",
        "/v1/orgs",
        "profiles:write",
        Some(json!({"name": format!("elsewhere-{}", unique())})),
    );
    let other_org = other.json()["id"].as_str().unwrap().to_owned();
    let (pid, pem) = principal(
        env,
        201,
        json!({"scopes": ["deliveries:write", "metrics:read"], "org_ids": [other_org]}),
    );
    let outsider = token(&pid, &pem, "deliveries:write metrics:read");
    let call = |method: &str, path: &str| env.call(method, path, &outsider, None, &[]);
    let list = call(
        "GET",
        &format!("/v1/deliveries?provider_event_id={event_id}"),
    );
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.json()["items"], json!([]));
    for (method, path) in [
        ("GET", format!("/v1/deliveries/{id}")),
        ("POST", format!("/v1/deliveries/{id}/replay")),
        ("POST", format!("/v1/dead-letters/{id}/redrive")),
    ] {
        let reply = call(method, &path);
        assert_eq!(reply.status, 404, "{method} {path}: {}", reply.body);
    }
    let metrics = call("GET", "/v1/metrics");
    assert_eq!(metrics.status, 403, "metrics span every org");

    // Scopes: reading is not re-driving, and neither is reading metrics.
    let reader = env.admin(
        "POST",
        &format!("/v1/deliveries/{id}/replay"),
        "deliveries:read",
        None,
    );
    assert_eq!(reader.status, 403, "{}", reader.body);
    assert_eq!(reader.json()["error"]["missing_scope"], "deliveries:write");
    let scraper = env.admin("GET", "/v1/deliveries", "metrics:read", None);
    assert_eq!(scraper.status, 403);
    let metrics = env.admin("GET", "/v1/metrics", "deliveries:read", None);
    assert_eq!(metrics.status, 403);
    let bad = env.admin("GET", "/v1/deliveries?status=lost", "deliveries:read", None);
    assert_eq!(bad.status, 400, "{}", bad.body);
    let bad = env.admin(
        "GET",
        "/v1/dead-letters?status=delivered",
        "deliveries:read",
        None,
    );
    assert_eq!(bad.status, 400, "{}", bad.body);
    for query in ["limit=101", "cursor=5"] {
        let path = format!("/v1/dead-letters/redrive?{query}");
        let bad = env.admin("POST", &path, "deliveries:write", None);
        assert_eq!(bad.status, 400, "{query}: {}", bad.body);
    }
    Ok(())
}

/// Starts a worker of its own: one retry, its own runtime and provider fakes, the dataset seeded.
fn own_worker() -> Result<Env, Failed> {
    let runtime = FakeServer::start()?;
    let providers = FakeServer::start()?;
    let vars = [
        ("AGENT_RUNTIME_URL", runtime.url("/inbound")),
        ("TELEGRAM_API_BASE_URL", providers.url("/telegram")),
    ];
    let worker = WranglerDev::start_with_config(&vars, &[("max_retries = 8", "max_retries = 1")])?;
    let seed = seed::load(&worker.url(""))?;
    Ok(Env {
        worker,
        runtime,
        providers,
        seed,
    })
}

fn a_failing_runtime_end_to_end_dead_letters_redrive_pause_and_metrics(
    _: &Env,
) -> Result<(), Failed> {
    let op = own_worker()?;
    let installation = op.id("acme_telegram").to_owned();
    let secret = telegram_secret_token();
    let post = |update: &Value| post_telegram(&op.worker, &installation, &secret, update);

    // 1. The runtime is down: the event is tried twice (one retry), then dead-lettered.
    op.runtime
        .default_response("/inbound", Answer::json(503, json!({"error": "down"})));
    let a = 998_000 + unique();
    assert_eq!(
        post(&telegram_update(a, 424242, "while it was down")).status,
        200
    );
    let dead = poll(
        &op,
        &format!("/v1/dead-letters?provider_event_id={a}"),
        Duration::from_secs(60),
        |page| {
            page["items"]
                .as_array()
                .is_some_and(|items| !items.is_empty())
        },
    );
    let row = &dead["items"][0];
    let id = row["envelope_id"].as_str().unwrap().to_owned();
    assert_eq!(row["status"], "dead_lettered");
    assert_eq!(row["attempts"], 2);
    assert_eq!(row["last_status"], 503);
    assert_eq!(row["last_reason"], "runtime_refused");
    assert_eq!(row["content_kept"], true, "kept, sealed, for re-drive");
    let one = op.admin(
        "GET",
        &format!("/v1/deliveries/{id}"),
        "deliveries:read",
        None,
    );
    let attempts = one.json()["attempts_log"].clone();
    assert_eq!(attempts.as_array().unwrap().len(), 2, "{attempts}");
    assert!(attempts
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["status"] == 503 && a["reason"] == "runtime_refused"));
    let sealed = op.worker.d1_query(&format!(
        "SELECT content FROM deliveries WHERE envelope_id = '{id}'"
    ))?;
    let sealed = sealed[0]["content"].as_str().unwrap_or_default().to_owned();
    assert!(sealed.starts_with("v1."), "sealed at rest: {sealed}");
    assert!(!sealed.contains("while it was down"));

    // 2. The runtime is back: re-drive the dead letters; each is delivered exactly once.
    op.runtime
        .default_response("/inbound", Answer::json(200, json!({})));
    let bulk = op.admin(
        "POST",
        "/v1/dead-letters/redrive?provider=telegram",
        "deliveries:write",
        None,
    );
    assert_eq!(bulk.status, 200, "{}", bulk.body);
    assert_eq!(bulk.json()["redriven"], json!([id]));
    assert_eq!(bulk.json()["remaining"], false);
    let row = logged(&op, &a.to_string(), "delivered", Duration::from_secs(20));
    assert_eq!(row["last_status"], 200);
    assert_eq!(
        row["last_reason"],
        Value::Null,
        "the last attempt succeeded"
    );
    std::thread::sleep(Duration::from_secs(2));
    let calls = received(&op.runtime, &id);
    assert_eq!(calls.len(), 3, "two failed attempts and the re-drive");
    assert_eq!(calls[2].header("channel-edge-delivery"), Some("redrive"));
    let again = op.admin(
        "POST",
        &format!("/v1/dead-letters/{id}/redrive"),
        "deliveries:write",
        None,
    );
    assert_eq!(again.status, 409, "no longer a dead letter: {}", again.body);
    let empty = op.admin("POST", "/v1/dead-letters/redrive", "deliveries:write", None);
    assert_eq!(empty.json()["redriven"], json!([]));

    // 3. Pause delivery: an event waits in the queue (held) and is delivered once resumed,
    // exactly once although the provider sent it twice.
    let pause = op.admin(
        "PUT",
        "/v1/rollout/delivery",
        "rollout:write",
        Some(json!({"stage": "off", "reason": "runtime maintenance"})),
    );
    assert_eq!(pause.status, 200, "{}", pause.body);
    let b = 999_000 + unique();
    let update_b = telegram_update(b, 424242, "during maintenance");
    assert_eq!(post(&update_b).status, 200);
    assert_eq!(post(&update_b).status, 200, "the provider's retry");
    // A late provider retry of A (delivered) is held too, but leaves A's row as it was.
    assert_eq!(
        post(&telegram_update(a, 424242, "while it was down")).status,
        200
    );
    logged(&op, &b.to_string(), "held", Duration::from_secs(15));
    assert!(
        deliveries(&op, &b.to_string(), 1, Duration::from_secs(2)).is_empty(),
        "nothing is delivered while paused"
    );
    let row = logged(&op, &a.to_string(), "delivered", Duration::from_secs(1));
    assert_eq!(row["content_kept"], true, "still replayable");
    let resume = op.admin(
        "PUT",
        "/v1/rollout/delivery",
        "rollout:write",
        Some(json!({"stage": "on"})),
    );
    assert_eq!(resume.status, 200, "{}", resume.body);
    logged(&op, &b.to_string(), "delivered", Duration::from_secs(40));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        deliveries(&op, &b.to_string(), 2, Duration::from_secs(1)).len(),
        1,
        "delivered exactly once"
    );
    assert_eq!(
        received(&op.runtime, &id).len(),
        3,
        "A's late retry is a duplicate"
    );

    // 4. Refusals and an outbound message, for the counters.
    let bad = post_telegram(
        &op.worker,
        &installation,
        "not-the-secret",
        &telegram_update(b + 1, 1, "x"),
    );
    assert_eq!(bad.status, 401);
    let bad = post_telegram(
        &op.worker,
        &installation,
        "still-not-it",
        &telegram_update(b + 2, 1, "x"),
    );
    assert_eq!(bad.status, 401);
    let unknown = post_telegram(
        &op.worker,
        "ins_00000000000000000000000000000000",
        &secret,
        &telegram_update(b + 3, 1, "x"),
    );
    assert_eq!(unknown.status, 404);
    let bot = telegram_bot(&op);
    let envelope = telegram_inbound(&op, &bot, 4242, None);
    let message = accepted(&send(
        &op,
        json!({"reply_to": capability(&envelope), "text": "counted"}),
    ));
    assert_eq!(
        settled(&op, &message, Duration::from_secs(10))["status"],
        "sent"
    );
    // The outbound half of the log, read with deliveries:read.
    let path = format!("/v1/messages?agent_id={}", bot.agent);
    let outbound = op.admin("GET", &path, "deliveries:read", None);
    assert_eq!(outbound.status, 200, "{}", outbound.body);
    assert_eq!(outbound.json()["items"][0]["id"], message.as_str());
    let path = format!("/v1/messages/{message}");
    let one = op.admin("GET", &path, "deliveries:read", None);
    let calls = one.json()["attempts_log"].clone();
    assert_eq!(calls.as_array().map(Vec::len), Some(1), "{calls}");
    assert_eq!(calls[0]["op"], "send");
    assert_eq!(calls[0]["outcome"], "done");
    assert_eq!(calls[0]["status"], 200);

    // 5. Scrape: every counter is what was sent (rejections are written within ~2 s).
    let expected: &[Counter] = &[
        (
            "channel_edge_events_accepted_total",
            &[("provider", "telegram")],
            3.0,
        ),
        (
            "channel_edge_events_duplicate_total",
            &[("provider", "telegram")],
            2.0,
        ),
        (
            "channel_edge_webhooks_rejected_total",
            &[("provider", "telegram"), ("reason", "bad_signature")],
            2.0,
        ),
        (
            "channel_edge_webhooks_rejected_total",
            &[("provider", "telegram"), ("reason", "unknown_or_revoked")],
            1.0,
        ),
        (
            "channel_edge_deliveries_total",
            &[("provider", "telegram"), ("outcome", "failed")],
            2.0,
        ),
        (
            "channel_edge_deliveries_total",
            &[("provider", "telegram"), ("outcome", "dead_lettered")],
            1.0,
        ),
        (
            "channel_edge_deliveries_total",
            &[("provider", "telegram"), ("outcome", "delivered")],
            3.0,
        ),
        (
            "channel_edge_outbound_messages_total",
            &[("provider", "telegram"), ("outcome", "sent")],
            1.0,
        ),
    ];
    let deadline = Instant::now() + Duration::from_secs(20);
    let (scrape, text) = loop {
        let (scrape, text) = scrape(&op);
        let all_there = expected
            .iter()
            .all(|(name, labels, want)| value(&scrape, name, labels) == Some(*want));
        if all_there || Instant::now() >= deadline {
            break (scrape, text);
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    for (name, labels, want) in expected {
        assert_eq!(
            value(&scrape, name, labels),
            Some(*want),
            "{name}{labels:?}\n{text}"
        );
    }
    let held = value(
        &scrape,
        "channel_edge_deliveries_total",
        &[("provider", "telegram"), ("outcome", "held")],
    );
    assert!(
        held.is_some_and(|n| n >= 3.0),
        "B's two copies and A's retry were held: {text}"
    );
    let latency = scrape
        .samples
        .iter()
        .find(|s| s.metric == "channel_edge_delivery_latency_seconds")
        .map(|s| s.value.clone());
    let Some(Sample::Histogram(buckets)) = latency else {
        panic!("no latency histogram:\n{text}");
    };
    let observed = buckets.iter().map(|b| b.count).fold(0.0, f64::max);
    assert_eq!(
        observed, 2.0,
        "first deliveries only (B and the inbound message)"
    );
    assert!(!text.contains("ins_"), "no per-installation label");

    // 6. Housekeeping: content past its retention is cleared, rows past theirs deleted.
    op.worker.d1_execute(&format!(
        "UPDATE deliveries SET content_expires_at = 1 WHERE envelope_id = '{id}'"
    ))?;
    op.worker.d1_execute(&format!(
        "UPDATE deliveries SET expires_at = 1 WHERE provider_event_id = '{b}'; \
         UPDATE delivery_attempts SET expires_at = 1"
    ))?;
    let cron = channel_edge_e2e::http::get(&op.worker.url("/__scheduled?cron=*/15+*+*+*+*"));
    assert_eq!(cron.status, 200, "{}", cron.body);
    let kept = op.worker.d1_query(&format!(
        "SELECT content, content_expires_at FROM deliveries WHERE envelope_id = '{id}'"
    ))?;
    assert_eq!(kept[0]["content"], Value::Null, "content cleared");
    assert_eq!(kept[0]["content_expires_at"], Value::Null);
    let gone = op.worker.d1_query(&format!(
        "SELECT COUNT(*) AS n FROM deliveries WHERE provider_event_id = '{b}'"
    ))?;
    assert_eq!(gone[0]["n"], 0, "row deleted");
    let attempts = op
        .worker
        .d1_query("SELECT COUNT(*) AS n FROM delivery_attempts")?;
    assert_eq!(attempts[0]["n"], 0, "attempts deleted");
    let after = op.admin(
        "POST",
        &format!("/v1/deliveries/{id}/replay"),
        "deliveries:write",
        None,
    );
    assert_eq!(after.status, 409, "nothing kept to replay: {}", after.body);
    Ok(())
}

/// A counter's name, labels and value.
type Counter<'a> = (&'a str, &'a [(&'a str, &'a str)], f64);

/// `GET /v1/metrics` as root, parsed with a Prometheus exposition parser.
fn scrape(env: &Env) -> (Scrape, String) {
    let reply: Reply = env.admin("GET", "/v1/metrics", "metrics:read", None);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/plain; version=0.0.4")));
    let lines = reply.body.lines().map(|line| Ok(line.to_owned()));
    let scrape = Scrape::parse(lines).expect("a valid Prometheus exposition");
    (scrape, reply.body)
}

/// The counter `name` with `labels`, if scraped.
fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .and_then(|s| match s.value {
            Sample::Counter(v) | Sample::Untyped(v) => Some(v),
            _ => None,
        })
}
