//! `load-seed [BASE_URL]`: loads seed/dev-dataset.json into a running worker (default
//! http://127.0.0.1:8787) through the admin API. Skips loading when the worker already has an
//! org, so running it again is harmless. Used by scripts/run.sh.

use channel_edge_e2e::{http, seed};
use std::process::ExitCode;

fn main() -> ExitCode {
    let base_url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:8787".to_owned());
    let bearer = format!("Bearer {}", seed::root_token("profiles:write"));
    let orgs = http::send(
        "GET",
        &format!("{base_url}/v1/orgs?limit=1"),
        &[("authorization", &bearer)],
        &[],
    );
    if orgs.status != 200 {
        eprintln!(
            "load-seed: cannot list orgs at {base_url}: {} {}",
            orgs.status, orgs.body
        );
        return ExitCode::FAILURE;
    }
    if !orgs.json()["items"].as_array().is_none_or(Vec::is_empty) {
        println!("load-seed: the worker already has data; seed not loaded again");
        return ExitCode::SUCCESS;
    }
    match seed::load(&base_url) {
        Ok(ids) => {
            println!("load-seed: loaded seed/dev-dataset.json:");
            for (reference, id) in ids {
                println!("  {reference:<18} {id}");
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("load-seed: {error}");
            ExitCode::FAILURE
        }
    }
}
