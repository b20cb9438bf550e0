//! The admin API (`/v1/…`): authentication, rate limiting of failures, and dispatch.
//!
//! Every endpoint authenticates the bearer token against its principal in D1
//! ([`crate::core::auth::verify`]) and checks the endpoint's scope (except what a principal may
//! do to itself: [`Admin::is_self_service`]); each handler then checks what the caller may do to
//! its target ([`crate::core::authority`], with [`crate::edge::store::reach`] keeping queries to the caller's orgs
//! and agents).
//!
//! A failed authentication (401) is counted against the client IP in the `ADMIN_AUTH_LIMIT` rate
//! limiter and audited (`auth.failed`); past the limit the answer is 429 with `Retry-After` and
//! nothing more is written for that client. A valid token refused for its scope or target (403)
//! is audited (`auth.forbidden`, by the principal) but never counted: a well-behaved client
//! cannot lock itself out. Bodies over [`MAX_BODY_BYTES`] are refused with 413 before they are
//! buffered.

mod audit;
mod binding_sessions;
pub(crate) mod bindings;
mod collection;
mod deliveries;
pub(crate) mod install_tokens;
pub(crate) mod installations;
mod messages;
mod orgs;
mod principals;
mod profiles;
mod rollout;

use super::store::{d1, ledger};
use super::{http, rate_limit, runtime};
use crate::core::admin::MAX_BODY_BYTES;
use crate::core::api_error::ApiError;
use crate::core::audit::Event;
use crate::core::auth::{self, AuthError, Caller};
use crate::core::route::{Admin, Resource};
use serde_json::{json, Value};
use worker::{D1Database, Env, Request, Response};

/// Seconds a rate-limited client is told to wait (the limiter's period).
const RATE_LIMIT_PERIOD_SECONDS: u32 = 60;

/// What a handler gets: the database, the environment, the verified caller, the time, and the
/// request's body and query.
pub struct Call<'a> {
    /// The D1 database.
    pub db: &'a D1Database,
    /// The worker environment (secrets for sealing).
    pub env: &'a Env,
    /// Who called, with the token's scopes.
    pub caller: Caller,
    /// Now, Unix seconds.
    pub now: u64,
    /// The raw request body.
    pub body: Vec<u8>,
    /// Query pairs.
    pub query: Vec<(String, String)>,
}

impl Call<'_> {
    /// An audit event by the caller.
    pub fn event(&self, action: &str, target: &str) -> Event {
        Event::new(&self.caller.principal_id, action, target)
    }

    /// The query pairs as `&str`s.
    pub fn query_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.query.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// A handler's success: status and JSON body. A body that is a JSON string is text, answered as
/// such (`GET /v1/metrics`, the Prometheus exposition): no JSON endpoint answers a bare string.
pub type Reply = (u16, Value);

/// Authenticates, authorises and runs one admin endpoint.
pub async fn handle(mut req: Request, env: &Env, endpoint: Admin) -> Result<Reply, ApiError> {
    let db = env.d1("DB").map_err(d1::internal)?;
    let now = runtime::now_seconds();
    let caller = authenticate(&req, env, &db, now).await?;
    let query = http::query(&req);
    let body = http::read_limited(&mut req, MAX_BODY_BYTES)
        .await
        .map_err(d1::internal)?
        .ok_or(ApiError::PayloadTooLarge {
            limit_bytes: MAX_BODY_BYTES,
        })?;
    let call = Call {
        db: &db,
        env,
        caller,
        now,
        body,
        query,
    };
    let reply = match authorise(&call.caller, &endpoint) {
        Ok(()) => dispatch(&call, endpoint).await,
        Err(error) => Err(error),
    };
    if let Err(error) = &reply {
        audit_forbidden(&call, &req, error).await?;
    }
    // This isolate's webhook path sees a change at once; others within the cache's TTL. Reads
    // change nothing (and would keep this isolate off the read replicas).
    if req.method() != worker::Method::Get {
        super::ingress::forget_cached();
    }
    reply
}

/// `GET /v1/binding-sessions/{id}/events`: authenticates like [`handle`], then answers with the
/// session's live event stream instead of a JSON reply.
pub async fn stream_events(req: Request, env: &Env, id: &str) -> Result<Response, ApiError> {
    let db = env.d1("DB").map_err(d1::internal)?;
    let now = runtime::now_seconds();
    let caller = authenticate(&req, env, &db, now).await?;
    let endpoint = Admin::BindingSessionEvents(id.to_owned());
    if let Err(error) = authorise(&caller, &endpoint) {
        let event = forbidden_event(&caller.principal_id, &req, &error);
        ledger::record(&db, &event, now).await?;
        return Err(error);
    }
    binding_sessions::events(&db, env, &caller, id).await
}

/// The endpoint's scope (or its alternative), unless it is something the caller may do to itself.
fn authorise(caller: &Caller, endpoint: &Admin) -> Result<(), ApiError> {
    let alternative = endpoint.alternative_scope();
    if endpoint.is_self_service(&caller.principal_id)
        || alternative.is_some_and(|scope| caller.require(scope).is_ok())
    {
        return Ok(());
    }
    Ok(caller.require(endpoint.scope())?)
}

/// Audits a 403 (a valid token refused for its scope or its target) by the principal.
async fn audit_forbidden(call: &Call<'_>, req: &Request, error: &ApiError) -> Result<(), ApiError> {
    if error.status() != 403 {
        return Ok(());
    }
    let event = forbidden_event(&call.caller.principal_id, req, error);
    ledger::record(call.db, &event, call.now).await?;
    Ok(())
}

fn forbidden_event(principal_id: &str, req: &Request, error: &ApiError) -> Event {
    Event::new(
        principal_id,
        "auth.forbidden",
        format!("{} {}", req.method(), req.path()),
    )
    .with_detail(json!({ "reason": error.to_string() }))
}

async fn dispatch(call: &Call<'_>, endpoint: Admin) -> Result<Reply, ApiError> {
    match endpoint {
        Admin::Create(resource) => match resource {
            Resource::Principals => principals::create(call).await,
            Resource::Orgs => orgs::create(call).await,
            Resource::AppProfiles => profiles::create(call).await,
            Resource::Installations => installations::create(call).await,
            Resource::Bindings => bindings::create(call).await,
        },
        Admin::List(resource) => collection::list(call, resource).await,
        Admin::Get(resource, id) => collection::get(call, resource, &id).await,
        Admin::Revoke(Resource::Principals, id) => principals::revoke(call, &id).await,
        Admin::Revoke(resource, id) => collection::revoke(call, resource, &id).await,
        Admin::RotatePrincipalKey(id) => principals::rotate(call, &id).await,
        Admin::RotateProfileSecrets(id) => profiles::rotate(call, &id).await,
        Admin::SlackManifest(id) => profiles::slack_manifest(call, &id).await,
        Admin::RotateInstallationCredentials(id) => installations::rotate(call, &id).await,
        Admin::AllowlistList(id) => bindings::allowlist(call, &id).await,
        Admin::AllowlistAdd(id) => bindings::allow(call, &id).await,
        Admin::AllowlistRemove(id, sender) => bindings::disallow(call, &id, &sender).await,
        Admin::RolloutList => rollout::list(call).await,
        Admin::RolloutSet(key) => rollout::set(call, &key).await,
        Admin::AuditList => audit::list(call).await,
        Admin::AuditVerify => audit::verify(call).await,
        Admin::MasterKeyRotate => profiles::reseal_all(call).await,
        Admin::MintInstallToken => install_tokens::mint(call).await,
        Admin::StartBindingSession => binding_sessions::start(call).await,
        Admin::ListBindingSessions => binding_sessions::list(call).await,
        Admin::GetBindingSession(id) => binding_sessions::get(call, &id).await,
        Admin::CancelBindingSession(id) => binding_sessions::cancel(call, &id).await,
        Admin::BindingSessionCredentials(id) => binding_sessions::credentials(call, &id).await,
        Admin::SendMessage => messages::send(call).await,
        Admin::ListMessages => messages::list(call).await,
        Admin::GetMessage(id) => messages::get(call, &id).await,
        Admin::EditMessage(id) => messages::edit(call, &id).await,
        Admin::DeleteMessage(id) => messages::delete(call, &id).await,
        Admin::ListDeliveries => deliveries::list(call).await,
        Admin::GetDelivery(id) => deliveries::get(call, &id).await,
        Admin::ReplayDelivery(id) => deliveries::replay(call, &id).await,
        Admin::ListDeadLetters => deliveries::dead_letters(call).await,
        Admin::RedriveDeadLetter(id) => deliveries::redrive(call, &id).await,
        Admin::RedriveDeadLetters => deliveries::redrive_all(call).await,
        Admin::Metrics => deliveries::metrics(call).await,
        // `edge::fetch` routes this one to `stream_events`, which answers with a stream.
        Admin::BindingSessionEvents(id) => Err(ApiError::NotFound {
            method: "GET".into(),
            path: format!("/v1/binding-sessions/{id}/events"),
        }),
    }
}

/// True when the request carries a valid admin token (any scope). Nothing is audited or counted:
/// for endpoints that only show more to an admin (`/healthz`).
pub async fn is_authenticated(req: &Request, env: &Env) -> bool {
    let Ok(db) = env.d1("DB") else { return false };
    verify(req, &db, runtime::now_seconds()).await.is_ok()
}

/// Verifies the token; on failure (401) applies the rate limit and audits it.
async fn authenticate(
    req: &Request,
    env: &Env,
    db: &D1Database,
    now: u64,
) -> Result<Caller, ApiError> {
    let error = match verify(req, db, now).await {
        Ok(caller) => return Ok(caller),
        Err(ApiError::Auth(error)) => error,
        Err(other) => return Err(other),
    };
    let client = client_ip(req);
    if !rate_limit::allows(env, "ADMIN_AUTH_LIMIT", &client).await {
        return Err(ApiError::RateLimited {
            retry_after_seconds: RATE_LIMIT_PERIOD_SECONDS,
        });
    }
    let event = Event::new("anonymous", "auth.failed", format!("ip:{client}"))
        .with_detail(json!({ "reason": error.to_string() }));
    ledger::record(db, &event, now).await?;
    Err(error.into())
}

async fn verify(req: &Request, db: &D1Database, now: u64) -> Result<Caller, ApiError> {
    let header = req.headers().get("Authorization").ok().flatten();
    let token = auth::bearer_token(header.as_deref())?;
    let principal_id = auth::key_id(token)?;
    let principal = super::store::principals::load(db, &principal_id)
        .await?
        .ok_or(AuthError::BadSignature)?;
    let check = auth::signature_check(token, &principal)?;
    let signature_valid = crate::edge::crypto::ed25519_verify(&check).await;
    Ok(auth::verify_checked(
        token,
        &principal,
        now,
        signature_valid,
    )?)
}

/// The client's IP as Cloudflare reports it.
fn client_ip(req: &Request) -> String {
    req.headers()
        .get("CF-Connecting-IP")
        .ok()
        .flatten()
        .unwrap_or_else(|| "unknown".into())
}
