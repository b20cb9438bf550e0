//! `/v1/bindings`: create, and each binding's sender allowlist. (List, get and revoke are in
//! [`super::collection`].)

use super::collection::{self, kind_of, provider_of};
use super::{Call, Reply};
use crate::core::admin::{parse, NewAllowlistEntry, NewBinding};
use crate::core::api_error::ApiError;
use crate::core::authority;
use crate::core::json;
use crate::core::route::Resource;
use crate::core::tenancy::{check_fallback, FallbackTarget, ProfileKind, Provider};
use crate::edge::runtime;
use crate::edge::store::bindings::{self, allowlist_of, BindingRow};
use crate::edge::store::ledger;
use serde_json::{json, Value};

/// `POST /v1/bindings`: on an installation and for an agent within the caller's reach.
pub async fn create(call: &Call<'_>) -> Result<Reply, ApiError> {
    let body: NewBinding = parse(&call.body)?;
    body.validate()?;
    let installation =
        collection::find_active(call, Resource::Installations, &body.installation_id).await?;
    authority::require_agent(&call.caller, &body.agent_id)?;
    let (kind, provider) = profile_of(call, &installation).await?;
    let fallback = match &body.fallback_installation_id {
        Some(id) => Some(fallback_target(call, id, &installation).await?),
        None => None,
    };
    check_fallback(kind, provider, fallback)?;
    let id = runtime::new_id("bnd")?;
    let event = call
        .event("binding.create", &id)
        .with_detail(json!({
            "installation_id": body.installation_id,
            "agent_id": body.agent_id,
            "selector": body.selector,
            "sender_policy": body.sender_policy.as_str(),
            "allowlist": body.allowlist,
            "fallback_installation_id": body.fallback_installation_id,
        }))
        .for_org(json::at(&installation, "/org_id").as_str());
    let row = BindingRow {
        id: &id,
        installation_id: &body.installation_id,
        agent_id: &body.agent_id,
        selector: &body.selector,
        priority: body.priority,
        sender_policy: body.sender_policy,
        allowlist: &body.allowlist,
        fallback_installation_id: body.fallback_installation_id.as_deref(),
        created_by: &call.caller.principal_id,
    };
    ledger::commit(call.db, &event, call.now, || {
        bindings::insert(call.db, &row, call.now, false)
    })
    .await?;
    Ok((201, collection::view(call, Resource::Bindings, &id).await?))
}

/// The kind and provider of an installation row's app profile.
async fn profile_of(
    call: &Call<'_>,
    installation: &Value,
) -> Result<(ProfileKind, Provider), ApiError> {
    let profile_id = installation["app_profile_id"].as_str().unwrap_or_default();
    let profile = collection::find(call, Resource::AppProfiles, profile_id).await?;
    Ok((kind_of(&profile), provider_of(&profile)?))
}

/// What fallback installation `id` is, for a binding on installation `own`.
async fn fallback_target(
    call: &Call<'_>,
    id: &str,
    own: &Value,
) -> Result<FallbackTarget, ApiError> {
    let installation = collection::find(call, Resource::Installations, id).await?;
    let (kind, provider) = profile_of(call, &installation).await?;
    Ok(FallbackTarget {
        provider,
        kind,
        active: json::at(&installation, "/status") == "active",
        same_org: json::at(&installation, "/org_id") == json::at(own, "/org_id"),
    })
}

/// `GET /v1/bindings/{id}/allowlist`
pub async fn allowlist(call: &Call<'_>, id: &str) -> Result<Reply, ApiError> {
    collection::find(call, Resource::Bindings, id).await?;
    Ok((200, json!({ "items": allowlist_of(call.db, id).await? })))
}

/// `POST /v1/bindings/{id}/allowlist`: allowing a sender twice is a conflict.
pub async fn allow(call: &Call<'_>, id: &str) -> Result<Reply, ApiError> {
    let body: NewAllowlistEntry = parse(&call.body)?;
    body.validate()?;
    let binding = collection::find_active(call, Resource::Bindings, id).await?;
    let event = call
        .event("binding.allow", id)
        .with_detail(json!({ "sender_id": body.sender_id }))
        .for_org(json::at(&binding, "/org_id").as_str());
    ledger::commit(call.db, &event, call.now, || {
        Ok(vec![bindings::allow(
            call.db,
            id,
            &body.sender_id,
            &call.caller.principal_id,
            call.now,
            false,
        )?])
    })
    .await?;
    Ok((201, json!({ "items": allowlist_of(call.db, id).await? })))
}

/// `DELETE /v1/bindings/{id}/allowlist/{sender_id}`
pub async fn disallow(call: &Call<'_>, id: &str, sender: &str) -> Result<Reply, ApiError> {
    let binding = collection::find(call, Resource::Bindings, id).await?;
    if !bindings::is_allowed(call.db, id, sender).await? {
        return Err(ApiError::NoSuch {
            what: "allowlist entry",
            id: format!("{id}/{sender}"),
        });
    }
    let event = call
        .event("binding.disallow", id)
        .with_detail(json!({ "sender_id": sender }))
        .for_org(json::at(&binding, "/org_id").as_str());
    ledger::commit(call.db, &event, call.now, || {
        Ok(vec![bindings::disallow(call.db, id, sender)?])
    })
    .await?;
    Ok((200, json!({ "items": allowlist_of(call.db, id).await? })))
}
