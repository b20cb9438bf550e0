//! The queue failing, each case on its own worker with wrangler.toml changed: a send the queue
//! refuses, and a delivery that exhausts its retries.

use crate::ingress::{dataset_secret, deliveries, post_telegram, telegram_update, unique};
use crate::Env;
use channel_edge_e2e::fake::Answer;
use channel_edge_e2e::seed;
use channel_edge_e2e::wrangler::WranglerDev;
use libtest_mimic::Failed;
use serde_json::json;
use std::time::Duration;

tests![
    a_refused_queue_send_is_answered_503_and_the_retry_delivered_once,
    exhausted_deliveries_are_dead_lettered_and_audited,
];

/// The producer binding in wrangler.toml: without it every send to `agent-inbound` fails.
const PRODUCER: &str = "[[queues.producers]]\nbinding = \"INBOUND\"\nqueue = \"agent-inbound\"\n";

/// The seeded `acme_telegram` installation's secret token.
pub fn telegram_secret_token() -> String {
    dataset_secret(
        "installations",
        "acme_telegram",
        "credentials",
        "secret_token",
    )
}

fn a_refused_queue_send_is_answered_503_and_the_retry_delivered_once(
    env: &Env,
) -> Result<(), Failed> {
    let vars = [("AGENT_RUNTIME_URL", env.runtime.url("/inbound"))];
    let worker = WranglerDev::start_with_config(&vars, &[(PRODUCER, "")])?;
    let ids = seed::load(&worker.url(""))?;
    let installation = &ids["acme_telegram"];
    let update_id = 990_000 + unique();
    let update = telegram_update(update_id, 424242, "queued after all");

    let refused = post_telegram(&worker, installation, &telegram_secret_token(), &update);
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert_eq!(refused.header("retry-after"), Some("60"));

    // The provider retries once the queue is back: the dedupe keys were released, so the retry
    // is queued, and delivered exactly once.
    let worker = worker.restart(&vars)?;
    let retried = post_telegram(&worker, installation, &telegram_secret_token(), &update);
    assert_eq!(retried.status, 200, "{}", retried.body);
    let event_id = update_id.to_string();
    assert_eq!(
        deliveries(env, &event_id, 1, Duration::from_secs(15)).len(),
        1
    );
    let again = post_telegram(&worker, installation, &telegram_secret_token(), &update);
    assert_eq!(again.status, 200, "a later retry is a duplicate");
    assert_eq!(
        deliveries(env, &event_id, 2, Duration::from_secs(3)).len(),
        1,
        "delivered exactly once"
    );
    Ok(())
}

fn exhausted_deliveries_are_dead_lettered_and_audited(env: &Env) -> Result<(), Failed> {
    let vars = [("AGENT_RUNTIME_URL", env.runtime.url("/inbound"))];
    let worker = WranglerDev::start_with_config(&vars, &[("max_retries = 8", "max_retries = 1")])?;
    let ids = seed::load(&worker.url(""))?;
    let update_id = 995_000 + unique();
    let needle = format!("\"provider_event_id\":\"{update_id}\"");
    for _ in 0..5 {
        env.runtime.respond_to(
            "/inbound",
            &needle,
            Answer::json(500, json!({"error": "down"})),
        );
    }
    let update = telegram_update(update_id, 424242, "nobody answers");
    let reply = post_telegram(
        &worker,
        &ids["acme_telegram"],
        &telegram_secret_token(),
        &update,
    );
    assert_eq!(reply.status, 200, "{}", reply.body);

    // One attempt and one retry (max_retries = 1), then the dead-letter queue's consumer audits.
    let event_id = update_id.to_string();
    let attempts = deliveries(env, &event_id, 2, Duration::from_secs(30));
    assert_eq!(attempts.len(), 2, "first attempt and one retry");
    let envelope_id = attempts[0]["id"].as_str().unwrap().to_owned();
    let query = format!(
        "SELECT actor, target, detail FROM audit_log \
         WHERE action = 'delivery.dead_lettered' AND target = '{envelope_id}'"
    );
    for _ in 0..60 {
        let rows = worker.d1_query(&query)?;
        if let Some(row) = rows.first() {
            assert_eq!(row["actor"], "system");
            let detail: serde_json::Value =
                serde_json::from_str(row["detail"].as_str().unwrap()).unwrap();
            assert_eq!(detail["provider"], "telegram");
            assert_eq!(detail["installation_id"], ids["acme_telegram"].as_str());
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    Err(format!("no delivery.dead_lettered entry for {envelope_id}").into())
}
