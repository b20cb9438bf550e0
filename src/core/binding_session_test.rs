use super::*;
use serde_json::json;

const NOW: u64 = 1_800_000_000;

fn request(extra: serde_json::Value) -> NewSession {
    let mut body = json!({"provider": "telegram", "method": "token", "org_id": "org_1",
        "app_profile_id": "app_1", "binding": {"agent_id": "agent_x"}});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    serde_json::from_value(body).unwrap()
}

fn session() -> Session {
    Session::start("bss_1".into(), request(json!({})), "prn_a", NOW, 300)
}

#[test]
fn the_transition_table_allows_exactly_the_happy_path_and_the_endings() {
    use State::*;
    let happy = [
        (Pending, ServicePrincipalAuth),
        (ServicePrincipalAuth, AwaitingChannelAuth),
        (AwaitingChannelAuth, ChannelAuthenticating),
        (ChannelAuthenticating, ChannelAuthenticated),
        (ChannelAuthenticated, TestingConnection),
        (TestingConnection, Completed),
    ];
    for from in State::ALL {
        for to in State::ALL {
            let expected = if from.has_ended() {
                false
            } else {
                happy.contains(&(from, to)) || matches!(to, Failed | Expired | Cancelled)
            };
            assert_eq!(from.can_become(to), expected, "{from:?} → {to:?}");
        }
    }
}

#[test]
fn names_round_trip() {
    for state in State::ALL {
        assert_eq!(State::parse(state.as_str()), Some(state));
        assert_eq!(serde_json::to_value(state).unwrap(), json!(state.as_str()));
    }
    assert_eq!(State::parse("done"), None);
}

#[test]
fn a_new_session_awaits_the_channel_with_its_history() {
    let session = session();
    assert_eq!(session.status, State::AwaitingChannelAuth);
    assert_eq!(session.expires_at, NOW + 300);
    let steps: Vec<(State, State)> = session.history.iter().map(|t| (t.from, t.to)).collect();
    assert_eq!(
        steps,
        [
            (State::Pending, State::ServicePrincipalAuth),
            (State::ServicePrincipalAuth, State::AwaitingChannelAuth)
        ]
    );
    assert!(session.history.iter().all(|t| t.by == "prn_a"));
}

#[test]
fn an_illegal_transition_is_a_conflict_and_changes_nothing() {
    let mut session = session();
    let before = session.clone();
    let error = session
        .advance(State::Completed, NOW + 1, "prn_a")
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "the session is awaiting_channel_auth and cannot become completed"
    );
    assert_eq!(ApiError::from(error).status(), 409);
    assert_eq!(session, before);
}

#[test]
fn an_ended_session_stays_ended() {
    let mut session = session();
    session.advance(State::Cancelled, NOW + 1, "prn_a").unwrap();
    let error = session
        .advance(State::ChannelAuthenticating, NOW + 2, "prn_a")
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "the session is cancelled and cannot become channel_authenticating; it has ended: start \
         a new session"
    );
    assert!(session
        .advance(State::Expired, NOW + 400, "system")
        .is_err());
    assert!(session.fail("late", NOW + 2, "system").is_err());
    assert_eq!(session.failure, None);
    assert!(!session.is_overdue(NOW + 10_000));
}

#[test]
fn failing_records_the_reason() {
    let mut session = session();
    session
        .advance(State::ChannelAuthenticating, NOW + 1, "prn_a")
        .unwrap();
    session
        .fail(
            "Telegram refused the bot token: Unauthorized",
            NOW + 2,
            "telegram",
        )
        .unwrap();
    assert_eq!(session.status, State::Failed);
    assert_eq!(
        session.failure.as_deref(),
        Some("Telegram refused the bot token: Unauthorized")
    );
}

#[test]
fn a_session_is_overdue_from_its_expiry() {
    let session = session();
    assert!(!session.is_overdue(NOW + 299));
    assert!(session.is_overdue(NOW + 300));
}

#[test]
fn requests_are_validated() {
    assert_eq!(
        request(json!({})).validate().unwrap(),
        DEFAULT_TIMEOUT_SECONDS
    );
    assert_eq!(
        request(json!({"timeout_seconds": 3600}))
            .validate()
            .unwrap(),
        3600
    );
    for bad in [
        json!({"timeout_seconds": 0}),
        json!({"timeout_seconds": 3601}),
        json!({"method": "oauth"}),
        json!({"provider": "discord"}),
        json!({"org_id": " "}),
        json!({"binding": {"agent_id": ""}}),
    ] {
        let error = request(bad.clone()).validate().unwrap_err();
        assert_eq!(error.status(), 400, "{bad}");
    }
    assert!(request(json!({"method": "qr", "subject": "u1"}))
        .validate()
        .is_ok());
    for bad in [
        json!({"method": "qr"}),
        json!({"method": "qr", "subject": " "}),
        json!({"subject": "u1"}),
        json!({"provider": "slack", "method": "token"}),
        json!({"provider": "whatsapp", "method": "oauth"}),
    ] {
        let error = request(bad.clone()).validate().unwrap_err();
        assert_eq!(error.status(), 400, "{bad}");
    }
    let discord = request(json!({"provider": "discord"}))
        .validate()
        .unwrap_err();
    assert_eq!(
        discord.to_string(),
        "bad request: method token is not available for discord; available: slack: oauth; \
         telegram: token, \
         qr; whatsapp: token, qr; line: token, qr; messenger: token; instagram: token; \
         linear: token; twilio: token (no \
         sessions for discord, standard, github, teams, google_chat, email: create their installations with POST \
         /v1/installations)"
    );
    let unknown = serde_json::from_value::<NewSession>(json!({"provider": "telegram",
        "method": "token", "org_id": "o", "app_profile_id": "a",
        "binding": {"agent_id": "x", "selectr": {}}}));
    assert!(unknown.is_err(), "a misspelt binding field is refused");
}

#[test]
fn credentials_are_parsed_per_provider() {
    let telegram = Credentials::parse(Provider::Telegram, br#"{"bot_token":"123:abc"}"#).unwrap();
    assert_eq!(
        telegram,
        Credentials::Telegram {
            bot_token: Secret("123:abc".into())
        }
    );
    assert!(!format!("{telegram:?}").contains("123:abc"), "redacted");
    let whatsapp = Credentials::parse(
        Provider::Whatsapp,
        br#"{"phone_number_id":"1","waba_id":"2","access_token":"t"}"#,
    )
    .unwrap();
    assert!(matches!(whatsapp, Credentials::Whatsapp { .. }));
    for (provider, body) in [
        (Provider::Telegram, &br#"{"bot_token":""}"#[..]),
        (Provider::Telegram, br#"{"bot_token":"x","extra":1}"#),
        (Provider::Telegram, br#"{}"#),
        (
            Provider::Whatsapp,
            br#"{"phone_number_id":"1","waba_id":" ","access_token":"t"}"#,
        ),
        (Provider::Slack, br#"{}"#),
    ] {
        let error = Credentials::parse(provider, body).unwrap_err();
        assert_eq!(error.status(), 400, "{}", String::from_utf8_lossy(body));
    }
}

#[test]
fn the_prompt_says_where_to_send_the_credential() {
    let prompt = auth_prompt(&session(), "https://edge.example");
    assert_eq!(prompt["method"], "token");
    assert_eq!(
        prompt["data"]["credentials_url"],
        "https://edge.example/v1/binding-sessions/bss_1/credentials"
    );
    assert_eq!(prompt["data"]["fields"], json!(["bot_token"]));
    assert!(prompt["instructions"][0]
        .as_str()
        .unwrap()
        .contains("@BotFather"));
    let mut whatsapp = session();
    whatsapp.provider = Provider::Whatsapp;
    assert_eq!(
        auth_prompt(&whatsapp, "https://e")["data"]["fields"],
        json!(["phone_number_id", "waba_id", "access_token"])
    );
}

#[test]
fn a_qr_prompt_carries_the_deep_link_and_its_code() {
    let mut qr = Session::start(
        "bss_2".into(),
        request(json!({"method": "qr", "provider": "whatsapp", "subject": "u1"})),
        "prn_a",
        NOW,
        300,
    );
    qr.deep_link = Some("https://wa.me/15550001111?text=install:TOKEN".into());
    let prompt = auth_prompt(&qr, "https://e");
    assert_eq!(prompt["method"], "qr");
    assert_eq!(
        prompt["data"]["deep_link"],
        "https://wa.me/15550001111?text=install:TOKEN"
    );
    assert!(prompt["data"]["qr_svg"]
        .as_str()
        .unwrap()
        .starts_with("<svg"));
    assert!(prompt["message"].as_str().unwrap().contains("WhatsApp"));
}

#[test]
fn an_oauth_session_prompts_with_the_authorize_url_and_its_state() {
    let oauth = request(json!({"provider": "slack", "method": "oauth"}));
    assert!(oauth.validate().is_ok());
    let state = oauth_state("bss_9", "123.abc");
    assert_eq!(parse_oauth_state(&state), Some(("bss_9", "123.abc")));
    for bad in ["", "bss_9", ".x", "bss_9."] {
        assert_eq!(parse_oauth_state(bad), None, "{bad}");
    }
    let url = slack_authorize_url(
        "https://slack.com/oauth/v2/authorize",
        "1.2",
        "https://edge.example/oauth/slack/callback",
        &state,
    );
    assert!(url.starts_with("https://slack.com/oauth/v2/authorize?client_id=1.2&scope="));
    assert!(url.contains("redirect_uri=https%3A%2F%2Fedge.example%2Foauth%2Fslack%2Fcallback"));
    assert!(url.ends_with("&state=bss_9.123.abc"));
    let mut session = Session::start("bss_9".into(), oauth, "prn_a", NOW, 300);
    session.authorize_url = Some(url.clone());
    let prompt = auth_prompt(&session, "https://edge.example");
    assert_eq!(prompt["method"], "oauth");
    assert_eq!(prompt["data"]["authorize_url"], url);
}

fn qr_session() -> Session {
    let mut qr = Session::start(
        "bss_3".into(),
        request(json!({"method": "qr", "subject": "u1"})),
        "prn_a",
        NOW,
        300,
    );
    qr.deep_link = Some("https://t.me/acme_bot?start=TOKEN".into());
    qr
}

#[test]
fn a_writers_view_carries_the_live_capabilities() {
    let view = view(&qr_session(), "https://e", Some("CAP")).unwrap();
    assert_eq!(view["page_url"], "https://e/bind/bss_3?t=CAP");
    assert_eq!(view["deep_link"], "https://t.me/acme_bot?start=TOKEN");
    assert_eq!(
        view["auth_prompt"]["data"]["deep_link"],
        "https://t.me/acme_bot?start=TOKEN"
    );
    assert!(view["auth_prompt"]["data"]["qr_svg"].is_string());
    assert_eq!(view["status_url"], "https://e/v1/binding-sessions/bss_3");
    assert_eq!(
        view["events_url"],
        "https://e/v1/binding-sessions/bss_3/events"
    );
}

#[test]
fn a_readers_view_carries_no_capability() {
    let qr = view(&qr_session(), "https://e", None).unwrap();
    for pointer in [
        "/page_url",
        "/deep_link",
        "/auth_prompt/data/deep_link",
        "/auth_prompt/data/qr_svg",
    ] {
        assert_eq!(qr.pointer(pointer), Some(&json!(null)), "{pointer}");
    }
    assert!(!qr.to_string().contains("TOKEN"));
    assert_eq!(qr["status"], "awaiting_channel_auth", "the rest is shown");

    let mut oauth = Session::start(
        "bss_4".into(),
        request(json!({"provider": "slack", "method": "oauth"})),
        "prn_a",
        NOW,
        300,
    );
    oauth.authorize_url = Some("https://slack.example/authorize?state=bss_4.SIGNED".into());
    let oauth = view(&oauth, "https://e", None).unwrap();
    assert_eq!(oauth["authorize_url"], json!(null));
    assert_eq!(oauth["auth_prompt"]["data"]["authorize_url"], json!(null));
    assert!(!oauth.to_string().contains("SIGNED"));
}

#[test]
fn a_channel_is_named_as_people_know_it_with_the_providers_id() {
    let metadata = json!({"bot_username": "acme_bot", "team_name": "Acme",
        "display_phone_number": "+1 555 0100"});
    let name = |provider| channel_name(provider, "7000000001", &metadata);
    assert_eq!(name(Provider::Telegram), "acme_bot (7000000001)");
    assert_eq!(name(Provider::Slack), "Acme (7000000001)");
    assert_eq!(name(Provider::Whatsapp), "+1 555 0100 (7000000001)");
    assert_eq!(name(Provider::Discord), "7000000001");
    assert_eq!(
        channel_name(Provider::Telegram, "7000000001", &json!({})),
        "7000000001"
    );
}

#[test]
fn authenticating_records_the_channel_with_the_transition() {
    let mut session = session();
    session
        .advance(State::ChannelAuthenticating, NOW + 1, "prn_a")
        .unwrap();
    session
        .authenticated("acme_bot (7000000001)".into(), NOW + 2, "telegram")
        .unwrap();
    assert_eq!(session.status, State::ChannelAuthenticated);
    assert_eq!(session.channel.as_deref(), Some("acme_bot (7000000001)"));
    let mut ended = session.clone();
    ended.fail("gone", NOW + 3, "system").unwrap();
    assert!(ended
        .authenticated("other".into(), NOW + 4, "telegram")
        .is_err());
    assert_eq!(ended.channel.as_deref(), Some("acme_bot (7000000001)"));
}
