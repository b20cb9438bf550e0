//! The `/healthz` report.
//!
//! The edge layer probes each binding (D1 with `SELECT 1`, the queue producer with a probe
//! message, the Durable Object namespace with a ping to one fixed object) and hands the outcomes
//! here; this module decides the overall status and the JSON shape: the whole report (version
//! and each binding's check, with its runtime error) for a caller with a valid admin token, and
//! only the overall status ([`HealthReport::summary`]) for everyone else.

use serde::Serialize;

/// The outcome of probing one binding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// The binding exists in the worker's environment (it is declared in `wrangler.toml`).
    pub bound: bool,
    /// A real call through the binding succeeded.
    pub reachable: bool,
    /// Why the check failed, when it did. Binding and runtime errors only; never a secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Check {
    /// The binding is present and answered.
    pub fn ok() -> Self {
        Check {
            bound: true,
            reachable: true,
            error: None,
        }
    }

    /// The binding is missing from the environment.
    pub fn unbound(error: impl Into<String>) -> Self {
        Check {
            bound: false,
            reachable: false,
            error: Some(error.into()),
        }
    }

    /// The binding is present but the call through it failed.
    pub fn unreachable(error: impl Into<String>) -> Self {
        Check {
            bound: true,
            reachable: false,
            error: Some(error.into()),
        }
    }

    fn healthy(&self) -> bool {
        self.bound && self.reachable
    }
}

/// One check per binding the worker depends on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Checks {
    /// The D1 database `DB`.
    pub d1: Check,
    /// The queue producer `INBOUND`.
    pub queue: Check,
    /// The Durable Object namespace `BINDING_SESSIONS`.
    pub durable_objects: Check,
}

/// The body of `GET /healthz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthReport {
    /// `ok` when every check passed, else `degraded`.
    pub status: &'static str,
    /// The crate version that is running.
    pub version: &'static str,
    /// The individual binding checks.
    pub checks: Checks,
}

/// The body of `GET /healthz` for a caller without a valid admin token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// `ok` or `degraded`.
    pub status: &'static str,
}

impl HealthReport {
    /// Builds the report for `version` from the binding checks.
    pub fn new(version: &'static str, checks: Checks) -> Self {
        let all_healthy = [&checks.d1, &checks.queue, &checks.durable_objects]
            .iter()
            .all(|check| check.healthy());
        HealthReport {
            status: if all_healthy { "ok" } else { "degraded" },
            version,
            checks,
        }
    }

    /// What a caller without a valid admin token sees: the overall status alone.
    pub fn summary(&self) -> Summary {
        Summary {
            status: self.status,
        }
    }

    /// 200 when healthy, 503 otherwise, so load balancers and deploy checks can act on it.
    pub fn http_status(&self) -> u16 {
        if self.status == "ok" {
            200
        } else {
            503
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn checks(d1: Check, queue: Check, durable_objects: Check) -> Checks {
        Checks {
            d1,
            queue,
            durable_objects,
        }
    }

    #[test]
    fn all_checks_passing_is_ok_and_200() {
        let report = HealthReport::new("1.2.3", checks(Check::ok(), Check::ok(), Check::ok()));
        assert_eq!(report.http_status(), 200);
        assert_eq!(
            serde_json::to_value(&report).unwrap(),
            json!({
                "status": "ok",
                "version": "1.2.3",
                "checks": {
                    "d1": {"bound": true, "reachable": true},
                    "queue": {"bound": true, "reachable": true},
                    "durable_objects": {"bound": true, "reachable": true},
                }
            })
        );
    }

    #[test]
    fn any_unbound_binding_degrades_to_503() {
        let report = HealthReport::new(
            "1",
            checks(Check::ok(), Check::unbound("no INBOUND"), Check::ok()),
        );
        assert_eq!(report.status, "degraded");
        assert_eq!(report.http_status(), 503);
        assert_eq!(
            serde_json::to_value(&report.checks.queue).unwrap(),
            json!({"bound": false, "reachable": false, "error": "no INBOUND"})
        );
    }

    #[test]
    fn the_summary_shows_the_status_and_nothing_else() {
        let report = HealthReport::new(
            "1.2.3",
            checks(
                Check::ok(),
                Check::unreachable("D1_ERROR: internal"),
                Check::ok(),
            ),
        );
        assert_eq!(
            serde_json::to_value(report.summary()).unwrap(),
            json!({"status": "degraded"})
        );
    }

    #[test]
    fn an_unreachable_binding_degrades_to_503() {
        let report = HealthReport::new(
            "1",
            checks(Check::ok(), Check::ok(), Check::unreachable("timeout")),
        );
        assert_eq!(report.http_status(), 503);
        assert!(report.checks.durable_objects.bound);
        assert!(!report.checks.durable_objects.reachable);
    }
}
