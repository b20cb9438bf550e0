use super::*;
use crate::core::binding_session::NewSession;
use crate::core::test_support::block_on;
use serde_json::json;

const NOW: u64 = 1_800_000_000;

/// A session's storage in memory: what was stored, which transitions were recorded and what was
/// made with them. It fails on command.
#[derive(Default)]
struct Store {
    stored: RefCell<Option<Session>>,
    /// Recorded transitions `(to, made with it)`.
    recorded: RefCell<Vec<(State, Option<NewChannel>)>>,
    /// The next save fails with this.
    fail_next: RefCell<Option<ApiError>>,
    /// A save with something to make fails with this.
    fail_made: RefCell<Option<ApiError>>,
}

impl SessionStore for Store {
    async fn load(&self) -> Result<Option<Session>, ApiError> {
        Ok(self.stored.borrow().clone())
    }

    async fn save(
        &self,
        session: &Session,
        from: usize,
        made: Option<&NewChannel>,
    ) -> Result<(), ApiError> {
        if let Some(error) = self.fail_next.borrow_mut().take() {
            return Err(error);
        }
        if made.is_some() {
            if let Some(error) = self.fail_made.borrow().clone() {
                return Err(error);
            }
        }
        let last = session.history.len().saturating_sub(1);
        for (index, transition) in session.history.iter().enumerate().skip(from) {
            let with = made.filter(|_| index == last).cloned();
            self.recorded.borrow_mut().push((transition.to, with));
        }
        self.stored.replace(Some(session.clone()));
        Ok(())
    }
}

fn session(method: &str) -> Session {
    let request: NewSession = serde_json::from_value(json!({
        "provider": "telegram", "method": method, "org_id": "org_1",
        "app_profile_id": "app_1", "binding": {"agent_id": "agent_x"}}))
    .unwrap();
    Session::start("bss_1".into(), request, "prn_a", NOW, 300)
}

fn started(method: &str) -> Driver<Store> {
    let driver = Driver::new(Store::default());
    block_on(driver.start(session(method))).unwrap();
    driver
}

fn made() -> NewChannel {
    NewChannel {
        installation_id: "ins_1".into(),
        binding_id: "bnd_1".into(),
        tenant_key: "123".into(),
        metadata: "{}".into(),
        credentials: Secrets::new(),
    }
}

fn outcome() -> Outcome {
    Outcome {
        installation_id: "ins_1".into(),
        binding_id: "bnd_1".into(),
        sender_id: None,
    }
}

fn stored_status(driver: &Driver<Store>) -> State {
    driver.store().stored.borrow().as_ref().unwrap().status
}

/// Runs a `token` session's check up to `testing_connection`, as the edge does.
fn checked(driver: &Driver<Store>) {
    let _checking = block_on(driver.begin_check("prn_a", NOW)).unwrap();
    block_on(driver.advance(State::ChannelAuthenticated, NOW, "telegram")).unwrap();
    block_on(driver.advance(State::TestingConnection, NOW, "system")).unwrap();
}

#[test]
fn a_started_session_is_stored_with_its_first_transitions_and_cannot_start_twice() {
    let driver = started("token");
    assert_eq!(stored_status(&driver), State::AwaitingChannelAuth);
    assert_eq!(
        *driver.store().recorded.borrow(),
        [
            (State::ServicePrincipalAuth, None),
            (State::AwaitingChannelAuth, None)
        ]
    );
    let again = block_on(driver.start(session("token"))).unwrap_err();
    assert!(matches!(again, ApiError::Conflict { .. }));
    // A new driver over the same store (the object restarted) finds it too.
    let store = Store::default();
    store.stored.replace(Some(session("token")));
    let restarted = Driver::new(store);
    assert!(block_on(restarted.start(session("token"))).is_err());
    block_on(restarted.load()).unwrap();
    assert_eq!(restarted.snapshot().unwrap().id, "bss_1");
}

#[test]
fn a_session_that_was_never_started_is_not_found() {
    let driver = Driver::new(Store::default());
    block_on(driver.load()).unwrap();
    assert!(matches!(driver.snapshot(), Err(ApiError::NoSuch { .. })));
    assert!(matches!(
        block_on(driver.cancel("prn_a", NOW)),
        Err(ApiError::NoSuch { .. })
    ));
}

#[test]
fn a_completion_lands_with_what_it_made() {
    let driver = started("token");
    checked(&driver);
    block_on(driver.complete(Some(&made()), outcome(), NOW)).unwrap();
    let session = driver.snapshot().unwrap();
    assert_eq!(session.status, State::Completed);
    assert_eq!(session.outcome, Some(outcome()));
    assert_eq!(stored_status(&driver), State::Completed);
    assert_eq!(
        driver.store().recorded.borrow().last(),
        Some(&(State::Completed, Some(made())))
    );
}

#[test]
fn a_completion_that_cannot_be_saved_makes_nothing_and_fails_the_session_saying_why() {
    let cases = [
        (
            ApiError::Conflict {
                message: "UNIQUE".into(),
            },
            "the channel is already installed",
        ),
        (
            ApiError::Tenancy(TenancyError::OwnerRevoked),
            "the org or app profile was revoked; nothing was installed",
        ),
        (
            ApiError::Internal,
            "the installation could not be saved; start a new session",
        ),
    ];
    for (error, reason) in cases {
        let driver = started("token");
        checked(&driver);
        driver.store().fail_made.replace(Some(error));
        block_on(driver.complete(Some(&made()), outcome(), NOW)).unwrap();
        let session = driver.snapshot().unwrap();
        assert_eq!(session.status, State::Failed);
        assert_eq!(session.failure.as_deref(), Some(reason));
        assert_eq!(session.outcome, None, "no outcome for what was not made");
        assert_eq!(stored_status(&driver), State::Failed);
        let recorded = driver.store().recorded.borrow();
        assert!(recorded
            .iter()
            .all(|(to, made)| made.is_none() && *to != State::Completed));
    }
}

#[test]
fn a_transition_that_cannot_be_saved_is_not_kept() {
    let driver = started("token");
    driver.store().fail_next.replace(Some(ApiError::Internal));
    assert_eq!(
        block_on(driver.cancel("prn_a", NOW)),
        Err(ApiError::Internal)
    );
    assert_eq!(
        driver.snapshot().unwrap().status,
        State::AwaitingChannelAuth
    );
    // The next try is a transition from where the session really is.
    block_on(driver.cancel("prn_a", NOW)).unwrap();
    assert_eq!(stored_status(&driver), State::Cancelled);
}

#[test]
fn a_start_that_cannot_be_saved_leaves_no_session() {
    let driver = Driver::new(Store::default());
    driver.store().fail_next.replace(Some(ApiError::Internal));
    assert!(block_on(driver.start(session("token"))).is_err());
    assert!(driver.snapshot().is_err());
    block_on(driver.start(session("token"))).unwrap();
}

#[test]
fn one_check_at_a_time_and_no_cancel_during_it() {
    let driver = started("token");
    let checking = block_on(driver.begin_check("prn_a", NOW)).unwrap();
    assert!(matches!(
        block_on(driver.begin_check("prn_b", NOW)),
        Err(ApiError::Conflict { .. })
    ));
    assert!(matches!(
        block_on(driver.cancel("prn_a", NOW)),
        Err(ApiError::Conflict { .. })
    ));
    assert_eq!(
        block_on(driver.expire_if_overdue(NOW + 301)),
        Ok(Alarm::Busy)
    );
    drop(checking);
    block_on(driver.cancel("prn_a", NOW)).unwrap();
    assert_eq!(stored_status(&driver), State::Cancelled);
}

#[test]
fn a_check_is_refused_once_the_session_left_awaiting_the_channel() {
    let driver = started("token");
    block_on(driver.cancel("prn_a", NOW)).unwrap();
    assert!(matches!(
        block_on(driver.begin_check("prn_a", NOW)),
        Err(ApiError::Conflict { .. })
    ));
    // The refused check left the session free.
    assert_eq!(
        block_on(driver.expire_if_overdue(NOW + 301)),
        Ok(Alarm::Done)
    );
}

#[test]
fn an_overdue_session_expires_on_a_check_and_on_its_alarm() {
    let driver = started("token");
    let late = block_on(driver.begin_check("prn_a", NOW + 300)).err();
    assert_eq!(
        late,
        Some(ApiError::Conflict {
            message: "the session has expired".into()
        })
    );
    assert_eq!(stored_status(&driver), State::Expired);

    let driver = started("token");
    assert_eq!(
        block_on(driver.expire_if_overdue(NOW + 299)),
        Ok(Alarm::Done)
    );
    assert_eq!(stored_status(&driver), State::AwaitingChannelAuth);
    assert_eq!(
        block_on(driver.expire_if_overdue(NOW + 300)),
        Ok(Alarm::Done)
    );
    assert_eq!(stored_status(&driver), State::Expired);
    // An ended session's alarm changes nothing.
    let recorded = driver.store().recorded.borrow().len();
    assert_eq!(
        block_on(driver.expire_if_overdue(NOW + 900)),
        Ok(Alarm::Done)
    );
    assert_eq!(driver.store().recorded.borrow().len(), recorded);
}

#[test]
fn a_claim_completes_a_qr_session_without_making_anything() {
    let driver = started("qr");
    let claimed = Outcome {
        sender_id: Some("42".into()),
        ..outcome()
    };
    block_on(driver.claimed("telegram:42", claimed.clone(), NOW)).unwrap();
    let session = driver.snapshot().unwrap();
    assert_eq!(session.status, State::Completed);
    assert_eq!(session.outcome, Some(claimed));
    let recorded = driver.store().recorded.borrow();
    let after_start: Vec<State> = recorded.iter().skip(2).map(|(to, _)| *to).collect();
    assert_eq!(
        after_start,
        [
            State::ChannelAuthenticating,
            State::ChannelAuthenticated,
            State::TestingConnection,
            State::Completed
        ]
    );
    assert!(recorded.iter().all(|(_, made)| made.is_none()));
    assert_eq!(session.history[2].by, "telegram:42");
}

#[test]
fn a_claim_does_not_complete_another_method_or_an_ended_session() {
    let token = started("token");
    assert!(matches!(
        block_on(token.claimed("telegram:42", outcome(), NOW)),
        Err(ApiError::Conflict { .. })
    ));
    assert_eq!(stored_status(&token), State::AwaitingChannelAuth);
    let qr = started("qr");
    block_on(qr.cancel("prn_a", NOW)).unwrap();
    assert!(block_on(qr.claimed("telegram:42", outcome(), NOW)).is_err());
    assert_eq!(stored_status(&qr), State::Cancelled);
}
