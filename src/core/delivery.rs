//! Delivering envelopes to the agent runtime: the Standard Webhooks headers a delivery carries,
//! and the retry backoff.
//!
//! # What's in scope
//! The signed headers (`webhook-id` = envelope id, `webhook-timestamp`, `webhook-signature`
//! made with [`crate::core::ingress::standard::sign`] and the `AGENT_RUNTIME_SECRET`), and how
//! long to wait before the next attempt.
//!
//! # What's out of scope
//! The HTTP call, the queue and the dead-letter queue (the edge's queue consumer).

use crate::core::ingress::{standard, Rejection};

/// Longest wait between two attempts.
pub const MAX_BACKOFF_SECONDS: u64 = 300;

/// The three Standard Webhooks headers of a delivery of `body` (an envelope's JSON) with id
/// `envelope_id`, sent at `now`.
pub fn signed_headers(
    secret: &str,
    envelope_id: &str,
    now: u64,
    body: &[u8],
) -> Result<[(&'static str, String); 3], Rejection> {
    let signature = standard::sign(secret, envelope_id, now, body)?;
    Ok([
        ("webhook-id", envelope_id.to_owned()),
        ("webhook-timestamp", now.to_string()),
        ("webhook-signature", signature),
    ])
}

/// Seconds to wait before retrying a message first queued `age_seconds` ago: about twice its
/// age (so waits grow geometrically without counting attempts), at least 1 s, at most
/// [`MAX_BACKOFF_SECONDS`].
pub fn backoff_seconds(age_seconds: u64) -> u32 {
    (age_seconds.saturating_mul(2)).clamp(1, MAX_BACKOFF_SECONDS) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ingress::{standard::Standard, Provider, Request};

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    #[test]
    fn a_delivery_verifies_as_a_standard_webhook() {
        let body = br#"{"id":"env_1"}"#;
        let headers = signed_headers(SECRET, "env_1", 1_700_000_000, body).unwrap();
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(name, value)| (name.to_string(), value.clone()))
            .collect();
        let request = Request {
            method: "POST",
            headers: &headers,
            query: &[],
            body,
        };
        let secrets = [SECRET.to_owned()];
        assert_eq!(
            Standard::verify(&request, &secrets, 1_700_000_000, 300),
            Ok(())
        );
        assert_eq!(headers[0], ("webhook-id".into(), "env_1".into()));
    }

    #[test]
    fn backoff_grows_with_age_within_bounds() {
        assert_eq!(backoff_seconds(0), 1);
        assert_eq!(backoff_seconds(1), 2);
        assert_eq!(backoff_seconds(30), 60);
        assert_eq!(backoff_seconds(10_000), 300);
        assert_eq!(backoff_seconds(u64::MAX), 300);
    }
}
