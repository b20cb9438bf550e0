//! `/v1/installations`: create, rotate credentials. (List, get and revoke are in
//! [`super::collection`].)

use super::profiles::{provider_of, rotate_secrets};
use super::{collection, Call, Reply};
use crate::core::admin::{parse, NewInstallation};
use crate::core::api_error::ApiError;
use crate::core::route::Resource;
use crate::core::tenancy::{check_installation_org, ProfileKind, SecretOwner};
use crate::edge::secrets::{self, Owner};
use crate::edge::{d1, ledger, runtime};
use serde_json::{json, Value};

/// `POST /v1/installations`: only under an active profile, and under a BYOA profile only for
/// that profile's own org.
pub async fn create(call: &Call<'_>) -> Result<Reply, ApiError> {
    let body: NewInstallation = parse(&call.body)?;
    let profile =
        collection::find_active(call.db, Resource::AppProfiles, &body.app_profile_id).await?;
    let provider = provider_of(&profile)?;
    body.validate(provider)?;
    collection::find_active(call.db, Resource::Orgs, &body.org_id).await?;
    check_installation_org(kind_of(&profile), profile["org_id"].as_str(), &body.org_id)?;
    let ring = secrets::key_ring(call.env)?;
    let id = runtime::new_id("ins");
    let owner = Owner {
        table: "installations",
        id: &id,
    };
    let metadata = Value::Object(body.metadata.clone().unwrap_or_default()).to_string();
    let event = call.event("installation.create", &id).with_detail(json!({
        "app_profile_id": body.app_profile_id,
        "org_id": body.org_id,
        "tenant_key": body.tenant_key,
        "credentials": body.credentials.keys().collect::<Vec<_>>(),
    }));
    ledger::commit(call.db, &event, call.now, || {
        let mut statements = vec![d1::statement(
            call.db,
            "INSERT INTO installations (id, app_profile_id, org_id, tenant_key, metadata, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
            &[
                (&id).into(),
                (&body.app_profile_id).into(),
                (&body.org_id).into(),
                (&body.tenant_key).into(),
                (&metadata).into(),
                call.now.into(),
            ],
        )?];
        statements.extend(secrets::insert_all(call.db, &ring, owner, &body.credentials, call.now)?);
        Ok(statements)
    })
    .await?;
    Ok((
        201,
        collection::view(call.db, Resource::Installations, &id, call.now).await?,
    ))
}

/// `POST /v1/installations/{id}/rotate`
pub async fn rotate(call: &Call<'_>, id: &str) -> Result<Reply, ApiError> {
    let installation = collection::find_active(call.db, Resource::Installations, id).await?;
    let profile_id = installation["app_profile_id"].as_str().unwrap_or_default();
    let profile =
        collection::find(call.db, collection::spec(Resource::AppProfiles), profile_id).await?;
    let owner = Owner {
        table: "installations",
        id,
    };
    rotate_secrets(
        call,
        owner,
        provider_of(&profile)?,
        SecretOwner::Installation,
        "installation.rotate",
    )
    .await?;
    Ok((
        200,
        collection::view(call.db, Resource::Installations, id, call.now).await?,
    ))
}

/// The kind of an app profile row.
pub fn kind_of(profile: &Value) -> ProfileKind {
    if profile["kind"] == "byoa" {
        ProfileKind::Byoa
    } else {
        ProfileKind::Platform
    }
}
