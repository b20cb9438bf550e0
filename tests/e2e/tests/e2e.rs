//! The end-to-end suite: one real `wrangler dev` for the whole run, with fakes standing in for
//! the agent runtime and providers' APIs, and every test driving it over HTTP.
//!
//! Run it through `scripts/test.sh` (it builds the Worker and puts Node 22 on PATH first).
//! Arguments are libtest's: `cargo test -p channel-edge-e2e -- healthz` runs matching tests.

/// A module's test list: each function with its name.
macro_rules! tests {
    ($($test:ident),* $(,)?) => {
        pub const TESTS: &[(&str, crate::Test)] = &[$((stringify!($test), $test)),*];
    };
}

mod health;
mod routing;

use channel_edge_e2e::{fake::FakeServer, wrangler::WranglerDev};
use libtest_mimic::{Arguments, Failed, Trial};
use std::process::ExitCode;
use std::sync::Arc;

/// What every test gets: the running worker and the fakes its `[vars]` point at.
pub struct Env {
    pub worker: WranglerDev,
    pub runtime: FakeServer,
}

type Test = fn(&Env) -> Result<(), Failed>;

/// Every test in the suite, by name.
fn tests() -> Vec<(&'static str, Test)> {
    [health::TESTS, routing::TESTS].concat()
}

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let env = match start() {
        Ok(env) => Arc::new(env),
        Err(error) => {
            eprintln!("e2e: could not start the environment: {error}");
            return ExitCode::FAILURE;
        }
    };
    let trials = tests()
        .into_iter()
        .map(|(name, test)| {
            let env = env.clone();
            Trial::test(name, move || test(&env))
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    if conclusion.has_failed() {
        eprintln!(
            "--- last lines of wrangler's log ---\n{}",
            env.worker.log_tail()
        );
    }
    // `env` drops here and stops wrangler, whatever the outcome.
    conclusion.exit_code()
}

fn start() -> Result<Env, Box<dyn std::error::Error>> {
    let runtime = FakeServer::start()?;
    let worker = WranglerDev::start(&[("AGENT_RUNTIME_URL", runtime.url("/inbound"))])?;
    Ok(Env { worker, runtime })
}
