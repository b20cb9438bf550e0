//! Orgs, app profiles and installations: the rows the admin API and the binding sessions make,
//! with their sealed secrets ([`super::secrets`]), and the installations a deep link can name.

use super::d1;
use super::secrets::{self, Owner};
use crate::core::admin::Secrets;
use crate::core::api_error::ApiError;
use crate::core::seal::KeyRing;
use crate::core::tenancy::{ProfileKind, Provider};
use serde_json::Value;
use worker::{D1Database, D1PreparedStatement};

/// The statement that inserts org `id` named `name`.
pub fn insert_org(
    db: &D1Database,
    id: &str,
    name: &str,
    now: u64,
) -> Result<D1PreparedStatement, ApiError> {
    d1::statement(
        db,
        "INSERT INTO orgs (id, name, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)",
        &[id.into(), name.into(), now.into()],
    )
}

/// An app profile to insert.
pub struct ProfileRow<'a> {
    /// Its new id.
    pub id: &'a str,
    /// Its provider.
    pub provider: Provider,
    /// Platform-owned or BYOA.
    pub kind: ProfileKind,
    /// The owning org (BYOA only).
    pub org_id: Option<&'a str>,
    /// The provider's app id.
    pub provider_app_id: &'a str,
    /// Its name.
    pub name: &'a str,
    /// Its secrets, sealed on insert.
    pub secrets: &'a Secrets,
}

/// The statements that insert `row` and its sealed secrets (for one ledger batch).
pub fn insert_profile(
    db: &D1Database,
    ring: &KeyRing,
    row: &ProfileRow<'_>,
    now: u64,
) -> Result<Vec<D1PreparedStatement>, ApiError> {
    let mut statements = vec![d1::statement(
        db,
        "INSERT INTO app_profiles (id, provider, kind, org_id, provider_app_id, name, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
        &[
            row.id.into(),
            row.provider.as_str().into(),
            row.kind.as_str().into(),
            row.org_id.into(),
            row.provider_app_id.into(),
            row.name.into(),
            now.into(),
        ],
    )?];
    let owner = Owner {
        table: "app_profiles",
        id: row.id,
    };
    statements.extend(secrets::insert_all(db, ring, owner, row.secrets, now)?);
    Ok(statements)
}

/// An installation to insert.
pub struct InstallationRow<'a> {
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
pub fn insert_installation(
    db: &D1Database,
    ring: &KeyRing,
    row: &InstallationRow<'_>,
    now: u64,
) -> Result<Vec<D1PreparedStatement>, ApiError> {
    // The org and app profile are read again in this same transaction: when either was revoked
    // since it was checked, its subquery is NULL and the NOT NULL column fails the whole batch
    // (`ledger` reports it as `TenancyError::OwnerRevoked`). So is an email address another
    // email installation took meanwhile (one installation per address, whatever its profile).
    let mut statements = vec![d1::statement(
        db,
        "INSERT INTO installations (id, app_profile_id, org_id, tenant_key, metadata, created_at, updated_at) \
         VALUES (?1, (SELECT id FROM app_profiles WHERE id = ?2 AND status = 'active' \
         AND (provider != 'email' OR NOT EXISTS (SELECT 1 FROM installations WHERE status = 'active' \
         AND tenant_key = ?4 AND app_profile_id IN (SELECT id FROM app_profiles WHERE provider = 'email')))), \
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

/// An active installation that deep links can be made to.
pub struct Linkable {
    /// Its provider's name.
    pub provider: String,
    /// The provider's id for the bot or number.
    pub tenant_key: String,
    /// Its non-secret provider facts (which name the bot or number).
    pub metadata: Value,
}

/// `org_id`'s active installations under active app profiles of `providers`, oldest first:
/// what deep links are made from.
pub async fn linkable_installations(
    db: &D1Database,
    org_id: &str,
    app_profile_id: Option<&str>,
    providers: &[Provider],
) -> Result<Vec<Linkable>, ApiError> {
    let names: Vec<&str> = providers.iter().map(|p| p.as_str()).collect();
    let rows = d1::rows(
        db,
        "SELECT p.provider AS provider, i.tenant_key AS tenant_key, i.metadata AS metadata \
         FROM installations i JOIN app_profiles p ON p.id = i.app_profile_id \
         WHERE i.org_id = ?1 AND i.status = 'active' AND p.status = 'active' \
         AND p.provider IN (SELECT value FROM json_each(?2)) \
         AND (?3 IS NULL OR i.app_profile_id = ?3) ORDER BY i.created_at, i.id",
        &[
            org_id.into(),
            serde_json::json!(names).to_string().into(),
            app_profile_id.into(),
        ],
    )
    .await?;
    Ok(rows
        .iter()
        .filter_map(|row| {
            Some(Linkable {
                provider: row["provider"].as_str()?.to_owned(),
                tenant_key: row["tenant_key"].as_str()?.to_owned(),
                metadata: serde_json::from_str(row["metadata"].as_str()?).ok()?,
            })
        })
        .collect())
}
