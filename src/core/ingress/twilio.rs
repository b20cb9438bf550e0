//! Twilio Messaging: SMS and WhatsApp messages to a Twilio number, signed with the account's
//! auth token over the URL Twilio called.
//!
//! Sources: "Webhooks security" (<https://www.twilio.com/docs/usage/webhooks/webhooks-security>),
//! the official validator (`src/webhooks/webhooks.ts` in <https://github.com/twilio/twilio-node>),
//! "Messaging webhook request" (<https://www.twilio.com/docs/messaging/guides/webhook-request>)
//! and error 57012 (JSON bodies and `bodySHA256`).
//!
//! # What's in scope
//! - [`Twilio::verify`]: `X-Twilio-Signature` = base64(HMAC-SHA1(auth token, URL + every POST
//!   parameter as name and value, sorted)), with every non-empty auth token of the installation,
//!   constant-time. The URL is the one Twilio called as the edge rebuilds it from
//!   `PUBLIC_BASE_URL` (never the request's `Host`), with the query exactly as sent; unlike
//!   Twilio's own validator, a URL with another port (or none) does not verify. A JSON body is
//!   covered by the URL's `bodySHA256` (hex SHA-256 of the body), which must match. Twilio signs
//!   no time: the dedupe on `MessageSid` is the replay defence. The HMAC-SHA256 mode of
//!   Twilio's webhook shared keys (announced by `X-Twilio-Webhooks-Signature-Settings`) is
//!   refused: the installation holds the auth token, not a shared key.
//! - An installation is one Twilio number (its tenant key, `+1555…`), whose metadata names its
//!   `account_sid` and whose credential is the account's `auth_token`.
//! - [`Twilio::parse`]: one incoming message (`MessageSid`, `From`, `To`, `Body`, and for
//!   WhatsApp `ProfileName`) → one event in the sender's one-to-one conversation (the number
//!   written to, `To`, is kept sealed in its reply capability, to answer from); acknowledged
//!   with an empty TwiML `<Response>`, so Twilio sends nothing itself. A status callback (a
//!   `MessageStatus` or `SmsStatus` other than `received`) is acknowledged and makes no event.
//!
//! # What's out of scope
//! Calling Twilio's API, media (`MediaUrl{N}` stay in `raw`), status callbacks, voice.

use super::{
    any_secret, non_empty, Ack, Capabilities, Conversation, ConversationType, Event, Kind,
    ParseError, Parsed, PathId, Rejection, Request, Sender, Spec, Verification,
};
use crate::core::binding_session::Method;
use crate::core::mac::hmac_sha1;
use crate::core::tenancy::SecretOwner;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::Mac;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The signature header.
pub(super) const SIGNATURE: &str = "X-Twilio-Signature";
/// The header announcing the shared-key (HMAC-SHA256) signature mode.
const SIGNATURE_SETTINGS: &str = "X-Twilio-Webhooks-Signature-Settings";
/// The URL parameter carrying a JSON body's hash.
const BODY_SHA256: &str = "bodySHA256";
/// An empty TwiML response: Twilio sends no reply of its own.
pub const EMPTY_TWIML: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Response></Response>"#;

/// Twilio, as [`crate::core::tenancy::Provider`] registers it.
pub const SPEC: Spec = Spec {
    name: "twilio",
    path_id: PathId::Installation,
    get_handshake: None,
    profile_secrets: &[],
    installation_credentials: &[("auth_token", true)],
    verified_with: (SecretOwner::Installation, "auth_token"),
    verify: Verification::Core(Twilio::verify),
    parse: Twilio::parse,
    session_methods: &[Method::Token],
    deep_link: None,
    channel_name: Some("phone_number"),
    url_forms: &[
        ("account_sid", super::Form::AccountSid),
        ("phone_number", super::Form::E164),
    ],
    tenant_key_field: Some("phone_number"),
    // Twilio retries only where a connection override (`#rc=`) asks, within minutes.
    dedupe_window_seconds: 26 * 3600,
    unsigned_event_time: false,
    capabilities: Capabilities {
        edits: false,
        deletes: false,
        threads: false,
        max_text_chars: Some(1600),
    },
    sender: Some(&crate::core::outbound::twilio::SENDER),
};

/// Twilio's webhook scheme.
pub struct Twilio;

impl Twilio {
    /// Verifies `request`: see the module documentation.
    pub fn verify(
        request: &Request<'_>,
        secrets: &[String],
        _now: u64,
        _window: u64,
    ) -> Result<(), Rejection> {
        if request.header(SIGNATURE_SETTINGS).is_some() {
            return Err(Rejection::MalformedSignature {
                header: SIGNATURE_SETTINGS,
            });
        }
        let malformed = Rejection::MalformedSignature { header: SIGNATURE };
        let given = request.required_header(SIGNATURE)?;
        let signature: [u8; 20] = STANDARD
            .decode(given)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(malformed)?;
        let signed = signed_text(request).ok_or(Rejection::BadSignature)?;
        any_secret(non_empty(secrets), |token| {
            let mut mac = hmac_sha1(token.as_bytes());
            mac.update(signed.as_bytes());
            mac.verify_slice(&signature).is_ok()
        })
    }

    /// Reads a verified `request`: see the module documentation.
    pub fn parse(request: &Request<'_>) -> Result<Parsed, ParseError> {
        let fields: Map<String, Value> = form_urlencoded::parse(request.body)
            .map(|(name, value)| (name.into_owned(), Value::from(value.into_owned())))
            .collect();
        let field = |name: &str| {
            fields
                .get(name)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
        };
        let missing = |name: &str| ParseError::new(format!("missing form field {name}"));
        // A status callback pointed at this URL (the message's `sent`, `delivered`, …) is no
        // message: acknowledged, no event.
        let status = field("MessageStatus").or_else(|| field("SmsStatus"));
        if status.is_some_and(|status| status != "received") {
            return Ok(Parsed::Events {
                events: Vec::new(),
                ack: Ack::Xml(EMPTY_TWIML),
            });
        }
        let sid = field("MessageSid").ok_or_else(|| missing("MessageSid"))?;
        let from = field("From").ok_or_else(|| missing("From"))?;
        let event = Event {
            provider_event_id: sid.to_owned(),
            semantic_key: None,
            app_id: None,
            tenant_keys: Vec::new(),
            team_id: field("AccountSid").map(str::to_owned),
            kind: Kind::Message,
            occurred_at: None,
            sender: Some(Sender {
                id: from.to_owned(),
                display_name: field("ProfileName").map(str::to_owned),
                is_bot: false,
            }),
            conversation: Some(Conversation {
                id: from.to_owned(),
                kind: ConversationType::Dm,
                thread_id: None,
            }),
            text: fields
                .get("Body")
                .and_then(Value::as_str)
                .map(str::to_owned),
            message_id: Some(sid.to_owned()),
            // The number written to answers from it (one account may have several).
            reply_context: field("To")
                .map(|to| ("number".to_owned(), Value::from(to)))
                .into_iter()
                .collect(),
            raw: Value::Object(fields.clone()),
        };
        Ok(Parsed::Events {
            events: vec![event],
            ack: Ack::Xml(EMPTY_TWIML),
        })
    }
}

/// What Twilio signs for `request`: the URL, then (for a form body) every parameter as name and
/// value, sorted by name and then value. A JSON body must match the URL's `bodySHA256`;
/// `None` when it does not, or when the URL is unknown.
pub(super) fn signed_text(request: &Request<'_>) -> Option<String> {
    if request.url.is_empty() {
        return None;
    }
    if let Some(expected) = request.query(BODY_SHA256) {
        let actual: String = Sha256::digest(request.body)
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        let same: bool = actual
            .as_bytes()
            .ct_eq(expected.to_ascii_lowercase().as_bytes())
            .into();
        return same.then(|| request.url.to_owned());
    }
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(request.body)
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    pairs.sort();
    let mut signed = request.url.to_owned();
    for (name, value) in pairs {
        signed.push_str(&name);
        signed.push_str(&value);
    }
    Some(signed)
}

#[cfg(test)]
#[path = "twilio_test.rs"]
mod tests;
