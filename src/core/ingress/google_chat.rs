//! Google Chat: interaction events Google Chat posts to a Chat app's HTTP endpoint, each with a
//! bearer JWT signed by Google.
//!
//! Sources: "Verify requests from Google Chat"
//! (<https://developers.google.com/workspace/chat/verify-requests-from-chat>: the two audience
//! choices, the issuer `chat@system.gserviceaccount.com` and its key set, the ID token's `email`),
//! "Receive and respond to interaction events" and the `Event` / `Message` references
//! (<https://developers.google.com/workspace/chat/api/reference/rest/v1/Event>).
//!
//! # What's in scope
//! - [`verify`], by the app profile's app id, which says the audience the Chat app is
//!   configured with:
//!   - a **project number** (digits): a token issued by `chat@system.gserviceaccount.com`,
//!     verified with Chat's own keys ([`KeySet::GoogleChat`]);
//!   - the **endpoint URL**: `endpoint_url` (the URL the request came to: `PUBLIC_BASE_URL`,
//!     the path and the query), or the URL itself as entered in the Chat console: a Google ID
//!     token (issuer `https://accounts.google.com`, Google's keys, [`KeySet::Google`]) whose
//!     audience is that URL exactly and whose `email` is `chat@system.gserviceaccount.com` with
//!     `email_verified`: any service account can mint an ID token for any URL, so the email is
//!     what says Chat sent it.
//!
//!   Both: RS256 only, `exp`/`nbf` with 5 minutes of skew.
//! - [`parse`]: one event → one event, found by its space (`space.name`), else the user's
//!   Workspace domain (`domain:<user.domainId>`). `MESSAGE` is a message (`argumentText`, the
//!   text after the app's mention, when there is one), in the space with the message's thread;
//!   everything else (`ADDED_TO_SPACE`, `CARD_CLICKED`, …) is [`Kind::Other`]. Messages from
//!   other apps (`sender.type: BOT`) are from a bot.
//! - Dedupe: `message.name`; an event without a message by its type, space and `eventTime`.
//!
//! # What's out of scope
//! Synchronous replies in the response (answers go through the Chat API after the queue), the
//! Google Workspace add-on event format (`chat.messagePayload`, refused with 400, and its ID
//! tokens from `service-<project>@gcp-sa-gsuiteaddons.iam.gserviceaccount.com`), dialogs and
//! card actions' responses (acknowledged with `{}`).

use super::{
    required, Ack, Capabilities, Conversation, ConversationType, Event, Kind, ParseError, Parsed,
    PathId, Rejection, Request, Sender, Spec, Verification,
};
use crate::core::json::text;
use crate::core::jwt::{Check, KeySet, Token, AUTHORIZATION};
use crate::core::rfc3339;
use crate::core::tenancy::SecretOwner;
use serde_json::{Map, Value};

/// Google Chat's service account: the issuer of its own tokens, the `email` of its ID tokens.
pub const CHAT_ISSUER: &str = "chat@system.gserviceaccount.com";
/// The issuers of Google ID tokens.
const GOOGLE_ISSUERS: [&str; 2] = ["https://accounts.google.com", "accounts.google.com"];

/// Google Chat, as [`crate::core::tenancy::Provider`] registers it.
pub const SPEC: Spec = Spec {
    name: "google_chat",
    path_id: PathId::AppProfile,
    get_handshake: None,
    profile_secrets: &[("service_account_key", true)],
    installation_credentials: &[],
    // The JWT is checked against the app id; the key only obtains tokens for answers.
    verified_with: (SecretOwner::Profile, "service_account_key"),
    verify: Verification::Jwt(verify),
    parse,
    session_methods: &[],
    deep_link: None,
    channel_name: Some("name"),
    url_forms: &[],
    tenant_key_field: None,
    dedupe_window_seconds: 26 * 3600,
    unsigned_event_time: false,
    capabilities: Capabilities {
        edits: true,
        deletes: true,
        threads: true,
        // Chat takes messages of up to 32,000 bytes: 8,000 characters of up to 4 bytes each.
        max_text_chars: Some(8000),
    },
    sender: Some(&crate::core::outbound::google_chat::SENDER),
};

/// The app id that makes the audience the endpoint URL the request was sent to.
pub const ENDPOINT_URL: &str = "endpoint_url";

/// Checks the token of `request` for the app id `app_id`: see the module documentation.
pub fn verify(request: &Request<'_>, app_id: &str, now: u64) -> Result<Check, Rejection> {
    let token = Token::from_bearer(request.header(AUTHORIZATION))?;
    let project_number = !app_id.is_empty() && app_id.bytes().all(|b| b.is_ascii_digit());
    let audience = match app_id {
        ENDPOINT_URL => request.url,
        _ => app_id,
    };
    let key_set = if !project_number {
        token.check_issuer(&GOOGLE_ISSUERS)?;
        let verified = token.claims.get("email_verified") == Some(&Value::Bool(true));
        if token.claim("email") != Some(CHAT_ISSUER) || !verified {
            return Err(Rejection::ClaimMismatch { claim: "email" });
        }
        KeySet::Google
    } else {
        token.check_issuer(&[CHAT_ISSUER])?;
        KeySet::GoogleChat
    };
    token.check_audience(audience)?;
    token.check_time(now)?;
    Ok(token.check(key_set, None))
}

/// Reads a verified `request`: see the module documentation.
pub fn parse(request: &Request<'_>) -> Result<Parsed, ParseError> {
    let payload: Value = serde_json::from_slice(request.body)
        .map_err(|error| ParseError::new(format!("body is not JSON: {error}")))?;
    if payload.pointer("/chat").is_some() {
        return Err(ParseError::new(
            "a Google Workspace add-on event: configure the Chat app's connection as an HTTP endpoint URL, not as an add-on",
        ));
    }
    let kind = required(&payload, "/type")?;
    let space = required(&payload, "/space/name")?;
    let message = payload.pointer("/message").unwrap_or(&Value::Null);
    let name = text(message, "/name");
    let event_time = text(&payload, "/eventTime").unwrap_or_default();
    let is_message = kind == "MESSAGE" && name.is_some();
    let mut tenant_keys = vec![space.to_owned()];
    tenant_keys.extend(text(&payload, "/user/domainId").map(|domain| format!("domain:{domain}")));
    let event = Event {
        provider_event_id: name
            .map_or_else(|| format!("{kind}:{space}:{event_time}"), str::to_owned),
        semantic_key: None,
        app_id: None,
        tenant_keys,
        team_id: None,
        kind: if is_message {
            Kind::Message
        } else {
            Kind::Other
        },
        occurred_at: rfc3339::unix_seconds(event_time),
        sender: sender(&payload, message),
        conversation: Some(Conversation {
            id: space.to_owned(),
            kind: match text(&payload, "/space/spaceType").or(text(&payload, "/space/type")) {
                Some("DIRECT_MESSAGE" | "DM") => ConversationType::Dm,
                Some("GROUP_CHAT") => ConversationType::Group,
                _ => ConversationType::Channel,
            },
            thread_id: text(message, "/thread/name").map(str::to_owned),
        }),
        text: text(message, "/argumentText")
            .or_else(|| text(message, "/text"))
            .map(|t| t.trim().to_owned()),
        message_id: if is_message {
            name.map(str::to_owned)
        } else {
            None
        },
        reply_context: Map::new(),
        raw: payload.clone(),
    };
    Ok(Parsed::Events {
        events: vec![event],
        // "Acknowledge with `{}` and answer through the API later."
        ack: Ack::Json("{}".to_owned()),
    })
}

/// The message's sender, else the event's user.
fn sender(payload: &Value, message: &Value) -> Option<Sender> {
    let who = match message.pointer("/sender") {
        Some(sender) => sender,
        None => payload.pointer("/user")?,
    };
    Some(Sender {
        id: text(who, "/name")?.to_owned(),
        display_name: text(who, "/displayName").map(str::to_owned),
        is_bot: text(who, "/type") == Some("BOT"),
    })
}

#[cfg(test)]
#[path = "google_chat_test.rs"]
mod tests;
