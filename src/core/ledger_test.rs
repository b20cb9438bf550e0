use super::*;
use crate::core::audit::verify;
use crate::core::test_support::block_on;
use std::cell::{Cell, RefCell};

const NOW: u64 = 1_800_000_000;

/// An in-memory ledger: entries and the changes that landed with them. It fails on command.
#[derive(Default)]
struct Store {
    entries: RefCell<Vec<Entry>>,
    /// Changes applied, in order.
    changes: RefCell<Vec<String>>,
    /// Appends still to lose to another writer (who appends an entry of its own first).
    contended: Cell<usize>,
    /// The next append fails with this.
    fail_append: RefCell<Option<ApiError>>,
    fail_head: Cell<bool>,
    appends: Cell<usize>,
}

impl LedgerStore for Store {
    type Change = String;

    async fn head(&self) -> Result<Head, ApiError> {
        if self.fail_head.get() {
            return Err(ApiError::Internal);
        }
        Ok(self
            .entries
            .borrow()
            .last()
            .map(|entry| (entry.seq, entry.hash.clone())))
    }

    async fn append(&self, change: String, entry: &Entry) -> Result<(), AppendFailure> {
        self.appends.set(self.appends.get() + 1);
        if let Some(error) = self.fail_append.borrow_mut().take() {
            return Err(AppendFailure::Failed(error));
        }
        if self.contended.get() > 0 {
            self.contended.set(self.contended.get() - 1);
            let head = block_on(self.head()).map_err(AppendFailure::Failed)?;
            let theirs = next_entry(&head, &Event::new("other", "x.y", "z"), NOW);
            self.entries.borrow_mut().push(theirs);
            return Err(AppendFailure::Contended);
        }
        let mut entries = self.entries.borrow_mut();
        if entries.last().map(|last| last.seq + 1).unwrap_or(1) != entry.seq {
            return Err(AppendFailure::Contended);
        }
        entries.push(entry.clone());
        self.changes.borrow_mut().push(change);
        Ok(())
    }
}

fn event() -> Event {
    Event::new("prn_1", "installation.revoked", "ins_1")
}

fn commit_change(store: &Store, built: &Cell<usize>) -> Result<Entry, ApiError> {
    block_on(commit(store, &event(), NOW, || {
        built.set(built.get() + 1);
        Ok(format!("change #{}", built.get()))
    }))
}

#[test]
fn an_append_lands_with_its_change_on_the_head() {
    let store = Store::default();
    let built = Cell::new(0);
    let first = commit_change(&store, &built).unwrap();
    let second = commit_change(&store, &built).unwrap();
    assert_eq!((first.seq, second.seq), (1, 2));
    assert_eq!(second.prev_hash, first.hash);
    assert_eq!(*store.changes.borrow(), ["change #1", "change #2"]);
    assert_eq!(verify(None, &store.entries.borrow()), Ok(()));
}

#[test]
fn a_contended_append_is_rebuilt_and_retried_on_the_new_head() {
    let store = Store::default();
    store.contended.set(2);
    let built = Cell::new(0);
    let entry = commit_change(&store, &built).unwrap();
    assert_eq!(built.get(), 3, "the change is built again for each try");
    assert_eq!(
        entry.seq, 3,
        "after the two entries the other writer appended"
    );
    assert_eq!(
        *store.changes.borrow(),
        ["change #3"],
        "only the last try's change landed"
    );
    assert_eq!(
        verify(None, &store.entries.borrow()),
        Ok(()),
        "the chain did not fork"
    );
}

#[test]
fn a_ledger_that_stays_contended_tells_the_caller_to_retry_and_lands_nothing() {
    let store = Store::default();
    store.contended.set(MAX_ATTEMPTS);
    let built = Cell::new(0);
    let error = commit_change(&store, &built).unwrap_err();
    assert_eq!(
        error,
        ApiError::Unavailable {
            retry_after_seconds: 1
        }
    );
    assert_eq!(store.appends.get(), MAX_ATTEMPTS);
    assert!(store.changes.borrow().is_empty());
}

#[test]
fn a_failed_append_is_not_retried_and_lands_nothing() {
    let store = Store::default();
    *store.fail_append.borrow_mut() = Some(ApiError::Conflict {
        message: "an active object with the same key already exists".into(),
    });
    let built = Cell::new(0);
    let error = commit_change(&store, &built).unwrap_err();
    assert!(matches!(error, ApiError::Conflict { .. }));
    assert_eq!(store.appends.get(), 1);
    assert!(store.entries.borrow().is_empty());
    assert!(store.changes.borrow().is_empty());
}

#[test]
fn an_unreadable_head_appends_nothing() {
    let store = Store::default();
    store.fail_head.set(true);
    let built = Cell::new(0);
    assert_eq!(commit_change(&store, &built), Err(ApiError::Internal));
    assert_eq!(store.appends.get(), 0);
}

#[test]
fn a_change_that_cannot_be_built_appends_nothing() {
    let store = Store::default();
    let refused = ApiError::BadRequest {
        message: "no".into(),
    };
    let result = block_on(commit(&store, &event(), NOW, || {
        Err::<String, _>(refused.clone())
    }));
    assert_eq!(result, Err(refused));
    assert_eq!(store.appends.get(), 0);
    assert!(store.entries.borrow().is_empty());
}
