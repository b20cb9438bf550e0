//! WhatsApp Cloud API (Meta): `messages` webhooks signed with the Meta app's secret, and the GET
//! handshake that subscribes the callback URL.
//!
//! Sources: Meta's Graph API webhooks guide, sections "Verification Requests" and "Event
//! Notifications" / "Validating Payloads" (<https://developers.facebook.com/docs/graph-api/webhooks/getting-started>);
//! the WhatsApp `messages` webhook reference and its incoming-message, interactive and status
//! pages (<https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages>).
//!
//! # What's in scope
//! - Verification and the GET subscription handshake are Meta's, shared with Messenger and
//!   Instagram ([`meta::verify`], [`meta::subscribe`]); deduplication on the `wamid` is the
//!   replay defence.
//! - [`WhatsApp::parse`]: every `entry[].changes[]` with `field` `messages`, every
//!   `value.messages[]` → one event, in payload order. Delivery receipts (`value.statuses[]`)
//!   and other fields produce none.
//!
//! # What's out of scope
//! Sending (the Graph API), media downloads, group chats, business-scoped user ids, message
//! echoes and the other WhatsApp Business Account webhook fields (templates, account and
//! quality updates), the deprecated `X-Hub-Signature` (SHA-1).

use super::{
    meta, Ack, Capabilities, Conversation, ConversationType, DeepLink, Event, Form, GetHandshake,
    Kind, ParseError, Parsed, PathId, Request, Sender, Spec, Verification,
};
use crate::core::binding_session::Method;
use crate::core::tenancy::SecretOwner;
use serde_json::{json, Map, Value};

/// WhatsApp Cloud, as [`crate::core::tenancy::Provider`] registers it.
pub const SPEC: Spec = Spec {
    name: "whatsapp",
    path_id: PathId::AppProfile,
    get_handshake: Some(GetHandshake {
        secret: "verify_token",
        answer: meta::subscribe,
    }),
    profile_secrets: &[("app_secret", true), ("verify_token", true)],
    installation_credentials: &[("access_token", false)],
    verified_with: (SecretOwner::Profile, "app_secret"),
    verify: Verification::Core(meta::verify),
    parse: WhatsApp::parse,
    session_methods: &[Method::Token, Method::Qr],
    deep_link: Some(DeepLink {
        metadata_field: "display_phone_number",
        link: crate::core::install_token::whatsapp_link,
    }),
    channel_name: Some("display_phone_number"),
    url_forms: &[("phone_number_id", Form::Digits), ("waba_id", Form::Digits)],
    tenant_key_field: Some("phone_number_id"),
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
