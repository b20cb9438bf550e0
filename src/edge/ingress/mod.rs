//! The webhook pipeline (`/webhooks/{provider}/{id}`), in the order every request takes:
//!
//! 1. refuse bodies over `WEBHOOK_MAX_BODY_BYTES` (413) without buffering more than that;
//! 2. look up the app profile or installation the path names (404 when unknown or revoked);
//! 3. rollout: a provider (or everything) switched off answers 503 with `Retry-After`;
//! 4. verify over the raw bytes with every currently valid secret, in the replay window (401);
//!    answer handshakes;
//! 5. parse; find each event's installation (by tenant keys, within the path's app profile),
//!    check canary orgs, and resolve its binding;
//! 6. drop bots (no loops); decide install-token claims ([`claims`]), which become
//!    `install_claimed` or `install_rejected` envelopes; drop senders the binding does not allow
//!    (audited);
//! 7. queue one envelope per event, with its dedupe keys (the provider's event id and a semantic
//!    key), which the queue consumer claims before it delivers; if the queue refuses, answer 503
//!    so the provider retries;
//! 8. acknowledge the way the provider expects.
//!
//! A known installation's webhook touches no storage on this path: lookups come from the
//! per-isolate directory cache, and dedupe happens in the consumer, a batch at a time.
//!
//! Rejections are answered at once; their audit entries are written after the response
//! ([`rejections`]), aggregated per source, reason and minute.

mod claims;
pub(crate) mod inbound_queue;

use crate::core::api_error::ApiError;
use crate::core::dedupe::dedupe_window_seconds;
use crate::core::ids;
use crate::core::ingress::{
    Ack, Event, Parsed, PathId, Rejection, Reply, Request as Inbound, Spec, Verification,
};
use crate::core::metrics::Metric;
use crate::core::queue_message::Dedupe;
use crate::core::tenancy::Provider;
use crate::core::webhook::{
    decide, switched_off, tenant_keys, valid_secrets, verifying_secrets, Decision, Delivery, Facts,
    Flags, Installation, Profile, Target,
};
use crate::edge::key_sets;
use crate::edge::store::d1;
use crate::edge::store::secrets::key_ring;
use crate::edge::store::{directory, rejections};
use crate::edge::timing::Timing;
use crate::edge::{http, runtime};
use inbound_queue::InboundQueue;
use rejections::Audit;
use std::rc::Rc;
use worker::{Context, D1Database, Env, Request, Response};

pub use directory::forget_all as forget_cached;

/// The webhook path's result: the provider's answer, or an error answered as JSON
/// ([`http::error_response`]).
type Answer = Result<Response, ApiError>;

/// What a provider is told to wait after a 503, in seconds.
const RETRY_AFTER_SECONDS: u32 = 60;

/// Limits read from `[vars]`.
struct Config {
    max_body_bytes: usize,
    replay_window_seconds: u64,
}

impl Config {
    fn from_env(env: &Env) -> Self {
        let number = |name: &str, default: u64| {
            env.var(name)
                .ok()
                .and_then(|value| value.to_string().parse().ok())
                .unwrap_or(default)
        };
        Config {
            max_body_bytes: number("WEBHOOK_MAX_BODY_BYTES", 1024 * 1024) as usize,
            replay_window_seconds: number("REPLAY_WINDOW_SECONDS", 300),
        }
    }
}

/// `WEBHOOK_MAX_BODY_BYTES`: the largest body (or email message) taken.
pub fn max_body_bytes(env: &Env) -> usize {
    Config::from_env(env).max_body_bytes
}

/// Everything a request carries that verification and parsing look at.
struct Raw {
    method: String,
    headers: Vec<(String, String)>,
    query: Vec<(String, String)>,
    url: String,
    body: Vec<u8>,
    client: String,
}

impl Raw {
    fn inbound(&self) -> Inbound<'_> {
        Inbound {
            method: &self.method,
            headers: &self.headers,
            query: &self.query,
            url: &self.url,
            body: &self.body,
        }
    }
}

/// The request's context through the pipeline.
struct Call<'a> {
    env: &'a Env,
    ctx: &'a Context,
    db: D1Database,
    provider: Provider,
    path_id: String,
    raw: Raw,
    now: u64,
    config: Config,
}

impl Call<'_> {
    /// Reads the request (at most `limit` body bytes; 413 beyond) into a call to `provider`'s
    /// path `id`.
    async fn new<'a>(
        req: Request,
        env: &'a Env,
        ctx: &'a Context,
        provider: Provider,
        id: String,
    ) -> Result<Call<'a>, ApiError> {
        let config = Config::from_env(env);
        let public_base = http::base_url(env, "PUBLIC_BASE_URL");
        let raw = read(req, &public_base, config.max_body_bytes).await?;
        Call::of(env, ctx, provider, id, raw, config)
    }

    /// A call to `provider`'s path `id` carrying `raw`.
    fn of<'a>(
        env: &'a Env,
        ctx: &'a Context,
        provider: Provider,
        id: String,
        raw: Raw,
        config: Config,
    ) -> Result<Call<'a>, ApiError> {
        Ok(Call {
            env,
            ctx,
            db: env.d1("DB").map_err(d1::internal)?,
            provider,
            path_id: id,
            raw,
            now: runtime::now_seconds(),
            config,
        })
    }

    /// Where a request came from: the provider, the path's id when it names something known,
    /// and the client address.
    fn source(&self, known_id: bool) -> String {
        let provider = self.provider.as_str();
        let client = &self.raw.client;
        if known_id {
            format!("{provider}:{} ip:{client}", self.path_id)
        } else {
            format!("{provider} ip:{client}")
        }
    }

    /// Counts (and, first per minute, audits) a dropped event for a known id, after the
    /// response.
    fn audit(&self, reason: &'static str) {
        let count = (Metric::Dropped, reason, 1);
        self.record(self.source(true), count, Audit::FirstPerMinute);
    }

    /// Counts `count` dropped events of `reason` that are not worth an audit entry.
    fn count(&self, reason: &'static str, count: u64) {
        let count = (Metric::Dropped, reason, count);
        self.record(self.source(true), count, Audit::Never);
    }

    fn record(&self, source: String, count: (Metric, &'static str, u64), audit: Audit) {
        let (provider, now) = (self.provider, self.now);
        rejections::record_later(self.ctx, self.env, provider, source, count, audit, now);
    }

    /// A rejection: answered now, counted (and, first per minute, audited) after.
    fn reject(&self, status: u16, code: &'static str, message: String) -> ApiError {
        let count = (Metric::Rejected, code, 1);
        self.record(self.source(true), count, Audit::FirstPerMinute);
        ApiError::WebhookRejected {
            status,
            code,
            message,
        }
    }

    /// A request that fails verification (401), or a `GET` handshake that does (403).
    fn refuse(&self, status: u16, rejection: &Rejection) -> ApiError {
        self.reject(status, rejection.code(), rejection.to_string())
    }

    /// A request to an unknown, revoked or malformed id: 404, counted (and audited once a
    /// minute) per provider and client address, not per id.
    fn reject_unknown(&self) -> ApiError {
        let code = "unknown_or_revoked";
        let count = (Metric::Rejected, code, 1);
        self.record(self.source(false), count, Audit::FirstPerMinute);
        ApiError::WebhookRejected {
            status: 404,
            code,
            message: format!(
                "no live {} webhook has this id (unknown, malformed or revoked)",
                self.provider.as_str()
            ),
        }
    }

    /// The path's id, when it is an id of the kind the provider's path takes.
    fn well_formed_id(&self) -> Result<(), ApiError> {
        if ids::is_well_formed(self.provider.path_id_prefix(), &self.path_id) {
            Ok(())
        } else {
            Err(self.reject_unknown())
        }
    }
}

/// 503 with `Retry-After`: the provider retries later and nothing is lost.
fn unavailable() -> ApiError {
    ApiError::Unavailable {
        retry_after_seconds: RETRY_AFTER_SECONDS,
    }
}

/// `POST /webhooks/{provider}/{id}`; `timing` marks each step (`Server-Timing` in development
/// builds, added by the caller to the answer, error or not).
pub async fn handle(
    req: Request,
    env: &Env,
    ctx: &Context,
    provider: Provider,
    id: String,
    timing: &Timing,
) -> Answer {
    let call = Call::new(req, env, ctx, provider, id).await?;
    timing.mark("read");
    call.well_formed_id()?;
    pipeline(&call, provider.spec(), timing).await
}

/// A message from the Worker's email handler ([`crate::edge::email`]), for the installation
/// whose address it was routed to: the webhook pipeline with the raw message as the body and
/// the envelope, thread and reply address as headers only this path sets.
pub async fn email(
    env: &Env,
    ctx: &Context,
    installation_id: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
) -> Answer {
    let raw = Raw {
        method: "POST".to_owned(),
        headers,
        query: Vec::new(),
        url: String::new(),
        body,
        client: "email".to_owned(),
    };
    let config = Config::from_env(env);
    let call = Call::of(env, ctx, Provider::Email, installation_id, raw, config)?;
    pipeline(&call, Provider::Email.spec(), &Timing::start()).await
}

/// `GET /webhooks/{provider}/{id}` for a provider with a `GET` handshake (WhatsApp's
/// subscription check): answered only for a known, active app profile whose secret matches.
pub async fn handshake(
    req: Request,
    env: &Env,
    ctx: &Context,
    provider: Provider,
    id: String,
) -> Answer {
    let call = Call::new(req, env, ctx, provider, id).await?;
    let Some(handshake) = provider.spec().get_handshake else {
        return Err(call.reject_unknown());
    };
    call.well_formed_id()?;
    let (profile, _) = directory::profile(&call.db, env, &call.path_id, call.now).await?;
    let Some(profile) = profile.filter(|p| p.provider == provider) else {
        return Err(call.reject_unknown());
    };
    let secrets = valid_secrets(&profile.secrets, handshake.secret, call.now);
    match (handshake.answer)(&call.raw.inbound(), &secrets) {
        Ok(reply) => respond(&reply),
        Err(rejection) => Err(call.refuse(403, &rejection)),
    }
}

/// Steps 2–8 for any provider: compiled once, driven by the provider's [`Spec`].
async fn pipeline(call: &Call<'_>, spec: &'static Spec, timing: &Timing) -> Answer {
    // 2. Look up what the path names; 3. rollout switches.
    let Some((target, flags)) = lookup(call).await? else {
        return Err(call.reject_unknown());
    };
    timing.mark("lookup");
    if switched_off(&flags, call.provider) {
        return Err(unavailable());
    }
    // 4. Verify.
    let inbound = call.raw.inbound();
    if let Err(rejection) = verify(call, spec, &target, &inbound).await? {
        return Err(call.refuse(401, &rejection));
    }
    timing.mark("verify");
    // 5. Parse.
    let (events, ack) = match (spec.parse)(&inbound) {
        Ok(Parsed::Handshake(reply)) => return respond(&reply),
        Ok(Parsed::Events { events, ack }) => (events, ack),
        Err(error) => {
            let message = format!(
                "the body is not a payload this provider sends: {}",
                error.reason
            );
            return Err(call.reject(400, "unparsable_payload", message));
        }
    };
    timing.mark("parse");
    // 5–6. Route each event.
    let mut deliveries = Vec::new();
    for event in &events {
        match route(call, &target, &flags, event).await? {
            Routed::Delivery(delivery) => deliveries.push(delivery),
            Routed::Dropped(reason) => call.audit(reason),
            Routed::Ignored => {}
            Routed::NotYet => return Err(unavailable()),
        }
    }
    // Each routed envelope gets its sealed reply capability; 7. queue.
    seal_replies(call, &mut deliveries)?;
    timing.mark("route");
    deliver(call, &deliveries).await?;
    timing.mark("queue");
    acknowledge(&ack)
}

/// What became of one event.
enum Routed {
    /// Routed to an agent.
    Delivery(Delivery),
    /// Dropped on purpose (audited with this reason), still acknowledged.
    Dropped(&'static str),
    /// Dropped and already counted (not audited), still acknowledged.
    Ignored,
    /// The org is outside a canary: answer 503 so the provider retries later.
    NotYet,
}

/// The live target of the path's id and the rollout flags; `None` when the id names nothing
/// live of this provider.
async fn lookup(call: &Call<'_>) -> Result<Option<(Target, Rc<Flags>)>, ApiError> {
    let (db, env, now) = (&call.db, call.env, call.now);
    let (target, flags) = match call.provider.spec().path_id {
        PathId::Installation => {
            let Some(installation) = directory::installation(db, env, &call.path_id, now).await?
            else {
                return Ok(None);
            };
            let (profile, flags) =
                directory::profile(db, env, &installation.app_profile_id, now).await?;
            let Some(profile) = profile else {
                return Ok(None);
            };
            (Target::Installation(installation, profile), flags)
        }
        PathId::AppProfile => {
            let (profile, flags) = directory::profile(db, env, &call.path_id, now).await?;
            let Some(profile) = profile else {
                return Ok(None);
            };
            (Target::Profile(profile), flags)
        }
    };
    if target.profile().provider != call.provider {
        return Ok(None);
    }
    Ok(Some((target, flags)))
}

/// Steps 5–6 for one event: its installation (looked up by tenant keys when the path names an
/// app profile), then the rules of [`crate::core::webhook::decide`].
async fn route(
    call: &Call<'_>,
    target: &Target,
    flags: &Flags,
    event: &Event,
) -> Result<Routed, ApiError> {
    let installation = match target {
        Target::Installation(installation, _) => Some(installation.clone()),
        Target::Profile(profile) => match tenant_keys(profile, event) {
            Ok(keys) => find_installation(call, profile, keys).await?,
            Err(reason) => return Ok(Routed::Dropped(reason)),
        },
    };
    let profile = target.profile();
    let facts = Facts {
        provider: call.provider,
        profile,
        installation: installation.as_deref(),
        flags,
        now: call.now,
    };
    Ok(match decide(&facts, event) {
        Decision::Deliver(delivery) => Routed::Delivery(delivery),
        Decision::Drop(reason) => Routed::Dropped(reason),
        Decision::NotYet => Routed::NotYet,
        Decision::Claim { token, keys } => match &installation {
            Some(installation) => {
                let claim = claims::Claim {
                    installation,
                    profile,
                    event,
                    keys,
                    token,
                };
                claims::handle(call, &claim).await?
            }
            None => Routed::Dropped("unknown_tenant"),
        },
    })
}

/// The live installation of the path's profile that one of `keys` (most specific first) names.
async fn find_installation(
    call: &Call<'_>,
    profile: &Profile,
    keys: &[String],
) -> Result<Option<Rc<Installation>>, ApiError> {
    for key in keys {
        let found =
            directory::installation_by_tenant(&call.db, call.env, &profile.id, key, call.now)
                .await?;
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

/// Seals each delivery's reply capability ([`crate::core::reply`]) with a fresh nonce.
fn seal_replies(call: &Call<'_>, deliveries: &mut [Delivery]) -> Result<(), ApiError> {
    if deliveries.is_empty() {
        return Ok(());
    }
    let ring = key_ring(call.env)?;
    for delivery in deliveries {
        delivery.seal_reply(&ring, runtime::random_bytes()?);
    }
    Ok(())
}

/// Queues each envelope with its dedupe keys, which the queue consumer claims
/// ([`crate::core::dedupe`]): no storage on this path. 503 when the queue refuses, so the
/// provider retries; what was queued before the refusal is queued again by that retry and
/// dropped as a duplicate by the consumer.
async fn deliver(call: &Call<'_>, deliveries: &[Delivery]) -> Result<(), ApiError> {
    if deliveries.is_empty() {
        return Ok(());
    }
    let queue = InboundQueue::new(call.env);
    let window_seconds = dedupe_window_seconds(call.provider);
    for (queued, delivery) in deliveries.iter().enumerate() {
        let dedupe = Dedupe {
            owner: runtime::new_id("qm")?,
            keys: delivery.keys.clone(),
            window_seconds,
        };
        let accepted_ms = runtime::now_millis();
        if let Err(reason) = queue.send(&delivery.envelope, &dedupe, accepted_ms).await {
            worker::console_error!(
                "{} webhook answered 503 after queueing {queued}: {reason}",
                call.provider.as_str()
            );
            return Err(unavailable());
        }
    }
    Ok(())
}

/// Reads method, headers, query, the URL as the provider called it (`public_base` with the
/// path and query as received) and at most `limit` body bytes (413 beyond). A `GET` has no
/// body: whatever it declares is not read.
async fn read(mut req: Request, public_base: &str, limit: usize) -> Result<Raw, ApiError> {
    let query = http::query(&req);
    // The request's URL as a string: parsing it (`Request::url`) would bring IDNA tables along.
    let url = format!("{public_base}{}", path_and_query(&req.inner().url()));
    let headers = req.headers().entries().collect();
    let client = req
        .headers()
        .get("CF-Connecting-IP")
        .ok()
        .flatten()
        .unwrap_or_else(|| "unknown".into());
    let method = req.method().to_string();
    let body = if method == "GET" {
        Vec::new()
    } else {
        http::read_limited(&mut req, limit)
            .await
            .map_err(d1::internal)?
            .ok_or(ApiError::PayloadTooLarge { limit_bytes: limit })?
    };
    Ok(Raw {
        method,
        headers,
        query,
        url,
        body,
        client,
    })
}

/// Verifies `inbound` the way `spec` says: in the core; (Ed25519) with the core's checks made
/// by WebCrypto, any one verifying; or (bearer JWT) with the key of the platform's key set the
/// core names, checked by WebCrypto. `Err` only when a key set cannot be had (503).
async fn verify(
    call: &Call<'_>,
    spec: &Spec,
    target: &Target,
    inbound: &Inbound<'_>,
) -> Result<Result<(), Rejection>, ApiError> {
    let (now, window) = (call.now, call.config.replay_window_seconds);
    let secrets = || verifying_secrets(spec, target, now);
    let verified = |ok: bool| {
        if ok {
            Ok(())
        } else {
            Err(Rejection::BadSignature)
        }
    };
    Ok(match spec.verify {
        Verification::Core(verify) => verify(inbound, &secrets(), now, window),
        Verification::Ed25519(checks) => match checks(inbound, &secrets(), now, window) {
            Ok(checks) => verified(crate::edge::crypto::any_verifies(&checks).await),
            Err(rejection) => Err(rejection),
        },
        Verification::Jwt(check) => match check(inbound, &target.profile().provider_app_id, now) {
            Ok(check) => match key_sets::key(&call.db, call.env, &check, now).await? {
                Some(key) => verified(
                    crate::edge::crypto::rs256_verify(&key, &check.signing_input, &check.signature)
                        .await,
                ),
                None => Err(Rejection::UnknownKey),
            },
            Err(rejection) => Err(rejection),
        },
    })
}

/// The path and query of an absolute URL (`https://host/path?query` → `/path?query`).
fn path_and_query(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    after_scheme
        .find('/')
        .map_or("/", |start| &after_scheme[start..])
}

fn respond(reply: &Reply) -> Answer {
    let mut response = Response::ok(reply.body.clone())
        .map_err(d1::internal)?
        .with_status(reply.status);
    if !reply.body.is_empty() {
        response
            .headers_mut()
            .set("Content-Type", reply.content_type)
            .map_err(d1::internal)?;
    }
    Ok(response)
}

fn acknowledge(ack: &Ack) -> Answer {
    let typed = |body: &str, content_type: &str| {
        Response::ok(body).and_then(|mut response| {
            response.headers_mut().set("Content-Type", content_type)?;
            Ok(response)
        })
    };
    let response = match ack {
        Ack::Empty => Response::ok(""),
        Ack::NoContent => Response::empty().map(|r| r.with_status(204)),
        Ack::Json(body) => typed(body, "application/json"),
        Ack::Xml(body) => typed(body, "text/xml"),
    };
    response.map_err(d1::internal)
}
