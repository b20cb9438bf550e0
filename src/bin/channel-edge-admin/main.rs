//! `channel-edge-admin`: the admin CLI (see `cli.rs`; `webhook.rs` is its `webhook` command).
//! Native only: on wasm32, where the worker is built, the binary is empty, because signing keys
//! never belong in the worker.

#[cfg(not(target_arch = "wasm32"))]
mod cli;
#[cfg(not(target_arch = "wasm32"))]
mod webhook;

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    cli::main()
}

#[cfg(target_arch = "wasm32")]
fn main() {}
