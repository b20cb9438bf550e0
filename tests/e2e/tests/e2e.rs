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

mod admin;
mod authority;
mod cli;
mod email;
mod github;
mod google_chat;
mod health;
mod ingress;
mod install;
mod line;
mod linear;
mod messages;
mod meta;
mod migrations;
mod openapi;
mod operating;
mod queue;
mod revocation;
mod routing;
mod senders;
mod sessions;
mod teams;
mod tenancy;
mod twilio;

use channel_edge_e2e::http::{self, Reply};
use channel_edge_e2e::leaks;
use channel_edge_e2e::seed::{self, Ids};
use channel_edge_e2e::{fake::FakeServer, wrangler::WranglerDev};
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// What every test gets: the running worker, the fakes its `[vars]` point at, and the ids of the
/// seeded dev dataset by `ref`.
pub struct Env {
    pub worker: WranglerDev,
    pub runtime: FakeServer,
    /// Stands in for provider APIs: Telegram under `/telegram`, the Graph API under `/graph`,
    /// Slack's Web API under `/slack`, Discord's under `/discord`; Standard Webhooks callbacks
    /// under whatever path an installation names.
    pub providers: FakeServer,
    pub seed: Ids,
}

impl Env {
    /// The seeded id of `reference` (e.g. `acme`).
    pub fn id(&self, reference: &str) -> &str {
        self.seed
            .get(reference)
            .unwrap_or_else(|| panic!("no seeded {reference}"))
    }

    /// Calls the admin API as root with a token limited to `scope`; the body and the reply are
    /// checked against the OpenAPI document.
    pub fn admin(&self, method: &str, path: &str, scope: &str, body: Option<Value>) -> Reply {
        self.call(method, path, &seed::root_token(scope), body, &[])
    }

    /// Like [`Env::admin`] for a body that breaks the contract on purpose.
    pub fn admin_invalid(&self, method: &str, path: &str, scope: &str, body: Value) -> Reply {
        self.call_unchecked(method, path, &seed::root_token(scope), Some(body), &[])
    }

    /// Calls the admin API with `token` and extra `headers`; the body and the reply are checked
    /// against the OpenAPI document.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        if let Some(body) = &body {
            openapi::assert_request_conforms(method, path, body);
        }
        self.call_unchecked(method, path, token, body, headers)
    }

    /// Like [`Env::call`] for a body that breaks the contract on purpose: only the reply is
    /// checked against the OpenAPI document.
    pub fn call_unchecked(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let bearer = format!("Bearer {token}");
        let mut all = vec![
            ("authorization", bearer.as_str()),
            ("content-type", "application/json"),
        ];
        all.extend_from_slice(headers);
        let body = body.map(|body| body.to_string()).unwrap_or_default();
        let reply = http::send(method, &self.worker.url(path), &all, body.as_bytes());
        openapi::assert_conforms(method, path, &reply);
        reply
    }
}

/// A client IP no other test uses, for `CF-Connecting-IP`: failed authentications are rate
/// limited per IP, so tests that fail on purpose must not share one.
pub fn unique_ip() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("198.51.{}.{}", n / 250, n % 250 + 1)
}

type Test = fn(&Env) -> Result<(), Failed>;

/// Every test in the suite, by name.
fn tests() -> Vec<(&'static str, Test)> {
    [
        health::TESTS,
        routing::TESTS,
        admin::TESTS,
        authority::TESTS,
        tenancy::TESTS,
        ingress::TESTS,
        cli::TESTS,
        queue::TESTS,
        operating::TESTS,
        revocation::TESTS,
        install::TESTS,
        messages::TESTS,
        senders::TESTS,
        line::TESTS,
        github::TESTS,
        twilio::TESTS,
        teams::TESTS,
        google_chat::TESTS,
        email::TESTS,
        linear::TESTS,
        meta::TESTS,
        migrations::TESTS,
        sessions::TESTS,
    ]
    .concat()
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
    // Over everything the worker printed while the tests ran.
    let leaked = leaks::leaks(&env.worker.log(), &leaks::dev_secret_values());
    for line in &leaked {
        eprintln!("e2e: the worker's log holds what it must not: {line}");
    }
    if leaked.is_empty() {
        eprintln!("e2e: the worker's log holds no secret, token or capability");
    }
    // `env` drops here and stops wrangler, whatever the outcome.
    if leaked.is_empty() {
        conclusion.exit_code()
    } else {
        ExitCode::FAILURE
    }
}

fn start() -> Result<Env, Box<dyn std::error::Error>> {
    let runtime = FakeServer::start()?;
    let providers = FakeServer::start()?;
    providers.serve_dev_key_sets();
    let mut vars = providers.provider_vars();
    vars.push(("AGENT_RUNTIME_URL", runtime.url("/inbound")));
    let worker = WranglerDev::start(&vars)?;
    let seed = seed::load_checked(&worker.url(""), &|method, path, body| {
        openapi::assert_request_conforms(method, path, body)
    })?;
    Ok(Env {
        worker,
        runtime,
        providers,
        seed,
    })
}
