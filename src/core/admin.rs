//! The admin API's request bodies and their validation.
//!
//! # What's in scope
//! Parsing each JSON body (unknown fields are refused, so a typo is an error, not a silent
//! default) and every check that needs no storage: non-empty names, valid keys and scopes, secret
//! names per provider, limits. The edge then checks what needs D1 (that referenced rows exist and
//! are active) with the rules in [`crate::core::tenancy`].
//!
//! # What's out of scope
//! Storage, sealing, auditing.

use crate::core::api_error::ApiError;
use crate::core::auth::{decode_public_key, AuthError, ScopeSet};
use crate::core::tenancy::{
    check_profile_owner, check_secret_names, ProfileKind, Provider, SecretOwner, Selector, Stage,
    TenancyError,
};
use serde::{de::DeserializeOwned, Deserialize};
use std::collections::BTreeMap;
use std::fmt;

/// Longest grace period a rotated secret may keep verifying: 30 days.
pub const MAX_GRACE_SECONDS: u64 = 30 * 24 * 3600;
/// Default grace period of a rotated secret: 24 hours.
pub const DEFAULT_GRACE_SECONDS: u64 = 24 * 3600;
/// Largest page a list returns.
pub const MAX_PAGE: u32 = 200;
/// Page size when the query names none.
pub const DEFAULT_PAGE: u32 = 50;

/// A secret value from a request body. Its `Debug` never shows the value.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Secrets by name.
pub type Secrets = BTreeMap<String, Secret>;

/// Parses a JSON body into `T`, naming the problem (serde's message names the field).
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|error| ApiError::BadRequest {
        message: error.to_string(),
    })
}

/// A key or scope in a request body that does not parse is the body's fault (400), not a failed
/// authentication.
fn invalid_body(error: AuthError) -> ApiError {
    ApiError::BadRequest {
        message: error.to_string(),
    }
}

fn non_empty(field: &'static str, value: &str) -> Result<(), ApiError> {
    if value.trim().is_empty() {
        return Err(TenancyError::EmptyField { field }.into());
    }
    Ok(())
}

fn secret_pairs(secrets: &Secrets) -> impl Iterator<Item = (&str, &str)> {
    secrets
        .iter()
        .map(|(name, value)| (name.as_str(), value.0.as_str()))
}

/// `POST /v1/principals`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPrincipal {
    /// A human-readable name.
    pub name: String,
    /// Ed25519 public key, base64url (`channel-edge-admin keygen` prints it).
    pub public_key: String,
    /// Scopes to grant; each must be held by the caller.
    pub scopes: Vec<String>,
    /// When the principal stops being valid, Unix seconds.
    #[serde(default)]
    pub expires_at: Option<u64>,
}

impl NewPrincipal {
    /// Validates the body and returns the granted scopes. `grantor` is the caller's token
    /// scopes: nobody grants a scope they do not hold.
    pub fn validate(&self, grantor: &ScopeSet, now: u64) -> Result<ScopeSet, ApiError> {
        non_empty("name", &self.name)?;
        decode_public_key(&self.public_key).map_err(invalid_body)?;
        let scopes = ScopeSet::parse(&self.scopes.join(" ")).map_err(invalid_body)?;
        if scopes.is_empty() {
            return Err(ApiError::BadRequest {
                message: "scopes must name at least one scope".into(),
            });
        }
        if self.expires_at.is_some_and(|at| at <= now) {
            return Err(ApiError::BadRequest {
                message: "expires_at must be in the future".into(),
            });
        }
        let beyond = grantor.missing_from(&scopes);
        if let Some(scope) = beyond.first() {
            return Err(ApiError::Auth(AuthError::MissingScope { scope: *scope }));
        }
        Ok(scopes)
    }
}

/// `POST /v1/principals/{id}/rotate`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateKey {
    /// The new Ed25519 public key, base64url. Tokens signed by the old key stop verifying.
    pub public_key: String,
}

impl RotateKey {
    /// Validates the key.
    pub fn validate(&self) -> Result<(), ApiError> {
        decode_public_key(&self.public_key).map_err(invalid_body)?;
        Ok(())
    }
}

/// `POST /v1/orgs`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOrg {
    /// The org's name.
    pub name: String,
}

impl NewOrg {
    /// Validates the body.
    pub fn validate(&self) -> Result<(), ApiError> {
        non_empty("name", &self.name)
    }
}

/// `POST /v1/app-profiles`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAppProfile {
    /// The provider.
    pub provider: Provider,
    /// `platform` or `byoa`.
    pub kind: ProfileKind,
    /// The owning org (BYOA only).
    #[serde(default)]
    pub org_id: Option<String>,
    /// The provider's id for the app (Slack `api_app_id`, Meta app id, Discord application id,
    /// Telegram bot username, or a name for a Standard Webhooks source).
    pub provider_app_id: String,
    /// A human-readable name.
    pub name: String,
    /// The profile's secrets by name (see [`Provider::profile_secrets`]).
    #[serde(default)]
    pub secrets: Secrets,
}

impl NewAppProfile {
    /// Validates the body.
    pub fn validate(&self) -> Result<(), ApiError> {
        non_empty("name", &self.name)?;
        non_empty("provider_app_id", &self.provider_app_id)?;
        check_profile_owner(self.kind, self.org_id.as_deref())?;
        check_secret_names(
            self.provider,
            SecretOwner::Profile,
            secret_pairs(&self.secrets),
            true,
        )?;
        Ok(())
    }
}

/// `POST /v1/installations`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewInstallation {
    /// The app profile it installs.
    pub app_profile_id: String,
    /// The org it belongs to (must be the profile's org for a BYOA profile).
    pub org_id: String,
    /// The provider's tenant key that recognises it in payloads.
    pub tenant_key: String,
    /// Non-secret provider facts.
    #[serde(default)]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// Credentials by name (see [`Provider::installation_credentials`]).
    #[serde(default)]
    pub credentials: Secrets,
}

impl NewInstallation {
    /// Validates the body for a profile of `provider`.
    pub fn validate(&self, provider: Provider) -> Result<(), ApiError> {
        non_empty("app_profile_id", &self.app_profile_id)?;
        non_empty("org_id", &self.org_id)?;
        non_empty("tenant_key", &self.tenant_key)?;
        check_secret_names(
            provider,
            SecretOwner::Installation,
            secret_pairs(&self.credentials),
            true,
        )?;
        Ok(())
    }
}

/// `POST /v1/app-profiles/{id}/rotate` and `POST /v1/installations/{id}/rotate`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateSecrets {
    /// The new values by name.
    pub secrets: Secrets,
    /// How long the replaced values keep verifying (default 24 h, at most 30 days; 0 ends them
    /// at once).
    #[serde(default)]
    pub grace_seconds: Option<u64>,
}

impl RotateSecrets {
    /// Validates the body for `provider` and `owner`, returning the grace period.
    pub fn validate(&self, provider: Provider, owner: SecretOwner) -> Result<u64, ApiError> {
        if self.secrets.is_empty() {
            return Err(ApiError::BadRequest {
                message: "secrets must name at least one secret to rotate".into(),
            });
        }
        check_secret_names(provider, owner, secret_pairs(&self.secrets), false)?;
        let grace = self.grace_seconds.unwrap_or(DEFAULT_GRACE_SECONDS);
        if grace > MAX_GRACE_SECONDS {
            return Err(ApiError::BadRequest {
                message: format!("grace_seconds must be at most {MAX_GRACE_SECONDS}"),
            });
        }
        Ok(grace)
    }
}

/// A binding's sender policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SenderPolicy {
    /// Only senders on the allowlist (default: deny everyone else).
    #[default]
    Allowlist,
    /// Anyone in the routed conversation.
    Open,
}

impl SenderPolicy {
    /// The policy's name in D1.
    pub fn as_str(self) -> &'static str {
        match self {
            SenderPolicy::Allowlist => "allowlist",
            SenderPolicy::Open => "open",
        }
    }
}

/// `POST /v1/bindings`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewBinding {
    /// The installation whose traffic it routes.
    pub installation_id: String,
    /// The agent that receives it.
    pub agent_id: String,
    /// The route selector; empty matches everything.
    #[serde(default)]
    pub selector: Selector,
    /// Higher wins among equally specific matches.
    #[serde(default)]
    pub priority: i64,
    /// Who may talk to the agent.
    #[serde(default)]
    pub sender_policy: SenderPolicy,
    /// Platform sender ids allowed under `allowlist`.
    #[serde(default)]
    pub allowlist: Vec<String>,
    /// A platform installation whose credentials are used when this binding's installation has
    /// none. Never allowed for BYOA installations.
    #[serde(default)]
    pub fallback_installation_id: Option<String>,
}

impl NewBinding {
    /// Validates what needs no storage.
    pub fn validate(&self) -> Result<(), ApiError> {
        non_empty("installation_id", &self.installation_id)?;
        non_empty("agent_id", &self.agent_id)?;
        for sender in &self.allowlist {
            non_empty("allowlist entry", sender)?;
        }
        Ok(())
    }
}

/// `POST /v1/install-tokens`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewInstallToken {
    /// The org the install is for.
    pub org_id: String,
    /// The agent (template) to install.
    pub agent_id: String,
    /// The user the install is for (the runtime's id for them).
    pub subject: String,
    /// The only provider the token may be claimed through; any when absent.
    #[serde(default)]
    pub provider: Option<Provider>,
    /// Lifetime in seconds: default 900, at most 3600.
    #[serde(default)]
    pub ttl_seconds: Option<u64>,
}

impl NewInstallToken {
    /// Validates what needs no storage and returns the token's lifetime.
    pub fn validate(&self) -> Result<u64, ApiError> {
        use crate::core::install_token::{DEFAULT_TTL_SECONDS, MAX_TTL_SECONDS};
        non_empty("org_id", &self.org_id)?;
        non_empty("agent_id", &self.agent_id)?;
        non_empty("subject", &self.subject)?;
        let ttl = self.ttl_seconds.unwrap_or(DEFAULT_TTL_SECONDS);
        if !(1..=MAX_TTL_SECONDS).contains(&ttl) {
            return Err(ApiError::BadRequest {
                message: format!("ttl_seconds must be between 1 and {MAX_TTL_SECONDS}"),
            });
        }
        Ok(ttl)
    }
}

/// `POST /v1/bindings/{id}/allowlist`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAllowlistEntry {
    /// The platform sender id to allow.
    pub sender_id: String,
}

impl NewAllowlistEntry {
    /// Validates the body.
    pub fn validate(&self) -> Result<(), ApiError> {
        non_empty("sender_id", &self.sender_id)
    }
}

/// `PUT /v1/rollout/{key}`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlagChange {
    /// The new stage.
    pub stage: Stage,
    /// Orgs let through in `canary`.
    #[serde(default)]
    pub canary_org_ids: Vec<String>,
    /// Why (required to promote `canary` to `on`).
    #[serde(default)]
    pub reason: Option<String>,
}

/// Checks a rollout key: `*` (global) or a provider name.
pub fn check_rollout_key(key: &str) -> Result<(), ApiError> {
    if key == "*" {
        return Ok(());
    }
    Provider::parse(key)?;
    Ok(())
}

/// `?limit=&cursor=` of list endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Rows per page, 1..=[`MAX_PAGE`].
    pub limit: u32,
    /// Return rows after this key (the previous page's `next_cursor`).
    pub cursor: Option<String>,
}

impl Page {
    /// Reads `limit` and `cursor` from query pairs.
    pub fn from_query<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Page, ApiError> {
        let mut page = Page {
            limit: DEFAULT_PAGE,
            cursor: None,
        };
        for (name, value) in pairs {
            match name {
                "limit" => {
                    page.limit = value
                        .parse()
                        .ok()
                        .filter(|limit| (1..=MAX_PAGE).contains(limit))
                        .ok_or_else(|| ApiError::BadRequest {
                            message: format!("limit must be a number from 1 to {MAX_PAGE}"),
                        })?;
                }
                "cursor" if !value.is_empty() => page.cursor = Some(value.to_owned()),
                _ => {}
            }
        }
        Ok(page)
    }
}

#[cfg(test)]
#[path = "admin_test.rs"]
mod tests;
