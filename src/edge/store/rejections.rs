//! Counting rejected webhooks, dropped events and duplicates without letting a flood of them
//! become a flood of writes.
//!
//! Each rejection or drop on the webhook path is added to the isolate's [`Tally`] in memory: no
//! D1 work on the request. The first
//! count after a flush schedules the next one, [`FLUSH_SECONDS`] later, on that request's
//! `wait_until` (so it runs without waiting for another request): one D1 batch of upserts into
//! `webhook_rejections` (one counter per source, reason and minute) for everything counted
//! meanwhile, then a `webhook.rejected` audit entry for each rejection or drop that is its
//! minute's first, pointing at the counter. Duplicates, which the queue consumer finds, are
//! written at the end of its batch ([`count_duplicates`]) and only counted. A request to an unknown
//! or malformed id is counted under its provider and client address alone, so random ids cannot
//! make one ledger entry each (one per client address and minute at most, and at most
//! [`AUDITS_PER_FLUSH`] entries a flush: the counters hold everything). An isolate evicted
//! between two flushes loses at most [`FLUSH_SECONDS`] of counts (and the audit entries they
//! would have made); a flush cut short loses what it had taken.

use crate::core::audit::Event;
use crate::core::json;
use crate::core::metrics::Metric;
use crate::core::tally::{Count, Tally, FLUSH_SECONDS};
use crate::core::tenancy::Provider;
use crate::edge::runtime;
use crate::edge::store::{d1, ledger, metrics};
use serde_json::{json, Value};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::time::Duration;
use worker::{Context, D1Database, Delay, Env};

/// How long counters are kept.
const KEEP_SECONDS: u64 = 30 * 24 * 3600;

/// The most upserts in one D1 batch.
const STATEMENTS_PER_BATCH: usize = 100;

/// The most `webhook.rejected` entries one flush appends (each is a ledger append of its own).
const AUDITS_PER_FLUSH: usize = 20;

/// A flush scheduled longer ago than this never ran (its request was cut short): schedule another.
const STALE_FLUSH_MS: u64 = 10 * FLUSH_SECONDS * 1000;

thread_local! {
    /// What this isolate counted since its last flush.
    static WAITING: RefCell<Tally> = RefCell::default();
    /// When the scheduled flush was scheduled (Unix ms; 0: none is).
    static FLUSH_SCHEDULED_AT: Cell<u64> = const { Cell::new(0) };
}

/// Whether a count also goes to the audit ledger (the first of each minute).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audit {
    /// Rejections and dropped events.
    FirstPerMinute,
    /// Counted only.
    Never,
}

/// Counts `count` requests or events of `reason` from `source`, towards `metric` (written at
/// the next flush).
pub fn record_later(
    ctx: &Context,
    env: &Env,
    provider: Provider,
    source: String,
    (metric, reason, count): (Metric, &'static str, u64),
    audit: Audit,
    now: u64,
) {
    let key = Count {
        provider,
        source,
        reason,
        minute: now / 60,
        audited: audit == Audit::FirstPerMinute,
        metric,
    };
    WAITING.with(|tally| tally.borrow_mut().add(key, count));
    schedule_flush(ctx, env);
}

/// Writes the counts of the duplicates a queue batch dropped, by provider and installation
/// (source `provider:installation`), at once: one D1 batch at the end of the consumer's batch (a
/// flush delayed on the consumer's `wait_until` would hold up the queue's next batch). Counted
/// only, never audited.
pub async fn count_duplicates(
    db: &D1Database,
    env: &Env,
    counts: BTreeMap<(Provider, String), u64>,
    now: u64,
) {
    let counts: Vec<(Count, u64)> = counts
        .into_iter()
        .map(|((provider, installation), n)| {
            let count = Count {
                provider,
                source: format!("{}:{installation}", provider.as_str()),
                reason: "duplicate",
                minute: now / 60,
                audited: false,
                metric: Metric::Duplicates,
            };
            (count, n)
        })
        .collect();
    if let Err(error) = write(db, env, &counts, now).await {
        worker::console_error!("{} duplicate counts not written: {error}", counts.len());
    }
}

/// Schedules a flush [`FLUSH_SECONDS`] from now on this request, unless one is scheduled (one
/// scheduled more than [`STALE_FLUSH_MS`] ago counts as lost, say with a request cut short, and
/// another is scheduled).
fn schedule_flush(ctx: &Context, env: &Env) {
    let now = runtime::now_millis();
    let scheduled_at = FLUSH_SCHEDULED_AT.with(Cell::get);
    if scheduled_at != 0 && now.saturating_sub(scheduled_at) < STALE_FLUSH_MS {
        return;
    }
    let Ok(db) = env.d1("DB") else {
        return worker::console_error!("webhook counts not written: no DB binding");
    };
    FLUSH_SCHEDULED_AT.with(|at| at.set(now));
    let env = env.clone();
    ctx.wait_until(async move {
        Delay::from(Duration::from_secs(FLUSH_SECONDS)).await;
        FLUSH_SCHEDULED_AT.with(|at| at.set(0));
        let counts = WAITING.with(|tally| tally.borrow_mut().take());
        if let Err(error) = write(&db, &env, &counts, runtime::now_seconds()).await {
            worker::console_error!("{} webhook counts not written: {error}", counts.len());
        }
    });
}

/// Upserts `counts` (one D1 batch per [`STATEMENTS_PER_BATCH`]) and adds them to the metrics,
/// then audits each audited count that was its minute's first, at most [`AUDITS_PER_FLUSH`] of
/// them (the counters keep the rest). A batch or an entry that fails is logged and the others
/// still go.
async fn write(
    db: &D1Database,
    env: &Env,
    counts: &[(Count, u64)],
    now: u64,
) -> Result<(), String> {
    let increments = counts
        .iter()
        .map(|(count, n)| count.increment(*n))
        .collect();
    metrics::add_all(db, env, increments, Vec::new()).await;
    let mut firsts = Vec::new();
    let mut failed = 0;
    for chunk in counts.chunks(STATEMENTS_PER_BATCH) {
        match upsert_all(db, chunk, now).await {
            Ok(totals) => firsts.extend(
                chunk
                    .iter()
                    .zip(totals)
                    .filter(|((count, n), total)| count.audited && *total == Some(*n))
                    .map(|((count, _), _)| count),
            ),
            Err(error) => {
                failed += chunk.len();
                worker::console_error!("{} webhook counts not written: {error}", chunk.len());
            }
        }
    }
    if firsts.len() > AUDITS_PER_FLUSH {
        worker::console_error!(
            "{} sources were rejected for the first time this minute; {AUDITS_PER_FLUSH} are \
             audited, the counters hold all",
            firsts.len()
        );
    }
    for count in firsts.into_iter().take(AUDITS_PER_FLUSH) {
        if let Err(error) = audit(db, count, now).await {
            worker::console_error!("webhook.rejected not audited: {error}");
        }
    }
    match failed {
        0 => Ok(()),
        _ => Err(format!(
            "{failed} of {} counts were not written",
            counts.len()
        )),
    }
}

/// One D1 batch of upserts: each counter's total afterwards.
async fn upsert_all(
    db: &D1Database,
    chunk: &[(Count, u64)],
    now: u64,
) -> Result<Vec<Option<u64>>, String> {
    let statements = chunk
        .iter()
        .map(|(count, n)| upsert(db, count, *n, now))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let results = db.batch(statements).await.map_err(|e| e.to_string())?;
    results
        .iter()
        .map(|result| {
            let totals: Vec<Value> = result.results().map_err(|e| e.to_string())?;
            Ok(totals
                .first()
                .and_then(|row| json::at(row, "/count").as_u64()))
        })
        .collect()
}

fn upsert(
    db: &D1Database,
    count: &Count,
    n: u64,
    now: u64,
) -> Result<worker::D1PreparedStatement, crate::core::api_error::ApiError> {
    d1::statement(
        db,
        "INSERT INTO webhook_rejections (source, reason, minute, count, expires_at) \
         VALUES (?1, ?2, ?3, ?5, ?4) \
         ON CONFLICT (source, reason, minute) DO UPDATE SET count = count + ?5 RETURNING count",
        &[
            count.source.as_str().into(),
            count.reason.into(),
            count.minute.into(),
            (now + KEEP_SECONDS).into(),
            n.into(),
        ],
    )
}

/// The `webhook.rejected` entry of a minute's first rejection from a source.
async fn audit(db: &D1Database, count: &Count, now: u64) -> Result<(), String> {
    let event = Event::new(
        format!("provider:{}", count.provider.as_str()),
        "webhook.rejected",
        &count.source,
    )
    .with_detail(json!({ "reason": count.reason, "minute": count.minute }));
    ledger::record(db, &event, now)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}
