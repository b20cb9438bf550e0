//! The `oauth` method (Slack): the workspace admin consents at Slack's authorize URL, and Slack
//! sends them to `GET /oauth/slack/callback?code=…&state=…`.
//!
//! - [`callback`] (the worker): the `state` must be this service's signature for an unexpired
//!   session (else 400, audited as a rejection, no session touched); then the session's object
//!   takes the code. A `state` whose session no longer awaits consent (a reused one) is also
//!   400 and audited, and the session is left as it is.
//! - [`exchange`] (the session's object): `oauth.v2.access` with the app profile's sealed client
//!   id and secret (`channel_authenticating`), then `auth.test` with the new bot token
//!   (`testing_connection`), then the installation and binding ([`super::token::finish`]).
//!
//! The callback answers with a small HTML page saying how it went.

use super::token::{call, claim_channel, fail, finish, quote, Channel};
use super::{BindingSession, Command};
use crate::core::admin::{Secret, Secrets};
use crate::core::api_error::ApiError;
use crate::core::binding_page::notice;
use crate::core::binding_session::{channel_name, parse_oauth_state, Method as BindMethod, State};
use crate::core::json;
use crate::core::signed_link::{self, Purpose};
use crate::core::tenancy::Provider;
use crate::core::webhook::current_secret;
use crate::edge::assets::PageAssets;
use crate::edge::http::base_url;
use crate::edge::runtime;
use crate::edge::store::secrets::key_ring;
use crate::edge::store::{directory, rejections};
use serde_json::{json, Value};
use std::collections::HashMap;
use worker::{Context, Env, Method, Request, Response, Result};

/// The title of the page that ends a successful consent.
const BOUND: &str = "Slack workspace bound";

/// A notice page to answer with: status, title and message.
type Notice = (u16, &'static str, String);

/// `GET /oauth/slack/callback`: a notice page in the binding page's style.
pub async fn callback(req: Request, env: &Env, ctx: &Context) -> Result<Response> {
    let (status, title, message) = outcome(req, env, ctx).await?;
    let style = PageAssets::style(env).await;
    // Every notice but the success is shown as a problem.
    let problem = !(status == 200 && title == BOUND);
    crate::edge::http::static_page(status, &notice(&style, title, &message, problem))
}

async fn outcome(req: Request, env: &Env, ctx: &Context) -> Result<Notice> {
    let query: HashMap<String, String> = crate::edge::http::query(&req).into_iter().collect();
    let now = runtime::now_seconds();
    let ring = key_ring(env).map_err(|e| worker::Error::RustError(e.to_string()))?;
    let session = query
        .get("state")
        .and_then(|state| parse_oauth_state(state))
        .filter(|(id, capability)| {
            signed_link::verify(&ring, Purpose::OauthState, id, capability, now).is_ok()
        })
        .map(|(id, _)| id.to_owned());
    let Some(id) = session else {
        return refuse(&req, env, ctx, "bad_oauth_state", now);
    };
    let command = Command::OauthCode {
        code: query.get("code").cloned(),
        error: query.get("error").cloned(),
    };
    match super::call(env, &id, &command).await {
        Ok((200, view)) => Ok(outcome_page(&view)),
        Ok((409, _)) => refuse(&req, env, ctx, "reused_oauth_state", now),
        Ok((status, body)) => {
            worker::console_error!("oauth callback for {id}: {status} {body}");
            Ok(page(
                500,
                "Something went wrong",
                "Something went wrong on our side. Start a new binding session.",
            ))
        }
        Err(error) => {
            worker::console_error!("oauth callback for {id}: {error}");
            Ok(page(
                500,
                "Something went wrong",
                "Something went wrong on our side. Start a new binding session.",
            ))
        }
    }
}

/// 400, audited like a rejected webhook (aggregated per source, reason and minute).
fn refuse(
    req: &Request,
    env: &Env,
    ctx: &Context,
    reason: &'static str,
    now: u64,
) -> Result<Notice> {
    let ip = req
        .headers()
        .get("CF-Connecting-IP")?
        .unwrap_or_else(|| "unknown".into());
    let source = format!("slack:oauth-callback ip:{ip}");
    rejections::record_later(
        ctx,
        env,
        Provider::Slack,
        source,
        (crate::core::metrics::Metric::Rejected, reason, 1),
        rejections::Audit::FirstPerMinute,
        now,
    );
    Ok(page(
        400,
        "Link not valid",
        "This sign-in link is not valid, was already used, or has expired. Start a new binding session.",
    ))
}

fn outcome_page(view: &Value) -> Notice {
    match view["status"].as_str() {
        Some("completed") => page(
            200,
            BOUND,
            &format!(
                "The Slack workspace is bound to agent {}. You can close this window.",
                json::at(view, "/binding/agent_id")
                    .as_str()
                    .unwrap_or_default()
            ),
        ),
        _ => page(
            200,
            "Binding failed",
            &format!(
                "{} Start a new binding session to try again.",
                view["failure"].as_str().unwrap_or("unknown reason")
            ),
        ),
    }
}

fn page(status: u16, title: &'static str, message: &str) -> Notice {
    (status, title, message.to_owned())
}

/// Takes the code Slack sent back (or the error). 409 when the session is not an `oauth` one
/// awaiting consent.
pub async fn exchange(
    object: &BindingSession,
    code: Option<String>,
    error: Option<String>,
) -> std::result::Result<(), ApiError> {
    let driver = object.driver();
    let session = driver.snapshot()?;
    if session.method != BindMethod::Oauth {
        return Err(ApiError::Conflict {
            message: "only an oauth session takes a code".into(),
        });
    }
    let _checking = driver.begin_check("slack", runtime::now_seconds()).await?;
    let code = match (code, error) {
        (Some(code), None) => code,
        (_, error) => {
            let reason = format!(
                "the Slack workspace admin did not allow the app ({})",
                quote(error.as_deref().unwrap_or("no code"))
            );
            return fail(object, &reason, "slack").await;
        }
    };
    let env = object.env();
    let now = runtime::now_seconds();
    let channel = match access(env, &session.app_profile_id, &code, now).await? {
        Ok(channel) => channel,
        Err(reason) => return fail(object, &reason, "slack").await,
    };
    if let Some(reason) = claim_channel(env, &session, &channel.tenant_key).await? {
        return fail(object, &reason, "slack").await;
    }
    let now = runtime::now_seconds();
    let name = channel_name(session.provider, &channel.tenant_key, &channel.metadata);
    driver.authenticated(name, now, "slack").await?;
    driver
        .advance(State::TestingConnection, now, "system")
        .await?;
    if let Err(reason) = confirm(env, &channel).await {
        return fail(object, &reason, "slack").await;
    }
    finish(object, channel, runtime::new_id("ins")?).await
}

/// `oauth.v2.access`: the code for a bot token and the workspace it is for. The outer `Err` is
/// ours (storage); the inner one is Slack's refusal in plain words.
async fn access(
    env: &Env,
    app_profile_id: &str,
    code: &str,
    now: u64,
) -> std::result::Result<std::result::Result<Channel, String>, ApiError> {
    let db = env.d1("DB").map_err(crate::edge::store::d1::internal)?;
    let (profile, _) = directory::profile(&db, env, app_profile_id, now).await?;
    let secret = |name: &str| {
        profile
            .as_ref()
            .and_then(|p| current_secret(&p.secrets, name, now))
    };
    let (Some(client_id), Some(client_secret)) =
        (secret("oauth_client_id"), secret("oauth_client_secret"))
    else {
        return Ok(Err(
            "the app profile has no oauth_client_id and oauth_client_secret".into(),
        ));
    };
    let redirect_uri = format!("{}/oauth/slack/callback", base_url(env, "PUBLIC_BASE_URL"));
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", &client_id)
        .append_pair("client_secret", &client_secret)
        .append_pair("code", code)
        .append_pair("redirect_uri", &redirect_uri)
        .finish();
    let url = format!("{}/oauth.v2.access", base_url(env, "SLACK_API_BASE_URL"));
    let headers = [("Content-Type", "application/x-www-form-urlencoded")];
    let answer = match call(&url, Method::Post, &headers, Some(form), "Slack").await {
        Ok(answer) => answer,
        Err(reason) => return Ok(Err(reason)),
    };
    if json::at(&answer, "/ok") != true {
        let reason = json::at(&answer, "/error")
            .as_str()
            .unwrap_or("no reason given");
        return Ok(Err(format!("Slack refused the code: {}", quote(reason))));
    }
    let (Some(token), Some(team)) = (
        json::at(&answer, "/access_token").as_str(),
        json::at(&answer, "/team/id").as_str(),
    ) else {
        return Ok(Err("Slack's answer named no bot token or workspace".into()));
    };
    Ok(Ok(Channel {
        tenant_key: team.to_owned(),
        metadata: json!({
            "team_name": json::at(&answer, "/team/name"),
            "bot_user_id": json::at(&answer, "/bot_user_id"),
            "app_id": json::at(&answer, "/app_id"),
        }),
        credentials: Secrets::from([("bot_token".to_owned(), Secret(token.to_owned()))]),
    }))
}

/// `auth.test` with the new token: it works, and for the same workspace.
async fn confirm(env: &Env, channel: &Channel) -> std::result::Result<(), String> {
    let token = channel
        .credentials
        .get("bot_token")
        .map_or("", |token| token.0.as_str());
    let url = format!("{}/auth.test", base_url(env, "SLACK_API_BASE_URL"));
    let bearer = format!("Bearer {token}");
    let headers = [("Authorization", bearer.as_str())];
    let answer = call(&url, Method::Post, &headers, None, "Slack").await?;
    if json::at(&answer, "/ok") == true
        && json::at(&answer, "/team_id") == channel.tenant_key.as_str()
    {
        return Ok(());
    }
    let reason = json::at(&answer, "/error")
        .as_str()
        .unwrap_or("another workspace");
    Err(format!(
        "Slack's auth.test did not confirm the bot token: {}",
        quote(reason)
    ))
}
