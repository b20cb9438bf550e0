//! Deleting rows whose time is up (the cron trigger's work).

use super::d1;
use worker::D1Database;

/// What is deleted (or forgotten), each with `?1` = now (Unix seconds). Claimed install tokens
/// stay: the identities they linked refer to them. Idempotency keys are forgotten after a day;
/// kept envelope content after its retention (the delivery log's row stays for its own).
const DELETIONS: &[&str] = &[
    "DELETE FROM dedupe_keys WHERE expires_at <= ?1",
    "DELETE FROM secrets WHERE expires_at <= ?1",
    "DELETE FROM webhook_rejections WHERE expires_at <= ?1",
    "DELETE FROM install_tokens WHERE expires_at <= ?1 AND claimed_at IS NULL",
    "DELETE FROM tenant_claims WHERE expires_at <= ?1",
    "DELETE FROM messages WHERE expires_at <= ?1",
    "DELETE FROM outbound_drops WHERE expires_at <= ?1",
    "DELETE FROM deliveries WHERE expires_at <= ?1",
    "DELETE FROM delivery_attempts WHERE expires_at <= ?1",
    "DELETE FROM message_attempts WHERE expires_at <= ?1",
    "UPDATE deliveries SET content = NULL, content_expires_at = NULL \
     WHERE content_expires_at <= ?1",
    "UPDATE messages SET idempotency_key = NULL \
     WHERE idempotency_key IS NOT NULL AND created_at <= ?1 - 86400",
];

/// Deletes every expired row at `now`; a deletion that fails is logged and the others still run.
pub async fn delete_expired(db: &D1Database, now: u64) {
    for sql in DELETIONS {
        let outcome = match d1::statement(db, sql, &[now.into()]) {
            Ok(statement) => statement.run().await.map(|_| ()).map_err(|e| e.to_string()),
            Err(error) => Err(error.to_string()),
        };
        if let Err(error) = outcome {
            worker::console_error!("housekeeping: {sql}: {error}");
        }
    }
}
