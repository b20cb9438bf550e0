//! Appending to the audit ledger, together with the change it records.
//!
//! [`commit`] reads the chain's head, builds the next entry with [`crate::core::audit`], and runs
//! the change's statements and the entry's insert in one D1 batch (one transaction). `seq` is the
//! primary key, so when another request appended first the batch fails as a whole, nothing of the
//! change lands, and it is retried on the new head: the chain never forks and no change goes
//! unrecorded.

use super::d1::{self, Arg};
use crate::core::api_error::ApiError;
use crate::core::audit::{next_entry, Entry, Event, Head};
use crate::core::tenancy::TenancyError;
use worker::{D1Database, D1PreparedStatement};

/// How often an append is retried after losing a race for the head.
const MAX_ATTEMPTS: usize = 20;

/// Applies the statements `change` builds and appends `event`, atomically.
pub async fn commit(
    db: &D1Database,
    event: &Event,
    now: u64,
    change: impl Fn() -> Result<Vec<D1PreparedStatement>, ApiError>,
) -> Result<Entry, ApiError> {
    for _ in 0..MAX_ATTEMPTS {
        let entry = next_entry(&head(db).await?, event, now);
        let mut statements = change()?;
        statements.push(insert(db, &entry)?);
        match d1::batch(db, statements).await {
            Ok(()) => return Ok(entry),
            Err(error) if d1::is_unique_violation(&error, "audit_log") => continue,
            Err(error) => return Err(change_error(error)),
        }
    }
    worker::console_error!("audit: gave up after {MAX_ATTEMPTS} contended appends");
    Err(ApiError::Internal)
}

/// Appends `event` alone.
pub async fn record(db: &D1Database, event: &Event, now: u64) -> Result<Entry, ApiError> {
    commit(db, event, now, || Ok(Vec::new())).await
}

async fn head(db: &D1Database) -> Result<Head, ApiError> {
    #[derive(serde::Deserialize)]
    struct Row {
        seq: u64,
        hash: String,
    }
    let row: Option<Row> = d1::first(
        db,
        "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
        &[],
    )
    .await?;
    Ok(row.map(|row| (row.seq, row.hash)))
}

fn insert(db: &D1Database, entry: &Entry) -> Result<D1PreparedStatement, ApiError> {
    d1::statement(
        db,
        "INSERT INTO audit_log (seq, at, actor, action, target, detail, prev_hash, hash, org_id) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        &[
            entry.seq.into(),
            entry.at.into(),
            Arg::from(&entry.actor),
            Arg::from(&entry.action),
            Arg::from(&entry.target),
            Arg::from(&entry.detail),
            Arg::from(&entry.prev_hash),
            Arg::from(&entry.hash),
            Arg::from(entry.org_id.as_deref()),
        ],
    )
}

/// A failed change: a uniqueness violation is the caller's conflict, an installation whose org or
/// app profile was revoked meanwhile is [`TenancyError::OwnerRevoked`], anything else is ours.
fn change_error(error: worker::Error) -> ApiError {
    let message = error.to_string();
    if message.contains("UNIQUE constraint failed") {
        return ApiError::Conflict {
            message: "an active object with the same key already exists".into(),
        };
    }
    if message.contains("NOT NULL constraint failed: installations.") {
        return TenancyError::OwnerRevoked.into();
    }
    d1::internal(message)
}
