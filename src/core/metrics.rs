//! Operational metrics: what is counted, and the Prometheus text exposition of the counters.
//!
//! # What's in scope
//! - [`Metric`]: every counter, with its fixed, small label set (a provider and at most one
//!   reason, outcome or histogram bucket; never an installation, so cardinality stays bounded
//!   at any number of installations).
//! - [`Increment`]: one addition to a counter, as the edge writes it to D1's `metrics` table
//!   (`name`, `provider`, `label`, `value`), where counters only ever increase.
//! - [`latency`]: the increments of one accept → delivered latency observation.
//! - [`render`]: the `text/plain; version=0.0.4` exposition of the stored rows.
//!
//! # What's out of scope
//! Where counts come from (the queue consumer, the rejection tally's flush, the conversation
//! Durable Object) and storage (the edge's `store::metrics`).

use crate::core::tenancy::Provider;
use std::fmt::Write;

/// One counter family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Metric {
    /// Events accepted by the ingress (counted when the queue consumer first sees them).
    Accepted,
    /// Provider retries and re-sends dropped as duplicates.
    Duplicates,
    /// Webhook requests refused, by reason (`bad_signature`, `unknown_or_revoked`, …).
    Rejected,
    /// Events dropped by sender policy or a revocation, by reason.
    Dropped,
    /// Delivery attempts to the agent runtime, by outcome (`delivered`, `failed`,
    /// `dead_lettered`, `held`).
    Deliveries,
    /// Accept → delivered latency, by histogram bucket.
    DeliveryLatency,
    /// Outbound messages, by outcome (`sent`, `failed`).
    Outbound,
}

impl Metric {
    /// Every family, in exposition order.
    pub const ALL: [Metric; 7] = [
        Metric::Accepted,
        Metric::Duplicates,
        Metric::Rejected,
        Metric::Dropped,
        Metric::Deliveries,
        Metric::DeliveryLatency,
        Metric::Outbound,
    ];

    /// The stored name (the exposition's, without `_total` or the histogram suffixes).
    pub fn name(self) -> &'static str {
        match self {
            Metric::Accepted => "channel_edge_events_accepted",
            Metric::Duplicates => "channel_edge_events_duplicate",
            Metric::Rejected => "channel_edge_webhooks_rejected",
            Metric::Dropped => "channel_edge_events_dropped",
            Metric::Deliveries => "channel_edge_deliveries",
            Metric::DeliveryLatency => "channel_edge_delivery_latency_seconds",
            Metric::Outbound => "channel_edge_outbound_messages",
        }
    }

    /// The second label's name, if the family has one besides `provider`.
    fn label(self) -> Option<&'static str> {
        match self {
            Metric::Accepted | Metric::Duplicates => None,
            Metric::Rejected | Metric::Dropped => Some("reason"),
            Metric::Deliveries | Metric::Outbound => Some("outcome"),
            Metric::DeliveryLatency => Some("le"),
        }
    }

    fn help(self) -> &'static str {
        match self {
            Metric::Accepted => "Events accepted at the webhook ingress and queued.",
            Metric::Duplicates => "Events dropped as duplicates of one already queued.",
            Metric::Rejected => "Webhook requests refused, by reason.",
            Metric::Dropped => "Events dropped by sender policy or a revocation, by reason.",
            Metric::Deliveries => "Delivery attempts to the agent runtime, by outcome.",
            Metric::DeliveryLatency => "Seconds from an event's acceptance to its delivery.",
            Metric::Outbound => "Outbound messages sent to providers, by outcome.",
        }
    }

    fn parse(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|metric| metric.name() == name)
    }
}

/// One addition to a counter.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Increment {
    /// The family.
    pub metric: Metric,
    /// The provider.
    pub provider: Provider,
    /// The second label's value ("" for a family without one; [`SUM_LABEL`] for the latency sum).
    pub label: &'static str,
    /// How much to add (milliseconds for [`SUM_LABEL`]).
    pub value: u64,
}

impl Increment {
    /// `value` more of `metric` for `provider` with `label`.
    pub fn new(metric: Metric, provider: Provider, label: &'static str, value: u64) -> Self {
        Increment {
            metric,
            provider,
            label,
            value,
        }
    }
}

/// Adds up increments of the same counter (one stored upsert each).
pub fn merge(increments: impl IntoIterator<Item = Increment>) -> Vec<Increment> {
    let mut merged: std::collections::BTreeMap<(Metric, Provider, &'static str), u64> =
        Default::default();
    for i in increments {
        let total = merged.entry((i.metric, i.provider, i.label)).or_default();
        *total = total.saturating_add(i.value);
    }
    merged
        .into_iter()
        .map(|((metric, provider, label), value)| Increment::new(metric, provider, label, value))
        .collect()
}

/// The latency histogram's bucket bounds: (label, upper bound in milliseconds).
pub const LATENCY_BUCKETS: [(&str, u64); 12] = [
    ("0.1", 100),
    ("0.25", 250),
    ("0.5", 500),
    ("1", 1_000),
    ("2.5", 2_500),
    ("5", 5_000),
    ("10", 10_000),
    ("30", 30_000),
    ("60", 60_000),
    ("300", 300_000),
    ("900", 900_000),
    ("3600", 3_600_000),
];

/// The stored label of observations above every bound.
const OVERFLOW_BUCKET: &str = "+Inf";
/// The stored label of the latency sum, in milliseconds.
pub const SUM_LABEL: &str = "sum_ms";

/// The increments of one delivery `latency_ms` after acceptance: its bucket and the sum. Buckets
/// are stored as counts per bucket; [`render`] makes them cumulative.
pub fn latency(provider: Provider, latency_ms: u64) -> [Increment; 2] {
    let bucket = LATENCY_BUCKETS
        .iter()
        .find(|(_, bound)| latency_ms <= *bound)
        .map_or(OVERFLOW_BUCKET, |(label, _)| label);
    [
        Increment::new(Metric::DeliveryLatency, provider, bucket, 1),
        Increment::new(Metric::DeliveryLatency, provider, SUM_LABEL, latency_ms),
    ]
}

/// One stored counter, as read back.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Row {
    /// [`Metric::name`].
    pub name: String,
    /// The provider.
    pub provider: String,
    /// The second label's value.
    pub label: String,
    /// The total.
    pub value: u64,
}

/// The Prometheus text exposition (format 0.0.4) of `rows`, which come sorted by provider and
/// label: every family's `HELP` and `TYPE`, then its series. Rows of unknown families are left
/// out.
pub fn render(rows: &[Row]) -> String {
    let mut out = String::new();
    for metric in Metric::ALL {
        let mine: Vec<&Row> = rows
            .iter()
            .filter(|row| Metric::parse(&row.name) == Some(metric))
            .collect();
        if metric == Metric::DeliveryLatency {
            let name = metric.name();
            let _ = writeln!(out, "# HELP {name} {}", metric.help());
            let _ = writeln!(out, "# TYPE {name} histogram");
            render_histogram(&mut out, name, &mine);
            continue;
        }
        // In the 0.0.4 text format a counter's family is named with its `_total`.
        let name = format!("{}_total", metric.name());
        let _ = writeln!(out, "# HELP {name} {}", metric.help());
        let _ = writeln!(out, "# TYPE {name} counter");
        for row in mine {
            let labels = match metric.label() {
                Some(label) => format!(
                    "provider=\"{}\",{label}=\"{}\"",
                    escape(&row.provider),
                    escape(&row.label)
                ),
                None => format!("provider=\"{}\"", escape(&row.provider)),
            };
            let _ = writeln!(out, "{name}{{{labels}}} {}", row.value);
        }
    }
    out
}

/// A histogram's `_bucket` (cumulative, ending with `+Inf`), `_sum` (seconds) and `_count` series
/// per provider.
fn render_histogram(out: &mut String, name: &str, rows: &[&Row]) {
    let mut providers: Vec<&str> = rows.iter().map(|row| row.provider.as_str()).collect();
    providers.dedup();
    for provider in providers {
        let of = |label: &str| {
            rows.iter()
                .filter(|row| row.provider == provider && row.label == label)
                .map(|row| row.value)
                .sum::<u64>()
        };
        let provider = escape(provider);
        let mut cumulative = 0u64;
        let bounds = LATENCY_BUCKETS.iter().map(|(label, _)| *label);
        for label in bounds.chain([OVERFLOW_BUCKET]) {
            cumulative = cumulative.saturating_add(of(label));
            let _ = writeln!(
                out,
                "{name}_bucket{{provider=\"{provider}\",le=\"{label}\"}} {cumulative}"
            );
        }
        let sum_ms = of(SUM_LABEL);
        let _ = writeln!(
            out,
            "{name}_sum{{provider=\"{provider}\"}} {}.{:03}",
            sum_ms / 1000,
            sum_ms % 1000
        );
        let _ = writeln!(out, "{name}_count{{provider=\"{provider}\"}} {cumulative}");
    }
}

/// A label value escaped for the exposition (backslash, double quote, line feed).
fn escape(value: &str) -> String {
    value
        .replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

#[cfg(test)]
#[path = "metrics_test.rs"]
mod tests;
