//! The platform-independent core.
//!
//! # What's in scope
//! Pure decisions and data shapes: which route a request is, what the health report says, how an
//! error is rendered as JSON, what travels on the queue.
//!
//! # What's out of scope
//! Anything that needs the Workers runtime: HTTP objects, D1, Queues, Durable Objects, the clock
//! and randomness. Those live in the `edge` module, which calls into this one.

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
pub mod audit;
pub mod auth;
pub mod authority;
pub mod binding_page;
pub mod binding_session;
pub mod dedupe;
pub mod delivery;
pub mod envelope;
pub mod expiring;
pub mod health;
pub mod ids;
pub mod ingress;
pub mod install_token;
pub mod json;
pub mod ledger;
pub mod mac;
pub mod qr;
pub mod queue_message;
pub mod route;
pub mod seal;
pub mod session_driver;
pub mod signed_link;
pub mod tenancy;
#[cfg(test)]
pub mod test_support;
pub mod webhook;
