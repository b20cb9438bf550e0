//! `/v1/principals`: create, rotate key, revoke. (List and get are in [`super::collection`].)
//!
//! Who may do what to which principal is [`crate::core::authority`]: the caller's token must
//! hold every scope the target holds and the target must be within the caller's restriction;
//! anyone may rotate their own key.

use super::{collection, Call, Reply};
use crate::core::admin::{parse, NewPrincipal, RotateKey};
use crate::core::api_error::ApiError;
use crate::core::auth::{Scope, ScopeSet};
use crate::core::authority::{self, Grant, PrincipalChange, Restriction};
use crate::core::json;
use crate::core::route::Resource;
use crate::edge::runtime;
use crate::edge::store::ledger;
use crate::edge::store::principals::{self, PrincipalRow};
use serde_json::json;

/// `POST /v1/principals`: at most the caller's scopes, reach and lifetime.
pub async fn create(call: &Call<'_>) -> Result<Reply, ApiError> {
    let body: NewPrincipal = parse(&call.body)?;
    let request = body.validate(call.now)?;
    let (grant, expires_at) = authority::new_principal_terms(
        &call.caller,
        request.scopes,
        request.org_ids,
        request.agent_ids,
        body.expires_at,
    )?;
    let (org_ids, agent_ids) = grant.restriction.to_columns();
    if let Some(orgs) = &org_ids {
        require_orgs(call, orgs).await?;
    }
    let id = runtime::new_id("prn")?;
    let event = call.event("principal.create", &id).with_detail(json!({
        "name": body.name,
        "scopes": grant.scopes.to_string(),
        "org_ids": grant.restriction.org_ids,
        "agent_ids": grant.restriction.agent_ids,
        "expires_at": expires_at,
    }));
    let scopes = grant.scopes.to_string();
    let row = PrincipalRow {
        id: &id,
        name: &body.name,
        public_key: &body.public_key,
        scopes: &scopes,
        org_ids: org_ids.as_deref(),
        agent_ids: agent_ids.as_deref(),
        expires_at,
        created_by: &call.caller.principal_id,
    };
    ledger::commit(call.db, &event, call.now, || {
        Ok(vec![principals::insert(call.db, &row, call.now)?])
    })
    .await?;
    Ok((
        201,
        collection::view(call, Resource::Principals, &id).await?,
    ))
}

/// 404 naming the first org of `org_ids` (a JSON array) that does not exist.
async fn require_orgs(call: &Call<'_>, org_ids: &str) -> Result<(), ApiError> {
    match principals::first_missing_org(call.db, org_ids).await? {
        Some(id) => Err(ApiError::NoSuch { what: "org", id }),
        None => Ok(()),
    }
}

/// `POST /v1/principals/{id}/rotate`: replaces the public key; tokens of the old key stop working.
pub async fn rotate(call: &Call<'_>, id: &str) -> Result<Reply, ApiError> {
    let body: RotateKey = parse(&call.body)?;
    body.validate()?;
    let target = target(call, id).await?;
    authority::check_principal_change(&call.caller, id, &target, PrincipalChange::RotateKey)?;
    let event = call.event("principal.rotate", id);
    ledger::commit(call.db, &event, call.now, || {
        Ok(vec![principals::set_key(
            call.db,
            id,
            &body.public_key,
            call.now,
        )?])
    })
    .await?;
    Ok((200, collection::view(call, Resource::Principals, id).await?))
}

/// `POST /v1/principals/{id}/revoke`: its tokens stop working at once.
pub async fn revoke(call: &Call<'_>, id: &str) -> Result<Reply, ApiError> {
    let target = target(call, id).await?;
    authority::check_principal_change(&call.caller, id, &target, PrincipalChange::Revoke)?;
    collection::mark_revoked(call, Resource::Principals, id, None).await?;
    Ok((200, collection::view(call, Resource::Principals, id).await?))
}

/// What active principal `id` holds (404 when out of the caller's reach, 409 when revoked).
async fn target(call: &Call<'_>, id: &str) -> Result<Grant, ApiError> {
    let row = collection::find_active(call, Resource::Principals, id).await?;
    Ok(Grant {
        // A stored grant that does not parse holds everything: only `*` may change it.
        scopes: ScopeSet::parse(json::at(&row, "/scopes").as_str().unwrap_or_default())
            .unwrap_or_else(|_| [Scope::All].into_iter().collect()),
        restriction: Restriction::from_columns(
            json::at(&row, "/org_ids").as_str(),
            json::at(&row, "/agent_ids").as_str(),
        ),
    })
}
