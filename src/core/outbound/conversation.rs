//! One conversation's outbound queue: what its Durable Object stores and decides.
//!
//! # What's in scope
//! - Order: messages are sent in the order they were accepted. A message whose text is still
//!   streaming (`final: false`) holds back the messages after it, so the parts of a long
//!   answer never interleave with the next one.
//! - Pacing and coalescing: at most one provider call per [`super::Sender::interval_ms`], so
//!   however often the runtime replaces a streamed text, the provider sees at most one edit
//!   per interval, and always the last text.
//! - Splitting: a text longer than the provider takes goes as several messages ([`Op::Send`]
//!   per part, [`Op::Edit`] when a part changes). A provider that cannot edit gets a stream
//!   once, when it is final ([`Behaviour::edits`]).
//! - Marking the answered message read once the first reply to it is sent, where the provider
//!   has read receipts ([`Op::MarkRead`]).
//! - Failures ([`Outcome`]): a `429` waits its `Retry-After`; a provider error or unreachable
//!   provider is retried with backoff up to [`MAX_ATTEMPTS`], then the message is dead-lettered;
//!   a refusal fails it; a send that timed out after it may have landed is `unknown` and is
//!   never sent again ([`Conversation::recover`] does the same for a call cut short by an
//!   eviction), so a provider message is never made twice.
//! - Deletion, dropping everything on revocation, and forgetting ended messages.
//!
//! # What's out of scope
//! Rendering (a `render` function is passed in), HTTP, storage, the clock (`now` in
//! milliseconds is an argument).

use super::{Failure, Status, Target};
use serde::{Deserialize, Serialize};

/// Failed attempts of one call before its message is dead-lettered.
pub const MAX_ATTEMPTS: u32 = 6;
/// Messages a conversation holds that have not ended; past it new ones are refused.
pub const MAX_PENDING: usize = 200;
/// How long an ended or fully sent message is kept (for `PATCH`, `DELETE` and status), ms.
pub const KEEP_MS: u64 = 24 * 3600 * 1000;
/// How often a typing indicator is repeated while a stream has no text yet, ms.
pub const TYPING_EVERY_MS: u64 = 4_000;
/// A stream that gets no `PATCH` for this long is taken as final, ms.
pub const STREAM_IDLE_MS: u64 = 10 * 60 * 1000;
/// Longest wait between retries, ms.
const MAX_BACKOFF_MS: u64 = 60_000;

/// The queue of one conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    /// Messages in the order they were accepted.
    pub messages: Vec<Message>,
    /// No provider call before this time, ms.
    pub next_call_at: u64,
    /// When a typing indicator was last sent, ms.
    pub typing_at: u64,
    /// The call being made, stored before it is made: found again after an eviction, it was
    /// cut short ([`Conversation::recover`]).
    pub in_flight: Option<Call>,
    /// The answered message last marked read: several replies to one message mark it once.
    #[serde(default)]
    pub marked_read: Option<String>,
}

/// One message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Its id (`msg_…`).
    pub id: String,
    /// Where it goes.
    pub target: Target,
    /// The text wanted now.
    pub text: String,
    /// False while it streams.
    pub is_final: bool,
    /// Deletion was asked for.
    pub delete: bool,
    /// The provider messages it went out as, in order.
    pub parts: Vec<Part>,
    /// Where it is.
    pub status: Status,
    /// Calls made for it.
    pub attempts: u32,
    /// Consecutive failures of its current call.
    pub failures: u32,
    /// No call for it before this time, ms (after a failure).
    pub retry_at: u64,
    /// Why it failed.
    pub failure: Option<Failure>,
    /// Its last change, ms.
    pub updated_at: u64,
    /// The answered message was marked read.
    #[serde(default)]
    pub read: bool,
}

/// What a provider's messages can do, as the queue needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Behaviour {
    /// A sent message can be edited; without, a stream goes once, when final.
    pub edits: bool,
    /// A stream shows a typing indicator before its first text.
    pub typing: bool,
    /// The answered message is marked read when the first reply is sent (and a typing
    /// indicator marks it read too).
    pub marks_read: bool,
}

/// One provider message a message went out as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// The provider's id for it (Slack `ts`, Telegram `message_id`).
    pub provider_id: String,
    /// The rendered text it shows.
    pub text: String,
}

/// One provider operation. Stored externally tagged (`{"send": {…}}`, `"typing"`); a call
/// stored before that, internally tagged (`{"op": "send", …}`), is still read ([`read_op`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Send part `part` with `text`.
    Send {
        /// The part's index.
        part: usize,
        /// Its rendered text.
        text: String,
    },
    /// Replace the text of part `part`.
    Edit {
        /// The part's index.
        part: usize,
        /// Its provider id.
        provider_id: String,
        /// The new rendered text.
        text: String,
    },
    /// Delete part `part`.
    Delete {
        /// The part's index.
        part: usize,
        /// Its provider id.
        provider_id: String,
    },
    /// Show that an answer is being written.
    Typing,
    /// Mark the answered message read.
    MarkRead,
}

/// A call to make: an operation for a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    /// The message.
    pub message_id: String,
    /// Where it goes.
    pub target: Target,
    /// What to do.
    #[serde(deserialize_with = "read_op")]
    pub op: Op,
}

/// Reads an [`Op`] in either stored form. (Through `serde_json::Value` rather than an
/// internally tagged enum, whose buffering deserializer would cost the Wasm ~16 KB.)
fn read_op<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Op, D::Error> {
    use serde::de::Error;
    use serde_json::Value;
    let mut value = Value::deserialize(deserializer)?;
    let old_tag = value
        .as_object_mut()
        .and_then(|object| object.remove("op"))
        .and_then(|tag| tag.as_str().map(str::to_owned));
    if let Some(tag) = old_tag {
        value = match value.as_object().is_some_and(|fields| fields.is_empty()) {
            true => Value::String(tag),
            false => serde_json::json!({ tag: value }),
        };
    }
    serde_json::from_value(value).map_err(D::Error::custom)
}

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Make this call now.
    Call(Box<Call>),
    /// Nothing before this time, ms.
    At(u64),
    /// Nothing until a command arrives.
    Idle,
}

/// What a provider call came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Done; a send names the provider's id of the new message.
    Done {
        /// The new message's id (sends only).
        provider_id: Option<String>,
    },
    /// `429`: wait this long, ms, then try again (not a failure).
    RateLimited {
        /// How long, ms.
        after_ms: u64,
    },
    /// A provider error or no connection: try again later.
    Retry {
        /// Why, in plain words.
        reason: String,
    },
    /// No answer in time after the request may have landed.
    TimedOut {
        /// Why, in plain words.
        reason: String,
    },
    /// Refused for good.
    Failed(Failure),
}

/// A message to add.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewQueued {
    /// Its id.
    pub id: String,
    /// Where it goes.
    pub target: Target,
    /// Its text.
    pub text: String,
    /// False to open a stream.
    pub is_final: bool,
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// The conversation holds [`MAX_PENDING`] messages that have not ended.
    #[error(
        "the conversation already has {MAX_PENDING} messages waiting; retry once they are sent"
    )]
    Full,
    /// No such message here (never accepted, or forgotten after [`KEEP_MS`]).
    #[error("the message is no longer held for changes")]
    Gone,
    /// The message has ended and cannot change.
    #[error("the message is {status} and cannot change", status = .0.as_str())]
    Ended(Status),
}

impl From<CommandError> for crate::core::api_error::ApiError {
    fn from(error: CommandError) -> Self {
        use crate::core::api_error::ApiError;
        match error {
            CommandError::Full => ApiError::TooManyRequests {
                message: error.to_string(),
                retry_after_seconds: 5,
            },
            CommandError::Gone | CommandError::Ended(_) => ApiError::Conflict {
                message: error.to_string(),
            },
        }
    }
}

/// A message's receipt changed: what the API shows of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The message.
    pub id: String,
    /// Its status.
    pub status: Status,
    /// Whether its text is final.
    pub is_final: bool,
    /// Its provider ids, in order.
    pub provider_ids: Vec<String>,
    /// Calls made for it.
    pub attempts: u32,
    /// Why it failed.
    pub failure: Option<Failure>,
}

impl Op {
    /// The name a message's attempt log shows for this call, for the calls that change a
    /// message at the provider (`send`, `edit`, `delete`); `None` for typing and read receipts.
    pub fn logged_name(&self) -> Option<&'static str> {
        match self {
            Op::Send { .. } => Some("send"),
            Op::Edit { .. } => Some("edit"),
            Op::Delete { .. } => Some("delete"),
            Op::Typing | Op::MarkRead => None,
        }
    }
}

impl Outcome {
    /// The outcome as the attempt log shows it: `done`, `rate_limited`, `retry`, `timed_out`,
    /// or a refusal's failure code.
    pub fn code(&self) -> &str {
        match self {
            Outcome::Done { .. } => "done",
            Outcome::RateLimited { .. } => "rate_limited",
            Outcome::Retry { .. } => "retry",
            Outcome::TimedOut { .. } => "timed_out",
            Outcome::Failed(failure) => &failure.code,
        }
    }
}

/// What finished calls add to the outbound metrics: `sent` for a message whose first part
/// arrived (a `Send` of part 0 that left it sent), `failed` for each message that ended failed,
/// unknown or dead-lettered. `op` is the call's (`None` for changes made without a call, such as
/// dropping what a revocation stranded).
pub fn metric_outcomes(op: Option<&Op>, changed: &[Receipt]) -> Vec<&'static str> {
    let first_send = matches!(op, Some(Op::Send { part: 0, .. }));
    changed
        .iter()
        .filter_map(|receipt| match receipt.status {
            Status::Sent if first_send && receipt.provider_ids.len() == 1 => Some("sent"),
            Status::Failed | Status::Unknown | Status::DeadLettered => Some("failed"),
            _ => None,
        })
        .collect()
}

impl Message {
    /// True when nothing more is owed for it: it ended, or its final text was delivered.
    fn is_settled(&self) -> bool {
        self.status.has_ended() || (self.status == Status::Sent && self.is_final)
    }

    fn receipt(&self) -> Receipt {
        Receipt {
            id: self.id.clone(),
            status: self.status,
            is_final: self.is_final,
            provider_ids: self.parts.iter().map(|p| p.provider_id.clone()).collect(),
            attempts: self.attempts,
            failure: self.failure.clone(),
        }
    }

    /// The next operation that brings the provider in line with this message, if any.
    fn pending_op(&self, render: &dyn Fn(&str) -> Vec<String>, behaviour: Behaviour) -> Option<Op> {
        if self.delete {
            return self.last_part_deletion();
        }
        if !behaviour.edits && !self.is_final {
            return None;
        }
        let wanted = render(&self.text);
        for (part, text) in wanted.iter().enumerate() {
            match self.parts.get(part) {
                None => {
                    return Some(Op::Send {
                        part,
                        text: text.clone(),
                    })
                }
                Some(sent) if sent.text != *text && behaviour.edits => {
                    return Some(Op::Edit {
                        part,
                        provider_id: sent.provider_id.clone(),
                        text: text.clone(),
                    })
                }
                Some(_) => {}
            }
        }
        if behaviour.edits && self.is_final && self.parts.len() > wanted.len() {
            return self.last_part_deletion();
        }
        let unread = behaviour.marks_read && !self.read && self.target.message_id.is_some();
        (unread && !self.parts.is_empty()).then_some(Op::MarkRead)
    }

    fn last_part_deletion(&self) -> Option<Op> {
        let part = self.parts.len().checked_sub(1)?;
        let provider_id = self.parts.get(part)?.provider_id.clone();
        Some(Op::Delete { part, provider_id })
    }

    fn fail(&mut self, status: Status, code: &str, reason: String) {
        self.status = status;
        self.failure = Some(Failure {
            code: code.to_owned(),
            reason,
        });
    }
}

/// The wait after `failures` consecutive failures: 1 s, doubling, at most a minute.
pub fn backoff_ms(failures: u32) -> u64 {
    1000u64
        .saturating_mul(1u64 << failures.saturating_sub(1).min(16))
        .min(MAX_BACKOFF_MS)
}

impl Conversation {
    /// Adds `message` at `now` (ms). A message already here (a retried request) is left as it
    /// is. Returns its receipt.
    pub fn enqueue(&mut self, message: NewQueued, now: u64) -> Result<Receipt, CommandError> {
        if let Some(known) = self.messages.iter().find(|m| m.id == message.id) {
            return Ok(known.receipt());
        }
        let pending = self
            .messages
            .iter()
            .filter(|m| !m.status.has_ended())
            .count();
        if pending >= MAX_PENDING {
            return Err(CommandError::Full);
        }
        let message = Message {
            id: message.id,
            target: message.target,
            text: message.text,
            is_final: message.is_final,
            delete: false,
            parts: Vec::new(),
            status: Status::Queued,
            attempts: 0,
            failures: 0,
            retry_at: 0,
            failure: None,
            updated_at: now,
            read: false,
        };
        let receipt = message.receipt();
        self.messages.push(message);
        Ok(receipt)
    }

    /// Replaces message `id`'s text (`is_final` false while it streams).
    pub fn edit(
        &mut self,
        id: &str,
        text: String,
        is_final: bool,
        now: u64,
    ) -> Result<Receipt, CommandError> {
        let message = self.open_message(id)?;
        message.text = text;
        message.is_final = is_final;
        message.updated_at = now;
        Ok(message.receipt())
    }

    /// Asks for message `id` to be deleted (at once when nothing of it was sent).
    pub fn delete(&mut self, id: &str, now: u64) -> Result<Receipt, CommandError> {
        let message = self.open_message(id)?;
        message.delete = true;
        message.is_final = true;
        message.updated_at = now;
        if message.parts.is_empty() {
            message.status = Status::Deleted;
        }
        Ok(message.receipt())
    }

    fn open_message(&mut self, id: &str) -> Result<&mut Message, CommandError> {
        let message = self
            .messages
            .iter_mut()
            .find(|m| m.id == id)
            .ok_or(CommandError::Gone)?;
        if message.status.has_ended() {
            return Err(CommandError::Ended(message.status));
        }
        Ok(message)
    }

    /// After a restart: a call found in flight was cut short. A send may have landed, so its
    /// message becomes `unknown` (never sent twice); another call is simply made again.
    /// Returns the receipts that changed.
    pub fn recover(&mut self, now: u64) -> Vec<Receipt> {
        let Some(call) = self.in_flight.take() else {
            return Vec::new();
        };
        if !matches!(call.op, Op::Send { .. }) {
            return Vec::new();
        }
        self.with_message(&call.message_id, now, |message| {
            message.fail(
                Status::Unknown,
                "interrupted",
                "the send was interrupted before the provider answered; it was not sent again"
                    .into(),
            );
        })
    }

    /// What to do at `now` (ms), with `render` splitting a text into provider messages, for a
    /// provider that behaves as `behaviour` says.
    pub fn next(
        &self,
        now: u64,
        render: &dyn Fn(&str) -> Vec<String>,
        behaviour: Behaviour,
    ) -> Next {
        if self.in_flight.is_some() {
            return Next::Idle;
        }
        let not_before = self.next_call_at;
        for message in self.messages.iter().filter(|m| !m.status.has_ended()) {
            if message.retry_at > now {
                return Next::At(message.retry_at.max(not_before));
            }
            let op = message.pending_op(render, behaviour).filter(|op| {
                !(*op == Op::MarkRead && self.marked_read == message.target.message_id)
            });
            if let Some(op) = op {
                return self.call_at(message, op, now);
            }
            if message.is_final {
                continue;
            }
            // A stream with nothing new holds the messages after it.
            let idle_at = message.updated_at.saturating_add(STREAM_IDLE_MS);
            // A provider whose typing indicator marks the answered message read needs one.
            let can_type = !behaviour.marks_read || message.target.message_id.is_some();
            if behaviour.typing && can_type && message.parts.is_empty() {
                let due = self.typing_at.saturating_add(TYPING_EVERY_MS);
                if due <= now {
                    return self.call_at(message, Op::Typing, now);
                }
                return Next::At(due.min(idle_at).max(not_before));
            }
            return Next::At(idle_at);
        }
        Next::Idle
    }

    fn call_at(&self, message: &Message, op: Op, now: u64) -> Next {
        if now < self.next_call_at {
            return Next::At(self.next_call_at);
        }
        Next::Call(Box::new(Call {
            message_id: message.id.clone(),
            target: message.target.clone(),
            op,
        }))
    }

    /// Records that `call` is being made (store this before making it).
    pub fn begin(&mut self, call: Call) {
        self.in_flight = Some(call);
    }

    /// Applies the outcome of the call in flight at `now` (ms); the next call waits
    /// `interval_ms` (or the provider's `Retry-After`). Returns the receipts that changed.
    pub fn finish(&mut self, outcome: Outcome, now: u64, interval_ms: u64) -> Vec<Receipt> {
        let Some(call) = self.in_flight.take() else {
            return Vec::new();
        };
        self.next_call_at = now.saturating_add(interval_ms);
        if let Outcome::RateLimited { after_ms } = outcome {
            self.next_call_at = now.saturating_add(after_ms.max(interval_ms));
            return Vec::new();
        }
        // A typing indicator or read receipt that fails is not worth a retry; neither touches
        // the receipt or the stream's idle clock.
        let marked = matches!(call.op, Op::MarkRead)
            || (call.op == Op::Typing && matches!(outcome, Outcome::Done { .. }));
        if matches!(call.op, Op::Typing | Op::MarkRead) {
            if call.op == Op::Typing {
                self.typing_at = now;
            }
            if let Some(message) = self.messages.iter_mut().find(|m| m.id == call.message_id) {
                message.read |= marked;
            }
            if marked {
                self.marked_read = call.target.message_id;
            }
            return Vec::new();
        }
        self.with_message(&call.message_id, now, |message| {
            message.attempts = message.attempts.saturating_add(1);
            apply(message, &call.op, outcome, now);
        })
    }

    /// Ends every message that has not ended: its installation, binding or org was revoked.
    /// Returns their receipts.
    pub fn drop_all(&mut self, code: &str, reason: &str, now: u64) -> Vec<Receipt> {
        self.in_flight = None;
        self.messages
            .iter_mut()
            .filter(|m| !m.is_settled())
            .map(|message| {
                message.fail(Status::Failed, code, reason.to_owned());
                message.updated_at = now;
                message.receipt()
            })
            .collect()
    }

    /// Ends streams that got no `PATCH` for [`STREAM_IDLE_MS`] (their text so far is final) and
    /// forgets messages that ended, or were fully sent, more than [`KEEP_MS`] ago.
    pub fn tidy(&mut self, now: u64) {
        for message in &mut self.messages {
            if !message.is_final && message.updated_at.saturating_add(STREAM_IDLE_MS) <= now {
                message.is_final = true;
                if message.text.trim().is_empty() && message.parts.is_empty() {
                    message.fail(
                        Status::Failed,
                        "empty",
                        "the stream ended without text".into(),
                    );
                }
            }
        }
        self.messages
            .retain(|m| !(m.is_settled() && m.updated_at.saturating_add(KEEP_MS) <= now));
    }

    /// The message `id`, if held.
    pub fn message(&self, id: &str) -> Option<&Message> {
        self.messages.iter().find(|m| m.id == id)
    }

    fn with_message(
        &mut self,
        id: &str,
        now: u64,
        change: impl FnOnce(&mut Message),
    ) -> Vec<Receipt> {
        match self.messages.iter_mut().find(|m| m.id == id) {
            Some(message) => {
                change(message);
                message.updated_at = now;
                vec![message.receipt()]
            }
            None => Vec::new(),
        }
    }
}

/// What `outcome` of `op` does to `message`.
fn apply(message: &mut Message, op: &Op, outcome: Outcome, now: u64) {
    match outcome {
        Outcome::Done { provider_id } => {
            message.failures = 0;
            message.retry_at = 0;
            message.failure = None;
            done(message, op, provider_id);
        }
        Outcome::TimedOut { reason } if matches!(op, Op::Send { .. }) => {
            message.fail(Status::Unknown, "timeout", reason);
        }
        Outcome::Retry { reason } | Outcome::TimedOut { reason } => {
            message.failures = message.failures.saturating_add(1);
            if message.failures >= MAX_ATTEMPTS {
                message.fail(Status::DeadLettered, "provider_unavailable", reason);
            } else {
                // Shown while it waits, so a caller sees why it has not arrived yet.
                message.failure = Some(Failure {
                    code: "retrying".to_owned(),
                    reason,
                });
                message.retry_at = now.saturating_add(backoff_ms(message.failures));
            }
        }
        Outcome::Failed(failure) => {
            message.status = Status::Failed;
            message.failure = Some(failure);
        }
        Outcome::RateLimited { .. } => {}
    }
}

/// A successful `op`.
fn done(message: &mut Message, op: &Op, provider_id: Option<String>) {
    match op {
        Op::Send { part, text } => {
            // A provider that names no id for a message (a Standard Webhooks callback) is
            // given channel-edge's own.
            let provider_id = provider_id.unwrap_or_else(|| format!("{}.{part}", message.id));
            message.parts.push(Part {
                provider_id,
                text: text.clone(),
            });
            if message.status == Status::Queued {
                message.status = Status::Sent;
            }
        }
        Op::Edit { part, text, .. } => {
            if let Some(sent) = message.parts.get_mut(*part) {
                sent.text = text.clone();
            }
        }
        Op::Delete { part, .. } => {
            if *part < message.parts.len() {
                message.parts.remove(*part);
            }
            if message.delete && message.parts.is_empty() {
                message.status = Status::Deleted;
            }
        }
        Op::Typing | Op::MarkRead => {}
    }
}

#[cfg(test)]
#[path = "conversation_test.rs"]
mod tests;
