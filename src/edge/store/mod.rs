//! All of the edge's SQL: D1 reads and writes, one module per concern, called by the handlers
//! (admin API, webhook pipeline, binding sessions, queue consumer, cron). A handler never writes
//! SQL itself.
//!
//! # What's in scope
//! - [`d1`]: binding statements, reading rows, batches, and mapping D1 failures to
//!   [`crate::core::api_error::ApiError`]; [`page`] for cursor pagination.
//! - The core's storage seams over D1: the audit ledger ([`ledger`], for
//!   [`crate::core::ledger`]) and the dedupe keys ([`dedupe_keys`], for [`crate::core::dedupe`]).
//! - What the webhook path and the queue consumer read, cached per isolate ([`directory`]), and
//!   the rejection counters ([`rejections`]).
//! - The rows of each table: the admin collections ([`collection`], within a caller's
//!   [`reach`]), orgs, app profiles and installations ([`tenancy`]), [`bindings`],
//!   [`principals`], install-token grants and identities ([`grants`]), binding-session mirrors
//!   and channel claims ([`sessions`]), [`rollout`] flags, sealed [`secrets`], and the cron's
//!   deletions ([`housekeeping`]).
//!
//! # What's out of scope
//! Decisions (the core) and HTTP (the handlers).

pub mod bindings;
pub mod collection;
pub mod d1;
pub mod dedupe_keys;
pub mod deliveries;
pub mod directory;
pub mod grants;
pub mod housekeeping;
pub mod ledger;
pub mod messages;
pub mod metrics;
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
