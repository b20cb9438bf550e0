//! Counting rejected webhooks and dropped events without letting a flood of them become a flood
//! of writes.
//!
//! One counter per source, reason and minute (`webhook_rejections`): each request is one upsert;
//! for rejections and dropped events only the first of each minute also appends to the audit
//! ledger, whose entry points at the counter; duplicates are only counted. A request to an
//! unknown or malformed id is counted under its provider and client address alone, so random ids
//! cannot make one ledger entry each. The work runs after the response (`wait_until`), never
//! before the answer.

use crate::core::audit::Event;
use crate::core::json;
use crate::core::tenancy::Provider;
use crate::edge::store::{d1, ledger};
use serde_json::json;
use worker::{Context, Env};

/// How long counters are kept.
const KEEP_SECONDS: u64 = 30 * 24 * 3600;

/// Whether a count also goes to the audit ledger (the first of each minute).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audit {
    /// Rejections and dropped events.
    FirstPerMinute,
    /// Duplicates: counted only.
    Never,
}

/// Counts `count` requests or events of `reason` from `source` once the response has gone.
pub fn record_later(
    ctx: &Context,
    env: &Env,
    provider: Provider,
    source: String,
    (reason, count): (&'static str, u64),
    audit: Audit,
    now: u64,
) {
    let Ok(db) = env.d1("DB") else {
        return worker::console_error!("webhook {reason} not counted: no DB binding");
    };
    ctx.wait_until(async move {
        if let Err(error) = record(&db, provider, &source, (reason, count), audit, now).await {
            worker::console_error!("webhook {reason} not counted: {error}");
        }
    });
}

/// Counts, once the batch is done, the duplicates the queue consumer dropped: `counts` by source
/// (`provider:installation`). Counted only, never audited.
pub fn count_duplicates_later(
    ctx: &Context,
    env: &Env,
    counts: std::collections::BTreeMap<String, u64>,
    now: u64,
) {
    if counts.is_empty() {
        return;
    }
    let Ok(db) = env.d1("DB") else {
        return worker::console_error!("duplicates not counted: no DB binding");
    };
    ctx.wait_until(async move {
        for (source, count) in counts {
            let provider = source
                .split(':')
                .next()
                .and_then(|name| Provider::parse(name).ok());
            let Some(provider) = provider else { continue };
            let counted = record(
                &db,
                provider,
                &source,
                ("duplicate", count),
                Audit::Never,
                now,
            );
            if let Err(error) = counted.await {
                worker::console_error!("duplicates not counted: {error}");
            }
        }
    });
}

async fn record(
    db: &worker::D1Database,
    provider: Provider,
    source: &str,
    (reason, count): (&str, u64),
    audit: Audit,
    now: u64,
) -> Result<(), crate::core::api_error::ApiError> {
    let minute = now / 60;
    let row: Option<serde_json::Value> = d1::first(
        db,
        "INSERT INTO webhook_rejections (source, reason, minute, count, expires_at) \
         VALUES (?1, ?2, ?3, ?5, ?4) \
         ON CONFLICT (source, reason, minute) DO UPDATE SET count = count + ?5 RETURNING count",
        &[
            source.into(),
            reason.into(),
            minute.into(),
            (now + KEEP_SECONDS).into(),
            count.into(),
        ],
    )
    .await?;
    let first_this_minute = row.is_some_and(|row| json::at(&row, "/count").as_u64() == Some(count));
    if first_this_minute && audit == Audit::FirstPerMinute {
        let event = Event::new(
            format!("provider:{}", provider.as_str()),
            "webhook.rejected",
            source,
        )
        .with_detail(json!({ "reason": reason, "minute": minute }));
        ledger::record(db, &event, now).await?;
    }
    Ok(())
}
