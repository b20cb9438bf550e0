//! Email: messages Cloudflare Email Routing hands the Worker's email handler (`#[event(email)]`),
//! for an installation whose tenant key is the address mail is routed to. Nothing signs a
//! message for us: the authentication results Cloudflare's mail servers record are what is
//! checked.
//!
//! Sources: Cloudflare's Email Workers docs (the `email` handler, `message.raw`, the local
//! endpoint `/cdn-cgi/handler/email`), its postmaster page (incoming mail "must either pass SPF
//! or be correctly signed with DKIM"; DMARC policies are applied, `p=none` lets failures
//! through), RFC 8601 (`Authentication-Results`), RFC 5322 and RFC 3834 (`Auto-Submitted`).
//!
//! # What's in scope
//! - [`verify`]: the **topmost** `Authentication-Results` field must be Cloudflare's
//!   (authserv-id `mx.cloudflare.net`): a sender can write such a field into the message, but
//!   only below the one Cloudflare prepends. It is read per RFC 8601: comments dropped, quoted
//!   strings kept whole (the SPF comment repeats the envelope sender, whose quoted local part the
//!   sender chooses). The message must have one `From` field with one mailbox, and passes when
//!   DMARC passed for that address's domain (`header.from`), or DKIM (`header.d`) or SPF
//!   (`smtp.mailfrom`) passed for it or a parent of it: the sender id must be an address the
//!   sender was authenticated for, since bindings allow senders by it. Anything else is
//!   [`Rejection::MailAuthentication`], and so is a header line with a bare CR or another
//!   control character.
//! - [`parse`]: one message → one message event from the `From` address, in the conversation
//!   with that address, in a thread named by the hash of its first `References` id (else
//!   `In-Reply-To`, else its own `Message-ID`), or by a valid reply-address tag
//!   ([`reply_address`]) the edge read. The text is the readable body without the quoted
//!   reply. `Auto-Submitted` (other than `no`) or `Precedence: bulk / junk / list` marks an
//!   automatic message: from a bot, so an agent never answers an auto-reply.
//! - Reply addresses: [`reply_address`] is the installation's address with a `+r-<thread>-<mac>`
//!   tag, a truncated HMAC-SHA256 under the master key's sub-key for [`REPLY_KEY_INFO`] over
//!   the installation, the address and the thread; [`recipient`] splits one back, so a reply
//!   routes to its thread with no stored state.
//! - Dedupe: `Message-ID` (mail servers retry for days: the window is five days).
//!
//! # What's out of scope
//! Receiving it (the edge's email handler), attachments, forwarding, bounces (DSNs are
//! `Auto-Submitted`: bots).

use super::{
    Ack, Capabilities, Conversation, ConversationType, Event, Form, Kind, ParseError, Parsed,
    PathId, Rejection, Request, Sender, Spec, Verification,
};
use crate::core::mac::{hex, hmac_sha256};
use crate::core::mime::{self, Message};
use crate::core::seal::KeyRing;
use crate::core::tenancy::SecretOwner;
use hmac::Mac;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

/// The authserv-id of Cloudflare's mail servers.
pub const CLOUDFLARE_AUTHSERV_ID: &str = "mx.cloudflare.net";
/// Headers the edge adds to the request it makes of a message (never from the message).
pub const ENVELOPE_FROM: &str = "x-channel-edge-envelope-from";
/// The address the message was routed to.
pub const ENVELOPE_TO: &str = "x-channel-edge-envelope-to";
/// The message's thread: the one a valid reply-address tag named, else [`thread_of`].
pub const THREAD: &str = "x-channel-edge-thread";
/// The address answers in that thread are sent from ([`reply_address`]).
pub const REPLY_ADDRESS: &str = "x-channel-edge-reply-address";
/// The HKDF label of the reply addresses' key.
pub const REPLY_KEY_INFO: &[u8] = b"channel-edge/email-reply-address/v1";
/// The tag's marker in a reply address's local part.
const TAG_MARKER: &str = "+r-";
/// Hex digits of a thread id and of a tag's MAC.
const THREAD_HEX: usize = 16;
const MAC_BYTES: usize = 8;

/// Email, as [`crate::core::tenancy::Provider`] registers it.
pub const SPEC: Spec = Spec {
    name: "email",
    path_id: PathId::Installation,
    get_handshake: None,
    profile_secrets: &[],
    installation_credentials: &[],
    // Nothing is signed with a secret: Cloudflare's authentication results are checked.
    verified_with: (SecretOwner::Installation, "none"),
    verify: Verification::Core(verify),
    parse,
    session_methods: &[],
    deep_link: None,
    channel_name: None,
    // Not in a URL, but the installation's address must be one mail can be routed to.
    url_forms: &[("address", Form::Mailbox)],
    tenant_key_field: Some("address"),
    // Mail servers retry a deferred message for up to five days.
    dedupe_window_seconds: 5 * 24 * 3600,
    unsigned_event_time: false,
    capabilities: Capabilities {
        edits: false,
        deletes: false,
        threads: true,
        max_text_chars: None,
    },
    sender: Some(&crate::core::outbound::email::SENDER),
};

/// Checks the message in `request`'s body: see the module documentation.
pub fn verify(
    request: &Request<'_>,
    _secrets: &[String],
    _now: u64,
    _window: u64,
) -> Result<(), Rejection> {
    let message = Message::parse(request.body).ok_or(Rejection::MailAuthentication)?;
    let results = message
        .header("Authentication-Results")
        .ok_or(Rejection::MissingHeader {
            header: "Authentication-Results",
        })?;
    // One From field with one mailbox: the address senders are allowed by.
    let from_domain = (message.count("From") == 1)
        .then(|| message.header("From"))
        .flatten()
        .and_then(mime::address)
        .and_then(|address| address.rsplit_once('@').map(|(_, d)| d.to_owned()))
        .ok_or(Rejection::MailAuthentication)?;
    if authenticated(results, &from_domain) {
        Ok(())
    } else {
        Err(Rejection::MailAuthentication)
    }
}

/// Whether Cloudflare's `Authentication-Results` value says the `From` domain is authentic:
/// read per RFC 8601, comments dropped and quoted strings kept whole (the SPF comment repeats the
/// envelope sender, and a quoted local part may hold `;` or `dmarc=pass`: neither is a result).
fn authenticated(results: &str, from_domain: &str) -> bool {
    let results = mime::without_comments(results);
    let mut parts = split_unquoted(&results, ';').into_iter();
    let authserv = parts.next().unwrap_or_default();
    let authserv = authserv.split_whitespace().next().unwrap_or_default();
    if !authserv.eq_ignore_ascii_case(CLOUDFLARE_AUTHSERV_ID) {
        return false;
    }
    parts.any(|result| result_authenticates(&result, from_domain))
}

/// Whether one result (`dkim=pass header.d=…`) authenticates `from_domain`: DMARC for exactly
/// that domain, DKIM or SPF for it or a parent of it (relaxed alignment).
fn result_authenticates(result: &str, from_domain: &str) -> bool {
    let words = split_unquoted(result, ' ');
    let mut words = words
        .iter()
        .map(|word| word.trim())
        .filter(|w| !w.is_empty());
    let (method, outcome) = words
        .next()
        .and_then(|first| first.split_once('='))
        .unwrap_or_default();
    let domain_of = |name: &str| {
        words.clone().find_map(|word| {
            let (key, value) = word.split_once('=')?;
            key.eq_ignore_ascii_case(name).then(|| {
                let domain = value.rsplit_once('@').map_or(value, |(_, d)| d);
                domain.trim_matches('"').to_ascii_lowercase()
            })
        })
    };
    let aligned = |domain: String| {
        !domain.is_empty()
            && (from_domain == domain || from_domain.ends_with(&format!(".{domain}")))
    };
    if !outcome.eq_ignore_ascii_case("pass") {
        return false;
    }
    match method.to_ascii_lowercase().as_str() {
        "dmarc" => domain_of("header.from").is_some_and(|domain| domain == from_domain),
        "dkim" => domain_of("header.d").is_some_and(aligned),
        "spf" => domain_of("smtp.mailfrom").is_some_and(aligned),
        _ => false,
    }
}

/// `text` split at `separator` outside quoted strings.
fn split_unquoted(text: &str, separator: char) -> Vec<String> {
    let mut parts = vec![String::new()];
    let (mut quoted, mut escaped) = (false, false);
    for c in text.chars() {
        let split = c == separator && !quoted;
        if escaped {
            escaped = false;
        } else if c == '\\' && quoted {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        }
        if split {
            parts.push(String::new());
        } else if let Some(part) = parts.last_mut() {
            part.push(c);
        }
    }
    parts
}

/// Reads a verified message: see the module documentation.
pub fn parse(request: &Request<'_>) -> Result<Parsed, ParseError> {
    let message = Message::parse(request.body)
        .ok_or_else(|| ParseError::new("the message's header is not text"))?;
    let message_id = message
        .header("Message-ID")
        .and_then(|value| mime::message_ids(value).into_iter().next())
        .ok_or_else(|| ParseError::new("missing header Message-ID"))?;
    let from = message.header("From").unwrap_or_default();
    let address = mime::address(from).ok_or_else(|| ParseError::new("no address in From"))?;
    let references: Vec<String> = message
        .header("References")
        .map(mime::message_ids)
        .unwrap_or_default();
    let thread = request
        .header(THREAD)
        .map(str::to_owned)
        .or_else(|| thread_of(&message))
        .unwrap_or_else(|| thread_id(&message_id));
    let subject: String = message
        .header("Subject")
        .map(mime::decode_words)
        .unwrap_or_default()
        .chars()
        .take(mime::MAX_SUBJECT_CHARS)
        .collect();
    let mut chain: Vec<&str> = references.iter().map(String::as_str).collect();
    chain.push(&message_id);
    let event = Event {
        provider_event_id: message_id.clone(),
        semantic_key: None,
        app_id: None,
        tenant_keys: Vec::new(),
        team_id: None,
        kind: Kind::Message,
        occurred_at: None,
        sender: Some(Sender {
            id: address.clone(),
            display_name: mime::display_name(from),
            is_bot: is_automatic(&message),
        }),
        conversation: Some(Conversation {
            id: address,
            kind: ConversationType::Dm,
            thread_id: Some(thread),
        }),
        text: message.text().map(|text| without_quote(&text)),
        message_id: Some(message_id.clone()),
        reply_context: reply_context(request, &subject, &chain),
        raw: json!({
            "message_id": message_id, "subject": subject, "from": from,
            "to": message.header("To"), "date": message.header("Date"),
            "envelope_from": request.header(ENVELOPE_FROM),
            "envelope_to": request.header(ENVELOPE_TO),
        }),
    };
    Ok(Parsed::Events {
        events: vec![event],
        ack: Ack::Empty,
    })
}

/// What an answer needs to be a reply: the subject, the references, the address to send from.
fn reply_context(request: &Request<'_>, subject: &str, chain: &[&str]) -> Map<String, Value> {
    let mut context = Map::from_iter([
        ("subject".to_owned(), Value::from(subject)),
        (
            "references".to_owned(),
            Value::from(mime::references(chain)),
        ),
    ]);
    if let Some(from) = request.header(REPLY_ADDRESS) {
        context.insert("from".to_owned(), Value::from(from));
    }
    context
}

/// The thread of a message: named by the hash of its first `References` id, else of its
/// `In-Reply-To`, else of its own `Message-ID`.
pub fn thread_of(message: &Message<'_>) -> Option<String> {
    let first = |name: &str| {
        message
            .header(name)
            .and_then(|value| mime::message_ids(value).into_iter().next())
    };
    let root = first("References")
        .or_else(|| first("In-Reply-To"))
        .or_else(|| first("Message-ID"))?;
    Some(thread_id(&root))
}

/// Whether the message says it was sent automatically (RFC 3834, list and bulk mail).
fn is_automatic(message: &Message<'_>) -> bool {
    let auto = message
        .header("Auto-Submitted")
        .is_some_and(|value| !value.trim().eq_ignore_ascii_case("no"));
    let bulk = message.header("Precedence").is_some_and(|value| {
        matches!(
            value.trim().to_ascii_lowercase().as_str(),
            "bulk" | "junk" | "list" | "auto_reply"
        )
    });
    auto || bulk
}

/// `text` without the quoted message a reply carries: `>` lines, and the `On … wrote:` line
/// introducing them.
fn without_quote(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let first_quoted = lines
        .iter()
        .position(|line| line.trim_start().starts_with('>'));
    let Some(mut end) = first_quoted else {
        return text.trim().to_owned();
    };
    // `On <date>, <name> <address> wrote:`, which mail programs wrap onto a second line.
    let line = |at: usize| lines.get(at).map_or("", |line| line.trim());
    if end > 0 && line(end - 1).ends_with("wrote:") {
        end -= 1;
        if end > 0 && !line(end).starts_with("On ") && line(end - 1).starts_with("On ") {
            end -= 1;
        }
    }
    let kept: Vec<&str> = lines.iter().take(end).copied().collect();
    kept.join("\n").trim().to_owned()
}

/// The thread id of a thread whose first message is `root`.
pub fn thread_id(root: &str) -> String {
    let digest = Sha256::digest(root.as_bytes());
    hex(digest.get(..THREAD_HEX / 2).unwrap_or_default())
}

/// The address an answer in `thread` is sent from: `address` with a tag only this service can
/// make for `installation_id`, so the reply finds its thread.
pub fn reply_address(ring: &KeyRing, installation_id: &str, address: &str, thread: &str) -> String {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return address.to_owned();
    };
    let (_, key) = ring.derive_current(REPLY_KEY_INFO);
    let mac = tag_mac(&key, installation_id, address, thread);
    format!("{local}{TAG_MARKER}{thread}-{}@{domain}", hex(&mac))
}

/// Whether `address` can be an installation's address: an address as [`recipient`] reads it,
/// lower case, without a reply tag.
pub fn is_mailbox(address: &str) -> bool {
    recipient(address).is_some_and(|read| read.tag.is_none() && read.address == address)
}

/// A recipient split into the installation's address and, when its tag is one this service
/// made for `installation_id` (under any key of the ring), the thread it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// The address without a tag, lower case: the installation's tenant key.
    pub address: String,
    /// The tag, when there is one (checked by [`Recipient::thread`]).
    tag: Option<(String, String)>,
}

/// Reads the envelope recipient `to`.
pub fn recipient(to: &str) -> Option<Recipient> {
    let to = mime::address(to)?;
    let (local, domain) = to.rsplit_once('@')?;
    let Some((base, tag)) = local.split_once(TAG_MARKER) else {
        return Some(Recipient {
            address: to.clone(),
            tag: None,
        });
    };
    let (thread, mac) = tag.split_once('-')?;
    Some(Recipient {
        address: format!("{base}@{domain}"),
        tag: Some((thread.to_owned(), mac.to_owned())),
    })
}

impl Recipient {
    /// The thread the tag names, when it authenticates for `installation_id`.
    pub fn thread(&self, ring: &KeyRing, installation_id: &str) -> Option<String> {
        let (thread, mac) = self.tag.as_ref()?;
        let valid_thread =
            thread.len() == THREAD_HEX && thread.bytes().all(|b| b.is_ascii_hexdigit());
        let given = super::decode_hex(mac).filter(|mac| mac.len() == MAC_BYTES)?;
        let authentic = ring
            .derive_all(REPLY_KEY_INFO)
            .fold(false, |found, (_, key)| {
                let expected = tag_mac(&key, installation_id, &self.address, thread);
                found
                    | bool::from(subtle::ConstantTimeEq::ct_eq(
                        expected.as_slice(),
                        given.as_slice(),
                    ))
            });
        (valid_thread && authentic).then(|| thread.clone())
    }
}

fn tag_mac(key: &[u8; 32], installation_id: &str, address: &str, thread: &str) -> Vec<u8> {
    let mut mac = hmac_sha256(key);
    for part in [installation_id, address, thread] {
        mac.update(&(part.len() as u32).to_be_bytes());
        mac.update(part.as_bytes());
    }
    mac.finalize()
        .into_bytes()
        .iter()
        .take(MAC_BYTES)
        .copied()
        .collect()
}

#[cfg(test)]
#[path = "email_test.rs"]
mod tests;
