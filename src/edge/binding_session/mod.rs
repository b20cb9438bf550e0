//! The `BindingSession` Durable Object: one instance per binding session, named by its id, a
//! thin shell over [`crate::core::session_driver`].
//!
//! The driver holds the session and is its only writer, so its transitions are serialised: of
//! two concurrent requests that would complete a session, the second finds it
//! `channel_authenticating` and gets 409. This object is the driver's store ([`Object`]): the
//! session in its storage, every transition audited and mirrored to D1's `binding_sessions` (for
//! listing), and the transition to `completed` committing the installation and binding in the
//! same D1 transaction, so no session that did not complete leaves anything made. The timeout is
//! an alarm, so a session expires on time even when nobody polls; while a provider check is in
//! flight the alarm waits for it.
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
use crate::core::session_driver::{Alarm, Driver, NewChannel, SessionStore};
use crate::core::signed_link::{self, Purpose};
use crate::edge::runtime;
use crate::edge::store::secrets::key_ring;
use crate::edge::store::tenancy::{insert_installation, InstallationRow};
use crate::edge::store::{bindings, grants, sessions};
use crate::edge::store::{d1, ledger};
use futures_channel::mpsc::{unbounded, UnboundedSender};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::cell::RefCell;
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

/// A command from the worker to a session's object.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    /// Store a new session and arm its alarm.
    Start {
        /// The session, as [`Session::start`] made it (boxed: it is much the largest command).
        session: Box<Session>,
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
    /// The session's driver ([`crate::core::session_driver`]) over this object's storage.
    driver: Driver<Object>,
}

/// This object's storage, its bindings and its open live-status streams: the store the driver
/// saves through.
pub(super) struct Object {
    state: DoState,
    env: Env,
    listeners: RefCell<Vec<Listener>>,
}

impl DurableObject for BindingSession {
    fn new(state: DoState, env: Env) -> Self {
        Self {
            driver: Driver::new(Object {
                state,
                env,
                listeners: RefCell::new(Vec::new()),
            }),
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
        let now = runtime::now_seconds();
        match self.driver.expire_if_overdue(now).await {
            Ok(Alarm::Busy) => {
                self.object().state.storage().set_alarm(BUSY_RETRY).await?;
                Response::ok("busy")
            }
            Ok(Alarm::Done) => Response::ok("done"),
            Err(error) => Err(worker::Error::RustError(error.to_string())),
        }
    }
}

impl BindingSession {
    async fn run(&self, command: Command) -> std::result::Result<Value, ApiError> {
        let now = runtime::now_seconds();
        self.driver.load().await?;
        match command {
            Command::Start { session } => {
                // The alarm is armed before the session is stored, so none exists without one;
                // a session that already exists keeps its own (the start is refused).
                if self.driver.snapshot().is_err() {
                    let timeout = session.expires_at.saturating_sub(now);
                    self.object()
                        .state
                        .storage()
                        .set_alarm(Duration::from_secs(timeout))
                        .await
                        .map_err(d1::internal)?;
                }
                self.driver.start(*session).await?;
            }
            Command::View { capabilities } => return self.view(capabilities),
            Command::Cancel { by } => self.driver.cancel(&by, now).await?,
            Command::Claimed { by, outcome } => self.driver.claimed(&by, outcome, now).await?,
            Command::OauthCode { code, error } => oauth::exchange(self, code, error).await?,
            Command::Credentials { by, body } => token::authenticate(self, &by, &body).await?,
        }
        self.view(true)
    }

    fn object(&self) -> &Object {
        self.driver.store()
    }

    /// The worker's bindings.
    pub(super) fn env(&self) -> &Env {
        &self.object().env
    }

    /// The session's driver.
    pub(super) fn driver(&self) -> &Driver<Object> {
        &self.driver
    }

    /// The session as the API shows it; with `capabilities`, including its live capabilities.
    fn view(&self, capabilities: bool) -> std::result::Result<Value, ApiError> {
        view(self.env(), &self.driver.snapshot()?, capabilities)
    }

    async fn stream(&self, capabilities: bool) -> Result<Response> {
        let view = match self
            .driver
            .load()
            .await
            .and_then(|()| self.view(capabilities))
        {
            Ok(view) => view,
            Err(error) => {
                return Ok(Response::from_json(&error.body())?.with_status(error.status()))
            }
        };
        let (sender, receiver) = unbounded();
        let first = format!("retry: 2000\nevent: status\ndata: {view}\n\n").into_bytes();
        let _ = sender.unbounded_send(Ok(first));
        if !has_ended(&view) {
            self.object().listeners.borrow_mut().push(Listener {
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
}

impl SessionStore for Object {
    async fn load(&self) -> std::result::Result<Option<Session>, ApiError> {
        self.state
            .storage()
            .get::<Session>(SESSION_KEY)
            .await
            .map_err(d1::internal)
    }

    /// Audits and mirrors transitions `from..` (the last with `made` and, once ended, the
    /// release of what the session held, in its batch), stores the session, and tells the
    /// listeners.
    async fn save(
        &self,
        session: &Session,
        from: usize,
        made: Option<&NewChannel>,
    ) -> std::result::Result<(), ApiError> {
        let db = self.env.d1("DB").map_err(d1::internal)?;
        let last = session.history.len().saturating_sub(1);
        for (index, transition) in session.history.iter().enumerate().skip(from) {
            let event = transition_event(session, index, last);
            ledger::commit(&db, &event, transition.at, || {
                let mut statements = vec![sessions::mirror(&db, session)?];
                if index == last {
                    if let Some(made) = made {
                        statements.extend(new_channel(
                            &self.env,
                            &db,
                            session,
                            made,
                            transition.at,
                        )?);
                    }
                    if transition.to.has_ended() {
                        statements.extend(release(&db, session, transition.at)?);
                    }
                }
                Ok(statements)
            })
            .await?;
        }
        self.state
            .storage()
            .put(SESSION_KEY, session)
            .await
            .map_err(d1::internal)?;
        self.announce(session);
        Ok(())
    }
}

impl Object {
    /// Sends `session`'s view to every listener; closes the streams once it ended.
    fn announce(&self, session: &Session) {
        if self.listeners.borrow().is_empty() {
            return;
        }
        let (Ok(full), Ok(redacted)) = (
            view(&self.env, session, true),
            view(&self.env, session, false),
        ) else {
            return;
        };
        let event = |view: &Value| format!("event: status\ndata: {view}\n\n").into_bytes();
        let (full_event, redacted_event) = (event(&full), event(&redacted));
        let mut listeners = self.listeners.borrow_mut();
        listeners.retain(|listener| {
            let event = if listener.capabilities {
                &full_event
            } else {
                &redacted_event
            };
            listener.sender.unbounded_send(Ok(event.clone())).is_ok()
        });
        if has_ended(&full) {
            listeners.clear();
        }
    }
}

/// `session` as the API shows it; with `capabilities`, including its live capabilities (for
/// callers that may act on it).
fn view(env: &Env, session: &Session, capabilities: bool) -> std::result::Result<Value, ApiError> {
    let base = env
        .var("PUBLIC_BASE_URL")
        .map(|v| v.to_string())
        .unwrap_or_default();
    let page_capability = if capabilities {
        Some(signed_link::sign(
            &key_ring(env)?,
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

/// Whether a view shows an ended session.
fn has_ended(view: &Value) -> bool {
    json::at(view, "/status")
        .as_str()
        .and_then(State::parse)
        .is_some_and(State::has_ended)
}

/// The audit event of transition `index` of `session` (`last` is the newest's index).
fn transition_event(session: &Session, index: usize, last: usize) -> Event {
    let transition = session.history.get(index);
    let (from, to, by) = transition.map_or(("", "", ""), |t| {
        (t.from.as_str(), t.to.as_str(), t.by.as_str())
    });
    Event::new(by, &format!("binding_session.{to}"), &session.id)
        .with_detail(json!({
            "from": from,
            "provider": session.provider.as_str(),
            "method": session.method.as_str(),
            "org_id": session.org_id,
            "failure": session.failure.as_ref().filter(|_| index == last),
            "outcome": session.outcome.as_ref().filter(|_| index == last),
        }))
        .for_org(Some(&session.org_id))
}

/// One open live-status stream.
struct Listener {
    /// Whether it sees the live capabilities (`page_url`, deep link, authorize URL).
    capabilities: bool,
    /// Where its events go.
    sender: UnboundedSender<Result<Vec<u8>>>,
}

/// The statements that make what a completing session made: the installation (its org and app
/// profile re-checked in the same transaction) and the session's binding on it.
fn new_channel(
    env: &Env,
    db: &worker::D1Database,
    session: &Session,
    made: &NewChannel,
    now: u64,
) -> std::result::Result<Vec<worker::D1PreparedStatement>, ApiError> {
    let installation = InstallationRow {
        id: &made.installation_id,
        app_profile_id: &session.app_profile_id,
        org_id: &session.org_id,
        tenant_key: &made.tenant_key,
        metadata: &made.metadata,
        credentials: &made.credentials,
    };
    let binding = bindings::BindingRow {
        id: &made.binding_id,
        installation_id: &made.installation_id,
        agent_id: &session.binding.agent_id,
        selector: &session.binding.selector,
        priority: 0,
        sender_policy: session.binding.sender_policy,
        allowlist: &session.binding.allowlist,
        fallback_installation_id: None,
        created_by: &session.created_by,
    };
    let mut statements = insert_installation(db, &key_ring(env)?, &installation, now)?;
    statements.extend(bindings::insert(db, &binding, now, false)?);
    Ok(statements)
}

/// What an ended session lets go of: the channel it claimed ([`sessions::claim_channel`]) and,
/// for a `qr` session, its unclaimed install token, so it cannot be claimed after the session
/// failed, expired or was cancelled.
fn release(
    db: &worker::D1Database,
    session: &Session,
    now: u64,
) -> std::result::Result<Vec<worker::D1PreparedStatement>, ApiError> {
    let mut statements = vec![sessions::release_channel(db, &session.id)?];
    if session.method == BindMethod::Qr {
        statements.push(grants::expire_unclaimed_of_session(db, &session.id, now)?);
    }
    Ok(statements)
}
