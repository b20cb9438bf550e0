//! The admin CLI, `channel-edge-admin`, for the tests that run it as a user would.
//!
//! Cargo gives an integration test the path of its own package's binaries
//! (`CARGO_BIN_EXE_<name>`), but the CLI belongs to `channel-edge`, not to this crate, and
//! guessing `target/debug/…` breaks under `CARGO_TARGET_DIR`, `--target` or a stale build. So
//! the first test that asks builds it with the cargo running the suite (`$CARGO`, the same
//! target directory and lock file), which compiles only the binary since the library is built
//! already, and takes the path cargo reports for it (`--message-format=json`). Later tests reuse
//! that path.

use crate::repo_root;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The CLI's binary name.
const BIN: &str = "channel-edge-admin";

/// The path of a freshly built CLI, or why it could not be built (cargo's output included).
pub fn admin_cli() -> Result<PathBuf, String> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT.get_or_init(build).clone()
}

fn build() -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(repo_root())
        .args([
            "build",
            "--locked",
            "--package",
            "channel-edge",
            "--bin",
            BIN,
        ])
        .arg("--message-format=json-render-diagnostics")
        .output()
        .map_err(|e| format!("cannot run cargo to build {BIN}: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    match (output.status.success(), executable(&stdout)) {
        (true, Some(path)) => Ok(path),
        _ => Err(format!(
            "cargo build --bin {BIN} failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )),
    }
}

/// The `executable` of the CLI's `compiler-artifact` message in cargo's JSON output.
fn executable(messages: &str) -> Option<PathBuf> {
    messages
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact")
        .filter(|message| message["target"]["name"] == BIN)
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
}
