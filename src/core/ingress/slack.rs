//! Slack: the Events API, slash commands and interactivity, all signed with the app's signing
//! secret.
//!
//! Sources: "Verifying requests from Slack"
//! (<https://docs.slack.dev/authentication/verifying-requests-from-slack>), the Events API
//! (<https://docs.slack.dev/apis/events-api/>, `url_verification`, `event_callback`,
//! `app_rate_limited`), "Implementing slash commands" and the interaction payload reference
//! (<https://docs.slack.dev/reference/interaction-payloads>).
//!
//! # What's in scope
//! - [`Slack::verify`]: `X-Slack-Signature: v0=<hex>` = HMAC-SHA256(signing secret,
//!   `v0:{X-Slack-Request-Timestamp}:{raw body}`), compared in constant time with every valid
//!   secret (rotation); the timestamp must be within the replay window in both directions (Bolt
//!   only refuses old ones) and is checked before any HMAC. Empty secrets are never used.
//! - [`Slack::parse`]: JSON bodies (`url_verification` → handshake, `event_callback` → one event,
//!   any other `type` → no events) and form bodies (`ssl_check=1` → handshake, `payload=<JSON>`
//!   interactivity, slash commands). JSON or form is decided by the body's first non-space byte,
//!   not by `Content-Type`.
//!
//! # What's out of scope
//! - The deprecated verification token (`token`): never checked, and removed from `raw` so it
//!   does not travel to agents.
//! - Retries (`X-Slack-Retry-Num`): the edge deduplicates on `event_id` and on the semantic key
//!   (team + channel + message `ts`).
//! - Socket Mode, answering through `response_url`, looking up display names (Events API
//!   payloads carry only user ids).

use super::{
    any_secret, check_timestamp, decode_hex, non_empty, parse_timestamp, without_keys, Ack,
    Capabilities, Conversation, ConversationType, Event, Kind, ParseError, Parsed, PathId,
    Rejection, Reply, Request, Sender, Spec, Verification,
};
use crate::core::binding_session::Method;
use crate::core::mac::hmac_sha256;
use crate::core::tenancy::SecretOwner;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;

/// The signature header.
pub(super) const SIGNATURE: &str = "X-Slack-Signature";
/// The signed timestamp header.
pub(super) const TIMESTAMP: &str = "X-Slack-Request-Timestamp";

/// Slack, as [`crate::core::tenancy::Provider`] registers it.
pub const SPEC: Spec = Spec {
    name: "slack",
    path_id: PathId::AppProfile,
    get_handshake: None,
    profile_secrets: &[
        ("signing_secret", true),
        ("oauth_client_id", false),
        ("oauth_client_secret", false),
    ],
    installation_credentials: &[("bot_token", false)],
    verified_with: (SecretOwner::Profile, "signing_secret"),
    verify: Verification::Core(Slack::verify),
    parse: Slack::parse,
    session_methods: &[Method::Oauth],
    deep_link: None,
    channel_name: Some("team_name"),
    url_forms: &[],
    tenant_key_field: None,
    dedupe_window_seconds: 26 * 3600,
    unsigned_event_time: false,
    capabilities: Capabilities {
        edits: true,
        deletes: true,
        threads: true,
        max_text_chars: Some(4000),
    },
    sender: Some(&crate::core::outbound::slack::SENDER),
};

/// Slack's webhook scheme.
pub struct Slack;

impl Slack {
    /// Verifies `request`: see the module documentation.
    pub fn verify(
        request: &Request<'_>,
        secrets: &[String],
        now: u64,
        window: u64,
    ) -> Result<(), Rejection> {
        let signature_text = request.required_header(SIGNATURE)?;
        let timestamp_text = request.required_header(TIMESTAMP)?;
        let signature = signature(signature_text)?;
        check_timestamp(parse_timestamp(timestamp_text, TIMESTAMP)?, now, window)?;
        any_secret(non_empty(secrets), |secret| {
            signs(secret, timestamp_text, request.body, &signature)
        })
    }

    /// Reads a verified `request`: see the module documentation.
    pub fn parse(request: &Request<'_>) -> Result<Parsed, ParseError> {
        match request.body.iter().find(|byte| !byte.is_ascii_whitespace()) {
            Some(b'{') => parse_json(request.body),
            _ => parse_form(request.body),
        }
    }
}

/// The 32 bytes of `v0=<64 hex>`.
fn signature(text: &str) -> Result<[u8; 32], Rejection> {
    let hex = text
        .strip_prefix("v0=")
        .filter(|hex| hex.len() == 64)
        .ok_or(Rejection::MalformedSignature { header: SIGNATURE })?;
    decode_hex(hex)
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or(Rejection::MalformedSignature { header: SIGNATURE })
}

/// Whether `secret` signs `v0:{timestamp}:{body}` as `signature` (constant-time).
fn signs(secret: &str, timestamp: &str, body: &[u8], signature: &[u8]) -> bool {
    mac(secret, timestamp, body).verify_slice(signature).is_ok()
}

/// HMAC-SHA256 keyed with `secret` over `v0:{timestamp}:{body}`, before finalising.
pub(super) fn mac(secret: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = hmac_sha256(secret.as_bytes());
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    mac
}

fn parse_json(body: &[u8]) -> Result<Parsed, ParseError> {
    let payload: Value = serde_json::from_slice(body)
        .map_err(|error| ParseError::new(format!("body is not JSON: {error}")))?;
    match text(&payload, "/type") {
        Some("url_verification") => Ok(Parsed::Handshake(Reply {
            status: 200,
            content_type: "text/plain",
            body: required(&payload, "/challenge")?.to_owned(),
        })),
        Some("event_callback") => event_callback(&payload).map(one),
        Some(_) => Ok(Parsed::Events {
            events: Vec::new(),
            ack: Ack::Empty,
        }),
        None => Err(missing("/type")),
    }
}

fn parse_form(body: &[u8]) -> Result<Parsed, ParseError> {
    let form = Form(form_urlencoded::parse(body).into_owned().collect());
    if form.get("ssl_check") == Some("1") {
        return Ok(Parsed::Handshake(Reply {
            status: 200,
            content_type: "text/plain",
            body: String::new(),
        }));
    }
    if let Some(payload) = form.get("payload") {
        return interaction(payload).map(one);
    }
    if form.get("command").is_some() {
        return slash_command(&form).map(one);
    }
    Err(ParseError::new(
        "form body has no command, payload or ssl_check field",
    ))
}

fn one(event: Event) -> Parsed {
    Parsed::Events {
        events: vec![event],
        ack: Ack::Empty,
    }
}

/// An Events API `event_callback`.
fn event_callback(payload: &Value) -> Result<Event, ParseError> {
    let event = payload
        .get("event")
        .filter(|event| event.is_object())
        .ok_or_else(|| missing("/event"))?;
    let kind = event_kind(required(payload, "/event/type")?);
    let team_id = required(payload, "/team_id")?;
    Ok(Event {
        provider_event_id: required(payload, "/event_id")?.to_owned(),
        semantic_key: semantic_key(kind, team_id, event),
        app_id: owned(payload, "/api_app_id"),
        tenant_keys: tenant_keys(enterprise_id(payload), Some(team_id)),
        team_id: Some(team_id.to_owned()),
        kind,
        occurred_at: payload
            .get("event_time")
            .and_then(Value::as_u64)
            .or_else(|| whole_seconds(text(event, "/ts")?)),
        sender: event_sender(event),
        conversation: event_conversation(event),
        text: owned(event, "/text"),
        message_id: owned(event, "/ts"),
        reply_context: Map::new(),
        raw: without_keys(payload.clone(), CAPABILITIES),
    })
}

fn event_kind(kind: &str) -> Kind {
    match kind {
        "message" | "app_mention" => Kind::Message,
        "reaction_added" | "reaction_removed" => Kind::Reaction,
        "member_joined_channel" | "member_left_channel" => Kind::Membership,
        _ => Kind::Other,
    }
}

/// `{team_id}:{channel}:{ts}` for messages: Slack may deliver one message under several event
/// ids (e.g. `message` and `app_mention`).
fn semantic_key(kind: Kind, team_id: &str, event: &Value) -> Option<String> {
    if kind != Kind::Message {
        return None;
    }
    let channel = text(event, "/channel")?;
    let ts = text(event, "/ts")?;
    Some(format!("{team_id}:{channel}:{ts}"))
}

/// `enterprise_id`, or the first authorization's, for Enterprise Grid payloads.
fn enterprise_id(payload: &Value) -> Option<&str> {
    text(payload, "/enterprise_id").or_else(|| text(payload, "/authorizations/0/enterprise_id"))
}

/// The user (or, for bot messages without one, the bot); bots are flagged so the edge drops
/// them instead of answering itself.
fn event_sender(event: &Value) -> Option<Sender> {
    let bot_id = text(event, "/bot_id");
    let is_bot = bot_id.is_some() || text(event, "/subtype") == Some("bot_message");
    let id = text(event, "/user").or(bot_id)?;
    Some(Sender {
        id: id.to_owned(),
        display_name: None,
        is_bot,
    })
}

/// `event.channel` (reactions: `event.item.channel`), typed by `event.channel_type`.
fn event_conversation(event: &Value) -> Option<Conversation> {
    let id = text(event, "/channel").or_else(|| text(event, "/item/channel"))?;
    let kind = match text(event, "/channel_type") {
        Some("im") => ConversationType::Dm,
        Some("mpim") => ConversationType::Group,
        _ => ConversationType::Channel,
    };
    Some(Conversation {
        id: id.to_owned(),
        kind,
        thread_id: owned(event, "/thread_ts"),
    })
}

/// A slash command's form fields.
fn slash_command(form: &Form) -> Result<Event, ParseError> {
    let command = form.required("command")?;
    let team_id = form.required("team_id")?;
    let text = format!("{command} {}", form.get("text").unwrap_or_default());
    Ok(Event {
        provider_event_id: form.required("trigger_id")?.to_owned(),
        semantic_key: None,
        app_id: form.owned("api_app_id"),
        tenant_keys: tenant_keys(form.get("enterprise_id"), Some(team_id)),
        team_id: Some(team_id.to_owned()),
        kind: Kind::Command,
        occurred_at: None,
        sender: Some(Sender {
            id: form.required("user_id")?.to_owned(),
            display_name: form.owned("user_name"),
            is_bot: false,
        }),
        conversation: form.get("channel_id").map(|id| Conversation {
            id: id.to_owned(),
            kind: named_channel_type(form.get("channel_name")),
            thread_id: None,
        }),
        text: Some(text.trim().to_owned()),
        message_id: None,
        reply_context: response_url(form.get("response_url")),
        raw: without_keys(form.to_json(), CAPABILITIES),
    })
}

/// An interactivity `payload=<JSON>` (block actions, shortcuts, view submissions...).
fn interaction(payload: &str) -> Result<Event, ParseError> {
    let payload: Value = serde_json::from_str(payload)
        .map_err(|error| ParseError::new(format!("payload is not JSON: {error}")))?;
    let user_id = required(&payload, "/user/id")?;
    let team_id = text(&payload, "/team/id");
    let enterprise =
        text(&payload, "/enterprise/id").or_else(|| text(&payload, "/team/enterprise_id"));
    let tenant_keys = tenant_keys(enterprise, team_id);
    if tenant_keys.is_empty() {
        return Err(missing("/team/id"));
    }
    Ok(Event {
        provider_event_id: interaction_id(&payload, user_id)?,
        semantic_key: None,
        app_id: owned(&payload, "/api_app_id"),
        tenant_keys,
        team_id: team_id.map(str::to_owned),
        kind: Kind::Interaction,
        occurred_at: None,
        sender: Some(Sender {
            id: user_id.to_owned(),
            display_name: owned(&payload, "/user/username")
                .or_else(|| owned(&payload, "/user/name")),
            is_bot: false,
        }),
        conversation: interaction_conversation(&payload),
        text: None,
        message_id: owned(&payload, "/container/message_ts"),
        reply_context: response_url(text(&payload, "/response_url")),
        raw: without_keys(payload.clone(), CAPABILITIES),
    })
}

/// `trigger_id`, else `{container.message_ts}:{user.id}` (one user's action on one message).
fn interaction_id(payload: &Value, user_id: &str) -> Result<String, ParseError> {
    if let Some(trigger_id) = text(payload, "/trigger_id") {
        return Ok(trigger_id.to_owned());
    }
    let message_ts = text(payload, "/container/message_ts")
        .ok_or_else(|| ParseError::new("missing string field trigger_id"))?;
    Ok(format!("{message_ts}:{user_id}"))
}

fn interaction_conversation(payload: &Value) -> Option<Conversation> {
    let id = text(payload, "/channel/id").or_else(|| text(payload, "/container/channel_id"))?;
    Some(Conversation {
        id: id.to_owned(),
        kind: named_channel_type(text(payload, "/channel/name")),
        thread_id: owned(payload, "/message/thread_ts"),
    })
}

/// Slash commands and interactivity name DMs `directmessage` and group DMs `mpdm-…`.
fn named_channel_type(name: Option<&str>) -> ConversationType {
    match name {
        Some("directmessage") => ConversationType::Dm,
        Some(name) if name.starts_with("mpdm-") => ConversationType::Group,
        _ => ConversationType::Channel,
    }
}

/// Team then enterprise, skipping absent and empty ones. The workspace's own installation wins:
/// tried the other way, an org-wide (enterprise-keyed) installation of another org in the same
/// Enterprise Grid would capture the events of a workspace installed on its own.
fn tenant_keys(enterprise: Option<&str>, team: Option<&str>) -> Vec<String> {
    [team, enterprise]
        .into_iter()
        .flatten()
        .filter(|key| !key.is_empty())
        .map(str::to_owned)
        .collect()
}

fn response_url(url: Option<&str>) -> Map<String, Value> {
    url.map(|url| ("response_url".to_owned(), Value::from(url)))
        .into_iter()
        .collect()
}

/// Top-level fields of Slack payloads that are capabilities: the deprecated verification
/// `token` and the `response_url`s that post into the conversation.
const CAPABILITIES: &[&str] = &["token", "response_url", "response_urls"];

/// The whole seconds of a Slack `ts` such as `1355517523.000005`.
fn whole_seconds(ts: &str) -> Option<u64> {
    ts.split('.').next()?.parse().ok()
}

fn text<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str)
}

fn owned(value: &Value, pointer: &str) -> Option<String> {
    text(value, pointer).map(str::to_owned)
}

fn required<'a>(value: &'a Value, pointer: &str) -> Result<&'a str, ParseError> {
    text(value, pointer).ok_or_else(|| missing(pointer))
}

/// "missing string field a.b" for the JSON pointer `/a/b`.
fn missing(pointer: &str) -> ParseError {
    let field = pointer.trim_start_matches('/').replace('/', ".");
    ParseError::new(format!("missing string field {field}"))
}

/// Decoded form fields, in order; the first of repeated names wins.
struct Form(Vec<(String, String)>);

impl Form {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    fn owned(&self, name: &str) -> Option<String> {
        self.get(name)
            .filter(|value| !value.is_empty())
            .map(str::to_owned)
    }

    fn required(&self, name: &str) -> Result<&str, ParseError> {
        self.get(name)
            .ok_or_else(|| ParseError::new(format!("missing form field {name}")))
    }

    /// The fields as a JSON object of strings, without the verification token.
    fn to_json(&self) -> Value {
        let mut object = Map::new();
        for (key, value) in self.0.iter().filter(|(key, _)| key != "token") {
            object
                .entry(key.clone())
                .or_insert_with(|| Value::from(value.as_str()));
        }
        Value::Object(object)
    }
}

#[cfg(test)]
#[path = "slack_test.rs"]
mod tests;
