//! The platform-independent core: every decision the worker makes, tested natively.
//!
//! # What's in scope
//! - Routing ([`route`]) and the error body ([`api_error`]).
//! - The providers ([`ingress`]: one file each, described by its [`ingress::Spec`] and
//!   registered in [`tenancy::Provider`]), the webhook rules after verification ([`webhook`]),
//!   envelopes ([`envelope`]), exactly-once acceptance ([`dedupe`]) and deliveries
//!   ([`delivery`]).
//! - Tenancy ([`tenancy`]), admin requests ([`admin`]), JWTs ([`auth`]) and what a caller may do
//!   to a target ([`authority`]).
//! - Ed25519 checks the edge performs ([`ed25519`]), sealing ([`seal`]), install tokens
//!   ([`install_token`]), signed links ([`signed_link`]),
//!   the audit chain ([`audit`]) and its append ([`ledger`]).
//! - The Slack app manifest of a Slack app profile ([`slack_manifest`]); a GitHub App's
//!   installation tokens ([`github_app`]).
//! - Binding sessions: the state machine ([`binding_session`]) and its driver
//!   ([`session_driver`]), the page ([`binding_page`]) and QR codes ([`qr`]).
//! - Health ([`health`]), ids ([`ids`]) and small safe helpers ([`expiring`], [`json`], [`mac`], [`rfc3339`]).
//!
//! # What's out of scope
//! Anything that needs the Workers runtime: HTTP objects, D1, Queues, Durable Objects, the clock
//! and randomness. Those live in the `edge` module, which calls into this one; storage is reached
//! through the traits [`dedupe::DedupeStore`], [`ledger::LedgerStore`] and
//! [`session_driver::SessionStore`], which the tests implement with doubles that fail on
//! command.

// No request input may panic: a panic resets the isolate and every request in flight on it.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::unreachable,
        clippy::indexing_slicing,
        clippy::todo,
        clippy::unimplemented
    )
)]

pub mod admin;
pub mod api_error;
pub mod app_token;
pub mod audit;
pub mod auth;
pub mod authority;
pub mod binding_page;
pub mod binding_session;
pub mod dedupe;
pub mod delivery;
pub mod delivery_log;
pub mod ed25519;
pub mod envelope;
pub mod expiring;
pub mod github_app;
pub mod health;
pub mod ids;
pub mod ingress;
pub mod install_token;
pub mod json;
pub mod jwt;
pub mod ledger;
pub mod log;
pub mod mac;
pub mod markdown;
pub mod metrics;
pub mod mime;
pub mod outbound;
pub mod qr;
pub mod queue_message;
pub mod reply;
pub mod rfc3339;
pub mod route;
pub mod seal;
pub mod session_driver;
pub mod signed_link;
pub mod slack_manifest;
pub mod tally;
pub mod tenancy;
#[cfg(test)]
pub mod test_support;
pub mod timing;
pub mod webhook;
