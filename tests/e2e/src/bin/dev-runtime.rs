//! `dev-runtime [ADDRESS] [--json]` (default 127.0.0.1:8790): a stand-in agent runtime for local
//! development. `scripts/run.sh` starts it on `AGENT_RUNTIME_URL`, so the first webhook a
//! newcomer sends shows up.
//!
//! Each delivery's Standard Webhooks signature is checked with `AGENT_RUNTIME_SECRET` from
//! `.dev.vars` (the worker's own dev secret) and the envelope is printed as one readable line
//! (with `--json`, the whole envelope follows); the delivery is acknowledged with 200, or
//! refused with 401 when the signature does not verify. `GET /last` answers with the last
//! envelope delivered (404 before the first), so a shell can pick its `reply.capability`. Only
//! for development: it keeps nothing else, and nothing across restarts.

use channel_edge::core::ingress::{standard::Standard, Request};
use channel_edge_e2e::repo_root;
use serde_json::Value;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

const USAGE: &str = "usage: dev-runtime [ADDRESS] [--json]   (default 127.0.0.1:8790)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let json = args.iter().any(|a| a == "--json");
    let address = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map_or("127.0.0.1:8790", String::as_str);
    let secret = match runtime_secret() {
        Ok(secret) => secret,
        Err(error) => {
            eprintln!("dev-runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let server = match tiny_http::Server::http(address) {
        Ok(server) => server,
        Err(error) => {
            eprintln!("dev-runtime: cannot listen on {address}: {error} (is another one running?)");
            return ExitCode::FAILURE;
        }
    };
    println!("dev-runtime: printing the envelopes delivered to http://{address}/");
    let mut last: Option<Vec<u8>> = None;
    for mut request in server.incoming_requests() {
        if request.method() == &tiny_http::Method::Get {
            let _ = request.respond(last_envelope(last.as_deref()));
            continue;
        }
        let mut body = Vec::new();
        let _ = request.as_reader().read_to_end(&mut body);
        let headers: Vec<(String, String)> = request
            .headers()
            .iter()
            .map(|h| {
                (
                    h.field.as_str().as_str().to_ascii_lowercase(),
                    h.value.to_string(),
                )
            })
            .collect();
        let status = match verify(&headers, &body, &secret) {
            Ok(()) => {
                print_envelope(&body, json);
                last = Some(body);
                200
            }
            Err(reason) => {
                println!("dev-runtime: refused a delivery: {reason}");
                401
            }
        };
        let _ = request.respond(tiny_http::Response::empty(status));
    }
    ExitCode::SUCCESS
}

/// `GET /last`: the last envelope delivered, as JSON.
fn last_envelope(last: Option<&[u8]>) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    let json =
        tiny_http::Header::from_bytes("Content-Type", "application/json").expect("a valid header");
    match last {
        Some(envelope) => tiny_http::Response::from_data(envelope.to_vec()).with_header(json),
        None => tiny_http::Response::from_string(r#"{"error":"no envelope delivered yet"}"#)
            .with_status_code(404)
            .with_header(json),
    }
}

/// `AGENT_RUNTIME_SECRET` from `.dev.vars` (or `.dev.vars.example` before `run.sh` made it).
fn runtime_secret() -> Result<String, String> {
    for file in [".dev.vars", ".dev.vars.example"] {
        let Ok(text) = std::fs::read_to_string(repo_root().join(file)) else {
            continue;
        };
        if let Some(value) = text
            .lines()
            .find_map(|line| line.strip_prefix("AGENT_RUNTIME_SECRET="))
        {
            return Ok(value.trim().trim_matches('"').to_owned());
        }
    }
    Err("no AGENT_RUNTIME_SECRET in .dev.vars: run scripts/run.sh once".into())
}

fn verify(headers: &[(String, String)], body: &[u8], secret: &str) -> Result<(), String> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let request = Request {
        method: "POST",
        headers,
        query: &[],
        url: "",
        body,
    };
    Standard::verify(&request, &[secret.to_owned()], now, 300).map_err(|error| error.to_string())
}

/// One line per envelope: provider, kind, who, where, the text, and whether it can be answered.
fn print_envelope(body: &[u8], json: bool) {
    let Ok(envelope) = serde_json::from_slice::<Value>(body) else {
        println!(
            "dev-runtime: a delivery that is not JSON ({} bytes)",
            body.len()
        );
        return;
    };
    if envelope.get("health_probe").is_some() {
        return;
    }
    let text = |pointer: &str| {
        envelope
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or("-")
    };
    let answerable = if envelope["reply"].is_object() {
        "answer with reply.capability"
    } else {
        "no reply capability"
    };
    println!(
        "envelope {} {} {} → {}: {} from {} in {}: {:?} ({answerable})",
        text("/id"),
        text("/provider"),
        text("/installation_id"),
        text("/agent_id"),
        text("/kind"),
        text("/sender/id"),
        text("/conversation/id"),
        text("/text"),
    );
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&envelope).unwrap_or_default()
        );
    }
}
