//! Auditing rejected webhooks without letting a flood of them become a flood of writes.
//!
//! One counter per source, reason and minute (`webhook_rejections`): each rejection is one
//! upsert; only the first of each minute also appends to the audit ledger, whose entry points at
//! the counter. The work runs after the response (`wait_until`), never before the answer.

use crate::core::audit::Event;
use crate::core::tenancy::Provider;
use crate::edge::{d1, ledger};
use serde_json::json;
use worker::{Context, Env};

/// How long counters are kept.
const KEEP_SECONDS: u64 = 30 * 24 * 3600;

/// Records a rejection of `reason` from `source` once the response has gone.
pub fn record_later(
    ctx: &Context,
    env: &Env,
    provider: Provider,
    source: String,
    reason: &'static str,
    now: u64,
) {
    let Ok(db) = env.d1("DB") else {
        return worker::console_error!("webhook rejection not audited: no DB binding");
    };
    ctx.wait_until(async move {
        if let Err(error) = record(&db, provider, &source, reason, now).await {
            worker::console_error!("webhook rejection not audited: {error}");
        }
    });
}

async fn record(
    db: &worker::D1Database,
    provider: Provider,
    source: &str,
    reason: &str,
    now: u64,
) -> Result<(), crate::core::api_error::ApiError> {
    let minute = now / 60;
    let row: Option<serde_json::Value> = d1::first(
        db,
        "INSERT INTO webhook_rejections (source, reason, minute, count, expires_at) \
         VALUES (?1, ?2, ?3, 1, ?4) \
         ON CONFLICT (source, reason, minute) DO UPDATE SET count = count + 1 RETURNING count",
        &[
            source.into(),
            reason.into(),
            minute.into(),
            (now + KEEP_SECONDS).into(),
        ],
    )
    .await?;
    let first_this_minute = row.is_some_and(|row| row["count"] == 1);
    if first_this_minute {
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
