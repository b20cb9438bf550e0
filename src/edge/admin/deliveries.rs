//! `/v1/deliveries`, `/v1/dead-letters` and `/v1/metrics`: the delivery log, sending an
//! envelope again, and the counters ([`crate::core::delivery_log`], [`crate::core::metrics`]).
//!
//! Re-drive and replay queue the kept envelope (opened here) with its own envelope id and no
//! dedupe keys ([`crate::core::queue_message::again_message`]); the queue consumer checks that
//! its installation and binding are still live, as for every delivery. Each is audited.

use super::{Call, Reply};
use crate::core::api_error::ApiError;
use crate::core::authority;
use crate::core::delivery_log::{check_resend, LogQuery, Status};
use crate::core::json;
use crate::core::metrics;
use crate::core::queue_message::{again_message, Again};
use crate::edge::ingress::inbound_queue::InboundQueue;
use crate::edge::store::{self, deliveries, ledger};
use serde_json::{json, Value};

/// The most dead letters one bulk re-drive sends.
pub const MAX_BULK_REDRIVE: u32 = 100;

/// `GET /v1/deliveries`: newest first, filtered, within the caller's reach.
pub async fn list(call: &Call<'_>) -> Result<Reply, ApiError> {
    let query = LogQuery::parse(LogQuery::DELIVERIES, call.query_pairs())?;
    page(call, &query).await
}

/// `GET /v1/dead-letters`: the dead-lettered deliveries.
pub async fn dead_letters(call: &Call<'_>) -> Result<Reply, ApiError> {
    let query = LogQuery::parse(LogQuery::DELIVERIES, call.query_pairs())?.dead_letters()?;
    page(call, &query).await
}

async fn page(call: &Call<'_>, query: &LogQuery) -> Result<Reply, ApiError> {
    let rows = deliveries::page(
        call.db,
        &deliveries::LOG,
        query,
        &call.caller.restriction,
        call.now,
    )
    .await?;
    let (rows, next_cursor) = store::page(rows, query.limit, |row| {
        row["seq"].as_u64().map(|seq| seq.to_string())
    });
    let items: Vec<Value> = rows.into_iter().map(present).collect();
    Ok((200, json!({ "items": items, "next_cursor": next_cursor })))
}

/// `GET /v1/deliveries/{envelope_id}`: the delivery with its attempts.
pub async fn get(call: &Call<'_>, envelope_id: &str) -> Result<Reply, ApiError> {
    let (row, attempts) = found(call, envelope_id).await?;
    let mut view = present(row);
    json::set(&mut view, "attempts_log", Value::Array(attempts));
    Ok((200, view))
}

/// `POST /v1/dead-letters/{envelope_id}/redrive`.
pub async fn redrive(call: &Call<'_>, envelope_id: &str) -> Result<Reply, ApiError> {
    send_again(call, envelope_id, Again::Redrive).await
}

/// `POST /v1/deliveries/{envelope_id}/replay`.
pub async fn replay(call: &Call<'_>, envelope_id: &str) -> Result<Reply, ApiError> {
    send_again(call, envelope_id, Again::Replay).await
}

/// `POST /v1/dead-letters/redrive`: re-drives the dead letters the list's filters select whose
/// content is still kept, at most `limit` (default and at most [`MAX_BULK_REDRIVE`]) of them,
/// oldest first within the page; `remaining` says whether more match.
pub async fn redrive_all(call: &Call<'_>) -> Result<Reply, ApiError> {
    let mut query = LogQuery::parse(LogQuery::DELIVERIES, call.query_pairs())?.dead_letters()?;
    let given_limit = call.query_pairs().any(|(name, _)| name == "limit");
    if query.cursor.is_some() || query.limit > MAX_BULK_REDRIVE {
        return Err(ApiError::BadRequest {
            message: format!(
                "a bulk re-drive takes no cursor and a limit of at most {MAX_BULK_REDRIVE}: \
                 call again while `remaining` is true"
            ),
        });
    }
    if !given_limit {
        query.limit = MAX_BULK_REDRIVE;
    }
    let rows = deliveries::page(
        call.db,
        &deliveries::RESENDABLE,
        &query,
        &call.caller.restriction,
        call.now,
    )
    .await?;
    let (rows, more) = store::page(rows, query.limit, |_| Some(String::new()));
    let mut redriven = Vec::new();
    let mut skipped = Vec::new();
    let inbound = InboundQueue::new(call.env);
    for row in rows.iter().rev() {
        let id = json::field(row, "envelope_id");
        match requeue(call, &inbound, id, Again::Redrive).await {
            Ok(()) => redriven.push(id.to_owned()),
            Err(error) => skipped.push(json!({ "envelope_id": id, "reason": error.to_string() })),
        }
    }
    let event = call
        .event("delivery.redriven", "dead-letters")
        .with_detail(json!({ "count": redriven.len(), "envelope_ids": redriven }))
        .for_org(single_org(&rows).as_deref());
    ledger::record(call.db, &event, call.now).await?;
    Ok((
        200,
        json!({ "redriven": redriven, "skipped": skipped, "remaining": more.is_some() }),
    ))
}

/// `GET /v1/metrics`: the Prometheus text exposition of every counter (a text reply). The
/// counters span every org, so only an unrestricted principal reads them.
pub async fn metrics(call: &Call<'_>) -> Result<Reply, ApiError> {
    authority::require_unrestricted(&call.caller, "reading metrics")?;
    let rows = store::metrics::all(call.db).await?;
    Ok((200, Value::String(metrics::render(&rows))))
}

/// Checks, queues and audits one envelope sent again.
async fn send_again(call: &Call<'_>, envelope_id: &str, again: Again) -> Result<Reply, ApiError> {
    let (row, _) = found(call, envelope_id).await?;
    let status = json::at(&row, "/status").as_str().unwrap_or_default();
    let kept = json::at(&row, "/content_kept").as_u64() == Some(1);
    check_resend(status, kept, again)?;
    requeue(call, &InboundQueue::new(call.env), envelope_id, again).await?;
    let action = match again {
        Again::Redrive => "delivery.redriven",
        Again::Replay => "delivery.replayed",
    };
    let event = call
        .event(action, envelope_id)
        .for_org(json::at(&row, "/org_id").as_str());
    ledger::record(call.db, &event, call.now).await?;
    let mut view = present(row);
    json::set(&mut view, "status", "queued");
    json::set(&mut view, "updated_at", call.now);
    Ok((202, view))
}

/// Claims the envelope ([`deliveries::claim_kept`]: 409 when another call took it first or it
/// changed), queues it again, and gives the claim back when the queue refuses (503).
async fn requeue(
    call: &Call<'_>,
    inbound: &InboundQueue,
    envelope_id: &str,
    again: Again,
) -> Result<(), ApiError> {
    let from = match again {
        Again::Redrive => Status::DeadLettered,
        Again::Replay => Status::Delivered,
    };
    let envelope = deliveries::claim_kept(call.db, call.env, envelope_id, from, call.now)
        .await?
        .ok_or(ApiError::Conflict {
            message: format!("{envelope_id} is no longer {}", from.as_str()),
        })?;
    let sent = inbound.send_json(&again_message(&envelope, again), 0).await;
    if let Err(error) = sent {
        worker::console_error!("{envelope_id} not queued again: {error}");
        deliveries::release(call.db, envelope_id, from, call.now).await;
        return Err(ApiError::Unavailable {
            retry_after_seconds: 5,
        });
    }
    Ok(())
}

/// The delivery `envelope_id` within the caller's reach (404 otherwise, as for anything out of
/// reach).
async fn found(call: &Call<'_>, envelope_id: &str) -> Result<(Value, Vec<Value>), ApiError> {
    deliveries::get(call.db, envelope_id, &call.caller.restriction, call.now)
        .await?
        .ok_or_else(|| ApiError::NoSuch {
            what: "delivery",
            id: envelope_id.to_owned(),
        })
}

/// The org all `rows` belong to, if they belong to one (the audit entry's org).
fn single_org(rows: &[Value]) -> Option<String> {
    let first = rows.first()?["org_id"].as_str()?;
    rows.iter()
        .all(|row| row["org_id"].as_str() == Some(first))
        .then(|| first.to_owned())
}

/// A row as the API shows it: `content_kept` as a boolean, without the cursor column.
fn present(mut row: Value) -> Value {
    if let Some(object) = row.as_object_mut() {
        object.remove("seq");
        let kept = object.get("content_kept").and_then(Value::as_u64) == Some(1);
        object.insert("content_kept".into(), Value::Bool(kept));
        if !kept {
            object.insert("content_expires_at".into(), Value::Null);
        }
    }
    row
}
