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

/// True when `id` is `prefix`, `_` and 32 lower-case hex digits: what [`new_id`] makes. Lets the
/// edge refuse a malformed id before any storage is read.
pub fn is_well_formed(prefix: &str, id: &str) -> bool {
    id.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|hex| {
            hex.len() == 32
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_new_id_makes_is_well_formed() {
        assert!(is_well_formed("ins", &new_id("ins", [0x9c; 16])));
        for bad in [
            "ins_",
            "app_00000000000000000000000000000000",
            "ins_0000000000000000000000000000000",
            "ins_000000000000000000000000000000000",
            "ins_0000000000000000000000000000000G",
            "ins_0000000000000000000000000000000A",
            "ins-00000000000000000000000000000000",
            "insx00000000000000000000000000000000",
            "ins_+0000000000000000000000000000000",
            "",
        ] {
            assert!(!is_well_formed("ins", bad), "{bad}");
        }
    }

    #[test]
    fn ids_are_prefixed_hex() {
        let id = new_id("org", [0xab; 16]);
        assert_eq!(id, format!("org_{}", "ab".repeat(16)));
        assert_ne!(new_id("org", [1; 16]), new_id("org", [2; 16]));
    }
}
