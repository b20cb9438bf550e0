//! Signing webhook requests the way each provider does, for the callers that play the provider:
//! the admin CLI's `webhook` command, the end-to-end suite and the load tools. Native only; the
//! worker verifies and never signs as a provider.
//!
//! # What's in scope
//! - One signer per provider, each the counterpart of its verifier and built from the same
//!   pieces (MAC, signed message, header names): [`slack`] (`v0=` HMAC over
//!   `v0:{timestamp}:{body}`), [`whatsapp`] (`sha256=` HMAC over the body), [`discord`] (Ed25519
//!   over `{timestamp}{body}` from a 32-byte seed) and [`standard`] (`v1,` HMAC over
//!   `{id}.{timestamp}.{body}`), [`line`] (base64 HMAC over the body); Telegram signs nothing and sends its secret token as it is.
//! - [`headers`]: the authentication headers a provider sends with a body (signature, signed
//!   timestamp, Standard Webhooks' message id), by [`Provider`].
//!
//! # What's out of scope
//! Building payloads and sending them (the CLI's), `Content-Type`, the clock (`timestamp` is an
//! argument), WhatsApp's `GET` subscription handshake (a query, not a signature).

use super::{
    discord, github, google_chat, line, linear, meta, slack, standard, teams, telegram, twilio,
};
use crate::core::jwt::AUTHORIZATION;
use crate::core::mac::hex;
use crate::core::tenancy::Provider;
use base64::Engine;
use ed25519_dalek::{Signer, SigningKey};
use hmac::Mac;

/// Why a request cannot be signed: the secret is not of the provider's form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// A Discord signing key that is not 64 hex digits.
    #[error("a Discord signing key is a 32-byte Ed25519 seed written as 64 hex digits")]
    DiscordSeed,
    /// A Standard Webhooks secret that does not decode to a key.
    #[error("a Standard Webhooks secret is `whsec_` followed by the base64 of a non-empty key")]
    StandardSecret,
    /// Email is not a webhook.
    #[error("email is not a webhook: hand a message to the Worker's email handler (wrangler dev: POST /cdn-cgi/handler/email?from=…&to=…; README, \"Email\")")]
    NotAWebhook,
    /// A Teams or Google Chat signing key that is not a PEM RSA private key.
    #[error("a Teams or Google Chat signing key is a PEM RSA private key (PKCS#8 or PKCS#1), such as seed/DEV-ONLY-jwt-signing-key.pem")]
    RsaKey,
}

/// When a request is signed and, for Standard Webhooks, its message id (`webhook-id`; the
/// other providers carry their event id in the body), and the URL it is sent to (Twilio signs
/// it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp<'a> {
    /// Unix seconds.
    pub timestamp: u64,
    /// The Standard Webhooks message id.
    pub message_id: &'a str,
    /// The URL as the provider calls it (only Twilio's signature covers it).
    pub url: &'a str,
}

/// The authentication headers `provider` sends with `body`, signed with `secret` (Slack's
/// signing secret, Telegram's secret token, WhatsApp's app secret, Discord's Ed25519 seed in
/// hex, a Standard Webhooks `whsec_` secret), as (name, value) pairs.
pub fn headers(
    provider: Provider,
    secret: &str,
    stamp: Stamp<'_>,
    body: &[u8],
) -> Result<Vec<(String, String)>, SignError> {
    let headers = provider_headers(provider, secret, stamp, body)?;
    Ok(headers
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect())
}

fn provider_headers(
    provider: Provider,
    secret: &str,
    stamp: Stamp<'_>,
    body: &[u8],
) -> Result<Vec<(&'static str, String)>, SignError> {
    let timestamp = stamp.timestamp.to_string();
    Ok(match provider {
        Provider::Slack => vec![
            (slack::TIMESTAMP, timestamp),
            (slack::SIGNATURE, self::slack(secret, stamp.timestamp, body)),
        ],
        Provider::Telegram => vec![(telegram::SECRET_TOKEN, secret.to_owned())],
        Provider::Whatsapp | Provider::Messenger | Provider::Instagram => {
            vec![(meta::SIGNATURE, self::whatsapp(secret, body))]
        }
        Provider::Discord => vec![
            (
                discord::SIGNATURE,
                self::discord(secret, stamp.timestamp, body)?,
            ),
            (discord::TIMESTAMP, timestamp),
        ],
        Provider::Standard => vec![
            (standard::ID, stamp.message_id.to_owned()),
            (standard::TIMESTAMP, timestamp),
            (
                standard::SIGNATURE,
                self::standard(secret, stamp.message_id, stamp.timestamp, body)?,
            ),
        ],
        Provider::Line => vec![(line::SIGNATURE, self::line(secret, body))],
        // The message id is the event id, `<hook id>:<delivery id>`; an issue comment.
        Provider::Github => {
            let (hook, delivery) = stamp
                .message_id
                .split_once(':')
                .unwrap_or((super::sample::GITHUB_HOOK, stamp.message_id));
            vec![
                (github::EVENT, "issue_comment".to_owned()),
                (github::HOOK, hook.to_owned()),
                (github::DELIVERY, delivery.to_owned()),
                (meta::SIGNATURE, self::whatsapp(secret, body)),
            ]
        }
        Provider::Twilio => vec![(twilio::SIGNATURE, self::twilio(secret, stamp.url, body))],
        Provider::Linear => vec![
            (linear::DELIVERY, stamp.message_id.to_owned()),
            (linear::SIGNATURE, self::linear(secret, body)),
        ],
        Provider::Email => return Err(SignError::NotAWebhook),
        Provider::Teams => vec![(
            AUTHORIZATION,
            bearer(&teams_claims(stamp.timestamp, body), secret)?,
        )],
        Provider::GoogleChat => {
            let claims =
                google_chat_claims(super::sample::dev::GOOGLE_CHAT_PROJECT, stamp.timestamp);
            vec![(AUTHORIZATION, bearer(&claims, secret)?)]
        }
    })
}

/// `Bearer <JWT>` of `claims`, signed by the dev key set's key `pem`.
fn bearer(claims: &serde_json::Value, pem: &str) -> Result<String, SignError> {
    let token = rs256_jwt(pem, super::sample::dev::JWT_KEY_ID, claims)?;
    Ok(format!("Bearer {token}"))
}

/// The claims of the Bot Connector's token for the activity `body` at `now`: the app id from
/// its recipient (`28:<app id>`), its `serviceUrl`.
pub fn teams_claims(now: u64, body: &[u8]) -> serde_json::Value {
    let activity: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let recipient = crate::core::json::text(&activity, "/recipient/id").unwrap_or_default();
    serde_json::json!({
        "iss": teams::ISSUER,
        "aud": recipient.strip_prefix("28:").unwrap_or(recipient),
        "serviceurl": crate::core::json::at(&activity, "/serviceUrl"),
        "nbf": now.saturating_sub(60), "exp": now + 3600, "iat": now,
    })
}

/// The claims of Google Chat's own token for the project number `audience` at `now`.
pub fn google_chat_claims(audience: &str, now: u64) -> serde_json::Value {
    serde_json::json!({
        "iss": google_chat::CHAT_ISSUER, "aud": audience,
        "iat": now, "exp": now + 3600,
    })
}

/// A compact RS256 JWT of `claims` with key id `kid`, signed by the PEM private key `pem`.
pub fn rs256_jwt(pem: &str, kid: &str, claims: &serde_json::Value) -> Result<String, SignError> {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::signature::{SignatureEncoding, Signer as _};
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(pem.trim())
        .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(pem.trim()))
        .map_err(|_| SignError::RsaKey)?;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": kid});
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key);
    let signature = signer.sign(input.as_bytes()).to_vec();
    Ok(format!("{input}.{}", b64(&signature)))
}

/// Slack: the `X-Slack-Signature` of `body` sent at `timestamp`.
pub fn slack(secret: &str, timestamp: u64, body: &[u8]) -> String {
    let tag = slack::mac(secret, &timestamp.to_string(), body).finalize();
    format!("v0={}", hex(&tag.into_bytes()))
}

/// Meta (WhatsApp, Messenger, Instagram): the `X-Hub-Signature-256` of `body`.
pub fn whatsapp(app_secret: &str, body: &[u8]) -> String {
    let tag = meta::mac(app_secret, body).finalize();
    format!("sha256={}", hex(&tag.into_bytes()))
}

/// LINE: the `x-line-signature` of `body` under the channel secret.
pub fn line(channel_secret: &str, body: &[u8]) -> String {
    let tag = meta::mac(channel_secret, body).finalize();
    base64::engine::general_purpose::STANDARD.encode(tag.into_bytes())
}

/// Linear: the `Linear-Signature` of `body` (which carries its own `webhookTimestamp`).
pub fn linear(secret: &str, body: &[u8]) -> String {
    hex(&meta::mac(secret, body).finalize().into_bytes())
}

/// Twilio: the `X-Twilio-Signature` of a form (or, with `bodySHA256` in `url`, JSON) `body`
/// posted to `url`, under the auth token.
pub fn twilio(auth_token: &str, url: &str, body: &[u8]) -> String {
    let query: Vec<(String, String)> = url
        .split_once('?')
        .map(|(_, query)| {
            form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let request = super::Request {
        method: "POST",
        headers: &[],
        query: &query,
        url,
        body,
    };
    let signed = twilio::signed_text(&request).unwrap_or_default();
    let mut mac = crate::core::mac::hmac_sha1(auth_token.as_bytes());
    mac.update(signed.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Discord: the `X-Signature-Ed25519` of `body` sent at `timestamp`, by the key whose 32-byte
/// seed is `seed_hex`.
pub fn discord(seed_hex: &str, timestamp: u64, body: &[u8]) -> Result<String, SignError> {
    let seed = discord::parse_hex::<32>(seed_hex.trim()).ok_or(SignError::DiscordSeed)?;
    let message = discord::signed_message(&timestamp.to_string(), body);
    Ok(hex(&SigningKey::from_bytes(&seed)
        .sign(&message)
        .to_bytes()))
}

/// The hex public key of a Discord seed: what the app profile's `public_key` holds.
pub fn discord_public_key(seed_hex: &str) -> Result<String, SignError> {
    let seed = discord::parse_hex::<32>(seed_hex.trim()).ok_or(SignError::DiscordSeed)?;
    Ok(hex(SigningKey::from_bytes(&seed)
        .verifying_key()
        .as_bytes()))
}

/// Standard Webhooks: the `webhook-signature` of `body` sent as message `id` at `timestamp`.
pub fn standard(secret: &str, id: &str, timestamp: u64, body: &[u8]) -> Result<String, SignError> {
    standard::sign(secret, id, timestamp, body).map_err(|_| SignError::StandardSecret)
}

#[cfg(test)]
#[path = "sign_test.rs"]
mod tests;
