//! The tenancy model's rules: app profiles, installations, bindings, rollout flags.
//!
//! # What's in scope
//! - Which providers exist and which secrets an app profile or an installation of each holds.
//! - The separation rules: an installation belongs to exactly one app profile and, under a BYOA
//!   profile, only to that profile's org; a BYOA installation never uses platform credentials;
//!   platform fallback only where a binding names it.
//! - Binding resolution: most specific route selector, then priority, then id.
//! - Rollout decisions: the global switch and per-provider `off` / `canary` / `on`.
//!
//! # What's out of scope
//! Storage (the edge reads and writes D1) and sealing ([`crate::core::seal`]).

use crate::core::ingress::{Form, Spec};
use serde::{Deserialize, Serialize};

/// A provider channel-edge speaks to: the registry of providers. Each is described once, by the
/// [`Spec`] in its own file of [`crate::core::ingress`]; adding one is its file, its variant here,
/// and its line in [`Provider::ALL`] and [`Provider::spec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    /// Slack Events API, slash commands, interactivity.
    Slack,
    /// Telegram Bot API.
    Telegram,
    /// WhatsApp Cloud API (Meta).
    Whatsapp,
    /// Discord interactions.
    Discord,
    /// Any sender that signs the Standard Webhooks way.
    Standard,
    /// LINE Messaging API.
    Line,
    /// Facebook Messenger (Meta).
    Messenger,
    /// Instagram messaging (Meta).
    Instagram,
    /// Linear (issue comments).
    Linear,
    /// GitHub (issue and pull request comments).
    Github,
    /// Twilio Messaging (SMS and WhatsApp through Twilio).
    Twilio,
    /// Microsoft Teams (Bot Framework).
    Teams,
    /// Google Chat apps.
    GoogleChat,
    /// Email (Cloudflare Email Routing to the Worker).
    Email,
}

impl Provider {
    /// Every provider, in the order the API documents them.
    pub const ALL: [Provider; 14] = [
        Provider::Slack,
        Provider::Telegram,
        Provider::Whatsapp,
        Provider::Discord,
        Provider::Standard,
        Provider::Line,
        Provider::Messenger,
        Provider::Instagram,
        Provider::Linear,
        Provider::Github,
        Provider::Twilio,
        Provider::Teams,
        Provider::GoogleChat,
        Provider::Email,
    ];

    /// Everything known about the provider.
    pub fn spec(self) -> &'static Spec {
        use crate::core::ingress::{
            discord, email, github, google_chat, instagram, line, linear, messenger, slack,
            standard, teams, telegram, twilio, whatsapp,
        };
        match self {
            Provider::Slack => &slack::SPEC,
            Provider::Telegram => &telegram::SPEC,
            Provider::Whatsapp => &whatsapp::SPEC,
            Provider::Discord => &discord::SPEC,
            Provider::Standard => &standard::SPEC,
            Provider::Line => &line::SPEC,
            Provider::Messenger => &messenger::SPEC,
            Provider::Instagram => &instagram::SPEC,
            Provider::Linear => &linear::SPEC,
            Provider::Github => &github::SPEC,
            Provider::Twilio => &twilio::SPEC,
            Provider::Teams => &teams::SPEC,
            Provider::GoogleChat => &google_chat::SPEC,
            Provider::Email => &email::SPEC,
        }
    }

    /// The provider's name on the wire and in D1.
    pub fn as_str(self) -> &'static str {
        self.spec().name
    }

    /// Parses a provider name.
    pub fn parse(name: &str) -> Result<Provider, TenancyError> {
        Provider::ALL
            .into_iter()
            .find(|provider| provider.as_str() == name)
            .ok_or_else(|| TenancyError::UnknownProvider {
                provider: name.to_owned(),
            })
    }

    /// Whether it arrives over HTTP at `/webhooks/{provider}/{id}`: everything but email, which
    /// only the Worker's email handler receives (an HTTP request could carry any
    /// `Authentication-Results`).
    pub fn receives_webhooks(self) -> bool {
        self != Provider::Email
    }

    /// The id prefix of what a webhook path names for this provider (`ins` or `app`).
    pub fn path_id_prefix(self) -> &'static str {
        self.spec().path_id.prefix()
    }

    /// Secrets an app profile of this provider holds: `(name, required)`.
    pub fn profile_secrets(self) -> &'static [(&'static str, bool)] {
        self.spec().profile_secrets
    }

    /// Credentials an installation of this provider holds: `(name, required)`.
    pub fn installation_credentials(self) -> &'static [(&'static str, bool)] {
        self.spec().installation_credentials
    }
}

/// Every provider's name, comma-separated.
fn provider_names() -> String {
    Provider::ALL.map(Provider::as_str).join(", ")
}

/// Who owns an app profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileKind {
    /// Owned by the operator; installable by any org.
    Platform,
    /// "Bring your own app": owned by one org; only that org's installations.
    Byoa,
}

impl ProfileKind {
    /// The kind's name in D1.
    pub fn as_str(self) -> &'static str {
        match self {
            ProfileKind::Platform => "platform",
            ProfileKind::Byoa => "byoa",
        }
    }
}

/// Why a tenancy request is refused (422 at the API unless noted).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenancyError {
    /// The provider name is not one of [`Provider::ALL`].
    #[error("unknown provider {provider:?}; use one of: {}", provider_names())]
    UnknownProvider {
        /// The name given.
        provider: String,
    },
    /// A BYOA profile was given no org.
    #[error("a byoa app profile needs org_id: the org that owns the app")]
    ByoaNeedsOrg,
    /// A platform profile was given an org.
    #[error("a platform app profile has no org_id: it is owned by the operator")]
    PlatformHasNoOrg,
    /// An installation under a BYOA profile names another org.
    #[error("the app profile is owned by org {owner}; its installations must belong to that org")]
    InstallationOrgMismatch {
        /// The org that owns the BYOA profile.
        owner: String,
    },
    /// A secret name this provider's profile or installation does not hold.
    #[error("{name:?} is not a {provider} {owner} secret; allowed: {allowed}")]
    UnknownSecret {
        /// The name given.
        name: String,
        /// The provider.
        provider: &'static str,
        /// `app profile` or `installation`.
        owner: &'static str,
        /// The allowed names, comma-separated.
        allowed: String,
    },
    /// A required secret is missing.
    #[error("{provider} {owner} needs the secret {name:?}")]
    MissingSecret {
        /// The missing name.
        name: &'static str,
        /// The provider.
        provider: &'static str,
        /// `app profile` or `installation`.
        owner: &'static str,
    },
    /// A secret value is empty.
    #[error("secret {name:?} is empty")]
    EmptySecret {
        /// The secret's name.
        name: String,
    },
    /// A binding on a BYOA installation named a fallback.
    #[error("a binding on a byoa installation cannot fall back to platform credentials")]
    ByoaNeverFallsBack,
    /// A fallback installation that is not under a platform profile of the same provider.
    #[error("fallback_installation_id must be an active installation of a platform app profile of the same provider, in the same org")]
    BadFallback,
    /// The binding's own installation has no credential and it names no fallback (409).
    #[error(
        "installation {installation_id} has no {name} and its binding names no platform fallback"
    )]
    NoCredential {
        /// The installation.
        installation_id: String,
        /// The credential needed.
        name: String,
    },
    /// Promoting a provider from canary to on without a reason.
    #[error("promoting {provider} from canary to on needs a reason")]
    ReasonRequired {
        /// The provider (or `*`).
        provider: String,
    },
    /// A value that goes into a provider URL is not of the provider's form.
    #[error("{field} is not valid: expected {expected}")]
    MalformedValue {
        /// The field.
        field: String,
        /// The form expected.
        expected: &'static str,
    },
    /// An installation's org or app profile was revoked while it was being made (409).
    #[error("the org or app profile was revoked")]
    OwnerRevoked,
    /// Something referenced is revoked (409).
    #[error("{what} {id} is revoked")]
    Revoked {
        /// What kind of thing.
        what: &'static str,
        /// Its id.
        id: String,
    },
}

/// Checks an app profile's owner: BYOA has an org, platform has none.
pub fn check_profile_owner(kind: ProfileKind, org_id: Option<&str>) -> Result<(), TenancyError> {
    match (kind, org_id) {
        (ProfileKind::Byoa, None) => Err(TenancyError::ByoaNeedsOrg),
        (ProfileKind::Platform, Some(_)) => Err(TenancyError::PlatformHasNoOrg),
        _ => Ok(()),
    }
}

/// Checks that an installation for `org_id` may live under a profile of `kind` owned by
/// `profile_org` (`None` for platform profiles).
pub fn check_installation_org(
    kind: ProfileKind,
    profile_org: Option<&str>,
    org_id: &str,
) -> Result<(), TenancyError> {
    match (kind, profile_org) {
        (ProfileKind::Byoa, Some(owner)) if owner != org_id => {
            Err(TenancyError::InstallationOrgMismatch {
                owner: owner.to_owned(),
            })
        }
        _ => Ok(()),
    }
}

/// Which secrets set, for [`check_secret_names`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretOwner {
    /// An app profile's secrets.
    Profile,
    /// An installation's credentials.
    Installation,
}

impl SecretOwner {
    fn label(self) -> &'static str {
        match self {
            SecretOwner::Profile => "app profile",
            SecretOwner::Installation => "installation",
        }
    }

    fn allowed(self, provider: Provider) -> &'static [(&'static str, bool)] {
        match self {
            SecretOwner::Profile => provider.profile_secrets(),
            SecretOwner::Installation => provider.installation_credentials(),
        }
    }
}

/// Checks the names (and non-emptiness) of secrets given for `owner`; with `creating`, every
/// required secret must be present.
pub fn check_secret_names<'a>(
    provider: Provider,
    owner: SecretOwner,
    given: impl IntoIterator<Item = (&'a str, &'a str)>,
    creating: bool,
) -> Result<(), TenancyError> {
    let allowed = owner.allowed(provider);
    let mut seen = Vec::new();
    for (name, value) in given {
        if !allowed
            .iter()
            .any(|(allowed_name, _)| *allowed_name == name)
        {
            return Err(TenancyError::UnknownSecret {
                name: name.to_owned(),
                provider: provider.as_str(),
                owner: owner.label(),
                allowed: allowed
                    .iter()
                    .map(|(name, _)| *name)
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        if value.is_empty() {
            return Err(TenancyError::EmptySecret {
                name: name.to_owned(),
            });
        }
        check_form(provider, name, value)?;
        seen.push(name);
    }
    match allowed
        .iter()
        .find(|(name, required)| creating && *required && !seen.contains(name))
    {
        Some((name, _)) => Err(TenancyError::MissingSecret {
            name,
            provider: provider.as_str(),
            owner: owner.label(),
        }),
        None => Ok(()),
    }
}

/// Checks the form of a value that goes into a provider API URL's path (a Telegram bot token,
/// WhatsApp phone number and WABA ids), so it cannot reach another path or host; other fields
/// have no form to check.
pub fn check_form(provider: Provider, field: &str, value: &str) -> Result<(), TenancyError> {
    let digits = |text: &str, max: usize| {
        !text.is_empty() && text.len() <= max && text.bytes().all(|b| b.is_ascii_digit())
    };
    let token_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    let Some((_, form)) = provider
        .spec()
        .url_forms
        .iter()
        .find(|(name, _)| *name == field)
    else {
        return Ok(());
    };
    let (ok, expected) = match form {
        Form::TelegramBotToken => (
            value.split_once(':').is_some_and(|(bot, secret)| {
                digits(bot, 20) && !secret.is_empty() && secret.chars().all(token_char)
            }),
            "<bot id>:<secret>, as @BotFather gives it (digits, a colon, letters, digits, _ and -)",
        ),
        Form::Digits => (digits(value, 32), "the numeric id Meta shows for it"),
        Form::AccountSid => (
            value.len() == 34
                && value
                    .strip_prefix("AC")
                    .is_some_and(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit())),
            "AC followed by 32 hex digits, as the Twilio console shows the account SID",
        ),
        Form::E164 => (
            value
                .strip_prefix('+')
                .is_some_and(|number| (8..=15).contains(&number.len()) && digits(number, 15)),
            "E.164: + and the number's 8 to 15 digits, as +15551234567",
        ),
        Form::Mailbox => (
            crate::core::ingress::email::is_mailbox(value),
            "a mailbox address in lower case, as support@example.com (no +r- reply tag)",
        ),
    };
    if ok {
        Ok(())
    } else {
        Err(TenancyError::MalformedValue {
            field: field.to_owned(),
            expected,
        })
    }
}

/// What a binding's fallback installation is, for [`check_fallback`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FallbackTarget {
    /// Its profile's provider.
    pub provider: Provider,
    /// Its profile's kind.
    pub kind: ProfileKind,
    /// Whether the installation is active.
    pub active: bool,
    /// Whether it belongs to the same org as the binding's installation.
    pub same_org: bool,
}

/// Checks a binding's explicit platform fallback: never for a BYOA installation; only to an
/// active installation of a platform profile of the same provider, in the same org (another
/// org's credentials are never borrowed).
pub fn check_fallback(
    own_kind: ProfileKind,
    own_provider: Provider,
    fallback: Option<FallbackTarget>,
) -> Result<(), TenancyError> {
    let Some(fallback) = fallback else {
        return Ok(());
    };
    if own_kind == ProfileKind::Byoa {
        return Err(TenancyError::ByoaNeverFallsBack);
    }
    if fallback.kind != ProfileKind::Platform
        || fallback.provider != own_provider
        || !fallback.active
        || !fallback.same_org
    {
        return Err(TenancyError::BadFallback);
    }
    Ok(())
}

/// Whose credential a send uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// The binding's own installation.
    Own(String),
    /// The platform installation the binding names as its fallback.
    PlatformFallback(String),
}

/// Picks the installation whose credential `name` a send through a binding uses: its own when it
/// has one, else the binding's explicit fallback, else an error. Never anything chosen by
/// provider alone.
pub fn credential_source(
    installation_id: &str,
    has_own: bool,
    fallback_installation_id: Option<&str>,
    name: &str,
) -> Result<CredentialSource, TenancyError> {
    match (has_own, fallback_installation_id) {
        (true, _) => Ok(CredentialSource::Own(installation_id.to_owned())),
        (false, Some(fallback)) => Ok(CredentialSource::PlatformFallback(fallback.to_owned())),
        (false, None) => Err(TenancyError::NoCredential {
            installation_id: installation_id.to_owned(),
            name: name.to_owned(),
        }),
    }
}

/// A binding's route selector; `None` fields are wildcards. Unknown fields are refused: a
/// misspelt field silently dropped would turn a narrow binding into a catch-all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Selector {
    /// The conversation (channel, chat, group) id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation: Option<String>,
    /// The peer (sender) id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    /// The team, workspace, guild or account id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
}

impl Selector {
    fn matches(&self, route: &RouteKeys) -> bool {
        fn field(selector: &Option<String>, value: Option<&str>) -> bool {
            selector
                .as_deref()
                .is_none_or(|wanted| Some(wanted) == value)
        }
        field(&self.conversation, route.conversation)
            && field(&self.peer, route.peer)
            && field(&self.team, route.team)
    }

    /// Specificity: a peer outranks a conversation, which outranks a team; any set field outranks
    /// every combination of the fields below it.
    pub fn specificity(&self) -> u8 {
        (u8::from(self.peer.is_some()) << 2)
            | (u8::from(self.conversation.is_some()) << 1)
            | u8::from(self.team.is_some())
    }
}

/// The route keys of one inbound event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RouteKeys<'a> {
    /// The conversation id.
    pub conversation: Option<&'a str>,
    /// The sender id.
    pub peer: Option<&'a str>,
    /// The team / workspace / guild id.
    pub team: Option<&'a str>,
}

/// What binding resolution needs of a binding.
pub trait Candidate {
    /// The binding id (the final tie-break: lowest wins).
    fn id(&self) -> &str;
    /// Its selector.
    fn selector(&self) -> &Selector;
    /// Its priority (highest wins among equally specific matches).
    fn priority(&self) -> i64;
}

/// The binding for `route` among one installation's active bindings: the most specific matching
/// selector, then the highest priority, then the lowest id. Deterministic for any input order.
pub fn resolve_binding<'a, C: Candidate>(candidates: &'a [C], route: &RouteKeys) -> Option<&'a C> {
    candidates
        .iter()
        .filter(|candidate| candidate.selector().matches(route))
        .min_by(|a, b| {
            b.selector()
                .specificity()
                .cmp(&a.selector().specificity())
                .then(b.priority().cmp(&a.priority()))
                .then(a.id().cmp(b.id()))
        })
}

/// A rollout stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Refuse (503, the provider retries later).
    Off,
    /// Only the listed orgs.
    Canary,
    /// Everyone.
    On,
}

/// A rollout flag: the global one (`*`) or a provider's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {
    /// The stage.
    pub stage: Stage,
    /// Orgs let through while in `canary`.
    #[serde(default)]
    pub canary_org_ids: Vec<String>,
}

/// A rollout decision for one org's traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Let through.
    Admitted,
    /// The global switch is off.
    GloballyOff,
    /// The provider is off.
    ProviderOff,
    /// The provider is in canary and the org is not listed.
    NotInCanary,
}

/// Decides whether `org_id`'s traffic for a provider passes. A missing flag means `on`: flags
/// are for switching off and staging, and a fresh deployment must work without any.
pub fn admit(global: Option<&Flag>, provider: Option<&Flag>, org_id: &str) -> Admission {
    for (flag, off) in [
        (global, Admission::GloballyOff),
        (provider, Admission::ProviderOff),
    ] {
        match flag {
            Some(Flag {
                stage: Stage::Off, ..
            }) => return off,
            Some(Flag {
                stage: Stage::Canary,
                canary_org_ids,
            }) if !canary_org_ids.iter().any(|id| id == org_id) => return Admission::NotInCanary,
            _ => {}
        }
    }
    Admission::Admitted
}

/// Checks a flag change: promoting `canary → on` needs a non-empty reason.
pub fn check_flag_change(
    key: &str,
    current: Option<Stage>,
    next: Stage,
    reason: Option<&str>,
) -> Result<(), TenancyError> {
    let has_reason = reason.is_some_and(|reason| !reason.trim().is_empty());
    if current == Some(Stage::Canary) && next == Stage::On && !has_reason {
        return Err(TenancyError::ReasonRequired {
            provider: key.to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
#[path = "tenancy_test.rs"]
mod tests;
