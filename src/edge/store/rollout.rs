//! Rollout flags (`*` and one per provider) as the admin API reads and writes them. (The
//! webhook path reads them with the directory, [`super::directory`].)

use super::d1;
use crate::core::api_error::ApiError;
use crate::core::json;
use crate::core::tenancy::Stage;
use serde_json::Value;
use worker::{D1Database, D1PreparedStatement};

const COLUMNS: &str = "key, stage, canary_org_ids, reason, updated_by, updated_at";

/// Every flag that was set, by key.
pub async fn all(db: &D1Database) -> Result<Vec<Value>, ApiError> {
    d1::rows(
        db,
        &format!("SELECT {COLUMNS} FROM rollout_flags ORDER BY key"),
        &[],
    )
    .await
}

/// The flag `key`, if it was set.
pub async fn get(db: &D1Database, key: &str) -> Result<Option<Value>, ApiError> {
    let sql = format!("SELECT {COLUMNS} FROM rollout_flags WHERE key = ?1");
    d1::first(db, &sql, &[key.into()]).await
}

/// The stage of flag `key`, if it was set.
pub async fn stage(db: &D1Database, key: &str) -> Result<Option<Stage>, ApiError> {
    let row = get(db, key).await?;
    Ok(row.and_then(|row| serde_json::from_value(json::at(&row, "/stage").clone()).ok()))
}

/// A flag's new value.
pub struct FlagRow<'a> {
    /// `*` or a provider.
    pub key: &'a str,
    /// The stage's name.
    pub stage: &'a str,
    /// The canary orgs, as a JSON array.
    pub canary_org_ids: &'a str,
    /// Why.
    pub reason: Option<&'a str>,
    /// Who.
    pub updated_by: &'a str,
}

/// The statement that sets `flag`.
pub fn set(db: &D1Database, flag: &FlagRow<'_>, now: u64) -> Result<D1PreparedStatement, ApiError> {
    d1::statement(
        db,
        "INSERT INTO rollout_flags (key, stage, canary_org_ids, reason, updated_by, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (key) DO UPDATE SET stage = ?2, canary_org_ids = ?3, reason = ?4, \
         updated_by = ?5, updated_at = ?6",
        &[
            flag.key.into(),
            flag.stage.into(),
            flag.canary_org_ids.into(),
            flag.reason.into(),
            flag.updated_by.into(),
            now.into(),
        ],
    )
}
