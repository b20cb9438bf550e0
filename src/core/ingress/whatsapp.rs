//! WhatsApp Cloud API (Meta): `messages` webhooks signed with the Meta app's secret, and the GET
//! handshake that subscribes the callback URL.
//!
//! Sources: Meta's Graph API webhooks guide, sections "Verification Requests" and "Event
//! Notifications" / "Validating Payloads" (<https://developers.facebook.com/docs/graph-api/webhooks/getting-started>);
//! the WhatsApp `messages` webhook reference and its incoming-message, interactive and status
//! pages (<https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages>).
//!
//! # What's in scope
//! - [`WhatsApp::verify`]: `X-Hub-Signature-256: sha256=<64 hex>` = HMAC-SHA256(app secret, raw
//!   body), checked with every non-empty app secret (rotation) in constant time. Meta escapes
//!   non-ASCII in the body it signs (`\u00e9`), so only the bytes as received verify. Meta signs
//!   no timestamp: `now` and `window` are unused; deduplication on the `wamid` is the replay
//!   defence.
//! - [`subscribe`]: the GET handshake (`hub.mode=subscribe`, `hub.verify_token`,
//!   `hub.challenge`), which carries no signature and is never put through `verify`.
//! - [`WhatsApp::parse`]: every `entry[].changes[]` with `field` `messages`, every
//!   `value.messages[]` → one event, in payload order. Delivery receipts (`value.statuses[]`)
//!   and other fields produce none.
//!
//! # What's out of scope
//! Sending (the Graph API), media downloads, group chats, business-scoped user ids, message
//! echoes and the other WhatsApp Business Account webhook fields (templates, account and
//! quality updates), the deprecated `X-Hub-Signature` (SHA-1).

use super::{
    any_secret, decode_hex, non_empty, Ack, Capabilities, Conversation, ConversationType, DeepLink,
    Event, Form, GetHandshake, Kind, ParseError, Parsed, PathId, Rejection, Reply, Request, Sender,
    Spec,
};
use crate::core::binding_session::Method;
use crate::core::mac::hmac_sha256;
use crate::core::tenancy::SecretOwner;
use hmac::{Hmac, Mac};
use serde_json::{json, Map, Value};
use sha2::Sha256;

/// The signature header.
pub(super) const SIGNATURE: &str = "X-Hub-Signature-256";
/// The handshake's query parameters.
const MODE: &str = "hub.mode";
const VERIFY_TOKEN: &str = "hub.verify_token";
const CHALLENGE: &str = "hub.challenge";

/// WhatsApp Cloud, as [`crate::core::tenancy::Provider`] registers it.
pub const SPEC: Spec = Spec {
    name: "whatsapp",
    path_id: PathId::AppProfile,
    get_handshake: Some(GetHandshake {
        secret: "verify_token",
        answer: subscribe,
    }),
    profile_secrets: &[("app_secret", true), ("verify_token", true)],
    installation_credentials: &[("access_token", false)],
    verified_with: (SecretOwner::Profile, "app_secret"),
    verify: WhatsApp::verify,
    parse: WhatsApp::parse,
    session_methods: &[Method::Token, Method::Qr],
    deep_link: Some(DeepLink {
        metadata_field: "display_phone_number",
        link: crate::core::install_token::whatsapp_link,
    }),
    channel_name: Some("display_phone_number"),
    url_forms: &[("phone_number_id", Form::Digits), ("waba_id", Form::Digits)],
    // Meta retries a failed delivery for up to 7 days.
    dedupe_window_seconds: 8 * 24 * 3600,
    unsigned_event_time: true,
    capabilities: Capabilities {
        edits: false,
        deletes: false,
        threads: false,
        max_text_chars: Some(4096),
    },
    sender: Some(&crate::core::outbound::whatsapp::SENDER),
};

/// WhatsApp Cloud API's webhook scheme.
pub struct WhatsApp;

impl WhatsApp {
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

    /// Reads a verified `request`: see the module documentation.
    pub fn parse(request: &Request<'_>) -> Result<Parsed, ParseError> {
        let payload: Value = serde_json::from_slice(request.body)
            .map_err(|error| ParseError::new(format!("body is not JSON: {error}")))?;
        if text(&payload, "/object") != Some("whatsapp_business_account") {
            return Err(ParseError::new("object is not whatsapp_business_account"));
        }
        let mut events = Vec::new();
        for entry in array(&payload, "entry")? {
            events.extend(entry_events(entry)?);
        }
        Ok(Parsed::Events {
            events,
            ack: Ack::Empty,
        })
    }
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

/// The events of one `entry` (one WhatsApp Business Account).
fn entry_events(entry: &Value) -> Result<Vec<Event>, ParseError> {
    let waba_id = required(entry, "/id", "entry")?;
    let mut events = Vec::new();
    for change in array(entry, "changes")? {
        if text(change, "/field") == Some("messages") {
            events.extend(change_events(waba_id, change)?);
        }
    }
    Ok(events)
}

/// The events of one `messages` change: one per `value.messages[]`; none for statuses only.
fn change_events(waba_id: &str, change: &Value) -> Result<Vec<Event>, ParseError> {
    let value = change
        .get("value")
        .filter(|value| value.is_object())
        .ok_or_else(|| ParseError::new("missing object field changes.value"))?;
    let Some(messages) = value.get("messages").and_then(Value::as_array) else {
        return Ok(Vec::new());
    };
    let phone_number_id = required(value, "/metadata/phone_number_id", "changes.value")?;
    messages
        .iter()
        .map(|message| message_event(waba_id, phone_number_id, value, message))
        .collect()
}

fn message_event(
    waba_id: &str,
    phone_number_id: &str,
    value: &Value,
    message: &Value,
) -> Result<Event, ParseError> {
    let from = required(message, "/from", "messages")?;
    let contacts: Vec<&Value> = value
        .get("contacts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|contact| text(contact, "/wa_id") == Some(from))
        .collect();
    Ok(Event {
        provider_event_id: required(message, "/id", "messages")?.to_owned(),
        semantic_key: None,
        app_id: None,
        tenant_keys: vec![phone_number_id.to_owned()],
        team_id: Some(waba_id.to_owned()),
        kind: message_kind(text(message, "/type")),
        occurred_at: text(message, "/timestamp").and_then(|seconds| seconds.parse().ok()),
        sender: Some(Sender {
            id: from.to_owned(),
            display_name: contacts
                .first()
                .and_then(|contact| owned(contact, "/profile/name")),
            is_bot: false,
        }),
        conversation: Some(Conversation {
            id: from.to_owned(),
            kind: ConversationType::Dm,
            thread_id: None,
        }),
        text: message_text(message),
        message_id: owned(message, "/id"),
        reply_context: Map::new(),
        raw: json!({
            "message": message,
            "metadata": value.get("metadata"),
            "contacts": contacts,
        }),
    })
}

/// Replies to buttons and interactive messages are interactions; reactions are reactions;
/// everything else (text, media, location...) is a message.
fn message_kind(kind: Option<&str>) -> Kind {
    match kind {
        Some("interactive" | "button") => Kind::Interaction,
        Some("reaction") => Kind::Reaction,
        _ => Kind::Message,
    }
}

/// The text a user sent or chose: `text.body`, a template quick-reply `button.text`, or the
/// title of the reply button or list row tapped.
fn message_text(message: &Value) -> Option<String> {
    [
        "/text/body",
        "/button/text",
        "/interactive/button_reply/title",
        "/interactive/list_reply/title",
    ]
    .into_iter()
    .find_map(|pointer| owned(message, pointer))
}

/// The array `field` of `value` (`entry`, `changes`).
fn array<'a>(value: &'a Value, field: &str) -> Result<&'a Vec<Value>, ParseError> {
    value
        .get(field)
        .and_then(Value::as_array)
        .ok_or_else(|| ParseError::new(format!("missing array field {field}")))
}

fn text<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str)
}

fn owned(value: &Value, pointer: &str) -> Option<String> {
    text(value, pointer).map(str::to_owned)
}

/// The string at `pointer`, else "missing string field {within}.{field}".
fn required<'a>(value: &'a Value, pointer: &str, within: &str) -> Result<&'a str, ParseError> {
    text(value, pointer).ok_or_else(|| {
        let field = pointer.replace('/', ".");
        ParseError::new(format!("missing string field {within}{field}"))
    })
}

#[cfg(test)]
#[path = "whatsapp_test.rs"]
mod tests;
