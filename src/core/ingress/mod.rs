//! Webhook ingress: verifying provider requests over their raw bytes and normalising what they
//! carry.
//!
//! # What's in scope
//! - [`Spec`]: everything channel-edge knows about one provider, written once in the provider's
//!   own file ([`slack`], [`telegram`], [`whatsapp`], [`discord`], [`standard`]) and registered
//!   in [`Provider`]: what its webhook path names, the secrets it needs and who holds them, `verify`
//!   (the signature or secret token, with every currently valid secret, constant-time, and the
//!   replay window where the provider signs a timestamp) and `parse` (the verified body into
//!   handshakes and [`Event`]s), its binding-session methods, its deep link, the form of values
//!   that reach its API's URLs, its dedupe window and what it can do when sending. Routes, admin
//!   validation, the secret catalogue and the documents' provider lists all come from it.
//! - [`any_secret`]: the one loop that tries every valid secret.
//! - `sign` (native only): signing requests as each provider does, for the CLI and tests;
//!   `sample` (native only): the text messages each provider sends, for the CLI and load tools.
//! - [`Rejection`]: why a request is refused (always 401 at the edge). No message ever contains
//!   a secret or an expected signature.
//!
//! # What's out of scope
//! Looking up profiles, installations and bindings, deduplication and queueing (the edge does
//! those with the rules in [`crate::core::tenancy`]); the clock (`now` is an argument).

pub mod discord;
pub mod email;
pub mod github;
pub mod google_chat;
pub mod instagram;
pub mod line;
pub mod linear;
pub mod messenger;
pub mod meta;
// Payloads as each provider sends them, for the same callers as `sign`.
#[cfg(not(target_arch = "wasm32"))]
pub mod sample;
// Signing as each provider does is for the CLI and tests, which play the provider; the worker
// only verifies, so the Wasm carries no signer.
#[cfg(not(target_arch = "wasm32"))]
pub mod sign;
pub mod slack;
pub mod standard;
pub mod teams;
pub mod telegram;
pub mod twilio;
pub mod whatsapp;

use crate::core::binding_session::Method;
use crate::core::ed25519::Check;
#[cfg(doc)]
use crate::core::tenancy::Provider;
use crate::core::tenancy::SecretOwner;
use serde_json::Value;

/// One provider, described once, in its own file; [`Provider::spec`] finds it.
#[derive(Debug)]
pub struct Spec {
    /// Its name on the wire, in URLs and in D1.
    pub name: &'static str,
    /// What the `{id}` of its webhook path names.
    pub path_id: PathId,
    /// The `GET` handshake on its webhook path (a subscription check), if it has one.
    pub get_handshake: Option<GetHandshake>,
    /// Secrets an app profile holds: `(name, required)`.
    pub profile_secrets: &'static [(&'static str, bool)],
    /// Credentials an installation holds: `(name, required)`.
    pub installation_credentials: &'static [(&'static str, bool)],
    /// Which secret verifies its requests, and whether the app profile or the installation
    /// holds it.
    pub verified_with: (SecretOwner, &'static str),
    /// How a request is verified with every currently valid secret (newest first) at `now`
    /// (Unix seconds), enforcing a replay window of `window` seconds where the provider signs a
    /// timestamp. Constant-time; never a secret or an expected signature in its error.
    pub verify: Verification,
    /// Reads a verified request.
    pub parse: fn(&Request<'_>) -> Result<Parsed, ParseError>,
    /// Binding-session methods it offers.
    pub session_methods: &'static [Method],
    /// How an install token reaches it as a link, if it can.
    pub deep_link: Option<DeepLink>,
    /// The installation metadata field that names the channel to people (bot username, phone
    /// number, workspace name), if it has one.
    pub channel_name: Option<&'static str>,
    /// Fields whose values go into its API's URL paths, and their form.
    pub url_forms: &'static [(&'static str, Form)],
    /// The field of `url_forms` its installations' tenant key is, where the tenant key goes
    /// into its API's URLs (WhatsApp's `phone_number_id`, a Messenger `page_id`).
    pub tenant_key_field: Option<&'static str>,
    /// How long an accepted event's dedupe keys are kept: longer than the provider retries.
    pub dedupe_window_seconds: u64,
    /// True when its signature covers no timestamp but its events carry one: events older than
    /// the dedupe window are refused (a replay dedupe could no longer catch).
    pub unsigned_event_time: bool,
    /// What sending through it can do.
    pub capabilities: Capabilities,
    /// How channel-edge sends through it (`None`: not yet).
    pub sender: Option<&'static crate::core::outbound::Sender>,
}

/// A verifier's signature: the request, the valid secrets, `now` and the replay window.
pub type Verifier<T> = fn(&Request<'_>, &[String], u64, u64) -> Result<T, Rejection>;

/// How a provider's requests are verified.
#[derive(Debug, Clone, Copy)]
pub enum Verification {
    /// Entirely in the core (HMACs and secret tokens).
    Core(Verifier<()>),
    /// Ed25519 (Discord): the core checks the headers and the replay window and says what to
    /// check, one [`Check`] per usable key; the platform checks the signatures, and any one
    /// verifying is enough ([`crate::core::ed25519`]). No usable key is `NoSecret`.
    Ed25519(Verifier<Vec<Check>>),
    /// A bearer JWT signed by the platform's published keys (Teams, Google Chat): the core
    /// decodes it and checks its claims against the app profile's app id (the audience) and the
    /// request, and says which key must verify it ([`crate::core::jwt`]); the platform fetches
    /// the key set and checks the RS256 signature.
    Jwt(JwtVerifier),
}

/// A bearer-JWT scheme: `(request, the app profile's app id, now)` → what the platform checks.
pub type JwtVerifier = fn(&Request<'_>, &str, u64) -> Result<crate::core::jwt::Check, Rejection>;

impl Verification {
    /// Verifies `request` natively (the CLI and the tests; the Worker checks Ed25519 with
    /// WebCrypto). A bearer-JWT scheme takes the audience as the first of `secrets` and is
    /// checked against the dev key set (`seed/dev-jwt-key-set.json`).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn natively(
        &self,
        request: &Request<'_>,
        secrets: &[String],
        now: u64,
        window: u64,
    ) -> Result<(), Rejection> {
        match self {
            Verification::Core(verify) => verify(request, secrets, now, window),
            Verification::Ed25519(checks) => {
                let checks = checks(request, secrets, now, window)?;
                any_secret(checks.iter(), |check| {
                    crate::core::ed25519::verify_natively(check)
                })
            }
            // Native builds fetch no key sets: they verify with the dev key set's key.
            Verification::Jwt(check) => {
                let check = check(request, secrets.first().map_or("", String::as_str), now)?;
                let keys = crate::core::jwt::dev_key_set();
                crate::core::jwt::verify_natively(&check, &keys)
            }
        }
    }
}

/// A provider's `GET` handshake: the profile secret it checks, and the answer.
#[derive(Debug, Clone, Copy)]
pub struct GetHandshake {
    /// The app profile secret the request must carry (WhatsApp's `verify_token`).
    pub secret: &'static str,
    /// Checks a `GET` request against the valid values of that secret and makes the reply.
    pub answer: fn(&Request<'_>, &[String]) -> Result<Reply, Rejection>,
}

/// What a webhook path's `{id}` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathId {
    /// An app profile (one URL per app; the installation is found from the payload).
    AppProfile,
    /// An installation (one URL per bot or source).
    Installation,
}

impl PathId {
    /// The prefix of the ids it takes (`app` or `ins`).
    pub fn prefix(self) -> &'static str {
        match self {
            PathId::AppProfile => "app",
            PathId::Installation => "ins",
        }
    }
}

/// A provider's deep link: the installation metadata field naming its handle, and the link to
/// that handle carrying a token.
#[derive(Debug, Clone, Copy)]
pub struct DeepLink {
    /// The metadata field (`bot_username`, `display_phone_number`).
    pub metadata_field: &'static str,
    /// The link for a handle and a token.
    pub link: fn(&str, &str) -> String,
}

/// The form of a value that goes into a provider API's URL path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// A Telegram bot token: `<bot id>:<secret>`.
    TelegramBotToken,
    /// Only digits (Meta's numeric ids).
    Digits,
    /// A Twilio account SID: `AC` and 32 hex digits.
    AccountSid,
    /// A phone number in E.164: `+` and 8 to 15 digits.
    E164,
    /// A mailbox address in lower case, without a reply tag (email's tenant key).
    Mailbox,
}

/// What sending through a provider can do (read by outbound sending).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// A sent message can be edited (streaming by edits).
    pub edits: bool,
    /// A sent message can be deleted.
    pub deletes: bool,
    /// Replies can go into a thread or topic.
    pub threads: bool,
    /// The longest text one message carries, as its sender's format counts it (characters,
    /// UTF-16 code units or bytes); `None` when unlimited.
    pub max_text_chars: Option<usize>,
}

/// Verifies with every usable secret through `matches`, trying them all whatever matched, so the
/// time taken says nothing about which one did: `NoSecret` when there is none, `BadSignature`
/// when none matches. `usable` yields the secrets in the form the provider checks with (see
/// [`non_empty`]).
pub fn any_secret<T>(
    usable: impl IntoIterator<Item = T>,
    matches: impl Fn(&T) -> bool,
) -> Result<(), Rejection> {
    let mut usable = usable.into_iter().peekable();
    if usable.peek().is_none() {
        return Err(Rejection::NoSecret);
    }
    let matched = usable.fold(false, |matched, secret| matches(&secret) | matched);
    if matched {
        Ok(())
    } else {
        Err(Rejection::BadSignature)
    }
}

/// The secrets that can be used at all: an empty one never verifies anything.
pub fn non_empty(secrets: &[String]) -> impl Iterator<Item = &str> {
    secrets
        .iter()
        .map(String::as_str)
        .filter(|secret| !secret.is_empty())
}

/// A request as the verifier sees it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The method, upper case.
    pub method: &'a str,
    /// Header names (any case) and values.
    pub headers: &'a [(String, String)],
    /// Decoded query pairs.
    pub query: &'a [(String, String)],
    /// The URL the provider called, as it knows it: `PUBLIC_BASE_URL` followed by the path and
    /// the query exactly as received (what Twilio signs); empty where nobody needs it.
    pub url: &'a str,
    /// The raw body, exactly as received.
    pub body: &'a [u8],
}

impl<'a> Request<'a> {
    /// A `POST` without a query, as webhooks arrive.
    pub fn post(headers: &'a [(String, String)], body: &'a [u8]) -> Self {
        Request {
            method: "POST",
            headers,
            query: &[],
            url: "",
            body,
        }
    }

    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The header `name`, or [`Rejection::MissingHeader`] naming it.
    pub fn required_header(&self, name: &'static str) -> Result<&'a str, Rejection> {
        self.header(name)
            .ok_or(Rejection::MissingHeader { header: name })
    }

    /// The first query parameter called `name`.
    pub fn query(&self, name: &str) -> Option<&'a str> {
        self.query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Why a webhook request is refused. The edge answers 401 and audits the variant's code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// A required header is absent.
    #[error("missing header {header}")]
    MissingHeader {
        /// The header's name.
        header: &'static str,
    },
    /// The signature header is present but not of the provider's form (prefix, encoding,
    /// length), or empty.
    #[error("malformed signature header {header}")]
    MalformedSignature {
        /// The header's name.
        header: &'static str,
    },
    /// The timestamp header is not a number of seconds.
    #[error("malformed timestamp header {header}")]
    MalformedTimestamp {
        /// The header's name.
        header: &'static str,
    },
    /// The signed timestamp is older than the replay window.
    #[error("timestamp is older than the replay window")]
    StaleTimestamp,
    /// The signed timestamp is further in the future than the replay window.
    #[error("timestamp is in the future beyond the replay window")]
    FutureTimestamp,
    /// No currently valid secret verifies the signature (or matches the secret token).
    #[error("signature does not verify")]
    BadSignature,
    /// The app profile or installation has no valid secret to verify with.
    #[error("no verification secret is configured")]
    NoSecret,
    /// The bearer token is not `Bearer <JWT>` with a key id (or names `crit` extensions).
    #[error("malformed bearer token in Authorization")]
    MalformedToken,
    /// The bearer token's algorithm is not the one the platform signs with (RS256).
    #[error("bearer token algorithm is not RS256")]
    TokenAlgorithm,
    /// The bearer token has no `exp`, or it is past (with the clock skew).
    #[error("bearer token is expired")]
    ExpiredToken,
    /// The bearer token's issuer is not the platform's.
    #[error("bearer token issuer is not accepted")]
    WrongIssuer,
    /// The bearer token is for another audience (another app).
    #[error("bearer token audience is not this app profile's")]
    WrongAudience,
    /// A claim the platform binds the request with does not match the request.
    #[error("bearer token claim {claim} does not match the request")]
    ClaimMismatch {
        /// The claim's name.
        claim: &'static str,
    },
    /// No key of the platform's key set has the token's key id (or is endorsed for its
    /// channel), even after fetching the key set again.
    #[error("bearer token is signed by an unknown key")]
    UnknownKey,
    /// A message Cloudflare's mail servers did not authenticate for its `From` domain (no
    /// DMARC, aligned DKIM or aligned SPF pass in their topmost `Authentication-Results`).
    #[error("the message is not authenticated for its From address")]
    MailAuthentication,
}

impl Rejection {
    /// A stable code for audit entries and aggregation.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::MissingHeader { .. } => "missing_header",
            Rejection::MalformedSignature { .. } => "malformed_signature",
            Rejection::MalformedTimestamp { .. } => "malformed_timestamp",
            Rejection::StaleTimestamp => "stale_timestamp",
            Rejection::FutureTimestamp => "future_timestamp",
            Rejection::BadSignature => "bad_signature",
            Rejection::NoSecret => "no_secret",
            Rejection::MalformedToken => "malformed_token",
            Rejection::TokenAlgorithm => "token_algorithm",
            Rejection::ExpiredToken => "expired_token",
            Rejection::WrongIssuer => "wrong_issuer",
            Rejection::WrongAudience => "wrong_audience",
            Rejection::ClaimMismatch { .. } => "claim_mismatch",
            Rejection::UnknownKey => "unknown_key",
            Rejection::MailAuthentication => "mail_authentication",
        }
    }
}

/// The string at a JSON pointer, or an error naming it (`/data/name` → `data.name`).
pub(crate) fn required<'a>(value: &'a Value, pointer: &str) -> Result<&'a str, ParseError> {
    crate::core::json::text(value, pointer).ok_or_else(|| {
        let field = pointer.trim_start_matches('/').replace('/', ".");
        ParseError::new(format!("missing string field {field}"))
    })
}

/// Decodes lower- or upper-case hex; `None` for odd length or a non-hex digit.
pub(crate) fn decode_hex(text: &str) -> Option<Vec<u8>> {
    fn digit(byte: u8) -> Option<u8> {
        match byte {
            b'0'..=b'9' => Some(byte - b'0'),
            b'a'..=b'f' => Some(byte - b'a' + 10),
            b'A'..=b'F' => Some(byte - b'A' + 10),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    if bytes.len() % 2 != 0 {
        return None;
    }
    bytes
        .chunks_exact(2)
        .map(|pair| match pair {
            [high, low] => Some(digit(*high)? << 4 | digit(*low)?),
            _ => None,
        })
        .collect()
}

/// Parses a timestamp header: Unix seconds as ASCII digits only (no sign, space or fraction)
/// that fit a `u64`.
pub(crate) fn parse_timestamp(text: &str, header: &'static str) -> Result<u64, Rejection> {
    let malformed = Rejection::MalformedTimestamp { header };
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(malformed);
    }
    text.parse().map_err(|_| malformed)
}

/// Checks a signed Unix timestamp against `now` with a symmetric replay `window` (seconds).
pub fn check_timestamp(timestamp: u64, now: u64, window: u64) -> Result<(), Rejection> {
    // Saturating: the timestamp comes from the request and may be anything up to u64::MAX.
    if timestamp.saturating_add(window) < now {
        return Err(Rejection::StaleTimestamp);
    }
    if timestamp > now.saturating_add(window) {
        return Err(Rejection::FutureTimestamp);
    }
    Ok(())
}

/// A verified body that is not an event: answer it at once with this reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// `Content-Type` of `body` (ignored when `body` is empty).
    pub content_type: &'static str,
    /// The body.
    pub body: String,
}

/// How to acknowledge an accepted event within the provider's deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ack {
    /// 200 with an empty body (Slack, Telegram, WhatsApp).
    Empty,
    /// 204 (Standard Webhooks).
    NoContent,
    /// 200 with this JSON body (Discord: deferred response type 5 or 6).
    Json(String),
    /// 200 with this XML body (Twilio: an empty TwiML response).
    Xml(&'static str),
}

/// What kind of thing an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A chat message.
    Message,
    /// A slash command or bot command.
    Command,
    /// A button, menu or other component interaction.
    Interaction,
    /// A reaction added or removed.
    Reaction,
    /// Someone joined or left.
    Membership,
    /// Anything else the provider sent.
    Other,
}

/// The conversation's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationType {
    /// One to one.
    Dm,
    /// A small group.
    Group,
    /// A channel, supergroup or server channel.
    Channel,
}

/// Who sent an event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Sender {
    /// The provider's id for the sender.
    pub id: String,
    /// A display name, when the payload has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Whether the sender is a bot.
    pub is_bot: bool,
}

/// Where an event happened.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Conversation {
    /// The provider's id for the conversation (channel, chat).
    pub id: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: ConversationType,
    /// The thread or forum topic, where the provider has them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<String>,
}

/// One provider event, verified and normalised, before it is resolved to an installation and a
/// binding.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The provider's own id for this delivery (Slack `event_id`, Telegram `update_id`, WhatsApp
    /// `wamid`, Discord interaction id, `webhook-id`): the first dedupe key.
    pub provider_event_id: String,
    /// A second dedupe key naming the same content when a provider re-sends it under a new event
    /// id (Slack: team + channel + message `ts`).
    pub semantic_key: Option<String>,
    /// The provider app id the payload names (Slack `api_app_id`, Discord `application_id`,
    /// none elsewhere); it must match the path's app profile.
    pub app_id: Option<String>,
    /// Tenant keys to find the installation by, most specific first (Slack enterprise then team,
    /// WhatsApp `phone_number_id`, Discord `guild_id`, or the application id for DMs). Empty
    /// where the path names the installation (Telegram, Standard Webhooks).
    pub tenant_keys: Vec<String>,
    /// The team / workspace / guild / account, for binding selectors.
    pub team_id: Option<String>,
    /// What it is.
    pub kind: Kind,
    /// When it happened, Unix seconds, when the payload says.
    pub occurred_at: Option<u64>,
    /// Who sent it.
    pub sender: Option<Sender>,
    /// Where.
    pub conversation: Option<Conversation>,
    /// The text, for messages and commands.
    pub text: Option<String>,
    /// The provider's id of the inbound message, for replies to it (Slack `ts`, Telegram
    /// `message_id`, WhatsApp `wamid`).
    pub message_id: Option<String>,
    /// The provider's own reply handles (Discord interaction token and application id, Slack
    /// `response_url`): sealed into the envelope's reply capability, never shown to the agent.
    pub reply_context: serde_json::Map<String, Value>,
    /// The provider's payload for this event, without the reply handles and tokens it carried
    /// ([`without_keys`]).
    pub raw: Value,
}

/// `raw` without its top-level `keys`: the capabilities a payload carries (a Discord interaction
/// `token`, a Slack `response_url` or verification `token`) never reach the agent in the clear.
pub(crate) fn without_keys(mut raw: Value, keys: &[&str]) -> Value {
    if let Some(object) = raw.as_object_mut() {
        for key in keys {
            object.remove(*key);
        }
    }
    raw
}

/// A verified request's content.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// A handshake to answer at once (Slack `url_verification` and `ssl_check`, Discord PING).
    Handshake(Reply),
    /// Events (possibly none, e.g. WhatsApp delivery receipts only) and how to acknowledge them.
    Events {
        /// The events, in payload order.
        events: Vec<Event>,
        /// The acknowledgement.
        ack: Ack,
    },
}

/// Why a verified body could not be read. The edge answers 400 and audits it (a verified sender
/// sent something we do not understand: worth a look, but not a retry loop).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("payload not understood: {reason}")]
pub struct ParseError {
    /// What was wrong, naming the field.
    pub reason: String,
}

impl ParseError {
    /// A parse error with `reason`.
    pub fn new(reason: impl Into<String>) -> Self {
        ParseError {
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_decodes_both_cases_and_refuses_junk() {
        assert_eq!(decode_hex("00ffAB"), Some(vec![0, 255, 171]));
        assert_eq!(decode_hex(""), Some(vec![]));
        assert_eq!(decode_hex("abc"), None);
        assert_eq!(decode_hex("zz"), None);
        assert_eq!(decode_hex("é1"), None);
        // `u8::from_str_radix` takes a leading sign; a signature must be hex digits only.
        assert_eq!(decode_hex("+f"), None);
        assert_eq!(decode_hex("+f+f"), None);
        assert_eq!(decode_hex("-1"), None);
    }

    #[test]
    fn timestamps_within_the_window_pass_at_both_edges() {
        assert_eq!(check_timestamp(1000, 1300, 300), Ok(()));
        assert_eq!(check_timestamp(1300, 1000, 300), Ok(()));
        assert_eq!(
            check_timestamp(999, 1300, 300),
            Err(Rejection::StaleTimestamp)
        );
        assert_eq!(
            check_timestamp(1301, 1000, 300),
            Err(Rejection::FutureTimestamp)
        );
    }

    #[test]
    fn request_lookups_ignore_header_case() {
        let headers = vec![("X-Slack-Signature".to_owned(), "v0=ab".to_owned())];
        let query = vec![("hub.mode".to_owned(), "subscribe".to_owned())];
        let request = Request {
            method: "POST",
            headers: &headers,
            query: &query,
            url: "",
            body: b"",
        };
        assert_eq!(request.header("x-slack-signature"), Some("v0=ab"));
        assert_eq!(request.header("x-other"), None);
        assert_eq!(request.query("hub.mode"), Some("subscribe"));
    }

    #[test]
    fn every_rejection_has_a_distinct_code() {
        let all = [
            Rejection::MissingHeader { header: "h" },
            Rejection::MalformedSignature { header: "h" },
            Rejection::MalformedTimestamp { header: "h" },
            Rejection::StaleTimestamp,
            Rejection::FutureTimestamp,
            Rejection::BadSignature,
            Rejection::NoSecret,
        ];
        let mut codes: Vec<&str> = all.iter().map(Rejection::code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
    }
}
