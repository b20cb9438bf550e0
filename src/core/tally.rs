//! Counts of rejected webhooks, dropped events and duplicates, kept in memory between flushes.
//!
//! # What's in scope
//! [`Tally`]: counts per source, reason and minute, added by every request of an isolate and
//! taken out as a whole by a flush (the edge writes them to D1 in one batch every
//! [`FLUSH_SECONDS`], `edge::store::rejections`). A flood of rejections then costs no D1 work per
//! request. The number of distinct sources held is bounded ([`MAX_SOURCES`]): past it, new
//! sources are counted together under [`OVERFLOW_SOURCE`], so memory stays bounded whatever an
//! attacker varies.
//!
//! # What's out of scope
//! Storage and time: the edge decides when to flush and writes what [`Tally::take`] returns.

use crate::core::metrics::{Increment, Metric};
use crate::core::tenancy::Provider;
use std::collections::BTreeMap;

/// How long counts wait in memory before they are written: also the most an evicted isolate
/// can lose.
pub const FLUSH_SECONDS: u64 = 2;

/// The most distinct sources held between two flushes.
pub const MAX_SOURCES: usize = 4096;

/// Where counts of new sources go once [`MAX_SOURCES`] are held.
pub const OVERFLOW_SOURCE: &str = "(too many sources)";

/// What a count is of: who, why, when, and whether its minute's first count is audited.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Count {
    /// The provider it came through.
    pub provider: Provider,
    /// Where from (`slack:app_… ip:203.0.113.9`, `slack ip:…`, `slack:ins_…`).
    pub source: String,
    /// Why (`bad_signature`, `duplicate`, …).
    pub reason: &'static str,
    /// The Unix minute.
    pub minute: u64,
    /// True when the minute's first count also writes a `webhook.rejected` audit entry.
    pub audited: bool,
    /// The counter it adds to ([`Metric::Rejected`], [`Metric::Dropped`] or
    /// [`Metric::Duplicates`]).
    pub metric: Metric,
}

impl Count {
    /// What `n` of these add to the metrics (by provider and reason; never by source).
    pub fn increment(&self, n: u64) -> Increment {
        let label = if self.metric == Metric::Duplicates {
            ""
        } else {
            self.reason
        };
        Increment::new(self.metric, self.provider, label, n)
    }
}

/// Counts waiting for a flush.
#[derive(Debug, Default)]
pub struct Tally {
    counts: BTreeMap<Count, u64>,
}

impl Tally {
    /// Adds `n` to `count` (under [`OVERFLOW_SOURCE`] when it is a new source past the bound).
    pub fn add(&mut self, mut count: Count, n: u64) {
        if self.counts.len() >= MAX_SOURCES && !self.counts.contains_key(&count) {
            count.source = OVERFLOW_SOURCE.to_owned();
        }
        let total = self.counts.entry(count).or_default();
        *total = total.saturating_add(n);
    }

    /// Everything counted since the last take, leaving the tally empty.
    pub fn take(&mut self) -> Vec<(Count, u64)> {
        std::mem::take(&mut self.counts).into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(source: &str, reason: &'static str, minute: u64) -> Count {
        Count {
            provider: Provider::Slack,
            source: source.to_owned(),
            reason,
            minute,
            audited: true,
            metric: Metric::Rejected,
        }
    }

    #[test]
    fn counts_of_one_source_reason_and_minute_add_up_until_taken() {
        let mut tally = Tally::default();
        assert!(tally.take().is_empty());
        tally.add(count("slack ip:1", "bad_signature", 7), 1);
        tally.add(count("slack ip:1", "bad_signature", 7), 2);
        tally.add(count("slack ip:1", "bad_signature", 8), 1);
        tally.add(count("slack ip:1", "stale_timestamp", 7), 1);
        let taken = tally.take();
        assert_eq!(
            taken,
            vec![
                (count("slack ip:1", "bad_signature", 7), 3),
                (count("slack ip:1", "bad_signature", 8), 1),
                (count("slack ip:1", "stale_timestamp", 7), 1),
            ]
        );
        assert!(tally.take().is_empty(), "taken means gone");
    }

    #[test]
    fn past_the_bound_new_sources_are_counted_together() {
        let mut tally = Tally::default();
        for n in 0..MAX_SOURCES {
            tally.add(count(&format!("slack ip:{n}"), "bad_signature", 1), 1);
        }
        tally.add(count("slack ip:0", "bad_signature", 1), 1);
        tally.add(count("slack ip:new-1", "bad_signature", 1), 1);
        tally.add(count("slack ip:new-2", "bad_signature", 1), 1);
        let taken = tally.take();
        assert_eq!(taken.len(), MAX_SOURCES + 1, "bounded");
        let of = |source: &str| {
            taken
                .iter()
                .find(|(c, _)| c.source == source)
                .map(|(_, n)| *n)
        };
        assert_eq!(
            of("slack ip:0"),
            Some(2),
            "a known source keeps its own count"
        );
        assert_eq!(of(OVERFLOW_SOURCE), Some(2));
    }

    #[test]
    fn a_count_never_overflows() {
        let mut tally = Tally::default();
        tally.add(count("s", "r", 1), u64::MAX);
        tally.add(count("s", "r", 1), 5);
        assert_eq!(tally.take()[0].1, u64::MAX);
    }

    #[test]
    fn a_count_adds_to_its_metric_by_provider_and_reason_only() {
        let rejected = count("slack:app_1 ip:203.0.113.9", "bad_signature", 1);
        assert_eq!(
            rejected.increment(3),
            Increment::new(Metric::Rejected, Provider::Slack, "bad_signature", 3)
        );
        let duplicate = Count {
            reason: "duplicate",
            metric: Metric::Duplicates,
            ..rejected
        };
        assert_eq!(
            duplicate.increment(2),
            Increment::new(Metric::Duplicates, Provider::Slack, "", 2)
        );
    }
}
