//! Microsoft Teams: activities the Bot Framework's Bot Connector posts to a bot's messaging
//! endpoint, each with a bearer JWT signed by the Bot Framework's published keys.
//!
//! Sources: "Authenticate requests from the Bot Connector service to your bot"
//! (<https://learn.microsoft.com/azure/bot-service/rest-api/bot-framework-rest-connector-authentication>:
//! issuer, audience, `serviceurl`, endorsements, 5 minutes of clock skew), the Bot Framework
//! SDK's `ChannelValidation` (`botframework-connector/src/auth/channelValidation.ts` in
//! <https://github.com/microsoft/botbuilder-js>) and "Conversation basics" in the Teams docs
//! (activity fields, `;messageid=` thread ids).
//!
//! # What's in scope
//! - [`verify`]: `Authorization: Bearer` RS256 JWT, issuer `https://api.botframework.com`,
//!   audience the app profile's app id (the Microsoft App ID), `exp`/`nbf` with 5 minutes of
//!   skew; its `serviceurl` claim must equal the activity's `serviceUrl` (so a token cannot be
//!   replayed with a body naming another URL for answers), the activity's `channelId` must be
//!   `msteams` and the key must be endorsed for it. The key is from the Bot Framework key set ([`KeySet::BotFramework`]).
//!   The token does not cover the body: these two fields are the body's only link to it.
//! - [`parse`]: one activity → one event, found by its Microsoft Entra tenant
//!   (`conversation.tenantId`, else `channelData.tenant.id`); the recipient's `28:<app id>`
//!   must be the profile's app. A `message` is a message (the bot's own `<at>` mention taken out
//!   of its text); everything else (`conversationUpdate`, `messageReaction`, `invoke`, …) is
//!   [`Kind::Other`]. Channel threads: `19:…@thread.tacv2;messageid=<root>` is the channel with
//!   the root as its thread. The `serviceUrl` travels in the sealed reply capability.
//! - Dedupe: the activity `id`.
//!
//! # What's out of scope
//! Emulator and Azure Government issuers, skills (bot-to-bot tokens), adaptive-card invoke
//! responses (an `invoke` is acknowledged empty).

use super::{
    required, Ack, Capabilities, Conversation, ConversationType, Event, Kind, ParseError, Parsed,
    PathId, Rejection, Request, Sender, Spec, Verification,
};
use crate::core::json::text;
use crate::core::jwt::{Check, KeySet, Token, AUTHORIZATION};
use crate::core::rfc3339;
use crate::core::tenancy::SecretOwner;
use serde_json::{Map, Value};

/// The issuer of the Bot Connector's tokens.
pub const ISSUER: &str = "https://api.botframework.com";
/// The reply-context field holding the activity's `serviceUrl`.
pub const SERVICE_URL: &str = "service_url";
/// The `channelId` of Teams activities, which the signing key must be endorsed for.
pub const CHANNEL_ID: &str = "msteams";
/// A bot's id prefix in Teams (`28:<app id>`).
const BOT_ID_PREFIX: &str = "28:";

/// Teams, as [`crate::core::tenancy::Provider`] registers it.
pub const SPEC: Spec = Spec {
    name: "teams",
    path_id: PathId::AppProfile,
    get_handshake: None,
    profile_secrets: &[("app_password", true), ("tenant_id", false)],
    installation_credentials: &[],
    // The JWT is checked against the app id; the password only obtains tokens for answers.
    verified_with: (SecretOwner::Profile, "app_password"),
    verify: Verification::Jwt(verify),
    parse,
    session_methods: &[],
    deep_link: None,
    channel_name: Some("tenant_name"),
    url_forms: &[],
    tenant_key_field: None,
    dedupe_window_seconds: 26 * 3600,
    unsigned_event_time: false,
    capabilities: Capabilities {
        edits: true,
        deletes: true,
        threads: true,
        // Teams refuses messages over about 28 KB.
        max_text_chars: Some(20_000),
    },
    sender: Some(&crate::core::outbound::teams::SENDER),
};

/// Checks the token of `request` for the app `app_id`: see the module documentation.
pub fn verify(request: &Request<'_>, app_id: &str, now: u64) -> Result<Check, Rejection> {
    let token = Token::from_bearer(request.header(AUTHORIZATION))?;
    token.check_issuer(&[ISSUER])?;
    token.check_audience(app_id)?;
    token.check_time(now)?;
    let activity: Value = serde_json::from_slice(request.body).unwrap_or(Value::Null);
    let service_url = text(&activity, "/serviceUrl").filter(|url| !url.is_empty());
    if service_url.is_none() || token.claim("serviceurl") != service_url {
        return Err(Rejection::ClaimMismatch {
            claim: "serviceurl",
        });
    }
    // The key must be endorsed for the activity's channel, and this path takes Teams only (the
    // SDK lets an empty channelId through: here it is refused).
    if text(&activity, "/channelId") != Some(CHANNEL_ID) {
        return Err(Rejection::ClaimMismatch {
            claim: "endorsements",
        });
    }
    Ok(token.check(KeySet::BotFramework, Some(CHANNEL_ID.to_owned())))
}

/// Reads a verified `request`: see the module documentation.
pub fn parse(request: &Request<'_>) -> Result<Parsed, ParseError> {
    let activity: Value = serde_json::from_slice(request.body)
        .map_err(|error| ParseError::new(format!("body is not JSON: {error}")))?;
    let id = required(&activity, "/id")?;
    let kind = required(&activity, "/type")?;
    let tenant = text(&activity, "/conversation/tenantId")
        .or_else(|| text(&activity, "/channelData/tenant/id"))
        .ok_or_else(|| ParseError::new("missing string field conversation.tenantId"))?;
    let recipient = required(&activity, "/recipient/id")?;
    let service_url = required(&activity, "/serviceUrl")?;
    let is_message = kind == "message";
    let text_field = text(&activity, "/text").map(|t| without_mention(t, &activity));
    let event = Event {
        provider_event_id: id.to_owned(),
        semantic_key: None,
        app_id: Some(
            recipient
                .strip_prefix(BOT_ID_PREFIX)
                .unwrap_or(recipient)
                .to_owned(),
        ),
        tenant_keys: vec![tenant.to_owned()],
        team_id: Some(tenant.to_owned()),
        kind: if is_message {
            Kind::Message
        } else {
            Kind::Other
        },
        occurred_at: text(&activity, "/timestamp").and_then(rfc3339::unix_seconds),
        sender: text(&activity, "/from/id").map(|from| Sender {
            id: from.to_owned(),
            display_name: text(&activity, "/from/name").map(str::to_owned),
            is_bot: from.starts_with(BOT_ID_PREFIX),
        }),
        conversation: conversation(&activity),
        text: text_field,
        message_id: is_message.then(|| id.to_owned()),
        reply_context: Map::from_iter([(SERVICE_URL.to_owned(), service_url.into())]),
        raw: activity.clone(),
    };
    Ok(Parsed::Events {
        events: vec![event],
        ack: Ack::Empty,
    })
}

/// The activity's conversation: a channel's thread root comes after `;messageid=`.
fn conversation(activity: &Value) -> Option<Conversation> {
    let id = text(activity, "/conversation/id")?;
    let (channel, thread) = match id.split_once(";messageid=") {
        Some((channel, root)) => (channel, Some(root.to_owned())),
        None => (id, None),
    };
    let kind = match text(activity, "/conversation/conversationType") {
        Some("personal") => ConversationType::Dm,
        Some("groupChat") => ConversationType::Group,
        _ => ConversationType::Channel,
    };
    Some(Conversation {
        id: channel.to_owned(),
        kind,
        thread_id: thread,
    })
}

/// `text` without the `<at>…</at>` mention of the bot (the activity's recipient).
fn without_mention(text_value: &str, activity: &Value) -> String {
    match text(activity, "/recipient/name") {
        Some(name) if !name.is_empty() => text_value
            .replace(&format!("<at>{name}</at>"), "")
            .trim()
            .to_owned(),
        _ => text_value.trim().to_owned(),
    }
}

#[cfg(test)]
#[path = "teams_test.rs"]
mod tests;
