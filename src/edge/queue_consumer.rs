//! The consumers of `agent-inbound` and its dead-letter queue, declared in this same worker.
//!
//! Each envelope is POSTed to `AGENT_RUNTIME_URL`, signed the Standard Webhooks way with the
//! `AGENT_RUNTIME_SECRET` ([`crate::core::delivery`]). A 2xx acknowledges it; anything else, or
//! no answer within [`TIMEOUT`], retries it with backoff. After the queue's `max_retries` it moves
//! to `agent-inbound-dlq`, whose consumer writes an audit entry and acknowledges it. Health probes
//! from `/healthz` are acknowledged and never delivered.
//!
//! Before delivering a batch, its installations, bindings and the rollout flags are read again
//! (one D1 round trip per batch, no secret opened): an envelope whose installation, org, app
//! profile or binding was revoked, or whose provider was switched off, since it was queued is
//! dropped, with one `delivery.dropped` audit entry per installation and reason in the batch.

use super::store::{directory, ledger};
use super::{http, runtime};
use crate::core::api_error::ApiError;
use crate::core::audit::Event;
use crate::core::delivery::{
    backoff_seconds, signed_headers, still_deliverable, url_for_logs, Stale,
};
use crate::core::queue_message::HealthProbe;
use crate::core::tenancy::admit;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashSet};
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
    let db = env.d1("DB")?;
    let now = runtime::now_seconds();
    let messages = batch.messages()?;
    let live = match Live::read(&db, &messages).await {
        Ok(live) => live,
        Err(error) => {
            for message in &messages {
                retry(
                    message,
                    &format!("could not check its installation: {error}"),
                );
            }
            return Ok(());
        }
    };
    let mut dropped: BTreeMap<(String, Stale), Vec<Message<Value>>> = BTreeMap::new();
    for message in messages {
        if serde_json::from_value::<HealthProbe>(message.body().clone()).is_ok() {
            message.ack();
            continue;
        }
        if let Err(stale) = live.admits(message.body()) {
            let installation = text(message.body(), "installation_id").to_owned();
            dropped
                .entry((installation, stale))
                .or_default()
                .push(message);
            continue;
        }
        match deliver(&url, &secret, message.body()).await {
            Ok(()) => message.ack(),
            Err(reason) => retry(&message, &reason),
        }
    }
    for ((installation, stale), messages) in dropped {
        audit_dropped(&db, &installation, stale, &messages, now).await;
    }
    Ok(())
}

/// What holds now for a batch's envelopes: which of their installations are live, which of their
/// bindings are active, and the rollout flags.
struct Live {
    installations: HashSet<String>,
    bindings: HashSet<String>,
    flags: crate::core::webhook::Flags,
}

impl Live {
    async fn read(
        db: &worker::D1Database,
        messages: &[Message<Value>],
    ) -> std::result::Result<Live, ApiError> {
        let ids = |field: &str| -> BTreeSet<&str> {
            messages.iter().map(|m| text(m.body(), field)).collect()
        };
        let (installations, bindings, flags) =
            directory::live_for_delivery(db, &ids("installation_id"), &ids("binding_id")).await?;
        Ok(Live {
            installations,
            bindings,
            flags,
        })
    }

    /// Whether `envelope` may still be delivered.
    fn admits(&self, envelope: &Value) -> std::result::Result<(), Stale> {
        let provider = text(envelope, "provider");
        let flags = (self.flags.get("*"), self.flags.get(provider));
        still_deliverable(
            self.installations
                .contains(text(envelope, "installation_id")),
            self.bindings.contains(text(envelope, "binding_id")),
            admit(flags.0, flags.1, text(envelope, "org_id")),
        )
    }
}

/// One audit entry for the `messages` of one installation dropped for one reason, then each is
/// acknowledged (or retried, to be dropped again, if the entry could not be written).
async fn audit_dropped(
    db: &worker::D1Database,
    installation: &str,
    stale: Stale,
    messages: &[Message<Value>],
    now: u64,
) {
    let ids: Vec<&str> = messages.iter().map(|m| envelope_id(m.body())).collect();
    let org = messages.first().map(|m| text(m.body(), "org_id"));
    let event = Event::new("system", "delivery.dropped", installation)
        .with_detail(json!({ "reason": stale.code(), "count": ids.len(), "envelope_ids": ids }))
        .for_org(org);
    let recorded = ledger::record(db, &event, now).await;
    for message in messages {
        match &recorded {
            Ok(_) => message.ack(),
            Err(error) => retry(
                message,
                &format!("dropped ({stale}) but not audited: {error}"),
            ),
        }
    }
}

/// A text field of an envelope ("" when absent).
fn text<'a>(envelope: &'a Value, field: &str) -> &'a str {
    envelope[field].as_str().unwrap_or_default()
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
    let response = http::send(Method::Post, url, &headers, Some(body), TIMEOUT, true)
        .await
        .map_err(|error| format!("POST {}: {error}", url_for_logs(url)))?;
    match response.status_code() {
        200..=299 => Ok(()),
        status => Err(format!("POST {} answered {status}", url_for_logs(url))),
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
