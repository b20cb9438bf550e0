//! `/v1/installations`: create, rotate credentials. (List, get and revoke are in
//! [`super::collection`].)

use super::profiles::{provider_of, rotate_secrets, Rotation};
use super::{collection, Call, Reply};
use crate::core::admin::{parse, NewInstallation, Secrets};
use crate::core::api_error::ApiError;
use crate::core::json;
use crate::core::route::Resource;
use crate::core::seal::KeyRing;
use crate::core::tenancy::{check_installation_org, ProfileKind, SecretOwner};
use crate::edge::secrets::{self, Owner};
use crate::edge::{d1, ledger, runtime};
use serde_json::{json, Value};
use worker::{D1Database, D1PreparedStatement};

/// `POST /v1/installations`: only under an active profile, and under a BYOA profile only for
/// that profile's own org.
pub async fn create(call: &Call<'_>) -> Result<Reply, ApiError> {
    let body: NewInstallation = parse(&call.body)?;
    body.validate_shape()?;
    let profile =
        collection::find_active(call, Resource::AppProfiles, &body.app_profile_id).await?;
    let provider = provider_of(&profile)?;
    body.check_credentials(provider)?;
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
    let row = NewRow {
        id: &id,
        app_profile_id: &body.app_profile_id,
        org_id: &body.org_id,
        tenant_key: &body.tenant_key,
        metadata: &metadata,
        credentials: &body.credentials,
    };
    ledger::commit(call.db, &event, call.now, || {
        insert(call.db, &ring, &row, call.now)
    })
    .await?;
    Ok((
        201,
        collection::view(call, Resource::Installations, &id).await?,
    ))
}

/// An installation to insert.
pub struct NewRow<'a> {
    /// Its new id.
    pub id: &'a str,
    /// Its app profile.
    pub app_profile_id: &'a str,
    /// Its org.
    pub org_id: &'a str,
    /// The provider's id for the tenant (workspace, bot, phone number).
    pub tenant_key: &'a str,
    /// Non-secret provider facts, as JSON text.
    pub metadata: &'a str,
    /// Credentials, sealed on insert.
    pub credentials: &'a Secrets,
}

/// The statements that insert `row` and its sealed credentials (for one ledger batch).
pub fn insert(
    db: &D1Database,
    ring: &KeyRing,
    row: &NewRow<'_>,
    now: u64,
) -> Result<Vec<D1PreparedStatement>, ApiError> {
    // The org and app profile are read again in this same transaction: when either was revoked
    // since it was checked, its subquery is NULL and the NOT NULL column fails the whole batch
    // (`ledger` reports it as `TenancyError::OwnerRevoked`).
    let mut statements = vec![d1::statement(
        db,
        "INSERT INTO installations (id, app_profile_id, org_id, tenant_key, metadata, created_at, updated_at) \
         VALUES (?1, (SELECT id FROM app_profiles WHERE id = ?2 AND status = 'active'), \
         (SELECT id FROM orgs WHERE id = ?3 AND status = 'active'), ?4, ?5, ?6, ?6)",
        &[
            row.id.into(),
            row.app_profile_id.into(),
            row.org_id.into(),
            row.tenant_key.into(),
            row.metadata.into(),
            now.into(),
        ],
    )?];
    let owner = Owner {
        table: "installations",
        id: row.id,
    };
    statements.extend(secrets::insert_all(db, ring, owner, row.credentials, now)?);
    Ok(statements)
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

/// The kind of an app profile row.
pub fn kind_of(profile: &Value) -> ProfileKind {
    if profile["kind"] == "byoa" {
        ProfileKind::Byoa
    } else {
        ProfileKind::Platform
    }
}
