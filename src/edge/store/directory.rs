//! What the webhook path reads from D1, cached in the isolate.
//!
//! An app profile (with its opened secrets and the rollout flags), or an installation (with its
//! opened credentials, active bindings and their allowlists), is one D1 batch: one round trip on
//! a miss, none on a hit. Entries live [`TTL_SECONDS`], so a revocation, a rotation or a rollout
//! change reaches every isolate within that time; the admin API also drops the entries it changes
//! from its own isolate at once. The master key ring is read only on a miss, to open secrets.
//!
//! A miss reads through a D1 session that may answer from the nearest read replica (the D1
//! Sessions API, `first-unconstrained`), so a webhook far from the primary does not pay for the
//! trip there: a replica is behind by its lag, which adds to the cache's [`TTL_SECONDS`]. An
//! isolate that has just changed something itself ([`forget_all`]) reads from the primary for
//! the next [`TTL_SECONDS`], so its own revocations and rotations hold at once where it answers.
//! What must see the latest state reads the primary always: the consumer's check before each
//! delivery ([`live_for_delivery`]), which is what stops an event accepted by a stale isolate.

use crate::core::api_error::ApiError;
use crate::core::expiring::ExpiringMap;
use crate::core::seal::{KeyRing, SealContext};
use crate::core::tenancy::{Flag, Provider, Selector, Stage};
use crate::core::webhook::{Binding, Flags, Installation, Profile, Secret};
use crate::edge::store::d1::{self, Arg, Source};
use crate::edge::store::secrets::key_ring;
use serde::Deserialize;
use serde_json::Value;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashSet};
use std::rc::Rc;
use worker::{D1Database, Env};

/// How long an entry is trusted. At most 60 s: the promise made for revocation, rotation and
/// rollout changes.
pub const TTL_SECONDS: u64 = 30;
/// Most entries an isolate keeps, hits and misses alike, so requests to ever new ids cannot
/// grow its memory: past it the entry closest to expiry makes room.
pub const MAX_ENTRIES: usize = 2048;

enum Entry {
    Profile(Option<Rc<Profile>>, Rc<Flags>),
    Installation(Option<Rc<Installation>>),
}

thread_local! {
    static CACHE: RefCell<ExpiringMap<Rc<Entry>>> = RefCell::new(ExpiringMap::new(MAX_ENTRIES));
    /// Until when (Unix seconds) this isolate's misses read the primary: after its own change.
    static PRIMARY_UNTIL: Cell<u64> = const { Cell::new(0) };
    /// Counts this isolate's changes ([`forget_all`]), so a read that began before one is not
    /// trusted after it.
    static GENERATION: Cell<u64> = const { Cell::new(0) };
}

/// What `load` reads from the source a miss at `now` reads; read again from the primary when
/// this isolate changed something while it read (a replica's answer from before the change must
/// not be cached after it).
async fn fresh<'a, T, F, Fut>(db: &'a D1Database, now: u64, load: F) -> Result<T, ApiError>
where
    F: Fn(Source<'a>) -> Fut,
    Fut: std::future::Future<Output = Result<T, ApiError>>,
{
    let generation = GENERATION.with(Cell::get);
    let loaded = load(source(db, now)).await?;
    if GENERATION.with(Cell::get) == generation {
        return Ok(loaded);
    }
    load(Source::Primary(db)).await
}

/// Where a miss at `now` reads: a replica session, unless this isolate changed something in the
/// last [`TTL_SECONDS`] (or the platform offers no sessions).
fn source(db: &D1Database, now: u64) -> Source<'_> {
    if now < PRIMARY_UNTIL.with(Cell::get) {
        return Source::Primary(db);
    }
    db.with_session(Some("first-unconstrained"))
        .map_or(Source::Primary(db), Source::Replica)
}

fn cached(key: &str, now: u64) -> Option<Rc<Entry>> {
    CACHE.with(|cache| cache.borrow().get(key, now))
}

fn remember(key: String, entry: Entry, now: u64) -> Rc<Entry> {
    let entry = Rc::new(entry);
    CACHE.with(|cache| {
        cache
            .borrow_mut()
            .insert(key, entry.clone(), now + TTL_SECONDS, now)
    });
    entry
}

/// Drops every cached entry of this isolate (after an admin change), and reads the primary for
/// the next [`TTL_SECONDS`], so the change holds here at once whatever a replica's lag.
pub fn forget_all() {
    CACHE.with(|cache| cache.borrow_mut().clear());
    let until = crate::edge::runtime::now_seconds() + TTL_SECONDS;
    PRIMARY_UNTIL.with(|primary| primary.set(until));
    GENERATION.with(|generation| generation.set(generation.get() + 1));
}

/// The live app profile `id` (active, its org active) and the rollout flags, or `None` for an
/// unknown or revoked one.
pub async fn profile(
    db: &D1Database,
    env: &Env,
    id: &str,
    now: u64,
) -> Result<(Option<Rc<Profile>>, Rc<Flags>), ApiError> {
    let key = format!("profile:{id}");
    if let Some(entry) = cached(&key, now) {
        if let Entry::Profile(profile, flags) = entry.as_ref() {
            return Ok((profile.clone(), flags.clone()));
        }
    }
    let ring = &key_ring(env)?;
    let (profile, flags) = fresh(db, now, |source| async move {
        load_profile(&source, ring, id).await
    })
    .await?;
    let (profile, flags) = (profile.map(Rc::new), Rc::new(flags));
    remember(key, Entry::Profile(profile.clone(), flags.clone()), now);
    Ok((profile, flags))
}

/// The live installation named in a path (Telegram, Standard Webhooks): active, with its org
/// and app profile active.
pub async fn installation(
    db: &D1Database,
    env: &Env,
    id: &str,
    now: u64,
) -> Result<Option<Rc<Installation>>, ApiError> {
    let key = format!("installation:{id}");
    let filter = ("id = ?1", vec![Arg::from(id)]);
    cached_installation(db, env, key, filter, now).await
}

/// The live installation of any app profile of `provider` with `tenant_key` (email: the
/// address mail is routed to, which names one installation whatever its profile).
pub async fn installation_by_provider_tenant(
    db: &D1Database,
    env: &Env,
    provider: Provider,
    tenant_key: &str,
    now: u64,
) -> Result<Option<Rc<Installation>>, ApiError> {
    let key = format!("provider-tenant:{}:{tenant_key}", provider.as_str());
    let filter = (
        "app_profile_id IN (SELECT id FROM app_profiles WHERE provider = ?1) AND tenant_key = ?2",
        vec![Arg::from(provider.as_str()), Arg::from(tenant_key)],
    );
    cached_installation(db, env, key, filter, now).await
}

/// The live installation of `app_profile_id` with `tenant_key`.
pub async fn installation_by_tenant(
    db: &D1Database,
    env: &Env,
    app_profile_id: &str,
    tenant_key: &str,
    now: u64,
) -> Result<Option<Rc<Installation>>, ApiError> {
    let key = format!("tenant:{app_profile_id}:{tenant_key}");
    let filter = (
        "app_profile_id = ?1 AND tenant_key = ?2",
        vec![Arg::from(app_profile_id), Arg::from(tenant_key)],
    );
    cached_installation(db, env, key, filter, now).await
}

async fn cached_installation(
    db: &D1Database,
    env: &Env,
    key: String,
    filter: (&str, Vec<Arg>),
    now: u64,
) -> Result<Option<Rc<Installation>>, ApiError> {
    if let Some(entry) = cached(&key, now) {
        if let Entry::Installation(installation) = entry.as_ref() {
            return Ok(installation.clone());
        }
    }
    let ring = &key_ring(env)?;
    let filter = &filter;
    let installation = fresh(db, now, |source| async move {
        load_installation(&source, ring, filter.clone()).await
    })
    .await?
    .map(Rc::new);
    remember(key, Entry::Installation(installation.clone()), now);
    Ok(installation)
}

#[derive(Deserialize)]
struct ProfileRow {
    id: String,
    provider: String,
    provider_app_id: String,
}

#[derive(Deserialize)]
struct SecretRow {
    id: String,
    owner_table: String,
    owner_id: String,
    name: String,
    sealed: String,
    created_at: u64,
    expires_at: Option<u64>,
}

#[derive(Deserialize)]
struct FlagRow {
    key: String,
    stage: Stage,
    canary_org_ids: String,
}

const SECRET_COLUMNS: &str = "id, owner_table, owner_id, name, sealed, created_at, expires_at";

/// An app profile that may carry traffic: active, and (BYOA) its org active.
const LIVE_PROFILE: &str = "status = 'active' AND \
     (org_id IS NULL OR org_id IN (SELECT id FROM orgs WHERE status = 'active'))";

/// An installation that may carry traffic: active, its org active and its app profile live.
/// Revoking any owner takes its installations out of every lookup (within [`TTL_SECONDS`]).
fn live_installation(filter: &str) -> String {
    format!(
        "{filter} AND status = 'active' \
         AND org_id IN (SELECT id FROM orgs WHERE status = 'active') \
         AND app_profile_id IN (SELECT id FROM app_profiles WHERE {LIVE_PROFILE})"
    )
}

/// What holds now for queued envelopes (read uncached, in one round trip): which of
/// `installation_ids` are live, which of `binding_ids` are active, and the rollout flags.
pub async fn live_for_delivery(
    db: &D1Database,
    installation_ids: &BTreeSet<&str>,
    binding_ids: &BTreeSet<&str>,
) -> Result<(HashSet<String>, HashSet<String>, Flags), ApiError> {
    let live = live_installation("id IN (SELECT value FROM json_each(?1))");
    let list = |ids: &BTreeSet<&str>| Arg::from(serde_json::json!(ids).to_string());
    let statements = vec![
        d1::statement(
            db,
            &format!("SELECT id FROM installations WHERE {live}"),
            &[list(installation_ids)],
        )?,
        d1::statement(
            db,
            "SELECT id FROM bindings WHERE status = 'active' \
             AND id IN (SELECT value FROM json_each(?1))",
            &[list(binding_ids)],
        )?,
        flags_statement(&Source::Primary(db))?,
    ];
    let results = db.batch(statements).await.map_err(d1::internal)?;
    let [installations, bindings, flags] = results.as_slice() else {
        return Err(d1::internal("delivery check: expected three results"));
    };
    let ids = |result: &worker::D1Result| -> Result<HashSet<String>, ApiError> {
        let rows: Vec<Value> = result.results().map_err(d1::internal)?;
        Ok(rows
            .iter()
            .filter_map(|row| row["id"].as_str().map(str::to_owned))
            .collect())
    };
    Ok((ids(installations)?, ids(bindings)?, flags_of(flags)?))
}

/// The statement that reads every rollout flag (for a batch; read it with [`flags_of`]).
fn flags_statement(db: &Source<'_>) -> Result<worker::D1PreparedStatement, ApiError> {
    db.statement("SELECT key, stage, canary_org_ids FROM rollout_flags", &[])
}

/// The flags [`flags_statement`] read.
fn flags_of(result: &worker::D1Result) -> Result<Flags, ApiError> {
    let rows: Vec<FlagRow> = result.results().map_err(d1::internal)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let canary = serde_json::from_str(&row.canary_org_ids).unwrap_or_default();
            (
                row.key,
                Flag {
                    stage: row.stage,
                    canary_org_ids: canary,
                },
            )
        })
        .collect())
}

async fn load_profile(
    db: &Source<'_>,
    ring: &KeyRing,
    id: &str,
) -> Result<(Option<Profile>, Flags), ApiError> {
    let args = [Arg::from(id)];
    let statements = vec![
        db.statement(
            &format!("SELECT id, provider, provider_app_id FROM app_profiles WHERE id = ?1 AND {LIVE_PROFILE}"),
            &args,
        )?,
        db.statement(
            &format!("SELECT {SECRET_COLUMNS} FROM secrets WHERE owner_id = ?1 AND owner_table = 'app_profiles'"),
            &args,
        )?,
        flags_statement(db)?,
    ];
    let results = db.batch(statements).await?;
    let [profiles, secrets, flags] = results.as_slice() else {
        return Err(d1::internal("profile batch: expected three results"));
    };
    let flags = flags_of(flags)?;
    let Some(row) = profiles
        .results::<ProfileRow>()
        .map_err(d1::internal)?
        .into_iter()
        .next()
    else {
        return Ok((None, flags));
    };
    let profile = Profile {
        provider: Provider::parse(&row.provider).map_err(d1::internal)?,
        secrets: open_all(ring, secrets.results().map_err(d1::internal)?)?,
        id: row.id,
        provider_app_id: row.provider_app_id,
    };
    Ok((Some(profile), flags))
}

#[derive(Deserialize)]
struct InstallationRow {
    id: String,
    app_profile_id: String,
    org_id: String,
    tenant_key: String,
    metadata: String,
}

#[derive(Deserialize)]
struct BindingRow {
    id: String,
    agent_id: String,
    conversation_id: Option<String>,
    peer_id: Option<String>,
    team_id: Option<String>,
    priority: i64,
    sender_policy: String,
    fallback_installation_id: Option<String>,
}

async fn load_installation(
    db: &Source<'_>,
    ring: &KeyRing,
    (filter, args): (&str, Vec<Arg>),
) -> Result<Option<Installation>, ApiError> {
    let live = live_installation(filter);
    let installation = format!("(SELECT id FROM installations WHERE {live})");
    let statements = vec![
        db.statement(
            &format!(
                "SELECT id, app_profile_id, org_id, tenant_key, metadata FROM installations \
                 WHERE {live}"
            ),
            &args,
        )?,
        db.statement(
            &format!("SELECT {SECRET_COLUMNS} FROM secrets WHERE owner_id = {installation} AND owner_table = 'installations'"),
            &args,
        )?,
        db.statement(
            &format!(
                "SELECT id, agent_id, conversation_id, peer_id, team_id, priority, sender_policy, \
                 fallback_installation_id \
                 FROM bindings WHERE installation_id = {installation} AND status = 'active'"
            ),
            &args,
        )?,
        db.statement(
            &format!(
                "SELECT binding_id, sender_id FROM allowlist_entries WHERE binding_id IN \
                 (SELECT id FROM bindings WHERE installation_id = {installation} AND status = 'active')"
            ),
            &args,
        )?,
    ];
    let results = db.batch(statements).await?;
    let [rows, secrets, bindings, allowed] = results.as_slice() else {
        return Err(d1::internal("installation batch: expected four results"));
    };
    let Some(row) = rows
        .results::<InstallationRow>()
        .map_err(d1::internal)?
        .into_iter()
        .next()
    else {
        return Ok(None);
    };
    let allowed: Vec<Value> = allowed.results().map_err(d1::internal)?;
    let bindings = bindings
        .results::<BindingRow>()
        .map_err(d1::internal)?
        .into_iter()
        .map(|binding| binding_of(binding, &allowed))
        .collect();
    Ok(Some(Installation {
        secrets: open_all(ring, secrets.results().map_err(d1::internal)?)?,
        id: row.id,
        app_profile_id: row.app_profile_id,
        org_id: row.org_id,
        tenant_key: row.tenant_key,
        metadata: serde_json::from_str(&row.metadata).unwrap_or(Value::Null),
        bindings,
    }))
}

fn binding_of(row: BindingRow, allowed: &[Value]) -> Binding {
    let allowlist = allowed
        .iter()
        .filter(|entry| entry["binding_id"] == row.id.as_str())
        .filter_map(|entry| entry["sender_id"].as_str().map(str::to_owned))
        .collect();
    Binding {
        open: row.sender_policy == "open",
        selector: Selector {
            conversation: row.conversation_id,
            peer: row.peer_id,
            team: row.team_id,
        },
        id: row.id,
        agent_id: row.agent_id,
        priority: row.priority,
        allowlist,
        fallback_installation_id: row.fallback_installation_id,
    }
}

/// Opens every sealed row (the same associated data `edge::secrets` sealed it with).
fn open_all(ring: &KeyRing, rows: Vec<SecretRow>) -> Result<Vec<Secret>, ApiError> {
    rows.into_iter()
        .map(|row| {
            let purpose =
                crate::edge::store::secrets::purpose(&row.owner_table, &row.owner_id, &row.name);
            let context = SealContext {
                table: "secrets",
                row_id: &row.id,
                purpose: &purpose,
            };
            let value = ring
                .open(&row.sealed, &context)
                .and_then(|opened| opened.into_string())
                .map_err(|error| d1::internal(format!("secret {}: {error}", row.id)))?;
            Ok(Secret {
                name: row.name,
                value,
                created_at: row.created_at,
                expires_at: row.expires_at,
            })
        })
        .collect()
}
