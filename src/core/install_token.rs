//! Install tokens: a capability an admin mints so that one user can install one agent by sending
//! `install:<token>` (or Telegram `/start <token>`) to the org's bot.
//!
//! # What's in scope
//! - [`mint`], [`verify`] and [`authenticate`]: the token's bytes and its MAC, with no storage involved, so a
//!   forged or damaged token is refused before anything touches D1.
//! - [`claimed_token`]: whether a message's text is a claim, and the token it carries.
//! - [`whatsapp_link`] and [`telegram_link`]: the deep links that send a claim with one tap.
//! - [`decide`]: what a claim of a verified token comes to, given the stored grant.
//!
//! # What's out of scope
//! Storing grants and marking them used (the edge, with one conditional `UPDATE`), random token
//! ids (passed in), the clock (`now` is passed in), and what a claim changes (identities,
//! allowlists, bindings: the edge).
//!
//! # Format
//! base64url without padding of 41 bytes, so always [`TOKEN_CHARS`] (55) characters of
//! `[A-Za-z0-9_-]`, which fits Telegram's 64-character `start` parameter:
//!
//! | bytes | field |
//! |---|---|
//! | 1 | version ([`VERSION`]) |
//! | 4 | key tag: the first 4 bytes of SHA-256 of the master key's id, under a label |
//! | 16 | token id (random; the grant's id in D1 is `ist_` + its hex) |
//! | 4 | expiry, Unix seconds, big-endian |
//! | 16 | MAC: HMAC-SHA256 of the 25 bytes before it, truncated to 16 bytes |
//!
//! The MAC key is HKDF-SHA256 of the master key with [`MAC_KEY_INFO`] as the label, a label no
//! other feature uses, so nothing else this service signs or seals can pass as a token. Tokens
//! made under a previous master key stay valid while that key is in the ring.

use crate::core::mac::hmac_sha256;
use crate::core::seal::KeyRing;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The token format's version, its first byte.
pub const VERSION: u8 = 1;
/// The HKDF label of the MAC key. No other feature may use it.
pub const MAC_KEY_INFO: &[u8] = b"channel-edge/install-token/v1/hmac-sha256";
/// The label hashed with a key id into the key tag.
const KEY_TAG_LABEL: &[u8] = b"channel-edge/install-token/v1/key-id\0";
/// The text a claim message starts with.
pub const TEXT_PREFIX: &str = "install:";
/// Bytes of the random token id.
pub const TOKEN_ID_LEN: usize = 16;
/// Bytes of the key tag.
const KEY_TAG_LEN: usize = 4;
/// Bytes of the (truncated) MAC.
const MAC_LEN: usize = 16;
/// Bytes the MAC covers: version, key tag, token id, expiry.
const SIGNED_LEN: usize = 1 + KEY_TAG_LEN + TOKEN_ID_LEN + 4;
/// Bytes of a whole token.
const TOKEN_LEN: usize = SIGNED_LEN + MAC_LEN;
/// Characters of a token: base64url of the token's 41 bytes without padding.
pub const TOKEN_CHARS: usize = (TOKEN_LEN * 4).div_ceil(3);
/// The longest text accepted as a token before decoding (Telegram's `start` limit).
pub const MAX_TOKEN_CHARS: usize = 64;
/// Lifetime of a token when the admin names none.
pub const DEFAULT_TTL_SECONDS: u64 = 900;
/// The longest lifetime a token may have.
pub const MAX_TTL_SECONDS: u64 = 3600;

/// Why a token is not valid. Messages name no key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Nothing after the prefix.
    #[error("the install token is empty")]
    Empty,
    /// Longer than [`MAX_TOKEN_CHARS`].
    #[error("the install token is longer than {MAX_TOKEN_CHARS} characters")]
    TooLong,
    /// A character outside `[A-Za-z0-9_-]`.
    #[error("the install token has characters outside [A-Za-z0-9_-]")]
    BadAlphabet,
    /// Decodes to the wrong number of bytes.
    #[error("the install token has the wrong length")]
    WrongLength,
    /// A version this code does not know.
    #[error("install token version {0} is not supported")]
    UnknownVersion(u8),
    /// Made under a master key that is not in the ring (any more).
    #[error("the install token was made under a key this service does not have")]
    UnknownKey,
    /// The MAC does not match: forged or altered.
    #[error("the install token does not authenticate")]
    BadMac,
    /// Past its expiry.
    #[error("the install token has expired")]
    Expired,
    /// Minting: the expiry does not fit the format (after 2106).
    #[error("the expiry {0} is out of the token format's range")]
    ExpiryOutOfRange(u64),
}

impl TokenError {
    /// The reason a claim with this token was refused, as the `install_rejected` envelope and
    /// the audit log name it: `expired`, or `invalid` for everything else.
    pub fn reason(&self) -> Refusal {
        match self {
            TokenError::Expired => Refusal::Expired,
            _ => Refusal::Invalid,
        }
    }
}

/// A freshly minted token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Minted {
    /// The token (without the `install:` prefix).
    pub token: String,
    /// The grant's id in D1: `ist_` + the token id in hex.
    pub grant_id: String,
    /// The master key id it was made under.
    pub key_id: String,
}

/// The id of the binding a claim of `grant_id` creates when it must create one: `bnd_` + the
/// token id, so repeating a claim cannot create a second.
pub fn claim_binding_id(grant_id: &str) -> String {
    format!("bnd_{}", grant_id.trim_start_matches("ist_"))
}

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The grant's id in D1.
    pub grant_id: String,
    /// When it expires, Unix seconds.
    pub expires_at: u64,
}

/// Makes a token for grant `token_id` (fresh random bytes) expiring at `expires_at`, under the
/// ring's current key.
pub fn mint(
    ring: &KeyRing,
    token_id: [u8; TOKEN_ID_LEN],
    expires_at: u64,
) -> Result<Minted, TokenError> {
    let expiry = u32::try_from(expires_at).map_err(|_| TokenError::ExpiryOutOfRange(expires_at))?;
    let (key_id, mac_key) = ring.derive_current(MAC_KEY_INFO);
    let mut bytes = Vec::with_capacity(TOKEN_LEN);
    bytes.push(VERSION);
    bytes.extend_from_slice(&key_tag(key_id));
    bytes.extend_from_slice(&token_id);
    bytes.extend_from_slice(&expiry.to_be_bytes());
    let mac = mac(&mac_key, &bytes).finalize().into_bytes();
    bytes.extend(mac.iter().take(MAC_LEN));
    Ok(Minted {
        token: URL_SAFE_NO_PAD.encode(&bytes),
        grant_id: crate::core::ids::new_id("ist", token_id),
        key_id: key_id.to_owned(),
    })
}

/// Checks `token` at `now`: [`authenticate`], then expiry. A token is valid while
/// `now < expires_at`.
pub fn verify(ring: &KeyRing, token: &str, now: u64) -> Result<Verified, TokenError> {
    let verified = authenticate(ring, token)?;
    if now >= verified.expires_at {
        return Err(TokenError::Expired);
    }
    Ok(verified)
}

/// Checks that `token` is one this service made, whatever its expiry: shape, version, key, then
/// MAC (constant-time). A claim uses this and leaves expiry to [`decide`], so the claiming
/// message's own retry still completes after the token expired.
pub fn authenticate(ring: &KeyRing, token: &str) -> Result<Verified, TokenError> {
    let bytes = decode(token)?;
    let (signed, tag) = bytes
        .split_first_chunk::<SIGNED_LEN>()
        .ok_or(TokenError::WrongLength)?;
    let (&[version], fields) = signed
        .split_first_chunk::<1>()
        .ok_or(TokenError::WrongLength)?;
    let (token_key_tag, fields) = fields
        .split_first_chunk::<KEY_TAG_LEN>()
        .ok_or(TokenError::WrongLength)?;
    let (token_id, expiry) = fields
        .split_first_chunk::<TOKEN_ID_LEN>()
        .ok_or(TokenError::WrongLength)?;
    let expiry: [u8; 4] = expiry.try_into().map_err(|_| TokenError::WrongLength)?;
    if version != VERSION {
        return Err(TokenError::UnknownVersion(version));
    }
    let mut keys = ring
        .derive_all(MAC_KEY_INFO)
        .filter(|(id, _)| key_tag(id) == *token_key_tag)
        .peekable();
    if keys.peek().is_none() {
        return Err(TokenError::UnknownKey);
    }
    let authentic = keys.any(|(_, key)| mac(&key, signed).verify_truncated_left(tag).is_ok());
    if !authentic {
        return Err(TokenError::BadMac);
    }
    Ok(Verified {
        grant_id: crate::core::ids::new_id("ist", *token_id),
        expires_at: u64::from(u32::from_be_bytes(expiry)),
    })
}

/// The token's bytes, after checking its text form.
fn decode(token: &str) -> Result<Vec<u8>, TokenError> {
    if token.is_empty() {
        return Err(TokenError::Empty);
    }
    if token.len() > MAX_TOKEN_CHARS {
        return Err(TokenError::TooLong);
    }
    if !token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(TokenError::BadAlphabet);
    }
    match URL_SAFE_NO_PAD.decode(token) {
        Ok(bytes) if bytes.len() == TOKEN_LEN => Ok(bytes),
        _ => Err(TokenError::WrongLength),
    }
}

fn key_tag(key_id: &str) -> [u8; KEY_TAG_LEN] {
    let digest = Sha256::new()
        .chain_update(KEY_TAG_LABEL)
        .chain_update(key_id.as_bytes())
        .finalize();
    let mut tag = [0u8; KEY_TAG_LEN];
    for (byte, digest_byte) in tag.iter_mut().zip(digest) {
        *byte = digest_byte;
    }
    tag
}

fn mac(key: &[u8; 32], signed: &[u8]) -> Hmac<Sha256> {
    let mut mac = hmac_sha256(key);
    mac.update(signed);
    mac
}

/// The token a message claims with, if its text is a claim: `install:<token>`, or a Telegram
/// `/start <token>` (also `/start@<bot> <token>`), surrounding whitespace ignored. The token is
/// not checked here: `install:garbage` is still a claim, refused as invalid. A bare `/start` is
/// not a claim.
pub fn claimed_token(text: &str) -> Option<&str> {
    let text = text.trim();
    if let Some(token) = text.strip_prefix(TEXT_PREFIX) {
        return Some(token.trim());
    }
    let (command, argument) = text.split_once(char::is_whitespace)?;
    let is_start = command == "/start"
        || command
            .strip_prefix("/start@")
            .is_some_and(|bot| !bot.is_empty());
    let argument = argument.trim();
    (is_start && !argument.is_empty()).then_some(argument)
}

/// The WhatsApp deep link that opens a chat with `phone_number` (any formatting; only its
/// digits are kept) with `install:<token>` typed in.
pub fn whatsapp_link(phone_number: &str, token: &str) -> String {
    let digits: String = phone_number.chars().filter(char::is_ascii_digit).collect();
    format!("https://wa.me/{digits}?text={TEXT_PREFIX}{token}")
}

/// The LINE link that opens a chat with the Official Account `basic_id` (`@` and all) with
/// `install:<token>` typed in (LINE's `oaMessage` URL scheme,
/// <https://developers.line.biz/en/docs/line-login/using-line-url-scheme/#sending-text-messages>).
pub fn line_link(basic_id: &str, token: &str) -> String {
    let account: String = form_urlencoded::byte_serialize(basic_id.as_bytes()).collect();
    let text: String =
        form_urlencoded::byte_serialize(format!("{TEXT_PREFIX}{token}").as_bytes()).collect();
    format!("https://line.me/R/oaMessage/{account}/?{text}")
}

/// The Telegram deep link that opens bot `username` (with or without `@`) and sends
/// `/start <token>` when the user taps Start.
pub fn telegram_link(username: &str, token: &str) -> String {
    format!(
        "https://t.me/{}?start={token}",
        username.trim_start_matches('@')
    )
}

/// The deep link to the installation whose `metadata` (its non-secret provider facts) names its
/// handle: `display_phone_number` (WhatsApp) or `bot_username` (Telegram). `None` for other
/// providers or without the handle.
pub fn deep_link(
    provider: crate::core::tenancy::Provider,
    metadata: &serde_json::Value,
    token: &str,
) -> Option<String> {
    let link = provider.spec().deep_link?;
    let handle = metadata.get(link.metadata_field)?.as_str()?;
    Some((link.link)(handle, token))
}

/// Why a claim was refused: the `reason` of an `install_rejected` envelope and its audit entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not a token this service made (forged, damaged, unknown key, no such grant).
    Invalid,
    /// Past its expiry.
    Expired,
    /// Already claimed by another message.
    Used,
    /// Minted for another org than the bot it was sent to.
    WrongOrg,
    /// Minted for another provider.
    WrongProvider,
}

impl Refusal {
    /// Its name in envelopes and the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Invalid => "invalid",
            Refusal::Expired => "expired",
            Refusal::Used => "used",
            Refusal::WrongOrg => "wrong_org",
            Refusal::WrongProvider => "wrong_provider",
        }
    }

    /// Its reason in the webhook rejection audit (`webhook.rejected`).
    pub fn audit_reason(self) -> &'static str {
        match self {
            Refusal::Invalid => "install_token_invalid",
            Refusal::Expired => "install_token_expired",
            Refusal::Used => "install_token_used",
            Refusal::WrongOrg => "install_token_wrong_org",
            Refusal::WrongProvider => "install_token_wrong_provider",
        }
    }
}

/// A grant as stored at mint time, with its claim so far.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Grant {
    /// The principal that minted it.
    pub created_by: String,
    /// The org the install is for.
    pub org_id: String,
    /// The agent to install.
    pub agent_id: String,
    /// The user the install is for.
    pub subject: String,
    /// The only provider it may be claimed through, if any.
    pub provider: Option<String>,
    /// Its expiry, Unix seconds.
    pub expires_at: u64,
    /// The message that claimed it: `<installation id>:<provider event id>`.
    pub claim_event: Option<String>,
    /// The `qr` binding session its claim completes, if any.
    #[serde(default)]
    pub binding_session_id: Option<String>,
}

/// Where a claim came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claimant<'a> {
    /// The org of the installation the message arrived through.
    pub org_id: &'a str,
    /// The provider it arrived through.
    pub provider: &'a str,
    /// `<installation id>:<provider event id>`: the claiming message.
    pub event: &'a str,
}

/// What a claim of a verified token comes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Unclaimed and claimable: claim it now (atomically; a lost race is [`Refusal::Used`]).
    Claim,
    /// Already claimed by this very message (a provider retry after a failure): finish the
    /// claim again, idempotently, without a second audit entry.
    Repeat,
}

/// Decides a claim by `claimant` at `now` of an authentic token and its `grant` (`None`: no
/// such grant: never minted, or deleted by housekeeping after it expired unclaimed).
pub fn decide(
    token: &Verified,
    grant: Option<&Grant>,
    claimant: &Claimant<'_>,
    now: u64,
) -> Result<Decision, Refusal> {
    let Some(grant) = grant else {
        return Err(if now >= token.expires_at {
            Refusal::Expired
        } else {
            Refusal::Invalid
        });
    };
    if let Some(event) = &grant.claim_event {
        return if event == claimant.event {
            Ok(Decision::Repeat)
        } else {
            Err(Refusal::Used)
        };
    }
    if grant.org_id != claimant.org_id {
        return Err(Refusal::WrongOrg);
    }
    if grant
        .provider
        .as_deref()
        .is_some_and(|provider| provider != claimant.provider)
    {
        return Err(Refusal::WrongProvider);
    }
    if now >= grant.expires_at {
        return Err(Refusal::Expired);
    }
    Ok(Decision::Claim)
}

#[cfg(test)]
#[path = "install_token_test.rs"]
mod tests;
