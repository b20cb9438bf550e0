//! Service-principal authentication: EdDSA (Ed25519) JWTs and scopes.
//!
//! # What's in scope
//! - [`Scope`] and [`ScopeSet`]: the admin API's permissions and the "never grant more than you
//!   hold" rule.
//! - [`key_id`]: the principal id a token names in its header, read before any key is looked up.
//! - [`verify`]: every check a bearer token must pass against its principal, with `now` given.
//! - [`mint`] and [`generate_key_pair`]: how the admin CLI and the tests make tokens and keys.
//!
//! # What's out of scope
//! Looking principals up (the edge reads D1), rate limiting failed attempts (the edge's
//! rate-limit binding) and auditing them (the audit ledger).
//!
//! A token is a compact JWS (RFC 7515) signed with EdDSA (RFC 8037, Ed25519): its header has
//! `alg: EdDSA` and `kid` = principal id; its claims are `iss` (= principal id), `aud`
//! (= [`AUDIENCE`]), `iat`, `exp` (at most [`MAX_LIFETIME_SECONDS`] after `iat`), optional
//! `nbf`, and `scope` (space-separated). Times are checked with [`LEEWAY_SECONDS`] of leeway
//! against the `now` given.
//!
//! Verification is written out here rather than taken from a JWT library: EdDSA is the only
//! algorithm there is, so no other can even be attempted (no algorithm confusion), and the Wasm
//! carries no JWT machinery. The tests check it against `jsonwebtoken` as an independent
//! implementation.

use crate::core::authority::Restriction;
use crate::core::ed25519::{is_weak_key, Check};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// The `aud` every admin token must carry.
pub const AUDIENCE: &str = "channel-edge";
/// The longest a token may live: `exp - iat`.
pub const MAX_LIFETIME_SECONDS: u64 = 3600;
/// Clock skew tolerated on `exp`, `nbf` and `iat`.
pub const LEEWAY_SECONDS: u64 = 60;

/// One permission of the admin API.
///
/// A `…:write` scope includes its `…:read` ([`Scope::includes`]); `*` includes everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Create, read, rotate and revoke service principals.
    PrincipalsWrite,
    /// Read orgs and app profiles.
    ProfilesRead,
    /// Create, rotate and revoke orgs and app profiles.
    ProfilesWrite,
    /// Read installations.
    InstallationsRead,
    /// Create, rotate and revoke installations.
    InstallationsWrite,
    /// Create and revoke bindings and their allowlists; run binding sessions.
    BindingsWrite,
    /// Read bindings and binding sessions.
    BindingsRead,
    /// Change rollout flags and kill switches.
    RolloutWrite,
    /// Read and verify the audit ledger.
    AuditRead,
    /// Mint install tokens.
    InstallTokensMint,
    /// Send, edit and stream messages through an installation (the agent runtime's scope).
    MessagesSend,
    /// Read the delivery log.
    DeliveriesRead,
    /// Re-drive dead letters and replay deliveries.
    DeliveriesWrite,
    /// Read operational metrics.
    MetricsRead,
    /// Root: every scope, including re-sealing under a new master key.
    All,
}

impl Scope {
    /// Every scope, in the order the API documents them.
    pub const ALL: [Scope; 15] = [
        Scope::PrincipalsWrite,
        Scope::ProfilesRead,
        Scope::ProfilesWrite,
        Scope::InstallationsRead,
        Scope::InstallationsWrite,
        Scope::BindingsWrite,
        Scope::BindingsRead,
        Scope::RolloutWrite,
        Scope::AuditRead,
        Scope::InstallTokensMint,
        Scope::MessagesSend,
        Scope::DeliveriesRead,
        Scope::DeliveriesWrite,
        Scope::MetricsRead,
        Scope::All,
    ];

    /// The scope's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::PrincipalsWrite => "principals:write",
            Scope::ProfilesRead => "profiles:read",
            Scope::ProfilesWrite => "profiles:write",
            Scope::InstallationsRead => "installations:read",
            Scope::InstallationsWrite => "installations:write",
            Scope::BindingsWrite => "bindings:write",
            Scope::BindingsRead => "bindings:read",
            Scope::RolloutWrite => "rollout:write",
            Scope::AuditRead => "audit:read",
            Scope::InstallTokensMint => "install-tokens:mint",
            Scope::MessagesSend => "messages:send",
            Scope::DeliveriesRead => "deliveries:read",
            Scope::DeliveriesWrite => "deliveries:write",
            Scope::MetricsRead => "metrics:read",
            Scope::All => "*",
        }
    }

    /// True when holding `self` allows `other`: the same scope, a `…:write` for its `…:read`,
    /// or `*`.
    pub fn includes(self, other: Scope) -> bool {
        let read_of_write = matches!(
            (self, other),
            (Scope::ProfilesWrite, Scope::ProfilesRead)
                | (Scope::InstallationsWrite, Scope::InstallationsRead)
                | (Scope::BindingsWrite, Scope::BindingsRead)
                | (Scope::DeliveriesWrite, Scope::DeliveriesRead)
        );
        self == other || self == Scope::All || read_of_write
    }

    /// Parses a scope name.
    pub fn parse(name: &str) -> Result<Scope, AuthError> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == name)
            .ok_or_else(|| AuthError::UnknownScope {
                scope: name.to_owned(),
            })
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of scopes: a principal's grant, or what a token asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeSet(BTreeSet<Scope>);

impl ScopeSet {
    /// Parses a space-separated list (as in the `scope` claim and the `scopes` column).
    pub fn parse(text: &str) -> Result<ScopeSet, AuthError> {
        text.split_whitespace().map(Scope::parse).collect()
    }

    /// True when a scope of this set includes `scope` ([`Scope::includes`]).
    pub fn allows(&self, scope: Scope) -> bool {
        self.0.iter().any(|held| held.includes(scope))
    }

    /// The scopes of `requested` this set does not allow (empty when it covers them all).
    pub fn missing_from(&self, requested: &ScopeSet) -> Vec<Scope> {
        requested
            .0
            .iter()
            .copied()
            .filter(|scope| !self.allows(*scope))
            .collect()
    }

    /// True when the set holds no scope.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        ScopeSet(iter.into_iter().collect())
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|scope| scope.as_str()).collect();
        f.write_str(&names.join(" "))
    }
}

/// A token's claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The principal id (also the header's `kid`).
    pub iss: String,
    /// Must be [`AUDIENCE`].
    pub aud: String,
    /// Issued at, Unix seconds.
    pub iat: u64,
    /// Expires at, Unix seconds.
    pub exp: u64,
    /// Not before, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// Space-separated scopes.
    pub scope: String,
}

/// What the verifier needs to know about the principal a token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The principal id.
    pub id: String,
    /// Its Ed25519 public key, base64url without padding (a JWK `x`).
    pub public_key: String,
    /// What it was granted.
    pub scopes: ScopeSet,
    /// False once revoked.
    pub active: bool,
    /// When it stops being valid, Unix seconds.
    pub expires_at: Option<u64>,
    /// The orgs and agents it is limited to (from its row, never from a token).
    pub restriction: Restriction,
}

/// A verified token: who called, what the token allows, and what its principal may reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The principal id.
    pub principal_id: String,
    /// The token's scopes (always within the principal's grant).
    pub scopes: ScopeSet,
    /// The principal's restriction.
    pub restriction: Restriction,
    /// When the principal stops being valid, Unix seconds.
    pub expires_at: Option<u64>,
}

impl Caller {
    /// Succeeds when the token allows `scope`.
    pub fn require(&self, scope: Scope) -> Result<(), AuthError> {
        if self.scopes.allows(scope) {
            Ok(())
        } else {
            Err(AuthError::MissingScope { scope })
        }
    }
}

/// Why a request was not authenticated (401) or not authorised (403).
///
/// Messages never contain the token, a key or a signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header.
    #[error("missing Authorization header; send `Authorization: Bearer <JWT>`")]
    MissingToken,
    /// The header is not `Bearer <token>`.
    #[error("Authorization header must be `Bearer <JWT>`")]
    NotBearer,
    /// The token is not a well-formed JWT.
    #[error("token is not a well-formed JWT")]
    Malformed,
    /// The header's `alg` is not `EdDSA`.
    #[error("token algorithm must be EdDSA")]
    AlgorithmNotAllowed,
    /// The header has no `kid`.
    #[error("token header has no kid (the principal id)")]
    MissingKeyId,
    /// No principal has the `kid`, or its key did not verify the signature. One variant for both,
    /// so a caller cannot tell which principal ids exist.
    #[error("token is not signed by a known principal")]
    BadSignature,
    /// The principal was revoked.
    #[error("principal is revoked")]
    PrincipalRevoked,
    /// The principal's validity has ended.
    #[error("principal has expired")]
    PrincipalExpired,
    /// A claim is missing or not as required (`iss`, `aud`, lifetime).
    #[error("token claim {claim} is invalid: {why}")]
    BadClaim {
        /// The claim's name.
        claim: &'static str,
        /// What is wrong with it.
        why: &'static str,
    },
    /// `exp` has passed (beyond the leeway).
    #[error("token has expired")]
    Expired,
    /// `nbf` or `iat` is in the future (beyond the leeway).
    #[error("token is not valid yet")]
    NotYetValid,
    /// The token asks for scopes its principal was not granted.
    #[error("token asks for scopes the principal was not granted: {scopes}")]
    ScopesNotGranted {
        /// The scopes beyond the grant, space-separated.
        scopes: String,
    },
    /// A scope name that does not exist.
    #[error("unknown scope {scope:?}")]
    UnknownScope {
        /// The name as given.
        scope: String,
    },
    /// The token is valid but lacks the scope this endpoint needs (403).
    #[error("token lacks the scope {scope}")]
    MissingScope {
        /// The scope the endpoint needs.
        scope: Scope,
    },
    /// A public key that is not a base64url Ed25519 public key.
    #[error("public key must be an Ed25519 public key, 32 bytes in base64url")]
    BadPublicKey,
    /// A private key file that is not an Ed25519 PKCS#8 PEM.
    #[error("private key must be an Ed25519 key in PKCS#8 PEM (-----BEGIN PRIVATE KEY-----)")]
    BadPrivateKey,
}

impl AuthError {
    /// 403 for a missing scope, 401 for everything else.
    pub fn status(&self) -> u16 {
        match self {
            AuthError::MissingScope { .. } => 403,
            _ => 401,
        }
    }
}

// Signing (keys, PEM files, minting) is for the CLI and tests; the worker only verifies, so the
// Wasm carries no PKCS#8 or PEM code.
#[cfg(not(target_arch = "wasm32"))]
#[path = "auth_signing.rs"]
mod signing;
#[cfg(not(target_arch = "wasm32"))]
pub use signing::{generate_key_pair, mint, public_key_from_pem};

/// A token's JOSE header: what is read before any key is known.
#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

/// A compact JWS split into its three parts, checked to be base64url (no padding).
struct Compact<'a> {
    /// `header.payload`, the signed bytes.
    signing_input: &'a str,
    header: Vec<u8>,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

impl<'a> Compact<'a> {
    fn split(token: &'a str) -> Result<Compact<'a>, AuthError> {
        let (signing_input, signature) = token.rsplit_once('.').ok_or(AuthError::Malformed)?;
        let (header, payload) = signing_input.split_once('.').ok_or(AuthError::Malformed)?;
        let decode = |part: &str| {
            URL_SAFE_NO_PAD
                .decode(part)
                .map_err(|_| AuthError::Malformed)
        };
        Ok(Compact {
            signing_input,
            header: decode(header)?,
            payload: decode(payload)?,
            signature: decode(signature)?,
        })
    }

    fn header(&self) -> Result<Header, AuthError> {
        let header: Header =
            serde_json::from_slice(&self.header).map_err(|_| AuthError::Malformed)?;
        if header.alg != "EdDSA" {
            return Err(AuthError::AlgorithmNotAllowed);
        }
        Ok(header)
    }
}

/// The bearer token from an `Authorization` header value.
pub fn bearer_token(header: Option<&str>) -> Result<&str, AuthError> {
    let header = header.ok_or(AuthError::MissingToken)?;
    match header.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() => {
            Ok(token.trim())
        }
        _ => Err(AuthError::NotBearer),
    }
}

/// The principal id a token names (its header's `kid`), after checking the algorithm. Reads the
/// header only; nothing is trusted until [`verify`] succeeds.
pub fn key_id(token: &str) -> Result<String, AuthError> {
    Compact::split(token)?
        .header()?
        .kid
        .ok_or(AuthError::MissingKeyId)
}

/// The Ed25519 check of `token`'s signature by `principal`'s key (the one its `kid` names),
/// for the platform to perform before [`verify_checked`].
pub fn signature_check(token: &str, principal: &Principal) -> Result<Check, AuthError> {
    let compact = Compact::split(token)?;
    if compact.header()?.kid.ok_or(AuthError::MissingKeyId)? != principal.id {
        return Err(AuthError::BadSignature);
    }
    let signature: [u8; 64] = compact
        .signature
        .as_slice()
        .try_into()
        .map_err(|_| AuthError::BadSignature)?;
    Ok(Check {
        key: decode_public_key(&principal.public_key)?,
        message: compact.signing_input.as_bytes().to_vec(),
        signature,
    })
}

/// Verifies `token` against `principal` at time `now` (Unix seconds), given whether its
/// [`signature_check`] passed: nothing in the token is trusted unless it did.
pub fn verify_checked(
    token: &str,
    principal: &Principal,
    now: u64,
    signature_valid: bool,
) -> Result<Caller, AuthError> {
    signature_check(token, principal)?;
    if !signature_valid {
        return Err(AuthError::BadSignature);
    }
    let claims = claims(&Compact::split(token)?)?;
    check_principal(principal, now)?;
    check_claims(&claims, &principal.id, now)?;
    let scopes = ScopeSet::parse(&claims.scope)?;
    let beyond_grant = principal.scopes.missing_from(&scopes);
    if !beyond_grant.is_empty() {
        return Err(AuthError::ScopesNotGranted {
            scopes: beyond_grant.into_iter().collect::<ScopeSet>().to_string(),
        });
    }
    Ok(Caller {
        principal_id: principal.id.clone(),
        scopes,
        restriction: principal.restriction.clone(),
        expires_at: principal.expires_at,
    })
}

/// [`signature_check`] and [`verify_checked`] with the signature checked natively (the CLI's
/// and the tests' way; the Worker checks with WebCrypto).
#[cfg(not(target_arch = "wasm32"))]
pub fn verify(token: &str, principal: &Principal, now: u64) -> Result<Caller, AuthError> {
    let check = signature_check(token, principal)?;
    verify_checked(
        token,
        principal,
        now,
        crate::core::ed25519::verify_natively(&check),
    )
}

/// The claims of a token whose signature verified, with the audience checked.
fn claims(compact: &Compact<'_>) -> Result<Claims, AuthError> {
    let claims: Claims =
        serde_json::from_slice(&compact.payload).map_err(|_| AuthError::Malformed)?;
    if claims.aud != AUDIENCE {
        return Err(AuthError::BadClaim {
            claim: "aud",
            why: "must be channel-edge",
        });
    }
    Ok(claims)
}

fn check_principal(principal: &Principal, now: u64) -> Result<(), AuthError> {
    if !principal.active {
        return Err(AuthError::PrincipalRevoked);
    }
    match principal.expires_at {
        Some(expires_at) if expires_at <= now => Err(AuthError::PrincipalExpired),
        _ => Ok(()),
    }
}

fn check_claims(claims: &Claims, principal_id: &str, now: u64) -> Result<(), AuthError> {
    if claims.iss != principal_id {
        return Err(AuthError::BadClaim {
            claim: "iss",
            why: "must equal the header's kid",
        });
    }
    if claims.exp < claims.iat || claims.exp - claims.iat > MAX_LIFETIME_SECONDS {
        return Err(AuthError::BadClaim {
            claim: "exp",
            why: "must be after iat and at most one hour later",
        });
    }
    if claims.exp + LEEWAY_SECONDS < now {
        return Err(AuthError::Expired);
    }
    let not_before = claims.nbf.unwrap_or(claims.iat).max(claims.iat);
    if not_before > now + LEEWAY_SECONDS {
        return Err(AuthError::NotYetValid);
    }
    Ok(())
}

/// Parses a base64url (unpadded) Ed25519 public key; a key of small order, which would accept
/// forged signatures, is refused ([`crate::core::ed25519::is_weak_key`]).
pub fn decode_public_key(text: &str) -> Result<[u8; 32], AuthError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|_| AuthError::BadPublicKey)?;
    let bytes: [u8; 32] = bytes.try_into().map_err(|_| AuthError::BadPublicKey)?;
    if is_weak_key(&bytes) {
        return Err(AuthError::BadPublicKey);
    }
    Ok(bytes)
}

#[cfg(test)]
#[path = "auth_test.rs"]
mod tests;
