//! Answering as a Teams bot or a Google Chat app: the OAuth 2.0 token requests that turn the
//! app profile's secret into a short-lived access token at the send boundary, and what the
//! token endpoints answer. Signing (Google's assertion) is the platform's, as for GitHub Apps
//! ([`crate::core::github_app`]).
//!
//! Sources: "Authentication with the Bot Connector API" (client credentials at
//! `login.microsoftonline.com/{botframework.com | tenant}/oauth2/v2.0/token`, scope
//! `https://api.botframework.com/.default`), Google's "Using OAuth 2.0 for Server to Server
//! Applications" (a JWT-bearer assertion by the service account, scope
//! `https://www.googleapis.com/auth/chat.bot`).
//!
//! # What's in scope
//! - [`teams_request`]: the token URL (the app's tenant for a single-tenant bot, else
//!   `botframework.com`) and the form.
//! - [`ServiceAccount`]: the fields of a service-account key file that are used (`client_email`,
//!   `private_key`); [`google_assertion_input`] and [`google_form`].
//! - [`read_token`]: `access_token` and `expires_in`, kept until five minutes before it ends.
//!
//! # What's out of scope
//! HTTP, caching and signing (the edge), the clock (`now` is an argument).

use crate::core::github_app::REFRESH_BEFORE_SECONDS;
use crate::core::json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

/// The Bot Framework's scope.
const BOT_FRAMEWORK_SCOPE: &str = "https://api.botframework.com/.default";
/// The tenant multi-tenant bots ask for tokens in.
const BOT_FRAMEWORK_TENANT: &str = "botframework.com";
/// The Chat API's scope for apps.
const CHAT_BOT_SCOPE: &str = "https://www.googleapis.com/auth/chat.bot";

/// Why an app cannot get a token. No variant holds key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The service-account key is not a key file with `client_email` and `private_key`.
    #[error("the app profile's service_account_key is not a Google service-account key file (JSON with client_email and private_key)")]
    BadServiceAccountKey,
    /// The tenant id is not a tenant id.
    #[error(
        "the app profile's tenant_id is not a Microsoft Entra tenant id (a GUID or a domain name)"
    )]
    BadTenant,
    /// The answer holds no usable token.
    #[error("the token endpoint answered without an access token")]
    NoToken,
}

/// The token URL under `login_base` (`https://login.microsoftonline.com`) and the form for
/// app `app_id` with its `password`, in `tenant` for a single-tenant bot.
pub fn teams_request(
    login_base: &str,
    app_id: &str,
    password: &str,
    tenant: Option<&str>,
) -> Result<(String, String), TokenError> {
    let tenant = tenant
        .filter(|t| !t.is_empty())
        .unwrap_or(BOT_FRAMEWORK_TENANT);
    let valid = tenant
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.'));
    if !valid {
        return Err(TokenError::BadTenant);
    }
    let url = format!("{login_base}/{tenant}/oauth2/v2.0/token");
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "client_credentials")
        .append_pair("client_id", app_id)
        .append_pair("client_secret", password)
        .append_pair("scope", BOT_FRAMEWORK_SCOPE)
        .finish();
    Ok((url, form))
}

/// The fields of a Google service-account key file that are used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAccount {
    /// The account's email: the assertion's issuer.
    pub client_email: String,
    /// Its private key, PEM (PKCS#8).
    pub private_key: String,
}

impl ServiceAccount {
    /// Reads a key file (`{"type": "service_account", "client_email": …, "private_key": …}`).
    pub fn parse(key_file: &str) -> Result<ServiceAccount, TokenError> {
        let file: Value =
            serde_json::from_str(key_file).map_err(|_| TokenError::BadServiceAccountKey)?;
        let field = |name: &str| {
            json::text(&file, &format!("/{name}"))
                .filter(|value| !value.is_empty())
                .map(str::to_owned)
                .ok_or(TokenError::BadServiceAccountKey)
        };
        Ok(ServiceAccount {
            client_email: field("client_email")?,
            private_key: field("private_key")?,
        })
    }
}

/// The assertion's signed part (`header.claims`) for `account` asking `token_url` at `now`.
pub fn google_assertion_input(account: &ServiceAccount, token_url: &str, now: u64) -> String {
    let header = json!({"alg": "RS256", "typ": "JWT"});
    let claims = json!({
        "iss": account.client_email, "scope": CHAT_BOT_SCOPE, "aud": token_url,
        "iat": now, "exp": now + 3600,
    });
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// The token request's form for a signed `assertion`.
pub fn google_form(assertion: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer")
        .append_pair("assertion", assertion)
        .finish()
}

/// The token in an OAuth 2.0 answer and until when to use it (Unix seconds: `expires_in` from
/// `now` less [`REFRESH_BEFORE_SECONDS`]; an hour if the answer gives no number).
pub fn read_token(answer: &Value, now: u64) -> Result<(String, u64), TokenError> {
    let token = json::text(answer, "/access_token")
        .filter(|token| !token.is_empty())
        .ok_or(TokenError::NoToken)?;
    let lifetime = json::at(answer, "/expires_in").as_u64().unwrap_or(3600);
    let until = (now + lifetime)
        .saturating_sub(REFRESH_BEFORE_SECONDS)
        .max(now);
    Ok((token.to_owned(), until))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn teams_tokens_come_from_botframework_com_or_the_bots_own_tenant() {
        let (url, form) = teams_request("https://login.test", "app-1", "p&ss=", None).unwrap();
        assert_eq!(url, "https://login.test/botframework.com/oauth2/v2.0/token");
        let pairs: Vec<(String, String)> = form_urlencoded::parse(form.as_bytes())
            .into_owned()
            .collect();
        assert!(pairs.contains(&("client_secret".into(), "p&ss=".into())));
        assert!(pairs.contains(&("scope".into(), BOT_FRAMEWORK_SCOPE.into())));
        assert!(pairs.contains(&("grant_type".into(), "client_credentials".into())));
        let tenant = "0de07e4a-0000-4000-8000-000000000001";
        let (url, _) = teams_request("https://login.test", "app-1", "p", Some(tenant)).unwrap();
        assert_eq!(
            url,
            format!("https://login.test/{tenant}/oauth2/v2.0/token")
        );
        for bad in ["a/b", "x?y", "../evil", "a b"] {
            assert_eq!(
                teams_request("https://login.test", "a", "p", Some(bad)),
                Err(TokenError::BadTenant),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_service_account_key_file_gives_its_email_and_key() {
        let file = json!({"type": "service_account", "client_email": "bot@p.iam.gserviceaccount.com",
                          "private_key": "-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n"});
        let account = ServiceAccount::parse(&file.to_string()).unwrap();
        assert_eq!(account.client_email, "bot@p.iam.gserviceaccount.com");
        for bad in [
            "",
            "{}",
            r#"{"client_email": "a"}"#,
            r#"{"client_email": "", "private_key": "k"}"#,
        ] {
            assert_eq!(
                ServiceAccount::parse(bad),
                Err(TokenError::BadServiceAccountKey)
            );
        }
        let input = google_assertion_input(&account, "https://oauth2.test/token", 1000);
        let (_, claims) = input.split_once('.').unwrap();
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap();
        assert_eq!(claims["iss"], "bot@p.iam.gserviceaccount.com");
        assert_eq!(claims["aud"], "https://oauth2.test/token");
        assert_eq!(claims["scope"], CHAT_BOT_SCOPE);
        assert_eq!(claims["exp"], 4600);
        assert!(google_form("a.b.c").contains("assertion=a.b.c"));
    }

    #[test]
    fn answers_give_a_token_kept_until_five_minutes_before_it_ends() {
        let answer = json!({"access_token": "tok", "expires_in": 3599, "token_type": "Bearer"});
        assert_eq!(
            read_token(&answer, 100),
            Ok(("tok".into(), 100 + 3599 - 300))
        );
        let short = json!({"access_token": "tok", "expires_in": 10});
        assert_eq!(read_token(&short, 100), Ok(("tok".into(), 100)));
        assert_eq!(
            read_token(&json!({"error": "invalid_client"}), 1),
            Err(TokenError::NoToken)
        );
        assert_eq!(
            read_token(&json!({"access_token": ""}), 1),
            Err(TokenError::NoToken)
        );
    }
}
