//! HMAC-SHA256, HMAC-SHA1 (Twilio's) and HKDF-SHA256 that cannot fail, and hex text of their
//! outputs.
//!
//! The `hmac` crate's constructor returns a `Result` although HMAC takes a key of any length;
//! this module applies RFC 2104's own key rule (a key longer than the block is hashed first; a
//! shorter one is zero-padded) so callers never handle an impossible error. HKDF (RFC 5869) here
//! only ever produces one 32-byte block, the one length this crate derives.

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// Lower-case hex of `bytes` (digests and MACs as text).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// SHA-256's and SHA-1's block size: HMAC keys are padded (or hashed) to it.
const BLOCK: usize = 64;

/// An HMAC-SHA256 keyed with `key`, ready for `update`.
pub fn hmac_sha256(key: &[u8]) -> Hmac<Sha256> {
    <Hmac<Sha256> as KeyInit>::new(&block_key::<Sha256>(key).into())
}

/// An HMAC-SHA1 keyed with `key`, ready for `update` (Twilio's signature; nothing else).
pub fn hmac_sha1(key: &[u8]) -> Hmac<Sha1> {
    <Hmac<Sha1> as KeyInit>::new(&block_key::<Sha1>(key).into())
}

/// `key` as one block of `D` (SHA-1's and SHA-256's are both 64 bytes): hashed when longer,
/// zero-padded when shorter.
fn block_key<D: Digest>(key: &[u8]) -> [u8; BLOCK] {
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        for (slot, byte) in block.iter_mut().zip(D::digest(key)) {
            *slot = byte;
        }
    } else {
        for (slot, byte) in block.iter_mut().zip(key) {
            *slot = *byte;
        }
    }
    block
}

/// HKDF-SHA256 (RFC 5869) of `ikm` with no salt and `info`, 32 bytes out.
pub fn hkdf_sha256(ikm: &[u8], info: &[u8]) -> [u8; 32] {
    let mut extract = hmac_sha256(&[0u8; 32]);
    extract.update(ikm);
    let prk = extract.finalize().into_bytes();
    let mut expand = hmac_sha256(&prk);
    expand.update(info);
    expand.update(&[1]);
    expand.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_every_length_give_the_hmac_crates_tag() {
        for length in [0, 1, 31, 32, 63, 64, 65, 100, 200] {
            let key: Vec<u8> = (0..length).map(|n| n as u8).collect();
            let mut ours = hmac_sha256(&key);
            let mut theirs = <Hmac<Sha256> as Mac>::new_from_slice(&key).unwrap();
            ours.update(b"message");
            theirs.update(b"message");
            assert_eq!(
                ours.finalize().into_bytes(),
                theirs.finalize().into_bytes(),
                "key of {length} bytes"
            );
        }
    }

    #[test]
    fn rfc_4231_test_case_2() {
        // Key "Jefe", data "what do ya want for nothing?".
        let mut mac = hmac_sha256(b"Jefe");
        mac.update(b"what do ya want for nothing?");
        let expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        let tag: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(tag, expected);
    }

    #[test]
    fn hkdf_gives_the_hkdf_crates_output() {
        for (ikm, info) in [
            (&[0x0bu8; 22][..], &b"channel-edge/seal/v1"[..]),
            (&[7u8; 32][..], &b""[..]),
        ] {
            let mut theirs = [0u8; 32];
            hkdf::Hkdf::<Sha256>::new(None, ikm)
                .expand(info, &mut theirs)
                .unwrap();
            assert_eq!(hkdf_sha256(ikm, info), theirs);
        }
    }
}
