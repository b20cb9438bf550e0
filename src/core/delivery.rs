//! Delivering envelopes to the agent runtime: the Standard Webhooks headers a delivery carries,
//! and the retry backoff.
//!
//! # What's in scope
//! The signed headers (`webhook-id` = envelope id, `webhook-timestamp`, `webhook-signature`
//! made with [`crate::core::ingress::standard::sign`] and the `AGENT_RUNTIME_SECRET`), how
//! long to wait before the next attempt, and whether an envelope queued earlier may still be
//! delivered ([`still_deliverable`]): revocations and kill switches reach queued deliveries too;
//! whether delivery is paused ([`held`]).
//!
//! # What's out of scope
//! The HTTP call, the queue and the dead-letter queue (the edge's queue consumer).

use crate::core::ingress::{standard, Rejection};
use crate::core::tenancy::{admit, Admission, Flag};

/// Why an envelope queued earlier is dropped instead of delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, thiserror::Error)]
pub enum Stale {
    /// Its installation, or the installation's org or app profile, was revoked since.
    #[error("installation_revoked")]
    InstallationRevoked,
    /// Its binding was revoked since.
    #[error("binding_revoked")]
    BindingRevoked,
    /// Its provider, or everything, was switched off since.
    #[error("switched_off")]
    SwitchedOff,
}

impl Stale {
    /// The reason's code (in audit entries).
    pub fn code(self) -> &'static str {
        match self {
            Stale::InstallationRevoked => "installation_revoked",
            Stale::BindingRevoked => "binding_revoked",
            Stale::SwitchedOff => "switched_off",
        }
    }
}

/// Whether an envelope may still be delivered, given what holds now: its installation is live
/// (active, with its org and app profile), its binding is among the installation's active ones,
/// and the rollout flags' admission for its org. A canary that leaves the org out does not stop
/// what was already accepted; only `off` does.
pub fn still_deliverable(
    installation_live: bool,
    binding_active: bool,
    admission: Admission,
) -> Result<(), Stale> {
    if !installation_live {
        return Err(Stale::InstallationRevoked);
    }
    if !binding_active {
        return Err(Stale::BindingRevoked);
    }
    match admission {
        Admission::GloballyOff | Admission::ProviderOff => Err(Stale::SwitchedOff),
        Admission::Admitted | Admission::NotInCanary => Ok(()),
    }
}

/// The rollout flag that pauses deliveries: `off` holds every envelope in the queue, `canary`
/// delivers only the listed orgs' and holds the rest, `on` (or no flag) delivers.
pub const PAUSE_KEY: &str = "delivery";

/// How long a held envelope waits in the queue before it is looked at again.
pub const HOLD_SECONDS: u32 = 10;

/// Whether `org_id`'s envelopes are held by the [`PAUSE_KEY`] flag (`flag`).
pub fn held(flag: Option<&Flag>, org_id: &str) -> bool {
    admit(None, flag, org_id) != Admission::Admitted
}

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

/// A delivery URL as logs show it: without user info, query or fragment, which may hold
/// credentials.
pub fn url_for_logs(url: &str) -> String {
    let url = url.split(['?', '#']).next().unwrap_or_default();
    let Some((scheme, rest)) = url.split_once("://") else {
        return "(not a URL)".into();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    format!("{scheme}://{host}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_show_a_delivery_url_without_what_may_hold_credentials() {
        assert_eq!(
            url_for_logs("https://agent:s3cret@runtime.example:8443/in@box?token=t#x"),
            "https://runtime.example:8443/in@box"
        );
        assert_eq!(
            url_for_logs("http://127.0.0.1:8790/inbound"),
            "http://127.0.0.1:8790/inbound"
        );
        assert_eq!(url_for_logs("runtime.example/inbound"), "(not a URL)");
    }
    use crate::core::ingress::{standard::Standard, Request};
    use crate::core::tenancy::Stage;

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
            url: "",
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
    fn the_delivery_flag_holds_deliveries_while_off_and_outside_its_canary() {
        let flag = |stage, orgs: &[&str]| Flag {
            stage,
            canary_org_ids: orgs.iter().map(|o| o.to_string()).collect(),
        };
        assert!(!held(None, "org_a"));
        assert!(!held(Some(&flag(Stage::On, &[])), "org_a"));
        assert!(held(Some(&flag(Stage::Off, &[])), "org_a"));
        assert!(!held(Some(&flag(Stage::Canary, &["org_a"])), "org_a"));
        assert!(held(Some(&flag(Stage::Canary, &["org_a"])), "org_b"));
    }

    #[test]
    fn revocations_and_kill_switches_stop_queued_deliveries() {
        use Admission::*;
        assert_eq!(still_deliverable(true, true, Admitted), Ok(()));
        assert_eq!(still_deliverable(true, true, NotInCanary), Ok(()));
        assert_eq!(
            still_deliverable(false, true, Admitted),
            Err(Stale::InstallationRevoked)
        );
        assert_eq!(
            still_deliverable(false, false, GloballyOff),
            Err(Stale::InstallationRevoked),
            "the owner's revocation is named first"
        );
        assert_eq!(
            still_deliverable(true, false, Admitted),
            Err(Stale::BindingRevoked)
        );
        for off in [GloballyOff, ProviderOff] {
            assert_eq!(still_deliverable(true, true, off), Err(Stale::SwitchedOff));
        }
        for stale in [
            Stale::InstallationRevoked,
            Stale::BindingRevoked,
            Stale::SwitchedOff,
        ] {
            assert_eq!(stale.to_string(), stale.code());
        }
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
