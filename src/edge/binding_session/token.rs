//! The `token` method: the admin posts a credential, which is checked with the provider
//! (`channel_authenticating` → `channel_authenticated`), the webhook is set up and tested
//! (`testing_connection`), and the installation and binding are made (`completed`).
//!
//! - Telegram: `getMe` → `setWebhook` to `{PUBLIC_BASE_URL}/webhooks/telegram/{installation}`
//!   with a fresh `secret_token` → `getWebhookInfo` to see that the URL took.
//! - WhatsApp Cloud: `GET /{phone_number_id}` with the access token → `POST
//!   /{waba_id}/subscribed_apps`.
//! - Messenger: `GET /{page_id}?fields=name` with the Page token → `POST
//!   /{page_id}/subscribed_apps` for messages, postbacks and reactions.
//! - Instagram: `GET /me?fields=user_id,username` on the Instagram API with the account's token
//!   → `POST /me/subscribed_apps` for messages, postbacks and reactions.
//! - Twilio: `GET /2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json?PhoneNumber=…` with the
//!   account's credentials → `POST …/IncomingPhoneNumbers/{number sid}.json` setting its
//!   `SmsUrl` to `{PUBLIC_BASE_URL}/webhooks/twilio/{installation}`.
//! - Linear: the GraphQL query `viewer` and `organization` with the token (nothing to set up:
//!   the workspace's webhook points at the app profile).
//! - LINE: `GET /v2/bot/info` with the channel access token → `PUT
//!   /v2/bot/channel/webhook/endpoint` to `{PUBLIC_BASE_URL}/webhooks/line/{installation}` →
//!   `GET /v2/bot/channel/webhook/endpoint` to see that it took and that webhooks are on.
//!
//! A refusal fails the session with the provider's reason in plain words; provider API base URLs
//! come from `[vars]` so tests point them at local fakes.

use super::BindingSession;
use crate::core::admin::{Secret, Secrets};
use crate::core::api_error::ApiError;
use crate::core::binding_session::{channel_name, Credentials, Outcome, Session, State};
use crate::core::json;
use crate::core::session_driver::NewChannel;
use crate::core::webhook::SELF_ID;
use crate::edge::http::{self, base_url};
use crate::edge::runtime;
use crate::edge::store::d1;
use crate::edge::store::sessions::{self, ClaimRefused};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Value};
use std::time::Duration;
use worker::{Env, Method};

/// How long a provider has to answer one call.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest provider message a failure quotes.
const MAX_REASON_CHARS: usize = 200;
/// The updates a bound Telegram bot sends us.
const TELEGRAM_UPDATES: [&str; 4] = [
    "message",
    "edited_message",
    "callback_query",
    "my_chat_member",
];

/// What the provider said about the channel: enough to make the installation.
pub(super) struct Channel {
    /// The provider's id for the tenant (bot id, phone number id, workspace id).
    pub tenant_key: String,
    /// Non-secret facts for the installation's metadata.
    pub metadata: Value,
    /// Credentials, sealed on insert.
    pub credentials: Secrets,
}

/// Runs the method for `body` posted by `by`. Returns once the session completed or failed (the
/// caller shows the view); 409 when the session is not awaiting a credential or another
/// request is already checking one.
pub async fn authenticate(object: &BindingSession, by: &str, body: &Value) -> Result<(), ApiError> {
    let driver = object.driver();
    let session = driver.snapshot()?;
    let credentials = Credentials::parse(session.provider, body.to_string().as_bytes())?;
    let _checking = driver.begin_check(by, runtime::now_seconds()).await?;
    let env = object.env();
    let provider = session.provider.as_str();
    // The channel is claimed before anything changes at the provider (`connect`).
    let checked = match check(env, &credentials).await {
        Ok(channel) => claim_channel(env, &session, &channel.tenant_key)
            .await?
            .map_or(Ok(channel), Err),
        Err(reason) => Err(reason),
    };
    let channel = match checked {
        Ok(channel) => channel,
        Err(reason) => return fail(object, &reason, provider).await,
    };
    let now = runtime::now_seconds();
    let name = channel_name(session.provider, &channel.tenant_key, &channel.metadata);
    driver.authenticated(name, now, provider).await?;
    driver
        .advance(State::TestingConnection, now, "system")
        .await?;
    let installation_id = runtime::new_id("ins")?;
    let channel = match connect(env, &credentials, channel, &installation_id).await {
        Ok(channel) => channel,
        Err(reason) => return fail(object, &reason, provider).await,
    };
    finish(object, channel, installation_id).await
}

/// Completes the session with a new installation `installation_id` of `channel` and the
/// session's binding, in the `completed` transition's transaction.
pub(super) async fn finish(
    object: &BindingSession,
    channel: Channel,
    installation_id: String,
) -> Result<(), ApiError> {
    let made = NewChannel {
        installation_id,
        binding_id: runtime::new_id("bnd")?,
        tenant_key: channel.tenant_key,
        metadata: channel.metadata.to_string(),
        credentials: channel.credentials,
    };
    let outcome = Outcome {
        installation_id: made.installation_id.clone(),
        binding_id: made.binding_id.clone(),
        sender_id: None,
    };
    let now = runtime::now_seconds();
    object.driver().complete(Some(&made), outcome, now).await
}

pub(super) async fn fail(object: &BindingSession, reason: &str, by: &str) -> Result<(), ApiError> {
    object
        .driver()
        .fail(reason, runtime::now_seconds(), by)
        .await
}

/// Claims the channel (`tenant_key` under the session's app profile) for this session until it
/// ends ([`sessions::claim_channel`]); the plain-words reason when it cannot. Made before
/// anything changes at the provider, so a session that cannot win changes nothing there.
pub(super) async fn claim_channel(
    env: &Env,
    session: &Session,
    tenant_key: &str,
) -> Result<Option<String>, ApiError> {
    let db = env.d1("DB").map_err(d1::internal)?;
    let claimed = sessions::claim_channel(&db, session, tenant_key, runtime::now_seconds()).await?;
    Ok(claimed.err().map(|refused| match refused {
        ClaimRefused::OwnerRevoked => {
            "the org or app profile was revoked; nothing was installed".to_owned()
        }
        ClaimRefused::Installed(id) => format!(
            "this channel is already installed as {id} under this app profile; revoke that \
             installation first, then start a new session"
        ),
        ClaimRefused::Held => "another binding session is binding this channel right now; start \
                               a new session once it has ended"
            .to_owned(),
    }))
}

/// `channel_authenticating`: the provider accepts the credential and says who the channel is.
async fn check(env: &Env, credentials: &Credentials) -> Result<Channel, String> {
    match credentials {
        Credentials::Telegram { bot_token } => {
            let me = telegram(env, bot_token, Method::Get, "getMe", None).await?;
            let id = json::at(&me, "/id")
                .as_u64()
                .ok_or("Telegram's getMe named no bot id")?;
            Ok(Channel {
                tenant_key: id.to_string(),
                metadata: json!({"bot_username": json::at(&me, "/username")}),
                credentials: Secrets::from([("bot_token".to_owned(), bot_token.clone())]),
            })
        }
        Credentials::Whatsapp {
            phone_number_id,
            waba_id,
            access_token,
        } => {
            let path = format!("{phone_number_id}?fields=display_phone_number,verified_name");
            let number = graph(env, GRAPH, access_token, Method::Get, &path).await?;
            Ok(Channel {
                tenant_key: phone_number_id.clone(),
                metadata: json!({
                    "waba_id": waba_id,
                    "display_phone_number": json::at(&number, "/display_phone_number"),
                    "verified_name": json::at(&number, "/verified_name"),
                }),
                credentials: Secrets::from([("access_token".to_owned(), access_token.clone())]),
            })
        }
        Credentials::Messenger {
            page_id,
            page_access_token,
        } => {
            let page = graph(
                env,
                GRAPH,
                page_access_token,
                Method::Get,
                &format!("{page_id}?fields=name"),
            )
            .await?;
            Ok(Channel {
                tenant_key: page_id.clone(),
                metadata: json!({"name": json::at(&page, "/name")}),
                credentials: Secrets::from([(
                    "page_access_token".to_owned(),
                    page_access_token.clone(),
                )]),
            })
        }
        Credentials::Instagram { access_token } => {
            let path = "me?fields=user_id,username";
            let account = graph(env, INSTAGRAM, access_token, Method::Get, path).await?;
            let user_id = match json::at(&account, "/user_id") {
                Value::String(id) => id.clone(),
                Value::Number(id) => id.to_string(),
                _ => return Err("the Instagram API named no user_id".into()),
            };
            Ok(Channel {
                tenant_key: user_id,
                metadata: json!({"username": json::at(&account, "/username")}),
                credentials: Secrets::from([("access_token".to_owned(), access_token.clone())]),
            })
        }
        Credentials::Twilio {
            account_sid,
            auth_token,
            phone_number,
        } => {
            let query = form_urlencoded::Serializer::new(String::new())
                .append_pair("PhoneNumber", phone_number)
                .finish();
            let path = format!("IncomingPhoneNumbers.json?{query}");
            let found = twilio(env, account_sid, auth_token, &path, None).await?;
            // Twilio's filter also matches parts of numbers: only the number itself will do.
            let numbers = json::at(&found, "/incoming_phone_numbers").as_array();
            let number = numbers
                .into_iter()
                .flatten()
                .find(|number| json::text(number, "/phone_number") == Some(phone_number))
                .ok_or_else(|| format!("the Twilio account has no number {phone_number}"))?;
            let sid = json::text(number, "/sid")
                .ok_or_else(|| format!("Twilio named no sid for {phone_number}"))?;
            Ok(Channel {
                tenant_key: phone_number.clone(),
                metadata: json!({"account_sid": account_sid, "number_sid": sid,
                                 "phone_number": phone_number,
                                 "friendly_name": json::at(number, "/friendly_name")}),
                credentials: Secrets::from([("auth_token".to_owned(), auth_token.clone())]),
            })
        }
        Credentials::Linear { access_token } => {
            let workspace = linear(env, access_token).await?;
            let id = json::text(&workspace, "/organization/id")
                .ok_or("Linear named no organization for the token")?;
            Ok(Channel {
                tenant_key: id.to_owned(),
                // The token's user: its comments (the agent's answers) are not messages.
                metadata: json!({
                    "name": json::at(&workspace, "/organization/name"),
                    "url_key": json::at(&workspace, "/organization/urlKey"),
                    SELF_ID: json::at(&workspace, "/viewer/id"),
                }),
                credentials: Secrets::from([("access_token".to_owned(), access_token.clone())]),
            })
        }
        Credentials::Line {
            channel_secret,
            channel_access_token,
        } => {
            let bot = line(env, channel_access_token, Method::Get, "info", None).await?;
            let user_id = json::text(&bot, "/userId").ok_or("LINE's bot info named no userId")?;
            Ok(Channel {
                tenant_key: user_id.to_owned(),
                metadata: json!({
                    "basic_id": json::at(&bot, "/basicId"),
                    "display_name": json::at(&bot, "/displayName"),
                }),
                credentials: Secrets::from([
                    ("channel_secret".to_owned(), channel_secret.clone()),
                    (
                        "channel_access_token".to_owned(),
                        channel_access_token.clone(),
                    ),
                ]),
            })
        }
    }
}

/// `testing_connection`: points the provider's deliveries at installation `installation_id`
/// and checks that they will arrive.
async fn connect(
    env: &Env,
    credentials: &Credentials,
    mut channel: Channel,
    installation_id: &str,
) -> Result<Channel, String> {
    match credentials {
        Credentials::Telegram { bot_token } => {
            let secret = runtime::random_bytes::<32>().map_err(|error| error.to_string())?;
            let secret_token = URL_SAFE_NO_PAD.encode(secret);
            let url = format!(
                "{}/webhooks/telegram/{installation_id}",
                public_base_url(env)
            );
            let settings = json!({"url": url, "secret_token": secret_token,
                                  "allowed_updates": TELEGRAM_UPDATES});
            telegram(env, bot_token, Method::Post, "setWebhook", Some(settings)).await?;
            let info = telegram(env, bot_token, Method::Get, "getWebhookInfo", None).await?;
            if json::at(&info, "/url") != url.as_str() {
                return Err(
                    "Telegram reports another webhook URL: setting ours did not take".into(),
                );
            }
            channel
                .credentials
                .insert("secret_token".into(), Secret(secret_token));
            Ok(channel)
        }
        Credentials::Whatsapp {
            waba_id,
            access_token,
            ..
        } => {
            let path = format!("{waba_id}/subscribed_apps");
            subscribe(env, GRAPH, access_token, &path).await?;
            Ok(channel)
        }
        Credentials::Messenger {
            page_id,
            page_access_token,
        } => {
            let path = format!("{page_id}/subscribed_apps?subscribed_fields={MESSAGING_FIELDS}");
            subscribe(env, GRAPH, page_access_token, &path).await?;
            Ok(channel)
        }
        Credentials::Instagram { access_token } => {
            let path = format!("me/subscribed_apps?subscribed_fields={MESSAGING_FIELDS}");
            subscribe(env, INSTAGRAM, access_token, &path).await?;
            Ok(channel)
        }
        Credentials::Linear { .. } => Ok(channel),
        Credentials::Twilio {
            account_sid,
            auth_token,
            ..
        } => {
            let url = format!("{}/webhooks/twilio/{installation_id}", public_base_url(env));
            let number = json::text(&channel.metadata, "/number_sid").unwrap_or_default();
            let form = form_urlencoded::Serializer::new(String::new())
                .append_pair("SmsUrl", &url)
                .append_pair("SmsMethod", "POST")
                .finish();
            let path = format!("IncomingPhoneNumbers/{number}.json");
            let set = twilio(env, account_sid, auth_token, &path, Some(form)).await?;
            if json::at(&set, "/sms_url") != url.as_str() {
                return Err("Twilio reports another SmsUrl: setting ours did not take".into());
            }
            Ok(channel)
        }
        Credentials::Line {
            channel_access_token,
            ..
        } => {
            let url = format!("{}/webhooks/line/{installation_id}", public_base_url(env));
            let endpoint = "channel/webhook/endpoint";
            let settings = json!({"endpoint": url});
            line(
                env,
                channel_access_token,
                Method::Put,
                endpoint,
                Some(settings),
            )
            .await?;
            let set = line(env, channel_access_token, Method::Get, endpoint, None).await?;
            if json::at(&set, "/endpoint") != url.as_str() {
                return Err("LINE reports another webhook URL: setting ours did not take".into());
            }
            if json::at(&set, "/active") != true {
                return Err(
                    "the webhook URL is set but webhooks are off: turn on \"Use \
                            webhook\" on the channel's Messaging API tab, then start a new \
                            session"
                        .into(),
                );
            }
            Ok(channel)
        }
    }
}

/// Calls Twilio's API at `/2010-04-01/Accounts/{account}/{path}` (a `GET`, or a `POST` of
/// `form`); the answer, or Twilio's reason.
async fn twilio(
    env: &Env,
    account: &str,
    token: &Secret,
    path: &str,
    form: Option<String>,
) -> Result<Value, String> {
    let base = base_url(env, "TWILIO_API_BASE_URL");
    let url = format!("{base}/2010-04-01/Accounts/{account}/{path}");
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{account}:{}", token.0))
    );
    let headers = [
        ("Authorization", basic.as_str()),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ];
    let verb = if form.is_some() {
        Method::Post
    } else {
        Method::Get
    };
    let answer = call(&url, verb, &headers, form, "Twilio").await?;
    match (
        json::at(&answer, "/code").as_u64(),
        json::text(&answer, "/message"),
    ) {
        (Some(_), Some(reason)) => Err(format!("Twilio refused: {}", quote(reason))),
        _ => Ok(answer),
    }
}

/// Asks Linear's GraphQL API who `token` is: its `viewer` and `organization`, or Linear's reason.
async fn linear(env: &Env, token: &Secret) -> Result<Value, String> {
    let url = format!("{}/graphql", base_url(env, "LINEAR_API_BASE_URL"));
    let authorization = crate::core::outbound::linear::authorization(&token.0);
    let headers = [
        ("Authorization", authorization.as_str()),
        ("Content-Type", "application/json"),
    ];
    let query = json!({"query": "query { viewer { id name } organization { id name urlKey } }"});
    let answer = call(
        &url,
        Method::Post,
        &headers,
        Some(query.to_string()),
        "Linear",
    )
    .await?;
    match json::text(&answer, "/errors/0/message") {
        Some(reason) => Err(format!("Linear refused: {}", quote(reason))),
        None => Ok(json::at(&answer, "/data").clone()),
    }
}

/// Calls the Messaging API at `/v2/bot/{path}` with `token`; the answer, or LINE's reason.
async fn line(
    env: &Env,
    token: &Secret,
    verb: Method,
    path: &str,
    body: Option<Value>,
) -> Result<Value, String> {
    let url = format!("{}/v2/bot/{path}", base_url(env, "LINE_API_BASE_URL"));
    let bearer = format!("Bearer {}", token.0);
    let headers = [
        ("Authorization", bearer.as_str()),
        ("Content-Type", "application/json"),
    ];
    let body = body.map(|body| body.to_string());
    let answer = call(&url, verb, &headers, body, "the LINE API").await?;
    match json::text(&answer, "/message") {
        Some(reason) => Err(format!("the LINE API refused: {}", quote(reason))),
        None => Ok(answer),
    }
}

/// Calls Bot API `method` with `bot_token`; its `result`, or Telegram's reason.
async fn telegram(
    env: &Env,
    bot_token: &Secret,
    verb: Method,
    method: &str,
    body: Option<Value>,
) -> Result<Value, String> {
    let url = format!(
        "{}/bot{}/{method}",
        base_url(env, "TELEGRAM_API_BASE_URL"),
        bot_token.0
    );
    let headers = [("Content-Type", "application/json")];
    let body = body.map(|body| body.to_string());
    let answer = call(&url, verb, &headers, body, "Telegram").await?;
    if json::at(&answer, "/ok") == true {
        return Ok(json::at(&answer, "/result").clone());
    }
    let reason = json::at(&answer, "/description")
        .as_str()
        .unwrap_or("no reason given");
    Err(format!("Telegram refused {method}: {}", quote(reason)))
}

/// The Graph API's and the Instagram API's base URL vars.
const GRAPH: &str = "GRAPH_API_BASE_URL";
const INSTAGRAM: &str = "INSTAGRAM_API_BASE_URL";
/// The webhook fields a bound Page or Instagram account sends us.
const MESSAGING_FIELDS: &str = "messages,messaging_postbacks,message_reactions";

/// Subscribes the app to an account's webhook fields (`path`, under `base`) with `token`.
async fn subscribe(env: &Env, base: &str, token: &Secret, path: &str) -> Result<(), String> {
    let answer = graph(env, base, token, Method::Post, path).await?;
    if json::at(&answer, "/success") != true {
        return Err("Meta did not subscribe the app to the account's messages".into());
    }
    Ok(())
}

/// Calls Meta's API (the Graph API or the Instagram API, `base`) at `path` with
/// `access_token`; the answer, or Meta's reason.
async fn graph(
    env: &Env,
    base: &str,
    access_token: &Secret,
    verb: Method,
    path: &str,
) -> Result<Value, String> {
    let url = format!("{}/{path}", base_url(env, base));
    let bearer = format!("Bearer {}", access_token.0);
    let headers = [("Authorization", bearer.as_str())];
    let answer = call(&url, verb, &headers, None, "the Graph API").await?;
    match json::at(&answer, "/error/message").as_str() {
        Some(reason) => Err(format!("the Graph API refused: {}", quote(reason))),
        None => Ok(answer),
    }
}

/// One provider call; a JSON answer (whatever its status), or why there is none.
pub(super) async fn call(
    url: &str,
    verb: Method,
    headers: &[(&str, &str)],
    body: Option<String>,
    who: &str,
) -> Result<Value, String> {
    let mut response = http::send(verb, url, headers, body, PROVIDER_TIMEOUT, true)
        .await
        .map_err(|reason| format!("{who} could not be reached: {reason}"))?;
    let status = response.status_code();
    if status >= 500 {
        return Err(format!(
            "{who} is unavailable (HTTP {status}); try again later"
        ));
    }
    response
        .json::<Value>()
        .await
        .map_err(|_| format!("{who} answered HTTP {status} without JSON"))
}

pub(super) fn quote(reason: &str) -> String {
    reason.chars().take(MAX_REASON_CHARS).collect()
}

fn public_base_url(env: &Env) -> String {
    base_url(env, "PUBLIC_BASE_URL")
}
