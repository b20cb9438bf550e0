//! The edge layer: the only code that touches the `worker` crate.
//!
//! # What's in scope
//! The Worker's entry points (`fetch`, the queue consumer, the cron handler), the webhook
//! pipeline ([`ingress`]), the admin handlers ([`admin`]), the Durable Object shell
//! ([`binding_session`]), every SQL statement ([`store`]), the clock and randomness
//! ([`runtime`]), and the small adapters that turn `worker` types into core inputs and core
//! outputs into responses.
//!
//! # What's out of scope
//! Decisions. Every rule (routing, verification, the webhook rules, dedupe, authority, session
//! transitions, health status, error bodies) is made in [`crate::core`] so it can be tested
//! natively; handlers here stay short.

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

mod admin;
mod app_tokens;
mod assets;
mod binding_session;
mod conversation;
mod crypto;
mod email;
mod health;
mod housekeeping;
mod http;
mod ingress;
mod key_sets;
mod limiter;
mod queue_consumer;
mod rate_limit;
mod runtime;
mod store;
mod timing;

use crate::core::api_error::ApiError;
use crate::core::ids;
use crate::core::log::Line;
use crate::core::route::{Admin, Route};
use store::d1;
use timing::Timing;
use worker::{event, Context, Env, Request, Response, Result};

/// Installs the panic hook once per isolate, so a panic shows in `wrangler tail` with its message.
#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

/// Every message Email Routing hands the Worker enters here ([`email`]).
#[event(email)]
async fn email(message: worker::ForwardableEmailMessage, env: Env, ctx: Context) -> Result<()> {
    email::receive(message, env, ctx).await;
    Ok(())
}

/// Every HTTP request enters here; each ends with one structured log line ([`log_request`]).
#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let started = runtime::now_millis();
    let timing = Timing::start();
    let method = req.method().to_string();
    let path = req.path();
    let route = Route::resolve(&method, &path);
    let label = route.label();
    // The path's id is logged only when it is an id of the right kind (never what a caller made
    // up).
    let webhook = match &route {
        Route::Webhook { provider, id } | Route::WebhookHandshake { provider, id } => {
            let well_formed = ids::is_well_formed(provider.path_id_prefix(), id);
            Some((*provider, well_formed.then(|| id.clone())))
        }
        _ => None,
    };
    // The event stream's headers are the Durable Object's own (its response is immutable here).
    let private = matches!(&route, Route::Admin(endpoint) if !matches!(endpoint, Admin::BindingSessionEvents(_)));
    let outcome = match route {
        Route::Webhook { provider, id } => {
            ingress::handle(req, &env, &ctx, provider, id, &timing).await
        }
        Route::WebhookHandshake { provider, id } => {
            ingress::handshake(req, &env, &ctx, provider, id).await
        }
        Route::Admin(Admin::BindingSessionEvents(id)) => admin::stream_events(req, &env, &id).await,
        Route::SlackOauthCallback => binding_session::oauth::callback(req, &env, &ctx)
            .await
            .map_err(d1::internal),
        Route::BindPage { id } => binding_session::page::page(&req, &env, &id)
            .await
            .map_err(d1::internal),
        Route::BindEvents { id } => binding_session::page::events(&req, &env, &id)
            .await
            .map_err(d1::internal),
        Route::Healthz => health::handle(&req, &env).await,
        Route::OpenApi => openapi_document(&env).await,
        Route::Admin(endpoint) => admin::handle(req, &env, endpoint)
            .await
            .and_then(|(status, body)| http::reply(status, body).map_err(|_| ApiError::Internal)),
        Route::MethodNotAllowed { allow } => Err(ApiError::MethodNotAllowed {
            method,
            path,
            allow,
        }),
        Route::NotFound => Err(ApiError::NotFound { method, path }),
    };
    let reason = outcome.as_ref().err().map(ApiError::code);
    let mut response = outcome.or_else(|error| http::error_response(&error))?;
    if private {
        http::keep_private(&mut response)?;
    }
    if webhook.is_some() {
        timing.apply(&mut response);
    }
    let line = Line {
        event: "request",
        route: Some(label),
        provider: webhook.as_ref().map(|(provider, _)| provider.as_str()),
        path_id: webhook.as_ref().and_then(|(_, id)| id.as_deref()),
        status: response.status_code(),
        latency_ms: runtime::now_millis().saturating_sub(started),
        reason,
        ..Line::default()
    };
    worker::console_log!("{}", line.to_json());
    Ok(response)
}

/// `schema/openapi.json`, served as is from the static assets ([`assets`]), so its ~260 KB are
/// not compiled into the Wasm.
async fn openapi_document(env: &Env) -> std::result::Result<Response, ApiError> {
    assets::fetch(env, "openapi.json").await
}
