//! `channel-edge-admin webhook`: sends a worker a signed test webhook as a provider would (as
//! `stripe trigger` and `svix` do for theirs).
//!
//! # What's in scope
//! - [`payload`]: a realistic text message for each provider from a sender in a conversation,
//!   with fresh event ids, or a file's bytes, sent as they are; the builders and the dev
//!   dataset's defaults live in [`channel_edge::core::ingress::sample`] (shared with the load
//!   tools) and are re-exported here.
//! - [`dataset_secret`]: the secret a provider signs with in the dev dataset, when `--secret`
//!   does not give one (also from `sample`).
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
pub use channel_edge::core::ingress::sample::{
    conversation_of, dataset_location, dataset_secret, default_sender, defaults, message_id,
    owner_label, payload, DatasetSecret, Message, Payload,
};
use channel_edge::core::ingress::sign::{self, SignError, Stamp};
use channel_edge::core::ingress::PathId;
use channel_edge::core::tenancy::Provider;
use serde_json::Value;
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
        url: "",
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
    let url = format!("{base}/webhooks/{}/{}", provider.as_str(), webhook.to);
    let stamp = Stamp { url: &url, ..stamp };
    let mut headers = vec![("Content-Type".to_owned(), content_type(&body).to_owned())];
    let signature = sign::headers(provider, secret, stamp, &body)
        .map_err(|source| WebhookError::BadSecret { source })?;
    headers.extend(signature);
    Ok(Signed { url, headers, body })
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
        url: "",
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
                "a message as {} (event {}) from {from} in {conversation}",
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
