//! What travels on the `agent-inbound` queue besides message envelopes.
//!
//! `/healthz` proves the queue producer is reachable by sending a [`HealthProbe`]. The worker's
//! own consumer acknowledges probes and never forwards them; an agent runtime that consumes the
//! queue directly must do the same (a probe is the only body with a `health_probe` field).

use serde::{Deserialize, Serialize};

/// A health probe sent by `/healthz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthProbe {
    /// When the probe was sent, in milliseconds since the Unix epoch.
    pub health_probe: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probe_round_trips_through_json() {
        let probe = HealthProbe {
            health_probe: 1_700_000_000_000,
        };
        let text = serde_json::to_string(&probe).unwrap();
        assert_eq!(text, r#"{"health_probe":1700000000000}"#);
        assert_eq!(serde_json::from_str::<HealthProbe>(&text).unwrap(), probe);
    }

    #[test]
    fn a_body_without_the_probe_field_is_not_a_probe() {
        assert!(serde_json::from_str::<HealthProbe>(r#"{"id":"evt_1","kind":"message"}"#).is_err());
    }
}
