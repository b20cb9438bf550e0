//! Signing: key pairs, PEM key files and minting tokens, for the admin CLI and the tests.
//! Native only; the worker verifies but never signs.

use super::{AuthError, Claims, ScopeSet, AUDIENCE};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ed25519_dalek::pkcs8::DecodePrivateKey;
use ed25519_dalek::{Signer, SigningKey};

/// A new key pair from 32 random bytes: the private key as PKCS#8 PEM, the public key as
/// base64url (what `POST /v1/principals` takes).
///
/// The PEM is plain PKCS#8 v1 (RFC 5208: the private key only, `-----BEGIN PRIVATE KEY-----`
/// and nothing around it), which OpenSSL, Python's `cryptography`, Node and Go all read; the v2
/// form with the public key inside (RFC 5958) is refused by OpenSSL 3.0 and `cryptography`.
pub fn generate_key_pair(seed: [u8; 32]) -> (String, String) {
    let signing_key = SigningKey::from_bytes(&seed);
    let mut der = PKCS8_V1_PREFIX.to_vec();
    der.extend_from_slice(&seed);
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        STANDARD.encode(der)
    );
    (pem, public_key_of(&signing_key))
}

/// RFC 8410 section 7: `SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING {
/// OCTET STRING (32 bytes) } }`, all but the 32 key bytes. The whole is 48 bytes, one PEM line.
const PKCS8_V1_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// The base64url public key of a PKCS#8 PEM private key.
pub fn public_key_from_pem(pem: &str) -> Result<String, AuthError> {
    Ok(public_key_of(&signing_key_from_pem(pem)?))
}

/// Parses a PKCS#8 PEM Ed25519 private key, v1 or v2 (with the public key). Text before the
/// `-----BEGIN` line (an explanatory header some older key files carry) is ignored.
fn signing_key_from_pem(pem: &str) -> Result<SigningKey, AuthError> {
    let block = pem
        .find("-----BEGIN")
        .map(|start| &pem[start..])
        .ok_or(AuthError::BadPrivateKey)?;
    SigningKey::from_pkcs8_pem(block).map_err(|_| AuthError::BadPrivateKey)
}

fn public_key_of(signing_key: &SigningKey) -> String {
    URL_SAFE_NO_PAD.encode(signing_key.verifying_key().as_bytes())
}

/// Signs a token for `principal_id` with `scopes`, issued at `iat`, valid for `lifetime_seconds`:
/// a compact JWS with header `{"alg":"EdDSA","typ":"JWT","kid":…}`.
pub fn mint(
    private_key_pem: &str,
    principal_id: &str,
    scopes: &ScopeSet,
    iat: u64,
    lifetime_seconds: u64,
) -> Result<String, AuthError> {
    let signing_key = signing_key_from_pem(private_key_pem)?;
    let header = serde_json::json!({"alg": "EdDSA", "typ": "JWT", "kid": principal_id});
    let claims = Claims {
        iss: principal_id.to_owned(),
        aud: AUDIENCE.to_owned(),
        iat,
        exp: iat + lifetime_seconds,
        nbf: None,
        scope: scopes.to_string(),
    };
    let claims = serde_json::to_vec(&claims).map_err(|_| AuthError::Malformed)?;
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let signature = signing_key.sign(signing_input.as_bytes());
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature.to_bytes())
    ))
}
