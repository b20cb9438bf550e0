//! The delivery log: what happened to each envelope after the ingress queued it, what it counts
//! towards the metrics, how long its content is kept, and when it may be sent again.
//!
//! # What's in scope
//! - [`Outcome`]: what one queue batch did with one envelope, and from it the log's [`Status`],
//!   the attempt row, what happens to the kept content ([`Keep`]) and the metric increments.
//! - [`Retention`]: how long rows and content are kept (Worker vars, with defaults).
//! - [`LogQuery`]: the filters and cursor of `GET /v1/deliveries`, `/v1/dead-letters` and
//!   `/v1/messages`.
//! - [`check_resend`]: whether an envelope may be re-driven or replayed.
//!
//! # What's out of scope
//! The writes (one D1 batch per queue batch, `edge::store::deliveries`), sealing (the edge
//! seals kept content with [`crate::core::seal`]) and the HTTP call.

use crate::core::admin::{FilterValues, ListQuery};
use crate::core::api_error::ApiError;
use crate::core::metrics::{self, Increment, Metric};
use crate::core::queue_message::Again;
use crate::core::tenancy::Provider;

/// Where an envelope stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Sent again by an operator, waiting in the queue.
    Queued,
    /// Held in the queue while delivery is paused (the `delivery` rollout flag).
    Held,
    /// Its last attempt failed; the queue retries it.
    Retrying,
    /// The runtime acknowledged it.
    Delivered,
    /// Its retries were exhausted.
    DeadLettered,
    /// Dropped because what it came through was revoked or switched off after it was queued.
    Dropped,
}

impl Status {
    /// Every status, as the API documents them.
    pub const ALL: [Status; 6] = [
        Status::Queued,
        Status::Held,
        Status::Retrying,
        Status::Delivered,
        Status::DeadLettered,
        Status::Dropped,
    ];

    /// The status's name (the `status` column and field).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Held => "held",
            Status::Retrying => "retrying",
            Status::Delivered => "delivered",
            Status::DeadLettered => "dead_lettered",
            Status::Dropped => "dropped",
        }
    }
}

/// What a queue batch did with one envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The runtime answered 2xx (`status`) after `latency_ms`.
    Delivered {
        /// The runtime's status.
        status: u16,
        /// How long the attempt took.
        latency_ms: u64,
    },
    /// The attempt failed: the runtime's status (0 without an answer), a reason code, its time.
    Failed {
        /// The runtime's status, 0 when it did not answer.
        status: u16,
        /// `runtime_refused`, `unreachable` or `unsigned`.
        reason: &'static str,
        /// How long the attempt took.
        latency_ms: u64,
    },
    /// Held while delivery is paused.
    Held,
    /// Dropped for a revocation or switch ([`crate::core::delivery::Stale::code`]).
    Dropped(&'static str),
    /// Moved to the dead-letter queue after its last retry.
    DeadLettered,
}

/// What happens to an envelope's kept content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Seal it and keep it this many seconds (so it can be sent again).
    For(u64),
    /// Delete it.
    Clear,
    /// Leave whatever is kept as it is.
    Unchanged,
}

impl Outcome {
    /// The envelope's status afterwards.
    pub fn status(self) -> Status {
        match self {
            Outcome::Delivered { .. } => Status::Delivered,
            Outcome::Failed { .. } => Status::Retrying,
            Outcome::Held => Status::Held,
            Outcome::Dropped(_) => Status::Dropped,
            Outcome::DeadLettered => Status::DeadLettered,
        }
    }

    /// The attempt it records: the runtime's status, the reason of a failure and the latency.
    pub fn attempt(self) -> Option<(u16, Option<&'static str>, u64)> {
        match self {
            Outcome::Delivered { status, latency_ms } => Some((status, None, latency_ms)),
            Outcome::Failed {
                status,
                reason,
                latency_ms,
            } => Some((status, Some(reason), latency_ms)),
            Outcome::Held | Outcome::Dropped(_) | Outcome::DeadLettered => None,
        }
    }

    /// The reason it records (a failure's or a drop's).
    pub fn reason(self) -> Option<&'static str> {
        match self {
            Outcome::Failed { reason, .. } | Outcome::Dropped(reason) => Some(reason),
            _ => None,
        }
    }

    /// What happens to the kept content: a delivered envelope is kept for replay, a dead letter
    /// for re-drive (each for its retention; 0 keeps nothing), a dropped one is not kept; while
    /// it is still in the queue nothing changes.
    pub fn keep(self, retention: &Retention) -> Keep {
        let keep_for = |seconds| match seconds {
            0 => Keep::Clear,
            seconds => Keep::For(seconds),
        };
        match self {
            Outcome::Delivered { .. } => keep_for(retention.replay_seconds),
            Outcome::DeadLettered => keep_for(retention.dead_letter_seconds),
            Outcome::Dropped(_) => Keep::Clear,
            Outcome::Failed { .. } | Outcome::Held => Keep::Unchanged,
        }
    }

    /// What it adds to the metrics (acceptance is counted apart, when the log first sees the
    /// envelope); `latency_ms` is from acceptance to now, observed for a first delivery (not a
    /// re-drive or replay) whose acceptance time is known.
    pub fn increments(
        self,
        provider: Provider,
        again: Option<Again>,
        latency_ms: Option<u64>,
    ) -> Vec<Increment> {
        let deliveries = |outcome| vec![Increment::new(Metric::Deliveries, provider, outcome, 1)];
        match self {
            Outcome::Delivered { .. } => {
                let mut increments = deliveries("delivered");
                if let (None, Some(latency_ms)) = (again, latency_ms) {
                    increments.extend(metrics::latency(provider, latency_ms));
                }
                increments
            }
            Outcome::Failed { .. } => deliveries("failed"),
            Outcome::Held => deliveries("held"),
            Outcome::DeadLettered => deliveries("dead_lettered"),
            Outcome::Dropped(reason) => vec![Increment::new(Metric::Dropped, provider, reason, 1)],
        }
    }
}

/// How long the log keeps things, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Log rows and attempts (`DELIVERY_LOG_RETENTION_SECONDS`, default 7 days).
    pub log_seconds: u64,
    /// A dead letter's content (`DEAD_LETTER_RETENTION_SECONDS`, default 7 days; 0 keeps none).
    pub dead_letter_seconds: u64,
    /// A delivered envelope's content, for replay (`DELIVERY_REPLAY_SECONDS`, default 24 h; 0:
    /// no replay).
    pub replay_seconds: u64,
}

/// The Worker vars of [`Retention`], with their defaults.
pub const RETENTION_VARS: [(&str, u64); 3] = [
    ("DELIVERY_LOG_RETENTION_SECONDS", 7 * 24 * 3600),
    ("DEAD_LETTER_RETENTION_SECONDS", 7 * 24 * 3600),
    ("DELIVERY_REPLAY_SECONDS", 24 * 3600),
];

impl Default for Retention {
    fn default() -> Self {
        let [(_, log_seconds), (_, dead_letter_seconds), (_, replay_seconds)] = RETENTION_VARS;
        Retention {
            log_seconds,
            dead_letter_seconds,
            replay_seconds,
        }
    }
}

impl Retention {
    /// Reads the vars through `var` (`None` when unset: its default); a value that is not a
    /// number of seconds is an error naming the var.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Retention, String> {
        let [log, dead, replay] = RETENTION_VARS.map(|(name, default)| match var(name) {
            None => Ok(default),
            Some(text) => text
                .trim()
                .parse::<u64>()
                .map_err(|_| format!("{name} must be a number of seconds, not {text:?}")),
        });
        Ok(Retention {
            log_seconds: log?.max(1),
            dead_letter_seconds: dead?,
            replay_seconds: replay?,
        })
    }
}

/// Why an envelope cannot be sent again (409).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResendError {
    /// Re-drive is for dead letters.
    #[error("only a dead letter can be re-driven; this delivery is {0}")]
    NotDeadLettered(&'static str),
    /// Replay is for delivered envelopes.
    #[error("only a delivered envelope can be replayed; this delivery is {0}")]
    NotDelivered(&'static str),
    /// Its content was not kept, or is past its retention.
    #[error(
        "its content is no longer kept (DEAD_LETTER_RETENTION_SECONDS for dead letters, \
         DELIVERY_REPLAY_SECONDS for replays)"
    )]
    ContentGone,
}

impl From<ResendError> for ApiError {
    fn from(error: ResendError) -> Self {
        ApiError::Conflict {
            message: error.to_string(),
        }
    }
}

/// Whether an envelope whose log row has `status` and kept content (`content_kept`: present and
/// within its retention) may be sent again for `again`.
pub fn check_resend(status: &str, content_kept: bool, again: Again) -> Result<(), ResendError> {
    let status = Status::ALL
        .into_iter()
        .find(|s| s.as_str() == status)
        .map_or("unknown", Status::as_str);
    match again {
        Again::Redrive if status != Status::DeadLettered.as_str() => {
            Err(ResendError::NotDeadLettered(status))
        }
        Again::Replay if status != Status::Delivered.as_str() => {
            Err(ResendError::NotDelivered(status))
        }
        _ if !content_kept => Err(ResendError::ContentGone),
        _ => Ok(()),
    }
}

/// A query of a log: `GET /v1/deliveries` (and `/v1/dead-letters`, `POST
/// /v1/dead-letters/redrive`) or `GET /v1/messages`: newest first, rows past the cursor, equal to
/// the filters given, accepted (or created) within `since..until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogQuery {
    /// Rows per page.
    pub limit: u32,
    /// The previous page's last row (its `seq`, or a message's rowid).
    pub cursor: Option<u64>,
    /// Columns (one of the filters' names) and the value each must equal.
    pub equals: Vec<(&'static str, String)>,
    /// At or after.
    pub since: Option<u64>,
    /// Before.
    pub until: Option<u64>,
}

impl LogQuery {
    /// The query parameters of the delivery log besides `limit` and `cursor`.
    pub const DELIVERIES: &'static [(&'static str, FilterValues)] = &[
        ("status", FilterValues::DeliveryStatus),
        ("provider", FilterValues::Provider),
        ("installation_id", FilterValues::Id),
        ("agent_id", FilterValues::Id),
        ("provider_event_id", FilterValues::Id),
        ("since", FilterValues::Seconds),
        ("until", FilterValues::Seconds),
    ];

    /// The query parameters of `GET /v1/messages` besides `limit` and `cursor`.
    pub const MESSAGES: &'static [(&'static str, FilterValues)] = &[
        ("status", FilterValues::MessageStatus),
        ("provider", FilterValues::Provider),
        ("installation_id", FilterValues::Id),
        ("agent_id", FilterValues::Id),
        ("conversation_id", FilterValues::Id),
        ("since", FilterValues::Seconds),
        ("until", FilterValues::Seconds),
    ];

    /// Reads the query with `filters` ([`LogQuery::DELIVERIES`] or [`LogQuery::MESSAGES`]; 400
    /// for anything else).
    pub fn parse<'a>(
        filters: &[(&'static str, FilterValues)],
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<LogQuery, ApiError> {
        let list = ListQuery::parse(filters, pairs)?;
        let cursor = list.page.numeric_cursor()?;
        let mut query = LogQuery {
            limit: list.page.limit,
            cursor,
            equals: Vec::new(),
            since: None,
            until: None,
        };
        for (name, value) in list.filters {
            // Checked as seconds by the filter.
            let seconds = value.parse::<u64>().ok();
            match name {
                "since" => query.since = query.since.max(seconds),
                "until" => query.until = query.until.min(seconds).or(seconds),
                column => query.equals.push((column, value)),
            }
        }
        Ok(query)
    }

    /// The same query limited to dead letters (`/v1/dead-letters`): 400 if it names another
    /// status.
    pub fn dead_letters(mut self) -> Result<LogQuery, ApiError> {
        let dead = Status::DeadLettered.as_str();
        if self
            .equals
            .iter()
            .any(|(column, value)| *column == "status" && value != dead)
        {
            return Err(ApiError::BadRequest {
                message: "dead letters have status dead_lettered".into(),
            });
        }
        self.equals.retain(|(column, _)| *column != "status");
        self.equals.push(("status", dead.to_owned()));
        Ok(self)
    }
}

#[cfg(test)]
#[path = "delivery_log_test.rs"]
mod tests;
