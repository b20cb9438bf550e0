//! The end-to-end harness for channel-edge.
//!
//! # Layout
//! - [`wrangler`]: starts a real `wrangler dev` (workerd with local D1, Queues and Durable
//!   Objects) on a free loopback port with throwaway state, waits until it answers, and stops its
//!   whole process group when dropped, also when a test failed.
//! - [`fake`]: small loopback HTTP servers that stand in for services we cannot reach here (the
//!   agent runtime, providers' APIs). They record every request and answer from a script.
//! - [`http`]: a blocking HTTP client whose responses keep status, headers and body for asserts.
//! - [`cli`]: the admin CLI, built once by the cargo running the suite, for tests that run it.
//! - [`leaks`]: what the worker's log must never hold, checked over the whole log after the suite.
//! - [`stats`]: the percentiles the load tools (`src/bin/load.rs`, `src/bin/load-outbound.rs`)
//!   print.
//!
//! The suite itself is `tests/e2e.rs`: it starts the fakes, then one `wrangler dev` pointed at
//! them through `--var`, runs every test against it, and stops everything.
//!
//! # What's out of scope
//! Building the Worker: `scripts/test.sh` builds it first and the harness refuses to start
//! without a build, rather than compiling inside a test. (The admin CLI is the exception: a
//! native binary of the main crate, [`cli`] builds it with cargo, the one thing that says
//! reliably where it is.)

pub mod cli;
pub mod fake;
pub mod http;
pub mod leaks;
pub mod seed;
pub mod stats;
pub mod wrangler;

use std::path::PathBuf;

/// The repository root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the e2e crate lives at tests/e2e inside the repository")
}

/// A free TCP port on 127.0.0.1, found by binding port 0 and releasing it.
pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
