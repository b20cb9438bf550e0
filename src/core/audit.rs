//! The audit ledger's hash chain.
//!
//! # What's in scope
//! Computing an entry's hash from its content and its predecessor's hash, and verifying a run of
//! entries, naming the first one that breaks the chain.
//!
//! # What's out of scope
//! Appending under concurrency ([`crate::core::ledger`]: an entry takes the predecessor's
//! `seq + 1` as its key, so of two appends after the same head one retries on the new head and
//! the chain never forks) and storage (the edge).
//!
//! An entry's hash is SHA-256 over the JSON array
//! `[seq, at, actor, action, target, detail, prev_hash]`, followed by `org_id` when the entry
//! has one (entries written before `org_id` existed hash as they always did), where `detail` is
//! the detail object's JSON text with keys sorted (`serde_json`'s default map is ordered), as
//! lower-case hex. The first entry's `prev_hash` is [`GENESIS_HASH`].
//!
//! `org_id` names the org an event concerns, so a principal restricted to some orgs reads only
//! their entries; events about no one org (principals, rollout flags, failed authentication)
//! have none.

use crate::core::mac::hex;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What an append records (the chain fields are computed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Who acted: a principal id, `provider:<name>`, or `system`.
    pub actor: String,
    /// What happened, dotted: `installation.revoke`, `auth.failed`, `webhook.rejected`.
    pub action: String,
    /// What it happened to: an id, or a description such as `ip:203.0.113.9`.
    pub target: String,
    /// Further facts. Never a secret.
    pub detail: Value,
    /// The org it concerns, if one.
    pub org_id: Option<String>,
}

impl Event {
    /// An event with an empty detail object, about no one org.
    pub fn new(actor: impl Into<String>, action: &str, target: impl Into<String>) -> Self {
        Event {
            actor: actor.into(),
            action: action.to_owned(),
            target: target.into(),
            detail: json!({}),
            org_id: None,
        }
    }

    /// The same event with `detail`.
    pub fn with_detail(mut self, detail: Value) -> Self {
        self.detail = detail;
        self
    }

    /// The same event, concerning org `org_id` (none when `None`).
    pub fn for_org(mut self, org_id: Option<&str>) -> Self {
        self.org_id = org_id.map(str::to_owned);
        self
    }
}

/// One ledger row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Position in the chain, from 1.
    pub seq: u64,
    /// When, Unix seconds.
    pub at: u64,
    /// Who acted.
    pub actor: String,
    /// What happened.
    pub action: String,
    /// To what.
    pub target: String,
    /// Further facts, as stored (JSON text).
    pub detail: String,
    /// The previous entry's hash.
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
    /// The org it concerns, if one.
    #[serde(default)]
    pub org_id: Option<String>,
}

/// The end of the chain an append builds on: the last entry's `seq` and `hash`, or `None` for an
/// empty ledger.
pub type Head = Option<(u64, String)>;

/// The entry that follows `head` for `event` at time `at`.
pub fn next_entry(head: &Head, event: &Event, at: u64) -> Entry {
    let (seq, prev_hash) = match head {
        Some((seq, hash)) => (seq + 1, hash.clone()),
        None => (1, GENESIS_HASH.to_owned()),
    };
    let mut entry = Entry {
        seq,
        at,
        actor: event.actor.clone(),
        action: event.action.clone(),
        target: event.target.clone(),
        detail: event.detail.to_string(),
        prev_hash,
        hash: String::new(),
        org_id: event.org_id.clone(),
    };
    entry.hash = hash_of(&entry);
    entry
}

/// The hash an entry must carry, computed from its content and `prev_hash`.
pub fn hash_of(entry: &Entry) -> String {
    let mut canonical = json!([
        entry.seq,
        entry.at,
        entry.actor,
        entry.action,
        entry.target,
        entry.detail,
        entry.prev_hash
    ]);
    if let (Some(org_id), Value::Array(fields)) = (&entry.org_id, &mut canonical) {
        fields.push(json!(org_id));
    }
    hex(&Sha256::digest(canonical.to_string().as_bytes()))
}

/// Where and why a chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    /// The entry's stored hash is not the hash of its content: the row was edited.
    #[error("entry {seq}: its hash does not match its content (the row was altered)")]
    HashMismatch {
        /// The broken entry.
        seq: u64,
    },
    /// The entry's `prev_hash` is not its predecessor's hash: a row was replaced or reordered.
    #[error("entry {seq}: prev_hash does not match the hash of entry {previous}")]
    LinkMismatch {
        /// The broken entry.
        seq: u64,
        /// The predecessor it should link to.
        previous: u64,
    },
    /// A sequence number is missing: a row was deleted.
    #[error("entry {seq}: expected sequence number {expected} (an entry is missing)")]
    Gap {
        /// The entry found.
        seq: u64,
        /// The sequence number that should have been there.
        expected: u64,
    },
}

impl ChainBreak {
    /// The first entry that does not verify.
    pub fn seq(&self) -> u64 {
        match self {
            ChainBreak::HashMismatch { seq }
            | ChainBreak::LinkMismatch { seq, .. }
            | ChainBreak::Gap { seq, .. } => *seq,
        }
    }
}

/// Verifies entries in `seq` order, continuing from `previous` (the verified entry just before
/// them, or `None` when they start the ledger). Pages of a long ledger are verified one after
/// another by passing the last entry of a page as the next page's `previous`.
pub fn verify(previous: Option<&Entry>, entries: &[Entry]) -> Result<(), ChainBreak> {
    let first_seq = previous.map_or(1, |entry| entry.seq + 1);
    let mut expected_prev = previous.map_or(GENESIS_HASH, |entry| entry.hash.as_str());
    for (expected_seq, entry) in (first_seq..).zip(entries) {
        if entry.seq != expected_seq {
            return Err(ChainBreak::Gap {
                seq: entry.seq,
                expected: expected_seq,
            });
        }
        if entry.prev_hash != expected_prev {
            return Err(ChainBreak::LinkMismatch {
                seq: entry.seq,
                previous: entry.seq - 1,
            });
        }
        if hash_of(entry) != entry.hash {
            return Err(ChainBreak::HashMismatch { seq: entry.seq });
        }
        expected_prev = &entry.hash;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(length: u64) -> Vec<Entry> {
        let mut entries: Vec<Entry> = Vec::new();
        for i in 0..length {
            let head = entries.last().map(|e| (e.seq, e.hash.clone()));
            let event = Event::new("prn_root", "org.create", format!("org_{i}"))
                .with_detail(json!({"b": 2, "a": i}));
            entries.push(next_entry(&head, &event, 1_700_000_000 + i));
        }
        entries
    }

    #[test]
    fn the_first_entry_links_to_genesis() {
        let entries = chain(1);
        assert_eq!(entries[0].seq, 1);
        assert_eq!(entries[0].prev_hash, GENESIS_HASH);
        assert_eq!(entries[0].hash.len(), 64);
        assert_eq!(entries[0].detail, r#"{"a":0,"b":2}"#, "keys are sorted");
    }

    #[test]
    fn a_built_chain_verifies_whole_and_in_pages() {
        let entries = chain(10);
        assert_eq!(verify(None, &entries), Ok(()));
        assert_eq!(verify(None, &entries[..4]), Ok(()));
        assert_eq!(verify(Some(&entries[3]), &entries[4..]), Ok(()));
        assert_eq!(verify(None, &[]), Ok(()));
    }

    #[test]
    fn an_edited_row_is_a_hash_mismatch() {
        let mut entries = chain(5);
        entries[2].detail = r#"{"a":99,"b":2}"#.into();
        assert_eq!(
            verify(None, &entries),
            Err(ChainBreak::HashMismatch { seq: 3 })
        );
    }

    #[test]
    fn a_rehashed_edit_breaks_the_next_link() {
        let mut entries = chain(5);
        entries[2].actor = "prn_mallory".into();
        entries[2].hash = hash_of(&entries[2]);
        let error = verify(None, &entries).unwrap_err();
        assert_eq!(
            error,
            ChainBreak::LinkMismatch {
                seq: 4,
                previous: 3
            }
        );
        assert_eq!(error.seq(), 4);
    }

    #[test]
    fn an_entry_without_an_org_hashes_as_before_org_ids_existed() {
        let entry = next_entry(&None, &Event::new("prn_root", "org.create", "org_1"), 1);
        let legacy = json!([1, 1, "prn_root", "org.create", "org_1", "{}", GENESIS_HASH]);
        assert_eq!(
            entry.hash,
            hex(&Sha256::digest(legacy.to_string().as_bytes()))
        );
    }

    #[test]
    fn the_org_is_part_of_the_hash() {
        let event = Event::new("prn_root", "org.create", "org_1").for_org(Some("org_1"));
        let mut entries = vec![next_entry(&None, &event, 1)];
        assert_eq!(entries[0].org_id.as_deref(), Some("org_1"));
        assert_eq!(verify(None, &entries), Ok(()));
        entries[0].org_id = Some("org_2".into());
        assert_eq!(
            verify(None, &entries),
            Err(ChainBreak::HashMismatch { seq: 1 })
        );
        entries[0].org_id = None;
        assert_eq!(
            verify(None, &entries),
            Err(ChainBreak::HashMismatch { seq: 1 })
        );
    }

    #[test]
    fn a_deleted_row_is_a_gap() {
        let mut entries = chain(5);
        entries.remove(1);
        let error = verify(None, &entries).unwrap_err();
        assert_eq!(
            error,
            ChainBreak::Gap {
                seq: 3,
                expected: 2
            }
        );
        assert_eq!(error.seq(), 3);
        assert_eq!(
            error.to_string(),
            "entry 3: expected sequence number 2 (an entry is missing)"
        );
    }

    #[test]
    fn a_fork_cannot_verify() {
        let entries = chain(3);
        let head = Some((entries[1].seq, entries[1].hash.clone()));
        let fork = next_entry(&head, &Event::new("x", "y", "z"), 1);
        assert_eq!(
            fork.seq, entries[2].seq,
            "a fork reuses the seq, which the store refuses"
        );
        let mut forked = entries.clone();
        forked.push(fork);
        assert_eq!(
            verify(None, &forked),
            Err(ChainBreak::Gap {
                seq: 3,
                expected: 4
            })
        );
    }
}
