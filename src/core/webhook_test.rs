use super::*;
use crate::core::ingress::{Conversation, ConversationType, Kind, Sender};
use crate::core::tenancy::Stage;
use serde_json::{json, Map};

const NOW: u64 = 1_700_000_000;

fn secret(name: &str, value: &str, created_at: u64, expires_at: Option<u64>) -> Secret {
    Secret {
        name: name.into(),
        value: value.into(),
        created_at,
        expires_at,
    }
}

fn profile(provider: Provider) -> Profile {
    Profile {
        id: "app_1".into(),
        provider,
        provider_app_id: "A1".into(),
        secrets: vec![secret("signing_secret", "profile-secret", 1, None)],
    }
}

fn binding(id: &str, selector: Selector, open: bool, allowlist: &[&str]) -> Binding {
    Binding {
        id: id.into(),
        agent_id: format!("agent_{id}"),
        selector,
        priority: 0,
        open,
        allowlist: allowlist.iter().map(|s| (*s).to_owned()).collect(),
        fallback_installation_id: None,
    }
}

fn installation(bindings: Vec<Binding>) -> Installation {
    Installation {
        id: "ins_1".into(),
        app_profile_id: "app_1".into(),
        org_id: "org_1".into(),
        tenant_key: "T1".into(),
        metadata: json!({}),
        secrets: vec![secret("secret_token", "installation-secret", 1, None)],
        bindings,
    }
}

fn open_binding() -> Vec<Binding> {
    vec![binding("bnd_all", Selector::default(), true, &[])]
}

fn event(text: &str) -> Event {
    Event {
        provider_event_id: "Ev1".into(),
        semantic_key: Some("T1:C1:1.0".into()),
        app_id: Some("A1".into()),
        tenant_keys: vec!["E1".into(), "T1".into()],
        team_id: Some("T1".into()),
        kind: Kind::Message,
        occurred_at: Some(NOW),
        sender: Some(Sender {
            id: "U1".into(),
            display_name: None,
            is_bot: false,
        }),
        conversation: Some(Conversation {
            id: "C1".into(),
            kind: ConversationType::Channel,
            thread_id: None,
        }),
        text: Some(text.into()),
        message_id: Some("1700000000.000100".into()),
        reply_context: Map::new(),
        raw: json!({}),
    }
}

fn flag(stage: Stage, canary: &[&str]) -> Flag {
    Flag {
        stage,
        canary_org_ids: canary.iter().map(|s| (*s).to_owned()).collect(),
    }
}

fn decide_with<'e>(
    installation: Option<&Installation>,
    flags: &Flags,
    event: &'e Event,
) -> Decision<'e> {
    let profile = profile(Provider::Slack);
    decide(
        &Facts {
            provider: Provider::Slack,
            profile: &profile,
            installation,
            flags,
            now: NOW,
        },
        event,
    )
}

// --- secrets -----------------------------------------------------------------------------------

#[test]
fn the_rotated_secret_comes_before_the_one_retiring_whatever_the_row_order() {
    // A rotation inserts the new value and gives the old one an end: the new one is current,
    // even when the rows come back oldest first or both were stored in the same second.
    for created in [(100, 200), (100, 100)] {
        let old = secret("oauth_client_id", "old", created.0, Some(NOW + 3600));
        let new = secret("oauth_client_id", "new", created.1, None);
        for rows in [
            vec![old.clone(), new.clone()],
            vec![new.clone(), old.clone()],
        ] {
            assert_eq!(
                valid_secrets(&rows, "oauth_client_id", NOW),
                vec!["new".to_owned(), "old".to_owned()]
            );
            assert_eq!(
                current_secret(&rows, "oauth_client_id", NOW).as_deref(),
                Some("new")
            );
        }
    }
}

#[test]
fn of_two_retiring_secrets_the_later_ending_is_newer() {
    let rows = vec![
        secret("s", "first", 1, Some(NOW + 10)),
        secret("s", "second", 2, Some(NOW + 20)),
    ];
    assert_eq!(valid_secrets(&rows, "s", NOW), vec!["second", "first"]);
}

#[test]
fn expired_and_other_secrets_are_not_valid() {
    let rows = vec![
        secret("s", "ended", 1, Some(NOW)),
        secret("other", "x", 1, None),
    ];
    assert!(valid_secrets(&rows, "s", NOW).is_empty());
    assert_eq!(current_secret(&rows, "s", NOW), None);
}

#[test]
fn requests_are_verified_with_the_secret_its_owner_holds() {
    let profile = Rc::new(Profile {
        secrets: vec![secret("secret_token", "profile-copy", 1, None)],
        ..profile(Provider::Telegram)
    });
    let installation = Rc::new(installation(Vec::new()));
    let by_installation = Target::Installation(installation.clone(), profile.clone());
    assert_eq!(
        verifying_secrets(Provider::Telegram.spec(), &by_installation, NOW),
        vec!["installation-secret"]
    );
    let slack = Target::Installation(installation, Rc::new(self::profile(Provider::Slack)));
    assert_eq!(
        verifying_secrets(Provider::Slack.spec(), &slack, NOW),
        vec!["profile-secret"]
    );
    let by_profile = Target::Profile(Rc::new(self::profile(Provider::Slack)));
    assert_eq!(
        verifying_secrets(Provider::Slack.spec(), &by_profile, NOW),
        vec!["profile-secret"]
    );
}

// --- rollout ------------------------------------------------------------------------------------

#[test]
fn a_provider_or_everything_switched_off_refuses_before_verification() {
    let off = flag(Stage::Off, &[]);
    let only_global: Flags = [("*".to_owned(), off.clone())].into();
    let only_slack: Flags = [("slack".to_owned(), off)].into();
    assert!(switched_off(&only_global, Provider::Slack));
    assert!(switched_off(&only_slack, Provider::Slack));
    assert!(!switched_off(&only_slack, Provider::Telegram));
    assert!(!switched_off(&Flags::new(), Provider::Slack));
    // A canary is decided per org, after the installation is known.
    let canary: Flags = [("slack".to_owned(), flag(Stage::Canary, &["org_9"]))].into();
    assert!(!switched_off(&canary, Provider::Slack));
}

#[test]
fn an_org_outside_the_canary_is_told_to_retry_and_one_inside_is_routed() {
    let installation = installation(open_binding());
    let event = event("hi");
    let outside: Flags = [("slack".to_owned(), flag(Stage::Canary, &["org_9"]))].into();
    assert_eq!(
        decide_with(Some(&installation), &outside, &event),
        Decision::NotYet
    );
    let inside: Flags = [("*".to_owned(), flag(Stage::Canary, &["org_1"]))].into();
    assert!(matches!(
        decide_with(Some(&installation), &inside, &event),
        Decision::Deliver(_)
    ));
}

// --- tenant -------------------------------------------------------------------------------------

#[test]
fn an_event_of_another_app_is_dropped_before_any_lookup() {
    let mut event = event("hi");
    event.app_id = Some("A2".into());
    assert_eq!(
        tenant_keys(&profile(Provider::Slack), &event),
        Err("app_id_mismatch")
    );
}

#[test]
fn an_event_of_this_app_or_without_one_is_looked_up_by_its_tenant_keys() {
    let mut event = event("hi");
    assert_eq!(
        tenant_keys(&profile(Provider::Slack), &event),
        Ok(&["E1".to_owned(), "T1".to_owned()][..])
    );
    event.app_id = None;
    assert!(tenant_keys(&profile(Provider::Slack), &event).is_ok());
}

#[test]
fn an_event_without_an_installation_is_an_unknown_tenant() {
    assert_eq!(
        decide_with(None, &Flags::new(), &event("hi")),
        Decision::Drop("unknown_tenant")
    );
}

// --- the event ----------------------------------------------------------------------------------

#[test]
fn a_bot_is_dropped_even_when_it_claims() {
    let installation = installation(open_binding());
    let mut event = event("install:abc");
    if let Some(sender) = event.sender.as_mut() {
        sender.is_bot = true;
    }
    assert_eq!(
        decide_with(Some(&installation), &Flags::new(), &event),
        Decision::Drop("bot_sender")
    );
}

#[test]
fn the_channels_own_account_is_dropped_like_a_bot() {
    let mut installation = installation(open_binding());
    let event = event("an answer the agent wrote");
    let sender = event.sender.as_ref().unwrap().id.clone();
    installation.metadata = json!({SELF_ID: sender});
    assert_eq!(
        decide_with(Some(&installation), &Flags::new(), &event),
        Decision::Drop("own_message")
    );
    installation.metadata = json!({SELF_ID: "someone-else"});
    assert!(!matches!(
        decide_with(Some(&installation), &Flags::new(), &event),
        Decision::Drop(_)
    ));
}

#[test]
fn an_unsigned_event_older_than_the_dedupe_window_is_dropped() {
    let whatsapp = profile(Provider::Whatsapp);
    let installation = installation(open_binding());
    let window = Provider::Whatsapp.spec().dedupe_window_seconds;
    let mut event = event("hi");
    event.occurred_at = Some(NOW - window - 1);
    let facts = Facts {
        provider: Provider::Whatsapp,
        profile: &whatsapp,
        installation: Some(&installation),
        flags: &Flags::new(),
        now: NOW,
    };
    assert_eq!(
        decide(&facts, &event),
        Decision::Drop("older_than_dedupe_window")
    );
    event.occurred_at = Some(NOW - window + 1);
    assert!(matches!(decide(&facts, &event), Decision::Deliver(_)));
    // Slack signs a timestamp (held to the replay window): no such drop.
    event.occurred_at = Some(NOW - window - 1);
    assert!(matches!(
        decide_with(Some(&installation), &Flags::new(), &event),
        Decision::Deliver(_)
    ));
}

#[test]
fn a_claim_is_decided_before_the_sender_policy() {
    // Nobody is allowed, and there is no binding for this conversation: still a claim.
    let strict = vec![binding(
        "bnd_c9",
        Selector {
            conversation: Some("C9".into()),
            ..Selector::default()
        },
        false,
        &[],
    )];
    for bindings in [Vec::new(), strict] {
        let installation = installation(bindings);
        let event = event("  install:tok_123  ");
        match decide_with(Some(&installation), &Flags::new(), &event) {
            Decision::Claim { token, keys } => {
                assert_eq!(token, "tok_123");
                assert_eq!(keys.conversation, Some("C1"));
                assert_eq!(keys.peer, Some("U1"));
                assert_eq!(keys.team, Some("T1"));
            }
            other => panic!("expected a claim, got {other:?}"),
        }
    }
}

#[test]
fn an_event_no_binding_matches_is_dropped() {
    let only_c9 = vec![binding(
        "bnd_c9",
        Selector {
            conversation: Some("C9".into()),
            ..Selector::default()
        },
        true,
        &[],
    )];
    let installation = installation(only_c9);
    assert_eq!(
        decide_with(Some(&installation), &Flags::new(), &event("hi")),
        Decision::Drop("no_binding")
    );
}

#[test]
fn the_sender_policy_of_the_resolved_binding_decides() {
    let event = event("hi");
    let not_listed = installation(vec![binding("b", Selector::default(), false, &["U2"])]);
    assert_eq!(
        decide_with(Some(&not_listed), &Flags::new(), &event),
        Decision::Drop("sender_not_allowed")
    );
    let listed = installation(vec![binding("b", Selector::default(), false, &["U1"])]);
    assert!(matches!(
        decide_with(Some(&listed), &Flags::new(), &event),
        Decision::Deliver(_)
    ));
    let mut anonymous = event.clone();
    anonymous.sender = None;
    assert_eq!(
        decide_with(Some(&not_listed), &Flags::new(), &anonymous),
        Decision::Drop("sender_not_allowed")
    );
    let open = installation(open_binding());
    assert!(matches!(
        decide_with(Some(&open), &Flags::new(), &anonymous),
        Decision::Deliver(_)
    ));
}

#[test]
fn a_routed_event_goes_to_the_most_specific_binding_with_its_dedupe_keys() {
    let specific = binding(
        "bnd_c1",
        Selector {
            conversation: Some("C1".into()),
            ..Selector::default()
        },
        true,
        &[],
    );
    let installation = installation(vec![
        binding("bnd_all", Selector::default(), true, &[]),
        specific,
    ]);
    let event = event("hi");
    let Decision::Deliver(delivery) = decide_with(Some(&installation), &Flags::new(), &event)
    else {
        panic!("expected a delivery");
    };
    let envelope = &delivery.envelope;
    assert_eq!(envelope.org_id, "org_1");
    assert_eq!(envelope.app_profile_id, "app_1");
    assert_eq!(envelope.installation_id, "ins_1");
    assert_eq!(envelope.binding_id, "bnd_c1");
    assert_eq!(envelope.route.agent, "agent_bnd_c1");
    assert_eq!(envelope.received_at, NOW);
    assert_eq!(
        delivery.keys,
        vec![
            "slack:ins_1:event:Ev1".to_owned(),
            "slack:ins_1:content:T1:C1:1.0".to_owned()
        ]
    );
}

#[test]
fn an_event_without_a_semantic_key_has_only_its_event_key() {
    let installation = installation(open_binding());
    let mut event = event("hi");
    event.semantic_key = None;
    let Decision::Deliver(delivery) = decide_with(Some(&installation), &Flags::new(), &event)
    else {
        panic!("expected a delivery");
    };
    assert_eq!(delivery.keys, vec!["slack:ins_1:event:Ev1".to_owned()]);
}
