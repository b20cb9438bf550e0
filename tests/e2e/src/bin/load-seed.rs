//! `load-seed [BASE_URL]`: loads seed/dev-dataset.json into a running worker (default
//! http://127.0.0.1:8787) through the admin API. Skips loading when the worker already has
//! bindings (the dataset's last section), so running it again is harmless; refuses a database
//! that holds part of a load. Either way it prints the dataset's ids. Used by scripts/run.sh.

use channel_edge_e2e::{http, seed};
use std::process::ExitCode;

fn main() -> ExitCode {
    let base_url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:8787".to_owned());
    match (
        has_any(&base_url, "/v1/bindings"),
        has_any(&base_url, "/v1/orgs"),
    ) {
        (Ok(true), _) => {
            return report(
                "the worker already has seed/dev-dataset.json (not loaded again):",
                seed::find_loaded(&base_url),
            );
        }
        (Ok(false), Ok(true)) => {
            eprintln!(
                "load-seed: the local database holds part of an earlier load. Stop the worker, \
                 delete .wrangler/state, and run scripts/run.sh again."
            );
            return ExitCode::FAILURE;
        }
        (Err(error), _) | (_, Err(error)) => {
            eprintln!("load-seed: {error}");
            return ExitCode::FAILURE;
        }
        (Ok(false), Ok(false)) => {}
    }
    report("loaded seed/dev-dataset.json:", seed::load(&base_url))
}

/// Prints the dataset's ids by ref under `heading`, or what failed.
fn report(heading: &str, ids: Result<seed::Ids, String>) -> ExitCode {
    match ids {
        Ok(ids) => {
            println!("load-seed: {heading}");
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

/// Whether the collection at `path` has any item.
fn has_any(base_url: &str, path: &str) -> Result<bool, String> {
    let bearer = format!("Bearer {}", seed::root_token("*"));
    let url = format!("{base_url}{path}?limit=1");
    let reply = http::send("GET", &url, &[("authorization", &bearer)], &[]);
    if reply.status != 200 {
        return Err(format!(
            "cannot list {url}: {} {}",
            reply.status, reply.body
        ));
    }
    Ok(!reply.json()["items"].as_array().is_none_or(Vec::is_empty))
}
