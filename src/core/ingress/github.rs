//! GitHub: the webhooks of a GitHub App (or of a repository or organization), signed with the
//! webhook secret as Meta signs (`X-Hub-Signature-256`, [`super::meta::verify`]).
//!
//! Sources: "Validating webhook deliveries"
//! (<https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries>), "Webhook
//! events and payloads" (delivery headers, `ping`, `issue_comment`, `issues`;
//! <https://docs.github.com/en/webhooks/webhook-events-and-payloads>), and github/docs issue
//! 32822 (`X-GitHub-Delivery` names the event, shared by its redeliveries and by every hook
//! subscribed to it).
//!
//! # What's in scope
//! - Verification: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256>` over the raw body with every
//!   valid webhook secret; the SHA-1 `X-Hub-Signature` is never used. GitHub signs no time and
//!   does not retry by itself; a redelivery from its UI carries the same delivery id, which the
//!   dedupe drops.
//! - [`parse`]: `ping` is answered 200 at once. Otherwise one event, found by the App
//!   installation (`installation.id`; for a repository or organization webhook without one, the
//!   repository's id, else the organization's). A new issue comment (`issue_comment` /
//!   `created`) or a new issue (`issues` / `opened`) is a message in the issue's conversation,
//!   `owner/repo#number` (pull requests are issues); every other event is [`Kind::Other`]. The
//!   event id is `<X-GitHub-Hook-ID>:<X-GitHub-Delivery>`: two hooks receive the same delivery id.
//!   Comments by bots and Apps (`type: Bot`) are from a bot, so an agent never answers itself.
//!   Both content types GitHub offers are read: JSON, and a form with a `payload` field.
//!
//! # What's out of scope
//! Calling GitHub's API, check runs, review threads (`pull_request_review_comment` is `other`).

use super::{
    meta, Ack, Capabilities, Conversation, ConversationType, Event, Kind, ParseError, Parsed,
    PathId, Reply, Request, Sender, Spec, Verification,
};
use crate::core::json::text;
use crate::core::rfc3339;
use crate::core::tenancy::SecretOwner;
use serde_json::{Map, Value};

/// The event name header.
pub(super) const EVENT: &str = "X-GitHub-Event";
/// The delivery id header (the event's id).
pub(super) const DELIVERY: &str = "X-GitHub-Delivery";
/// The webhook's id header.
pub(super) const HOOK: &str = "X-GitHub-Hook-ID";

/// GitHub, as [`crate::core::tenancy::Provider`] registers it.
pub const SPEC: Spec = Spec {
    name: "github",
    path_id: PathId::AppProfile,
    get_handshake: None,
    profile_secrets: &[("webhook_secret", true), ("private_key", false)],
    installation_credentials: &[("access_token", false)],
    verified_with: (SecretOwner::Profile, "webhook_secret"),
    verify: Verification::Core(meta::verify),
    parse,
    session_methods: &[],
    deep_link: None,
    channel_name: Some("account"),
    url_forms: &[],
    tenant_key_field: None,
    // Redeliveries from GitHub's UI or API reach back 3 days.
    dedupe_window_seconds: 4 * 24 * 3600,
    unsigned_event_time: false,
    capabilities: Capabilities {
        edits: true,
        deletes: true,
        threads: false,
        max_text_chars: Some(65_536),
    },
    sender: Some(&crate::core::outbound::github::SENDER),
};

/// Reads a verified `request`: see the module documentation.
pub fn parse(request: &Request<'_>) -> Result<Parsed, ParseError> {
    let event = request
        .header(EVENT)
        .ok_or_else(|| ParseError::new("missing header X-GitHub-Event"))?;
    if event == "ping" {
        return Ok(Parsed::Handshake(Reply {
            status: 200,
            content_type: "text/plain",
            body: String::new(),
        }));
    }
    let delivery = request
        .header(DELIVERY)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| ParseError::new("missing header X-GitHub-Delivery"))?;
    let payload = payload(request.body)?;
    let tenant = ["/installation/id", "/repository/id", "/organization/id"]
        .into_iter()
        .find_map(|pointer| payload.pointer(pointer).and_then(Value::as_u64))
        .ok_or_else(|| ParseError::new("no installation, repository or organization id"))?;
    let action = text(&payload, "/action").unwrap_or_default();
    let (kind, author, body, at) = match (event, action) {
        ("issue_comment", "created") => (
            Kind::Message,
            payload.pointer("/comment/user"),
            text(&payload, "/comment/body").map(str::to_owned),
            "/comment/created_at",
        ),
        ("issues", "opened") => (
            Kind::Message,
            payload.pointer("/issue/user"),
            Some(issue_text(&payload)),
            "/issue/created_at",
        ),
        _ => (Kind::Other, payload.get("sender"), None, ""),
    };
    let event = Event {
        provider_event_id: format!("{}:{delivery}", request.header(HOOK).unwrap_or_default()),
        semantic_key: None,
        app_id: None,
        tenant_keys: vec![tenant.to_string()],
        team_id: text(&payload, "/repository/full_name").map(str::to_owned),
        kind,
        occurred_at: text(&payload, at).and_then(rfc3339::unix_seconds),
        sender: author.and_then(sender),
        conversation: conversation(&payload),
        text: body,
        message_id: (kind == Kind::Message && event == "issue_comment")
            .then(|| payload.pointer("/comment/id").and_then(Value::as_u64))
            .flatten()
            .map(|id| id.to_string()),
        reply_context: Map::new(),
        raw: payload,
    };
    Ok(Parsed::Events {
        events: vec![event],
        ack: Ack::Empty,
    })
}

/// The body as JSON, or the `payload` field of a form.
fn payload(body: &[u8]) -> Result<Value, ParseError> {
    if body.starts_with(b"payload=") {
        let form = form_urlencoded::parse(body)
            .find(|(name, _)| name == "payload")
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default();
        return serde_json::from_str(&form)
            .map_err(|error| ParseError::new(format!("payload is not JSON: {error}")));
    }
    serde_json::from_slice(body)
        .map_err(|error| ParseError::new(format!("body is not JSON: {error}")))
}

/// A new issue's title and body.
fn issue_text(payload: &Value) -> String {
    let title = text(payload, "/issue/title").unwrap_or_default();
    match text(payload, "/issue/body").filter(|body| !body.is_empty()) {
        Some(body) => format!("{title}\n\n{body}"),
        None => title.to_owned(),
    }
}

/// A GitHub user: bots and Apps (`type: Bot`) are bots.
fn sender(user: &Value) -> Option<Sender> {
    Some(Sender {
        id: user.get("id").and_then(Value::as_u64)?.to_string(),
        display_name: text(user, "/login").map(str::to_owned),
        is_bot: text(user, "/type") == Some("Bot"),
    })
}

/// The issue or pull request the event is about, as `owner/repo#number`.
fn conversation(payload: &Value) -> Option<Conversation> {
    let repository = text(payload, "/repository/full_name")?;
    let number = ["/issue/number", "/pull_request/number"]
        .into_iter()
        .find_map(|pointer| payload.pointer(pointer).and_then(Value::as_u64))?;
    Some(Conversation {
        id: format!("{repository}#{number}"),
        kind: ConversationType::Channel,
        thread_id: None,
    })
}

#[cfg(test)]
#[path = "github_test.rs"]
mod tests;
