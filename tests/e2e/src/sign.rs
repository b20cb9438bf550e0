//! Signing requests the way each provider does, so tests can play the provider.

use base64::{engine::general_purpose::STANDARD, Engine};
use ed25519_dalek::{Signer, SigningKey};
use hmac::{Hmac, Mac};
use sha2::Sha256;

fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Slack: `X-Slack-Signature` for `body` sent at `timestamp`.
pub fn slack(secret: &str, timestamp: u64, body: &[u8]) -> String {
    let mut message = format!("v0:{timestamp}:").into_bytes();
    message.extend_from_slice(body);
    format!("v0={}", hex(&hmac_sha256(secret.as_bytes(), &message)))
}

/// WhatsApp (Meta): `X-Hub-Signature-256` for `body`.
pub fn meta(app_secret: &str, body: &[u8]) -> String {
    format!("sha256={}", hex(&hmac_sha256(app_secret.as_bytes(), body)))
}

/// Discord: `X-Signature-Ed25519` for `body` sent at `timestamp`, by the key with `seed_hex`.
pub fn discord(seed_hex: &str, timestamp: u64, body: &[u8]) -> String {
    let seed: Vec<u8> = (0..seed_hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&seed_hex[i..i + 2], 16).expect("hex seed"))
        .collect();
    let key = SigningKey::from_bytes(&seed.try_into().expect("a 32-byte seed"));
    let mut message = timestamp.to_string().into_bytes();
    message.extend_from_slice(body);
    hex(&key.sign(&message).to_bytes())
}

/// Standard Webhooks: `webhook-signature` for `body` with `id` at `timestamp`.
pub fn standard(secret: &str, id: &str, timestamp: u64, body: &[u8]) -> String {
    let key = STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .expect("a whsec_ secret");
    let mut message = format!("{id}.{timestamp}.").into_bytes();
    message.extend_from_slice(body);
    format!("v1,{}", STANDARD.encode(hmac_sha256(&key, &message)))
}
