//! Binding sessions: how an admin binds a channel before an agent uses it.
//!
//! # What's in scope
//! - [`State`] and the transition table ([`State::can_become`]): `pending →
//!   service_principal_auth → awaiting_channel_auth → channel_authenticating →
//!   channel_authenticated → testing_connection → completed`, and `failed`, `expired`,
//!   `cancelled` from any state that has not ended. Ended states never change.
//! - [`Session`]: one session's record, its history of transitions, and [`Session::advance`],
//!   which refuses illegal transitions (409 at the API).
//! - [`NewSession`]: the request that starts one, validated (methods per provider, timeout,
//!   a `qr` session's subject); [`Credentials`], what a `token` session takes; [`auth_prompt`],
//!   what the admin or user is asked to do (a `qr` session's QR code included).
//!
//! # What's out of scope
//! Storage, alarms and live status (the edge's Durable Object), provider calls, and creating the
//! installation and binding (the edge, with the rules of [`crate::core::tenancy`]).

use crate::core::admin::{
    check_list, check_selector, check_text, Secret, SenderPolicy, MAX_ALLOWLIST_ITEMS,
    MAX_ID_CHARS, MAX_SECRET_CHARS,
};
use crate::core::api_error::ApiError;
use crate::core::json::set;
use crate::core::tenancy::{check_form, Provider, Selector};
use serde::{Deserialize, Serialize};

/// Timeout when the request names none.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 300;
/// The longest timeout.
pub const MAX_TIMEOUT_SECONDS: u64 = 3600;

/// Where a session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Created, nothing checked yet.
    Pending,
    /// The service principal that started it is being checked.
    ServicePrincipalAuth,
    /// Waiting for the channel's side: a credential, an OAuth consent, a scanned QR code.
    AwaitingChannelAuth,
    /// The channel's answer is being checked with the provider.
    ChannelAuthenticating,
    /// The provider accepted it.
    ChannelAuthenticated,
    /// Checking that the provider really delivers to us (e.g. the webhook URL took).
    TestingConnection,
    /// Done: the installation and binding exist.
    Completed,
    /// A check failed; `failure` says why.
    Failed,
    /// The timeout passed first.
    Expired,
    /// An admin cancelled it.
    Cancelled,
}

impl State {
    /// Every state.
    pub const ALL: [State; 10] = [
        State::Pending,
        State::ServicePrincipalAuth,
        State::AwaitingChannelAuth,
        State::ChannelAuthenticating,
        State::ChannelAuthenticated,
        State::TestingConnection,
        State::Completed,
        State::Failed,
        State::Expired,
        State::Cancelled,
    ];

    /// Its name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::ServicePrincipalAuth => "service_principal_auth",
            State::AwaitingChannelAuth => "awaiting_channel_auth",
            State::ChannelAuthenticating => "channel_authenticating",
            State::ChannelAuthenticated => "channel_authenticated",
            State::TestingConnection => "testing_connection",
            State::Completed => "completed",
            State::Failed => "failed",
            State::Expired => "expired",
            State::Cancelled => "cancelled",
        }
    }

    /// Parses a name from [`State::as_str`].
    pub fn parse(name: &str) -> Option<State> {
        State::ALL.into_iter().find(|state| state.as_str() == name)
    }

    /// Whether the session has ended: nothing can happen to it any more.
    pub fn has_ended(self) -> bool {
        matches!(
            self,
            State::Completed | State::Failed | State::Expired | State::Cancelled
        )
    }

    /// The transition table.
    pub fn can_become(self, next: State) -> bool {
        use State::*;
        if self.has_ended() {
            return false;
        }
        matches!(
            (self, next),
            (Pending, ServicePrincipalAuth)
                | (ServicePrincipalAuth, AwaitingChannelAuth)
                | (AwaitingChannelAuth, ChannelAuthenticating)
                | (ChannelAuthenticating, ChannelAuthenticated)
                | (ChannelAuthenticated, TestingConnection)
                | (TestingConnection, Completed)
                | (_, Failed | Expired | Cancelled)
        )
    }
}

/// How the channel side authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The admin posts a credential (Telegram bot token; WhatsApp Cloud ids and access token).
    Token,
    /// The workspace admin consents in the provider's OAuth flow (Slack).
    Oauth,
    /// A user scans a QR code (a deep link with an install token) and sends it from their chat.
    Qr,
}

impl Method {
    /// Its name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Token => "token",
            Method::Oauth => "oauth",
            Method::Qr => "qr",
        }
    }

    /// Whether this method is available for `provider`: `token` and `qr` for Telegram and
    /// WhatsApp, `oauth` for Slack.
    pub fn supports(self, provider: Provider) -> bool {
        provider.spec().session_methods.contains(&self)
    }
}

/// Each provider with binding sessions and its methods, e.g. `telegram: token, qr; …`; the
/// others' installations are created with `POST /v1/installations`.
fn available_methods() -> String {
    let with_sessions = Provider::ALL.iter().filter_map(|provider| {
        let methods = provider.spec().session_methods;
        let names: Vec<&str> = methods.iter().map(|method| method.as_str()).collect();
        (!names.is_empty()).then(|| format!("{}: {}", provider.as_str(), names.join(", ")))
    });
    let without: Vec<&str> = Provider::ALL
        .iter()
        .filter(|provider| provider.spec().session_methods.is_empty())
        .map(|provider| provider.as_str())
        .collect();
    format!(
        "{} (no sessions for {}: create their installations with POST /v1/installations)",
        with_sessions.collect::<Vec<_>>().join("; "),
        without.join(", ")
    )
}

/// How people know a channel of `provider`: the metadata field its spec names (bot username,
/// phone number, workspace name) and the provider's id for it, e.g. `acme_bot (7000000001)`.
pub fn channel_name(provider: Provider, tenant_key: &str, metadata: &serde_json::Value) -> String {
    let name = provider
        .spec()
        .channel_name
        .and_then(|field| metadata.get(field)?.as_str())
        .filter(|name| !name.is_empty() && *name != tenant_key);
    match name {
        Some(name) => format!("{name} ({tenant_key})"),
        None => tenant_key.to_owned(),
    }
}

/// The binding a session creates when it completes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindingSpec {
    /// The agent that will receive the channel's traffic.
    pub agent_id: String,
    /// The route selector; empty matches everything on the installation.
    #[serde(default)]
    pub selector: Selector,
    /// Who may talk to the agent.
    #[serde(default)]
    pub sender_policy: SenderPolicy,
    /// Sender ids allowed under `allowlist`.
    #[serde(default)]
    pub allowlist: Vec<String>,
}

/// `POST /v1/binding-sessions`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSession {
    /// The provider of the channel.
    pub provider: Provider,
    /// How its side authenticates.
    pub method: Method,
    /// The org the installation will belong to.
    pub org_id: String,
    /// The app profile the installation will be made under.
    pub app_profile_id: String,
    /// Seconds until the session expires: default 300, at most 3600.
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
    /// The binding to create on success.
    pub binding: BindingSpec,
    /// `qr` only: the user who links their own chat identity (the install token's subject).
    #[serde(default)]
    pub subject: Option<String>,
}

impl NewSession {
    /// Validates what needs no storage; returns the timeout.
    pub fn validate(&self) -> Result<u64, ApiError> {
        let bad = |message: String| Err(ApiError::BadRequest { message });
        if !self.method.supports(self.provider) {
            return bad(format!(
                "method {} is not available for {}; available: {}",
                self.method.as_str(),
                self.provider.as_str(),
                available_methods()
            ));
        }
        for (field, value) in [
            ("org_id", &self.org_id),
            ("app_profile_id", &self.app_profile_id),
            ("binding.agent_id", &self.binding.agent_id),
        ] {
            check_text(field, value, MAX_ID_CHARS)?;
        }
        if let Some(subject) = self.subject.as_deref().filter(|s| !s.trim().is_empty()) {
            check_text("subject", subject, MAX_ID_CHARS)?;
        }
        check_selector("binding.selector", &self.binding.selector)?;
        check_list(
            "binding.allowlist",
            self.binding.allowlist.iter(),
            MAX_ALLOWLIST_ITEMS,
            MAX_ID_CHARS,
        )?;
        match (self.method, self.subject.as_deref().map(str::trim)) {
            (Method::Qr, None | Some("")) => return bad("a qr session needs a subject".into()),
            (Method::Token | Method::Oauth, Some(_)) => {
                return bad("subject is only for qr sessions".into())
            }
            _ => {}
        }
        let timeout = self.timeout_seconds.unwrap_or(DEFAULT_TIMEOUT_SECONDS);
        if !(1..=MAX_TIMEOUT_SECONDS).contains(&timeout) {
            return bad(format!(
                "timeout_seconds must be between 1 and {MAX_TIMEOUT_SECONDS}"
            ));
        }
        Ok(timeout)
    }
}

/// One transition in a session's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// The state it left.
    pub from: State,
    /// The state it entered.
    pub to: State,
    /// When, Unix seconds.
    pub at: u64,
    /// Who or what made it: a principal id, `system` (the alarm), or the provider.
    pub by: String,
}

/// What a completed session made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// The installation (made by a `token` session; the one the claim arrived through for `qr`).
    pub installation_id: String,
    /// The binding that routes the channel to the agent.
    pub binding_id: String,
    /// `qr`: the sender id whose identity was linked; `None` for `token`.
    #[serde(default)]
    pub sender_id: Option<String>,
}

/// A session's record, as its Durable Object stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Its id (`bss_…`).
    pub id: String,
    /// The provider.
    pub provider: Provider,
    /// The method.
    pub method: Method,
    /// The org.
    pub org_id: String,
    /// The org's name, for the binding page.
    #[serde(default)]
    pub org_name: Option<String>,
    /// The app profile.
    pub app_profile_id: String,
    /// The binding to create.
    pub binding: BindingSpec,
    /// Which bot, number or workspace is being bound ([`channel_name`]), once known: at the
    /// start for `qr`, when the provider accepts the credential or the consent otherwise.
    #[serde(default)]
    pub channel: Option<String>,
    /// `qr`: the user linking their identity.
    #[serde(default)]
    pub subject: Option<String>,
    /// `qr`: the deep link (with its install token) the QR code carries.
    #[serde(default)]
    pub deep_link: Option<String>,
    /// `oauth`: the provider's authorize URL, with this session's `state`.
    #[serde(default)]
    pub authorize_url: Option<String>,
    /// The principal that started it.
    pub created_by: String,
    /// When, Unix seconds.
    pub created_at: u64,
    /// When it expires unless it has ended.
    pub expires_at: u64,
    /// Where it is.
    pub status: State,
    /// Every transition so far, oldest first.
    pub history: Vec<Transition>,
    /// Why it failed, in plain words (never a secret).
    pub failure: Option<String>,
    /// What it made, once completed.
    pub outcome: Option<Outcome>,
}

/// A transition the table does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the session is {from} and cannot become {to}{hint}",
    from = from.as_str(),
    to = to.as_str(),
    hint = if from.has_ended() { "; it has ended: start a new session" } else { "" }
)]
pub struct IllegalTransition {
    /// Where it was.
    pub from: State,
    /// Where it was asked to go.
    pub to: State,
}

impl From<IllegalTransition> for ApiError {
    fn from(error: IllegalTransition) -> Self {
        ApiError::Conflict {
            message: error.to_string(),
        }
    }
}

impl Session {
    /// A new session from a validated `request`, started by `principal` at `now`, already
    /// through `service_principal_auth` (the API authenticated the principal) and awaiting the
    /// channel.
    pub fn start(id: String, request: NewSession, principal: &str, now: u64, timeout: u64) -> Self {
        let step = |from, to| Transition {
            from,
            to,
            at: now,
            by: principal.to_owned(),
        };
        Session {
            id,
            provider: request.provider,
            method: request.method,
            org_id: request.org_id,
            org_name: None,
            app_profile_id: request.app_profile_id,
            binding: request.binding,
            channel: None,
            subject: request.subject,
            deep_link: None,
            authorize_url: None,
            created_by: principal.to_owned(),
            created_at: now,
            expires_at: now + timeout,
            status: State::AwaitingChannelAuth,
            history: vec![
                step(State::Pending, State::ServicePrincipalAuth),
                step(State::ServicePrincipalAuth, State::AwaitingChannelAuth),
            ],
            failure: None,
            outcome: None,
        }
    }

    /// Moves to `next` at `now`, made by `by`; refuses a transition the table does not have.
    pub fn advance(&mut self, next: State, now: u64, by: &str) -> Result<(), IllegalTransition> {
        if !self.status.can_become(next) {
            return Err(IllegalTransition {
                from: self.status,
                to: next,
            });
        }
        self.history.push(Transition {
            from: self.status,
            to: next,
            at: now,
            by: by.to_owned(),
        });
        self.status = next;
        Ok(())
    }

    /// The provider accepted the channel, which people know as `channel` ([`channel_name`]):
    /// `channel_authenticated` at `now`, made by `by`.
    pub fn authenticated(
        &mut self,
        channel: String,
        now: u64,
        by: &str,
    ) -> Result<(), IllegalTransition> {
        self.advance(State::ChannelAuthenticated, now, by)?;
        self.channel = Some(channel);
        Ok(())
    }

    /// Fails the session with `reason` (plain words, shown to the admin).
    pub fn fail(&mut self, reason: &str, now: u64, by: &str) -> Result<(), IllegalTransition> {
        self.advance(State::Failed, now, by)?;
        self.failure = Some(reason.to_owned());
        Ok(())
    }

    /// Whether the session should be expired at `now` (its time is up and it has not ended).
    pub fn is_overdue(&self, now: u64) -> bool {
        !self.status.has_ended() && now >= self.expires_at
    }
}

/// What the admin posts to a `token` session's `/credentials`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// A Telegram bot token (from @BotFather).
    Telegram {
        /// The bot token.
        bot_token: Secret,
    },
    /// A WhatsApp Cloud API number.
    Whatsapp {
        /// The phone number's Graph id.
        phone_number_id: String,
        /// The WhatsApp Business Account id.
        waba_id: String,
        /// A (system user) access token.
        access_token: Secret,
    },
    /// A Facebook Page on Messenger.
    Messenger {
        /// The Page's id.
        page_id: String,
        /// A Page access token.
        page_access_token: Secret,
    },
    /// An Instagram professional account (Instagram Login).
    Instagram {
        /// An Instagram user access token of the account.
        access_token: Secret,
    },
    /// A Twilio number.
    Twilio {
        /// The account SID (`AC…`).
        account_sid: String,
        /// The account's auth token.
        auth_token: Secret,
        /// The number, E.164 (`+15551234567`).
        phone_number: String,
    },
    /// A Linear workspace.
    Linear {
        /// An OAuth access token or a personal API key.
        access_token: Secret,
    },
    /// A LINE Messaging API channel.
    Line {
        /// The channel secret (verifies webhooks).
        channel_secret: Secret,
        /// A long-lived channel access token (sends).
        channel_access_token: Secret,
    },
}

impl Credentials {
    /// Parses `body` as the credentials of a `provider` token session; unknown or missing
    /// fields are a 400 naming them.
    pub fn parse(provider: Provider, body: &[u8]) -> Result<Credentials, ApiError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Telegram {
            bot_token: Secret,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Whatsapp {
            phone_number_id: String,
            waba_id: String,
            access_token: Secret,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Messenger {
            page_id: String,
            page_access_token: Secret,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Instagram {
            access_token: Secret,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Twilio {
            account_sid: String,
            auth_token: Secret,
            phone_number: String,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Line {
            channel_secret: Secret,
            channel_access_token: Secret,
        }
        let credentials = match provider {
            Provider::Telegram => {
                let Telegram { bot_token } = crate::core::admin::parse(body)?;
                Credentials::Telegram { bot_token }
            }
            Provider::Whatsapp => {
                let body: Whatsapp = crate::core::admin::parse(body)?;
                Credentials::Whatsapp {
                    phone_number_id: body.phone_number_id,
                    waba_id: body.waba_id,
                    access_token: body.access_token,
                }
            }
            Provider::Messenger => {
                let body: Messenger = crate::core::admin::parse(body)?;
                Credentials::Messenger {
                    page_id: body.page_id,
                    page_access_token: body.page_access_token,
                }
            }
            Provider::Instagram => {
                let Instagram { access_token } = crate::core::admin::parse(body)?;
                Credentials::Instagram { access_token }
            }
            Provider::Twilio => {
                let body: Twilio = crate::core::admin::parse(body)?;
                Credentials::Twilio {
                    account_sid: body.account_sid,
                    auth_token: body.auth_token,
                    phone_number: body.phone_number,
                }
            }
            Provider::Linear => {
                let Instagram { access_token } = crate::core::admin::parse(body)?;
                Credentials::Linear { access_token }
            }
            Provider::Line => {
                let body: Line = crate::core::admin::parse(body)?;
                Credentials::Line {
                    channel_secret: body.channel_secret,
                    channel_access_token: body.channel_access_token,
                }
            }
            other => {
                return Err(ApiError::BadRequest {
                    message: format!("{} sessions take no credentials", other.as_str()),
                })
            }
        };
        let fields: Vec<(&str, &str, usize)> = match &credentials {
            Credentials::Telegram { bot_token } => {
                vec![("bot_token", &bot_token.0, MAX_SECRET_CHARS)]
            }
            Credentials::Whatsapp {
                phone_number_id,
                waba_id,
                access_token,
            } => vec![
                ("phone_number_id", phone_number_id, MAX_ID_CHARS),
                ("waba_id", waba_id, MAX_ID_CHARS),
                ("access_token", &access_token.0, MAX_SECRET_CHARS),
            ],
            Credentials::Messenger {
                page_id,
                page_access_token,
            } => vec![
                ("page_id", page_id, MAX_ID_CHARS),
                ("page_access_token", &page_access_token.0, MAX_SECRET_CHARS),
            ],
            Credentials::Instagram { access_token } | Credentials::Linear { access_token } => {
                vec![("access_token", &access_token.0, MAX_SECRET_CHARS)]
            }
            Credentials::Twilio {
                account_sid,
                auth_token,
                phone_number,
            } => vec![
                ("account_sid", account_sid, MAX_ID_CHARS),
                ("auth_token", &auth_token.0, MAX_SECRET_CHARS),
                ("phone_number", phone_number, MAX_ID_CHARS),
            ],
            Credentials::Line {
                channel_secret,
                channel_access_token,
            } => vec![
                ("channel_secret", &channel_secret.0, MAX_SECRET_CHARS),
                (
                    "channel_access_token",
                    &channel_access_token.0,
                    MAX_SECRET_CHARS,
                ),
            ],
        };
        for (field, value, max) in fields {
            check_text(field, value, max)?;
            // Checked before any provider call: a mistyped token fails here, not the session.
            check_form(provider, field, value).map_err(|error| ApiError::BadRequest {
                message: error.to_string(),
            })?;
        }
        Ok(credentials)
    }
}

/// The `auth_prompt` of a session: what the admin (or user) must do next, for `base_url` (the
/// worker's public origin).
pub fn auth_prompt(session: &Session, base_url: &str) -> serde_json::Value {
    match session.method {
        Method::Qr => return qr_prompt(session),
        Method::Oauth => return oauth_prompt(session),
        Method::Token => {}
    }
    let credentials_url = format!("{base_url}/v1/binding-sessions/{}/credentials", session.id);
    let (message, instructions, fields): (&str, Vec<String>, &[&str]) = match session.provider {
        Provider::Whatsapp => (
            "Send the WhatsApp Cloud API number's ids and an access token to finish binding.",
            vec![
                "In Meta's WhatsApp Manager, note the phone number id and the WhatsApp Business \
                 Account (WABA) id."
                    .into(),
                "Create a system user access token with whatsapp_business_messaging and \
                 whatsapp_business_management."
                    .into(),
                format!(
                    "POST them to {credentials_url} as {{\"phone_number_id\": \"…\", \
                     \"waba_id\": \"…\", \"access_token\": \"…\"}}."
                ),
            ],
            &["phone_number_id", "waba_id", "access_token"],
        ),
        Provider::Messenger => (
            "Send the Facebook Page's id and a Page access token to finish binding.",
            vec![
                "In Meta's app dashboard (Messenger API settings), connect the Page and generate \
                 its access token (pages_messaging)."
                    .into(),
                format!(
                    "POST them to {credentials_url} as {{\"page_id\": \"…\", \
                     \"page_access_token\": \"…\"}}; channel-edge subscribes the app to the \
                     Page's messages."
                ),
            ],
            &["page_id", "page_access_token"],
        ),
        Provider::Instagram => (
            "Send an Instagram user access token of the professional account to finish binding.",
            vec![
                "In Meta's app dashboard (Instagram API with Instagram Login), add the account \
                 and generate its access token (instagram_business_manage_messages)."
                    .into(),
                format!(
                    "POST it to {credentials_url} as {{\"access_token\": \"…\"}}; \
                     channel-edge subscribes the app to the account's messages."
                ),
            ],
            &["access_token"],
        ),
        Provider::Twilio => (
            "Send the Twilio account SID, its auth token and the number to finish binding.",
            vec![
                "In the Twilio console, copy the account SID and auth token (Account info) and \
                 the number (Phone Numbers → Manage → Active numbers)."
                    .into(),
                format!(
                    "POST them to {credentials_url} as {{\"account_sid\": \"AC…\", \
                     \"auth_token\": \"…\", \"phone_number\": \"+1…\"}}; channel-edge points \
                     the number's incoming messages at this installation."
                ),
            ],
            &["account_sid", "auth_token", "phone_number"],
        ),
        Provider::Linear => (
            "Send an access token of the Linear workspace to finish binding.",
            vec![
                "Use the OAuth access token of the workspace's install of your Linear app, or a \
                 personal API key (Settings → Security & access)."
                    .into(),
                format!("POST it to {credentials_url} as {{\"access_token\": \"…\"}}."),
                "In Linear (Settings → API → Webhooks, or your app's settings), point the \
                 webhook at the app profile's URL with Comment events, and give the app profile \
                 its signing secret."
                    .into(),
            ],
            &["access_token"],
        ),
        Provider::Line => (
            "Send the LINE channel's secret and a channel access token to finish binding.",
            vec![
                "In the LINE Developers Console, open the Messaging API channel: the channel \
                 secret is on the Basic settings tab."
                    .into(),
                "On the Messaging API tab, issue a long-lived channel access token.".into(),
                format!(
                    "POST them to {credentials_url} as {{\"channel_secret\": \"…\", \
                     \"channel_access_token\": \"…\"}}; channel-edge sets the webhook URL and \
                     turns webhooks on."
                ),
            ],
            &["channel_secret", "channel_access_token"],
        ),
        _ => (
            "Send the Telegram bot's token to finish binding.",
            vec![
                "In Telegram, open @BotFather and send /newbot (or /token for an existing bot)."
                    .into(),
                "Copy the token it answers with.".into(),
                format!("POST it to {credentials_url} as {{\"bot_token\": \"…\"}}."),
            ],
            &["bot_token"],
        ),
    };
    serde_json::json!({
        "method": session.method.as_str(),
        "message": message,
        "instructions": instructions,
        "data": {"credentials_url": credentials_url, "fields": fields},
    })
}

fn oauth_prompt(session: &Session) -> serde_json::Value {
    serde_json::json!({
        "method": "oauth",
        "message": "Open the link and allow the app in your Slack workspace.",
        "instructions": [
            "Open the authorize link (a workspace admin must do this).",
            "Choose the workspace and press Allow.",
            "Slack sends you back here; the session completes on its own.",
        ],
        "data": {"authorize_url": session.authorize_url},
    })
}

/// Slack's OAuth v2 scopes a bound app asks for: read what it is sent, answer, know who wrote.
pub const SLACK_SCOPES: &str =
    "app_mentions:read,channels:history,chat:write,commands,groups:history,im:history,users:read";

/// The OAuth `state` of session `id`: the id and its capability
/// ([`crate::core::signed_link::Purpose::OauthState`]).
pub fn oauth_state(id: &str, capability: &str) -> String {
    format!("{id}.{capability}")
}

/// Splits an OAuth `state` into the session id and its capability; `None` when malformed.
pub fn parse_oauth_state(state: &str) -> Option<(&str, &str)> {
    state
        .split_once('.')
        .filter(|(id, capability)| !id.is_empty() && !capability.is_empty())
}

/// Slack's authorize URL (`authorize_base`, e.g. `https://slack.com/oauth/v2/authorize`) for
/// the app `client_id`, sending the admin back to `redirect_uri` with `state`.
pub fn slack_authorize_url(
    authorize_base: &str,
    client_id: &str,
    redirect_uri: &str,
    state: &str,
) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", client_id)
        .append_pair("scope", SLACK_SCOPES)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("state", state)
        .finish();
    format!("{authorize_base}?{query}")
}

fn qr_prompt(session: &Session) -> serde_json::Value {
    let app = match session.provider {
        Provider::Whatsapp => "WhatsApp",
        Provider::Line => "LINE",
        _ => "Telegram",
    };
    let link = session.deep_link.as_deref();
    serde_json::json!({
        "method": "qr",
        "message": format!("Scan the code with the phone whose {app} you are linking, then send the message it opens."),
        "instructions": [
            "Open the camera on your phone and point it at the code (or open the link on the phone).",
            format!("{app} opens a chat with the bot, with the message ready: send it."),
            "This page shows \"completed\" as soon as the message arrives.",
        ],
        "data": {
            "deep_link": link,
            "qr_svg": link.and_then(|link| crate::core::qr::svg(link).ok()),
        },
    })
}

/// The session as the API shows it, for `base_url` (the worker's public origin).
/// `page_capability` is the binding page's signed capability; it is given only to callers who
/// may act on the session (`bindings:write`). Without it every live capability is `null`: the
/// `page_url`, a `qr` session's deep link (an unclaimed install token) and its QR code, and an
/// `oauth` session's authorize URL (with its signed `state`); any of them would let a reader
/// finish someone else's binding.
pub fn view(
    session: &Session,
    base_url: &str,
    page_capability: Option<&str>,
) -> Result<serde_json::Value, serde_json::Error> {
    let redacted;
    let shown = if page_capability.is_some() {
        session
    } else {
        redacted = Session {
            deep_link: None,
            authorize_url: None,
            ..session.clone()
        };
        &redacted
    };
    let id = &session.id;
    let mut view = serde_json::to_value(shown)?;
    set(&mut view, "auth_prompt", auth_prompt(shown, base_url));
    set(
        &mut view,
        "status_url",
        format!("{base_url}/v1/binding-sessions/{id}"),
    );
    set(
        &mut view,
        "events_url",
        format!("{base_url}/v1/binding-sessions/{id}/events"),
    );
    set(
        &mut view,
        "page_url",
        page_capability.map(|capability| format!("{base_url}/bind/{id}?t={capability}")),
    );
    Ok(view)
}

#[cfg(test)]
#[path = "binding_session_test.rs"]
mod tests;
