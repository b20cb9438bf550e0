//! `GET /healthz` against the real bindings.

use crate::Env;
use channel_edge_e2e::http;
use libtest_mimic::Failed;
use serde_json::json;

tests![healthz_reports_every_binding_reachable];

fn healthz_reports_every_binding_reachable(env: &Env) -> Result<(), Failed> {
    let reply = http::get(&env.worker.url("/healthz"));
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
