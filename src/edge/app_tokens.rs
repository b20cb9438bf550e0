//! Tokens minted at the send boundary from an app profile's secret, for the providers whose
//! installations hold no credential of their own: a GitHub App's installation tokens (an RS256
//! JWT signed by WebCrypto with the profile's `private_key`, exchanged at
//! `POST /app/installations/{id}/access_tokens`), a Teams bot's Bot Framework token (client
//! credentials with the profile's `app_password`) and a Google Chat app's Chat API token (an
//! assertion signed by WebCrypto with the profile's `service_account_key`). One per-isolate
//! cache holds them all (GitHub's per installation, the others per app) until five minutes
//! before they end; the rules are [`crate::core::github_app`]'s and
//! [`crate::core::app_token`]'s.

use crate::core::api_error::ApiError;
use crate::core::app_token::{self, ServiceAccount, TokenError};
use crate::core::expiring::ExpiringMap;
use crate::core::github_app;
use crate::core::outbound::conversation::Outcome;
use crate::core::outbound::Failure;
use crate::core::tenancy::Provider;
use crate::core::webhook::{current_secret, Installation, Profile};
use crate::edge::store::directory;
use crate::edge::{crypto, http};
use serde_json::Value;
use std::cell::RefCell;
use std::time::Duration;
use worker::{D1Database, Env, Method};

/// How long a token endpoint has to answer.
const TIMEOUT: Duration = Duration::from_secs(10);

thread_local! {
    /// Minted tokens by [`cache_key`], until they are due for refreshing.
    static TOKENS: RefCell<ExpiringMap<String>> = RefCell::new(ExpiringMap::new(1024));
}

/// A minted token and until when to use it (Unix seconds).
type Minted = Result<(String, u64), Outcome>;

/// A token minted for `installation` of `provider`: `None` when the provider mints none or the
/// app profile holds no secret to mint with; `Some(Err)` is the call's outcome without a call
/// (the secret refused: failed; the endpoint unreachable: retried).
pub async fn minted(
    db: &D1Database,
    env: &Env,
    provider: Provider,
    installation: &Installation,
    now: u64,
) -> Result<Option<Result<String, Outcome>>, ApiError> {
    let Some(key) = cache_key(provider, installation) else {
        return Ok(None);
    };
    if let Some(token) = TOKENS.with(|tokens| tokens.borrow().get(&key, now)) {
        return Ok(Some(Ok(token)));
    }
    let (profile, _) = directory::profile(db, env, &installation.app_profile_id, now).await?;
    let Some(profile) = profile else {
        return Ok(None);
    };
    let minted = match provider {
        Provider::Github => github(env, &profile, installation, now).await,
        Provider::Teams => exchange(teams(env, &profile, now), now).await,
        _ => exchange(google_chat(env, &profile, now).await, now).await,
    };
    let Some(minted) = minted else {
        return Ok(None);
    };
    if let Ok((token, until)) = &minted {
        TOKENS.with(|tokens| tokens.borrow_mut().insert(key, token.clone(), *until, now));
    }
    Ok(Some(minted.map(|(token, _)| token)))
}

/// Forgets the token kept for `installation` (the provider refused it): the next call mints one.
pub fn forget(provider: Provider, installation: &Installation) {
    if let Some(key) = cache_key(provider, installation) {
        TOKENS.with(|tokens| tokens.borrow_mut().remove(&key));
    }
}

/// Whose token a call of `provider` uses: a GitHub App's installation's, a Teams bot's or a
/// Chat app's (its app profile's); `None` for a provider that mints none.
fn cache_key(provider: Provider, installation: &Installation) -> Option<String> {
    match provider {
        Provider::Github => Some(format!("github:{}", installation.id)),
        Provider::Teams | Provider::GoogleChat => Some(format!(
            "{}:{}",
            provider.as_str(),
            installation.app_profile_id
        )),
        _ => None,
    }
}

/// A GitHub App installation token, if the profile holds the App's `private_key`.
async fn github(
    env: &Env,
    profile: &Profile,
    installation: &Installation,
    now: u64,
) -> Option<Minted> {
    let pem = current_secret(&profile.secrets, "private_key", now)?;
    Some(github_token(env, installation, &profile.provider_app_id, &pem, now).await)
}

async fn github_token(
    env: &Env,
    installation: &Installation,
    app_id: &str,
    pem: &str,
    now: u64,
) -> Minted {
    let der = github_app::pkcs8_der(pem).map_err(|error| refused(&error.to_string()))?;
    let path = github_app::token_request_path(&installation.tenant_key)
        .ok_or_else(|| refused("the installation's tenant_key is not a GitHub installation id"))?;
    let input = github_app::jwt_signing_input(app_id, now);
    let signature = crypto::rs256_sign(&der, input.as_bytes())
        .await
        .ok_or_else(|| refused("WebCrypto refused the app profile's private_key"))?;
    let jwt = github_app::jwt(&input, &signature);
    let url = format!("{}/{path}", http::base_url(env, "GITHUB_API_BASE_URL"));
    let bearer = format!("Bearer {jwt}");
    let headers = [
        ("Authorization", bearer.as_str()),
        ("Accept", "application/vnd.github+json"),
        ("X-GitHub-Api-Version", "2022-11-28"),
        ("User-Agent", "channel-edge"),
    ];
    let mut response = http::send(Method::Post, &url, &headers, None, TIMEOUT, true)
        .await
        .map_err(|error| retry(&format!("GitHub could not be reached for a token: {error}")))?;
    let status = response.status_code();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if status >= 500 || status == 429 {
        return Err(retry(&format!(
            "GitHub answered the token request with HTTP {status}"
        )));
    }
    if status != 201 {
        let message = crate::core::json::text(&body, "/message").unwrap_or("no reason given");
        return Err(refused(&format!(
            "GitHub refused the App's token request (HTTP {status}): {}",
            message.chars().take(200).collect::<String>()
        )));
    }
    github_app::read_token(&body, now).map_err(|error| refused(&error.to_string()))
}

/// The Bot Framework token request of `profile`, if it holds an `app_password`.
fn teams(env: &Env, profile: &Profile, now: u64) -> Option<Result<(String, String), TokenError>> {
    let password = current_secret(&profile.secrets, "app_password", now)?;
    let tenant = current_secret(&profile.secrets, "tenant_id", now);
    let login = http::base_url(env, "TEAMS_LOGIN_BASE_URL");
    Some(app_token::teams_request(
        &login,
        &profile.provider_app_id,
        &password,
        tenant.as_deref(),
    ))
}

/// The Chat API token request of `profile`, if it holds a `service_account_key`: the
/// assertion signed by WebCrypto.
async fn google_chat(
    env: &Env,
    profile: &Profile,
    now: u64,
) -> Option<Result<(String, String), TokenError>> {
    let key_file = current_secret(&profile.secrets, "service_account_key", now)?;
    let token_url = http::base_url(env, "GOOGLE_OAUTH_TOKEN_URL");
    let signed = async {
        let account = ServiceAccount::parse(&key_file)?;
        let der = github_app::pkcs8_der(&account.private_key)
            .map_err(|_| TokenError::BadServiceAccountKey)?;
        let input = app_token::google_assertion_input(&account, &token_url, now);
        let signature = crypto::rs256_sign(&der, input.as_bytes())
            .await
            .ok_or(TokenError::BadServiceAccountKey)?;
        let assertion = github_app::jwt(&input, &signature);
        Ok((token_url.clone(), app_token::google_form(&assertion)))
    };
    Some(signed.await)
}

/// An OAuth 2.0 token `request` (its URL and form) made: `None` without one to make.
async fn exchange(
    request: Option<Result<(String, String), TokenError>>,
    now: u64,
) -> Option<Minted> {
    Some(match request? {
        Ok((url, form)) => post(&url, form, now).await,
        Err(error) => Err(refused(&error.to_string())),
    })
}

/// Posts a token request's `form` to `url`: the token and until when to use it.
async fn post(url: &str, form: String, now: u64) -> Minted {
    let headers = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Accept", "application/json"),
    ];
    let mut response = http::send(Method::Post, url, &headers, Some(form), TIMEOUT, false)
        .await
        .map_err(|error| retry(&format!("the token endpoint could not be reached: {error}")))?;
    let status = response.status_code();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if status >= 500 || status == 429 {
        return Err(retry(&format!("the token endpoint answered HTTP {status}")));
    }
    if status != 200 {
        // OAuth errors name the problem (`invalid_client`), never the secret.
        let error = crate::core::json::text(&body, "/error").unwrap_or("no reason given");
        return Err(refused(&format!(
            "the token endpoint refused the app's credentials (HTTP {status}): {}",
            error.chars().take(100).collect::<String>()
        )));
    }
    app_token::read_token(&body, now).map_err(|error| refused(&error.to_string()))
}

fn refused(reason: &str) -> Outcome {
    Outcome::Failed(Failure {
        code: "credentials".into(),
        reason: reason.to_owned(),
    })
}

fn retry(reason: &str) -> Outcome {
    Outcome::Retry {
        reason: reason.to_owned(),
    }
}
