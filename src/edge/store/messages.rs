//! Outbound message receipts (`messages`), the provider calls made for each (`message_attempts`)
//! and the counters of messages dropped by a revocation (`outbound_drops`). A receipt never holds
//! the text.

use super::d1::{self, Arg};
use super::deliveries::Log;
use super::reach;
use crate::core::api_error::ApiError;
use crate::core::authority::Restriction;
use crate::core::json;
use crate::core::outbound::conversation::Receipt;
use crate::core::outbound::{Target, IDEMPOTENCY_SECONDS};
use serde_json::{json, Value};
use worker::{D1Database, D1PreparedStatement};

/// How long a receipt is kept, seconds.
const KEEP_SECONDS: u64 = 30 * 24 * 3600;

const COLUMNS: &str = "id, status, final, provider, org_id, agent_id, installation_id, \
                       binding_id, conversation_id, thread_id, provider_message_ids, attempts, \
                       failure_code, failure_reason, idempotency_key, created_by, created_at, \
                       updated_at";

/// A receipt to insert for a new message.
pub struct ReceiptRow<'a> {
    /// The message id.
    pub id: &'a str,
    /// Where it goes.
    pub target: &'a Target,
    /// Whether its text is final.
    pub is_final: bool,
    /// Its idempotency key, if any.
    pub idempotency_key: Option<&'a str>,
    /// The principal that sent it.
    pub created_by: &'a str,
}

/// What inserting a receipt found.
pub enum Inserted {
    /// A new message.
    New,
    /// The agent already sent a message with this idempotency key (in the last 24 hours): its
    /// receipt.
    Existing(Value),
}

/// Inserts `row`'s receipt at `now`, unless its agent sent one with the same idempotency key in
/// the last 24 hours (a key older than that is forgotten first).
pub async fn insert(db: &D1Database, row: &ReceiptRow<'_>, now: u64) -> Result<Inserted, ApiError> {
    let target = row.target;
    let mut statements = Vec::new();
    if let Some(key) = row.idempotency_key {
        statements.push(d1::statement(
            db,
            "UPDATE messages SET idempotency_key = NULL \
             WHERE agent_id = ?1 AND idempotency_key = ?2 AND created_at <= ?3",
            &[
                Arg::from(&target.agent_id),
                key.into(),
                now.saturating_sub(IDEMPOTENCY_SECONDS).into(),
            ],
        )?);
    }
    statements.push(d1::statement(
        db,
        "INSERT INTO messages (id, org_id, agent_id, installation_id, binding_id, provider, \
         conversation_id, thread_id, final, idempotency_key, created_by, created_at, updated_at, \
         expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?13) \
         ON CONFLICT DO NOTHING RETURNING id",
        &[
            row.id.into(),
            Arg::from(&target.org_id),
            Arg::from(&target.agent_id),
            Arg::from(&target.installation_id),
            Arg::from(&target.binding_id),
            target.provider.as_str().into(),
            Arg::from(&target.conversation_id),
            target.thread_id.as_deref().into(),
            i64::from(row.is_final).into(),
            row.idempotency_key.into(),
            row.created_by.into(),
            now.into(),
            now.saturating_add(KEEP_SECONDS).into(),
        ],
    )?);
    let results = db.batch(statements).await.map_err(d1::internal)?;
    let inserted = match results.last() {
        Some(result) => !result.results::<Value>().map_err(d1::internal)?.is_empty(),
        None => false,
    };
    if inserted {
        return Ok(Inserted::New);
    }
    let key = row.idempotency_key.unwrap_or_default();
    let sql =
        format!("SELECT {COLUMNS} FROM messages WHERE agent_id = ?1 AND idempotency_key = ?2");
    match d1::first::<Value>(db, &sql, &[Arg::from(&target.agent_id), key.into()]).await? {
        Some(existing) => Ok(Inserted::Existing(existing)),
        None => Err(d1::internal("message receipt neither inserted nor found")),
    }
}

/// The receipts as [`super::deliveries::page`] lists them (`GET /v1/messages`), newest first.
pub const LOG: Log = Log {
    table: "messages",
    columns: COLUMNS,
    cursor: "rowid",
    at: "created_at",
    only: "",
};

/// The statement that records one provider call made for message `id`: `op` (`send`, `edit`,
/// `delete`), the provider's status (0 without an answer), the outcome's code and the latency.
pub fn attempt(
    db: &D1Database,
    id: &str,
    (op, status, outcome): (&str, u16, &str),
    latency_ms: u64,
    now: u64,
) -> Result<D1PreparedStatement, ApiError> {
    d1::statement(
        db,
        "INSERT INTO message_attempts (message_id, at, op, status, outcome, latency_ms, \
         expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        &[
            id.into(),
            now.into(),
            op.into(),
            u64::from(status).into(),
            outcome.into(),
            latency_ms.into(),
            now.saturating_add(KEEP_SECONDS).into(),
        ],
    )
}

/// The provider calls made for message `id`, oldest first.
pub async fn attempts_of(db: &D1Database, id: &str) -> Result<Vec<Value>, ApiError> {
    d1::rows(
        db,
        "SELECT at, op, status, outcome, latency_ms FROM message_attempts \
         WHERE message_id = ?1 ORDER BY at, rowid",
        &[id.into()],
    )
    .await
}

/// Receipt `id` within `restriction` (its org and agent), if any.
pub async fn get(
    db: &D1Database,
    restriction: &Restriction,
    id: &str,
) -> Result<Option<Value>, ApiError> {
    let mut args: Vec<Arg> = vec![id.into()];
    let reach = reach::owned("org_id", Some("agent_id"), restriction, &mut args);
    let sql = format!("SELECT {COLUMNS} FROM messages WHERE id = ?1{reach}");
    d1::first(db, &sql, &args).await
}

/// Records `receipt` (status, provider ids, attempts, failure) at `now`.
pub async fn update(db: &D1Database, receipt: &Receipt, now: u64) -> Result<(), ApiError> {
    let failure = receipt.failure.as_ref();
    d1::statement(
        db,
        "UPDATE messages SET status = ?2, final = ?3, provider_message_ids = ?4, attempts = ?5, \
         failure_code = ?6, failure_reason = ?7, updated_at = ?8 WHERE id = ?1",
        &[
            Arg::from(&receipt.id),
            receipt.status.as_str().into(),
            i64::from(receipt.is_final).into(),
            json!(receipt.provider_ids).to_string().into(),
            u64::from(receipt.attempts).into(),
            failure.map(|f| f.code.as_str()).into(),
            failure.map(|f| f.reason.as_str()).into(),
            now.into(),
        ],
    )?
    .run()
    .await
    .map(|_| ())
    .map_err(d1::internal)
}

/// Counts `count` messages dropped because `target` (`installation:<id>`, `binding:<id>`) was
/// revoked; true for the first count of that revocation (which gets the ledger entry).
pub async fn count_drops(
    db: &D1Database,
    target: &str,
    count: u64,
    now: u64,
) -> Result<bool, ApiError> {
    let row: Option<Value> = d1::first(
        db,
        "INSERT INTO outbound_drops (target, count, first_at, expires_at) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (target) DO UPDATE SET count = count + ?2 RETURNING count",
        &[
            target.into(),
            count.into(),
            now.into(),
            now.saturating_add(KEEP_SECONDS).into(),
        ],
    )
    .await?;
    Ok(row.is_some_and(|row| json::at(&row, "/count").as_u64() == Some(count)))
}
