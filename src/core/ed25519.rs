//! Ed25519 signature checks, described by the core and performed by the platform: the Worker
//! asks WebCrypto (`crypto.subtle.verify`, asynchronous, no curve arithmetic in the Wasm), native
//! builds (the CLI, the tests) ask `ed25519-dalek` ([`verify_natively`]).
//!
//! # What's in scope
//! - [`Check`]: a public key, a message and a signature to check: what admin JWTs
//!   ([`crate::core::auth::signature_check`]) and Discord's webhooks
//!   ([`crate::core::ingress::discord::checks`]) need checked.
//! - [`is_weak_key`]: the small-order public keys (and their non-canonical encodings) that
//!   would verify forged signatures; they are refused wherever a key is accepted, since
//!   WebCrypto (unlike `verify_strict`) does not refuse them itself.
//!
//! # What's out of scope
//! Calling WebCrypto (`edge::crypto`), keys' text forms (base64url, hex: their callers).

/// One signature to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// The public key.
    pub key: [u8; 32],
    /// The signed bytes.
    pub message: Vec<u8>,
    /// The signature.
    pub signature: [u8; 64],
}

/// The encodings of the small-order points of Curve25519 (libsodium's blocklist,
/// `crypto_sign_ed25519` `has_small_order`), compared without the sign bit of the last byte.
const SMALL_ORDER: [[u8; 32]; 7] = [
    // 0 (order 4)
    [0; 32],
    // 1 (order 1)
    [
        1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0,
    ],
    // 2707385501144840649318225287225658788936804267575313519463743609750303402022 (order 8)
    [
        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98,
        0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53,
        0xfc, 0x05,
    ],
    // 55188659117513257062467267217118295137698188065244968500265048394206261417927 (order 8)
    [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67,
        0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac,
        0x03, 0x7a,
    ],
    // p-1 (order 2)
    [
        0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
    // p (=0, order 4), non-canonical
    [
        0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
    // p+1 (=1, order 1), non-canonical
    [
        0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
];

/// Whether `key` encodes a point of small order (ignoring the sign bit): such a key accepts
/// forged signatures.
pub fn is_weak_key(key: &[u8; 32]) -> bool {
    SMALL_ORDER
        .iter()
        .any(|weak| weak[..31] == key[..31] && weak[31] == key[31] & 0x7f)
}

/// Checks `check` with `ed25519-dalek` (`verify_strict`): the CLI's and the native tests' way.
#[cfg(not(target_arch = "wasm32"))]
pub fn verify_natively(check: &Check) -> bool {
    use ed25519_dalek::{Signature, VerifyingKey};
    let Ok(key) = VerifyingKey::from_bytes(&check.key) else {
        return false;
    };
    key.verify_strict(&check.message, &Signature::from_bytes(&check.signature))
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    fn check(seed: u8, message: &[u8]) -> Check {
        let key = SigningKey::from_bytes(&[seed; 32]);
        Check {
            key: key.verifying_key().to_bytes(),
            message: message.to_vec(),
            signature: key.sign(message).to_bytes(),
        }
    }

    #[test]
    fn a_signature_verifies_for_its_key_and_message_only() {
        let good = check(7, b"hello");
        assert!(verify_natively(&good));
        let other_message = Check {
            message: b"hellO".to_vec(),
            ..good.clone()
        };
        assert!(!verify_natively(&other_message));
        let other_key = Check {
            key: check(8, b"hello").key,
            ..good
        };
        assert!(!verify_natively(&other_key));
    }

    #[test]
    fn small_order_keys_are_weak_with_either_sign_bit_and_real_keys_are_not() {
        for weak in SMALL_ORDER {
            assert!(is_weak_key(&weak));
            let mut signed = weak;
            signed[31] |= 0x80;
            assert!(is_weak_key(&signed));
            // dalek agrees: each is of small order (or not a canonical point at all).
            let point = ed25519_dalek::VerifyingKey::from_bytes(&weak);
            assert!(point.map_or(true, |key| key.is_weak()), "{weak:?}");
        }
        assert!(!is_weak_key(&check(7, b"").key));
        assert!(!is_weak_key(&check(8, b"").key));
    }

    #[test]
    fn a_weak_key_accepts_a_forged_signature_natively_refused_by_strict_checks() {
        // The identity point with R = identity and s = 0 "verifies" any message under plain
        // Ed25519; verify_strict refuses it, and so does every caller through is_weak_key.
        let mut signature = [0u8; 64];
        signature[0] = 1;
        let forged = Check {
            key: SMALL_ORDER[1],
            message: b"anything".to_vec(),
            signature,
        };
        assert!(!verify_natively(&forged));
        assert!(is_weak_key(&forged.key));
    }
}
