//! Sealed secrets in D1: writing them, showing their metadata, and re-sealing them under a new
//! master key.
//!
//! The master key ring comes from the Worker secret `MASTER_KEYS` (current key first). Each
//! value is sealed with its row id, owner and name as associated data
//! ([`crate::core::seal::SealContext`]), so a sealed value copied to another row does not open.

use super::d1::{self, Arg};
use crate::core::admin::Secrets;
use crate::core::api_error::ApiError;
use crate::core::seal::{KeyRing, SealContext};
use crate::edge::runtime;
use serde_json::Value;
use worker::{D1Database, D1PreparedStatement, Env};

/// The master key ring, or a logged 500 when the secret is missing or malformed.
pub fn key_ring(env: &Env) -> Result<KeyRing, ApiError> {
    let text = env
        .secret("MASTER_KEYS")
        .map_err(|_| d1::internal("the MASTER_KEYS secret is not set"))?
        .to_string();
    KeyRing::parse(&text).map_err(|error| d1::internal(format!("MASTER_KEYS: {error}")))
}

/// Whose secret a row is.
#[derive(Debug, Clone, Copy)]
pub struct Owner<'a> {
    /// `app_profiles` or `installations`.
    pub table: &'static str,
    /// The owner's id.
    pub id: &'a str,
}

/// The associated-data purpose of a secret: its owner and name.
pub fn purpose(owner_table: &str, owner_id: &str, name: &str) -> String {
    format!("{owner_table}/{owner_id}/{name}")
}

/// An INSERT of `value` sealed as secret `name` of `owner`.
pub fn insert(
    db: &D1Database,
    ring: &KeyRing,
    owner: Owner<'_>,
    name: &str,
    value: &str,
    now: u64,
) -> Result<D1PreparedStatement, ApiError> {
    let id = runtime::new_id("sec")?;
    let purpose = purpose(owner.table, owner.id, name);
    let context = SealContext {
        table: "secrets",
        row_id: &id,
        purpose: &purpose,
    };
    let sealed = ring
        .seal(value.as_bytes(), &context, runtime::random_bytes()?)
        .map_err(d1::internal)?;
    d1::statement(
        db,
        "INSERT INTO secrets (id, owner_table, owner_id, name, sealed, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        &[
            id.into(),
            owner.table.into(),
            owner.id.into(),
            name.into(),
            sealed.into(),
            now.into(),
        ],
    )
}

/// INSERTs of every secret in `values`, sealed for `owner`.
pub fn insert_all(
    db: &D1Database,
    ring: &KeyRing,
    owner: Owner<'_>,
    values: &Secrets,
    now: u64,
) -> Result<Vec<D1PreparedStatement>, ApiError> {
    values
        .iter()
        .map(|(name, value)| insert(db, ring, owner, name, &value.0, now))
        .collect()
}

/// An UPDATE that ends the validity of `owner`'s current `name` secrets at `until` (the end of a
/// rotation's grace period). Values already ending earlier keep their earlier end.
pub fn retire(
    db: &D1Database,
    owner: Owner<'_>,
    name: &str,
    until: u64,
) -> Result<D1PreparedStatement, ApiError> {
    d1::statement(
        db,
        "UPDATE secrets SET expires_at = ?3 \
         WHERE owner_id = ?1 AND name = ?2 AND (expires_at IS NULL OR expires_at > ?3)",
        &[owner.id.into(), name.into(), until.into()],
    )
}

/// Name, creation and end of validity of `owner_id`'s secrets that are still valid at `now`.
/// Never the values.
pub async fn metadata(db: &D1Database, owner_id: &str, now: u64) -> Result<Vec<Value>, ApiError> {
    d1::rows(
        db,
        "SELECT name, created_at, expires_at FROM secrets \
         WHERE owner_id = ?1 AND (expires_at IS NULL OR expires_at > ?2) ORDER BY name, created_at",
        &[owner_id.into(), now.into()],
    )
    .await
}

#[derive(serde::Deserialize)]
struct SealedRow {
    id: String,
    owner_table: String,
    owner_id: String,
    name: String,
    sealed: String,
}

impl SealedRow {
    fn purpose(&self) -> String {
        purpose(&self.owner_table, &self.owner_id, &self.name)
    }
}

/// Rows re-sealed per D1 batch during a master-key rotation.
const RESEAL_BATCH: u32 = 100;

/// Counts of a master-key rotation.
#[derive(Debug, Default, serde::Serialize)]
pub struct Resealed {
    /// Values sealed again under the current key.
    pub resealed: u64,
    /// Values already under the current key.
    pub already_current: u64,
}

/// Re-seals every secret not under the ring's current key, page by page (each page one batch).
pub async fn reseal_all(db: &D1Database, ring: &KeyRing) -> Result<Resealed, ApiError> {
    let mut counts = Resealed::default();
    let mut cursor = String::new();
    loop {
        let rows: Vec<SealedRow> = d1::all(
            db,
            "SELECT id, owner_table, owner_id, name, sealed FROM secrets WHERE id > ?1 ORDER BY id LIMIT ?2",
            &[Arg::from(&cursor), i64::from(RESEAL_BATCH).into()],
        )
        .await?;
        let Some(last) = rows.last() else {
            return Ok(counts);
        };
        cursor = last.id.clone();
        let mut updates = Vec::new();
        for row in &rows {
            match reseal_row(ring, row)? {
                Some(sealed) => {
                    counts.resealed += 1;
                    updates.push(d1::statement(
                        db,
                        "UPDATE secrets SET sealed = ?2 WHERE id = ?1",
                        &[(&row.id).into(), sealed.into()],
                    )?);
                }
                None => counts.already_current += 1,
            }
        }
        if !updates.is_empty() {
            d1::batch(db, updates).await.map_err(d1::internal)?;
        }
    }
}

fn reseal_row(ring: &KeyRing, row: &SealedRow) -> Result<Option<String>, ApiError> {
    let purpose = row.purpose();
    let context = SealContext {
        table: "secrets",
        row_id: &row.id,
        purpose: &purpose,
    };
    ring.reseal(&row.sealed, &context, runtime::random_bytes()?)
        .map_err(|error| d1::internal(format!("secret {}: {error}", row.id)))
}
