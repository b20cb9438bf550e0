//! Reply capabilities: where an agent may answer, sealed by channel-edge into each envelope.
//!
//! # What's in scope
//! - [`ReplyTo`]: the installation, binding, agent, conversation, thread and inbound message an
//!   answer goes to, the provider's own reply handles (Discord interaction token, Slack
//!   `response_url`) and an expiry.
//! - [`seal`] and [`open`]: `rc1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`, AES-256-GCM
//!   under the master key's HKDF sub-key for [`KEY_INFO`] (its own label: nothing else is
//!   sealed or signed with it). Sealed, not only signed: the provider handles inside are
//!   capabilities themselves and the agent runtime never sees them. A capability opens under
//!   any key of the ring, so it survives a master-key rotation while the old key is there.
//! - [`ReplyTo::for_event`]: the capability an inbound event's envelope carries, and how long
//!   it lasts ([`ttl_seconds`]).
//!
//! # What's out of scope
//! Whether the caller may act for the capability's agent and whether its installation and
//! binding are still live (the sending path checks both), the clock and the nonce's randomness.

use crate::core::envelope::Routing;
use crate::core::ingress::Event;
use crate::core::seal::KeyRing;
use crate::core::tenancy::Provider;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The HKDF label of the key reply capabilities are sealed with.
pub const KEY_INFO: &[u8] = b"channel-edge/reply-capability/v1/aes-256-gcm";
/// The capability format's prefix.
const PREFIX: &str = "rc1";
const NONCE_LEN: usize = 12;
/// Longest capability accepted (a sealed [`ReplyTo`] is well under 2 KB).
const MAX_LEN: usize = 4096;

/// Where an answer to one inbound event may go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyTo {
    /// The provider.
    #[serde(rename = "p")]
    pub provider: Provider,
    /// The installation's org.
    #[serde(rename = "o")]
    pub org_id: String,
    /// The installation.
    #[serde(rename = "i")]
    pub installation_id: String,
    /// The binding that routed the event.
    #[serde(rename = "b")]
    pub binding_id: String,
    /// The agent it was routed to: the only agent that may answer.
    #[serde(rename = "a")]
    pub agent_id: String,
    /// The conversation (channel, chat).
    #[serde(rename = "c")]
    pub conversation_id: String,
    /// The thread or forum topic, where there is one.
    #[serde(rename = "t", default, skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<String>,
    /// The provider's id of the inbound message (Slack `ts`, Telegram `message_id`).
    #[serde(rename = "m", default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// The provider's own reply handles (Discord `interaction_token`, Slack `response_url`).
    #[serde(rename = "h", default, skip_serializing_if = "Map::is_empty")]
    pub handles: Map<String, Value>,
    /// When it stops working, Unix seconds.
    #[serde(rename = "e")]
    pub expires_at: u64,
}

/// Why a capability is refused. No variant names key material or the capability's content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    /// Not a reply capability of this format.
    #[error("reply_to is not a reply capability")]
    Malformed,
    /// Not sealed by this service (tampered, or for another deployment).
    #[error("reply_to does not authenticate")]
    Unauthentic,
    /// Past its expiry.
    #[error("reply_to has expired; start the message with binding_id and conversation instead")]
    Expired,
}

/// How long an envelope's reply capability lasts: while the provider lets a bot answer there.
/// Discord: its interaction token's 15 minutes; WhatsApp: the 24-hour customer-service window;
/// the others: a day (after that an agent starts a message explicitly, by binding and
/// conversation).
pub fn ttl_seconds(provider: Provider) -> u64 {
    match provider {
        Provider::Discord => 15 * 60,
        _ => 24 * 3600,
    }
}

impl ReplyTo {
    /// The capability for answering `event`, routed by `routing`, received at `now`; `None` for
    /// an event with nowhere to answer (no conversation).
    pub fn for_event(
        provider: Provider,
        routing: &Routing,
        event: &Event,
        now: u64,
    ) -> Option<Self> {
        let conversation = event.conversation.as_ref()?;
        Some(ReplyTo {
            provider,
            org_id: routing.org_id.clone(),
            installation_id: routing.installation_id.clone(),
            binding_id: routing.binding_id.clone(),
            agent_id: routing.agent_id.clone(),
            conversation_id: conversation.id.clone(),
            thread_id: conversation.thread_id.clone(),
            message_id: event.message_id.clone(),
            handles: event.reply_context.clone(),
            expires_at: now + ttl_seconds(provider),
        })
    }
}

/// Seals `reply` under the ring's current key with `nonce` (fresh random bytes, never reused).
pub fn seal(ring: &KeyRing, reply: &ReplyTo, nonce: [u8; NONCE_LEN]) -> Option<String> {
    let (key_id, key) = ring.derive_current(KEY_INFO);
    let plaintext = serde_json::to_vec(reply).ok()?;
    let aad = aad(key_id);
    let payload = Payload {
        msg: &plaintext,
        aad: &aad,
    };
    let ciphertext = Aes256Gcm::new(&key.into())
        .encrypt(&Nonce::from(nonce), payload)
        .ok()?;
    let mut sealed = nonce.to_vec();
    sealed.extend_from_slice(&ciphertext);
    Some(format!(
        "{PREFIX}.{key_id}.{}",
        URL_SAFE_NO_PAD.encode(sealed)
    ))
}

/// Opens `capability` with the key it names, valid while `now < expires_at`.
pub fn open(ring: &KeyRing, capability: &str, now: u64) -> Result<ReplyTo, ReplyError> {
    if capability.len() > MAX_LEN {
        return Err(ReplyError::Malformed);
    }
    let mut parts = capability.splitn(3, '.');
    let (Some(PREFIX), Some(key_id), Some(payload)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(ReplyError::Malformed);
    };
    let payload = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| ReplyError::Malformed)?;
    let (nonce, ciphertext) = payload
        .split_first_chunk::<NONCE_LEN>()
        .ok_or(ReplyError::Malformed)?;
    let key = ring
        .derive(key_id, KEY_INFO)
        .map_err(|_| ReplyError::Unauthentic)?;
    let aad = aad(key_id);
    let payload = Payload {
        msg: ciphertext,
        aad: &aad,
    };
    let plaintext = Aes256Gcm::new(&key.into())
        .decrypt(&Nonce::from(*nonce), payload)
        .map_err(|_| ReplyError::Unauthentic)?;
    let reply: ReplyTo = serde_json::from_slice(&plaintext).map_err(|_| ReplyError::Unauthentic)?;
    if now >= reply.expires_at {
        return Err(ReplyError::Expired);
    }
    Ok(reply)
}

/// The associated data: the format and the key id, so neither can be swapped.
fn aad(key_id: &str) -> Vec<u8> {
    let mut aad = KEY_INFO.to_vec();
    aad.extend_from_slice(b"/");
    aad.extend_from_slice(key_id.as_bytes());
    aad
}

#[cfg(test)]
#[path = "reply_test.rs"]
mod tests;
