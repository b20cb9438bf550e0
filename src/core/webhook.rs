//! The webhook path's decisions, as pure functions over what the edge looked up.
//!
//! # What's in scope
//! - What the webhook path knows of its target: [`Profile`], [`Installation`] (with its
//!   [`Binding`]s), their opened [`Secret`]s, and the rollout [`Flags`].
//! - Which secrets verify a request ([`verifying_secrets`]; the newest valid value first, so a
//!   rotated secret wins over the one retiring during its grace period, [`valid_secrets`]) and
//!   whether the rollout switches refuse a provider outright ([`switched_off`]).
//! - Per event: whether its app id belongs to the path's app profile and which tenant keys find
//!   its installation ([`tenant_keys`]), then [`decide`]: the canary, dropping bots, dropping
//!   replays older than the dedupe window, install-token claims (decided before the sender
//!   policy: the claimer is usually not yet allowed), binding resolution, the sender policy, and
//!   for a routed event its envelope and dedupe keys ([`Delivery`]).
//!
//! # What's out of scope
//! Reading D1 and caching (`edge::ingress::directory`), verification and parsing themselves
//! ([`crate::core::ingress`]), deciding a claim ([`crate::core::install_token`]), and the dedupe
//! claim and queueing ([`crate::core::dedupe`]).

use crate::core::dedupe::older_than_window;
use crate::core::envelope::{self, Envelope, ReplyCapability, Routing};
use crate::core::ingress::{Event, Spec};
use crate::core::install_token::claimed_token;
use crate::core::reply::{self, ReplyTo};
use crate::core::seal::KeyRing;
use crate::core::tenancy::{
    admit, resolve_binding, Admission, Candidate, Flag, Provider, RouteKeys, SecretOwner, Selector,
};
use std::collections::HashMap;
use std::rc::Rc;

/// The installation metadata field naming the channel's own account (the user a token acts as),
/// whose events are dropped like a bot's: the agent's own answers coming back.
pub const SELF_ID: &str = "self_id";

/// An opened secret value and its validity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secret {
    /// Its name (`signing_secret`, `bot_token`, …).
    pub name: String,
    /// The opened value.
    pub value: String,
    /// When it was stored, Unix seconds.
    pub created_at: u64,
    /// The end of its validity (`None`: open-ended, the current value).
    pub expires_at: Option<u64>,
}

/// The values of secret `name` valid at `now`, newest first: an open-ended value before any that
/// is retiring, later ends before earlier ones, then the most recently stored. The first is the
/// current value (what sending and OAuth use); verification tries them all.
pub fn valid_secrets(secrets: &[Secret], name: &str, now: u64) -> Vec<String> {
    let mut valid: Vec<&Secret> = secrets
        .iter()
        .filter(|s| s.name == name && s.expires_at.is_none_or(|end| end > now))
        .collect();
    valid.sort_by(|a, b| {
        let end = |s: &Secret| s.expires_at.unwrap_or(u64::MAX);
        end(b).cmp(&end(a)).then(b.created_at.cmp(&a.created_at))
    });
    valid.into_iter().map(|s| s.value.clone()).collect()
}

/// The current value of secret `name` at `now` (the first of [`valid_secrets`]).
pub fn current_secret(secrets: &[Secret], name: &str, now: u64) -> Option<String> {
    valid_secrets(secrets, name, now).into_iter().next()
}

/// A live app profile as the webhook path needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// Its id.
    pub id: String,
    /// Its provider.
    pub provider: Provider,
    /// The provider's app id.
    pub provider_app_id: String,
    /// Opened secrets with their validity.
    pub secrets: Vec<Secret>,
}

/// An active binding as the webhook path needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// Its id.
    pub id: String,
    /// The receiving agent.
    pub agent_id: String,
    /// The route selector.
    pub selector: Selector,
    /// Its priority.
    pub priority: i64,
    /// `open` (anyone) rather than `allowlist`.
    pub open: bool,
    /// Allowed sender ids (under `allowlist`).
    pub allowlist: Vec<String>,
    /// The platform installation whose credentials sending uses when the installation has
    /// none of its own.
    pub fallback_installation_id: Option<String>,
}

impl Binding {
    /// Whether `peer` may reach the agent through this binding.
    pub fn allows(&self, peer: Option<&str>) -> bool {
        self.open || peer.is_some_and(|peer| self.allowlist.iter().any(|id| id == peer))
    }
}

impl Candidate for Binding {
    fn id(&self) -> &str {
        &self.id
    }
    fn selector(&self) -> &Selector {
        &self.selector
    }
    fn priority(&self) -> i64 {
        self.priority
    }
}

/// A live installation as the webhook path needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installation {
    /// Its id.
    pub id: String,
    /// Its app profile.
    pub app_profile_id: String,
    /// Its org.
    pub org_id: String,
    /// The provider's id for the tenant (workspace, bot, phone number).
    pub tenant_key: String,
    /// Non-secret provider facts (`display_phone_number`, a Standard Webhooks `callback_url`).
    pub metadata: serde_json::Value,
    /// Opened credentials with their validity.
    pub secrets: Vec<Secret>,
    /// Its active bindings.
    pub bindings: Vec<Binding>,
}

/// Rollout flags by key: `*` and provider names.
pub type Flags = HashMap<String, Flag>;

/// Where a webhook path's id led.
#[derive(Debug, Clone)]
pub enum Target {
    /// An app profile (the installation is found per event from the payload).
    Profile(Rc<Profile>),
    /// An installation and its app profile.
    Installation(Rc<Installation>, Rc<Profile>),
}

impl Target {
    /// The app profile of the target.
    pub fn profile(&self) -> &Rc<Profile> {
        match self {
            Target::Profile(profile) | Target::Installation(_, profile) => profile,
        }
    }
}

/// True when the rollout switches refuse all of `provider`'s traffic (globally or for the
/// provider off): 503 before verifying anything.
pub fn switched_off(flags: &Flags, provider: Provider) -> bool {
    matches!(
        admit(flags.get("*"), flags.get(provider.as_str()), ""),
        Admission::GloballyOff | Admission::ProviderOff
    )
}

/// The values `spec`'s requests to `target` are verified with at `now`, newest first: the
/// installation's when the provider's verifying secret is an installation credential and the
/// path names one, else the app profile's.
pub fn verifying_secrets(spec: &Spec, target: &Target, now: u64) -> Vec<String> {
    let (owner, name) = spec.verified_with;
    match (target, owner) {
        (Target::Installation(installation, _), SecretOwner::Installation) => {
            valid_secrets(&installation.secrets, name, now)
        }
        (target, _) => valid_secrets(&target.profile().secrets, name, now),
    }
}

/// For an app-profile path: the tenant keys that find `event`'s installation, or why the event
/// is dropped (its app id names another app: `app_id_mismatch`).
pub fn tenant_keys<'e>(profile: &Profile, event: &'e Event) -> Result<&'e [String], &'static str> {
    match &event.app_id {
        Some(app) if *app != profile.provider_app_id => Err("app_id_mismatch"),
        _ => Ok(&event.tenant_keys),
    }
}

/// What becomes of one verified event.
#[derive(Debug, PartialEq)]
pub enum Decision<'e> {
    /// Its org is outside a canary: answer 503 so the provider retries later.
    NotYet,
    /// Dropped on purpose, for this (audited) reason; still acknowledged.
    Drop(&'static str),
    /// An install-token claim, decided by the claim flow instead of being routed.
    Claim {
        /// The claimed token (not yet checked).
        token: &'e str,
        /// The event's route keys.
        keys: RouteKeys<'e>,
    },
    /// Routed to an agent.
    Deliver(Delivery),
}

/// A routed event: its envelope, the keys that deduplicate it, and where its agent may answer.
#[derive(Debug, PartialEq)]
pub struct Delivery {
    /// The envelope to queue.
    pub envelope: Box<Envelope>,
    /// Its dedupe keys ([`envelope::dedupe_keys`]).
    pub keys: Vec<String>,
    /// The reply capability to seal into the envelope ([`Delivery::seal_reply`]).
    pub reply_to: Option<ReplyTo>,
}

impl Delivery {
    /// `envelope`, made from `event` as `routing` routed it at `now`, with its dedupe keys and
    /// reply capability.
    pub fn of(envelope: Envelope, routing: &Routing, event: &Event, now: u64) -> Delivery {
        let keys = envelope::dedupe_keys(&envelope, event.semantic_key.as_deref());
        let reply_to = Provider::parse(envelope.provider)
            .ok()
            .and_then(|provider| ReplyTo::for_event(provider, routing, event, now));
        Delivery {
            envelope: Box::new(envelope),
            keys,
            reply_to,
        }
    }

    /// Seals the reply capability into the envelope under `ring` with `nonce` (fresh random
    /// bytes). An envelope whose capability cannot be sealed goes without one.
    pub fn seal_reply(&mut self, ring: &KeyRing, nonce: [u8; 12]) {
        self.envelope.reply = self.reply_to.as_ref().and_then(|reply_to| {
            Some(ReplyCapability {
                capability: reply::seal(ring, reply_to, nonce)?,
                expires_at: reply_to.expires_at,
            })
        });
    }
}

/// What the webhook path needs to decide one event.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// The provider.
    pub provider: Provider,
    /// The app profile.
    pub profile: &'a Profile,
    /// The event's installation (`None`: none of its tenant keys names one).
    pub installation: Option<&'a Installation>,
    /// The rollout flags.
    pub flags: &'a Flags,
    /// Now, Unix seconds.
    pub now: u64,
}

/// Decides `event`, in this order: unknown tenant, canary, bot sender, older than the dedupe
/// window, install-token claim, binding, sender policy.
pub fn decide<'e>(facts: &Facts<'_>, event: &'e Event) -> Decision<'e> {
    let Some(installation) = facts.installation else {
        return Decision::Drop("unknown_tenant");
    };
    let provider = facts.provider;
    let flags = facts.flags;
    if admit(
        flags.get("*"),
        flags.get(provider.as_str()),
        &installation.org_id,
    ) != Admission::Admitted
    {
        return Decision::NotYet;
    }
    if event.sender.as_ref().is_some_and(|s| s.is_bot) {
        return Decision::Drop("bot_sender");
    }
    // The channel's own account (a token user's comments on GitHub or Linear, written by the
    // agent's answers) is a bot too, whatever the provider calls it.
    let own = installation
        .metadata
        .get(SELF_ID)
        .and_then(serde_json::Value::as_str);
    if own.is_some_and(|own| event.sender.as_ref().is_some_and(|s| s.id == own)) {
        return Decision::Drop("own_message");
    }
    if older_than_window(provider, event.occurred_at, facts.now) {
        return Decision::Drop("older_than_dedupe_window");
    }
    let keys = route_keys(event);
    if let Some(token) = event.text.as_deref().and_then(claimed_token) {
        return Decision::Claim { token, keys };
    }
    let Some(binding) = resolve_binding(&installation.bindings, &keys) else {
        return Decision::Drop("no_binding");
    };
    if !binding.allows(keys.peer) {
        return Decision::Drop("sender_not_allowed");
    }
    let routing = Routing {
        org_id: installation.org_id.clone(),
        app_profile_id: facts.profile.id.clone(),
        installation_id: installation.id.clone(),
        binding_id: binding.id.clone(),
        agent_id: binding.agent_id.clone(),
    };
    let envelope = envelope::build(provider, &routing, event, facts.now);
    Decision::Deliver(Delivery::of(envelope, &routing, event, facts.now))
}

/// The keys a binding selector matches `event` on.
pub fn route_keys(event: &Event) -> RouteKeys<'_> {
    RouteKeys {
        conversation: event.conversation.as_ref().map(|c| c.id.as_str()),
        peer: event.sender.as_ref().map(|s| s.id.as_str()),
        team: event.team_id.as_deref(),
    }
}

#[cfg(test)]
#[path = "webhook_test.rs"]
mod tests;
