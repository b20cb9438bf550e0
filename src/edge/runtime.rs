//! The edge's only clock and randomness: everything else receives `now` and random bytes.

use crate::core::api_error::ApiError;
use crate::core::ids;

/// Now, in Unix seconds, from the Workers clock.
pub fn now_seconds() -> u64 {
    now_millis() / 1000
}

/// Now, in Unix milliseconds, from the Workers clock.
pub fn now_millis() -> u64 {
    worker::Date::now().as_millis()
}

/// `N` random bytes from `crypto.getRandomValues`; a 500 in the (never seen) case that it fails,
/// never predictable bytes.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], ApiError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)
        .map_err(|error| super::store::d1::internal(format!("random: {error}")))?;
    Ok(bytes)
}

/// A new id with `prefix` (see [`ids::new_id`]).
pub fn new_id(prefix: &str) -> Result<String, ApiError> {
    Ok(ids::new_id(prefix, random_bytes()?))
}
