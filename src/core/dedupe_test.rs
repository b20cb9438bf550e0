use super::*;
use crate::core::test_support::block_on;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

const NOW: u64 = 1_800_000_000;
const WINDOW: u64 = 26 * 3600;

/// An in-memory dedupe table with the D1 table's rules (one claim at a time, in order), that
/// fails when told to (always, or for a batch holding a poisoned key). It also counts round
/// trips.
#[derive(Default)]
struct Store {
    /// key → (owner, expires_at)
    rows: RefCell<HashMap<String, (String, u64)>>,
    fail: Cell<bool>,
    poisoned: RefCell<Option<String>>,
    round_trips: Cell<usize>,
}

impl DedupeStore for Store {
    async fn claim(&self, claims: &[KeyClaim], now: u64) -> Result<Vec<String>, StoreError> {
        self.round_trips.set(self.round_trips.get() + 1);
        let poisoned = self.poisoned.borrow();
        let poisons = |claim: &KeyClaim| poisoned.as_deref() == Some(claim.key.as_str());
        if self.fail.get() || claims.iter().any(poisons) {
            return Err(StoreError("D1 is down".into()));
        }
        let mut rows = self.rows.borrow_mut();
        for claim in claims {
            let held = rows
                .get(&claim.key)
                .is_some_and(|(_, expires_at)| *expires_at > now);
            if !held {
                rows.insert(claim.key.clone(), (claim.owner.clone(), claim.expires_at));
            }
        }
        Ok(claims
            .iter()
            .map(|claim| rows[&claim.key].0.clone())
            .collect())
    }

    async fn release(&self, owners: &[String]) -> Result<(), StoreError> {
        self.round_trips.set(self.round_trips.get() + 1);
        self.rows
            .borrow_mut()
            .retain(|_, (owner, _)| !owners.contains(owner));
        Ok(())
    }
}

/// A store that answers fewer owners than it was asked for.
struct Short;

impl DedupeStore for Short {
    async fn claim(&self, _: &[KeyClaim], _: u64) -> Result<Vec<String>, StoreError> {
        Ok(vec!["msg-1".into()])
    }

    async fn release(&self, _: &[String]) -> Result<(), StoreError> {
        Ok(())
    }
}

fn keys(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

fn message<'a>(owner: &'a str, keys: &'a [String]) -> Pending<'a> {
    Pending {
        owner,
        keys,
        window_seconds: WINDOW,
    }
}

fn sorted(store: &Store, pending: &[Pending<'_>], now: u64) -> Vec<Verdict> {
    block_on(sort(store, pending, now)).expect("the store answers")
}

use Verdict::{Deliver, Duplicate};

#[test]
fn a_new_event_is_delivered_and_the_providers_retry_is_a_duplicate() {
    let store = Store::default();
    let event = keys(&["slack:ins_1:event:Ev1", "slack:ins_1:content:T1:C1:1.0"]);
    assert_eq!(sorted(&store, &[message("msg-1", &event)], NOW), [Deliver]);
    // The retry is another queue message with the same keys, in a later batch.
    assert_eq!(
        sorted(&store, &[message("msg-2", &event)], NOW + 10),
        [Duplicate]
    );
    assert_eq!(store.round_trips.get(), 2, "one round trip per batch");
}

#[test]
fn two_copies_in_one_batch_deliver_the_first_only() {
    let store = Store::default();
    let event = keys(&["k:event:1"]);
    let other = keys(&["k:event:2"]);
    let batch = [
        message("msg-1", &event),
        message("msg-2", &other),
        message("msg-3", &event),
    ];
    assert_eq!(sorted(&store, &batch, NOW), [Deliver, Deliver, Duplicate]);
    assert_eq!(store.round_trips.get(), 1);
}

#[test]
fn two_concurrent_batches_deliver_one_copy() {
    // The store takes claims one at a time, so of two batches carrying copies of one event,
    // whichever claims first delivers it, and the other finds it owned.
    let store = Store::default();
    let event = keys(&["k:event:1"]);
    let first = sorted(&store, &[message("msg-a", &event)], NOW);
    let second = sorted(&store, &[message("msg-b", &event)], NOW);
    assert_eq!([first[0], second[0]], [Deliver, Duplicate]);
}

#[test]
fn a_semantic_duplicate_under_another_event_id_is_dropped() {
    let store = Store::default();
    let first = keys(&["tg:ins_1:event:100", "tg:ins_1:content:chat:7"]);
    let again = keys(&["tg:ins_1:event:101", "tg:ins_1:content:chat:7"]);
    assert_eq!(sorted(&store, &[message("msg-1", &first)], NOW), [Deliver]);
    assert_eq!(
        sorted(&store, &[message("msg-2", &again)], NOW),
        [Duplicate]
    );
}

#[test]
fn a_delivery_that_failed_after_its_claim_is_delivered_on_the_retry() {
    let store = Store::default();
    let event = keys(&["k:event:1"]);
    assert_eq!(sorted(&store, &[message("msg-1", &event)], NOW), [Deliver]);
    // The runtime refused; the queue retries the same message (same id) later, and the
    // provider's own retry arrives meanwhile as another message.
    let batch = [message("msg-2", &event), message("msg-1", &event)];
    assert_eq!(sorted(&store, &batch, NOW + 60), [Duplicate, Deliver]);
}

#[test]
fn a_batch_retried_as_a_whole_finds_its_own_claims() {
    // The consumer died after claiming (or its answer was lost): the queue redelivers the
    // whole batch, with the same message ids.
    let store = Store::default();
    let (one, two) = (keys(&["k:event:1"]), keys(&["k:event:2", "k:content:2"]));
    let batch = [message("msg-1", &one), message("msg-2", &two)];
    assert_eq!(sorted(&store, &batch, NOW), [Deliver, Deliver]);
    assert_eq!(sorted(&store, &batch, NOW + 5), [Deliver, Deliver]);
}

#[test]
fn a_store_failure_sorts_nothing_and_the_retry_delivers() {
    let store = Store::default();
    let event = keys(&["k:event:1"]);
    store.fail.set(true);
    let error = block_on(sort(&store, &[message("msg-1", &event)], NOW)).unwrap_err();
    assert_eq!(error.to_string(), "D1 is down");
    store.fail.set(false);
    assert_eq!(sorted(&store, &[message("msg-1", &event)], NOW), [Deliver]);
}

#[test]
fn a_store_that_loses_an_answer_is_an_error_not_a_guess() {
    let event = keys(&["k:event:1", "k:content:1"]);
    let error = block_on(sort(&Short, &[message("msg-1", &event)], NOW)).unwrap_err();
    assert_eq!(error.to_string(), "the store answered 1 owners for 2 keys");
}

#[test]
fn keys_expire_with_their_window_and_the_event_is_new_again() {
    let store = Store::default();
    let event = keys(&["k:event:1"]);
    assert_eq!(sorted(&store, &[message("msg-1", &event)], NOW), [Deliver]);
    assert_eq!(
        sorted(&store, &[message("msg-2", &event)], NOW + WINDOW - 1),
        [Duplicate]
    );
    assert_eq!(
        sorted(&store, &[message("msg-3", &event)], NOW + WINDOW),
        [Deliver]
    );
}

#[test]
fn envelopes_without_keys_are_delivered_without_a_round_trip() {
    let store = Store::default();
    let none: Vec<String> = Vec::new();
    let batch = [message("msg-1", &none), message("msg-2", &none)];
    assert_eq!(sorted(&store, &batch, NOW), [Deliver, Deliver]);
    assert_eq!(store.round_trips.get(), 0);
}

#[test]
fn each_claim_carries_its_owner_and_its_providers_window() {
    let store = Store::default();
    let (short, long) = (keys(&["a"]), keys(&["b"]));
    let batch = [
        Pending {
            owner: "msg-1",
            keys: &short,
            window_seconds: 100,
        },
        Pending {
            owner: "msg-2",
            keys: &long,
            window_seconds: 900,
        },
    ];
    sorted(&store, &batch, NOW);
    let rows = store.rows.borrow();
    assert_eq!(rows["a"], ("msg-1".to_owned(), NOW + 100));
    assert_eq!(rows["b"], ("msg-2".to_owned(), NOW + 900));
}

#[test]
fn a_duplicate_gives_back_the_keys_it_took() {
    let store = Store::default();
    let first = keys(&["tg:event:100", "tg:content:chat:7"]);
    assert_eq!(sorted(&store, &[message("msg-1", &first)], NOW), [Deliver]);
    // Same content, new event id: a duplicate, which took `tg:event:101` on its way.
    let again = keys(&["tg:event:101", "tg:content:chat:7"]);
    assert_eq!(
        sorted(&store, &[message("msg-2", &again)], NOW),
        [Duplicate]
    );
    assert_eq!(
        store.round_trips.get(),
        3,
        "a second round trip gives the key back"
    );
    // So a later event that shares only that key is not taken for a duplicate.
    let later = keys(&["tg:event:101", "tg:content:chat:8"]);
    assert_eq!(sorted(&store, &[message("msg-3", &later)], NOW), [Deliver]);
}

#[test]
fn a_duplicate_that_took_nothing_costs_no_second_round_trip() {
    let store = Store::default();
    let event = keys(&["k:event:1"]);
    sorted(&store, &[message("msg-1", &event)], NOW);
    sorted(&store, &[message("msg-2", &event)], NOW);
    assert_eq!(store.round_trips.get(), 2);
}

#[test]
fn one_key_the_store_refuses_holds_up_only_its_own_message() {
    let store = Store::default();
    *store.poisoned.borrow_mut() = Some("k:poison".into());
    let (good, bad, other) = (keys(&["k:1"]), keys(&["k:poison"]), keys(&["k:2"]));
    let batch = [
        message("msg-1", &good),
        message("msg-2", &bad),
        message("msg-3", &other),
    ];
    let verdicts = block_on(sort_each(&store, &batch, NOW));
    assert_eq!(verdicts[0], Ok(Deliver));
    assert!(verdicts[1].is_err(), "retried alone");
    assert_eq!(verdicts[2], Ok(Deliver));
    // A batch that claims in one go needs no second try.
    let fine = Store::default();
    assert_eq!(block_on(sort_each(&fine, &batch[..1], NOW)), [Ok(Deliver)]);
    assert_eq!(fine.round_trips.get(), 1);
}

#[test]
fn a_window_is_kept_no_longer_than_a_month() {
    let store = Store::default();
    let event = keys(&["k:1"]);
    let batch = [Pending {
        owner: "msg-1",
        keys: &event,
        window_seconds: u64::MAX,
    }];
    sorted(&store, &batch, NOW);
    assert_eq!(store.rows.borrow()["k:1"].1, NOW + MAX_WINDOW_SECONDS);
}

#[test]
fn keys_outlive_every_providers_retries() {
    use crate::core::tenancy::Provider;
    assert!(dedupe_window_seconds(Provider::Whatsapp) > 7 * 24 * 3600);
    for provider in Provider::ALL {
        assert!(dedupe_window_seconds(provider) > 24 * 3600, "{provider:?}");
    }
}

#[test]
fn a_whatsapp_event_older_than_its_window_is_refused() {
    use crate::core::tenancy::Provider;
    let window = dedupe_window_seconds(Provider::Whatsapp);
    assert!(older_than_window(
        Provider::Whatsapp,
        Some(NOW - window - 1),
        NOW
    ));
    assert!(!older_than_window(
        Provider::Whatsapp,
        Some(NOW - window),
        NOW
    ));
    assert!(!older_than_window(Provider::Whatsapp, None, NOW));
    assert!(!older_than_window(Provider::Whatsapp, Some(u64::MAX), NOW));
    assert!(
        !older_than_window(Provider::Slack, Some(0), NOW),
        "signed timestamps cover it"
    );
}
