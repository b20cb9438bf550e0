//! The audit ledger in D1: [`crate::core::ledger`]'s store.
//!
//! An append is one D1 batch (one transaction): the change's statements and the entry's insert.
//! `seq` is the primary key, so when another request appended first the batch fails as a whole
//! with a uniqueness violation on `audit_log`, which the core retries on the new head.

use super::d1::{self, Arg};
use super::reach;
use crate::core::admin::AuditQuery;
use crate::core::api_error::ApiError;
use crate::core::audit::{Entry, Event, Head};
use crate::core::authority::Restriction;
use crate::core::ledger::{self, AppendFailure, LedgerStore};
use crate::core::tenancy::TenancyError;
use worker::{D1Database, D1PreparedStatement};

/// The ledger in D1's `audit_log`; a change is the statements that run with the entry's insert.
struct D1Ledger<'a>(&'a D1Database);

impl LedgerStore for D1Ledger<'_> {
    type Change = Vec<D1PreparedStatement>;

    async fn head(&self) -> Result<Head, ApiError> {
        head(self.0).await
    }

    async fn append(
        &self,
        mut change: Vec<D1PreparedStatement>,
        entry: &Entry,
    ) -> Result<(), AppendFailure> {
        change.push(insert(self.0, entry).map_err(AppendFailure::Failed)?);
        match d1::batch(self.0, change).await {
            Ok(()) => Ok(()),
            Err(error) if d1::is_unique_violation(&error, "audit_log") => {
                Err(AppendFailure::Contended)
            }
            Err(error) => Err(AppendFailure::Failed(change_error(error))),
        }
    }
}

/// Applies the statements `change` builds and appends `event`, atomically
/// ([`crate::core::ledger::commit`]).
pub async fn commit(
    db: &D1Database,
    event: &Event,
    now: u64,
    change: impl Fn() -> Result<Vec<D1PreparedStatement>, ApiError>,
) -> Result<Entry, ApiError> {
    let committed = ledger::commit(&D1Ledger(db), event, now, change).await;
    if let Err(ApiError::Unavailable { .. }) = committed {
        worker::console_error!(
            "audit: gave up after {} contended appends",
            ledger::MAX_ATTEMPTS
        );
    }
    committed
}

/// Appends `event` alone.
pub async fn record(db: &D1Database, event: &Event, now: u64) -> Result<Entry, ApiError> {
    commit(db, event, now, || Ok(Vec::new())).await
}

/// Columns of an entry.
const COLUMNS: &str = "seq, at, actor, action, target, detail, prev_hash, hash, org_id";

/// Up to `limit` entries after `after` in chain order, every org's (what verification reads).
pub async fn entries(db: &D1Database, after: u64, limit: u32) -> Result<Vec<Entry>, ApiError> {
    let sql = format!("SELECT {COLUMNS} FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT ?2");
    d1::all(db, &sql, &[after.into(), u64::from(limit).into()]).await
}

/// One page of `GET /v1/audit` ([`AuditQuery`], `limit + 1` rows so the caller knows whether
/// there is more); with `restriction`, only the entries about the orgs it reaches.
pub async fn page(
    db: &D1Database,
    query: &AuditQuery,
    restriction: &Restriction,
) -> Result<Vec<Entry>, ApiError> {
    let mut args: Vec<Arg> = vec![u64::from(query.limit + 1).into()];
    let mut conditions = String::new();
    let mut condition = |sql: &str, arg: Arg, args: &mut Vec<Arg>| {
        args.push(arg);
        conditions.push_str(&format!(" AND {sql} ?{}", args.len()));
    };
    if let Some(cursor) = query.cursor {
        let past = if query.oldest_first { "seq >" } else { "seq <" };
        condition(past, cursor.into(), &mut args);
    }
    for (column, value) in &query.equals {
        // `column` is one of the fixed names AuditQuery::FILTERS allows.
        condition(&format!("{column} ="), value.into(), &mut args);
    }
    if let Some(since) = query.since {
        condition("at >=", since.into(), &mut args);
    }
    conditions.push_str(&reach::owned("org_id", None, restriction, &mut args));
    let order = if query.oldest_first { "" } else { " DESC" };
    let sql = format!(
        "SELECT {COLUMNS} FROM audit_log WHERE 1 = 1{conditions} ORDER BY seq{order} LIMIT ?1"
    );
    d1::all(db, &sql, &args).await
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
