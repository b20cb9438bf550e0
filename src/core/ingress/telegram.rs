//! Telegram: Bot API updates pushed to the webhook set with `setWebhook`, authenticated by the
//! `secret_token` given there.
//!
//! Sources: the Bot API reference (<https://core.telegram.org/bots/api>), sections `setWebhook`
//! (`secret_token`, sent back in `X-Telegram-Bot-Api-Secret-Token`), `Update`, `Message`, `User`,
//! `Chat`, `CallbackQuery`, `ChatMemberUpdated` and `MessageReactionUpdated`; deep links
//! (`/start <payload>`) in "Telegram Bot Features"
//! (<https://core.telegram.org/bots/features#deep-linking>).
//!
//! # What's in scope
//! - [`Telegram::verify`]: the header must equal one of the installation's secret tokens,
//!   compared in constant time with every non-empty token (no early exit on a match). Telegram
//!   signs nothing and sends no timestamp, so `now` and `window` are unused: deduplication on
//!   `update_id` (the edge's) is the only replay defence.
//! - [`Telegram::parse`]: one `Update` → one event. `message`, `edited_message`, `channel_post`
//!   and `edited_channel_post` are messages (commands when the text starts with `/`),
//!   `callback_query` is an interaction, `my_chat_member` / `chat_member` are membership changes,
//!   `message_reaction` is a reaction; every other update kind is [`Kind::Other`] with only its
//!   id and `raw`.
//!
//! # What's out of scope
//! Calling the Bot API (`setWebhook`, `answerCallbackQuery`, replies: we always answer 200 with
//! an empty body, never a method in the webhook response), files and media, inline mode,
//! payments, business connections, anonymous reaction counts.

use super::{
    any_secret, non_empty, Ack, Capabilities, Conversation, ConversationType, DeepLink, Event,
    Form, Kind, ParseError, Parsed, PathId, Rejection, Request, Sender, Spec, Verification,
};
use crate::core::binding_session::Method;
use crate::core::tenancy::SecretOwner;
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

/// The secret token header.
pub(super) const SECRET_TOKEN: &str = "X-Telegram-Bot-Api-Secret-Token";
/// Update fields that carry a `Message`.
const MESSAGES: [&str; 4] = [
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
];
/// Update fields that carry a `ChatMemberUpdated`.
const MEMBERSHIPS: [&str; 2] = ["my_chat_member", "chat_member"];

/// Telegram, as [`crate::core::tenancy::Provider`] registers it.
pub const SPEC: Spec = Spec {
    name: "telegram",
    path_id: PathId::Installation,
    get_handshake: None,
    profile_secrets: &[],
    installation_credentials: &[("bot_token", true), ("secret_token", true)],
    verified_with: (SecretOwner::Installation, "secret_token"),
    verify: Verification::Core(Telegram::verify),
    parse: Telegram::parse,
    session_methods: &[Method::Token, Method::Qr],
    deep_link: Some(DeepLink {
        metadata_field: "bot_username",
        link: crate::core::install_token::telegram_link,
    }),
    channel_name: Some("bot_username"),
    url_forms: &[("bot_token", Form::TelegramBotToken)],
    tenant_key_field: None,
    // Telegram retries a failed update for about a day.
    dedupe_window_seconds: 26 * 3600,
    unsigned_event_time: false,
    capabilities: Capabilities {
        edits: true,
        deletes: true,
        threads: true,
        max_text_chars: Some(4096),
    },
    sender: Some(&crate::core::outbound::telegram::SENDER),
};

/// Telegram's webhook scheme.
pub struct Telegram;

impl Telegram {
    /// Verifies `request`: see the module documentation.
    pub fn verify(
        request: &Request<'_>,
        secrets: &[String],
        _now: u64,
        _window: u64,
    ) -> Result<(), Rejection> {
        let token = request.required_header(SECRET_TOKEN)?;
        if token.is_empty() {
            return Err(Rejection::MalformedSignature {
                header: SECRET_TOKEN,
            });
        }
        equals_any(token, secrets)
    }

    /// Reads a verified `request`: see the module documentation.
    pub fn parse(request: &Request<'_>) -> Result<Parsed, ParseError> {
        let update: Value = serde_json::from_slice(request.body)
            .map_err(|error| ParseError::new(format!("body is not JSON: {error}")))?;
        Ok(Parsed::Events {
            events: vec![event(&update)?],
            ack: Ack::Empty,
        })
    }
}

/// `Ok` when `given` equals one of the non-empty `tokens`. Each comparison is constant-time
/// (`subtle`: tokens of another length are a mismatch, equal lengths are compared in full) and
/// every token is compared, so the time taken says nothing about which one matched. `NoSecret`
/// when no token is usable, `BadSignature` when none matches. Also used by WhatsApp's GET
/// handshake for its verify token.
pub(super) fn equals_any(given: &str, tokens: &[String]) -> Result<(), Rejection> {
    any_secret(non_empty(tokens), |token| {
        bool::from(token.as_bytes().ct_eq(given.as_bytes()))
    })
}

/// What an update says, before the id and `raw` are added.
struct Parts {
    kind: Kind,
    semantic_key: Option<String>,
    occurred_at: Option<u64>,
    sender: Option<Sender>,
    conversation: Option<Conversation>,
    text: Option<String>,
    message_id: Option<String>,
}

impl Parts {
    /// An update kind we do not model.
    fn other() -> Self {
        Parts {
            kind: Kind::Other,
            semantic_key: None,
            occurred_at: None,
            sender: None,
            conversation: None,
            text: None,
            message_id: None,
        }
    }
}

fn event(update: &Value) -> Result<Event, ParseError> {
    let update_id = update
        .get("update_id")
        .and_then(Value::as_u64)
        .ok_or_else(|| ParseError::new("missing integer field update_id"))?;
    let parts = parts(update);
    Ok(Event {
        provider_event_id: update_id.to_string(),
        semantic_key: parts.semantic_key,
        app_id: None,
        tenant_keys: Vec::new(),
        team_id: None,
        kind: parts.kind,
        occurred_at: parts.occurred_at,
        sender: parts.sender,
        conversation: parts.conversation,
        text: parts.text,
        message_id: parts.message_id,
        reply_context: Map::new(),
        raw: update.clone(),
    })
}

/// The update's one optional field (an Update has at most one) read by its kind.
fn parts(update: &Value) -> Parts {
    if let Some((field, message)) = first_object(update, &MESSAGES) {
        return message_parts(message, field.starts_with("edited_"));
    }
    if let Some((_, query)) = first_object(update, &["callback_query"]) {
        return callback_parts(query);
    }
    if let Some((_, member)) = first_object(update, &MEMBERSHIPS) {
        return chat_event_parts(Kind::Membership, member, member.get("from"));
    }
    if let Some((_, reaction)) = first_object(update, &["message_reaction"]) {
        return chat_event_parts(Kind::Reaction, reaction, reaction.get("user"));
    }
    Parts::other()
}

/// The first of `fields` that `update` has as an object.
fn first_object<'a>(
    update: &'a Value,
    fields: &[&'static str],
) -> Option<(&'static str, &'a Value)> {
    fields.iter().find_map(|field| {
        update
            .get(field)
            .filter(|value| value.is_object())
            .map(|value| (*field, value))
    })
}

/// A `Message`: text or caption; a command when the text starts with `/` (`/start <payload>`,
/// `/help@SomeBot`).
fn message_parts(message: &Value, edited: bool) -> Parts {
    let command = text(message, "/text").is_some_and(|text| text.starts_with('/'));
    Parts {
        kind: if command {
            Kind::Command
        } else {
            Kind::Message
        },
        semantic_key: semantic_key(message, edited),
        occurred_at: edited
            .then(|| integer(message, "/edit_date"))
            .flatten()
            .or_else(|| integer(message, "/date")),
        sender: user(message.get("from")).or_else(|| sender_chat(message.get("sender_chat"))),
        conversation: conversation(message),
        text: owned(message, "/text").or_else(|| owned(message, "/caption")),
        message_id: id(message, "/message_id"),
    }
}

/// `{chat.id}:{message_id}`; for an edit `{chat.id}:{message_id}:edit:{edit_date}`, so an edit
/// is not taken for a repeat of the message it changes.
fn semantic_key(message: &Value, edited: bool) -> Option<String> {
    let chat = id(message, "/chat/id")?;
    let message_id = id(message, "/message_id")?;
    if !edited {
        return Some(format!("{chat}:{message_id}"));
    }
    let edit_date = integer(message, "/edit_date")?;
    Some(format!("{chat}:{message_id}:edit:{edit_date}"))
}

/// A `CallbackQuery`: the button's `data`, in the chat of the message that carried the button
/// (none for inline-mode messages). It has no date of its own.
fn callback_parts(query: &Value) -> Parts {
    Parts {
        kind: Kind::Interaction,
        semantic_key: None,
        occurred_at: None,
        sender: user(query.get("from")),
        conversation: query.get("message").and_then(conversation),
        text: owned(query, "/data"),
        message_id: query.get("message").and_then(|m| id(m, "/message_id")),
    }
}

/// A `ChatMemberUpdated` or `MessageReactionUpdated`: `chat`, `date` and who acted.
fn chat_event_parts(kind: Kind, object: &Value, actor: Option<&Value>) -> Parts {
    Parts {
        kind,
        semantic_key: None,
        occurred_at: integer(object, "/date"),
        sender: user(actor).or_else(|| sender_chat(object.get("actor_chat"))),
        conversation: conversation(object),
        text: None,
        message_id: None,
    }
}

/// A `User`: "first last" (trimmed), else the username.
fn user(user: Option<&Value>) -> Option<Sender> {
    let user = user?;
    let full_name = format!(
        "{} {}",
        text(user, "/first_name").unwrap_or_default(),
        text(user, "/last_name").unwrap_or_default()
    );
    let full_name = full_name.trim();
    let display_name = if full_name.is_empty() {
        owned(user, "/username")
    } else {
        Some(full_name.to_owned())
    };
    Some(Sender {
        id: id(user, "/id")?,
        display_name,
        is_bot: user.get("is_bot").and_then(Value::as_bool).unwrap_or(false),
    })
}

/// A `Chat` speaking for itself (channel posts, anonymous admins): its title or username.
fn sender_chat(chat: Option<&Value>) -> Option<Sender> {
    let chat = chat?;
    Some(Sender {
        id: id(chat, "/id")?,
        display_name: owned(chat, "/title").or_else(|| owned(chat, "/username")),
        is_bot: false,
    })
}

/// The object's `chat`, with its forum topic (`message_thread_id`) when it has one.
fn conversation(object: &Value) -> Option<Conversation> {
    Some(Conversation {
        id: id(object, "/chat/id")?,
        kind: chat_type(text(object, "/chat/type")),
        thread_id: id(object, "/message_thread_id"),
    })
}

/// `private` → DM, `group` → group; supergroups, channels (and any new type) → channel.
fn chat_type(kind: Option<&str>) -> ConversationType {
    match kind {
        Some("private") => ConversationType::Dm,
        Some("group") => ConversationType::Group,
        _ => ConversationType::Channel,
    }
}

/// An integer id as text (chat ids are negative for groups and channels).
fn id(value: &Value, pointer: &str) -> Option<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_i64)
        .map(|id| id.to_string())
}

fn integer(value: &Value, pointer: &str) -> Option<u64> {
    value.pointer(pointer).and_then(Value::as_u64)
}

fn text<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str)
}

fn owned(value: &Value, pointer: &str) -> Option<String> {
    text(value, pointer).map(str::to_owned)
}

#[cfg(test)]
#[path = "telegram_test.rs"]
mod tests;
