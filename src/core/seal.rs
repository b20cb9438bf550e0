//! Sealing secrets at rest: AES-256-GCM under a ring of master keys, and HKDF key derivation.
//!
//! # What's in scope
//! - [`KeyRing::parse`]: the Worker secret `MASTER_KEYS`, a comma-separated list of
//!   `<key id>:<base64 of 32 bytes>` with the current (newest) key first.
//! - [`KeyRing::seal`], [`KeyRing::open`] and [`KeyRing::reseal`]: sealing a value bound to its
//!   row and purpose ([`SealContext`]), opening it with whichever key of the ring sealed it, and
//!   sealing it again under the current key during a master-key rotation.
//! - [`KeyRing::derive`] and [`KeyRing::derive_current`]: HKDF-SHA256 sub-keys of a master key,
//!   one per domain-separation label, for other features (install tokens, signed links).
//!
//! # What's out of scope
//! Reading the secret, generating nonces and keys (the edge passes random bytes in), storing
//! sealed values (the edge's D1 layer) and deciding when to rotate. This module never reads a
//! clock or a random number generator.
//!
//! # Format
//! A sealed value is `v1.<key id>.<payload>` where payload is base64url without padding of
//! `nonce (12 bytes) || ciphertext || tag (16 bytes)`. The associated data is
//! `b"channel-edge/seal/v1"` followed by table, row id, purpose, version and key id, each as a
//! 4-byte big-endian length and its bytes, so a value neither opens in another row or purpose nor
//! can be relabelled to another key id.
//!
//! The AES key is not the master key itself but its HKDF sub-key for [`SEAL_KEY_INFO`], so a
//! master key is only ever used as HKDF input and every use of it has its own label.

use crate::core::mac::hkdf_sha256;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use std::fmt;

/// The version tag of the sealed format, first part of every sealed value.
pub const VERSION: &str = "v1";
/// The HKDF label of the AES-256-GCM key that seals values. Other features must use other labels.
pub const SEAL_KEY_INFO: &[u8] = b"channel-edge/seal/v1/aes-256-gcm";
/// The fixed prefix of the associated data.
const AAD_PREFIX: &[u8] = b"channel-edge/seal/v1";
/// Bytes of an AES-GCM nonce.
const NONCE_LEN: usize = 12;
/// Bytes of an AES-GCM tag.
const TAG_LEN: usize = 16;
/// The longest key id.
const MAX_KEY_ID_LEN: usize = 16;

/// Standard alphabet, padding optional.
const STANDARD_ANY_PAD: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
/// URL-safe alphabet, padding optional.
const URL_SAFE_ANY_PAD: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a key ring could not be parsed, a value could not be opened, or a key not derived.
///
/// Messages name key ids and entry positions (1-based) only: never key material, plaintext or
/// sealed bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The key ring text is empty (or only whitespace).
    #[error("no master keys: expected `<key id>:<base64 key>[,<key id>:<base64 key>...]`")]
    NoKeys,
    /// An entry of the key ring text is empty (e.g. a doubled or trailing comma).
    #[error("master key entry {position} is empty")]
    EmptyEntry {
        /// The entry's position, from 1.
        position: usize,
    },
    /// An entry has no `:` between key id and key.
    #[error("master key entry {position} has no `:` between key id and key")]
    MissingColon {
        /// The entry's position, from 1.
        position: usize,
    },
    /// An entry's key id is not 1–16 characters of `[A-Za-z0-9_-]`. The id is not named: a
    /// mangled entry may hold key material where the id should be.
    #[error("master key entry {position} has an invalid key id (1-16 of A-Z a-z 0-9 _ -)")]
    BadKeyId {
        /// The entry's position, from 1.
        position: usize,
    },
    /// A key is not valid base64 (standard or URL-safe, padded or not).
    #[error("master key `{id}` is not valid base64")]
    BadKeyBase64 {
        /// The key's id.
        id: String,
    },
    /// A key does not decode to exactly 32 bytes.
    #[error("master key `{id}` is {len} bytes; it must be exactly 32")]
    WrongKeyLength {
        /// The key's id.
        id: String,
        /// How many bytes it decoded to.
        len: usize,
    },
    /// Two entries have the same key id.
    #[error("master key id `{id}` appears more than once")]
    DuplicateKeyId {
        /// The repeated id.
        id: String,
    },
    /// A sealed value is not three `.`-separated parts.
    #[error("sealed value is not `<version>.<key id>.<payload>`")]
    MalformedParts,
    /// A sealed value's version is not [`VERSION`]. The version is not named: a value that was
    /// never sealed might be plaintext.
    #[error("sealed value has an unknown version")]
    UnknownVersion,
    /// A sealed value's key id is not a valid key id (not named, as for the version).
    #[error("sealed value has an invalid key id")]
    MalformedKeyId,
    /// A sealed value's payload is not base64url without padding.
    #[error("sealed value payload is not valid base64url")]
    MalformedBase64,
    /// A sealed value's payload is too short to hold a nonce and a tag.
    #[error("sealed value payload is too short to hold a nonce and a tag")]
    TooShort,
    /// No key in the ring has the id (e.g. a key removed before its values were re-sealed).
    #[error("no master key with id `{id}` in the key ring")]
    UnknownKey {
        /// The id asked for.
        id: String,
    },
    /// The value does not authenticate: wrong key, tampered bytes or another row's or purpose's
    /// value. One variant for all, so a caller learns nothing about which.
    #[error("sealed value does not open under its key and context")]
    Unauthentic,
    /// An opened value is not UTF-8 where a string was expected.
    #[error("opened value is not valid UTF-8")]
    NotUtf8,
    /// A value (or a context field) is beyond what AES-GCM or the associated data can hold.
    #[error("value is too large to seal")]
    TooLarge,
}

/// One master key: its id and 32 key bytes. `Debug` prints the id only.
#[derive(Clone)]
pub struct MasterKey {
    /// The key's id, 1–16 characters of `[A-Za-z0-9_-]`; names the key in sealed values.
    pub id: String,
    /// The key bytes; never printed.
    key: [u8; 32],
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl MasterKey {
    /// HKDF-SHA256 of this key (no salt) with `info` as the label, 32 bytes out.
    fn derive(&self, info: &[u8]) -> [u8; 32] {
        hkdf_sha256(&self.key, info)
    }

    /// The AES-256-GCM cipher that seals values under this key.
    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&self.derive(SEAL_KEY_INFO).into())
    }
}

/// Whether `id` is 1–16 characters of `[A-Za-z0-9_-]`.
fn is_valid_key_id(id: &str) -> bool {
    (1..=MAX_KEY_ID_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Decodes a key in standard or URL-safe base64, padded or not.
fn decode_key(text: &str) -> Option<Vec<u8>> {
    STANDARD_ANY_PAD
        .decode(text)
        .or_else(|_| URL_SAFE_ANY_PAD.decode(text))
        .ok()
}

/// Parses one `<key id>:<base64 key>` entry at `position` (from 1).
fn parse_entry(entry: &str, position: usize) -> Result<MasterKey, SealError> {
    let entry = entry.trim();
    if entry.is_empty() {
        return Err(SealError::EmptyEntry { position });
    }
    let (id, key) = entry
        .split_once(':')
        .ok_or(SealError::MissingColon { position })?;
    let (id, key) = (id.trim(), key.trim());
    if !is_valid_key_id(id) {
        return Err(SealError::BadKeyId { position });
    }
    let id = id.to_owned();
    let Some(bytes) = decode_key(key) else {
        return Err(SealError::BadKeyBase64 { id });
    };
    match <[u8; 32]>::try_from(bytes.as_slice()) {
        Ok(key) => Ok(MasterKey { id, key }),
        Err(_) => Err(SealError::WrongKeyLength {
            id,
            len: bytes.len(),
        }),
    }
}

/// Where a sealed value belongs: the associated data that binds it to its row and purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealContext<'a> {
    /// The table of the row holding the value.
    pub table: &'a str,
    /// The id of that row.
    pub row_id: &'a str,
    /// What the value is for (e.g. owner and secret name).
    pub purpose: &'a str,
}

/// Appends `field` to `aad` as a 4-byte big-endian length and its bytes.
fn push_field(aad: &mut Vec<u8>, field: &str) -> Result<(), SealError> {
    let len = u32::try_from(field.len()).map_err(|_| SealError::TooLarge)?;
    aad.extend_from_slice(&len.to_be_bytes());
    aad.extend_from_slice(field.as_bytes());
    Ok(())
}

impl SealContext<'_> {
    /// The associated data of a value in this context sealed under `key_id`.
    fn aad(&self, key_id: &str) -> Result<Vec<u8>, SealError> {
        let mut aad = AAD_PREFIX.to_vec();
        for field in [self.table, self.row_id, self.purpose, VERSION, key_id] {
            push_field(&mut aad, field)?;
        }
        Ok(aad)
    }
}

/// An opened value: its plaintext, the key that opened it and whether it should be re-sealed.
/// `Debug` never prints the plaintext.
pub struct Opened {
    /// The plaintext; never printed.
    plaintext: Vec<u8>,
    /// The id of the master key that sealed the value.
    pub key_id: String,
    /// True when that key is not the ring's current key (the value should be re-sealed).
    pub needs_reseal: bool,
}

impl fmt::Debug for Opened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opened")
            .field("key_id", &self.key_id)
            .field("needs_reseal", &self.needs_reseal)
            .field("plaintext", &"<redacted>")
            .finish()
    }
}

impl Opened {
    /// The plaintext bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.plaintext
    }

    /// The plaintext bytes, owned.
    pub fn into_bytes(self) -> Vec<u8> {
        self.plaintext
    }

    /// The plaintext as a string, for secrets that are text.
    pub fn into_string(self) -> Result<String, SealError> {
        String::from_utf8(self.plaintext).map_err(|_| SealError::NotUtf8)
    }
}

/// The parts of a sealed value: key id and decoded payload (nonce, ciphertext, tag).
fn split_sealed(sealed: &str) -> Result<(&str, Vec<u8>), SealError> {
    let parts: Vec<&str> = sealed.split('.').collect();
    let [version, key_id, payload] = parts.as_slice() else {
        return Err(SealError::MalformedParts);
    };
    if *version != VERSION {
        return Err(SealError::UnknownVersion);
    }
    if !is_valid_key_id(key_id) {
        return Err(SealError::MalformedKeyId);
    }
    let payload = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| SealError::MalformedBase64)?;
    if payload.len() < NONCE_LEN + TAG_LEN {
        return Err(SealError::TooShort);
    }
    Ok((key_id, payload))
}

/// One or more master keys, current (newest) first. `Debug` prints key ids only.
#[derive(Debug, Clone)]
pub struct KeyRing {
    /// The key new values are sealed under.
    current: MasterKey,
    /// Older keys that still open what they sealed; ids are distinct from each other and from
    /// the current key's.
    older: Vec<MasterKey>,
}

impl KeyRing {
    /// Parses `MASTER_KEYS`: comma-separated `<key id>:<base64 of 32 bytes>` entries (standard or
    /// URL-safe base64, padded or not; whitespace around entries, ids and keys ignored), current
    /// key first.
    pub fn parse(text: &str) -> Result<KeyRing, SealError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(SealError::NoKeys);
        }
        let mut keys: Vec<MasterKey> = Vec::new();
        for (index, entry) in text.split(',').enumerate() {
            let key = parse_entry(entry, index + 1)?;
            if keys.iter().any(|known| known.id == key.id) {
                return Err(SealError::DuplicateKeyId { id: key.id });
            }
            keys.push(key);
        }
        let mut keys = keys.into_iter();
        let current = keys.next().ok_or(SealError::NoKeys)?;
        Ok(KeyRing {
            current,
            older: keys.collect(),
        })
    }

    /// The current key: the one new values are sealed under.
    pub fn current(&self) -> &MasterKey {
        &self.current
    }

    fn keys(&self) -> impl Iterator<Item = &MasterKey> + '_ {
        std::iter::once(&self.current).chain(&self.older)
    }

    /// The key ids, current first.
    pub fn ids(&self) -> impl Iterator<Item = &str> + '_ {
        self.keys().map(|key| key.id.as_str())
    }

    /// The key with `id`, or [`SealError::UnknownKey`].
    fn key(&self, id: &str) -> Result<&MasterKey, SealError> {
        self.keys()
            .find(|key| key.id == id)
            .ok_or_else(|| SealError::UnknownKey { id: id.to_owned() })
    }

    /// Seals `plaintext` in `context` under the current key with `nonce`, which must be fresh
    /// random bytes (never reuse a nonce with the same key). [`SealError::TooLarge`] past
    /// AES-GCM's limit (64 GiB) or for a context field of 4 GiB or more.
    pub fn seal(
        &self,
        plaintext: &[u8],
        context: &SealContext<'_>,
        nonce: [u8; 12],
    ) -> Result<String, SealError> {
        let key = self.current();
        let aad = context.aad(&key.id)?;
        let payload = Payload {
            msg: plaintext,
            aad: &aad,
        };
        let ciphertext = key
            .cipher()
            .encrypt(&Nonce::from(nonce), payload)
            .map_err(|_| SealError::TooLarge)?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        Ok(format!(
            "{VERSION}.{}.{}",
            key.id,
            URL_SAFE_NO_PAD.encode(sealed)
        ))
    }

    /// Opens `sealed` in `context` with the key it names.
    pub fn open(&self, sealed: &str, context: &SealContext<'_>) -> Result<Opened, SealError> {
        let (key_id, payload) = split_sealed(sealed)?;
        let key = self.key(key_id)?;
        let (nonce, ciphertext) = payload
            .split_first_chunk::<NONCE_LEN>()
            .ok_or(SealError::TooShort)?;
        let aad = context.aad(key_id)?;
        let payload = Payload {
            msg: ciphertext,
            aad: &aad,
        };
        let plaintext = key
            .cipher()
            .decrypt(&Nonce::from(*nonce), payload)
            .map_err(|_| SealError::Unauthentic)?;
        Ok(Opened {
            plaintext,
            key_id: key.id.clone(),
            needs_reseal: key.id != self.current().id,
        })
    }

    /// Opens `sealed` and, when it is not under the current key, seals it again under the
    /// current key with `nonce`. `None` when it already is under the current key.
    pub fn reseal(
        &self,
        sealed: &str,
        context: &SealContext<'_>,
        nonce: [u8; 12],
    ) -> Result<Option<String>, SealError> {
        let opened = self.open(sealed, context)?;
        if !opened.needs_reseal {
            return Ok(None);
        }
        Ok(Some(self.seal(opened.as_bytes(), context, nonce)?))
    }

    /// A 32-byte key derived from master key `key_id` with HKDF-SHA256 (no salt), `info` as the
    /// domain-separation label. Each feature uses its own label; [`SEAL_KEY_INFO`] is taken.
    pub fn derive(&self, key_id: &str, info: &[u8]) -> Result<[u8; 32], SealError> {
        Ok(self.key(key_id)?.derive(info))
    }

    /// [`KeyRing::derive`] with the current key: its id and the derived key.
    pub fn derive_current(&self, info: &[u8]) -> (&str, [u8; 32]) {
        let key = self.current();
        (&key.id, key.derive(info))
    }

    /// [`KeyRing::derive`] with every key, current first: each id and its derived key.
    pub fn derive_all<'a>(
        &'a self,
        info: &'a [u8],
    ) -> impl Iterator<Item = (&'a str, [u8; 32])> + 'a {
        self.keys()
            .map(move |key| (key.id.as_str(), key.derive(info)))
    }
}

#[cfg(test)]
#[path = "seal_test.rs"]
mod tests;
