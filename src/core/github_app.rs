//! Answering as a GitHub App: the RS256 JWT that asks GitHub for an installation access token,
//! and what GitHub answers. The signature itself is the platform's (WebCrypto's
//! `RSASSA-PKCS1-v1_5` in the Worker: no RSA code in the Wasm).
//!
//! Sources: "Generating a JSON Web Token (JWT) for a GitHub App" and "Generating an installation
//! access token for a GitHub App" (<https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app>).
//!
//! # What's in scope
//! - [`pkcs8_der`]: the App's private key as GitHub hands it out (PEM, PKCS#1 `RSA PRIVATE
//!   KEY`) or as PKCS#8 (`PRIVATE KEY`), as the PKCS#8 DER WebCrypto imports.
//! - [`jwt_signing_input`] and [`jwt`]: `{"alg":"RS256","typ":"JWT"}` with `iat` a minute in
//!   the past (clock drift), `exp` nine minutes ahead (GitHub allows ten) and `iss` the App's id.
//! - [`token_request_path`] and [`read_token`]: `POST /app/installations/{id}/access_tokens`
//!   and its answer (`token`, `expires_at`), refreshed five minutes before it ends
//!   ([`REFRESH_BEFORE_SECONDS`]).
//!
//! # What's out of scope
//! Signing, HTTP and caching (the edge), the clock (`now` is an argument).

use crate::core::json;
use crate::core::rfc3339;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Value};

/// A token is replaced this long before GitHub's `expires_at`.
pub const REFRESH_BEFORE_SECONDS: u64 = 300;

/// The DER prefix of an `rsaEncryption` PKCS#8 key: version 0 and the algorithm identifier
/// (OID 1.2.840.113549.1.1.1, NULL parameters).
const RSA_PKCS8_PREFIX: [u8; 18] = [
    0x02, 0x01, 0x00, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
    0x05, 0x00,
];

/// Why an App cannot get an installation token. No variant holds key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    /// The private key is not a PEM RSA key.
    #[error("the app profile's private_key is not a PEM RSA private key (BEGIN RSA PRIVATE KEY or BEGIN PRIVATE KEY)")]
    BadPrivateKey,
    /// GitHub's answer holds no usable token.
    #[error("GitHub answered without an installation token")]
    NoToken,
}

/// The App's private key (`pem`) as PKCS#8 DER.
pub fn pkcs8_der(pem: &str) -> Result<Vec<u8>, AppError> {
    let (label, der) = pem_body(pem).ok_or(AppError::BadPrivateKey)?;
    match label {
        "PRIVATE KEY" => Ok(der),
        "RSA PRIVATE KEY" => {
            let mut content = RSA_PKCS8_PREFIX.to_vec();
            content.push(0x04);
            content.extend(der_length(der.len()));
            content.extend(der);
            let mut wrapped = vec![0x30];
            wrapped.extend(der_length(content.len()));
            wrapped.extend(content);
            Ok(wrapped)
        }
        _ => Err(AppError::BadPrivateKey),
    }
}

/// The label and decoded body of the first PEM block in `pem`.
fn pem_body(pem: &str) -> Option<(&str, Vec<u8>)> {
    let begin = pem.find("-----BEGIN ")?;
    let rest = pem.get(begin + 11..)?;
    let (label, rest) = rest.split_once("-----")?;
    let end = format!("-----END {label}-----");
    let (body, _) = rest.split_once(end.as_str())?;
    let base64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    let der = STANDARD.decode(base64).ok().filter(|der| !der.is_empty())?;
    Some((label, der))
}

/// A DER length.
fn der_length(length: usize) -> Vec<u8> {
    let bytes = length.to_be_bytes();
    let significant: Vec<u8> = bytes.into_iter().skip_while(|b| *b == 0).collect();
    if length < 0x80 {
        vec![length as u8]
    } else {
        let mut encoded = vec![0x80 | significant.len() as u8];
        encoded.extend(significant);
        encoded
    }
}

/// The JWT's signed part (`header.claims`, base64url) for App `app_id` at `now`.
pub fn jwt_signing_input(app_id: &str, now: u64) -> String {
    let header = json!({"alg": "RS256", "typ": "JWT"});
    let claims = json!({"iat": now.saturating_sub(60), "exp": now + 540, "iss": app_id});
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// The JWT: `signing_input` and its RS256 `signature`.
pub fn jwt(signing_input: &str, signature: &[u8]) -> String {
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// Where an installation token of `installation_id` (digits only: it goes into the path) is
/// asked for; `None` for an id that is not.
pub fn token_request_path(installation_id: &str) -> Option<String> {
    let digits = !installation_id.is_empty() && installation_id.bytes().all(|b| b.is_ascii_digit());
    digits.then(|| format!("app/installations/{installation_id}/access_tokens"))
}

/// The token in GitHub's answer and until when to use it (Unix seconds: its `expires_at` less
/// [`REFRESH_BEFORE_SECONDS`]; an hour from `now` if GitHub gave no readable time).
pub fn read_token(answer: &Value, now: u64) -> Result<(String, u64), AppError> {
    let token = json::text(answer, "/token")
        .filter(|token| !token.is_empty())
        .ok_or(AppError::NoToken)?;
    let expires_at = json::text(answer, "/expires_at")
        .and_then(rfc3339::unix_seconds)
        .unwrap_or(now + 3600);
    Ok((
        token.to_owned(),
        expires_at.saturating_sub(REFRESH_BEFORE_SECONDS),
    ))
}

#[cfg(test)]
#[path = "github_app_test.rs"]
mod tests;
