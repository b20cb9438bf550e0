//! The `BindingSession` Durable Object: one instance per binding session, named by its id.
//!
//! It holds the session ([`crate::core::binding_session::Session`]) in its storage and is the
//! only writer of it, so its transitions are serialised: of two concurrent requests that would
//! complete a session, the second finds it `channel_authenticating` and gets 409. The timeout is
//! an alarm, so a session expires on time even when nobody polls; while a provider check is in
//! flight the alarm waits for it. Every transition is audited and mirrored to D1's
//! `binding_sessions` (for listing); the transition to `completed` commits the installation and
//! binding in the same D1 transaction, so no session that did not complete leaves anything made.
//!
//! Live status: `GET /events` answers Server-Sent Events, one `status` event with the session's
//! view now and after every change, until it ends.
//!
//! The worker talks to it with [`call`]; the admin API ([`crate::edge::admin`]) authenticates
//! first. Provider checks are in [`token`]; the browser page (`page_url`) is in [`page`]. A
//! `qr` session completes when the ingress reports its install token claimed
//! ([`Command::Claimed`]). The health ping is served too.

pub mod oauth;
pub mod page;
mod token;

use crate::core::api_error::ApiError;
use crate::core::audit::Event;
use crate::core::binding_session::{self, Method as BindMethod, Outcome, Session, State};
use crate::core::json;
use crate::core::signed_link::{self, Purpose};
use crate::core::tenancy::TenancyError;
use crate::edge::secrets::key_ring;
use crate::edge::{d1, ledger, runtime};
use futures_channel::mpsc::{unbounded, UnboundedSender};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::cell::{Cell, RefCell};
use std::time::Duration;
use worker::{
    durable_object, DurableObject, Env, Method, Request, Response, Result, State as DoState,
};

/// Path the worker's `/healthz` fetches on one fixed instance.
pub const PING_PATH: &str = "/ping";
/// Storage key of the session.
const SESSION_KEY: &str = "session";
/// How long an alarm that fires during a provider check waits before trying again.
const BUSY_RETRY: Duration = Duration::from_secs(2);

/// Builds statements for a ledger batch (called again when the batch is retried).
type Statements<'a> =
    dyn Fn() -> std::result::Result<Vec<worker::D1PreparedStatement>, ApiError> + 'a;

/// A command from the worker to a session's object.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// Store a new session and arm its alarm.
    Start {
        /// The session, as [`Session::start`] made it.
        session: Session,
    },
    /// The session's view; its live capabilities only with `capabilities`
    /// ([`crate::core::binding_session::view`]).
    View {
        /// Whether the caller may see `page_url`, the deep link and the authorize URL.
        capabilities: bool,
    },
    /// Cancel it, by `by`.
    Cancel {
        /// The principal.
        by: String,
    },
    /// A `qr` session's install token was claimed from chat, by `by` (`<provider>:<sender>`),
    /// linking `outcome`'s sender on its binding.
    Claimed {
        /// The claiming sender.
        by: String,
        /// What the claim linked.
        outcome: Outcome,
    },
    /// Slack sent the admin of an `oauth` session back with a `code` (or an `error`).
    OauthCode {
        /// The authorization code.
        code: Option<String>,
        /// Slack's error, e.g. `access_denied`.
        error: Option<String>,
    },
    /// The credential of a `token` session, by `by`.
    Credentials {
        /// The principal.
        by: String,
        /// The request body, parsed here against the session's provider.
        body: Value,
    },
}

/// Sends `command` to session `id`'s object and returns its answer: a status and a JSON body
/// (the session's view, or an error body).
pub async fn call(
    env: &Env,
    id: &str,
    command: &Command,
) -> std::result::Result<(u16, Value), ApiError> {
    let stub = env
        .durable_object("BINDING_SESSIONS")
        .and_then(|namespace| namespace.get_by_name(id))
        .map_err(d1::internal)?;
    let body = serde_json::to_string(command).map_err(d1::internal)?;
    let mut init = worker::RequestInit::new();
    init.with_method(Method::Post).with_body(Some(body.into()));
    let request = Request::new_with_init("https://session/command", &init).map_err(d1::internal)?;
    let mut response = stub
        .fetch_with_request(request)
        .await
        .map_err(d1::internal)?;
    let value: Value = response.json().await.map_err(d1::internal)?;
    Ok((response.status_code(), value))
}

/// Opens session `id`'s live status stream (Server-Sent Events); each view carries the live
/// capabilities only with `capabilities`.
pub async fn events(env: &Env, id: &str, capabilities: bool) -> Result<Response> {
    let stub = env.durable_object("BINDING_SESSIONS")?.get_by_name(id)?;
    let path = if capabilities {
        EVENTS_WITH_CAPABILITIES
    } else {
        EVENTS
    };
    stub.fetch_with_str(&format!("https://session{path}")).await
}

/// The object's event stream without capabilities, and with them.
const EVENTS: &str = "/events";
const EVENTS_WITH_CAPABILITIES: &str = "/events/capabilities";

#[durable_object]
pub struct BindingSession {
    state: DoState,
    env: Env,
    /// The session, once loaded or started.
    session: RefCell<Option<Session>>,
    /// True while a provider check is in flight.
    busy: Cell<bool>,
    /// Open live-status streams.
    listeners: RefCell<Vec<Listener>>,
}

impl DurableObject for BindingSession {
    fn new(state: DoState, env: Env) -> Self {
        Self {
            state,
            env,
            session: RefCell::new(None),
            busy: Cell::new(false),
            listeners: RefCell::new(Vec::new()),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        match req.path().as_str() {
            PING_PATH => Response::ok("pong"),
            EVENTS => self.stream(false).await,
            EVENTS_WITH_CAPABILITIES => self.stream(true).await,
            "/command" => {
                let command: Command = req.json().await?;
                let (status, body) = match self.run(command).await {
                    Ok(view) => (200, view),
                    Err(error) => (error.status(), error.body()),
                };
                Ok(Response::from_json(&body)?.with_status(status))
            }
            _ => Response::error("not found", 404),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        self.load().await?;
        if self.busy.get() {
            self.state.storage().set_alarm(BUSY_RETRY).await?;
            return Response::ok("busy");
        }
        let now = runtime::now_seconds();
        let overdue = self
            .session
            .borrow()
            .as_ref()
            .is_some_and(|session| session.is_overdue(now));
        if overdue {
            self.change(|session| session.advance(State::Expired, now, "system"))
                .await
                .map_err(|e| worker::Error::RustError(e.to_string()))?;
        }
        Response::ok("done")
    }
}

impl BindingSession {
    async fn run(&self, command: Command) -> std::result::Result<Value, ApiError> {
        match command {
            Command::Start { session } => self.start(session).await,
            Command::View { capabilities } => {
                self.load().await.map_err(d1::internal)?;
                self.view(capabilities)
            }
            Command::Cancel { by } => {
                self.load().await.map_err(d1::internal)?;
                if self.busy.get() {
                    return Err(busy());
                }
                let now = runtime::now_seconds();
                self.change(|session| session.advance(State::Cancelled, now, &by))
                    .await?;
                self.view(true)
            }
            Command::Claimed { by, outcome } => {
                self.load().await.map_err(d1::internal)?;
                self.claimed(&by, outcome).await?;
                self.view(true)
            }
            Command::OauthCode { code, error } => {
                self.load().await.map_err(d1::internal)?;
                oauth::exchange(self, code, error).await?;
                self.view(true)
            }
            Command::Credentials { by, body } => {
                self.load().await.map_err(d1::internal)?;
                token::authenticate(self, &by, &body).await?;
                self.view(true)
            }
        }
    }

    async fn start(&self, session: Session) -> std::result::Result<Value, ApiError> {
        if self
            .state
            .storage()
            .get::<Session>(SESSION_KEY)
            .await
            .map_err(d1::internal)?
            .is_some()
        {
            return Err(ApiError::Conflict {
                message: "the session already exists".into(),
            });
        }
        let timeout = session.expires_at.saturating_sub(runtime::now_seconds());
        self.state
            .storage()
            .set_alarm(Duration::from_secs(timeout))
            .await
            .map_err(d1::internal)?;
        self.session.replace(Some(session));
        self.save(0, &|| Ok(Vec::new())).await?;
        self.view(true)
    }

    /// Completes a `qr` session: the claim already linked the sender on the binding, so there is
    /// nothing more to make.
    async fn claimed(&self, by: &str, outcome: Outcome) -> std::result::Result<(), ApiError> {
        let session = self.snapshot()?;
        if session.method != BindMethod::Qr {
            return Err(ApiError::Conflict {
                message: "only a qr session is completed by a claim".into(),
            });
        }
        // Busy like a provider check, so a cancel cannot land between these steps.
        let _checking = self.begin_check(by).await?;
        let now = runtime::now_seconds();
        for next in [State::ChannelAuthenticated, State::TestingConnection] {
            self.change(|s| s.advance(next, now, "system")).await?;
        }
        self.complete(&|| Ok(Vec::new()), outcome).await
    }

    /// Starts checking the channel with its provider: marks this object busy until the returned
    /// guard drops (409 if a check is already running), expires an overdue session (409), and
    /// moves to `channel_authenticating`, made by `by` (409 unless awaiting the channel).
    async fn begin_check(&self, by: &str) -> std::result::Result<Checking<'_>, ApiError> {
        if self.busy.replace(true) {
            return Err(busy());
        }
        let guard = Checking(&self.busy);
        let now = runtime::now_seconds();
        if self.snapshot()?.is_overdue(now) {
            self.change(|s| s.advance(State::Expired, now, "system"))
                .await?;
            return Err(ApiError::Conflict {
                message: "the session has expired".into(),
            });
        }
        self.change(|s| s.advance(State::ChannelAuthenticating, now, by))
            .await?;
        Ok(guard)
    }

    /// Loads the session from storage once per instance.
    async fn load(&self) -> Result<()> {
        if self.session.borrow().is_none() {
            let stored = self.state.storage().get::<Session>(SESSION_KEY).await?;
            if self.session.borrow().is_none() {
                self.session.replace(stored);
            }
        }
        Ok(())
    }

    fn history_len(&self) -> usize {
        self.session
            .borrow()
            .as_ref()
            .map_or(0, |session| session.history.len())
    }

    /// Applies `step` to the session (synchronously, so nothing interleaves), then saves and
    /// announces the new transitions.
    async fn change(
        &self,
        step: impl FnOnce(
            &mut Session,
        )
            -> std::result::Result<(), crate::core::binding_session::IllegalTransition>,
    ) -> std::result::Result<(), ApiError> {
        let before = self.history_len();
        {
            let mut slot = self.session.borrow_mut();
            let session = slot.as_mut().ok_or_else(no_such)?;
            step(session)?;
        }
        self.save(before, &|| Ok(Vec::new())).await
    }

    /// Completes the session: its last transition commits the installation and binding with
    /// it, or, if they cannot be saved, the session fails instead.
    async fn complete(
        &self,
        made: &Statements<'_>,
        outcome: Outcome,
    ) -> std::result::Result<(), ApiError> {
        let now = runtime::now_seconds();
        let before = self.history_len();
        let previous = self.session.borrow().clone().ok_or_else(no_such)?;
        {
            let mut slot = self.session.borrow_mut();
            let session = slot.as_mut().ok_or_else(no_such)?;
            session.advance(State::Completed, now, "system")?;
            session.outcome = Some(outcome);
        }
        match self.save(before, made).await {
            Ok(()) => Ok(()),
            Err(error) => {
                let reason = match error {
                    ApiError::Conflict { .. } => "the channel is already installed".to_owned(),
                    ApiError::Tenancy(TenancyError::OwnerRevoked) => {
                        "the org or app profile was revoked; nothing was installed".to_owned()
                    }
                    _ => "the installation could not be saved; start a new session".to_owned(),
                };
                self.session.replace(Some(previous));
                self.change(|session| session.fail(&reason, now, "system"))
                    .await
            }
        }
    }

    /// Audits and mirrors transitions `from..` (the last with `extra` statements in its batch),
    /// stores the session, and tells the listeners.
    async fn save(&self, from: usize, extra: &Statements<'_>) -> std::result::Result<(), ApiError> {
        let session = self.session.borrow().clone().ok_or_else(no_such)?;
        let db = self.env.d1("DB").map_err(d1::internal)?;
        let last = session.history.len().saturating_sub(1);
        for (index, transition) in session.history.iter().enumerate().skip(from) {
            let event = Event::new(
                &transition.by,
                &format!("binding_session.{}", transition.to.as_str()),
                &session.id,
            )
            .with_detail(json!({
                "from": transition.from.as_str(),
                "provider": session.provider.as_str(),
                "method": session.method.as_str(),
                "org_id": session.org_id,
                "failure": session.failure.as_ref().filter(|_| index == last),
                "outcome": session.outcome.as_ref().filter(|_| index == last),
            }))
            .for_org(Some(&session.org_id));
            ledger::commit(&db, &event, transition.at, || {
                let mut statements = vec![mirror(&db, &session)?];
                if index == last {
                    statements.extend(extra()?);
                    if transition.to.has_ended() {
                        statements.extend(release(&db, &session, transition.at)?);
                    }
                }
                Ok(statements)
            })
            .await?;
        }
        self.state
            .storage()
            .put(SESSION_KEY, &session)
            .await
            .map_err(d1::internal)?;
        self.announce();
        Ok(())
    }

    /// The session as the API shows it; with `capabilities`, including its live capabilities
    /// (for callers that may act on it).
    fn view(&self, capabilities: bool) -> std::result::Result<Value, ApiError> {
        let slot = self.session.borrow();
        let session = slot.as_ref().ok_or_else(no_such)?;
        let base = self
            .env
            .var("PUBLIC_BASE_URL")
            .map(|v| v.to_string())
            .unwrap_or_default();
        let page_capability = if capabilities {
            Some(signed_link::sign(
                &key_ring(&self.env)?,
                Purpose::BindingPage,
                &session.id,
                session.expires_at,
            ))
        } else {
            None
        };
        binding_session::view(
            session,
            base.trim_end_matches('/'),
            page_capability.as_deref(),
        )
        .map_err(d1::internal)
    }

    /// Sends the current view to every listener; closes the streams once the session ended.
    fn announce(&self) {
        if self.listeners.borrow().is_empty() {
            return;
        }
        let (Ok(full), Ok(redacted)) = (self.view(true), self.view(false)) else {
            return;
        };
        let ended = json::at(&full, "/status")
            .as_str()
            .and_then(State::parse)
            .is_some_and(State::has_ended);
        let event = |view: &Value| format!("event: status\ndata: {view}\n\n").into_bytes();
        let (full, redacted) = (event(&full), event(&redacted));
        let mut listeners = self.listeners.borrow_mut();
        listeners.retain(|listener| {
            let event = if listener.capabilities {
                &full
            } else {
                &redacted
            };
            listener.sender.unbounded_send(Ok(event.clone())).is_ok()
        });
        if ended {
            listeners.clear();
        }
    }

    async fn stream(&self, capabilities: bool) -> Result<Response> {
        self.load().await?;
        let view = match self.view(capabilities) {
            Ok(view) => view,
            Err(error) => {
                return Ok(Response::from_json(&error.body())?.with_status(error.status()))
            }
        };
        let (sender, receiver) = unbounded();
        let first = format!("retry: 2000\nevent: status\ndata: {view}\n\n").into_bytes();
        let _ = sender.unbounded_send(Ok(first));
        let ended = json::at(&view, "/status")
            .as_str()
            .and_then(State::parse)
            .is_some_and(State::has_ended);
        if !ended {
            self.listeners.borrow_mut().push(Listener {
                capabilities,
                sender,
            });
        }
        let mut response = Response::from_stream(receiver)?;
        let headers = response.headers_mut();
        headers.set("Content-Type", "text/event-stream")?;
        headers.set("Cache-Control", "no-store")?;
        headers.set("Referrer-Policy", "no-referrer")?;
        Ok(response)
    }

    /// The session's provider, method and current status.
    fn snapshot(&self) -> std::result::Result<Session, ApiError> {
        self.session.borrow().clone().ok_or_else(no_such)
    }
}

/// One open live-status stream.
struct Listener {
    /// Whether it sees the live capabilities (`page_url`, deep link, authorize URL).
    capabilities: bool,
    /// Where its events go.
    sender: UnboundedSender<Result<Vec<u8>>>,
}

/// A provider check in flight; dropping it ends it.
struct Checking<'a>(&'a Cell<bool>);

impl Drop for Checking<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

/// The D1 mirror row of `session` (inserted on start, updated after).
fn mirror(
    db: &worker::D1Database,
    session: &Session,
) -> std::result::Result<worker::D1PreparedStatement, ApiError> {
    let updated_at = session.history.last().map_or(session.created_at, |t| t.at);
    d1::statement(
        db,
        "INSERT INTO binding_sessions (id, org_id, app_profile_id, provider, method, status, \
         created_by, created_at, expires_at, updated_at, agent_id) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
         ON CONFLICT (id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at",
        &[
            (&session.id).into(),
            (&session.org_id).into(),
            (&session.app_profile_id).into(),
            session.provider.as_str().into(),
            session.method.as_str().into(),
            session.status.as_str().into(),
            (&session.created_by).into(),
            session.created_at.into(),
            session.expires_at.into(),
            updated_at.into(),
            (&session.binding.agent_id).into(),
        ],
    )
}

/// What an ended session lets go of: the channel it claimed ([`token::claim_channel`]) and, for a
/// `qr` session, its unclaimed install token, so it cannot be claimed after the session failed,
/// expired or was cancelled.
fn release(
    db: &worker::D1Database,
    session: &Session,
    now: u64,
) -> std::result::Result<Vec<worker::D1PreparedStatement>, ApiError> {
    let mut statements = vec![d1::statement(
        db,
        "DELETE FROM tenant_claims WHERE session_id = ?1",
        &[(&session.id).into()],
    )?];
    if session.method == BindMethod::Qr {
        statements.push(d1::statement(
            db,
            "UPDATE install_tokens SET expires_at = MIN(expires_at, ?2) \
             WHERE binding_session_id = ?1 AND claim_event IS NULL",
            &[(&session.id).into(), now.into()],
        )?);
    }
    Ok(statements)
}

fn no_such() -> ApiError {
    ApiError::NoSuch {
        what: "binding session",
        id: String::new(),
    }
}

fn busy() -> ApiError {
    ApiError::Conflict {
        message: "the session is checking the channel with the provider; try again in a moment"
            .into(),
    }
}
