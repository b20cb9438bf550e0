//! All of the edge's SQL: D1 reads and writes, one module per concern, called by the handlers
//! (admin API, webhook pipeline, binding sessions, queue consumer, cron).
//!
//! # What's in scope
//! - [`d1`]: binding statements, reading rows, batches, and mapping D1 failures to
//!   [`crate::core::api_error::ApiError`].
//! - The core's storage seams over D1: the audit ledger ([`ledger`], for
//!   [`crate::core::ledger`]) and the dedupe keys ([`dedupe_keys`], for [`crate::core::dedupe`]).
//! - What the webhook path reads, cached per isolate ([`directory`]), and the rejection counters
//!   ([`rejections`]).
//! - Sealed secrets ([`secrets`]) and the rows of each table the admin API, the binding sessions
//!   and the claims write ([`tenancy`], [`principals`], [`grants`], [`sessions`], [`admin`]).
//! - The reach of a restricted principal as SQL conditions ([`reach`]).
//!
//! # What's out of scope
//! Decisions (the core) and HTTP (the handlers). A handler never writes SQL itself.

pub mod bindings;
pub mod collection;
pub mod d1;
pub mod dedupe_keys;
pub mod directory;
pub mod grants;
pub mod housekeeping;
pub mod ledger;
pub mod principals;
pub mod reach;
pub mod rejections;
pub mod rollout;
pub mod secrets;
pub mod sessions;
pub mod tenancy;

/// Splits one more row than a page holds off `rows`: the page of at most `limit` rows, and the
/// next page's cursor (`cursor` of its last row) when there was more.
pub fn page<T>(
    mut rows: Vec<T>,
    limit: u32,
    cursor: impl Fn(&T) -> Option<String>,
) -> (Vec<T>, Option<String>) {
    let limit = limit as usize;
    if rows.len() <= limit {
        return (rows, None);
    }
    rows.truncate(limit);
    let next = rows.last().and_then(cursor);
    (rows, next)
}
