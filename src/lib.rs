//! # channel-edge
//!
//! The edge ingress between chat providers and an AI agent runtime, compiled to Wasm for
//! Cloudflare Workers.
//!
//! # Layout
//! - [`core`]: everything that can be decided without a runtime: the route table, the health
//!   report, the JSON error body. It never imports `worker`, never reads a clock or a random
//!   number generator (time and random bytes come in as arguments) and builds and tests natively
//!   with `cargo test`.
//! - `edge` (wasm32 only): the thin layer that touches `worker`: the fetch, queue and scheduled
//!   entry points, the D1 store, the queue producer and consumer, the Durable Object wrappers and
//!   the clock. Each handler reads what arrived, calls the core and maps the result to a response.
//!
//! # How a request flows
//! `edge::fetch` reads the method and path, asks [`core::route::Route::resolve`] which route it
//! is, runs that route's handler (for `/healthz`: [`core::health`] fed by probes of D1, the queue
//! and the Durable Object namespace) and turns the outcome, or a [`core::api_error::ApiError`],
//! into a JSON response.

pub mod core;

#[cfg(target_arch = "wasm32")]
mod edge;
