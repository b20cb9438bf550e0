use super::*;

const RETENTION: Retention = Retention {
    log_seconds: 604_800,
    dead_letter_seconds: 604_800,
    replay_seconds: 86_400,
};

#[test]
fn each_outcome_has_its_status_attempt_and_content_rule() {
    let delivered = Outcome::Delivered {
        status: 204,
        latency_ms: 12,
    };
    let failed = Outcome::Failed {
        status: 500,
        reason: "runtime_refused",
        latency_ms: 30,
    };
    assert_eq!(delivered.status(), Status::Delivered);
    assert_eq!(delivered.attempt(), Some((204, None, 12)));
    assert_eq!(delivered.keep(&RETENTION), Keep::For(86_400));
    assert_eq!(failed.status(), Status::Retrying);
    assert_eq!(failed.attempt(), Some((500, Some("runtime_refused"), 30)));
    assert_eq!(failed.reason(), Some("runtime_refused"));
    assert_eq!(failed.keep(&RETENTION), Keep::Unchanged);
    assert_eq!(Outcome::Held.status(), Status::Held);
    assert_eq!(Outcome::Held.attempt(), None);
    assert_eq!(Outcome::Held.keep(&RETENTION), Keep::Unchanged);
    let dropped = Outcome::Dropped("installation_revoked");
    assert_eq!(dropped.status(), Status::Dropped);
    assert_eq!(dropped.reason(), Some("installation_revoked"));
    assert_eq!(dropped.keep(&RETENTION), Keep::Clear);
    assert_eq!(Outcome::DeadLettered.status(), Status::DeadLettered);
    assert_eq!(Outcome::DeadLettered.keep(&RETENTION), Keep::For(604_800));
}

#[test]
fn a_zero_retention_keeps_no_content() {
    let none = Retention {
        dead_letter_seconds: 0,
        replay_seconds: 0,
        ..RETENTION
    };
    let delivered = Outcome::Delivered {
        status: 200,
        latency_ms: 1,
    };
    assert_eq!(delivered.keep(&none), Keep::Clear);
    assert_eq!(Outcome::DeadLettered.keep(&none), Keep::Clear);
}

#[test]
fn only_a_first_delivery_observes_latency() {
    let delivered = Outcome::Delivered {
        status: 200,
        latency_ms: 5,
    };
    let first = delivered.increments(Provider::Slack, None, Some(1_500));
    assert_eq!(first.len(), 3, "{first:?}");
    assert!(first.contains(&Increment::new(
        Metric::Deliveries,
        Provider::Slack,
        "delivered",
        1
    )));
    assert!(first.contains(&Increment::new(
        Metric::DeliveryLatency,
        Provider::Slack,
        "2.5",
        1
    )));
    let replayed = delivered.increments(Provider::Slack, Some(Again::Replay), Some(1_500));
    assert_eq!(replayed.len(), 1);
    let dropped = Outcome::Dropped("binding_revoked").increments(Provider::Slack, None, None);
    assert_eq!(
        dropped,
        [Increment::new(
            Metric::Dropped,
            Provider::Slack,
            "binding_revoked",
            1
        )]
    );
    for (outcome, label) in [
        (Outcome::Held, "held"),
        (Outcome::DeadLettered, "dead_lettered"),
        (
            Outcome::Failed {
                status: 0,
                reason: "unreachable",
                latency_ms: 1,
            },
            "failed",
        ),
    ] {
        assert_eq!(
            outcome.increments(Provider::Telegram, None, Some(1)),
            [Increment::new(
                Metric::Deliveries,
                Provider::Telegram,
                label,
                1
            )]
        );
    }
}

#[test]
fn retention_comes_from_the_vars_or_defaults() {
    let defaults = Retention::from_vars(|_| None).unwrap();
    assert_eq!(defaults, RETENTION);
    assert_eq!(Retention::default(), RETENTION);
    let set =
        Retention::from_vars(|name| (name == "DELIVERY_REPLAY_SECONDS").then(|| "0".to_owned()))
            .unwrap();
    assert_eq!(set.replay_seconds, 0);
    let error = Retention::from_vars(|name| {
        (name == "DEAD_LETTER_RETENTION_SECONDS").then(|| "a week".to_owned())
    })
    .unwrap_err();
    assert!(error.contains("DEAD_LETTER_RETENTION_SECONDS"), "{error}");
}

#[test]
fn only_dead_letters_are_re_driven_and_delivered_envelopes_replayed_while_kept() {
    assert_eq!(check_resend("dead_lettered", true, Again::Redrive), Ok(()));
    assert_eq!(check_resend("delivered", true, Again::Replay), Ok(()));
    assert_eq!(
        check_resend("delivered", true, Again::Redrive),
        Err(ResendError::NotDeadLettered("delivered"))
    );
    assert_eq!(
        check_resend("retrying", true, Again::Replay),
        Err(ResendError::NotDelivered("retrying"))
    );
    assert_eq!(
        check_resend("something", true, Again::Replay),
        Err(ResendError::NotDelivered("unknown"))
    );
    assert_eq!(
        check_resend("dead_lettered", false, Again::Redrive),
        Err(ResendError::ContentGone)
    );
    let error: ApiError = ResendError::ContentGone.into();
    assert_eq!(error.status(), 409);
}

#[test]
fn the_query_takes_its_filters_and_refuses_others() {
    let query = LogQuery::parse(
        LogQuery::DELIVERIES,
        [
            ("status", "dead_lettered"),
            ("provider", "telegram"),
            ("provider_event_id", "42"),
            ("since", "100"),
            ("until", "200"),
            ("until", "150"),
            ("cursor", "7"),
            ("limit", "10"),
        ],
    )
    .unwrap();
    assert_eq!(query.limit, 10);
    assert_eq!(query.cursor, Some(7));
    assert_eq!((query.since, query.until), (Some(100), Some(150)));
    assert_eq!(query.equals.len(), 3);
    for bad in [
        ("status", "lost"),
        ("provider", "myspace"),
        ("since", "yesterday"),
        ("text", "hello"),
        ("cursor", "abc"),
    ] {
        let error = LogQuery::parse(LogQuery::DELIVERIES, [bad]).unwrap_err();
        assert_eq!(error.status(), 400, "{bad:?}");
    }
}

#[test]
fn the_message_log_takes_message_statuses() {
    let query = LogQuery::parse(
        LogQuery::MESSAGES,
        [("status", "sent"), ("conversation_id", "C1")],
    )
    .unwrap();
    assert_eq!(query.equals.len(), 2);
    let error = LogQuery::parse(LogQuery::MESSAGES, [("status", "held")]).unwrap_err();
    assert_eq!(error.status(), 400);
    let error = LogQuery::parse(LogQuery::DELIVERIES, [("status", "sent")]).unwrap_err();
    assert_eq!(error.status(), 400);
}

#[test]
fn dead_letters_are_the_dead_lettered_deliveries() {
    let query = LogQuery::parse(LogQuery::DELIVERIES, [("provider", "slack")])
        .unwrap()
        .dead_letters()
        .unwrap();
    assert!(query
        .equals
        .contains(&("status", "dead_lettered".to_owned())));
    let other = LogQuery::parse(LogQuery::DELIVERIES, [("status", "delivered")]).unwrap();
    assert_eq!(other.dead_letters().unwrap_err().status(), 400);
}

#[test]
fn every_status_has_its_name() {
    let names: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(
        names,
        [
            "queued",
            "held",
            "retrying",
            "delivered",
            "dead_lettered",
            "dropped"
        ]
    );
}
