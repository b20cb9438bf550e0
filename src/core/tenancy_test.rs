use super::*;

#[test]
fn providers_round_trip_and_unknown_ones_are_refused() {
    for provider in Provider::ALL {
        assert_eq!(Provider::parse(provider.as_str()), Ok(provider));
    }
    assert_eq!(
        Provider::parse("myspace"),
        Err(TenancyError::UnknownProvider {
            provider: "myspace".into()
        })
    );
}

#[test]
fn profile_owner_rules() {
    assert_eq!(
        check_profile_owner(ProfileKind::Byoa, Some("org_a")),
        Ok(())
    );
    assert_eq!(check_profile_owner(ProfileKind::Platform, None), Ok(()));
    assert_eq!(
        check_profile_owner(ProfileKind::Byoa, None),
        Err(TenancyError::ByoaNeedsOrg)
    );
    assert_eq!(
        check_profile_owner(ProfileKind::Platform, Some("org_a")),
        Err(TenancyError::PlatformHasNoOrg)
    );
}

#[test]
fn an_installation_is_only_valid_under_its_own_profiles_org() {
    assert_eq!(
        check_installation_org(ProfileKind::Byoa, Some("org_a"), "org_a"),
        Ok(())
    );
    assert_eq!(
        check_installation_org(ProfileKind::Byoa, Some("org_a"), "org_b"),
        Err(TenancyError::InstallationOrgMismatch {
            owner: "org_a".into()
        })
    );
    // Platform profiles are installable by any org.
    assert_eq!(
        check_installation_org(ProfileKind::Platform, None, "org_b"),
        Ok(())
    );
}

#[test]
fn secret_names_are_checked_per_provider_and_owner() {
    let slack = [("signing_secret", "s"), ("oauth_client_secret", "c")];
    assert_eq!(
        check_secret_names(Provider::Slack, SecretOwner::Profile, slack, true),
        Ok(())
    );
    assert_eq!(
        check_secret_names(
            Provider::Slack,
            SecretOwner::Profile,
            [("bot_token", "x")],
            false
        ),
        Err(TenancyError::UnknownSecret {
            name: "bot_token".into(),
            provider: "slack",
            owner: "app profile",
            allowed: "signing_secret, oauth_client_id, oauth_client_secret".into(),
        })
    );
    assert_eq!(
        check_secret_names(
            Provider::Telegram,
            SecretOwner::Installation,
            [("bot_token", "1:x")],
            true
        ),
        Err(TenancyError::MissingSecret {
            name: "secret_token",
            provider: "telegram",
            owner: "installation",
        })
    );
    // Rotation gives only what changes: nothing is required.
    assert_eq!(
        check_secret_names(
            Provider::Telegram,
            SecretOwner::Installation,
            [("bot_token", "1:x")],
            false
        ),
        Ok(())
    );
    assert_eq!(
        check_secret_names(
            Provider::Whatsapp,
            SecretOwner::Profile,
            [("app_secret", ""), ("verify_token", "v")],
            true
        ),
        Err(TenancyError::EmptySecret {
            name: "app_secret".into()
        })
    );
}

fn target(provider: Provider, kind: ProfileKind, active: bool) -> Option<FallbackTarget> {
    Some(FallbackTarget {
        provider,
        kind,
        active,
        same_org: true,
    })
}

#[test]
fn a_byoa_installation_never_falls_back_to_platform_credentials() {
    assert_eq!(
        check_fallback(
            ProfileKind::Byoa,
            Provider::Slack,
            target(Provider::Slack, ProfileKind::Platform, true)
        ),
        Err(TenancyError::ByoaNeverFallsBack)
    );
    assert_eq!(
        check_fallback(ProfileKind::Byoa, Provider::Slack, None),
        Ok(())
    );
}

#[test]
fn a_fallback_must_be_an_active_platform_installation_of_the_same_provider() {
    let own = (ProfileKind::Platform, Provider::Slack);
    assert_eq!(
        check_fallback(
            own.0,
            own.1,
            target(Provider::Slack, ProfileKind::Platform, true)
        ),
        Ok(())
    );
    for bad in [
        target(Provider::Slack, ProfileKind::Byoa, true),
        target(Provider::Discord, ProfileKind::Platform, true),
        target(Provider::Slack, ProfileKind::Platform, false),
        target(Provider::Slack, ProfileKind::Platform, true).map(|other_org| FallbackTarget {
            same_org: false,
            ..other_org
        }),
    ] {
        assert_eq!(
            check_fallback(own.0, own.1, bad),
            Err(TenancyError::BadFallback),
            "{bad:?}"
        );
    }
}

#[test]
fn values_that_reach_provider_urls_have_the_providers_form() {
    for good in [
        "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11",
        "7000000001:dev_token",
    ] {
        assert_eq!(
            check_form(Provider::Telegram, "bot_token", good),
            Ok(()),
            "{good}"
        );
    }
    for bad in [
        "123:abc/../../setWebhook?url=evil",
        "abc:def",
        "123456",
        "123456:",
        "123:a b",
        "123:a%2F",
        "123456789012345678901:x",
    ] {
        assert_eq!(
            check_form(Provider::Telegram, "bot_token", bad),
            Err(TenancyError::MalformedValue {
                field: "bot_token".into(),
                expected: "<bot id>:<secret>, as @BotFather gives it (digits, a colon, letters, digits, _ and -)"
            }),
            "{bad}"
        );
    }
    assert_eq!(
        check_form(Provider::Whatsapp, "phone_number_id", "110000000000001"),
        Ok(())
    );
    for bad in ["", "12/34", "123?fields=x", "1e5", &"1".repeat(33)] {
        assert!(
            check_form(Provider::Whatsapp, "waba_id", bad).is_err(),
            "{bad}"
        );
    }
    assert_eq!(
        check_form(Provider::Slack, "bot_token", "xoxb-anything/at all"),
        Ok(())
    );
    assert_eq!(
        check_secret_names(
            Provider::Telegram,
            SecretOwner::Installation,
            [("bot_token", "not a token"), ("secret_token", "s")],
            true
        )
        .map_err(|e| e.to_string()),
        Err("bot_token is not valid: expected <bot id>:<secret>, as @BotFather gives it (digits, a colon, letters, digits, _ and -)".into())
    );
}

#[test]
fn credentials_come_from_the_installation_or_an_explicit_fallback_only() {
    assert_eq!(
        credential_source("ins_a", true, Some("ins_p"), "bot_token"),
        Ok(CredentialSource::Own("ins_a".into()))
    );
    assert_eq!(
        credential_source("ins_a", false, Some("ins_p"), "bot_token"),
        Ok(CredentialSource::PlatformFallback("ins_p".into()))
    );
    assert_eq!(
        credential_source("ins_a", false, None, "bot_token"),
        Err(TenancyError::NoCredential {
            installation_id: "ins_a".into(),
            name: "bot_token".into()
        })
    );
}

struct Binding {
    id: &'static str,
    selector: Selector,
    priority: i64,
}

impl Candidate for Binding {
    fn id(&self) -> &str {
        self.id
    }
    fn selector(&self) -> &Selector {
        &self.selector
    }
    fn priority(&self) -> i64 {
        self.priority
    }
}

fn binding(id: &'static str, conversation: &str, peer: &str, team: &str, priority: i64) -> Binding {
    let set = |value: &str| (!value.is_empty()).then(|| value.to_owned());
    Binding {
        id,
        selector: Selector {
            conversation: set(conversation),
            peer: set(peer),
            team: set(team),
        },
        priority,
    }
}

#[test]
fn binding_resolution_table() {
    let bindings = [
        binding("b_wild", "", "", "", 0),
        binding("b_team", "", "", "T1", 0),
        binding("b_chan", "C1", "", "", 0),
        binding("b_chan_team", "C1", "", "T1", 0),
        binding("b_peer", "", "U1", "", 0),
        binding("b_chan_hi", "C2", "", "", 5),
        binding("b_chan_lo", "C2", "", "", 1),
        binding("b_tie_z", "C3", "", "", 0),
        binding("b_tie_a", "C3", "", "", 0),
    ];
    let route = |conversation, peer, team| RouteKeys {
        conversation,
        peer,
        team,
    };
    let table: &[(RouteKeys, Option<&str>)] = &[
        // Nothing specific matches: the wildcard.
        (route(Some("C9"), Some("U9"), Some("T9")), Some("b_wild")),
        // Team only.
        (route(Some("C9"), Some("U9"), Some("T1")), Some("b_team")),
        // Conversation beats team; conversation + team beats conversation alone.
        (route(Some("C1"), Some("U9"), Some("T9")), Some("b_chan")),
        (
            route(Some("C1"), Some("U9"), Some("T1")),
            Some("b_chan_team"),
        ),
        // A peer selector outranks any conversation/team combination.
        (route(Some("C1"), Some("U1"), Some("T1")), Some("b_peer")),
        // Equally specific: higher priority wins.
        (route(Some("C2"), None, None), Some("b_chan_hi")),
        // Equally specific and equal priority: lowest id wins.
        (route(Some("C3"), None, None), Some("b_tie_a")),
    ];
    for (keys, expected) in table {
        assert_eq!(
            resolve_binding(&bindings, keys).map(|b| b.id),
            *expected,
            "{keys:?}"
        );
        // Order of the candidates never matters.
        let mut reversed: Vec<&Binding> = bindings.iter().collect();
        reversed.reverse();
        let reversed: Vec<Binding> = reversed
            .into_iter()
            .map(|b| Binding {
                id: b.id,
                selector: b.selector.clone(),
                priority: b.priority,
            })
            .collect();
        assert_eq!(
            resolve_binding(&reversed, keys).map(|b| b.id),
            *expected,
            "reversed {keys:?}"
        );
    }
}

#[test]
fn no_binding_when_nothing_matches() {
    let bindings = [binding("b_chan", "C1", "", "", 0)];
    assert!(resolve_binding(&bindings, &RouteKeys::default()).is_none());
    let none: [Binding; 0] = [];
    assert!(resolve_binding(&none, &RouteKeys::default()).is_none());
}

fn flag(stage: Stage, canary: &[&str]) -> Flag {
    Flag {
        stage,
        canary_org_ids: canary.iter().map(|id| id.to_string()).collect(),
    }
}

#[test]
fn rollout_admission_table() {
    let on = flag(Stage::On, &[]);
    let off = flag(Stage::Off, &[]);
    let canary = flag(Stage::Canary, &["org_a"]);
    let table = [
        (None, None, "org_a", Admission::Admitted),
        (Some(&on), Some(&on), "org_a", Admission::Admitted),
        (Some(&off), Some(&on), "org_a", Admission::GloballyOff),
        (None, Some(&off), "org_a", Admission::ProviderOff),
        (None, Some(&canary), "org_a", Admission::Admitted),
        (None, Some(&canary), "org_b", Admission::NotInCanary),
        (Some(&canary), None, "org_b", Admission::NotInCanary),
        (Some(&off), Some(&canary), "org_a", Admission::GloballyOff),
    ];
    for (global, provider, org, expected) in table {
        assert_eq!(
            admit(global, provider, org),
            expected,
            "{global:?} {provider:?} {org}"
        );
    }
}

#[test]
fn promoting_canary_to_on_needs_a_reason() {
    assert_eq!(
        check_flag_change("slack", Some(Stage::Canary), Stage::On, None),
        Err(TenancyError::ReasonRequired {
            provider: "slack".into()
        })
    );
    assert_eq!(
        check_flag_change("slack", Some(Stage::Canary), Stage::On, Some("  ")),
        Err(TenancyError::ReasonRequired {
            provider: "slack".into()
        })
    );
    assert_eq!(
        check_flag_change(
            "slack",
            Some(Stage::Canary),
            Stage::On,
            Some("matrix green")
        ),
        Ok(())
    );
    assert_eq!(check_flag_change("slack", None, Stage::Off, None), Ok(()));
    assert_eq!(
        check_flag_change("slack", Some(Stage::Off), Stage::On, None),
        Ok(())
    );
}

#[test]
fn error_messages_name_what_to_fix() {
    assert_eq!(
        TenancyError::Revoked {
            what: "installation",
            id: "ins_1".into()
        }
        .to_string(),
        "installation ins_1 is revoked"
    );
}

#[test]
fn every_provider_is_described_once_and_consistently() {
    use crate::core::binding_session::Method;
    use crate::core::ingress::PathId;
    let mut names = std::collections::BTreeSet::new();
    for provider in Provider::ALL {
        let spec = provider.spec();
        assert!(names.insert(spec.name), "{} is listed twice", spec.name);
        assert_eq!(
            serde_json::to_value(provider).unwrap(),
            serde_json::json!(spec.name),
            "its wire name is its spec's"
        );
        assert_eq!(Provider::parse(spec.name), Ok(provider));
        let (owner, secret) = spec.verified_with;
        let held = match owner {
            SecretOwner::Profile => spec.profile_secrets,
            SecretOwner::Installation => spec.installation_credentials,
        };
        // Email is verified by Cloudflare's authentication results, with no secret.
        assert!(
            held.contains(&(secret, true)) || provider == Provider::Email,
            "{}: the secret it verifies with ({secret}) is one its {owner:?} must hold",
            spec.name
        );
        if let Some(handshake) = spec.get_handshake {
            assert!(spec.profile_secrets.contains(&(handshake.secret, true)));
            assert_eq!(spec.path_id, PathId::AppProfile);
        }
        if spec.path_id == PathId::Installation {
            assert!(
                owner == SecretOwner::Installation,
                "{}: a path naming the installation verifies with its credentials",
                spec.name
            );
        }
        if spec.session_methods.contains(&Method::Qr) {
            assert!(
                spec.deep_link.is_some(),
                "{}: qr needs a deep link",
                spec.name
            );
        }
        assert!(spec.dedupe_window_seconds > 24 * 3600, "{}", spec.name);
    }
}
