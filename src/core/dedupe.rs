//! Exactly-once acceptance of webhook events: two-phase dedupe keys in front of the queue.
//!
//! # What's in scope
//! [`accept`]: the rules that decide, for the events of one webhook request, which are queued,
//! which are duplicates and when the provider must retry, over two small seams: a
//! [`DedupeStore`] (the edge's D1 table; a test double that fails on command) and an [`Outbox`]
//! (the edge's queue producer).
//!
//! Each event has keys (the provider's event id, and a semantic key where one exists). They are
//! claimed **pending** for [`PENDING_SECONDS`]; an event is new when all its keys were claimed by
//! this request, a duplicate when any key is **committed**, and in flight when any key is pending
//! under another request (the provider is told to retry). Once an event is queued its keys are
//! committed for the dedupe window. If it could not be queued its keys are released; if even
//! that fails (or the request dies between claim and queue) they lapse after
//! [`PENDING_SECONDS`], so the provider's retry is accepted then and never dropped as a
//! duplicate.
//!
//! # What's out of scope
//! Storage and the queue themselves; when the commit runs (the edge commits after the response,
//! off the hot path).

use crate::core::tenancy::Provider;
use std::fmt;

/// How long an event's keys are kept once it was queued: longer than the provider retries
/// (WhatsApp Cloud retries a failed delivery for up to 7 days; Telegram for about a day; Slack
/// for 5 minutes), so a retry is never delivered twice.
pub fn dedupe_window_seconds(provider: Provider) -> u64 {
    provider.spec().dedupe_window_seconds
}

/// True when an event that says it happened at `occurred_at` is older than its provider's dedupe
/// window, so its keys may be gone and a replay of it could not be told from a new event. Only
/// providers whose signature covers no timestamp need it (WhatsApp); the others' signed
/// timestamps are held to the replay window, and Telegram's events carry none.
pub fn older_than_window(provider: Provider, occurred_at: Option<u64>, now: u64) -> bool {
    provider.spec().unsigned_event_time
        && occurred_at.is_some_and(|at| at.saturating_add(dedupe_window_seconds(provider)) < now)
}

/// How long a claimed key stays pending before another request may take it over: longer than a
/// request runs, shorter than providers' second retry.
pub const PENDING_SECONDS: u64 = 60;

/// What the store found for one key when claiming it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// New (or lapsed): now pending under this request.
    Claimed,
    /// Committed by an earlier request: the event was queued before.
    Committed,
    /// Pending under another request that has not finished.
    Pending,
}

/// A store or queue failure, in plain words for the log (never a secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

/// Where dedupe keys live.
#[allow(async_fn_in_trait)]
pub trait DedupeStore {
    /// Claims each key as pending until `pending_until` unless it is held (committed, or pending
    /// and not lapsed at `now`); answers what it found for each key, in order.
    async fn claim(
        &self,
        keys: &[String],
        now: u64,
        pending_until: u64,
    ) -> Result<Vec<KeyState>, StoreError>;
    /// Marks keys committed until `expires_at`.
    async fn commit(&self, keys: &[String], expires_at: u64) -> Result<(), StoreError>;
    /// Forgets keys still pending.
    async fn release(&self, keys: &[String]) -> Result<(), StoreError>;
}

/// Where accepted events go.
#[allow(async_fn_in_trait)]
pub trait Outbox<T> {
    /// Queues one item.
    async fn send(&self, item: &T) -> Result<(), StoreError>;
}

/// One event of a request: what is queued, and its dedupe keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item<T> {
    /// What is queued (an envelope).
    pub item: T,
    /// Its keys; an item without keys is always new.
    pub keys: Vec<String>,
}

/// What became of a request's events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every event was queued or is a duplicate: acknowledge the provider, then commit
    /// `commit` (off the hot path).
    Accepted {
        /// Events queued now.
        queued: usize,
        /// Events dropped as duplicates.
        duplicates: usize,
        /// Keys to commit: those of the queued events and those this request claimed for
        /// duplicates (so their retries are recognised without a claim).
        commit: Vec<String>,
    },
    /// The provider must retry (503): an event is in flight under another request, the store
    /// could not claim, or the queue refused. Nothing left pending by this request outlives
    /// [`PENDING_SECONDS`].
    RetryLater {
        /// Why, for the log.
        reason: RetryReason,
        /// Events queued before the queue refused (their keys are committed already).
        queued: usize,
    },
}

/// Why a request must be retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryReason {
    /// Another request holds an event's keys.
    InFlight,
    /// The store failed.
    Store(StoreError),
    /// The queue refused.
    Queue(StoreError),
}

impl fmt::Display for RetryReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RetryReason::InFlight => f.write_str("another request is accepting the same event"),
            RetryReason::Store(error) => write!(f, "dedupe store: {error}"),
            RetryReason::Queue(error) => write!(f, "queue: {error}"),
        }
    }
}

/// Accepts the `items` of one request at `now`: claims their keys, queues the new ones in order
/// through `outbox`, and says what to answer. `window_seconds` is how long committed keys are
/// kept.
pub async fn accept<T, S: DedupeStore, O: Outbox<T>>(
    store: &S,
    outbox: &O,
    items: &[Item<T>],
    now: u64,
    window_seconds: u64,
) -> Outcome {
    let keys: Vec<String> = items.iter().flat_map(|i| i.keys.iter().cloned()).collect();
    let states = match store.claim(&keys, now, now + PENDING_SECONDS).await {
        Ok(states) if states.len() == keys.len() => states,
        Ok(_) => {
            return retry(
                RetryReason::Store(StoreError("a claim went missing".into())),
                0,
            )
        }
        Err(error) => return retry(RetryReason::Store(error), 0),
    };
    let mut states = states.into_iter();
    let mut claimed: Vec<String> = Vec::new();
    let mut fresh: Vec<&Item<T>> = Vec::new();
    let mut duplicate_keys: Vec<String> = Vec::new();
    let (mut duplicates, mut in_flight) = (0, false);
    for item in items {
        let found: Vec<KeyState> = states.by_ref().take(item.keys.len()).collect();
        let mine: Vec<String> = item
            .keys
            .iter()
            .zip(&found)
            .filter(|(_, state)| **state == KeyState::Claimed)
            .map(|(key, _)| key.clone())
            .collect();
        claimed.extend(mine.iter().cloned());
        if found.contains(&KeyState::Committed) {
            duplicates += 1;
            duplicate_keys.extend(mine);
        } else if found.contains(&KeyState::Pending) {
            in_flight = true;
        } else {
            fresh.push(item);
        }
    }
    if in_flight {
        // Best effort: what is not released lapses after PENDING_SECONDS.
        let _ = store.release(&claimed).await;
        return retry(RetryReason::InFlight, 0);
    }
    let expires_at = now + window_seconds;
    let mut committed: Vec<String> = duplicate_keys;
    for (queued, item) in fresh.iter().enumerate() {
        if let Err(error) = outbox.send(&item.item).await {
            let keys_of = |items: &mut dyn Iterator<Item = &&Item<T>>| -> Vec<String> {
                items.flat_map(|i| i.keys.iter().cloned()).collect()
            };
            let sent = keys_of(&mut fresh.iter().take(queued));
            let unsent = keys_of(&mut fresh.iter().skip(queued));
            // Best effort both: a queued event's keys must hold against the retry, an unsent
            // one's must not; either lapses after PENDING_SECONDS if the store fails here.
            let _ = store.commit(&sent, expires_at).await;
            let _ = store.release(&unsent).await;
            return retry(RetryReason::Queue(error), queued);
        }
    }
    committed.extend(fresh.iter().flat_map(|i| i.keys.iter().cloned()));
    Outcome::Accepted {
        queued: fresh.len(),
        duplicates,
        commit: committed,
    }
}

fn retry(reason: RetryReason, queued: usize) -> Outcome {
    Outcome::RetryLater { reason, queued }
}

#[cfg(test)]
#[path = "dedupe_test.rs"]
mod tests;
