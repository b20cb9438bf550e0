//! Structured log lines: one JSON object per request outcome and per delivery attempt, with
//! stable field names, so Workers Logs (enabled in `wrangler.toml`) can index and filter them.
//!
//! # What's in scope
//! [`Line`] and its JSON. Its fields are ids, codes and numbers only: `event` (`request` or
//! `delivery`), `route` (which kind of request), `provider`, `installation_id` (or the app
//! profile id a webhook path names, in `path_id`), `envelope_id`, `status`, `latency_ms`,
//! `reason` (an error code such as `bad_signature`, never free text). Nothing that could hold a
//! secret, a token, a message text or a capability URL has a field to go into.
//!
//! # What's out of scope
//! Writing the line (the edge's `console.log`) and the clock.

use serde::Serialize;

/// One log line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Line<'a> {
    /// `request` (one per HTTP request) or `delivery` (one per attempt to reach the runtime).
    pub event: &'static str,
    /// Which kind of request ([`crate::core::route::Route::label`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route: Option<&'static str>,
    /// The provider, for webhooks and deliveries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<&'static str>,
    /// The id a webhook path names (an app profile or an installation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_id: Option<&'a str>,
    /// The installation, for deliveries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub installation_id: Option<&'a str>,
    /// The envelope, for deliveries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub envelope_id: Option<&'a str>,
    /// The HTTP status answered (requests) or the runtime's (deliveries; 0 when it did not
    /// answer).
    pub status: u16,
    /// Milliseconds by the Workers clock (which advances across I/O only).
    pub latency_ms: u64,
    /// Why it failed, as a code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

impl Line<'_> {
    /// The line as one JSON object.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| format!("{{\"event\":\"{}\"}}", self.event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn a_request_line_has_its_stable_fields_and_nothing_empty() {
        let line = Line {
            event: "request",
            route: Some("webhook"),
            provider: Some("slack"),
            path_id: Some("app_1"),
            status: 401,
            latency_ms: 3,
            reason: Some("bad_signature"),
            ..Line::default()
        };
        let json: Value = serde_json::from_str(&line.to_json()).unwrap();
        assert_eq!(
            json,
            json!({"event": "request", "route": "webhook", "provider": "slack",
                   "path_id": "app_1", "status": 401, "latency_ms": 3,
                   "reason": "bad_signature"})
        );
    }

    #[test]
    fn a_delivery_line_names_the_envelope_and_its_installation() {
        let line = Line {
            event: "delivery",
            provider: Some("telegram"),
            installation_id: Some("ins_1"),
            envelope_id: Some("env_1"),
            status: 200,
            latency_ms: 12,
            ..Line::default()
        };
        let json: Value = serde_json::from_str(&line.to_json()).unwrap();
        assert_eq!(json["envelope_id"], "env_1");
        assert_eq!(json["installation_id"], "ins_1");
        assert!(json.get("reason").is_none() && json.get("route").is_none());
    }
}
