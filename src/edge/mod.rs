//! The edge layer: the only code that touches the `worker` crate.
//!
//! # What's in scope
//! The Worker's entry points ([`fetch`], the queue consumer, the cron handler), the Durable Object
//! class, and the small adapters that turn `worker` types into core inputs and core outputs into
//! responses.
//!
//! # What's out of scope
//! Decisions. Every rule (routing, health status, error bodies) is made in [`crate::core`] so it
//! can be tested natively; handlers here stay short.

mod admin;
mod binding_session;
mod d1;
mod health;
mod housekeeping;
mod http;
mod ingress;
mod ledger;
mod queue_consumer;
mod runtime;
mod secrets;

use crate::core::api_error::ApiError;
use crate::core::route::{Admin, Route};
use worker::{event, Context, Env, Request, Response, Result};

/// Installs the panic hook once per isolate, so a panic shows in `wrangler tail` with its message.
#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

/// Every HTTP request enters here.
#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let method = req.method().to_string();
    let path = req.path();
    let outcome = match Route::resolve(&method, &path) {
        Route::Webhook { provider, id } => {
            return ingress::handle(req, &env, &ctx, provider, id).await
        }
        Route::WhatsAppSubscribe { app_profile_id } => {
            return ingress::whatsapp_subscribe(req, &env, &ctx, app_profile_id).await
        }
        Route::Admin(Admin::BindingSessionEvents(id)) => admin::stream_events(req, &env, &id).await,
        Route::SlackOauthCallback => {
            return binding_session::oauth::callback(req, &env, &ctx).await
        }
        Route::BindPage { id } => return binding_session::page::page(&req, &env, &id).await,
        Route::BindEvents { id } => return binding_session::page::events(&req, &env, &id).await,
        Route::Healthz => health::handle(&env).await,
        Route::OpenApi => http::raw_json(OPENAPI).map_err(|_| ApiError::Internal),
        Route::Admin(endpoint) => admin::handle(req, &env, endpoint)
            .await
            .and_then(|(status, body)| http::json(status, &body).map_err(|_| ApiError::Internal)),
        Route::MethodNotAllowed { allow } => Err(ApiError::MethodNotAllowed {
            method,
            path,
            allow,
        }),
        Route::NotFound => Err(ApiError::NotFound { method, path }),
    };
    outcome.or_else(|error| http::error_response(&error))
}

/// The admin API's OpenAPI document, compiled in from `schema/openapi.json` and served as is
/// (`tests/openapi.rs` checks that it is valid JSON and matches the route table).
const OPENAPI: &str = include_str!("../../schema/openapi.json");
