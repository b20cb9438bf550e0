//! [`crate::core::dedupe`]'s key store in D1.
//!
//! `dedupe_keys` holds one row per key: `committed` = 0 while a request holds it (until a short
//! `expires_at`), 1 once its envelope is queued (until the dedupe window ends). A claim is one D1
//! batch whatever the number of keys: an upsert per key that takes it only when it is new or its
//! row has lapsed, then one read of what the keys it did not take hold.

use super::d1::{self, Arg};
use crate::core::dedupe::{DedupeStore, KeyState, StoreError};
use serde_json::Value;
use worker::D1Database;

/// Dedupe keys in D1.
pub struct D1Keys<'a>(pub &'a D1Database);

fn json_list(keys: &[String]) -> Arg {
    serde_json::json!(keys).to_string().into()
}

fn store_error(error: impl std::fmt::Display) -> StoreError {
    StoreError(error.to_string())
}

impl DedupeStore for D1Keys<'_> {
    async fn claim(
        &self,
        keys: &[String],
        now: u64,
        pending_until: u64,
    ) -> Result<Vec<KeyState>, StoreError> {
        let db = self.0;
        let mut statements = Vec::with_capacity(keys.len() + 1);
        for key in keys {
            statements.push(
                d1::statement(
                    db,
                    "INSERT INTO dedupe_keys (key, expires_at, committed) VALUES (?1, ?2, 0) \
                     ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at, committed = 0 \
                     WHERE dedupe_keys.expires_at <= ?3 RETURNING key",
                    &[key.into(), pending_until.into(), now.into()],
                )
                .map_err(store_error)?,
            );
        }
        statements.push(
            d1::statement(
                db,
                "SELECT key, committed FROM dedupe_keys WHERE key IN (SELECT value FROM json_each(?1))",
                &[json_list(keys)],
            )
            .map_err(store_error)?,
        );
        let results = db.batch(statements).await.map_err(store_error)?;
        let Some((held, claims)) = results.split_last() else {
            return Err(StoreError("the claim batch answered nothing".into()));
        };
        let held: Vec<Value> = held.results().map_err(store_error)?;
        let committed = |key: &str| {
            held.iter()
                .any(|row| row["key"] == key && row["committed"].as_u64() == Some(1))
        };
        keys.iter()
            .zip(claims)
            .map(|(key, claim)| {
                let taken = !claim.results::<Value>().map_err(store_error)?.is_empty();
                Ok(match (taken, committed(key)) {
                    (true, _) => KeyState::Claimed,
                    (false, true) => KeyState::Committed,
                    (false, false) => KeyState::Pending,
                })
            })
            .collect()
    }

    async fn commit(&self, keys: &[String], expires_at: u64) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        d1::statement(
            self.0,
            "UPDATE dedupe_keys SET committed = 1, expires_at = ?2 \
             WHERE key IN (SELECT value FROM json_each(?1))",
            &[json_list(keys), expires_at.into()],
        )
        .map_err(store_error)?
        .run()
        .await
        .map(|_| ())
        .map_err(store_error)
    }

    async fn release(&self, keys: &[String]) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        d1::statement(
            self.0,
            "DELETE FROM dedupe_keys WHERE committed = 0 AND key IN (SELECT value FROM json_each(?1))",
            &[json_list(keys)],
        )
        .map_err(store_error)?
        .run()
        .await
        .map(|_| ())
        .map_err(store_error)
    }
}
