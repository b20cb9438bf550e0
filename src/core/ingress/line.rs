//! LINE Messaging API: webhook events of one LINE Official Account (a Messaging API channel),
//! signed with the channel secret.
//!
//! Sources: the Messaging API reference, "Webhooks" → "Request headers" / "Request body" /
//! "Webhook event objects" (<https://developers.line.biz/en/reference/messaging-api/#webhooks>),
//! "Verify webhook signature" (<https://developers.line.biz/en/docs/messaging-api/verify-webhook-signature/>)
//! and "Receive messages (webhook)" → redelivery
//! (<https://developers.line.biz/en/docs/messaging-api/receiving-messages/#webhook-redelivery>).
//!
//! # What's in scope
//! - [`Line::verify`]: `x-line-signature` = base64(HMAC-SHA256(channel secret, raw body)),
//!   checked with every non-empty channel secret of the installation (rotation) in constant
//!   time. LINE signs no timestamp: `now` and `window` are unused; the dedupe on
//!   `webhookEventId` is the replay defence, and events older than the dedupe window are
//!   dropped (`unsigned_event_time`).
//! - [`Line::parse`]: every `events[]` → one event, in payload order. The console's "Verify"
//!   button sends an empty `events` list: no events, answered 200. A redelivery
//!   (`deliveryContext.isRedelivery: true`) carries the same `webhookEventId` as the first
//!   delivery, so it is accepted and the dedupe drops it. `message` events are messages,
//!   `postback` interactions, `follow` / `unfollow` / `join` / `leave` / `memberJoined` /
//!   `memberLeft` membership changes; anything else is [`Kind::Other`].
//! - The reply token is kept out of `raw`: channel-edge answers with the push API (see
//!   [`crate::core::outbound::line`]).
//!
//! # What's out of scope
//! Calling the Messaging API, message content downloads (images, audio), beacons, account
//! linking, `standby` mode's module channels (events in `standby` mode are still normalised).

use super::meta::mac;
use super::{
    any_secret, non_empty, without_keys, Ack, Capabilities, Conversation, ConversationType,
    DeepLink, Event, Kind, ParseError, Parsed, PathId, Rejection, Request, Sender, Spec,
    Verification,
};
use crate::core::binding_session::Method;
use crate::core::json::text;
use crate::core::tenancy::SecretOwner;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::Mac;
use serde_json::{Map, Value};

/// The signature header.
pub(super) const SIGNATURE: &str = "x-line-signature";

/// LINE, as [`crate::core::tenancy::Provider`] registers it.
pub const SPEC: Spec = Spec {
    name: "line",
    path_id: PathId::Installation,
    get_handshake: None,
    profile_secrets: &[],
    installation_credentials: &[("channel_secret", true), ("channel_access_token", true)],
    verified_with: (SecretOwner::Installation, "channel_secret"),
    verify: Verification::Core(Line::verify),
    parse: Line::parse,
    session_methods: &[Method::Token, Method::Qr],
    deep_link: Some(DeepLink {
        metadata_field: "basic_id",
        link: crate::core::install_token::line_link,
    }),
    channel_name: Some("basic_id"),
    url_forms: &[],
    tenant_key_field: None,
    // LINE redelivers a failed event (when redelivery is on) for up to a day.
    dedupe_window_seconds: 26 * 3600,
    unsigned_event_time: true,
    capabilities: Capabilities {
        edits: false,
        deletes: false,
        threads: false,
        // UTF-16 code units (the sender's format counts them).
        max_text_chars: Some(5000),
    },
    sender: Some(&crate::core::outbound::line::SENDER),
};

/// LINE's webhook scheme.
pub struct Line;

impl Line {
    /// Verifies `request`: see the module documentation.
    pub fn verify(
        request: &Request<'_>,
        secrets: &[String],
        _now: u64,
        _window: u64,
    ) -> Result<(), Rejection> {
        let malformed = Rejection::MalformedSignature { header: SIGNATURE };
        let given = request.required_header(SIGNATURE)?;
        let signature: [u8; 32] = STANDARD
            .decode(given)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(malformed)?;
        any_secret(non_empty(secrets), |secret| {
            mac(secret, request.body).verify_slice(&signature).is_ok()
        })
    }

    /// Reads a verified `request`: see the module documentation.
    pub fn parse(request: &Request<'_>) -> Result<Parsed, ParseError> {
        let payload: Value = serde_json::from_slice(request.body)
            .map_err(|error| ParseError::new(format!("body is not JSON: {error}")))?;
        let events = payload
            .get("events")
            .and_then(Value::as_array)
            .ok_or_else(|| ParseError::new("missing array field events"))?;
        let events = events.iter().map(event).collect::<Result<_, _>>()?;
        Ok(Parsed::Events {
            events,
            ack: Ack::Empty,
        })
    }
}

/// One webhook event object.
fn event(object: &Value) -> Result<Event, ParseError> {
    let id = text(object, "/webhookEventId")
        .filter(|id| !id.is_empty())
        .ok_or_else(|| ParseError::new("missing string field events.webhookEventId"))?;
    let kind = match text(object, "/type") {
        Some("message") => Kind::Message,
        Some("postback") => Kind::Interaction,
        Some("follow" | "unfollow" | "join" | "leave" | "memberJoined" | "memberLeft") => {
            Kind::Membership
        }
        _ => Kind::Other,
    };
    let user = text(object, "/source/userId");
    Ok(Event {
        provider_event_id: id.to_owned(),
        semantic_key: None,
        app_id: None,
        tenant_keys: Vec::new(),
        team_id: None,
        kind,
        occurred_at: object
            .get("timestamp")
            .and_then(Value::as_u64)
            .map(|ms| ms / 1000),
        sender: user.map(|id| Sender {
            id: id.to_owned(),
            display_name: None,
            is_bot: false,
        }),
        conversation: conversation(object),
        text: text(object, "/message/text")
            .or_else(|| text(object, "/postback/data"))
            .map(str::to_owned),
        message_id: text(object, "/message/id").map(str::to_owned),
        reply_context: quote_token(object),
        raw: without_keys(object.clone(), &["replyToken"]),
    })
}

/// The message's `quoteToken`, which lets an answer quote it.
fn quote_token(object: &Value) -> Map<String, Value> {
    let token = text(object, "/message/quoteToken");
    token
        .map(|token| ("quote_token".to_owned(), Value::from(token)))
        .into_iter()
        .collect()
}

/// The chat an event happened in: the group, the multi-person chat (room), or the user's 1:1
/// chat with the account.
fn conversation(object: &Value) -> Option<Conversation> {
    let (pointer, kind) = match text(object, "/source/type")? {
        "group" => ("/source/groupId", ConversationType::Group),
        "room" => ("/source/roomId", ConversationType::Group),
        _ => ("/source/userId", ConversationType::Dm),
    };
    Some(Conversation {
        id: text(object, pointer)?.to_owned(),
        kind,
        thread_id: None,
    })
}

#[cfg(test)]
#[path = "line_test.rs"]
mod tests;
