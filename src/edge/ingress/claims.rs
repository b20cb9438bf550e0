//! Install-token claims arriving as chat messages (`install:<token>`, Telegram `/start <token>`).
//!
//! A claim is decided here instead of being routed as a message, and becomes exactly one
//! envelope: `install_claimed` or `install_rejected` ([`crate::core::envelope::build_install`]).
//!
//! 1. Authenticate the token ([`install_token::authenticate`]): no D1 work for garbage.
//! 2. Read its grant and [`install_token::decide`]; claim it with one conditional `UPDATE`, so of
//!    two concurrent claims exactly one succeeds.
//! 3. Link the sender: their identity (installation, sender) → subject; allowed on the binding
//!    that routes this conversation to the grant's agent, or on a new binding (this sender in
//!    this conversation) when none does. All in one ledger batch with the
//!    `install_token.claimed` audit entry.
//!
//! The claiming message's own retry (after the queue refused its envelope) finds the grant
//! claimed by itself and repeats step 3 idempotently, without a second audit entry. Refusals are
//! audited like other rejections (aggregated per source, reason and minute) and queued as
//! `install_rejected` to the agent whose binding routes the conversation, so it can answer; when
//! no binding does, nobody could answer and only the audit entry remains.
//!
//! A grant made by a `qr` binding session names it; a claim then completes that session.
//!
//! Out of scope: minting (the admin API) and the dedupe and queueing of the envelope (the
//! pipeline, as for every envelope).

use super::{Call, Routed};
use crate::core::admin::SenderPolicy;
use crate::core::api_error::ApiError;
use crate::core::audit::Event as AuditEvent;
use crate::core::binding_session::Outcome;
use crate::core::envelope::{self, Install, Routing};
use crate::core::expiring::ExpiringMap;
use crate::core::ingress::Event;
use crate::core::install_token::{
    self, claim_binding_id, Claimant, Decision, Grant, Refusal, Verified,
};
use crate::core::json;
use crate::core::tenancy::{resolve_binding, RouteKeys, Selector};
use crate::core::webhook::{Delivery, Installation, Profile};
use crate::edge::binding_session::{self, Command};
use crate::edge::rate_limit;
use crate::edge::store::bindings::{self, BindingRow};
use crate::edge::store::grants::{self, Identity};
use crate::edge::store::secrets::key_ring;
use crate::edge::store::{d1, ledger};
use serde_json::json;
use std::cell::RefCell;

/// A claim message, with where it arrived.
pub struct Claim<'a> {
    /// The installation it arrived through.
    pub installation: &'a Installation,
    /// That installation's app profile.
    pub profile: &'a Profile,
    /// The message.
    pub event: &'a Event,
    /// Its route keys.
    pub keys: RouteKeys<'a>,
    /// The token it carries (not yet checked).
    pub token: &'a str,
}

/// Decides `claim` and returns its envelope, or why there is none.
pub async fn handle(call: &Call<'_>, claim: &Claim<'_>) -> Result<Routed, ApiError> {
    let Some(sender) = claim.event.sender.as_ref().map(|s| s.id.as_str()) else {
        return Ok(Routed::Dropped("install_claim_without_sender"));
    };
    let token = match install_token::authenticate(&key_ring(call.env)?, claim.token) {
        Ok(token) => token,
        Err(error) => return Ok(rejected(call, claim, None, error.reason()).await),
    };
    let grant = grants::get(&call.db, &token.grant_id).await?;
    let claim_event = format!(
        "{}:{}",
        claim.installation.id, claim.event.provider_event_id
    );
    let claimant = Claimant {
        org_id: &claim.installation.org_id,
        provider: call.provider.as_str(),
        event: &claim_event,
    };
    let decision = install_token::decide(&token, grant.as_ref(), &claimant, call.now);
    let (decision, grant) = match (decision, grant) {
        (Ok(decision), Some(grant)) => (decision, grant),
        (Err(refusal), _) => return Ok(rejected(call, claim, Some(&token), refusal).await),
        // `decide` refuses a claim without a grant; should it not, the claim is still invalid.
        (Ok(_), None) => {
            return Ok(rejected(call, claim, Some(&token), Refusal::Invalid).await);
        }
    };
    if decision == Decision::Claim && !mark_claimed(call, &token, &claim_event, sender).await? {
        return Ok(rejected(call, claim, Some(&token), Refusal::Used).await);
    }
    let binding_id = link(call, claim, &token, &grant, sender, decision).await?;
    super::forget_cached();
    if let Some(session) = &grant.binding_session_id {
        notify_session(call, claim, session, sender, &binding_id).await;
    }
    let routing = routing(claim, &binding_id, &grant.agent_id);
    let envelope = envelope::build_install(
        call.provider,
        &routing,
        claim.event,
        call.now,
        Install::claimed(&token.grant_id, &grant.subject),
    );
    Ok(Routed::Delivery(Delivery::of(
        envelope,
        &routing,
        claim.event,
        call.now,
    )))
}

/// Tells the `qr` binding session waiting for this claim that it arrived (a repeat is a no-op
/// there). A failure is logged: the claim itself stands.
async fn notify_session(
    call: &Call<'_>,
    claim: &Claim<'_>,
    session: &str,
    sender: &str,
    binding_id: &str,
) {
    let command = Command::Claimed {
        by: format!("{}:{sender}", call.provider.as_str()),
        outcome: Outcome {
            installation_id: claim.installation.id.clone(),
            binding_id: binding_id.to_owned(),
            sender_id: Some(sender.to_owned()),
        },
    };
    match binding_session::call(call.env, session, &command).await {
        Ok((200, _)) => {}
        Ok((status, body)) => {
            worker::console_log!(
                "binding session {session} not completed by the claim: {status} {}",
                json::at(&body, "/error/message")
            )
        }
        Err(error) => worker::console_error!("binding session {session} not notified: {error}"),
    }
}

/// Claims the grant for `claim_event`; false when another message claimed it first.
async fn mark_claimed(
    call: &Call<'_>,
    token: &Verified,
    claim_event: &str,
    sender: &str,
) -> Result<bool, ApiError> {
    grants::mark_claimed(&call.db, &token.grant_id, claim_event, sender, call.now).await
}

/// Links the sender to the grant's subject and allows them on a binding to the grant's agent;
/// returns that binding's id. A fresh claim is audited in the same batch; a repeat is not.
async fn link(
    call: &Call<'_>,
    claim: &Claim<'_>,
    token: &Verified,
    grant: &Grant,
    sender: &str,
    decision: Decision,
) -> Result<String, ApiError> {
    let existing = resolve_binding(&claim.installation.bindings, &claim.keys)
        .filter(|binding| binding.agent_id == grant.agent_id);
    let binding_id = existing
        .map(|binding| binding.id.clone())
        .unwrap_or_else(|| claim_binding_id(&token.grant_id));
    let identity = Identity {
        installation_id: &claim.installation.id,
        sender_id: sender,
        org_id: &grant.org_id,
        subject: &grant.subject,
        grant_id: &token.grant_id,
    };
    let (db, now) = (&call.db, call.now);
    let statements = || {
        let mut statements = vec![grants::link(db, &identity, now)?];
        match existing {
            Some(binding) if binding.open => {}
            Some(_) => statements.push(bindings::allow(
                db,
                &binding_id,
                sender,
                &grant.created_by,
                now,
                true,
            )?),
            None => {
                // This sender in this conversation (the most specific selector there is),
                // allowlist policy, allowing the sender.
                let selector = Selector {
                    conversation: claim.keys.conversation.map(str::to_owned),
                    peer: Some(sender.to_owned()),
                    team: None,
                };
                let allowlist = [sender.to_owned()];
                let row = BindingRow {
                    id: &binding_id,
                    installation_id: &claim.installation.id,
                    agent_id: &grant.agent_id,
                    selector: &selector,
                    priority: 0,
                    sender_policy: SenderPolicy::Allowlist,
                    allowlist: &allowlist,
                    fallback_installation_id: None,
                    created_by: &grant.created_by,
                };
                statements.extend(bindings::insert(db, &row, now, true)?);
            }
        }
        Ok(statements)
    };
    if decision == Decision::Repeat {
        d1::batch(&call.db, statements()?)
            .await
            .map_err(d1::internal)?;
        return Ok(binding_id);
    }
    let event = AuditEvent::new(
        format!("{}:{sender}", call.provider.as_str()),
        "install_token.claimed",
        &token.grant_id,
    )
    .with_detail(json!({
        "installation_id": claim.installation.id,
        "sender_id": sender,
        "subject": grant.subject,
        "agent_id": grant.agent_id,
        "binding_id": binding_id,
        "binding_created": existing.is_none(),
    }))
    .for_org(Some(&grant.org_id));
    ledger::commit(&call.db, &event, call.now, statements).await?;
    Ok(binding_id)
}

/// A refused claim: audited, and queued as `install_rejected` to the agent whose binding routes
/// the conversation, if one does, and only for the first refusal of this sender on this
/// installation in a while ([`first_notice`]): a stranger repeating `install:x` must not make
/// the agent receive (and perhaps answer) each one.
async fn rejected(
    call: &Call<'_>,
    claim: &Claim<'_>,
    token: Option<&Verified>,
    refusal: Refusal,
) -> Routed {
    let Some(binding) = resolve_binding(&claim.installation.bindings, &claim.keys) else {
        return Routed::Dropped(refusal.audit_reason());
    };
    let sender = claim.event.sender.as_ref().map_or("", |s| s.id.as_str());
    if !first_notice(call, &claim.installation.id, sender).await {
        call.count("install_rejected_repeat", 1);
        return Routed::Ignored;
    }
    call.audit(refusal.audit_reason());
    let routing = routing(claim, &binding.id, &binding.agent_id);
    let envelope = envelope::build_install(
        call.provider,
        &routing,
        claim.event,
        call.now,
        Install::rejected(token.map(|t| t.grant_id.as_str()), refusal),
    );
    Routed::Delivery(Delivery::of(envelope, &routing, claim.event, call.now))
}

/// How long a sender's refused claims on one installation reach the agent only once.
const NOTICE_SECONDS: u64 = 600;

thread_local! {
    /// Senders whose refusal reached the agent recently, by `installation:sender`.
    static NOTICED: RefCell<ExpiringMap<()>> = RefCell::new(ExpiringMap::new(4096));
}

/// True for the first refused claim of `sender` on `installation` in [`NOTICE_SECONDS`] within
/// this isolate, and at most one a minute across isolates (the `INSTALL_REJECTION_LIMIT`
/// binding, whose longest period is 60 s). No D1 write.
async fn first_notice(call: &Call<'_>, installation: &str, sender: &str) -> bool {
    let key = format!("{installation}:{sender}");
    let now = call.now;
    let seen = NOTICED.with(|noticed| noticed.borrow().get(&key, now).is_some());
    if seen {
        return false;
    }
    NOTICED.with(|noticed| {
        noticed
            .borrow_mut()
            .insert(key.clone(), (), now + NOTICE_SECONDS, now)
    });
    rate_limit::allows(call.env, "INSTALL_REJECTION_LIMIT", &key).await
}

fn routing(claim: &Claim<'_>, binding_id: &str, agent_id: &str) -> Routing {
    Routing {
        org_id: claim.installation.org_id.clone(),
        app_profile_id: claim.profile.id.clone(),
        installation_id: claim.installation.id.clone(),
        binding_id: binding_id.to_owned(),
        agent_id: agent_id.to_owned(),
    }
}
