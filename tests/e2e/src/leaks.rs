//! What the worker's own log must never hold, and the check the suite runs over the whole log
//! once every test is done: no dev secret (the dataset's secrets and credentials, the
//! `.dev.vars.example` values), no token (a JWT, a Slack bot token, a Standard Webhooks
//! secret), no capability URL (`?t=`); and every structured line (`{"event":…`) is JSON with
//! its stable fields.
//!
//! wrangler's own lines (`[wrangler:…]`, its start-up banner) are not the worker's: wrangler
//! prints each request's URL, query included, locally; the deployed worker's request logs are
//! off (`invocation_logs = false`).

use crate::{repo_root, seed, wrangler};
use serde_json::Value;

/// Substrings that mark a token or a capability wherever they appear.
const TELLTALES: [&str; 4] = ["?t=", "eyJhbGci", "xoxb-", "whsec_"];

/// Every secret value of the dev dataset and of `.dev.vars.example` (the key material of each
/// `MASTER_KEYS` entry on its own), at least 8 characters long.
pub fn dev_secret_values() -> Vec<String> {
    let mut values = Vec::new();
    let dataset = seed::dataset();
    for section in ["app_profiles", "installations"] {
        for item in dataset[section].as_array().into_iter().flatten() {
            for field in ["secrets", "credentials"] {
                let fields = item[field].as_object().into_iter().flatten();
                values.extend(fields.filter_map(|(_, v)| v.as_str().map(str::to_owned)));
            }
            if let Some(seed) = item["_signing_key_seed_hex"].as_str() {
                values.push(seed.to_owned());
            }
        }
    }
    for (_, value) in wrangler::dev_secrets(&repo_root()) {
        values.extend(value.split(',').map(|key| {
            key.split_once(':')
                .map_or(key, |(_, material)| material)
                .to_owned()
        }));
    }
    values.retain(|value| value.len() >= 8);
    values
}

/// The worker's lines of `log` that hold a secret or a telltale, or that start like a
/// structured line without being one; each cut short, with any secret blanked.
pub fn leaks(log: &str, secrets: &[String]) -> Vec<String> {
    log.lines()
        .filter(|line| !is_wranglers(line))
        .filter(|line| {
            secrets.iter().any(|secret| line.contains(secret.as_str()))
                || TELLTALES.iter().any(|telltale| line.contains(telltale))
                || (line.starts_with("{\"event\"") && !is_structured(line))
        })
        .map(|line| {
            let blanked = secrets.iter().fold(line.to_owned(), |line, secret| {
                line.replace(secret.as_str(), "<secret>")
            });
            blanked.chars().take(300).collect()
        })
        .collect()
}

/// True for wrangler's own output: its request lines and its start-up banner.
fn is_wranglers(line: &str) -> bool {
    line.contains("[wrangler:") || line.trim_start().starts_with("env.")
}

/// True when `line` is a structured log line: JSON with `event`, `status` and `latency_ms`.
fn is_structured(line: &str) -> bool {
    serde_json::from_str::<Value>(line).is_ok_and(|json| {
        json["event"].is_string() && json["status"].is_u64() && json["latency_ms"].is_u64()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_a_token_or_a_capability_in_the_workers_lines_is_a_leak() {
        let secrets = vec!["dev-signing-secret-123".to_owned()];
        let log = "\
{\"event\":\"request\",\"status\":200,\"latency_ms\":1}
[wrangler:info] GET /bind/bss_1?t=123.abc 200 OK (3ms)
delivery failed: signed with dev-signing-secret-123
opened /bind/bss_1?t=123.abc
Authorization: Bearer eyJhbGciOiJFZERTQSJ9.x.y
{\"event\":\"request\",\"status\":\"ok\"}
  env.MASTER_KEYS (\"(hidden)\")
";
        let found = leaks(log, &secrets);
        assert_eq!(found.len(), 4, "{found:#?}");
        assert_eq!(found[0], "delivery failed: signed with <secret>");
        assert!(found[1].contains("?t="));
        assert!(
            found[3].starts_with("{\"event\""),
            "a broken structured line"
        );
    }

    #[test]
    fn the_dev_secrets_are_known() {
        let values = dev_secret_values();
        assert!(values.len() >= 8, "{values:?}");
        assert!(values.iter().all(|value| value.len() >= 8));
        assert!(
            values.iter().any(|value| value.starts_with("whsec_")),
            "AGENT_RUNTIME_SECRET"
        );
        assert!(
            !values.iter().any(|value| value.contains("dev1:")),
            "key ids are not secret"
        );
    }
}
