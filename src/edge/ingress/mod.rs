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
//! 7. deduplicate on the provider's event id and a semantic key, for 24 h;
//! 8. queue one envelope per new event; if the queue refuses, forget the dedupe keys and answer
//!    503 so the provider retries;
//! 9. acknowledge the way the provider expects.
//!
//! Rejections are answered at once; their audit entries are written after the response
//! ([`rejections`]), aggregated per source, reason and minute.

mod claims;
mod dedupe;
pub(crate) mod directory;
pub(crate) mod rejections;

use crate::core::dedupe::{
    self as dedupe_rules, dedupe_window_seconds, DedupeStore, Item, Outcome,
};
use crate::core::envelope::{self, Envelope, Routing};
use crate::core::ids;
use crate::core::ingress::{Ack, Event, Parsed, PathId, Reply, Request as Inbound, Spec};
use crate::core::install_token::claimed_token;
use crate::core::tenancy::{admit, resolve_binding, Admission, Provider, RouteKeys, SecretOwner};
use crate::edge::{http, runtime};
use dedupe::{D1Keys, InboundQueue};
use directory::{Installation, Profile};
use rejections::Audit;
use std::rc::Rc;
use worker::{Context, D1Database, Env, Request, Response, Result};

pub use directory::forget_all as forget_cached;

/// What a provider is told to wait after a 503.
const RETRY_AFTER_SECONDS: &str = "60";

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

/// Everything a request carries that verification and parsing look at.
struct Raw {
    method: String,
    headers: Vec<(String, String)>,
    query: Vec<(String, String)>,
    body: Vec<u8>,
    client: String,
}

impl Raw {
    fn inbound(&self) -> Inbound<'_> {
        Inbound {
            method: &self.method,
            headers: &self.headers,
            query: &self.query,
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

    /// Counts (and, first per minute, audits) a dropped event or a rejected request for a known
    /// id, after the response.
    fn audit(&self, reason: &'static str) {
        self.record(self.source(true), reason, 1, Audit::FirstPerMinute);
    }

    /// Counts `count` events of `reason` that are not worth an audit entry (duplicates).
    fn count(&self, reason: &'static str, count: u64) {
        self.record(self.source(true), reason, count, Audit::Never);
    }

    fn record(&self, source: String, reason: &'static str, count: u64, audit: Audit) {
        let (provider, now) = (self.provider, self.now);
        rejections::record_later(
            self.ctx,
            self.env,
            provider,
            source,
            (reason, count),
            audit,
            now,
        );
    }

    /// A rejection: answered now (the body names only the reason's code), audited after.
    fn reject(&self, status: u16, reason: &'static str) -> Result<Response> {
        self.audit(reason);
        Self::rejection(status, reason)
    }

    /// A request to an unknown, revoked or malformed id: 404, counted (and audited once a
    /// minute) per provider and client address, not per id.
    fn reject_unknown(&self) -> Result<Response> {
        let reason = "unknown_or_revoked";
        self.record(self.source(false), reason, 1, Audit::FirstPerMinute);
        Self::rejection(404, reason)
    }

    fn rejection(status: u16, reason: &'static str) -> Result<Response> {
        let body = serde_json::json!({ "error": { "code": reason } });
        Ok(Response::from_json(&body)?.with_status(status))
    }

    fn unavailable(&self) -> Result<Response> {
        let mut response = Response::error("temporarily unavailable; retry later", 503)?;
        response
            .headers_mut()
            .set("Retry-After", RETRY_AFTER_SECONDS)?;
        Ok(response)
    }
}

/// `POST /webhooks/{provider}/{id}`.
pub async fn handle(
    req: Request,
    env: &Env,
    ctx: &Context,
    provider: Provider,
    id: String,
) -> Result<Response> {
    let config = Config::from_env(env);
    let raw = match read(req, config.max_body_bytes).await? {
        Some(raw) => raw,
        None => return Response::error("payload too large", 413),
    };
    let call = Call {
        env,
        ctx,
        db: env.d1("DB")?,
        provider,
        path_id: id,
        raw,
        now: runtime::now_seconds(),
        config,
    };
    if !ids::is_well_formed(provider.path_id_prefix(), &call.path_id) {
        return call.reject_unknown();
    }
    pipeline(&call, provider.spec()).await
}

/// `GET /webhooks/{provider}/{id}` for a provider with a `GET` handshake (WhatsApp's
/// subscription check): answered only for a known, active app profile whose secret matches.
pub async fn handshake(
    req: Request,
    env: &Env,
    ctx: &Context,
    provider: Provider,
    id: String,
) -> Result<Response> {
    let Some(raw) = read(req, 0).await? else {
        return Response::error("payload too large", 413);
    };
    let call = Call {
        env,
        ctx,
        db: env.d1("DB")?,
        provider,
        path_id: id,
        raw,
        now: runtime::now_seconds(),
        config: Config::from_env(env),
    };
    let Some(handshake) = provider.spec().get_handshake else {
        return call.reject_unknown();
    };
    if !ids::is_well_formed(provider.path_id_prefix(), &call.path_id) {
        return call.reject_unknown();
    }
    let (profile, _) = directory::profile(&call.db, env, &call.path_id, call.now)
        .await
        .map_err(api)?;
    let Some(profile) = profile.filter(|p| p.provider == provider) else {
        return call.reject_unknown();
    };
    let secrets = directory::valid(&profile.secrets, handshake.secret, call.now);
    match (handshake.answer)(&call.raw.inbound(), &secrets) {
        Ok(reply) => respond(&reply),
        Err(rejection) => call.reject(403, rejection.code()),
    }
}

/// Where the path's id led.
enum Target {
    /// An app profile (Slack, WhatsApp, Discord).
    Profile(Rc<Profile>),
    /// An installation and its profile (Telegram, Standard Webhooks).
    Installation(Rc<Installation>, Rc<Profile>),
}

/// Steps 2–9 for any provider: compiled once, driven by the provider's [`Spec`].
async fn pipeline(call: &Call<'_>, spec: &'static Spec) -> Result<Response> {
    // 2. Look up what the path names; 3. rollout switches.
    let Some((target, flags)) = lookup(call).await? else {
        return call.reject_unknown();
    };
    if switched_off(&flags, call.provider) {
        return call.unavailable();
    }
    // 4. Verify.
    let (owner, name) = spec.verified_with;
    let secrets = match (&target, owner) {
        (Target::Installation(installation, _), SecretOwner::Installation) => {
            directory::valid(&installation.secrets, name, call.now)
        }
        (Target::Profile(profile) | Target::Installation(_, profile), _) => {
            directory::valid(&profile.secrets, name, call.now)
        }
    };
    let inbound = call.raw.inbound();
    if let Err(rejection) = (spec.verify)(
        &inbound,
        &secrets,
        call.now,
        call.config.replay_window_seconds,
    ) {
        return call.reject(401, rejection.code());
    }
    // 5. Parse.
    let (events, ack) = match (spec.parse)(&inbound) {
        Ok(Parsed::Handshake(reply)) => return respond(&reply),
        Ok(Parsed::Events { events, ack }) => (events, ack),
        Err(_) => return call.reject(400, "unparsable_payload"),
    };
    let mut envelopes = Vec::new();
    for event in &events {
        match route(call, &target, &flags, event).await? {
            Routed::Envelope(envelope) => envelopes.push((envelope, event.semantic_key.clone())),
            Routed::Dropped(reason) => call.audit(reason),
            Routed::Ignored => {}
            Routed::NotYet => return call.unavailable(),
        }
    }
    // 7–8. Deduplicate and queue.
    if !deliver(call, &envelopes).await? {
        return call.unavailable();
    }
    acknowledge(&ack)
}

/// What became of one event.
enum Routed {
    /// Routed to an agent.
    Envelope(Box<Envelope>),
    /// Dropped on purpose (audited with this reason), still acknowledged.
    Dropped(&'static str),
    /// Dropped and already counted (not audited), still acknowledged.
    Ignored,
    /// The org is outside a canary: answer 503 so the provider retries later.
    NotYet,
}

async fn lookup(call: &Call<'_>) -> Result<Option<(Target, Rc<directory::Flags>)>> {
    let db = &call.db;
    let by_installation = call.provider.spec().path_id == PathId::Installation;
    let (target, flags) = if by_installation {
        let Some(installation) = directory::installation(db, call.env, &call.path_id, call.now)
            .await
            .map_err(api)?
        else {
            return Ok(None);
        };
        let (profile, flags) =
            directory::profile(db, call.env, &installation.app_profile_id, call.now)
                .await
                .map_err(api)?;
        let Some(profile) = profile else {
            return Ok(None);
        };
        (Target::Installation(installation, profile), flags)
    } else {
        let (profile, flags) = directory::profile(db, call.env, &call.path_id, call.now)
            .await
            .map_err(api)?;
        let Some(profile) = profile else {
            return Ok(None);
        };
        (Target::Profile(profile), flags)
    };
    let profile = match &target {
        Target::Profile(profile) | Target::Installation(_, profile) => profile,
    };
    if profile.provider != call.provider {
        return Ok(None);
    }
    Ok(Some((target, flags)))
}

fn switched_off(flags: &directory::Flags, provider: Provider) -> bool {
    matches!(
        admit(flags.get("*"), flags.get(provider.as_str()), ""),
        Admission::GloballyOff | Admission::ProviderOff
    )
}

/// Steps 5–6 for one event.
async fn route(
    call: &Call<'_>,
    target: &Target,
    flags: &directory::Flags,
    event: &Event,
) -> Result<Routed> {
    let (installation, profile) = match target {
        Target::Installation(installation, profile) => (installation.clone(), profile.clone()),
        Target::Profile(profile) => {
            if event
                .app_id
                .as_deref()
                .is_some_and(|app| app != profile.provider_app_id)
            {
                return Ok(Routed::Dropped("app_id_mismatch"));
            }
            match find_installation(call, profile, event).await? {
                Some(installation) => (installation, profile.clone()),
                None => return Ok(Routed::Dropped("unknown_tenant")),
            }
        }
    };
    if admit(
        flags.get("*"),
        flags.get(call.provider.as_str()),
        &installation.org_id,
    ) != Admission::Admitted
    {
        return Ok(Routed::NotYet);
    }
    let keys = RouteKeys {
        conversation: event.conversation.as_ref().map(|c| c.id.as_str()),
        peer: event.sender.as_ref().map(|s| s.id.as_str()),
        team: event.team_id.as_deref(),
    };
    if event.sender.as_ref().is_some_and(|s| s.is_bot) {
        return Ok(Routed::Dropped("bot_sender"));
    }
    if dedupe_rules::older_than_window(call.provider, event.occurred_at, call.now) {
        return Ok(Routed::Dropped("older_than_dedupe_window"));
    }
    // A claim is decided before the sender policy: the claimer is usually not yet allowed.
    if let Some(token) = event.text.as_deref().and_then(claimed_token) {
        let claim = claims::Claim {
            installation: &installation,
            profile: &profile,
            event,
            keys,
            token,
        };
        return claims::handle(call, &claim).await;
    }
    let Some(binding) = resolve_binding(&installation.bindings, &keys) else {
        return Ok(Routed::Dropped("no_binding"));
    };
    let allowed = binding.open
        || keys
            .peer
            .is_some_and(|peer| binding.allowlist.iter().any(|id| id == peer));
    if !allowed {
        return Ok(Routed::Dropped("sender_not_allowed"));
    }
    let routing = Routing {
        org_id: installation.org_id.clone(),
        app_profile_id: profile.id.clone(),
        installation_id: installation.id.clone(),
        binding_id: binding.id.clone(),
        agent_id: binding.agent_id.clone(),
    };
    Ok(Routed::Envelope(Box::new(envelope::build(
        call.provider,
        &routing,
        event,
        call.now,
    ))))
}

/// The installation of the path's profile that one of the event's tenant keys names.
async fn find_installation(
    call: &Call<'_>,
    profile: &Profile,
    event: &Event,
) -> Result<Option<Rc<Installation>>> {
    for key in &event.tenant_keys {
        let found =
            directory::installation_by_tenant(&call.db, call.env, &profile.id, key, call.now)
                .await
                .map_err(api)?;
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

/// Deduplicates and queues ([`crate::core::dedupe::accept`]). False when the provider must
/// retry (503). The keys of what was accepted are committed after the response, and duplicate
/// drops are counted then.
async fn deliver(call: &Call<'_>, envelopes: &[(Box<Envelope>, Option<String>)]) -> Result<bool> {
    if envelopes.is_empty() {
        return Ok(true);
    }
    let items: Vec<Item<&Envelope>> = envelopes
        .iter()
        .map(|(envelope, semantic)| Item {
            item: envelope.as_ref(),
            keys: envelope::dedupe_keys(envelope, semantic.as_deref()),
        })
        .collect();
    let window = dedupe_window_seconds(call.provider);
    let outcome = dedupe_rules::accept(
        &D1Keys(&call.db),
        &InboundQueue::new(call.env),
        &items,
        call.now,
        window,
    )
    .await;
    match outcome {
        Outcome::Accepted {
            duplicates, commit, ..
        } => {
            let db = call.env.d1("DB")?;
            let expires_at = call.now + window;
            call.ctx.wait_until(async move {
                if let Err(error) = D1Keys(&db).commit(&commit, expires_at).await {
                    worker::console_error!("dedupe keys not committed (they lapse): {error}");
                }
            });
            if duplicates > 0 {
                call.count("duplicate", duplicates as u64);
            }
            Ok(true)
        }
        Outcome::RetryLater { reason, queued } => {
            worker::console_error!(
                "{} webhook answered 503 after queueing {queued}: {reason}",
                call.provider.as_str()
            );
            Ok(false)
        }
    }
}

/// Reads method, headers, query and at most `limit` body bytes; `None` when the body is larger.
/// A `GET` has no body: whatever it declares is not read.
async fn read(mut req: Request, limit: usize) -> Result<Option<Raw>> {
    let query = http::query(&req);
    let headers = req.headers().entries().collect();
    let client = req
        .headers()
        .get("CF-Connecting-IP")?
        .unwrap_or_else(|| "unknown".into());
    let method = req.method().to_string();
    let body = if method == "GET" {
        Vec::new()
    } else {
        match http::read_limited(&mut req, limit).await? {
            Some(body) => body,
            None => return Ok(None),
        }
    };
    Ok(Some(Raw {
        method,
        headers,
        query,
        body,
        client,
    }))
}

fn respond(reply: &Reply) -> Result<Response> {
    let mut response = Response::ok(reply.body.clone())?.with_status(reply.status);
    if !reply.body.is_empty() {
        response
            .headers_mut()
            .set("Content-Type", reply.content_type)?;
    }
    Ok(response)
}

fn acknowledge(ack: &Ack) -> Result<Response> {
    match ack {
        Ack::Empty => Response::ok(""),
        Ack::NoContent => Ok(Response::empty()?.with_status(204)),
        Ack::Json(body) => {
            let mut response = Response::ok(body.clone())?;
            response
                .headers_mut()
                .set("Content-Type", "application/json")?;
            Ok(response)
        }
    }
}

fn api(error: crate::core::api_error::ApiError) -> worker::Error {
    worker::Error::RustError(error.to_string())
}
