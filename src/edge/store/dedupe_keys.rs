//! [`crate::core::dedupe`]'s key store in D1.
//!
//! `dedupe_keys` holds one row per key: the owner of the queue message that claimed it, until its
//! dedupe window ends. (Rows written before migration 0011 have no owner: a `committed` one is
//! held by nobody that can claim it again, a pending one is taken over; the `committed` column
//! goes once no version that writes it can run.) A batch's claim is one D1 batch (one round trip, one transaction) of two statements
//! whatever the number of keys: an upsert of every key from one JSON list, which takes a key
//! only when it is new or its row has lapsed (rows are taken in list order, so of two copies in
//! one batch the first wins), then one read of every key's owner.

use super::d1::{self, Arg};
use crate::core::dedupe::{DedupeStore, KeyClaim, StoreError};
use crate::core::json;
use serde_json::Value;
use std::collections::HashMap;
use worker::D1Database;

/// Dedupe keys in D1.
pub struct D1Keys<'a>(pub &'a D1Database);

fn store_error(error: impl std::fmt::Display) -> StoreError {
    StoreError(error.to_string())
}

impl DedupeStore for D1Keys<'_> {
    async fn claim(&self, claims: &[KeyClaim], now: u64) -> Result<Vec<String>, StoreError> {
        let db = self.0;
        let rows: Vec<Value> = claims
            .iter()
            .map(|claim| serde_json::json!([claim.key, claim.owner, claim.expires_at]))
            .collect();
        let list: Arg = Value::Array(rows).to_string().into();
        let statements = vec![
            d1::statement(
                db,
                "INSERT INTO dedupe_keys (key, owner, expires_at, committed) \
                 SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), 1 \
                 FROM json_each(?1) WHERE true \
                 ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, \
                 expires_at = excluded.expires_at, committed = 1 \
                 WHERE dedupe_keys.expires_at <= ?2 OR dedupe_keys.committed = 0",
                &[list.clone(), now.into()],
            )
            .map_err(store_error)?,
            d1::statement(
                db,
                "SELECT key, COALESCE(owner, '') AS owner FROM dedupe_keys \
                 WHERE key IN (SELECT json_extract(value, '$[0]') FROM json_each(?1))",
                &[list],
            )
            .map_err(store_error)?,
        ];
        let results = db.batch(statements).await.map_err(store_error)?;
        let Some(read) = results.last() else {
            return Err(StoreError("the claim batch answered nothing".into()));
        };
        let owners: HashMap<String, String> = read
            .results::<Value>()
            .map_err(store_error)?
            .into_iter()
            .filter_map(|row| {
                let text = |pointer| json::at(&row, pointer).as_str().map(str::to_owned);
                Some((text("/key")?, text("/owner")?))
            })
            .collect();
        claims
            .iter()
            .map(|claim| {
                owners.get(&claim.key).cloned().ok_or_else(|| {
                    StoreError(format!("key {} has no owner after its claim", claim.key))
                })
            })
            .collect()
    }

    async fn release(&self, owners: &[String]) -> Result<(), StoreError> {
        d1::statement(
            self.0,
            "DELETE FROM dedupe_keys WHERE owner IN (SELECT value FROM json_each(?1))",
            &[Value::from(owners.to_vec()).to_string().into()],
        )
        .map_err(store_error)?
        .run()
        .await
        .map(|_| ())
        .map_err(store_error)
    }
}
