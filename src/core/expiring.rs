//! A bounded map whose entries expire: the shape of every per-isolate memory the edge keeps
//! (the webhook directory cache, notices already given).
//!
//! # What's in scope
//! Expiry against a `now` passed in, and a size bound: inserting into a full map first drops
//! what has expired, then the entry closest to expiry, so a flood of ever new keys cannot grow
//! an isolate's memory.
//!
//! # What's out of scope
//! Where the map lives (a `thread_local!` in the edge) and the clock.

use std::collections::HashMap;

/// Entries by key, each with the time it stops being returned.
#[derive(Debug)]
pub struct ExpiringMap<V> {
    entries: HashMap<String, (u64, V)>,
    capacity: usize,
}

impl<V: Clone> ExpiringMap<V> {
    /// An empty map holding at most `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        ExpiringMap {
            entries: HashMap::new(),
            capacity: capacity.max(1),
        }
    }

    /// The value of `key` if it has not expired at `now`.
    pub fn get(&self, key: &str, now: u64) -> Option<V> {
        self.entries
            .get(key)
            .filter(|(expires_at, _)| *expires_at > now)
            .map(|(_, value)| value.clone())
    }

    /// Stores `value` under `key` until `expires_at`, making room first when full.
    pub fn insert(&mut self, key: String, value: V, expires_at: u64, now: u64) {
        if self.entries.len() >= self.capacity && !self.entries.contains_key(&key) {
            self.entries.retain(|_, (expires, _)| *expires > now);
        }
        if self.entries.len() >= self.capacity && !self.entries.contains_key(&key) {
            let soonest = self
                .entries
                .iter()
                .min_by_key(|(_, (expires, _))| *expires)
                .map(|(key, _)| key.clone());
            if let Some(soonest) = soonest {
                self.entries.remove(&soonest);
            }
        }
        self.entries.insert(key, (expires_at, value));
    }

    /// Forgets `key`.
    pub fn remove(&mut self, key: &str) {
        self.entries.remove(key);
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// How many entries are held (expired ones included until they make room).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_removed_entry_is_gone_and_the_others_stay() {
        let mut map = ExpiringMap::new(4);
        map.insert("a".into(), 1, 100, 0);
        map.insert("b".into(), 2, 100, 0);
        map.remove("a");
        assert_eq!((map.get("a", 1), map.get("b", 1)), (None, Some(2)));
    }

    #[test]
    fn an_entry_is_returned_until_it_expires() {
        let mut map = ExpiringMap::new(4);
        map.insert("a".into(), 1, 100, 0);
        assert_eq!(map.get("a", 99), Some(1));
        assert_eq!(map.get("a", 100), None);
        assert_eq!(map.get("b", 0), None);
    }

    #[test]
    fn a_full_map_drops_the_expired_first_then_the_soonest() {
        let mut map = ExpiringMap::new(3);
        map.insert("old".into(), 0, 10, 0);
        map.insert("late".into(), 0, 300, 0);
        map.insert("soon".into(), 0, 200, 0);
        map.insert("new".into(), 0, 400, 50);
        assert_eq!(map.len(), 3);
        assert_eq!(map.get("old", 50), None);
        map.insert("newer".into(), 0, 500, 50);
        assert_eq!(map.len(), 3);
        assert_eq!(map.get("soon", 50), None, "closest to expiry made room");
        assert_eq!(map.get("late", 50), Some(0));
    }

    #[test]
    fn a_flood_of_new_keys_never_grows_past_the_capacity() {
        let mut map = ExpiringMap::new(100);
        for n in 0..10_000u64 {
            map.insert(format!("key-{n}"), n, 1_000 + n, 0);
        }
        assert_eq!(map.len(), 100);
        assert_eq!(map.get("key-9999", 0), Some(9999));
    }

    #[test]
    fn replacing_a_key_in_a_full_map_keeps_the_others() {
        let mut map = ExpiringMap::new(2);
        map.insert("a".into(), 1, 100, 0);
        map.insert("b".into(), 2, 50, 0);
        map.insert("a".into(), 3, 100, 0);
        assert_eq!((map.get("a", 0), map.get("b", 0)), (Some(3), Some(2)));
        map.clear();
        assert!(map.is_empty());
    }
}
