//! The platforms' key sets (JWKS) at the edge: the key a bearer JWT names, from the isolate's
//! cache, else D1's (`key_sets`, shared by every isolate), else fetched from the key set's fixed
//! URL (`[vars]`, [`KeySet::url_var`]; never a URL a request names). A key set is kept until
//! its `Cache-Control` says ([`jwt::cache_seconds`]); a key id it lacks fetches it again at most
//! once a minute ([`jwt::REFETCH_AFTER_SECONDS`]), so a rotated key is found within a minute
//! and a flood of made-up key ids costs one fetch a minute.

use crate::core::api_error::ApiError;
use crate::core::jwt::{self, Check, Jwk, KeySet};
use crate::edge::http;
use crate::edge::store::d1;
use serde_json::Value;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;
use worker::{D1Database, Env, Method};

/// How long a key set's host has to answer.
const TIMEOUT: Duration = Duration::from_secs(5);
/// What a provider is told to wait when the key set cannot be fetched, seconds.
const RETRY_AFTER_SECONDS: u32 = 30;

/// A key set as cached.
#[derive(Clone)]
struct Cached {
    keys: Rc<Vec<Jwk>>,
    fetched_at: u64,
    expires_at: u64,
}

impl Cached {
    fn fits(&self, check: &Check) -> Option<Jwk> {
        self.keys.iter().find(|key| check.key_fits(key)).cloned()
    }

    /// Whether a miss may fetch the key set again now.
    fn refetch_allowed(&self, now: u64) -> bool {
        now >= self.fetched_at + jwt::REFETCH_AFTER_SECONDS
    }
}

thread_local! {
    static CACHE: RefCell<HashMap<KeySet, Cached>> = RefCell::new(HashMap::new());
    /// When this isolate last began to fetch each key set, and whether that fetch failed: a
    /// miss during another's fetch, or within a minute of a failed one, fetches nothing.
    static ATTEMPTS: RefCell<HashMap<KeySet, (u64, bool)>> = RefCell::new(HashMap::new());
}

/// The key that may verify `check`, or `None` when its key set has none (after fetching it
/// again where allowed). 503 when the key set cannot be had: the platform retries later.
pub async fn key(
    db: &D1Database,
    env: &Env,
    check: &Check,
    now: u64,
) -> Result<Option<Jwk>, ApiError> {
    let set = check.key_set;
    let mut known = CACHE.with(|cache| cache.borrow().get(&set).cloned());
    if known.as_ref().is_none_or(|cached| cached.expires_at <= now) {
        known = stored(db, set, now).await?;
    }
    if let Some(cached) = &known {
        if let Some(key) = cached.fits(check) {
            return Ok(Some(key));
        }
        if !cached.refetch_allowed(now) {
            return Ok(None);
        }
    }
    // At most one fetch a minute: a key id the cached set lacks while it is being fetched
    // again, or soon after, is unknown; with nothing cached, a fetch that failed within the
    // minute is not repeated (a cold isolate's first requests may each fetch).
    let attempt = ATTEMPTS.with(|attempts| attempts.borrow().get(&set).copied());
    if let Some((_, failed)) = attempt.filter(|(at, _)| now < at + jwt::REFETCH_AFTER_SECONDS) {
        if known.is_some() {
            return Ok(None);
        }
        if failed {
            return Err(unavailable(set, "it failed less than a minute ago"));
        }
    }
    ATTEMPTS.with(|attempts| attempts.borrow_mut().insert(set, (now, false)));
    let fetched = match fetch(env, set, now).await {
        Ok(fetched) => fetched,
        Err(error) => {
            ATTEMPTS.with(|attempts| attempts.borrow_mut().insert(set, (now, true)));
            return Err(error);
        }
    };
    store(db, set, &fetched, now).await;
    Ok(remember(set, fetched.1).fits(check))
}

/// The key set D1 holds, while it is fresh (and now cached in the isolate too).
async fn stored(db: &D1Database, set: KeySet, now: u64) -> Result<Option<Cached>, ApiError> {
    let sql =
        "SELECT body, fetched_at, expires_at FROM key_sets WHERE name = ?1 AND expires_at > ?2";
    let row: Option<Value> = d1::first(db, sql, &[set.name().into(), now.into()]).await?;
    let Some(row) = row else { return Ok(None) };
    let number = |name: &str| row.get(name).and_then(Value::as_u64).unwrap_or_default();
    let keys = jwt::parse_key_set(crate::core::json::field(&row, "body")).unwrap_or_default();
    Ok(Some(remember(
        set,
        Cached {
            keys: Rc::new(keys),
            fetched_at: number("fetched_at"),
            expires_at: number("expires_at"),
        },
    )))
}

fn remember(set: KeySet, cached: Cached) -> Cached {
    CACHE.with(|cache| cache.borrow_mut().insert(set, cached.clone()));
    cached
}

/// Fetches `set`: its body, and the key set as cached.
async fn fetch(env: &Env, set: KeySet, now: u64) -> Result<(String, Cached), ApiError> {
    let url = env
        .var(set.url_var())
        .map(|value| value.to_string())
        .unwrap_or_else(|_| set.default_url().to_owned());
    let unavailable = |reason: String| unavailable(set, &reason);
    let accept = [("Accept", "application/json")];
    let mut response = http::send(Method::Get, &url, &accept, None, TIMEOUT, false)
        .await
        .map_err(|error| unavailable(error.to_string()))?;
    if response.status_code() != 200 {
        return Err(unavailable(format!("HTTP {}", response.status_code())));
    }
    let cache_control = response.headers().get("Cache-Control").ok().flatten();
    let body = response
        .text()
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    let keys =
        jwt::parse_key_set(&body).ok_or_else(|| unavailable("not a JWKS document".into()))?;
    let cached = Cached {
        keys: Rc::new(keys),
        fetched_at: now,
        expires_at: now + jwt::cache_seconds(cache_control.as_deref()),
    };
    Ok((body, cached))
}

/// 503 for a key set that cannot be had now, logged: the platform retries.
fn unavailable(set: KeySet, reason: &str) -> ApiError {
    worker::console_error!("key set {} could not be fetched: {reason}", set.name());
    ApiError::Unavailable {
        retry_after_seconds: RETRY_AFTER_SECONDS,
    }
}

/// Keeps a fetched key set in D1 for the other isolates; a failure only costs them a fetch.
async fn store(db: &D1Database, set: KeySet, (body, cached): &(String, Cached), now: u64) {
    let sql = "INSERT INTO key_sets (name, body, fetched_at, expires_at) VALUES (?1, ?2, ?3, ?4) \
               ON CONFLICT (name) DO UPDATE SET body = excluded.body, \
               fetched_at = excluded.fetched_at, expires_at = excluded.expires_at";
    let args = [
        set.name().into(),
        body.into(),
        now.into(),
        cached.expires_at.into(),
    ];
    let written = match d1::statement(db, sql, &args) {
        Ok(statement) => statement.run().await.map(drop).map_err(|e| e.to_string()),
        Err(error) => Err(error.to_string()),
    };
    if let Err(error) = written {
        worker::console_error!("key set {} not kept in D1: {error}", set.name());
    }
}
