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
//! While delivery is paused (the `delivery` rollout flag, [`crate::core::delivery::held`]), the
//! rest are sent to the queue again with a delay, before anything is claimed for them, and
//! acknowledged: held without using up their retries. Then the remaining envelopes' dedupe keys
//! are claimed for their messages ([`crate::core::dedupe`], one more round trip per batch): a
//! provider's retry, queued again by the ingress, is acknowledged there as a duplicate and
//! counted, never delivered. An envelope an operator sent again (re-drive, replay) has no keys
//! and is delivered with the header `channel-edge-delivery: redrive` or `replay`.
//!
//! At the end of each batch, what happened to each envelope is written to the delivery log and
//! the metrics in one D1 batch ([`super::store::deliveries::write`]).

use super::ingress::inbound_queue::InboundQueue;
use super::store::dedupe_keys::D1Keys;
use super::store::deliveries::{self, Entry};
use super::store::{directory, ledger, rejections};
use super::{http, runtime};
use crate::core::api_error::ApiError;
use crate::core::audit::Event;
use crate::core::dedupe::{self, Pending, Verdict};
use crate::core::delivery::{
    backoff_seconds, held, signed_headers, still_deliverable, url_for_logs, Stale, HOLD_SECONDS,
    PAUSE_KEY,
};
use crate::core::delivery_log::Outcome;
use crate::core::json;
use crate::core::log::Line;
use crate::core::queue_message::{self, Again, Incoming};
use crate::core::tenancy::admit;
use crate::core::tenancy::Provider;
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
    let mut envelopes = Vec::with_capacity(messages.len());
    for message in &messages {
        match queue_message::read(message.body()) {
            Incoming::Probe => message.ack(),
            Incoming::Envelope(read) => envelopes.push(Queued { message, read }),
        }
    }
    let live = match Live::read(&db, &envelopes).await {
        Ok(live) => live,
        Err(error) => {
            let reason = format!("could not check its installation: {error}");
            envelopes.iter().for_each(|queued| retry(queued, &reason));
            return Ok(());
        }
    };
    let inbound = InboundQueue::new(&env);
    let mut log = Vec::with_capacity(envelopes.len());
    let mut dropped: BTreeMap<(String, Stale), Vec<&Queued>> = BTreeMap::new();
    let mut admitted = Vec::with_capacity(envelopes.len());
    for queued in &envelopes {
        let org = json::field(queued.envelope(), "org_id");
        match live.admits(queued.envelope()) {
            Ok(()) if held(live.flags.get(PAUSE_KEY), org) => {
                if hold(&inbound, queued).await {
                    log.push(queued.entry(Outcome::Held));
                }
            }
            Ok(()) => admitted.push(queued),
            Err(stale) => {
                let installation = json::field(queued.envelope(), "installation_id").to_owned();
                dropped
                    .entry((installation, stale))
                    .or_default()
                    .push(queued);
            }
        }
    }
    let (fresh, duplicates) = unique(&db, &admitted, now).await;
    for queued in fresh {
        let outcome = deliver(&url, &secret, queued).await;
        match outcome {
            Outcome::Delivered { .. } => queued.message.ack(),
            _ => retry(queued, "the runtime did not acknowledge it"),
        }
        log.push(queued.entry(outcome));
    }
    for ((installation, stale), queued) in dropped {
        if audit_dropped(&db, &installation, stale, &queued, now).await {
            log.extend(
                queued
                    .iter()
                    .map(|q| q.entry(Outcome::Dropped(stale.code()))),
            );
        }
    }
    deliveries::write(&db, &env, &log, now).await;
    if !duplicates.is_empty() {
        rejections::count_duplicates(&db, &env, duplicates, now).await;
    }
    Ok(())
}

/// One envelope of a batch: its queue message and what it carries.
struct Queued<'a> {
    message: &'a Message<Value>,
    read: queue_message::Queued<'a>,
}

impl<'a> Queued<'a> {
    fn envelope(&self) -> &'a Value {
        self.read.envelope
    }

    /// Its delivery log entry for `outcome`.
    fn entry(&self, outcome: Outcome) -> Entry<'a> {
        Entry {
            envelope: self.read.envelope,
            outcome,
            again: self.read.again,
            accepted_ms: self.read.accepted_ms,
        }
    }
}

/// Sends `queued`'s message to the queue again, [`HOLD_SECONDS`] later, and acknowledges it
/// (retried instead when it cannot be sent). True when it was held.
async fn hold(inbound: &InboundQueue, queued: &Queued<'_>) -> bool {
    let body = queued.message.body().to_string();
    match inbound.send_json(&body, HOLD_SECONDS).await {
        Ok(()) => {
            queued.message.ack();
            true
        }
        Err(error) => {
            retry(queued, &format!("paused, but not held: {error}"));
            false
        }
    }
}

/// Of `admitted`, those to deliver, and the count of duplicates by provider and installation: the duplicates ([`crate::core::dedupe::sort_each`], one D1 round
/// trip for the batch unless it fails) are acknowledged; a message whose keys cannot be claimed
/// is retried on its own.
async fn unique<'a, 'b>(
    db: &worker::D1Database,
    admitted: &[&'b Queued<'a>],
    now: u64,
) -> (Vec<&'b Queued<'a>>, BTreeMap<(Provider, String), u64>) {
    // An envelope queued before its keys travelled with it has none, so no owner is needed.
    let pending: Vec<Pending> = admitted
        .iter()
        .map(|queued| match &queued.read.dedupe {
            Some(dedupe) => Pending {
                owner: &dedupe.owner,
                keys: &dedupe.keys,
                window_seconds: dedupe.window_seconds,
            },
            None => Pending {
                owner: "",
                keys: &[],
                window_seconds: 0,
            },
        })
        .collect();
    let verdicts = dedupe::sort_each(&D1Keys(db), &pending, now).await;
    let mut duplicates: BTreeMap<(Provider, String), u64> = BTreeMap::new();
    let mut fresh = Vec::with_capacity(admitted.len());
    for (queued, verdict) in admitted.iter().zip(verdicts) {
        match verdict {
            Ok(Verdict::Deliver) => fresh.push(*queued),
            Ok(Verdict::Duplicate) => {
                queued.message.ack();
                if let Ok(provider) = Provider::parse(json::field(queued.envelope(), "provider")) {
                    let installation = json::field(queued.envelope(), "installation_id").to_owned();
                    *duplicates.entry((provider, installation)).or_default() += 1;
                }
            }
            Err(error) => retry(
                queued,
                &format!("its dedupe keys could not be claimed: {error}"),
            ),
        }
    }
    (fresh, duplicates)
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
        envelopes: &[Queued<'_>],
    ) -> std::result::Result<Live, ApiError> {
        let ids = |field: &str| -> BTreeSet<&str> {
            envelopes
                .iter()
                .map(|q| json::field(q.envelope(), field))
                .collect()
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
        let provider = json::field(envelope, "provider");
        let flags = (self.flags.get("*"), self.flags.get(provider));
        still_deliverable(
            self.installations
                .contains(json::field(envelope, "installation_id")),
            self.bindings.contains(json::field(envelope, "binding_id")),
            admit(flags.0, flags.1, json::field(envelope, "org_id")),
        )
    }
}

/// One audit entry for the `messages` of one installation dropped for one reason, then each is
/// acknowledged (or retried, to be dropped again, if the entry could not be written). True when
/// they were acknowledged.
async fn audit_dropped(
    db: &worker::D1Database,
    installation: &str,
    stale: Stale,
    dropped: &[&Queued<'_>],
    now: u64,
) -> bool {
    let ids: Vec<&str> = dropped.iter().map(|q| envelope_id(q.envelope())).collect();
    let org = dropped.first().map(|q| json::field(q.envelope(), "org_id"));
    let event = Event::new("system", "delivery.dropped", installation)
        .with_detail(json!({ "reason": stale.code(), "count": ids.len(), "envelope_ids": ids }))
        .for_org(org);
    let recorded = ledger::record(db, &event, now).await;
    for queued in dropped {
        match &recorded {
            Ok(_) => queued.message.ack(),
            Err(error) => retry(
                queued,
                &format!("dropped ({stale}) but not audited: {error}"),
            ),
        }
    }
    recorded.is_ok()
}

fn retry(queued: &Queued<'_>, reason: &str) {
    let message = queued.message;
    let age = runtime::now_seconds().saturating_sub(message.timestamp().as_millis() / 1000);
    let delay = backoff_seconds(age);
    worker::console_error!(
        "delivery of {} failed ({reason}); retrying in {delay} s",
        envelope_id(queued.envelope())
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

/// One signed POST, logged as one `delivery` line ([`Line`]); its outcome for the delivery log.
async fn deliver(url: &str, secret: &str, queued: &Queued<'_>) -> Outcome {
    let envelope = queued.envelope();
    let started = runtime::now_millis();
    let (status, outcome) = post(url, secret, envelope, queued.read.again).await;
    let latency_ms = runtime::now_millis().saturating_sub(started);
    let line = Line {
        event: "delivery",
        provider: Provider::parse(json::field(envelope, "provider"))
            .ok()
            .map(Provider::as_str),
        installation_id: Some(json::field(envelope, "installation_id")),
        envelope_id: Some(envelope_id(envelope)),
        status,
        latency_ms,
        reason: outcome.as_ref().err().map(|(code, _)| *code),
        ..Line::default()
    };
    worker::console_log!("{}", line.to_json());
    match outcome {
        Ok(()) => Outcome::Delivered { status, latency_ms },
        Err((reason, why)) => {
            worker::console_error!("delivery of {}: {why}", envelope_id(envelope));
            Outcome::Failed {
                status,
                reason,
                latency_ms,
            }
        }
    }
}

/// The runtime's status (0 without an answer) and, on failure, a reason code and its words. An
/// envelope sent again says why in the `channel-edge-delivery` header.
async fn post(
    url: &str,
    secret: &str,
    envelope: &Value,
    again: Option<Again>,
) -> (u16, std::result::Result<(), (&'static str, String)>) {
    let body = envelope.to_string();
    let signed = match signed_headers(
        secret,
        envelope_id(envelope),
        runtime::now_seconds(),
        body.as_bytes(),
    ) {
        Ok(signed) => signed,
        Err(e) => return (0, Err(("unsigned", format!("AGENT_RUNTIME_SECRET: {e}")))),
    };
    let mut headers = vec![("Content-Type", "application/json")];
    headers.extend(signed.iter().map(|(name, value)| (*name, value.as_str())));
    if let Some(again) = again {
        headers.push(("channel-edge-delivery", again.as_str()));
    }
    let response = match http::send(Method::Post, url, &headers, Some(body), TIMEOUT, true).await {
        Ok(response) => response,
        Err(error) => {
            let why = format!("POST {}: {error}", url_for_logs(url));
            return (0, Err(("unreachable", why)));
        }
    };
    match response.status_code() {
        status @ 200..=299 => (status, Ok(())),
        status => {
            let why = format!("POST {} answered {status}", url_for_logs(url));
            (status, Err(("runtime_refused", why)))
        }
    }
}

/// Envelopes that exhausted their retries: audited, recorded in the delivery log (their content
/// kept, sealed, for re-drive), then acknowledged.
async fn dead_letters(batch: MessageBatch<Value>, env: &Env) -> Result<()> {
    let db = env.d1("DB")?;
    let now = runtime::now_seconds();
    let messages = batch.messages()?;
    let mut log = Vec::with_capacity(messages.len());
    for message in &messages {
        let Incoming::Envelope(read) = queue_message::read(message.body()) else {
            message.ack();
            continue;
        };
        let envelope = read.envelope;
        let event = Event::new("system", "delivery.dead_lettered", envelope_id(envelope))
            .with_detail(json!({
                "agent_id": envelope["agent_id"],
                "provider": envelope["provider"],
                "installation_id": envelope["installation_id"],
            }))
            .for_org(envelope["org_id"].as_str());
        match ledger::record(&db, &event, now).await {
            Ok(_) => {
                message.ack();
                log.push(Queued { message, read }.entry(Outcome::DeadLettered));
            }
            Err(error) => {
                worker::console_error!(
                    "dead letter {} not audited: {error}",
                    envelope_id(envelope)
                );
                message.retry();
            }
        }
    }
    deliveries::write(&db, env, &log, now).await;
    Ok(())
}
