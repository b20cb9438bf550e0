//! The `Server-Timing` header's text (W3C Server Timing): `name;dur=<ms>` per step, in order,
//! comma-separated. The edge measures (`edge::timing`, development builds only).

/// The header value for `steps` (name, milliseconds).
pub fn server_timing(steps: &[(&str, u64)]) -> String {
    steps
        .iter()
        .map(|(name, ms)| format!("{name};dur={ms}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_step_is_named_with_its_duration_in_order() {
        assert_eq!(
            server_timing(&[("read", 1), ("lookup", 0), ("queue", 12)]),
            "read;dur=1, lookup;dur=0, queue;dur=12"
        );
        assert_eq!(server_timing(&[]), "");
    }
}
