//! Standard Webhooks: any sender that signs the way the Standard Webhooks specification says
//! (Svix and the libraries in the standard-webhooks repository), and the signer our own
//! deliveries to the agent runtime use.
//!
//! Source: the specification, section "Verifying webhook authenticity" (headers, signed
//! content, secret format, timestamp tolerance, several signatures for rotation;
//! <https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md>)
//! and its reference libraries' tests for the published test vector.
//!
//! # What's in scope
//! - [`Standard::verify`]: `webhook-signature` is a space-separated list of `v1,<base64
//!   HMAC-SHA256>` over `{webhook-id}.{webhook-timestamp}.{raw body}`, keyed with the base64
//!   decoding of the secret after `whsec_` (a secret without the prefix is decoded too;
//!   undecodable or empty keys are skipped). The request verifies when any listed `v1`
//!   signature matches any secret (rotation on both sides), compared with `Mac::verify_slice`.
//!   Entries of other versions (`v1a`, Ed25519) and `v1` entries that are not 32 bytes of
//!   base64 are ignored; a header with no usable `v1` entry is malformed. The timestamp must be
//!   within the replay window in both directions and is checked before any HMAC.
//! - [`sign`]: the `webhook-signature` value for a delivery, with the same key decoding and MAC
//!   as `verify`.
//! - [`Standard::parse`]: any JSON object → one event keyed by `webhook-id`, read leniently:
//!   `type` (`"message"` is a message, anything else other), `text`, `sender` and
//!   `conversation`, each under `data` first, then at the top level. A sender or conversation is
//!   an object with an `id` (`{"id": "ci-bot"}`) or the id itself (`"ci-bot"`); an id is a
//!   string or a number (read as text).
//!
//! # What's out of scope
//! Asymmetric `v1a` (Ed25519) signatures, secret generation, delivery retries (the queue
//! consumer's).

use super::{
    any_secret, check_timestamp, parse_timestamp, Ack, Capabilities, Conversation,
    ConversationType, Event, Kind, ParseError, Parsed, PathId, Rejection, Request, Sender, Spec,
    Verification,
};
use crate::core::mac::hmac_sha256;
use crate::core::tenancy::SecretOwner;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine};
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;

/// The message id header.
pub(super) const ID: &str = "webhook-id";
/// The signed timestamp header.
pub(super) const TIMESTAMP: &str = "webhook-timestamp";
/// The signature list header.
pub(super) const SIGNATURE: &str = "webhook-signature";
/// The prefix of a secret's text.
const SECRET_PREFIX: &str = "whsec_";
/// The prefix of a symmetric signature entry.
const V1: &str = "v1,";
/// Secrets are decoded with or without `=` padding.
const KEY_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Standard Webhooks senders, as [`crate::core::tenancy::Provider`] registers them.
pub const SPEC: Spec = Spec {
    name: "standard",
    path_id: PathId::Installation,
    get_handshake: None,
    profile_secrets: &[],
    installation_credentials: &[("webhook_secret", true)],
    verified_with: (SecretOwner::Installation, "webhook_secret"),
    verify: Verification::Core(Standard::verify),
    parse: Standard::parse,
    session_methods: &[],
    deep_link: None,
    channel_name: None,
    url_forms: &[],
    tenant_key_field: None,
    dedupe_window_seconds: 26 * 3600,
    unsigned_event_time: false,
    // Answers go to the installation's callback_url as message.created, .updated and
    // .deleted events.
    capabilities: Capabilities {
        edits: true,
        deletes: true,
        threads: true,
        max_text_chars: None,
    },
    sender: Some(&crate::core::outbound::standard::SENDER),
};

/// The Standard Webhooks scheme.
pub struct Standard;

impl Standard {
    /// Verifies `request`: see the module documentation.
    pub fn verify(
        request: &Request<'_>,
        secrets: &[String],
        now: u64,
        window: u64,
    ) -> Result<(), Rejection> {
        let id = request.required_header(ID)?;
        let timestamp_text = request.required_header(TIMESTAMP)?;
        let signatures = signatures(request.required_header(SIGNATURE)?)?;
        check_timestamp(parse_timestamp(timestamp_text, TIMESTAMP)?, now, window)?;
        any_secret(secrets.iter().filter_map(|secret| key(secret)), |key| {
            let mac = mac(key, id, timestamp_text, request.body);
            signatures
                .iter()
                .any(|signature| mac.clone().verify_slice(signature).is_ok())
        })
    }

    /// Reads a verified `request`: see the module documentation.
    pub fn parse(request: &Request<'_>) -> Result<Parsed, ParseError> {
        let body: Value = serde_json::from_slice(request.body)
            .map_err(|error| ParseError::new(format!("body is not JSON: {error}")))?;
        if !body.is_object() {
            return Err(ParseError::new("body is not a JSON object"));
        }
        let id = request
            .header(ID)
            .ok_or_else(|| ParseError::new("missing header webhook-id"))?;
        Ok(Parsed::Events {
            events: vec![event(id, request.header(TIMESTAMP), body)],
            ack: Ack::NoContent,
        })
    }
}

/// The `webhook-signature` value (`v1,<base64>`) of `body` sent as message `id` at `timestamp`
/// with `secret` (`whsec_<base64 key>`, or the bare base64 key). `NoSecret` when the secret does
/// not decode to a non-empty key.
pub fn sign(secret: &str, id: &str, timestamp: u64, body: &[u8]) -> Result<String, Rejection> {
    let key = key(secret).ok_or(Rejection::NoSecret)?;
    let tag = mac(&key, id, &timestamp.to_string(), body).finalize();
    Ok(format!("{V1}{}", STANDARD.encode(tag.into_bytes())))
}

/// The key of a secret: base64 after `whsec_` (or of the whole text); `None` when it does not
/// decode or is empty.
fn key(secret: &str) -> Option<Vec<u8>> {
    let encoded = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    KEY_BASE64
        .decode(encoded)
        .ok()
        .filter(|key| !key.is_empty())
}

/// HMAC-SHA256 keyed with `key` over `{id}.{timestamp}.{body}`, before finalising.
fn mac(key: &[u8], id: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = hmac_sha256(key);
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The 32-byte `v1` signatures listed in the header. Other versions and malformed `v1` entries
/// are skipped (the reference libraries compare entries as text, so a junk entry never fails a
/// good one); none left is malformed.
fn signatures(text: &str) -> Result<Vec<[u8; 32]>, Rejection> {
    let signatures: Vec<[u8; 32]> = text
        .split_ascii_whitespace()
        .filter_map(|entry| entry.strip_prefix(V1))
        .filter_map(|encoded| STANDARD.decode(encoded).ok()?.try_into().ok())
        .collect();
    if signatures.is_empty() {
        return Err(Rejection::MalformedSignature { header: SIGNATURE });
    }
    Ok(signatures)
}

/// The one event of a verified body.
fn event(id: &str, timestamp: Option<&str>, body: Value) -> Event {
    Event {
        provider_event_id: id.to_owned(),
        semantic_key: None,
        app_id: None,
        tenant_keys: Vec::new(),
        team_id: None,
        kind: match body.get("type").and_then(Value::as_str) {
            Some("message") => Kind::Message,
            _ => Kind::Other,
        },
        occurred_at: timestamp.and_then(|seconds| seconds.parse().ok()),
        sender: id_at(&body, "sender").map(|id| Sender {
            id,
            display_name: None,
            is_bot: false,
        }),
        conversation: id_at(&body, "conversation").map(|id| Conversation {
            id,
            kind: ConversationType::Channel,
            thread_id: None,
        }),
        text: text_at(&body),
        message_id: None,
        reply_context: Map::new(),
        raw: body,
    }
}

/// A top-level `text`, else `data.text`.
fn text_at(body: &Value) -> Option<String> {
    ["/text", "/data/text"]
        .into_iter()
        .find_map(|pointer| body.pointer(pointer)?.as_str())
        .map(str::to_owned)
}

/// `data.{object}`, else `{object}`: an object's `id`, or the value itself (`"sender":
/// "ci-bot"`); a string, or a number as text.
fn id_at(body: &Value, object: &str) -> Option<String> {
    [format!("/data/{object}"), format!("/{object}")]
        .iter()
        .find_map(|pointer| {
            let value = body.pointer(pointer)?;
            match value.get("id").unwrap_or(value) {
                Value::String(id) => Some(id.clone()),
                Value::Number(id) => Some(id.to_string()),
                _ => None,
            }
        })
}

#[cfg(test)]
#[path = "standard_test.rs"]
mod tests;
