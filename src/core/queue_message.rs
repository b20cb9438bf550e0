//! What travels on the `agent-inbound` queue.
//!
//! An envelope travels with what the consumer deduplicates it by ([`Dedupe`]):
//! `{"envelope": {…}, "dedupe": {"owner": …, "keys": […], "window_seconds": …}}`
//! ([`envelope_message`]).
//! `/healthz` proves the queue producer is reachable by sending a [`HealthProbe`], which the
//! consumer acknowledges and never forwards. [`read`] tells them apart; a body of neither shape
//! is an envelope queued before dedupe moved to the consumer (the envelope itself, already
//! deduplicated at the ingress), delivered as it is.

use crate::core::envelope::Envelope;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A health probe sent by `/healthz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthProbe {
    /// When the probe was sent, in milliseconds since the Unix epoch.
    pub health_probe: u64,
}

/// An envelope's dedupe keys, who claims them, and how long they are kept
/// ([`crate::core::dedupe`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dedupe {
    /// A random id the ingress gives this one message: its keys are claimed for it.
    pub owner: String,
    /// The keys (event id, and a semantic key where there is one).
    pub keys: Vec<String>,
    /// Its provider's dedupe window.
    pub window_seconds: u64,
}

/// The queue body of `envelope` with its `dedupe`: the envelope as
/// [`Envelope::to_queue_json`] makes it (cut to fit the queue), beside its keys.
pub fn envelope_message(envelope: &Envelope, dedupe: &Dedupe) -> Result<String, serde_json::Error> {
    Ok(format!(
        r#"{{"envelope":{},"dedupe":{}}}"#,
        envelope.to_queue_json()?,
        serde_json::to_string(dedupe)?
    ))
}

/// A queue body, read.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming<'a> {
    /// A health probe: acknowledge it, deliver nothing.
    Probe,
    /// An envelope, with its dedupe keys (none for one queued by an earlier version).
    Envelope {
        /// The envelope.
        envelope: &'a Value,
        /// What it is deduplicated by.
        dedupe: Option<Dedupe>,
    },
}

/// Reads a queue body.
pub fn read(body: &Value) -> Incoming<'_> {
    // Looked up, not deserialised: that would copy every envelope to find the few probes.
    if body.get("health_probe").is_some_and(Value::is_u64) {
        return Incoming::Probe;
    }
    match body.get("envelope") {
        Some(envelope) if envelope.is_object() => Incoming::Envelope {
            envelope,
            dedupe: body
                .get("dedupe")
                .and_then(|dedupe| serde_json::from_value(dedupe.clone()).ok()),
        },
        _ => Incoming::Envelope {
            envelope: body,
            dedupe: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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

    #[test]
    fn a_probe_is_read_as_a_probe() {
        assert_eq!(read(&json!({"health_probe": 1})), Incoming::Probe);
    }

    #[test]
    fn an_envelope_message_is_read_back_with_its_keys() {
        let body = format!(
            r#"{{"envelope":{},"dedupe":{}}}"#,
            json!({"id": "env_1", "provider": "slack"}),
            json!({"owner": "qm_1", "keys": ["slack:ins_1:event:Ev1"], "window_seconds": 93600})
        );
        let body: Value = serde_json::from_str(&body).unwrap();
        let Incoming::Envelope { envelope, dedupe } = read(&body) else {
            panic!("an envelope")
        };
        assert_eq!(envelope["id"], "env_1");
        assert_eq!(
            dedupe,
            Some(Dedupe {
                owner: "qm_1".into(),
                keys: vec!["slack:ins_1:event:Ev1".into()],
                window_seconds: 93600
            })
        );
    }

    #[test]
    fn an_envelope_queued_before_dedupe_moved_is_delivered_as_it_is() {
        let body = json!({"id": "env_1", "provider": "slack", "kind": "message"});
        assert_eq!(
            read(&body),
            Incoming::Envelope {
                envelope: &body,
                dedupe: None
            }
        );
    }
}
