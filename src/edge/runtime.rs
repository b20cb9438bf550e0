//! The edge's only clock and randomness: everything else receives `now` and random bytes.

use crate::core::ids;

/// Now, in Unix seconds, from the Workers clock.
pub fn now_seconds() -> u64 {
    now_millis() / 1000
}

/// Now, in Unix milliseconds, from the Workers clock.
pub fn now_millis() -> u64 {
    worker::Date::now().as_millis()
}

/// `N` random bytes from `crypto.getRandomValues`.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("crypto.getRandomValues is available in Workers");
    bytes
}

/// A new id with `prefix` (see [`ids::new_id`]).
pub fn new_id(prefix: &str) -> String {
    ids::new_id(prefix, random_bytes())
}
