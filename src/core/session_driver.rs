//! The driver of one binding session: the only writer of its [`Session`], over a small store.
//!
//! # What's in scope
//! - Serialising a session's transitions: each is applied in memory synchronously, then saved
//!   ([`SessionStore::save`]: audited, mirrored and stored); a transition that cannot be saved is
//!   not kept, so memory and storage never disagree.
//! - A provider check in flight ([`Driver::begin_check`]): while it runs the session is busy, a
//!   second check or a cancel gets 409 and the timeout waits ([`Alarm::Busy`]).
//! - Completion ([`Driver::complete`]): the `completed` transition is saved together with what
//!   the session made ([`NewChannel`]: the installation and binding), or nothing is, and the
//!   session fails instead with the reason in plain words (already installed, owner revoked,
//!   not saved).
//! - Start, cancel, the timeout ([`Driver::expire_if_overdue`]) and a `qr` session's completion
//!   by a claim ([`Driver::claimed`]).
//!
//! # What's out of scope
//! Storage, alarms and live status (the edge's Durable Object implements [`SessionStore`]),
//! provider calls and the clock (`now` is an argument).

use crate::core::admin::Secrets;
use crate::core::api_error::ApiError;
use crate::core::binding_session::{IllegalTransition, Method, Outcome, Session, State};
use crate::core::tenancy::TenancyError;
use std::cell::{Cell, RefCell};

/// What a completing `token` or `oauth` session makes besides the transition: a new
/// installation of the channel and the session's binding on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChannel {
    /// The new installation's id (the outcome's).
    pub installation_id: String,
    /// The new binding's id (the outcome's).
    pub binding_id: String,
    /// The provider's id for the tenant (bot id, phone number id, workspace id).
    pub tenant_key: String,
    /// Non-secret facts for the installation's metadata, as JSON text.
    pub metadata: String,
    /// Credentials, sealed when stored.
    pub credentials: Secrets,
}

/// Where a session lives.
#[allow(async_fn_in_trait)] // single-threaded (Workers, tests): no Send bound wanted
pub trait SessionStore {
    /// The stored session, if one was started.
    async fn load(&self) -> Result<Option<Session>, ApiError>;
    /// Records `session`'s transitions from index `from` on (each audited with the mirror of
    /// the session; the last one with `made`, in the same transaction) and stores the session.
    /// An error means the last transition and `made` did not land.
    async fn save(
        &self,
        session: &Session,
        from: usize,
        made: Option<&NewChannel>,
    ) -> Result<(), ApiError>;
}

/// What the timeout found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alarm {
    /// A provider check is in flight: try again shortly.
    Busy,
    /// The session expired now, or had already ended, or has time left.
    Done,
}

/// One session's driver.
pub struct Driver<S> {
    store: S,
    session: RefCell<Option<Session>>,
    busy: Cell<bool>,
}

/// A provider check in flight; dropping it ends it.
pub struct Checking<'a>(&'a Cell<bool>);

impl Drop for Checking<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

impl<S: SessionStore> Driver<S> {
    /// A driver over `store`; the session is loaded on first use.
    pub fn new(store: S) -> Self {
        Driver {
            store,
            session: RefCell::new(None),
            busy: Cell::new(false),
        }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Loads the session from the store once.
    pub async fn load(&self) -> Result<(), ApiError> {
        if self.session.borrow().is_none() {
            let stored = self.store.load().await?;
            if self.session.borrow().is_none() {
                self.session.replace(stored);
            }
        }
        Ok(())
    }

    /// The session as it is now (404 when none was started).
    pub fn snapshot(&self) -> Result<Session, ApiError> {
        self.session.borrow().clone().ok_or_else(no_such)
    }

    /// Stores a new session (409 when this one already exists).
    pub async fn start(&self, session: Session) -> Result<(), ApiError> {
        self.load().await?;
        if self.session.borrow().is_some() {
            return Err(ApiError::Conflict {
                message: "the session already exists".into(),
            });
        }
        self.session.replace(Some(session));
        if let Err(error) = self.save(0, None).await {
            self.session.replace(None);
            return Err(error);
        }
        Ok(())
    }

    /// Cancels the session, by `by` (409 while a provider check runs or once it ended).
    pub async fn cancel(&self, by: &str, now: u64) -> Result<(), ApiError> {
        self.load().await?;
        if self.busy.get() {
            return Err(busy());
        }
        self.advance(State::Cancelled, now, by).await
    }

    /// The timeout: expires the session if it is overdue at `now`, unless a check is running.
    pub async fn expire_if_overdue(&self, now: u64) -> Result<Alarm, ApiError> {
        self.load().await?;
        if self.busy.get() {
            return Ok(Alarm::Busy);
        }
        let overdue = self
            .session
            .borrow()
            .as_ref()
            .is_some_and(|session| session.is_overdue(now));
        if overdue {
            self.advance(State::Expired, now, "system").await?;
        }
        Ok(Alarm::Done)
    }

    /// Starts checking the channel with its provider: busy until the returned guard drops (409
    /// if a check is already running), expires an overdue session (409), and moves to
    /// `channel_authenticating`, made by `by` (409 unless awaiting the channel).
    pub async fn begin_check(&self, by: &str, now: u64) -> Result<Checking<'_>, ApiError> {
        self.load().await?;
        if self.busy.replace(true) {
            return Err(busy());
        }
        let guard = Checking(&self.busy);
        if self.snapshot()?.is_overdue(now) {
            self.advance(State::Expired, now, "system").await?;
            return Err(ApiError::Conflict {
                message: "the session has expired".into(),
            });
        }
        self.advance(State::ChannelAuthenticating, now, by).await?;
        Ok(guard)
    }

    /// Moves the session to `next` at `now`, made by `by`, and saves it.
    pub async fn advance(&self, next: State, now: u64, by: &str) -> Result<(), ApiError> {
        self.change(|session| session.advance(next, now, by)).await
    }

    /// `channel_authenticated`: the provider accepted the channel, which people know as
    /// `channel`; made by `by` at `now`, and saved.
    pub async fn authenticated(&self, channel: String, now: u64, by: &str) -> Result<(), ApiError> {
        self.change(|session| session.authenticated(channel, now, by))
            .await
    }

    /// Fails the session with `reason` (plain words, shown to the admin), made by `by`.
    pub async fn fail(&self, reason: &str, now: u64, by: &str) -> Result<(), ApiError> {
        self.change(|session| session.fail(reason, now, by)).await
    }

    /// Completes the session with `outcome`: its `completed` transition lands with `made` (the
    /// installation and binding to create, if any), or neither does and the session fails with
    /// the reason instead.
    pub async fn complete(
        &self,
        made: Option<&NewChannel>,
        outcome: Outcome,
        now: u64,
    ) -> Result<(), ApiError> {
        let previous = self.snapshot()?;
        let before = previous.history.len();
        {
            let mut slot = self.session.borrow_mut();
            let session = slot.as_mut().ok_or_else(no_such)?;
            session.advance(State::Completed, now, "system")?;
            session.outcome = Some(outcome);
        }
        match self.save(before, made).await {
            Ok(()) => Ok(()),
            Err(error) => {
                self.session.replace(Some(previous));
                self.fail(completion_failure(&error), now, "system").await
            }
        }
    }

    /// Completes a `qr` session whose install token was claimed from chat by `by` (the claim
    /// already linked the sender on the binding, so nothing more is made). 409 for another
    /// method, or when the session is not awaiting the channel.
    pub async fn claimed(&self, by: &str, outcome: Outcome, now: u64) -> Result<(), ApiError> {
        self.load().await?;
        if self.snapshot()?.method != Method::Qr {
            return Err(ApiError::Conflict {
                message: "only a qr session is completed by a claim".into(),
            });
        }
        // Busy like a provider check, so a cancel cannot land between these steps.
        let _checking = self.begin_check(by, now).await?;
        for next in [State::ChannelAuthenticated, State::TestingConnection] {
            self.advance(next, now, "system").await?;
        }
        self.complete(None, outcome, now).await
    }

    /// Applies `step` to the session (synchronously, so nothing interleaves) and saves the new
    /// transitions; if they cannot be saved, the session is as it was.
    async fn change(
        &self,
        step: impl FnOnce(&mut Session) -> Result<(), IllegalTransition>,
    ) -> Result<(), ApiError> {
        let previous = self.snapshot()?;
        {
            let mut slot = self.session.borrow_mut();
            let session = slot.as_mut().ok_or_else(no_such)?;
            step(session)?;
        }
        if let Err(error) = self.save(previous.history.len(), None).await {
            self.session.replace(Some(previous));
            return Err(error);
        }
        Ok(())
    }

    async fn save(&self, from: usize, made: Option<&NewChannel>) -> Result<(), ApiError> {
        let session = self.snapshot()?;
        self.store.save(&session, from, made).await
    }
}

/// Why a completion that could not be saved failed the session, in plain words.
fn completion_failure(error: &ApiError) -> &'static str {
    match error {
        ApiError::Conflict { .. } => "the channel is already installed",
        ApiError::Tenancy(TenancyError::OwnerRevoked) => {
            "the org or app profile was revoked; nothing was installed"
        }
        _ => "the installation could not be saved; start a new session",
    }
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

#[cfg(test)]
#[path = "session_driver_test.rs"]
mod tests;
