use super::*;
use crate::core::auth::Scope;

fn set(ids: &[&str]) -> Option<BTreeSet<String>> {
    Some(ids.iter().map(|id| (*id).to_owned()).collect())
}

fn restricted(orgs: Option<&[&str]>, agents: Option<&[&str]>) -> Restriction {
    Restriction {
        org_ids: orgs.and_then(set),
        agent_ids: agents.and_then(set),
    }
}

fn caller(scopes: &str, restriction: Restriction) -> Caller {
    Caller {
        principal_id: "prn_caller".into(),
        scopes: ScopeSet::parse(scopes).unwrap(),
        restriction,
        expires_at: None,
    }
}

fn grant(scopes: &str, restriction: Restriction) -> Grant {
    Grant {
        scopes: ScopeSet::parse(scopes).unwrap(),
        restriction,
    }
}

#[test]
fn restriction_columns_round_trip_and_null_means_all() {
    let unrestricted = Restriction::from_columns(None, None);
    assert!(unrestricted.is_unrestricted());
    assert_eq!(unrestricted.to_columns(), (None, None));
    let limited = Restriction::from_columns(Some(r#"["org_b","org_a"]"#), None);
    assert_eq!(limited.org_ids, set(&["org_a", "org_b"]));
    assert_eq!(
        limited.to_columns(),
        (Some(r#"["org_a","org_b"]"#.into()), None)
    );
    assert!(!limited.is_unrestricted());
}

#[test]
fn a_damaged_column_reaches_nothing() {
    let damaged = Restriction::from_columns(Some("not json"), Some("{}"));
    assert!(!damaged.reaches_org("org_a"));
    assert!(!damaged.reaches_agent("agent_a"));
    assert!(!damaged.is_unrestricted());
}

#[test]
fn reach_is_everything_or_the_listed_ids() {
    let everything = Restriction::default();
    assert!(everything.reaches_org("org_any") && everything.reaches_agent("agent_any"));
    let some = restricted(Some(&["org_a"]), Some(&["agent_a"]));
    assert!(some.reaches_org("org_a") && !some.reaches_org("org_b"));
    assert!(some.reaches_agent("agent_a") && !some.reaches_agent("agent_b"));
}

#[test]
fn within_compares_each_dimension() {
    let all = Restriction::default();
    let a = restricted(Some(&["org_a"]), None);
    let ab = restricted(Some(&["org_a", "org_b"]), None);
    let a_agent = restricted(Some(&["org_a"]), Some(&["agent_x"]));
    assert!(a.within(&all) && ab.within(&all) && all.within(&all));
    assert!(a.within(&ab));
    assert!(!ab.within(&a));
    assert!(
        !all.within(&a),
        "unrestricted is never within a restriction"
    );
    assert!(a_agent.within(&a), "an added agent limit narrows");
    assert!(!a.within(&a_agent), "dropping the agent limit widens");
}

#[test]
fn managing_a_principal_needs_every_scope_it_holds() {
    // The root takeover: principals:write alone must not rotate or revoke a `*` principal.
    let admin = caller("principals:write", Restriction::default());
    let root = grant("*", Restriction::default());
    for change in [PrincipalChange::RotateKey, PrincipalChange::Revoke] {
        assert_eq!(
            check_principal_change(&admin, "prn_root", &root, change),
            Err(AuthError::MissingScope { scope: Scope::All }.into()),
            "{change:?}"
        );
    }
    let broad = caller("principals:write audit:read", Restriction::default());
    let auditor = grant("audit:read", Restriction::default());
    assert_eq!(
        check_principal_change(&broad, "prn_x", &auditor, PrincipalChange::Revoke),
        Ok(())
    );
    let with_more = grant("audit:read rollout:write", Restriction::default());
    assert_eq!(
        check_principal_change(&broad, "prn_x", &with_more, PrincipalChange::RotateKey),
        Err(AuthError::MissingScope {
            scope: Scope::RolloutWrite
        }
        .into())
    );
    let root_caller = caller("*", Restriction::default());
    assert_eq!(
        check_principal_change(
            &root_caller,
            "prn_other_root",
            &root,
            PrincipalChange::Revoke
        ),
        Ok(())
    );
}

#[test]
fn a_write_scope_covers_a_target_holding_its_read_scope() {
    let writer = caller("principals:write bindings:write", Restriction::default());
    let reader = grant("bindings:read", Restriction::default());
    assert_eq!(check_holds(&writer, &reader), Ok(()));
    let reader_caller = caller("principals:write bindings:read", Restriction::default());
    let writer_target = grant("bindings:write", Restriction::default());
    assert_eq!(
        check_holds(&reader_caller, &writer_target),
        Err(AuthError::MissingScope {
            scope: Scope::BindingsWrite
        }
        .into())
    );
}

#[test]
fn anyone_may_rotate_their_own_key_but_nothing_else_of_themselves() {
    let weak = caller("audit:read", Restriction::default());
    let itself = grant("audit:read principals:write", Restriction::default());
    assert_eq!(
        check_principal_change(&weak, "prn_caller", &itself, PrincipalChange::RotateKey),
        Ok(())
    );
    assert!(check_principal_change(&weak, "prn_caller", &itself, PrincipalChange::Revoke).is_err());
}

#[test]
fn a_restricted_caller_manages_only_principals_within_its_reach() {
    let org_admin = caller("*", restricted(Some(&["org_a"]), None));
    let same = grant("bindings:read", restricted(Some(&["org_a"]), None));
    let other = grant("bindings:read", restricted(Some(&["org_b"]), None));
    let unrestricted = grant("bindings:read", Restriction::default());
    assert_eq!(check_holds(&org_admin, &same), Ok(()));
    assert_eq!(
        check_holds(&org_admin, &other),
        Err(AuthorityError::BeyondRestriction { what: "orgs" }.into())
    );
    assert_eq!(
        check_holds(&org_admin, &unrestricted),
        Err(AuthorityError::BeyondRestriction { what: "orgs" }.into())
    );
    assert!(sees_principal(&org_admin, &same.restriction));
    assert!(!sees_principal(&org_admin, &other.restriction));
    assert!(!sees_principal(&org_admin, &unrestricted.restriction));

    let agent_admin = caller("*", restricted(None, Some(&["agent_a"])));
    let any_agent = grant("bindings:read", restricted(Some(&["org_a"]), None));
    assert_eq!(
        check_holds(&agent_admin, &any_agent),
        Err(AuthorityError::BeyondRestriction { what: "agents" }.into())
    );
}

#[test]
fn a_new_principal_inherits_what_it_does_not_name() {
    let org_admin = Caller {
        expires_at: Some(2_000),
        ..caller(
            "principals:write bindings:read",
            restricted(Some(&["org_a", "org_b"]), None),
        )
    };
    let scopes = ScopeSet::parse("bindings:read").unwrap();
    let (inherited, expires_at) =
        new_principal_terms(&org_admin, scopes.clone(), None, None, None).unwrap();
    assert_eq!(inherited.restriction, org_admin.restriction);
    assert_eq!(expires_at, Some(2_000));

    let (narrower, expires_at) = new_principal_terms(
        &org_admin,
        scopes.clone(),
        set(&["org_a"]),
        set(&["agent_x"]),
        Some(1_500),
    )
    .unwrap();
    assert_eq!(
        narrower.restriction,
        restricted(Some(&["org_a"]), Some(&["agent_x"]))
    );
    assert_eq!(expires_at, Some(1_500));
}

#[test]
fn a_new_principal_never_reaches_or_lives_beyond_its_creator() {
    let org_admin = Caller {
        expires_at: Some(2_000),
        ..caller(
            "principals:write bindings:read",
            restricted(Some(&["org_a"]), None),
        )
    };
    let scopes = ScopeSet::parse("bindings:read").unwrap();
    assert_eq!(
        new_principal_terms(
            &org_admin,
            scopes.clone(),
            set(&["org_a", "org_b"]),
            None,
            None
        ),
        Err(AuthorityError::BeyondRestriction { what: "orgs" }.into())
    );
    assert_eq!(
        new_principal_terms(&org_admin, scopes.clone(), None, None, Some(2_001)),
        Err(AuthorityError::OutlivesCreator {
            creator_expires_at: 2_000
        }
        .into())
    );
    assert_eq!(
        new_principal_terms(
            &org_admin,
            ScopeSet::parse("audit:read").unwrap(),
            None,
            None,
            None
        ),
        Err(AuthError::MissingScope {
            scope: Scope::AuditRead
        }
        .into())
    );
    let forever = caller("*", Restriction::default());
    assert_eq!(
        new_principal_terms(&forever, scopes, None, None, Some(9_999))
            .unwrap()
            .1,
        Some(9_999)
    );
}

#[test]
fn only_unrestricted_principals_reach_platform_wide_actions() {
    let root = caller("*", Restriction::default());
    let org_admin = caller("*", restricted(Some(&["org_a"]), None));
    let agent_admin = caller("*", restricted(None, Some(&["agent_a"])));
    assert_eq!(
        require_unrestricted(&root, "rotating the master key"),
        Ok(())
    );
    for restricted_caller in [&org_admin, &agent_admin] {
        assert_eq!(
            require_unrestricted(restricted_caller, "rotating the master key"),
            Err(AuthorityError::UnrestrictedOnly {
                action: "rotating the master key"
            })
        );
    }
    assert_eq!(require_all_orgs(&root), Ok(()));
    assert_eq!(require_all_orgs(&agent_admin), Ok(()));
    assert_eq!(
        require_all_orgs(&org_admin),
        Err(AuthorityError::UnrestrictedOnly {
            action: "creating an org"
        })
    );
}

#[test]
fn agents_outside_the_restriction_are_refused() {
    let agent_admin = caller("*", restricted(None, Some(&["agent_a"])));
    assert_eq!(require_agent(&agent_admin, "agent_a"), Ok(()));
    assert_eq!(
        require_agent(&agent_admin, "agent_b"),
        Err(AuthorityError::AgentOutOfReach {
            agent_id: "agent_b".into()
        })
    );
    assert_eq!(
        require_agent(&caller("*", Restriction::default()), "agent_b"),
        Ok(())
    );
}

#[test]
fn every_refusal_is_a_403_that_names_the_rule() {
    let errors = [
        AuthorityError::BeyondRestriction { what: "orgs" },
        AuthorityError::UnrestrictedOnly {
            action: "changing rollout flags",
        },
        AuthorityError::AgentOutOfReach {
            agent_id: "agent_b".into(),
        },
        AuthorityError::OutlivesCreator {
            creator_expires_at: 2_000,
        },
    ];
    let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        [
            "the principal would reach orgs yours does not: a principal can only create, rotate \
             or revoke principals at most as restricted as itself",
            "changing rollout flags needs a principal that is not restricted to orgs or agents",
            "agent agent_b is outside this principal's agent restriction",
            "expires_at must not be later than your own principal's expiry (2000)",
        ]
    );
    for error in errors {
        assert_eq!(ApiError::from(error).status(), 403);
    }
}
