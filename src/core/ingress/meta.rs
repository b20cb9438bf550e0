//! What Meta's webhooks share (WhatsApp Cloud, Messenger, Instagram): the signature, the GET
//! subscription handshake, and the `messaging` events of Messenger and Instagram.
//!
//! Sources: Meta's Graph API webhooks guide, "Verification Requests" and "Event Notifications"
//! (<https://developers.facebook.com/docs/graph-api/webhooks/getting-started>); the Messenger
//! Platform's `messages`, `messaging_postbacks`, `message_reactions` and `message_echoes` webhook
//! events (<https://developers.facebook.com/documentation/business-messaging/messenger-platform/webhooks/webhook-events/messages>);
//! Instagram messaging webhooks (<https://developers.facebook.com/documentation/instagram-platform/webhooks/examples>).
//!
//! # What's in scope
//! - [`verify`]: `X-Hub-Signature-256: sha256=<64 hex>` = HMAC-SHA256(app secret, raw body),
//!   checked with every non-empty app secret (rotation) in constant time. Meta escapes non-ASCII
//!   in the body it signs (`\u00e9`), so only the bytes as received verify; `sha1=` (the
//!   deprecated `X-Hub-Signature` scheme) is malformed, not a reason to pick another hash. Meta
//!   signs no timestamp: `now` and `window` are unused; deduplication on the message id is the
//!   replay defence, and events older than the dedupe window are dropped (their specs'
//!   `unsigned_event_time`).
//! - [`subscribe`]: the GET handshake (`hub.mode=subscribe`, `hub.verify_token`,
//!   `hub.challenge`), which carries no signature and is never put through `verify`.
//! - [`messaging`]: a Messenger (`object: page`) or Instagram (`object: instagram`) webhook:
//!   every `entry[].messaging[]` that is a message, a postback or a reaction → one event, in
//!   payload order, found by the page or Instagram account id (`entry[].id`). Echoes of the
//!   account's own messages (`message.is_echo`, which Instagram sends within `messages`),
//!   delivery and read receipts and `standby` entries produce none.
//!
//! # What's out of scope
//! Sending (the Graph API), attachments' content, handover protocol (`standby`), referrals and
//! opt-ins, comments and mentions (`changes` entries).

use super::{
    any_secret, decode_hex, non_empty, Ack, Conversation, ConversationType, Event, Kind,
    ParseError, Parsed, Rejection, Reply, Request, Sender,
};
use crate::core::json::text;
use crate::core::mac::hmac_sha256;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;

/// The signature header.
pub(super) const SIGNATURE: &str = "X-Hub-Signature-256";
/// The handshake's query parameters.
pub(super) const MODE: &str = "hub.mode";
pub(super) const VERIFY_TOKEN: &str = "hub.verify_token";
pub(super) const CHALLENGE: &str = "hub.challenge";

/// Verifies `request`: see the module documentation.
pub fn verify(
    request: &Request<'_>,
    secrets: &[String],
    _now: u64,
    _window: u64,
) -> Result<(), Rejection> {
    let signature = signature(request.required_header(SIGNATURE)?)?;
    any_secret(non_empty(secrets), |secret| {
        signs(secret, request.body, &signature)
    })
}

/// Answers Meta's GET subscription handshake: `hub.mode` must be `subscribe` and
/// `hub.verify_token` one of `verify_tokens` (constant-time, every token compared); the reply
/// echoes `hub.challenge` as `text/plain`. A missing parameter is `MissingHeader` naming it, a
/// mode other than `subscribe` or an empty token `MalformedSignature` naming the parameter, no
/// usable token `NoSecret`, a wrong token `BadSignature`.
pub fn subscribe(request: &Request<'_>, verify_tokens: &[String]) -> Result<Reply, Rejection> {
    let mode = param(request, MODE)?;
    let token = param(request, VERIFY_TOKEN)?;
    let challenge = param(request, CHALLENGE)?;
    if mode != "subscribe" {
        return Err(Rejection::MalformedSignature { header: MODE });
    }
    if token.is_empty() {
        return Err(Rejection::MalformedSignature {
            header: VERIFY_TOKEN,
        });
    }
    super::telegram::equals_any(token, verify_tokens)?;
    Ok(Reply {
        status: 200,
        content_type: "text/plain",
        body: challenge.to_owned(),
    })
}

fn param<'a>(request: &Request<'a>, name: &'static str) -> Result<&'a str, Rejection> {
    request
        .query(name)
        .ok_or(Rejection::MissingHeader { header: name })
}

/// The 32 bytes of `sha256=<64 hex>`; anything else (`sha1=…`, empty, wrong length, non-hex)
/// is malformed.
fn signature(text: &str) -> Result<[u8; 32], Rejection> {
    let malformed = || Rejection::MalformedSignature { header: SIGNATURE };
    let hex = text
        .strip_prefix("sha256=")
        .filter(|hex| hex.len() == 64)
        .ok_or_else(malformed)?;
    decode_hex(hex)
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(malformed)
}

/// Whether `secret` signs `body` as `signature` (constant-time).
fn signs(secret: &str, body: &[u8], signature: &[u8]) -> bool {
    mac(secret, body).verify_slice(signature).is_ok()
}

/// HMAC-SHA256 keyed with `secret` over `body`, before finalising.
pub(super) fn mac(secret: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = hmac_sha256(secret.as_bytes());
    mac.update(body);
    mac
}

/// Reads a verified Messenger or Instagram webhook whose `object` must be `object`.
pub fn messaging(request: &Request<'_>, object: &str) -> Result<Parsed, ParseError> {
    let payload: Value = serde_json::from_slice(request.body)
        .map_err(|error| ParseError::new(format!("body is not JSON: {error}")))?;
    if text(&payload, "/object") != Some(object) {
        return Err(ParseError::new(format!("object is not {object}")));
    }
    let entries = payload
        .get("entry")
        .and_then(Value::as_array)
        .ok_or_else(|| ParseError::new("missing array field entry"))?;
    let mut events = Vec::new();
    for entry in entries {
        let account = id(entry, "/id").ok_or_else(|| ParseError::new("missing field entry.id"))?;
        let messaging = entry.get("messaging").and_then(Value::as_array);
        for item in messaging.into_iter().flatten() {
            events.extend(messaging_event(&account, item)?);
        }
    }
    Ok(Parsed::Events {
        events,
        ack: Ack::Empty,
    })
}

/// One `messaging` item: a message (not an echo), a postback or a reaction; `None` otherwise.
fn messaging_event(account: &str, item: &Value) -> Result<Option<Event>, ParseError> {
    let (kind, mid, text) = if let Some(message) = item.get("message") {
        if message.get("is_echo").and_then(Value::as_bool) == Some(true) {
            return Ok(None);
        }
        (Kind::Message, id(message, "/mid"), owned(message, "/text"))
    } else if let Some(postback) = item.get("postback") {
        let title = owned(postback, "/title").or_else(|| owned(postback, "/payload"));
        (Kind::Interaction, id(postback, "/mid"), title)
    } else if let Some(reaction) = item.get("reaction") {
        // One message takes several reactions over time: each action and emoji is its own event.
        let mid = id(reaction, "/mid").map(|mid| {
            let (action, emoji) = (field(reaction, "/action"), field(reaction, "/emoji"));
            format!("{mid}:{action}:{emoji}")
        });
        (Kind::Reaction, mid, owned(reaction, "/emoji"))
    } else {
        return Ok(None);
    };
    let mid = mid.ok_or_else(|| ParseError::new("missing string field messaging.message.mid"))?;
    let sender = id(item, "/sender/id")
        .ok_or_else(|| ParseError::new("missing string field messaging.sender.id"))?;
    Ok(Some(Event {
        provider_event_id: mid,
        semantic_key: None,
        app_id: None,
        tenant_keys: vec![account.to_owned()],
        team_id: Some(account.to_owned()),
        kind,
        occurred_at: id(item, "/timestamp")
            .and_then(|ms| ms.parse::<u64>().ok())
            .map(|ms| ms / 1000),
        sender: Some(Sender {
            id: sender.clone(),
            display_name: None,
            is_bot: false,
        }),
        conversation: Some(Conversation {
            id: sender,
            kind: ConversationType::Dm,
            thread_id: None,
        }),
        text,
        message_id: id(item, "/message/mid"),
        reply_context: Map::new(),
        raw: item.clone(),
    }))
}

/// A string or number at `pointer`, as text (Meta sends ids and times as either).
fn id(value: &Value, pointer: &str) -> Option<String> {
    match value.pointer(pointer)? {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn owned(value: &Value, pointer: &str) -> Option<String> {
    text(value, pointer).map(str::to_owned)
}

fn field<'a>(value: &'a Value, pointer: &str) -> &'a str {
    text(value, pointer).unwrap_or_default()
}

#[cfg(test)]
#[path = "meta_test.rs"]
mod tests;
