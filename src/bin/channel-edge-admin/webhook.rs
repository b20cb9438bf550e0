//! `channel-edge-admin webhook`: sends a worker a signed test webhook as a provider would (as
//! `stripe trigger` and `svix` do for theirs).
//!
//! # What's in scope
//! - [`payload`]: a realistic text message for each provider from a sender in a conversation,
//!   with fresh event ids; the defaults ([`default_sender`], [`conversation_of`]) are the dev
//!   dataset's allowed senders and tenants (`seed/dev-dataset.json`). Or a file's bytes, sent as
//!   they are.
//! - [`dataset_secret`]: the secret a provider signs with in the dev dataset (an app profile's
//!   secret for Slack, WhatsApp and Discord, an installation's credential for Telegram and
//!   Standard Webhooks), when `--secret` does not give one.
//! - [`request`] and [`send`]: the signed request (signatures by
//!   [`channel_edge::core::ingress::sign`]) to `{base}/webhooks/{provider}/{id}`, and the answer;
//!   [`run`] does all of it once.
//! - The checks the command line needs ([`check_target`], [`check_ids`], [`check_secret`],
//!   [`check_base`]), each a usage error saying what to fix.
//!
//! # What's out of scope
//! Other kinds of events (reactions, buttons, handshakes: send them with `--file`), finding the
//! ids of app profiles and installations (`scripts/run.sh` prints them), retries, the clock and
//! the RNG (`now` and `nonce` are arguments).

use channel_edge::core::ids;
use channel_edge::core::ingress::sign::{self, SignError, Stamp};
use channel_edge::core::ingress::PathId;
use channel_edge::core::tenancy::{Provider, SecretOwner};
use serde_json::{json, Value};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the worker is when neither `--base` nor `$EDGE` says: `scripts/run.sh`'s address.
pub const DEFAULT_BASE: &str = "http://127.0.0.1:8787";
/// The environment variable that names the worker's base URL.
pub const BASE_VARIABLE: &str = "EDGE";
/// The dev dataset, relative to the repository root.
pub const DEFAULT_DATASET: &str = "seed/dev-dataset.json";
/// How long to wait for the worker's answer.
const TIMEOUT: Duration = Duration::from_secs(30);

/// What the dev dataset holds, for the default messages: apps, tenants and allowed senders
/// (the tests check them against `seed/dev-dataset.json`).
mod dev {
    pub const SLACK_APP: &str = "A0DEVPLATFORM";
    pub const SLACK_TEAM: &str = "T0DEVACME";
    pub const SLACK_USER: &str = "U0DEVALICE";
    pub const SLACK_CHANNEL: &str = "C0DEVGENERAL";
    pub const TELEGRAM_USER: &str = "424242";
    pub const WHATSAPP_USER: &str = "15550002222";
    pub const WHATSAPP_WABA: &str = "120000000000001";
    pub const WHATSAPP_NUMBER_ID: &str = "110000000000001";
    pub const WHATSAPP_NUMBER: &str = "15550001111";
    pub const DISCORD_APP: &str = "1200000000000000001";
    pub const DISCORD_GUILD: &str = "1300000000000000001";
    pub const DISCORD_CHANNEL: &str = "1400000000000000001";
    pub const DISCORD_USER: &str = "1500000000000000001";
    pub const STANDARD_SENDER: &str = "dev-sender";
    pub const STANDARD_CONVERSATION: &str = "dev-conversation";
}

/// Discord's epoch, 2015-01-01T00:00:00Z, in Unix milliseconds (snowflake ids count from it).
const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

/// What `webhook` was asked to send, parsed and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// Who it comes from.
    pub provider: Provider,
    /// The path id: an app profile or an installation, as the provider's webhooks name.
    pub to: String,
    /// What it carries.
    pub content: Content,
    /// What it is signed with.
    pub secret: Secret,
    /// The worker's base URL; `None`: `$EDGE`, else [`DEFAULT_BASE`].
    pub base: Option<String>,
}

/// Where the secret a webhook is signed with comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Secret {
    /// Given (`--secret`).
    Given(String),
    /// The provider's secret in the dev dataset at this path (`--dataset`, by default
    /// [`DEFAULT_DATASET`] under the current directory).
    Dataset(PathBuf),
}

/// What a webhook carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// A text message built for the provider; `None`: the default sender or conversation.
    Message {
        text: String,
        from: Option<String>,
        conversation: Option<String>,
    },
    /// A file's bytes, sent as they are.
    File(PathBuf),
}

/// Why a webhook cannot be sent. Every message says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// `--to` is not an id of the kind the provider's webhooks name.
    #[error(
        "--to: {provider} webhooks are addressed to an {kind} id ({prefix}_ and 32 hex digits; \
         scripts/run.sh prints the ids it created), not `{to}`",
        provider = .provider.as_str(),
        kind = path_id_kind(*.provider),
        prefix = .provider.path_id_prefix()
    )]
    BadTarget {
        /// The provider.
        provider: Provider,
        /// The value as given.
        to: String,
    },
    /// A Telegram id that is not a whole number.
    #[error("{flag}: Telegram ids are whole numbers (a user or chat id), not `{value}`")]
    NotAnInteger {
        /// `--from` or `--conversation`.
        flag: &'static str,
        /// The value as given.
        value: String,
    },
    /// `--conversation` for WhatsApp, whose chats are one to one.
    #[error(
        "--conversation: a WhatsApp chat is one to one, so the conversation is the sender; \
         give --from instead"
    )]
    NoConversation,
    /// A secret that is not of the provider's form.
    #[error("the secret: {source}; give one with --secret")]
    BadSecret {
        /// The signer's error.
        source: SignError,
    },
    /// A base URL that is not http or https.
    #[error("{origin} must be an http:// or https:// URL such as {DEFAULT_BASE}, not `{value}`")]
    BadBase {
        /// `--base` or `$EDGE`.
        origin: String,
        /// The value as given.
        value: String,
    },
    /// The dev dataset could not be read.
    #[error(
        "cannot read the dev dataset {} for the default secret: {source}; run from the \
         repository root, pass --dataset <path>, or give the secret with --secret",
        .path.display()
    )]
    ReadDataset {
        /// The path tried.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The dev dataset is not JSON.
    #[error("{} is not JSON ({reason}); pass the dev dataset with --dataset, or give --secret", .path.display())]
    BadDataset {
        /// The path read.
        path: PathBuf,
        /// The parser's error.
        reason: String,
    },
    /// The dev dataset has no secret for the provider.
    #[error(
        "{} has no {provider} {owner} with `{name}`; give the secret with --secret",
        .path.display(),
        provider = .provider.as_str()
    )]
    NoDatasetSecret {
        /// The path read.
        path: PathBuf,
        /// The provider.
        provider: Provider,
        /// Who holds the secret (`app profile`, `installation`).
        owner: &'static str,
        /// The secret's name.
        name: &'static str,
    },
    /// `--file` could not be read.
    #[error("cannot read {}: {source}; check the --file path", .path.display())]
    ReadFile {
        /// The `--file` path.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The worker could not be reached, or its answer not read.
    #[error(
        "POST {url}: {source}; is the worker running there (scripts/run.sh), and is the base URL \
         (--base or ${BASE_VARIABLE}) right?"
    )]
    Send {
        /// The URL posted to.
        url: String,
        /// The client's error.
        source: Box<ureq::Error>,
    },
}

impl WebhookError {
    /// True when the command line itself is wrong.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            WebhookError::BadTarget { .. }
                | WebhookError::NotAnInteger { .. }
                | WebhookError::NoConversation
                | WebhookError::BadSecret { .. }
                | WebhookError::BadBase { .. }
        )
    }
}

/// `app profile` or `installation`: what the provider's webhook path names.
pub fn path_id_kind(provider: Provider) -> &'static str {
    match provider.spec().path_id {
        PathId::AppProfile => "app profile",
        PathId::Installation => "installation",
    }
}

/// Checks that `to` is an id of the kind `provider`'s webhook path names.
pub fn check_target(provider: Provider, to: &str) -> Result<(), WebhookError> {
    if ids::is_well_formed(provider.path_id_prefix(), to) {
        return Ok(());
    }
    Err(WebhookError::BadTarget {
        provider,
        to: to.to_owned(),
    })
}

/// Checks that the provider can carry `from` and `conversation`: Telegram's ids are integers,
/// WhatsApp has no conversation apart from its sender.
pub fn check_ids(
    provider: Provider,
    from: Option<&str>,
    conversation: Option<&str>,
) -> Result<(), WebhookError> {
    let not_integer = [("--from", from), ("--conversation", conversation)]
        .into_iter()
        .find_map(|(flag, value)| Some((flag, value.filter(|v| v.parse::<i64>().is_err())?)));
    match (provider, not_integer) {
        (Provider::Telegram, Some((flag, value))) => Err(WebhookError::NotAnInteger {
            flag,
            value: value.to_owned(),
        }),
        (Provider::Whatsapp, _) if conversation.is_some() => Err(WebhookError::NoConversation),
        _ => Ok(()),
    }
}

/// Checks that `secret` is of the form `provider` signs with.
pub fn check_secret(provider: Provider, secret: &str) -> Result<(), WebhookError> {
    let stamp = Stamp {
        timestamp: 0,
        message_id: "msg_check",
    };
    sign::headers(provider, secret, stamp, b"")
        .map(drop)
        .map_err(|source| WebhookError::BadSecret { source })
}

/// Checks a base URL (from `origin`: `--base` or `$EDGE`) and drops any trailing `/`.
pub fn check_base(origin: &str, value: &str) -> Result<String, WebhookError> {
    let rest = value
        .strip_prefix("http://")
        .or_else(|| value.strip_prefix("https://"));
    match rest {
        Some(host) if !host.is_empty() && !host.starts_with('/') => {
            Ok(value.trim_end_matches('/').to_owned())
        }
        _ => Err(WebhookError::BadBase {
            origin: origin.to_owned(),
            value: value.to_owned(),
        }),
    }
}

/// The sender of a message when `--from` is not given: one the dev dataset's binding allows.
pub fn default_sender(provider: Provider) -> &'static str {
    match provider {
        Provider::Slack => dev::SLACK_USER,
        Provider::Telegram => dev::TELEGRAM_USER,
        Provider::Whatsapp => dev::WHATSAPP_USER,
        Provider::Discord => dev::DISCORD_USER,
        Provider::Standard => dev::STANDARD_SENDER,
    }
}

/// The conversation of a message from `from`: `conversation` if given, else the dev dataset's
/// channel (Slack, Discord, Standard Webhooks) or the sender's own chat (Telegram, WhatsApp).
pub fn conversation_of(provider: Provider, from: &str, conversation: Option<&str>) -> String {
    let default = match provider {
        Provider::Slack => dev::SLACK_CHANNEL,
        Provider::Telegram | Provider::Whatsapp => from,
        Provider::Discord => dev::DISCORD_CHANNEL,
        Provider::Standard => dev::STANDARD_CONVERSATION,
    };
    conversation.unwrap_or(default).to_owned()
}

/// What a message built for `provider` is by default, for the usage text.
pub fn defaults(provider: Provider) -> String {
    let from = default_sender(provider);
    let conversation = conversation_of(provider, from, None);
    match provider {
        Provider::Slack => format!("from {from} in {conversation} of team {}", dev::SLACK_TEAM),
        Provider::Telegram => format!("from {from} in its private chat"),
        Provider::Whatsapp => format!(
            "from {from} to phone_number_id {} (no --conversation)",
            dev::WHATSAPP_NUMBER_ID
        ),
        Provider::Discord => format!(
            "/ask text:<text> from {from} in {conversation} of guild {}",
            dev::DISCORD_GUILD
        ),
        Provider::Standard => format!("from {from} in {conversation}"),
    }
}

/// A text message to build, with what changes from one send to the next.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    pub text: &'a str,
    pub from: &'a str,
    pub conversation: &'a str,
    /// Unix seconds.
    pub now: u64,
    /// Random bits that make the event ids fresh.
    pub nonce: u64,
}

/// A body to send, and the provider's id of the event it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    pub body: Vec<u8>,
    /// Slack `event_id`, Telegram `update_id`, WhatsApp `wamid`, Discord interaction id, or the
    /// Standard Webhooks `webhook-id`.
    pub event_id: String,
}

/// `message` as `provider` delivers a text message (Discord, which delivers no plain messages to
/// an interactions endpoint: the slash command `/ask text:<text>`).
pub fn payload(provider: Provider, message: &Message<'_>) -> Payload {
    let (event_id, body) = match provider {
        Provider::Slack => slack_event(message),
        Provider::Telegram => telegram_update(message),
        Provider::Whatsapp => whatsapp_notification(message),
        Provider::Discord => discord_command(message),
        Provider::Standard => standard_message(message),
    };
    Payload {
        body: body.to_string().into_bytes(),
        event_id,
    }
}

/// An Events API `event_callback` carrying a `message` event.
fn slack_event(message: &Message<'_>) -> (String, Value) {
    let event_id = format!("Ev0CLI{:08X}", message.nonce & 0xFFFF_FFFF);
    let ts = format!("{}.{:06}", message.now, message.nonce % 1_000_000);
    let event = json!({
        "type": "message", "channel": message.conversation,
        "channel_type": slack_channel_type(message.conversation), "user": message.from,
        "text": message.text, "ts": ts, "event_ts": ts,
    });
    let body = json!({
        "token": "unused", "team_id": dev::SLACK_TEAM, "api_app_id": dev::SLACK_APP,
        "event": event, "type": "event_callback", "event_id": event_id,
        "event_time": message.now,
    });
    (event_id, body)
}

/// Slack's channel type by the id's first letter: `D` a DM, `G` a private group.
fn slack_channel_type(channel: &str) -> &'static str {
    match channel.chars().next() {
        Some('D') => "im",
        Some('G') => "group",
        _ => "channel",
    }
}

/// An `Update` with a text `message`: a private chat when the chat is the sender, a supergroup
/// for a negative chat id, a group otherwise.
fn telegram_update(message: &Message<'_>) -> (String, Value) {
    let update_id = 100_000_000 + message.nonce % 800_000_000;
    let chat_type = match message.conversation {
        chat if chat == message.from => "private",
        chat if chat.starts_with('-') => "supergroup",
        _ => "group",
    };
    let body = json!({"update_id": update_id, "message": {
        "message_id": 1 + (message.nonce >> 32) % 1_000_000, "date": message.now,
        "from": {"id": telegram_id(message.from), "is_bot": false, "first_name": "Dev"},
        "chat": {"id": telegram_id(message.conversation), "type": chat_type, "title": "Dev"},
        "text": message.text,
    }});
    (update_id.to_string(), body)
}

/// A Telegram id as the integer it is (checked by [`check_ids`]).
fn telegram_id(id: &str) -> Value {
    id.parse::<i64>()
        .map_or_else(|_| Value::from(id), Value::from)
}

/// A Cloud API `messages` notification with one text message to the dev dataset's number.
fn whatsapp_notification(message: &Message<'_>) -> (String, Value) {
    let wamid = format!("wamid.CLI{:016X}", message.nonce);
    let value = json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": dev::WHATSAPP_NUMBER,
                     "phone_number_id": dev::WHATSAPP_NUMBER_ID},
        "contacts": [{"profile": {"name": "Dev"}, "wa_id": message.from}],
        "messages": [{"from": message.from, "id": wamid, "timestamp": message.now.to_string(),
                      "text": {"body": message.text}, "type": "text"}],
    });
    let body = json!({"object": "whatsapp_business_account", "entry": [{
        "id": dev::WHATSAPP_WABA, "changes": [{"field": "messages", "value": value}]}]});
    (wamid, body)
}

/// An `APPLICATION_COMMAND` interaction, `/ask text:<text>`, in a channel of the dev guild.
fn discord_command(message: &Message<'_>) -> (String, Value) {
    let millis = message.now.saturating_mul(1000);
    let snowflake = (millis.saturating_sub(DISCORD_EPOCH_MS) << 22) | (message.nonce & 0x3F_FFFF);
    let id = snowflake.to_string();
    let body = json!({
        "id": id, "application_id": dev::DISCORD_APP, "type": 2, "version": 1,
        "token": format!("cli-{:016x}", message.nonce), "guild_id": dev::DISCORD_GUILD,
        "channel_id": message.conversation, "channel": {"id": message.conversation, "type": 0},
        "member": {"user": {"id": message.from, "username": "dev", "global_name": "Dev"}},
        "data": {"id": "1600000000000000001", "name": "ask", "type": 1,
                 "options": [{"name": "text", "type": 3, "value": message.text}]},
    });
    (id, body)
}

/// The body the Standard Webhooks parser reads: `type`, `text`, `sender.id`,
/// `conversation.id`; the event id is the `webhook-id` header.
fn standard_message(message: &Message<'_>) -> (String, Value) {
    let body = json!({"type": "message", "text": message.text,
        "sender": {"id": message.from}, "conversation": {"id": message.conversation}});
    (message_id(message.nonce), body)
}

/// A Standard Webhooks message id (`webhook-id`).
fn message_id(nonce: u64) -> String {
    format!("msg_{nonce:016x}")
}

/// A secret found in the dev dataset, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetSecret {
    /// The `ref` of the app profile or installation that holds it.
    pub holder: String,
    /// Its name there.
    pub name: &'static str,
    pub value: String,
}

/// Where the dev dataset keeps the secret `provider` signs with: who holds it, its name, and
/// the JSON pointer within the holder. Discord verifies with the app's public key but signs with
/// its private seed, which only the dev dataset holds, beside the profile's secrets.
fn dataset_location(provider: Provider) -> (SecretOwner, &'static str, String) {
    const DISCORD_SEED: &str = "_signing_key_seed_hex";
    if provider == Provider::Discord {
        return (
            SecretOwner::Profile,
            DISCORD_SEED,
            format!("/{DISCORD_SEED}"),
        );
    }
    let (owner, name) = provider.spec().verified_with;
    let within = match owner {
        SecretOwner::Profile => "secrets",
        SecretOwner::Installation => "credentials",
    };
    (owner, name, format!("/{within}/{name}"))
}

fn owner_label(owner: SecretOwner) -> &'static str {
    match owner {
        SecretOwner::Profile => "app profile",
        SecretOwner::Installation => "installation",
    }
}

/// The secret `provider` signs with in `dataset`: that of its first app profile (Slack,
/// WhatsApp, Discord) or of the first installation of one (Telegram, Standard Webhooks) holding
/// it.
pub fn dataset_secret(dataset: &Value, provider: Provider) -> Option<DatasetSecret> {
    let (owner, name, pointer) = dataset_location(provider);
    let profiles: Vec<&Value> = section(dataset, "app_profiles")
        .filter(|profile| profile["provider"] == provider.as_str())
        .collect();
    let holders: Vec<&Value> = match owner {
        SecretOwner::Profile => profiles,
        SecretOwner::Installation => section(dataset, "installations")
            .filter(|item| profiles.iter().any(|p| p["ref"] == item["app_profile"]))
            .collect(),
    };
    holders.into_iter().find_map(|holder| {
        Some(DatasetSecret {
            holder: holder["ref"].as_str()?.to_owned(),
            name,
            value: holder.pointer(&pointer)?.as_str()?.to_owned(),
        })
    })
}

fn section<'a>(dataset: &'a Value, name: &str) -> impl Iterator<Item = &'a Value> {
    dataset[name].as_array().into_iter().flatten()
}

/// Reads the dev dataset at `path` and finds `provider`'s secret in it.
pub fn secret_from_dataset(path: &Path, provider: Provider) -> Result<DatasetSecret, WebhookError> {
    let text = std::fs::read_to_string(path).map_err(|source| WebhookError::ReadDataset {
        path: path.to_owned(),
        source,
    })?;
    let dataset: Value = serde_json::from_str(&text).map_err(|error| WebhookError::BadDataset {
        path: path.to_owned(),
        reason: error.to_string(),
    })?;
    let (owner, name, _) = dataset_location(provider);
    dataset_secret(&dataset, provider).ok_or(WebhookError::NoDatasetSecret {
        path: path.to_owned(),
        provider,
        owner: owner_label(owner),
        name,
    })
}

/// A request ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// `body` to `{base}/webhooks/{provider}/{to}`, signed with `secret` as `provider` signs at
/// `stamp`.
pub fn request(
    webhook: &Webhook,
    base: &str,
    secret: &str,
    stamp: Stamp<'_>,
    body: Vec<u8>,
) -> Result<Signed, WebhookError> {
    let provider = webhook.provider;
    let mut headers = vec![("Content-Type".to_owned(), content_type(&body).to_owned())];
    let signature = sign::headers(provider, secret, stamp, &body)
        .map_err(|source| WebhookError::BadSecret { source })?;
    headers.extend(signature);
    Ok(Signed {
        url: format!("{base}/webhooks/{}/{}", provider.as_str(), webhook.to),
        headers,
        body,
    })
}

/// JSON for a body that starts with `{` or `[`, else a form (Slack's slash commands and
/// interactivity).
fn content_type(body: &[u8]) -> &'static str {
    match body.iter().find(|byte| !byte.is_ascii_whitespace()) {
        Some(b'{' | b'[') => "application/json",
        _ => "application/x-www-form-urlencoded",
    }
}

/// The worker's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// The body as text (invalid UTF-8 replaced).
    pub body: String,
}

impl Answer {
    /// True for a 2xx status.
    pub fn accepted(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// POSTs `request` and reads the answer, whatever its status; redirects are answers too.
pub fn send(request: &Signed) -> Result<Answer, WebhookError> {
    let failed = |source| WebhookError::Send {
        url: request.url.clone(),
        source: Box::new(source),
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(TIMEOUT))
        .build()
        .into();
    let mut builder = agent.post(&request.url);
    for (name, value) in &request.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let mut response = builder.send(&request.body[..]).map_err(failed)?;
    let body = response.body_mut().read_to_vec().map_err(failed)?;
    Ok(Answer {
        status: response.status().as_u16(),
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// What was sent and what came back.
#[derive(Debug)]
pub struct Sent {
    /// What the request carried, for the person at the terminal.
    pub summary: String,
    pub answer: Answer,
}

/// Builds, signs and sends `webhook` to `base` at `now`, its event ids made fresh by `nonce`.
pub fn run(webhook: &Webhook, base: &str, now: u64, nonce: u64) -> Result<Sent, WebhookError> {
    let (secret, signed_with) = secret(webhook)?;
    let (payload, what) = content(webhook, now, nonce)?;
    let stamp = Stamp {
        timestamp: now,
        message_id: &payload.event_id,
    };
    let request = request(webhook, base, &secret, stamp, payload.body)?;
    let answer = send(&request)?;
    let summary = format!("sent {what} to {}, signed with {signed_with}", request.url);
    Ok(Sent { summary, answer })
}

/// The base URL: `given` (`--base`), else `env` (`$EDGE`), else [`DEFAULT_BASE`].
pub fn base(given: Option<&str>, env: Option<&str>) -> Result<String, WebhookError> {
    match (given, env) {
        (Some(given), _) => check_base("--base", given),
        (None, Some(env)) if !env.is_empty() => check_base(&format!("${BASE_VARIABLE}"), env),
        _ => Ok(DEFAULT_BASE.to_owned()),
    }
}

/// The secret to sign with, and where it came from.
fn secret(webhook: &Webhook) -> Result<(String, String), WebhookError> {
    let path = match &webhook.secret {
        Secret::Given(secret) => return Ok((secret.clone(), "--secret".to_owned())),
        Secret::Dataset(path) => path,
    };
    let found = secret_from_dataset(path, webhook.provider)?;
    let source = format!("{} of {} in {}", found.name, found.holder, path.display());
    Ok((found.value, source))
}

/// The body to send (and the event id it carries, or the `webhook-id` for a file sent the
/// Standard Webhooks way), and a description of it.
fn content(webhook: &Webhook, now: u64, nonce: u64) -> Result<(Payload, String), WebhookError> {
    let provider = webhook.provider;
    match &webhook.content {
        Content::Message {
            text,
            from,
            conversation,
        } => {
            let from = from.as_deref().unwrap_or(default_sender(provider));
            let conversation = conversation_of(provider, from, conversation.as_deref());
            let message = Message {
                text,
                from,
                conversation: &conversation,
                now,
                nonce,
            };
            let payload = payload(provider, &message);
            let what = format!(
                "a {} message (event {}) from {from} in {conversation}",
                provider.as_str(),
                payload.event_id
            );
            Ok((payload, what))
        }
        Content::File(path) => {
            let body = std::fs::read(path).map_err(|source| WebhookError::ReadFile {
                path: path.clone(),
                source,
            })?;
            let what = format!("{} ({} bytes)", path.display(), body.len());
            let event_id = message_id(nonce);
            Ok((Payload { body, event_id }, what))
        }
    }
}

#[cfg(test)]
#[path = "webhook_test.rs"]
mod tests;
