//! `/v1/bindings`: create, and each binding's sender allowlist. (List, get and revoke are in
//! [`super::collection`].)

use super::installations::kind_of;
use super::profiles::provider_of;
use super::{collection, Call, Reply};
use crate::core::admin::{parse, NewAllowlistEntry, NewBinding, SenderPolicy};
use crate::core::api_error::ApiError;
use crate::core::authority;
use crate::core::json;
use crate::core::route::Resource;
use crate::core::tenancy::{check_fallback, FallbackTarget, ProfileKind, Provider, Selector};
use crate::edge::{d1, ledger, runtime};
use serde_json::{json, Value};
use worker::{D1Database, D1PreparedStatement};

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
    let row = NewRow {
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
        insert(call.db, &row, call.now)
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

/// A binding to insert.
pub struct NewRow<'a> {
    /// Its new id.
    pub id: &'a str,
    /// The installation whose traffic it routes.
    pub installation_id: &'a str,
    /// The agent that receives it.
    pub agent_id: &'a str,
    /// Its route selector.
    pub selector: &'a Selector,
    /// Its priority.
    pub priority: i64,
    /// Who may talk to the agent.
    pub sender_policy: SenderPolicy,
    /// Allowed sender ids.
    pub allowlist: &'a [String],
    /// The platform installation to fall back to, if any.
    pub fallback_installation_id: Option<&'a str>,
    /// The principal that made it.
    pub created_by: &'a str,
}

/// The statements that insert `row` and its allowlist (for one ledger batch).
pub fn insert(
    db: &D1Database,
    row: &NewRow<'_>,
    now: u64,
) -> Result<Vec<D1PreparedStatement>, ApiError> {
    let mut statements = vec![d1::statement(
        db,
        "INSERT INTO bindings (id, installation_id, agent_id, conversation_id, peer_id, team_id, priority, \
         sender_policy, fallback_installation_id, created_by, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)",
        &[
            row.id.into(),
            row.installation_id.into(),
            row.agent_id.into(),
            row.selector.conversation.as_deref().into(),
            row.selector.peer.as_deref().into(),
            row.selector.team.as_deref().into(),
            row.priority.into(),
            row.sender_policy.as_str().into(),
            row.fallback_installation_id.into(),
            row.created_by.into(),
            now.into(),
        ],
    )?];
    for sender in row.allowlist {
        statements.push(insert_entry(db, row.id, sender, row.created_by, now)?);
    }
    Ok(statements)
}

fn insert_entry(
    db: &D1Database,
    binding_id: &str,
    sender: &str,
    created_by: &str,
    now: u64,
) -> Result<D1PreparedStatement, ApiError> {
    d1::statement(
        db,
        "INSERT INTO allowlist_entries (binding_id, sender_id, created_by, created_at) VALUES (?1, ?2, ?3, ?4)",
        &[binding_id.into(), sender.into(), created_by.into(), now.into()],
    )
}

/// The sender ids on a binding's allowlist, in order.
pub async fn allowlist_of(db: &D1Database, binding_id: &str) -> Result<Value, ApiError> {
    let rows = d1::rows(
        db,
        "SELECT sender_id FROM allowlist_entries WHERE binding_id = ?1 ORDER BY sender_id",
        &[binding_id.into()],
    )
    .await?;
    Ok(Value::Array(
        rows.into_iter()
            .map(|row| json::at(&row, "/sender_id").clone())
            .collect(),
    ))
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
        Ok(vec![insert_entry(
            call.db,
            id,
            &body.sender_id,
            &call.caller.principal_id,
            call.now,
        )?])
    })
    .await?;
    Ok((201, json!({ "items": allowlist_of(call.db, id).await? })))
}

/// `DELETE /v1/bindings/{id}/allowlist/{sender_id}`
pub async fn disallow(call: &Call<'_>, id: &str, sender: &str) -> Result<Reply, ApiError> {
    let binding = collection::find(call, Resource::Bindings, id).await?;
    let listed: Option<Value> = d1::first(
        call.db,
        "SELECT sender_id FROM allowlist_entries WHERE binding_id = ?1 AND sender_id = ?2",
        &[id.into(), sender.into()],
    )
    .await?;
    if listed.is_none() {
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
        Ok(vec![d1::statement(
            call.db,
            "DELETE FROM allowlist_entries WHERE binding_id = ?1 AND sender_id = ?2",
            &[id.into(), sender.into()],
        )?])
    })
    .await?;
    Ok((200, json!({ "items": allowlist_of(call.db, id).await? })))
}
