//! The admin API's request bodies and their validation.
//!
//! # What's in scope
//! Parsing each JSON body (only an object; unknown fields are refused, so a typo is an error, not
//! a silent default), the size limits of every field (the `MAX_…` constants, which the OpenAPI
//! document states as `maxLength`, `maxItems` and `maxProperties`), list queries (known filters
//! with valid values only), and every check that needs no storage: non-empty names, valid keys
//! and scopes, secret names per provider. The edge then checks what needs D1 (that referenced
//! rows exist, are active and within the caller's reach) with the rules in
//! [`crate::core::tenancy`] and [`crate::core::authority`].
//!
//! # What's out of scope
//! Storage, sealing, auditing.

use crate::core::api_error::ApiError;
use crate::core::auth::{decode_public_key, AuthError, ScopeSet};
use crate::core::route::Resource;
use crate::core::tenancy::{
    check_form, check_profile_owner, check_secret_names, ProfileKind, Provider, SecretOwner,
    Selector, Stage,
};
use serde::{de::DeserializeOwned, Deserialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Longest grace period a rotated secret may keep verifying: 30 days.
pub const MAX_GRACE_SECONDS: u64 = 30 * 24 * 3600;
/// Default grace period of a rotated secret: 24 hours.
pub const DEFAULT_GRACE_SECONDS: u64 = 24 * 3600;
/// Largest page a list returns.
pub const MAX_PAGE: u32 = 200;
/// Page size when the query names none.
pub const DEFAULT_PAGE: u32 = 50;

/// Largest admin request body, bytes (413 beyond).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Longest name (principal, org, app profile), characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest id or provider key in a body (object ids, `provider_app_id`, `tenant_key`,
/// `agent_id`, `subject`, selector values, sender ids and allowlist entries), characters.
pub const MAX_ID_CHARS: usize = 256;
/// Longest secret or credential value, characters.
pub const MAX_SECRET_CHARS: usize = 4096;
/// Most properties in an installation's `metadata`.
pub const MAX_METADATA_PROPERTIES: usize = 32;
/// Longest `metadata` key, characters.
pub const MAX_METADATA_KEY_CHARS: usize = 64;
/// Largest `metadata` value: characters of a string, or of the JSON text of any other value.
pub const MAX_METADATA_VALUE_CHARS: usize = 1024;
/// Most entries in a binding's allowlist given at once.
pub const MAX_ALLOWLIST_ITEMS: usize = 1000;
/// Most ids in a list of org or agent ids (a principal's restriction, canary orgs).
pub const MAX_ID_LIST_ITEMS: usize = 100;
/// Longest rollout `reason`, characters.
pub const MAX_REASON_CHARS: usize = 1000;

/// Why an admin request's body or query is refused (400): its shape, not a tenancy rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// The body is valid JSON but not an object.
    #[error("the request body must be a JSON object")]
    NotAnObject,
    /// The body is not JSON, or does not fit the endpoint's fields (serde's message names the
    /// field).
    #[error("{0}")]
    Malformed(String),
    /// A required text field is blank.
    #[error("{field} must not be empty")]
    Empty {
        /// The field.
        field: String,
    },
    /// A text field is over its limit.
    #[error("{field} must be at most {max} characters")]
    TooLong {
        /// The field.
        field: String,
        /// Its limit.
        max: usize,
    },
    /// A list or object has too many entries.
    #[error("{field} must have at most {max} entries")]
    TooMany {
        /// The field.
        field: String,
        /// Its limit.
        max: usize,
    },
    /// A list that must name at least one entry names none.
    #[error("{field} must name at least one entry")]
    NoEntries {
        /// The field.
        field: &'static str,
    },
    /// A query parameter the endpoint does not take.
    #[error("unknown query parameter {name:?}; this endpoint takes {allowed}")]
    UnknownParameter {
        /// The parameter.
        name: String,
        /// The parameters it takes, comma-separated.
        allowed: String,
    },
    /// A filter value that no object can have.
    #[error("{name}={value:?} is not a valid filter; use {allowed}")]
    BadFilterValue {
        /// The filter.
        name: &'static str,
        /// The value given.
        value: String,
        /// The values it takes.
        allowed: &'static str,
    },
}

impl From<InputError> for ApiError {
    fn from(error: InputError) -> Self {
        ApiError::BadRequest {
            message: error.to_string(),
        }
    }
}

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

/// Parses a JSON body into `T`: only a JSON object is taken (serde would read an array into a
/// struct field by field), and serde's message names a missing or unknown field.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|error| InputError::Malformed(error.to_string()))?;
    if !value.is_object() {
        return Err(InputError::NotAnObject.into());
    }
    serde_json::from_value(value).map_err(|error| InputError::Malformed(error.to_string()).into())
}

/// A key or scope in a request body that does not parse is the body's fault (400), not a failed
/// authentication.
fn invalid_body(error: AuthError) -> ApiError {
    ApiError::BadRequest {
        message: error.to_string(),
    }
}

/// Checks that `value` is not blank and at most `max` characters.
pub fn check_text(field: &str, value: &str, max: usize) -> Result<(), InputError> {
    if value.trim().is_empty() {
        return Err(InputError::Empty {
            field: field.to_owned(),
        });
    }
    check_length(field, value, max)
}

fn check_length(field: &str, value: &str, max: usize) -> Result<(), InputError> {
    if value.chars().count() > max {
        return Err(InputError::TooLong {
            field: field.to_owned(),
            max,
        });
    }
    Ok(())
}

/// Checks a list: at most `max_items` entries, each non-blank and at most `max_chars`.
pub fn check_list<'a>(
    field: &str,
    items: impl ExactSizeIterator<Item = &'a String>,
    max_items: usize,
    max_chars: usize,
) -> Result<(), InputError> {
    if items.len() > max_items {
        return Err(InputError::TooMany {
            field: field.to_owned(),
            max: max_items,
        });
    }
    for item in items {
        check_text(&format!("{field} entry"), item, max_chars)?;
    }
    Ok(())
}

/// Checks each secret value's length (the provider's names and non-empty values are tenancy
/// rules: [`check_secret_names`]).
fn check_secret_lengths(field: &str, secrets: &Secrets) -> Result<(), InputError> {
    for (name, value) in secrets {
        check_length(&format!("{field}.{name}"), &value.0, MAX_SECRET_CHARS)?;
    }
    Ok(())
}

/// Checks a route selector's values: each given one non-blank and at most [`MAX_ID_CHARS`].
pub fn check_selector(field: &str, selector: &Selector) -> Result<(), InputError> {
    for (name, value) in [
        ("conversation", &selector.conversation),
        ("peer", &selector.peer),
        ("team", &selector.team),
    ] {
        if let Some(value) = value {
            check_text(&format!("{field}.{name}"), value, MAX_ID_CHARS)?;
        }
    }
    Ok(())
}

/// An optional list of ids (a principal's `org_ids` or `agent_ids`): absent is `None`; present,
/// it names 1 to [`MAX_ID_LIST_ITEMS`] ids.
fn id_set(
    field: &'static str,
    ids: &Option<Vec<String>>,
) -> Result<Option<BTreeSet<String>>, InputError> {
    let Some(ids) = ids else { return Ok(None) };
    if ids.is_empty() {
        return Err(InputError::NoEntries { field });
    }
    check_list(field, ids.iter(), MAX_ID_LIST_ITEMS, MAX_ID_CHARS)?;
    Ok(Some(ids.iter().cloned().collect()))
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
    /// When the principal stops being valid, Unix seconds (at most the creator's expiry).
    #[serde(default)]
    pub expires_at: Option<u64>,
    /// The only orgs it may act on; absent or null: the creator's restriction.
    #[serde(default)]
    pub org_ids: Option<Vec<String>>,
    /// The only agents it may act for; absent or null: the creator's restriction.
    #[serde(default)]
    pub agent_ids: Option<Vec<String>>,
}

/// A [`NewPrincipal`] that passed the checks needing no caller or storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalRequest {
    /// The scopes asked for.
    pub scopes: ScopeSet,
    /// The orgs asked for, if any.
    pub org_ids: Option<BTreeSet<String>>,
    /// The agents asked for, if any.
    pub agent_ids: Option<BTreeSet<String>>,
}

impl NewPrincipal {
    /// Validates the body's shape at time `now`. Whether the caller may grant it is
    /// [`crate::core::authority::new_principal_terms`].
    pub fn validate(&self, now: u64) -> Result<PrincipalRequest, ApiError> {
        check_text("name", &self.name, MAX_NAME_CHARS)?;
        decode_public_key(&self.public_key).map_err(invalid_body)?;
        let scopes = ScopeSet::parse(&self.scopes.join(" ")).map_err(invalid_body)?;
        if scopes.is_empty() {
            return Err(InputError::NoEntries { field: "scopes" }.into());
        }
        if self.expires_at.is_some_and(|at| at <= now) {
            return Err(ApiError::BadRequest {
                message: "expires_at must be in the future".into(),
            });
        }
        Ok(PrincipalRequest {
            scopes,
            org_ids: id_set("org_ids", &self.org_ids)?,
            agent_ids: id_set("agent_ids", &self.agent_ids)?,
        })
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
        Ok(check_text("name", &self.name, MAX_NAME_CHARS)?)
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
        check_text("name", &self.name, MAX_NAME_CHARS)?;
        check_text("provider_app_id", &self.provider_app_id, MAX_ID_CHARS)?;
        if let Some(org_id) = &self.org_id {
            check_text("org_id", org_id, MAX_ID_CHARS)?;
        }
        check_secret_lengths("secrets", &self.secrets)?;
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
    /// Checks the credentials against what an installation of `provider` holds (after
    /// [`NewInstallation::validate_shape`], once the app profile is known).
    pub fn check_credentials(&self, provider: Provider) -> Result<(), ApiError> {
        let spec = provider.spec();
        if let Some(field) = spec.tenant_key_field {
            check_form(provider, field, &self.tenant_key)?;
        }
        // Metadata values that go into the provider's URLs (a WABA id, a Twilio account SID).
        for (field, _) in spec.url_forms {
            let value = self.metadata.as_ref().and_then(|m| m.get(*field));
            if let Some(value) = value {
                check_form(provider, field, value.as_str().unwrap_or_default())?;
            }
        }
        check_secret_names(
            provider,
            SecretOwner::Installation,
            secret_pairs(&self.credentials),
            true,
        )?;
        let callback = self.metadata.as_ref().and_then(|m| m.get("callback_url"));
        if let (Provider::Standard, Some(url)) = (provider, callback) {
            let url = url.as_str().unwrap_or_default();
            crate::core::outbound::standard::check_callback_url(url)
                .map_err(|message| ApiError::BadRequest { message })?;
        }
        Ok(())
    }

    /// Checks what needs no provider: ids, tenant key, metadata and credential lengths.
    pub fn validate_shape(&self) -> Result<(), InputError> {
        check_text("app_profile_id", &self.app_profile_id, MAX_ID_CHARS)?;
        check_text("org_id", &self.org_id, MAX_ID_CHARS)?;
        check_text("tenant_key", &self.tenant_key, MAX_ID_CHARS)?;
        check_secret_lengths("credentials", &self.credentials)?;
        let Some(metadata) = &self.metadata else {
            return Ok(());
        };
        if metadata.len() > MAX_METADATA_PROPERTIES {
            return Err(InputError::TooMany {
                field: "metadata".into(),
                max: MAX_METADATA_PROPERTIES,
            });
        }
        for (key, value) in metadata {
            check_text("metadata key", key, MAX_METADATA_KEY_CHARS)?;
            let text = match value {
                serde_json::Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            check_length(&format!("metadata.{key}"), &text, MAX_METADATA_VALUE_CHARS)?;
        }
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
        check_secret_lengths("secrets", &self.secrets)?;
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
        check_text("installation_id", &self.installation_id, MAX_ID_CHARS)?;
        check_text("agent_id", &self.agent_id, MAX_ID_CHARS)?;
        check_selector("selector", &self.selector)?;
        check_list(
            "allowlist",
            self.allowlist.iter(),
            MAX_ALLOWLIST_ITEMS,
            MAX_ID_CHARS,
        )?;
        if let Some(fallback) = &self.fallback_installation_id {
            check_text("fallback_installation_id", fallback, MAX_ID_CHARS)?;
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
        check_text("org_id", &self.org_id, MAX_ID_CHARS)?;
        check_text("agent_id", &self.agent_id, MAX_ID_CHARS)?;
        check_text("subject", &self.subject, MAX_ID_CHARS)?;
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
        Ok(check_text("sender_id", &self.sender_id, MAX_ID_CHARS)?)
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

impl FlagChange {
    /// Validates the lengths (whether a reason is required is
    /// [`crate::core::tenancy::check_flag_change`]).
    pub fn validate(&self) -> Result<(), ApiError> {
        check_list(
            "canary_org_ids",
            self.canary_org_ids.iter(),
            MAX_ID_LIST_ITEMS,
            MAX_ID_CHARS,
        )?;
        if let Some(reason) = &self.reason {
            check_length("reason", reason, MAX_REASON_CHARS)?;
        }
        Ok(())
    }
}

/// Checks a rollout key: `*` (global), a provider name, or `delivery` (pauses deliveries to the
/// agent runtime: [`crate::core::delivery::held`]).
pub fn check_rollout_key(key: &str) -> Result<(), ApiError> {
    if key == "*" || key == crate::core::delivery::PAUSE_KEY {
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
    /// The cursor as the number it must be (a `seq` or a rowid): 400 otherwise.
    pub fn numeric_cursor(&self) -> Result<Option<u64>, ApiError> {
        self.cursor
            .as_deref()
            .map(|cursor| {
                cursor.parse().map_err(|_| ApiError::BadRequest {
                    message: "cursor must be the next_cursor of a previous page".into(),
                })
            })
            .transpose()
    }
}

impl Default for Page {
    fn default() -> Self {
        Page {
            limit: DEFAULT_PAGE,
            cursor: None,
        }
    }
}

/// The values a list filter takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterValues {
    /// `active` or `revoked`.
    Status,
    /// A provider name.
    Provider,
    /// `platform` or `byoa`.
    Kind,
    /// An object id.
    Id,
    /// A time in Unix seconds.
    Seconds,
    /// `asc` or `desc`.
    Order,
    /// A delivery log status ([`crate::core::delivery_log::Status`]).
    DeliveryStatus,
    /// An outbound message's status ([`crate::core::outbound::Status`]).
    MessageStatus,
}

impl FilterValues {
    /// Checks `value`, naming the values allowed when it is not one of them.
    fn check(self, name: &'static str, value: &str) -> Result<(), InputError> {
        let allowed = match self {
            FilterValues::Status if matches!(value, "active" | "revoked") => return Ok(()),
            FilterValues::Status => "one of active, revoked",
            FilterValues::Provider if Provider::parse(value).is_ok() => return Ok(()),
            FilterValues::Provider => "one of slack, telegram, whatsapp, discord, standard",
            FilterValues::Kind if matches!(value, "platform" | "byoa") => return Ok(()),
            FilterValues::Kind => "one of platform, byoa",
            FilterValues::Id => return check_text(name, value, MAX_ID_CHARS),
            FilterValues::Seconds if value.parse::<u64>().is_ok() => return Ok(()),
            FilterValues::Seconds => "a time in Unix seconds, e.g. 1767225600",
            FilterValues::Order if matches!(value, "asc" | "desc") => return Ok(()),
            FilterValues::Order => "one of asc, desc",
            FilterValues::DeliveryStatus
                if crate::core::delivery_log::Status::ALL
                    .iter()
                    .any(|status| status.as_str() == value) =>
            {
                return Ok(())
            }
            FilterValues::DeliveryStatus => {
                "one of queued, held, retrying, delivered, dead_lettered, dropped"
            }
            FilterValues::MessageStatus
                if matches!(
                    value,
                    "queued" | "sent" | "failed" | "unknown" | "dead_lettered" | "deleted"
                ) =>
            {
                return Ok(())
            }
            FilterValues::MessageStatus => {
                "one of queued, sent, failed, unknown, dead_lettered, deleted"
            }
        };
        Err(InputError::BadFilterValue {
            name,
            value: value.chars().take(MAX_ID_CHARS).collect(),
            allowed,
        })
    }
}

/// The filters a resource's list takes: query parameter (= column) and its values.
pub fn filters(resource: Resource) -> &'static [(&'static str, FilterValues)] {
    use FilterValues::{Id, Kind, Provider as AnyProvider, Status};
    match resource {
        Resource::Principals | Resource::Orgs => &[("status", Status)],
        Resource::AppProfiles => &[
            ("status", Status),
            ("provider", AnyProvider),
            ("kind", Kind),
            ("org_id", Id),
        ],
        Resource::Installations => &[("status", Status), ("app_profile_id", Id), ("org_id", Id)],
        Resource::Bindings => &[
            ("status", Status),
            ("installation_id", Id),
            ("agent_id", Id),
        ],
    }
}

/// A list request: its page and its filters (column, value), each checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    /// The page.
    pub page: Page,
    /// Filters in the order given; a column named twice must match both values.
    pub filters: Vec<(&'static str, String)>,
}

impl ListQuery {
    /// Reads `limit`, `cursor` and the `allowed` filters from query pairs; any other parameter,
    /// or a filter value no object can have, is refused (400) rather than ignored, so a typo
    /// never silently widens or empties a list.
    pub fn parse<'a>(
        allowed: &[(&'static str, FilterValues)],
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<ListQuery, ApiError> {
        let mut query = ListQuery::default();
        for (name, value) in pairs {
            match name {
                "limit" => {
                    query.page.limit = value
                        .parse()
                        .ok()
                        .filter(|limit| (1..=MAX_PAGE).contains(limit))
                        .ok_or_else(|| ApiError::BadRequest {
                            message: format!("limit must be a number from 1 to {MAX_PAGE}"),
                        })?;
                }
                "cursor" if !value.is_empty() => {
                    check_length("cursor", value, MAX_ID_CHARS)?;
                    query.page.cursor = Some(value.to_owned());
                }
                "cursor" => {}
                _ => {
                    let (name, values) = allowed
                        .iter()
                        .find(|(filter, _)| *filter == name)
                        .ok_or_else(|| unknown_parameter(name, allowed))?;
                    values.check(name, value)?;
                    query.filters.push((name, value.to_owned()));
                }
            }
        }
        Ok(query)
    }
}

/// `GET /v1/audit`'s query: newest first unless `order=asc`, entries past the cursor in that
/// order, equal to the `action`, `target` and `actor` given, at or after `since`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    /// Entries per page, 1..=[`MAX_PAGE`].
    pub limit: u32,
    /// `order=asc`: chain order, as verification reads it.
    pub oldest_first: bool,
    /// The `seq` of the previous page's last entry.
    pub cursor: Option<u64>,
    /// Columns (`action`, `target`, `actor`) and the value each must equal.
    pub equals: Vec<(&'static str, String)>,
    /// Only entries whose `at` is at or after this time.
    pub since: Option<u64>,
}

impl AuditQuery {
    /// The query parameters `GET /v1/audit` takes besides `limit` and `cursor`.
    pub const FILTERS: &'static [(&'static str, FilterValues)] = &[
        ("action", FilterValues::Id),
        ("target", FilterValues::Id),
        ("actor", FilterValues::Id),
        ("since", FilterValues::Seconds),
        ("order", FilterValues::Order),
    ];

    /// Reads the query (400 for anything else, as [`ListQuery::parse`]).
    pub fn parse<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<AuditQuery, ApiError> {
        let list = ListQuery::parse(Self::FILTERS, pairs)?;
        let cursor = list.page.numeric_cursor()?;
        let mut query = AuditQuery {
            limit: list.page.limit,
            oldest_first: false,
            cursor,
            equals: Vec::new(),
            since: None,
        };
        for (name, value) in list.filters {
            match name {
                "order" => query.oldest_first = value == "asc",
                // Checked as seconds by the filter; the latest `since` is the one that holds.
                "since" => query.since = query.since.max(value.parse().ok()),
                column => query.equals.push((column, value)),
            }
        }
        Ok(query)
    }
}

fn unknown_parameter(name: &str, allowed: &[(&'static str, FilterValues)]) -> InputError {
    let mut names = vec!["limit", "cursor"];
    names.extend(allowed.iter().map(|(filter, _)| *filter));
    InputError::UnknownParameter {
        name: name.chars().take(MAX_ID_CHARS).collect(),
        allowed: names.join(", "),
    }
}

#[cfg(test)]
#[path = "admin_test.rs"]
mod tests;
