use super::*;
use crate::core::auth::generate_key_pair;
use crate::core::tenancy::TenancyError;
use serde_json::json;

const NOW: u64 = 1_800_000_000;

fn body<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    parse(value.to_string().as_bytes())
}

fn public_key() -> String {
    generate_key_pair([3; 32]).1
}

#[test]
fn unknown_fields_and_bad_json_are_bad_requests() {
    let error = body::<NewOrg>(json!({"name": "a", "nmae": "b"})).unwrap_err();
    assert_eq!(error.status(), 400);
    assert!(error.to_string().contains("nmae"), "{error}");
    let error = parse::<NewOrg>(b"{not json").unwrap_err();
    assert_eq!(error.code(), "bad_request");
    let missing = body::<NewOrg>(json!({})).unwrap_err();
    assert!(missing.to_string().contains("name"), "{missing}");
}

#[test]
fn only_a_json_object_is_a_body() {
    for not_an_object in [json!(["name"]), json!("name"), json!(42), json!(null)] {
        let error = body::<NewOrg>(not_an_object.clone()).unwrap_err();
        assert_eq!(
            error,
            InputError::NotAnObject.into(),
            "{not_an_object} must be refused"
        );
        assert_eq!(error.status(), 400);
    }
    let principal = body::<NewPrincipal>(json!(["p", public_key(), ["audit:read"]]));
    assert_eq!(principal.unwrap_err(), InputError::NotAnObject.into());
}

#[test]
fn empty_names_are_refused() {
    let org: NewOrg = body(json!({"name": "  "})).unwrap();
    assert_eq!(
        org.validate(),
        Err(InputError::Empty {
            field: "name".into()
        }
        .into())
    );
    assert_eq!(org.validate().unwrap_err().status(), 400);
}

#[test]
fn names_are_at_most_200_characters() {
    let at_limit: NewOrg = body(json!({"name": "é".repeat(MAX_NAME_CHARS)})).unwrap();
    assert_eq!(at_limit.validate(), Ok(()));
    let over: NewOrg = body(json!({"name": "x".repeat(MAX_NAME_CHARS + 1)})).unwrap();
    assert_eq!(
        over.validate(),
        Err(InputError::TooLong {
            field: "name".into(),
            max: 200
        }
        .into())
    );
    let huge: NewOrg = body(json!({"name": "x".repeat(2 * 1024 * 1024)})).unwrap();
    assert_eq!(huge.validate().unwrap_err().status(), 400);
}

#[test]
fn a_principal_request_is_checked_for_shape() {
    let ok: NewPrincipal = body(json!({
        "name": "ci", "public_key": public_key(), "scopes": ["bindings:read"],
        "org_ids": ["org_a", "org_b"], "agent_ids": ["agent_x"]
    }))
    .unwrap();
    let request = ok.validate(NOW).unwrap();
    assert_eq!(request.scopes, ScopeSet::parse("bindings:read").unwrap());
    assert_eq!(request.org_ids.unwrap().len(), 2);
    assert_eq!(request.agent_ids.unwrap().len(), 1);
    let unrestricted: NewPrincipal = body(json!({
        "name": "ci", "public_key": public_key(), "scopes": ["*"]
    }))
    .unwrap();
    let request = unrestricted.validate(NOW).unwrap();
    assert_eq!((request.org_ids, request.agent_ids), (None, None));
    let no_orgs: NewPrincipal = body(json!({
        "name": "ci", "public_key": public_key(), "scopes": ["*"], "org_ids": []
    }))
    .unwrap();
    assert_eq!(
        no_orgs.validate(NOW),
        Err(InputError::NoEntries { field: "org_ids" }.into())
    );
    let too_many: NewPrincipal = body(json!({
        "name": "ci", "public_key": public_key(), "scopes": ["*"],
        "agent_ids": (0..=MAX_ID_LIST_ITEMS).map(|n| format!("agent_{n}")).collect::<Vec<_>>()
    }))
    .unwrap();
    assert_eq!(too_many.validate(NOW).unwrap_err().status(), 400);
}

#[test]
fn a_principal_needs_a_valid_key_scopes_and_a_future_expiry() {
    let bad_key: NewPrincipal =
        body(json!({"name": "x", "public_key": "abc", "scopes": ["audit:read"]})).unwrap();
    assert_eq!(bad_key.validate(NOW).unwrap_err().status(), 400);
    let no_scopes: NewPrincipal =
        body(json!({"name": "x", "public_key": public_key(), "scopes": []})).unwrap();
    assert_eq!(
        no_scopes.validate(NOW),
        Err(InputError::NoEntries { field: "scopes" }.into())
    );
    let unknown: NewPrincipal =
        body(json!({"name": "x", "public_key": public_key(), "scopes": ["root"]})).unwrap();
    assert_eq!(
        unknown.validate(NOW),
        Err(ApiError::BadRequest {
            message: "unknown scope \"root\"".into()
        })
    );
    let past: NewPrincipal = body(json!({
        "name": "x", "public_key": public_key(), "scopes": ["audit:read"], "expires_at": NOW
    }))
    .unwrap();
    assert_eq!(past.validate(NOW).unwrap_err().status(), 400);
}

#[test]
fn key_rotation_needs_a_valid_key() {
    let good: RotateKey = body(json!({"public_key": public_key()})).unwrap();
    assert_eq!(good.validate(), Ok(()));
    let bad: RotateKey = body(json!({"public_key": "AAAA"})).unwrap();
    assert_eq!(bad.validate().unwrap_err().status(), 400);
}

#[test]
fn app_profiles_check_owner_and_secrets() {
    let byoa_without_org: NewAppProfile = body(json!({
        "provider": "slack", "kind": "byoa", "provider_app_id": "A1", "name": "n",
        "secrets": {"signing_secret": "s"}
    }))
    .unwrap();
    assert_eq!(
        byoa_without_org.validate(),
        Err(TenancyError::ByoaNeedsOrg.into())
    );
    let missing_secret: NewAppProfile = body(json!({
        "provider": "whatsapp", "kind": "platform", "provider_app_id": "1", "name": "n",
        "secrets": {"app_secret": "s"}
    }))
    .unwrap();
    assert_eq!(missing_secret.validate().unwrap_err().status(), 422);
    let unknown_provider = body::<NewAppProfile>(json!({
        "provider": "icq", "kind": "platform", "provider_app_id": "1", "name": "n"
    }))
    .unwrap_err();
    assert_eq!(unknown_provider.status(), 400);
    let ok: NewAppProfile = body(json!({
        "provider": "discord", "kind": "platform", "provider_app_id": "1", "name": "n",
        "secrets": {"public_key": "abcd"}
    }))
    .unwrap();
    assert_eq!(ok.validate(), Ok(()));
}

#[test]
fn secrets_never_show_in_debug_output() {
    let profile: NewAppProfile = body(json!({
        "provider": "slack", "kind": "platform", "provider_app_id": "A1", "name": "n",
        "secrets": {"signing_secret": "very-secret-value"}
    }))
    .unwrap();
    let debug = format!("{profile:?}");
    assert!(!debug.contains("very-secret-value"), "{debug}");
    assert!(debug.contains("<redacted>"));
}

#[test]
fn installations_check_required_credentials() {
    let telegram: NewInstallation = body(json!({
        "app_profile_id": "app_1", "org_id": "org_1", "tenant_key": "123",
        "credentials": {"bot_token": "123:abc"}
    }))
    .unwrap();
    assert_eq!(telegram.validate_shape(), Ok(()));
    assert_eq!(
        telegram
            .check_credentials(Provider::Telegram)
            .unwrap_err()
            .status(),
        422
    );
    assert_eq!(telegram.check_credentials(Provider::Slack), Ok(()));
    let empty_tenant: NewInstallation = body(json!({
        "app_profile_id": "app_1", "org_id": "org_1", "tenant_key": ""
    }))
    .unwrap();
    assert_eq!(
        empty_tenant.validate_shape(),
        Err(InputError::Empty {
            field: "tenant_key".into()
        })
    );
}

#[test]
fn installation_metadata_and_credentials_are_bounded() {
    let installation = |metadata: serde_json::Value, token: String| -> NewInstallation {
        body(json!({
            "app_profile_id": "app_1", "org_id": "org_1", "tenant_key": "T1",
            "metadata": metadata, "credentials": {"bot_token": token}
        }))
        .unwrap()
    };
    let fine = installation(
        json!({"display_phone_number": "1555", "count": 3, "nested": {"a": [1, 2]}}),
        "x".repeat(MAX_SECRET_CHARS),
    );
    assert_eq!(fine.validate_shape(), Ok(()));
    let long_value = installation(
        json!({"note": "x".repeat(MAX_METADATA_VALUE_CHARS + 1)}),
        "t".into(),
    );
    assert_eq!(
        long_value.validate_shape(),
        Err(InputError::TooLong {
            field: "metadata.note".into(),
            max: 1024
        })
    );
    let long_object = installation(
        json!({"blob": {"text": "x".repeat(MAX_METADATA_VALUE_CHARS)}}),
        "t".into(),
    );
    assert!(long_object.validate_shape().is_err());
    let many: serde_json::Map<String, serde_json::Value> = (0..=MAX_METADATA_PROPERTIES)
        .map(|n| (format!("k{n}"), json!(n)))
        .collect();
    let too_many = installation(serde_json::Value::Object(many), "t".into());
    assert_eq!(
        too_many.validate_shape(),
        Err(InputError::TooMany {
            field: "metadata".into(),
            max: 32
        })
    );
    let long_key = installation(json!({"k".repeat(65): 1}), "t".into());
    assert!(long_key.validate_shape().is_err());
    let long_secret = installation(json!({}), "x".repeat(MAX_SECRET_CHARS + 1));
    assert_eq!(
        long_secret.validate_shape(),
        Err(InputError::TooLong {
            field: "credentials.bot_token".into(),
            max: 4096
        })
    );
}

#[test]
fn rotation_defaults_and_limits_the_grace_period() {
    let rotate: RotateSecrets = body(json!({"secrets": {"signing_secret": "new"}})).unwrap();
    assert_eq!(
        rotate.validate(Provider::Slack, SecretOwner::Profile),
        Ok(DEFAULT_GRACE_SECONDS)
    );
    let long: RotateSecrets = body(json!({
        "secrets": {"signing_secret": "new"}, "grace_seconds": MAX_GRACE_SECONDS + 1
    }))
    .unwrap();
    assert_eq!(
        long.validate(Provider::Slack, SecretOwner::Profile)
            .unwrap_err()
            .status(),
        400
    );
    let nothing: RotateSecrets = body(json!({"secrets": {}})).unwrap();
    assert_eq!(
        nothing
            .validate(Provider::Slack, SecretOwner::Profile)
            .unwrap_err()
            .status(),
        400
    );
    let wrong: RotateSecrets = body(json!({"secrets": {"bot_token": "x"}})).unwrap();
    assert_eq!(
        wrong
            .validate(Provider::Slack, SecretOwner::Profile)
            .unwrap_err()
            .status(),
        422
    );
}

#[test]
fn bindings_default_to_a_deny_all_allowlist() {
    let binding: NewBinding =
        body(json!({"installation_id": "ins_1", "agent_id": "agent_1"})).unwrap();
    assert_eq!(binding.validate(), Ok(()));
    assert_eq!(binding.sender_policy, SenderPolicy::Allowlist);
    assert!(binding.allowlist.is_empty());
    assert_eq!(binding.selector, Selector::default());
    let blank: NewBinding = body(json!({
        "installation_id": "ins_1", "agent_id": "a", "allowlist": [""]
    }))
    .unwrap();
    assert_eq!(blank.validate().unwrap_err().status(), 400);
    let entry: NewAllowlistEntry = body(json!({"sender_id": ""})).unwrap();
    assert_eq!(entry.validate().unwrap_err().status(), 400);
}

#[test]
fn allowlists_and_selectors_are_bounded() {
    let binding = |extra: serde_json::Value| -> NewBinding {
        let mut request = json!({"installation_id": "ins_1", "agent_id": "agent_1"});
        request
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body(request).unwrap()
    };
    let long_entry = binding(json!({"allowlist": ["u".repeat(MAX_ID_CHARS + 1)]}));
    assert_eq!(
        long_entry.validate(),
        Err(InputError::TooLong {
            field: "allowlist entry".into(),
            max: 256
        }
        .into())
    );
    let entries: Vec<String> = (0..=MAX_ALLOWLIST_ITEMS).map(|n| format!("U{n}")).collect();
    assert_eq!(
        binding(json!({ "allowlist": entries })).validate(),
        Err(InputError::TooMany {
            field: "allowlist".into(),
            max: 1000
        }
        .into())
    );
    let selector = binding(json!({"selector": {"conversation": "c".repeat(257)}}));
    assert_eq!(selector.validate().unwrap_err().status(), 400);
    let long_agent = binding(json!({"agent_id": "a".repeat(257)}));
    assert_eq!(long_agent.validate().unwrap_err().status(), 400);
    let sender: NewAllowlistEntry = body(json!({"sender_id": "s".repeat(257)})).unwrap();
    assert_eq!(sender.validate().unwrap_err().status(), 400);
}

#[test]
fn rollout_keys_are_star_or_a_provider() {
    assert_eq!(check_rollout_key("*"), Ok(()));
    assert_eq!(check_rollout_key("slack"), Ok(()));
    assert_eq!(check_rollout_key("delivery"), Ok(()));
    assert_eq!(check_rollout_key("icq").unwrap_err().status(), 422);
    let change: FlagChange = body(json!({"stage": "canary", "canary_org_ids": ["org_1"]})).unwrap();
    assert_eq!(change.stage, Stage::Canary);
    assert_eq!(change.validate(), Ok(()));
    assert!(body::<FlagChange>(json!({"stage": "maybe"})).is_err());
    let long_reason: FlagChange =
        body(json!({"stage": "on", "reason": "r".repeat(MAX_REASON_CHARS + 1)})).unwrap();
    assert_eq!(long_reason.validate().unwrap_err().status(), 400);
    let canaries: Vec<String> = (0..=MAX_ID_LIST_ITEMS)
        .map(|n| format!("org_{n}"))
        .collect();
    let many: FlagChange = body(json!({"stage": "canary", "canary_org_ids": canaries})).unwrap();
    assert_eq!(many.validate().unwrap_err().status(), 400);
}

#[test]
fn pages_have_bounded_limits() {
    let parse = |pairs: &[(&'static str, &'static str)]| {
        ListQuery::parse(filters(Resource::Orgs), pairs.iter().copied())
    };
    assert_eq!(parse(&[]), Ok(ListQuery::default()));
    assert_eq!(
        parse(&[("limit", "10"), ("cursor", "org_5")]),
        Ok(ListQuery {
            page: Page {
                limit: 10,
                cursor: Some("org_5".into())
            },
            filters: vec![]
        })
    );
    for bad in ["0", "201", "ten", "-1"] {
        assert_eq!(parse(&[("limit", bad)]).unwrap_err().status(), 400, "{bad}");
    }
}

#[test]
fn list_filters_take_only_values_an_object_can_have() {
    let profiles = |pairs: &[(&'static str, &'static str)]| {
        ListQuery::parse(filters(Resource::AppProfiles), pairs.iter().copied())
    };
    assert_eq!(
        profiles(&[
            ("status", "active"),
            ("provider", "slack"),
            ("kind", "byoa")
        ])
        .unwrap()
        .filters,
        vec![
            ("status", "active".to_owned()),
            ("provider", "slack".to_owned()),
            ("kind", "byoa".to_owned())
        ]
    );
    assert_eq!(
        profiles(&[("status", "deleted")]),
        Err(InputError::BadFilterValue {
            name: "status",
            value: "deleted".into(),
            allowed: "one of active, revoked"
        }
        .into())
    );
    assert_eq!(
        profiles(&[("provider", "myspace")]).unwrap_err().status(),
        400
    );
    assert_eq!(profiles(&[("kind", "shared")]).unwrap_err().status(), 400);
    assert_eq!(profiles(&[("org_id", "")]).unwrap_err().status(), 400);
    assert_eq!(
        profiles(&[("org", "org_1")]),
        Err(InputError::UnknownParameter {
            name: "org".into(),
            allowed: "limit, cursor, status, provider, kind, org_id".into()
        }
        .into())
    );
}

#[test]
fn every_resource_filters_by_status() {
    for resource in [
        Resource::Principals,
        Resource::Orgs,
        Resource::AppProfiles,
        Resource::Installations,
        Resource::Bindings,
    ] {
        assert!(
            ListQuery::parse(filters(resource), [("status", "revoked")]).is_ok(),
            "{resource:?}"
        );
        assert!(
            ListQuery::parse(filters(resource), [("status", "gone")]).is_err(),
            "{resource:?}"
        );
    }
}

#[test]
fn install_tokens_live_900_seconds_by_default_and_at_most_an_hour() {
    let token = |extra: serde_json::Value| {
        let mut request = json!({"org_id": "org_1", "agent_id": "agent_x", "subject": "u1"});
        request
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body::<NewInstallToken>(request).unwrap()
    };
    assert_eq!(token(json!({})).validate().unwrap(), 900);
    assert_eq!(
        token(json!({"ttl_seconds": 3600})).validate().unwrap(),
        3600
    );
    for ttl in [0, 3601] {
        let error = token(json!({"ttl_seconds": ttl})).validate().unwrap_err();
        assert_eq!(error.status(), 400, "{ttl}");
    }
    let empty = token(json!({"subject": " "})).validate().unwrap_err();
    assert!(empty.to_string().contains("subject"), "{empty}");
    assert_eq!(
        token(json!({"provider": "telegram"})).provider,
        Some(Provider::Telegram)
    );
    assert!(
        body::<NewInstallToken>(json!({"org_id": "o", "agent_id": "a", "subject": "s",
        "provider": "icq"}))
        .is_err()
    );
}

#[test]
fn a_standard_webhooks_installation_names_only_an_https_callback() {
    let with = |url: &str| -> NewInstallation {
        body(json!({
            "app_profile_id": "app_1", "org_id": "org_1", "tenant_key": "source-1",
            "credentials": {"webhook_secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
            "metadata": {"callback_url": url}
        }))
        .unwrap()
    };
    assert_eq!(
        with("https://source.example/answers").check_credentials(Provider::Standard),
        Ok(())
    );
    let refused = with("http://source.example/answers")
        .check_credentials(Provider::Standard)
        .unwrap_err();
    assert_eq!(refused.status(), 400);
    assert!(refused.to_string().contains("callback_url"));
}

#[test]
fn the_audit_query_is_newest_first_unless_asked_and_filters_by_column_and_time() {
    let parse = |pairs: &[(&str, &str)]| AuditQuery::parse(pairs.iter().copied());
    assert_eq!(
        parse(&[]).unwrap(),
        AuditQuery {
            limit: DEFAULT_PAGE,
            oldest_first: false,
            cursor: None,
            equals: Vec::new(),
            since: None,
        }
    );
    assert_eq!(
        parse(&[
            ("order", "asc"),
            ("cursor", "41"),
            ("action", "installation.revoked"),
            ("target", "ins_1"),
            ("actor", "prn_root"),
            ("since", "1700000000"),
            ("since", "1700000500"),
            ("limit", "10"),
        ])
        .unwrap(),
        AuditQuery {
            limit: 10,
            oldest_first: true,
            cursor: Some(41),
            equals: vec![
                ("action", "installation.revoked".to_owned()),
                ("target", "ins_1".to_owned()),
                ("actor", "prn_root".to_owned()),
            ],
            since: Some(1_700_000_500),
        }
    );
    assert!(!parse(&[("order", "desc")]).unwrap().oldest_first);
    assert_eq!(
        parse(&[("order", "newest")]),
        Err(InputError::BadFilterValue {
            name: "order",
            value: "newest".into(),
            allowed: "one of asc, desc"
        }
        .into())
    );
    assert_eq!(
        parse(&[("since", "yesterday")]),
        Err(InputError::BadFilterValue {
            name: "since",
            value: "yesterday".into(),
            allowed: "a time in Unix seconds, e.g. 1767225600"
        }
        .into())
    );
    assert_eq!(
        parse(&[("cursor", "seq-9")]).unwrap_err().to_string(),
        "bad request: cursor must be the next_cursor of a previous page"
    );
    assert_eq!(parse(&[("action", "")]).unwrap_err().status(), 400);
    assert_eq!(
        parse(&[("org_id", "org_1")]),
        Err(InputError::UnknownParameter {
            name: "org_id".into(),
            allowed: "limit, cursor, action, target, actor, since, order".into()
        }
        .into())
    );
}
