//! `GET /healthz` against the real bindings.

use crate::Env;
use channel_edge_e2e::{http, seed};
use libtest_mimic::Failed;
use serde_json::json;

tests![
    healthz_reports_every_binding_reachable,
    healthz_shows_only_the_status_without_an_admin_token,
];

fn healthz_reports_every_binding_reachable(env: &Env) -> Result<(), Failed> {
    let bearer = format!("Bearer {}", seed::root_token("audit:read"));
    let reply = http::send(
        "GET",
        &env.worker.url("/healthz"),
        &[("authorization", &bearer)],
        &[],
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let body = reply.json();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    let reachable = json!({"bound": true, "reachable": true});
    for binding in ["d1", "queue", "durable_objects"] {
        assert_eq!(body["checks"][binding], reachable, "{binding}: {body}");
    }
    Ok(())
}

fn healthz_shows_only_the_status_without_an_admin_token(env: &Env) -> Result<(), Failed> {
    for headers in [vec![], vec![("authorization", "Bearer not-a-token")]] {
        let reply = http::send("GET", &env.worker.url("/healthz"), &headers, &[]);
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.json(), json!({"status": "ok"}));
    }
    Ok(())
}
