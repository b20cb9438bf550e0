//! Authority: what a verified caller may do to a particular target, beyond holding the
//! endpoint's scope.
//!
//! # What's in scope
//! - [`Restriction`]: the optional sets of org ids and agent ids a principal is limited to. It is
//!   stored on the principal's row and never read from a token's claims.
//! - The principal rules: a caller creates, rotates or revokes a principal only when its token
//!   holds every scope the target holds (a `*` target only with `*`) and the target is at most as
//!   restricted as the caller; a created principal inherits the creator's restriction where it
//!   names none and never outlives its creator; any principal may rotate its own key.
//! - The reach rules for everything org-owned: which orgs and agents a caller reaches, and what
//!   only an unrestricted principal may do (rollout flags, the master key, the whole audit chain,
//!   changing platform-owned app profiles, creating orgs).
//!
//! # What's out of scope
//! Finding targets: the edge reads D1, and its list queries apply the same reach in SQL (a
//! restricted caller's lists show only what it reaches; a read or write of something out of
//! reach answers 404, so ids cannot be probed). Scope checks per endpoint are
//! [`crate::core::route::Admin::scope`] and [`crate::core::auth::Caller::require`].

use crate::core::api_error::ApiError;
use crate::core::auth::{AuthError, Caller, ScopeSet};
use std::collections::BTreeSet;

/// The orgs and agents a principal is limited to; `None` in a field means every one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Restriction {
    /// The orgs it may act on, or `None` for all.
    pub org_ids: Option<BTreeSet<String>>,
    /// The agents it may act for, or `None` for all.
    pub agent_ids: Option<BTreeSet<String>>,
}

impl Restriction {
    /// Reads the two D1 columns (JSON arrays of ids, or NULL for "all"). A column that does not
    /// parse reaches nothing: a damaged row must not widen a principal's reach.
    pub fn from_columns(org_ids: Option<&str>, agent_ids: Option<&str>) -> Restriction {
        let parse = |column: Option<&str>| {
            column.map(|text| serde_json::from_str::<BTreeSet<String>>(text).unwrap_or_default())
        };
        Restriction {
            org_ids: parse(org_ids),
            agent_ids: parse(agent_ids),
        }
    }

    /// The two D1 columns: JSON arrays, or `None` (NULL) for "all".
    pub fn to_columns(&self) -> (Option<String>, Option<String>) {
        let text = |set: &Option<BTreeSet<String>>| {
            set.as_ref().map(|ids| serde_json::json!(ids).to_string())
        };
        (text(&self.org_ids), text(&self.agent_ids))
    }

    /// True when neither orgs nor agents are limited.
    pub fn is_unrestricted(&self) -> bool {
        self.org_ids.is_none() && self.agent_ids.is_none()
    }

    /// True when org `org_id` is within reach.
    pub fn reaches_org(&self, org_id: &str) -> bool {
        self.org_ids.as_ref().is_none_or(|ids| ids.contains(org_id))
    }

    /// True when agent `agent_id` is within reach.
    pub fn reaches_agent(&self, agent_id: &str) -> bool {
        self.agent_ids
            .as_ref()
            .is_none_or(|ids| ids.contains(agent_id))
    }

    /// True when this restriction reaches nothing `outer` does not: in each dimension `outer`
    /// is unlimited, or both are limited and this set is a subset of `outer`'s.
    pub fn within(&self, outer: &Restriction) -> bool {
        subset(&self.org_ids, &outer.org_ids) && subset(&self.agent_ids, &outer.agent_ids)
    }
}

/// One dimension of [`Restriction::within`].
fn subset(inner: &Option<BTreeSet<String>>, outer: &Option<BTreeSet<String>>) -> bool {
    match (inner, outer) {
        (_, None) => true,
        (None, Some(_)) => false,
        (Some(inner), Some(outer)) => inner.is_subset(outer),
    }
}

/// Why a caller that holds the endpoint's scope may still not do this (403).
///
/// Messages name the rule and never a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorityError {
    /// A principal would reach orgs or agents its creator (or the caller changing it) does not.
    #[error(
        "the principal would reach {what} yours does not: a principal can only create, rotate \
         or revoke principals at most as restricted as itself"
    )]
    BeyondRestriction {
        /// `orgs` or `agents`.
        what: &'static str,
    },
    /// Something only an unrestricted principal may do.
    #[error("{action} needs a principal that is not restricted to orgs or agents")]
    UnrestrictedOnly {
        /// What was attempted, e.g. `changing rollout flags`.
        action: &'static str,
    },
    /// An agent outside the caller's agent restriction.
    #[error("agent {agent_id} is outside this principal's agent restriction")]
    AgentOutOfReach {
        /// The agent named.
        agent_id: String,
    },
    /// An org outside the caller's org restriction.
    #[error("org {org_id} is outside this principal's org restriction")]
    OrgOutOfReach {
        /// The org named.
        org_id: String,
    },
    /// A created principal would outlive its creator.
    #[error(
        "expires_at must not be later than your own principal's expiry ({creator_expires_at})"
    )]
    OutlivesCreator {
        /// The creator's expiry, Unix seconds.
        creator_expires_at: u64,
    },
}

/// What a principal holds: its scopes and its restriction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Its scopes.
    pub scopes: ScopeSet,
    /// Its restriction.
    pub restriction: Restriction,
}

/// A change to an existing principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalChange {
    /// A new public key.
    RotateKey,
    /// Revocation.
    Revoke,
}

/// True when `caller` may see principal `target` at all: it is at most as restricted as the
/// caller. (Unrestricted callers see every principal.)
pub fn sees_principal(caller: &Caller, target: &Restriction) -> bool {
    target.within(&caller.restriction)
}

/// Checks that `caller` may hand out or change `target`: its token holds every scope `target`
/// holds (403 naming the first missing scope) and `target` is at most as restricted as the
/// caller.
pub fn check_holds(caller: &Caller, target: &Grant) -> Result<(), ApiError> {
    if let Some(scope) = caller.scopes.missing_from(&target.scopes).first() {
        return Err(AuthError::MissingScope { scope: *scope }.into());
    }
    let (target, own) = (&target.restriction, &caller.restriction);
    if !subset(&target.org_ids, &own.org_ids) {
        return Err(AuthorityError::BeyondRestriction { what: "orgs" }.into());
    }
    if !subset(&target.agent_ids, &own.agent_ids) {
        return Err(AuthorityError::BeyondRestriction { what: "agents" }.into());
    }
    Ok(())
}

/// Checks that `caller` may make `change` to principal `target_id` holding `target`. Anyone may
/// rotate their own key; everything else follows [`check_holds`].
pub fn check_principal_change(
    caller: &Caller,
    target_id: &str,
    target: &Grant,
    change: PrincipalChange,
) -> Result<(), ApiError> {
    if change == PrincipalChange::RotateKey && target_id == caller.principal_id {
        return Ok(());
    }
    check_holds(caller, target)
}

/// What a principal created by `caller` is restricted to and when it expires. Each dimension the
/// request leaves out (`None`) is the creator's; the result must be within the creator's reach
/// ([`check_holds`], with `scopes`), and the expiry defaults to and may not exceed the
/// creator's.
pub fn new_principal_terms(
    caller: &Caller,
    scopes: ScopeSet,
    org_ids: Option<BTreeSet<String>>,
    agent_ids: Option<BTreeSet<String>>,
    expires_at: Option<u64>,
) -> Result<(Grant, Option<u64>), ApiError> {
    let grant = Grant {
        scopes,
        restriction: Restriction {
            org_ids: org_ids.or_else(|| caller.restriction.org_ids.clone()),
            agent_ids: agent_ids.or_else(|| caller.restriction.agent_ids.clone()),
        },
    };
    check_holds(caller, &grant)?;
    let expires_at = match (expires_at, caller.expires_at) {
        (Some(wanted), Some(limit)) if wanted > limit => {
            return Err(AuthorityError::OutlivesCreator {
                creator_expires_at: limit,
            }
            .into())
        }
        (wanted, limit) => wanted.or(limit),
    };
    Ok((grant, expires_at))
}

/// Succeeds only for an unrestricted caller; `action` names what was attempted.
pub fn require_unrestricted(caller: &Caller, action: &'static str) -> Result<(), AuthorityError> {
    if caller.restriction.is_unrestricted() {
        Ok(())
    } else {
        Err(AuthorityError::UnrestrictedOnly { action })
    }
}

/// Succeeds when the caller may create orgs: only a principal not restricted to orgs may, since
/// a new org would be out of its own reach.
pub fn require_all_orgs(caller: &Caller) -> Result<(), AuthorityError> {
    if caller.restriction.org_ids.is_none() {
        Ok(())
    } else {
        Err(AuthorityError::UnrestrictedOnly {
            action: "creating an org",
        })
    }
}

/// Succeeds when `agent_id` is within the caller's agent restriction.
pub fn require_agent(caller: &Caller, agent_id: &str) -> Result<(), AuthorityError> {
    if caller.restriction.reaches_agent(agent_id) {
        Ok(())
    } else {
        Err(AuthorityError::AgentOutOfReach {
            agent_id: agent_id.to_owned(),
        })
    }
}

#[cfg(test)]
#[path = "authority_test.rs"]
mod tests;
