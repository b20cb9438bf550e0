//! Object ids: a type prefix and 16 random bytes in lower-case hex, e.g. `org_3f9a…`.
//!
//! The prefix tells a reader what an id names (`org`, `prn`, `app`, `ins`, `bnd`, `sec`); the
//! random part comes from the edge (the core reads no RNG) and makes ids unguessable.

/// Builds an id from its `prefix` and `random` bytes.
pub fn new_id(prefix: &str, random: [u8; 16]) -> String {
    let mut id = String::with_capacity(prefix.len() + 33);
    id.push_str(prefix);
    id.push('_');
    for byte in random {
        id.push_str(&format!("{byte:02x}"));
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_prefixed_hex() {
        let id = new_id("org", [0xab; 16]);
        assert_eq!(id, format!("org_{}", "ab".repeat(16)));
        assert_ne!(new_id("org", [1; 16]), new_id("org", [2; 16]));
    }
}
