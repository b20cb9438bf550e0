//! What travels on the `agent-inbound` queue.
//!
//! An envelope travels with what the consumer deduplicates it by ([`Dedupe`]) and when it was
//! accepted:
//! `{"envelope": {…}, "dedupe": {"owner": …, "keys": […], "window_seconds": …}, "accepted_ms": …}`
//! ([`envelope_message`]). An envelope sent again by an operator (a dead letter re-driven, a
//! delivery replayed) travels without keys, which would find it a duplicate of itself, and says
//! why it travels again: `{"envelope": {…}, "again": "redrive" | "replay"}` ([`again_message`]).
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

impl Dedupe {
    /// Reads a queue body's `dedupe` (looked up rather than deserialised: serde's error paths
    /// would bring float formatting into the Wasm). `None` when it is not of that shape.
    fn read(value: &Value) -> Option<Dedupe> {
        let keys = value.get("keys")?.as_array()?;
        Some(Dedupe {
            owner: value.get("owner")?.as_str()?.to_owned(),
            keys: keys
                .iter()
                .map(|key| key.as_str().map(str::to_owned))
                .collect::<Option<Vec<String>>>()?,
            window_seconds: value.get("window_seconds")?.as_u64()?,
        })
    }
}

/// The queue body of `envelope` with its `dedupe`, accepted at `accepted_ms` (Unix ms): the
/// envelope as [`Envelope::to_queue_json`] makes it (cut to fit the queue), beside its keys.
pub fn envelope_message(
    envelope: &Envelope,
    dedupe: &Dedupe,
    accepted_ms: u64,
) -> Result<String, serde_json::Error> {
    Ok(format!(
        r#"{{"envelope":{},"dedupe":{},"accepted_ms":{accepted_ms}}}"#,
        envelope.to_queue_json()?,
        serde_json::to_string(dedupe)?
    ))
}

/// Why an envelope travels again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Again {
    /// A dead letter an operator re-drove.
    Redrive,
    /// A delivered envelope an operator replayed.
    Replay,
}

impl Again {
    /// Its name (the queue body's `again`, the delivery's `channel-edge-delivery` header and the
    /// delivery log's attempt `kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            Again::Redrive => "redrive",
            Again::Replay => "replay",
        }
    }
}

/// The queue body of `envelope` (its JSON, as kept by the delivery log) sent again for `again`.
pub fn again_message(envelope_json: &str, again: Again) -> String {
    format!(
        r#"{{"envelope":{envelope_json},"again":"{}"}}"#,
        again.as_str()
    )
}

/// An envelope read from a queue body.
#[derive(Debug, Clone, PartialEq)]
pub struct Queued<'a> {
    /// The envelope.
    pub envelope: &'a Value,
    /// What it is deduplicated by (none for one sent again, or queued by an earlier version).
    pub dedupe: Option<Dedupe>,
    /// Why it travels again, if it does.
    pub again: Option<Again>,
    /// When the ingress accepted it (Unix ms), if the body says.
    pub accepted_ms: Option<u64>,
}

/// A queue body, read.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming<'a> {
    /// A health probe: acknowledge it, deliver nothing.
    Probe,
    /// An envelope.
    Envelope(Queued<'a>),
}

/// Reads a queue body.
pub fn read(body: &Value) -> Incoming<'_> {
    // Looked up, not deserialised: that would copy every envelope to find the few probes.
    if body.get("health_probe").is_some_and(Value::is_u64) {
        return Incoming::Probe;
    }
    match body.get("envelope") {
        Some(envelope) if envelope.is_object() => Incoming::Envelope(Queued {
            envelope,
            dedupe: body.get("dedupe").and_then(Dedupe::read),
            again: match body.get("again").and_then(Value::as_str) {
                Some("redrive") => Some(Again::Redrive),
                Some("replay") => Some(Again::Replay),
                _ => None,
            },
            accepted_ms: body.get("accepted_ms").and_then(Value::as_u64),
        }),
        _ => Incoming::Envelope(Queued {
            envelope: body,
            dedupe: None,
            again: None,
            accepted_ms: None,
        }),
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
            r#"{{"envelope":{},"dedupe":{},"accepted_ms":1700000000123}}"#,
            json!({"id": "env_1", "provider": "slack"}),
            json!({"owner": "qm_1", "keys": ["slack:ins_1:event:Ev1"], "window_seconds": 93600})
        );
        let body: Value = serde_json::from_str(&body).unwrap();
        let Incoming::Envelope(queued) = read(&body) else {
            panic!("an envelope")
        };
        assert_eq!(queued.envelope["id"], "env_1");
        assert_eq!(queued.accepted_ms, Some(1_700_000_000_123));
        assert_eq!(queued.again, None);
        assert_eq!(
            queued.dedupe,
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
            Incoming::Envelope(Queued {
                envelope: &body,
                dedupe: None,
                again: None,
                accepted_ms: None,
            })
        );
    }

    #[test]
    fn an_envelope_sent_again_travels_without_keys_and_says_why() {
        for again in [Again::Redrive, Again::Replay] {
            let text = again_message(r#"{"id":"env_1"}"#, again);
            let body: Value = serde_json::from_str(&text).unwrap();
            let Incoming::Envelope(queued) = read(&body) else {
                panic!("an envelope")
            };
            assert_eq!(queued.envelope["id"], "env_1");
            assert_eq!((queued.again, queued.dedupe), (Some(again), None));
        }
    }
}
