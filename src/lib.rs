//! # channel-edge
//!
//! The edge ingress between chat providers and an AI agent runtime, compiled to Wasm for
//! Cloudflare Workers.
//!
//! # Layout
//! - [`core`]: every decision, platform-independent: routes, verification and parsing per
//!   provider (one file each, described by its [`core::ingress::Spec`]), the webhook rules
//!   ([`core::webhook`]), envelopes, dedupe, the ledger's chain and append, sealing, tokens, JWT
//!   claims and authority, the binding-session state machine and its driver. It never imports
//!   `worker`, never reads a clock or a random number generator (time and random bytes come in
//!   as arguments), reaches storage only through small traits ([`core::dedupe::DedupeStore`],
//!   [`core::ledger::LedgerStore`], [`core::session_driver::SessionStore`]) and builds and tests
//!   natively with `cargo test`.
//! - `edge` (wasm32 only): the thin layer that touches `worker`: the fetch, queue and scheduled
//!   entry points, the webhook pipeline, the admin handlers, the Durable Object shell, the clock,
//!   and `edge::store`, which holds every SQL statement. Each handler reads what arrived, calls
//!   the core and maps the result to a response.
//!
//! # How a request flows
//! `edge::fetch` reads the method and path, asks [`core::route::Route::resolve`] which route it
//! is and runs that route's handler. A webhook is looked up, verified and parsed by its
//! provider's [`core::ingress::Spec`], each event decided by [`core::webhook::decide`], and the
//! routed envelopes queued with their dedupe keys, which the queue consumer claims with
//! [`core::dedupe::sort`] before it delivers. An admin call is
//! authenticated ([`core::auth`]), authorised ([`core::authority`]) and handled. Every outcome,
//! or a [`core::api_error::ApiError`], becomes a response; errors are always the same JSON body.

pub mod core;

#[cfg(target_arch = "wasm32")]
mod edge;
