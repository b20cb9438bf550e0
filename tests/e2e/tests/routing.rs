//! Requests no route takes.

use crate::Env;
use channel_edge_e2e::http;
use libtest_mimic::Failed;
use serde_json::json;

tests![
    unknown_path_answers_404_json,
    wrong_method_answers_405_with_allow,
];

fn unknown_path_answers_404_json(env: &Env) -> Result<(), Failed> {
    let reply = http::get(&env.worker.url("/no/such/path?x=1"));
    assert_eq!(reply.status, 404);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(
        reply.json(),
        json!({"error": {"code": "not_found", "message": "no route for GET /no/such/path"}})
    );
    Ok(())
}

fn wrong_method_answers_405_with_allow(env: &Env) -> Result<(), Failed> {
    let reply = http::send("DELETE", &env.worker.url("/healthz"), &[], &[]);
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("allow"), Some("GET, HEAD"));
    assert_eq!(reply.json()["error"]["code"], "method_not_allowed");
    Ok(())
}
