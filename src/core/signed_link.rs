//! Signed, expiring capabilities for links handed to browsers: the binding page's `?t=`.
//!
//! # What's in scope
//! [`sign`] and [`verify`]: `<expires_at>.<mac>`, where the MAC is HMAC-SHA256 (truncated to 16
//! bytes, base64url) over the purpose, the object id and the expiry, under the master key's HKDF
//! sub-key for [`Purpose::info`]. A capability names one object for one purpose until it
//! expires; it cannot be moved to another object, purpose or expiry.
//!
//! # What's out of scope
//! Single use (a capability can be replayed until it expires; what must be single-use, such as
//! OAuth `state`, is also recorded by its owner and struck out on first use), the clock and the
//! key ring's source.

use crate::core::mac::hmac_sha256;
use crate::core::seal::KeyRing;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Bytes of the MAC kept.
const MAC_LEN: usize = 16;

/// What a capability is for. Each purpose has its own HKDF label, so a capability for one is
/// worthless for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Viewing a binding session's page and its live status.
    BindingPage,
    /// The OAuth `state` of a binding session.
    OauthState,
}

impl Purpose {
    /// The HKDF label of its key.
    pub fn info(self) -> &'static [u8] {
        match self {
            Purpose::BindingPage => b"channel-edge/signed-link/v1/binding-page",
            Purpose::OauthState => b"channel-edge/signed-link/v1/oauth-state",
        }
    }
}

/// Why a capability is refused. One variant per cause; none names key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Not `<expires_at>.<mac>`.
    #[error("the link's capability is malformed")]
    Malformed,
    /// Past its expiry.
    #[error("the link has expired")]
    Expired,
    /// Not made by this service for this object and purpose.
    #[error("the link's capability does not authenticate")]
    BadMac,
}

/// A capability for `purpose` on `id` until `expires_at`, under the ring's current key.
pub fn sign(ring: &KeyRing, purpose: Purpose, id: &str, expires_at: u64) -> String {
    let (_, key) = ring.derive_current(purpose.info());
    let tag = mac(&key, purpose, id, expires_at).finalize().into_bytes();
    let tag: Vec<u8> = tag.iter().take(MAC_LEN).copied().collect();
    format!("{expires_at}.{}", URL_SAFE_NO_PAD.encode(tag))
}

/// Checks `capability` for `purpose` on `id` at `now` under every key of the ring (so links
/// survive a master-key rotation while the old key is in the ring). Valid while
/// `now < expires_at`. Returns the expiry.
pub fn verify(
    ring: &KeyRing,
    purpose: Purpose,
    id: &str,
    capability: &str,
    now: u64,
) -> Result<u64, LinkError> {
    let (expiry, tag) = capability.split_once('.').ok_or(LinkError::Malformed)?;
    let expires_at: u64 = expiry.parse().map_err(|_| LinkError::Malformed)?;
    let tag = URL_SAFE_NO_PAD
        .decode(tag)
        .ok()
        .filter(|tag| tag.len() == MAC_LEN)
        .ok_or(LinkError::Malformed)?;
    let authentic = ring.derive_all(purpose.info()).any(|(_, key)| {
        mac(&key, purpose, id, expires_at)
            .verify_truncated_left(&tag)
            .is_ok()
    });
    if !authentic {
        return Err(LinkError::BadMac);
    }
    if now >= expires_at {
        return Err(LinkError::Expired);
    }
    Ok(expires_at)
}

fn mac(key: &[u8; 32], purpose: Purpose, id: &str, expires_at: u64) -> Hmac<Sha256> {
    let mut mac = hmac_sha256(key);
    for part in [purpose.info(), id.as_bytes(), &expires_at.to_be_bytes()] {
        mac.update(&(part.len() as u32).to_be_bytes());
        mac.update(part);
    }
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn ring() -> KeyRing {
        KeyRing::parse("k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap()
    }

    #[test]
    fn a_capability_verifies_for_its_object_and_purpose_until_it_expires() {
        let cap = sign(&ring(), Purpose::BindingPage, "bss_1", NOW + 60);
        assert_eq!(
            verify(&ring(), Purpose::BindingPage, "bss_1", &cap, NOW),
            Ok(NOW + 60)
        );
        assert_eq!(
            verify(&ring(), Purpose::BindingPage, "bss_1", &cap, NOW + 60),
            Err(LinkError::Expired)
        );
    }

    #[test]
    fn it_cannot_be_moved_to_another_object_purpose_or_expiry() {
        let cap = sign(&ring(), Purpose::BindingPage, "bss_1", NOW + 60);
        let verify_as = |purpose, id: &str, cap: &str| verify(&ring(), purpose, id, cap, NOW);
        assert_eq!(
            verify_as(Purpose::BindingPage, "bss_2", &cap),
            Err(LinkError::BadMac)
        );
        assert_eq!(
            verify_as(Purpose::OauthState, "bss_1", &cap),
            Err(LinkError::BadMac)
        );
        let (_, tag) = cap.split_once('.').unwrap();
        let later = format!("{}.{tag}", NOW + 6000);
        assert_eq!(
            verify_as(Purpose::BindingPage, "bss_1", &later),
            Err(LinkError::BadMac)
        );
    }

    #[test]
    fn malformed_capabilities_are_refused() {
        for bad in [
            "",
            "123",
            "abc.AAAA",
            "123.!!",
            "123.AAAA",
            "-1.AAAAAAAAAAAAAAAAAAAAAA",
        ] {
            assert_eq!(
                verify(&ring(), Purpose::BindingPage, "bss_1", bad, NOW),
                Err(LinkError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn errors_name_no_key_material() {
        for error in [LinkError::Malformed, LinkError::Expired, LinkError::BadMac] {
            assert!(error.to_string().starts_with("the link"));
        }
    }
}
