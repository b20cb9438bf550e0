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

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use hkdf::Hkdf;
use sha2::Sha256;
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
        let mut okm = [0u8; 32];
        Hkdf::<Sha256>::new(None, &self.key)
            .expand(info, &mut okm)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        okm
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
fn push_field(aad: &mut Vec<u8>, field: &str) {
    let len = u32::try_from(field.len()).expect("an AAD field is shorter than 4 GiB");
    aad.extend_from_slice(&len.to_be_bytes());
    aad.extend_from_slice(field.as_bytes());
}

impl SealContext<'_> {
    /// The associated data of a value in this context sealed under `key_id`.
    fn aad(&self, key_id: &str) -> Vec<u8> {
        let mut aad = AAD_PREFIX.to_vec();
        for field in [self.table, self.row_id, self.purpose, VERSION, key_id] {
            push_field(&mut aad, field);
        }
        aad
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
    /// Never empty; ids are distinct.
    keys: Vec<MasterKey>,
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
        Ok(KeyRing { keys })
    }

    /// The current key: the one new values are sealed under.
    pub fn current(&self) -> &MasterKey {
        &self.keys[0]
    }

    /// The key ids, current first.
    pub fn ids(&self) -> impl Iterator<Item = &str> + '_ {
        self.keys.iter().map(|key| key.id.as_str())
    }

    /// The key with `id`, or [`SealError::UnknownKey`].
    fn key(&self, id: &str) -> Result<&MasterKey, SealError> {
        self.keys
            .iter()
            .find(|key| key.id == id)
            .ok_or_else(|| SealError::UnknownKey { id: id.to_owned() })
    }

    /// Seals `plaintext` in `context` under the current key with `nonce`, which must be fresh
    /// random bytes (never reuse a nonce with the same key).
    ///
    /// # Panics
    /// If `plaintext` exceeds AES-GCM's limit (64 GiB) or a context field is 4 GiB or longer.
    pub fn seal(&self, plaintext: &[u8], context: &SealContext<'_>, nonce: [u8; 12]) -> String {
        let key = self.current();
        let aad = context.aad(&key.id);
        let payload = Payload {
            msg: plaintext,
            aad: &aad,
        };
        let ciphertext = key
            .cipher()
            .encrypt(&Nonce::from(nonce), payload)
            .expect("plaintext is within AES-GCM's length limit");
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        format!("{VERSION}.{}.{}", key.id, URL_SAFE_NO_PAD.encode(sealed))
    }

    /// Opens `sealed` in `context` with the key it names.
    pub fn open(&self, sealed: &str, context: &SealContext<'_>) -> Result<Opened, SealError> {
        let (key_id, payload) = split_sealed(sealed)?;
        let key = self.key(key_id)?;
        let (nonce, ciphertext) = payload
            .split_first_chunk::<NONCE_LEN>()
            .ok_or(SealError::TooShort)?;
        let aad = context.aad(key_id);
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
        Ok(Some(self.seal(opened.as_bytes(), context, nonce)))
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};

    const NEW: [u8; 32] = [0xA7; 32];
    const OLD: [u8; 32] = [0x5C; 32];
    const NONCE_A: [u8; 12] = [1; 12];
    const NONCE_B: [u8; 12] = [2; 12];
    const SECRET: &[u8] = b"xoxb-super-secret-token";

    fn entry(id: &str, key: &[u8]) -> String {
        format!("{id}:{}", STANDARD.encode(key))
    }

    fn ring_of(keys: &[(&str, [u8; 32])]) -> KeyRing {
        let text: Vec<String> = keys.iter().map(|(id, key)| entry(id, key)).collect();
        KeyRing::parse(&text.join(",")).unwrap()
    }

    fn rotated() -> KeyRing {
        ring_of(&[("new", NEW), ("old", OLD)])
    }

    fn context<'a>(table: &'a str, row_id: &'a str, purpose: &'a str) -> SealContext<'a> {
        SealContext {
            table,
            row_id,
            purpose,
        }
    }

    fn ctx() -> SealContext<'static> {
        context("secrets", "sec_1", "app_profiles/ap_1/bot_token")
    }

    fn payload_of(sealed: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD
            .decode(sealed.rsplit('.').next().unwrap())
            .unwrap()
    }

    fn with_payload(sealed: &str, payload: &[u8]) -> String {
        let (head, _) = sealed.rsplit_once('.').unwrap();
        format!("{head}.{}", URL_SAFE_NO_PAD.encode(payload))
    }

    // --- parsing ---

    #[test]
    fn parses_keys_current_first_with_any_base64_and_whitespace() {
        let text = format!(
            "  k2:{} ,\n k1 : {}\t, k0:{}",
            URL_SAFE_NO_PAD.encode([0xFB; 32]),
            URL_SAFE.encode([0xFF; 32]),
            STANDARD.encode([0xFE; 32]).trim_end_matches('='),
        );
        let ring = KeyRing::parse(&text).unwrap();
        assert_eq!(ring.ids().collect::<Vec<_>>(), ["k2", "k1", "k0"]);
        assert_eq!(ring.current().id, "k2");
        assert_eq!(ring.current().key, [0xFB; 32]);
        assert_eq!(ring.keys[1].key, [0xFF; 32]);
        assert_eq!(ring.keys[2].key, [0xFE; 32]);
    }

    #[test]
    fn accepts_ids_of_every_allowed_character_up_to_16() {
        let ring = ring_of(&[("Az09_-", NEW), ("abcdefghijklmnop", OLD)]);
        assert_eq!(ring.ids().count(), 2);
    }

    #[test]
    fn rejects_empty_text() {
        assert_eq!(KeyRing::parse("").unwrap_err(), SealError::NoKeys);
        assert_eq!(KeyRing::parse(" \n ").unwrap_err(), SealError::NoKeys);
    }

    #[test]
    fn rejects_empty_entry_with_its_position() {
        let text = format!("{},,{}", entry("a", &NEW), entry("b", &OLD));
        assert_eq!(
            KeyRing::parse(&text).unwrap_err(),
            SealError::EmptyEntry { position: 2 }
        );
        let trailing = format!("{},", entry("a", &NEW));
        assert_eq!(
            KeyRing::parse(&trailing).unwrap_err(),
            SealError::EmptyEntry { position: 2 }
        );
    }

    #[test]
    fn rejects_missing_colon_without_echoing_the_entry() {
        let key = STANDARD.encode(NEW);
        let error = KeyRing::parse(&key).unwrap_err();
        assert_eq!(error, SealError::MissingColon { position: 1 });
        assert!(!error.to_string().contains(&key));
    }

    #[test]
    fn rejects_bad_key_ids_by_position() {
        let key = STANDARD.encode(NEW);
        for id in ["", "has space", "dot.ted", "seventeen-chars-x", "ünï"] {
            let text = format!("{},{id}:{key}", entry("ok", &OLD));
            assert_eq!(
                KeyRing::parse(&text).unwrap_err(),
                SealError::BadKeyId { position: 2 },
                "{id:?}"
            );
        }
    }

    #[test]
    fn rejects_bad_base64_naming_the_id() {
        for key in ["not base64!", "AAAA====AAAA", "+/-_AAAA"] {
            let error = KeyRing::parse(&format!("k1:{key}")).unwrap_err();
            assert_eq!(error, SealError::BadKeyBase64 { id: "k1".into() }, "{key}");
            assert!(!error.to_string().contains(key));
        }
    }

    #[test]
    fn rejects_wrong_key_lengths_naming_the_id() {
        for len in [0, 16, 31, 33, 64] {
            let error = KeyRing::parse(&entry("k1", &vec![7u8; len])).unwrap_err();
            assert_eq!(
                error,
                SealError::WrongKeyLength {
                    id: "k1".into(),
                    len
                }
            );
        }
    }

    #[test]
    fn rejects_duplicate_ids() {
        let text = format!("{},{}", entry("k1", &NEW), entry("k1", &OLD));
        assert_eq!(
            KeyRing::parse(&text).unwrap_err(),
            SealError::DuplicateKeyId { id: "k1".into() }
        );
    }

    // --- sealing and opening ---

    #[test]
    fn round_trips_under_the_current_key() {
        let ring = rotated();
        let sealed = ring.seal(SECRET, &ctx(), NONCE_A);
        assert!(sealed.starts_with("v1.new."), "{sealed}");
        assert!(!sealed.contains("super-secret"));
        assert!(!sealed.contains(&URL_SAFE_NO_PAD.encode(SECRET)));
        let opened = ring.open(&sealed, &ctx()).unwrap();
        assert_eq!(opened.as_bytes(), SECRET);
        assert_eq!(opened.key_id, "new");
        assert!(!opened.needs_reseal);
        assert_eq!(opened.into_string().unwrap(), "xoxb-super-secret-token");
    }

    #[test]
    fn round_trips_an_empty_value() {
        let ring = rotated();
        let sealed = ring.seal(b"", &ctx(), NONCE_A);
        assert_eq!(payload_of(&sealed).len(), NONCE_LEN + TAG_LEN);
        assert!(ring.open(&sealed, &ctx()).unwrap().into_bytes().is_empty());
    }

    #[test]
    fn different_nonces_give_different_texts() {
        let ring = rotated();
        let a = ring.seal(SECRET, &ctx(), NONCE_A);
        let b = ring.seal(SECRET, &ctx(), NONCE_B);
        assert_ne!(a, b);
        assert_eq!(ring.open(&b, &ctx()).unwrap().as_bytes(), SECRET);
    }

    #[test]
    fn another_table_row_or_purpose_does_not_open() {
        let ring = rotated();
        let sealed = ring.seal(SECRET, &ctx(), NONCE_A);
        let others = [
            context("installations", "sec_1", "app_profiles/ap_1/bot_token"),
            context("secrets", "sec_2", "app_profiles/ap_1/bot_token"),
            context("secrets", "sec_1", "app_profiles/ap_1/signing_secret"),
        ];
        for other in others {
            let error = ring.open(&sealed, &other).unwrap_err();
            assert_eq!(error, SealError::Unauthentic, "{other:?}");
        }
    }

    #[test]
    fn a_value_copied_to_another_row_does_not_open() {
        let ring = rotated();
        let row_a = context("secrets", "sec_a", "installations/in_1/token");
        let row_b = context("secrets", "sec_b", "installations/in_2/token");
        let sealed_a = ring.seal(SECRET, &row_a, NONCE_A);
        let sealed_b = ring.seal(b"other", &row_b, NONCE_B);
        assert_eq!(ring.open(&sealed_b, &row_b).unwrap().as_bytes(), b"other");
        assert_eq!(
            ring.open(&sealed_a, &row_b).unwrap_err(),
            SealError::Unauthentic
        );
    }

    #[test]
    fn fields_are_length_prefixed() {
        assert_ne!(
            context("ab", "c", "p").aad("k"),
            context("a", "bc", "p").aad("k")
        );
        let ring = rotated();
        let sealed = ring.seal(SECRET, &context("ab", "c", "p"), NONCE_A);
        assert_eq!(
            ring.open(&sealed, &context("a", "bc", "p")).unwrap_err(),
            SealError::Unauthentic
        );
    }

    #[test]
    fn aad_layout_is_prefix_then_length_prefixed_fields() {
        let mut expected = b"channel-edge/seal/v1".to_vec();
        for field in ["t", "row", "", "v1", "k1"] {
            expected.extend_from_slice(&(field.len() as u32).to_be_bytes());
            expected.extend_from_slice(field.as_bytes());
        }
        assert_eq!(context("t", "row", "").aad("k1"), expected);
    }

    #[test]
    fn flipping_any_bit_of_the_payload_fails() {
        let ring = rotated();
        let sealed = ring.seal(SECRET, &ctx(), NONCE_A);
        let payload = payload_of(&sealed);
        for index in 0..payload.len() {
            for bit in 0..8 {
                let mut tampered = payload.clone();
                tampered[index] ^= 1 << bit;
                let error = ring
                    .open(&with_payload(&sealed, &tampered), &ctx())
                    .unwrap_err();
                assert_eq!(error, SealError::Unauthentic, "byte {index} bit {bit}");
            }
        }
    }

    #[test]
    fn relabelling_to_another_key_id_fails() {
        let ring = rotated();
        let sealed = ring.seal(SECRET, &ctx(), NONCE_A);
        let relabelled = sealed.replacen("v1.new.", "v1.old.", 1);
        assert_eq!(
            ring.open(&relabelled, &ctx()).unwrap_err(),
            SealError::Unauthentic
        );
        // Same key bytes under two ids: only the id in the associated data stops it.
        let twins = ring_of(&[("a", NEW), ("b", NEW)]);
        let sealed = twins.seal(SECRET, &ctx(), NONCE_A);
        let relabelled = sealed.replacen("v1.a.", "v1.b.", 1);
        assert_eq!(
            twins.open(&relabelled, &ctx()).unwrap_err(),
            SealError::Unauthentic
        );
    }

    #[test]
    fn a_different_key_with_the_same_id_fails() {
        let sealed = ring_of(&[("k", NEW)]).seal(SECRET, &ctx(), NONCE_A);
        assert_eq!(
            ring_of(&[("k", OLD)]).open(&sealed, &ctx()).unwrap_err(),
            SealError::Unauthentic
        );
    }

    // --- rotation ---

    #[test]
    fn rotation_opens_old_values_and_reseals_them_under_the_new_key() {
        let old_only = ring_of(&[("old", OLD)]);
        let sealed = old_only.seal(SECRET, &ctx(), NONCE_A);
        let rotated = rotated();
        let opened = rotated.open(&sealed, &ctx()).unwrap();
        assert_eq!(opened.as_bytes(), SECRET);
        assert_eq!(opened.key_id, "old");
        assert!(opened.needs_reseal);

        let resealed = rotated.reseal(&sealed, &ctx(), NONCE_B).unwrap().unwrap();
        assert!(resealed.starts_with("v1.new."));
        let new_only = ring_of(&[("new", NEW)]);
        let opened = new_only.open(&resealed, &ctx()).unwrap();
        assert_eq!(opened.as_bytes(), SECRET);
        assert!(!opened.needs_reseal);
        assert_eq!(rotated.reseal(&resealed, &ctx(), NONCE_A).unwrap(), None);

        assert_eq!(
            new_only.open(&sealed, &ctx()).unwrap_err(),
            SealError::UnknownKey { id: "old".into() }
        );
    }

    #[test]
    fn reseal_checks_the_context() {
        let sealed = ring_of(&[("old", OLD)]).seal(SECRET, &ctx(), NONCE_A);
        let other = context("secrets", "sec_2", "app_profiles/ap_1/bot_token");
        assert_eq!(
            rotated().reseal(&sealed, &other, NONCE_B).unwrap_err(),
            SealError::Unauthentic
        );
    }

    // --- malformed values ---

    #[test]
    fn rejects_wrong_number_of_parts() {
        let ring = rotated();
        let sealed = ring.seal(SECRET, &ctx(), NONCE_A);
        let extra = format!("{sealed}.extra");
        for text in ["", "plaintext", "v1.new", "a.b.c.d", extra.as_str()] {
            let error = ring.open(text, &ctx()).unwrap_err();
            assert_eq!(error, SealError::MalformedParts, "{text:?}");
        }
    }

    #[test]
    fn rejects_unknown_versions() {
        let ring = rotated();
        let sealed = ring.seal(SECRET, &ctx(), NONCE_A);
        for version in ["v2", "V1", "", "v1 "] {
            let text = sealed.replacen("v1.", &format!("{version}."), 1);
            let error = ring.open(&text, &ctx()).unwrap_err();
            assert_eq!(error, SealError::UnknownVersion, "{version:?}");
        }
    }

    #[test]
    fn rejects_invalid_key_ids_in_values() {
        let ring = rotated();
        let sealed = ring.seal(SECRET, &ctx(), NONCE_A);
        for id in ["", "n w", "seventeen-chars-x", "k:1"] {
            let text = sealed.replacen(".new.", &format!(".{id}."), 1);
            let error = ring.open(&text, &ctx()).unwrap_err();
            assert_eq!(error, SealError::MalformedKeyId, "{id:?}");
        }
    }

    #[test]
    fn rejects_bad_base64_payloads() {
        let ring = rotated();
        let sealed = ring.seal(SECRET, &ctx(), NONCE_A);
        let padded = format!("{sealed}=");
        for text in [padded.as_str(), "v1.new.ab+/cd", "v1.new.not base64!"] {
            let error = ring.open(text, &ctx()).unwrap_err();
            assert_eq!(error, SealError::MalformedBase64, "{text:?}");
        }
    }

    #[test]
    fn rejects_payloads_too_short_for_nonce_and_tag() {
        let ring = rotated();
        for len in [0, NONCE_LEN, NONCE_LEN + TAG_LEN - 1] {
            let text = format!("v1.new.{}", URL_SAFE_NO_PAD.encode(vec![0u8; len]));
            assert_eq!(ring.open(&text, &ctx()).unwrap_err(), SealError::TooShort);
        }
    }

    #[test]
    fn rejects_unknown_key_ids_naming_the_id() {
        let ring = rotated();
        let sealed = ring.seal(SECRET, &ctx(), NONCE_A);
        let text = sealed.replacen("v1.new.", "v1.gone.", 1);
        let error = ring.open(&text, &ctx()).unwrap_err();
        assert_eq!(error, SealError::UnknownKey { id: "gone".into() });
        assert!(error.to_string().contains("`gone`"));
    }

    #[test]
    fn into_string_rejects_non_utf8() {
        let ring = rotated();
        let sealed = ring.seal(&[0xFF, 0xFE], &ctx(), NONCE_A);
        let opened = ring.open(&sealed, &ctx()).unwrap();
        assert_eq!(opened.into_string().unwrap_err(), SealError::NotUtf8);
    }

    // --- derivation ---

    fn hkdf(key: &[u8], info: &[u8]) -> [u8; 32] {
        let mut okm = [0u8; 32];
        Hkdf::<Sha256>::new(None, key)
            .expand(info, &mut okm)
            .unwrap();
        okm
    }

    #[test]
    fn derive_is_hkdf_sha256_without_salt() {
        let ring = rotated();
        let info = b"channel-edge/install-token/v1";
        assert_eq!(ring.derive("new", info).unwrap(), hkdf(&NEW, info));
        assert_eq!(ring.derive("old", info).unwrap(), hkdf(&OLD, info));
        assert_eq!(ring.derive_current(info), ("new", hkdf(&NEW, info)));
    }

    #[test]
    fn derive_is_deterministic_and_separated_by_label_and_key() {
        let ring = rotated();
        let a = ring.derive("new", b"label-a").unwrap();
        assert_eq!(a, ring.derive("new", b"label-a").unwrap());
        assert_ne!(a, ring.derive("new", b"label-b").unwrap());
        assert_ne!(a, ring.derive("old", b"label-a").unwrap());
        assert_ne!(a, NEW);
    }

    #[test]
    fn sealing_key_is_the_seal_label_sub_key() {
        let ring = rotated();
        let sealed = ring.seal(SECRET, &ctx(), NONCE_A);
        let payload = payload_of(&sealed);
        let cipher = Aes256Gcm::new(&hkdf(&NEW, SEAL_KEY_INFO).into());
        let aad = ctx().aad("new");
        let plaintext = cipher
            .decrypt(
                &Nonce::from(*payload.first_chunk::<NONCE_LEN>().unwrap()),
                Payload {
                    msg: &payload[NONCE_LEN..],
                    aad: &aad,
                },
            )
            .unwrap();
        assert_eq!(plaintext, SECRET);
    }

    #[test]
    fn derive_with_an_unknown_id_fails() {
        assert_eq!(
            rotated().derive("gone", b"x").unwrap_err(),
            SealError::UnknownKey { id: "gone".into() }
        );
    }

    #[test]
    fn hkdf_matches_rfc_5869_test_case_3() {
        let mut okm = [0u8; 42];
        Hkdf::<Sha256>::new(None, &[0x0b; 22])
            .expand(&[], &mut okm)
            .unwrap();
        let hex: String = okm.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d\
             9d201395faa4b61a96c8"
        );
    }

    // --- redaction ---

    fn assert_no_key(text: &str, key: &[u8; 32]) {
        assert!(!text.contains(&format!("{}", key[0])), "{text}");
        assert!(!text.contains(&format!("{:x}", key[0])), "{text}");
        assert!(!text.contains(&STANDARD.encode(key)), "{text}");
    }

    #[test]
    fn debug_never_prints_keys_or_plaintext() {
        let ring = rotated();
        let key = format!("{:?}", ring.current());
        assert!(key.contains("new"), "{key}");
        assert_no_key(&key, &NEW);
        let ring_text = format!("{ring:?} {ring:#?}");
        assert!(ring_text.contains("old"), "{ring_text}");
        assert_no_key(&ring_text, &NEW);
        assert_no_key(&ring_text, &OLD);

        let opened = ring
            .open(&ring.seal(SECRET, &ctx(), NONCE_A), &ctx())
            .unwrap();
        let opened_text = format!("{opened:?} {opened:#?}");
        assert!(opened_text.contains("redacted"), "{opened_text}");
        assert!(!opened_text.contains("secret"), "{opened_text}");
        assert!(
            !opened_text.contains(&format!("{}", SECRET[0])),
            "{opened_text}"
        );
    }

    #[test]
    fn error_messages_name_no_key_material() {
        let key = STANDARD.encode(NEW);
        let errors = [
            KeyRing::parse(&format!("{key}:{key}")).unwrap_err(),
            KeyRing::parse(&format!("k1:{key}x")).unwrap_err(),
            KeyRing::parse(&format!("k1:{}", &key[..20])).unwrap_err(),
        ];
        for error in errors {
            let text = error.to_string();
            assert!(!text.contains(&key[..8]), "{text}");
        }
    }
}
