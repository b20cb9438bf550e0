//! `POST /v1/install-tokens`: mints an install token ([`crate::core::install_token`]) and
//! stores its grant, to be claimed once from chat (`super::super::ingress`'s claims).

use super::{collection, Call, Reply};
use crate::core::admin::{parse, NewInstallToken};
use crate::core::api_error::ApiError;
use crate::core::authority;
use crate::core::install_token::{self, deep_link, Minted, TEXT_PREFIX};
use crate::core::route::Resource;
use crate::core::tenancy::Provider;
use crate::edge::runtime;
use crate::edge::store::grants::{self, GrantRow};
use crate::edge::store::secrets::key_ring;
use crate::edge::store::tenancy::linkable_installations;
use crate::edge::store::{d1, ledger};
use serde_json::{json, Value};

/// `POST /v1/install-tokens` → 201 `{id, token, text, expires_at, links: {whatsapp, telegram,
/// line}}`.
pub async fn mint(call: &Call<'_>) -> Result<Reply, ApiError> {
    let body: NewInstallToken = parse(&call.body)?;
    let ttl = body.validate()?;
    collection::find_active(call, Resource::Orgs, &body.org_id).await?;
    authority::require_agent(&call.caller, &body.agent_id)?;
    let grant = Grant {
        org_id: &body.org_id,
        agent_id: &body.agent_id,
        subject: &body.subject,
        provider: body.provider,
        ttl,
        binding_session_id: None,
    };
    let (minted, expires_at) = create(call, &grant).await?;
    let links = links(call, &body, &minted.token).await?;
    Ok((
        201,
        json!({
            "id": minted.grant_id,
            "token": minted.token,
            "text": format!("{TEXT_PREFIX}{}", minted.token),
            "expires_at": expires_at,
            "links": links,
        }),
    ))
}

/// What a token grants.
pub struct Grant<'a> {
    /// The org.
    pub org_id: &'a str,
    /// The agent to install.
    pub agent_id: &'a str,
    /// The user it is for.
    pub subject: &'a str,
    /// The only provider it may be claimed through.
    pub provider: Option<Provider>,
    /// Its lifetime, seconds.
    pub ttl: u64,
    /// The `qr` binding session its claim completes.
    pub binding_session_id: Option<&'a str>,
}

/// Mints a token for `grant` and stores the grant with its `install_token.mint` audit entry;
/// returns the token and its expiry.
pub async fn create(call: &Call<'_>, grant: &Grant<'_>) -> Result<(Minted, u64), ApiError> {
    let ring = key_ring(call.env)?;
    let expires_at = call.now + grant.ttl;
    let minted =
        install_token::mint(&ring, runtime::random_bytes()?, expires_at).map_err(d1::internal)?;
    let provider = grant.provider.map(Provider::as_str);
    let event = call
        .event("install_token.mint", &minted.grant_id)
        .with_detail(json!({
            "org_id": grant.org_id,
            "agent_id": grant.agent_id,
            "subject": grant.subject,
            "provider": provider,
            "expires_at": expires_at,
            "binding_session_id": grant.binding_session_id,
        }))
        .for_org(Some(grant.org_id));
    let row = GrantRow {
        id: &minted.grant_id,
        org_id: grant.org_id,
        agent_id: grant.agent_id,
        subject: grant.subject,
        provider,
        key_id: &minted.key_id,
        created_by: &call.caller.principal_id,
        expires_at,
        binding_session_id: grant.binding_session_id,
    };
    ledger::commit(call.db, &event, call.now, || {
        Ok(vec![grants::insert(call.db, &row, call.now)?])
    })
    .await?;
    Ok((minted, expires_at))
}

/// The deep links to the org's first active WhatsApp, Telegram and LINE installations whose
/// metadata names their number (`display_phone_number`), bot (`bot_username`) or account
/// (`basic_id`); `null` where there is none, or where the token is limited to another provider.
async fn links(call: &Call<'_>, body: &NewInstallToken, token: &str) -> Result<Value, ApiError> {
    let providers = [Provider::Whatsapp, Provider::Telegram, Provider::Line];
    let installations = linkable_installations(call.db, &body.org_id, None, &providers).await?;
    let link = |provider: Provider| {
        if body.provider.is_some_and(|only| only != provider) {
            return Value::Null;
        }
        installations
            .iter()
            .filter(|installation| installation.provider == provider.as_str())
            .find_map(|installation| deep_link(provider, &installation.metadata, token))
            .map_or(Value::Null, Value::String)
    };
    Ok(json!({
        "whatsapp": link(Provider::Whatsapp),
        "telegram": link(Provider::Telegram),
        "line": link(Provider::Line),
    }))
}
