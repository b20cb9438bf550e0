//! Delivering each event to the agent runtime once: dedupe keys claimed by the queue consumer.
//!
//! # What's in scope
//! The ingress queues every verified event, with no storage on its path; a provider's retry is
//! simply queued again. Each queued message carries its event's keys (the provider's event id,
//! and a semantic key where one exists) and an **owner**: a random id the ingress gives that one
//! message, in its body, so the queue's own retries of the message keep it. The queue consumer
//! deduplicates a batch at a time, before it delivers: [`sort`] claims every key of the batch
//! for its message's owner, in one [`DedupeStore`] round trip, and says of each message whether
//! to deliver it or drop it as a duplicate. A key belongs to the first owner that claimed it,
//! until the provider's dedupe window ends. A message is delivered when its owner holds all its
//! keys, and is a duplicate when another owner holds any of them; so
//!
//! - a provider's retry (a second queue message, another owner, the same keys) is a duplicate,
//!   whether it arrives in a later batch, in the same batch, or in a batch running at the same
//!   time (the store takes claims one at a time);
//! - a message whose delivery failed after its claim is retried by the queue with the same body,
//!   so it still owns its keys and is delivered on the retry: nothing is lost between claim and
//!   delivery; a batch retried as a whole finds its own claims;
//! - a duplicate gives back the keys it did take (a second round trip, only when there are
//!   duplicates), so a later event that shares only those keys is not taken for one.
//!
//! If the batch's claim fails, each message is claimed on its own ([`sort_each`]), so one
//! message the store cannot take holds up only itself. What remains is the queue's own
//! at-least-once: a consumer that dies after the runtime's 2xx but before acknowledging
//! delivers that message again, with the same `webhook-id` (the envelope id) for the runtime to
//! deduplicate on.
//!
//! # What's out of scope
//! The store and the queue themselves. Re-driving a dead letter or replaying a delivered
//! envelope (the operations issue) must not be taken for a duplicate: such a message is queued
//! with its original owner, or without keys (an envelope without keys is always delivered).

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
    /// Who claims it: the owner of the queue message that carries it.
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
    /// Gives back every key these owners hold.
    async fn release(&self, owners: &[String]) -> Result<(), StoreError>;
}

/// The longest a key is kept, whatever a message asks: a month.
pub const MAX_WINDOW_SECONDS: u64 = 30 * 24 * 3600;

/// One queued envelope to sort: its owner and its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending<'a> {
    /// The owner the ingress gave its message (the same on every retry of the message).
    pub owner: &'a str,
    /// The envelope's dedupe keys; an envelope without keys is always delivered.
    pub keys: &'a [String],
    /// How long its keys are kept ([`dedupe_window_seconds`] of its provider; at most
    /// [`MAX_WINDOW_SECONDS`]).
    pub window_seconds: u64,
}

/// What to do with one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Its owner holds its keys: deliver it.
    Deliver,
    /// Another owner holds one of its keys: acknowledge it and deliver nothing.
    Duplicate,
}

/// Claims the keys of a batch's `pending` messages at `now` in one store round trip (two when
/// duplicates give back the keys they took), and says of each, in order, whether to deliver
/// it. A store failure leaves the whole batch to be retried (nothing is delivered or dropped on
/// a guess).
pub async fn sort<S: DedupeStore>(
    store: &S,
    pending: &[Pending<'_>],
    now: u64,
) -> Result<Vec<Verdict>, StoreError> {
    let claims: Vec<KeyClaim> = pending
        .iter()
        .flat_map(|message| {
            let window = message.window_seconds.min(MAX_WINDOW_SECONDS);
            message.keys.iter().map(move |key| KeyClaim {
                key: key.clone(),
                owner: message.owner.to_owned(),
                expires_at: now.saturating_add(window),
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
    let mut give_back = Vec::new();
    let verdicts = pending
        .iter()
        .map(|message| {
            // Every owner of this message's keys is taken, so the next message reads its own.
            let its_owners: Vec<String> = owners.by_ref().take(message.keys.len()).collect();
            if its_owners.iter().all(|owner| owner == message.owner) {
                return Verdict::Deliver;
            }
            if its_owners.iter().any(|owner| owner == message.owner) {
                give_back.push(message.owner.to_owned());
            }
            Verdict::Duplicate
        })
        .collect();
    if !give_back.is_empty() {
        // Best effort: keys not given back only lapse with their window.
        let _ = store.release(&give_back).await;
    }
    Ok(verdicts)
}

/// [`sort`], and when the batch's claim fails, each message on its own: the verdict of each,
/// or why its keys could not be claimed (that message alone is retried).
pub async fn sort_each<S: DedupeStore>(
    store: &S,
    pending: &[Pending<'_>],
    now: u64,
) -> Vec<Result<Verdict, StoreError>> {
    match sort(store, pending, now).await {
        Ok(verdicts) => verdicts.into_iter().map(Ok).collect(),
        Err(error) if pending.len() <= 1 => vec![Err(error); pending.len()],
        Err(_) => {
            let mut each = Vec::with_capacity(pending.len());
            for message in pending {
                let verdict = sort(store, std::slice::from_ref(message), now).await;
                each.push(verdict.and_then(|verdicts| {
                    verdicts
                        .first()
                        .copied()
                        .ok_or_else(|| StoreError("no verdict".into()))
                }));
            }
            each
        }
    }
}

#[cfg(test)]
#[path = "dedupe_test.rs"]
mod tests;
