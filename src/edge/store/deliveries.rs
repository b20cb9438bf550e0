//! The delivery log in D1 (`deliveries`, `delivery_attempts`): written once per queue batch by
//! the consumer ([`write`]), read by `/v1/deliveries` and `/v1/dead-letters`.
//!
//! Kept content (a dead letter's, a delivered envelope's while it may be replayed) is the
//! envelope's JSON sealed with the master key ring, bound to its row (`deliveries`, envelope id,
//! `envelope`), and opened only to send it again ([`kept`]).

use super::d1::{self, Arg};
use super::{metrics, reach, secrets};
use crate::core::api_error::ApiError;
use crate::core::authority::Restriction;
use crate::core::delivery_log::{Keep, LogQuery, Outcome, Retention, Status};
use crate::core::json;
use crate::core::metrics::{merge, Metric};
use crate::core::queue_message::Again;
use crate::core::seal::{KeyRing, SealContext};
use crate::core::tenancy::Provider;
use crate::edge::runtime;
use serde_json::Value;
use worker::{D1Database, D1PreparedStatement, Env};

/// What a queue batch did with one envelope.
pub struct Entry<'a> {
    /// The envelope.
    pub envelope: &'a Value,
    /// What happened.
    pub outcome: Outcome,
    /// Why it travelled again, if it did.
    pub again: Option<Again>,
    /// When the ingress accepted it (Unix ms), if known.
    pub accepted_ms: Option<u64>,
}

/// The retention the Worker vars set ([`Retention::from_vars`]); defaults, logged, when a var is
/// malformed.
pub fn retention(env: &Env) -> Retention {
    let var = |name: &str| env.var(name).ok().map(|value| value.to_string());
    Retention::from_vars(var).unwrap_or_else(|error| {
        worker::console_error!("{error}; using the default retention");
        Retention::default()
    })
}

/// Records `entries` and what they add to the metrics: one D1 batch. A failure is logged (the
/// log and metrics miss this batch; the deliveries themselves stand).
pub async fn write(db: &D1Database, env: &Env, entries: &[Entry<'_>], now: u64) {
    if entries.is_empty() {
        return;
    }
    let now_ms = runtime::now_millis();
    let retention = retention(env);
    let ring = secrets::key_ring(env).ok();
    let mut statements = Vec::with_capacity(entries.len() * 3 + 8);
    let mut increments = Vec::new();
    for entry in entries {
        let Ok(provider) = Provider::parse(json::field(entry.envelope, "provider")) else {
            continue;
        };
        let latency = entry.accepted_ms.map(|at| now_ms.saturating_sub(at));
        increments.extend(entry.outcome.increments(provider, entry.again, latency));
        let content = content(ring.as_ref(), entry, &retention, now);
        match statements_of(db, entry, provider, content, &retention, now) {
            Ok(mine) => statements.extend(mine),
            Err(error) => return worker::console_error!("delivery log not written: {error}"),
        }
    }
    let increments = merge(increments);
    for increment in &increments {
        match metrics::add(db, increment) {
            Ok(statement) => statements.push(statement),
            Err(error) => return worker::console_error!("metrics not written: {error}"),
        }
    }
    if let Err(error) = d1::batch(db, statements).await {
        worker::console_error!(
            "delivery log of {} envelopes not written: {error}",
            entries.len()
        );
    }
    metrics::to_analytics(env, &increments);
}

/// What an entry writes to the content columns: `None` leaves them as they are; otherwise the
/// sealed envelope and until when it is kept, or `(None, None)` to delete what is kept.
type Content = Option<(Option<String>, Option<u64>)>;

/// The kept content of `entry` ([`Outcome::keep`]), sealed.
fn content(ring: Option<&KeyRing>, entry: &Entry<'_>, retention: &Retention, now: u64) -> Content {
    let seconds = match entry.outcome.keep(retention) {
        Keep::Unchanged => return None,
        Keep::Clear => return Some((None, None)),
        Keep::For(seconds) => seconds,
    };
    let (Some(ring), Ok(nonce)) = (ring, runtime::random_bytes()) else {
        worker::console_error!("MASTER_KEYS unavailable: envelope content not kept");
        return Some((None, None));
    };
    let id = json::field(entry.envelope, "id");
    let json = entry.envelope.to_string();
    match ring.seal(json.as_bytes(), &context(id), nonce) {
        Ok(sealed) => Some((Some(sealed), Some(now + seconds))),
        Err(_) => Some((None, None)),
    }
}

/// Where a kept envelope belongs: its row, for the envelope.
fn context(envelope_id: &str) -> SealContext<'_> {
    SealContext {
        table: "deliveries",
        row_id: envelope_id,
        purpose: "envelope",
    }
}

/// The statements of one entry: its acceptance (the first time the log sees it), its row, and
/// its attempt. A provider's retry shares its original's envelope id, and is held or dropped
/// before the dedupe finds it a duplicate: such an outcome never overwrites a row that has
/// settled (delivered, dead-lettered or dropped).
fn statements_of(
    db: &D1Database,
    entry: &Entry<'_>,
    provider: Provider,
    content: Content,
    retention: &Retention,
    now: u64,
) -> Result<Vec<D1PreparedStatement>, ApiError> {
    let envelope = entry.envelope;
    let id = json::field(envelope, "id");
    let mut statements = Vec::with_capacity(3);
    if entry.again.is_none() {
        statements.push(d1::statement(
            db,
            "INSERT INTO metrics (name, provider, label, value) SELECT ?1, ?2, '', 1 \
             WHERE NOT EXISTS (SELECT 1 FROM deliveries WHERE envelope_id = ?3) \
             ON CONFLICT (name, provider, label) DO UPDATE SET value = value + excluded.value",
            &[
                Metric::Accepted.name().into(),
                provider.as_str().into(),
                id.into(),
            ],
        )?);
    }
    let outcome = entry.outcome;
    let attempt = outcome.attempt();
    let leave_content = content.is_none();
    let (content, content_expires_at) = content.unwrap_or_default();
    let delivered_at = (outcome.status() == Status::Delivered).then_some(now);
    let args: Vec<Arg> = vec![
        id.into(),
        json::field(envelope, "org_id").into(),
        provider.as_str().into(),
        json::field(envelope, "installation_id").into(),
        json::field(envelope, "binding_id").into(),
        json::field(envelope, "agent_id").into(),
        json::field(envelope, "provider_event_id").into(),
        outcome.status().as_str().into(),
        envelope["received_at"].as_u64().unwrap_or(now).into(),
        now.into(),
        u64::from(attempt.is_some()).into(),
        delivered_at.into(),
        attempt.map(|(status, _, _)| u64::from(status)).into(),
        outcome.reason().into(),
        content.into(),
        content_expires_at.into(),
        // The row outlives its kept content.
        (now + retention.log_seconds)
            .max(content_expires_at.unwrap_or_default())
            .into(),
        u64::from(leave_content).into(),
    ];
    statements.push(d1::statement(
        db,
        "INSERT INTO deliveries (envelope_id, org_id, provider, installation_id, binding_id, \
         agent_id, provider_event_id, status, accepted_at, updated_at, attempts, delivered_at, \
         last_status, last_reason, content, content_expires_at, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17) \
         ON CONFLICT (envelope_id) DO UPDATE SET status = ?8, updated_at = ?10, \
         attempts = attempts + ?11, delivered_at = COALESCE(?12, delivered_at), \
         last_status = COALESCE(?13, last_status), \
         last_reason = CASE WHEN ?11 = 1 OR ?14 IS NOT NULL THEN ?14 ELSE last_reason END, \
         content = CASE ?18 WHEN 1 THEN content ELSE ?15 END, \
         content_expires_at = CASE ?18 WHEN 1 THEN content_expires_at ELSE ?16 END, \
         expires_at = MAX(?17, COALESCE(CASE ?18 WHEN 1 THEN content_expires_at END, 0)) \
         WHERE NOT (?8 IN ('held', 'dropped') \
                    AND status IN ('delivered', 'dead_lettered', 'dropped'))",
        &args,
    )?);
    if let Some((status, reason, latency_ms)) = attempt {
        let kind = entry.again.map_or("delivery", Again::as_str);
        statements.push(d1::statement(
            db,
            "INSERT INTO delivery_attempts (envelope_id, at, kind, status, reason, latency_ms, \
             expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            &[
                id.into(),
                now.into(),
                kind.into(),
                u64::from(status).into(),
                reason.into(),
                latency_ms.into(),
                (now + retention.log_seconds).into(),
            ],
        )?);
    }
    Ok(statements)
}

/// The columns a list or a read shows (never the content).
const COLUMNS: &str = "envelope_id, org_id, provider, installation_id, binding_id, \
    agent_id, provider_event_id, status, accepted_at, updated_at, attempts, delivered_at, \
    last_status, last_reason, content IS NOT NULL AND content_expires_at > ?1 AS content_kept, \
    content_expires_at";

/// The delivery log as [`page`] reads it.
pub const LOG: Log = Log {
    table: "deliveries",
    columns: COLUMNS,
    cursor: "seq",
    at: "accepted_at",
    only: "",
};

/// The deliveries that can be sent again: those whose content is still kept (a bulk re-drive
/// reads these, so a dead letter whose content is gone never fills its pages).
pub const RESENDABLE: Log = Log {
    only: " AND content IS NOT NULL AND content_expires_at > ?1",
    ..LOG
};

/// A log [`page`] reads: its table, the columns shown (`?1` is now), the cursor column (shown
/// as `seq`), the time `since` and `until` compare, and a condition every row meets.
pub struct Log {
    /// The table.
    pub table: &'static str,
    /// The columns shown.
    pub columns: &'static str,
    /// The column that orders it, newest last.
    pub cursor: &'static str,
    /// The time column.
    pub at: &'static str,
    /// SQL appended to the `WHERE` (`""` for none; `?1` is now).
    pub only: &'static str,
}

/// One page of `log`'s rows (`limit + 1`, so the caller knows whether there is more), newest
/// first, within the caller's reach (each log has `org_id` and `agent_id` columns).
pub async fn page(
    db: &D1Database,
    log: &Log,
    query: &LogQuery,
    restriction: &Restriction,
    now: u64,
) -> Result<Vec<Value>, ApiError> {
    let mut args: Vec<Arg> = vec![now.into(), u64::from(query.limit + 1).into()];
    let mut conditions = String::new();
    let mut condition = |sql: &str, arg: Arg, args: &mut Vec<Arg>| {
        args.push(arg);
        conditions.push_str(&format!(" AND {sql} ?{}", args.len()));
    };
    if let Some(cursor) = query.cursor {
        condition(&format!("{} <", log.cursor), cursor.into(), &mut args);
    }
    for (column, value) in &query.equals {
        // `column` is one of the fixed names of the log's filters (LogQuery).
        condition(&format!("{column} ="), value.into(), &mut args);
    }
    if let Some(since) = query.since {
        condition(&format!("{} >=", log.at), since.into(), &mut args);
    }
    if let Some(until) = query.until {
        condition(&format!("{} <", log.at), until.into(), &mut args);
    }
    conditions.push_str(&reach::owned(
        "org_id",
        Some("agent_id"),
        restriction,
        &mut args,
    ));
    let sql = format!(
        "SELECT {}, {} AS seq FROM {} WHERE 1 = 1{}{conditions} ORDER BY {} DESC LIMIT ?2",
        log.columns, log.cursor, log.table, log.only, log.cursor
    );
    d1::rows(db, &sql, &args).await
}

/// The row of `envelope_id` within the caller's reach, with its attempts (oldest first).
pub async fn get(
    db: &D1Database,
    envelope_id: &str,
    restriction: &Restriction,
    now: u64,
) -> Result<Option<(Value, Vec<Value>)>, ApiError> {
    let mut args: Vec<Arg> = vec![now.into(), envelope_id.into()];
    let reach = reach::owned("org_id", Some("agent_id"), restriction, &mut args);
    let sql = format!("SELECT {COLUMNS} FROM deliveries WHERE envelope_id = ?2{reach}");
    let Some(row) = d1::first::<Value>(db, &sql, &args).await? else {
        return Ok(None);
    };
    let attempts = d1::rows(
        db,
        "SELECT at, kind, status, reason, latency_ms FROM delivery_attempts \
         WHERE envelope_id = ?1 ORDER BY at, rowid",
        &[envelope_id.into()],
    )
    .await?;
    Ok(Some((row, attempts)))
}

/// Claims `envelope_id` to be sent again: marks it `queued` only if it is still `from` (a
/// status) with content kept past `now`, in one statement, and returns that content (the
/// envelope's JSON), opened. `None` when another caller claimed it first, its status changed, or
/// nothing is kept: so two re-drives of one dead letter never queue it twice.
pub async fn claim_kept(
    db: &D1Database,
    env: &Env,
    envelope_id: &str,
    from: Status,
    now: u64,
) -> Result<Option<String>, ApiError> {
    let row: Option<Value> = d1::first(
        db,
        "UPDATE deliveries SET status = 'queued', updated_at = ?3 \
         WHERE envelope_id = ?1 AND status = ?2 AND content IS NOT NULL \
         AND content_expires_at > ?3 RETURNING content",
        &[envelope_id.into(), from.as_str().into(), now.into()],
    )
    .await?;
    let Some(sealed) = row.as_ref().and_then(|row| json::text(row, "/content")) else {
        return Ok(None);
    };
    let opened = secrets::key_ring(env).and_then(|ring| {
        ring.open(sealed, &context(envelope_id))
            .and_then(|opened| opened.into_string())
            .map_err(|error| d1::internal(format!("kept envelope {envelope_id}: {error}")))
    });
    if opened.is_err() {
        release(db, envelope_id, from, now).await;
    }
    opened.map(Some)
}

/// Gives back a claim that could not be queued: `envelope_id` is `from` again (a failure is
/// logged).
pub async fn release(db: &D1Database, envelope_id: &str, from: Status, now: u64) {
    let statement = d1::statement(
        db,
        "UPDATE deliveries SET status = ?2, updated_at = ?3 \
         WHERE envelope_id = ?1 AND status = 'queued'",
        &[envelope_id.into(), from.as_str().into(), now.into()],
    );
    let outcome = match statement {
        Ok(statement) => statement.run().await.map(|_| ()).map_err(|e| e.to_string()),
        Err(error) => Err(error.to_string()),
    };
    if let Err(error) = outcome {
        worker::console_error!("{envelope_id} stays queued although it was not sent: {error}");
    }
}
