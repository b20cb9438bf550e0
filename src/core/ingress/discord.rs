//! Discord: interactions delivered to an HTTP endpoint, signed with Ed25519.
//!
//! Sources: "Receiving and Responding", sections "Security and Authorization", "Interaction
//! Object" and "Interaction Response Object"
//! (<https://discord.com/developers/docs/interactions/receiving-and-responding>); snowflake
//! timestamps from the API reference (<https://discord.com/developers/docs/reference#snowflakes>).
//!
//! # What's in scope
//! - [`checks`]: `X-Signature-Ed25519` (128 hex) over `{X-Signature-Timestamp}{raw
//!   body}`, to be checked against every configured application public key (64 hex; keys of
//!   small order are skipped) by the platform: WebCrypto in the Worker, `ed25519-dalek`
//!   natively ([`Discord::verify`]). Header lengths and encodings are checked before any
//!   crypto. Discord does not require a freshness check; we add one: the signed timestamp must be
//!   within the replay window in both directions.
//! - [`Discord::parse`]: PING → PONG handshake; application commands, message components,
//!   autocomplete and modal submits → one event each, acknowledged with a deferred response
//!   (the runtime follows up with the interaction token, valid 15 minutes).
//!
//! # What's out of scope
//! The Gateway, answering autocomplete with real choices (we answer an empty list at once),
//! follow-up messages, resolved data beyond what `raw` carries.

use super::{
    check_timestamp, decode_hex, parse_timestamp, required, without_keys, Ack, Capabilities,
    Conversation, ConversationType, Event, Kind, ParseError, Parsed, PathId, Rejection, Reply,
    Request, Sender, Spec, Verification,
};
use crate::core::ed25519::{is_weak_key, Check};
use crate::core::tenancy::SecretOwner;
use serde_json::{Map, Value};

/// The signature header.
pub(super) const SIGNATURE: &str = "X-Signature-Ed25519";
/// The signed timestamp header.
pub(super) const TIMESTAMP: &str = "X-Signature-Timestamp";
/// Discord's epoch, 2015-01-01T00:00:00Z, in Unix milliseconds.
const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;
/// PONG.
const PONG: &str = r#"{"type":1}"#;
/// DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE.
const DEFERRED_MESSAGE: &str = r#"{"type":5}"#;
/// DEFERRED_UPDATE_MESSAGE.
const DEFERRED_UPDATE: &str = r#"{"type":6}"#;
/// APPLICATION_COMMAND_AUTOCOMPLETE_RESULT with no choices.
const NO_CHOICES: &str = r#"{"type":8,"data":{"choices":[]}}"#;

/// Discord, as [`crate::core::tenancy::Provider`] registers it.
pub const SPEC: Spec = Spec {
    name: "discord",
    path_id: PathId::AppProfile,
    get_handshake: None,
    profile_secrets: &[("public_key", true)],
    installation_credentials: &[("bot_token", false)],
    verified_with: (SecretOwner::Profile, "public_key"),
    verify: Verification::Ed25519(checks),
    parse: Discord::parse,
    session_methods: &[],
    deep_link: None,
    channel_name: None,
    url_forms: &[],
    tenant_key_field: None,
    dedupe_window_seconds: 26 * 3600,
    unsigned_event_time: false,
    capabilities: Capabilities {
        edits: true,
        deletes: true,
        threads: true,
        max_text_chars: Some(2000),
    },
    sender: Some(&crate::core::outbound::discord::SENDER),
};

/// Discord's interactions endpoint scheme.
pub struct Discord;

/// The Ed25519 checks of `request`, one per usable public key in `secrets`, after the headers'
/// forms and the replay window (at `now`, of `window` seconds): see the module documentation.
pub fn checks(
    request: &Request<'_>,
    secrets: &[String],
    now: u64,
    window: u64,
) -> Result<Vec<Check>, Rejection> {
    let signature_text = request.required_header(SIGNATURE)?;
    let timestamp_text = request.required_header(TIMESTAMP)?;
    let signature = parse_hex::<64>(signature_text)
        .ok_or(Rejection::MalformedSignature { header: SIGNATURE })?;
    check_timestamp(parse_timestamp(timestamp_text, TIMESTAMP)?, now, window)?;
    let message = signed_message(timestamp_text, request.body);
    let checks: Vec<Check> = secrets
        .iter()
        .filter_map(|key| public_key(key))
        .map(|key| Check {
            key,
            message: message.clone(),
            signature,
        })
        .collect();
    if checks.is_empty() {
        return Err(Rejection::NoSecret);
    }
    Ok(checks)
}

impl Discord {
    /// Verifies `request` natively: [`checks`], each checked with `ed25519-dalek`.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn verify(
        request: &Request<'_>,
        secrets: &[String],
        now: u64,
        window: u64,
    ) -> Result<(), Rejection> {
        SPEC.verify.natively(request, secrets, now, window)
    }

    /// Reads a verified `request`: see the module documentation.
    pub fn parse(request: &Request<'_>) -> Result<Parsed, ParseError> {
        let payload: Value = serde_json::from_slice(request.body)
            .map_err(|error| ParseError::new(format!("body is not JSON: {error}")))?;
        let kind = payload
            .get("type")
            .and_then(Value::as_u64)
            .ok_or_else(|| ParseError::new("missing integer field type"))?;
        let (kind, text, ack) = match kind {
            1 => return Ok(Parsed::Handshake(pong())),
            2 => (Kind::Command, command_text(&payload)?, DEFERRED_MESSAGE),
            3 => (Kind::Interaction, custom_id(&payload)?, DEFERRED_UPDATE),
            4 => (Kind::Interaction, command_text(&payload)?, NO_CHOICES),
            5 => (Kind::Interaction, custom_id(&payload)?, DEFERRED_MESSAGE),
            other => {
                return Err(ParseError::new(format!(
                    "type: unknown interaction type {other}"
                )))
            }
        };
        // A deferred channel message is the "original" response a reply edits; after a
        // deferred update (a component) the original is the clicked message: replies follow up.
        let reply_edits_original = ack == DEFERRED_MESSAGE;
        Ok(Parsed::Events {
            events: vec![interaction(&payload, kind, text, reply_edits_original)?],
            ack: Ack::Json(ack.to_owned()),
        })
    }
}

/// What Discord signs: `{X-Signature-Timestamp}{raw body}`.
pub(super) fn signed_message(timestamp: &str, body: &[u8]) -> Vec<u8> {
    [timestamp.as_bytes(), body].concat()
}

/// Exactly `2 * N` hex digits as `N` bytes.
pub(super) fn parse_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N {
        return None;
    }
    decode_hex(text)?.try_into().ok()
}

/// An application public key (64 hex), or `None` when it is not one or of small order.
fn public_key(text: &str) -> Option<[u8; 32]> {
    parse_hex::<32>(text.trim()).filter(|key| !is_weak_key(key))
}

fn pong() -> Reply {
    Reply {
        status: 200,
        content_type: "application/json",
        body: PONG.to_owned(),
    }
}

/// The installation keys: the guild for guild interactions; for DMs (no guild) the application
/// itself, so an installation whose tenant key is the application id receives them.
fn tenant_keys(guild_id: Option<&str>, application_id: &str) -> Vec<String> {
    vec![guild_id.unwrap_or(application_id).to_owned()]
}

/// One interaction as an event.
fn interaction(
    payload: &Value,
    kind: Kind,
    text: String,
    reply_edits_original: bool,
) -> Result<Event, ParseError> {
    let id = required(payload, "/id")?;
    let application_id = required(payload, "/application_id")?;
    let token = required(payload, "/token")?;
    let guild_id = text_at(payload, "/guild_id").map(str::to_owned);
    Ok(Event {
        provider_event_id: id.to_owned(),
        semantic_key: None,
        app_id: Some(application_id.to_owned()),
        tenant_keys: tenant_keys(guild_id.as_deref(), application_id),
        team_id: guild_id.clone(),
        kind,
        occurred_at: snowflake_seconds(id),
        sender: Some(sender(payload)?),
        conversation: conversation(payload, guild_id.is_some()),
        text: Some(text),
        message_id: None,
        reply_context: reply_context(token, application_id, reply_edits_original),
        raw: without_keys(payload.clone(), &["token"]),
    })
}

/// `member.user` in a guild, `user` in DMs.
fn sender(payload: &Value) -> Result<Sender, ParseError> {
    let user = payload
        .pointer("/member/user")
        .or_else(|| payload.get("user"))
        .ok_or_else(|| ParseError::new("missing object field member.user or user"))?;
    let id = text_at(user, "/id").ok_or_else(|| ParseError::new("missing string field user.id"))?;
    let display_name = text_at(user, "/global_name").or_else(|| text_at(user, "/username"));
    Ok(Sender {
        id: id.to_owned(),
        display_name: display_name.map(str::to_owned),
        is_bot: user.get("bot").and_then(Value::as_bool).unwrap_or(false),
    })
}

/// `channel_id` (or `channel.id`): a DM outside guilds, a group DM for channel type 3.
fn conversation(payload: &Value, in_guild: bool) -> Option<Conversation> {
    let id = text_at(payload, "/channel_id").or_else(|| text_at(payload, "/channel/id"))?;
    let channel_type = payload.pointer("/channel/type").and_then(Value::as_u64);
    let kind = match (channel_type, in_guild) {
        (Some(3), _) => ConversationType::Group,
        (_, true) => ConversationType::Channel,
        (_, false) => ConversationType::Dm,
    };
    Some(Conversation {
        id: id.to_owned(),
        kind,
        thread_id: None,
    })
}

/// The interaction's reply handles: its token and application (valid 15 minutes), and whether
/// the first reply edits the deferred response (`original`) or follows up (`followup`).
fn reply_context(token: &str, application_id: &str, edits_original: bool) -> Map<String, Value> {
    let respond = if edits_original {
        "original"
    } else {
        "followup"
    };
    [
        ("interaction_token", token),
        ("application_id", application_id),
        ("respond", respond),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), Value::from(value)))
    .collect()
}

/// `/name` followed by ` option:value` pairs; subcommands and groups by name, then theirs.
fn command_text(payload: &Value) -> Result<String, ParseError> {
    let mut text = format!("/{}", required(payload, "/data/name")?);
    render_options(payload.pointer("/data/options"), &mut text);
    Ok(text)
}

fn render_options(options: Option<&Value>, text: &mut String) {
    for option in options.and_then(Value::as_array).into_iter().flatten() {
        let name = text_at(option, "/name").unwrap_or_default();
        text.push(' ');
        text.push_str(name);
        match option.get("value") {
            Some(Value::String(value)) => text.push_str(&format!(":{value}")),
            Some(value) => text.push_str(&format!(":{value}")),
            None => render_options(option.get("options"), text),
        }
    }
}

fn custom_id(payload: &Value) -> Result<String, ParseError> {
    required(payload, "/data/custom_id").map(str::to_owned)
}

/// The Unix seconds a snowflake id was made at.
fn snowflake_seconds(id: &str) -> Option<u64> {
    let snowflake: u64 = id.parse().ok()?;
    Some(((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000)
}

fn text_at<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str)
}

#[cfg(test)]
#[path = "discord_test.rs"]
mod tests;
