//! The inbound message envelope: what the agent runtime receives for each provider event.
//!
//! # What's in scope
//! Building an [`Envelope`] from a verified [`Event`] and the routing decision, its
//! deterministic id, the route-aware session key, and its queue encoding, which leaves out the
//! provider payload (and says so) when the envelope would not fit a queue message. The contract is
//! `schema/inbound-envelope.v2.json` (version 1, `inbound-envelope.v1.json`, carried the
//! provider's reply handles in the clear as `reply_context`; version 2 carries a sealed
//! [`crate::core::reply`] capability instead); a native test validates built envelopes against
//! it.
//!
//! # What's out of scope
//! Resolving the installation and binding (the edge, with [`crate::core::tenancy`]), sealing the
//! reply capability (the edge, with [`crate::core::reply`]) and sending.

use crate::core::ingress::{self, Conversation, Event, Sender};
use crate::core::install_token::Refusal;
use crate::core::tenancy::Provider;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The envelope format's version (the `v2` of the schema's file name).
pub const VERSION: u32 = 2;

/// Largest queue message Cloudflare Queues accepts is 128 KB; envelopes are kept below this so
/// the queue's own framing fits too.
pub const MAX_QUEUE_BYTES: usize = 120 * 1024;

/// Where an event was routed: the concrete org, app profile, installation, binding and agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routing {
    /// The installation's org.
    pub org_id: String,
    /// The app profile the webhook URL named (or the installation's).
    pub app_profile_id: String,
    /// The installation the event belongs to.
    pub installation_id: String,
    /// The binding that routed it.
    pub binding_id: String,
    /// The agent that receives it.
    pub agent_id: String,
}

/// What an envelope is about: a provider event's own kind, or the outcome of an install claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Kind {
    /// An ordinary event: message, command, interaction, reaction, membership or other.
    Event(ingress::Kind),
    /// A message that claimed an install token.
    Install(InstallKind),
}

/// The outcome of an install claim, as an envelope kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InstallKind {
    /// The token was claimed: the sender is now linked and allowed.
    InstallClaimed,
    /// The token was refused; `install.reason` says why.
    InstallRejected,
}

/// What an install envelope says beyond the event (`install` in the schema).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Install {
    /// The grant's id (`ist_…`), when the token was authentic.
    pub grant_id: Option<String>,
    /// The user the install is for (claimed only).
    pub subject: Option<String>,
    /// Why it was refused (rejected only).
    pub reason: Option<&'static str>,
}

impl Install {
    /// A successful claim of `grant_id` for `subject`.
    pub fn claimed(grant_id: &str, subject: &str) -> Install {
        Install {
            grant_id: Some(grant_id.to_owned()),
            subject: Some(subject.to_owned()),
            reason: None,
        }
    }

    /// A refused claim.
    pub fn rejected(grant_id: Option<&str>, refusal: Refusal) -> Install {
        Install {
            grant_id: grant_id.map(str::to_owned),
            subject: None,
            reason: Some(refusal.as_str()),
        }
    }

    fn kind(&self) -> InstallKind {
        match self.reason {
            None => InstallKind::InstallClaimed,
            Some(_) => InstallKind::InstallRejected,
        }
    }
}

/// The route dimensions of an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Route {
    /// The provider (the channel type).
    pub channel: &'static str,
    /// The installation id.
    pub installation: String,
    /// The conversation id, when the event has one.
    pub conversation: Option<String>,
    /// The sender id, when the event has one.
    pub peer: Option<String>,
    /// The agent id.
    pub agent: String,
}

/// One envelope, as queued for the agent runtime.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Envelope {
    /// Always [`VERSION`].
    pub version: u32,
    /// Deterministic: the same provider event always gives the same id.
    pub id: String,
    /// The provider.
    pub provider: &'static str,
    /// When channel-edge accepted it, Unix seconds.
    pub received_at: u64,
    /// When it happened, Unix seconds, when the provider says.
    pub occurred_at: Option<u64>,
    /// The installation's org.
    pub org_id: String,
    /// The app profile.
    pub app_profile_id: String,
    /// The installation.
    pub installation_id: String,
    /// The binding that routed it.
    pub binding_id: String,
    /// The receiving agent.
    pub agent_id: String,
    /// The route dimensions.
    pub route: Route,
    /// One session per conversation, and per thread or forum topic where the provider has them,
    /// per installation and agent.
    pub session_key: String,
    /// What it is.
    pub kind: Kind,
    /// Who sent it.
    pub sender: Option<Sender>,
    /// Where.
    pub conversation: Option<Conversation>,
    /// The text, for messages and commands; `None` for install claims (it held the token).
    pub text: Option<String>,
    /// The claim's outcome, for install claims only.
    pub install: Option<Install>,
    /// The provider's id for the event.
    pub provider_event_id: String,
    /// How the agent answers: a sealed reply capability for `POST /v1/messages`, `None` where
    /// there is nowhere to answer (an event without a conversation).
    pub reply: Option<ReplyCapability>,
    /// The provider's payload; `null` when it was left out to fit the queue, and for install
    /// claims (it held the token).
    pub raw: Value,
    /// True when `raw` was left out because the envelope would exceed [`MAX_QUEUE_BYTES`].
    pub raw_omitted: bool,
    /// True when, even without `raw`, the envelope was too large and `text` was cut short (at a
    /// character boundary) to fit.
    pub text_truncated: bool,
}

/// An envelope's reply capability ([`crate::core::reply`]) and its expiry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplyCapability {
    /// The capability: `reply_to` of `POST /v1/messages`. Opaque to the runtime.
    pub capability: String,
    /// When it stops working, Unix seconds.
    pub expires_at: u64,
}

/// The envelope id of a provider event: `env_` + the first 32 hex digits of
/// SHA-256(`provider`, `installation_id`, `provider_event_id`), length-prefixed.
pub fn envelope_id(provider: Provider, installation_id: &str, provider_event_id: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [provider.as_str(), installation_id, provider_event_id] {
        hasher.update((part.len() as u32).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    let digest = hasher.finalize();
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("env_{hex}")
}

/// The dedupe keys of `envelope` ([`crate::core::dedupe`]): its provider event id, and the
/// event's semantic key (Slack team + channel + `ts`, Telegram chat + message) where it has one,
/// both scoped to the provider and installation.
pub fn dedupe_keys(envelope: &Envelope, semantic_key: Option<&str>) -> Vec<String> {
    let scope = format!("{}:{}", envelope.provider, envelope.installation_id);
    let mut keys = vec![format!("{scope}:event:{}", envelope.provider_event_id)];
    if let Some(semantic) = semantic_key {
        keys.push(format!("{scope}:content:{semantic}"));
    }
    keys
}

/// The session key: `provider:installation:agent:conversation[:thread]`, or the sender in place
/// of the conversation when there is none.
pub fn session_key(provider: Provider, routing: &Routing, event: &Event) -> String {
    let place = match (&event.conversation, &event.sender) {
        (Some(conversation), _) => match &conversation.thread_id {
            Some(thread) => format!("{}:{thread}", conversation.id),
            None => conversation.id.clone(),
        },
        (None, Some(sender)) => format!("peer:{}", sender.id),
        (None, None) => format!("event:{}", event.provider_event_id),
    };
    format!(
        "{}:{}:{}:{place}",
        provider.as_str(),
        routing.installation_id,
        routing.agent_id
    )
}

/// Builds the envelope of `event`, routed by `routing`, accepted at `received_at`.
pub fn build(provider: Provider, routing: &Routing, event: &Event, received_at: u64) -> Envelope {
    Envelope {
        version: VERSION,
        id: envelope_id(provider, &routing.installation_id, &event.provider_event_id),
        provider: provider.as_str(),
        received_at,
        occurred_at: event.occurred_at,
        org_id: routing.org_id.clone(),
        app_profile_id: routing.app_profile_id.clone(),
        installation_id: routing.installation_id.clone(),
        binding_id: routing.binding_id.clone(),
        agent_id: routing.agent_id.clone(),
        route: Route {
            channel: provider.as_str(),
            installation: routing.installation_id.clone(),
            conversation: event.conversation.as_ref().map(|c| c.id.clone()),
            peer: event.sender.as_ref().map(|s| s.id.clone()),
            agent: routing.agent_id.clone(),
        },
        session_key: session_key(provider, routing, event),
        kind: Kind::Event(event.kind),
        sender: event.sender.clone(),
        conversation: event.conversation.clone(),
        text: event.text.clone(),
        install: None,
        provider_event_id: event.provider_event_id.clone(),
        reply: None,
        raw: event.raw.clone(),
        raw_omitted: false,
        text_truncated: false,
    }
}

/// The envelope of a message that claimed an install token: like [`build`], with the claim's
/// outcome as kind and `install`, and without the text and payload, which carried the token.
pub fn build_install(
    provider: Provider,
    routing: &Routing,
    event: &Event,
    received_at: u64,
    install: Install,
) -> Envelope {
    Envelope {
        kind: Kind::Install(install.kind()),
        text: None,
        raw: Value::Null,
        install: Some(install),
        ..build(provider, routing, event, received_at)
    }
}

impl Envelope {
    /// The JSON sent to the queue, at most [`MAX_QUEUE_BYTES`]: whole when it fits; else without
    /// `raw` (`raw_omitted: true`); and if that is still too large, with `text` cut short
    /// (`text_truncated: true`).
    pub fn to_queue_json(&self) -> Result<String, serde_json::Error> {
        let whole = serde_json::to_string(self)?;
        if whole.len() <= MAX_QUEUE_BYTES {
            return Ok(whole);
        }
        let mut trimmed = Envelope {
            raw: Value::Null,
            raw_omitted: true,
            ..self.clone()
        };
        let json = serde_json::to_string(&trimmed)?;
        let excess = json.len().saturating_sub(MAX_QUEUE_BYTES);
        match trimmed.text.as_mut() {
            Some(text) if excess > 0 => {
                shorten_json_string(text, excess);
                trimmed.text_truncated = true;
                serde_json::to_string(&trimmed)
            }
            // Without text, only a provider's ids and names are left: far below the limit.
            _ => Ok(json),
        }
    }
}

/// Cuts characters off the end of `text` until its JSON form is at least `bytes` shorter.
fn shorten_json_string(text: &mut String, bytes: usize) {
    let mut keep = text.len();
    let mut removed = 0;
    for (at, c) in text.char_indices().rev() {
        if removed >= bytes {
            break;
        }
        removed += json_len(c);
        keep = at;
    }
    text.truncate(keep);
}

/// How many bytes `c` takes inside a JSON string, as serde_json escapes it.
fn json_len(c: char) -> usize {
    match c {
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
        c if u32::from(c) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

#[cfg(test)]
#[path = "envelope_test.rs"]
mod tests;
