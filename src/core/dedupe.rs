//! Exactly-once delivery to the agent runtime: dedupe keys claimed by the queue consumer.
//!
//! # What's in scope
//! The ingress queues every verified event, with no storage on its path; a provider's retry is
//! simply queued again. The queue consumer deduplicates, a batch at a time, before it delivers:
//! [`sort`] claims every key of the batch's envelopes for the queue message that carries it, in
//! one [`DedupeStore`] round trip, and says of each message whether to deliver it or drop it as
//! a duplicate.
//!
//! Each event has keys (the provider's event id, and a semantic key where one exists); a key
//! belongs to the first queue message that claimed it, until the provider's dedupe window ends.
//! A message is delivered when it owns all its keys, and is a duplicate when another message
//! owns any of them. The owner is the queue's message id, which stays the same when the queue
//! retries the message, so:
//!
//! - a provider's retry (a second queue message with the same keys) is a duplicate, whether it
//!   arrives in a later batch, in the same batch, or in a batch running at the same time (the
//!   store takes claims one at a time);
//! - a message whose delivery failed after its claim is retried by the queue and still owns its
//!   keys, so it is delivered on the retry: nothing is lost between claim and delivery;
//! - a batch retried as a whole (its claim failed, or the consumer died) claims again and finds
//!   its own claims.
//!
//! # What's out of scope
//! The store and the queue themselves. Re-driving a dead letter or replaying a delivered
//! envelope (the operations issue) must not be taken for a duplicate: such a message is queued
//! without keys (an envelope without keys is always delivered), so its event's old claim does
//! not stop it.

use crate::core::tenancy::Provider;

/// How long an event's keys are kept once it was claimed: longer than the provider retries
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

/// A store failure, in plain words for the log (never a secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

/// One key to claim for an owner until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyClaim {
    /// The key.
    pub key: String,
    /// Who claims it: the queue message's id.
    pub owner: String,
    /// Until when, in Unix seconds.
    pub expires_at: u64,
}

/// Where dedupe keys live.
#[allow(async_fn_in_trait)]
pub trait DedupeStore {
    /// Takes each key, in order, for its owner unless another owner holds it unexpired at `now`
    /// (an owner's own key stays its own); answers the owner of each key afterwards, in the same
    /// order. One round trip, atomic as a whole.
    async fn claim(&self, claims: &[KeyClaim], now: u64) -> Result<Vec<String>, StoreError>;
}

/// One queued envelope to sort: the queue message's id and the envelope's keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending<'a> {
    /// The queue message's id (the same on every retry of the message).
    pub message_id: &'a str,
    /// The envelope's dedupe keys; an envelope without keys is always delivered.
    pub keys: &'a [String],
    /// How long its keys are kept ([`dedupe_window_seconds`] of its provider).
    pub window_seconds: u64,
}

/// What to do with one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// It owns its keys: deliver it.
    Deliver,
    /// Another message owns one of its keys: acknowledge it and deliver nothing.
    Duplicate,
}

/// Claims the keys of a batch's `pending` messages at `now` in one store round trip, and says
/// of each, in order, whether to deliver it. A store failure leaves the whole batch to be
/// retried (nothing is delivered or dropped on a guess).
pub async fn sort<S: DedupeStore>(
    store: &S,
    pending: &[Pending<'_>],
    now: u64,
) -> Result<Vec<Verdict>, StoreError> {
    let claims: Vec<KeyClaim> = pending
        .iter()
        .flat_map(|message| {
            message.keys.iter().map(|key| KeyClaim {
                key: key.clone(),
                owner: message.message_id.to_owned(),
                expires_at: now.saturating_add(message.window_seconds),
            })
        })
        .collect();
    if claims.is_empty() {
        return Ok(vec![Verdict::Deliver; pending.len()]);
    }
    let owners = store.claim(&claims, now).await?;
    if owners.len() != claims.len() {
        return Err(StoreError(format!(
            "the store answered {} owners for {} keys",
            owners.len(),
            claims.len()
        )));
    }
    let mut owners = owners.into_iter();
    Ok(pending
        .iter()
        .map(|message| {
            // Every owner of this message's keys is taken, so the next message reads its own.
            let its_owners: Vec<String> = owners.by_ref().take(message.keys.len()).collect();
            let owns_all = its_owners.iter().all(|owner| owner == message.message_id);
            if owns_all {
                Verdict::Deliver
            } else {
                Verdict::Duplicate
            }
        })
        .collect())
}

#[cfg(test)]
#[path = "dedupe_test.rs"]
mod tests;
