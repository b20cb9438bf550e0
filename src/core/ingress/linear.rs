//! Linear: webhooks of a Linear workspace (or of an OAuth app installed in several), signed with
//! the webhook's signing secret.
//!
//! Sources: "Webhooks" in Linear's developer docs (<https://linear.app/developers/webhooks>:
//! `Linear-Signature`, the payload fields, retries after 1 minute, 1 hour and 6 hours) and the
//! official SDK's `LinearWebhookClient` (`packages/sdk/src/webhooks/client.ts` in
//! <https://github.com/linear/linear>).
//!
//! # What's in scope
//! - [`Linear::verify`]: `Linear-Signature` = hex HMAC-SHA256(signing secret, raw body), with
//!   every non-empty secret of the app profile, constant-time; then the body's
//!   `webhookTimestamp` (Unix **milliseconds**, which the signature covers) must be within the
//!   replay window. A body without one is refused (Linear's SDK skips the check then).
//! - [`Linear::parse`]: one payload → one event, found by its workspace (`organizationId`).
//!   A new comment (`Comment` / `create`) is a message in the conversation, in the thread
//!   of the comment it answers (`parentId`); everything else (issues, updates, reactions, …) is
//!   [`Kind::Other`]. Comments written by an app or integration (`botActor`, an `actor` that is
//!   not a user) are from a bot, so an agent never answers itself.
//! - Dedupe: the `Linear-Delivery` header is the event id; since Linear does not document it as
//!   stable across its retries, the semantic key (workspace, type, action, entity id and the
//!   entity's `updatedAt`) catches a retry under a new delivery id.
//!
//! # What's out of scope
//! Calling Linear's API, agent sessions and app-user notifications (other payload families),
//! `updatedFrom`.

use super::meta::mac;
use super::{
    any_secret, check_timestamp, decode_hex, non_empty, Ack, Capabilities, Conversation,
    ConversationType, Event, Kind, ParseError, Parsed, PathId, Rejection, Request, Sender, Spec,
    Verification,
};
use crate::core::binding_session::Method;
use crate::core::json::text;
use crate::core::rfc3339;
use crate::core::tenancy::SecretOwner;
use hmac::Mac;
use serde_json::{Map, Value};

/// The signature header.
pub(super) const SIGNATURE: &str = "Linear-Signature";
/// The delivery id header.
pub(super) const DELIVERY: &str = "Linear-Delivery";
/// The body field holding the signed send time, in ms.
const TIMESTAMP: &str = "webhookTimestamp";

/// Linear, as [`crate::core::tenancy::Provider`] registers it.
pub const SPEC: Spec = Spec {
    name: "linear",
    path_id: PathId::AppProfile,
    get_handshake: None,
    profile_secrets: &[("webhook_secret", true)],
    installation_credentials: &[("access_token", false)],
    verified_with: (SecretOwner::Profile, "webhook_secret"),
    verify: Verification::Core(Linear::verify),
    parse: Linear::parse,
    session_methods: &[Method::Token],
    deep_link: None,
    channel_name: Some("name"),
    url_forms: &[],
    tenant_key_field: None,
    // Linear retries after 1 minute, 1 hour and 6 hours.
    dedupe_window_seconds: 26 * 3600,
    unsigned_event_time: false,
    capabilities: Capabilities {
        edits: true,
        deletes: true,
        threads: true,
        max_text_chars: None,
    },
    sender: Some(&crate::core::outbound::linear::SENDER),
};

/// Linear's webhook scheme.
pub struct Linear;

impl Linear {
    /// Verifies `request`: see the module documentation.
    pub fn verify(
        request: &Request<'_>,
        secrets: &[String],
        now: u64,
        window: u64,
    ) -> Result<(), Rejection> {
        let malformed = Rejection::MalformedSignature { header: SIGNATURE };
        let given = request.required_header(SIGNATURE)?;
        let signature: [u8; 32] = decode_hex(given)
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(malformed)?;
        any_secret(non_empty(secrets), |secret| {
            mac(secret, request.body).verify_slice(&signature).is_ok()
        })?;
        let missing = Rejection::MalformedTimestamp { header: TIMESTAMP };
        let body: Value = serde_json::from_slice(request.body).map_err(|_| missing.clone())?;
        let sent_ms = match body.get(TIMESTAMP) {
            Some(Value::Number(ms)) => ms.as_f64().filter(|ms| *ms >= 0.0),
            _ => None,
        };
        let sent_ms = sent_ms.ok_or(missing)?;
        check_timestamp((sent_ms / 1000.0) as u64, now, window)
    }

    /// Reads a verified `request`: see the module documentation.
    pub fn parse(request: &Request<'_>) -> Result<Parsed, ParseError> {
        let payload: Value = serde_json::from_slice(request.body)
            .map_err(|error| ParseError::new(format!("body is not JSON: {error}")))?;
        let organization = required(&payload, "/organizationId")?;
        let (kind_name, action) = (required(&payload, "/type")?, required(&payload, "/action")?);
        let entity = required(&payload, "/data/id")?;
        let version = text(&payload, "/data/updatedAt").unwrap_or_default();
        let semantic = format!("{organization}:{kind_name}:{action}:{entity}:{version}");
        let delivery = request.header(DELIVERY).filter(|id| !id.is_empty());
        let is_comment = kind_name == "Comment" && action == "create";
        let data = crate::core::json::at(&payload, "/data");
        let conversation = if is_comment {
            text(data, "/issueId")
        } else {
            Some(entity)
        };
        let event = Event {
            provider_event_id: delivery.map_or_else(|| semantic.clone(), str::to_owned),
            semantic_key: Some(semantic),
            app_id: None,
            tenant_keys: vec![organization.to_owned()],
            team_id: Some(organization.to_owned()),
            kind: if is_comment {
                Kind::Message
            } else {
                Kind::Other
            },
            occurred_at: text(data, "/createdAt").and_then(rfc3339::unix_seconds),
            sender: sender(&payload),
            conversation: conversation.map(|id| Conversation {
                id: id.to_owned(),
                kind: ConversationType::Channel,
                thread_id: is_comment
                    .then(|| text(data, "/parentId"))
                    .flatten()
                    .map(str::to_owned),
            }),
            text: text(data, "/body")
                .or_else(|| text(data, "/title"))
                .map(str::to_owned),
            message_id: is_comment.then(|| entity.to_owned()),
            reply_context: Map::new(),
            raw: payload.clone(),
        };
        Ok(Parsed::Events {
            events: vec![event],
            ack: Ack::Empty,
        })
    }
}

/// Who acted: the payload's `actor` (a user, or an app or integration: a bot), else the
/// entity's `userId`.
fn sender(payload: &Value) -> Option<Sender> {
    let bot_actor = payload
        .pointer("/data/botActor")
        .is_some_and(|b| !b.is_null());
    if let Some(id) = text(payload, "/actor/id") {
        let kind = text(payload, "/actor/type").unwrap_or("user");
        return Some(Sender {
            id: id.to_owned(),
            display_name: text(payload, "/actor/name").map(str::to_owned),
            is_bot: bot_actor || !kind.eq_ignore_ascii_case("user"),
        });
    }
    text(payload, "/data/userId").map(|id| Sender {
        id: id.to_owned(),
        display_name: None,
        is_bot: bot_actor,
    })
}

/// The string at `pointer`, else "missing string field …".
fn required<'a>(value: &'a Value, pointer: &str) -> Result<&'a str, ParseError> {
    text(value, pointer)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            let field = pointer.trim_start_matches('/').replace('/', ".");
            ParseError::new(format!("missing string field {field}"))
        })
}

#[cfg(test)]
#[path = "linear_test.rs"]
mod tests;
