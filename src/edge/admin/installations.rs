//! `/v1/installations`: create, rotate credentials. (List, get and revoke are in
//! [`super::collection`].)

use super::collection::{self, kind_of, provider_of};
use super::profiles::{rotate_secrets, Rotation};
use super::{Call, Reply};
use crate::core::admin::{parse, NewInstallation};
use crate::core::api_error::ApiError;
use crate::core::json;
use crate::core::route::Resource;
use crate::core::tenancy::{check_installation_org, Provider, SecretOwner};
use crate::edge::runtime;
use crate::edge::store::secrets::{self, Owner};
use crate::edge::store::tenancy::{insert_installation, InstallationRow};
use crate::edge::store::{d1, ledger};
use serde_json::{json, Value};

/// `POST /v1/installations`: only under an active profile, and under a BYOA profile only for
/// that profile's own org.
pub async fn create(call: &Call<'_>) -> Result<Reply, ApiError> {
    let body: NewInstallation = parse(&call.body)?;
    body.validate_shape()?;
    let profile =
        collection::find_active(call, Resource::AppProfiles, &body.app_profile_id).await?;
    let provider = provider_of(&profile)?;
    body.check_credentials(provider)?;
    if provider == Provider::Email {
        address_is_free(call, &body.tenant_key).await?;
    }
    collection::find_active(call, Resource::Orgs, &body.org_id).await?;
    check_installation_org(
        kind_of(&profile),
        json::at(&profile, "/org_id").as_str(),
        &body.org_id,
    )?;
    let ring = secrets::key_ring(call.env)?;
    let id = runtime::new_id("ins")?;
    let metadata = Value::Object(body.metadata.clone().unwrap_or_default()).to_string();
    let event = call
        .event("installation.create", &id)
        .with_detail(json!({
            "app_profile_id": body.app_profile_id,
            "org_id": body.org_id,
            "tenant_key": body.tenant_key,
            "credentials": body.credentials.keys().collect::<Vec<_>>(),
        }))
        .for_org(Some(&body.org_id));
    let row = InstallationRow {
        id: &id,
        app_profile_id: &body.app_profile_id,
        org_id: &body.org_id,
        tenant_key: &body.tenant_key,
        metadata: &metadata,
        credentials: &body.credentials,
    };
    ledger::commit(call.db, &event, call.now, || {
        insert_installation(call.db, &ring, &row, call.now)
    })
    .await?;
    Ok((
        201,
        collection::view(call, Resource::Installations, &id).await?,
    ))
}

/// An address receives mail for one installation only, whatever its app profile or org: 409
/// when an active email installation has it already.
async fn address_is_free(call: &Call<'_>, address: &str) -> Result<(), ApiError> {
    let sql = "SELECT id FROM installations WHERE status = 'active' AND tenant_key = ?1 \
               AND app_profile_id IN (SELECT id FROM app_profiles WHERE provider = 'email')";
    let taken: Option<Value> = d1::first(call.db, sql, &[address.into()]).await?;
    match taken {
        Some(_) => Err(ApiError::Conflict {
            message: format!("an active email installation already receives mail for {address}"),
        }),
        None => Ok(()),
    }
}

/// `POST /v1/installations/{id}/rotate`
pub async fn rotate(call: &Call<'_>, id: &str) -> Result<Reply, ApiError> {
    let installation = collection::find_active(call, Resource::Installations, id).await?;
    let profile_id = json::at(&installation, "/app_profile_id")
        .as_str()
        .unwrap_or_default();
    let profile = collection::find(call, Resource::AppProfiles, profile_id).await?;
    let owner = Owner {
        table: "installations",
        id,
    };
    let rotation = Rotation {
        provider: provider_of(&profile)?,
        kind: SecretOwner::Installation,
        action: "installation.rotate",
        org_id: json::at(&installation, "/org_id").as_str(),
    };
    rotate_secrets(call, owner, &rotation).await?;
    Ok((
        200,
        collection::view(call, Resource::Installations, id).await?,
    ))
}
