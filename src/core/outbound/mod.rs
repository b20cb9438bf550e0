//! Outbound messages: the agent answers through channel-edge, which holds every provider
//! credential.
//!
//! # What's in scope
//! - The API's bodies: [`NewMessage`] (`POST /v1/messages`) and [`MessageEdit`] (`PATCH`),
//!   validated without storage.
//! - Where a message goes ([`Target`]): from a reply capability ([`Target::from_reply`]), or
//!   started by the agent through a binding ([`Target::explicit`]), and whether the caller may
//!   act for that agent and org ([`check_caller`]).
//! - A message's [`Status`] and [`Failure`], and the receipt the API shows.
//! - The per-conversation queue ([`conversation`]): order, coalesced edits, pacing, retries,
//!   exactly-once sends.
//! - What each provider's API is asked and what its answers mean ([`Sender`], one file per
//!   provider: [`slack`], [`telegram`], [`whatsapp`], [`discord`], [`standard`]), and the
//!   limit across an installation's conversations ([`limiter`]).
//!
//! # What's out of scope
//! HTTP, storage, the Durable Object and opening credentials (the edge), the clock.

pub mod conversation;
pub mod discord;
pub mod email;
pub mod github;
pub mod google_chat;
pub mod instagram;
pub mod limiter;
pub mod line;
pub mod linear;
pub mod messenger;
pub mod slack;
pub mod standard;
pub mod teams;
pub mod telegram;
pub mod twilio;
pub mod whatsapp;

use crate::core::admin::parse;
use crate::core::api_error::ApiError;
use crate::core::auth::Caller;
use crate::core::authority::{self, AuthorityError};
use crate::core::markdown::Format;
use crate::core::reply::ReplyTo;
use crate::core::tenancy::{Provider, Selector};
use serde::{Deserialize, Serialize};

/// The longest text one message may carry, in characters (split into several provider
/// messages at each provider's own limit).
pub const MAX_TEXT_CHARS: usize = 32_000;
/// The longest idempotency key.
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 200;
/// How long an idempotency key is remembered, seconds.
pub const IDEMPOTENCY_SECONDS: u64 = 24 * 3600;

/// Where in a conversation a reply goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThreadMode {
    /// In the thread of the message answered (starting one under it on Slack; quoting it on
    /// Telegram).
    Reply,
    /// In the conversation itself, outside any thread.
    Channel,
}

/// `POST /v1/messages`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewMessage {
    /// A reply capability from an envelope (`reply.capability`).
    #[serde(default)]
    pub reply_to: Option<String>,
    /// Or: the binding to send through, for a message the agent starts itself…
    #[serde(default)]
    pub binding_id: Option<String>,
    /// …in this conversation (channel, chat)…
    #[serde(default)]
    pub conversation: Option<String>,
    /// …and thread or forum topic, if any.
    #[serde(default)]
    pub thread_id: Option<String>,
    /// Where a reply goes; by default where the message answered was.
    #[serde(default)]
    pub thread: Option<ThreadMode>,
    /// The text, in the Markdown subset (bold, italic, code, code blocks, links, lists).
    pub text: String,
    /// False to open a stream: the text grows with `PATCH` until one with `final: true`.
    #[serde(default = "yes", rename = "final")]
    pub is_final: bool,
    /// Makes a retried request answer with the first one's message instead of sending again
    /// (per agent, for 24 hours).
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

/// `PATCH /v1/messages/{id}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageEdit {
    /// The whole new text.
    pub text: String,
    /// False while a stream goes on.
    #[serde(default = "yes", rename = "final")]
    pub is_final: bool,
}

fn yes() -> bool {
    true
}

/// How a new message is addressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address<'a> {
    /// By a reply capability.
    Reply(&'a str),
    /// Started by the agent through a binding.
    Explicit {
        /// The binding.
        binding_id: &'a str,
        /// The conversation.
        conversation: &'a str,
        /// The thread, if any.
        thread_id: Option<&'a str>,
    },
}

impl NewMessage {
    /// Parses and validates a body; returns how it is addressed.
    pub fn parse(body: &[u8]) -> Result<NewMessage, ApiError> {
        let message: NewMessage = parse(body)?;
        check_text(&message.text, message.is_final)?;
        if let Some(key) = &message.idempotency_key {
            if key.is_empty() || key.chars().count() > MAX_IDEMPOTENCY_KEY_CHARS {
                return Err(bad(format!(
                    "idempotency_key must be 1–{MAX_IDEMPOTENCY_KEY_CHARS} characters"
                )));
            }
        }
        message.address()?;
        Ok(message)
    }

    /// How the message is addressed: exactly one of `reply_to` and `binding_id` +
    /// `conversation`.
    pub fn address(&self) -> Result<Address<'_>, ApiError> {
        let explicit = (self.binding_id.as_deref(), self.conversation.as_deref());
        match (self.reply_to.as_deref(), explicit) {
            (Some(reply_to), (None, None)) if self.thread_id.is_none() => {
                Ok(Address::Reply(reply_to))
            }
            (None, (Some(binding_id), Some(conversation)))
                if !binding_id.is_empty() && !conversation.is_empty() =>
            {
                Ok(Address::Explicit {
                    binding_id,
                    conversation,
                    thread_id: self.thread_id.as_deref().filter(|t| !t.is_empty()),
                })
            }
            _ => Err(bad(
                "address the message with reply_to (an envelope's reply.capability), or with \
                 binding_id and conversation (and thread_id), not both",
            )),
        }
    }
}

impl MessageEdit {
    /// Parses and validates a body.
    pub fn parse(body: &[u8]) -> Result<MessageEdit, ApiError> {
        let edit: MessageEdit = parse(body)?;
        check_text(&edit.text, edit.is_final)?;
        Ok(edit)
    }
}

/// A final text must say something; any text is at most [`MAX_TEXT_CHARS`].
fn check_text(text: &str, is_final: bool) -> Result<(), ApiError> {
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(bad(format!(
            "text must be at most {MAX_TEXT_CHARS} characters"
        )));
    }
    if is_final && text.trim().is_empty() {
        return Err(bad(
            "text must not be empty (open a stream with final: false to send it later)",
        ));
    }
    Ok(())
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::BadRequest {
        message: message.into(),
    }
}

/// Where one message goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// The provider.
    pub provider: Provider,
    /// The installation's org.
    pub org_id: String,
    /// The installation whose credentials send it.
    pub installation_id: String,
    /// The binding it goes through.
    pub binding_id: String,
    /// The agent it is from.
    pub agent_id: String,
    /// The conversation.
    pub conversation_id: String,
    /// The thread or forum topic the answered message was in (or the one named explicitly).
    #[serde(default)]
    pub thread_id: Option<String>,
    /// The answered message (Slack `ts`, Telegram `message_id`, WhatsApp `wamid`), for replies
    /// in its thread.
    #[serde(default)]
    pub message_id: Option<String>,
    /// The reply capability the message answers, still sealed: the provider handles inside
    /// (Discord's interaction token) are opened only for a call.
    #[serde(default)]
    pub reply_to: Option<String>,
    /// Where the reply goes.
    #[serde(default)]
    pub thread: Option<ThreadMode>,
}

/// A binding as explicit addressing checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingFacts<'a> {
    /// The binding.
    pub id: &'a str,
    /// Its agent.
    pub agent_id: &'a str,
    /// Its route selector.
    pub selector: &'a Selector,
    /// Its installation.
    pub installation_id: &'a str,
    /// The installation's org.
    pub org_id: &'a str,
    /// The installation's provider.
    pub provider: Provider,
}

/// Why a message may not go where it was addressed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// The provider cannot send yet, or not this way.
    #[error("{what} cannot be sent through {provider}")]
    Unsupported {
        /// The provider.
        provider: &'static str,
        /// What was asked.
        what: &'static str,
    },
    /// An explicit conversation the binding does not route.
    #[error("binding {binding_id} does not route conversation {conversation}")]
    NotRouted {
        /// The binding.
        binding_id: String,
        /// The conversation named.
        conversation: String,
    },
}

impl From<AddressError> for ApiError {
    fn from(error: AddressError) -> Self {
        ApiError::Unprocessable {
            code: match error {
                AddressError::Unsupported { .. } => "unsupported",
                AddressError::NotRouted { .. } => "not_routed",
            },
            message: error.to_string(),
        }
    }
}

impl Target {
    /// The target of a reply to the event `reply` was made for; `capability` is `reply` still
    /// sealed, kept for its provider handles.
    pub fn from_reply(
        reply: ReplyTo,
        capability: &str,
        thread: Option<ThreadMode>,
    ) -> Result<Target, AddressError> {
        sender_of(reply.provider, "messages")?;
        let reply_to = (!reply.handles.is_empty()).then(|| capability.to_owned());
        Ok(Target {
            provider: reply.provider,
            org_id: reply.org_id,
            installation_id: reply.installation_id,
            binding_id: reply.binding_id,
            agent_id: reply.agent_id,
            conversation_id: reply.conversation_id,
            thread_id: reply.thread_id,
            message_id: reply.message_id,
            reply_to,
            thread,
        })
    }

    /// The target of a message the agent starts in `conversation` (and `thread_id`) through
    /// `binding`: only where the provider lets a bot start one, and only in a conversation the
    /// binding routes (a binding for one conversation sends only there).
    pub fn explicit(
        binding: &BindingFacts<'_>,
        conversation: &str,
        thread_id: Option<&str>,
    ) -> Result<Target, AddressError> {
        let sender = sender_of(binding.provider, "messages")?;
        if !sender.starts_conversations {
            return Err(AddressError::Unsupported {
                provider: binding.provider.as_str(),
                what: "a message the agent starts (only answers, with reply_to,)",
            });
        }
        let routed = binding
            .selector
            .conversation
            .as_deref()
            .is_none_or(|only| only == conversation);
        if !routed {
            return Err(AddressError::NotRouted {
                binding_id: binding.id.to_owned(),
                conversation: conversation.to_owned(),
            });
        }
        Ok(Target {
            provider: binding.provider,
            org_id: binding.org_id.to_owned(),
            installation_id: binding.installation_id.to_owned(),
            binding_id: binding.id.to_owned(),
            agent_id: binding.agent_id.to_owned(),
            conversation_id: conversation.to_owned(),
            thread_id: thread_id.map(str::to_owned),
            message_id: None,
            reply_to: None,
            thread: None,
        })
    }

    /// The name of the Durable Object that sends to this conversation: one per installation
    /// and conversation, so messages to one conversation are sent in order.
    pub fn conversation_key(&self) -> String {
        format!("{}/{}", self.installation_id, self.conversation_id)
    }
}

/// Succeeds when `caller` may send for `target`'s agent in its org.
pub fn check_caller(caller: &Caller, target: &Target) -> Result<(), AuthorityError> {
    authority::require_agent(caller, &target.agent_id)?;
    if caller.restriction.reaches_org(&target.org_id) {
        Ok(())
    } else {
        Err(AuthorityError::OrgOutOfReach {
            org_id: target.org_id.clone(),
        })
    }
}

/// `provider`'s sender, or why there is none.
pub fn sender_of(provider: Provider, what: &'static str) -> Result<&'static Sender, AddressError> {
    provider.spec().sender.ok_or(AddressError::Unsupported {
        provider: provider.as_str(),
        what,
    })
}

/// Where a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Accepted, not sent yet.
    Queued,
    /// At the provider (a stream may still be growing: see `final`).
    Sent,
    /// Refused by the provider, or dropped (revoked installation or binding).
    Failed,
    /// The provider did not answer after the request may have landed: not sent again, so it
    /// is either there once or not at all.
    Unknown,
    /// Still failing after the last attempt.
    DeadLettered,
    /// Deleted on request.
    Deleted,
}

impl Status {
    /// Its name in the API and in D1.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Sent => "sent",
            Status::Failed => "failed",
            Status::Unknown => "unknown",
            Status::DeadLettered => "dead_lettered",
            Status::Deleted => "deleted",
        }
    }

    /// True when nothing more happens to the message.
    pub fn has_ended(self) -> bool {
        matches!(
            self,
            Status::Failed | Status::Unknown | Status::DeadLettered | Status::Deleted
        )
    }
}

/// Why a message failed: a machine-readable code and the provider's reason in plain words
/// (never a credential, never the text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// `conversation_not_found`, `not_in_conversation`, `blocked`, `credentials`, `revoked`,
    /// `refused`, `timeout`, `provider_unavailable`, `not_modifiable`, …
    pub code: String,
    /// The reason in plain words.
    pub reason: String,
}

/// One HTTP request to a provider's API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpCall {
    /// `POST`, `PATCH` or `DELETE`.
    pub method: &'static str,
    /// The full URL (for Telegram it holds the bot token: never log it).
    pub url: String,
    /// Request headers (an `Authorization` header holds a credential: never log it).
    pub headers: Vec<(&'static str, String)>,
    /// The JSON body, if any.
    pub body: Option<String>,
    /// True when repeating the request cannot make a second message (the provider deduplicates
    /// it: Discord's `nonce` with `enforce_nonce`, a Standard Webhooks `webhook-id`), so a
    /// timeout is retried instead of ending as `unknown`.
    pub idempotent: bool,
    /// False for a URL an installation configured: a redirect is refused, not followed.
    pub follow_redirects: bool,
}

/// What a provider answered, as a sender reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer<'a> {
    /// The HTTP status.
    pub status: u16,
    /// Response headers, names in lower case.
    pub headers: &'a [(String, String)],
    /// The body.
    pub body: &'a str,
}

impl Answer<'_> {
    /// The header `name` (lower case), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// A `429` (wait its `Retry-After`) or a 5xx (retry) from `provider`, the answers most APIs
    /// give alike; `None` for any other status.
    pub fn throttled_or_failed(&self, provider: &str) -> Option<conversation::Outcome> {
        if self.status == 429 {
            return Some(conversation::Outcome::RateLimited {
                after_ms: seconds_to_ms(self.header("retry-after")),
            });
        }
        (self.status >= 500).then(|| conversation::Outcome::Retry {
            reason: format!("{provider} answered HTTP {}", self.status),
        })
    }

    /// How long a provider's rate-limit bucket says to wait before the next call into it, ms:
    /// `X-RateLimit-Remaining: 0` with `X-RateLimit-Reset-After` (Discord's per-route buckets).
    pub fn bucket_wait_ms(&self) -> u64 {
        if self.header("x-ratelimit-remaining").map(str::trim) != Some("0") {
            return 0;
        }
        seconds_to_ms(self.header("x-ratelimit-reset-after"))
    }
}

/// A provider's answer with `status` and `body` and no headers (the senders' tests).
#[cfg(test)]
pub(crate) fn test_answer(status: u16, body: &str) -> Answer<'_> {
    Answer {
        status,
        headers: &[],
        body,
    }
}

/// A number of seconds (whole or fractional, as providers send them) in ms: one second when
/// absent or unreadable, at most an hour.
pub fn seconds_to_ms(seconds: Option<&str>) -> u64 {
    // Read by hand, not with `str::parse::<f64>`: the float parser alone is ~4 KB of Wasm.
    seconds
        .and_then(|value| decimal_ms(value.trim()))
        .map_or(1000, |ms| ms.min(3_600_000))
}

/// `text` as decimal seconds (`7`, `0.25`, `1.0001`) in whole milliseconds, rounded up; `None`
/// for anything else (signs, exponents, empty parts, more than 7 integer digits).
fn decimal_ms(text: &str) -> Option<u64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || whole.len() > 7 || !digits(whole) || !digits(fraction) {
        return None;
    }
    if text.ends_with('.') {
        return None;
    }
    let seconds: u64 = whole.parse().ok()?;
    let mut ms = 0;
    for (place, digit) in [100, 10, 1].into_iter().zip(fraction.bytes()) {
        ms += place * u64::from(digit - b'0');
    }
    let rest_nonzero = fraction.bytes().skip(3).any(|b| b != b'0');
    Some(seconds * 1000 + ms + u64::from(rest_nonzero))
}

/// [`seconds_to_ms`] for a number already read (a JSON `retry_after`).
pub fn ms_of_seconds(seconds: Option<f64>) -> u64 {
    let seconds = seconds
        .filter(|value| value.is_finite() && *value >= 0.0)
        .unwrap_or(1.0)
        .min(3600.0);
    (seconds * 1000.0).ceil() as u64
}

/// What a request is built from, besides the operation and its target.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The API's base URL (`[vars]`).
    pub base_url: &'a str,
    /// The installation credential, opened for this call.
    pub credential: &'a str,
    /// The provider's reply handles from the message's reply capability, while it is valid
    /// (Discord's interaction token); empty otherwise.
    pub handles: &'a serde_json::Map<String, serde_json::Value>,
    /// The installation's tenant key (WhatsApp: the phone number id it sends from).
    pub tenant_key: &'a str,
    /// The installation's metadata (Standard Webhooks: its `callback_url`).
    pub metadata: &'a serde_json::Value,
    /// The message's id.
    pub message_id: &'a str,
    /// Now, Unix seconds.
    pub now: u64,
}

/// A limit on calls across all of an installation's conversations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Calls allowed…
    pub calls: u32,
    /// …in any window of this many ms.
    pub per_ms: u64,
}

/// How one provider sends: its API, its limits, its format. What it can do (edit, delete,
/// threads, text length) is its [`crate::core::ingress::Capabilities`].
#[derive(Debug)]
pub struct Sender {
    /// How texts are formatted.
    pub format: Format,
    /// The least time between two calls into one conversation, milliseconds.
    pub interval_ms: u64,
    /// The limit across an installation's conversations, if the provider has one.
    pub per_installation: Option<Rate>,
    /// Whether a stream shows a typing indicator before its first text.
    pub typing: bool,
    /// Whether the answered message is marked read (WhatsApp) once the first reply is sent.
    pub marks_read: bool,
    /// Whether a bot may start a conversation's message without an inbound to answer.
    pub starts_conversations: bool,
    /// The installation credential calls are made with; empty when calls need none (email,
    /// sent through the Worker's own binding).
    pub credential: &'static str,
    /// The `[vars]` entry holding its API's base URL.
    pub base_url_var: &'static str,
    /// The request for `op` to `target`; `Ok(None)` for an operation the provider does not
    /// have (no call is made), `Err` when it cannot be made (the message fails).
    pub request: fn(&conversation::Op, &Target, &Context<'_>) -> Result<Option<HttpCall>, Failure>,
    /// What the provider's answer to `op` means.
    pub outcome: fn(&conversation::Op, &Answer<'_>) -> conversation::Outcome,
}

/// A UUID (version 4 form) derived from part `part` of message `message_id`, the same on every
/// attempt: an idempotency key where a provider takes one (LINE's `X-Line-Retry-Key`, the `id`
/// of a Linear comment).
pub fn derived_uuid(message_id: &str, part: usize) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{message_id}/{part}").as_bytes());
    let mut uuid = String::with_capacity(36);
    for (index, byte) in digest.iter().take(16).enumerate() {
        let byte = match index {
            6 => (byte & 0x0f) | 0x40,
            8 => (byte & 0x3f) | 0x80,
            _ => *byte,
        };
        if matches!(index, 4 | 6 | 8 | 10) {
            uuid.push('-');
        }
        uuid.push_str(&format!("{byte:02x}"));
    }
    uuid
}

/// What a provider's messages can do, as the conversation queue needs it.
pub fn behaviour(provider: Provider) -> Option<conversation::Behaviour> {
    let spec = provider.spec();
    let sender = spec.sender?;
    Some(conversation::Behaviour {
        edits: spec.capabilities.edits,
        typing: sender.typing,
        marks_read: sender.marks_read,
    })
}

/// The longest text one of `provider`'s messages takes.
pub fn max_text(provider: Provider) -> usize {
    provider
        .spec()
        .capabilities
        .max_text_chars
        .unwrap_or(MAX_TEXT_CHARS)
}

#[cfg(test)]
#[path = "outbound_test.rs"]
mod tests;
