//! Bearer JWTs signed by a platform's published keys (Microsoft Teams' Bot Connector, Google
//! Chat): decoding, the claims every scheme checks, and the key sets they are verified with. The
//! RS256 signature itself is the platform's (WebCrypto in the Worker, no RSA code in the Wasm).
//!
//! # What's in scope
//! - [`Token::from_bearer`]: `Authorization: Bearer <header>.<claims>.<signature>`, base64url
//!   without padding, whose header names `alg: RS256` (nothing else: no `none`, no HMAC that a
//!   public key could be mistaken for the secret of) and a `kid`, without `crit` extensions.
//! - [`Token::check_time`], [`Token::check_issuer`], [`Token::check_audience`] and
//!   [`Token::claim`]: `exp` (required) and `nbf` with [`CLOCK_SKEW_SECONDS`] of leeway, one of
//!   a scheme's issuers, the audience (a string or an array holding it).
//! - [`KeySet`]: the fixed, documented key-set URLs (a `[vars]` entry each, so tests point
//!   them at a stand-in; never a URL a request names), [`parse_key_set`] (RSA signing keys of a
//!   JWKS document, with Bot Framework's `endorsements`) and [`cache_seconds`] (a key set is
//!   kept as long as its `Cache-Control: max-age` says, within bounds).
//! - [`Check`]: what the platform must verify, and the key's endorsement a scheme requires.
//!
//! # What's out of scope
//! Fetching and caching key sets and the signature check (`edge::key_sets`, `edge::crypto`), the
//! schemes' own rules (`ingress::teams`, `ingress::google_chat`), the clock (`now` is an
//! argument).

use super::ingress::Rejection;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};

/// Leeway for `exp` and `nbf`, seconds (Bot Framework's documented 5 minutes of clock skew).
pub const CLOCK_SKEW_SECONDS: u64 = 300;
/// The longest `Authorization` header read, bytes.
const MAX_TOKEN_LEN: usize = 8192;
/// The most keys read from one key set.
const MAX_KEYS: usize = 64;
/// Bounds on how long a fetched key set is kept: at least a minute, at most a day (Bot
/// Framework asks for at least daily refreshes), an hour when the answer says nothing.
const MIN_CACHE_SECONDS: u64 = 60;
const MAX_CACHE_SECONDS: u64 = 24 * 3600;
const DEFAULT_CACHE_SECONDS: u64 = 3600;
/// A key unknown to a cached key set refetches it at most this often, seconds.
pub const REFETCH_AFTER_SECONDS: u64 = 60;

/// The header a bearer token arrives in.
pub const AUTHORIZATION: &str = "Authorization";

/// A key set the Worker fetches from a fixed URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeySet {
    /// The Bot Framework's signing keys (Teams' Bot Connector).
    BotFramework,
    /// Google Chat's own signing keys (`chat@system.gserviceaccount.com`).
    GoogleChat,
    /// Google's OpenID Connect keys (ID tokens).
    Google,
}

impl KeySet {
    /// Its name in D1's cache.
    pub fn name(self) -> &'static str {
        match self {
            KeySet::BotFramework => "botframework",
            KeySet::GoogleChat => "google_chat",
            KeySet::Google => "google_oidc",
        }
    }

    /// The `[vars]` entry holding its URL.
    pub fn url_var(self) -> &'static str {
        match self {
            KeySet::BotFramework => "BOTFRAMEWORK_JWKS_URL",
            KeySet::GoogleChat => "GOOGLE_CHAT_JWKS_URL",
            KeySet::Google => "GOOGLE_OIDC_JWKS_URL",
        }
    }

    /// Its documented URL, used when the `[vars]` entry is absent.
    pub fn default_url(self) -> &'static str {
        match self {
            KeySet::BotFramework => "https://login.botframework.com/v1/.well-known/keys",
            KeySet::GoogleChat => {
                "https://www.googleapis.com/service_accounts/v1/metadata/jwk/chat@system.gserviceaccount.com"
            }
            KeySet::Google => "https://www.googleapis.com/oauth2/v3/certs",
        }
    }
}

/// One RSA signing key of a key set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jwk {
    /// Its key id.
    pub kid: String,
    /// The modulus, base64url as published.
    pub n: String,
    /// The public exponent, base64url as published.
    pub e: String,
    /// The channels it may sign for (Bot Framework's `endorsements`); empty elsewhere.
    pub endorsements: Vec<String>,
}

/// The RSA signing keys of a JWKS document (`{"keys": [...]}`): keys of another type, another
/// use or another algorithm are left out. `None` when the body is not a key set.
pub fn parse_key_set(body: &str) -> Option<Vec<Jwk>> {
    let document: Value = serde_json::from_str(body).ok()?;
    let keys = document.get("keys")?.as_array()?;
    let text = |key: &Value, name: &str| key.get(name).and_then(Value::as_str).map(str::to_owned);
    let usable = |key: &&Value| {
        text(key, "kty").as_deref() == Some("RSA")
            && text(key, "use").is_none_or(|usage| usage == "sig")
            && text(key, "alg").is_none_or(|alg| alg == "RS256")
    };
    let jwk = |key: &Value| {
        let endorsements = key.get("endorsements").and_then(Value::as_array);
        Some(Jwk {
            kid: text(key, "kid")?,
            n: text(key, "n")?,
            e: text(key, "e")?,
            endorsements: endorsements
                .into_iter()
                .flatten()
                .filter_map(|e| e.as_str().map(str::to_owned))
                .collect(),
        })
    };
    Some(
        keys.iter()
            .filter(usable)
            .filter_map(jwk)
            .take(MAX_KEYS)
            .collect(),
    )
}

/// How long a key set fetched with this `Cache-Control` header is kept, seconds.
pub fn cache_seconds(cache_control: Option<&str>) -> u64 {
    let max_age = cache_control.and_then(|value| {
        value.split(',').find_map(|directive| {
            let (name, seconds) = directive.trim().split_once('=')?;
            name.eq_ignore_ascii_case("max-age")
                .then(|| seconds.trim().parse::<u64>().ok())
                .flatten()
        })
    });
    max_age
        .unwrap_or(DEFAULT_CACHE_SECONDS)
        .clamp(MIN_CACHE_SECONDS, MAX_CACHE_SECONDS)
}

/// A decoded bearer token whose signature is not yet checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// The signing key's id.
    pub kid: String,
    /// The claims.
    pub claims: Map<String, Value>,
    /// `<header>.<claims>`, the signed bytes.
    pub signing_input: Vec<u8>,
    /// The signature.
    pub signature: Vec<u8>,
}

/// What the platform verifies before a token's claims count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// The key set holding the key.
    pub key_set: KeySet,
    /// The key's id.
    pub kid: String,
    /// The signed bytes.
    pub signing_input: Vec<u8>,
    /// The RS256 signature.
    pub signature: Vec<u8>,
    /// A channel the key must be endorsed for (Teams: the activity's `channelId`).
    pub endorsement: Option<String>,
}

impl Check {
    /// Whether `key` may verify this check: its id, and the endorsement where one is asked.
    pub fn key_fits(&self, key: &Jwk) -> bool {
        key.kid == self.kid
            && self
                .endorsement
                .as_ref()
                .is_none_or(|channel| key.endorsements.iter().any(|e| e == channel))
    }
}

impl Token {
    /// The token of an `Authorization: Bearer` header: see the module documentation.
    pub fn from_bearer(header: Option<&str>) -> Result<Token, Rejection> {
        let header = header.ok_or(Rejection::MissingHeader {
            header: AUTHORIZATION,
        })?;
        let malformed = Rejection::MalformedToken;
        let (scheme, token) = header.trim().split_once(' ').ok_or(malformed.clone())?;
        if !scheme.eq_ignore_ascii_case("bearer") || token.len() > MAX_TOKEN_LEN {
            return Err(malformed);
        }
        let mut parts = token.trim().split('.');
        let (Some(head), Some(body), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed);
        };
        let object = |part: &str| {
            let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
            match serde_json::from_slice(&bytes).ok()? {
                Value::Object(map) => Some(map),
                _ => None,
            }
        };
        let (Some(head_fields), Some(claims)) = (object(head), object(body)) else {
            return Err(malformed);
        };
        if head_fields.get("alg").and_then(Value::as_str) != Some("RS256") {
            return Err(Rejection::TokenAlgorithm);
        }
        let kid = head_fields.get("kid").and_then(Value::as_str);
        let (Some(kid), false) = (kid, head_fields.contains_key("crit")) else {
            return Err(malformed);
        };
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| malformed)?;
        Ok(Token {
            kid: kid.to_owned(),
            claims,
            signing_input: format!("{head}.{body}").into_bytes(),
            signature,
        })
    }

    /// The claim `name` as a string.
    pub fn claim(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// `exp` is required and not past, `nbf` (when present) reached, each with the clock skew.
    pub fn check_time(&self, now: u64) -> Result<(), Rejection> {
        let seconds = |name: &str| self.claims.get(name).and_then(Value::as_f64);
        let expires = seconds("exp").ok_or(Rejection::ExpiredToken)?;
        if expires + (CLOCK_SKEW_SECONDS as f64) < now as f64 {
            return Err(Rejection::ExpiredToken);
        }
        match seconds("nbf") {
            Some(not_before) if not_before > (now + CLOCK_SKEW_SECONDS) as f64 => {
                Err(Rejection::FutureTimestamp)
            }
            _ => Ok(()),
        }
    }

    /// `iss` is one of `issuers`.
    pub fn check_issuer(&self, issuers: &[&str]) -> Result<(), Rejection> {
        match self.claim("iss") {
            Some(issuer) if issuers.contains(&issuer) => Ok(()),
            _ => Err(Rejection::WrongIssuer),
        }
    }

    /// `aud` is `audience`, or an array holding it. An empty `audience` (an app profile
    /// without an app id) matches nothing.
    pub fn check_audience(&self, audience: &str) -> Result<(), Rejection> {
        let matches = match self.claims.get("aud") {
            Some(Value::String(aud)) => aud == audience,
            Some(Value::Array(auds)) => auds.iter().any(|aud| aud.as_str() == Some(audience)),
            _ => false,
        };
        if matches && !audience.is_empty() {
            Ok(())
        } else {
            Err(Rejection::WrongAudience)
        }
    }

    /// What the platform checks for this token, with a key of `key_set`.
    pub fn check(self, key_set: KeySet, endorsement: Option<String>) -> Check {
        Check {
            key_set,
            kid: self.kid,
            signing_input: self.signing_input,
            signature: self.signature,
            endorsement,
        }
    }
}

/// The dev key set (`seed/dev-jwt-key-set.json`), which the tools sign with.
#[cfg(not(target_arch = "wasm32"))]
pub fn dev_key_set() -> Vec<Jwk> {
    parse_key_set(include_str!("../../seed/dev-jwt-key-set.json")).unwrap_or_default()
}

/// Checks `check` natively against `keys` (the tools and tests; the Worker asks WebCrypto):
/// `UnknownKey` when no key fits, `BadSignature` when the fitting key does not verify.
#[cfg(not(target_arch = "wasm32"))]
pub fn verify_natively(check: &Check, keys: &[Jwk]) -> Result<(), Rejection> {
    use rsa::signature::Verifier;
    let key = keys
        .iter()
        .find(|key| check.key_fits(key))
        .ok_or(Rejection::UnknownKey)?;
    let number = |b64: &str| {
        URL_SAFE_NO_PAD
            .decode(b64)
            .ok()
            .map(|b| rsa::BigUint::from_bytes_be(&b))
    };
    let public = number(&key.n)
        .zip(number(&key.e))
        .and_then(|(n, e)| rsa::RsaPublicKey::new(n, e).ok())
        .ok_or(Rejection::BadSignature)?;
    let verifier = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(public);
    let signature = rsa::pkcs1v15::Signature::try_from(check.signature.as_slice())
        .map_err(|_| Rejection::BadSignature)?;
    verifier
        .verify(&check.signing_input, &signature)
        .map_err(|_| Rejection::BadSignature)
}

#[cfg(test)]
#[path = "jwt_test.rs"]
mod tests;
