//! Appending to the audit ledger together with the change it records.
//!
//! # What's in scope
//! [`commit`]: read the chain's head, build the next entry ([`crate::core::audit::next_entry`]),
//! and apply the change with the entry's insert atomically ([`LedgerStore::append`]). Entries are
//! keyed by `seq`, so when another writer appended first the whole append fails as
//! [`AppendFailure::Contended`], nothing of the change lands, and it is rebuilt and retried on
//! the new head: the chain never forks and no change goes unrecorded. After [`MAX_ATTEMPTS`]
//! contended tries the caller is told to retry (503).
//!
//! # What's out of scope
//! The storage itself (the edge's D1 store implements [`LedgerStore`]), and what a change is
//! (statements for D1; anything for a test double).

use crate::core::api_error::ApiError;
use crate::core::audit::{next_entry, Entry, Event, Head};

/// How often an append is tried before giving up on a contended head.
pub const MAX_ATTEMPTS: usize = 20;

/// Seconds a caller is told to wait after the ledger stayed contended.
const RETRY_AFTER_SECONDS: u32 = 1;

/// Why an append did not land.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppendFailure {
    /// Another writer appended after the head that was read: retry on the new head.
    Contended,
    /// The change or the store failed: not retried.
    Failed(ApiError),
}

/// The ledger's storage.
#[allow(async_fn_in_trait)] // single-threaded (Workers, tests): no Send bound wanted
pub trait LedgerStore {
    /// What a change is (D1 statements at the edge).
    type Change;
    /// The last entry's `seq` and hash, `None` for an empty ledger.
    async fn head(&self) -> Result<Head, ApiError>;
    /// Applies `change` and inserts `entry` in one transaction: both land or neither does.
    async fn append(&self, change: Self::Change, entry: &Entry) -> Result<(), AppendFailure>;
}

/// Applies the change `change` builds and appends `event` at `now`, atomically; `change` is
/// called again for each retry. Returns the entry that landed.
pub async fn commit<S: LedgerStore>(
    store: &S,
    event: &Event,
    now: u64,
    change: impl Fn() -> Result<S::Change, ApiError>,
) -> Result<Entry, ApiError> {
    for _ in 0..MAX_ATTEMPTS {
        let entry = next_entry(&store.head().await?, event, now);
        match store.append(change()?, &entry).await {
            Ok(()) => return Ok(entry),
            Err(AppendFailure::Contended) => continue,
            Err(AppendFailure::Failed(error)) => return Err(error),
        }
    }
    Err(ApiError::Unavailable {
        retry_after_seconds: RETRY_AFTER_SECONDS,
    })
}

#[cfg(test)]
#[path = "ledger_test.rs"]
mod tests;
