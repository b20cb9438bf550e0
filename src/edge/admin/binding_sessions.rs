//! `/v1/binding-sessions`: start, list, read, cancel, post a credential, and follow live.
//!
//! The session itself lives in its Durable Object ([`crate::edge::binding_session`]); these
//! handlers check what needs D1 (the org, the app profile, that a session exists), then pass
//! the call on. D1's `binding_sessions` mirrors each session's status for listing.

use super::collection::{self, kind_of, provider_of};
use super::install_tokens::{self, Grant};
use super::{Call, Reply};
use crate::core::admin::parse;
use crate::core::api_error::ApiError;
use crate::core::auth::{Caller, Scope};
use crate::core::authority;
use crate::core::binding_session::{
    channel_name, oauth_state, slack_authorize_url, Method, NewSession, Session, State,
};
use crate::core::install_token::deep_link;
use crate::core::json;
use crate::core::route::Resource;
use crate::core::signed_link::{self, Purpose};
use crate::core::tenancy::{check_installation_org, Provider};
use crate::core::webhook::current_secret;
use crate::edge::binding_session::{self, Command};
use crate::edge::http::base_url;
use crate::edge::runtime;
use crate::edge::store::d1;
use crate::edge::store::directory;
use crate::edge::store::secrets::key_ring;
use crate::edge::store::sessions::{self, StatusFilter};
use crate::edge::store::tenancy::linkable_installations;
use serde_json::{json, Value};
use worker::{D1Database, Env, Response};

/// `POST /v1/binding-sessions` → 201 with the session's view.
pub async fn start(call: &Call<'_>) -> Result<Reply, ApiError> {
    let body: NewSession = parse(&call.body)?;
    let timeout = body.validate()?;
    let org = collection::find_active(call, Resource::Orgs, &body.org_id).await?;
    let profile =
        collection::find_active(call, Resource::AppProfiles, &body.app_profile_id).await?;
    authority::require_agent(&call.caller, &body.binding.agent_id)?;
    let provider = provider_of(&profile)?;
    if provider != body.provider {
        return Err(ApiError::BadRequest {
            message: format!(
                "app profile {} is a {} profile, not {}",
                body.app_profile_id,
                provider.as_str(),
                body.provider.as_str()
            ),
        });
    }
    check_installation_org(
        kind_of(&profile),
        json::at(&profile, "/org_id").as_str(),
        &body.org_id,
    )?;
    let id = runtime::new_id("bss")?;
    let mut session = Session::start(
        id.clone(),
        body,
        &call.caller.principal_id,
        call.now,
        timeout,
    );
    session.org_name = json::at(&org, "/name").as_str().map(str::to_owned);
    match session.method {
        Method::Qr => {
            let (link, channel) = qr_link(call, &session, timeout).await?;
            (session.deep_link, session.channel) = (Some(link), Some(channel));
        }
        Method::Oauth => session.authorize_url = Some(authorize_url(call, &session).await?),
        Method::Token => {}
    }
    let (status, view) = binding_session::call(
        call.env,
        &id,
        &Command::Start {
            session: Box::new(session),
        },
    )
    .await?;
    Ok((if status == 200 { 201 } else { status }, view))
}

/// An `oauth` session's Slack authorize URL: the profile's client id, the callback, and a
/// `state` signed for this session until it expires.
async fn authorize_url(call: &Call<'_>, session: &Session) -> Result<String, ApiError> {
    let (profile, _) =
        directory::profile(call.db, call.env, &session.app_profile_id, call.now).await?;
    let client_id = profile
        .and_then(|profile| current_secret(&profile.secrets, "oauth_client_id", call.now))
        .ok_or_else(|| ApiError::Conflict {
            message: "the app profile has no oauth_client_id: rotate its secrets to add \
                      oauth_client_id and oauth_client_secret"
                .into(),
        })?;
    let capability = signed_link::sign(
        &key_ring(call.env)?,
        Purpose::OauthState,
        &session.id,
        session.expires_at,
    );
    Ok(slack_authorize_url(
        &base_url(call.env, "SLACK_AUTHORIZE_URL"),
        &client_id,
        &format!(
            "{}/oauth/slack/callback",
            base_url(call.env, "PUBLIC_BASE_URL")
        ),
        &oauth_state(&session.id, &capability),
    ))
}

/// A `qr` session's deep link: to the org's first active installation of the session's app
/// profile whose metadata names its number or bot, with an install token (lifetime: the
/// session's) whose claim completes the session; and that installation's [`channel_name`].
async fn qr_link(
    call: &Call<'_>,
    session: &Session,
    ttl: u64,
) -> Result<(String, String), ApiError> {
    let installations = linkable_installations(
        call.db,
        &session.org_id,
        Some(&session.app_profile_id),
        &[session.provider],
    )
    .await?;
    let Some(installation) = installations
        .iter()
        .find(|installation| deep_link(session.provider, &installation.metadata, "").is_some())
    else {
        return Err(ApiError::Conflict {
            message: format!(
                "the org has no active {} installation under this app profile whose metadata \
                 names its {}: bind the bot or number first (method token)",
                session.provider.as_str(),
                if session.provider == Provider::Whatsapp {
                    "display_phone_number"
                } else {
                    "bot_username"
                }
            ),
        });
    };
    let grant = Grant {
        org_id: &session.org_id,
        agent_id: &session.binding.agent_id,
        subject: session.subject.as_deref().unwrap_or_default(),
        provider: Some(session.provider),
        ttl,
        binding_session_id: Some(&session.id),
    };
    let (minted, _) = install_tokens::create(call, &grant).await?;
    let link = deep_link(session.provider, &installation.metadata, &minted.token)
        .ok_or(ApiError::Internal)?;
    let name = channel_name(
        session.provider,
        &installation.tenant_key,
        &installation.metadata,
    );
    Ok((link, name))
}

/// `GET /v1/binding-sessions`: newest first; `?status=active` for those that have not ended, or
/// `?status=<state>`; `?limit=` 1–200 (default 50). Only sessions within the caller's reach.
pub async fn list(call: &Call<'_>) -> Result<Reply, ApiError> {
    let mut status = StatusFilter::Any;
    let mut limit: u32 = 50;
    for (name, value) in call.query_pairs() {
        match name {
            "status" if value == "active" => status = StatusFilter::Active,
            "status" if State::parse(value).is_some() => status = StatusFilter::Is(value),
            "limit" => {
                limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=200).contains(n))
                    .ok_or_else(|| bad("limit must be 1–200"))?
            }
            other => return Err(bad(&format!("unknown or bad query parameter {other:?}"))),
        }
    }
    let items = sessions::list(call.db, status, &call.caller.restriction, limit).await?;
    Ok((200, json!({ "items": items })))
}

/// `GET /v1/binding-sessions/{id}`: the live capabilities (`page_url`, the `qr` deep link, the
/// Slack authorize URL) only for callers that may also act on the session (`bindings:write`).
pub async fn get(call: &Call<'_>, id: &str) -> Result<Reply, ApiError> {
    require(call.db, &call.caller, id).await?;
    let capabilities = call.caller.scopes.allows(Scope::BindingsWrite);
    binding_session::call(call.env, id, &Command::View { capabilities }).await
}

/// `DELETE /v1/binding-sessions/{id}`: cancels it (409 once it has ended).
pub async fn cancel(call: &Call<'_>, id: &str) -> Result<Reply, ApiError> {
    require(call.db, &call.caller, id).await?;
    let by = call.caller.principal_id.clone();
    binding_session::call(call.env, id, &Command::Cancel { by }).await
}

/// `POST /v1/binding-sessions/{id}/credentials`: answers when the session has completed or
/// failed.
pub async fn credentials(call: &Call<'_>, id: &str) -> Result<Reply, ApiError> {
    let body: Value = parse(&call.body)?;
    require(call.db, &call.caller, id).await?;
    let by = call.caller.principal_id.clone();
    binding_session::call(call.env, id, &Command::Credentials { by, body }).await
}

/// `GET /v1/binding-sessions/{id}/events`: the Durable Object's event stream, with the live
/// capabilities only for `bindings:write` callers (as [`get`]).
pub async fn events(
    db: &D1Database,
    env: &Env,
    caller: &Caller,
    id: &str,
) -> Result<Response, ApiError> {
    require(db, caller, id).await?;
    let capabilities = caller.scopes.allows(Scope::BindingsWrite);
    binding_session::events(env, id, capabilities)
        .await
        .map_err(d1::internal)
}

/// 404 unless session `id` exists within the caller's reach.
async fn require(db: &D1Database, caller: &Caller, id: &str) -> Result<(), ApiError> {
    if sessions::exists(db, &caller.restriction, id).await? {
        return Ok(());
    }
    Err(ApiError::NoSuch {
        what: "binding session",
        id: id.to_owned(),
    })
}

fn bad(message: &str) -> ApiError {
    ApiError::BadRequest {
        message: message.to_owned(),
    }
}
