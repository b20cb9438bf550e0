//! The consumers of `agent-inbound` and its dead-letter queue, declared in this same worker.
//!
//! Each envelope is POSTed to `AGENT_RUNTIME_URL`, signed the Standard Webhooks way with the
//! `AGENT_RUNTIME_SECRET` ([`crate::core::delivery`]). A 2xx acknowledges it; anything else, or
//! no answer within [`TIMEOUT`], retries it with backoff. After the queue's `max_retries` it moves
//! to `agent-inbound-dlq`, whose consumer writes an audit entry and acknowledges it. Health probes
//! from `/healthz` are acknowledged and never delivered.

use super::{http, ledger, runtime};
use crate::core::audit::Event;
use crate::core::delivery::{backoff_seconds, signed_headers};
use crate::core::queue_message::HealthProbe;
use serde_json::{json, Value};
use std::time::Duration;
use worker::{
    event, Context, Env, Message, MessageBatch, MessageExt, Method, QueueRetryOptionsBuilder,
    Result,
};

/// How long the agent runtime has to answer one delivery.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The dead-letter queue's name (wrangler.toml).
const DEAD_LETTER_QUEUE: &str = "agent-inbound-dlq";

#[event(queue)]
async fn consume(batch: MessageBatch<Value>, env: Env, _ctx: Context) -> Result<()> {
    if batch.queue() == DEAD_LETTER_QUEUE {
        return dead_letters(batch, &env).await;
    }
    let url = env.var("AGENT_RUNTIME_URL")?.to_string();
    let secret = env.secret("AGENT_RUNTIME_SECRET")?.to_string();
    for message in batch.messages()? {
        if serde_json::from_value::<HealthProbe>(message.body().clone()).is_ok() {
            message.ack();
            continue;
        }
        match deliver(&url, &secret, message.body()).await {
            Ok(()) => message.ack(),
            Err(reason) => retry(&message, &reason),
        }
    }
    Ok(())
}

fn retry(message: &Message<Value>, reason: &str) {
    let age = runtime::now_seconds().saturating_sub(message.timestamp().as_millis() / 1000);
    let delay = backoff_seconds(age);
    worker::console_error!(
        "delivery of {} failed ({reason}); retrying in {delay} s",
        envelope_id(message.body())
    );
    message.retry_with_options(
        &QueueRetryOptionsBuilder::new()
            .with_delay_seconds(delay)
            .build(),
    );
}

fn envelope_id(envelope: &Value) -> &str {
    envelope["id"].as_str().unwrap_or("(no id)")
}

/// One signed POST; `Err` says why it did not succeed.
async fn deliver(url: &str, secret: &str, envelope: &Value) -> std::result::Result<(), String> {
    let body = envelope.to_string();
    let signed = signed_headers(
        secret,
        envelope_id(envelope),
        runtime::now_seconds(),
        body.as_bytes(),
    )
    .map_err(|e| format!("AGENT_RUNTIME_SECRET: {e}"))?;
    let mut headers = vec![("Content-Type", "application/json")];
    headers.extend(signed.iter().map(|(name, value)| (*name, value.as_str())));
    let response = http::send(Method::Post, url, &headers, Some(body), TIMEOUT).await?;
    match response.status_code() {
        200..=299 => Ok(()),
        status => Err(format!("runtime answered {status}")),
    }
}

/// Envelopes that exhausted their retries: audited, then acknowledged.
async fn dead_letters(batch: MessageBatch<Value>, env: &Env) -> Result<()> {
    let db = env.d1("DB")?;
    for message in batch.messages()? {
        let envelope = message.body();
        let event = Event::new("system", "delivery.dead_lettered", envelope_id(envelope))
            .with_detail(json!({
                "agent_id": envelope["agent_id"],
                "provider": envelope["provider"],
                "installation_id": envelope["installation_id"],
            }))
            .for_org(envelope["org_id"].as_str());
        match ledger::record(&db, &event, runtime::now_seconds()).await {
            Ok(_) => message.ack(),
            Err(error) => {
                worker::console_error!(
                    "dead letter {} not audited: {error}",
                    envelope_id(envelope)
                );
                message.retry();
            }
        }
    }
    Ok(())
}
