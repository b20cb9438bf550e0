//! The `Server-Timing` header's text (W3C Server Timing): `name;dur=<ms>` per step, in order,
//! then `d1;desc="<n> statements"`, comma-separated. The edge measures (`edge::timing`,
//! development builds only).

/// The header value for `steps` (name, milliseconds) and the D1 statements prepared.
pub fn server_timing(steps: &[(&str, u64)], d1_statements: u64) -> String {
    steps
        .iter()
        .map(|(name, ms)| format!("{name};dur={ms}"))
        .chain([format!("d1;desc=\"{d1_statements} statements\"")])
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_step_is_named_with_its_duration_in_order() {
        assert_eq!(
            server_timing(&[("read", 1), ("lookup", 0), ("queue", 12)], 0),
            "read;dur=1, lookup;dur=0, queue;dur=12, d1;desc=\"0 statements\""
        );
        assert_eq!(server_timing(&[], 3), "d1;desc=\"3 statements\"");
    }
}
