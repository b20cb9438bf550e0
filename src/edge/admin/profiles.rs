//! `/v1/app-profiles`: create, rotate secrets, a Slack profile's app manifest; and re-sealing
//! every secret under a new master key. (List, get and revoke are in [`super::collection`].)

use super::collection::{self, provider_of};
use super::{Call, Reply};
use crate::core::admin::{parse, NewAppProfile, RotateSecrets};
use crate::core::api_error::ApiError;
use crate::core::authority;
use crate::core::json;
use crate::core::route::Resource;
use crate::core::slack_manifest::{self, Profile};
use crate::core::tenancy::{Provider, SecretOwner};
use crate::edge::http::base_url;
use crate::edge::runtime;
use crate::edge::store::ledger;
use crate::edge::store::secrets::{self, Owner};
use crate::edge::store::tenancy::{insert_profile, ProfileRow};
use serde_json::json;

/// `POST /v1/app-profiles`: the profile and its sealed secrets, in one transaction.
pub async fn create(call: &Call<'_>) -> Result<Reply, ApiError> {
    let body: NewAppProfile = parse(&call.body)?;
    body.validate()?;
    match &body.org_id {
        Some(org_id) => {
            collection::find_active(call, Resource::Orgs, org_id).await?;
        }
        None => authority::require_unrestricted(&call.caller, "creating a platform app profile")?,
    }
    let ring = secrets::key_ring(call.env)?;
    let id = runtime::new_id("app")?;
    let event = call
        .event("app_profile.create", &id)
        .with_detail(json!({
            "provider": body.provider.as_str(),
            "kind": body.kind.as_str(),
            "org_id": body.org_id,
            "secrets": body.secrets.keys().collect::<Vec<_>>(),
        }))
        .for_org(body.org_id.as_deref());
    let row = ProfileRow {
        id: &id,
        provider: body.provider,
        kind: body.kind,
        org_id: body.org_id.as_deref(),
        provider_app_id: &body.provider_app_id,
        name: &body.name,
        secrets: &body.secrets,
    };
    ledger::commit(call.db, &event, call.now, || {
        insert_profile(call.db, &ring, &row, call.now)
    })
    .await?;
    Ok((
        201,
        collection::view(call, Resource::AppProfiles, &id).await?,
    ))
}

/// `POST /v1/app-profiles/{id}/rotate` (a platform profile only by an unrestricted caller)
pub async fn rotate(call: &Call<'_>, id: &str) -> Result<Reply, ApiError> {
    let row = collection::find_active(call, Resource::AppProfiles, id).await?;
    collection::check_profile_change(call, &row)?;
    let owner = Owner {
        table: "app_profiles",
        id,
    };
    let rotation = Rotation {
        provider: provider_of(&row)?,
        kind: SecretOwner::Profile,
        action: "app_profile.rotate",
        org_id: json::at(&row, "/org_id").as_str(),
    };
    rotate_secrets(call, owner, &rotation).await?;
    Ok((
        200,
        collection::view(call, Resource::AppProfiles, id).await?,
    ))
}

/// `GET /v1/app-profiles/{id}/slack-manifest`: the Slack app manifest of an active Slack
/// profile within the caller's reach ([`slack_manifest::manifest`]), its URLs under
/// `PUBLIC_BASE_URL`. Another provider's profile is 422; a revoked one 409.
pub async fn slack_manifest(call: &Call<'_>, id: &str) -> Result<Reply, ApiError> {
    let row = collection::find_active(call, Resource::AppProfiles, id).await?;
    let profile = Profile {
        id,
        provider: provider_of(&row)?,
        name: json::at(&row, "/name").as_str().unwrap_or_default(),
    };
    let manifest = slack_manifest::manifest(&profile, &base_url(call.env, "PUBLIC_BASE_URL"))?;
    Ok((200, manifest))
}

/// What a secret rotation replaces and how it is audited.
pub struct Rotation<'a> {
    /// The provider, whose secret names apply.
    pub provider: Provider,
    /// Profile secrets or installation credentials.
    pub kind: SecretOwner,
    /// The audit action.
    pub action: &'a str,
    /// The org the owner belongs to, if any.
    pub org_id: Option<&'a str>,
}

/// Replaces secrets of `owner`: each replaced value keeps verifying until the grace period ends.
pub async fn rotate_secrets(
    call: &Call<'_>,
    owner: Owner<'_>,
    rotation: &Rotation<'_>,
) -> Result<(), ApiError> {
    let Rotation {
        provider,
        kind,
        action,
        org_id,
    } = *rotation;
    let body: RotateSecrets = parse(&call.body)?;
    let grace = body.validate(provider, kind)?;
    let ring = secrets::key_ring(call.env)?;
    let until = call.now + grace;
    let event = call
        .event(action, owner.id)
        .with_detail(json!({
            "secrets": body.secrets.keys().collect::<Vec<_>>(),
            "grace_seconds": grace,
        }))
        .for_org(org_id);
    ledger::commit(call.db, &event, call.now, || {
        let mut statements = Vec::new();
        for (name, value) in &body.secrets {
            statements.push(secrets::retire(call.db, owner, name, until)?);
            statements.push(secrets::insert(
                call.db, &ring, owner, name, &value.0, call.now,
            )?);
        }
        Ok(statements)
    })
    .await?;
    Ok(())
}

/// `POST /v1/master-key/rotate`: re-seals every secret under the current master key, so the
/// previous key can then be removed from `MASTER_KEYS`.
pub async fn reseal_all(call: &Call<'_>) -> Result<Reply, ApiError> {
    authority::require_unrestricted(&call.caller, "rotating the master key")?;
    let ring = secrets::key_ring(call.env)?;
    let counts = secrets::reseal_all(call.db, &ring).await?;
    let detail = json!({
        "current_key_id": ring.current().id,
        "resealed": counts.resealed,
        "already_current": counts.already_current,
    });
    let event = call
        .event("master_key.rotate", "secrets")
        .with_detail(detail.clone());
    ledger::record(call.db, &event, call.now).await?;
    Ok((200, detail))
}
