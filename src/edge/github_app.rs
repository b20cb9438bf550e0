//! A GitHub App's installation tokens at the send boundary: minted with the app profile's
//! `private_key` (an RS256 JWT signed by WebCrypto, `POST /app/installations/{id}/access_tokens`),
//! kept per isolate until five minutes before they expire. The rules are
//! [`crate::core::github_app`]'s.

use crate::core::api_error::ApiError;
use crate::core::expiring::ExpiringMap;
use crate::core::github_app::{self, AppError};
use crate::core::outbound::conversation::Outcome;
use crate::core::outbound::Failure;
use crate::core::webhook::{current_secret, Installation};
use crate::edge::store::directory;
use crate::edge::{crypto, http};
use serde_json::Value;
use std::cell::RefCell;
use std::time::Duration;
use worker::{D1Database, Env, Method};

/// How long GitHub has to answer.
const TIMEOUT: Duration = Duration::from_secs(10);

thread_local! {
    /// Installation tokens by installation id, until they are due for refreshing.
    static TOKENS: RefCell<ExpiringMap<String>> = RefCell::new(ExpiringMap::new(1024));
}

/// A token for `installation` minted with its App's key: `None` when its app profile holds no
/// `private_key` (the installation's own `access_token` is then the only way); `Some(Err)` is
/// the call's outcome without a call (the App's key or id refused: failed; GitHub unreachable:
/// retried).
pub async fn installation_token(
    db: &D1Database,
    env: &Env,
    installation: &Installation,
    now: u64,
) -> Result<Option<Result<String, Outcome>>, ApiError> {
    let cached = TOKENS.with(|tokens| tokens.borrow().get(&installation.id, now));
    if let Some(token) = cached {
        return Ok(Some(Ok(token)));
    }
    let (profile, _) = directory::profile(db, env, &installation.app_profile_id, now).await?;
    let Some(profile) = profile else {
        return Ok(None);
    };
    let Some(pem) = current_secret(&profile.secrets, "private_key", now) else {
        return Ok(None);
    };
    Ok(Some(
        mint(env, installation, &profile.provider_app_id, &pem, now).await,
    ))
}

/// Forgets the token kept for installation `id` (GitHub refused it): the next call mints one.
pub fn forget(id: &str) {
    TOKENS.with(|tokens| tokens.borrow_mut().remove(id));
}

async fn mint(
    env: &Env,
    installation: &Installation,
    app_id: &str,
    pem: &str,
    now: u64,
) -> Result<String, Outcome> {
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
    let (token, until) = github_app::read_token(&body, now)
        .map_err(|error: AppError| refused(&error.to_string()))?;
    TOKENS.with(|tokens| {
        tokens
            .borrow_mut()
            .insert(installation.id.clone(), token.clone(), until, now)
    });
    Ok(token)
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
