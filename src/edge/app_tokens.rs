//! Tokens minted at the send boundary from an app profile's secret, for the providers whose
//! installations hold no credential of their own: a GitHub App's installation tokens
//! ([`github_app`]), a Teams bot's Bot Framework token (client credentials with the profile's
//! `app_password`) and a Google Chat app's Chat API token (an assertion signed by WebCrypto
//! with the profile's `service_account_key`). Teams and Google Chat tokens are per app, kept
//! per isolate until five minutes before they end; the rules are [`crate::core::app_token`]'s.

use crate::core::api_error::ApiError;
use crate::core::app_token::{self, ServiceAccount, TokenError};
use crate::core::expiring::ExpiringMap;
use crate::core::github_app;
use crate::core::outbound::conversation::Outcome;
use crate::core::outbound::Failure;
use crate::core::tenancy::Provider;
use crate::core::webhook::{current_secret, Installation, Profile};
use crate::edge::store::directory;
use crate::edge::{crypto, github_app as github, http};
use serde_json::Value;
use std::cell::RefCell;
use std::time::Duration;
use worker::{D1Database, Env, Method};

/// How long a token endpoint has to answer.
const TIMEOUT: Duration = Duration::from_secs(10);

thread_local! {
    /// Teams and Google Chat tokens by app profile id, until they are due for refreshing.
    static TOKENS: RefCell<ExpiringMap<String>> = RefCell::new(ExpiringMap::new(256));
}

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
    if provider == Provider::Github {
        return github::installation_token(db, env, installation, now).await;
    }
    if !matches!(provider, Provider::Teams | Provider::GoogleChat) {
        return Ok(None);
    }
    let profile_id = &installation.app_profile_id;
    if let Some(token) = TOKENS.with(|tokens| tokens.borrow().get(profile_id, now)) {
        return Ok(Some(Ok(token)));
    }
    let (profile, _) = directory::profile(db, env, profile_id, now).await?;
    let Some(profile) = profile else {
        return Ok(None);
    };
    let request = match provider {
        Provider::Teams => teams(env, &profile, now),
        _ => google_chat(env, &profile, now).await,
    };
    let Some(request) = request else {
        return Ok(None);
    };
    let minted = match request {
        Ok((url, form)) => post(&url, form, now).await,
        Err(error) => Err(refused(&error.to_string())),
    };
    if let Ok((token, until)) = &minted {
        TOKENS.with(|tokens| {
            tokens
                .borrow_mut()
                .insert(profile_id.clone(), token.clone(), *until, now)
        });
    }
    Ok(Some(minted.map(|(token, _)| token)))
}

/// Forgets the token kept for `installation` (the provider refused it): the next call mints one.
pub fn forget(provider: Provider, installation: &Installation) {
    match provider {
        Provider::Github => github::forget(&installation.id),
        _ => TOKENS.with(|tokens| tokens.borrow_mut().remove(&installation.app_profile_id)),
    }
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

/// Posts a token request's `form` to `url`: the token and until when to use it.
async fn post(url: &str, form: String, now: u64) -> Result<(String, u64), Outcome> {
    let headers = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Accept", "application/json"),
    ];
    let mut response = http::send(Method::Post, url, &headers, Some(form), TIMEOUT, false)
        .await
        .map_err(|error| Outcome::Retry {
            reason: format!("the token endpoint could not be reached: {error}"),
        })?;
    let status = response.status_code();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if status >= 500 || status == 429 {
        return Err(Outcome::Retry {
            reason: format!("the token endpoint answered HTTP {status}"),
        });
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
