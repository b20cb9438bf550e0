//! Service principals: what a token's verifier reads, and the rows the admin API writes.

use super::d1;
use crate::core::api_error::ApiError;
use crate::core::auth::{Principal, ScopeSet};
use crate::core::authority::Restriction;
use crate::core::json;
use serde_json::Value;
use worker::{D1Database, D1PreparedStatement};

/// The principal a token names, as the verifier needs it.
pub async fn load(db: &D1Database, id: &str) -> Result<Option<Principal>, ApiError> {
    #[derive(serde::Deserialize)]
    struct Row {
        id: String,
        public_key: String,
        scopes: String,
        status: String,
        expires_at: Option<u64>,
        org_ids: Option<String>,
        agent_ids: Option<String>,
    }
    let row: Option<Row> = d1::first(
        db,
        "SELECT id, public_key, scopes, status, expires_at, org_ids, agent_ids \
         FROM principals WHERE id = ?1",
        &[id.into()],
    )
    .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(Principal {
        id: row.id,
        public_key: row.public_key,
        scopes: ScopeSet::parse(&row.scopes).unwrap_or_default(),
        active: row.status == "active",
        expires_at: row.expires_at,
        restriction: Restriction::from_columns(row.org_ids.as_deref(), row.agent_ids.as_deref()),
    }))
}

/// A principal to insert.
pub struct PrincipalRow<'a> {
    /// Its new id.
    pub id: &'a str,
    /// Its name.
    pub name: &'a str,
    /// Its Ed25519 public key.
    pub public_key: &'a str,
    /// Its scopes, space-separated.
    pub scopes: &'a str,
    /// The orgs it is restricted to (a JSON array), if restricted.
    pub org_ids: Option<&'a str>,
    /// The agents it is restricted to (a JSON array), if restricted.
    pub agent_ids: Option<&'a str>,
    /// The end of its validity.
    pub expires_at: Option<u64>,
    /// The principal that made it.
    pub created_by: &'a str,
}

/// The statement that inserts `row`.
pub fn insert(
    db: &D1Database,
    row: &PrincipalRow<'_>,
    now: u64,
) -> Result<D1PreparedStatement, ApiError> {
    d1::statement(
        db,
        "INSERT INTO principals (id, name, public_key, scopes, org_ids, agent_ids, expires_at, \
         created_by, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
        &[
            row.id.into(),
            row.name.into(),
            row.public_key.into(),
            row.scopes.into(),
            row.org_ids.into(),
            row.agent_ids.into(),
            row.expires_at.into(),
            row.created_by.into(),
            now.into(),
        ],
    )
}

/// The statement that replaces principal `id`'s public key.
pub fn set_key(
    db: &D1Database,
    id: &str,
    public_key: &str,
    now: u64,
) -> Result<D1PreparedStatement, ApiError> {
    d1::statement(
        db,
        "UPDATE principals SET public_key = ?2, updated_at = ?3 WHERE id = ?1",
        &[id.into(), public_key.into(), now.into()],
    )
}

/// The first org of `org_ids` (a JSON array) that does not exist, if any.
pub async fn first_missing_org(db: &D1Database, org_ids: &str) -> Result<Option<String>, ApiError> {
    let missing: Option<Value> = d1::first(
        db,
        "SELECT value AS id FROM json_each(?1) WHERE value NOT IN (SELECT id FROM orgs) LIMIT 1",
        &[org_ids.into()],
    )
    .await?;
    Ok(missing.map(|row| {
        json::at(&row, "/id")
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }))
}
